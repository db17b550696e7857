// The kubelake warehouse: the tables of the three layers and the jobs that
// keep them, in one Paimon database.
//
//   log ──ods──────────────▶ ods_events          raw events, append, Avro
//   log ──dwd──▶ cluster dimension ─▶ dwd_objects   one row per object (newest by rv, time; deletes win);
//                (dim_cluster, nodes)               rows re-emitted when their cluster's dimension changes
//   dwd_objects changelog ─▶ dim_cluster            region/zone learned from node labels
//                          ─▶ dim_node               one row per live node: its zone/region (topology look-ups)
//                          ─▶ ads_kind_count, ads_namespace_count, ads_node_pods, ads_user_resources
//                          ─▶ dws_topology           user → instance → pod → node → cluster
//   ads_* every minute     ─▶ trend_kind_count, trend_user_resources
//
// ADS counts come from DWD's exact changelog (lookup producer): +1 when a
// live row appears, -1 when it goes, so relists, modifications and missed
// deletions never make them drift.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "pipeline/runtime/job.h"
#include "table/table.h"

namespace kl::log {
class EventLog;
}  // namespace kl::log

namespace kl::pipeline {

inline constexpr char kOdsTable[] = "ods_events";
inline constexpr char kDwdTable[] = "dwd_objects";
inline constexpr char kClusterDimTable[] = "dim_cluster";
inline constexpr char kNodeDimTable[] = "dim_node";
inline constexpr char kAdsKindCountTable[] = "ads_kind_count";
inline constexpr char kAdsNamespaceCountTable[] = "ads_namespace_count";
inline constexpr char kAdsNodePodsTable[] = "ads_node_pods";
inline constexpr char kAdsUserResourcesTable[] = "ads_user_resources";
inline constexpr char kTopologyTable[] = "dws_topology";
inline constexpr char kTrendKindCountTable[] = "trend_kind_count";
inline constexpr char kTrendUserResourcesTable[] = "trend_user_resources";

// Every table of the warehouse, in the order the jobs feed them (raw events first).
inline constexpr const char* kWarehouseTables[] = {kOdsTable,
                                                   kDwdTable,
                                                   kClusterDimTable,
                                                   kNodeDimTable,
                                                   kAdsKindCountTable,
                                                   kAdsNamespaceCountTable,
                                                   kAdsNodePodsTable,
                                                   kAdsUserResourcesTable,
                                                   kTopologyTable,
                                                   kTrendKindCountTable,
                                                   kTrendUserResourcesTable};

struct WarehouseOptions {
  std::string warehouse;  // Paimon warehouse directory
  std::string database = "kubelake";
  std::string user_label = "kubelake.io/user";
  std::string instance_label = "kubelake.io/instance";
  std::string file_format = "avro";  // data files of DWD, ADS and trend tables (look-up tables: Parquet)
  int64_t commit_interval_ms = 500;  // jobs reading the log (two commits lie between an event and ADS)
  // The ODS job: raw events are durable in the log already and no job follows
  // ods_events, so it commits less often (fewer, larger files and commits).
  int64_t ods_commit_interval_ms = 5000;
  int64_t follow_interval_ms = 200;   // jobs following a table's changes
  int64_t trend_interval_ms = 60000;  // trend sampling period
  int snapshots_retained = 100;       // snapshot.num-retained.max of every table (at least 10)
  // ...but the raw events': no job follows ods_events, and each of its snapshots
  // adds a file per cluster and bucket (8 per cluster), all kept while a snapshot
  // that lists them is (at least 10; at most snapshots_retained).
  int ods_snapshots_retained = 20;
  // Tags of the ADS tables, kept past snapshot expiry: one per period ('daily', 'hourly',
  // 'two-hours', or a duration of a minute or more, e.g. "10 min"), the newest ads_tags_retained.
  std::string ads_tag_period = "daily";
  int ads_tags_retained = 30;
  int ods_buckets = 8;
  int dwd_buckets = 2;
  // How long dwd_objects keeps a deleted object's row (its 'record-level.expire-time', set
  // when the table is created); empty: for ever, the audit of every deletion. With a
  // retention, rows past it go at a compaction, so memory stays flat under churn.
  std::string deleted_retention;
  bool ods = true;  // keep raw events
};

// The tag options of the ADS tables: 'tag.creation-period' for daily, hourly and two-hours,
// 'tag.creation-period-duration' for a duration.
std::pair<std::string, std::string> AdsTagPeriodOption(const WarehouseOptions& options);

// snapshot.num-retained.max of ods_events.
std::string OdsRetainedMax(const WarehouseOptions& options);

// Creates the database and every table (idempotent).
Status CreateWarehouseTables(const table::Catalog& catalog, const WarehouseOptions& options);

// Opens one of the warehouse's tables for reading. A directory without a
// warehouse (empty, mistyped, or another program's) is NotFound with a message
// that says so and how to make one, not a missing file deep inside it.
Result<std::shared_ptr<table::Table>> OpenWarehouseTable(const WarehouseOptions& options, const std::string& name);

// Every job of the warehouse, reading `log` (not owned; must outlive the jobs).
Result<std::vector<std::unique_ptr<Job>>> BuildWarehouseJobs(log::EventLog* log, const WarehouseOptions& options);

// Runs jobs, one thread each, until Stop().
class JobRunner {
 public:
  explicit JobRunner(std::vector<std::unique_ptr<Job>> jobs) : jobs_(std::move(jobs)) {}
  ~JobRunner() { Stop(); }
  void Start();
  void Stop();
  std::vector<JobStatus> Status() const;
  const std::vector<std::unique_ptr<Job>>& jobs() const { return jobs_; }

 private:
  std::vector<std::unique_ptr<Job>> jobs_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

}  // namespace kl::pipeline
