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
#include <map>
#include <set>
#include <thread>

#include "cli/collector_service.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "collector/collector.h"
#include "collector/log_sink.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/string_util.h"
#include "log/event_log.h"
#include "pipeline/queries.h"
#include "pipeline/warehouse.h"
#include "simulator/fleet.h"

namespace kl::cli {
namespace {

std::atomic<bool> g_stop{false};

void InstallStopHandlers() {
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
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
  double duration_s = 0;
  double status_interval_s = 5;
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
  return o;
}

std::string LogUri(const WarehouseArgs& a) {
  // The pipeline is a required consumer group: retention never deletes what it has not committed.
  return a.log.empty() ? "dir:" + JoinPath(a.data_dir, "log") + "?fsync=200ms&required_groups=kubelake-dwd" : a.log;
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
  cmd->add_option("--trend-interval", a->trend_interval_s, "seconds between trend samples")->capture_default_str();
  cmd->add_option("--user-label", a->user_label, "pod label naming the user (tenant)")->capture_default_str();
  cmd->add_option("--instance-label", a->instance_label, "pod label naming the user's instance")->capture_default_str();
  cmd->add_flag("--no-ods", a->no_ods, "do not keep raw events (ods_events)");
  cmd->add_option("--file-format", a->file_format,
                  "data files of the DWD, ADS, topology and trend tables when they are created (ODS stays Avro)")
      ->check(CLI::IsMember({"avro", "parquet"}))
      ->capture_default_str();
  cmd->add_option("--duration", a->duration_s, "stop after this many seconds (default: until interrupted)");
  cmd->add_option("--status-interval", a->status_interval_s, "seconds between status lines")->capture_default_str();
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
            std::to_string(collector->events()) + " events, " + std::to_string(expired) + " relists | ";
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

Status RunPipeline(const WarehouseArgs& args) {
  pipeline::WarehouseOptions o = WarehouseOptionsFrom(args);
  KL_ASSIGN_OR_RETURN(auto log, log::OpenEventLog(LogUri(args)));
  KL_ASSIGN_OR_RETURN(auto jobs, pipeline::BuildWarehouseJobs(log.get(), o));
  pipeline::JobRunner runner(std::move(jobs));
  InstallStopHandlers();
  runner.Start();
  spdlog::info("pipeline: {} jobs reading {} into {}", runner.jobs().size(), log->Describe(), o.warehouse);
  auto start = std::chrono::steady_clock::now();
  auto last = start;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = std::chrono::steady_clock::now();
    if (args.duration_s > 0 && now - start >= std::chrono::duration<double>(args.duration_s)) break;
    if (args.status_interval_s > 0 && now - last >= std::chrono::duration<double>(args.status_interval_s)) {
      last = now;
      spdlog::info("{}", StatusLine(nullptr, runner));
    }
  }
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

// Collector + pipeline in this process until stopped; `tick` runs every
// status interval (the demo prints reports there).
Status RunEverything(const WarehouseArgs& args, std::vector<collector::ClusterCredentials> clusters,
                     std::vector<collector::WatchSet> watch_sets, double checkpoint_interval_s,
                     const std::function<void(CollectorService*, const pipeline::JobRunner&)>& tick) {
  pipeline::WarehouseOptions o = WarehouseOptionsFrom(args);
  KL_ASSIGN_OR_RETURN(auto log, log::OpenEventLog(LogUri(args)));
  KL_ASSIGN_OR_RETURN(auto jobs, pipeline::BuildWarehouseJobs(log.get(), o));
  pipeline::JobRunner runner(std::move(jobs));
  runner.Start();
  collector::CollectorOptions co;
  co.clusters = std::move(clusters);
  co.watch_sets = std::move(watch_sets);
  KL_ASSIGN_OR_RETURN(auto collector,
                      CollectorService::Start(log.get(), std::move(co), JoinPath(args.data_dir, "collector/checkpoint"),
                                              checkpoint_interval_s));
  InstallStopHandlers();
  auto start = std::chrono::steady_clock::now();
  auto last = start;
  Status result;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!collector->collector()->status().ok()) {
      result = collector->collector()->status();
      break;
    }
    auto now = std::chrono::steady_clock::now();
    if (args.duration_s > 0 && now - start >= std::chrono::duration<double>(args.duration_s)) break;
    if (args.status_interval_s > 0 && now - last >= std::chrono::duration<double>(args.status_interval_s)) {
      last = now;
      tick(collector.get(), runner);
    }
  }
  collector->Stop();
  runner.Stop();
  tick(collector.get(), runner);
  return result;
}

Status RunRun(const WarehouseArgs& args, const ClusterArgs& c) {
  KL_ASSIGN_OR_RETURN(auto clusters, LoadClusters(c));
  std::vector<collector::WatchSet> sets;
  if (!c.spec.empty()) {
    KL_ASSIGN_OR_RETURN(sets, collector::LoadWatchSets(c.spec));
  }
  return RunEverything(
      args, std::move(clusters), std::move(sets), c.checkpoint_interval_s,
      [](CollectorService* col, const pipeline::JobRunner& runner) { spdlog::info("{}", StatusLine(col, runner)); });
}

void PrintQueryResult(const pipeline::QueryResult& r, OutputFormat format) {
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
  uint64_t seed = 7;
};

std::string Pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

void PrintDemoReport(simulator::Fleet* fleet, CollectorService* col, const pipeline::JobRunner& runner,
                     const pipeline::WarehouseOptions& o, int64_t started_ms) {
  std::printf("\n== kubelake demo: %zu clusters, %lld s, %s ==\n", fleet->size(),
              static_cast<long long>((NowMillis() - started_ms) / 1000), StatusLine(col, runner).c_str());
  // Audit: live objects per cluster and kind from ADS, next to the simulator's truth.
  auto audit = pipeline::QueryAudit(o, {});
  if (!audit.ok()) {
    std::printf("audit: %s\n", audit.status().ToString().c_str());
    return;
  }
  std::map<std::string, std::map<std::string, int64_t>> ads;
  std::map<std::string, std::string> region;
  std::set<std::string> kinds;
  for (const auto& r : audit->rows) {
    ads[r[0].as_bytes()][r[2].as_bytes()] = r[3].as_int();
    region[r[0].as_bytes()] = r[1].is_null() ? "" : r[1].as_bytes();
    kinds.insert(r[2].as_bytes());
  }
  std::map<std::string, std::map<std::string, int64_t>> truth;
  for (size_t i = 0; i < fleet->size(); ++i) {
    for (const auto& obj : fleet->Truth(i).objects) {
      truth[fleet->cluster_name(i)][obj.kind]++;
      kinds.insert(obj.kind);
    }
  }
  std::printf("\nAudit: live objects per cluster and kind (warehouse / simulator truth; * = not caught up yet)\n");
  std::string header = Pad("cluster", 12) + Pad("region", 16);
  for (const auto& k : kinds) header += Pad(k, 22);
  std::printf("%s\n", header.c_str());
  for (size_t i = 0; i < fleet->size(); ++i) {
    const std::string& c = fleet->cluster_name(i);
    std::string line = Pad(c, 12) + Pad(region[c].empty() ? "?" : region[c], 16);
    for (const auto& k : kinds) {
      int64_t w = ads[c][k], t = truth[c][k];
      line += Pad(std::to_string(w) + " / " + std::to_string(t) + (w == t ? "" : " *"), 22);
    }
    std::printf("%s\n", line.c_str());
  }
  // Topology of the user with the most pods right now.
  auto users = pipeline::QueryTrend(o, {});
  (void)users;
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
    pipeline::TopologyQuery q;
    q.user_id = user;
    auto topo = pipeline::QueryTopology(o, q);
    if (topo.ok()) {
      std::printf("\nTopology of user %s (user -> instance -> pod -> node -> cluster), %zu pods:\n", user.c_str(),
                  topo->rows.size());
      pipeline::QueryResult shown = *topo;
      if (shown.rows.size() > 8) shown.rows.resize(8);
      PrintQueryResult(shown, OutputFormat::kTable);
      if (topo->rows.size() > 8) std::printf("... %zu more\n", topo->rows.size() - 8);
    }
  }
  pipeline::TrendQuery tq;
  tq.minutes = 10;
  auto trend = pipeline::QueryTrend(o, tq);
  if (trend.ok() && !trend->rows.empty()) {
    std::printf("\nTrend: live pods per cluster at each sample\n");
    pipeline::QueryResult shown = *trend;
    if (shown.rows.size() > 12) shown.rows.erase(shown.rows.begin(), shown.rows.end() - 12);
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
    fo.faults = simulator::FaultSchedule::Random(args.seed, static_cast<int>(args.clusters), 30 * 60 * 1000, 45000);
  }
  KL_ASSIGN_OR_RETURN(auto fleet, simulator::Fleet::Create(fo));
  KL_RETURN_IF_ERROR(fleet->Start());
  std::printf("kubelake demo: simulated fleet of %zu clusters (kubeconfig %s), data in %s\n", fleet->size(),
              fleet->kubeconfig_path().c_str(), dir.c_str());
  std::printf("faults: %s\n", args.faults ? fo.faults.ToString().c_str() : "off");
  ClusterArgs c;
  c.kubeconfig = fleet->kubeconfig_path();
  KL_ASSIGN_OR_RETURN(auto clusters, LoadClusters(c));
  pipeline::WarehouseOptions o = WarehouseOptionsFrom(args.warehouse);
  int64_t started = NowMillis();
  Status s = RunEverything(args.warehouse, std::move(clusters), {}, 15,
                           [&](CollectorService* col, const pipeline::JobRunner& runner) {
                             PrintDemoReport(fleet.get(), col, runner, o, started);
                           });
  fleet->Stop();
  std::printf("\nWarehouse in %s (Paimon tables: kubelake table read %s/kubelake.db/ads_kind_count)\n",
              o.warehouse.c_str(), o.warehouse.c_str());
  return s;
}

