#include "format/compression.h"

#include <gtest/gtest.h>

#include "common/random.h"
#include "common/test_util.h"

namespace kl::format {
namespace {

std::string SampleText(Random& rng, size_t n) {
  // Repetitive enough to compress, random enough to exercise the codecs.
  static const char* kWords[] = {"pod", "node", "cluster", "namespace", "uid-", "running", "\x00\xff"};
  std::string s;
  while (s.size() < n) s += kWords[rng.Uniform(7)];
  s.resize(n);
  return s;
}

TEST(CompressionTest, ZstdRoundTripsAndReusesContexts) {
  Random rng(3);
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{300000}}) {
    std::string text = SampleText(rng, n);
    std::string packed = "prefix";
    KL_ASSERT_OK(ZstdCompress(1, text, &packed));
    ASSERT_EQ(packed.substr(0, 6), "prefix");  // appends
    std::string_view frame = std::string_view(packed).substr(6);

    std::string exact(n, '\0');
    size_t produced = 0;
    KL_ASSERT_OK(ZstdDecompress(frame, exact.data(), exact.size(), &produced));
    EXPECT_EQ(produced, n);
    EXPECT_EQ(exact, text);

    std::string streamed = "x";
    KL_ASSERT_OK(ZstdDecompressStream(frame, n, &streamed));
    EXPECT_EQ(streamed.substr(1), text);
  }
}

TEST(CompressionTest, ZstdRefusesCorruptTruncatedAndOversizedData) {
  Random rng(4);
  std::string text = SampleText(rng, 50000);
  std::string packed;
  KL_ASSERT_OK(ZstdCompress(3, text, &packed));

  std::string out;
  EXPECT_TRUE(ZstdDecompressStream(std::string_view(packed).substr(0, packed.size() / 2), text.size(), &out)
                  .IsCorruption());
  out.clear();
  EXPECT_TRUE(ZstdDecompressStream(packed, text.size() - 1, &out).IsCorruption());

  std::string small(100, '\0');
  size_t produced = 0;
  EXPECT_FALSE(ZstdDecompress(packed, small.data(), small.size(), &produced).ok());
  EXPECT_FALSE(ZstdDecompress("not zstd at all", small.data(), small.size(), &produced).ok());

  // The thread's context recovers after a failure.
  out.clear();
  KL_ASSERT_OK(ZstdDecompressStream(packed, text.size(), &out));
  EXPECT_EQ(out, text);
}

TEST(CompressionTest, DeflateFramingsRoundTrip) {
  Random rng(5);
  std::string text = SampleText(rng, 200000);
  for (int bits : {kRawDeflate, kGzip}) {
    std::string packed;
    KL_ASSERT_OK(DeflateCompress(-1, bits, text, &packed));
    std::string out(text.size(), '\0');
    size_t produced = 0;
    KL_ASSERT_OK(Inflate(bits == kGzip ? kZlibOrGzip : kRawDeflate, packed, out.data(), out.size(), &produced));
    EXPECT_EQ(produced, text.size());
    EXPECT_EQ(out, text);

    std::string streamed;
    KL_ASSERT_OK(InflateStream(bits, packed, text.size(), &streamed));
    EXPECT_EQ(streamed, text);

    std::string cut;
    Status truncated = InflateStream(bits, std::string_view(packed).substr(0, packed.size() / 2), text.size(), &cut);
    EXPECT_TRUE(truncated.IsCorruption()) << truncated.ToString();
    std::string bounded;
    EXPECT_TRUE(InflateStream(bits, packed, 1000, &bounded).IsCorruption());
    EXPECT_FALSE(Inflate(bits, packed, out.data(), 1000, &produced).ok());
  }
}

}  // namespace
}  // namespace kl::format
