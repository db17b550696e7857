#include "format/column.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/random.h"

namespace kl::format {
namespace {

// The values of a bytes column as optional strings (nullopt = NULL).
std::vector<std::optional<std::string>> Values(const Column& c) {
  std::vector<std::optional<std::string>> out;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.IsNull(i))
      out.emplace_back();
    else
      out.emplace_back(std::string(c.GetBytes(i)));
  }
  return out;
}

std::shared_ptr<const Column> Dict(const std::vector<std::string>& values) {
  std::vector<std::string_view> views(values.begin(), values.end());
  return Column::MakeDictionary(DataType::String(), views.data(), views.size());
}

TEST(ColumnTest, DictionaryColumnReadsLikePlainValues) {
  auto dict = Dict({"Pod", "Node", "", "Service"});
  Column c(DataType::String());
  std::vector<uint32_t> codes = {0, 1, 1, 3, 2};
  c.AppendCodes(dict, codes.data(), 2);
  c.AppendNull();
  c.AppendCodes(dict, codes.data() + 2, 3);
  ASSERT_TRUE(c.is_dictionary());
  EXPECT_EQ(c.size(), 6u);
  EXPECT_EQ(c.null_count(), 1u);
  EXPECT_EQ(c.codes()[2], c.null_code());
  std::vector<std::optional<std::string>> want = {"Pod", "Node", std::nullopt, "Node", "Service", ""};
  EXPECT_EQ(Values(c), want);
  EXPECT_EQ(c.Get(0), Datum::Bytes("Pod"));
  EXPECT_TRUE(c.Get(2).is_null());
  EXPECT_EQ(c.CompareAt(1, c, 3), 0);
  EXPECT_LT(c.CompareAt(1, c, 0), 0);  // "Node" < "Pod"
  EXPECT_LT(c.CompareAt(2, c, 0), 0);  // NULL first

  // Appending a plain value turns the column plain, keeping every value.
  Column d = c;
  d.AppendBytes("Deployment");
  EXPECT_FALSE(d.is_dictionary());
  want.push_back("Deployment");
  EXPECT_EQ(Values(d), want);

  // Codes of another dictionary are appended as values.
  Column e = c;
  auto other = Dict({"x", "y"});
  uint32_t one = 1;
  e.AppendCodes(other, &one, 1);
  EXPECT_FALSE(e.is_dictionary());
  EXPECT_EQ(e.GetBytes(6), "y");
  EXPECT_EQ(e.size(), 7u);

  c.Clear();
  EXPECT_FALSE(c.is_dictionary());
  c.AppendBytes("a");
  EXPECT_EQ(c.GetBytes(0), "a");
}

// Random sequences of appends, ranges, gathers and copies between dictionary-encoded
// and plain columns give the same values as the same operations on plain strings.
TEST(ColumnTest, DictionaryOperationsMatchAPlainModel) {
  Random r(42);
  std::vector<std::shared_ptr<const Column>> dicts = {Dict({"a", "bb", "ccc", "a-much-longer-value-here"}),
                                                      Dict({"x", "", "yz"})};
  std::vector<std::vector<std::string>> dict_values = {{"a", "bb", "ccc", "a-much-longer-value-here"}, {"x", "", "yz"}};
  for (int round = 0; round < 300; ++round) {
    Column src(DataType::String()), dst(DataType::String());
    std::vector<std::optional<std::string>> src_model, dst_model;
    auto fill = [&](Column* c, std::vector<std::optional<std::string>>* model, int steps) {
      for (int s = 0; s < steps; ++s) {
        switch (r.Uniform(4)) {
          case 0: {
            size_t d = r.Uniform(2);
            std::vector<uint32_t> codes(r.Uniform(5));
            for (auto& code : codes) {
              code = static_cast<uint32_t>(r.Uniform(dict_values[d].size()));
              model->push_back(dict_values[d][code]);
            }
            c->AppendCodes(dicts[d], codes.data(), codes.size());
            break;
          }
          case 1:
            c->AppendNull();
            model->emplace_back();
            break;
          case 2: {
            std::string v = "v" + std::to_string(r.Uniform(100));
            c->AppendBytes(v);
            model->push_back(v);
            break;
          }
          default: break;
        }
      }
    };
    fill(&src, &src_model, static_cast<int>(r.Uniform(8)));
    fill(&dst, &dst_model, static_cast<int>(r.Uniform(3)));
    ASSERT_EQ(Values(src), src_model);
    if (src.size() == 0) continue;
    switch (r.Uniform(4)) {
      case 0: {
        size_t b = r.Uniform(src.size()), e = b + r.Uniform(src.size() - b + 1);
        dst.AppendRange(src, b, e);
        for (size_t i = b; i < e; ++i) dst_model.push_back(src_model[i]);
        break;
      }
      case 1: {
        std::vector<size_t> rows(r.Uniform(10));
        for (auto& row : rows) {
          row = r.Uniform(src.size());
          dst_model.push_back(src_model[row]);
        }
        dst.AppendGather(src, rows.data(), rows.size());
        break;
      }
      case 2: {
        size_t i = r.Uniform(src.size());
        dst.AppendFrom(src, i);
        dst_model.push_back(src_model[i]);
        break;
      }
      default:
        dst.Flatten();
        EXPECT_FALSE(dst.is_dictionary());
        break;
    }
    ASSERT_EQ(Values(dst), dst_model) << "round " << round;
    fill(&dst, &dst_model, 2);
    ASSERT_EQ(Values(dst), dst_model) << "round " << round;
    for (size_t i = 0; i + 1 < dst.size(); ++i) {
      int want = !dst_model[i] ? (!dst_model[i + 1] ? 0 : -1)
                               : (!dst_model[i + 1] ? 1 : dst_model[i]->compare(*dst_model[i + 1]));
      want = want < 0 ? -1 : (want > 0 ? 1 : 0);
      ASSERT_EQ(dst.CompareAt(i, dst, i + 1), want);
    }
  }
}

