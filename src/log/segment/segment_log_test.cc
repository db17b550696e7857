// Behaviour only the embedded log has: files, crashes, corruption, the
// writer lock, retention, a full disk, and readers in other processes.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "common/coding.h"
#include "common/file/file_util.h"
#include "log/crc32c.h"
#include "log/log_test_util.h"
#include "log/segment/offset_store.h"
#include "log/segment/segment_verify.h"
#include "log/segment/watermark.h"

extern char** environ;

namespace kl::log {
namespace {

using testing::PollRecords;

SegmentLogOptions SmallOptions(int32_t partitions = 2) {
  SegmentLogOptions o;
  o.partitions = partitions;
  o.segment_bytes = 8 << 10;
  o.index_interval_bytes = 512;
  o.producer_batch_bytes = 4 << 10;
  o.fsync = FsyncPolicy::kNever;
  o.check_value_crcs = true;  // given CRCs checked, as in debug builds
  return o;
}

std::unique_ptr<SegmentLog> OpenLog(const std::string& dir, SegmentLogOptions o = SmallOptions()) {
  auto log = SegmentLog::Open(dir, o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

// The value written at (partition, offset): readers can check any record alone.
std::string ValueFor(int32_t partition, int64_t offset) {
  std::string v = "p" + std::to_string(partition) + "-o" + std::to_string(offset) + "-";
  v.append(40 + static_cast<size_t>((offset * 37) % 200), static_cast<char>('a' + offset % 26));
  return v;
}

Status Append(EventLog* log, int32_t partition, int64_t from, int64_t count) {
  KL_ASSIGN_OR_RETURN(auto producer, log->NewProducer());
  for (int64_t o = from; o < from + count; ++o) {
    KL_RETURN_IF_ERROR(producer->Send({"k", ValueFor(partition, o), 1000 + o, partition}));
  }
  return producer->Flush();
}

// Reads partition `p` from `from` to its end and checks every value.
void ExpectContent(EventLog* log, int32_t p, int64_t from, int64_t end) {
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("check"));
  KL_ASSERT_OK(consumer->Seek(p, from));
  auto got = PollRecords(consumer.get(), static_cast<size_t>(end - from));
  ASSERT_EQ(static_cast<int64_t>(got.size()), end - from);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].first.offset, from + static_cast<int64_t>(i));
    ASSERT_EQ(got[i].second.second, ValueFor(p, got[i].first.offset));
  }
}

std::string NewestSegment(const std::string& dir, int32_t p) {
  std::string pdir = dir + "/partition-" + std::to_string(p);
  auto bases = ListSegments(pdir);
  return bases.ok() && !bases->empty() ? JoinPath(pdir, SegmentFileName(bases->back())) : "";
}

void AppendBytes(const std::string& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

void FlipByte(const std::string& path, uint64_t position) {
  std::string content = *ReadFile(path);
  ASSERT_LT(position, content.size());
  content[position] = static_cast<char>(content[position] ^ 0x5a);
  KL_ASSERT_OK(WriteFile(path, content));
}

// A consumer's values may be parsed where they lie: each is readable kValuePadding bytes
// past its end, the last of a read chunk too (polls of a few bytes end chunks at many
// records). Under AddressSanitizer a byte read past a buffer fails the test.
TEST(SegmentLogTest, ValuesAreReadablePastTheirEnd) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  auto log = OpenLog(dir.path(), o);
  KL_ASSERT_OK(Append(log.get(), 0, 0, 120));
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("padding"));
  KL_ASSERT_OK(consumer->Seek(0, 0));
  int64_t next = 0;
  for (size_t max_bytes : {size_t{1}, size_t{300}, size_t{5000}, size_t{1} << 20}) {
    for (int poll = 0; poll < 40 && next < 120; ++poll) {
      PollOptions po;
      po.max_bytes = max_bytes;
      po.max_records = 30;
      po.timeout_ms = 0;
      KL_ASSERT_OK_AND_ASSIGN(RecordBatch batch, consumer->Poll(po));
      for (const Record& r : batch) {
        ASSERT_EQ(r.offset, next++);
        ASSERT_EQ(r.value, ValueFor(0, r.offset));
        volatile char sum = 0;
        for (size_t i = 0; i < SegmentLog::kValuePadding; ++i) sum = sum + r.value.data()[r.value.size() + i];
      }
    }
  }
  EXPECT_EQ(next, 120);
}

TEST(SegmentLogTest, TornTailAtEveryByteOfTheLastRecordIsCut) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.segment_bytes = 1 << 20;
  {
    auto log = OpenLog(dir.path(), o);
    KL_ASSERT_OK(Append(log.get(), 0, 0, 5));
  }
  std::string path = NewestSegment(dir.path(), 0);
  std::string intact = *ReadFile(path);
  uint64_t last_start = intact.size() - EncodedRecordSize(1, ValueFor(0, 4).size());
  for (uint64_t cut = last_start; cut < intact.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    KL_ASSERT_OK(WriteFile(path, std::string_view(intact).substr(0, cut)));
    auto log = OpenLog(dir.path(), o);
    KL_ASSERT_OK_AND_ASSIGN(auto producer, log->NewProducer());  // the writer recovers
    EXPECT_EQ(*log->EndOffset(0), 4);
    KL_ASSERT_OK(FileSize(path).status());
    EXPECT_EQ(*FileSize(path), last_start);
    // The cut record's offset is reused by the next append.
    KL_ASSERT_OK(producer->Send({"k", ValueFor(0, 4), 0, 0}));
    KL_ASSERT_OK(producer->Flush());
    ExpectContent(log.get(), 0, 0, 5);
  }
}

