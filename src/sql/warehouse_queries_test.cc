// `kubelake query audit|topology|trend` are SQL now: the hand-written C++ they
// replaced (pipeline/warehouse/queries.h, still serving the HTTP API) and the SQL must
// answer alike on the same warehouse, for every variant of each question.
#include "sql/warehouse_queries.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "common/clock.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "pipeline/warehouse/queries.h"
#include "table/data/binary_row.h"
#include "table/table.h"

namespace kl::sql {
namespace {

using format::DataType;
using format::Datum;
using format::Row;
using format::RowType;
using pipeline::kAdsKindCountTable;
using pipeline::kAdsNamespaceCountTable;
using pipeline::kClusterDimTable;
using pipeline::kDwdTable;
using pipeline::kTopologyTable;
using pipeline::kTrendKindCountTable;
using pipeline::kTrendUserResourcesTable;
using pipeline::WarehouseOptions;

// ---- the test ----

Datum S(Random* r, std::vector<std::string> choices, bool maybe_null = true) {
  if (maybe_null && r->OneIn(8)) return Datum();
  return Datum::Bytes(choices[r->Uniform(choices.size())]);
}

Status Fill(const WarehouseOptions& o, uint64_t seed, int64_t now, int64_t commit = 1) {
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
    return w->Commit(commit).status();
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
      s = w->WriteRow({Datum::Bytes(clusters[i]), S(&r, {"id1", "id2"}), S(&r, {"r1"}), S(&r, regions),
                       S(&r, {"z1", ""}), S(&r, regions), S(&r, {"nz1", "nz2"})});
    }
  }));
  KL_RETURN_IF_ERROR(write(kTopologyTable, [&](table::TableWriter* w) {
    for (int i = 0; i < 60; ++i) {
      s = w->WriteRow({Datum::Bytes(users[r.Uniform(users.size())]), Datum::Bytes(clusters[r.Uniform(clusters.size())]),
                       Datum::Bytes("pod-uid-" + std::to_string(i)), S(&r, {"i1", "i2"}), S(&r, nss),
                       Datum::Bytes("pod-" + std::to_string(r.Uniform(10))), S(&r, nodes),
                       S(&r, {"Running", "Pending"}), r.OneIn(6) ? Datum() : Datum::Int(r.Range(0, 4000)),
                       Datum::Int(r.Range(0, 1 << 20)), S(&r, regions), S(&r, {"z1", "z2"}), Datum::Int(now)});
    }
  }));
  std::vector<Row> live_nodes;  // dim_node: the live ones of DWD's nodes
  KL_RETURN_IF_ERROR(write(kDwdTable, [&](table::TableWriter* w) {
    // Node rows of DWD (the reference's topology reads them), some deleted, some without a zone.
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
        if (row[type.IndexOf("deleted")].as_int() == 0) {
          live_nodes.push_back({row[type.IndexOf("cluster")], row[type.IndexOf("name")], row[type.IndexOf("uid")],
                                Datum(), row[type.IndexOf("topology_zone")], Datum::Bool(false)});
        }
        s = w->WriteRow(row);
      }
    }
  }));
  KL_RETURN_IF_ERROR(write(pipeline::kNodeDimTable, [&](table::TableWriter* w) {
    for (const Row& n : live_nodes) s = w->WriteRow(n);
  }));
  KL_RETURN_IF_ERROR(write(kTrendKindCountTable, [&](table::TableWriter* w) {
    for (int m = 0; m < 40; ++m) {
      for (const auto& c : clusters) {
        s = w->WriteRow(
            {Datum::Int(now - m * 60000 - 30000), Datum::Bytes(c), S(&r, kinds), Datum::Int(r.Range(0, 99))});
      }
    }
  }));
  KL_RETURN_IF_ERROR(write(kTrendUserResourcesTable, [&](table::TableWriter* w) {
    for (int m = 0; m < 40; ++m) {
      s = w->WriteRow({Datum::Int(now - m * 60000 - 30000), S(&r, users), S(&r, clusters), Datum::Int(r.Range(0, 9)),
                       Datum::Int(r.Range(0, 900)), Datum::Int(r.Range(0, 1 << 30))});
    }
  }));
  return s;
}

