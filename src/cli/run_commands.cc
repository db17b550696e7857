// `kubelake pipeline`, `kubelake run`, `kubelake demo` and `kubelake query`:
// the warehouse as a program. `run` is collector + embedded log + jobs in one
// process; `collect` and `pipeline` run the halves apart (for Kafka); `demo`
// adds a simulated fleet and prints live reports.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "cli/collector_service.h"
#include "cli/commands.h"
#include "cli/ingest_options.h"
#include "cli/output.h"
#include "cli/serve_options.h"
#include "collector/collector.h"
#include "collector/sink/log_sink.h"
#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/string_util.h"
#include "common/worker_pool.h"
#include "log/event_log.h"
#include "pipeline/warehouse/warehouse.h"
#include "server/metrics/metrics.h"
#include "server/pgwire/auth.h"
#include "simulator/fleet.h"
#include "sql/warehouse/warehouse.h"
#include "sql/warehouse_queries.h"
#include "table/schema/options.h"

namespace kl::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_interrupts{0};  // a second Ctrl-C ends the demo's catch-up wait

void InstallStopHandlers() {
  std::signal(SIGINT, [](int) {
    g_stop = true;
    ++g_interrupts;
  });
  std::signal(SIGTERM, [](int) {
    g_stop = true;
    g_interrupts += 2;
  });
}

// Defaults come from the pipeline's own (one place to change them).
const pipeline::WarehouseOptions kWarehouseDefaults;

struct WarehouseArgs {
  std::string data_dir = "kubelake-data";
  std::string warehouse;  // default <data>/warehouse
  std::string log;        // default dir:<data>/log
  int64_t commit_interval_ms = kWarehouseDefaults.commit_interval_ms;
  int64_t ods_commit_interval_ms = kWarehouseDefaults.ods_commit_interval_ms;
  int64_t trend_interval_s = kWarehouseDefaults.trend_interval_ms / 1000;
  std::string user_label = kWarehouseDefaults.user_label;
  std::string instance_label = kWarehouseDefaults.instance_label;
  bool no_ods = !kWarehouseDefaults.ods;
  std::string file_format = kWarehouseDefaults.file_format;
  std::string deleted_retention = kWarehouseDefaults.deleted_retention;
  double duration_s = 0;
  double status_interval_s = 5;
  int threads = 0;                     // 0: the cores this process may use
  std::string warehouse_sql;           // a warehouse file of one's own instead of the shipped one
  std::vector<std::string> sql_files;  // teams' statements run beside the warehouse
  ServeArgs serve;
};

pipeline::WarehouseOptions WarehouseOptionsFrom(const WarehouseArgs& a) {
  pipeline::WarehouseOptions o;
  o.warehouse = a.warehouse.empty() ? JoinPath(a.data_dir, "warehouse") : a.warehouse;
  o.user_label = a.user_label;
  o.instance_label = a.instance_label;
  o.commit_interval_ms = a.commit_interval_ms;
  o.ods_commit_interval_ms = a.ods_commit_interval_ms;
  o.trend_interval_ms = a.trend_interval_s * 1000;
  o.ods = !a.no_ods;
  o.file_format = a.file_format;
  o.deleted_retention = a.deleted_retention;
  // Process-wide: every table writer of every job takes its commits' parallelism from here.
  WorkerPool::SetDefaultParallelism(a.threads);
  return o;
}

std::string LogUri(const WarehouseArgs& a, bool ingest = false) {
  // The pipeline is a required consumer group: retention never deletes what it has not committed.
  // Ingest acknowledges batches after a Flush: with fsync=batch that Flush is on disk.
  if (!a.log.empty()) return a.log;
  return "dir:" + JoinPath(a.data_dir, "log") + "?" + (ingest ? kIngestLogFsync : "fsync=200ms") +
         "&required_groups=kubelake-dwd";
}