TEST(SegmentLogTest, ReaderWaitsForARecordStillBeingWritten) {
  kl::testing::TempDir dir;
  auto writer = OpenLog(dir.path());
  KL_ASSERT_OK(Append(writer.get(), 0, 0, 3));
  // A second log object on the same directory reads like another process would.
  auto reader = OpenLog(dir.path());
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, reader->NewConsumer("tail"));
  KL_ASSERT_OK(consumer->Seek(0, 0));
  EXPECT_EQ(PollRecords(consumer.get(), 3).size(), 3u);

  // The writer is half-way through writing offset 3: only a prefix is in the file.
  std::string next;
  AppendRecord(&next, 3, 0, "k", ValueFor(0, 3));
  std::string path = NewestSegment(dir.path(), 0);
  // Publish the watermark ahead of the data (as a power loss under fsync=never
  // can leave it), so that only the reader's own checks stand in the way.
  KL_ASSERT_OK(WriteWatermark(dir.path() + "/partition-0", 4));
  for (size_t prefix : {size_t{3}, size_t{20}, next.size() - 1}) {
    KL_ASSERT_OK_AND_ASSIGN(uint64_t size, FileSize(path));
    AppendBytes(path, std::string_view(next).substr(0, prefix));
    PollOptions quick;
    quick.timeout_ms = 20;
    KL_ASSERT_OK_AND_ASSIGN(RecordBatch batch, consumer->Poll(quick));
    EXPECT_TRUE(batch.empty()) << "a partial record must not be returned (prefix " << prefix << ")";
    EXPECT_EQ(*reader->EndOffset(0), 3);
    ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(size)), 0);
  }
  AppendBytes(path, next);
  auto got = PollRecords(consumer.get(), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first.offset, 3);
  EXPECT_EQ(got[0].second.second, ValueFor(0, 3));
}

TEST(SegmentLogTest, ReadersSeeRecordsOnlyOnceTheyAreAsDurableAsPromised) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.fsync = FsyncPolicy::kInterval;
  o.fsync_interval_ms = 3'600'000;  // the periodic sync will not come during the test
  auto writer = OpenLog(dir.path(), o);
  auto reader = OpenLog(dir.path(), o);  // like another process
  KL_ASSERT_OK(Append(writer.get(), 0, 0, 10));
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, reader->NewConsumer("tail"));
  KL_ASSERT_OK(consumer->Seek(0, 0));
  PollOptions quick;
  quick.timeout_ms = 30;
  KL_ASSERT_OK_AND_ASSIGN(RecordBatch none, consumer->Poll(quick));
  EXPECT_TRUE(none.empty()) << "written but not yet synced: a power loss could still take it back";
  EXPECT_EQ(*reader->EndOffset(0), 0);
  EXPECT_EQ(*writer->EndOffset(0), 0);
  KL_ASSERT_OK_AND_ASSIGN(auto report, VerifySegmentLog(dir.path()));
  EXPECT_EQ(report.partition_reports[0].end_offset, 10) << "verify reads published or not";
  EXPECT_EQ(report.partition_reports[0].watermark, 0);
  EXPECT_EQ(report.partition_reports[0].tail_bytes, 0u);
  KL_ASSERT_OK(writer->SyncAll());  // what the interval syncer does
  EXPECT_EQ(PollRecords(consumer.get(), 10).size(), 10u);
  EXPECT_EQ(*reader->EndOffset(0), 10);

  // A watermark behind the data (a power loss after a sync but before the
  // next publish) bounds readers until a writer opens and publishes again.
  writer.reset();
  KL_ASSERT_OK(WriteWatermark(dir.path() + "/partition-0", 4));
  auto late = OpenLog(dir.path(), o);
  KL_ASSERT_OK_AND_ASSIGN(auto from_start, late->NewConsumer("late"));
  KL_ASSERT_OK(from_start->Seek(0, 0));
  KL_ASSERT_OK_AND_ASSIGN(RecordBatch four, from_start->Poll(quick));
  EXPECT_EQ(four.size(), 4u);
  auto next_writer = OpenLog(dir.path(), o);
  KL_ASSERT_OK(next_writer->NewProducer().status());
  EXPECT_EQ(PollRecords(from_start.get(), 6).size(), 6u);
}

TEST(SegmentLogTest, GarbageTailWaitsForReadersAndIsCutByTheNextWriter) {
  kl::testing::TempDir dir;
  {
    auto log = OpenLog(dir.path());
    KL_ASSERT_OK(Append(log.get(), 1, 0, 4));
  }
  AppendBytes(NewestSegment(dir.path(), 1), std::string(700, '\0') + "garbage after a power cut");
  auto reader = OpenLog(dir.path());
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, reader->NewConsumer("tail"));
  KL_ASSERT_OK(consumer->Seek(1, 0));
  EXPECT_EQ(PollRecords(consumer.get(), 4).size(), 4u);
  PollOptions quick;
  quick.timeout_ms = 20;
  KL_ASSERT_OK_AND_ASSIGN(RecordBatch none, consumer->Poll(quick));  // not an error: a torn tail
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(*reader->EndOffset(1), 4);

  auto writer = OpenLog(dir.path());
  KL_ASSERT_OK(Append(writer.get(), 1, 4, 3));
  auto got = PollRecords(consumer.get(), 3);  // the reader continues where the cut was made
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first.offset, 4);
  EXPECT_EQ(got[2].second.second, ValueFor(1, 6));
}

TEST(SegmentLogTest, DamageInASealedSegmentIsReportedWithFileAndPosition) {
  kl::testing::TempDir dir;
  auto log = OpenLog(dir.path());
  KL_ASSERT_OK(Append(log.get(), 0, 0, 200));  // many 8 KB segments
  std::string pdir = dir.path() + "/partition-0";
  KL_ASSERT_OK_AND_ASSIGN(auto bases, ListSegments(pdir));
  ASSERT_GE(bases.size(), 3u);
  std::string sealed = JoinPath(pdir, SegmentFileName(bases[1]));
  FlipByte(sealed, 300);
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("reader"));
  KL_ASSERT_OK(consumer->Seek(0, 0));
  // Every record before the damage comes back intact, then the error, again
  // and again: the records after it are never skipped silently.
  int64_t next = 0;
  Status status;
  for (int i = 0; i < 100 && status.ok(); ++i) {
    auto batch = consumer->Poll({});
    status = batch.status();
    if (!status.ok()) break;
    for (const Record& r : *batch) {
      ASSERT_EQ(r.offset, next);
      ASSERT_EQ(r.value, ValueFor(0, r.offset));
      ++next;
    }
  }
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_GE(next, bases[1]);
  EXPECT_LT(next, bases[2]);
  EXPECT_NE(status.message().find(SegmentFileName(bases[1])), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("at byte"), std::string::npos) << status.ToString();
  EXPECT_TRUE(consumer->Poll({}).status().IsCorruption());
  EXPECT_EQ(*consumer->Position(0), next);
}

