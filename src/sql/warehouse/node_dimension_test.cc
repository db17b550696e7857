// dim_node, the live nodes the topology look-up joins, kept by the hand-wired
// job (pipeline/warehouse/warehouse.cc) and by the warehouse's SQL alike: a node's zone
// change reaches the topology answer, a deleted node leaves dim_node, and a
// node recreated under its name keeps its row when the old object's deletion
// is only inferred (at a relist) after the new one appeared.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "common/clock.h"
#include "common/testing/test_util.h"
#include "log/event_log.h"
#include "pipeline/warehouse/warehouse.h"
#include "sql/warehouse/warehouse.h"
#include "sql/warehouse_queries.h"
#include "table/table.h"

namespace kl::sql {
namespace {

std::string NodeEvent(const std::string& type, const std::string& name, const std::string& uid, int64_t rv,
                      const std::string& zone, int64_t time_ms, const std::string& origin = "watch") {
  std::string labels = zone.empty() ? "{}" : R"({"topology.kubernetes.io/zone":")" + zone + R"("})";
  return R"({"type":")" + type + R"(","obj":{"apiVersion":"v1","kind":"Node","metadata":{"name":")" + name +
         R"(","uid":")" + uid + R"(","resourceVersion":")" + std::to_string(rv) + R"(","labels":)" + labels +
         R"(}},"group":"","version":"v1","kind":"Node","namespace":"","name":")" + name + R"(","resourceversion":")" +
         std::to_string(rv) + R"(","uid":")" + uid + R"(","watchname":"core/v1/nodes","watchsetuptimestamp":1,)" +
         R"("__time_milli__":)" + std::to_string(time_ms) + R"(,"origin":")" + origin + "\"" +
         (origin == "inferred" ? R"(,"inferred":true)" : "") + "}";
}

std::string PodEvent(const std::string& name, const std::string& node, int64_t rv, int64_t time_ms) {
  return R"({"type":"ADDED","obj":{"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
         R"(","namespace":"ns","uid":"uid-)" + name + R"(","resourceVersion":")" + std::to_string(rv) +
         R"(","labels":{"kubelake.io/user":"u1"}},"spec":{"nodeName":")" + node +
         R"("},"status":{"phase":"Running"}},"group":"","version":"v1","kind":"Pod","namespace":"ns","name":")" + name +
         R"(","resourceversion":")" + std::to_string(rv) + R"(","uid":"uid-)" + name +
         R"(","watchname":"core/v1/pods","watchsetuptimestamp":1,"__time_milli__":)" + std::to_string(time_ms) +
         R"(,"origin":"watch"})";
}

