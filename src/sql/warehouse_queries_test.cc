// `kubelake query audit|topology|trend` are SQL now: the previous hand-written
// C++ (kept below as the reference) and the SQL must answer alike on the same
// warehouse, for every variant of each question.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/clock.h"
#include "common/random.h"
#include "common/test_util.h"
#include "sql/warehouse_queries.h"
#include "table/binary_row.h"
#include "table/table.h"

namespace kl::sql {
namespace {

using format::DataType;
using format::Datum;
using format::Row;
using format::RowType;
using pipeline::WarehouseOptions;
using pipeline::kAdsKindCountTable;
using pipeline::kAdsNamespaceCountTable;
using pipeline::kClusterDimTable;
using pipeline::kDwdTable;
using pipeline::kTopologyTable;
using pipeline::kTrendKindCountTable;
using pipeline::kTrendUserResourcesTable;

// ---- the previous implementation (reference model) ----
namespace {

Result<std::vector<Row>> ReadRows(const WarehouseOptions& o, const char* table_name,
                                  std::vector<std::string> projection = {}) {
  KL_ASSIGN_OR_RETURN(auto t, table::Catalog(o.warehouse).GetTable(o.database, table_name));
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

Result<QueryResult> OldAudit(const WarehouseOptions& o, const AuditQuery& q) {
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

Result<QueryResult> OldTopology(const WarehouseOptions& o, const TopologyQuery& q) {
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
  KL_ASSIGN_OR_RETURN(auto t, table::Catalog(o.warehouse).GetTable(o.database, kTopologyTable));
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
  KL_ASSIGN_OR_RETURN(auto dwd, table::Catalog(o.warehouse).GetTable(o.database, kDwdTable));
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

Result<QueryResult> OldTrend(const WarehouseOptions& o, const TrendQuery& q) {
  QueryResult result;
  int64_t since = q.now_millis - static_cast<int64_t>(q.minutes) * 60000;
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


// ---- the test ----

Datum S(Random* r, std::vector<std::string> choices, bool maybe_null = true) {
  if (maybe_null && r->OneIn(8)) return Datum();
  return Datum::Bytes(choices[r->Uniform(choices.size())]);
}

Status Fill(const WarehouseOptions& o, uint64_t seed, int64_t now) {
  table::Catalog catalog(o.warehouse);
  KL_RETURN_IF_ERROR(pipeline::CreateWarehouseTables(catalog, o));
  Random r(seed);
  std::vector<std::string> clusters = {"c1", "c2", "c3", "c'4"}, kinds = {"Pod", "Node", "Service"},
                           nss = {"default", "prod", "kube-system"}, users = {"u1", "u2", "u3"},
                           nodes = {"n1", "n2", "n3"}, regions = {"", "eu", "us"};
  auto write = [&](const char* name, const std::function<void(table::TableWriter*)>& rows) -> Status {
    KL_ASSIGN_OR_RETURN(auto t, catalog.GetTable(o.database, name));
    auto w = t->NewWriter("test");
    rows(w.get());
    return w->Commit(1).status();
  };
  Status s;
  KL_RETURN_IF_ERROR(write(kAdsKindCountTable, [&](table::TableWriter* w) {
    for (const auto& c : clusters) {
      for (const auto& k : kinds) {
        if (r.OneIn(4)) continue;
        s = w->WriteRow({Datum::Bytes(c), Datum::Bytes(k), r.OneIn(5) ? Datum::Int(0) : Datum::Int(r.Range(-1, 50))});
      }
    }
  }));
  KL_RETURN_IF_ERROR(write(kAdsNamespaceCountTable, [&](table::TableWriter* w) {
    for (const auto& c : clusters) {
      for (const auto& k : kinds) {
        for (const auto& n : nss) {
          if (r.OneIn(3)) continue;
          s = w->WriteRow({Datum::Bytes(c), Datum::Bytes(k), Datum::Bytes(n), Datum::Int(r.Range(0, 9))});
        }
      }
    }
  }));
  KL_RETURN_IF_ERROR(write(kClusterDimTable, [&](table::TableWriter* w) {
    for (size_t i = 0; i + 1 < clusters.size(); ++i) {  // the last cluster has no dimension row
      s = w->WriteRow({Datum::Bytes(clusters[i]), S(&r, {"id1", "id2"}), S(&r, {"r1"}), S(&r, regions), S(&r, {"z1", ""}),
                       S(&r, regions), S(&r, {"nz1", "nz2"})});
    }
  }));
  KL_RETURN_IF_ERROR(write(kTopologyTable, [&](table::TableWriter* w) {
    for (int i = 0; i < 60; ++i) {
      s = w->WriteRow({Datum::Bytes(users[r.Uniform(users.size())]), Datum::Bytes(clusters[r.Uniform(clusters.size())]),
                       Datum::Bytes("pod-uid-" + std::to_string(i)), S(&r, {"i1", "i2"}), S(&r, nss),
                       Datum::Bytes("pod-" + std::to_string(r.Uniform(10))), S(&r, nodes), S(&r, {"Running", "Pending"}),
                       r.OneIn(6) ? Datum() : Datum::Int(r.Range(0, 4000)), Datum::Int(r.Range(0, 1 << 20)),
                       S(&r, regions), S(&r, {"z1", "z2"}), Datum::Int(now)});
    }
  }));
  KL_RETURN_IF_ERROR(write(kDwdTable, [&](table::TableWriter* w) {
    // Node rows of DWD (the only ones topology reads), some deleted, some without a zone.
    auto dwd = catalog.GetTable(o.database, kDwdTable);
    if (!dwd.ok()) {
      s = dwd.status();
      return;
    }
    const RowType type = (*dwd)->schema().fields;
    int i = 0;
    for (const auto& c : clusters) {
      for (const auto& n : nodes) {
        Row row(type.size());
        row[type.IndexOf("cluster")] = Datum::Bytes(c);
        row[type.IndexOf("uid")] = Datum::Bytes("node-uid-" + std::to_string(i++));
        row[type.IndexOf("kind")] = Datum::Bytes("Node");
        row[type.IndexOf("name")] = Datum::Bytes(n);
        row[type.IndexOf("rv")] = Datum::Int(1);
        row[type.IndexOf("event_time")] = Datum::Int(1);
        row[type.IndexOf("deleted")] = r.OneIn(5) ? Datum::Bool(true) : Datum::Bool(false);
        row[type.IndexOf("topology_zone")] = r.OneIn(4) ? Datum() : Datum::Bytes("zone-" + n);
        s = w->WriteRow(row);
      }
    }
  }));
  KL_RETURN_IF_ERROR(write(kTrendKindCountTable, [&](table::TableWriter* w) {
    for (int m = 0; m < 40; ++m) {
      for (const auto& c : clusters) {
        s = w->WriteRow({Datum::Int(now - m * 60000 - 1234), Datum::Bytes(c), S(&r, kinds), Datum::Int(r.Range(0, 99))});
      }
    }
  }));
  KL_RETURN_IF_ERROR(write(kTrendUserResourcesTable, [&](table::TableWriter* w) {
    for (int m = 0; m < 40; ++m) {
      s = w->WriteRow({Datum::Int(now - m * 60000 - 99), S(&r, users), S(&r, clusters), Datum::Int(r.Range(0, 9)),
                       Datum::Int(r.Range(0, 900)), Datum::Int(r.Range(0, 1 << 30))});
    }
  }));
  return s;
}

std::string Text(const QueryResult& r) {
  std::string out;
  for (const auto& f : r.columns.fields()) out += f.name + ":" + f.type.ToString() + " ";
  out += "\n";
  for (const auto& row : r.rows) {
    for (size_t i = 0; i < row.size(); ++i) out += format::DatumToString(row[i], r.columns.type(i)) + (row[i].is_null() ? "<null>" : "") + "|";
    out += "\n";
  }
  return out;
}

class WarehouseQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    o_.warehouse = dir_.Sub("warehouse");
    now_ = NowMillis();
    ASSERT_TRUE(Fill(o_, 42, now_).ok());
  }
  kl::testing::TempDir dir_;
  WarehouseOptions o_;
  int64_t now_ = 0;
};

TEST_F(WarehouseQueriesTest, AuditMatchesTheHandWrittenQuery) {
  int compared = 0;
  for (bool by_ns : {false, true}) {
    for (std::string cluster : {"", "c1", "c'4", "none"}) {
      for (std::string kind : {"", "Pod", "Node"}) {
        AuditQuery q{by_ns, cluster, kind};
        auto want = OldAudit(o_, q);
        auto got = QueryAudit(o_, q);
        ASSERT_TRUE(want.ok()) << want.status().ToString();
        ASSERT_TRUE(got.ok()) << got.status().ToString() << "\n" << AuditSql(o_, q);
        EXPECT_EQ(Text(*got), Text(*want)) << AuditSql(o_, q);
        compared += want->rows.empty() ? 0 : 1;
      }
    }
  }
  EXPECT_GT(compared, 10);
}

TEST_F(WarehouseQueriesTest, TopologyMatchesTheHandWrittenQuery) {
  int compared = 0;
  std::vector<TopologyQuery> queries = {{"u1", "", ""}, {"u2", "", ""}, {"nobody", "", ""}, {"", "c1", "n1"},
                                        {"", "", "n2"}, {"", "c'4", "n3"}, {"", "c2", "missing"}};
  for (const auto& q : queries) {
    auto want = OldTopology(o_, q);
    auto got = QueryTopology(o_, q);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ASSERT_TRUE(got.ok()) << got.status().ToString() << "\n" << TopologySql(o_, q);
    EXPECT_EQ(Text(*got), Text(*want)) << TopologySql(o_, q);
    compared += want->rows.empty() ? 0 : 1;
  }
  EXPECT_GT(compared, 3);
  EXPECT_FALSE(QueryTopology(o_, {"u1", "c1", "n1"}).ok());
  EXPECT_FALSE(QueryTopology(o_, {}).ok());
}

TEST_F(WarehouseQueriesTest, TrendMatchesTheHandWrittenQuery) {
  int compared = 0;
  for (int minutes : {5, 15, 60}) {
    for (std::string cluster : {"", "c2"}) {
      for (std::string kind : {"Pod", ""}) {
        for (std::string user : {"", "u1"}) {
          TrendQuery q;
          q.minutes = minutes;
          q.cluster = cluster;
          q.kind = kind;
          q.user_id = user;
          q.now_millis = now_;
          auto want = OldTrend(o_, q);
          auto got = QueryTrend(o_, q);
          ASSERT_TRUE(want.ok()) << want.status().ToString();
          ASSERT_TRUE(got.ok()) << got.status().ToString() << "\n" << TrendSql(o_, q);
          EXPECT_EQ(Text(*got), Text(*want)) << TrendSql(o_, q);
          compared += want->rows.empty() ? 0 : 1;
        }
      }
    }
  }
  EXPECT_GT(compared, 10);
}

}  // namespace
}  // namespace kl::sql