TEST(SegmentLogTest, DamageInTheMiddleOfTheNewestSegmentIsNotMistakenForATornTail) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.segment_bytes = 1 << 20;
  {
    auto log = OpenLog(dir.path(), o);
    KL_ASSERT_OK(Append(log.get(), 0, 0, 30));
  }
  std::string path = NewestSegment(dir.path(), 0);
  KL_ASSERT_OK_AND_ASSIGN(uint64_t size, FileSize(path));
  FlipByte(path, 1000);

  auto reader = OpenLog(dir.path(), o);
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, reader->NewConsumer("reader"));
  KL_ASSERT_OK(consumer->Seek(0, 0));
  Status status;
  for (int i = 0; i < 3 && status.ok(); ++i) status = consumer->Poll({}).status();
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find("valid records follow"), std::string::npos) << status.ToString();

  // The writer refuses to cut valid records off, and leaves the file alone.
  auto writer = OpenLog(dir.path(), o);
  auto producer = writer->NewProducer();
  ASSERT_FALSE(producer.ok());
  EXPECT_TRUE(producer.status().IsCorruption()) << producer.status().ToString();
  EXPECT_NE(producer.status().message().find("refusing"), std::string::npos);
  EXPECT_EQ(*FileSize(path), size);
  writer.reset();
  reader.reset();

  // The operator's way out: cut at the damage, keeping the original aside.
  KL_ASSERT_OK_AND_ASSIGN(std::string what, RepairPartition(dir.path(), 0));
  EXPECT_NE(what.find("cut at offset"), std::string::npos) << what;
  KL_ASSERT_OK_AND_ASSIGN(auto names, ListDir(dir.path() + "/partition-0"));
  std::string aside;
  for (const auto& n : names) {
    if (n.rfind("damaged-", 0) == 0) aside = JoinPath(dir.path() + "/partition-0", n);
  }
  ASSERT_FALSE(aside.empty());
  EXPECT_EQ(*FileSize(JoinPath(aside, SegmentFileName(0))), size) << "the damaged original is kept whole";
  auto repaired = OpenLog(dir.path(), o);
  KL_ASSERT_OK_AND_ASSIGN(auto producer2, repaired->NewProducer());
  KL_ASSERT_OK_AND_ASSIGN(int64_t end, repaired->EndOffset(0));
  EXPECT_GT(end, 0);
  EXPECT_LT(end, 30);
  ExpectContent(repaired.get(), 0, 0, end);
  KL_ASSERT_OK(Append(repaired.get(), 0, end, 3));
  ExpectContent(repaired.get(), 0, 0, end + 3);
  KL_ASSERT_OK_AND_ASSIGN(auto report, VerifySegmentLog(dir.path()));
  EXPECT_TRUE(report.ok());
}

TEST(SegmentLogTest, ALengthDamagedToLookUnfinishedIsStillReportedAsDamage) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.segment_bytes = 1 << 20;
  {
    auto log = OpenLog(dir.path(), o);
    KL_ASSERT_OK(Append(log.get(), 0, 0, 30));
  }
  std::string path = NewestSegment(dir.path(), 0);
  // The length field of offset 5 now claims 16 MB: the record looks unfinished.
  uint64_t position = kSegmentHeaderSize;
  for (int64_t i = 0; i < 5; ++i) position += EncodedRecordSize(1, ValueFor(0, i).size());
  std::string content = *ReadFile(path);
  StoreLE32(content.data() + position + 4, 16u << 20);
  KL_ASSERT_OK(WriteFile(path, content));
  auto reader = OpenLog(dir.path(), o);
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, reader->NewConsumer("reader"));
  KL_ASSERT_OK(consumer->Seek(0, 0));
  int64_t next = 0;
  Status status;
  for (int i = 0; i < 10 && status.ok(); ++i) {
    auto batch = consumer->Poll({});
    status = batch.status();
    if (batch.ok()) next += static_cast<int64_t>(batch->size());
  }
  EXPECT_EQ(next, 5);
  ASSERT_TRUE(status.IsCorruption()) << "not a silent wait: " << status.ToString();
  EXPECT_NE(status.message().find("incomplete record"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("valid records follow"), std::string::npos) << status.ToString();
}

TEST(SegmentLogTest, OnlyOneWriterAtATime) {
  kl::testing::TempDir dir;
  auto first = OpenLog(dir.path());
  KL_ASSERT_OK_AND_ASSIGN(auto producer, first->NewProducer());
  auto second = OpenLog(dir.path());
  auto refused = second->NewProducer();
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsConflict()) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find(std::to_string(::getpid())), std::string::npos)
      << "the message names the writer process: " << refused.status().ToString();
  producer.reset();
  first.reset();  // the lock goes with the last user of the first log
  KL_ASSERT_OK(second->NewProducer().status());
}

TEST(SegmentLogTest, InspectionDoesNotCreateALog) {
  kl::testing::TempDir dir;
  SegmentLogOptions o;
  o.create_if_missing = false;
  auto missing = SegmentLog::Open(dir.Sub("typo"), o);
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_FALSE(FileExists(dir.Sub("typo")));
  EXPECT_TRUE(OpenEventLog("dir:" + dir.Sub("typo") + "?create=false").status().IsNotFound());
}

TEST(SegmentLogTest, PartitionCountIsFixedAtCreation) {
  kl::testing::TempDir dir;
  OpenLog(dir.path(), SmallOptions(3));
  SegmentLogOptions other = SmallOptions(5);
  auto reopened = SegmentLog::Open(dir.path(), other);
  EXPECT_FALSE(reopened.ok());
  SegmentLogOptions any = SmallOptions(0);
  auto log = OpenLog(dir.path(), any);
  EXPECT_EQ(log->NumPartitions(), 3);
}