void AddWarehouseOptions(CLI::App* cmd, WarehouseArgs* a) {
  cmd->add_option("--data-dir", a->data_dir, "where the warehouse and the embedded log live")->capture_default_str();
  cmd->add_option("--warehouse", a->warehouse, "Paimon warehouse directory (default: <data-dir>/warehouse)");
  cmd->add_option("--log", a->log, "event log URI: dir:PATH or kafka://brokers/topic (default: dir:<data-dir>/log)");
  cmd->add_option("--commit-interval-ms", a->commit_interval_ms, "checkpoint (table commit) interval of log jobs")
      ->capture_default_str();
  cmd->add_option("--ods-commit-interval-ms", a->ods_commit_interval_ms,
                  "commit interval of the ODS job (raw events; never shorter than --commit-interval-ms)")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads,
                  "threads one job's independent work uses at once: a table's buckets at a commit, a batch's JSON "
                  "decoding (default 0: the cores this process may use; 1: all on the job's thread)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd->add_option("--trend-interval", a->trend_interval_s, "seconds between trend samples")->capture_default_str();
  cmd->add_option("--user-label", a->user_label, "pod label naming the user (tenant)")->capture_default_str();
  cmd->add_option("--instance-label", a->instance_label, "pod label naming the user's instance")->capture_default_str();
  cmd->add_flag("--no-ods", a->no_ods, "do not keep raw events (ods_events)");
  cmd->add_option("--file-format", a->file_format,
                  "data files of the DWD, ADS and trend tables when they are created (ODS stays Avro; the look-up "
                  "tables dim_node and dws_topology are Parquet)")
      ->check(CLI::IsMember({"avro", "parquet"}))
      ->capture_default_str();
  cmd->add_option("--deleted-retention", a->deleted_retention,
                  "how long dwd_objects keeps a deleted object's row, such as \"7 d\" or \"1 h\" (default: for "
                  "ever; its 'record-level.expire-time', set when the table is created; ALTER TABLE dwd_objects SET "
                  "changes it later). With a retention, memory stays flat under churn")
      ->check([](const std::string& v) {
        return table::TableOptions({{"record-level.expire-time", v}}).Validate().ok()
                   ? std::string()
                   : "--deleted-retention takes a duration such as \"1 h\", \"30 min\" or \"600 s\"";
      });
  cmd->add_option("--duration", a->duration_s, "stop after this many seconds (default: until interrupted)");
  cmd->add_option("--sql", a->sql_files,
                  "a file of SQL statements (CREATE TABLE, INSERT INTO ... SELECT) whose streaming jobs run beside "
                  "the warehouse's (repeatable)");
  cmd->add_option("--warehouse-sql", a->warehouse_sql,
                  "run this warehouse SQL file instead of the shipped one (kubelake sql --print-warehouse-sql)");
  cmd->add_option("--status-interval", a->status_interval_s, "seconds between status lines")->capture_default_str();
  AddServeOptions(cmd, &a->serve);
}

// The directory of an embedded log URI ("dir:PATH?..."), or "".
std::string LogDir(const std::string& uri) {
  if (uri.rfind("dir:", 0) != 0) return "";
  return uri.substr(4, uri.find('?') == std::string::npos ? std::string::npos : uri.find('?') - 4);
}

// What the servers read from this process: its jobs, its collector (if any), its log.
server::LiveSources LiveSourcesOf(const pipeline::JobRunner* runner, CollectorService* collector, log::EventLog* log,
                                  const std::string& log_uri) {
  server::LiveSources live;
  if (runner != nullptr) live.jobs = [runner] { return runner->Status(); };
  if (collector != nullptr) {
    live.watches = [collector] { return collector->collector()->Stats(); };
    live.collector_events = [collector] { return collector->events(); };
  }
  live.log = log;
  live.log_dir = LogDir(log_uri);
  return live;
}

std::string StatusLine(CollectorService* collector, const pipeline::JobRunner& runner) {
  std::string line;
  if (collector != nullptr) {
    size_t watching = 0, total = 0;
    uint64_t expired = 0;
    for (const auto& s : collector->collector()->Stats()) {
      ++total;
      watching += s.state == collector::WatchState::kWatching;
      expired += s.expired;
    }
    line += "collector " + std::to_string(watching) + "/" + std::to_string(total) + " watching, " +
            std::to_string(collector->events()) + " events, " + std::to_string(expired) + " relists";
    for (const auto& c : collector::DescribeFailingClusters(collector->collector()->Stats(), /*brief=*/true)) {
      line += "; " + c;
    }
    line += " | ";
  }
  int64_t now = NowMillis();
  for (const auto& s : runner.Status()) {
    if (s.name != "ods" && s.name != "dwd" && s.name != "ads-kind-count") continue;
    line += s.name + " " + std::to_string(s.changes_in) + " in";
    if (s.last_commit_ms > 0) line += ", committed " + std::to_string((now - s.last_commit_ms) / 1000) + "s ago";
    if (s.errors > 0) line += ", " + std::to_string(s.errors) + " errors";
    line += " | ";
  }
  if (line.size() >= 3) line.resize(line.size() - 3);
  return line;
}

