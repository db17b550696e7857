// Cross-checks with an independent implementation (hyparquet and hyparquet-writer,
// JavaScript, from npm, installed into the build directory on first run):
//  * files kubelake writes, read by hyparquet: every type kubelake writes, nulls at every
//    level, every codec, page v1 and v2, every value encoding;
//  * files hyparquet-writer writes (DELTA_*, BYTE_STREAM_SPLIT, RLE booleans, dictionary,
//    page v2, page index), read by kubelake.
// Skips when node/npm or the registry are unavailable.
#include "format/parquet/parquet.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "common/json.h"
#include "common/testing/test_util.h"
#include "format/parquet/parquet_test_util.h"

namespace kl::format::parquet {
namespace {

std::string Hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out = "hex:";
  for (char c : bytes) {
    out.push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(kDigits[static_cast<uint8_t>(c) & 15]);
  }
  return out;
}

std::string Int128Text(Int128 v) { return FormatDecimal(v, 0); }

// The value as hyparquet presents it (with the parsers of hyparquet_read.mjs).
JsonValue Expected(const Datum& d, const DataType& t) {
  if (d.is_null()) return JsonValue();
  switch (t.root()) {
    case TypeRoot::kBoolean: return JsonValue::Bool(d.as_int() != 0);
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kDate:
    case TypeRoot::kTime: return JsonValue::Int(d.as_int());
    case TypeRoot::kBigInt: return JsonValue::String(std::to_string(d.as_int()));
    case TypeRoot::kFloat:
    case TypeRoot::kDouble: {
      double v = d.as_double();
      if (std::isnan(v)) return JsonValue::String("NaN");
      if (std::isinf(v)) return JsonValue::String(v > 0 ? "Infinity" : "-Infinity");
      return JsonValue::Double(v);
    }
    case TypeRoot::kDecimal: return JsonValue::Double(static_cast<double>(d.as_decimal()) * std::pow(10.0, -t.scale()));
    case TypeRoot::kChar:
    case TypeRoot::kVarChar: return JsonValue::String(d.as_bytes());
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: return JsonValue::String(Hex(d.as_bytes()));
    case TypeRoot::kTimestamp:
    case TypeRoot::kTimestampLtz: {
      Timestamp ts = d.as_timestamp();
      if (t.precision() <= 3) return JsonValue::String("ms:" + std::to_string(ts.millis));
      if (t.precision() <= 6) return JsonValue::String("us:" + std::to_string(ts.ToMicros()));
      return JsonValue::String("ns:" + Int128Text(static_cast<Int128>(ts.millis) * 1000000 + ts.nanos));
    }
    case TypeRoot::kArray: {
      std::vector<JsonValue> items;
      for (const auto& item : d.as_list()) items.push_back(Expected(item, t.element()));
      return JsonValue::Array(std::move(items));
    }
    case TypeRoot::kMap: {
      JsonValue::Members members;
      const auto& items = d.as_list();
      for (size_t i = 0; i + 1 < items.size(); i += 2) {
        JsonValue key = Expected(items[i], t.key());
        members.emplace_back(key.is_string() ? key.as_string() : std::to_string(key.as_int()),
                             Expected(items[i + 1], t.value()));
      }
      return JsonValue::Object(std::move(members));
    }
    case TypeRoot::kRow: {
      JsonValue::Members members;
      const auto& items = d.as_list();
      for (size_t i = 0; i < items.size(); ++i)
        members.emplace_back(t.fields()[i].name, Expected(items[i], t.fields()[i].type));
      return JsonValue::Object(std::move(members));
    }
    default: return JsonValue::String("unsupported");
  }
}

bool Same(const JsonValue& want, const JsonValue& got, std::string* why) {
  auto fail = [&] {
    *why = "expected " + want.ToJson() + ", hyparquet read " + got.ToJson();
    return false;
  };
  if (want.is_number() || got.is_number()) {
    if (!want.is_number() || !got.is_number()) return fail();
    double a = want.as_double(), b = got.as_double();
    if (a == b) return true;
    // DECIMAL arrives as a double computed in JavaScript; allow its rounding.
    return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b)) ? true : fail();
  }
  if (want.type() != got.type()) return fail();
  switch (want.type()) {
    case JsonValue::Type::kNull: return true;
    case JsonValue::Type::kBool: return want.as_bool() == got.as_bool() ? true : fail();
    case JsonValue::Type::kString: return want.as_string() == got.as_string() ? true : fail();
    case JsonValue::Type::kArray:
      if (want.items().size() != got.items().size()) return fail();
      for (size_t i = 0; i < want.items().size(); ++i) {
        if (!Same(want.items()[i], got.items()[i], why)) return false;
      }
      return true;
    case JsonValue::Type::kObject:
      if (want.members().size() != got.members().size()) return fail();
      for (const auto& [key, value] : want.members()) {
        const JsonValue* other = got.Find(key);
        if (other == nullptr || !Same(value, *other, why)) return other == nullptr ? fail() : false;
      }
      return true;
    default: return fail();
  }
}