TEST(SegmentLogTest, RollsSegmentsAndSeeksWithOrWithoutTheIndex) {
  kl::testing::TempDir dir;
  auto log = OpenLog(dir.path(), SmallOptions(1));
  KL_ASSERT_OK(Append(log.get(), 0, 0, 500));
  std::string pdir = dir.path() + "/partition-0";
  KL_ASSERT_OK_AND_ASSIGN(auto bases, ListSegments(pdir));
  ASSERT_GE(bases.size(), 5u);
  for (size_t i = 0; i + 1 < bases.size(); ++i) {
    KL_ASSERT_OK_AND_ASSIGN(uint64_t size, FileSize(JoinPath(pdir, SegmentFileName(bases[i]))));
    EXPECT_LE(size, 8u << 10) << "segments stay within segment_bytes";
    EXPECT_TRUE(FileExists(JoinPath(pdir, IndexFileName(bases[i]))));
  }
  Random rng(9);
  auto check_seeks = [&] {
    KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("seeker"));
    for (int i = 0; i < 40; ++i) {
      int64_t at = static_cast<int64_t>(rng.Uniform(500));
      KL_ASSERT_OK(consumer->Seek(0, at));
      PollOptions one;
      one.max_records = 1;
      auto got = PollRecords(consumer.get(), 1, one);
      ASSERT_EQ(got.size(), 1u);
      ASSERT_EQ(got[0].first.offset, at);
      ASSERT_EQ(got[0].second.second, ValueFor(0, at));
    }
  };
  check_seeks();
  // The index is a hint: garbage or missing index files change nothing.
  for (size_t i = 0; i < bases.size(); ++i) {
    std::string idx = JoinPath(pdir, IndexFileName(bases[i]));
    if (i % 2 == 0) {
      KL_ASSERT_OK(WriteFile(idx, rng.Alnum(160)));
    } else {
      KL_ASSERT_OK(RemoveFile(idx));
    }
  }
  check_seeks();
}

TEST(SegmentLogTest, RetentionBySizeNeverPassesARequiredGroup) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.retention.max_bytes = 20 << 10;
  o.required_groups = {"pipeline"};
  auto log = OpenLog(dir.path(), o);
  KL_ASSERT_OK(Append(log.get(), 0, 0, 600));
  KL_ASSERT_OK(log->EnforceRetention());
  EXPECT_EQ(*log->StartOffset(0), 0) << "the pipeline has committed nothing yet";

  KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("pipeline"));
  KL_ASSERT_OK(consumer->Commit({{0, 250}}));
  KL_ASSERT_OK(log->EnforceRetention());
  KL_ASSERT_OK_AND_ASSIGN(int64_t start, log->StartOffset(0));
  EXPECT_GT(start, 0);
  EXPECT_LE(start, 250) << "offset 250 is not yet consumed and must stay";
  ExpectContent(log.get(), 0, 250, 600);

  KL_ASSERT_OK(consumer->Commit({{0, 600}}));
  KL_ASSERT_OK(log->EnforceRetention());
  KL_ASSERT_OK_AND_ASSIGN(start, log->StartOffset(0));
  uint64_t total = 0;
  KL_ASSERT_OK_AND_ASSIGN(auto bases, ListSegments(dir.path() + "/partition-0"));
  EXPECT_EQ(bases.front(), start);
  for (int64_t b : bases) total += *FileSize(JoinPath(dir.path() + "/partition-0", SegmentFileName(b)));
  EXPECT_LE(total, 20u << 10);
  EXPECT_EQ(*log->EndOffset(0), 600);

  // Reading what retention deleted is an error, not a silent jump.
  KL_ASSERT_OK(consumer->Seek(0, 0));
  auto polled = consumer->Poll({});
  EXPECT_TRUE(polled.status().IsExpired()) << polled.status().ToString();
}

TEST(SegmentLogTest, OldActiveSegmentRollsSoAgeRetentionReachesQuietPartitions) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.segment_bytes = 1 << 20;
  o.segment_max_age_ms = 20;
  auto log = OpenLog(dir.path(), o);
  KL_ASSERT_OK(Append(log.get(), 0, 0, 3));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  KL_ASSERT_OK(Append(log.get(), 0, 3, 2));
  KL_ASSERT_OK_AND_ASSIGN(auto bases, ListSegments(dir.path() + "/partition-0"));
  EXPECT_EQ(bases, (std::vector<int64_t>{0, 3})) << "the aged segment rolled before offset 3";
  ExpectContent(log.get(), 0, 0, 5);
}

TEST(SegmentLogTest, RetentionAlsoRunsInTheBackground) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.retention.max_bytes = 16 << 10;
  o.retention_check_interval_ms = 10;
  auto log = OpenLog(dir.path(), o);
  KL_ASSERT_OK(Append(log.get(), 0, 0, 300));
  int64_t deadline = MonotonicMicros() + 10'000'000;
  while (*log->StartOffset(0) == 0 && MonotonicMicros() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(*log->StartOffset(0), 0) << "the writer's background thread enforces retention";
}

TEST(SegmentLogTest, OversizedRecordsAreRefusedUpFront) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.max_record_bytes = 1000;
  auto log = OpenLog(dir.path(), o);
  KL_ASSERT_OK_AND_ASSIGN(auto producer, log->NewProducer());
  Status s = producer->Send({"k", std::string(1001, 'x'), 0, 0});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  KL_ASSERT_OK(producer->Send({"k", std::string(990, 'x'), 0, 0}));
  KL_ASSERT_OK(producer->Flush());
  EXPECT_EQ(*log->EndOffset(0), 1);
}

// What a collector's shipper and the ingest endpoint do: records read from
// one log (with their framing) appended to another as they are, renumbered.
TEST(SegmentLogTest, RecordsAppendedAsEncodedEqualRecordsFramedAnew) {
  kl::testing::TempDir dir;
  auto source = OpenLog(dir.Sub("source"), SmallOptions(1));
  KL_ASSERT_OK(Append(source.get(), 0, 0, 40));
  auto target = OpenLog(dir.Sub("target"), SmallOptions(1));
  KL_ASSERT_OK(Append(target.get(), 0, 0, 7));  // so the offsets differ
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, source->NewConsumer("copier"));
  KL_ASSERT_OK(consumer->Seek(0, 0));
  KL_ASSERT_OK_AND_ASSIGN(auto producer, target->NewProducer());
  int64_t copied = 0;
  while (copied < 40) {
    KL_ASSERT_OK_AND_ASSIGN(RecordBatch batch, consumer->Poll({}));
    for (const Record& r : batch) {
      DecodedRecord framed;
      std::string problem;
      ASSERT_EQ(DecodeRecord(r.encoded, &framed, &problem), DecodeState::kOk) << problem;
      EXPECT_EQ(framed.encoded_size, r.encoded.size());
      EXPECT_EQ(framed.offset, r.offset);
      EXPECT_EQ(framed.value, r.value);
      KL_ASSERT_OK(producer->Send({r.key, r.value, r.timestamp_ms, 0, r.encoded}));
      ++copied;
    }
  }
  KL_ASSERT_OK(producer->Flush());
  // The target reads back every copy at its own offsets, checksums intact.
  KL_ASSERT_OK_AND_ASSIGN(auto reader, target->NewConsumer("reader"));
  KL_ASSERT_OK(reader->Seek(0, 7));
  auto records = PollRecords(reader.get(), 40);
  ASSERT_EQ(records.size(), 40u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].first.offset, 7 + static_cast<int64_t>(i));
    EXPECT_EQ(records[i].second.second, ValueFor(0, static_cast<int64_t>(i)));
    EXPECT_EQ(records[i].first.timestamp_ms, 1000 + static_cast<int64_t>(i));
  }
  KL_ASSERT_OK_AND_ASSIGN(auto report, VerifySegmentLog(dir.Sub("target")));
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.partition_reports[0].end_offset, 47);
  // An encoded record that does not frame the key and value given is refused.
  std::string other;
  AppendRecord(&other, 0, 1, "k", "another value");
  EXPECT_FALSE(producer->Send({"k", "value", 1, 0, other}).ok());
}

