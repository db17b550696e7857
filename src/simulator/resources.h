// The resource kinds the simulated API server serves, with what discovery
// documents and the collector need to know about each.
#pragma once

#include <cstddef>
#include <string_view>

namespace kl::simulator {

struct ResourceInfo {
  std::string_view group;     // "" for the core group
  std::string_view version;
  std::string_view resource;  // plural, as in URLs
  std::string_view singular;
  std::string_view kind;
  std::string_view list_kind;
  std::string_view short_names;  // JSON array body, e.g. "\"po\""
  bool namespaced;
  // Configuration objects clients write (CRDs, WatchSets): writable, not
  // part of the ground truth of the workload kinds.
  bool writable = false;
};

enum ResourceId : int {
  kNamespaces = 0,
  kNodes,
  kPods,
  kServices,
  kDeployments,
  kReplicaSets,
  kStatefulSets,
  kDaemonSets,
  kCustomResourceDefinitions,
  kWatchSets,  // served once the watchsets.kubelake.io CRD exists
  kNumResources,
};

const ResourceInfo& Resource(int id);
// -1 when the group/version/resource is not served.
int FindResource(std::string_view group, std::string_view version, std::string_view resource);

// The CRD that makes kWatchSets served.
inline constexpr std::string_view kWatchSetCrdName = "watchsets.kubelake.io";

// Label keys that tie pods to the warehouse's topology (user -> instance -> pod).
inline constexpr std::string_view kUserLabel = "kubelake.io/user";
inline constexpr std::string_view kInstanceLabel = "kubelake.io/instance";
inline constexpr std::string_view kRegionLabel = "topology.kubernetes.io/region";
inline constexpr std::string_view kZoneLabel = "topology.kubernetes.io/zone";

}  // namespace kl::simulator
