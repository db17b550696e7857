#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/coding.h"
#include "common/file/file_util.h"
#include "common/json.h"
#include "common/random.h"
#include "common/string_util.h"
#include "common/testing/test_util.h"
#include "common/worker_pool.h"

namespace kl {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  KL_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(StatusTest, CarriesCodeMessageAndContext) {
  Status s = Status::Corruption("bad magic").WithContext("reading manifest m-1");
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.ToString(), "Corruption: reading manifest m-1: bad magic");
  EXPECT_TRUE(Status::OK().WithContext("x").ok());
}

TEST(ResultTest, PropagatesErrorsThroughMacros) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
}

TEST(CodingTest, VarintAndZigZagRoundTrip) {
  Random rng(7);
  std::string buf;
  std::vector<int64_t> values = {0, 1, -1, INT64_MAX, INT64_MIN, 63, -64, 64};
  for (int i = 0; i < 1000; ++i) values.push_back(static_cast<int64_t>(rng.Next()));
  for (int64_t v : values) PutVarint64(&buf, ZigZagEncode(v));
  ByteReader reader(buf);
  for (int64_t v : values) EXPECT_EQ(reader.ZigZag(), v);
  EXPECT_TRUE(reader.ok());
  EXPECT_EQ(reader.remaining(), 0u);
  reader.Varint();
  EXPECT_FALSE(reader.ok()) << "reading past the end must fail";
}

TEST(CodingTest, TruncatedVarintFails) {
  std::string buf;
  PutVarint64(&buf, 1ULL << 40);
  buf.pop_back();
  ByteReader reader(buf);
  reader.Varint();
  EXPECT_FALSE(reader.ok());
}

TEST(JsonTest, ParsesAndWritesBack) {
  auto parsed = ParseJson(R"({"a":1,"b":[true,null,"x\"y"],"c":{"d":2.5},"e":-7})", "test");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const JsonValue& v = *parsed;
  EXPECT_EQ(*v.GetInt("a"), 1);
  EXPECT_EQ(v.Find("b")->items().size(), 3u);
  EXPECT_EQ(v.Find("b")->items()[2].as_string(), "x\"y");
  EXPECT_DOUBLE_EQ(v.Find("c")->Find("d")->as_double(), 2.5);
  EXPECT_EQ(v.ToJson(), R"({"a":1,"b":[true,null,"x\"y"],"c":{"d":2.5},"e":-7})");
  EXPECT_FALSE(v.GetString("a").ok());
}

TEST(JsonTest, MalformedInputNamesTheSource) {
  auto parsed = ParseJson("{\"a\": [1, 2", "snapshot-3");
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(parsed.status().IsCorruption());
  EXPECT_NE(parsed.status().message().find("snapshot-3"), std::string::npos);
}

TEST(JsonTest, WriterEscapesControlCharacters) {
  JsonWriter w;
  w.BeginObject().Key("k").String(std::string("a\x01\n", 3)).Key("n").Double(1).EndObject();
  EXPECT_EQ(w.str(), "{\"k\":\"a\\u0001\\n\",\"n\":1.0}");
  auto back = ParseJson(w.str());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back->GetString("k"), std::string("a\x01\n", 3));
}

TEST(FileUtilTest, AtomicAndExclusiveWrites) {
  testing::TempDir dir;
  std::string path = dir.Sub("a/b/file");
  KL_ASSERT_OK(CreateDirs(DirName(path)));
  KL_ASSERT_OK(WriteFileAtomic(path, "one"));
  KL_ASSERT_OK(WriteFileAtomic(path, "two"));
  EXPECT_EQ(*ReadFile(path), "two");
  Status s = WriteFileIfAbsent(path, "three");
  EXPECT_TRUE(s.IsAlreadyExists()) << s.ToString();
  EXPECT_EQ(*ReadFile(path), "two");
  KL_ASSERT_OK(WriteFileIfAbsent(dir.Sub("a/b/other"), "x"));
  auto names = ListDir(dir.Sub("a/b"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"file", "other"})) << "no temp files may remain";
  auto missing = ReadFile(dir.Sub("nope"));
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
}

