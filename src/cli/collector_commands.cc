// `kubelake collect`: lists and watches the clusters of a kubeconfig (or the
// one this pod runs in) and writes every object change as a JSON line.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <thread>

#include "cli/collector_service.h"
#include "cli/commands.h"
#include "collector/collector.h"
#include "collector/sink/remote_sink.h"
#include "collector/watchset/rbac.h"
#include "collector/watchset/watchset_controller.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "common/string_util.h"
#include "log/event_log.h"

namespace kl::cli {
namespace {

std::atomic<bool> g_stop{false};

struct CollectArgs {
  std::string kubeconfig;
  std::vector<std::string> contexts;
  bool in_cluster = false;
  std::string cluster_name = "in-cluster";
  std::string spec;
  std::string sink = "jsonl:-";
  bool resume = false;
  std::string state_dir = "kubelake-collector";
  double checkpoint_interval_s = 30;
  collector::CollectorOptions options;
  double duration_s = 0;
  double stats_interval_s = 30;
  // --sink https://HOST:PORT
  collector::RemoteSinkOptions remote;
  std::string sink_token_file;
  std::string sink_ca, sink_cert, sink_key;
  std::string spool_dir;  // default <state-dir>/spool
  std::string spool_max = "1G";
  std::string sink_compression = "zstd";
  // WatchSets: from the cluster (default in cluster) or a file.
  bool watchsets_from_cluster = false;
  bool no_watchsets_from_cluster = false;
  bool print_clusterrole = false;
  double status_interval_s = 5;
};

// Follows the cluster's WatchSet resources when asked (or by default in
// cluster without --spec): the collector starts from the WatchSets listed now
// and follows changes; each WatchSet gets its status written back.
struct WatchSetFollowing {
  std::unique_ptr<collector::WatchSetController> controller;
  std::vector<collector::WatchTarget> initial;
};

// Stops the controller before the collector it feeds goes away, on every
// way out of a function (declare it after the collector).
struct StopControllerOnExit {
  collector::WatchSetController* controller;
  ~StopControllerOnExit() {
    if (controller != nullptr) controller->Stop();
  }
};

Result<WatchSetFollowing> PrepareWatchSets(const CollectArgs& args, collector::CollectorOptions* o,
                                           std::function<void(JsonWriter*)> extra_status) {
  WatchSetFollowing f;
  bool from_cluster = args.watchsets_from_cluster || (args.in_cluster && args.spec.empty());
  if (args.no_watchsets_from_cluster) from_cluster = false;
  if (!from_cluster) return f;
  if (!args.spec.empty()) return Status::InvalidArgument("--spec and --watchsets-from-cluster exclude each other");
  if (o->clusters.size() != 1) {
    return Status::InvalidArgument(
        "--watchsets-from-cluster follows the WatchSets of one cluster; this configuration has " +
        std::to_string(o->clusters.size()) + " (choose one with --context)");
  }
  collector::WatchSetControllerOptions wo;
  wo.status_interval_ms = static_cast<int64_t>(args.status_interval_s * 1000);
  wo.extra_status = std::move(extra_status);
  f.controller = std::make_unique<collector::WatchSetController>(o->clusters[0], wo);
  KL_ASSIGN_OR_RETURN(f.initial, f.controller->LoadInitial());
  o->dynamic_targets = true;
  o->watch_sets.clear();
  spdlog::info("collector: following the WatchSets of {} ({} watches now)", o->clusters[0].name, f.initial.size());
  return f;
}

// Rebuilds what an earlier run emitted into the same JSON-lines file, so a
// restarted collector neither repeats events nor misses deletions. A last
// line without its newline was torn by a crash: it is cut off the file (the
// events in it were never durably emitted, and the watch replays them).
Result<std::vector<collector::CollectedEvent>> ReadEmitted(const std::string& path) {
  std::vector<collector::CollectedEvent> events;
  if (!FileExists(path)) return events;  // first run
  KL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      spdlog::warn("collector: dropping a torn last line ({} bytes) from {}", text.size() - pos, path);
      if (::truncate(path.c_str(), static_cast<off_t>(pos)) != 0) {
        return Status::IOError("truncating the torn tail of " + path);
      }
      break;
    }
    ++line_no;
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    auto e = collector::ParseJsonlEvent(line);
    if (!e.ok()) return e.status().WithContext(path + " line " + std::to_string(line_no));
    events.push_back(std::move(*e));
  }
  return events;
}