Status RunPipeline(const WarehouseArgs& args, const IngestArgs& ingest_args) {
  pipeline::WarehouseOptions o = WarehouseOptionsFrom(args);
  KL_ASSIGN_OR_RETURN(auto log, log::OpenEventLog(LogUri(args, ingest_args.enabled())));
  KL_ASSIGN_OR_RETURN(auto jobs, sql::BuildWarehouseJobs(log.get(), o, LogUri(args, ingest_args.enabled()),
                                                         args.warehouse_sql, args.sql_files));
  pipeline::JobRunner runner(std::move(jobs));
  InstallStopHandlers();
  runner.Start();
  auto ingest_or = StartIngest(ingest_args, log.get(), args.data_dir, {});
  if (!ingest_or.ok()) {
    runner.Stop();
    return ingest_or.status();
  }
  std::unique_ptr<ingest::IngestServer> ingest = std::move(*ingest_or);
  spdlog::info("pipeline: {} jobs reading {} into {}", runner.jobs().size(), log->Describe(), o.warehouse);
  KL_ASSIGN_OR_RETURN(
      auto servers,
      StartServers(args.serve, o, LiveSourcesOf(&runner, nullptr, log.get(), LogUri(args, ingest_args.enabled()))));
  spdlog::info("serving: {}", DescribeServers(*servers));
  auto start = std::chrono::steady_clock::now();
  auto last = start;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = std::chrono::steady_clock::now();
    if (args.duration_s > 0 && now - start >= std::chrono::duration<double>(args.duration_s)) break;
    if (args.status_interval_s > 0 && now - last >= std::chrono::duration<double>(args.status_interval_s)) {
      last = now;
      spdlog::info("{}{}", ingest ? IngestStatusLine(*ingest) + " | " : "", StatusLine(nullptr, runner));
    }
  }
  if (ingest) ingest->Stop();
  servers->Stop();
  runner.Stop();
  return Status::OK();
}

struct ClusterArgs {
  std::string kubeconfig;
  std::vector<std::string> contexts;
  std::string spec;
  double checkpoint_interval_s = 30;
};

Result<std::vector<collector::ClusterCredentials>> LoadClusters(const ClusterArgs& c) {
  std::string path = c.kubeconfig;
  if (path.empty()) {
    const char* env = std::getenv("KUBECONFIG");
    const char* home = std::getenv("HOME");
    path = env != nullptr ? env : (home != nullptr ? std::string(home) + "/.kube/config" : "");
  }
  if (path.empty()) return Status::InvalidArgument("no kubeconfig: pass --kubeconfig");
  return collector::LoadKubeconfig(path, c.contexts);
}

using Tick = std::function<void(CollectorService*, const pipeline::JobRunner&)>;
using EndPhase = std::function<Status(CollectorService*, const pipeline::JobRunner&)>;

// Collector + pipeline in this process until stopped; `tick` runs every
// status interval (the demo prints reports there). `finish`, when given, runs
// once at the end while everything still runs (the demo's catch-up and final
// report); otherwise `tick` runs once more after the stop.
Status RunEverything(const WarehouseArgs& args, std::vector<collector::ClusterCredentials> clusters,
                     std::vector<collector::WatchSet> watch_sets, double checkpoint_interval_s, const Tick& tick,
                     const std::function<void(const server::Server&)>& announce, const IngestArgs& ingest_args = {},
                     const EndPhase& finish = nullptr) {
  pipeline::WarehouseOptions o = WarehouseOptionsFrom(args);
  KL_ASSIGN_OR_RETURN(auto log, log::OpenEventLog(LogUri(args, ingest_args.enabled())));
  KL_ASSIGN_OR_RETURN(auto jobs, sql::BuildWarehouseJobs(log.get(), o, LogUri(args, ingest_args.enabled()),
                                                         args.warehouse_sql, args.sql_files));
  pipeline::JobRunner runner(std::move(jobs));
  runner.Start();
  std::set<std::string> local;
  for (const auto& c : clusters) local.insert(c.name);
  std::unique_ptr<CollectorService> collector;
  if (!clusters.empty()) {  // a central kubelake may only ingest
    collector::CollectorOptions co;
    co.clusters = std::move(clusters);
    co.watch_sets = std::move(watch_sets);
    auto service = CollectorService::Start(log.get(), std::move(co), JoinPath(args.data_dir, "collector/checkpoint"),
                                           checkpoint_interval_s);
    if (!service.ok()) {
      runner.Stop();
      return service.status();
    }
    collector = std::move(*service);
  }
  auto ingest_or = StartIngest(ingest_args, log.get(), args.data_dir, local);
  if (!ingest_or.ok()) {
    if (collector) collector->Stop();
    runner.Stop();
    return ingest_or.status();
  }
  std::unique_ptr<ingest::IngestServer> ingest = std::move(*ingest_or);
  KL_ASSIGN_OR_RETURN(auto servers, StartServers(args.serve, o,
                                                 LiveSourcesOf(&runner, collector.get(), log.get(),
                                                               LogUri(args, ingest_args.enabled()))));
  announce(*servers);
  InstallStopHandlers();
  auto start = std::chrono::steady_clock::now();
  auto last = start;
  Status result;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (collector && !collector->collector()->status().ok()) {
      result = collector->collector()->status();
      break;
    }
    auto now = std::chrono::steady_clock::now();
    if (args.duration_s > 0 && now - start >= std::chrono::duration<double>(args.duration_s)) break;
    if (args.status_interval_s > 0 && now - last >= std::chrono::duration<double>(args.status_interval_s)) {
      last = now;
      if (ingest) spdlog::info("{}", IngestStatusLine(*ingest));
      tick(collector.get(), runner);
    }
  }
  if (finish && result.ok()) result = finish(collector.get(), runner);
  if (ingest) ingest->Stop();
  servers->Stop();
  if (collector) collector->Stop();
  runner.Stop();
  if (!finish) tick(collector.get(), runner);
  return result;
}

