// The contract of event_log.h, checked against both backends: the embedded
// SegmentLog and KafkaLog on librdkafka's mock cluster. Ends with a random
// property test that drives a log and an in-memory model side by side.
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "log/log_test_util.h"
#include "log/segment/record_format.h"

namespace kl::log {
namespace {

using testing::Backend;
using testing::LogModel;
using testing::MakeValue;
using testing::ModelRecord;
using testing::PollRecords;

template <typename B>
class ConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = backend_.Open();
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
  }
  void Reopen() {
    log_.reset();
    auto log = backend_.Open();
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
  }

  // Sends `n` records with keys cluster-0..cluster-9 and flushes; returns them per partition.
  std::map<int32_t, std::vector<ModelRecord>> SendKeyed(int n, Random& rng, size_t min_size = 100,
                                                        size_t max_size = 3000) {
    std::map<int32_t, std::vector<ModelRecord>> sent;
    auto producer = log_->NewProducer();
    EXPECT_TRUE(producer.ok()) << producer.status().ToString();
    if (!producer.ok()) return sent;
    for (int i = 0; i < n; ++i) {
      ModelRecord r{"cluster-" + std::to_string(rng.Uniform(10)), MakeValue(rng, min_size, max_size, std::to_string(i)),
                    1'700'000'000'000 + i};
      KL_EXPECT_OK((*producer)->Send({r.key, r.value, r.timestamp_ms}));
      sent[log_->PartitionFor(r.key)].push_back(r);
    }
    KL_EXPECT_OK((*producer)->Flush());
    return sent;
  }

  B backend_;
  std::unique_ptr<EventLog> log_;
};

using Backends = ::testing::Types<testing::SegmentBackend, testing::KafkaBackend>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, testing::SegmentBackend> ? "Segment" : "Kafka";
  }
};
TYPED_TEST_SUITE(ConformanceTest, Backends, BackendNames);

TYPED_TEST(ConformanceTest, NewLogIsEmpty) {
  EXPECT_EQ(this->log_->NumPartitions(), Backend::kPartitions);
  for (int32_t p = 0; p < Backend::kPartitions; ++p) {
    KL_ASSERT_OK_AND_ASSIGN(int64_t start, this->log_->StartOffset(p));
    KL_ASSERT_OK_AND_ASSIGN(int64_t end, this->log_->EndOffset(p));
    EXPECT_EQ(start, 0);
    EXPECT_EQ(end, 0);
  }
  EXPECT_FALSE(this->log_->EndOffset(Backend::kPartitions).ok());
  KL_ASSERT_OK_AND_ASSIGN(auto committed, this->log_->CommittedOffsets("pipeline"));
  EXPECT_TRUE(committed.empty());
}

// Records framed elsewhere (what the ingest endpoint appends): a record sent
// before comes first, then the encoded ones in order, with their values and
// timestamps, at the log's own offsets; framing that does not add up is refused.
TYPED_TEST(ConformanceTest, EncodedRecordsFollowWhatWasSentBefore) {
  Random rng(7);
  const std::string key = "cluster-3";
  int32_t p = this->log_->PartitionFor(key);
  KL_ASSERT_OK_AND_ASSIGN(auto producer, this->log_->NewProducer());
  KL_ASSERT_OK(producer->Send({key, "sent before", 1'700'000'000'000}));
  std::vector<std::string> values;
  std::string records;
  for (int i = 0; i < 30; ++i) {
    values.push_back(MakeValue(rng, 100, 3000, std::to_string(i)));
    AppendRecord(&records, 500 + i, 1'700'000'000'001 + i, key, values.back());
  }
  std::string damaged = records.substr(0, records.size() - 1);
  EXPECT_EQ(producer->SendEncoded(key, damaged.data(), damaged.size(), 30).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(producer->SendEncoded(key, records.data(), records.size(), 29).code(), StatusCode::kInvalidArgument);
  std::string other = records;
  EXPECT_EQ(producer->SendEncoded("cluster-4", other.data(), other.size(), 30).code(), StatusCode::kInvalidArgument);
  KL_ASSERT_OK(producer->SendEncoded(key, records.data(), records.size(), 30));
  KL_ASSERT_OK(producer->Flush());
  KL_ASSERT_OK_AND_ASSIGN(int64_t end, this->log_->EndOffset(p));
  ASSERT_EQ(end, 31) << "refused sends must append nothing";
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("reader"));
  KL_ASSERT_OK(consumer->Seek(p, kOffsetBeginning));
  auto got = PollRecords(consumer.get(), 31);
  ASSERT_EQ(got.size(), 31u);
  EXPECT_EQ(got[0].second.second, "sent before");
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(got[i + 1].first.offset, i + 1);
    EXPECT_EQ(got[i + 1].second.first, key);
    EXPECT_EQ(got[i + 1].second.second, values[i]);
    EXPECT_EQ(got[i + 1].first.timestamp_ms, 1'700'000'000'001 + i);
  }
}