// SendEncoded writes the caller's buffer itself: each record is renumbered
// where it lies (its CRC patched, so it still decodes), across segment rolls,
// and an oversized record refuses the whole lot before anything is written.
TEST(SegmentLogTest, EncodedRecordsAreRenumberedInTheCallersBuffer) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.max_record_bytes = 1000;
  auto log = OpenLog(dir.path(), o);
  KL_ASSERT_OK(Append(log.get(), 0, 0, 7));
  KL_ASSERT_OK_AND_ASSIGN(auto producer, log->NewProducer());
  std::string records;
  for (int64_t i = 0; i < 100; ++i) AppendRecord(&records, 1000 + i, 5000 + i, "k", ValueFor(0, 7 + i));
  std::string oversized = records;
  AppendRecord(&oversized, 1100, 5100, "k", std::string(1000, 'x'));
  EXPECT_EQ(producer->SendEncoded("k", oversized.data(), oversized.size(), 101).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*log->EndOffset(0), 7);
  KL_ASSERT_OK(producer->SendEncoded("k", records.data(), records.size(), 100));
  EXPECT_EQ(*log->EndOffset(0), 107) << "written before SendEncoded returns";
  std::string_view rest = records;
  for (int64_t i = 0; i < 100; ++i) {
    DecodedRecord r;
    std::string problem;
    ASSERT_EQ(DecodeRecord(rest, &r, &problem), DecodeState::kOk) << problem;
    EXPECT_EQ(r.offset, 7 + i);
    rest.remove_prefix(r.encoded_size);
  }
  KL_ASSERT_OK_AND_ASSIGN(auto bases, ListSegments(dir.path() + "/partition-0"));
  EXPECT_GE(bases.size(), 3u) << "100 records of ~200 B roll 8 KB segments";
  ExpectContent(log.get(), 0, 0, 107);
  KL_ASSERT_OK_AND_ASSIGN(auto report, VerifySegmentLog(dir.path()));
  EXPECT_TRUE(report.ok());
}

// SendBatch frames records from the caller's memory and writes them with
// gathered writes, or copies a small batch into the producer's buffer as Send
// does: either way the files must hold byte for byte what Send writes, across
// segment rolls, index entries, other partitions and records Send left
// pending before, under every fsync policy (each publishes at other times).
// batch_gather_min_bytes 0 gathers every batch, the default copies these
// (small) batches, 16 KB does some of each.
struct BatchCase {
  FsyncPolicy fsync;
  uint64_t gather_min_bytes;
};

class BatchTest : public ::testing::TestWithParam<BatchCase> {};

TEST_P(BatchTest, RecordsSentInABatchAreByteForByteThoseSentOneByOne) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(2);
  o.fsync = GetParam().fsync;
  o.fsync_interval_ms = 3'600'000;  // kInterval: published by the SyncAll below, not by a timer mid-test
  o.batch_gather_min_bytes = GetParam().gather_min_bytes;
  o.max_record_bytes = 64 << 10;  // the too-large record below stays small
  auto one_by_one = OpenLog(dir.Sub("one"), o);
  auto batched = OpenLog(dir.Sub("batch"), o);
  Random rng(41);
  std::vector<std::string> keys, values;
  std::vector<ProducerRecord> records;
  for (int i = 0; i < 200; ++i) {
    keys.push_back(i % 50 == 7 ? "" : "cluster-" + std::to_string(rng.Uniform(3)));
    values.push_back(
        i % 60 == 11 ? "" : std::string(rng.Uniform(i % 97 == 5 ? 7000 : 600), static_cast<char>('a' + i % 26)));
  }
  for (int i = 0; i < 200; ++i) {
    ProducerRecord r{keys[i], values[i], 1000 + i, i % 5 == 0 ? -1 : static_cast<int32_t>(rng.Uniform(2))};
    if (i % 3 == 0) r.value_crc32c = Crc32c(values[i]);  // known to the caller, or not
    records.push_back(r);
  }
  KL_ASSERT_OK_AND_ASSIGN(auto a, one_by_one->NewProducer());
  for (const auto& r : records) KL_ASSERT_OK(a->Send(r));
  KL_ASSERT_OK(a->Flush());
  KL_ASSERT_OK(one_by_one->SyncAll());

  KL_ASSERT_OK_AND_ASSIGN(auto b, batched->NewProducer());
  for (size_t i = 0; i < 5; ++i) KL_ASSERT_OK(b->Send(records[i]));  // left pending: written first
  for (size_t at = 5; at < records.size();) {
    size_t n = std::min<size_t>(records.size() - at, 1 + rng.Uniform(90));
    KL_ASSERT_OK(b->SendBatch(std::span<const ProducerRecord>(records).subspan(at, n)));
    at += n;
  }
  // Visible no later than the Flush (possibly earlier: a Send-sized buffer
  // that fills is written and published at once).
  KL_ASSERT_OK(b->Flush());
  KL_ASSERT_OK(batched->SyncAll());
  for (int32_t p = 0; p < 2; ++p) {
    EXPECT_EQ(*batched->EndOffset(p), *one_by_one->EndOffset(p));
    std::string pdir = "/partition-" + std::to_string(p);
    KL_ASSERT_OK_AND_ASSIGN(auto names, ListDir(dir.Sub("one") + pdir));
    KL_ASSERT_OK_AND_ASSIGN(auto batch_names, ListDir(dir.Sub("batch") + pdir));
    EXPECT_EQ(names, batch_names);
    EXPECT_GE(names.size(), 6u) << "several segments and their indexes";
    for (const auto& name : names) {
      if (name.find("watermark") != std::string::npos) continue;
      EXPECT_EQ(*ReadFile(dir.Sub("batch") + pdir + "/" + name), *ReadFile(dir.Sub("one") + pdir + "/" + name)) << name;
    }
  }
  KL_ASSERT_OK_AND_ASSIGN(auto report, VerifySegmentLog(dir.Sub("batch")));
  EXPECT_TRUE(report.ok());
  // A bad record refuses the batch before anything is written.
  std::string big(o.max_record_bytes + 1, 'x');
  std::vector<ProducerRecord> bad{{"k", "fine", 1, 0}, {"k", big, 1, 0}};
  EXPECT_EQ(b->SendBatch(bad).code(), StatusCode::kInvalidArgument);
  // So does a CRC that is not its value's (it would make the record read as damaged).
  std::vector<ProducerRecord> wrong_crc{{"k", "fine", 1, 0}, {"k", "also fine", 1, 0}};
  wrong_crc[1].value_crc32c = Crc32c("fine");
  EXPECT_EQ(b->SendBatch(wrong_crc).code(), StatusCode::kInvalidArgument);
  KL_ASSERT_OK(b->Flush());
  KL_ASSERT_OK(batched->SyncAll());
  EXPECT_EQ(*batched->EndOffset(0), *one_by_one->EndOffset(0));
}