Status RunRun(const WarehouseArgs& args, const ClusterArgs& c, const IngestArgs& ingest_args) {
  std::vector<collector::ClusterCredentials> clusters;
  // A central kubelake that only receives from in-cluster collectors needs no kubeconfig.
  bool ingest_only = ingest_args.enabled() && c.kubeconfig.empty() && c.contexts.empty();
  if (!ingest_only) {
    KL_ASSIGN_OR_RETURN(clusters, LoadClusters(c));
  }
  std::vector<collector::WatchSet> sets;
  if (!c.spec.empty()) {
    KL_ASSIGN_OR_RETURN(sets, collector::LoadWatchSets(c.spec));
  }
  return RunEverything(
      args, std::move(clusters), std::move(sets), c.checkpoint_interval_s,
      [](CollectorService* col, const pipeline::JobRunner& runner) { spdlog::info("{}", StatusLine(col, runner)); },
      [](const server::Server& servers) { spdlog::info("serving: {}", DescribeServers(servers)); }, ingest_args);
}

void PrintQueryResult(const sql::QueryResult& r, OutputFormat format) {
  format::ColumnBatch batch(r.columns);
  for (const auto& row : r.rows) batch.AppendRow(row);
  std::vector<size_t> order(batch.num_rows());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (format == OutputFormat::kJsonl)
    PrintRowsJsonl(stdout, batch, order);
  else
    PrintRowsTable(stdout, batch, order);
}

// ---- demo ----

struct DemoArgs {
  WarehouseArgs warehouse;
  size_t clusters = 3;
  size_t nodes = 12;
  size_t pods = 600;
  double churn = 1.0;  // scales the churn rates
  bool faults = true;
  double fault_interval_s = 45;  // mean time between faults, per cluster
  uint64_t seed = 7;
  bool quiet_logs = false;  // no --log-level given: only errors are logged
};

// The audit next to the simulator's truth: live objects per (cluster, kind) and each cluster's region.
struct AuditVsTruth {
  std::map<std::string, std::map<std::string, std::pair<int64_t, int64_t>>> counts;  // cluster -> kind -> (ours, truth)
  std::map<std::string, std::pair<std::string, std::string>> regions;                // cluster -> (ours, truth)
  std::set<std::string> kinds;
  std::string first_difference;  // empty: everything equal
  int64_t objects = 0;
};

Result<AuditVsTruth> CompareAuditWithTruth(simulator::Fleet* fleet, const pipeline::WarehouseOptions& o) {
  KL_ASSIGN_OR_RETURN(sql::QueryResult audit, sql::QueryAudit(o, {}));
  AuditVsTruth c;
  for (const auto& r : audit.rows) {
    c.counts[r[0].as_bytes()][r[2].as_bytes()].first = r[3].as_int();
    c.regions[r[0].as_bytes()].first = r[1].is_null() ? "" : r[1].as_bytes();
    c.kinds.insert(r[2].as_bytes());
  }
  for (size_t i = 0; i < fleet->size(); ++i) {
    simulator::GroundTruth truth = fleet->Truth(i);
    for (const auto& obj : truth.objects) {
      c.counts[fleet->cluster_name(i)][obj.kind].second++;
      c.kinds.insert(obj.kind);
      ++c.objects;
    }
    c.regions[fleet->cluster_name(i)].second = fleet->region(i);
  }
  for (const auto& [cluster, kinds] : c.counts) {
    for (const auto& [kind, n] : kinds) {
      if (n.first != n.second && c.first_difference.empty()) {
        c.first_difference = cluster + " " + kind + ": " + std::to_string(n.first) + " in the warehouse, " +
                             std::to_string(n.second) + " in the simulator";
      }
    }
  }
  for (const auto& [cluster, r] : c.regions) {
    if (r.first != r.second && c.first_difference.empty()) {
      c.first_difference = cluster + " region: " + (r.first.empty() ? "unknown" : r.first) + " in the warehouse, " +
                           r.second + " in the simulator";
    }
  }
  return c;
}

