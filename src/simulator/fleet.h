// Fleet: N simulated Kubernetes clusters in one process, each with its own
// API endpoint (port), objects, churn and faults, plus the kubeconfig that
// points clients at them. Usable as a library (tests, `kubelake demo`,
// benchmarks) and behind `kubelake simulate`.
//
//   FleetOptions options;
//   options.clusters = 3;
//   KL_ASSIGN_OR_RETURN(auto fleet, Fleet::Create(options));
//   KL_RETURN_IF_ERROR(fleet->Start());
//   ... fleet->kubeconfig_path() ... fleet->Truth(0) ...
//   fleet->Stop();
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "simulator/api_server.h"
#include "simulator/cluster_sim.h"
#include "simulator/faults.h"
#include "simulator/store.h"

namespace kl::simulator {

struct FleetOptions {
  size_t clusters = 2;
  ClusterShape shape;
  ChurnRates churn;
  FaultSchedule faults;
  uint64_t seed = 1;
  bool tls = true;
  bool auth = true;                 // bearer tokens
  std::string dir;                  // where kubeconfig (and CA) are written; "" = a new temp dir
  int64_t tick_ms = 10;             // churn granularity
  int64_t start_time_ms = 0;        // virtual clock start for object timestamps; 0 = now
  size_t history_limit = 20000;     // watch history per cluster
  int64_t continue_ttl_ms = 5 * 60 * 1000;
  int64_t bookmark_interval_ms = 1000;
  int base_port = 0;                // cluster i listens on base_port + i; 0 = any free port
  std::vector<std::string> regions = {"us-east-1", "eu-west-1", "ap-southeast-1", "us-west-2", "eu-central-1"};
};

class Fleet {
 public:
  // Builds every cluster's initial objects (no threads yet).
  static Result<std::unique_ptr<Fleet>> Create(FleetOptions options);
  ~Fleet();

  // Starts the API servers, writes the kubeconfig, starts churn and faults.
  Status Start();
  void Stop();

  size_t size() const { return clusters_.size(); }
  const std::string& cluster_name(size_t i) const { return clusters_[i]->identity.name; }
  const std::string& region(size_t i) const { return clusters_[i]->identity.region; }
  std::string url(size_t i) const { return clusters_[i]->server->url(); }
  const std::string& token(size_t i) const { return clusters_[i]->token; }
  const std::string& kubeconfig_path() const { return kubeconfig_path_; }
  std::string KubeconfigYaml() const;
  const std::string& ca_pem() const { return tls_.ca_cert_pem; }

  // Live objects and version of cluster i, consistent at one instant.
  GroundTruth Truth(size_t i) const { return clusters_[i]->store->Truth(); }
  ClusterStore* store(size_t i) { return clusters_[i]->store.get(); }
  ApiServer* server(size_t i) { return clusters_[i]->server.get(); }

  // Churn on/off (the fault schedule keeps running).
  void SetChurn(bool on) { churn_on_ = on; }
  // Applies one fault now (also what the schedule does). Blocks for the
  // fault's duration only for down/deletes when `wait` is set.
  void InjectFault(const Fault& fault);
  // Skips the faults not fired yet (those under way end as scheduled).
  void StopFaults();
  // True once every scheduled fault has fired and every downtime has ended.
  bool FaultsDone() const { return faults_done_.load(); }
  // Milliseconds since Start().
  int64_t ElapsedMs() const;

  uint64_t churn_ticks() const { return ticks_.load(); }

 private:
  struct Cluster {
    ClusterIdentity identity;
    std::string token;
    std::unique_ptr<ClusterStore> store;
    std::unique_ptr<ClusterSim> sim;
    std::unique_ptr<ApiServer> server;
    int64_t restart_at_ms = -1;  // pending restart after downtime
  };

  explicit Fleet(FleetOptions options) : options_(std::move(options)) {}
  void Loop();
  void ApplyFault(const Fault& fault, int64_t now_ms);  // with mu_ held

  FleetOptions options_;
  TlsMaterial tls_;
  std::vector<std::unique_ptr<Cluster>> clusters_;
  std::string kubeconfig_path_;
  std::string temp_dir_;
  std::mutex mu_;  // sims and servers (the loop thread and InjectFault)
  std::condition_variable wake_;
  std::thread thread_;
  bool running_ = false;
  std::atomic<bool> churn_on_{true};
  std::atomic<bool> faults_done_{false};
  std::atomic<uint64_t> ticks_{0};
  int64_t started_us_ = 0;
  size_t next_fault_ = 0;
};

}  // namespace kl::simulator
