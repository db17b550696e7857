#include "pipeline/queries.h"

#include <algorithm>
#include <map>

#include "common/clock.h"
#include "table/binary_row.h"

namespace kl::pipeline {

using format::DataType;
using format::Datum;
using format::Row;
using format::RowType;

namespace {

Result<std::vector<Row>> ReadRows(const WarehouseOptions& o, const char* table_name,
                                  std::vector<std::string> projection = {}) {
  KL_ASSIGN_OR_RETURN(auto t, OpenWarehouseTable(o, table_name));
  KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows, t->ReadAll(std::nullopt, std::move(projection)));
  std::vector<Row> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out.push_back(rows.rows.GetRow(i));
  return out;
}

std::string S(const Datum& d) { return d.is_null() ? "" : d.as_bytes(); }
int64_t I(const Datum& d) { return d.is_null() ? 0 : d.as_int(); }

format::DataField F(int id, const char* name, DataType t) { return {id, name, t, ""}; }

// cluster -> (region, zone), from what the DWD rows of the cluster carry.
Result<std::map<std::string, std::pair<std::string, std::string>>> ClusterRegions(const WarehouseOptions& o) {
  KL_ASSIGN_OR_RETURN(auto dim, ReadRows(o, kClusterDimTable));
  std::map<std::string, std::pair<std::string, std::string>> out;
  for (const auto& r : dim) {
    std::string region = S(r[3]).empty() ? S(r[5]) : S(r[3]);
    std::string zone = S(r[4]).empty() ? S(r[6]) : S(r[4]);
    out[S(r[0])] = {region, zone};
  }
  return out;
}

}  // namespace

Result<QueryResult> QueryAudit(const WarehouseOptions& o, const AuditQuery& q) {
  KL_ASSIGN_OR_RETURN(auto regions, ClusterRegions(o));
  QueryResult result;
  std::vector<Row> rows;
  if (q.by_namespace) {
    result.columns = RowType({F(0, "cluster", DataType::String()), F(1, "region", DataType::String()),
                              F(2, "kind", DataType::String()), F(3, "namespace", DataType::String()),
                              F(4, "live", DataType::BigInt())});
    KL_ASSIGN_OR_RETURN(rows, ReadRows(o, kAdsNamespaceCountTable));
    for (const auto& r : rows) {
      if (I(r[3]) == 0 || (!q.cluster.empty() && S(r[0]) != q.cluster) || (!q.kind.empty() && S(r[1]) != q.kind)) continue;
      result.rows.push_back({r[0], Datum::Bytes(regions[S(r[0])].first), r[1], r[2], r[3]});
    }
  } else {
    result.columns = RowType({F(0, "cluster", DataType::String()), F(1, "region", DataType::String()),
                              F(2, "kind", DataType::String()), F(3, "live", DataType::BigInt())});
    KL_ASSIGN_OR_RETURN(rows, ReadRows(o, kAdsKindCountTable));
    for (const auto& r : rows) {
      if (I(r[2]) == 0 || (!q.cluster.empty() && S(r[0]) != q.cluster) || (!q.kind.empty() && S(r[1]) != q.kind)) continue;
      result.rows.push_back({r[0], Datum::Bytes(regions[S(r[0])].first), r[1], r[2]});
    }
  }
  std::sort(result.rows.begin(), result.rows.end(), [](const Row& a, const Row& b) { return format::CompareRows(a, b) < 0; });
  return result;
}