void LogStats(collector::Collector* collector) {
  uint64_t events = 0, tracked = 0, bytes = 0, relists = 0, errors = 0;
  size_t watching = 0;
  for (const auto& s : collector->Stats()) {
    events += s.events;
    tracked += s.tracked;
    bytes += s.tracker_bytes;
    relists += s.expired;
    errors += s.errors;
    watching += s.state == collector::WatchState::kWatching;
  }
  std::string failing;
  for (const auto& c : collector::DescribeFailingClusters(collector->Stats())) failing += "; " + c;
  spdlog::info("collector: watching {}/{} events={} tracked={} ({} B/object) expired={} errors={}{}", watching,
               collector->Stats().size(), events, tracked, tracked ? bytes / tracked : 0, relists, errors, failing);
}

// Until SIGINT/SIGTERM, --duration or a failed collector: every 100 ms `tick` (an error
// ends the wait with it), and every --stats-interval the stats line then `more_stats`.
Status WaitWhileCollecting(const CollectArgs& args, collector::Collector* collector,
                           const std::function<Status(std::chrono::steady_clock::time_point)>& tick = nullptr,
                           const std::function<void()>& more_stats = nullptr) {
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  auto start = std::chrono::steady_clock::now();
  auto last = start;
  while (!g_stop && collector->status().ok()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = std::chrono::steady_clock::now();
    if (tick) KL_RETURN_IF_ERROR(tick(now));
    if (args.duration_s > 0 && now - start >= std::chrono::duration<double>(args.duration_s)) break;
    if (args.stats_interval_s > 0 && now - last >= std::chrono::duration<double>(args.stats_interval_s)) {
      last = now;
      LogStats(collector);
      if (more_stats) more_stats();
    }
  }
  return Status::OK();
}

// Events go to the event log; state is restored from the checkpoint in
// --state-dir and the log, so a restart repeats nothing and misses nothing.
Status RunCollectToLog(const CollectArgs& args) {
  collector::CollectorOptions options = args.options;
  KL_ASSIGN_OR_RETURN(WatchSetFollowing ws, PrepareWatchSets(args, &options, nullptr));
  KL_ASSIGN_OR_RETURN(auto log, log::OpenEventLog(args.sink.substr(4)));
  CollectorServiceExtras extras;
  if (ws.controller) {
    extras.before_start = [&ws](collector::Collector* c) { return c->SetTargets(ws.initial); };
  }
  KL_ASSIGN_OR_RETURN(auto service, CollectorService::Start(log.get(), options, JoinPath(args.state_dir, "checkpoint"),
                                                            args.checkpoint_interval_s, extras));
  StopControllerOnExit stop_controller{ws.controller.get()};
  if (ws.controller) KL_RETURN_IF_ERROR(ws.controller->Start(service->collector()));
  spdlog::info("collector: {} watches on {} clusters, writing to {}", service->collector()->Stats().size(),
               args.options.clusters.size(), log->Describe());
  KL_RETURN_IF_ERROR(WaitWhileCollecting(args, service->collector()));
  Status status = service->collector()->status();
  if (ws.controller) ws.controller->Stop();
  service->Stop();
  return status;
}

std::string RemoteStatusLine(const collector::ShipperStats& s) {
  return "shipping: " + std::string(s.connected ? "connected" : "not connected") + ", acknowledged " +
         std::to_string(s.acked) + ", pending " + std::to_string(s.pending_events) + " events (" +
         HumanBytes(static_cast<double>(s.pending_bytes)) + "), spool " +
         HumanBytes(static_cast<double>(s.spool_bytes)) + (s.last_error.empty() ? "" : ", last error: " + s.last_error);
}

