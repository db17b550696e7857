// ParquetFileCache: an open file is reused while it is unchanged on disk, a
// file replaced under its name is opened afresh, limits evict the least
// recently used, and errors are those of opening the file (never cached).
#include "format/parquet/file_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/file/file_util.h"
#include "common/testing/test_util.h"
#include "format/parquet/parquet.h"

namespace kl::format::parquet {
namespace {

void WriteInts(const std::string& path, int64_t first, int n) {
  RowType schema({{0, "k", DataType::BigInt().NotNull(), ""}});
  ColumnBatch batch(schema);
  for (int i = 0; i < n; ++i) batch.AppendRow({Datum::Int(first + i)});
  auto writer = ParquetWriter::Open(path, schema);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  KL_ASSERT_OK((*writer)->Write(batch));
  KL_ASSERT_OK((*writer)->Close().status());
}

int64_t FirstValue(const ParquetReader& file) {
  auto all = file.ReadAll();
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  return all.ok() && all->num_rows() > 0 ? all->column(0).GetInt(0) : -1;
}

TEST(ParquetFileCacheTest, ReusesUnchangedFilesAndReopensReplacedOnes) {
  kl::testing::TempDir dir;
  std::string a = dir.Sub("a.parquet"), b = dir.Sub("b.parquet");
  WriteInts(a, 100, 10);
  WriteInts(b, 200, 10);
  ParquetFileCache cache({});
  KL_ASSERT_OK_AND_ASSIGN(auto a1, cache.Open(a));
  KL_ASSERT_OK_AND_ASSIGN(auto a2, cache.Open(a));
  EXPECT_EQ(a1.get(), a2.get());
  EXPECT_EQ(cache.stats().hits, 1);
  EXPECT_EQ(cache.stats().misses, 1);
  KL_ASSERT_OK_AND_ASSIGN(auto b1, cache.Open(b));
  EXPECT_NE(a1.get(), b1.get());
  EXPECT_EQ(FirstValue(*b1), 200);
  EXPECT_EQ(cache.stats().files, 2u);

  // Replaced under its name (another inode, other rows): read afresh, never the old rows.
  std::string tmp = dir.Sub("a.tmp");
  WriteInts(tmp, 300, 20);
  KL_ASSERT_OK(RenameFile(tmp, a));
  KL_ASSERT_OK_AND_ASSIGN(auto a3, cache.Open(a));
  EXPECT_NE(a3.get(), a1.get());
  EXPECT_EQ(FirstValue(*a3), 300);
  EXPECT_EQ(a3->num_rows(), 20);
  // The reader handed out earlier still reads the file it opened.
  EXPECT_EQ(FirstValue(*a1), 100);
  EXPECT_EQ(cache.stats().files, 2u);

  // A file gone from disk is an error naming it, and leaves the cache.
  KL_ASSERT_OK(RemoveFile(b));
  auto gone = cache.Open(b);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("b.parquet"), std::string::npos) << gone.status().ToString();
  EXPECT_EQ(cache.stats().files, 1u);

  // Not Parquet: the open error, not cached.
  KL_ASSERT_OK(WriteFile(dir.Sub("c.parquet"), "not parquet at all"));
  auto bad = cache.Open(dir.Sub("c.parquet"));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
  EXPECT_EQ(cache.stats().files, 1u);
}

TEST(ParquetFileCacheTest, LimitsEvictTheLeastRecentlyUsed) {
  kl::testing::TempDir dir;
  std::vector<std::string> paths;
  for (int i = 0; i < 5; ++i) {
    paths.push_back(dir.Sub("f" + std::to_string(i) + ".parquet"));
    WriteInts(paths.back(), i * 10, 10 + i);
  }
  ParquetFileCache::Limits limits;
  limits.max_files = 3;
  ParquetFileCache cache(limits);
  for (const auto& p : paths) KL_ASSERT_OK(cache.Open(p).status());
  EXPECT_EQ(cache.stats().files, 3u);
  // f2..f4 stay; f0 was evicted and is opened again (a miss).
  KL_ASSERT_OK(cache.Open(paths[4]).status());
  int64_t misses = cache.stats().misses;
  KL_ASSERT_OK(cache.Open(paths[0]).status());
  EXPECT_EQ(cache.stats().misses, misses + 1);

  // By mapped bytes: a budget below two files' sizes keeps one.
  KL_ASSERT_OK_AND_ASSIGN(uint64_t size, FileSize(paths[4]));
  limits.max_mapped_bytes = size + size / 2;
  cache.SetLimits(limits);
  EXPECT_EQ(cache.stats().files, 1u);
  EXPECT_LE(cache.stats().mapped_bytes, limits.max_mapped_bytes);

  // Idle files leave at the next open.
  limits.max_idle_ms = 0;
  cache.SetLimits(limits);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  KL_ASSERT_OK(cache.Open(paths[1]).status());
  EXPECT_EQ(cache.stats().files, 1u);
  cache.Clear();
  EXPECT_EQ(cache.stats().files, 0u);
  EXPECT_EQ(cache.stats().mapped_bytes, 0u);
}

TEST(ParquetFileCacheTest, SharedByThreads) {
  kl::testing::TempDir dir;
  std::string path = dir.Sub("shared.parquet");
  WriteInts(path, 7, 1000);
  ParquetFileCache cache({});
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto f = cache.Open(path);
        if (!f.ok() || (*f)->num_rows() != 1000) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(cache.stats().files, 1u);
  EXPECT_EQ(cache.stats().hits + cache.stats().misses, 200);
}

}  // namespace
}  // namespace kl::format::parquet
