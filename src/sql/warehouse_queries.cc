#include "sql/warehouse_queries.h"

#include "common/clock.h"
#include "sql/sql.h"
#include "table/table.h"

namespace kl::sql {

namespace {

std::string Lit(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'";
    out.push_back(c);
  }
  return out + "'";
}

std::string Table(const pipeline::WarehouseOptions& o, const char* name) {
  return "`default_catalog`.`" + o.database + "`.`" + name + "`";
}

Result<QueryResult> Run(const pipeline::WarehouseOptions& o, const std::string& sql) {
  // A directory without a warehouse (or without a table the query reads) says so and how to
  // make one, rather than the engine's "no such table".
  for (const char* table : pipeline::kWarehouseTables) {
    if (sql.find(table) != std::string::npos) KL_RETURN_IF_ERROR(pipeline::OpenWarehouseTable(o, table).status());
  }
  EngineOptions eo;
  eo.warehouse = o.warehouse;
  eo.default_database = o.database;
  KL_ASSIGN_OR_RETURN(auto engine, SqlEngine::Create(eo));
  auto session = engine->NewSession();
  KL_ASSIGN_OR_RETURN(StatementResult r, session->Execute(sql));
  QueryResult out;
  out.columns = r.columns;
  // The result columns are nullable, as the tables' are.
  for (auto& f : out.columns.mutable_fields()) f.type = f.type.WithNullable(true);
  out.rows = r.Rows();
  return out;
}

// A cluster's region: the dimension's region, else the region its nodes report, else ''.
constexpr char kRegion[] = "CASE WHEN COALESCE(d.region, '') = '' THEN COALESCE(d.node_region, '') ELSE d.region END";

}  // namespace

std::string AuditSql(const pipeline::WarehouseOptions& o, const AuditQuery& q) {
  std::string where = "COALESCE(a.live_count, 0) <> 0";
  if (!q.cluster.empty()) where += " AND a.cluster = " + Lit(q.cluster);
  if (!q.kind.empty()) where += " AND a.kind = " + Lit(q.kind);
  if (q.by_namespace) {
    return "SELECT a.cluster, " + std::string(kRegion) +
           " AS region, a.kind, a.namespace, a.live_count AS live\n"
           "FROM " +
           Table(o, pipeline::kAdsNamespaceCountTable) +
           " a\n"
           "LEFT JOIN " +
           Table(o, pipeline::kClusterDimTable) +
           " d ON a.cluster = d.cluster\n"
           "WHERE " +
           where + "\nORDER BY 1, 2, 3, 4, 5";
  }
  return "SELECT a.cluster, " + std::string(kRegion) +
         " AS region, a.kind, a.live_count AS live\n"
         "FROM " +
         Table(o, pipeline::kAdsKindCountTable) +
         " a\n"
         "LEFT JOIN " +
         Table(o, pipeline::kClusterDimTable) +
         " d ON a.cluster = d.cluster\n"
         "WHERE " +
         where + "\nORDER BY 1, 2, 3, 4";
}

namespace {

// The topology SQL; without `node_zones` the node dimension is not read and node_zone
// is NULL (unknown), as for a time before the dimension has a snapshot.
std::string TopologySqlOf(const pipeline::WarehouseOptions& o, const TopologyQuery& q, bool node_zones) {
  std::string where = q.as_of_ms < 0 ? "FALSE AND " : "";
  if (!q.user_id.empty()) {
    where += "t.user_id = " + Lit(q.user_id);
  } else {
    where += "t.node_name = " + Lit(q.node);
    if (!q.cluster.empty()) where += " AND t.cluster = " + Lit(q.cluster);
  }
  // (as_of_ms < 0: an empty answer, read from the latest snapshot with a false condition.)
  std::string as_of = q.as_of_ms > 0 ? " FOR SYSTEM_TIME AS OF " + std::to_string(q.as_of_ms) : "";
  if (!node_zones) {
    return "SELECT t.user_id, t.instance_id, t.namespace, t.pod_name AS pod, t.node_name AS node,\n"
           "  CAST(NULL AS STRING) AS node_zone, t.cluster, t.region, t.phase,\n"
           "  t.cpu_request_milli AS cpu_milli, t.memory_request_bytes AS memory_bytes\n"
           "FROM " +
           Table(o, pipeline::kTopologyTable) + as_of + " t\nWHERE " + where +
           "\nORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11";
  }
  return "SELECT t.user_id, t.instance_id, t.namespace, t.pod_name AS pod, t.node_name AS node,\n"
         "  COALESCE(z.zone, '') AS node_zone, t.cluster, t.region, t.phase,\n"
         "  t.cpu_request_milli AS cpu_milli, t.memory_request_bytes AS memory_bytes\n"
         "FROM " +
         Table(o, pipeline::kTopologyTable) + as_of +
         " t\n"
         // dim_node holds only live nodes (DWD holds every object): joining it, not an
         // aggregate over DWD, keeps a look-up's cost independent of the fleet's size.
         "LEFT JOIN (SELECT cluster, name, MAX(COALESCE(zone, '')) AS zone FROM " +
         Table(o, pipeline::kNodeDimTable) + as_of +
         " GROUP BY cluster, name) z\n"
         "  ON t.cluster = z.cluster AND t.node_name = z.name\n"
         "WHERE " +
         where + "\nORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11";
}

}  // namespace

