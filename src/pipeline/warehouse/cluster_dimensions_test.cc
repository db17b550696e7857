// Rows joined before their cluster's dimension was known must not keep NULLs: a
// cluster whose nodes (and so its region) arrive after its pods ends with every pod
// carrying the region in DWD, in the topology and in the per-region audit — also
// when the pipeline dies between the change and its commit, when DWD holds stale
// rows from before, and when users set the region in dim_cluster while no event
// comes.
#include "pipeline/warehouse/cluster_dimensions.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "common/testing/test_util.h"
#include "log/event_log.h"
#include "pipeline/warehouse/queries.h"
#include "pipeline/warehouse/warehouse.h"
#include "table/table.h"

namespace kl::pipeline {
namespace {

using format::Datum;
using format::Row;

std::string Envelope(const std::string& type, const std::string& kind, const std::string& ns, const std::string& name,
                     const std::string& uid, int64_t rv, const std::string& obj, int64_t time_ms) {
  std::string group_version = R"("group":"","version":"v1","kind":")" + kind + "\"";
  return R"({"type":")" + type + R"(","obj":)" + obj + "," + group_version + R"(,"namespace":")" + ns +
         R"(","name":")" + name + R"(","resourceversion":")" + std::to_string(rv) + R"(","uid":")" + uid +
         R"(","watchname":"w","watchsetuptimestamp":1,"__time_milli__":)" + std::to_string(time_ms) + "}";
}

std::string Pod(const std::string& name, int64_t rv, int64_t time_ms, const std::string& type = "ADDED") {
  std::string obj = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name + R"(","namespace":"ns","uid":")" +
                    name + R"(","resourceVersion":")" + std::to_string(rv) +
                    R"(","labels":{"kubelake.io/user":"u1","kubelake.io/instance":"i1"}},"spec":{"nodeName":"n1"},)"
                    R"("status":{"phase":"Running"}})";
  return Envelope(type, "Pod", "ns", name, name, rv, obj, time_ms);
}

std::string Node(const std::string& name, int64_t rv, int64_t time_ms, const std::string& region,
                 const std::string& zone) {
  std::string obj = R"({"apiVersion":"v1","kind":"Node","metadata":{"name":")" + name + R"(","uid":")" + name +
                    R"(","resourceVersion":")" + std::to_string(rv) +
                    R"(","labels":{"topology.kubernetes.io/region":")" + region +
                    R"(","topology.kubernetes.io/zone":")" + zone + R"("}},"spec":{}})";
  return Envelope("ADDED", "Node", "", name, name, rv, obj, time_ms);
}

class ClusterDimensionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = log::OpenEventLog("dir:" + dir_.Sub("log") + "?partitions=1&fsync=never");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
    o_.warehouse = dir_.Sub("warehouse");
    o_.commit_interval_ms = 0;
    o_.follow_interval_ms = 0;
    auto producer = log_->NewProducer();
    ASSERT_TRUE(producer.ok());
    producer_ = std::move(*producer);
    Start();
  }

  void Start() {
    auto jobs = BuildWarehouseJobs(log_.get(), o_);
    ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
    jobs_ = std::move(*jobs);
  }

  void Send(const std::string& cluster, const std::string& value) {
    log::ProducerRecord r;
    r.key = cluster;
    r.value = value;
    KL_ASSERT_OK(producer_->Send(r));
    KL_ASSERT_OK(producer_->Flush());
  }

  Job* Find(const std::string& name) {
    for (auto& j : jobs_) {
      if (j->name() == name) return j.get();
    }
    return nullptr;
  }

  // The jobs this test looks at read what is there and commit, in flow order (twice: the
  // dimension job follows DWD and DWD's next checkpoint may follow it).
  void CatchUp() {
    for (int round = 0; round < 2; ++round) {
      for (auto& j : jobs_) {
        if (j->name() != "dwd" && j->name() != "dim-from-nodes" && j->name() != "ads-kind-count" &&
            j->name() != "topology") {
          continue;
        }
        auto step = j->Step();
        ASSERT_TRUE(step.ok()) << j->name() << ": " << step.status().ToString();
        KL_ASSERT_OK(j->Checkpoint());
      }
    }
  }

  std::shared_ptr<table::Table> Table(const char* name) {
    auto t = table::Catalog(o_.warehouse).GetTable(o_.database, name);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return *t;
  }

  // name -> region of every pod row of DWD, of the topology, and cluster -> regions of the audit.
  std::map<std::string, std::string> Regions(const char* table, const char* name_column) {
    auto rows = Table(table)->ReadAll(std::nullopt, {name_column, "region", "kind"});
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::map<std::string, std::string> out;
    for (size_t i = 0; rows.ok() && i < rows->size(); ++i) {
      Row r = rows->rows.GetRow(i);
      if (!r[2].is_null() && r[2].as_bytes() != "Pod") continue;
      out[r[0].as_bytes()] = r[1].is_null() ? "NULL" : r[1].as_bytes();
    }
    return out;
  }
  std::map<std::string, std::string> TopologyRegions() {
    auto rows = Table(kTopologyTable)->ReadAll(std::nullopt, {"pod_name", "region"});
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::map<std::string, std::string> out;
    for (size_t i = 0; rows.ok() && i < rows->size(); ++i) {
      Row r = rows->rows.GetRow(i);
      out[r[0].as_bytes()] = r[1].is_null() ? "NULL" : r[1].as_bytes();
    }
    return out;
  }
  std::set<std::string> AuditRegions(const std::string& cluster) {
    auto audit = QueryAudit(o_, AuditQuery{});
    EXPECT_TRUE(audit.ok()) << audit.status().ToString();
    std::set<std::string> out;
    for (const auto& r : audit.ok() ? audit->rows : std::vector<Row>{}) {
      if (r[0].as_bytes() == cluster) out.insert(r[1].is_null() ? "NULL" : r[1].as_bytes());
    }
    return out;
  }

  void ExpectEveryPodIn(const std::string& region, int pods) {
    std::map<std::string, std::string> want;
    for (int i = 0; i < pods; ++i) want["p" + std::to_string(i)] = region;
    EXPECT_EQ(Regions(kDwdTable, "name"), want) << "DWD";
    EXPECT_EQ(TopologyRegions(), want) << "topology";
    EXPECT_EQ(AuditRegions("c1"), std::set<std::string>{region}) << "audit";
  }

  testing::TempDir dir_;
  std::unique_ptr<log::EventLog> log_;
  std::unique_ptr<log::Producer> producer_;
  WarehouseOptions o_;
  std::vector<std::unique_ptr<Job>> jobs_;
};

TEST_F(ClusterDimensionsTest, PodsBeforeNodesEndWithTheRegion) {
  for (int i = 0; i < 3; ++i) Send("c1", Pod("p" + std::to_string(i), 10 + i, 1000 + i));
  CatchUp();
  EXPECT_EQ(Regions(kDwdTable, "name"),
            (std::map<std::string, std::string>{{"p0", "NULL"}, {"p1", "NULL"}, {"p2", "NULL"}}));
  // The node (and with it the region) arrives later, in a later commit.
  Send("c1", Node("n1", 20, 2000, "eu-west-1", "eu-west-1b"));
  Send("c1", Pod("p3", 21, 2001));
  CatchUp();
  ExpectEveryPodIn("eu-west-1", 4);
  // The counts did not move: the re-emitted rows replace themselves (-1 +1).
  auto counts = Table(kAdsKindCountTable)->ReadAll();
  ASSERT_TRUE(counts.ok());
  std::map<std::string, int64_t> live;
  for (size_t i = 0; i < counts->size(); ++i) {
    Row r = counts->rows.GetRow(i);
    live[r[1].as_bytes()] = r[2].as_int();
  }
  EXPECT_EQ(live, (std::map<std::string, int64_t>{{"Node", 1}, {"Pod", 4}}));

  // A second node in a smaller zone: the cluster's zone follows (the smallest, stable);
  // a node of another region does not flip it back and forth.
  Send("c1", Node("n2", 30, 3000, "eu-west-1", "eu-west-1a"));
  CatchUp();
  auto zones = Table(kDwdTable)->ReadAll(std::nullopt, {"name", "zone"});
  ASSERT_TRUE(zones.ok());
  for (size_t i = 0; i < zones->size(); ++i) {
    EXPECT_EQ(zones->rows.GetRow(i)[1], Datum::Bytes("eu-west-1a"))
        << format::DatumDebugString(zones->rows.GetRow(i)[0]);
  }
}

