// Questions the warehouse answers directly from its tables (before SQL):
// audit (live counts per cluster and kind, or per namespace), topology
// (a user's instances, pods, nodes, clusters and regions; or who runs on a
// node) and trend (counts over the last minutes).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "pipeline/warehouse/warehouse.h"

namespace kl::pipeline {

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
Result<QueryResult> QueryAudit(const WarehouseOptions& warehouse, const AuditQuery& query);

struct TopologyQuery {
  std::string user_id;  // either a user
  std::string cluster;  // or a node: cluster + node name
  std::string node;
  int64_t as_of_ms = 0;  // 0: now; else as of the snapshots at or before this time (time travel)
};
Result<QueryResult> QueryTopology(const WarehouseOptions& warehouse, const TopologyQuery& query);

struct TrendQuery {
  int minutes = 15;
  std::string cluster;
  std::string kind = "Pod";
  std::string user_id;  // set: the user's resource trend instead of counts
};
Result<QueryResult> QueryTrend(const WarehouseOptions& warehouse, const TrendQuery& query);

// Deleted objects, newest deletion first (DWD keeps them as rows marked deleted).
struct DeletedQuery {
  std::string cluster;  // "" = all
  std::string kind;     // "" = all
  std::string name;     // substring of namespace/name; "" = all
  size_t limit = 100;
};
Result<QueryResult> QueryDeleted(const WarehouseOptions& warehouse, const DeletedQuery& query);

// Users by live pods (summed over clusters), most first; `prefix` filters ids.
Result<QueryResult> QueryUsers(const WarehouseOptions& warehouse, const std::string& prefix, size_t limit);

// Nodes with their pods and requests (ADS), by cluster and name.
Result<QueryResult> QueryNodes(const WarehouseOptions& warehouse, const std::string& cluster);

}  // namespace kl::pipeline
