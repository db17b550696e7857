// ClusterSim: one simulated cluster's workload and its controllers, in
// miniature. It owns the compact models, builds the initial topology
// (namespaces per tenant, nodes in zones, deployments -> replicasets -> pods,
// statefulsets, a daemonset, services) and applies churn: pods replaced and
// updated, deployments scaled, nodes added, removed and cordoned. Every
// change goes through the ClusterStore, which versions it.
//
// All randomness comes from one seeded generator and time from a virtual
// clock advanced by the caller, so a seed replays the same operations.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/random.h"
#include "simulator/models.h"
#include "simulator/store.h"

namespace kl::simulator {

struct ClusterShape {
  size_t nodes = 3;
  size_t pods = 30;                // deployment and statefulset pods (daemonset pods come on top)
  size_t pods_per_deployment = 5;
  size_t statefulsets = 1;         // with 3 replicas each
  bool daemonset = true;           // a kube-proxy pod per node
  size_t zones = 3;
};

// Operations per second of virtual time.
struct ChurnRates {
  double pod_replacements = 0;  // a pod deleted and a new one created in its place
  double pod_updates = 0;       // status changes: readiness flips, restarts
  double scales = 0;            // a deployment scaled up or down
  double node_changes = 0;      // a node added or removed (its pods move)
  double cordons = 0;           // a node cordoned or uncordoned
  bool any() const { return pod_replacements + pod_updates + scales + node_changes + cordons > 0; }
};

class ClusterSim {
 public:
  ClusterSim(ClusterIdentity identity, ClusterShape shape, uint64_t seed, int64_t start_ms, ClusterStore* store);

  // Creates the initial objects.
  void Populate();
  // Advances virtual time by `tick_ms` and applies the churn due in it.
  void Step(const ChurnRates& rates, int64_t tick_ms);

  void ReplacePod();
  void UpdatePod();
  void ScaleDeployment();
  void AddNode();
  void RemoveNode();
  void ToggleCordon();
  // Deletes up to n workload pods without replacing them yet (they come
  // back one by one at the next scale-ups); used by the fault "deletions
  // while a watcher is away".
  size_t DeletePods(size_t n);

  int64_t now_ms() const { return now_ms_; }
  const ClusterIdentity& identity() const { return identity_; }
  size_t pod_count() const { return pods_.size(); }

 private:
  template <typename T>
  struct Indexed {  // random pick, O(1) erase by key
    std::vector<T> items;
    std::unordered_map<std::string, size_t> index;
    T* Find(const std::string& key) {
      auto it = index.find(key);
      return it == index.end() ? nullptr : &items[it->second];
    }
    void Add(const std::string& key, T item) {
      index[key] = items.size();
      items.push_back(std::move(item));
    }
    template <typename KeyFn>
    void Remove(const std::string& key, KeyFn key_of) {
      auto it = index.find(key);
      if (it == index.end()) return;
      size_t i = it->second;
      index.erase(it);
      if (i + 1 != items.size()) {
        items[i] = std::move(items.back());
        index[key_of(items[i])] = i;
      }
      items.pop_back();
    }
    size_t size() const { return items.size(); }
  };

  static std::string PodKey(const PodModel& p) { return p.ns + "/" + p.name; }
  static std::string WorkloadKey(const WorkloadModel& w) { return w.ns + "/" + w.name; }

  std::string NewUid() { return rng_.Uuid(); }
  std::string Suffix(size_t n);
  std::string PickNode();
  void PutNamespace(const std::string& name, const std::string& user);
  void PutNode(const NodeModel& node);
  void PutWorkload(WorkloadModel* w);
  void PutPod(const PodModel& pod);
  void DeletePod(std::string key);  // by value: callers pass keys from vectors it edits
  void CreateWorkloadPod(WorkloadModel* w);
  void CreateDaemonPod(const std::string& node);
  void PutDaemonSet();
  std::string NextIp(uint32_t base, uint32_t* counter);

  ClusterIdentity identity_;
  ClusterShape shape_;
  Random rng_;
  int64_t now_ms_;
  ClusterStore* store_;

  Indexed<NodeModel> nodes_;
  Indexed<WorkloadModel> workloads_;
  Indexed<PodModel> pods_;  // includes daemonset pods
  std::vector<std::string> workload_pod_keys_;  // rebuilt lazily for random picks
  std::unordered_map<std::string, std::vector<std::string>> pods_of_workload_;
  DaemonSetModel daemonset_;
  std::vector<std::string> users_;
  size_t node_seq_ = 0;
  uint32_t pod_ip_counter_ = 0;
  uint32_t svc_ip_counter_ = 0;
  double due_[5] = {0, 0, 0, 0, 0};
};

}  // namespace kl::simulator