INSTANTIATE_TEST_SUITE_P(FsyncPoliciesAndGatherThresholds, BatchTest,
                         ::testing::Values(BatchCase{FsyncPolicy::kNever, 0}, BatchCase{FsyncPolicy::kNever, 16 << 10},
                                           BatchCase{FsyncPolicy::kNever, SegmentLogOptions{}.batch_gather_min_bytes},
                                           BatchCase{FsyncPolicy::kEveryBatch, 0},
                                           BatchCase{FsyncPolicy::kEveryBatch, 16 << 10},
                                           BatchCase{FsyncPolicy::kInterval, 0},
                                           BatchCase{FsyncPolicy::kInterval, 16 << 10}));

// Steady small batches (a watch's events) wait in the producer's buffer: no
// write until the Flush, which writes each partition once.
TEST(SegmentLogTest, SmallBatchesAreWrittenAtTheFlush) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.producer_batch_bytes = 1 << 20;
  o.segment_bytes = 1 << 20;
  auto log = OpenLog(dir.path(), o);
  KL_ASSERT_OK_AND_ASSIGN(auto producer, log->NewProducer());
  KL_ASSERT_OK(producer->Send({"k", "first", 1000, 0}));
  KL_ASSERT_OK(producer->Flush());
  std::string path = NewestSegment(dir.path(), 0);
  KL_ASSERT_OK_AND_ASSIGN(uint64_t before, FileSize(path));
  std::vector<std::string> values;
  for (int i = 0; i < 30; ++i) values.push_back(ValueFor(0, 1 + i));
  for (int i = 0; i < 30; i += 3) {
    std::vector<ProducerRecord> records;
    for (int j = i; j < i + 3; ++j) records.push_back({"k", values[j], 1001 + j, 0});
    KL_ASSERT_OK(producer->SendBatch(records));
    for (int j = i; j < i + 3; ++j) values[j].assign(values[j].size(), '?');  // copied: the caller reuses its memory
  }
  KL_ASSERT_OK_AND_ASSIGN(uint64_t after_batches, FileSize(path));
  EXPECT_EQ(after_batches, before) << "nothing written before the Flush";
  KL_ASSERT_OK(producer->Flush());
  EXPECT_EQ(*log->EndOffset(0), 31);
  ExpectContent(log.get(), 0, 1, 31);
}

// A batch meeting a full disk: the whole records that fit stay, the partial
// one is cut, and the rest stay with the producer, written once at the next
// Flush with room again.
TEST(SegmentLogTest, ABatchOnAFullDiskKeepsWhatItCouldNotWriteForTheNextFlush) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.segment_bytes = 1 << 20;
  o.batch_gather_min_bytes = 0;  // written at once, gathered
  auto log = OpenLog(dir.path(), o);
  KL_ASSERT_OK(Append(log.get(), 0, 0, 20));
  std::string path = NewestSegment(dir.path(), 0);
  KL_ASSERT_OK_AND_ASSIGN(uint64_t acknowledged_size, FileSize(path));
  KL_ASSERT_OK_AND_ASSIGN(auto producer, log->NewProducer());
  std::vector<std::string> values;
  for (int64_t i = 20; i < 60; ++i) values.push_back(ValueFor(0, i));
  std::vector<ProducerRecord> records;
  for (int64_t i = 20; i < 60; ++i) records.push_back({"k", values[static_cast<size_t>(i - 20)], 1000 + i, 0});
  {
    kl::testing::FileSizeLimit full(acknowledged_size + 3000);
    Status s = producer->SendBatch(records);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("taken back"), std::string::npos) << s.ToString();
    for (auto& v : values) v.assign(v.size(), '?');  // the caller reuses its memory
    EXPECT_FALSE(producer->Flush().ok());
    KL_ASSERT_OK_AND_ASSIGN(uint64_t size, FileSize(path));
    EXPECT_GT(size, acknowledged_size);
    EXPECT_LE(size, acknowledged_size + 3000);
    KL_ASSERT_OK_AND_ASSIGN(auto report, VerifySegmentLog(dir.path()));
    EXPECT_EQ(report.partition_reports[0].tail_bytes, 0u) << "ends on a record boundary";
  }
  KL_ASSERT_OK(producer->Flush());
  EXPECT_EQ(*log->EndOffset(0), 60);
  ExpectContent(log.get(), 0, 0, 60);
}

TEST(SegmentLogTest, RetentionByAgeUsesTheLastAppendTime) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.retention.max_age_ms = 3'600'000;
  auto log = OpenLog(dir.path(), o);
  KL_ASSERT_OK(Append(log.get(), 0, 0, 300));
  std::string pdir = dir.path() + "/partition-0";
  KL_ASSERT_OK_AND_ASSIGN(auto bases, ListSegments(pdir));
  ASSERT_GE(bases.size(), 4u);
  // The two oldest segments were last written two hours ago.
  for (int i = 0; i < 2; ++i) {
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = ::time(nullptr) - 7200;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    ASSERT_EQ(::utimensat(AT_FDCWD, JoinPath(pdir, SegmentFileName(bases[i])).c_str(), times, 0), 0);
  }
  KL_ASSERT_OK(log->EnforceRetention());
  EXPECT_EQ(*log->StartOffset(0), bases[2]);
  ExpectContent(log.get(), 0, bases[2], 300);
}