TEST_F(ClusterDimensionsTest, ACrashBetweenTheChangeAndItsCommitIsRepairedOnReplay) {
  for (int i = 0; i < 3; ++i) Send("c1", Pod("p" + std::to_string(i), 10 + i, 1000 + i));
  CatchUp();
  Send("c1", Node("n1", 20, 2000, "eu-west-1", "eu-west-1b"));
  // DWD reads the node and re-emits the pods, but dies before its commit (no Checkpoint).
  ASSERT_TRUE(Find("dwd")->Step().ok());
  jobs_.clear();
  Start();
  CatchUp();
  ExpectEveryPodIn("eu-west-1", 3);
}

TEST_F(ClusterDimensionsTest, StaleRowsFromBeforeAreRepairedAtStart) {
  for (int i = 0; i < 3; ++i) Send("c1", Pod("p" + std::to_string(i), 10 + i, 1000 + i));
  Send("c1", Node("n1", 20, 2000, "eu-west-1", "eu-west-1b"));
  CatchUp();
  ExpectEveryPodIn("eu-west-1", 3);
  // Another writer (an older kubelake) left a pod row without its dimension.
  auto dwd = Table(kDwdTable);
  auto rows = dwd->ReadAll();
  ASSERT_TRUE(rows.ok());
  format::ColumnBatch batch(dwd->schema().fields);
  for (size_t i = 0; i < rows->size(); ++i) {
    Row r = rows->rows.GetRow(i);
    if (r[2].as_bytes() != "Pod") continue;
    for (size_t d = r.size() - 4; d < r.size(); ++d) r[d] = Datum();
    batch.AppendRow(r);
  }
  auto writer = dwd->NewWriter("older-writer");
  KL_ASSERT_OK(writer->Write(batch));
  ASSERT_TRUE(writer->Commit(1).ok());
  EXPECT_EQ(Regions(kDwdTable, "name").at("p0"), "NULL");
  jobs_.clear();
  Start();
  Send("c1", Pod("p3", 30, 3000));
  CatchUp();
  ExpectEveryPodIn("eu-west-1", 4);
}

TEST_F(ClusterDimensionsTest, ARegionSetInDimClusterReachesRowsWithoutNewEvents) {
  for (int i = 0; i < 2; ++i) Send("c1", Pod("p" + std::to_string(i), 10 + i, 1000 + i));
  Send("c1", Node("n1", 20, 2000, "eu-west-1", "eu-west-1b"));
  CatchUp();
  ExpectEveryPodIn("eu-west-1", 2);
  // Users name the region themselves; no event follows.
  auto dim = Table(kClusterDimTable);
  auto writer = dim->NewWriter("user");
  KL_ASSERT_OK(writer->WriteRow({Datum::Bytes("c1"), Datum::Bytes("id-1"), Datum::Bytes("r-1"),
                                 Datum::Bytes("europe-1"), Datum(), Datum(), Datum()}));
  ASSERT_TRUE(writer->Commit(1).ok());
  // The DWD job looks for a newer dim_cluster every 2 s.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  CatchUp();
  ExpectEveryPodIn("europe-1", 2);
}

