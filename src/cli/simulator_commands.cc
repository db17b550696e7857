// `kubelake simulate`: runs a simulated fleet of Kubernetes API servers until
// interrupted (or for --duration seconds) and prints where they are.
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "simulator/fleet.h"

namespace kl::cli {
namespace {

std::atomic<bool> g_interrupted{false};

struct SimulateArgs {
  simulator::FleetOptions fleet;
  std::string faults;
  int64_t random_fault_interval_ms = 0;
  int64_t random_fault_span_ms = 60000;
  bool plain_http = false;
  bool no_auth = false;
  double duration_s = 0;
  double churn_for_s = 0;
  double stats_interval_s = 10;
};

Status RunSimulate(SimulateArgs args) {
  simulator::FleetOptions& o = args.fleet;
  o.tls = !args.plain_http;
  o.auth = !args.no_auth;
  if (!args.faults.empty()) {
    KL_ASSIGN_OR_RETURN(o.faults, simulator::FaultSchedule::Parse(args.faults));
  } else if (args.random_fault_interval_ms > 0) {
    o.faults = simulator::FaultSchedule::Random(o.seed, static_cast<int>(o.clusters), args.random_fault_span_ms,
                                                args.random_fault_interval_ms);
  }
  KL_ASSIGN_OR_RETURN(auto fleet, simulator::Fleet::Create(o));
  KL_RETURN_IF_ERROR(fleet->Start());
  std::printf("kubeconfig: %s\n", fleet->kubeconfig_path().c_str());
  for (size_t i = 0; i < fleet->size(); ++i) {
    auto truth = fleet->Truth(i);
    std::printf("cluster %s (%s): %s  objects=%zu resourceVersion=%llu  truth: %s/kubelake/truth\n",
                fleet->cluster_name(i).c_str(), fleet->region(i).c_str(), fleet->url(i).c_str(), truth.objects.size(),
                static_cast<unsigned long long>(truth.resource_version), fleet->url(i).c_str());
  }
  if (!o.faults.faults.empty()) std::printf("faults: %s\n", o.faults.ToString().c_str());
  std::fflush(stdout);
  std::signal(SIGINT, [](int) { g_interrupted = true; });
  std::signal(SIGTERM, [](int) { g_interrupted = true; });
  auto start = std::chrono::steady_clock::now();
  auto last_stats = start;
  while (!g_interrupted) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = std::chrono::steady_clock::now();
    if (args.duration_s > 0 && now - start >= std::chrono::duration<double>(args.duration_s)) break;
    if (args.churn_for_s > 0 && now - start >= std::chrono::duration<double>(args.churn_for_s)) fleet->SetChurn(false);
    if (args.stats_interval_s > 0 && now - last_stats >= std::chrono::duration<double>(args.stats_interval_s)) {
      last_stats = now;
      for (size_t i = 0; i < fleet->size(); ++i) {
        spdlog::info("{}: resourceVersion={} requests={} open watches={}", fleet->cluster_name(i),
                     fleet->store(i)->resource_version(), fleet->server(i)->requests(), fleet->server(i)->open_watches());
      }
    }
  }
  fleet->Stop();
  return Status::OK();
}

}  // namespace

void AddSimulatorCommands(CLI::App* app) {
  auto args = std::make_shared<SimulateArgs>();
  auto* cmd = app->add_subcommand("simulate", "Run a simulated fleet of Kubernetes API servers (list/watch, churn, faults)");
  auto& o = args->fleet;
  cmd->add_option("--clusters", o.clusters, "number of clusters (one API endpoint each)")->capture_default_str();
  cmd->add_option("--nodes", o.shape.nodes, "nodes per cluster (up to 5000)")->capture_default_str();
  cmd->add_option("--pods", o.shape.pods, "workload pods per cluster (up to 150000)")->capture_default_str();
  cmd->add_option("--pods-per-deployment", o.shape.pods_per_deployment, "replicas per deployment")->capture_default_str();
  cmd->add_option("--statefulsets", o.shape.statefulsets, "statefulsets per cluster (3 replicas each)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed for objects, churn and random faults")->capture_default_str();
  cmd->add_option("--churn-pods", o.churn.pod_replacements, "pod replacements per second per cluster");
  cmd->add_option("--churn-updates", o.churn.pod_updates, "pod status updates per second per cluster");
  cmd->add_option("--churn-scales", o.churn.scales, "deployment scale changes per second per cluster");
  cmd->add_option("--churn-nodes", o.churn.node_changes, "node additions/removals per second per cluster");
  cmd->add_option("--churn-cordons", o.churn.cordons, "node cordon toggles per second per cluster");
  cmd->add_option("--faults", args->faults,
                  "fault schedule: kind@ms[+duration_ms][xcount][#cluster],... kinds: drop, stall, compact, down, deletes");
  cmd->add_option("--random-faults", args->random_fault_interval_ms,
                  "draw a seeded fault schedule with about one fault per this many ms per cluster");
  cmd->add_option("--random-faults-span", args->random_fault_span_ms, "ms of the run the random faults cover")
      ->capture_default_str();
  cmd->add_flag("--plain-http", args->plain_http, "serve HTTP instead of HTTPS");
  cmd->add_flag("--no-auth", args->no_auth, "accept requests without a bearer token");
  cmd->add_option("--dir", o.dir, "directory for kubeconfig and ca.crt (default: a temporary one)");
  cmd->add_option("--base-port", o.base_port, "cluster i listens on base-port + i (default: free ports)");
  cmd->add_option("--bookmark-interval-ms", o.bookmark_interval_ms, "idle watches get a BOOKMARK this often")
      ->capture_default_str();
  cmd->add_option("--continue-ttl-ms", o.continue_ttl_ms, "continue tokens expire after this long (HTTP 410)")
      ->capture_default_str();
  cmd->add_option("--history", o.history_limit, "changes kept per cluster for watches (older: 410 Expired)")
      ->capture_default_str();
  cmd->add_option("--duration", args->duration_s, "stop after this many seconds (default: until interrupted)");
  cmd->add_option("--churn-for", args->churn_for_s, "stop churning after this many seconds (servers keep running)");
  cmd->add_option("--stats-interval", args->stats_interval_s, "seconds between status lines on stderr")
      ->capture_default_str();
  cmd->callback([args] { Finish(RunSimulate(*args)); });
}

}  // namespace kl::cli
