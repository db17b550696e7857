#include "pipeline/warehouse/queries.h"

#include <algorithm>
#include <array>
#include <map>

#include "common/clock.h"
#include "table/data/binary_row.h"
#include "table/data/predicate.h"
#include "table/manifest/snapshot.h"
#include "table/operation/scan.h"

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
      if (I(r[3]) == 0 || (!q.cluster.empty() && S(r[0]) != q.cluster) || (!q.kind.empty() && S(r[1]) != q.kind))
        continue;
      result.rows.push_back({r[0], Datum::Bytes(regions[S(r[0])].first), r[1], r[2], r[3]});
    }
  } else {
    result.columns = RowType({F(0, "cluster", DataType::String()), F(1, "region", DataType::String()),
                              F(2, "kind", DataType::String()), F(3, "live", DataType::BigInt())});
    KL_ASSIGN_OR_RETURN(rows, ReadRows(o, kAdsKindCountTable));
    for (const auto& r : rows) {
      if (I(r[2]) == 0 || (!q.cluster.empty() && S(r[0]) != q.cluster) || (!q.kind.empty() && S(r[1]) != q.kind))
        continue;
      result.rows.push_back({r[0], Datum::Bytes(regions[S(r[0])].first), r[1], r[2]});
    }
  }
  std::sort(result.rows.begin(), result.rows.end(),
            [](const Row& a, const Row& b) { return format::CompareRows(a, b) < 0; });
  return result;
}

Result<QueryResult> QueryTopology(const WarehouseOptions& o, const TopologyQuery& q) {
  if (q.user_id.empty() == q.node.empty()) {
    return Status::InvalidArgument("topology: give either a user id or a node (with its cluster)");
  }
  QueryResult result;
  result.columns =
      RowType({F(0, "user_id", DataType::String()), F(1, "instance_id", DataType::String()),
               F(2, "namespace", DataType::String()), F(3, "pod", DataType::String()), F(4, "node", DataType::String()),
               F(5, "node_zone", DataType::String()), F(6, "cluster", DataType::String()),
               F(7, "region", DataType::String()), F(8, "phase", DataType::String()),
               F(9, "cpu_milli", DataType::BigInt()), F(10, "memory_bytes", DataType::BigInt())});
  KL_ASSIGN_OR_RETURN(auto t, OpenWarehouseTable(o, kTopologyTable));
  // A user's rows live in one bucket (bucket key user_id): read only that one.
  table::ScanPlan plan;
  std::optional<int64_t> dwd_snapshot;
  if (q.as_of_ms > 0) {
    auto planned = t->NewScan().PlanAsOfTime(q.as_of_ms);
    if (!planned.ok()) {
      return planned.status().WithContext("topology as of " + FormatRfc3339(q.as_of_ms) +
                                          " (snapshots are kept for snapshot.time-retained, 1 h by default)");
    }
    plan = std::move(*planned);
    KL_ASSIGN_OR_RETURN(auto dwd_table, table::Catalog(o.warehouse).GetTable(o.database, kDwdTable));
    KL_ASSIGN_OR_RETURN(auto dwd_at, table::SnapshotManager(dwd_table->path()).AtOrBefore(q.as_of_ms));
    if (dwd_at) dwd_snapshot = dwd_at->id;
  } else {
    KL_ASSIGN_OR_RETURN(plan, t->NewScan().PlanLatest());
  }
  int buckets = t->schema().table_options().bucket();
  // In dynamic bucket mode (bucket = -1) a key's bucket is not a function of the key.
  if (!q.user_id.empty() && buckets > 0) {
    std::string key = table::EncodeBinaryRow({Datum::Bytes(q.user_id)}, {DataType::String().NotNull()});
    int bucket = table::BucketOf(key, buckets);
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
                      dwd->ReadAll(dwd_snapshot, {"cluster", "kind", "name", "deleted", "topology_zone"}));
  for (size_t i = 0; i < nodes.size(); ++i) {
    Row n = nodes.rows.GetRow(i);
    if (S(n[1]) == "Node" && I(n[3]) == 0) node_zone[{S(n[0]), S(n[2])}] = S(n[4]);
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    Row r = rows.rows.GetRow(i);
    // user_id, cluster, pod_uid, instance_id, namespace, pod_name, node_name, phase, cpu, mem, region, zone, updated
    if (!q.user_id.empty() && S(r[0]) != q.user_id) continue;
    if (!q.node.empty() && (S(r[6]) != q.node || (!q.cluster.empty() && S(r[1]) != q.cluster))) continue;
    result.rows.push_back(
        {r[0], r[3], r[4], r[5], r[6], Datum::Bytes(node_zone[{S(r[1]), S(r[6])}]), r[1], r[10], r[7], r[8], r[9]});
  }
  std::sort(result.rows.begin(), result.rows.end(),
            [](const Row& a, const Row& b) { return format::CompareRows(a, b) < 0; });
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
  std::sort(result.rows.begin(), result.rows.end(),
            [](const Row& a, const Row& b) { return format::CompareRows(a, b) < 0; });
  return result;
}

