// End-to-end figures of the warehouse on one machine:
//  1. initial load: a simulated cluster of N real-size pods (simulator in a
//     child process) collected, logged and processed until ADS shows every
//     pod; events/s of wall time and per CPU-second of this process
//     (collector + log + all jobs);
//  2. freshness under steady churn: probe pods created and deleted in the
//     simulator's store; time until an ADS read shows the change; p50/p99.
//
// Both run the warehouse `kubelake run` runs — its SQL (sql/warehouse/warehouse.sql)
// — and, for comparison, the hand-wired jobs of pipeline/warehouse.cc, side by
// side in one run (--jobs sql|hand|both).
//
//   build/bench/pipeline_bench [--pods 150000] [--probes 100] [--commit-interval-ms 500] [--file-format avro|parquet]
//                              [--jobs both]
#include <curl/curl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "collector/collector.h"
#include "collector/kubeconfig.h"
#include "collector/log_sink.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/json.h"
#include "common/random.h"
#include "log/event_log.h"
#include "pipeline/warehouse.h"
#include "sql/warehouse/warehouse.h"
#include "simulator/fleet.h"
#include "simulator/models.h"
#include "simulator/resources.h"

using namespace kl;

namespace {

double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

size_t Collect(char* ptr, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(ptr, size * n);
  return size * n;
}

Result<std::string> HttpGet(const std::string& url) {
  CURL* curl = curl_easy_init();
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return Status::Unavailable(url + ": " + curl_easy_strerror(rc));
  return body;
}

Result<int64_t> AdsCount(const pipeline::WarehouseOptions& o, const std::string& kind, const std::string& ns) {
  const char* name = ns.empty() ? pipeline::kAdsKindCountTable : pipeline::kAdsNamespaceCountTable;
  KL_ASSIGN_OR_RETURN(auto t, table::Catalog(o.warehouse).GetTable(o.database, name));
  KL_ASSIGN_OR_RETURN(auto rows, t->ReadAll());
  int64_t total = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    format::Row r = rows.rows.GetRow(i);
    if (r[1].as_bytes() != kind) continue;
    if (!ns.empty() && (r[2].is_null() || r[2].as_bytes() != ns)) continue;
    total += r[ns.empty() ? 2 : 3].as_int();
  }
  return total;
}

struct Running {
  std::unique_ptr<log::EventLog> log;
  std::unique_ptr<pipeline::JobRunner> runner;
  std::unique_ptr<collector::LogSink> sink;
  std::unique_ptr<collector::Collector> collector;
};

std::string g_file_format = "avro";  // --file-format

// The warehouse from its SQL (what kubelake run runs), or the hand-wired jobs.
Result<Running> StartWarehouse(const std::string& dir, const std::string& kubeconfig, int64_t commit_ms, bool sql) {
  Running r;
  std::string log_uri = "dir:" + dir + "/log?partitions=4&fsync=200ms";
  KL_ASSIGN_OR_RETURN(r.log, log::OpenEventLog(log_uri));
  pipeline::WarehouseOptions o;
  o.warehouse = dir + "/warehouse";
  o.commit_interval_ms = commit_ms;
  o.follow_interval_ms = 50;
  o.file_format = g_file_format;
  std::vector<std::unique_ptr<pipeline::Job>> jobs;
  if (sql) {
    KL_ASSIGN_OR_RETURN(jobs, sql::BuildWarehouseJobs(r.log.get(), o, log_uri));
  } else {
    KL_ASSIGN_OR_RETURN(jobs, pipeline::BuildWarehouseJobs(r.log.get(), o));
  }
  r.runner = std::make_unique<pipeline::JobRunner>(std::move(jobs));
  r.runner->Start();
  KL_ASSIGN_OR_RETURN(r.sink, collector::LogSink::Create(r.log.get()));
  collector::CollectorOptions co;
  KL_ASSIGN_OR_RETURN(co.clusters, collector::LoadKubeconfig(kubeconfig, {}));
  co.sink = r.sink.get();
  KL_ASSIGN_OR_RETURN(r.collector, collector::Collector::Create(co));
  KL_RETURN_IF_ERROR(r.collector->Start());
  return r;
}

const char* Label(bool sql) { return sql ? "SQL warehouse (kubelake run)" : "hand-wired jobs"; }

