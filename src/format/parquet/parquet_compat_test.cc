// Reads the Parquet files Java Paimon (parquet-mr) wrote under
// ../shared/paimon-compat and checks decoded values against the expected JSON
// and the tables' READMEs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "common/json.h"
#include "common/test_util.h"
#include "format/parquet/parquet.h"

namespace kl::format::parquet {
namespace {

std::vector<std::string> FindParquetFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".parquet") out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Compares a decoded value with the expected JSON of the paimon-compat conventions
// (INDEX.md): floats to float precision, timestamps and decimals as text, MAP as pairs.
bool Matches(const JsonValue& expected, const Datum& d, const DataType& type, std::string* why) {
  auto fail = [&](const std::string& msg) {
    *why = msg + ": expected " + expected.ToJson() + ", got " + DatumToString(d, type);
    return false;
  };
  if (expected.is_null() || d.is_null()) return expected.is_null() == d.is_null() ? true : fail("null mismatch");
  switch (type.root()) {
    case TypeRoot::kBoolean: return d.as_int() == expected.as_bool() ? true : fail("boolean");
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt:
    case TypeRoot::kDate: return d.as_int() == expected.as_int() ? true : fail("integer");
    case TypeRoot::kFloat:
      return std::fabs(d.as_double() - expected.as_double()) <= 1e-6 * std::max(1.0, std::fabs(expected.as_double()))
                 ? true
                 : fail("float");
    case TypeRoot::kDouble: return d.as_double() == expected.as_double() ? true : fail("double");
    case TypeRoot::kDecimal: return FormatDecimal(d.as_decimal(), type.scale()) == expected.as_string() ? true : fail("decimal");
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: return d.as_bytes() == expected.as_string() ? true : fail("bytes");
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz: {
      auto ts = ParseTimestamp(expected.as_string());
      return ts.ok() && *ts == d.as_timestamp() ? true : fail("timestamp");
    }
    case TypeRoot::kArray: {
      const auto& items = d.as_list();
      if (items.size() != expected.items().size()) return fail("array length");
      for (size_t i = 0; i < items.size(); ++i) {
        if (!Matches(expected.items()[i], items[i], type.element(), why)) return false;
      }
      return true;
    }
    case TypeRoot::kMap: {
      const auto& items = d.as_list();
      if (items.size() != 2 * expected.items().size()) return fail("map size");
      for (size_t i = 0; i < expected.items().size(); ++i) {
        const auto& pair = expected.items()[i].items();
        if (!Matches(pair[0], items[2 * i], type.key(), why) || !Matches(pair[1], items[2 * i + 1], type.value(), why)) {
          return false;
        }
      }
      return true;
    }
    case TypeRoot::kRow: {
      const auto& items = d.as_list();
      if (items.size() != expected.items().size()) return fail("row arity");
      for (size_t i = 0; i < items.size(); ++i) {
        if (!Matches(expected.items()[i], items[i], type.fields()[i].type, why)) return false;
      }
      return true;
    }
    default: return fail("unexpected type");
  }
}

// Checks every row of `batch` against the expected JSON rows, in order.
void ExpectRows(const ColumnBatch& batch, const JsonValue& expected) {
  const auto& rows = expected.Find("rows")->items();
  ASSERT_EQ(batch.num_rows(), rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& values = rows[r].Find("values")->items();
    ASSERT_EQ(values.size(), batch.num_columns());
    for (size_t c = 0; c < values.size(); ++c) {
      std::string why;
      EXPECT_TRUE(Matches(values[c], batch.column(c).Get(r), batch.schema().type(c), &why))
          << "row " << r << " column " << batch.schema().field(c).name << ": " << why;
    }
  }
}

JsonValue LoadJson(const std::string& path) {
  auto text = ReadFile(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  auto json = ParseJson(text.ok() ? *text : "{}", path);
  EXPECT_TRUE(json.ok()) << json.status().ToString();
  return json.ok() ? *json : JsonValue();
}

TEST(ParquetCompatTest, DecodesEveryJavaWrittenFile) {
  KL_REQUIRE_SHARED("paimon-compat/tables", dir);
  auto files = FindParquetFiles(dir);
  ASSERT_GT(files.size(), 100u);
  int64_t rows = 0;
  for (const auto& path : files) {
    auto reader = ParquetReader::Open(path);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto batch = (*reader)->ReadAll();
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    EXPECT_EQ(static_cast<int64_t>(batch->num_rows()), (*reader)->num_rows()) << path;
    rows += (*reader)->num_rows();
  }
  EXPECT_GT(rows, 0);
}

TEST(ParquetCompatTest, AppendTableDataFileMatchesExpectedJson) {
  KL_REQUIRE_SHARED("paimon-compat/expected/parquet/parquet_append_table", expected_dir);
  std::string table = testing::SharedDir() + "/paimon-compat/tables/parquet/parquet_append_table.db/parquet_append_table";
  JsonValue expected = LoadJson(expected_dir + "/data_file_snapshot1_file0_all_columns.json");
  std::string file = table + "/" + expected.Find("scan")->GetStringOr("file", "");
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::Open(file));
  EXPECT_TRUE(reader->has_field_ids());
  const RowType& schema = reader->schema();
  ASSERT_EQ(schema.size(), 13u);
  // Paimon's types come back from the Parquet annotations.
  EXPECT_EQ(schema.type(1).ToString(), "TINYINT");
  EXPECT_EQ(schema.type(2).ToString(), "SMALLINT");
  EXPECT_EQ(schema.type(7).ToString(), "STRING");
  EXPECT_EQ(schema.type(8).ToString(), "BYTES");
  EXPECT_EQ(schema.type(9).ToString(), "MAP<ARRAY<FLOAT> NOT NULL, ROW<`f0` BOOLEAN, `f1` BIGINT>>");
  EXPECT_EQ(schema.type(10).ToString(), "TIMESTAMP(9)");
  EXPECT_EQ(schema.type(11).ToString(), "DATE");
  EXPECT_EQ(schema.type(12).ToString(), "DECIMAL(2, 2)");
  // Ids as Paimon assigned them: f1..f10 are 0..9, the map value's row fields took 10 and 11.
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(schema.field(i).id, static_cast<int>(i));
  EXPECT_EQ(schema.field(10).id, 12);
  EXPECT_EQ(schema.field(12).id, 14);
  EXPECT_EQ(schema.type(9).value().fields()[1].id, 11);
  KL_ASSERT_OK_AND_ASSIGN(auto batch, reader->ReadAll());
  ExpectRows(batch, expected);

  // Footer statistics decode to kubelake values.
  const ColumnStatistics& f4 = reader->statistics(0, 3);
  ASSERT_TRUE(f4.has_min_max);
  EXPECT_EQ(f4.min.as_int(), 300001);
  EXPECT_EQ(f4.max.as_int(), 300006);
  const ColumnStatistics& f3 = reader->statistics(0, 2);
  EXPECT_TRUE(f3.has_null_count);
  EXPECT_EQ(f3.null_count, 1);
  const ColumnStatistics& f8 = reader->statistics(0, 7);
  ASSERT_TRUE(f8.has_min_max);
  EXPECT_EQ(f8.min.as_bytes(), "s31");
  EXPECT_EQ(f8.max.as_bytes(), "s36");
  const ColumnStatistics& f13 = reader->statistics(0, 12);
  ASSERT_TRUE(f13.has_min_max);
  EXPECT_EQ(FormatDecimal(f13.max.as_decimal(), 2), "0.96");
}

TEST(ParquetCompatTest, ProjectionReadsOnlyTheAskedColumnsInOrder) {
  KL_REQUIRE_SHARED("paimon-compat/expected/parquet/parquet_append_table", expected_dir);
  std::string table = testing::SharedDir() + "/paimon-compat/tables/parquet/parquet_append_table.db/parquet_append_table";
  JsonValue expected = LoadJson(expected_dir + "/data_file_snapshot1_file0_all_columns.json");
  KL_ASSERT_OK_AND_ASSIGN(auto reader,
                          ParquetReader::Open(table + "/" + expected.Find("scan")->GetStringOr("file", "")));
  KL_ASSERT_OK_AND_ASSIGN(auto batch, reader->ReadAll({12, 9, 0}));
  ASSERT_EQ(batch.num_columns(), 3u);
  EXPECT_EQ(batch.schema().field(0).name, "f13");
  EXPECT_EQ(batch.schema().field(1).name, "f10");
  const auto& rows = expected.Find("rows")->items();
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& values = rows[r].Find("values")->items();
    std::string why;
    EXPECT_TRUE(Matches(values[12], batch.column(0).Get(r), batch.schema().type(0), &why)) << why;
    EXPECT_TRUE(Matches(values[9], batch.column(1).Get(r), batch.schema().type(1), &why)) << why;
    EXPECT_TRUE(Matches(values[0], batch.column(2).Get(r), batch.schema().type(2), &why)) << why;
  }
}