// The operator gives the same rows, in the same order, whether it takes them one
// Change at a time or as column batches (as the SQL warehouse's DWD job hands them,
// the dimension columns included): re-emitted committed rows first, then the held
// ones with their cluster's dimension.
TEST_F(ClusterDimensionsTest, BatchesGiveWhatRowsGive) {
  for (int i = 0; i < 2; ++i) Send("c1", Pod("p" + std::to_string(i), 10 + i, 1000 + i));
  CatchUp();  // committed without a region: no node yet
  auto dwd = Table(kDwdTable);
  const format::RowType& target = dwd->schema().fields;
  std::vector<int> keep;
  for (size_t i = 0; i + 4 < target.size(); ++i) keep.push_back(static_cast<int>(i));
  format::RowType base = target.Project(keep);
  auto row = [&](const std::string& cluster, const std::string& kind, const std::string& uid, int64_t rv,
                 const std::string& region) {
    Row r(base.size());
    r[static_cast<size_t>(base.IndexOf("cluster"))] = Datum::Bytes(cluster);
    r[static_cast<size_t>(base.IndexOf("kind"))] = Datum::Bytes(kind);
    r[static_cast<size_t>(base.IndexOf("uid"))] = Datum::Bytes(uid);
    r[static_cast<size_t>(base.IndexOf("name"))] = Datum::Bytes(uid);
    r[static_cast<size_t>(base.IndexOf("rv"))] = Datum::Int(rv);
    r[static_cast<size_t>(base.IndexOf("deleted"))] = Datum::Bool(false);
    r[static_cast<size_t>(base.IndexOf("event_time"))] = Datum::Int(5000 + rv);
    if (!region.empty()) {
      r[static_cast<size_t>(base.IndexOf("topology_region"))] = Datum::Bytes(region);
      r[static_cast<size_t>(base.IndexOf("topology_zone"))] = Datum::Bytes(region + "a");
    }
    return r;
  };
  std::vector<Row> input = {row("c1", "Pod", "p2", 30, ""), row("c1", "Node", "n1", 31, "eu-west-1"),
                            row("c2", "Pod", "q0", 32, ""), row("c1", "Pod", "p3", 33, "")};
  ClusterDimensionSpec spec;
  spec.dimension = Table(kClusterDimTable);
  spec.target = dwd;

  auto by_rows = MakeClusterDimensions(base, spec);
  ASSERT_TRUE(by_rows.ok()) << by_rows.status().ToString();
  Changes rows_in;
  for (const Row& r : input) rows_in.push_back({format::RowKind::kInsert, r});
  Changes rows_out;
  KL_ASSERT_OK((*by_rows)->Process(rows_in, &rows_out));
  EXPECT_TRUE(rows_out.empty());  // held until the checkpoint
  KL_ASSERT_OK((*by_rows)->Finish(&rows_out));

  auto by_batches = MakeClusterDimensions(target, spec);
  ASSERT_TRUE(by_batches.ok()) << by_batches.status().ToString();
  EXPECT_TRUE((*by_batches)->takes_batches());
  ChangeBatch batch_in;
  Changes wide;  // the target's rows: their dimension columns are replaced
  for (const Row& r : input) {
    Row w = r;
    for (int d = 0; d < 4; ++d) w.push_back(Datum::Bytes("stale"));
    wide.push_back({format::RowKind::kInsert, std::move(w)});
  }
  AppendChangesToBatch(target, wide, &batch_in);
  ChangeBatch batch_out;
  KL_ASSERT_OK((*by_batches)->ProcessBatch(batch_in, &batch_out));
  EXPECT_TRUE(batch_out.empty());
  KL_ASSERT_OK((*by_batches)->FinishBatch(&batch_out));
  ASSERT_EQ(batch_out.rows.num_columns(), target.size());
  Changes batch_rows;
  AppendBatchToChanges(batch_out, &batch_rows);

  // p0 and p1 re-emitted with the region the node brought, then the four held rows.
  std::vector<std::string> want_order = {"p0", "p1", "p2", "n1", "q0", "p3"};
  const size_t uid = static_cast<size_t>(target.IndexOf("uid"));
  const size_t region = static_cast<size_t>(target.IndexOf("region"));
  ASSERT_EQ(rows_out.size(), want_order.size());
  ASSERT_EQ(batch_rows.size(), want_order.size());
  if (rows_out[0].row[uid].as_bytes() == "p1") std::swap(want_order[0], want_order[1]);  // as the table reads them
  for (size_t i = 0; i < want_order.size(); ++i) {
    EXPECT_EQ(rows_out[i].row[uid].as_bytes(), want_order[i]);
    EXPECT_EQ(batch_rows[i].kind, rows_out[i].kind);
    EXPECT_EQ(batch_rows[i].row, rows_out[i].row) << "row " << i << " (" << want_order[i] << ")";
    bool c2 = want_order[i] == "q0";
    EXPECT_EQ(batch_rows[i].row[region], c2 ? Datum() : Datum::Bytes("eu-west-1")) << want_order[i];
  }
}

