#include "simulator/cluster_sim.h"

#include <algorithm>

namespace kl::simulator {
namespace {
const char* kApps[] = {"web", "api", "worker", "cache", "gateway", "search", "billing", "auth"};
const char* kImages[] = {"nginx:1.25.4", "registry.example.com/api:2.14.0", "registry.example.com/worker:7.1.3",
                         "redis:7.2.4", "envoyproxy/envoy:v1.29.2", "opensearchproject/opensearch:2.12.0",
                         "registry.example.com/billing:1.0.9", "registry.example.com/auth:3.3.1"};
}  // namespace

ClusterSim::ClusterSim(ClusterIdentity identity, ClusterShape shape, uint64_t seed, int64_t start_ms,
                       ClusterStore* store)
    : identity_(std::move(identity)), shape_(shape), rng_(seed), now_ms_(start_ms), store_(store) {}

std::string ClusterSim::Suffix(size_t n) {
  static const char* kChars = "bcdfghjklmnpqrstvwxz2456789";  // what Kubernetes uses for generated names
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(kChars[rng_.Uniform(27)]);
  return s;
}

std::string ClusterSim::NextIp(uint32_t base, uint32_t* counter) {
  uint32_t v = base + (++*counter % 0xfffe);
  return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." + std::to_string((v >> 8) & 255) +
         "." + std::to_string(v & 255);
}

void ClusterSim::PutNamespace(const std::string& name, const std::string& user) {
  std::string uid = NewUid();
  int64_t created = now_ms_;
  Labels labels;
  if (!user.empty()) labels.emplace_back(std::string(kUserLabel), user);
  store_->Put(kNamespaces, "", name, [&](uint64_t rv, StoredObject* o) { RenderNamespace(name, uid, created, labels, rv, o); });
}

void ClusterSim::PutNode(const NodeModel& node) {
  store_->Put(kNodes, "", node.name, [&](uint64_t rv, StoredObject* o) { RenderNode(node, identity_, rv, o); });
}

void ClusterSim::PutWorkload(WorkloadModel* w) {
  if (w->stateful) {
    store_->Put(kStatefulSets, w->ns, w->name, [&](uint64_t rv, StoredObject* o) { RenderStatefulSet(*w, rv, o); });
  } else {
    store_->Put(kDeployments, w->ns, w->name, [&](uint64_t rv, StoredObject* o) { RenderDeployment(*w, rv, o); });
    store_->Put(kReplicaSets, w->ns, w->rs_name, [&](uint64_t rv, StoredObject* o) { RenderReplicaSet(*w, rv, o); });
  }
}

void ClusterSim::PutPod(const PodModel& pod) {
  store_->Put(kPods, pod.ns, pod.name, [&](uint64_t rv, StoredObject* o) { RenderPod(pod, rv, 0, o); });
}

void ClusterSim::PutDaemonSet() {
  int desired = static_cast<int>(nodes_.size());
  store_->Put(kDaemonSets, daemonset_.ns, daemonset_.name,
              [&](uint64_t rv, StoredObject* o) { RenderDaemonSet(daemonset_, desired, rv, o); });
}

void ClusterSim::DeletePod(std::string key) {
  PodModel* p = pods_.Find(key);
  if (p == nullptr) return;
  int64_t when = now_ms_;
  store_->Delete(kPods, p->ns, p->name, [&](uint64_t rv, StoredObject* o) { RenderPod(*p, rv, when, o); });
  std::string owner = p->ns + "/" + p->owner_name;
  auto it = pods_of_workload_.find(owner);
  if (it != pods_of_workload_.end()) {
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), key), v.end());
  }
  pods_.Remove(key, PodKey);
}

std::string ClusterSim::PickNode() {
  for (int attempt = 0; attempt < 16 && nodes_.size() > 0; ++attempt) {
    const NodeModel& n = nodes_.items[rng_.Uniform(nodes_.size())];
    if (!n.unschedulable) return n.name;
  }
  return nodes_.size() > 0 ? nodes_.items[0].name : "";
}

void ClusterSim::CreateWorkloadPod(WorkloadModel* w) {
  PodModel p;
  p.ns = w->ns;
  if (w->stateful) {
    p.name = w->name + "-" + std::to_string(w->next_ordinal++);
    p.owner_kind = "StatefulSet";
    p.owner_name = w->name;
    p.owner_uid = w->uid;
  } else {
    p.name = w->rs_name + "-" + Suffix(5);
    p.owner_kind = "ReplicaSet";
    p.owner_name = w->rs_name;
    p.owner_uid = w->rs_uid;
    p.template_hash = w->template_hash;
  }
  if (pods_.Find(p.ns + "/" + p.name) != nullptr) return;  // generated name collision: skip this one
  p.uid = NewUid();
  p.node = PickNode();
  p.workload_key = WorkloadKey(*w);
  p.user = w->user;
  p.instance = w->instance;
  p.app = w->app;
  p.image = w->image;
  p.cpu_millis = w->cpu_millis;
  p.memory_mi = w->memory_mi;
  p.pod_ip = NextIp((10u << 24) | (64u << 16), &pod_ip_counter_);
  if (nodes_.Find(p.node) != nullptr) {
    p.host_ip = "10.0." + std::to_string(std::hash<std::string>()(p.node) % 250) + "." +
                std::to_string(std::hash<std::string>()(p.node + "x") % 250 + 2);
  }
  p.created_ms = p.transition_ms = now_ms_;
  PutPod(p);
  std::string key = PodKey(p);
  pods_of_workload_[p.ns + "/" + p.owner_name].push_back(key);
  pods_.Add(key, std::move(p));
}

