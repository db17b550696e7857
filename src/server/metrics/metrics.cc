#include "server/metrics/metrics.h"

#include <map>

#include "common/file/file_util.h"
#include "table/table.h"

namespace kl::server {
namespace {

using Type = MetricsWriter::Type;

std::string Str(const format::Datum& d) { return d.is_null() ? "" : d.as_bytes(); }
double Num(const format::Datum& d) { return d.is_null() ? 0 : static_cast<double>(d.as_int()); }

// Rows of a warehouse table's latest snapshot; NotFound when the table is not there yet.
Result<std::vector<format::Row>> LatestRows(const pipeline::WarehouseOptions& o, const char* name) {
  KL_ASSIGN_OR_RETURN(auto t, table::Catalog(o.warehouse).GetTable(o.database, name));
  KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows, t->ReadAll());
  std::vector<format::Row> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out.push_back(rows.rows.GetRow(i));
  return out;
}

}  // namespace

Status WriteInventoryMetrics(const pipeline::WarehouseOptions& o, MetricsWriter* out) {
  if (!IsWarehouseCreated(o)) return Status::OK();
  // cluster -> region, as the dimension table knows it (users' value first, then node labels).
  std::map<std::string, std::string> region;
  KL_ASSIGN_OR_RETURN(auto dim, LatestRows(o, pipeline::kClusterDimTable));
  for (const auto& r : dim) region[Str(r[0])] = Str(r[3]).empty() ? Str(r[5]) : Str(r[3]);

  out->Declare("kubelake_objects", Type::kGauge, "Live objects per cluster and kind (ADS ads_kind_count).");
  KL_ASSIGN_OR_RETURN(auto kinds, LatestRows(o, pipeline::kAdsKindCountTable));
  for (const auto& r : kinds) {
    out->Add("kubelake_objects", {{"cluster", Str(r[0])}, {"region", region[Str(r[0])]}, {"kind", Str(r[1])}},
             Num(r[2]));
  }
  out->Declare("kubelake_namespace_objects", Type::kGauge,
               "Live objects per cluster, kind and namespace (ADS ads_namespace_count).");
  KL_ASSIGN_OR_RETURN(auto namespaces, LatestRows(o, pipeline::kAdsNamespaceCountTable));
  for (const auto& r : namespaces) {
    if (Num(r[3]) == 0) continue;  // a namespace that emptied is not a series worth keeping
    out->Add("kubelake_namespace_objects", {{"cluster", Str(r[0])}, {"kind", Str(r[1])}, {"namespace", Str(r[2])}},
             Num(r[3]));
  }
  out->Declare("kubelake_node_pods", Type::kGauge, "Live pods bound to each node (ADS ads_node_pods).");
  out->Declare("kubelake_node_cpu_requests_cores", Type::kGauge,
               "Sum of the CPU requests of the live pods on each node, in cores.");
  out->Declare("kubelake_node_memory_requests_bytes", Type::kGauge,
               "Sum of the memory requests of the live pods on each node, in bytes.");
  KL_ASSIGN_OR_RETURN(auto nodes, LatestRows(o, pipeline::kAdsNodePodsTable));
  for (const auto& r : nodes) {
    if (Str(r[1]).empty()) continue;  // pods not scheduled yet
    Labels l = {{"cluster", Str(r[0])}, {"node", Str(r[1])}};
    out->Add("kubelake_node_pods", l, Num(r[2]));
    out->Add("kubelake_node_cpu_requests_cores", l, Num(r[3]) / 1000.0);
    out->Add("kubelake_node_memory_requests_bytes", l, Num(r[4]));
  }
  return Status::OK();
}

bool IsWarehouseCreated(const pipeline::WarehouseOptions& o) {
  return IsDirectory(table::Catalog(o.warehouse).TablePath(o.database, pipeline::kAdsKindCountTable));
}