// Installs hyparquet into the build directory once; returns its node_modules or "".
std::string EnsureHyparquet() {
  if (std::system("node --version > /dev/null 2>&1") != 0 || std::system("npm --version > /dev/null 2>&1") != 0) {
    return "";
  }
  std::string dir = JoinPath(kl::testing::BinaryDir(), "npm-hyparquet");
  std::string modules = JoinPath(dir, "node_modules");
  if (FileExists(JoinPath(modules, "hyparquet/package.json")) &&
      FileExists(JoinPath(modules, "hyparquet-compressors/package.json")) &&
      FileExists(JoinPath(modules, "hyparquet-writer/package.json"))) {
    return modules;
  }
  (void)CreateDirs(dir);
  std::string cmd =
      "npm install --prefix '" + dir +
      "' --no-audit --no-fund --no-save --loglevel=error hyparquet@1 hyparquet-compressors@1 hyparquet-writer > '" +
      dir + "/install.log' 2>&1";
  if (std::system(cmd.c_str()) != 0) return "";
  return FileExists(JoinPath(modules, "hyparquet/package.json")) ? modules : "";
}

RowType EveryType() {
  int id = 0;
  auto f = [&id](std::string name, DataType t) { return DataField{id++, std::move(name), std::move(t), ""}; };
  std::vector<DataField> fields = {
      f("b", DataType::Boolean()),
      f("t", DataType::TinyInt()),
      f("sm", DataType::SmallInt()),
      f("i", DataType::Int()),
      f("bi", DataType::BigInt()),
      f("f", DataType::Float()),
      f("d", DataType::Double()),
      f("dec9", DataType::Decimal(9, 2)),
      f("dec18", DataType::Decimal(18, 4)),
      f("dec38", DataType::Decimal(38, 10)),
      f("s", DataType::String()),
      f("bin", DataType::Bytes()),
      f("dt", DataType::Date()),
      f("tm", DataType::Time()),
      f("ts3", DataType::Timestamp(3)),
      f("ts6", DataType::Timestamp(6)),
      f("ts9", DataType::Timestamp(9)),
      f("ltz3", DataType::TimestampLtz(3)),
      f("ltz6", DataType::TimestampLtz(6)),
      f("nn", DataType::Int().NotNull()),
      f("arr", DataType::Array(DataType::Int())),
      f("arr2", DataType::Array(DataType::Array(DataType::String()))),
      f("m", DataType::Map(DataType::String().NotNull(), DataType::BigInt())),
  };
  DataField x = f("x", DataType::Double());
  DataField y = f("y", DataType::Array(DataType::String()));
  fields.push_back(f("mr", DataType::Map(DataType::Int().NotNull(), DataType::Row({x, y}))));
  DataField a = f("a", DataType::Int());
  DataField bb = f("bb", DataType::Array(DataType::String()));
  DataField dd = f("dd", DataType::String());
  DataField c = f("c", DataType::Row({dd}));
  fields.push_back(f("r", DataType::Row({a, bb, c})));
  return RowType(std::move(fields));
}

ColumnBatch EveryTypeBatch(const RowType& schema, size_t rows) {
  proptest::RandomData data(2024);
  ColumnBatch batch(schema);
  for (size_t r = 0; r < rows; ++r) {
    Row row;
    for (const auto& field : schema.fields()) {
      if (field.type.root() != TypeRoot::kMap) {
        row.push_back(data.Value(field.type));
        continue;
      }
      // JavaScript objects hold maps: keys must be distinct.
      if (data.rng().OneIn(6)) {
        row.emplace_back();
        continue;
      }
      DatumList items;
      size_t n = data.rng().Uniform(4);
      for (size_t k = 0; k < n; ++k) {
        items.push_back(field.type.key().root() == TypeRoot::kInt ? Datum::Int(static_cast<int64_t>(k * 7))
                                                                  : Datum::Bytes("key" + std::to_string(k)));
        items.push_back(data.Value(field.type.value()));
      }
      row.push_back(Datum::List(std::move(items)));
    }
    batch.AppendRow(row);
  }
  return batch;
}