std::string TopologySql(const pipeline::WarehouseOptions& o, const TopologyQuery& q) {
  return TopologySqlOf(o, q, /*node_zones=*/true);
}

std::string TrendSql(const pipeline::WarehouseOptions& o, const TrendQuery& q) {
  int64_t now = q.now_millis > 0 ? q.now_millis : NowMillis();
  int64_t since = now - static_cast<int64_t>(q.minutes) * 60000;
  std::string time = "DATE_FORMAT(TO_TIMESTAMP_LTZ(minute, 3), 'yyyy-MM-dd''T''HH:mm:ss''Z''') AS `time`";
  std::string where = "minute >= " + std::to_string(since);
  if (!q.cluster.empty()) where += " AND cluster = " + Lit(q.cluster);
  if (!q.user_id.empty()) {
    where += " AND user_id = " + Lit(q.user_id);
    return "SELECT " + time +
           ", cluster, pod_count AS pods, cpu_request_milli AS cpu_milli,\n"
           "  memory_request_bytes AS memory_bytes\n"
           "FROM " +
           Table(o, pipeline::kTrendUserResourcesTable) + "\nWHERE " + where + "\nORDER BY 1, 2, 3, 4, 5";
  }
  if (!q.kind.empty()) where += " AND kind = " + Lit(q.kind);
  return "SELECT " + time +
         ", cluster, kind, live_count AS live\n"
         "FROM " +
         Table(o, pipeline::kTrendKindCountTable) + "\nWHERE " + where + "\nORDER BY 1, 2, 3, 4";
}

Result<QueryResult> QueryAudit(const pipeline::WarehouseOptions& o, const AuditQuery& q) {
  return Run(o, AuditSql(o, q));
}

Result<QueryResult> QueryTopology(const pipeline::WarehouseOptions& o, const TopologyQuery& q) {
  if (q.user_id.empty() == q.node.empty()) {
    return Status::InvalidArgument("topology: give either a user id or a node (with its cluster)");
  }
  bool node_zones = true;
  TopologyQuery run = q;
  if (q.as_of_ms > 0) {
    // As of a time the node dimension has no snapshot for (before it was first filled, or
    // beyond its retained history) the pods are known and their nodes' zones are not.
    KL_ASSIGN_OR_RETURN(auto nodes, pipeline::OpenWarehouseTable(o, pipeline::kNodeDimTable));
    KL_ASSIGN_OR_RETURN(std::optional<table::Snapshot> at, nodes->snapshots().AtOrBefore(q.as_of_ms));
    node_zones = at.has_value();
    // Before the topology table's first snapshot, while that one is kept (none expired),
    // the table was empty: no pods, rather than an error. Before an expired snapshot
    // what it held is unknown, and reading as of then says so.
    KL_ASSIGN_OR_RETURN(auto topology, pipeline::OpenWarehouseTable(o, pipeline::kTopologyTable));
    KL_ASSIGN_OR_RETURN(std::optional<table::Snapshot> pods_at, topology->snapshots().AtOrBefore(q.as_of_ms));
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> earliest, topology->snapshots().EarliestId());
    if (!pods_at && (!earliest || *earliest == 1)) run.as_of_ms = -1;
  }
  return Run(o, TopologySqlOf(o, run, node_zones));
}

TopologyLookups::TopologyLookups(pipeline::WarehouseOptions warehouse) : warehouse_(std::move(warehouse)) {
  TopologyQuery q;
  q.user_id = "$USER$";
  user_sql_ = TopologySql(warehouse_, q);
  user_sql_.replace(user_sql_.find("'$USER$'"), 8, "$1");
}

TopologyLookups::~TopologyLookups() = default;

Result<QueryResult> TopologyLookups::Query(const TopologyQuery& q) {
  if (q.user_id.empty() || !q.node.empty() || q.as_of_ms != 0) return QueryTopology(warehouse_, q);
  std::unique_ptr<SqlSession> session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!engine_) {
      EngineOptions eo;
      eo.warehouse = warehouse_.warehouse;
      eo.default_database = warehouse_.database;
      auto engine = SqlEngine::Create(eo);
      if (!engine.ok()) return QueryTopology(warehouse_, q);
      engine_ = *engine;
    }
    if (!idle_.empty()) {
      session = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!session) session = engine_->NewSession();
  auto r = session->Execute(user_sql_, {format::Datum::Bytes(q.user_id)}, {format::DataType::String()});
  // A failed look-up (no warehouse yet, a table missing) is answered as QueryTopology
  // answers it, with its errors; the session is dropped.
  if (!r.ok()) return QueryTopology(warehouse_, q);
  QueryResult out;
  out.columns = r->columns;
  for (auto& f : out.columns.mutable_fields()) f.type = f.type.WithNullable(true);
  out.rows = r->Rows();
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < kMaxIdleSessions) idle_.push_back(std::move(session));
  return out;
}

Result<QueryResult> QueryTrend(const pipeline::WarehouseOptions& o, const TrendQuery& q) {
  return Run(o, TrendSql(o, q));
}

}  // namespace kl::sql