Result<QueryResult> QueryDeleted(const WarehouseOptions& o, const DeletedQuery& q) {
  QueryResult result;
  result.columns = RowType(
      {F(0, "deleted_time", DataType::String()), F(1, "cluster", DataType::String()), F(2, "kind", DataType::String()),
       F(3, "namespace", DataType::String()), F(4, "name", DataType::String()), F(5, "uid", DataType::String()),
       F(6, "created_time", DataType::String()), F(7, "owner", DataType::String()), F(8, "node", DataType::String()),
       F(9, "user_id", DataType::String()), F(10, "origin", DataType::String())});
  KL_ASSIGN_OR_RETURN(auto t, table::Catalog(o.warehouse).GetTable(o.database, kDwdTable));
  KL_ASSIGN_OR_RETURN(auto filter, table::Predicate::Parse("deleted = true", t->schema().fields));
  KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows,
                      t->ReadAll(std::nullopt,
                                 {"deleted_time", "cluster", "kind", "namespace", "name", "uid", "created_time",
                                  "owner_kind", "owner_name", "node_name", "user_id", "origin", "deleted"},
                                 filter));
  std::vector<Row> picked;
  for (size_t i = 0; i < rows.size(); ++i) {
    Row r = rows.rows.GetRow(i);
    if (r[12].is_null() || !r[12].as_bool()) continue;
    if (!q.cluster.empty() && S(r[1]) != q.cluster) continue;
    if (!q.kind.empty() && S(r[2]) != q.kind) continue;
    if (!q.name.empty() && (S(r[3]) + "/" + S(r[4])).find(q.name) == std::string::npos) continue;
    picked.push_back(std::move(r));
  }
  std::sort(picked.begin(), picked.end(), [](const Row& a, const Row& b) {
    if (I(a[0]) != I(b[0])) return I(a[0]) > I(b[0]);
    return format::CompareRows(a, b) < 0;
  });
  if (picked.size() > q.limit) picked.resize(q.limit);
  for (const auto& r : picked) {
    std::string owner = S(r[7]).empty() ? "" : S(r[7]) + "/" + S(r[8]);
    result.rows.push_back({Datum::Bytes(FormatRfc3339(I(r[0]))), r[1], r[2], r[3], r[4], r[5],
                           I(r[6]) > 0 ? Datum::Bytes(FormatRfc3339(I(r[6]))) : Datum(),
                           owner.empty() ? Datum() : Datum::Bytes(owner), r[9], r[10], r[11]});
  }
  return result;
}

Result<QueryResult> QueryUsers(const WarehouseOptions& o, const std::string& prefix, size_t limit) {
  QueryResult result;
  result.columns = RowType({F(0, "user_id", DataType::String()), F(1, "clusters", DataType::BigInt()),
                            F(2, "pods", DataType::BigInt()), F(3, "cpu_milli", DataType::BigInt()),
                            F(4, "memory_bytes", DataType::BigInt())});
  KL_ASSIGN_OR_RETURN(auto rows, ReadRows(o, kAdsUserResourcesTable));
  std::map<std::string, std::array<int64_t, 4>> users;
  for (const auto& r : rows) {
    if (I(r[2]) <= 0 || S(r[0]).compare(0, prefix.size(), prefix) != 0) continue;
    auto& u = users[S(r[0])];
    u[0] += 1;
    u[1] += I(r[2]);
    u[2] += I(r[3]);
    u[3] += I(r[4]);
  }
  for (const auto& [user, v] : users) {
    result.rows.push_back({Datum::Bytes(user), Datum::Int(v[0]), Datum::Int(v[1]), Datum::Int(v[2]), Datum::Int(v[3])});
  }
  std::sort(result.rows.begin(), result.rows.end(), [](const Row& a, const Row& b) {
    if (a[2].as_int() != b[2].as_int()) return a[2].as_int() > b[2].as_int();
    return a[0].as_bytes() < b[0].as_bytes();
  });
  if (result.rows.size() > limit) result.rows.resize(limit);
  return result;
}

Result<QueryResult> QueryNodes(const WarehouseOptions& o, const std::string& cluster) {
  QueryResult result;
  result.columns =
      RowType({F(0, "cluster", DataType::String()), F(1, "node", DataType::String()), F(2, "pods", DataType::BigInt()),
               F(3, "cpu_milli", DataType::BigInt()), F(4, "memory_bytes", DataType::BigInt())});
  KL_ASSIGN_OR_RETURN(auto rows, ReadRows(o, kAdsNodePodsTable));
  for (const auto& r : rows) {
    if (S(r[1]).empty() || (!cluster.empty() && S(r[0]) != cluster)) continue;
    result.rows.push_back({r[0], r[1], Datum::Int(I(r[2])), Datum::Int(I(r[3])), Datum::Int(I(r[4]))});
  }
  std::sort(result.rows.begin(), result.rows.end(),
            [](const Row& a, const Row& b) { return format::CompareRows(a, b) < 0; });
  return result;
}

}  // namespace kl::pipeline