TYPED_TEST(ConformanceTest, FlushedRecordsReadBackInOrderWithDenseOffsets) {
  Random rng(1);
  auto sent = this->SendKeyed(300, rng);
  ASSERT_GT(sent.size(), 1u) << "ten keys should spread over several partitions";
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("reader"));
  size_t total = 0;
  for (int32_t p = 0; p < Backend::kPartitions; ++p) {
    KL_ASSERT_OK_AND_ASSIGN(int64_t end, this->log_->EndOffset(p));
    EXPECT_EQ(end, static_cast<int64_t>(sent[p].size())) << "partition " << p;
    KL_ASSERT_OK(consumer->Seek(p, kOffsetBeginning));
    total += sent[p].size();
  }
  auto got = PollRecords(consumer.get(), total);
  ASSERT_EQ(got.size(), total);
  std::map<int32_t, int64_t> next;
  for (const auto& [record, content] : got) {
    int32_t p = record.partition;
    ASSERT_EQ(record.offset, next[p]) << "partition " << p << " must be read in offset order without gaps";
    const ModelRecord& want = sent[p][record.offset];
    EXPECT_EQ(content.first, want.key);
    EXPECT_EQ(content.second, want.value);
    EXPECT_EQ(record.timestamp_ms, want.timestamp_ms);
    EXPECT_EQ(p, this->log_->PartitionFor(want.key));
    ++next[p];
  }
  for (int32_t p = 0; p < Backend::kPartitions; ++p) {
    KL_ASSERT_OK_AND_ASSIGN(int64_t position, consumer->Position(p));
    EXPECT_EQ(position, static_cast<int64_t>(sent[p].size()));
  }
}

TYPED_TEST(ConformanceTest, ExplicitPartitionOverridesTheKey) {
  KL_ASSERT_OK_AND_ASSIGN(auto producer, this->log_->NewProducer());
  for (int i = 0; i < 5; ++i) KL_ASSERT_OK(producer->Send({"cluster-a", "v" + std::to_string(i), 0, 3}));
  EXPECT_FALSE(producer->Send({"cluster-a", "v", 0, Backend::kPartitions}).ok());
  KL_ASSERT_OK(producer->Flush());
  KL_ASSERT_OK_AND_ASSIGN(int64_t end, this->log_->EndOffset(3));
  EXPECT_EQ(end, 5);
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("reader"));
  KL_ASSERT_OK(consumer->Seek(3, 2));
  auto got = PollRecords(consumer.get(), 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first.offset, 2);
  EXPECT_EQ(got[0].second.second, "v2");
  EXPECT_EQ(got[2].second.second, "v4");
  EXPECT_GT(got[0].first.timestamp_ms, 1'600'000'000'000) << "timestamp 0 means now";
}