void ClusterSim::CreateDaemonPod(const std::string& node) {
  PodModel p;
  p.ns = daemonset_.ns;
  p.name = daemonset_.name + "-" + Suffix(5);
  if (pods_.Find(p.ns + "/" + p.name) != nullptr) return;
  p.uid = NewUid();
  p.node = node;
  p.owner_kind = "DaemonSet";
  p.owner_name = daemonset_.name;
  p.owner_uid = daemonset_.uid;
  p.app = daemonset_.name;
  p.image = "registry.k8s.io/kube-proxy:" + identity_.version;
  p.cpu_millis = 100;
  p.memory_mi = 64;
  p.created_ms = p.transition_ms = now_ms_;
  p.host_ip = p.pod_ip = NextIp((10u << 24) | (200u << 16), &pod_ip_counter_);
  PutPod(p);
  std::string key = PodKey(p);
  pods_of_workload_[p.ns + "/" + p.owner_name].push_back(key);
  pods_.Add(key, std::move(p));
}

void ClusterSim::Populate() {
  PutNamespace("default", "");
  PutNamespace("kube-system", "");
  for (size_t i = 0; i < shape_.nodes; ++i) AddNode();

  size_t sts_pods = shape_.statefulsets * 3;
  size_t deploy_pods = shape_.pods > sts_pods ? shape_.pods - sts_pods : 0;
  size_t per = std::max<size_t>(1, shape_.pods_per_deployment);
  size_t deployments = (deploy_pods + per - 1) / per;
  size_t workloads = deployments + shape_.statefulsets;
  size_t users = std::max<size_t>(1, workloads / 4);
  for (size_t u = 0; u < users; ++u) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "u%05zu", u + 1);
    users_.push_back(buf);
    PutNamespace("tenant-" + users_.back(), users_.back());
  }
  size_t remaining = deploy_pods;
  for (size_t i = 0; i < workloads; ++i) {
    WorkloadModel w;
    w.stateful = i >= deployments;
    w.user = users_[i % users_.size()];
    w.ns = "tenant-" + w.user;
    size_t app = rng_.Uniform(sizeof(kApps) / sizeof(kApps[0]));
    w.app = kApps[app];
    w.image = kImages[app];
    w.instance = w.user + "-" + w.app + "-" + std::to_string(i);
    w.name = w.app + "-" + std::to_string(i);
    w.uid = NewUid();
    w.service_uid = NewUid();
    w.created_ms = now_ms_;
    w.cpu_millis = static_cast<int>(50 * (1 + rng_.Uniform(20)));
    w.memory_mi = static_cast<int>(64 * (1 + rng_.Uniform(16)));
    if (w.stateful) {
      w.replicas = 3;
    } else {
      w.replicas = static_cast<int>(std::min(per, remaining));
      remaining -= static_cast<size_t>(w.replicas);
      w.template_hash = Suffix(10);
      w.rs_name = w.name + "-" + w.template_hash;
      w.rs_uid = NewUid();
    }
    PutWorkload(&w);
    std::string cluster_ip = NextIp((10u << 24) | (96u << 16), &svc_ip_counter_);
    store_->Put(kServices, w.ns, w.name, [&](uint64_t rv, StoredObject* o) { RenderService(w, cluster_ip, rv, o); });
    std::string key = WorkloadKey(w);
    workloads_.Add(key, std::move(w));
    WorkloadModel* stored = workloads_.Find(key);
    for (int r = 0; r < stored->replicas; ++r) CreateWorkloadPod(stored);
  }
  if (shape_.daemonset) {
    daemonset_.ns = "kube-system";
    daemonset_.name = "kube-proxy";
    daemonset_.uid = NewUid();
    daemonset_.created_ms = now_ms_;
    PutDaemonSet();
    for (const NodeModel& n : nodes_.items) CreateDaemonPod(n.name);
  }
}

void ClusterSim::Step(const ChurnRates& rates, int64_t tick_ms) {
  now_ms_ += tick_ms;
  const double seconds = static_cast<double>(tick_ms) / 1000.0;
  const double per_second[5] = {rates.pod_replacements, rates.pod_updates, rates.scales, rates.node_changes,
                                rates.cordons};
  for (int op = 0; op < 5; ++op) {
    due_[op] += per_second[op] * seconds;
    while (due_[op] >= 1.0) {
      due_[op] -= 1.0;
      switch (op) {
        case 0: ReplacePod(); break;
        case 1: UpdatePod(); break;
        case 2: ScaleDeployment(); break;
        case 3: rng_.OneIn(2) ? AddNode() : RemoveNode(); break;
        case 4: ToggleCordon(); break;
      }
    }
  }
}

