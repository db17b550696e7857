// The warehouse's SQL creates the tables pipeline/warehouse/warehouse.cc defines — the
// same columns, types, keys, partitions and options — so a warehouse written
// by the hand-wired jobs and one written by the SQL are one and the same, and
// the SQL jobs resume where hand-wired ones stopped (same job names).
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace kl::sql