template <typename R>
std::string Text(const R& r) {
  std::string out;
  for (const auto& f : r.columns.fields()) out += f.name + ":" + f.type.ToString() + " ";
  out += "\n";
  for (const auto& row : r.rows) {
    for (size_t i = 0; i < row.size(); ++i)
      out += format::DatumToString(row[i], r.columns.type(i)) + (row[i].is_null() ? "<null>" : "") + "|";
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
        auto want = pipeline::QueryAudit(o_, {by_ns, cluster, kind});
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
  std::vector<TopologyQuery> queries = {
      {"u1", "", ""}, {"u2", "", ""},    {"nobody", "", ""},    {"", "c1", "n1"},
      {"", "", "n2"}, {"", "c'4", "n3"}, {"", "c2", "missing"}, {"u3", "", "", now_ + 60000}};
  for (const auto& q : queries) {
    pipeline::TopologyQuery pq;
    pq.user_id = q.user_id;
    pq.cluster = q.cluster;
    pq.node = q.node;
    pq.as_of_ms = q.as_of_ms;
    auto want = pipeline::QueryTopology(o_, pq);
    auto got = QueryTopology(o_, q);
    ASSERT_TRUE(want.ok()) << want.status().ToString();
    ASSERT_TRUE(got.ok()) << got.status().ToString() << "\n" << TopologySql(o_, q);
    EXPECT_EQ(Text(*got), Text(*want)) << TopologySql(o_, q);
    compared += want->rows.empty() ? 0 : 1;
  }
  EXPECT_GT(compared, 3);
  EXPECT_FALSE(sql::QueryTopology(o_, TopologyQuery{"u1", "c1", "n1"}).ok());
  EXPECT_FALSE(sql::QueryTopology(o_, TopologyQuery{}).ok());
}

// Look-ups on kept sessions (a prepared statement, its plan and join table reused) answer
// as QueryTopology does: for many users, from several threads at once, after commits to
// every table (the topology and the node dimension included), and for the questions and
// errors they hand to QueryTopology.
TEST_F(WarehouseQueriesTest, KeptTopologyLookupsAnswerAsFreshOnes) {
  TopologyLookups lookups(o_);
  std::map<int, std::string> answers;  // round -> every answer's text
  auto check = [&](int round) {
    int answered = 0;
    for (int u = 0; u < 12; ++u) {
      TopologyQuery q;
      q.user_id = u == 11 ? "nobody" : "u" + std::to_string(u);
      auto want = QueryTopology(o_, q);
      auto got = lookups.Query(q);
      ASSERT_TRUE(want.ok()) << want.status().ToString();
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(Text(*got), Text(*want)) << "round " << round << " user " << q.user_id;
      answers[round] += Text(*got);
      answered += want->rows.empty() ? 0 : 1;
    }
    EXPECT_GE(answered, 3);
  };
  check(0);
  check(1);
  // Commits to every table (upserts and new rows of another seed), then the same users.
  ASSERT_TRUE(Fill(o_, 43, now_, 2).ok());
  check(2);
  check(3);
  EXPECT_EQ(answers[0], answers[1]);
  EXPECT_NE(answers[1], answers[2]);  // the commits changed some answer, seen at once
  // Four threads at once, each comparing with a fresh answer.
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0}, failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        TopologyQuery q;
        q.user_id = "u" + std::to_string((t * 7 + i) % 12);
        auto want = QueryTopology(o_, q);
        auto got = lookups.Query(q);
        if (!want.ok() || !got.ok()) {
          ++failures;
        } else if (Text(*got) != Text(*want)) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  // By node, as of a time, and a question that is neither: QueryTopology's answers and errors.
  TopologyQuery by_node{"", "c1", "n1"};
  EXPECT_EQ(Text(*lookups.Query(by_node)), Text(*QueryTopology(o_, by_node)));
  EXPECT_FALSE(lookups.Query(TopologyQuery{}).ok());
  EXPECT_FALSE(lookups.Query(TopologyQuery{"u1", "c1", "n1"}).ok());
  // A directory without a warehouse: QueryTopology's error.
  WarehouseOptions missing;
  missing.warehouse = dir_.Sub("none");
  TopologyLookups none(missing);
  auto r = none.Query(TopologyQuery{"u1", "", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ToString(), QueryTopology(missing, TopologyQuery{"u1", "", ""}).status().ToString());
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
          // Rows sit 30 s away from minute boundaries: the reference takes its own clock.
          pipeline::TrendQuery pq;
          pq.minutes = minutes;
          pq.cluster = cluster;
          pq.kind = kind;
          pq.user_id = user;
          auto want = pipeline::QueryTrend(o_, pq);
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
