// The warehouse's SQL creates the tables pipeline/warehouse/warehouse.cc defines — the
// same columns, types, keys, partitions and options — so a warehouse written
// by the hand-wired jobs and one written by the SQL are one and the same, and
// the SQL jobs resume where hand-wired ones stopped (same job names).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/clock.h"
#include "common/testing/test_util.h"
#include "log/event_log.h"
#include "pipeline/warehouse/warehouse.h"
#include "sql/warehouse/warehouse.h"
#include "table/table.h"

namespace kl::sql {
namespace {

TEST(WarehouseSqlTest, CreatesTheTablesTheHandWiredJobsDefine) {
  kl::testing::TempDir dir;
  for (std::string format : {"avro", "parquet"}) {
    pipeline::WarehouseOptions hand, sql;
    hand.warehouse = dir.Sub("hand-" + format);
    sql.warehouse = dir.Sub("sql-" + format);
    hand.file_format = sql.file_format = format;
    if (format == "parquet") {  // the other spelling of the ADS tables' tag period, other retentions
      hand.ads_tag_period = sql.ads_tag_period = "10 min";
      hand.ads_tags_retained = sql.ads_tags_retained = 7;
      hand.snapshots_retained = sql.snapshots_retained = 15;
      hand.deleted_retention = sql.deleted_retention = "30 min";
    }
    KL_ASSERT_OK(pipeline::CreateWarehouseTables(table::Catalog(hand.warehouse), hand));
    auto log = log::OpenEventLog("dir:" + dir.Sub("log-" + format) + "?partitions=2&fsync=never");
    ASSERT_TRUE(log.ok());
    auto jobs = sql::BuildWarehouseJobs(log->get(), sql);
    ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
    std::vector<std::string> names;
    for (const auto& j : *jobs) names.push_back(j->name());
    EXPECT_EQ(names, (std::vector<std::string>{"ods", "dwd", "dim-from-nodes", "dim-node", "ads-kind-count",
                                               "ads-namespace-count", "ads-node-pods", "ads-user-resources", "topology",
                                               "trend-kind-count", "trend-user-resources"}));
    for (const char* name : pipeline::kWarehouseTables) {
      auto a = table::Catalog(hand.warehouse).GetTable(hand.database, name);
      auto b = table::Catalog(sql.warehouse).GetTable(sql.database, name);
      ASSERT_TRUE(a.ok() && b.ok()) << name;
      const auto& x = (*a)->schema();
      const auto& y = (*b)->schema();
      ASSERT_EQ(x.fields.size(), y.fields.size()) << name;
      for (size_t i = 0; i < x.fields.size(); ++i) {
        EXPECT_EQ(x.fields.field(i).id, y.fields.field(i).id) << name << "." << x.fields.field(i).name;
        EXPECT_EQ(x.fields.field(i).name, y.fields.field(i).name) << name;
        EXPECT_EQ(x.fields.type(i).ToString(), y.fields.type(i).ToString()) << name << "." << x.fields.field(i).name;
      }
      EXPECT_EQ(x.primary_keys, y.primary_keys) << name;
      EXPECT_EQ(x.partition_keys, y.partition_keys) << name;
      EXPECT_EQ(x.options, y.options) << name;
    }
    // The ADS tables keep a tag per period; the raw events few snapshots.
    auto ads = table::Catalog(sql.warehouse).GetTable(sql.database, pipeline::kAdsNamespaceCountTable);
    ASSERT_TRUE(ads.ok());
    const auto& o = (*ads)->schema().options;
    EXPECT_EQ(o.at("tag.automatic-creation"), "process-time");
    if (format == "avro") {
      EXPECT_EQ(o.at("tag.creation-period"), "daily");
      EXPECT_EQ(o.at("tag.num-retained-max"), "30");
    } else {
      EXPECT_EQ(o.at("tag.creation-period-duration"), "10 min");
      EXPECT_EQ(o.at("tag.num-retained-max"), "7");
    }
    auto ods = table::Catalog(sql.warehouse).GetTable(sql.database, pipeline::kOdsTable);
    ASSERT_TRUE(ods.ok());
    EXPECT_EQ((*ods)->schema().options.at("snapshot.num-retained.max"), format == "avro" ? "20" : "15");
    auto dwd = table::Catalog(sql.warehouse).GetTable(sql.database, pipeline::kDwdTable);
    ASSERT_TRUE(dwd.ok());
    EXPECT_EQ((*dwd)->schema().options.at("snapshot.num-retained.max"), format == "avro" ? "100" : "15");
    EXPECT_EQ((*dwd)->schema().options.count("tag.automatic-creation"), 0u);
    // Deleted objects' rows stay by default; with a retention they expire (Paimon's record-level
    // expiry on deleted_time).
    if (format == "avro") {
      EXPECT_EQ((*dwd)->schema().options.count("record-level.expire-time"), 0u);
      EXPECT_EQ((*dwd)->schema().options.count("record-level.time-field"), 0u);
    } else {
      EXPECT_EQ((*dwd)->schema().options.at("record-level.expire-time"), "30 min");
      EXPECT_EQ((*dwd)->schema().options.at("record-level.time-field"), "deleted_time");
    }
  }
}

TEST(WarehouseSqlTest, PlaceholdersAndWithoutRawEvents) {
  pipeline::WarehouseOptions o;
  o.ods = false;
  o.user_label = "team.example.com/owner";
  auto text = WarehouseSql(o, "dir:/var/lib/kubelake/log");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find("CREATE TABLE IF NOT EXISTS ods_events"), std::string::npos);
  EXPECT_EQ(text->find("INSERT INTO ods_events"), std::string::npos);
  // The opening comment names ods_events; the statement it belongs to stays.
  EXPECT_NE(text->find("CREATE DATABASE IF NOT EXISTS"), std::string::npos);
  EXPECT_EQ(text->find("${"), std::string::npos);
  EXPECT_NE(text->find("labels[''team.example.com/owner'']"), std::string::npos);
  EXPECT_NE(text->find("'uri' = 'dir:/var/lib/kubelake/log'"), std::string::npos);
  auto bad = WarehouseSql(o, "x", "SELECT ${nope}");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("${nope}"), std::string::npos);
}