TEST(SegmentLogTest, AFullDiskLosesNothingAcknowledgedAndRetriesCleanly) {
  kl::testing::TempDir dir;
  SegmentLogOptions o = SmallOptions(1);
  o.segment_bytes = 1 << 20;
  o.producer_batch_bytes = 1 << 20;
  auto log = OpenLog(dir.path(), o);
  KL_ASSERT_OK_AND_ASSIGN(auto producer, log->NewProducer());
  for (int64_t i = 0; i < 20; ++i) KL_ASSERT_OK(producer->Send({"k", ValueFor(0, i), 0, 0}));
  KL_ASSERT_OK(producer->Flush());
  std::string path = NewestSegment(dir.path(), 0);
  KL_ASSERT_OK_AND_ASSIGN(uint64_t acknowledged_size, FileSize(path));

  for (int64_t i = 20; i < 60; ++i) KL_ASSERT_OK(producer->Send({"k", ValueFor(0, i), 0, 0}));
  {
    kl::testing::FileSizeLimit full(acknowledged_size + 3000);  // room for a few records, not for the batch
    Status s = producer->Flush();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("taken back"), std::string::npos) << s.ToString();
    // The records that fit completely stay (a reader may have seen them);
    // the partial one is cut, so the file ends on a record boundary.
    KL_ASSERT_OK_AND_ASSIGN(int64_t end, log->EndOffset(0));
    EXPECT_GT(end, 20);
    EXPECT_LT(end, 60);
    KL_ASSERT_OK_AND_ASSIGN(uint64_t size, FileSize(path));
    EXPECT_LE(size, acknowledged_size + 3000);
    ExpectContent(log.get(), 0, 0, end);
    KL_ASSERT_OK_AND_ASSIGN(auto report, VerifySegmentLog(dir.path()));
    EXPECT_EQ(report.partition_reports[0].tail_bytes, 0u);
    EXPECT_EQ(report.partition_reports[0].end_offset, end);
  }
  // Space again: the same records go in once, at the offsets they would have had.
  KL_ASSERT_OK(producer->Flush());
  EXPECT_EQ(*log->EndOffset(0), 60);
  ExpectContent(log.get(), 0, 0, 60);
}

TEST(SegmentLogTest, EveryFsyncPolicyKeepsFlushedRecordsAcrossReopen) {
  for (FsyncPolicy policy : {FsyncPolicy::kEveryBatch, FsyncPolicy::kInterval, FsyncPolicy::kNever}) {
    kl::testing::TempDir dir;
    SegmentLogOptions o = SmallOptions(2);
    o.fsync = policy;
    o.fsync_interval_ms = 10;
    {
      auto log = OpenLog(dir.path(), o);
      KL_ASSERT_OK(Append(log.get(), 1, 0, 50));
      std::this_thread::sleep_for(std::chrono::milliseconds(30));  // let the interval syncer run
    }
    auto log = OpenLog(dir.path(), o);
    EXPECT_EQ(*log->EndOffset(1), 50);
    ExpectContent(log.get(), 1, 0, 50);
  }
}

TEST(SegmentLogTest, CommittedOffsetsSurviveReopenAndRejectBadGroups) {
  kl::testing::TempDir dir;
  {
    auto log = OpenLog(dir.path());
    KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("pipeline"));
    KL_ASSERT_OK(consumer->Commit({{0, 12}, {1, 7}}));
    EXPECT_FALSE(log->NewConsumer("../escape").ok());
    EXPECT_FALSE(log->NewConsumer("").ok());
  }
  auto log = OpenLog(dir.path());
  KL_ASSERT_OK_AND_ASSIGN(auto committed, log->CommittedOffsets("pipeline"));
  EXPECT_EQ(committed, (std::map<int32_t, int64_t>{{0, 12}, {1, 7}}));
  KL_ASSERT_OK_AND_ASSIGN(auto groups, log->Groups());
  EXPECT_EQ(groups, std::vector<std::string>{"pipeline"});
  KL_ASSERT_OK(WriteFile(dir.path() + "/consumers/pipeline.offsets.json", "{\"offsets\": {\"0\": \"x\"}}"));
  EXPECT_TRUE(log->CommittedOffsets("pipeline").status().IsCorruption());
}

// In the writer's process a waiting reader does not look at the files every
// reader_poll_interval_ms (no other process can append): it sleeps until an
// append wakes it. No way of publishing records may leave it asleep until its
// deadline: a plain flush, a batch written from the caller's memory, and the
// interval policy's periodic sync.
TEST(SegmentLogTest, AReaderInTheWritersProcessIsWokenByEveryPublication) {
  for (FsyncPolicy policy : {FsyncPolicy::kNever, FsyncPolicy::kEveryBatch, FsyncPolicy::kInterval}) {
    SCOPED_TRACE(static_cast<int>(policy));
    kl::testing::TempDir dir;
    SegmentLogOptions o = SmallOptions(1);
    o.fsync = policy;
    o.fsync_interval_ms = 3'600'000;  // published by the SyncAll below, not by the background thread
    o.batch_gather_min_bytes = 1024;
    auto log = OpenLog(dir.path(), o);
    KL_ASSERT_OK_AND_ASSIGN(auto producer, log->NewProducer());  // the writer is in this process now
    KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("tail"));
    KL_ASSERT_OK(consumer->Seek(0, 0));
    PollOptions patient;
    patient.timeout_ms = 60'000;
    size_t read = 0;
    for (bool gathered : {false, true}) {
      std::vector<std::string> values;
      for (size_t i = 0; i < (gathered ? 20u : 1u); ++i) values.push_back(ValueFor(0, static_cast<int64_t>(read + i)));
      std::thread append([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the reader is asleep by then
        std::vector<ProducerRecord> records;
        for (const auto& v : values) records.push_back({"k", v, 1000, 0});
        Status s = gathered ? producer->SendBatch(records) : producer->Send(records[0]);
        if (s.ok()) s = producer->Flush();
        if (s.ok() && policy == FsyncPolicy::kInterval) s = log->SyncAll();
        EXPECT_TRUE(s.ok()) << s.ToString();
      });
      int64_t start = MonotonicMicros();
      KL_ASSERT_OK_AND_ASSIGN(RecordBatch batch, consumer->Poll(patient));
      int64_t waited_ms = (MonotonicMicros() - start) / 1000;
      append.join();
      ASSERT_FALSE(batch.empty()) << (gathered ? "gathered batch" : "flush");
      EXPECT_LT(waited_ms, 20'000) << "woken by the append, not by the deadline";
      // Whatever the first poll did not take comes at once.
      auto rest = PollRecords(consumer.get(), values.size() - batch.size());
      EXPECT_EQ(batch.size() + rest.size(), values.size());
      read += values.size();
    }
  }
}