// Batches held across a checkpoint go on as they came, each with its dimension columns:
// FinishBatches gives them in order, as FinishBatch gives them in one batch, and both
// give what the row path gives.
TEST_F(ClusterDimensionsTest, HeldBatchesGoOnAsTheyCame) {
  auto dwd = Table(kDwdTable);
  const format::RowType& target = dwd->schema().fields;
  auto row = [&](const std::string& cluster, const std::string& kind, const std::string& uid, int64_t rv,
                 const std::string& region) {
    Row r(target.size());
    r[static_cast<size_t>(target.IndexOf("cluster"))] = Datum::Bytes(cluster);
    r[static_cast<size_t>(target.IndexOf("kind"))] = Datum::Bytes(kind);
    r[static_cast<size_t>(target.IndexOf("uid"))] = Datum::Bytes(uid);
    r[static_cast<size_t>(target.IndexOf("name"))] = Datum::Bytes(uid);
    r[static_cast<size_t>(target.IndexOf("rv"))] = Datum::Int(rv);
    r[static_cast<size_t>(target.IndexOf("deleted"))] = Datum::Bool(false);
    r[static_cast<size_t>(target.IndexOf("event_time"))] = Datum::Int(5000 + rv);
    if (!region.empty()) {
      r[static_cast<size_t>(target.IndexOf("topology_region"))] = Datum::Bytes(region);
      r[static_cast<size_t>(target.IndexOf("topology_zone"))] = Datum::Bytes(region + "a");
    }
    return r;
  };
  // The node of c1 comes in the second batch: the first batch's c1 rows take its region too.
  std::vector<std::vector<Row>> inputs = {
      {row("c1", "Pod", "a0", 1, ""), row("c2", "Pod", "b0", 2, ""), row("c1", "Pod", "a1", 3, "")},
      {row("c1", "Node", "n1", 4, "eu-west-1"), row("c1", "Pod", "a2", 5, "")},
      {},
      {row("c2", "Pod", "b1", 6, ""), row("c3", "Node", "n3", 7, "us-east-1")}};
  ClusterDimensionSpec spec;
  spec.dimension = Table(kClusterDimTable);
  spec.target = dwd;
  auto feed = [&](Operator* op) {
    for (const auto& rows : inputs) {
      Changes changes;
      for (const Row& r : rows) changes.push_back({format::RowKind::kInsert, r});
      ChangeBatch in, out;
      AppendChangesToBatch(target, changes, &in);
      KL_ASSERT_OK(op->ProcessBatch(in, &out));
      EXPECT_TRUE(out.empty());
    }
  };
  auto by_rows = MakeClusterDimensions(target, spec);
  ASSERT_TRUE(by_rows.ok()) << by_rows.status().ToString();
  Changes rows_in, want;
  for (const auto& rows : inputs) {
    for (const Row& r : rows) rows_in.push_back({format::RowKind::kInsert, r});
  }
  KL_ASSERT_OK((*by_rows)->Process(rows_in, &want));
  KL_ASSERT_OK((*by_rows)->Finish(&want));
  ASSERT_EQ(want.size(), 7u);
  EXPECT_EQ(want[0].row[static_cast<size_t>(target.IndexOf("region"))], Datum::Bytes("eu-west-1"));

  auto as_batches = MakeClusterDimensions(target, spec);
  ASSERT_TRUE(as_batches.ok());
  feed(as_batches->get());
  std::vector<ChangeBatch> batches;
  KL_ASSERT_OK((*as_batches)->FinishBatches(&batches));
  EXPECT_EQ(batches.size(), 3u);  // the empty batch held nothing
  Changes got;
  for (const ChangeBatch& b : batches) {
    ASSERT_EQ(b.rows.num_columns(), target.size());
    ASSERT_EQ(b.rows.num_rows(), b.size());
    AppendBatchToChanges(b, &got);
  }
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i].row, want[i].row) << i;
  std::vector<ChangeBatch> none;
  KL_ASSERT_OK((*as_batches)->FinishBatches(&none));
  EXPECT_TRUE(none.empty());  // nothing held any more

  auto as_one = MakeClusterDimensions(target, spec);
  ASSERT_TRUE(as_one.ok());
  feed(as_one->get());
  ChangeBatch one;
  KL_ASSERT_OK((*as_one)->FinishBatch(&one));
  Changes got_one;
  AppendBatchToChanges(one, &got_one);
  ASSERT_EQ(got_one.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got_one[i].row, want[i].row) << i;
}

}  // namespace
}  // namespace kl::pipeline