// DWD as the SQL writes it (the Calc's columns handed to the table writer as column
// batches) holds the rows the hand-wired job writes (rows throughout), value for
// value, over enough events for several chunks on every thread: pods with labels,
// owners, requests and nodes, nodes with topology labels, modifications, deletions
// and events the filter drops.
TEST(WarehouseSqlTest, DwdRowsAreTheHandWiredJobsRows) {
  testing::TempDir dir;
  auto log = log::OpenEventLog("dir:" + dir.Sub("log") + "?partitions=2&fsync=never");
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto producer = (*log)->NewProducer();
  ASSERT_TRUE(producer.ok());
  auto send = [&](const std::string& cluster, const std::string& value) {
    log::ProducerRecord r;
    r.key = cluster;
    r.value = value;
    KL_ASSERT_OK((*producer)->Send(r));
  };
  auto envelope = [](const std::string& type, const std::string& kind, const std::string& ns, const std::string& name,
                     int64_t rv, const std::string& obj, int64_t time_ms) {
    return R"({"type":")" + type + R"(","obj":)" + obj + R"(,"group":"","version":"v1","kind":")" + kind +
           R"(","namespace":")" + ns + R"(","name":")" + name + R"(","resourceversion":")" + std::to_string(rv) +
           R"(","uid":")" + name + R"(","watchname":"w","watchsetuptimestamp":7,"origin":"watch","__time_milli__":)" +
           std::to_string(time_ms) + "}";
  };
  // Event times of today: a deleted object's row stays for the table's record-level expire time
  // after its deletion (rows of 1970 would be gone at the first commit).
  const int64_t t0 = NowMillis();
  for (int i = 0; i < 6000; ++i) {
    std::string cluster = i % 3 == 0 ? "c2" : "c1";
    std::string name = "p" + std::to_string(i);
    std::string requests =
        i % 5 == 0 ? R"({})" : R"({"cpu":"250m","memory":")" + std::to_string(64 + i % 7) + R"(Mi"})";
    std::string obj = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name + R"(","namespace":"ns)" +
                      std::to_string(i % 4) + R"(","uid":")" + name + R"(","creationTimestamp":"2026-03-05T10:00:0)" +
                      std::to_string(i % 10) + R"(Z","labels":{"kubelake.io/user":"u)" + std::to_string(i % 11) +
                      (i % 7 == 0 ? "" : R"(","kubelake.io/instance":"i)" + std::to_string(i % 13)) +
                      R"("},"ownerReferences":[{"kind":"ReplicaSet","name":"rs)" + std::to_string(i % 9) +
                      R"("}]},"spec":{"nodeName":"n)" + std::to_string(i % 5) +
                      R"(","containers":[{"name":"a","resources":{"requests":)" + requests +
                      R"(}},{"name":"b","resources":{"requests":{"cpu":"1"}}}]},"status":{"phase":")" +
                      (i % 2 ? "Running" : "Pending") + R"("}})";
    std::string type = i % 17 == 0 ? "DELETED" : i % 5 == 0 ? "MODIFIED" : "ADDED";
    send(cluster, envelope(type, "Pod", "ns" + std::to_string(i % 4), name, 100 + i, obj, t0 + i));
    if (i % 1000 == 0) {
      std::string node = "n" + std::to_string(i / 1000);
      std::string nobj = R"({"apiVersion":"v1","kind":"Node","metadata":{"name":")" + node + R"(","uid":")" + node +
                         R"(","labels":{"topology.kubernetes.io/region":"r)" + std::to_string(i % 2) +
                         R"(","topology.kubernetes.io/zone":"z"}},"spec":{"unschedulable":)" +
                         (i % 2000 == 0 ? "true" : "false") + "}}";
      send(cluster, envelope("ADDED", "Node", "", node, 50 + i, nobj, t0 - 100 + i));
      send(cluster, R"({"type":"BOOKMARK","uid":"x"})");
      send(cluster, "not json");
    }
  }
  KL_ASSERT_OK((*producer)->Flush());

  std::map<std::string, std::map<std::string, format::Row>> tables;  // warehouse -> key -> row
  for (bool hand : {true, false}) {
    pipeline::WarehouseOptions o;
    o.warehouse = dir.Sub(hand ? "hand" : "sql");
    o.commit_interval_ms = 0;
    o.follow_interval_ms = 0;
    auto jobs = hand ? pipeline::BuildWarehouseJobs(log->get(), o) : sql::BuildWarehouseJobs(log->get(), o);
    ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
    for (auto& j : *jobs) {
      if (j->name() != "dwd" && j->name() != "dim-from-nodes") continue;
      // Twice: the dimension job follows DWD, and DWD's next checkpoint takes it up.
      for (int round = 0; round < 3; ++round) {
        for (int step = 0; step < 10; ++step) ASSERT_TRUE(j->Step().ok()) << j->name();
        KL_ASSERT_OK(j->Checkpoint());
      }
    }
    auto dwd = table::Catalog(o.warehouse).GetTable(o.database, pipeline::kDwdTable);
    ASSERT_TRUE(dwd.ok()) << dwd.status().ToString();
    auto rows = (*dwd)->ReadAll();
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    auto& out = tables[o.warehouse];
    for (size_t i = 0; i < rows->size(); ++i) {
      format::Row r = rows->rows.GetRow(i);
      out[r[0].as_bytes() + "/" + r[1].as_bytes()] = std::move(r);
    }
  }
  const auto& hand = tables[dir.Sub("hand")];
  const auto& sql = tables[dir.Sub("sql")];
  EXPECT_EQ(hand.size(), 6006u);
  ASSERT_EQ(sql.size(), hand.size());
  auto names = (*table::Catalog(dir.Sub("sql")).GetTable("kubelake", pipeline::kDwdTable))->schema().fields.names();
  // What the rows hold, beyond agreeing: requests summed, regions from the nodes, deletions.
  const format::Row& p1 = sql.at("c1/p1");
  auto column = [&](const char* name) {
    return static_cast<size_t>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  EXPECT_EQ(p1[column("cpu_request_milli")], format::Datum::Int(1250));
  EXPECT_EQ(p1[column("memory_request_bytes")], format::Datum::Int(65LL << 20));
  EXPECT_EQ(p1[column("user_id")], format::Datum::Bytes("u1"));
  EXPECT_EQ(p1[column("owner_name")], format::Datum::Bytes("rs1"));
  EXPECT_EQ(p1[column("region")], format::Datum::Bytes("r0"));
  EXPECT_EQ(sql.at("c1/p17")[column("deleted")], format::Datum::Bool(true));
  EXPECT_EQ(sql.at("c2/p0")[column("unschedulable")], format::Datum::Bool(false));
  EXPECT_EQ(sql.at("c2/n0")[column("unschedulable")], format::Datum::Bool(true));
  for (const auto& [key, row] : hand) {
    auto it = sql.find(key);
    ASSERT_TRUE(it != sql.end()) << key;
    for (size_t c = 0; c < row.size(); ++c) {
      EXPECT_EQ(it->second[c], row[c]) << key << " column " << names[c];
    }
  }
}

}  // namespace
}  // namespace kl::sql
