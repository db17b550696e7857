#include "simulator/fleet.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"

namespace kl::simulator {

Result<std::unique_ptr<Fleet>> Fleet::Create(FleetOptions options) {
  if (options.clusters == 0) return Status::InvalidArgument("a fleet needs at least one cluster");
  if (options.shape.nodes == 0) return Status::InvalidArgument("a cluster needs at least one node");
  if (options.shape.nodes > 5000 || options.shape.pods > 150000) {
    return Status::InvalidArgument("cluster size beyond Kubernetes' limits (5,000 nodes, 150,000 pods)");
  }
  if (options.regions.empty()) options.regions.push_back("us-east-1");
  std::unique_ptr<Fleet> fleet(new Fleet(std::move(options)));
  const FleetOptions& o = fleet->options_;
  if (o.tls) {
    KL_ASSIGN_OR_RETURN(fleet->tls_, GenerateTlsMaterial("kubelake-sim-ca"));
  }
  int64_t start = o.start_time_ms > 0 ? o.start_time_ms : NowMillis();
  Random token_rng(o.seed ^ 0x746f6b656eull);
  for (size_t i = 0; i < o.clusters; ++i) {
    auto c = std::make_unique<Cluster>();
    c->identity.name = "sim-" + std::to_string(i + 1);
    c->identity.region = o.regions[i % o.regions.size()];
    c->token = o.auth ? "kubelake-sim-" + token_rng.Alnum(32) : "";
    ClusterStore::Options so;
    so.history_limit = o.history_limit;
    so.continue_ttl_ms = o.continue_ttl_ms;
    c->store = std::make_unique<ClusterStore>(c->identity.name, so);
    c->sim = std::make_unique<ClusterSim>(c->identity, o.shape, o.seed * 1000003 + i, start, c->store.get());
    c->sim->Populate();
    ApiServerOptions ao;
    ao.tls = o.tls;
    ao.tls_material = fleet->tls_;
    ao.token = c->token;
    ao.port = o.base_port > 0 ? o.base_port + static_cast<int>(i) : 0;
    ao.bookmark_interval_ms = o.bookmark_interval_ms;
    c->server = std::make_unique<ApiServer>(c->store.get(), c->identity, ao);
    fleet->clusters_.push_back(std::move(c));
  }
  return fleet;
}

Fleet::~Fleet() {
  Stop();
  if (!temp_dir_.empty()) (void)RemoveAll(temp_dir_);
}

std::string Fleet::KubeconfigYaml() const {
  std::string y = "apiVersion: v1\nkind: Config\npreferences: {}\n";
  y += "current-context: " + (clusters_.empty() ? std::string() : clusters_[0]->identity.name) + "\n";
  y += "clusters:\n";
  for (const auto& c : clusters_) {
    y += "- name: " + c->identity.name + "\n  cluster:\n    server: " + c->server->url() + "\n";
    if (options_.tls) y += "    certificate-authority-data: " + Base64Encode(tls_.ca_cert_pem) + "\n";
  }
  y += "users:\n";
  for (const auto& c : clusters_) {
    y += "- name: " + c->identity.name + "-reader\n  user:\n";
    y += c->token.empty() ? "    {}\n" : "    token: " + c->token + "\n";
  }
  y += "contexts:\n";
  for (const auto& c : clusters_) {
    y += "- name: " + c->identity.name + "\n  context:\n    cluster: " + c->identity.name +
         "\n    user: " + c->identity.name + "-reader\n";
  }
  return y;
}

Status Fleet::Start() {
  if (running_) return Status::OK();
  std::string dir = options_.dir;
  if (dir.empty()) {
    const char* base = std::getenv("TMPDIR");
    temp_dir_ = std::string(base != nullptr ? base : "/tmp") + "/kubelake-sim-" + RandomUuid();
    dir = temp_dir_;
  }
  KL_RETURN_IF_ERROR(CreateDirs(dir));
  for (auto& c : clusters_) KL_RETURN_IF_ERROR(c->server->Start());
  kubeconfig_path_ = JoinPath(dir, "kubeconfig");
  KL_RETURN_IF_ERROR(WriteFileAtomic(kubeconfig_path_, KubeconfigYaml(), /*sync=*/false));
  if (options_.tls) KL_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(dir, "ca.crt"), tls_.ca_cert_pem, false));
  started_us_ = MonotonicMicros();
  next_fault_ = 0;
  faults_done_ = options_.faults.faults.empty();
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
  return Status::OK();
}

void Fleet::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& c : clusters_) c->server->Stop();
}

void Fleet::StopFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  next_fault_ = options_.faults.faults.size();
}

int64_t Fleet::ElapsedMs() const { return (MonotonicMicros() - started_us_) / 1000; }

void Fleet::InjectFault(const Fault& fault) {
  std::lock_guard<std::mutex> lock(mu_);
  ApplyFault(fault, ElapsedMs());
}

void Fleet::ApplyFault(const Fault& fault, int64_t now_ms) {
  for (size_t i = 0; i < clusters_.size(); ++i) {
    if (fault.cluster >= 0 && static_cast<size_t>(fault.cluster) != i) continue;
    Cluster& c = *clusters_[i];
    spdlog::debug("simulator: {} fault {} (+{} ms)", c.identity.name, FaultKindName(fault.kind), fault.duration_ms);
    switch (fault.kind) {
      case FaultKind::kDropWatches: c.server->DropWatches(); break;
      case FaultKind::kStall: c.server->StallWatches(fault.duration_ms); break;
      case FaultKind::kCompact: c.store->CompactAll(); break;
      case FaultKind::kDown:
        c.server->Stop();
        c.restart_at_ms = std::max(c.restart_at_ms, now_ms + fault.duration_ms);
        break;
      case FaultKind::kDeleteWhileAway:
        c.server->Stop();
        c.sim->DeletePods(static_cast<size_t>(fault.count));
        c.store->CompactAll();
        c.restart_at_ms = std::max(c.restart_at_ms, now_ms + fault.duration_ms);
        break;
    }
  }
}

void Fleet::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  int64_t next_tick_us = MonotonicMicros();
  while (running_) {
    int64_t now_ms = ElapsedMs();
    const auto& faults = options_.faults.faults;
    while (next_fault_ < faults.size() && faults[next_fault_].at_ms <= now_ms)
      ApplyFault(faults[next_fault_++], now_ms);
    bool any_down = false;
    for (auto& c : clusters_) {
      if (c->restart_at_ms >= 0 && now_ms >= c->restart_at_ms) {
        Status s = c->server->Start();
        if (!s.ok()) {
          spdlog::warn("simulator: restarting {}: {}", c->identity.name, s.ToString());
          c->restart_at_ms = now_ms + 50;  // the port may still be in use; try again
        } else {
          c->restart_at_ms = -1;
        }
      }
      any_down = any_down || c->restart_at_ms >= 0;
    }
    if (next_fault_ >= faults.size() && !any_down) faults_done_ = true;
    if (churn_on_ && options_.churn.any()) {
      for (auto& c : clusters_) c->sim->Step(options_.churn, options_.tick_ms);
    }
    ++ticks_;
    next_tick_us += options_.tick_ms * 1000;
    int64_t sleep_us = next_tick_us - MonotonicMicros();
    if (sleep_us < 0)
      next_tick_us = MonotonicMicros();  // fell behind: do not burst
    else
      wake_.wait_for(lock, std::chrono::microseconds(sleep_us));
  }
}

}  // namespace kl::simulator