// (name, uid, zone) of dim_node's rows, sorted.
std::vector<std::string> NodeRows(const pipeline::WarehouseOptions& o) {
  auto t = table::Catalog(o.warehouse).GetTable(o.database, pipeline::kNodeDimTable);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return {};
  auto rows = (*t)->ReadAll();
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  if (!rows.ok()) return {};
  std::vector<std::string> out;
  const auto& type = (*t)->schema().fields;
  int cluster = type.IndexOf("cluster"), name = type.IndexOf("name"), uid = type.IndexOf("uid"),
      zone = type.IndexOf("zone");
  for (size_t i = 0; i < rows->size(); ++i) {
    format::Row r = rows->rows.GetRow(i);
    out.push_back(std::string(r[cluster].as_bytes()) + "/" + std::string(r[name].as_bytes()) + "/" +
                  std::string(r[uid].as_bytes()) + "/" +
                  (r[zone].is_null() ? std::string("<null>") : std::string(r[zone].as_bytes())));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// pod -> node_zone in the topology answer for user u1.
std::map<std::string, std::string> Zones(const pipeline::WarehouseOptions& o, int64_t as_of_ms = 0) {
  TopologyQuery q;
  q.user_id = "u1";
  q.as_of_ms = as_of_ms;
  auto r = QueryTopology(o, q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::map<std::string, std::string> out;
  if (!r.ok()) return out;
  int pod = r->columns.IndexOf("pod"), zone = r->columns.IndexOf("node_zone");
  for (const auto& row : r->rows) out[std::string(row[pod].as_bytes())] = std::string(row[zone].as_bytes());
  return out;
}

class NodeDimensionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NodeDimensionTest, FollowsNodesAndFeedsTheTopologyAnswer) {
  kl::testing::TempDir dir;
  auto log = log::OpenEventLog("dir:" + dir.Sub("log") + "?partitions=1&fsync=never");
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  pipeline::WarehouseOptions o;
  o.warehouse = dir.Sub("warehouse");
  o.commit_interval_ms = 0;
  o.follow_interval_ms = 0;
  o.ods = false;
  auto jobs =
      GetParam() == "sql" ? sql::BuildWarehouseJobs(log->get(), o) : pipeline::BuildWarehouseJobs(log->get(), o);
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  std::vector<pipeline::Job*> steps;  // dwd first, then its followers
  for (const std::string name : {"dwd", "dim-node", "topology"}) {
    for (auto& j : *jobs) {
      if (j->name() == name) steps.push_back(j.get());
    }
  }
  ASSERT_EQ(steps.size(), 3u);
  auto producer = (*log)->NewProducer();
  ASSERT_TRUE(producer.ok());
  int64_t time_ms = 1000;
  auto send = [&](const std::vector<std::string>& contents) {
    for (const auto& c : contents) {
      log::ProducerRecord r;
      r.key = "c1";
      r.value = c;
      KL_ASSERT_OK((*producer)->Send(r));
    }
    KL_ASSERT_OK((*producer)->Flush());
    for (pipeline::Job* j : steps) {
      ASSERT_TRUE(j->Step().ok()) << j->name();
      KL_ASSERT_OK(j->Checkpoint());
    }
  };

  send({NodeEvent("ADDED", "n1", "a", 10, "z1", time_ms += 10), NodeEvent("ADDED", "n2", "b", 11, "z1", time_ms += 10),
        NodeEvent("ADDED", "n3", "c", 12, "", time_ms += 10), PodEvent("p1", "n1", 13, time_ms += 10),
        PodEvent("p2", "n2", 14, time_ms += 10), PodEvent("p3", "n3", 15, time_ms += 10),
        PodEvent("p4", "n9", 16, time_ms += 10)});
  EXPECT_EQ(NodeRows(o), (std::vector<std::string>{"c1/n1/a/z1", "c1/n2/b/z1", "c1/n3/c/<null>"}));
  EXPECT_EQ(Zones(o), (std::map<std::string, std::string>{{"p1", "z1"}, {"p2", "z1"}, {"p3", ""}, {"p4", ""}}));
  int64_t before_changes = NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));

  // n1 moves to another zone: the answer follows.
  send({NodeEvent("MODIFIED", "n1", "a", 20, "z2", time_ms += 10)});
  EXPECT_EQ(NodeRows(o), (std::vector<std::string>{"c1/n1/a/z2", "c1/n2/b/z1", "c1/n3/c/<null>"}));
  EXPECT_EQ(Zones(o), (std::map<std::string, std::string>{{"p1", "z2"}, {"p2", "z1"}, {"p3", ""}, {"p4", ""}}));

  // n2 is deleted: it leaves dim_node and its pod's node has no zone.
  send({NodeEvent("DELETED", "n2", "b", 21, "z1", time_ms += 10)});
  EXPECT_EQ(NodeRows(o), (std::vector<std::string>{"c1/n1/a/z2", "c1/n3/c/<null>"}));
  EXPECT_EQ(Zones(o), (std::map<std::string, std::string>{{"p1", "z2"}, {"p2", ""}, {"p3", ""}, {"p4", ""}}));

  // n1 is recreated (new uid) while its old object's deletion was missed; the relist
  // infers that deletion after the new object came: the new node stays.
  send({NodeEvent("ADDED", "n1", "d", 30, "z3", time_ms += 10, "list")});
  send({NodeEvent("DELETED", "n1", "a", 31, "z2", time_ms += 10, "inferred")});
  EXPECT_EQ(NodeRows(o), (std::vector<std::string>{"c1/n1/d/z3", "c1/n3/c/<null>"}));
  EXPECT_EQ(Zones(o), (std::map<std::string, std::string>{{"p1", "z3"}, {"p2", ""}, {"p3", ""}, {"p4", ""}}));

  // Time travel reads dim_node as of the same time as the topology.
  EXPECT_EQ(Zones(o, before_changes),
            (std::map<std::string, std::string>{{"p1", "z1"}, {"p2", "z1"}, {"p3", ""}, {"p4", ""}}));
}

