// The ORC reader: run-length encodings against the worked examples of the ORC
// specification, chunked compression, and the ORC files Java Paimon wrote
// (manifests, manifest lists, a data file) — decoded whole, and never crashing
// on truncated or damaged copies.
#include <gtest/gtest.h>
#include <zstd.h>

#include <filesystem>

#include "common/file/file_util.h"
#include "common/testing/test_util.h"
#include "format/orc/orc_reader.h"

namespace kl::format::orc {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

std::vector<int64_t> Ints(const std::string& in, size_t n, bool is_signed, bool v2) {
  std::vector<int64_t> out;
  Status s = DecodeIntRle(in, n, is_signed, v2, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(OrcRleTest, ByteAndBooleanRuns) {
  std::vector<uint8_t> out;
  KL_ASSERT_OK(DecodeByteRle(Bytes({0x61, 0x00}), 100, &out));
  EXPECT_EQ(out, std::vector<uint8_t>(100, 0));
  KL_ASSERT_OK(DecodeByteRle(Bytes({0xfe, 0x44, 0x45}), 2, &out));
  EXPECT_EQ(out, (std::vector<uint8_t>{0x44, 0x45}));
  KL_ASSERT_OK(DecodeBooleanRle(Bytes({0xff, 0x80}), 8, &out));
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(DecodeByteRle(Bytes({0xfe, 0x44}), 2, &out).IsCorruption());
  EXPECT_TRUE(DecodeByteRle(Bytes({}), 1, &out).IsCorruption());
}

TEST(OrcRleTest, IntegerRleVersion1) {
  EXPECT_EQ(Ints(Bytes({0x61, 0x00, 0x07}), 100, false, false), std::vector<int64_t>(100, 7));
  std::vector<int64_t> down;
  for (int i = 100; i >= 1; --i) down.push_back(i);
  EXPECT_EQ(Ints(Bytes({0x61, 0xff, 0x64}), 100, false, false), down);
  EXPECT_EQ(Ints(Bytes({0xfb, 0x02, 0x03, 0x06, 0x07, 0x0b}), 5, false, false), (std::vector<int64_t>{2, 3, 6, 7, 11}));
  // Signed values are zigzag varints: 1 -> -1, 4 -> 2.
  EXPECT_EQ(Ints(Bytes({0xfe, 0x01, 0x04}), 2, true, false), (std::vector<int64_t>{-1, 2}));
}

TEST(OrcRleTest, IntegerRleVersion2AllFourEncodings) {
  EXPECT_EQ(Ints(Bytes({0x0a, 0x27, 0x10}), 5, false, true), std::vector<int64_t>(5, 10000));
  EXPECT_EQ(Ints(Bytes({0x5e, 0x03, 0x5c, 0xa1, 0xab, 0x1e, 0xde, 0xad, 0xbe, 0xef}), 4, false, true),
            (std::vector<int64_t>{23713, 43806, 57005, 48879}));
  EXPECT_EQ(Ints(Bytes({0x8e, 0x13, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0x00, 0x14, 0x70, 0x28, 0x32, 0x3c, 0x46,
                        0x50, 0x5a, 0x64, 0x6e, 0x78, 0x82, 0x8c, 0x96, 0xa0, 0xaa, 0xb4, 0xbe, 0xfc, 0xe8}),
                 20, false, true),
            (std::vector<int64_t>{2030, 2000, 2020, 1000000, 2040, 2050, 2060, 2070, 2080, 2090,
                                  2100, 2110, 2120, 2130,    2140, 2150, 2160, 2170, 2180, 2190}));
  EXPECT_EQ(Ints(Bytes({0xc6, 0x09, 0x02, 0x02, 0x22, 0x42, 0x42, 0x46}), 10, false, true),
            (std::vector<int64_t>{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}));
  // A fixed delta (width 0): 5 values from 10 by -3 (zigzag 5), signed base 10 (zigzag 20).
  EXPECT_EQ(Ints(Bytes({0xc0, 0x04, 0x14, 0x05}), 5, true, true), (std::vector<int64_t>{10, 7, 4, 1, -2}));
  std::vector<int64_t> out;
  EXPECT_TRUE(DecodeIntRle(Bytes({0x5e, 0x03, 0x5c}), 4, false, true, &out).IsCorruption()) << "truncated direct run";
  EXPECT_TRUE(DecodeIntRle(Bytes({0x0a, 0x27, 0x10}), 3, false, true, &out).IsCorruption()) << "run longer than asked";
}

TEST(OrcCompressionTest, ChunksMayBeCompressedOrOriginal) {
  std::string text(5000, 'a');
  std::string packed(ZSTD_compressBound(text.size()), '\0');
  size_t n = ZSTD_compress(packed.data(), packed.size(), text.data(), text.size(), 1);
  packed.resize(n);
  auto header = [](size_t len, bool original) {
    uint32_t h = static_cast<uint32_t>(len << 1) | (original ? 1 : 0);
    return std::string{static_cast<char>(h & 0xff), static_cast<char>((h >> 8) & 0xff), static_cast<char>(h >> 16)};
  };
  std::string stream = header(packed.size(), false) + packed + header(3, true) + "xyz";
  std::string out;
  KL_ASSERT_OK(Decompress(CompressionKind::kZstd, 256 * 1024, stream, &out));
  EXPECT_EQ(out, text + "xyz");
  EXPECT_TRUE(Decompress(CompressionKind::kZstd, 256 * 1024, stream.substr(0, 10), &out).IsCorruption());
  EXPECT_TRUE(Decompress(CompressionKind::kZstd, 1000, stream, &out).IsCorruption()) << "chunk beyond the block size";
  EXPECT_EQ(Decompress(CompressionKind::kLzo, 1000, header(1, false) + "x", &out).code(), StatusCode::kNotSupported);
}

std::vector<std::string> JavaOrcFiles(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    auto head = ReadFile(it->path().string());
    if (head.ok() && LooksLikeOrc(*head)) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(OrcJavaFilesTest, EveryFileDecodes) {
  KL_REQUIRE_SHARED("paimon-compat/tables", root);
  auto files = JavaOrcFiles(root);
  ASSERT_GT(files.size(), 20u);
  int manifests = 0;
  for (const auto& path : files) {
    auto reader = OrcReader::Open(path);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto all = (*reader)->ReadAll((*reader)->schema());
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    EXPECT_EQ(static_cast<int64_t>(all->num_rows()), (*reader)->num_rows()) << path;
    if ((*reader)->schema().IndexOf("_FILE") >= 0) {
      ++manifests;
      // Every manifest entry names a data file of the table.
      const Column& file = all->column(static_cast<size_t>((*reader)->schema().IndexOf("_FILE")));
      for (size_t r = 0; r < all->num_rows(); ++r) {
        ASSERT_FALSE(file.IsNull(r));
        EXPECT_EQ(file.Get(r).as_list()[0].as_bytes().rfind("data-", 0), 0u) << path;
      }
    }
  }
  EXPECT_GT(manifests, 5);
}

// The one ORC data file (append_table_with_multiple_file_format): its README lists the rows.
TEST(OrcJavaFilesTest, DataFileValues) {
  KL_REQUIRE_SHARED("paimon-compat/tables/append_table_with_multiple_file_format.db", db);
  auto files = JavaOrcFiles(db);
  std::string data;
  for (const auto& f : files) {
    if (f.size() > 4 && f.substr(f.size() - 4) == ".orc") data = f;
  }
  ASSERT_FALSE(data.empty());
  auto reader = OrcReader::Open(data);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  RowType want({{0, "f0", DataType::String(), ""},
                {1, "f1", DataType::Int(), ""},
                {3, "f3", DataType::Double(), ""},
                {9, "missing", DataType::Int(), ""}});
  auto rows = (*reader)->ReadAll(want);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_GT(rows->num_rows(), 0u);
  for (size_t r = 0; r < rows->num_rows(); ++r) {
    EXPECT_FALSE(rows->column(0).IsNull(r));
    EXPECT_TRUE(rows->column(1).GetInt(r) == 10 || rows->column(1).GetInt(r) == 20);
    EXPECT_GT(rows->column(2).GetDouble(r), 10.0);
    EXPECT_TRUE(rows->column(3).IsNull(r)) << "a field the file lacks reads as null";
  }
}

TEST(OrcJavaFilesTest, DamagedFilesFailCleanly) {
  KL_REQUIRE_SHARED("paimon-compat/tables/parquet/append_09.db", db);
  auto files = JavaOrcFiles(db);
  ASSERT_FALSE(files.empty());
  auto original = ReadFile(files[0]);
  ASSERT_TRUE(original.ok());
  auto check = [&](const std::string& bytes, const std::string& what) {
    auto reader = OrcReader::OpenBuffer(bytes, "damaged.orc");
    if (!reader.ok()) {
      EXPECT_NE(reader.status().message().find("damaged.orc"), std::string::npos) << what;
      return;
    }
    auto all = (*reader)->ReadAll((*reader)->schema());
    if (!all.ok()) {
      EXPECT_NE(all.status().message().find("damaged.orc"), std::string::npos) << what << all.status().ToString();
    }
  };
  for (size_t cut = 0; cut < original->size(); cut += 7) check(original->substr(0, cut), "cut " + std::to_string(cut));
  for (size_t i = 0; i < original->size(); ++i) {
    std::string flipped = *original;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x21);
    check(flipped, "flip " + std::to_string(i));
  }
}

}  // namespace
}  // namespace kl::format::orc