// `final_report`: churn has stopped and the warehouse has caught up.
void PrintDemoReport(simulator::Fleet* fleet, CollectorService* col, const pipeline::JobRunner& runner,
                     const pipeline::WarehouseOptions& o, int64_t started_ms, bool final_report = false) {
  int64_t seconds = (NowMillis() - started_ms) / 1000;
  if (final_report) {
    std::printf("\n== kubelake demo: final report after %lld s (churn stopped, warehouse caught up) ==\n",
                static_cast<long long>(seconds));
  } else {
    std::printf("\n== kubelake demo: %zu clusters, %lld s ==\n%s\n", fleet->size(), static_cast<long long>(seconds),
                StatusLine(col, runner).c_str());
  }
  // Audit: live objects per kind and cluster from ADS, checked against the simulator's truth.
  auto compared = CompareAuditWithTruth(fleet, o);
  if (!compared.ok()) {
    std::printf("audit: %s\n", compared.status().ToString().c_str());
    return;
  }
  const AuditVsTruth& c = *compared;
  std::printf("\nAudit: live objects per kind and cluster%s\n",
              final_report ? " (each equals the simulator's truth)"
                           : " (\"41/42*\" = warehouse/truth where they differ: the warehouse lags the churn)");
  std::vector<std::string> header = {"kind"};
  for (size_t i = 0; i < fleet->size(); ++i) {
    const std::string& name = fleet->cluster_name(i);
    const std::string& region = c.regions.at(name).first;
    header.push_back(name + " (" + (region.empty() ? "region ?" : region) + ")");
  }
  std::vector<std::vector<std::string>> cells;
  for (const auto& k : c.kinds) {
    std::vector<std::string> row = {k};
    for (size_t i = 0; i < fleet->size(); ++i) {
      const auto& kinds = c.counts.at(fleet->cluster_name(i));
      auto it = kinds.find(k);
      std::pair<int64_t, int64_t> n = it == kinds.end() ? std::pair<int64_t, int64_t>{0, 0} : it->second;
      row.push_back(n.first == n.second ? std::to_string(n.first)
                                        : std::to_string(n.first) + "/" + std::to_string(n.second) + "*");
    }
    cells.push_back(std::move(row));
  }
  PrintTextTable(stdout, header, cells);
  // Topology of the user with the most pods right now.
  std::map<std::string, int> pods_by_user;
  auto topology_all = table::Catalog(o.warehouse).GetTable(o.database, pipeline::kAdsUserResourcesTable);
  if (topology_all.ok()) {
    auto rows = (*topology_all)->ReadAll();
    if (rows.ok()) {
      for (size_t i = 0; i < rows->size(); ++i) {
        format::Row r = rows->rows.GetRow(i);
        if (!r[0].is_null() && !r[2].is_null()) pods_by_user[r[0].as_bytes()] += static_cast<int>(r[2].as_int());
      }
    }
  }
  std::string user;
  int best = 0;
  for (const auto& [u, n] : pods_by_user) {
    if (n > best) {
      best = n;
      user = u;
    }
  }
  if (!user.empty()) {
    sql::TopologyQuery q;
    q.user_id = user;
    auto topo = sql::QueryTopology(o, q);
    if (topo.ok()) {
      std::printf("\nTopology of user %s (user -> instance -> pod -> node -> cluster), %zu pods:\n", user.c_str(),
                  topo->rows.size());
      sql::QueryResult shown = *topo;
      if (shown.rows.size() > 5) shown.rows.resize(5);
      PrintQueryResult(shown, OutputFormat::kTable);
      if (topo->rows.size() > 5) std::printf("... %zu more\n", topo->rows.size() - 5);
    }
  }
  sql::TrendQuery tq;
  tq.minutes = 10;
  auto trend = sql::QueryTrend(o, tq);
  if (trend.ok() && !trend->rows.empty()) {
    std::printf("\nTrend: live pods per cluster, the last two samples (kubelake query trend shows more)\n");
    sql::QueryResult shown = *trend;
    size_t keep = 2 * fleet->size();  // the last two samples
    if (shown.rows.size() > keep) shown.rows.erase(shown.rows.begin(), shown.rows.end() - static_cast<long>(keep));
    PrintQueryResult(shown, OutputFormat::kTable);
  }
  std::fflush(stdout);
}