TEST(ParquetHyparquetTest, IndependentReaderReadsEverythingKubelakeWrites) {
  std::string modules = EnsureHyparquet();
  if (modules.empty()) GTEST_SKIP() << "node/npm or the npm registry is unavailable; hyparquet not installed";
  std::string script = JoinPath(kl::testing::SourceDir(), "src/format/parquet/testdata/hyparquet_read.mjs");
  ASSERT_TRUE(FileExists(script)) << script;

  RowType schema = EveryType();
  ColumnBatch batch = EveryTypeBatch(schema, 300);
  kl::testing::TempDir dir;
  std::vector<std::string> files;
  std::string args;
  int n = 0;
  for (Codec codec :
       {Codec::kUncompressed, Codec::kSnappy, Codec::kGzip, Codec::kZstd, Codec::kLz4Raw, Codec::kLz4Hadoop}) {
    for (bool v2 : {false, true}) {
      for (ValueEncoding encoding : {ValueEncoding::kPlain, ValueEncoding::kDelta, ValueEncoding::kDeltaLength,
                                     ValueEncoding::kByteStreamSplit}) {
        ParquetWriterOptions options;
        options.codec = codec;
        options.data_page_v2 = v2;
        options.encoding = encoding;
        options.dictionary = encoding == ValueEncoding::kPlain;
        options.page_rows = 64;
        options.row_group_bytes = 48 * 1024;
        std::string path = dir.Sub("f" + std::to_string(n++) + "-" + CodecName(codec) + (v2 ? "-v2" : "-v1") + "-" +
                                   std::to_string(static_cast<int>(encoding)) + ".parquet");
        KL_ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::Open(path, schema, options));
        KL_ASSERT_OK(writer->Write(batch));
        KL_ASSERT_OK(writer->Close().status());
        files.push_back(path);
        args += " '" + path + "'";
      }
    }
  }
  std::string out = dir.Sub("hyparquet.json");
  std::string cmd = "node '" + script + "' '" + modules + "'" + args + " > '" + out + "' 2> '" + out + ".err'";
  int rc = std::system(cmd.c_str());
  auto err = ReadFile(out + ".err");
  ASSERT_EQ(rc, 0) << "node failed: " << (err.ok() ? *err : "");
  KL_ASSERT_OK_AND_ASSIGN(std::string text, ReadFile(out));
  KL_ASSERT_OK_AND_ASSIGN(JsonValue json, ParseJson(text, "hyparquet output"));
  for (const auto& path : files) {
    const JsonValue* rows = json.Find(path);
    ASSERT_NE(rows, nullptr) << path;
    ASSERT_EQ(rows->items().size(), batch.num_rows()) << path;
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      const JsonValue& row = rows->items()[r];
      for (size_t c = 0; c < schema.size(); ++c) {
        const JsonValue* got = row.Find(schema.field(c).name);
        ASSERT_NE(got, nullptr) << path << " row " << r << " lacks " << schema.field(c).name;
        std::string why;
        ASSERT_TRUE(Same(Expected(batch.column(c).Get(r), schema.type(c)), *got, &why))
            << BaseName(path) << " row " << r << " column " << schema.field(c).name << " (" << schema.type(c).ToString()
            << "): " << why;
      }
    }
  }
}

// True when `d` (read by kubelake) equals the JSON value hyparquet_write.mjs recorded.
bool SameAsJs(const JsonValue& want, const Datum& d, const DataType& type) {
  if (want.is_null() || d.is_null()) return want.is_null() && d.is_null();
  switch (type.root()) {
    case TypeRoot::kBoolean: return want.is_bool() && d.as_int() == want.as_bool();
    case TypeRoot::kInt: return want.is_int() && d.as_int() == want.as_int();
    case TypeRoot::kBigInt: return want.is_string() && std::to_string(d.as_int()) == want.as_string();
    case TypeRoot::kFloat:
    case TypeRoot::kDouble: return want.is_number() && d.as_double() == want.as_double();
    case TypeRoot::kVarChar: return want.is_string() && d.as_bytes() == want.as_string();
    default: return false;
  }
}

