#include "collector/watch/framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/random.h"
#include "common/testing/test_util.h"

namespace kl::collector {
namespace {

std::vector<std::string> FrameAll(JsonStreamFramer* framer, const std::vector<std::string>& chunks, Status* status) {
  std::vector<std::string> values;
  *status = Status::OK();
  for (const auto& chunk : chunks) {
    *status = framer->Feed(chunk, [&](std::string_view v) {
      values.emplace_back(v);
      return Status::OK();
    });
    if (!status->ok()) break;
  }
  return values;
}

TEST(FramerTest, SplitsNewlineDelimitedEventsAcrossArbitraryChunks) {
  std::string stream =
      "{\"type\":\"ADDED\",\"object\":{\"a\":\"} { [ ] \\\" \\\\\"}}\n"
      "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"5\"}}}\r\n"
      "  {\"x\":[1,{\"y\":[]}]}";
  std::vector<std::string> expected = {"{\"type\":\"ADDED\",\"object\":{\"a\":\"} { [ ] \\\" \\\\\"}}",
                                       "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"5\"}}}",
                                       "{\"x\":[1,{\"y\":[]}]}"};
  Random rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::string> chunks;
    size_t pos = 0;
    while (pos < stream.size()) {
      size_t n = 1 + rng.Uniform(trial % 2 == 0 ? 3 : 40);
      chunks.push_back(stream.substr(pos, n));
      pos += n;
    }
    JsonStreamFramer framer;
    Status s;
    auto values = FrameAll(&framer, chunks, &s);
    KL_ASSERT_OK(s);
    ASSERT_EQ(values, expected) << "trial " << trial;
    EXPECT_FALSE(framer.InValue());
  }
}

// Long strings (scanned 16 bytes at a time) with escaped quotes, runs of
// backslashes and brackets at every offset, cut into chunks anywhere.
TEST(FramerTest, LongStringsWithEscapesAtEveryOffset) {
  Random rng(7);
  const char alphabet[] = "ab {}[]:,\\\"x";
  std::vector<std::string> expected;
  std::string stream;
  for (int v = 0; v < 60; ++v) {
    std::string value = "{\"k\":[";
    for (int f = 0; f < 4; ++f) {
      std::string str;
      size_t len = rng.Uniform(70);
      while (str.size() < len) {
        char c = alphabet[rng.Uniform(sizeof(alphabet) - 1)];
        if (c == '\\' || c == '"') str += '\\';  // escaped backslash or quote
        str += c;
      }
      value += (f > 0 ? ",\"" : "\"") + str + "\"";
    }
    value += "]}";
    expected.push_back(value);
    stream += value + (v % 3 == 0 ? "\n" : "\r\n ");
  }
  for (int trial = 0; trial < 100; ++trial) {
    std::vector<std::string> chunks;
    for (size_t pos = 0; pos < stream.size();) {
      size_t n = 1 + rng.Uniform(trial % 2 == 0 ? 17 : 300);
      chunks.push_back(stream.substr(pos, n));
      pos += n;
    }
    JsonStreamFramer framer;
    Status s;
    auto values = FrameAll(&framer, chunks, &s);
    KL_ASSERT_OK(s);
    ASSERT_EQ(values, expected) << "trial " << trial;
  }
}

TEST(FramerTest, ReportsAValueCutOffMidway) {
  JsonStreamFramer framer;
  Status s;
  auto values = FrameAll(&framer, {"{\"a\":1}\n{\"b\":"}, &s);
  KL_ASSERT_OK(s);
  EXPECT_EQ(values.size(), 1u);
  EXPECT_TRUE(framer.InValue());
  EXPECT_GT(framer.buffered_bytes(), 0u);
}

TEST(FramerTest, RejectsGarbageBetweenValuesAndMismatchedBrackets) {
  {
    JsonStreamFramer framer;
    Status s;
    FrameAll(&framer, {"{\"a\":1} x"}, &s);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_NE(s.message().find("offset 8"), std::string::npos) << s.message();
  }
  {
    JsonStreamFramer framer;
    Status s;
    FrameAll(&framer, {"{\"a\":[1}"}, &s);
    EXPECT_TRUE(s.IsCorruption());
  }
}

TEST(FramerTest, EnforcesTheMaximumValueSizeButAcceptsLargeObjects) {
  std::string big = "{\"data\":\"" + std::string(1536 * 1024, 'x') + "\"}";
  JsonStreamFramer framer;
  Status s;
  std::vector<std::string> chunks;
  for (size_t i = 0; i < big.size(); i += 16384) chunks.push_back(big.substr(i, 16384));
  auto values = FrameAll(&framer, chunks, &s);
  KL_ASSERT_OK(s);
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0].size(), big.size());
  // An idle watch does not keep the big object's buffer.
  values = FrameAll(&framer, {"{}"}, &s);
  KL_ASSERT_OK(s);
  ASSERT_EQ(values.size(), 1u);
  EXPECT_LT(framer.capacity_bytes(), 4096u);

  JsonStreamFramer small(1000);
  FrameAll(&small, {std::string("{\"data\":\"") + std::string(2000, 'y')}, &s);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("larger than 1000"), std::string::npos);
}

TEST(FramerTest, CallbackErrorStopsTheStream) {
  JsonStreamFramer framer;
  int calls = 0;
  Status s = framer.Feed("{}{}{}", [&](std::string_view) {
    ++calls;
    return Status::Aborted("enough");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s.code(), StatusCode::kAborted);
}

TEST(FramerTest, ValuesHavePaddingForInPlaceParsing) {
  JsonStreamFramer framer;
  Status s = framer.Feed("{\"a\":1}", [&](std::string_view v) {
    // Reading the padding must be safe (ASan checks this in CI).
    volatile char sink = 0;
    for (size_t i = 0; i < kFramerPadding; ++i) sink = sink + v.data()[v.size() + i];
    (void)sink;
    return Status::OK();
  });
  KL_ASSERT_OK(s);
}

}  // namespace
}  // namespace kl::collector
