#include "format/compression.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include "common/random.h"
#include "common/testing/test_util.h"

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

// Every level zstd has is honoured as asked: a fast (negative) level is not level 1, and each
// round-trips. A level zstd lacks is an error, not a silent clamp.
TEST(CompressionTest, ZstdHonoursEveryLevelAndRefusesOthers) {
  Random rng(6);
  std::string text = SampleText(rng, 200000);
  auto compress = [&](int level) {
    std::string packed;
    Status st = ZstdCompress(level, text, &packed);
    EXPECT_TRUE(st.ok()) << level << ": " << st.ToString();
    std::string out(text.size(), '\0');
    size_t produced = 0;
    EXPECT_TRUE(ZstdDecompress(packed, out.data(), out.size(), &produced).ok()) << level;
    EXPECT_EQ(produced, text.size()) << level;
    EXPECT_EQ(out, text) << level;
    return packed;
  };
  std::string level1 = compress(1);
  for (int level : {-1, -3, -50, ZSTD_minCLevel()}) EXPECT_NE(compress(level), level1) << "level " << level;
  EXPECT_NE(compress(3), level1);
  compress(0);  // zstd's default
  compress(ZSTD_maxCLevel());
  EXPECT_EQ(ZstdMinLevel(), ZSTD_minCLevel());
  EXPECT_EQ(ZstdMaxLevel(), ZSTD_maxCLevel());

  for (int level : {ZSTD_maxCLevel() + 1, ZSTD_minCLevel() - 1}) {
    std::string packed = "kept";
    Status st = ZstdCompress(level, text, &packed);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_EQ(st.message(), "zstd level " + std::to_string(level) + " is outside " + std::to_string(ZSTD_minCLevel()) +
                                " to " + std::to_string(ZSTD_maxCLevel()));
    EXPECT_EQ(packed, "kept");
    // The same for the reused-buffer form (Avro blocks, the remote sink's batches).
    std::string buffer;
    std::string_view body = "untouched";
    st = ZstdCompressInto(level, text, &buffer, &body);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_EQ(st.message(), "zstd level " + std::to_string(level) + " is outside " + std::to_string(ZSTD_minCLevel()) +
                                " to " + std::to_string(ZSTD_maxCLevel()));
    EXPECT_EQ(body, "untouched");
  }
}

TEST(CompressionTest, ZstdRefusesCorruptTruncatedAndOversizedData) {
  Random rng(4);
  std::string text = SampleText(rng, 50000);
  std::string packed;
  KL_ASSERT_OK(ZstdCompress(3, text, &packed));

  std::string out;
  EXPECT_TRUE(
      ZstdDecompressStream(std::string_view(packed).substr(0, packed.size() / 2), text.size(), &out).IsCorruption());
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

TEST(CompressionTest, ZstdIntoReusedBuffersRoundTripsEveryShapeOfInput) {
  Random rng(5);
  std::string packed_buffer, inflated_buffer;
  // Large, small, empty, then large again: the buffers keep their size and stale bytes.
  for (size_t n : {size_t{300000}, size_t{1000}, size_t{0}, size_t{200000}, size_t{1}}) {
    for (int level : {1, -1, 3}) {
      std::string text = SampleText(rng, n);
      std::string_view packed, inflated;
      KL_ASSERT_OK(ZstdCompressInto(level, text, &packed_buffer, &packed));
      ASSERT_EQ(packed.data(), packed_buffer.data());
      KL_ASSERT_OK(ZstdInflateInto(packed, n, 64, &inflated_buffer, &inflated));
      ASSERT_EQ(inflated, text) << n << " bytes at level " << level;
      ASSERT_GE(inflated_buffer.size(), inflated.size() + 64);  // the padding is readable
      std::string streamed;
      KL_ASSERT_OK(ZstdDecompressStream(packed, n, &streamed));  // a plain zstd frame
      ASSERT_EQ(streamed, text);
    }
  }
  // Two frames one after the other, and a frame that does not state its size, take the slow way.
  std::string a = SampleText(rng, 5000), b = SampleText(rng, 7000);
  std::string two;
  KL_ASSERT_OK(ZstdCompress(1, a, &two));
  KL_ASSERT_OK(ZstdCompress(1, b, &two));
  std::string_view inflated;
  KL_ASSERT_OK(ZstdInflateInto(two, 20000, 64, &inflated_buffer, &inflated));
  EXPECT_EQ(inflated, a + b);
  EXPECT_TRUE(ZstdInflateInto(two, 11999, 64, &inflated_buffer, &inflated).IsCorruption());

  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
  std::string unsized(ZSTD_compressBound(a.size()), '\0');
  size_t n = ZSTD_compress2(cctx, unsized.data(), unsized.size(), a.data(), a.size());
  ZSTD_freeCCtx(cctx);
  ASSERT_FALSE(ZSTD_isError(n));
  unsized.resize(n);
  ASSERT_EQ(ZSTD_getFrameContentSize(unsized.data(), unsized.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  KL_ASSERT_OK(ZstdInflateInto(unsized, a.size(), 64, &inflated_buffer, &inflated));
  EXPECT_EQ(inflated, a);
  EXPECT_GE(inflated_buffer.size(), a.size() + 64);

  // Bad input: cut, damaged, too large, not zstd.
  std::string packed_text;
  KL_ASSERT_OK(ZstdCompress(1, a, &packed_text));
  EXPECT_FALSE(ZstdInflateInto(std::string_view(packed_text).substr(0, packed_text.size() / 2), a.size(), 64,
                               &inflated_buffer, &inflated)
                   .ok());
  std::string damaged = packed_text;
  damaged[damaged.size() / 2] ^= 0x5a;
  damaged[damaged.size() / 2 + 1] ^= 0x3c;
  Status s = ZstdInflateInto(damaged, a.size(), 64, &inflated_buffer, &inflated);
  EXPECT_TRUE(!s.ok() || inflated.size() == a.size());  // zstd frames carry no checksum here; never overruns
  EXPECT_TRUE(ZstdInflateInto(packed_text, a.size() - 1, 64, &inflated_buffer, &inflated).IsCorruption());
  EXPECT_FALSE(ZstdInflateInto("not zstd at all", 1000, 64, &inflated_buffer, &inflated).ok());
  // And the thread's context still works.
  KL_ASSERT_OK(ZstdInflateInto(packed_text, a.size(), 64, &inflated_buffer, &inflated));
  EXPECT_EQ(inflated, a);
}

TEST(CompressionTest, Lz4BlocksRoundTripAndRefuseCorruptOrMisSizedData) {
  Random rng(11);
  std::string buffer;
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{70000}}) {
    std::string text = SampleText(rng, n);
    std::string_view block;
    KL_ASSERT_OK(Lz4CompressInto(text, &buffer, &block));
    std::string packed(block);
    std::string back(n, '\0');
    KL_ASSERT_OK(Lz4DecompressExact(packed, back.data(), n));
    ASSERT_EQ(back, text);
    if (n < 1000) continue;
    std::string wrong(n + 1, '\0');
    EXPECT_FALSE(Lz4DecompressExact(packed, wrong.data(), n + 1).ok());  // the size is not the block's
    EXPECT_FALSE(Lz4DecompressExact(packed.substr(0, packed.size() / 2), back.data(), n).ok());  // cut short
    std::string bad = packed;
    for (size_t i = 0; i < bad.size(); i += 7) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    EXPECT_FALSE(Lz4DecompressExact(bad, back.data(), n).ok() && back == text);
  }
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