int InitialLoad(const std::string& kubelake, size_t pods, int64_t commit_ms, bool sql) {
  std::string dir = "/tmp/kubelake-pipeline-bench-load";
  (void)RemoveAll(dir);
  (void)CreateDirs(dir);
  pid_t sim = fork();
  if (sim == 0) {
    FILE* out = std::fopen((dir + "/simulator.log").c_str(), "w");
    if (out != nullptr) {
      dup2(fileno(out), 1);
      dup2(fileno(out), 2);
    }
    std::string pods_arg = std::to_string(pods);
    std::string nodes_arg = std::to_string(std::max<size_t>(3, pods / 100));
    std::string fleet_dir = dir + "/fleet";
    execl(kubelake.c_str(), kubelake.c_str(), "simulate", "--clusters", "1", "--pods", pods_arg.c_str(), "--nodes",
          nodes_arg.c_str(), "--plain-http", "--no-auth", "--dir", fleet_dir.c_str(), "--duration", "900",
          "--stats-interval", "0", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string kubeconfig = dir + "/fleet/kubeconfig";
  for (int i = 0; i < 1200 && !FileExists(kubeconfig); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto clusters = collector::LoadKubeconfig(kubeconfig, {});
  if (!clusters.ok()) {
    std::fprintf(stderr, "simulator did not start: %s\n", clusters.status().ToString().c_str());
    kill(sim, SIGKILL);
    return 1;
  }
  auto truth = HttpGet((*clusters)[0].server + "/kubelake/truth");
  int64_t expected_pods = 0, expected_objects = 0;
  if (truth.ok()) {
    auto json = ParseJson(*truth);
    if (json.ok() && json->Find("objects") != nullptr) {
      for (const auto& o : json->Find("objects")->items()) {
        ++expected_objects;
        if (o.GetStringOr("kind", "") == "Pod") ++expected_pods;
      }
    }
  }
  double cpu0 = CpuSeconds();
  int64_t t0 = MonotonicMicros();
  auto running = StartWarehouse(dir, kubeconfig, commit_ms, sql);
  if (!running.ok()) {
    std::fprintf(stderr, "%s\n", running.status().ToString().c_str());
    kill(sim, SIGKILL);
    return 1;
  }
  pipeline::WarehouseOptions o;
  o.warehouse = dir + "/warehouse";
  int64_t seen = 0;
  while (seen != expected_pods && (MonotonicMicros() - t0) < 600'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto c = AdsCount(o, "Pod", "");
    if (c.ok()) seen = *c;
  }
  double wall = static_cast<double>(MonotonicMicros() - t0) / 1e6;
  double cpu = CpuSeconds() - cpu0;
  uint64_t events = running->sink->events_written();
  std::string per_job;
  for (const auto& j : running->runner->Status()) {
    if (j.cpu_seconds < 0.05) continue;
    char line[256];
    std::snprintf(line, sizeof(line), "\n    %-20s %5.2fs  (source %.2f, operators %.2f, write %.2f, commit %.2f)",
                  j.name.c_str(), j.cpu_seconds, j.cpu_poll_seconds, j.cpu_operators_seconds, j.cpu_write_seconds,
                  j.cpu_commit_seconds);
    per_job += line;
  }
  double collector_cpu = static_cast<double>(running->collector->LoopCpuMicros()) / 1e6;
  running->collector->Stop();
  running->runner->Stop();
  kill(sim, SIGTERM);
  waitpid(sim, nullptr, 0);
  if (seen != expected_pods) {
    std::fprintf(stderr, "ADS shows %lld pods, expected %lld\n", static_cast<long long>(seen),
                 static_cast<long long>(expected_pods));
    return 1;
  }
  std::printf("initial load, %s: %zu workload pods (%lld objects, %llu events) from simulator to ADS\n", Label(sql),
              pods, static_cast<long long>(expected_objects), static_cast<unsigned long long>(events));
  std::printf("  %.0f events/s wall (%.1f s), %.0f events per CPU-second of collector+log+jobs (%.1f CPU s)\n",
              static_cast<double>(events) / wall, wall, static_cast<double>(events) / cpu, cpu);
  std::printf("  CPU: collector %.2fs; jobs:%s\n", collector_cpu, per_job.c_str());
  return 0;
}

int Freshness(int probes, int64_t commit_ms, bool sql) {
  std::string dir = "/tmp/kubelake-pipeline-bench-fresh";
  (void)RemoveAll(dir);
  simulator::FleetOptions fo;
  fo.clusters = 3;
  fo.shape.nodes = 20;
  fo.shape.pods = 2000;
  fo.churn.pod_replacements = 20;
  fo.churn.pod_updates = 60;
  fo.churn.scales = 1;
  fo.tls = false;
  fo.auth = false;
  fo.dir = dir + "/fleet";
  auto fleet = simulator::Fleet::Create(fo);
  if (!fleet.ok() || !(*fleet)->Start().ok()) {
    std::fprintf(stderr, "fleet did not start\n");
    return 1;
  }
  auto running = StartWarehouse(dir, (*fleet)->kubeconfig_path(), commit_ms, sql);
  if (!running.ok()) {
    std::fprintf(stderr, "%s\n", running.status().ToString().c_str());
    return 1;
  }
  pipeline::WarehouseOptions o;
  o.warehouse = dir + "/warehouse";
  // Let the initial load finish before probing.
  for (int i = 0; i < 600; ++i) {
    auto c = AdsCount(o, "Pod", "");
    if (c.ok() && *c >= 6000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  simulator::ClusterStore* store = (*fleet)->store(0);
  const std::string ns = "kubelake-probe";
  std::vector<double> latencies;
  Random rng(3);
  simulator::PodModel pod;
  for (int p = 0; p < probes; ++p) {
    bool create = p % 2 == 0;
    if (create) {
      pod = simulator::PodModel();
      pod.ns = ns;
      pod.name = "probe-" + std::to_string(p / 2);
      pod.uid = rng.Uuid();
      pod.user = "probe";
      pod.instance = "probe";
      pod.created_ms = NowMillis();
    }
    int64_t expected = create ? 1 : 0;
    int64_t t0 = MonotonicMicros();
    if (create) {
      store->Put(simulator::kPods, ns, pod.name,
                 [&](uint64_t rv, simulator::StoredObject* obj) { simulator::RenderPod(pod, rv, 0, obj); });
    } else {
      int64_t when = NowMillis();
      store->Delete(simulator::kPods, ns, pod.name,
                    [&](uint64_t rv, simulator::StoredObject* obj) { simulator::RenderPod(pod, rv, when, obj); });
    }
    while (true) {
      auto c = AdsCount(o, "Pod", ns);
      if (c.ok() && *c == expected) break;
      if (MonotonicMicros() - t0 > 30'000'000) {
        std::fprintf(stderr, "probe %d not visible after 30 s\n", p);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    latencies.push_back(static_cast<double>(MonotonicMicros() - t0) / 1000.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng.Range(100, 400)));
  }
  running->collector->Stop();
  running->runner->Stop();
  (*fleet)->Stop();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) { return latencies[static_cast<size_t>(q * (latencies.size() - 1))]; };
  std::printf(
      "freshness, %s: %d probes (create/delete) under churn of %.0f changes/s on 3 clusters, commit interval %lld "
      "ms\n",
      Label(sql), probes, 3 * (fo.churn.pod_replacements * 2 + fo.churn.pod_updates), static_cast<long long>(commit_ms));
  std::printf("  simulator write -> visible in ADS: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", pct(0.5), pct(0.99),
              latencies.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  size_t pods = 150000;
  int probes = 100;
  int64_t commit_ms = pipeline::WarehouseOptions{}.commit_interval_ms;
  bool load = true, fresh = true;
  std::string which = "both";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--pods" && i + 1 < argc)
      pods = static_cast<size_t>(std::atoll(argv[++i]));
    else if (a == "--probes" && i + 1 < argc)
      probes = std::atoi(argv[++i]);
    else if (a == "--commit-interval-ms" && i + 1 < argc)
      commit_ms = std::atoll(argv[++i]);
    else if (a == "--file-format" && i + 1 < argc)
      g_file_format = argv[++i];
    else if (a == "--jobs" && i + 1 < argc)
      which = argv[++i];
    else if (a == "--load-only")
      fresh = false;
    else if (a == "--freshness-only")
      load = false;
  }
  std::string self = argv[0];
  std::string kubelake = JoinPath(DirName(DirName(self)), "src/cli/kubelake");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = 0;
  std::vector<bool> runs;
  if (which == "sql" || which == "both") runs.push_back(true);
  if (which == "hand" || which == "both") runs.push_back(false);
  if (load) {
    for (bool sql : runs) rc |= InitialLoad(kubelake, pods, commit_ms, sql);
  }
  if (fresh) {
    for (bool sql : runs) rc |= Freshness(probes, commit_ms, sql);
  }
  return rc;
}
