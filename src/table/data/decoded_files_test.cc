// DecodedFiles: key ranges by binary search hold every row a key condition can
// accept (against a brute-force model), the cache decodes a file on its second
// read by key and drops it when the file changes or the budget is exceeded, and
// reads by key of a primary-key table answer the same with and without it.
#include "table/data/decoded_files.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/file/file_util.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "table/table.h"

namespace kl::table {
namespace {

using format::ColumnBatch;
using format::DataType;
using format::Datum;
using format::RowKind;
using format::RowType;

bool Matches(const PredicateLeaf& leaf, const ColumnBatch& chunk, size_t row, int column) {
  return LeafMatches(leaf, chunk.column(static_cast<size_t>(column)), row);
}

TEST(KeyRowRangesTest, HoldEveryMatchingRowAndNarrowByThePrefix) {
  Random rnd(42);
  RowType type({{0, "a", DataType::String().NotNull(), ""},
                {1, "b", DataType::BigInt().NotNull(), ""},
                {2, "c", DataType::String(), ""}});
  for (int round = 0; round < 200; ++round) {
    // Sorted, unique (a, b) keys over few distinct values, cut into chunks.
    std::set<std::pair<std::string, int64_t>> keys;
    int n = static_cast<int>(rnd.Uniform(300));
    for (int i = 0; i < n; ++i) {
      keys.insert({"k" + std::to_string(rnd.Uniform(8)), static_cast<int64_t>(rnd.Uniform(20)) - 5});
    }
    DecodedFile file;
    file.type = type;
    ColumnBatch chunk(type);
    size_t chunk_rows = 1 + rnd.Uniform(50);
    for (const auto& [a, b] : keys) {
      chunk.AppendRow({Datum::Bytes(a), Datum::Int(b), Datum::Bytes("v")});
      if (chunk.num_rows() == chunk_rows) {
        file.chunk_start.push_back(file.rows);
        file.rows += chunk.num_rows();
        file.chunks.push_back(std::move(chunk));
        chunk = ColumnBatch(type);
      }
    }
    if (chunk.num_rows() > 0 || file.chunks.empty()) {
      file.chunk_start.push_back(file.rows);
      file.rows += chunk.num_rows();
      file.chunks.push_back(std::move(chunk));
    }
    // Random conditions on a, b and the non-key c.
    std::vector<PredicateLeaf> leaves;
    std::vector<int> columns;
    const CompareOp ops[] = {CompareOp::kEq, CompareOp::kLt, CompareOp::kLe, CompareOp::kGt,
                             CompareOp::kGe, CompareOp::kNe, CompareOp::kIn};
    int count = static_cast<int>(rnd.Uniform(4));
    for (int l = 0; l < count; ++l) {
      int col = static_cast<int>(rnd.Uniform(3));
      auto value = [&] {
        return col == 1 ? Datum::Int(static_cast<int64_t>(rnd.Uniform(20)) - 5)
                        : Datum::Bytes((col == 0 ? "k" : "v") + std::to_string(rnd.Uniform(8)));
      };
      PredicateLeaf leaf;
      leaf.field = type.field(static_cast<size_t>(col)).name;
      leaf.op = ops[rnd.Uniform(7)];
      if (leaf.op == CompareOp::kIn) {
        std::vector<Datum> values;
        for (int v = static_cast<int>(rnd.Uniform(4)); v > 0; --v) values.push_back(value());
        leaf = InLeaf(leaf.field, values);
      } else {
        leaf.literal = value();
      }
      leaves.push_back(leaf);
      columns.push_back(col);
    }
    auto ranges = KeyRowRanges(file, {0, 1}, leaves, columns);
    std::vector<bool> covered(file.rows, false);
    size_t prev_end = 0;
    for (auto [b, e] : ranges) {
      ASSERT_LT(b, e);
      ASSERT_LE(e, file.rows);
      ASSERT_GE(b, prev_end) << "ranges overlap or are out of order";
      prev_end = e;
      for (size_t r = b; r < e; ++r) covered[r] = true;
    }
    bool eq_on_a = false;
    auto point = [](CompareOp op) { return op == CompareOp::kEq || op == CompareOp::kIn; };
    for (size_t l = 0; l < leaves.size(); ++l) eq_on_a = eq_on_a || (columns[l] == 0 && point(leaves[l].op));
    for (size_t r = 0; r < file.rows; ++r) {
      auto [c, i] = file.Locate(r);
      bool all = true, key_eqs = true;
      for (size_t l = 0; l < leaves.size(); ++l) {
        bool m = Matches(leaves[l], file.chunks[c], i, columns[l]);
        all = all && m;
        if (columns[l] == 0 && point(leaves[l].op)) key_eqs = key_eqs && m;
      }
      if (all) {
        EXPECT_TRUE(covered[r]) << "round " << round << " row " << r << " matches but lies outside";
      }
      // Equality (or IN) on the leading key column is exact: no row of another a is kept.
      if (eq_on_a && !key_eqs) {
        EXPECT_FALSE(covered[r]) << "round " << round << " row " << r;
      }
    }
  }
}

TEST(KeyRowRangesTest, KeyRowsNarrowToTheirKeysExactly) {
  Random rnd(9);
  RowType type({{0, "a", DataType::String().NotNull(), ""}, {1, "b", DataType::BigInt().NotNull(), ""}});
  for (int round = 0; round < 200; ++round) {
    std::set<std::pair<std::string, int64_t>> keys;
    for (int i = static_cast<int>(rnd.Uniform(300)); i > 0; --i) {
      keys.insert({"k" + std::to_string(rnd.Uniform(6)), static_cast<int64_t>(rnd.Uniform(30))});
    }
    DecodedFile file;
    file.type = type;
    ColumnBatch chunk(type);
    size_t chunk_rows = 1 + rnd.Uniform(40);
    auto flush = [&] {
      file.chunk_start.push_back(file.rows);
      file.rows += chunk.num_rows();
      file.chunks.push_back(std::move(chunk));
      chunk = ColumnBatch(type);
    };
    for (const auto& [a, b] : keys) {
      chunk.AppendRow({Datum::Bytes(a), Datum::Int(b)});
      if (chunk.num_rows() == chunk_rows) flush();
    }
    if (chunk.num_rows() > 0 || file.chunks.empty()) flush();
    // Key rows over (b, a) or just a, in random order with repeats.
    bool both = rnd.Uniform(2) == 0;
    std::set<std::pair<std::string, int64_t>> wanted;
    std::vector<format::Row> rows;
    for (int i = static_cast<int>(rnd.Uniform(12)); i > 0; --i) {
      std::string a = "k" + std::to_string(rnd.Uniform(7));
      int64_t b = static_cast<int64_t>(rnd.Uniform(32));
      wanted.insert({a, both ? b : -1});
      rows.push_back(both ? format::Row{Datum::Int(b), Datum::Bytes(a)} : format::Row{Datum::Bytes(a)});
    }
    if (rnd.Uniform(2) == 0) {
      // Or in key order, each once (as a join hands its keys down): read without sorting.
      auto key = [&](const format::Row& r) { return both ? format::Row{r[1], r[0]} : r; };
      std::sort(rows.begin(), rows.end(),
                [&](const format::Row& x, const format::Row& y) { return format::CompareRows(key(x), key(y)) < 0; });
      rows.erase(std::unique(rows.begin(), rows.end(),
                             [&](const format::Row& x, const format::Row& y) {
                               return format::CompareRows(key(x), key(y)) == 0;
                             }),
                 rows.end());
    }
    size_t prefix = 0;
    auto ranges = KeyRowsRanges(file, {0, 1}, both ? std::vector<int>{1, 0} : std::vector<int>{0}, rows, &prefix);
    if (file.rows > 0) {
      EXPECT_EQ(prefix, both ? 2u : 1u);
    }
    std::vector<bool> covered(file.rows, false);
    size_t prev_end = 0;
    for (auto [b, e] : ranges) {
      ASSERT_LT(b, e);
      ASSERT_GE(b, prev_end);
      ASSERT_LE(e, file.rows);
      prev_end = e;
      for (size_t r = b; r < e; ++r) covered[r] = true;
    }
    for (size_t r = 0; r < file.rows; ++r) {
      auto [c, i] = file.Locate(r);
      std::string a(file.chunks[c].column(0).GetBytes(i));
      int64_t b = both ? file.chunks[c].column(1).GetInt(i) : -1;
      EXPECT_EQ(covered[r], wanted.count({a, b}) == 1) << "round " << round << " row " << r;
    }
    // Intersecting with ranges of another condition keeps the rows both hold.
    std::vector<std::pair<size_t, size_t>> other = {{0, file.rows / 3}, {file.rows / 2, file.rows}};
    auto both_ranges = IntersectRanges(ranges, other);
    for (size_t r = 0; r < file.rows; ++r) {
      bool in_other = r < file.rows / 3 || r >= file.rows / 2;
      bool in = false;
      for (auto [b, e] : both_ranges) in = in || (r >= b && r < e);
      EXPECT_EQ(in, covered[r] && in_other) << r;
    }
  }
  // Rows that give no leading key column narrow nothing.
  DecodedFile file;
  file.type = type;
  ColumnBatch one(type);
  one.AppendRow({Datum::Bytes("a"), Datum::Int(1)});
  file.chunks.push_back(std::move(one));
  file.chunk_start = {0};
  file.rows = 1;
  size_t prefix = 9;
  auto all = KeyRowsRanges(file, {0, 1}, {1}, {{Datum::Int(5)}}, &prefix);
  EXPECT_EQ(prefix, 0u);
  EXPECT_EQ(all, (std::vector<std::pair<size_t, size_t>>{{0, 1}}));
}

std::shared_ptr<DecodedFile> SmallFile(size_t rows) {
  auto f = std::make_shared<DecodedFile>();
  f->type = RowType({{0, "k", DataType::BigInt().NotNull(), ""}});
  ColumnBatch chunk(f->type);
  for (size_t i = 0; i < rows; ++i) chunk.AppendRow({Datum::Int(static_cast<int64_t>(i))});
  f->chunk_start = {0};
  f->rows = rows;
  f->bytes = chunk.UsedBytes();
  f->chunks.push_back(std::move(chunk));
  return f;
}

TEST(DecodedFilesTest, DecodesOnTheSecondReadAndForgetsChangedFiles) {
  kl::testing::TempDir dir;
  std::string a = dir.Sub("a"), b = dir.Sub("b");
  KL_ASSERT_OK(WriteFile(a, "a"));
  KL_ASSERT_OK(WriteFile(b, "b"));
  DecodedFiles cache({});
  EXPECT_EQ(cache.Find(a), nullptr);
  EXPECT_FALSE(cache.ShouldDecode(a, 1000));  // first read: remembered only
  EXPECT_TRUE(cache.ShouldDecode(a, 1000));   // second: decode
  // Too large a share of the budget: never.
  EXPECT_FALSE(cache.ShouldDecode(b, cache.limits().max_bytes));
  EXPECT_FALSE(cache.ShouldDecode(b, cache.limits().max_bytes));
  auto file = SmallFile(10);
  cache.Put(a, file);
  EXPECT_EQ(cache.Find(a), file);
  EXPECT_EQ(cache.stats().files, 1u);
  // Rewritten (another size): not the old rows.
  KL_ASSERT_OK(WriteFile(a, "a longer content"));
  EXPECT_EQ(cache.Find(a), nullptr);
  EXPECT_EQ(cache.stats().files, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
  // The budget keeps the most recently used.
  DecodedFiles::Limits limits;
  limits.max_bytes = file->bytes * 8 + file->bytes / 2;
  cache.SetLimits(limits);
  std::vector<std::string> paths;
  for (int i = 0; i < 12; ++i) {
    paths.push_back(dir.Sub("f" + std::to_string(i)));
    KL_ASSERT_OK(WriteFile(paths.back(), "x"));
    cache.Put(paths.back(), SmallFile(10));
  }
  EXPECT_EQ(cache.stats().files, 8u);
  EXPECT_EQ(cache.Find(paths[0]), nullptr);
  EXPECT_NE(cache.Find(paths[11]), nullptr);
  // Disabled: nothing is decoded.
  limits.max_bytes = 0;
  cache.SetLimits(limits);
  EXPECT_EQ(cache.stats().files, 0u);
  EXPECT_FALSE(cache.ShouldDecode(b, 1));
  EXPECT_FALSE(cache.ShouldDecode(b, 1));
}

TEST(DecodedFilesTest, OneReadDecodesAFileAtATime) {
  kl::testing::TempDir dir;
  std::string a = dir.Sub("a");
  KL_ASSERT_OK(WriteFile(a, "a"));
  DecodedFiles cache({});
  EXPECT_FALSE(cache.ShouldDecode(a, 1000));
  EXPECT_TRUE(cache.ShouldDecode(a, 1000));  // this read decodes it
  // Meanwhile the other reads read the file as usual, however many come.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(cache.ShouldDecode(a, 1000)) << i;
  // The decode failed: another read may decode it (on its second read, as at first).
  cache.Abandon(a);
  EXPECT_FALSE(cache.ShouldDecode(a, 1000));
  EXPECT_TRUE(cache.ShouldDecode(a, 1000));
  EXPECT_FALSE(cache.ShouldDecode(a, 1000));
  auto file = SmallFile(10);
  cache.Put(a, file);
  EXPECT_EQ(cache.Find(a), file);
  EXPECT_EQ(cache.stats().decoded, 1);
  // Rewritten since: decoded again when asked for twice, once.
  KL_ASSERT_OK(WriteFile(a, "a longer content"));
  EXPECT_EQ(cache.Find(a), nullptr);
  EXPECT_FALSE(cache.ShouldDecode(a, 1000));
  EXPECT_TRUE(cache.ShouldDecode(a, 1000));
  EXPECT_FALSE(cache.ShouldDecode(a, 1000));
}

// Reads by key through the process's cache equal reads that decode every file, on a
// table with several overlapping sorted runs, deletes and a changed row.
TEST(DecodedFilesTest, ReadsByKeyAnswerAlikeWithAndWithoutDecodedFiles) {
  kl::testing::TempDir dir;
  auto schema = NewTableSchema(
      {{0, "a", DataType::String().NotNull(), ""},
       {1, "b", DataType::BigInt().NotNull(), ""},
       {2, "v", DataType::String(), ""}},
      {}, {"a", "b"},
      {{"bucket", "2"}, {"bucket-key", "a"}, {"write-only", "true"}, {"kubelake.data-file.sync", "false"}});
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  for (std::string format : {"parquet", "avro"}) {
    auto s = *schema;
    s.options["file.format"] = format;
    auto t = Table::Create(dir.Sub("t-" + format), s);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    auto w = (*t)->NewWriter("w");
    Random rnd(7);
    for (int commit = 1; commit <= 5; ++commit) {
      for (int i = 0; i < 400; ++i) {
        std::string a = "u" + std::to_string(rnd.Uniform(12));
        int64_t b = static_cast<int64_t>(rnd.Uniform(60));
        RowKind kind = rnd.Uniform(6) == 0 ? RowKind::kDelete : RowKind::kInsert;
        KL_ASSERT_OK(w->WriteRow({Datum::Bytes(a), Datum::Int(b), Datum::Bytes("c" + std::to_string(commit))}, kind));
      }
      ASSERT_TRUE(w->Commit(commit).ok());
    }
    const char* filters[] = {"a = 'u3'",
                             "a = 'u3' AND b = 7",
                             "a = 'u3' AND b >= 10 AND b < 30",
                             "a >= 'u5'",
                             "a < 'u2' AND b > 50",
                             "b = 7",
                             "a = 'u3' AND v = 'c5'",
                             "a = 'nobody'",
                             "a = 'u3' AND a = 'u4'",
                             "a = 'u10' AND b <= 0"};
    for (const char* text : filters) {
      auto filter = Predicate::Parse(text, (*t)->schema().fields);
      ASSERT_TRUE(filter.ok()) << text;
      auto read_once = [&]() -> std::vector<std::string> {
        auto read = (*t)->NewRead({}, *filter);
        EXPECT_TRUE(read.ok());
        auto rows = (*read)->ReadAll(*(*t)->NewScan().PlanLatest());
        EXPECT_TRUE(rows.ok()) << rows.status().ToString();
        std::vector<std::string> out;
        for (size_t i = 0; i < rows->size(); ++i) {
          std::string r;
          for (const auto& d : rows->rows.GetRow(i)) r += format::DatumDebugString(d) + " ";
          out.push_back(r);
        }
        return out;
      };
      DecodedFiles::Limits off;
      off.max_bytes = 0;
      DecodedFiles::Global().SetLimits(off);
      auto want = read_once();
      DecodedFiles::Global().SetLimits({});
      DecodedFiles::Global().Clear();
      int64_t hits = DecodedFiles::Global().stats().hits;
      EXPECT_EQ(read_once(), want) << format << ": " << text << " (first read)";
      EXPECT_EQ(read_once(), want) << format << ": " << text << " (decoding)";
      EXPECT_EQ(read_once(), want) << format << ": " << text << " (from decoded files)";
      // (Conditions that rule out every file's key range open no file at all.)
      if (!want.empty()) {
        EXPECT_GT(DecodedFiles::Global().stats().hits, hits) << text;
      }
    }
  }
  DecodedFiles::Global().Clear();
}

}  // namespace
}  // namespace kl::table
