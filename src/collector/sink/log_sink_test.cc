#include "collector/sink/log_sink.h"

#include <gtest/gtest.h>

#include "common/testing/test_util.h"
#include "log/crc32c.h"
#include "log/event_log.h"
#include "log/segment/segment_log.h"

namespace kl::collector {
namespace {

CollectedEvent MakeEvent(const std::string& cluster, int i) {
  CollectedEvent e;
  e.cluster = cluster;
  e.ingest_time_ms = 1000 + i;
  e.uid = "uid-" + std::to_string(i);
  e.resource_version = std::to_string(10 + i);
  e.kind = "Pod";
  e.name = "pod-" + std::to_string(i);
  e.watch_name = "core/pods";
  e.content = R"({"type":"ADDED","obj":{"pad":")" + std::string(static_cast<size_t>(i) * 100, 'p') +
              R"("},"uid":"uid-)" + std::to_string(i) + R"(","resourceversion":")" + e.resource_version + R"("})";
  return e;
}

// The collector lends its events to the log sink and reuses them afterwards:
// the sink must leave them as they were and have written exact copies.
TEST(LogSinkTest, BorrowedEventsAreWrittenAndLeftIntact) {
  testing::TempDir dir;
  log::SegmentLogOptions options;
  options.partitions = 1;
  options.check_value_crcs = true;  // a wrong content CRC would corrupt the log: refused here
  KL_ASSERT_OK_AND_ASSIGN(auto log, log::SegmentLog::Open(dir.Sub("log"), options));
  KL_ASSERT_OK_AND_ASSIGN(auto sink, LogSink::Create(log.get()));
  std::vector<CollectedEvent> events, expected;
  for (int i = 0; i < 30; ++i) events.push_back(MakeEvent("c1", i));
  // Some with the CRC their maker took (the log frames them without reading the content again).
  for (int i = 0; i < 30; i += 2) events[i].content_crc32c = log::Crc32c(events[i].content);
  expected = events;
  KL_ASSERT_OK(sink->EmitBorrowed(&events));
  ASSERT_EQ(events.size(), expected.size());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].content, expected[i].content);
  // Through the by-value call as well.
  std::vector<CollectedEvent> more{MakeEvent("c1", 30)};
  expected.push_back(more[0]);
  KL_ASSERT_OK(sink->Emit(std::move(more)));
  KL_ASSERT_OK(sink->Flush());
  EXPECT_EQ(sink->events_written(), expected.size());

  KL_ASSERT_OK_AND_ASSIGN(auto consumer, log->NewConsumer("test"));
  KL_ASSERT_OK(consumer->Seek(0, 0));
  std::vector<std::string> values;
  for (int round = 0; round < 50 && values.size() < expected.size(); ++round) {
    log::PollOptions opts;
    opts.timeout_ms = 100;
    KL_ASSERT_OK_AND_ASSIGN(log::RecordBatch batch, consumer->Poll(opts));
    for (const auto& r : batch) {
      EXPECT_EQ(r.key, "c1");
      EXPECT_EQ(r.timestamp_ms, expected[values.size()].ingest_time_ms);
      values.emplace_back(r.value);
    }
  }
  ASSERT_EQ(values.size(), expected.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], expected[i].content) << i;
}

// A content CRC that is not the content's (say a reused event's old one)
// must never reach the log: the checking log refuses the batch, and nothing
// of it is written.
TEST(LogSinkTest, AWrongContentCrcIsRefused) {
  testing::TempDir dir;
  log::SegmentLogOptions options;
  options.partitions = 1;
  options.check_value_crcs = true;
  KL_ASSERT_OK_AND_ASSIGN(auto log, log::SegmentLog::Open(dir.Sub("log"), options));
  KL_ASSERT_OK_AND_ASSIGN(auto sink, LogSink::Create(log.get()));
  std::vector<CollectedEvent> events{MakeEvent("c1", 0), MakeEvent("c1", 1)};
  events[1].content_crc32c = log::Crc32c(events[0].content);
  Status s = sink->EmitBorrowed(&events);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  KL_ASSERT_OK(sink->Flush());
  EXPECT_EQ(*log->EndOffset(0), 0);
  EXPECT_EQ(sink->events_written(), 0u);
}

}  // namespace
}  // namespace kl::collector
