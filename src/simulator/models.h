// The simulator's own compact records of the objects it serves, and how
// each renders to Kubernetes JSON shaped like real API output (see
// ../shared/k8s-fixtures): metadata with uid, labels and ownerReferences,
// pod specs with resource requests and nodeName, status with conditions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "simulator/store.h"

namespace kl::simulator {

struct NodeModel {
  std::string name, uid, zone;
  int64_t created_ms = 0;
  bool unschedulable = false;
  int cpu_cores = 32;
  int64_t memory_ki = 131911684;
};

struct WorkloadModel {  // a Deployment (with its current ReplicaSet) or a StatefulSet
  std::string ns, name, uid, user, instance, app;
  std::string rs_name, rs_uid, template_hash;  // deployments only
  std::string service_uid;
  int replicas = 0;
  int64_t generation = 1;
  int64_t created_ms = 0;
  int cpu_millis = 250;
  int memory_mi = 256;
  std::string image;
  bool stateful = false;
  int next_ordinal = 0;  // statefulsets: pod-<n>
};

struct DaemonSetModel {
  std::string ns, name, uid;
  int64_t created_ms = 0;
  int64_t generation = 1;
};

struct PodModel {
  std::string ns, name, uid, node;
  std::string owner_kind, owner_name, owner_uid;  // ReplicaSet, StatefulSet or DaemonSet
  std::string workload_key;                       // "ns/name" of the owning workload model
  std::string user, instance, app, template_hash, image;
  int cpu_millis = 100;
  int memory_mi = 128;
  std::string pod_ip, host_ip;
  std::string phase = "Running";
  bool ready = true;
  int restarts = 0;
  int64_t created_ms = 0;
  int64_t transition_ms = 0;
};

struct ClusterIdentity {
  std::string name;
  std::string region;
  std::string version = "v1.29.4";
};

// Each fills object->uid, labels, selectable fields and json at version `rv`.
void RenderNamespace(const std::string& name, const std::string& uid, int64_t created_ms, const Labels& labels,
                     uint64_t rv, StoredObject* object);
void RenderNode(const NodeModel& node, const ClusterIdentity& cluster, uint64_t rv, StoredObject* object);
void RenderPod(const PodModel& pod, uint64_t rv, int64_t deletion_ms, StoredObject* object);
void RenderDeployment(const WorkloadModel& w, uint64_t rv, StoredObject* object);
void RenderReplicaSet(const WorkloadModel& w, uint64_t rv, StoredObject* object);
void RenderStatefulSet(const WorkloadModel& w, uint64_t rv, StoredObject* object);
void RenderDaemonSet(const DaemonSetModel& ds, int desired, uint64_t rv, StoredObject* object);
void RenderService(const WorkloadModel& w, const std::string& cluster_ip, uint64_t rv, StoredObject* object);

}  // namespace kl::simulator