TEST(ParquetHyparquetTest, FilesFromAnIndependentWriterDecodeExactly) {
  std::string modules = EnsureHyparquet();
  if (modules.empty()) GTEST_SKIP() << "node/npm or the npm registry is unavailable; hyparquet-writer not installed";
  std::string script = JoinPath(kl::testing::SourceDir(), "src/format/parquet/testdata/hyparquet_write.mjs");
  kl::testing::TempDir dir;
  std::string cmd = "node '" + script + "' '" + modules + "' '" + dir.path() + "' > '" + dir.Sub("err") + "' 2>&1";
  int rc = std::system(cmd.c_str());
  auto err = ReadFile(dir.Sub("err"));
  ASSERT_EQ(rc, 0) << "node failed: " << (err.ok() ? *err : "");
  KL_ASSERT_OK_AND_ASSIGN(std::string text, ReadFile(dir.Sub("expected.json")));
  KL_ASSERT_OK_AND_ASSIGN(JsonValue expected, ParseJson(text, "expected.json"));
  for (const char* codec : {"SNAPPY", "UNCOMPRESSED"}) {
    std::string path = dir.Sub(std::string("hyparquet-writer-") + codec + ".parquet");
    KL_ASSERT_OK_AND_ASSIGN(auto reader, ParquetReader::Open(path));
    EXPECT_GT(reader->num_row_groups(), 1u);
    // The encodings asked for are really in the file.
    std::set<Encoding> used;
    for (const auto& group : reader->metadata().row_groups) {
      for (const auto& chunk : group.columns)
        used.insert(chunk.meta_data.encodings.begin(), chunk.meta_data.encodings.end());
    }
    for (Encoding e : {Encoding::kDeltaBinaryPacked, Encoding::kDeltaLengthByteArray, Encoding::kDeltaByteArray,
                       Encoding::kByteStreamSplit, Encoding::kRle, Encoding::kRleDictionary}) {
      EXPECT_TRUE(used.count(e)) << codec << " file lacks " << EncodingName(e);
    }
    KL_ASSERT_OK_AND_ASSIGN(ColumnBatch batch, reader->ReadAll());
    ASSERT_EQ(batch.num_rows(), 3000u);
    for (size_t c = 0; c < batch.num_columns(); ++c) {
      const std::string& name = batch.schema().field(c).name;
      const JsonValue* values = expected.Find(name);
      ASSERT_NE(values, nullptr) << name;
      for (size_t r = 0; r < batch.num_rows(); ++r) {
        ASSERT_TRUE(SameAsJs(values->items()[r], batch.column(c).Get(r), batch.schema().type(c)))
            << codec << " column " << name << " row " << r << ": expected " << values->items()[r].ToJson() << ", read "
            << DatumToString(batch.column(c).Get(r), batch.schema().type(c));
      }
    }
    // Page skipping with another writer's page index keeps every matching row.
    int i32 = reader->schema().IndexOf("i32"), plain = reader->schema().IndexOf("plain");
    ParquetReadOptions options;
    options.columns = {i32, plain};
    // `plain` is sorted (row * 3): pages outside [3000, 3600] can go.
    options.predicate = [plain](const StatsLookup& stats) {
      const ColumnStatistics* s = stats(plain);
      return s == nullptr || !s->has_min_max || (s->max.as_int() >= 3000 && s->min.as_int() <= 3600);
    };
    KL_ASSERT_OK_AND_ASSIGN(auto batches, reader->NewBatchReader(options));
    std::set<int64_t> kept;
    ColumnBatch part;
    while (true) {
      KL_ASSERT_OK_AND_ASSIGN(bool more, batches->Next(&part));
      if (!more) break;
      for (size_t r = 0; r < part.num_rows(); ++r) kept.insert(part.column(1).GetInt(r));
    }
    size_t matching = 0;
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      int64_t v = batch.column(static_cast<size_t>(plain)).GetInt(r);
      if (v < 3000 || v > 3600) continue;
      ++matching;
      EXPECT_TRUE(kept.count(batch.column(static_cast<size_t>(plain)).GetInt(r))) << "row " << r << " was skipped";
    }
    EXPECT_GT(matching, 0u);
    EXPECT_LT(kept.size(), batch.num_rows()) << "nothing was skipped";
  }
}

}  // namespace
}  // namespace kl::format::parquet