void WriteSystemMetrics(const SystemStatus& s, MetricsWriter* out) {
  double now = static_cast<double>(s.now_ms) / 1000.0;
  if (s.fresh_as_of_ms > 0) {
    out->Declare("kubelake_warehouse_freshness_seconds", Type::kGauge,
                 "Seconds since the warehouse last reflected everything in the event log.");
    out->Add("kubelake_warehouse_freshness_seconds", {}, now - static_cast<double>(s.fresh_as_of_ms) / 1000.0);
  }

  // Collector.
  if (s.has_collector) {
    out->Declare("kubelake_collector_events_total", Type::kCounter, "Events the collector wrote to the log.");
    out->Add("kubelake_collector_events_total", {}, static_cast<double>(s.collector_events));
    out->Declare("kubelake_collector_watch_state", Type::kGauge,
                 "1 for the state each watch is in (idle, listing, watching, backoff, stopped).");
    out->Declare("kubelake_collector_lists_total", Type::kCounter,
                 "Completed lists per watch (first list and relists).");
    out->Declare("kubelake_collector_relists_total", Type::kCounter,
                 "Relists after an expired resourceVersion (HTTP 410) per watch.");
    out->Declare("kubelake_collector_reconnects_total", Type::kCounter,
                 "Watches re-established after a drop or stall.");
    out->Declare("kubelake_collector_errors_total", Type::kCounter, "Errors per watch.");
    out->Declare("kubelake_collector_watch_events_total", Type::kCounter, "Events per watch.");
    out->Declare("kubelake_collector_tracked_objects", Type::kGauge, "Objects each watch tracks for relists.");
    out->Declare("kubelake_collector_tracker_bytes", Type::kGauge, "Memory of each watch's tracker.");
    out->Declare("kubelake_collector_watch_failures", Type::kGauge,
                 "Failures in a row per watch (0 once it works again).");
    out->Declare("kubelake_collector_watch_last_error", Type::kGauge,
                 "1 per failing watch, labelled with the cause of its last failure and the URL.");
    out->Declare("kubelake_collector_watch_last_error_timestamp_seconds", Type::kGauge,
                 "When each failing watch last failed (Unix time).");
    static const collector::WatchState kStates[] = {collector::WatchState::kIdle, collector::WatchState::kListing,
                                                    collector::WatchState::kWatching, collector::WatchState::kBackoff,
                                                    collector::WatchState::kStopped};
    for (const auto& w : s.watches) {
      Labels l = {{"cluster", w.cluster}, {"watch", w.watch_name}};
      for (auto state : kStates) {
        Labels ls = l;
        ls.emplace_back("state", std::string(collector::WatchStateName(state)));
        out->Add("kubelake_collector_watch_state", ls, w.state == state ? 1 : 0);
      }
      out->Add("kubelake_collector_lists_total", l, static_cast<double>(w.lists));
      out->Add("kubelake_collector_relists_total", l, static_cast<double>(w.expired));
      out->Add("kubelake_collector_reconnects_total", l, static_cast<double>(w.reconnects));
      out->Add("kubelake_collector_errors_total", l, static_cast<double>(w.errors));
      out->Add("kubelake_collector_watch_events_total", l, static_cast<double>(w.events));
      out->Add("kubelake_collector_tracked_objects", l, static_cast<double>(w.tracked));
      out->Add("kubelake_collector_tracker_bytes", l, static_cast<double>(w.tracker_bytes));
      out->Add("kubelake_collector_watch_failures", l, static_cast<double>(w.consecutive_failures));
      if (w.consecutive_failures > 0) {
        Labels le = l;
        le.emplace_back("cause", w.last_error_cause);
        le.emplace_back("url", w.last_error_url);
        out->Add("kubelake_collector_watch_last_error", le, 1);
        out->Add("kubelake_collector_watch_last_error_timestamp_seconds", l,
                 static_cast<double>(w.last_error_ms) / 1000.0);
      }
    }
  }

  // Event log.
  if (s.log.available) {
    out->Declare("kubelake_log_partitions", Type::kGauge, "Partitions of the event log.");
    out->Add("kubelake_log_partitions", {}, s.log.partitions);
    out->Declare("kubelake_log_end_offset", Type::kGauge,
                 "Records ever appended to the event log (sum of end offsets).");
    out->Add("kubelake_log_end_offset", {}, static_cast<double>(s.log.end_offsets));
    out->Declare("kubelake_log_retained_records", Type::kGauge, "Records the event log still holds.");
    out->Add("kubelake_log_retained_records", {}, static_cast<double>(s.log.retained_records));
    if (s.log.bytes_on_disk >= 0) {
      out->Declare("kubelake_log_size_bytes", Type::kGauge, "Size of the embedded event log on disk.");
      out->Add("kubelake_log_size_bytes", {}, static_cast<double>(s.log.bytes_on_disk));
    }
    out->Declare("kubelake_log_consumer_lag_records", Type::kGauge,
                 "Records between a consumer group's committed offsets and the log's end.");
    for (const auto& [group, lag] : s.log.group_lag) {
      out->Add("kubelake_log_consumer_lag_records", {{"group", group}}, static_cast<double>(lag));
    }
  }

  // Jobs (only where they run in this process).
  if (s.has_jobs) {
    out->Declare("kubelake_job_up", Type::kGauge, "1 while the job runs, 0 while it recovers from an error.");
    out->Declare("kubelake_job_changes_in_total", Type::kCounter, "Changes a job read from its source.");
    out->Declare("kubelake_job_changes_out_total", Type::kCounter, "Changes a job wrote to its table.");
    out->Declare("kubelake_job_commits_total", Type::kCounter, "Table commits of a job.");
    out->Declare("kubelake_job_errors_total", Type::kCounter, "Errors a job recovered from.");
    out->Declare("kubelake_job_cpu_seconds_total", Type::kCounter, "CPU time of a job by phase.");
    out->Declare("kubelake_job_last_commit_timestamp_seconds", Type::kGauge, "Time of a job's last commit.");
    out->Declare("kubelake_job_freshness_seconds", Type::kGauge,
                 "Seconds since a job last committed or found its source with nothing new.");
    out->Declare("kubelake_job_log_lag_records", Type::kGauge,
                 "Records between a log-reading job's committed position and the log's end.");
    out->Declare("kubelake_job_commit_duration_seconds", Type::kHistogram, "Wall time of a job's table commits.");
    for (const auto& j : s.jobs) {
      Labels l = {{"job", j.name}};
      out->Add("kubelake_job_up", l, j.running ? 1 : 0);
      out->Add("kubelake_job_changes_in_total", l, static_cast<double>(j.changes_in));
      out->Add("kubelake_job_changes_out_total", l, static_cast<double>(j.changes_out));
      out->Add("kubelake_job_commits_total", l, static_cast<double>(j.commits));
      out->Add("kubelake_job_errors_total", l, static_cast<double>(j.errors));
      const std::pair<const char*, double> phases[] = {{"source", j.cpu_poll_seconds},
                                                       {"operators", j.cpu_operators_seconds},
                                                       {"write", j.cpu_write_seconds},
                                                       {"commit", j.cpu_commit_seconds}};
      for (const auto& [phase, seconds] : phases) {
        out->Add("kubelake_job_cpu_seconds_total", {{"job", j.name}, {"phase", phase}}, seconds);
      }
      if (j.last_commit_ms > 0) {
        out->Add("kubelake_job_last_commit_timestamp_seconds", l, static_cast<double>(j.last_commit_ms) / 1000.0);
      }
      int64_t progress = JobProgressMs(j);
      if (progress > 0) out->Add("kubelake_job_freshness_seconds", l, now - static_cast<double>(progress) / 1000.0);
      auto lag = s.job_log_lag.find(j.name);
      if (lag != s.job_log_lag.end()) out->Add("kubelake_job_log_lag_records", l, static_cast<double>(lag->second));
      out->AddHistogram("kubelake_job_commit_duration_seconds", l, j.commit_seconds);
    }
  }

  // Tables.
  out->Declare("kubelake_table_snapshots", Type::kGauge, "Snapshots a warehouse table retains.");
  out->Declare("kubelake_table_latest_snapshot_id", Type::kGauge, "Id of a table's latest snapshot.");
  out->Declare("kubelake_table_last_commit_timestamp_seconds", Type::kGauge, "Time of a table's latest snapshot.");
  for (const auto& t : s.tables) {
    if (!t.exists || t.latest_snapshot == 0) continue;
    Labels l = {{"table", t.name}};
    out->Add("kubelake_table_snapshots", l, static_cast<double>(t.latest_snapshot - t.earliest_snapshot + 1));
    out->Add("kubelake_table_latest_snapshot_id", l, static_cast<double>(t.latest_snapshot));
    out->Add("kubelake_table_last_commit_timestamp_seconds", l, static_cast<double>(t.last_commit_ms) / 1000.0);
  }
}

}  // namespace kl::server
