// What the collector watches, declared as a Kubernetes-style custom
// resource (the role the informer-configuring custom resources play in the
// reference design):
//
//   apiVersion: kubelake.io/v1alpha1
//   kind: WatchSet
//   metadata: {name: fleet}
//   spec:
//     clusters: ["*"]              # context names; "*" or absent: all
//     resources:
//     - {version: v1, resource: pods, labelSelector: "kubelake.io/user", namespaces: [a, b]}
//     - {group: apps, version: v1, resource: deployments}
//
// A file may hold several WatchSets separated by "---".
#pragma once

#include <string>
#include <vector>

#include "collector/watch/sync.h"
#include "collector/watchset/kubeconfig.h"
#include "common/result.h"

namespace kl::collector {

struct ResourceWatchSpec {
  std::string group, version, resource, kind;
  bool namespaced = true;
  std::vector<std::string> namespaces;  // empty: all
  std::string label_selector, field_selector;
};

struct WatchSet {
  std::string name;
  std::vector<std::string> clusters;  // empty: all
  std::vector<ResourceWatchSpec> resources;
};

Result<std::vector<WatchSet>> ParseWatchSets(const std::string& yaml);
Result<std::vector<WatchSet>> LoadWatchSets(const std::string& path);
// The kinds the built-in simulator serves: namespaces, nodes, pods, services,
// deployments, replicasets, statefulsets, daemonsets.
WatchSet DefaultWatchSet();

// One WatchTarget per (cluster, resource, namespace), with unique watch names.
Result<std::vector<WatchTarget>> ExpandTargets(const std::vector<WatchSet>& sets,
                                               const std::vector<ClusterCredentials>& clusters);

}  // namespace kl::collector
