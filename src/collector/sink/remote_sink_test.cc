// The remote sink against a real ingest endpoint: while the central side is
// unreachable events wait in the spool, and a full spool holds the emitting
// collector (backpressure) instead of dropping anything; once the endpoint
// listens, everything is shipped and acknowledged, each event once.
#include "collector/sink/remote_sink.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "collector/sink/log_sink.h"
#include "common/testing/test_system_util.h"
#include "common/testing/test_util.h"
#include "ingest/ingest_server.h"
#include "ingest/wire.h"

namespace kl::collector {
namespace {

using kl::testing::FreePort;

CollectedEvent MakeEvent(int i) {
  CollectedEvent e;
  e.cluster = "edge-1";
  e.ingest_time_ms = 1000 + i;
  e.uid = "uid-" + std::to_string(i);
  e.resource_version = std::to_string(100 + i);
  e.content = R"({"type":"ADDED","obj":{"metadata":{"name":"p)" + std::to_string(i) + R"(","pad":")" +
              std::string(2000, 'x') + R"("}},"kind":"Pod","uid":")" + e.uid + R"(","resourceversion":")" +
              e.resource_version + R"("})";
  return e;
}

TEST(RemoteSinkTest, SpoolsWhileUnreachableHoldsWhenFullAndShipsEachEventOnce) {
  testing::TempDir dir;
  int port = FreePort();
  std::string spool_dir = dir.Sub("spool");
  KL_ASSERT_OK_AND_ASSIGN(auto spool, OpenSpool(spool_dir));
  KL_ASSERT_OK_AND_ASSIGN(std::string stream, SpoolStreamId(spool_dir));
  EXPECT_EQ(SpoolStreamId(spool_dir).value(), stream);  // stable
  RemoteSinkOptions r;
  r.url = "http://127.0.0.1:" + std::to_string(port);
  r.cluster = "edge-1";
  r.token = "tok";
  r.spool_max_bytes = 512 * 1024;
  r.backoff_base_ms = 20;
  r.backoff_max_ms = 200;
  r.batch_max_events = 100;
  KL_ASSERT_OK_AND_ASSIGN(auto shipper, Shipper::Start(spool.get(), spool_dir, stream, r));
  KL_ASSERT_OK_AND_ASSIGN(auto log_sink, LogSink::Create(spool.get()));
  SpoolGate gate(log_sink.get(), shipper.get());

  // ~2.1 KB per event: 1,000 events are four times the bound.
  const int kEvents = 1000;
  std::atomic<int> emitted{0};
  std::thread collector([&] {
    for (int i = 0; i < kEvents; i += 10) {
      std::vector<CollectedEvent> batch;
      for (int k = i; k < i + 10; ++k) batch.push_back(MakeEvent(k));
      ASSERT_TRUE(gate.Emit(std::move(batch)).ok());
      ASSERT_TRUE(gate.Flush().ok());  // as the collector does after each round of its event loop
      emitted = i + 10;
    }
  });
  // Nobody listens: the collector is held once the spool passes its bound.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  int held_at = emitted.load();
  EXPECT_LT(held_at, kEvents);
  EXPECT_GE(shipper->Stats().pending_bytes, r.spool_max_bytes);
  EXPECT_FALSE(shipper->Stats().connected);
  EXPECT_NE(shipper->Stats().last_error.find("cannot reach"), std::string::npos) << shipper->Stats().last_error;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(emitted.load(), held_at) << "the spool must not grow without bound";

  // The central side comes up: everything is shipped, the collector goes on.
  KL_ASSERT_OK(WriteFile(dir.Sub("clusters.yaml"), "clusters:\n- name: edge-1\n  token: tok\n"));
  KL_ASSERT_OK_AND_ASSIGN(auto central_log,
                          log::OpenEventLog("dir:" + dir.Sub("central") + "?partitions=2&fsync=never"));
  ingest::IngestOptions io;
  io.http.port = port;
  io.clusters_file = dir.Sub("clusters.yaml");
  io.state_path = dir.Sub("ingest-state.json");
  KL_ASSERT_OK_AND_ASSIGN(auto central, ingest::IngestServer::Start(central_log.get(), io));
  collector.join();
  for (int i = 0; i < 500 && shipper->Stats().acked < static_cast<uint64_t>(kEvents); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ShipperStats st = shipper->Stats();
  EXPECT_EQ(st.acked, static_cast<uint64_t>(kEvents));
  EXPECT_TRUE(st.connected);
  EXPECT_GT(st.blocked_ms, 0u);
  EXPECT_EQ(central->Stats().events, static_cast<uint64_t>(kEvents));
  // Each event once, in order, in the central log.
  int32_t p = central_log->PartitionFor("edge-1");
  KL_ASSERT_OK_AND_ASSIGN(auto consumer, central_log->NewConsumer("check"));
  KL_ASSERT_OK(consumer->Seek(p, log::kOffsetBeginning));
  std::vector<std::string> values;
  std::vector<int64_t> timestamps;
  while (values.size() < static_cast<size_t>(kEvents)) {
    KL_ASSERT_OK_AND_ASSIGN(auto batch, consumer->Poll({}));
    if (batch.empty()) break;
    for (const auto& rec : batch) {
      values.emplace_back(rec.value);
      timestamps.push_back(rec.timestamp_ms);
      EXPECT_EQ(rec.key, "edge-1");
    }
  }
  ASSERT_EQ(values.size(), static_cast<size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_EQ(values[i], MakeEvent(i).content) << i;
    ASSERT_EQ(timestamps[i], 1000 + i) << i;
  }

  // A restarted shipper learns the position from the central side and sends nothing again.
  shipper->Stop();
  KL_ASSERT_OK_AND_ASSIGN(auto again, Shipper::Start(spool.get(), spool_dir, stream, r));
  for (int i = 0; i < 200 && again->Stats().acked < static_cast<uint64_t>(kEvents); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(again->Stats().acked, static_cast<uint64_t>(kEvents));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(central->Stats().events, static_cast<uint64_t>(kEvents));
  again->Stop();
  central->Stop();
}

// A central kubelake that knows only batch version 1 refuses the version 2
// handshake; the shipper then sends version 1, and every event arrives once.
TEST(RemoteSinkTest, ACentralSideThatRefusesVersionTwoGetsVersionOne) {
  testing::TempDir dir;
  KL_ASSERT_OK(WriteFile(dir.Sub("clusters.yaml"), "clusters:\n- name: edge-1\n  token: tok\n"));
  KL_ASSERT_OK_AND_ASSIGN(auto central_log,
                          log::OpenEventLog("dir:" + dir.Sub("central") + "?partitions=2&fsync=never"));
  ingest::IngestOptions io;
  io.clusters_file = dir.Sub("clusters.yaml");
  io.state_path = dir.Sub("ingest-state.json");
  KL_ASSERT_OK_AND_ASSIGN(auto central, ingest::IngestServer::Start(central_log.get(), io));
  std::atomic<int> refused{0}, version_one{0};
  ingest::HttpServer older({}, [&](ingest::HttpRequest& request) {
    if (request.body.rfind(ingest::kBatchMagicV2, 0) == 0) {
      ++refused;
      ingest::HttpResponse r;
      r.status = 400;
      r.body = ingest::ErrorJson("malformed batch: does not start with KLBATCH1");
      return r;
    }
    if (request.body.rfind(ingest::kBatchMagic, 0) == 0) ++version_one;
    return central->Handle(request);
  });
  KL_ASSERT_OK(older.Start());

  std::string spool_dir = dir.Sub("spool");
  KL_ASSERT_OK_AND_ASSIGN(auto spool, OpenSpool(spool_dir));
  KL_ASSERT_OK_AND_ASSIGN(std::string stream, SpoolStreamId(spool_dir));
  RemoteSinkOptions r;
  r.url = older.url();
  r.cluster = "edge-1";
  r.token = "tok";
  r.compress = false;  // the stand-in server reads the body's magic
  r.backoff_base_ms = 20;
  r.batch_max_events = 50;
  KL_ASSERT_OK_AND_ASSIGN(auto shipper, Shipper::Start(spool.get(), spool_dir, stream, r));
  KL_ASSERT_OK_AND_ASSIGN(auto log_sink, LogSink::Create(spool.get()));
  const int kEvents = 300;
  for (int i = 0; i < kEvents; i += 10) {
    std::vector<CollectedEvent> batch;
    for (int k = i; k < i + 10; ++k) batch.push_back(MakeEvent(k));
    KL_ASSERT_OK(log_sink->Emit(std::move(batch)));
    KL_ASSERT_OK(log_sink->Flush());
  }
  for (int i = 0; i < 500 && shipper->Stats().acked < static_cast<uint64_t>(kEvents); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(shipper->Stats().acked, static_cast<uint64_t>(kEvents));
  EXPECT_EQ(refused.load(), 1);
  EXPECT_GT(version_one.load(), 1);
  EXPECT_EQ(central->Stats().events, static_cast<uint64_t>(kEvents));
  shipper->Stop();
  older.Stop();
  central->Stop();
}

}  // namespace
}  // namespace kl::collector