TEST(SegmentLogTest, ProducersAndConsumersInManyThreads) {
  kl::testing::TempDir dir;
  auto log = OpenLog(dir.path(), SmallOptions(2));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1500;
  std::atomic<bool> failed{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      auto producer = log->NewProducer();  // one producer per thread, all on one writer
      if (!producer.ok()) {
        failed = true;
        return;
      }
      for (int i = 0; i < kPerThread; ++i) {
        std::string value = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!(*producer)->Send({"k", value, 0, i % 2}).ok()) failed = true;
        if (i % 100 == 99 && !(*producer)->Flush().ok()) failed = true;
      }
      if (!(*producer)->Flush().ok()) failed = true;
    });
  }
  // Meanwhile a consumer follows both partitions.
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("follower"));
  KL_ASSERT_OK(consumer->Seek(0, 0));
  KL_ASSERT_OK(consumer->Seek(1, 0));
  auto got = PollRecords(consumer.get(), kThreads * kPerThread);
  for (auto& w : writers) w.join();
  ASSERT_FALSE(failed);
  ASSERT_EQ(got.size(), static_cast<size_t>(kThreads * kPerThread));
  // Each thread's records appear once, in its send order within a partition.
  std::map<std::pair<int32_t, int>, int> last;  // (partition, thread) -> last sequence
  std::map<int32_t, int64_t> next_offset;
  for (const auto& [record, content] : got) {
    ASSERT_EQ(record.offset, next_offset[record.partition]++);
    const std::string& v = content.second;
    int thread = std::stoi(v.substr(1, v.find('-') - 1));
    int seq = std::stoi(v.substr(v.find('-') + 1));
    auto key = std::make_pair(record.partition, thread);
    auto it = last.find(key);
    ASSERT_TRUE(it == last.end() || it->second < seq) << v;
    last[key] = seq;
  }
  EXPECT_EQ(*log->EndOffset(0) + *log->EndOffset(1), kThreads * kPerThread);
}

// ---- several processes on one log directory ----

constexpr int32_t kProcPartitions = 3;

// A writer process (this test binary started again with KL_LOG_TEST_WRITER_DIR
// set): appends ValueFor(p, offset) records forever, flushing often, until killed.
[[noreturn]] void RunChildWriter(const char* dir) {
  auto log = OpenLog(dir, SmallOptions(kProcPartitions));
  if (!log) ::_exit(3);
  auto producer = log->NewProducer();
  if (!producer.ok()) {
    std::fprintf(stderr, "child writer: %s\n", producer.status().ToString().c_str());
    ::_exit(4);
  }
  std::vector<int64_t> next(kProcPartitions);
  for (int32_t p = 0; p < kProcPartitions; ++p) next[p] = *log->EndOffset(p);
  Random rng(static_cast<uint64_t>(::getpid()));
  while (true) {
    int n = 1 + static_cast<int>(rng.Uniform(30));
    for (int i = 0; i < n; ++i) {
      int32_t p = static_cast<int32_t>(rng.Uniform(kProcPartitions));
      if (!(*producer)->Send({"k", ValueFor(p, next[p]), 0, p}).ok()) ::_exit(5);
      ++next[p];
    }
    if (!(*producer)->Flush().ok()) ::_exit(6);
  }
}

const bool kIsChild = [] {
  if (const char* dir = std::getenv("KL_LOG_TEST_WRITER_DIR")) RunChildWriter(dir);
  return false;
}();

pid_t SpawnWriter(const std::string& dir) {
  std::vector<std::string> env_strings = {"KL_LOG_TEST_WRITER_DIR=" + dir};
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  char arg0[] = "log_segment_test_writer";
  char* argv[] = {arg0, nullptr};
  pid_t pid = -1;
  EXPECT_EQ(::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, envp.data()), 0);
  return pid;
}

TEST(SegmentLogMultiProcessTest, ReaderFollowsWritersKilledAtRandomMoments) {
  ASSERT_FALSE(kIsChild);
  kl::testing::TempDir dir;
  auto reader = OpenLog(dir.path(), SmallOptions(kProcPartitions));
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, reader->NewConsumer("tail"));
  for (int32_t p = 0; p < kProcPartitions; ++p) KL_ASSERT_OK(consumer->Seek(p, 0));
  std::vector<int64_t> next(kProcPartitions, 0);
  uint64_t records = 0;
  auto drain = [&](int64_t for_ms) {
    int64_t until = MonotonicMicros() + for_ms * 1000;
    while (MonotonicMicros() < until) {
      PollOptions options;
      options.timeout_ms = 10;
      options.max_records = 1 + records % 97;  // vary batch boundaries
      auto batch = consumer->Poll(options);
      ASSERT_TRUE(batch.ok()) << batch.status().ToString();
      for (const Record& r : *batch) {
        ASSERT_EQ(r.offset, next[r.partition]) << "partition " << r.partition;
        ASSERT_EQ(r.value, ValueFor(r.partition, r.offset));
        ++next[r.partition];
        ++records;
      }
    }
  };
  Random rng(77);
  const int rounds = 6;
  for (int round = 0; round < rounds; ++round) {
    pid_t child = SpawnWriter(dir.path());
    ASSERT_GT(child, 0);
    drain(40 + static_cast<int64_t>(rng.Uniform(200)));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited on its own with " << WEXITSTATUS(status);
  }
  // A last writer recovers whatever the last kill left, then stops cleanly.
  {
    auto writer = OpenLog(dir.path(), SmallOptions(kProcPartitions));
    KL_ASSERT_OK(writer->NewProducer().status());
  }
  drain(300);
  for (int32_t p = 0; p < kProcPartitions; ++p) {
    KL_ASSERT_OK_AND_ASSIGN(int64_t end, reader->EndOffset(p));
    EXPECT_EQ(next[p], end) << "the reader saw every record of partition " << p;
  }
  EXPECT_GT(records, 1000u) << "the writers should have written plenty";
}

}  // namespace
}  // namespace kl::log