TEST(FileUtilTest, OverwriteLeavesExactlyTheNewContents) {
  testing::TempDir dir;
  std::string path = dir.Sub("hint");
  KL_ASSERT_OK(OverwriteFile(path, "9"));  // absent: created
  EXPECT_EQ(*ReadFile(path), "9");
  KL_ASSERT_OK(OverwriteFile(path, "8"));  // as long: in place
  EXPECT_EQ(*ReadFile(path), "8");
  KL_ASSERT_OK(OverwriteFile(path, "100"));  // longer: in place, grown
  EXPECT_EQ(*ReadFile(path), "100");
  KL_ASSERT_OK(OverwriteFile(path, "7"));  // shorter: no byte of the old contents may remain
  EXPECT_EQ(*ReadFile(path), "7");
  KL_ASSERT_OK(OverwriteFile(path, ""));
  EXPECT_EQ(*ReadFile(path), "");
  auto names = ListDir(dir.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"hint"}));
  EXPECT_FALSE(OverwriteFile(dir.Sub("no/such/dir/hint"), "1").ok());
}

TEST(FileUtilTest, MappedAndAppendFiles) {
  testing::TempDir dir;
  auto f = AppendFile::Open(dir.Sub("log"), true);
  ASSERT_TRUE(f.ok());
  KL_ASSERT_OK((*f)->Append("hello "));
  KL_ASSERT_OK((*f)->Append("world"));
  KL_ASSERT_OK((*f)->Truncate(5));
  KL_ASSERT_OK((*f)->Close());
  auto m = MappedFile::Open(dir.Sub("log"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->data(), "hello");
}

// The write() system calls this thread has made so far (Linux's per-thread I/O
// accounting), or -1 where the kernel does not say.
static int64_t ThreadWriteCalls() {
  std::ifstream io("/proc/thread-self/io");
  std::string key;
  int64_t value = 0;
  while (io >> key >> value) {
    if (key == "syscw:") return value;
  }
  return -1;
}

// Writes larger than one system call's share (256 KB) go out in pieces: every byte lands
// once, in order, whatever the sizes around the piece boundaries, and no write() carries
// more than 256 KB (the page cache sizes its folios by the write; see file_util.cc), which
// the thread's count of write calls shows: with the cap removed or raised there are far
// fewer of them. (At least, not exactly: a sanitizer's runtime makes writes of its own.)
TEST(FileUtilTest, LargeWritesLandWholeAndInOrderAtMost256KBPerCall) {
  testing::TempDir dir;
  std::string data((2 << 20) + 7, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  auto f = AppendFile::Open(dir.Sub("big"), true);
  ASSERT_TRUE(f.ok());
  const int64_t calls_before = ThreadWriteCalls();
  KL_ASSERT_OK((*f)->Append(std::string_view(data).substr(0, 3)));  // 1 call
  // Some sandboxes show the file with counts that never move: only a count that saw the
  // write just made can check the others.
  const bool counting = calls_before >= 0 && ThreadWriteCalls() > calls_before;
  KL_ASSERT_OK((*f)->Append(std::string_view(data).substr(3, (256 << 10) + 1)));   // 2 calls
  KL_ASSERT_OK((*f)->Append(std::string_view(data).substr(3 + (256 << 10) + 1)));  // 1.75 MB + 3: 8 calls
  const int64_t calls_after = ThreadWriteCalls();
  if (counting) EXPECT_GE(calls_after - calls_before, 10);  // 3 without the cap
  EXPECT_EQ((*f)->size(), data.size());
  KL_ASSERT_OK((*f)->Close());
  EXPECT_EQ(*ReadFile(dir.Sub("big")), data);
  const int64_t atomic_before = ThreadWriteCalls();
  KL_ASSERT_OK(WriteFileAtomic(dir.Sub("atomic"), data));  // 2 MB + 7: 9 calls
  const int64_t atomic_after = ThreadWriteCalls();
  if (counting) EXPECT_GE(atomic_after - atomic_before, 9);  // 1 without the cap
  EXPECT_EQ(*ReadFile(dir.Sub("atomic")), data);
  if (!counting)
    GTEST_SKIP() << "no moving count of write calls in /proc/thread-self/io: the write sizes went unchecked";
}

// A copy holds the source's bytes (more than one buffer's worth), replaces what was at the
// target, and a missing source is an error naming it that leaves no target behind.
TEST(FileUtilTest, CopiesFiles) {
  testing::TempDir dir;
  std::string bytes;
  for (int i = 0; i < (3 << 20) / 7; ++i) bytes += std::to_string(i % 1000003);
  KL_ASSERT_OK(WriteFile(dir.Sub("from"), bytes));
  KL_ASSERT_OK(WriteFile(dir.Sub("to"), std::string(bytes.size() * 2, 'x')));
  // Both ways: in the kernel, and through a buffer (where the kernel cannot or stops short).
  for (CopyVia via : {CopyVia::kKernel, CopyVia::kBuffer}) {
    for (bool sync : {false, true}) {
      KL_ASSERT_OK(WriteFile(dir.Sub("to"), std::string(bytes.size() * 2, 'x')));
      auto copied = CopyFile(dir.Sub("from"), dir.Sub("to"), sync, via);
      ASSERT_TRUE(copied.ok()) << copied.status().ToString();
      EXPECT_EQ(*copied, bytes.size());
      EXPECT_TRUE(*ReadFile(dir.Sub("to")) == bytes);
    }
  }
  // An empty source copies to an empty file either way.
  KL_ASSERT_OK(WriteFile(dir.Sub("empty"), ""));
  for (CopyVia via : {CopyVia::kKernel, CopyVia::kBuffer}) {
    auto copied = CopyFile(dir.Sub("empty"), dir.Sub("to"), false, via);
    ASSERT_TRUE(copied.ok()) << copied.status().ToString();
    EXPECT_EQ(*copied, 0u);
    EXPECT_TRUE(ReadFile(dir.Sub("to"))->empty());
  }
  auto missing = CopyFile(dir.Sub("nope"), dir.Sub("to2"));
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  EXPECT_FALSE(FileExists(dir.Sub("to2")));
}

TEST(StringUtilTest, ParsesAndSplits) {
  EXPECT_EQ(Split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Split("a,,b", ',', true), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ParseInt64("-42"), -42);
  EXPECT_FALSE(ParseInt64("42x").has_value());
  EXPECT_EQ(ParseInt64("+5"), 5);
  EXPECT_FALSE(ParseInt64("+-5").has_value());
  EXPECT_FALSE(ParseInt64("+").has_value());
  EXPECT_FALSE(ParseInt64("99999999999999999999").has_value());
  EXPECT_EQ(Trim("  x \n"), "x");
}

TEST(ClockTest, Rfc3339RoundTrip) {
  EXPECT_EQ(ParseRfc3339Millis("1970-01-01T00:00:00Z"), 0);
  // Days a month lacks are malformed, not the next month's.
  EXPECT_EQ(ParseRfc3339Millis("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(ParseRfc3339Millis("2024-02-30T00:00:00Z"), -1);
  EXPECT_EQ(ParseRfc3339Millis("2023-02-29T00:00:00Z"), -1);
  EXPECT_EQ(ParseRfc3339Millis("2024-04-31T00:00:00Z"), -1);
  EXPECT_EQ(ParseRfc3339Millis("2019-05-31T11:23:14Z"), 1559301794000);
  EXPECT_EQ(ParseRfc3339Millis("2019-05-31T13:23:14.5+02:00"), 1559301794500);
  EXPECT_EQ(FormatRfc3339(1559301794000), "2019-05-31T11:23:14Z");
  EXPECT_EQ(FormatIsoMillis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(ParseRfc3339Millis("garbage"), -1);
  EXPECT_EQ(ParseRfc3339Millis("2019-05-31T11:23:14"), 1559301794000);  // no zone: UTC
  EXPECT_EQ(ParseRfc3339Millis("2019-05-31t11:23:14.123456789z"), 1559301794123);
  EXPECT_EQ(ParseRfc3339Millis("2019-05-31T04:23:14-07:00"), 1559301794000);
  for (const char* bad :
       {"2019-13-31T11:23:14Z", "2019-05-00T11:23:14Z", "2019-05-31T24:00:00Z", "2019-05-31T11:60:00Z",
        "2019-05-31T11:23:14.Z", "2019-05-31T11:23:14+0200", "2019-05-31T11:23:14Zjunk", " 019-05-31T11:23:14Z",
        "2019-05-31X11:23:14Z", "2019-05-31T11:23:14+02:00:00"}) {
    EXPECT_EQ(ParseRfc3339Millis(bad), -1) << bad;
  }
}

TEST(ClockTest, CalendarArithmetic) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  for (int64_t days : {-719468LL, -1LL, 0LL, 59LL, 11016LL, 2932896LL}) {
    int64_t y;
    unsigned m, d;
    CivilFromDays(days, &y, &m, &d);
    EXPECT_EQ(DaysFromCivil(y, m, d), days);
  }
  EXPECT_EQ(FloorDiv(-1, 1000), -1);
  EXPECT_EQ(FloorDiv(-1000, 1000), -1);
  EXPECT_EQ(FloorDiv(999, 1000), 0);
  EXPECT_EQ(FloorDiv(INT64_MIN, 1000), INT64_MIN / 1000 - 1);
  EXPECT_EQ(FloorDiv(INT64_MAX, 1), INT64_MAX);
}

TEST(RandomTest, DeterministicForSeed) {
  Random a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Next(), b.Next());
  EXPECT_NE(Random(42).Next(), c.Next());
  Random r(1);
  for (int i = 0; i < 1000; ++i) {
    int64_t v = r.Range(-3, 3);
    EXPECT_GE(v, -3);
    EXPECT_LE(v, 3);
  }
  EXPECT_EQ(r.Uuid().size(), 36u);
}

TEST(WorkerPoolTest, RunsEveryTaskOnceOnSeveralThreads) {
  WorkerPool pool;
  for (int parallelism : {1, 2, 4, 16}) {
    std::vector<std::atomic<int>> runs(200);
    std::mutex mu;
    std::set<std::thread::id> threads;
    KL_ASSERT_OK(pool.Run(runs.size(), parallelism, [&](size_t i) {
      runs[i].fetch_add(1);
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
      return Status::OK();
    }));
    for (auto& r : runs) EXPECT_EQ(r.load(), 1);
    EXPECT_LE(threads.size(), static_cast<size_t>(parallelism));
    if (parallelism == 1) {
      EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
    }
  }
  // Tasks that wait for one another finish only when they really run side by side.
  std::atomic<int> arrived{0};
  KL_ASSERT_OK(pool.Run(3, 3, [&](size_t) {
    arrived.fetch_add(1);
    for (int spin = 0; arrived.load() < 3; ++spin) {
      if (spin > 20000) return Status::Internal("tasks did not run at the same time");
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return Status::OK();
  }));
  EXPECT_EQ(pool.helpers(), 15);
}

TEST(WorkerPoolTest, ReportsTheFirstFailureAndSkipsTasksNotStarted) {
  WorkerPool pool;
  std::atomic<int> ran{0};
  Status s = pool.Run(1000, 4, [&](size_t i) {
    ran.fetch_add(1);
    if (i == 3 || i == 5) return Status::IOError("task " + std::to_string(i));
    return Status::OK();
  });
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_EQ(s.message(), "task 3");
  EXPECT_LT(ran.load(), 1000);
  // Inline (parallelism 1): stops at the first failure.
  ran = 0;
  s = pool.Run(10, 1, [&](size_t i) {
    ran.fetch_add(1);
    return i == 2 ? Status::Corruption("bad") : Status::OK();
  });
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(ran.load(), 3);
}

TEST(WorkerPoolTest, NestedAndConcurrentCallsFinish) {
  WorkerPool pool(2);
  std::atomic<int> leaves{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      Status s = pool.Run(8, 3, [&](size_t) {
        return pool.Run(8, 3, [&](size_t) {
          leaves.fetch_add(1);
          return Status::OK();
        });
      });
      EXPECT_TRUE(s.ok()) << s.ToString();
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(leaves.load(), 4 * 8 * 8);
}

TEST(WorkerPoolTest, HelperCpuIsCounted) {
  WorkerPool pool;
  double helper_cpu = -1;
  std::atomic<int> arrived{0};
  KL_ASSERT_OK(pool.Run(
      2, 2,
      [&](size_t) {
        // Both tasks run at once, so one of them runs on the helper.
        arrived.fetch_add(1);
        for (int spin = 0; arrived.load() < 2; ++spin) {
          if (spin > 20000) return Status::Internal("tasks did not run at the same time");
          std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        double start = ThreadCpuSeconds();
        volatile uint64_t x = 0;
        while (ThreadCpuSeconds() - start < 0.02) x = x + 1;
        return Status::OK();
      },
      &helper_cpu));
  EXPECT_GE(helper_cpu, 0.015);
  EXPECT_LE(helper_cpu, 1.0);
  WorkerPool::SetDefaultParallelism(3);
  EXPECT_EQ(WorkerPool::DefaultParallelism(), 3);
  WorkerPool::SetDefaultParallelism(0);
  EXPECT_EQ(WorkerPool::DefaultParallelism(), WorkerPool::AvailableCores());
  EXPECT_GE(WorkerPool::AvailableCores(), 1);
}

}  // namespace
}  // namespace kl