TYPED_TEST(ConformanceTest, PollHonoursRecordAndByteLimits) {
  KL_ASSERT_OK_AND_ASSIGN(auto producer, this->log_->NewProducer());
  std::string value(1000, 'x');
  for (int i = 0; i < 50; ++i) KL_ASSERT_OK(producer->Send({"k", value, 0, 1}));
  KL_ASSERT_OK(producer->Flush());
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("reader"));
  KL_ASSERT_OK(consumer->Seek(1, 0));
  PollOptions by_count;
  by_count.max_records = 7;
  by_count.timeout_ms = 5000;
  KL_ASSERT_OK_AND_ASSIGN(RecordBatch first, consumer->Poll(by_count));
  ASSERT_GT(first.size(), 0u);
  EXPECT_LE(first.size(), 7u);
  if (first.size() == 7u) {
    EXPECT_TRUE(first.more_waiting()) << "stopped at max_records with 43 more records";
  }
  int64_t next = static_cast<int64_t>(first.size());
  PollOptions by_bytes;
  by_bytes.max_bytes = 3500;  // three records of 1001 bytes fit, four do not
  by_bytes.timeout_ms = 5000;
  KL_ASSERT_OK_AND_ASSIGN(RecordBatch second, consumer->Poll(by_bytes));
  ASSERT_GT(second.size(), 0u);
  EXPECT_LE(second.payload_bytes(), 3500u);
  EXPECT_EQ(second[0].offset, next) << "a limited poll must not skip records";
  by_bytes.max_bytes = 10;  // smaller than one record: still one record, so a consumer never stalls
  KL_ASSERT_OK_AND_ASSIGN(RecordBatch third, consumer->Poll(by_bytes));
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].offset, next + static_cast<int64_t>(second.size()));
  if (this->backend_.on_disk()) {
    EXPECT_TRUE(third.more_waiting()) << "stopped at max_bytes with more records";
  }
  // Reading to the end: the last poll says nothing more is waiting.
  PollOptions rest;
  rest.timeout_ms = 5000;
  int64_t read = next + static_cast<int64_t>(second.size()) + 1;
  RecordBatch last;
  for (int i = 0; i < 100 && read < 50; ++i) {
    KL_ASSERT_OK_AND_ASSIGN(last, consumer->Poll(rest));
    read += static_cast<int64_t>(last.size());
  }
  ASSERT_EQ(read, 50);
  EXPECT_FALSE(last.more_waiting());
}

TYPED_TEST(ConformanceTest, PollWaitsAndWakesWhenRecordsArrive) {
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("reader"));
  KL_ASSERT_OK(consumer->Seek(2, kOffsetEnd));
  PollOptions quick;
  quick.timeout_ms = 50;
  KL_ASSERT_OK_AND_ASSIGN(RecordBatch none, consumer->Poll(quick));
  EXPECT_TRUE(none.empty());
  KL_ASSERT_OK_AND_ASSIGN(auto producer, this->log_->NewProducer());
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    KL_EXPECT_OK(producer->Send({"k", "late", 0, 2}));
    KL_EXPECT_OK(producer->Flush());
  });
  PollOptions patient;
  patient.timeout_ms = 15'000;
  int64_t start = MonotonicMicros();
  auto got = PollRecords(consumer.get(), 1, patient);
  int64_t waited_ms = (MonotonicMicros() - start) / 1000;
  writer.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].second.second, "late");
  EXPECT_LT(waited_ms, 10'000) << "Poll must return when data arrives, not at its timeout";
}

TYPED_TEST(ConformanceTest, SeekingWhileReadingRestartsExactlyThere) {
  KL_ASSERT_OK_AND_ASSIGN(auto producer, this->log_->NewProducer());
  for (int i = 0; i < 400; ++i) KL_ASSERT_OK(producer->Send({"k", "r" + std::to_string(i), 0, 0}));
  KL_ASSERT_OK(producer->Flush());
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("reader"));
  KL_ASSERT_OK(consumer->Seek(0, 0));
  PollOptions some;
  some.max_records = 30;
  auto first = PollRecords(consumer.get(), 30, some);
  ASSERT_EQ(first.size(), 30u);
  // Backwards, then forwards, while the backend may hold records fetched ahead.
  for (int64_t target : {int64_t{10}, int64_t{250}, int64_t{5}}) {
    KL_ASSERT_OK(consumer->Seek(0, target));
    EXPECT_EQ(*consumer->Position(0), target);
    auto got = PollRecords(consumer.get(), 40, some);
    ASSERT_GE(got.size(), 40u);
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].first.offset, target + static_cast<int64_t>(i)) << "after seeking to " << target;
      ASSERT_EQ(got[i].second.second, "r" + std::to_string(target + static_cast<int64_t>(i)));
    }
  }
}