// As of a time before dim_node's first snapshot (a warehouse made before dim_node
// existed, or a dimension job that has not committed yet) the topology answers with the
// pods and an unknown (NULL) node zone; before the topology's own first snapshot it
// answers nothing, and never an error.
TEST(NodeDimensionTimeTravelTest, BeforeTheDimensionsFirstSnapshotZonesAreUnknown) {
  kl::testing::TempDir dir;
  auto log = log::OpenEventLog("dir:" + dir.Sub("log") + "?partitions=1&fsync=never");
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  pipeline::WarehouseOptions o;
  o.warehouse = dir.Sub("warehouse");
  o.commit_interval_ms = 0;
  o.follow_interval_ms = 0;
  o.ods = false;
  auto jobs = sql::BuildWarehouseJobs(log->get(), o);
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  auto job = [&](const std::string& name) -> pipeline::Job* {
    for (auto& j : *jobs) {
      if (j->name() == name) return j.get();
    }
    return nullptr;
  };
  ASSERT_TRUE(job("dwd") && job("topology") && job("dim-node"));
  auto producer = (*log)->NewProducer();
  ASSERT_TRUE(producer.ok());
  int64_t before_all = NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (const auto& c : {NodeEvent("ADDED", "n1", "a", 10, "z1", 1010), PodEvent("p1", "n1", 11, 1020)}) {
    log::ProducerRecord r;
    r.key = "c1";
    r.value = c;
    KL_ASSERT_OK((*producer)->Send(r));
  }
  KL_ASSERT_OK((*producer)->Flush());
  for (const char* name : {"dwd", "topology"}) {
    ASSERT_TRUE(job(name)->Step().ok()) << name;
    KL_ASSERT_OK(job(name)->Checkpoint());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  int64_t before_dimension = NowMillis();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(job("dim-node")->Step().ok());
  KL_ASSERT_OK(job("dim-node")->Checkpoint());

  TopologyQuery q;
  q.user_id = "u1";
  q.as_of_ms = before_dimension;
  auto r = QueryTopology(o, q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 1u);
  int pod = r->columns.IndexOf("pod"), zone = r->columns.IndexOf("node_zone"), node = r->columns.IndexOf("node");
  EXPECT_EQ(r->rows[0][pod].as_bytes(), "p1");
  EXPECT_EQ(r->rows[0][node].as_bytes(), "n1");
  EXPECT_TRUE(r->rows[0][zone].is_null());
  // Now the zone is known.
  EXPECT_EQ(Zones(o), (std::map<std::string, std::string>{{"p1", "z1"}}));
  // Before anything was committed: no pods, not an error.
  q.as_of_ms = before_all;
  auto empty = QueryTopology(o, q);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->rows.empty());
  EXPECT_EQ(empty->columns.names(), r->columns.names());
}

INSTANTIATE_TEST_SUITE_P(HandWiredAndSql, NodeDimensionTest, ::testing::Values("hand-wired", "sql"));

}  // namespace
}  // namespace kl::sql