TEST(ParquetCompatTest, NestedTypesWithBuiltInFieldIds) {
  KL_REQUIRE_SHARED("paimon-compat/expected/parquet/append_complex_build_in_fieldid", expected_dir);
  JsonValue expected = LoadJson(expected_dir + "/batch_snapshot_1.json");
  auto files = FindParquetFiles(testing::SharedDir() +
                                "/paimon-compat/tables/parquet/append_complex_build_in_fieldid.db");
  ASSERT_EQ(files.size(), 1u);
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::Open(files[0]));
  EXPECT_TRUE(reader->has_field_ids());
  EXPECT_EQ(reader->schema().type(0).ToString(), "MAP<TINYINT NOT NULL, SMALLINT>");
  EXPECT_EQ(reader->schema().type(3).ToString(), "TIMESTAMP(9)");
  KL_ASSERT_OK_AND_ASSIGN(auto batch, reader->ReadAll());
  ExpectRows(batch, expected);
}

TEST(ParquetCompatTest, TimestampsOfEveryPrecisionIncludingInt96) {
  KL_REQUIRE_SHARED("paimon-compat/expected/parquet/append_with_multiple_ts_precision_and_timezone", expected_dir);
  JsonValue expected = LoadJson(expected_dir + "/batch_latest.json");
  auto files = FindParquetFiles(testing::SharedDir() +
                                "/paimon-compat/tables/parquet/append_with_multiple_ts_precision_and_timezone.db");
  ASSERT_EQ(files.size(), 1u);
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::Open(files[0]));
  const RowType& schema = reader->schema();
  EXPECT_EQ(schema.type(1).ToString(), "TIMESTAMP(3)");
  EXPECT_EQ(schema.type(2).ToString(), "TIMESTAMP(6)");
  EXPECT_EQ(schema.type(3).ToString(), "TIMESTAMP(9)");  // INT96
  EXPECT_EQ(schema.type(5).ToString(), "TIMESTAMP(3) WITH LOCAL TIME ZONE");
  EXPECT_EQ(schema.type(6).ToString(), "TIMESTAMP(6) WITH LOCAL TIME ZONE");
  KL_ASSERT_OK_AND_ASSIGN(auto batch, reader->ReadAll());
  ExpectRows(batch, expected);
}

