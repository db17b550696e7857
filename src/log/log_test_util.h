// Test helpers shared by the log tests: an in-memory model of what a log
// must hold, and backends the conformance suite runs against.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/random.h"
#include "common/testing/test_util.h"
#include "log/event_log.h"
#include "log/kafka/kafka_log.h"
#include "log/kafka/kafka_mock.h"
#include "log/segment/record_format.h"
#include "log/segment/segment_file.h"
#include "log/segment/segment_log.h"

namespace kl::log::testing {

struct ModelRecord {
  std::string key;
  std::string value;
  int64_t timestamp_ms = 0;
};

// What the log must hold: per partition, the records from offset `start`.
struct LogModel {
  std::vector<int64_t> start;
  std::vector<std::vector<ModelRecord>> records;  // records[p][i] has offset start[p] + i

  explicit LogModel(int32_t partitions) : start(partitions, 0), records(partitions) {}
  int64_t End(int32_t p) const { return start[p] + static_cast<int64_t>(records[p].size()); }
  const ModelRecord& At(int32_t p, int64_t offset) const { return records[p][offset - start[p]]; }
};

// A value whose content tells which record it is, of a size in [min, max].
inline std::string MakeValue(Random& rng, size_t min_size, size_t max_size, const std::string& tag) {
  size_t size = min_size + rng.Uniform(max_size - min_size + 1);
  std::string v = "{\"tag\":\"" + tag + "\",\"pad\":\"";
  while (v.size() + 2 < size) v.push_back(static_cast<char>('a' + rng.Uniform(26)));
  v += "\"}";
  return v;
}

// Polls `consumer` until `want` records arrived or 20 s passed.
inline std::vector<std::pair<Record, std::pair<std::string, std::string>>> PollRecords(Consumer* consumer, size_t want,
                                                                                       PollOptions options = {}) {
  std::vector<std::pair<Record, std::pair<std::string, std::string>>> out;
  int64_t deadline = MonotonicMicros() + 20'000'000;
  while (out.size() < want && MonotonicMicros() < deadline) {
    auto batch = consumer->Poll(options);
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    if (!batch.ok()) break;
    for (const Record& r : *batch) out.push_back({r, {std::string(r.key), std::string(r.value)}});
  }
  return out;
}

// A log backend the conformance suite can open, reopen and (if it is files
// on disk) crash.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<std::unique_ptr<EventLog>> Open() = 0;
  virtual bool on_disk() const { return false; }
  static constexpr int32_t kPartitions = 6;  // not 4, the mock broker's default for auto-created topics
};

class SegmentBackend : public Backend {
 public:
  Result<std::unique_ptr<EventLog>> Open() override {
    SegmentLogOptions options;
    options.partitions = kPartitions;
    options.segment_bytes = 64 << 10;  // small, so tests cross segment boundaries
    options.index_interval_bytes = 4 << 10;
    options.producer_batch_bytes = 16 << 10;
    KL_ASSIGN_OR_RETURN(auto log, SegmentLog::Open(dir_.path(), options));
    return std::unique_ptr<EventLog>(std::move(log));
  }
  bool on_disk() const override { return true; }
  const std::string& dir() const { return dir_.path(); }

 private:
  kl::testing::TempDir dir_;
};

class KafkaBackend : public Backend {
 public:
  static constexpr const char* kTopic = "kubelake-events";
  KafkaBackend() {
    auto mock = KafkaMockCluster::Start(3);
    EXPECT_TRUE(mock.ok()) << mock.status().ToString();
    if (!mock.ok()) return;
    mock_ = std::move(*mock);
    // librdkafka 2.0's mock brokers do not serve CreateTopics: make the topic directly.
    Status created = mock_->CreateTopic(kTopic, kPartitions, 3);
    EXPECT_TRUE(created.ok()) << created.ToString();
  }
  Result<std::unique_ptr<EventLog>> Open() override {
    if (!mock_) return Status::Unavailable("no mock cluster");
    KafkaLogOptions options;
    options.brokers = mock_->bootstrap_servers();
    options.topic = kTopic;
    options.partitions = kPartitions;  // checked against the topic
    KL_ASSIGN_OR_RETURN(auto log, KafkaLog::Open(options));
    return std::unique_ptr<EventLog>(std::move(log));
  }

 private:
  std::unique_ptr<KafkaMockCluster> mock_;
};

}  // namespace kl::log::testing
