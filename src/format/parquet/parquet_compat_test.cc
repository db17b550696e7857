// Reads the Parquet files Java Paimon (parquet-mr) wrote under
// ../shared/paimon-compat and checks decoded values against the expected JSON
// and the tables' READMEs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "common/json.h"
#include "common/testing/test_util.h"
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
    case TypeRoot::kDecimal:
      return FormatDecimal(d.as_decimal(), type.scale()) == expected.as_string() ? true : fail("decimal");
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
        if (!Matches(pair[0], items[2 * i], type.key(), why) ||
            !Matches(pair[1], items[2 * i + 1], type.value(), why)) {
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

// kubelake's Paimon -> Parquet schema mapping regenerates, element for element, the schema
// Java Paimon wrote: names, physical types, lengths, repetition, annotations and field ids.
TEST(ParquetCompatTest, WriterSchemaMatchesJavaPaimonForEveryFile) {
  KL_REQUIRE_SHARED("paimon-compat/tables", dir);
  int checked = 0;
  for (const auto& path : FindParquetFiles(dir)) {
    KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::Open(path));
    const FileMetaData& meta = reader->metadata();
    if (meta.created_by.rfind("parquet-mr", 0) != 0 || !reader->has_field_ids()) continue;
    // The read schema loses what Parquet cannot say (CHAR length, TIMESTAMP(0) vs (3)), but
    // none of that changes the Parquet elements.
    KL_ASSERT_OK_AND_ASSIGN(auto ours, ToParquetSchema(reader->schema()));
    ASSERT_EQ(ours.size(), meta.schema.size()) << path;
    for (size_t i = 1; i < ours.size(); ++i) {
      const SchemaElement& a = ours[i];
      const SchemaElement& b = meta.schema[i];
      std::string where = path + " element " + std::to_string(i) + " (" + b.name + ")";
      EXPECT_EQ(a.name, b.name) << where;
      EXPECT_EQ(a.type, b.type) << where;
      EXPECT_EQ(a.type_length, b.type_length) << where;
      EXPECT_EQ(a.repetition, b.repetition) << where;
      EXPECT_EQ(a.num_children, b.num_children) << where;
      EXPECT_EQ(a.field_id, b.field_id) << where;
      EXPECT_EQ(a.converted_type, b.converted_type) << where;
      EXPECT_EQ(a.logical.kind, b.logical.kind) << where;
    }
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

TEST(ParquetCompatTest, AppendTableDataFileMatchesExpectedJson) {
  KL_REQUIRE_SHARED("paimon-compat/expected/parquet/parquet_append_table", expected_dir);
  std::string table =
      testing::SharedDir() + "/paimon-compat/tables/parquet/parquet_append_table.db/parquet_append_table";
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
  std::string table =
      testing::SharedDir() + "/paimon-compat/tables/parquet/parquet_append_table.db/parquet_append_table";
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
  auto files =
      FindParquetFiles(testing::SharedDir() + "/paimon-compat/tables/parquet/append_complex_build_in_fieldid.db");
  ASSERT_EQ(files.size(), 1u);
  KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::Open(files[0]));
  EXPECT_TRUE(reader->has_field_ids());
  EXPECT_EQ(reader->schema().type(0).ToString(), "MAP<TINYINT NOT NULL, SMALLINT>");
  EXPECT_EQ(reader->schema().type(3).ToString(), "TIMESTAMP(9)");
  KL_ASSERT_OK_AND_ASSIGN(auto batch, reader->ReadAll());
  ExpectRows(batch, expected);
}

// A primary-key table with ROW<STRING, INT, ARRAY<INT>> and MAP<INT, INT> values: every row
// the merged read expects is stored, by name, in one of the table's data files as an add.
TEST(ParquetCompatTest, PrimaryKeyTableWithNestedTypes) {
  KL_REQUIRE_SHARED("paimon-compat/expected/parquet/pk_table_nested_type", expected_dir);
  JsonValue expected = LoadJson(expected_dir + "/batch_latest_read_shopId_dt_hr_col0_col1_col2.json");
  auto files = FindParquetFiles(testing::SharedDir() + "/paimon-compat/tables/parquet/pk_table_nested_type.db");
  ASSERT_EQ(files.size(), 4u);
  std::vector<std::string> names;
  for (const auto& c : expected.Find("columns")->items()) names.push_back(c.as_string());
  std::vector<std::pair<Row, RowType>> stored;  // projected rows of adds (+I / +U)
  for (const auto& path : files) {
    KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::Open(path));
    std::vector<int> projection;
    for (const auto& n : names) {
      int i = reader->schema().IndexOf(n);
      ASSERT_GE(i, 0) << path << " lacks " << n;
      projection.push_back(i);
    }
    int kind = reader->schema().IndexOf("_VALUE_KIND");
    int key = reader->schema().IndexOf("_KEY_shopId");
    ASSERT_GE(kind, 0);
    ASSERT_GE(key, 0);
    projection.push_back(kind);
    projection.push_back(key);
    KL_ASSERT_OK_AND_ASSIGN(auto batch, reader->ReadAll(projection));
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      Row row = batch.GetRow(r);
      EXPECT_EQ(row[names.size() + 1].as_int(), row[0].as_int()) << "key column differs from shopId";
      int64_t k = row[names.size()].as_int();
      row.resize(names.size());
      if (k == 0 || k == 2) stored.emplace_back(std::move(row), batch.schema());
    }
  }
  for (const auto& want : expected.Find("rows")->items()) {
    const auto& values = want.Find("values")->items();
    bool found = false;
    for (const auto& [row, schema] : stored) {
      bool all = true;
      for (size_t c = 0; c < values.size() && all; ++c) {
        std::string why;
        all = Matches(values[c], row[c], schema.type(c), &why);
      }
      found = found || all;
    }
    EXPECT_TRUE(found) << "no data file holds " << want.ToJson();
  }
}