TEST(ParquetCompatTest, Paimon09FilesHaveNoFieldIdsAndMatchByName) {
  KL_REQUIRE_SHARED("paimon-compat/tables/parquet/pk_09.db", dir);
  auto files = FindParquetFiles(dir);
  ASSERT_FALSE(files.empty());
  for (const auto& path : files) {
    KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::Open(path));
    EXPECT_FALSE(reader->has_field_ids()) << path;
    const RowType& schema = reader->schema();
    // Primary-key layout: key columns, then _SEQUENCE_NUMBER and _VALUE_KIND, then values.
    EXPECT_GE(schema.IndexOf("_SEQUENCE_NUMBER"), 1) << path;
    EXPECT_EQ(schema.IndexOf("_VALUE_KIND"), schema.IndexOf("_SEQUENCE_NUMBER") + 1) << path;
    EXPECT_EQ(schema.field(0).name.rfind("_KEY_", 0), 0u) << path;
    KL_ASSERT_OK_AND_ASSIGN(auto batch, reader->ReadAll());
    int kind = schema.IndexOf("_VALUE_KIND");
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      int64_t v = batch.column(static_cast<size_t>(kind)).GetInt(r);
      EXPECT_TRUE(v >= 0 && v <= 3) << path << " row " << r;
    }
  }
}

}  // namespace
}  // namespace kl::format::parquet
