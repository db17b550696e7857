// The warehouse's ready-made questions as SQL over its tables: audit (live
// counts per cluster and kind, or per namespace), topology (a user's
// instances, pods, nodes and clusters, or who runs on a node) and trend
// (counts or a user's requests over the last minutes). `kubelake query` and
// the demo print these.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "pipeline/warehouse/warehouse.h"

namespace kl::sql {

class SqlEngine;
class SqlSession;

// A query answer: named, typed columns and rows, ready to print.
struct QueryResult {
  format::RowType columns;
  std::vector<format::Row> rows;
};

struct AuditQuery {
  bool by_namespace = false;
  std::string cluster;  // "" = all
  std::string kind;     // "" = all
};
Result<QueryResult> QueryAudit(const pipeline::WarehouseOptions& warehouse, const AuditQuery& query);

struct TopologyQuery {
  std::string user_id;  // either a user
  std::string cluster;  // or a node: cluster + node name
  std::string node;
  int64_t as_of_ms = 0;  // 0: now; else as of the snapshots at or before this time (time travel)
};
Result<QueryResult> QueryTopology(const pipeline::WarehouseOptions& warehouse, const TopologyQuery& query);

// Topology look-ups for a server that answers many (the HTTP API): a user's topology runs
// as a prepared statement with the user as $1 on sessions of one engine kept between
// look-ups, so its plan and the node dimension's join table are reused while the tables
// stay (sql/planner/plan_cache.h); answers are QueryTopology's. A look-up takes a kept
// session of its own (one per concurrent caller, at most kMaxIdleSessions kept idle) and
// runs only that statement on it, so look-ups share nothing but what the plan cache
// checks. Other questions (by node, as of a time) and errors are QueryTopology's.
class TopologyLookups {
 public:
  static constexpr size_t kMaxIdleSessions = 8;
  explicit TopologyLookups(pipeline::WarehouseOptions warehouse);
  ~TopologyLookups();
  Result<QueryResult> Query(const TopologyQuery& query);

 private:
  pipeline::WarehouseOptions warehouse_;
  std::string user_sql_;  // the look-up by user, $1 the user
  std::mutex mu_;
  std::shared_ptr<SqlEngine> engine_;
  std::vector<std::unique_ptr<SqlSession>> idle_;
};

struct TrendQuery {
  int minutes = 15;
  std::string cluster;
  std::string kind = "Pod";
  std::string user_id;     // set: the user's resource trend instead of counts
  int64_t now_millis = 0;  // 0: the current time
};
Result<QueryResult> QueryTrend(const pipeline::WarehouseOptions& warehouse, const TrendQuery& query);

// The SQL text each runs (for docs, EXPLAIN and tests).
std::string AuditSql(const pipeline::WarehouseOptions& warehouse, const AuditQuery& query);
std::string TopologySql(const pipeline::WarehouseOptions& warehouse, const TopologyQuery& query);
std::string TrendSql(const pipeline::WarehouseOptions& warehouse, const TrendQuery& query);

}  // namespace kl::sql
