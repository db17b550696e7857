// The warehouse's ready-made questions as SQL over its tables: audit (live
// counts per cluster and kind, or per namespace), topology (a user's
// instances, pods, nodes and clusters, or who runs on a node) and trend
// (counts or a user's requests over the last minutes). `kubelake query` and
// the demo print these.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "pipeline/warehouse/warehouse.h"

namespace kl::sql {

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