Status RunDemo(DemoArgs args) {
  std::string dir = args.warehouse.data_dir;
  // Each demo simulates a new fleet: a previous demo's log, checkpoint and
  // tables describe another one, so they go (only if a demo made them).
  std::string marker = JoinPath(dir, ".kubelake-demo");
  if (FileExists(marker)) KL_RETURN_IF_ERROR(RemoveAll(dir));
  KL_RETURN_IF_ERROR(CreateDirs(dir));
  KL_RETURN_IF_ERROR(WriteFile(marker, "data of the last kubelake demo; removed by the next one\n"));
  simulator::FleetOptions fo;
  fo.clusters = args.clusters;
  fo.shape.nodes = args.nodes;
  fo.shape.pods = args.pods;
  fo.shape.pods_per_deployment = 6;
  fo.shape.statefulsets = 2;
  fo.churn.pod_replacements = 4 * args.churn;
  fo.churn.pod_updates = 15 * args.churn;
  fo.churn.scales = 0.3 * args.churn;
  fo.churn.node_changes = 0.03 * args.churn;
  fo.churn.cordons = 0.05 * args.churn;
  fo.seed = args.seed;
  fo.dir = JoinPath(dir, "fleet");
  if (args.faults) {
    // About one fault per --fault-interval per cluster while the demo runs (30 minutes when it runs until Ctrl-C).
    int64_t span_ms =
        args.warehouse.duration_s > 0 ? static_cast<int64_t>(args.warehouse.duration_s * 1000) : 30 * 60 * 1000;
    fo.faults = simulator::FaultSchedule::Random(args.seed, static_cast<int>(args.clusters), span_ms,
                                                 static_cast<int64_t>(args.fault_interval_s * 1000));
  }
  if (args.quiet_logs) spdlog::set_level(spdlog::level::err);
  KL_ASSIGN_OR_RETURN(auto fleet, simulator::Fleet::Create(fo));
  KL_RETURN_IF_ERROR(fleet->Start());
  std::printf("kubelake demo: simulated fleet of %zu clusters (kubeconfig %s), data in %s\n", fleet->size(),
              fleet->kubeconfig_path().c_str(), dir.c_str());
  if (!args.faults) {
    std::printf("faults: off\n");
  } else {
    int64_t span_s = args.warehouse.duration_s > 0 ? static_cast<int64_t>(args.warehouse.duration_s) : 30 * 60;
    std::printf("faults: %s in the first %lld s, at random (--no-faults turns them off)\n", fo.faults.Summary().c_str(),
                static_cast<long long>(span_s));
  }
  ClusterArgs c;
  c.kubeconfig = fleet->kubeconfig_path();
  KL_ASSIGN_OR_RETURN(auto clusters, LoadClusters(c));
  pipeline::WarehouseOptions o = WarehouseOptionsFrom(args.warehouse);
  int64_t started = NowMillis();
  // At the end: no more churn or faults; wait (bounded) until the warehouse equals the
  // simulator's truth, then print the final report and say so.
  auto finish = [&](CollectorService* col, const pipeline::JobRunner& runner) -> Status {
    const int64_t kCatchUpMs = 120000;
    std::printf(
        "\nStopping churn and faults; waiting up to %lld s for the warehouse to catch up with the simulator"
        " (Ctrl-C again to quit now)...\n",
        static_cast<long long>(kCatchUpMs / 1000));
    std::fflush(stdout);
    fleet->SetChurn(false);
    fleet->StopFaults();
    int64_t deadline = NowMillis() + kCatchUpMs;
    std::string behind = "the collector has not caught up";
    while (true) {
      if (g_interrupts >= 2) {
        std::printf("Interrupted before the warehouse caught up (%s).\n", behind.c_str());
        return Status::OK();
      }
      if (!fleet->FaultsDone()) {
        behind = "a simulated API server is still down";
      } else {
        std::map<std::string, uint64_t> versions;
        for (size_t i = 0; i < fleet->size(); ++i) versions[fleet->cluster_name(i)] = fleet->Truth(i).resource_version;
        if (!col->collector()->CaughtUp(versions)) {
          behind = "the collector has not caught up";
          for (const auto& f : collector::DescribeFailingClusters(col->collector()->Stats(), /*brief=*/true)) {
            behind += "; " + f;
          }
        } else {
          auto compared = CompareAuditWithTruth(fleet.get(), o);
          if (compared.ok() && compared->first_difference.empty()) {
            PrintDemoReport(fleet.get(), col, runner, o, started, /*final_report=*/true);
            std::printf(
                "\nThe warehouse equals the simulator's truth: %lld live objects in %zu clusters, every count "
                "and region above exact.\n",
                static_cast<long long>(compared->objects), fleet->size());
            return Status::OK();
          }
          behind = compared.ok() ? compared->first_difference : compared.status().ToString();
        }
      }
      if (NowMillis() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    PrintDemoReport(fleet.get(), col, runner, o, started);
    return Status::Unavailable("the warehouse did not catch up with the simulator within " +
                               std::to_string(kCatchUpMs / 1000) + " s after churn stopped: " + behind);
  };
  Status s = RunEverything(
      args.warehouse, std::move(clusters), {}, 15,
      [&](CollectorService* col, const pipeline::JobRunner& runner) {
        PrintDemoReport(fleet.get(), col, runner, o, started);
      },
      [](const server::Server& servers) {
        std::printf("serving: %s\n", DescribeServers(servers).c_str());
        std::fflush(stdout);
      },
      IngestArgs{}, finish);
  fleet->Stop();
  std::printf("\nWarehouse in %s (Paimon tables: kubelake table read %s/kubelake.db/ads_kind_count)\n",
              o.warehouse.c_str(), o.warehouse.c_str());
  return s;
}

// `kubelake serve`: the servers alone, over the tables of --data-dir (the
// jobs run in another process, or not at all).
Status RunServe(const WarehouseArgs& args) {
  pipeline::WarehouseOptions o = WarehouseOptionsFrom(args);
  // The log, when there is one to read: it gives lag and size on /metrics and readiness.
  std::unique_ptr<log::EventLog> log;
  std::string uri = args.log;
  if (uri.empty() && IsDirectory(JoinPath(args.data_dir, "log"))) uri = "dir:" + JoinPath(args.data_dir, "log");
  if (!uri.empty()) {
    auto opened = log::OpenEventLog(uri);
    if (opened.ok()) {
      log = std::move(*opened);
    } else {
      spdlog::warn("serve: not reading the event log {}: {}", uri, opened.status().ToString());
    }
  }
  if (!server::IsWarehouseCreated(o)) {
    spdlog::warn(
        "serve: no kubelake warehouse at {} yet; answers say so until `kubelake run` or `kubelake "
        "pipeline` creates one there",
        o.warehouse);
  }
  KL_ASSIGN_OR_RETURN(auto servers, StartServers(args.serve, o, LiveSourcesOf(nullptr, nullptr, log.get(), uri)));
  spdlog::info("serving {}: {}", o.warehouse, DescribeServers(*servers));
  InstallStopHandlers();
  auto start = std::chrono::steady_clock::now();
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (args.duration_s > 0 &&
        std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(args.duration_s)) {
      break;
    }
  }
  servers->Stop();
  return Status::OK();
}

Status RunQuery(const std::string& what, const WarehouseArgs& args, const sql::AuditQuery& audit,
                const sql::TopologyQuery& topology, const sql::TrendQuery& trend, const std::string& fmt) {
  OutputFormat format;
  if (!ParseOutputFormat(fmt, &format)) return Status::InvalidArgument("--format must be table or jsonl");
  pipeline::WarehouseOptions o = WarehouseOptionsFrom(args);
  Result<sql::QueryResult> r = Status::InvalidArgument("unknown query " + what);
  if (what == "audit")
    r = sql::QueryAudit(o, audit);
  else if (what == "topology")
    r = sql::QueryTopology(o, topology);
  else if (what == "trend")
    r = sql::QueryTrend(o, trend);
  if (!r.ok()) return r.status();
  PrintQueryResult(*r, format);
  return Status::OK();
}

}  // namespace