TEST(ColumnTest, AppendFromEachTakesRowsOfSeveralSources) {
  Column a(DataType::String()), b(DataType::String()), ints_a(DataType::Int()), ints_b(DataType::Int());
  for (const char* v : {"alpha", "b", "a longer value than sixteen bytes"}) a.AppendBytes(v);
  for (const char* v : {"x", "yy"}) b.AppendBytes(v);
  for (int64_t v : {1, 2, 3}) ints_a.AppendInt(v);
  for (int64_t v : {10, 20}) ints_b.AppendInt(v);
  Column out(DataType::String()), out_ints(DataType::Int());
  out.AppendBytes("first");
  const Column* sources[] = {&b, &a, &a, &b};
  const Column* int_sources[] = {&ints_b, &ints_a, &ints_a, &ints_b};
  size_t rows[] = {1, 2, 0, 0};
  out.AppendFromEach(sources, rows, 4);
  out_ints.AppendFromEach(int_sources, rows, 4);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out.GetBytes(0), "first");
  EXPECT_EQ(out.GetBytes(1), "yy");
  EXPECT_EQ(out.GetBytes(2), "a longer value than sixteen bytes");
  EXPECT_EQ(out.GetBytes(3), "alpha");
  EXPECT_EQ(out.GetBytes(4), "x");
  ASSERT_EQ(out_ints.size(), 4u);
  EXPECT_EQ(out_ints.GetInt(0), 20);
  EXPECT_EQ(out_ints.GetInt(1), 3);
  EXPECT_EQ(out_ints.GetInt(3), 10);
  // A null among the sources takes the row-by-row path and stays null.
  Column with_null(DataType::String());
  with_null.AppendNull();
  with_null.AppendBytes("z");
  const Column* mixed[] = {&with_null, &with_null, &a};
  size_t mixed_rows[] = {0, 1, 1};
  Column out2(DataType::String());
  out2.AppendFromEach(mixed, mixed_rows, 3);
  ASSERT_EQ(out2.size(), 3u);
  EXPECT_TRUE(out2.IsNull(0));
  EXPECT_EQ(out2.GetBytes(1), "z");
  EXPECT_EQ(out2.GetBytes(2), "b");
}

TEST(ColumnTest, SwapValuesExchangesValuesAndKeepsTypes) {
  Column a(DataType::String()), b(DataType::VarChar(20));
  a.AppendBytes("one");
  a.AppendNull();
  b.AppendBytes("two");
  a.SwapValues(b);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a.GetBytes(0), "two");
  EXPECT_EQ(a.type(), DataType::String());
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.GetBytes(0), "one");
  EXPECT_TRUE(b.IsNull(1));
  EXPECT_EQ(b.type(), DataType::VarChar(20));
}

TEST(ColumnTest, BulkAppendsWithNullMasks) {
  Column ints(DataType::BigInt());
  const int64_t iv[] = {7, 0, 9};
  const uint8_t first_null[] = {0, 1, 0};
  ints.AppendInts(iv, first_null, 3);  // the first chunk of an empty column holds a null
  const uint8_t none[] = {0, 0, 0};
  ints.AppendInts(iv, none, 3);
  ints.AppendInts(iv, nullptr, 3);
  ASSERT_EQ(ints.size(), 9u);
  EXPECT_EQ(ints.null_count(), 1u);
  EXPECT_TRUE(ints.IsNull(1));
  EXPECT_EQ(ints.GetInt(8), 9);

  Column strings(DataType::String());
  const std::string_view sv[] = {"ab", {}, "c"};
  strings.AppendBytesBatch(sv, none, 3);  // a mask without nulls keeps the column untracked
  EXPECT_FALSE(strings.has_nulls());
  strings.AppendBytesBatch(sv, first_null, 3);
  ASSERT_EQ(strings.size(), 6u);
  EXPECT_FALSE(strings.IsNull(1));
  EXPECT_TRUE(strings.IsNull(4));
  EXPECT_EQ(strings.GetBytes(5), "c");
  EXPECT_EQ(strings.GetBytes(3), "ab");

  // Long values (appended value by value) after short ones, with and without nulls.
  std::string long_a(3000, 'x'), long_b(700, 'y');
  long_a[0] = 'a';
  long_b.back() = 'b';
  const std::string_view lv[] = {long_a, {}, long_b};
  strings.AppendBytesBatch(lv, first_null, 3);
  strings.AppendBytesBatch(lv, 2);
  ASSERT_EQ(strings.size(), 11u);
  EXPECT_EQ(strings.GetBytes(5), "c");
  EXPECT_EQ(strings.GetBytes(6), long_a);
  EXPECT_TRUE(strings.IsNull(7));
  EXPECT_EQ(strings.GetBytes(8), long_b);
  EXPECT_EQ(strings.GetBytes(9), long_a);
  EXPECT_FALSE(strings.IsNull(10));
  EXPECT_EQ(strings.GetBytes(10), "");
  EXPECT_EQ(strings.null_count(), 2u);

  Column doubles(DataType::Double());
  const double dv[] = {1.5, 0, 2.5};
  doubles.AppendDoubles(dv, first_null, 3);
  EXPECT_TRUE(doubles.IsNull(1));
  EXPECT_EQ(doubles.GetDouble(2), 2.5);
}

}  // namespace
}  // namespace kl::format