Status RunQuery(const std::string& what, const WarehouseArgs& args, const pipeline::AuditQuery& audit,
                const pipeline::TopologyQuery& topology, const pipeline::TrendQuery& trend, const std::string& fmt) {
  OutputFormat format;
  if (!ParseOutputFormat(fmt, &format)) return Status::InvalidArgument("--format must be table or jsonl");
  pipeline::WarehouseOptions o = WarehouseOptionsFrom(args);
  Result<pipeline::QueryResult> r = Status::InvalidArgument("unknown query " + what);
  if (what == "audit")
    r = pipeline::QueryAudit(o, audit);
  else if (what == "topology")
    r = pipeline::QueryTopology(o, topology);
  else if (what == "trend")
    r = pipeline::QueryTrend(o, trend);
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
    cmd->callback([args] { Finish(RunPipeline(*args)); });
  }
  {
    auto args = std::make_shared<WarehouseArgs>();
    auto c = std::make_shared<ClusterArgs>();
    auto* cmd = app->add_subcommand("run", "Collector, embedded event log and warehouse jobs in one process");
    AddWarehouseOptions(cmd, args.get());
    cmd->add_option("--kubeconfig", c->kubeconfig, "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)");
    cmd->add_option("--context", c->contexts, "context to collect (repeatable; default: every context)");
    cmd->add_option("--spec", c->spec, "WatchSet file (default: the eight core kinds)");
    cmd->add_option("--checkpoint-interval", c->checkpoint_interval_s, "seconds between collector checkpoints")
        ->capture_default_str();
    cmd->callback([args, c] { Finish(RunRun(*args, *c)); });
  }
  {
    auto args = std::make_shared<DemoArgs>();
    args->warehouse.data_dir = "kubelake-demo";
    args->warehouse.trend_interval_s = 10;
    args->warehouse.status_interval_s = 10;
    auto* cmd = app->add_subcommand("demo", "Run everything on a simulated fleet and print live reports");
    AddWarehouseOptions(cmd, &args->warehouse);
    cmd->add_option("--clusters", args->clusters, "simulated clusters")->capture_default_str();
    cmd->add_option("--nodes", args->nodes, "nodes per cluster")->capture_default_str();
    cmd->add_option("--pods", args->pods, "workload pods per cluster")->capture_default_str();
    cmd->add_option("--churn", args->churn, "churn multiplier (0 = none)")->capture_default_str();
    cmd->add_option("--seed", args->seed, "simulation seed")->capture_default_str();
    cmd->add_flag("!--no-faults", args->faults, "no dropped watches, expired versions or downtime");
    cmd->callback([args] { Finish(RunDemo(*args)); });
  }
  {
    auto* cmd = app->add_subcommand("query", "Ask the warehouse: audit, topology or trend");
    cmd->require_subcommand(1);
    auto args = std::make_shared<WarehouseArgs>();
    auto fmt = std::make_shared<std::string>("table");
    auto audit = std::make_shared<pipeline::AuditQuery>();
    auto topo = std::make_shared<pipeline::TopologyQuery>();
    auto trend = std::make_shared<pipeline::TrendQuery>();
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
