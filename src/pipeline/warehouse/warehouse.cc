#include "pipeline/warehouse/warehouse.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "pipeline/runtime/log_source.h"
#include "pipeline/runtime/lookup_join.h"
#include "pipeline/warehouse/cluster_dimensions.h"
#include "pipeline/warehouse/k8s_event.h"

namespace kl::pipeline {

std::pair<std::string, std::string> AdsTagPeriodOption(const WarehouseOptions& o) {
  const std::string& p = o.ads_tag_period;
  if (p == "daily" || p == "hourly" || p == "two-hours") return {"tag.creation-period", p};
  return {"tag.creation-period-duration", p};
}

using format::DataField;
using format::DataType;
using format::Datum;
using format::Row;
using format::RowKind;
using format::RowType;

std::string OdsRetainedMax(const WarehouseOptions& o) {
  return std::to_string(std::max(10, std::min(o.ods_snapshots_retained, std::max(o.snapshots_retained, 10))));
}

namespace {

struct TableDef {
  const char* name;
  std::vector<DataField> fields;
  std::vector<std::string> partition;
  std::vector<std::string> primary_key;
  std::map<std::string, std::string> options;
};

DataField Col(std::string name, DataType type) { return {0, std::move(name), std::move(type), ""}; }

std::vector<DataField> DwdFields() {
  DataType s = DataType::String(), b = DataType::BigInt();
  return {Col("cluster", s),
          Col("uid", s),
          Col("kind", s),
          Col("api_group", s),
          Col("api_version", s),
          Col("namespace", s),
          Col("name", s),
          Col("resource_version", s),
          Col("rv", b),
          Col("event_type", s),
          Col("origin", s),
          Col("deleted", DataType::Boolean()),
          Col("deleted_time", b),
          Col("event_time", b),
          Col("collect_time", b),
          Col("watch_name", s),
          Col("watch_setup_time", b),
          Col("created_time", b),
          Col("labels", s),
          Col("owner_kind", s),
          Col("owner_name", s),
          Col("node_name", s),
          Col("phase", s),
          Col("unschedulable", DataType::Boolean()),
          Col("user_id", s),
          Col("instance_id", s),
          Col("cpu_request_milli", b),
          Col("memory_request_bytes", b),
          Col("topology_region", s),
          Col("topology_zone", s),
          Col("cluster_id", s),
          Col("region_id", s),
          Col("region", s),
          Col("zone", s)};
}
constexpr size_t kDwdDimColumns = 4;  // cluster_id, region_id, region, zone come from the dimension

std::vector<TableDef> Definitions(const WarehouseOptions& o) {
  DataType s = DataType::String(), b = DataType::BigInt();
  std::string fmt = o.file_format;
  // ADS tables keep a tag per day (the counts as each day ended) for ads_tags_retained
  // days: history the trend tables do not sample (per namespace, per node) outlives the
  // short snapshot retention. Their manifests merge after 10 small ones rather than 30,
  // so each tag holds few files.
  const std::pair<std::string, std::string> tag_period = AdsTagPeriodOption(o);
  auto sum = [&](std::map<std::string, std::string> opts, std::initializer_list<const char*> cols) {
    opts["merge-engine"] = "aggregation";
    opts["changelog-producer"] = "lookup";
    opts["changelog-file.compression"] = "none";  // as DWD's changelog (below)
    opts["changelog-file.stats-mode"] = "none";
    for (const char* c : cols) opts[std::string("fields.") + c + ".aggregate-function"] = "sum";
    opts["tag.automatic-creation"] = "process-time";
    opts[tag_period.first] = tag_period.second;
    opts["tag.num-retained-max"] = std::to_string(std::max(1, o.ads_tags_retained));
    opts["manifest.merge-min-count"] = "10";
    return opts;
  };
  // Retention by count as well as time: at sub-second commits an hour of
  // snapshots is thousands of them (and their manifests and changelog
  // files). History users need lives in the trend tables, not in snapshots.
  const std::string retained_max = std::to_string(std::max(o.snapshots_retained, 10));
  // Primary-key tables compact every fourth flush of a bucket, not every one:
  // a streaming commit twice a second would otherwise add a compaction (its
  // files and a COMPACT snapshot) to nearly every commit. They keep 16 levels,
  // not Paimon's default 6: with levels 1-5 all holding runs, each group of a
  // few KB of level-0 files merged into level 1 and rewrote it as it grew.
  // Level-0 files (each commit's new rows) are merged into the levels below by the
  // next compactions: compressing them costs more CPU than their few seconds on disk save.
  std::map<std::string, std::string> base = {{"file.format", fmt},
                                             {"file.compression.per.level", "0:none"},
                                             {"bucket", "1"},
                                             {"snapshot.num-retained.min", "10"},
                                             {"snapshot.num-retained.max", retained_max},
                                             {"snapshot.time-retained", "1h"},
                                             {"kubelake.compaction.level0-file-num", "4"},
                                             {"num-levels", "16"}};
  std::vector<TableDef> defs;
  if (o.ods) {
    defs.push_back({kOdsTable,
                    {Col("ingest_time", b), Col("cluster", s), Col("content", s)},
                    {"cluster"},
                    {},
                    {{"file.format", "avro"},
                     // as warehouse.sql's ods_events: zstd was the largest part of the job's
                     // CPU; 256 KB blocks at its fast level -3 take a quarter less than 64 KB
                     // blocks at level 1, for files ~8 % larger (docs/pipeline.md)
                     {"file.compression.zstd-level", "-3"},
                     {"kubelake.avro.block-size", "256 kb"},
                     {"bucket", std::to_string(o.ods_buckets)},
                     {"bucket-key", "ingest_time"},
                     {"write-buffer-size", "64 mb"},  // as warehouse.sql's ods_events
                     {"snapshot.num-retained.min", "10"},
                     {"snapshot.num-retained.max", OdsRetainedMax(o)},
                     {"snapshot.time-retained", "1h"}}});
  }
  auto dwd_opts = base;
  dwd_opts["bucket"] = std::to_string(o.dwd_buckets);
  dwd_opts["changelog-producer"] = "lookup";
  // The changelog is read once by each follower job, soon after it is
  // written, and expires with its snapshot: neither compression nor value
  // statistics pay for themselves there (Paimon's changelog-file.* options).
  dwd_opts["changelog-file.compression"] = "none";
  dwd_opts["changelog-file.stats-mode"] = "none";
  // Its level-0 files carry no value statistics: reads prune it by key range only, and
  // no reader can prune a primary-key table's level-0 files by value statistics in a merge.
  dwd_opts["metadata.stats-mode.per.level"] = "0:none";
  // A job catching up with a backlog (a relist of a large fleet) leaves up to
  // this many sorted runs per bucket uncompacted until it has caught up, so the
  // rows of a bulk load are written once, not merged again every few commits.
  dwd_opts["num-sorted-run.stop-trigger"] = "24";
  dwd_opts["sequence.field"] = "rv,event_time,deleted";
  // Deleted objects' rows go this long after their deletion, when a retention is set (as
  // warehouse.sql's dwd_objects).
  if (!o.deleted_retention.empty()) {
    dwd_opts["record-level.expire-time"] = o.deleted_retention;
    dwd_opts["record-level.time-field"] = "deleted_time";
  }
  // The two tables that take a few hundred rows per bucket at every commit compact every
  // eighth flush: each compaction rewrites runs thousands of rows long to take in the new
  // ones, and its files and COMPACT snapshot are a cost of their own.
  dwd_opts["kubelake.compaction.level0-file-num"] = "8";
  defs.push_back({kDwdTable, DwdFields(), {"cluster"}, {"cluster", "uid"}, dwd_opts});
  auto dim_opts = base;
  dim_opts["merge-engine"] = "partial-update";
  dim_opts["partial-update.remove-record-on-delete"] = "true";
  defs.push_back({kClusterDimTable,
                  {Col("cluster", s), Col("cluster_id", s), Col("region_id", s), Col("region", s), Col("zone", s),
                   Col("node_region", s), Col("node_zone", s)},
                  {},
                  {"cluster"},
                  dim_opts});
  // Live nodes, small enough to join on every topology look-up (DWD is not).
  // Keyed with the uid too: a node recreated under its name may be live beside
  // its old object until that one's deletion is seen (or inferred at a relist),
  // and that deletion must not remove the new one.
  // The tables look-ups read by key are Parquet whatever the format of the others, with
  // small pages: a read by key decodes only the pages whose key range (page index) can
  // hold the key.
  auto lookup_opts = base;
  lookup_opts["file.format"] = "parquet";
  lookup_opts["parquet.page.row.count.limit"] = "1000";
  defs.push_back({kNodeDimTable,
                  {Col("cluster", s), Col("name", s), Col("uid", s), Col("region", s), Col("zone", s),
                   Col("unschedulable", DataType::Boolean())},
                  {},
                  {"cluster", "name", "uid"},
                  lookup_opts});
  defs.push_back({kAdsKindCountTable,
                  {Col("cluster", s), Col("kind", s), Col("live_count", b)},
                  {},
                  {"cluster", "kind"},
                  sum(base, {"live_count"})});
  defs.push_back({kAdsNamespaceCountTable,
                  {Col("cluster", s), Col("kind", s), Col("namespace", s), Col("live_count", b)},
                  {},
                  {"cluster", "kind", "namespace"},
                  sum(base, {"live_count"})});
  defs.push_back({kAdsNodePodsTable,
                  {Col("cluster", s), Col("node_name", s), Col("pod_count", b), Col("cpu_request_milli", b),
                   Col("memory_request_bytes", b)},
                  {},
                  {"cluster", "node_name"},
                  sum(base, {"pod_count", "cpu_request_milli", "memory_request_bytes"})});
  defs.push_back({kAdsUserResourcesTable,
                  {Col("user_id", s), Col("cluster", s), Col("pod_count", b), Col("cpu_request_milli", b),
                   Col("memory_request_bytes", b)},
                  {},
                  {"user_id", "cluster"},
                  sum(base, {"pod_count", "cpu_request_milli", "memory_request_bytes"})});
  auto topo_opts = lookup_opts;
  topo_opts["bucket"] = "4";
  topo_opts["bucket-key"] = "user_id";
  topo_opts["num-sorted-run.stop-trigger"] = "24";
  topo_opts["kubelake.compaction.level0-file-num"] = "8";  // as DWD's (above)
  defs.push_back({kTopologyTable,
                  {Col("user_id", s), Col("cluster", s), Col("pod_uid", s), Col("instance_id", s), Col("namespace", s),
                   Col("pod_name", s), Col("node_name", s), Col("phase", s), Col("cpu_request_milli", b),
                   Col("memory_request_bytes", b), Col("region", s), Col("zone", s), Col("updated_time", b)},
                  {},
                  {"user_id", "cluster", "pod_uid"},
                  topo_opts});
  std::map<std::string, std::string> trend_opts = {{"file.format", fmt}, {"bucket", "-1"}};
  defs.push_back({kTrendKindCountTable,
                  {Col("minute", b), Col("cluster", s), Col("kind", s), Col("live_count", b)},
                  {},
                  {},
                  trend_opts});
  defs.push_back({kTrendUserResourcesTable,
                  {Col("minute", b), Col("user_id", s), Col("cluster", s), Col("pod_count", b),
                   Col("cpu_request_milli", b), Col("memory_request_bytes", b)},
                  {},
                  {},
                  trend_opts});
  return defs;
}

Result<std::shared_ptr<table::Table>> OpenTable(const WarehouseOptions& o, const char* name) {
  return table::Catalog(o.warehouse).GetTable(o.database, name);
}

Datum Str(const std::string& s) { return s.empty() ? Datum() : Datum::Bytes(s); }

// ---- ODS: raw events, as they came from the log ----
JobFactory OdsJob(log::EventLog* log, const WarehouseOptions& o) {
  return [log, o]() -> Result<JobParts> {
    JobParts parts;
    KL_ASSIGN_OR_RETURN(auto source, LogSource::Create(log, "kubelake-ods"));
    KL_ASSIGN_OR_RETURN(auto table, OpenTable(o, kOdsTable));
    parts.operators.push_back(MakeMap(
        table->schema().fields,
        [](Change& c, Changes* out) {
          // (partition, offset, timestamp, key, value) -> (ingest_time, cluster, content)
          out->push_back({RowKind::kInsert, {std::move(c.row[2]), std::move(c.row[3]), std::move(c.row[4])}});
          return Status::OK();
        },
        "to-ods"));
    parts.sink = std::make_unique<TableSink>(table, "ods");
    parts.source = std::move(source);
    return parts;
  };
}

// ---- DWD: one row per object ----
JobFactory DwdJob(log::EventLog* log, const WarehouseOptions& o) {
  return [log, o]() -> Result<JobParts> {
    JobParts parts;
    KL_ASSIGN_OR_RETURN(auto source, LogSource::Create(log, "kubelake-dwd"));
    KL_ASSIGN_OR_RETURN(auto dwd, OpenTable(o, kDwdTable));
    KL_ASSIGN_OR_RETURN(auto dim, OpenTable(o, kClusterDimTable));
    const RowType& dwd_type = dwd->schema().fields;
    // Without the dimension columns: the lookup join appends them.
    std::vector<int> base_cols;
    for (size_t i = 0; i + kDwdDimColumns < dwd_type.size(); ++i) base_cols.push_back(static_cast<int>(i));
    RowType base_type = dwd_type.Project(base_cols);
    auto parser = std::make_shared<K8sEventParser>(K8sEventOptions{o.user_label, o.instance_label});
    parts.operators.push_back(MakeMap(
        base_type,
        [parser](Change& c, Changes* out) {
          const std::string& content = c.row[4].as_bytes();
          auto ev = parser->Parse(content);
          if (!ev.ok()) {
            // A malformed event is reported and skipped; it stays in ODS for inspection.
            spdlog::warn("dwd: skipping event at partition {} offset {}: {}", c.row[0].as_int(), c.row[1].as_int(),
                         ev.status().ToString());
            return Status::OK();
          }
          const K8sEvent& e = *ev;
          bool deleted = e.type == "DELETED";
          Row r = {c.row[3],
                   Datum::Bytes(e.uid),
                   Str(e.kind),
                   Str(e.group),
                   Str(e.version),
                   Str(e.namespace_),
                   Str(e.name),
                   Str(e.resource_version),
                   Datum::Int(e.rv),
                   Datum::Bytes(e.type),
                   Str(e.origin),
                   Datum::Bool(deleted),
                   deleted ? Datum::Int(e.event_time_ms) : Datum(),
                   Datum::Int(e.event_time_ms),
                   c.row[2],
                   Str(e.watch_name),
                   Datum::Int(e.watch_setup_ms),
                   e.created_ms > 0 ? Datum::Int(e.created_ms) : Datum(),
                   Datum::Bytes(e.labels_json),
                   Str(e.owner_kind),
                   Str(e.owner_name),
                   Str(e.node_name),
                   Str(e.phase),
                   Datum::Bool(e.unschedulable),
                   Str(e.user_id),
                   Str(e.instance_id),
                   Datum::Int(e.cpu_request_milli),
                   Datum::Int(e.memory_request_bytes),
                   Str(e.topology_region),
                   Str(e.topology_zone)};
          out->push_back({RowKind::kInsert, std::move(r)});
          return Status::OK();
        },
        "parse-event"));
    // The cluster dimension (cluster_id, region_id, region, zone): what users set in
    // dim_cluster, else what the cluster's node labels say; rows written before it was
    // known are re-emitted when it becomes known (cluster_dimensions.h).
    ClusterDimensionSpec dims;
    dims.dimension = dim;
    dims.target = dwd;
    KL_ASSIGN_OR_RETURN(auto dims_op, MakeClusterDimensions(base_type, dims));
    parts.operators.push_back(std::move(dims_op));
    parts.sink = std::make_unique<TableSink>(dwd, "dwd");
    parts.source = std::move(source);
    return parts;
  };
}

// A job that follows dwd_objects' changelog into `target` through `ops`,
// decoding only `columns` of it.
JobFactory FollowDwd(const WarehouseOptions& o, const char* target, std::string job, std::vector<std::string> columns,
                     std::function<Result<std::vector<std::unique_ptr<Operator>>>(const RowType& dwd)> ops) {
  return [o, target, job, columns, ops]() -> Result<JobParts> {
    JobParts parts;
    KL_ASSIGN_OR_RETURN(auto dwd, OpenTable(o, kDwdTable));
    KL_ASSIGN_OR_RETURN(auto out, OpenTable(o, target));
    KL_ASSIGN_OR_RETURN(auto source, TableChangeSource::Create(dwd, columns, /*consumer_id=*/job));
    KL_ASSIGN_OR_RETURN(parts.operators, ops(source->output_type()));
    parts.sink = std::make_unique<TableSink>(out, job);
    parts.source = std::move(source);
    return parts;
  };
}

int Col(const RowType& t, const char* name) { return t.IndexOf(name); }

// Counts of live objects: +1 for each live row that appears, -1 for each that goes.
std::vector<std::unique_ptr<Operator>> CountOps(const RowType& dwd, const RowType& out, std::vector<int> keys,
                                                std::function<bool(const Row&)> only = nullptr,
                                                std::vector<int> sums = {}) {
  int deleted = Col(dwd, "deleted");
  DeltaAggregateSpec spec;
  spec.output = out;
  spec.key_columns = keys.size();
  spec.extract = [keys, deleted, only, sums](const Row& row, Row* key, std::vector<int64_t>* values) {
    if (!row[static_cast<size_t>(deleted)].is_null() && row[static_cast<size_t>(deleted)].as_int() != 0) return false;
    if (only && !only(row)) return false;
    for (int k : keys) {
      if (row[static_cast<size_t>(k)].is_null()) return false;
      key->push_back(row[static_cast<size_t>(k)]);
    }
    values->push_back(1);
    for (int s : sums)
      values->push_back(row[static_cast<size_t>(s)].is_null() ? 0 : row[static_cast<size_t>(s)].as_int());
    return true;
  };
  std::vector<std::unique_ptr<Operator>> ops;
  ops.push_back(MakeDeltaAggregate(std::move(spec)));
  return ops;
}

// ---- Trend: ADS sampled every period (TableSamplesSource) ----
// The job records itself as a consumer of the ADS table at the snapshot of its
// last sample, so snapshot expiry keeps what the next samples need.

JobFactory TrendJob(const WarehouseOptions& o, const char* ads, const char* trend, std::string job) {
  return [o, ads, trend, job]() -> Result<JobParts> {
    JobParts parts;
    KL_ASSIGN_OR_RETURN(auto ads_table, OpenTable(o, ads));
    KL_ASSIGN_OR_RETURN(auto trend_table, OpenTable(o, trend));
    const RowType& out = trend_table->schema().fields;
    // Trend rows: the period end, then the ADS columns by name.
    std::vector<std::string> columns = {""};
    for (size_t i = 1; i < out.size(); ++i) columns.push_back(out.field(i).name);
    KL_ASSIGN_OR_RETURN(parts.source, TableSamplesSource::Create(ads_table, columns, o.trend_interval_ms, job));
    parts.sink = std::make_unique<TableSink>(trend_table, job);
    return parts;
  };
}

}  // namespace

Status CreateWarehouseTables(const table::Catalog& catalog, const WarehouseOptions& options) {
  table::Catalog c = catalog;
  for (auto& def : Definitions(options)) {
    auto schema = table::NewTableSchema(def.fields, def.partition, def.primary_key, def.options);
    if (!schema.ok()) return schema.status().WithContext(std::string("table ") + def.name);
    auto t = c.CreateTable(options.database, def.name, *schema, /*ignore_if_exists=*/true);
    if (!t.ok()) return t.status().WithContext(std::string("table ") + def.name);
  }
  return Status::OK();
}

Result<std::shared_ptr<table::Table>> OpenWarehouseTable(const WarehouseOptions& o, const std::string& name) {
  table::Catalog catalog(o.warehouse);
  const std::string make_one =
      "`kubelake run` (or `kubelake pipeline`, `kubelake demo`) creates one: --data-dir DIR keeps it in "
      "DIR/warehouse, --warehouse names the directory itself";
  std::string db = catalog.DatabasePath(o.database);
  if (!IsDirectory(db)) {
    std::string what = !IsDirectory(o.warehouse) ? "the directory does not exist"
                                                 : "it has no " + o.database + ".db/ database directory";
    return Status::NotFound("no kubelake warehouse at " + o.warehouse + " (" + what + "); " + make_one);
  }
  if (!IsDirectory(catalog.TablePath(o.database, name))) {
    auto tables = catalog.ListTables(o.database);
    if (!tables.ok() || tables->empty()) {
      return Status::NotFound("no kubelake warehouse at " + o.warehouse + " (" + db + " holds no tables); " + make_one);
    }
    return Status::NotFound("the warehouse at " + o.warehouse + " has no table " + name +
                            " (made by another program or an older kubelake?); `kubelake run` or `kubelake pipeline` "
                            "on it creates the missing tables");
  }
  return catalog.GetTable(o.database, name);
}

Result<std::vector<std::unique_ptr<Job>>> BuildWarehouseJobs(log::EventLog* log, const WarehouseOptions& o) {
  KL_RETURN_IF_ERROR(CreateWarehouseTables(table::Catalog(o.warehouse), o));
  JobOptions log_job;
  log_job.commit_interval_ms = o.commit_interval_ms;
  JobOptions follow_job;
  follow_job.commit_interval_ms = o.follow_interval_ms;
  JobOptions trend_job;
  trend_job.commit_interval_ms = 0;
  trend_job.poll_timeout_ms = 500;

  std::vector<std::unique_ptr<Job>> jobs;
  JobOptions ods_job = log_job;
  ods_job.commit_interval_ms = std::max(o.commit_interval_ms, o.ods_commit_interval_ms);
  if (o.ods) jobs.push_back(std::make_unique<Job>("ods", OdsJob(log, o), ods_job));
  jobs.push_back(std::make_unique<Job>("dwd", DwdJob(log, o), log_job));

  jobs.push_back(std::make_unique<Job>(
      "dim-from-nodes",
      FollowDwd(o, kClusterDimTable, "dim-from-nodes",
                {"cluster", "kind", "deleted", "topology_region", "topology_zone"},
                [](const RowType& dwd) -> Result<std::vector<std::unique_ptr<Operator>>> {
                  int kind = dwd.IndexOf("kind"), deleted = dwd.IndexOf("deleted"),
                      region = dwd.IndexOf("topology_region"), zone = dwd.IndexOf("topology_zone");
                  RowType out({Col("cluster", DataType::String()), Col("cluster_id", DataType::String()),
                               Col("region_id", DataType::String()), Col("region", DataType::String()),
                               Col("zone", DataType::String()), Col("node_region", DataType::String()),
                               Col("node_zone", DataType::String())});
                  std::vector<std::unique_ptr<Operator>> ops;
                  ops.push_back(MakeMap(
                      out,
                      [=](Change& c, Changes* o2) {
                        const Row& r = c.row;
                        if (format::IsRetract(c.kind) || r[static_cast<size_t>(kind)].is_null() ||
                            r[static_cast<size_t>(kind)].as_bytes() != "Node" ||
                            r[static_cast<size_t>(deleted)].as_int() != 0 || r[static_cast<size_t>(region)].is_null()) {
                          return Status::OK();
                        }
                        o2->push_back({RowKind::kInsert,
                                       {r[0], Datum(), Datum(), Datum(), Datum(), r[static_cast<size_t>(region)],
                                        r[static_cast<size_t>(zone)]}});
                        return Status::OK();
                      },
                      "node-topology"));
                  return ops;
                }),
      follow_job));

  jobs.push_back(std::make_unique<Job>(
      "dim-node",
      FollowDwd(o, kNodeDimTable, "dim-node",
                {"cluster", "kind", "deleted", "name", "uid", "topology_region", "topology_zone", "unschedulable"},
                [o](const RowType& dwd) -> Result<std::vector<std::unique_ptr<Operator>>> {
                  KL_ASSIGN_OR_RETURN(auto target, OpenTable(o, kNodeDimTable));
                  auto idx = [&](const char* n) { return static_cast<size_t>(dwd.IndexOf(n)); };
                  size_t cluster = idx("cluster"), kind = idx("kind"), deleted = idx("deleted"), name = idx("name"),
                         uid = idx("uid"), region = idx("topology_region"), zone = idx("topology_zone"),
                         unschedulable = idx("unschedulable");
                  std::vector<std::unique_ptr<Operator>> ops;
                  ops.push_back(MakeMap(
                      target->schema().fields,
                      [=](Change& c, Changes* out) {
                        const Row& r = c.row;
                        if (r[kind].is_null() || r[kind].as_bytes() != "Node" || r[cluster].is_null() ||
                            r[name].is_null() || r[uid].is_null()) {
                          return Status::OK();
                        }
                        Row n = {r[cluster], r[name], r[uid], r[region], r[zone], r[unschedulable]};
                        bool live = !format::IsRetract(c.kind) && (r[deleted].is_null() || r[deleted].as_int() == 0);
                        // A node that goes leaves its row.
                        out->push_back({live ? RowKind::kUpdateAfter : RowKind::kDelete, std::move(n)});
                        return Status::OK();
                      },
                      "node-dimension"));
                  return ops;
                }),
      follow_job));

  auto add_count = [&](const char* table, std::string job, std::vector<const char*> keys,
                       std::function<bool(const RowType&, const Row&)> only, std::vector<const char*> sums) {
    std::vector<std::string> columns = {"deleted"};
    if (only) columns.push_back("kind");
    for (const char* k : keys) columns.push_back(k);
    for (const char* c : sums) columns.push_back(c);
    std::sort(columns.begin(), columns.end());
    columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
    jobs.push_back(std::make_unique<Job>(
        job,
        FollowDwd(o, table, job, columns,
                  [o, table, keys, only, sums](const RowType& dwd) -> Result<std::vector<std::unique_ptr<Operator>>> {
                    KL_ASSIGN_OR_RETURN(auto target, OpenTable(o, table));
                    std::vector<int> key_cols, sum_cols;
                    for (const char* k : keys) key_cols.push_back(dwd.IndexOf(k));
                    for (const char* s : sums) sum_cols.push_back(dwd.IndexOf(s));
                    std::function<bool(const Row&)> filter;
                    if (only) filter = [only, dwd](const Row& r) { return only(dwd, r); };
                    return CountOps(dwd, target->schema().fields, key_cols, filter, sum_cols);
                  }),
        follow_job));
  };
  auto is_pod = [](const RowType& t, const Row& r) {
    const Datum& k = r[static_cast<size_t>(t.IndexOf("kind"))];
    return !k.is_null() && k.as_bytes() == "Pod";
  };
  add_count(kAdsKindCountTable, "ads-kind-count", {"cluster", "kind"}, nullptr, {});
  add_count(kAdsNamespaceCountTable, "ads-namespace-count", {"cluster", "kind", "namespace"}, nullptr, {});
  add_count(kAdsNodePodsTable, "ads-node-pods", {"cluster", "node_name"}, is_pod,
            {"cpu_request_milli", "memory_request_bytes"});
  add_count(kAdsUserResourcesTable, "ads-user-resources", {"user_id", "cluster"}, is_pod,
            {"cpu_request_milli", "memory_request_bytes"});

  jobs.push_back(std::make_unique<Job>(
      "topology",
      FollowDwd(o, kTopologyTable, "topology",
                {"cluster", "kind", "deleted", "user_id", "uid", "instance_id", "namespace", "name", "node_name",
                 "phase", "cpu_request_milli", "memory_request_bytes", "region", "zone", "event_time"},
                [o](const RowType& dwd) -> Result<std::vector<std::unique_ptr<Operator>>> {
                  KL_ASSIGN_OR_RETURN(auto target, OpenTable(o, kTopologyTable));
                  auto idx = [&](const char* n) { return static_cast<size_t>(dwd.IndexOf(n)); };
                  size_t kind = idx("kind"), deleted = idx("deleted"), user = idx("user_id"), uid = idx("uid"),
                         instance = idx("instance_id"), ns = idx("namespace"), name = idx("name"),
                         node = idx("node_name"), phase = idx("phase"), cpu = idx("cpu_request_milli"),
                         mem = idx("memory_request_bytes"), region = idx("region"), zone = idx("zone"),
                         event_time = idx("event_time"), cluster = idx("cluster");
                  std::vector<std::unique_ptr<Operator>> ops;
                  ops.push_back(MakeMap(
                      target->schema().fields,
                      [=](Change& c, Changes* out) {
                        const Row& r = c.row;
                        if (r[kind].is_null() || r[kind].as_bytes() != "Pod" || r[user].is_null()) return Status::OK();
                        Row t = {r[user],  r[cluster], r[uid], r[instance], r[ns],   r[name],      r[node],
                                 r[phase], r[cpu],     r[mem], r[region],   r[zone], r[event_time]};
                        bool live = !format::IsRetract(c.kind) && r[deleted].as_int() == 0;
                        // A pod that goes (or moves to another user) leaves its old topology row.
                        out->push_back({live ? RowKind::kUpdateAfter : RowKind::kDelete, std::move(t)});
                        return Status::OK();
                      },
                      "pod-topology"));
                  return ops;
                }),
      follow_job));

  jobs.push_back(std::make_unique<Job>(
      "trend-kind-count", TrendJob(o, kAdsKindCountTable, kTrendKindCountTable, "trend-kind-count"), trend_job));
  jobs.push_back(std::make_unique<Job>(
      "trend-user-resources", TrendJob(o, kAdsUserResourcesTable, kTrendUserResourcesTable, "trend-user-resources"),
      trend_job));
  for (auto& j : jobs) KL_RETURN_IF_ERROR(j->Open().WithContext("job " + j->name()));
  return jobs;
}

void JobRunner::Start() {
  stop_ = false;
  for (auto& j : jobs_) {
    Job* job = j.get();
    threads_.emplace_back([this, job] {
      // Thread names show in top -H and profilers (at most 15 characters).
      pthread_setname_np(pthread_self(), job->name().substr(0, 15).c_str());
      job->Run(stop_);
    });
  }
}

void JobRunner::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::vector<JobStatus> JobRunner::Status() const {
  std::vector<JobStatus> out;
  for (const auto& j : jobs_) out.push_back(j->status());
  return out;
}

}  // namespace kl::pipeline
