// From an ODS event (the collector's content JSON) to the columns of the
// DWD row of its object: event fields, the object's labels, owner, node,
// phase, the user and instance it belongs to (configurable label keys),
// summed container resource requests and topology labels.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "format/datum.h"

namespace kl::pipeline {

struct K8sEventOptions {
  std::string user_label = "kubelake.io/user";
  std::string instance_label = "kubelake.io/instance";
};

struct K8sEvent {
  std::string type;  // ADDED, MODIFIED, DELETED
  std::string origin;
  bool inferred = false;
  std::string uid, kind, group, version, namespace_, name;
  std::string resource_version;
  int64_t rv = 0;  // numeric resourceVersion (0 when not a number)
  std::string watch_name;
  int64_t watch_setup_ms = 0;
  int64_t event_time_ms = 0;
  std::string labels_json;  // "{}" when none
  std::string owner_kind, owner_name;
  std::string node_name;  // pods: spec.nodeName
  std::string phase;      // status.phase
  std::string user_id, instance_id;
  int64_t cpu_request_milli = 0;
  int64_t memory_request_bytes = 0;
  std::string topology_region, topology_zone;  // object labels topology.kubernetes.io/*
  bool unschedulable = false;                  // nodes: spec.unschedulable (cordoned)
  int64_t created_ms = 0;
};

// Parses one content document; errors name what is missing.
class K8sEventParser {
 public:
  explicit K8sEventParser(K8sEventOptions options);
  ~K8sEventParser();
  Result<K8sEvent> Parse(std::string_view content);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  K8sEventOptions options_;
};

// Kubernetes resource quantities: "250m" cpu -> 250 millicores, "2" -> 2000;
// "128Mi" -> 134217728 bytes, "1G" -> 1e9, "1.5Gi", "1e3". nullopt if malformed.
std::optional<int64_t> ParseCpuMillis(std::string_view quantity);
// The quantity in base units ("250m" -> 0.25, "1Ki" -> 1024).
std::optional<double> ParseQuantity(std::string_view quantity);
std::optional<int64_t> ParseMemoryBytes(std::string_view quantity);

}  // namespace kl::pipeline