TYPED_TEST(ConformanceTest, SeekBeyondTheEndIsAnError) {
  {
    KL_ASSERT_OK_AND_ASSIGN(auto producer, this->log_->NewProducer());
    for (int i = 0; i < 10; ++i) KL_ASSERT_OK(producer->Send({"k", "v", 0, 0}));
    KL_ASSERT_OK(producer->Flush());
  }
  KL_ASSERT_OK_AND_ASSIGN(int64_t end, this->log_->EndOffset(0));
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("reader"));
  KL_ASSERT_OK(consumer->Seek(0, end + 5));
  PollOptions options;
  options.timeout_ms = 3000;
  Status status;
  for (int i = 0; i < 5 && status.ok(); ++i) status = consumer->Poll(options).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  KL_ASSERT_OK_AND_ASSIGN(auto fine, this->log_->NewConsumer("reader"));
  KL_ASSERT_OK(fine->Seek(0, 0));
  PollOptions zero;
  zero.max_records = 0;
  EXPECT_EQ(fine->Poll(zero).status().code(), StatusCode::kInvalidArgument) << "a poll that may return nothing";
  KL_ASSERT_OK_AND_ASSIGN(RecordBatch first, fine->Poll(options));
  EXPECT_FALSE(first.empty()) << "a refused poll leaves the consumer usable";
  EXPECT_FALSE(consumer->Seek(-1, 0).ok());
  EXPECT_FALSE(consumer->Seek(0, -7).ok());
}

TYPED_TEST(ConformanceTest, CommittedOffsetsAreStoredPerGroup) {
  Random rng(3);
  this->SendKeyed(40, rng);
  KL_ASSERT_OK_AND_ASSIGN(auto a, this->log_->NewConsumer("group-a"));
  KL_ASSERT_OK(a->Commit({{0, 3}, {2, 1}}));
  KL_ASSERT_OK(a->Commit({{2, 2}}));
  KL_ASSERT_OK_AND_ASSIGN(auto committed, this->log_->CommittedOffsets("group-a"));
  EXPECT_EQ(committed, (std::map<int32_t, int64_t>{{0, 3}, {2, 2}}));
  KL_ASSERT_OK_AND_ASSIGN(auto other, this->log_->CommittedOffsets("group-b"));
  EXPECT_TRUE(other.empty());
  EXPECT_FALSE(this->log_->CommittedOffsets("bad/name").ok());
  EXPECT_FALSE(a->Commit({{0, -1}}).ok());

  // A new consumer of the group resumes from the commit (or the beginning).
  KL_ASSERT_OK_AND_ASSIGN(auto b, this->log_->NewConsumer("group-a"));
  KL_ASSERT_OK(b->Seek(0, kOffsetCommitted));
  KL_ASSERT_OK(b->Seek(1, kOffsetCommitted));
  EXPECT_EQ(*b->Position(0), 3);
  EXPECT_EQ(*b->Position(1), 0);
  EXPECT_TRUE(b->Position(3).status().IsNotFound());
}

TYPED_TEST(ConformanceTest, ReopenedLogHoldsTheSameRecords) {
  Random rng(4);
  auto sent = this->SendKeyed(120, rng);
  this->Reopen();
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("reader"));
  size_t total = 0;
  for (int32_t p = 0; p < Backend::kPartitions; ++p) {
    EXPECT_EQ(*this->log_->EndOffset(p), static_cast<int64_t>(sent[p].size()));
    KL_ASSERT_OK(consumer->Seek(p, 0));
    total += sent[p].size();
  }
  auto got = PollRecords(consumer.get(), total);
  ASSERT_EQ(got.size(), total);
  for (const auto& [record, content] : got) EXPECT_EQ(content.second, sent[record.partition][record.offset].value);
  // Appending after the reopen continues the offsets.
  KL_ASSERT_OK_AND_ASSIGN(auto producer, this->log_->NewProducer());
  KL_ASSERT_OK(producer->Send({"k", "after", 0, 0}));
  KL_ASSERT_OK(producer->Flush());
  EXPECT_EQ(*this->log_->EndOffset(0), static_cast<int64_t>(sent[0].size()) + 1);
}

TYPED_TEST(ConformanceTest, LargeRecordsRoundTrip) {
  Random rng(5);
  std::string big = MakeValue(rng, 1'500'000, 1'500'000, "big");
  KL_ASSERT_OK_AND_ASSIGN(auto producer, this->log_->NewProducer());
  KL_ASSERT_OK(producer->Send({"cluster-big", big, 0, 1}));
  KL_ASSERT_OK(producer->Send({"", "", 0, 1}));  // empty key and value are records too
  KL_ASSERT_OK(producer->Flush());
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("reader"));
  KL_ASSERT_OK(consumer->Seek(1, 0));
  auto got = PollRecords(consumer.get(), 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].second.second, big);
  EXPECT_EQ(got[0].second.first, "cluster-big");
  EXPECT_EQ(got[1].second.second, "");
}