// Events go to a local spool (an embedded log) and from there, in numbered
// batches, to a central kubelake's ingest endpoint.
Status RunCollectRemote(CollectArgs args) {
  if (args.options.clusters.size() != 1) {
    return Status::InvalidArgument("--sink " + args.sink + " ships one cluster per collector; this configuration has " +
                                   std::to_string(args.options.clusters.size()) + " (choose one with --context)");
  }
  collector::RemoteSinkOptions r = args.remote;
  r.url = args.sink;
  r.cluster = args.options.clusters[0].name;
  if (r.token.empty()) {
    if (const char* env = std::getenv("KUBELAKE_SINK_TOKEN")) r.token = env;
  }
  r.token_file = args.sink_token_file;
  if (!args.sink_ca.empty()) {
    KL_ASSIGN_OR_RETURN(r.ca_pem, ReadFile(args.sink_ca));
  }
  if (args.sink_cert.empty() != args.sink_key.empty()) {
    return Status::InvalidArgument("--sink-cert and --sink-key go together");
  }
  if (!args.sink_cert.empty()) {
    KL_ASSIGN_OR_RETURN(r.client_cert_pem, ReadFile(args.sink_cert));
    KL_ASSIGN_OR_RETURN(r.client_key_pem, ReadFile(args.sink_key));
  }
  if (r.token.empty() && r.token_file.empty() && r.client_cert_pem.empty()) {
    return Status::InvalidArgument(
        "--sink " + args.sink +
        " needs credentials: --sink-token-file, $KUBELAKE_SINK_TOKEN, or --sink-cert/--sink-key");
  }
  auto max = ParseScaledInt(args.spool_max,
                            {{"", 1}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", int64_t{1} << 40}});
  if (!max || *max <= 0) return Status::InvalidArgument("--spool-max-bytes: not a size: " + args.spool_max);
  r.spool_max_bytes = static_cast<uint64_t>(*max);
  if (args.sink_compression != "zstd" && args.sink_compression != "none") {
    return Status::InvalidArgument("--sink-compression must be zstd or none");
  }
  r.compress = args.sink_compression == "zstd";
  std::string spool_dir = args.spool_dir.empty() ? JoinPath(args.state_dir, "spool") : args.spool_dir;
  KL_ASSIGN_OR_RETURN(auto spool, collector::OpenSpool(spool_dir));
  KL_ASSIGN_OR_RETURN(std::string stream, collector::SpoolStreamId(spool_dir));
  KL_ASSIGN_OR_RETURN(auto shipper, collector::Shipper::Start(spool.get(), spool_dir, stream, r));
  collector::Shipper* stats_source = shipper.get();
  auto ws_or = PrepareWatchSets(args, &args.options, [stats_source](JsonWriter* w) {
    collector::ShipperStats s = stats_source->Stats();
    w->Key("shipping").BeginObject().Key("connected").Bool(s.connected).Key("acknowledged").Uint(s.acked);
    w->Key("pendingEvents").Uint(s.pending_events).Key("pendingBytes").Uint(s.pending_bytes);
    w->Key("spoolBytes").Uint(s.spool_bytes).Key("lastError").String(s.last_error).EndObject();
  });
  if (!ws_or.ok()) {
    shipper->Stop();
    return ws_or.status();
  }
  WatchSetFollowing ws = std::move(*ws_or);
  CollectorServiceExtras extras;
  if (ws.controller) {
    extras.before_start = [&ws](collector::Collector* c) { return c->SetTargets(ws.initial); };
  }
  collector::Shipper* gate = shipper.get();
  extras.wrap_sink = [gate](collector::EventSink* inner) -> std::unique_ptr<collector::EventSink> {
    return std::make_unique<collector::SpoolGate>(inner, gate);
  };
  extras.checkpoint_group = collector::kCheckpointGroup;
  auto service_or = CollectorService::Start(spool.get(), args.options, JoinPath(args.state_dir, "checkpoint"),
                                            args.checkpoint_interval_s, extras);
  if (!service_or.ok()) {
    shipper->Stop();
    return service_or.status();
  }
  auto service = std::move(*service_or);
  StopControllerOnExit stop_controller{ws.controller.get()};
  // And the shipper before both: it releases watch loops held by a full spool.
  struct StopShipperOnExit {
    collector::Shipper* shipper;
    ~StopShipperOnExit() { shipper->Stop(); }
  } stop_shipper{shipper.get()};
  if (ws.controller) {
    Status st = ws.controller->Start(service->collector());
    if (!st.ok()) {
      shipper->Stop();
      return st;
    }
  }
  spdlog::info("collector: {} watches on cluster {}, shipping to {} through the spool in {}",
               service->collector()->Stats().size(), r.cluster, r.url, spool_dir);
  KL_RETURN_IF_ERROR(WaitWhileCollecting(args, service->collector(), nullptr,
                                         [&] { spdlog::info("collector: {}", RemoteStatusLine(shipper->Stats())); }));
  Status status = service->collector()->status();
  shipper->Stop();  // first: releases a collector held by a full spool
  if (ws.controller) ws.controller->Stop();
  service->Stop();
  return status;
}

Status RunCollect(CollectArgs args) {
  collector::CollectorOptions& o = args.options;
  if (args.print_clusterrole) {
    std::vector<collector::WatchSet> sets = {collector::DefaultWatchSet()};
    if (!args.spec.empty()) {
      KL_ASSIGN_OR_RETURN(sets, collector::LoadWatchSets(args.spec));
    }
    std::fputs(collector::ReadClusterRoleYaml(sets).c_str(), stdout);
    return Status::OK();
  }
  if (args.in_cluster) {
    KL_ASSIGN_OR_RETURN(auto cred, collector::InClusterCredentials(args.cluster_name));
    o.clusters.push_back(std::move(cred));
  } else {
    std::string path = args.kubeconfig;
    if (path.empty()) {
      const char* env = std::getenv("KUBECONFIG");
      const char* home = std::getenv("HOME");
      path = env != nullptr ? env : (home != nullptr ? std::string(home) + "/.kube/config" : "");
    }
    if (path.empty()) return Status::InvalidArgument("no kubeconfig: pass --kubeconfig or --in-cluster");
    KL_ASSIGN_OR_RETURN(o.clusters, collector::LoadKubeconfig(path, args.contexts));
  }
  if (!args.spec.empty()) {
    KL_ASSIGN_OR_RETURN(o.watch_sets, collector::LoadWatchSets(args.spec));
  }
  if (args.sink.rfind("log:", 0) == 0) return RunCollectToLog(args);
  if (args.sink.rfind("https://", 0) == 0 || args.sink.rfind("http://", 0) == 0) return RunCollectRemote(args);
  if (args.sink.rfind("jsonl:", 0) != 0) {
    return Status::InvalidArgument(
        "--sink must be https://HOST:PORT (a central kubelake), log:URI, jsonl:PATH or jsonl:-");
  }
  std::string sink_path = args.sink.substr(6);
  if (!args.resume && sink_path != "-" && FileSize(sink_path).value_or(0) > 0) {
    spdlog::warn("collector: {} already holds events; without --resume they are emitted again", sink_path);
  }
  std::vector<collector::CollectedEvent> emitted;
  if (args.resume) {
    if (sink_path == "-") return Status::InvalidArgument("--resume needs a file sink");
    KL_ASSIGN_OR_RETURN(emitted, ReadEmitted(sink_path));
  }
  KL_ASSIGN_OR_RETURN(WatchSetFollowing ws, PrepareWatchSets(args, &o, nullptr));
  KL_ASSIGN_OR_RETURN(auto sink, collector::JsonlSink::Open(sink_path));
  o.sink = sink.get();
  KL_ASSIGN_OR_RETURN(auto collector, collector::Collector::Create(o));
  StopControllerOnExit stop_controller{ws.controller.get()};
  if (ws.controller) KL_RETURN_IF_ERROR(collector->SetTargets(ws.initial));
  if (args.resume) {
    collector->RestoreFromEvents(emitted);
    spdlog::info("collector: resumed from {} events in {}", emitted.size(), sink_path);
  }
  KL_RETURN_IF_ERROR(collector->Start());
  if (ws.controller) KL_RETURN_IF_ERROR(ws.controller->Start(collector.get()));
  spdlog::info("collector: {} watches on {} clusters", collector->Stats().size(), o.clusters.size());
  auto last_flush = std::chrono::steady_clock::now();
  KL_RETURN_IF_ERROR(WaitWhileCollecting(args, collector.get(), [&](std::chrono::steady_clock::time_point now) {
    if (now - last_flush < std::chrono::seconds(1)) return Status::OK();  // events reach the file within about a second
    last_flush = now;
    return collector->Flush();
  }));
  if (ws.controller) ws.controller->Stop();
  collector->Stop();
  KL_RETURN_IF_ERROR(collector->status());
  return sink->Flush();
}

}  // namespace

void AddCollectorCommands(CLI::App* app) {
  auto args = std::make_shared<CollectArgs>();
  auto* cmd = app->add_subcommand("collect", "List and watch Kubernetes clusters and emit every object change");
  cmd->add_option("--kubeconfig", args->kubeconfig, "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)");
  cmd->add_option("--context", args->contexts, "context to collect (repeatable; default: every context)");
  cmd->add_flag("--in-cluster", args->in_cluster, "use this pod's service account instead of a kubeconfig");
  cmd->add_option("--cluster-name", args->cluster_name, "cluster name for --in-cluster events")->capture_default_str();
  cmd->add_option("--spec", args->spec,
                  "WatchSet file (default: the eight core kinds, or the cluster's WatchSets in cluster)");
  cmd->add_flag("--watchsets-from-cluster", args->watchsets_from_cluster,
                "follow the cluster's WatchSet resources (watchsets.kubelake.io) live and write their status "
                "(default with --in-cluster and no --spec)");
  cmd->add_flag("--print-clusterrole", args->print_clusterrole,
                "print the read-only ClusterRole the WatchSets of --spec (or the default kinds) need, and exit");
  cmd->add_flag("--no-watchsets-from-cluster", args->no_watchsets_from_cluster,
                "in cluster: watch the eight core kinds (or --spec) instead of the WatchSet resources");
  cmd->add_option("--status-interval", args->status_interval_s,
                  "seconds between WatchSet status updates (written when something changed)")
      ->capture_default_str();
  cmd->add_option("--sink", args->sink,
                  "where events go: https://HOST:PORT (a central kubelake's --listen-ingest), log:URI (an event log), "
                  "jsonl:PATH or jsonl:- for stdout")
      ->capture_default_str();
  cmd->add_option(
      "--sink-token-file", args->sink_token_file,
      "https sink: file holding this cluster's bearer token (re-read per request; or $KUBELAKE_SINK_TOKEN)");
  cmd->add_option("--sink-ca", args->sink_ca, "https sink: CA certificate (PEM) of the central kubelake");
  cmd->add_option("--sink-cert", args->sink_cert, "https sink: client certificate (PEM) instead of a token");
  cmd->add_option("--sink-key", args->sink_key, "https sink: key of the client certificate (PEM)");
  cmd->add_flag("--sink-insecure", args->remote.insecure_skip_verify,
                "https sink: do not verify the server certificate");
  cmd->add_option("--sink-compression", args->sink_compression, "https sink: zstd or none")->capture_default_str();
  cmd->add_option("--spool-dir", args->spool_dir, "https sink: the on-disk spool (default: <state-dir>/spool)");
  cmd->add_option("--spool-max-bytes", args->spool_max,
                  "https sink: unacknowledged bytes the spool may hold before the watches are held back")
      ->capture_default_str();
  cmd->add_flag("--resume", args->resume, "jsonl sink: rebuild state from the events already in the file");
  cmd->add_option("--state-dir", args->state_dir, "log and https sinks: where the collector keeps its checkpoint")
      ->capture_default_str();
  cmd->add_option("--checkpoint-interval", args->checkpoint_interval_s, "log sink: seconds between checkpoints")
      ->capture_default_str();
  auto& o = args->options;
  cmd->add_option("--page-size", o.page_size, "items per list page")->capture_default_str();
  cmd->add_option("--stall-timeout", o.stall_timeout_s, "seconds without a byte before a watch is reconnected")
      ->capture_default_str();
  cmd->add_option("--threads", o.loop_threads, "event-loop threads")->capture_default_str();
  cmd->add_option("--duration", args->duration_s, "stop after this many seconds (default: until interrupted)");
  cmd->add_option("--stats-interval", args->stats_interval_s, "seconds between status lines on stderr")
      ->capture_default_str();
  cmd->callback([args] { Finish(RunCollect(*args)); });
}

}  // namespace kl::cli