void ClusterSim::ReplacePod() {
  if (workloads_.size() == 0) return;
  WorkloadModel& w = workloads_.items[rng_.Uniform(workloads_.size())];
  auto& keys = pods_of_workload_[w.ns + "/" + (w.stateful ? w.name : w.rs_name)];
  if (keys.empty()) return;
  std::string key = keys[rng_.Uniform(keys.size())];
  if (w.stateful) {
    // A statefulset pod comes back under the same name with a new uid.
    PodModel* p = pods_.Find(key);
    if (p == nullptr) return;
    PodModel next = *p;
    DeletePod(key);
    next.uid = NewUid();
    next.node = PickNode();
    next.created_ms = next.transition_ms = now_ms_;
    next.restarts = 0;
    PutPod(next);
    pods_of_workload_[next.ns + "/" + next.owner_name].push_back(key);
    pods_.Add(key, std::move(next));
    return;
  }
  DeletePod(key);
  CreateWorkloadPod(&w);
}

void ClusterSim::UpdatePod() {
  if (pods_.size() == 0) return;
  PodModel& p = pods_.items[rng_.Uniform(pods_.size())];
  if (rng_.OneIn(2)) {
    ++p.restarts;
  } else {
    p.ready = !p.ready;
    p.transition_ms = now_ms_;
  }
  PutPod(p);
}

void ClusterSim::ScaleDeployment() {
  if (workloads_.size() == 0) return;
  WorkloadModel& w = workloads_.items[rng_.Uniform(workloads_.size())];
  if (w.stateful) return;
  int target = w.replicas + static_cast<int>(rng_.Range(-2, 2));
  target = std::clamp(target, 0, static_cast<int>(2 * std::max<size_t>(1, shape_.pods_per_deployment)));
  if (target == w.replicas) return;
  w.replicas = target;
  ++w.generation;
  PutWorkload(&w);
  auto& keys = pods_of_workload_[w.ns + "/" + w.rs_name];
  while (static_cast<int>(keys.size()) > target) DeletePod(keys[rng_.Uniform(keys.size())]);
  int attempts = 0;
  while (static_cast<int>(keys.size()) < target && attempts++ < 4 * target) CreateWorkloadPod(&w);
}

void ClusterSim::AddNode() {
  NodeModel n;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "node-%05zu", ++node_seq_);
  n.name = identity_.name + "-" + buf;
  n.uid = NewUid();
  size_t zone = rng_.Uniform(std::max<size_t>(1, shape_.zones));
  n.zone = identity_.region + static_cast<char>('a' + zone);
  n.created_ms = now_ms_;
  n.cpu_cores = rng_.OneIn(3) ? 64 : 32;
  n.memory_ki = n.cpu_cores == 64 ? 263823368 : 131911684;
  PutNode(n);
  std::string name = n.name;
  nodes_.Add(name, std::move(n));
  if (!daemonset_.uid.empty()) {
    CreateDaemonPod(name);
    PutDaemonSet();
  }
}

void ClusterSim::RemoveNode() {
  if (nodes_.size() <= 1) return;
  NodeModel victim = nodes_.items[rng_.Uniform(nodes_.size())];
  nodes_.Remove(victim.name, [](const NodeModel& n) { return n.name; });
  // Its pods are evicted; workload pods are recreated elsewhere.
  std::vector<std::string> evicted;
  for (const PodModel& p : pods_.items) {
    if (p.node == victim.name) evicted.push_back(PodKey(p));
  }
  std::sort(evicted.begin(), evicted.end());  // deterministic order
  for (const std::string& key : evicted) {
    PodModel* p = pods_.Find(key);
    bool daemon = p->owner_kind == "DaemonSet";
    std::string workload_key = p->workload_key;
    DeletePod(key);
    if (daemon) continue;
    if (WorkloadModel* w = workloads_.Find(workload_key)) CreateWorkloadPod(w);
  }
  store_->Delete(kNodes, "", victim.name, [&](uint64_t rv, StoredObject* o) { RenderNode(victim, identity_, rv, o); });
  if (!daemonset_.uid.empty()) PutDaemonSet();
}

void ClusterSim::ToggleCordon() {
  if (nodes_.size() == 0) return;
  NodeModel& n = nodes_.items[rng_.Uniform(nodes_.size())];
  n.unschedulable = !n.unschedulable;
  PutNode(n);
}

size_t ClusterSim::DeletePods(size_t n) {
  size_t deleted = 0;
  for (size_t i = 0; i < n && workloads_.size() > 0; ++i) {
    WorkloadModel& w = workloads_.items[rng_.Uniform(workloads_.size())];
    if (w.stateful) continue;
    auto& keys = pods_of_workload_[w.ns + "/" + w.rs_name];
    if (keys.empty()) continue;
    DeletePod(keys[rng_.Uniform(keys.size())]);
    // The replicaset notices and is one short until the next scale.
    w.replicas = static_cast<int>(keys.size());
    ++w.generation;
    PutWorkload(&w);
    ++deleted;
  }
  return deleted;
}

}  // namespace kl::simulator