// Random operations against the log and the model side by side: batches of
// appends, reads from random offsets with random limits, commits, reopens,
// and for the embedded log crashes that cut the newest segment of a
// partition at a random byte (as a crash before fsync can).
TYPED_TEST(ConformanceTest, PropertyRandomOperationsMatchTheModel) {
  const bool on_disk = this->backend_.on_disk();
  const uint64_t seed = 20261124;
  Random rng(seed);
  LogModel model(Backend::kPartitions);
  const std::vector<std::string> keys = {"prod-eu-1", "prod-us-2", "staging", "dev-a", "dev-b", "edge-7"};
  const int steps = on_disk ? 160 : 40;
  for (int step = 0; step < steps; ++step) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " step " + std::to_string(step));
    uint64_t op = rng.Uniform(100);
    if (op < 40) {
      KL_ASSERT_OK_AND_ASSIGN(auto producer, this->log_->NewProducer());
      int n = 1 + static_cast<int>(rng.Uniform(on_disk ? 60 : 25));
      for (int i = 0; i < n; ++i) {
        ModelRecord r{keys[rng.Uniform(keys.size())], MakeValue(rng, 20, rng.OneIn(10) ? 20'000 : 2'000, "s"),
                      1'700'000'000'000 + step * 1000 + i};
        int32_t partition = rng.OneIn(4) ? static_cast<int32_t>(rng.Uniform(Backend::kPartitions)) : -1;
        KL_ASSERT_OK(producer->Send({r.key, r.value, r.timestamp_ms, partition}));
        model.records[partition >= 0 ? partition : this->log_->PartitionFor(r.key)].push_back(r);
      }
      KL_ASSERT_OK(producer->Flush());
    } else if (op < 75) {
      int32_t p = static_cast<int32_t>(rng.Uniform(Backend::kPartitions));
      int64_t from = model.start[p] + static_cast<int64_t>(rng.Uniform(model.End(p) - model.start[p] + 1));
      KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("prop"));
      KL_ASSERT_OK(consumer->Seek(p, from));
      PollOptions options;
      options.max_records = 1 + rng.Uniform(50);
      options.max_bytes = 1 + rng.Uniform(100'000);
      options.timeout_ms = 2000;
      int64_t want = std::min<int64_t>(model.End(p) - from, static_cast<int64_t>(options.max_records));
      if (want == 0) continue;
      KL_ASSERT_OK_AND_ASSIGN(RecordBatch batch, consumer->Poll(options));
      for (int retry = 0; batch.empty() && retry < 10; ++retry) {
        KL_ASSERT_OK_AND_ASSIGN(batch, consumer->Poll(options));
      }
      ASSERT_FALSE(batch.empty()) << "partition " << p << " from " << from;
      ASSERT_LE(static_cast<int64_t>(batch.size()), want);
      ASSERT_TRUE(batch.size() == 1 || batch.payload_bytes() <= options.max_bytes);
      int64_t after = from + static_cast<int64_t>(batch.size());
      if (batch.more_waiting()) {
        // Only a limit stops a poll that says more is waiting.
        ASSERT_TRUE(batch.size() == options.max_records ||
                    (after < model.End(p) &&
                     batch.payload_bytes() + model.At(p, after).key.size() + model.At(p, after).value.size() >
                         options.max_bytes))
            << "more_waiting after " << batch.size() << " records, " << batch.payload_bytes() << " bytes";
      } else if (on_disk) {
        ASSERT_EQ(after, model.End(p)) << "the embedded log stopped short of the end without saying so";
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        const Record& r = batch[i];
        ASSERT_EQ(r.partition, p);
        ASSERT_EQ(r.offset, from + static_cast<int64_t>(i));
        const ModelRecord& m = model.At(p, r.offset);
        ASSERT_EQ(r.key, m.key);
        ASSERT_EQ(r.value, m.value);
        ASSERT_EQ(r.timestamp_ms, m.timestamp_ms);
      }
    } else if (op < 82) {
      int32_t p = static_cast<int32_t>(rng.Uniform(Backend::kPartitions));
      int64_t offset = static_cast<int64_t>(rng.Uniform(model.End(p) + 1));
      KL_ASSERT_OK_AND_ASSIGN(auto consumer, this->log_->NewConsumer("prop"));
      KL_ASSERT_OK(consumer->Commit({{p, offset}}));
      KL_ASSERT_OK_AND_ASSIGN(auto committed, this->log_->CommittedOffsets("prop"));
      ASSERT_EQ(committed[p], offset);
    } else if (op < 90) {
      for (int32_t p = 0; p < Backend::kPartitions; ++p) {
        KL_ASSERT_OK_AND_ASSIGN(int64_t start, this->log_->StartOffset(p));
        KL_ASSERT_OK_AND_ASSIGN(int64_t end, this->log_->EndOffset(p));
        ASSERT_EQ(start, model.start[p]);
        ASSERT_EQ(end, model.End(p)) << "partition " << p;
      }
    } else if (op < 94 || !on_disk) {
      this->Reopen();
    } else {
      // Crash: the newest segment of a partition loses its tail from a random byte on.
      this->log_.reset();
      auto* backend = dynamic_cast<testing::SegmentBackend*>(static_cast<Backend*>(&this->backend_));
      ASSERT_NE(backend, nullptr);
      int32_t p = static_cast<int32_t>(rng.Uniform(Backend::kPartitions));
      std::string dir = backend->dir() + "/partition-" + std::to_string(p);
      KL_ASSERT_OK_AND_ASSIGN(auto bases, ListSegments(dir));
      if (bases.empty()) {  // never written: nothing to tear
        this->Reopen();
        continue;
      }
      int64_t base = bases.back();
      std::string path = JoinPath(dir, SegmentFileName(base));
      KL_ASSERT_OK_AND_ASSIGN(uint64_t size, FileSize(path));
      uint64_t cut = kSegmentHeaderSize + rng.Uniform(size - kSegmentHeaderSize + 1);
      ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(cut)), 0);
      if (rng.OneIn(2)) {  // and garbage where the lost bytes were
        std::string junk = rng.Alnum(1 + rng.Uniform(300));
        std::string content = *ReadFile(path) + junk;
        KL_ASSERT_OK(WriteFile(path, content));
      }
      // The records that survive: those of the segment that end by the cut.
      uint64_t position = kSegmentHeaderSize;
      int64_t offset = base;
      while (offset < model.End(p)) {
        const ModelRecord& m = model.At(p, offset);
        uint64_t size_of = EncodedRecordSize(m.key.size(), m.value.size());
        if (position + size_of > cut) break;
        position += size_of;
        ++offset;
      }
      model.records[p].resize(offset - model.start[p]);
      auto log = this->backend_.Open();
      ASSERT_TRUE(log.ok()) << log.status().ToString();
      this->log_ = std::move(*log);
      KL_ASSERT_OK_AND_ASSIGN(auto producer, this->log_->NewProducer());  // the writer cuts the torn tail
      KL_ASSERT_OK_AND_ASSIGN(int64_t end, this->log_->EndOffset(p));
      ASSERT_EQ(end, model.End(p)) << "after cutting partition " << p << " at byte " << cut;
    }
  }
}

// The default SendBatch (Kafka's producer): copies sent one by one without
// `encoded`, stopping at the first error.
TEST(DefaultSendBatchTest, SendsCopiesWithoutEncodedAndStopsAtTheFirstError) {
  class Recording final : public Producer {
   public:
    Status Send(const ProducerRecord& record) override {
      if (record.value == "bad") return Status::InvalidArgument("bad record");
      EXPECT_TRUE(record.encoded.empty());
      sent.emplace_back(record.value);
      return Status::OK();
    }
    Status Flush() override { return Status::OK(); }
    std::vector<std::string> sent;
  };
  Recording producer;
  std::vector<ProducerRecord> records{{"k", "a", 1, 0}, {"k", "b", 1, 0}, {"k", "bad", 1, 0}, {"k", "c", 1, 0}};
  records[1].encoded = "not a framed record";
  EXPECT_EQ(producer.SendBatch(records).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(producer.sent, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace kl::log
