// Deletion vectors: Paimon's framing (length, magic, Roaring bitmap, CRC) in both
// versions, corrupt input, index manifests, and the vectors Java Paimon wrote.
#include "table/index/deletion_vector.h"

#include <gtest/gtest.h>

#include "common/coding.h"
#include "common/file/file_util.h"
#include "common/testing/test_util.h"
#include "table/data/binary_row.h"
#include "table/paths.h"

namespace kl::table {
namespace {

std::vector<int64_t> Deleted(const DeletionVector& dv, int64_t up_to) {
  std::vector<int64_t> out;
  for (int64_t p = 0; p < up_to; ++p) {
    if (dv.IsDeleted(p)) out.push_back(p);
  }
  return out;
}

// A file with the given vectors; returns the deletion file of vector `index`.
DeletionFile WriteIndexFile(const std::string& path, const std::vector<std::string>& bodies, size_t index) {
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::string bytes = BuildDeletionVectorIndexFile(bodies, &ranges);
  EXPECT_TRUE(WriteFile(path, bytes).ok());
  return DeletionFile{path, ranges[index].first, ranges[index].second, std::nullopt};
}

TEST(DeletionVectorTest, Version1RoundTripsThroughAnIndexFile) {
  testing::TempDir dir;
  DeletionVector a = DeletionVector::FromPositions({0, 3, 4, 100000, 2147483647});
  DeletionVector b = DeletionVector::FromPositions({7});
  auto body_a = a.Serialize();
  auto body_b = b.Serialize();
  ASSERT_TRUE(body_a.ok() && body_b.ok());
  DeletionFile second = WriteIndexFile(dir.Sub("index-1"), {*body_a, *body_b}, 1);
  DeletionFile first = second;
  first.offset = 1;
  first.length = static_cast<int64_t>(body_a->size());
  auto read_a = ReadDeletionVector(first);
  ASSERT_TRUE(read_a.ok()) << read_a.status().ToString();
  EXPECT_EQ(Deleted(*read_a, 10), (std::vector<int64_t>{0, 3, 4}));
  EXPECT_TRUE(read_a->IsDeleted(100000));
  EXPECT_TRUE(read_a->IsDeleted(2147483647));
  EXPECT_FALSE(read_a->IsDeleted(2147483646));
  EXPECT_EQ(read_a->cardinality(), 5);
  auto read_b = ReadDeletionVector(second);
  ASSERT_TRUE(read_b.ok()) << read_b.status().ToString();
  EXPECT_EQ(Deleted(*read_b, 10), (std::vector<int64_t>{7}));
  // Positions beyond 32 bits do not fit a version-1 vector.
  EXPECT_FALSE(DeletionVector::FromPositions({int64_t{1} << 33}).Serialize().ok());
}

TEST(DeletionVectorTest, Version2SixtyFourBitVectorsRead) {
  // magic (little endian), bitmap count, then (high key, portable 32-bit bitmap) pairs.
  std::string low = *DeletionVector::FromPositions({1, 2}).Serialize();
  std::string high = *DeletionVector::FromPositions({5}).Serialize();
  std::string body;
  std::string magic(4, '\0');
  StoreLE32(magic.data(), 1681511377u);
  body += magic;
  PutFixed64LE(&body, 2);
  PutFixed32LE(&body, 0);
  body += low.substr(4);  // the portable bitmap without the version-1 magic
  PutFixed32LE(&body, 3);
  body += high.substr(4);
  auto dv = DeletionVector::Deserialize(body, "test vector");
  ASSERT_TRUE(dv.ok()) << dv.status().ToString();
  EXPECT_TRUE(dv->IsDeleted(1));
  EXPECT_TRUE(dv->IsDeleted(2));
  EXPECT_FALSE(dv->IsDeleted(5));
  EXPECT_TRUE(dv->IsDeleted((int64_t{3} << 32) + 5));
  EXPECT_EQ(dv->cardinality(), 3);
  // Keys must ascend.
  std::string swapped = magic;
  PutFixed64LE(&swapped, 2);
  PutFixed32LE(&swapped, 3);
  swapped += high.substr(4);
  PutFixed32LE(&swapped, 0);
  swapped += low.substr(4);
  EXPECT_TRUE(DeletionVector::Deserialize(swapped, "v").status().IsCorruption());
}

TEST(DeletionVectorTest, CorruptVectorsAreCleanErrorsNamingTheFile) {
  testing::TempDir dir;
  std::string body = *DeletionVector::FromPositions({1, 9}).Serialize();
  DeletionFile good = WriteIndexFile(dir.Sub("index-good"), {body}, 0);
  std::string bytes = *ReadFile(good.path);
  auto expect_corrupt = [&](const std::string& data, DeletionFile f, const std::string& what) {
    f.path = dir.Sub("index-bad");
    ASSERT_TRUE(WriteFile(f.path, data).ok());
    auto dv = ReadDeletionVector(f);
    ASSERT_FALSE(dv.ok()) << what;
    EXPECT_TRUE(dv.status().IsCorruption() || dv.status().code() == StatusCode::kNotFound) << dv.status().ToString();
    EXPECT_NE(dv.status().message().find("index-bad"), std::string::npos) << dv.status().ToString();
  };
  // Every flipped byte after the version byte breaks the length, the magic, the bitmap or the CRC.
  for (size_t i = 1; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
    expect_corrupt(flipped, good, "flip at " + std::to_string(i));
  }
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    expect_corrupt(bytes.substr(0, cut), good, "cut at " + std::to_string(cut));
  DeletionFile wrong_length = good;
  wrong_length.length += 1;
  expect_corrupt(bytes, wrong_length, "length");
  DeletionFile wrong_count = good;
  wrong_count.cardinality = 3;
  expect_corrupt(bytes, wrong_count, "cardinality");
  EXPECT_FALSE(DeletionVector::Deserialize("", "empty").ok());
}

TEST(DeletionVectorTest, IndexManifestRoundTripAndLiveFiles) {
  testing::TempDir dir;
  std::string part = SerializeBinaryRow({format::Datum::Int(10)}, {format::DataType::Int()});
  std::vector<IndexManifestEntry> entries(3);
  entries[0] = {
      FileKind::kAdd, part, 0, {kDeletionVectorsIndex, "index-a", 31, 1, {{"data-1.parquet", 1, 22, 1}}, std::nullopt}};
  entries[1] = {FileKind::kAdd,
                part,
                1,
                {kDeletionVectorsIndex,
                 "index-b",
                 61,
                 2,
                 {{"data-2.parquet", 1, 22, std::nullopt}, {"data-3.parquet", 31, 22, 2}},
                 std::string("FILE:/elsewhere/index-b")}};
  entries[2] = {FileKind::kDelete, part, 0, {kDeletionVectorsIndex, "index-a", 31, 1, {}, std::nullopt}};
  std::string path = dir.Sub("index-manifest-1");
  ASSERT_TRUE(WriteIndexManifest(path, entries).ok());
  auto read = ReadIndexManifest(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[1].file.dv_ranges[1].data_file, "data-3.parquet");
  EXPECT_EQ((*read)[1].file.dv_ranges[1].offset, 31);
  EXPECT_EQ((*read)[1].file.dv_ranges[1].cardinality, 2);
  EXPECT_FALSE((*read)[1].file.dv_ranges[0].cardinality.has_value());
  EXPECT_EQ((*read)[1].file.external_path, std::string("FILE:/elsewhere/index-b"));
  EXPECT_EQ((*read)[2].kind, FileKind::kDelete);

  PathFactory paths(dir.Sub("t"), format::RowType({{0, "p", format::DataType::Int(), ""}}), "__DEFAULT_PARTITION__");
  paths.SetExternalPathRewrite("file:///elsewhere", "/moved");
  auto index = DeletionVectorIndex::Build(*read, [&](const std::string& p, int32_t b, const IndexFileMeta& f) {
    return paths.IndexFilePath(p, b, f, /*in_data_file_dir=*/false);
  });
  EXPECT_FALSE(index.Find(part, 0, "data-1.parquet").has_value()) << "index-a was deleted";
  auto f3 = index.Find(part, 1, "data-3.parquet");
  ASSERT_TRUE(f3.has_value());
  EXPECT_EQ(f3->path, "/moved/index-b");
  EXPECT_EQ(f3->offset, 31);
  EXPECT_FALSE(index.Find(part, 0, "data-3.parquet").has_value());
}

TEST(DeletionVectorTest, IndexFilePathsFollowPaimonsLayout) {
  PathFactory paths("/t", format::RowType({{0, "p", format::DataType::Int(), ""}}), "__DEFAULT_PARTITION__");
  std::string part = SerializeBinaryRow({format::Datum::Int(7)}, {format::DataType::Int()});
  IndexFileMeta file{kDeletionVectorsIndex, "index-x-0", 1, 0, {}, std::nullopt};
  EXPECT_EQ(paths.IndexFilePath(part, 2, file, false), "/t/index/index-x-0");
  EXPECT_EQ(paths.IndexFilePath(part, 2, file, true), "/t/p=7/bucket-2/index-x-0");
  EXPECT_EQ(paths.ExternalLocalPath("FILE:///tmp/x/y"), "/tmp/x/y");
  EXPECT_EQ(paths.ExternalLocalPath("file:/tmp/x/y"), "/tmp/x/y");
  paths.SetExternalPathRewrite("FILE:///tmp/x", "/data/x2");
  EXPECT_EQ(paths.ExternalLocalPath("file:/tmp/x/y"), "/data/x2/y");
  EXPECT_EQ(paths.ExternalLocalPath("file:/tmp/xy/z"), "/tmp/xy/z") << "only whole path components are rewritten";
}

// The vectors Java Paimon wrote for pk_09 (checked independently in CROSSCHECK.md:
// data-6d416200-...-0.parquet has position 4 deleted).
TEST(DeletionVectorTest, ReadsJavaWrittenIndexFiles) {
  KL_REQUIRE_SHARED("paimon-compat/tables/parquet/pk_09.db/pk_09", table);
  auto snapshot = ReadFile(JoinPath(table, "snapshot/snapshot-8"));
  ASSERT_TRUE(snapshot.ok());
  auto entries = ReadIndexManifest(JoinPath(table, "manifest/index-manifest-03e2700b-8409-499b-8c27-a09ccee9348c-1"));
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  PathFactory paths(table, format::RowType({{1, "f1", format::DataType::Int(), ""}}), "__DEFAULT_PARTITION__");
  auto index = DeletionVectorIndex::Build(*entries, [&](const std::string& p, int32_t b, const IndexFileMeta& f) {
    return paths.IndexFilePath(p, b, f, false);
  });
  std::string part = SerializeBinaryRow({format::Datum::Int(10)}, {format::DataType::Int()});
  auto file = index.Find(part, 1, "data-6d416200-c9db-49ff-bc27-79837bf1aaab-0.parquet");
  ASSERT_TRUE(file.has_value());
  auto dv = ReadDeletionVector(*file);
  ASSERT_TRUE(dv.ok()) << dv.status().ToString();
  EXPECT_EQ(Deleted(*dv, 100), (std::vector<int64_t>{4}));
}

}  // namespace
}  // namespace kl::table