void AddRunCommands(CLI::App* app) {
  {
    auto args = std::make_shared<WarehouseArgs>();
    auto* cmd =
        app->add_subcommand("pipeline", "Run the warehouse jobs on an event log (ODS, DWD, ADS, topology, trend)");
    AddWarehouseOptions(cmd, args.get());
    auto ingest_args = std::make_shared<IngestArgs>();
    AddIngestOptions(cmd, ingest_args.get());
    cmd->callback([args, ingest_args] { Finish(RunPipeline(*args, *ingest_args)); });
  }
  {
    auto args = std::make_shared<WarehouseArgs>();
    auto c = std::make_shared<ClusterArgs>();
    auto* cmd = app->add_subcommand("run", "Collector, embedded event log and warehouse jobs in one process");
    AddWarehouseOptions(cmd, args.get());
    cmd->add_option("--kubeconfig", c->kubeconfig,
                    "kubeconfig file (default: $KUBECONFIG, ~/.kube/config; none with --listen-ingest: ingest only)");
    cmd->add_option("--context", c->contexts, "context to collect (repeatable; default: every context)");
    cmd->add_option("--spec", c->spec, "WatchSet file (default: the eight core kinds)");
    cmd->add_option("--checkpoint-interval", c->checkpoint_interval_s, "seconds between collector checkpoints")
        ->capture_default_str();
    auto ingest_args = std::make_shared<IngestArgs>();
    AddIngestOptions(cmd, ingest_args.get());
    cmd->callback([args, c, ingest_args] { Finish(RunRun(*args, *c, *ingest_args)); });
  }
  {
    auto args = std::make_shared<DemoArgs>();
    args->warehouse.data_dir = "kubelake-demo";
    args->warehouse.trend_interval_s = 10;
    args->warehouse.status_interval_s = 10;
    args->warehouse.serve.any_port_if_busy = true;  // a second demo still gets a dashboard
    auto* cmd = app->add_subcommand("demo", "Run everything on a simulated fleet and print live reports");
    AddWarehouseOptions(cmd, &args->warehouse);
    cmd->add_option("--clusters", args->clusters, "simulated clusters")->capture_default_str();
    cmd->add_option("--nodes", args->nodes, "nodes per cluster")->capture_default_str();
    cmd->add_option("--pods", args->pods, "workload pods per cluster")->capture_default_str();
    cmd->add_option("--churn", args->churn, "churn multiplier (0 = none)")->capture_default_str();
    cmd->add_option("--seed", args->seed, "simulation seed")->capture_default_str();
    cmd->add_flag("!--no-faults", args->faults, "no dropped watches, expired versions or downtime");
    cmd->add_option("--fault-interval", args->fault_interval_s, "mean seconds between faults of each cluster")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->callback([args, app] {
      // The faults are deliberate: their warnings would bury the reports (the status line names
      // failing clusters); --log-level shows them.
      args->quiet_logs = app->get_option("--log-level")->count() == 0;
      Finish(RunDemo(*args));
    });
  }
  {
    auto args = std::make_shared<WarehouseArgs>();
    auto* cmd = app->add_subcommand(
        "serve", "Serve a warehouse: dashboard, Prometheus /metrics, JSON API and the PostgreSQL protocol");
    cmd->add_option("--data-dir", args->data_dir, "data directory of kubelake run/demo")->capture_default_str();
    cmd->add_option("--warehouse", args->warehouse, "Paimon warehouse directory (default: <data-dir>/warehouse)");
    cmd->add_option("--log", args->log, "event log to report lag and size from (default: <data-dir>/log if present)");
    cmd->add_option("--duration", args->duration_s, "stop after this many seconds (default: until interrupted)");
    AddServeOptions(cmd, &args->serve);
    cmd->callback([args] { Finish(RunServe(*args)); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto md5 = std::make_shared<bool>(false);
    auto* cmd = app->add_subcommand("pg-password",
                                    "Print a users-file line (NAME:SCRAM-SHA-256$...) for --pg-users; reads the "
                                    "password from standard input");
    cmd->add_option("user", *name, "user name")->required();
    cmd->add_flag("--md5", *md5, "an md5 verifier instead (for clients without SCRAM)");
    cmd->callback([name, md5] {
      std::string password;
      if (!std::getline(std::cin, password) || password.empty()) {
        Finish(Status::InvalidArgument("no password on standard input"));
        return;
      }
      if (!password.empty() && password.back() == '\r') password.pop_back();
      std::printf(
          "%s:%s\n", name->c_str(),
          *md5 ? server::pg::Md5Verifier(*name, password).c_str() : server::pg::ScramVerifierString(password).c_str());
    });
  }
  {
    auto* cmd = app->add_subcommand("query", "Ask the warehouse: audit, topology or trend");
    cmd->require_subcommand(1);
    auto args = std::make_shared<WarehouseArgs>();
    auto fmt = std::make_shared<std::string>("table");
    auto audit = std::make_shared<sql::AuditQuery>();
    auto topo = std::make_shared<sql::TopologyQuery>();
    auto trend = std::make_shared<sql::TrendQuery>();
    auto common = [&](CLI::App* sub) {
      sub->add_option("--data-dir", args->data_dir, "data directory of kubelake run/demo")->capture_default_str();
      sub->add_option("--warehouse", args->warehouse, "Paimon warehouse directory (default: <data-dir>/warehouse)");
      sub->add_option("--format", *fmt, "table or jsonl")->capture_default_str();
    };
    auto* a = cmd->add_subcommand("audit", "Live objects per cluster and kind (or per namespace)");
    common(a);
    a->add_flag("--by-namespace", audit->by_namespace, "one row per namespace");
    a->add_option("--cluster", audit->cluster, "only this cluster");
    a->add_option("--kind", audit->kind, "only this kind");
    a->callback([=] { Finish(RunQuery("audit", *args, *audit, *topo, *trend, *fmt)); });
    auto* t = cmd->add_subcommand("topology", "A user's instances, pods, nodes and clusters, or who runs on a node");
    common(t);
    t->add_option("--user", topo->user_id, "user (tenant) id");
    t->add_option("--node", topo->node, "node name");
    t->add_option("--cluster", topo->cluster, "cluster of the node");
    t->callback([=] { Finish(RunQuery("topology", *args, *audit, *topo, *trend, *fmt)); });
    auto* tr = cmd->add_subcommand("trend", "Counts (or a user's resource requests) over the last minutes");
    common(tr);
    tr->add_option("--minutes", trend->minutes, "how far back")->capture_default_str();
    tr->add_option("--cluster", trend->cluster, "only this cluster");
    tr->add_option("--kind", trend->kind, "object kind")->capture_default_str();
    tr->add_option("--user", trend->user_id, "a user's resource requests instead of counts");
    tr->callback([=] { Finish(RunQuery("trend", *args, *audit, *topo, *trend, *fmt)); });
  }
}

}  // namespace kl::cli