Result<QueryResult> QueryTopology(const WarehouseOptions& o, const TopologyQuery& q) {
  if (q.user_id.empty() == q.node.empty()) {
    return Status::InvalidArgument("topology: give either a user id or a node (with its cluster)");
  }
  QueryResult result;
  result.columns = RowType({F(0, "user_id", DataType::String()), F(1, "instance_id", DataType::String()),
                            F(2, "namespace", DataType::String()), F(3, "pod", DataType::String()),
                            F(4, "node", DataType::String()), F(5, "node_zone", DataType::String()),
                            F(6, "cluster", DataType::String()), F(7, "region", DataType::String()),
                            F(8, "phase", DataType::String()), F(9, "cpu_milli", DataType::BigInt()),
                            F(10, "memory_bytes", DataType::BigInt())});
  KL_ASSIGN_OR_RETURN(auto t, OpenWarehouseTable(o, kTopologyTable));
  // A user's rows live in one bucket (bucket key user_id): read only that one.
  table::ScanPlan plan;
  KL_ASSIGN_OR_RETURN(plan, t->NewScan().PlanLatest());
  if (!q.user_id.empty()) {
    int buckets = t->schema().table_options().bucket();
    std::string key = table::EncodeBinaryRow({Datum::Bytes(q.user_id)}, {DataType::String().NotNull()});
    int bucket = table::BucketOf(key, std::max(1, buckets));
    plan.splits.erase(std::remove_if(plan.splits.begin(), plan.splits.end(),
                                     [&](const table::DataSplit& s) { return s.bucket != bucket; }),
                      plan.splits.end());
  }
  KL_ASSIGN_OR_RETURN(auto read, t->NewRead());
  KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows, read->ReadAll(plan));
  // Node zones come from the nodes' own topology labels in DWD.
  std::map<std::pair<std::string, std::string>, std::string> node_zone;
  KL_ASSIGN_OR_RETURN(auto dwd, OpenWarehouseTable(o, kDwdTable));
  KL_ASSIGN_OR_RETURN(table::RowsWithKinds nodes,
                      dwd->ReadAll(std::nullopt, {"cluster", "kind", "name", "deleted", "topology_zone"}));
  for (size_t i = 0; i < nodes.size(); ++i) {
    Row n = nodes.rows.GetRow(i);
    if (S(n[1]) == "Node" && I(n[3]) == 0) node_zone[{S(n[0]), S(n[2])}] = S(n[4]);
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    Row r = rows.rows.GetRow(i);
    // user_id, cluster, pod_uid, instance_id, namespace, pod_name, node_name, phase, cpu, mem, region, zone, updated
    if (!q.user_id.empty() && S(r[0]) != q.user_id) continue;
    if (!q.node.empty() && (S(r[6]) != q.node || (!q.cluster.empty() && S(r[1]) != q.cluster))) continue;
    result.rows.push_back({r[0], r[3], r[4], r[5], r[6], Datum::Bytes(node_zone[{S(r[1]), S(r[6])}]), r[1], r[10],
                           r[7], r[8], r[9]});
  }
  std::sort(result.rows.begin(), result.rows.end(), [](const Row& a, const Row& b) { return format::CompareRows(a, b) < 0; });
  return result;
}

Result<QueryResult> QueryTrend(const WarehouseOptions& o, const TrendQuery& q) {
  QueryResult result;
  int64_t since = NowMillis() - static_cast<int64_t>(q.minutes) * 60000;
  if (!q.user_id.empty()) {
    result.columns = RowType({F(0, "time", DataType::String()), F(1, "cluster", DataType::String()),
                              F(2, "pods", DataType::BigInt()), F(3, "cpu_milli", DataType::BigInt()),
                              F(4, "memory_bytes", DataType::BigInt())});
    KL_ASSIGN_OR_RETURN(auto rows, ReadRows(o, kTrendUserResourcesTable));
    for (const auto& r : rows) {
      if (I(r[0]) < since || S(r[1]) != q.user_id || (!q.cluster.empty() && S(r[2]) != q.cluster)) continue;
      result.rows.push_back({Datum::Bytes(FormatRfc3339(I(r[0]))), r[2], r[3], r[4], r[5]});
    }
  } else {
    result.columns = RowType({F(0, "time", DataType::String()), F(1, "cluster", DataType::String()),
                              F(2, "kind", DataType::String()), F(3, "live", DataType::BigInt())});
    KL_ASSIGN_OR_RETURN(auto rows, ReadRows(o, kTrendKindCountTable));
    for (const auto& r : rows) {
      if (I(r[0]) < since || (!q.cluster.empty() && S(r[1]) != q.cluster) || (!q.kind.empty() && S(r[2]) != q.kind)) {
        continue;
      }
      result.rows.push_back({Datum::Bytes(FormatRfc3339(I(r[0]))), r[1], r[2], r[3]});
    }
  }
  std::sort(result.rows.begin(), result.rows.end(), [](const Row& a, const Row& b) { return format::CompareRows(a, b) < 0; });
  return result;
}

}  // namespace kl::pipeline