// Every row a table scan expects is stored in one of the table's data files (for primary-key
// tables as an add), found by column name: this reads the files of tables written with and
// without field ids, across Paimon versions, partitions, buckets and merge engines.
TEST(ParquetCompatTest, ExpectedScanRowsAreStoredInTheDataFiles) {
  KL_REQUIRE_SHARED("paimon-compat/expected", expected_root);
  const char* kCases[] = {
      "parquet/append_09/batch_snapshot_5.json",
      "parquet/append_10/batch_snapshot_1.json",
      "parquet/pk_09/batch_snapshot_8_read_f0_f3_f1.json",
      "parquet/pk_table_scan_and_read_mor/batch_snapshot_2.json",
      "parquet/pk_table_scan_and_read_dv/batch_snapshot_6.json",
      "parquet/pk_dv_index_in_data_no_external/batch_latest.json",
      "parquet/append_with_multiple_ts_precision_and_timezone/batch_latest.json",
  };
  for (const char* name : kCases) {
    JsonValue expected = LoadJson(expected_root + "/" + name);
    std::string table = expected.GetStringOr("table", "");
    auto files =
        FindParquetFiles(testing::SharedDir() + "/paimon-compat/tables/" + table.substr(0, table.find('/', 8)));
    ASSERT_FALSE(files.empty()) << name;
    std::vector<std::string> names;
    for (const auto& c : expected.Find("columns")->items()) names.push_back(c.as_string());
    std::vector<std::pair<Row, RowType>> stored;
    for (const auto& path : files) {
      KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::Open(path));
      std::vector<int> projection;
      for (const auto& n : names) projection.push_back(reader->schema().IndexOf(n));
      if (std::find(projection.begin(), projection.end(), -1) != projection.end()) continue;
      int kind = reader->schema().IndexOf("_VALUE_KIND");
      if (kind >= 0) projection.push_back(kind);
      KL_ASSERT_OK_AND_ASSIGN(auto batch, reader->ReadAll(projection));
      for (size_t r = 0; r < batch.num_rows(); ++r) {
        Row row = batch.GetRow(r);
        if (kind >= 0) {
          int64_t k = row.back().as_int();
          row.pop_back();
          if (k != 0 && k != 2) continue;
        }
        stored.emplace_back(std::move(row), batch.schema());
      }
    }
    for (const auto& want : expected.Find("rows")->items()) {
      const auto& values = want.Find("values")->items();
      bool found = false;
      for (const auto& [row, schema] : stored) {
        bool all = true;
        for (size_t c = 0; c < values.size() && all; ++c) {
          std::string why;
          all = Matches(values[c], row[c], schema.type(c), &why);
        }
        found = found || all;
      }
      EXPECT_TRUE(found) << name << ": no data file holds " << want.ToJson();
    }
  }
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
