// The collector's way to a central kubelake (`kubelake collect --sink
// https://HOST:PORT`). Events first go to a local spool — an embedded event
// log on the collector's volume, written by the usual LogSink, so the
// collector's checkpoints and restart recovery work exactly as with a local
// log — and a Shipper thread sends the spool's records in numbered batches
// (the spool offsets are the sequence numbers) to the central ingest
// endpoint (ingest/wire.h), advancing only on acknowledgement:
//
//   Collector ─► LogSink ─► spool (dir: log, 1 partition) ─► Shipper ─HTTPS─► IngestServer ─► central log
//
// * exactly once: the central side appends each sequence number once and
//   answers with the next one it expects; the shipper resumes from that
//   answer after any restart of either side (a handshake of zero events);
// * unreachable central side: events wait in the spool; the spool is bounded
//   (`spool_max_bytes`): when it is full, WaitForRoom() blocks the
//   collector's sink (backpressure into the watches, which resume or relist
//   when room returns; nothing is dropped);
// * slow central side: one batch in flight; 503 answers back off.
// Acknowledged spool segments are deleted by the spool's retention.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "collector/event.h"
#include "common/result.h"
#include "log/event_log.h"

namespace kl::collector {

struct RemoteSinkOptions {
  std::string url;         // https://host:port of the central ingest endpoint
  std::string cluster;     // the cluster name this collector ships as
  std::string token;       // bearer token, or
  std::string token_file;  // re-read for every request (mounted secrets rotate)
  std::string ca_pem;      // empty: the system trust store
  std::string client_cert_pem;
  std::string client_key_pem;
  bool insecure_skip_verify = false;
  bool compress = true;  // zstd request bodies (events compress several-fold)
  // The batch format (ingest/wire.h): 2 ships the spool's records as they
  // are; a central kubelake that refuses 2 (older than it) gets 1 after the
  // handshake.
  int batch_version = 2;
  int compression_level = 1;              // zstd's level (negative: its fast levels)
  uint64_t spool_max_bytes = 1ull << 30;  // unacknowledged bytes before the collector is held
  size_t batch_max_bytes = 4 << 20;
  size_t batch_max_events = 10000;
  int64_t backoff_base_ms = 200;
  int64_t backoff_max_ms = 30000;
  int64_t connect_timeout_ms = 10000;
  int64_t request_timeout_ms = 60000;
};

// Shipping progress, for the collector's status (WatchSet status, status
// line) and a /metrics endpoint.
struct ShipperStats {
  std::string stream;
  bool connected = false;       // the last request got an answer from the central side
  uint64_t spool_bytes = 0;     // on disk (acknowledged segments stay until the checkpoint passes them)
  uint64_t pending_bytes = 0;   // unacknowledged events' share of the spool: what spool_max_bytes bounds
  uint64_t pending_events = 0;  // in the spool, not acknowledged yet
  uint64_t acked = 0;           // sequence: every event before it is in the central log
  uint64_t batches = 0;
  uint64_t events = 0;  // shipped and acknowledged
  uint64_t retries = 0;
  uint64_t blocked_ms = 0;  // time the collector waited for room in the spool
  int64_t last_ack_ms = 0;
  std::string last_error;
};

// The spool: dir:<dir>?partitions=1&... with retention that deletes
// acknowledged, checkpointed segments.
inline constexpr const char* kShipperGroup = "kubelake-shipper";
inline constexpr const char* kCheckpointGroup = "kubelake-collector";
Result<std::unique_ptr<log::EventLog>> OpenSpool(const std::string& dir);
// The spool's stream id (made when the spool is new).
Result<std::string> SpoolStreamId(const std::string& dir);

class Shipper {
 public:
  static Result<std::unique_ptr<Shipper>> Start(log::EventLog* spool, std::string spool_dir, std::string stream,
                                                RemoteSinkOptions options);
  ~Shipper();
  void Stop();

  // Blocks while the spool holds more than spool_max_bytes (returns at Stop).
  void WaitForRoom();
  // Whether WaitForRoom would block now.
  bool SpoolFull() const { return pending_bytes_.load() >= static_cast<int64_t>(options_.spool_max_bytes) && !stop_; }
  // The gate tells what it appended, so the bound holds between measurements.
  void NoteSpooled(uint64_t bytes);
  ShipperStats Stats() const;

 private:
  Shipper(log::EventLog* spool, std::string spool_dir, std::string stream, RemoteSinkOptions options);
  void Run();
  struct Answer {
    bool transport_ok = false;
    long status = 0;
    std::string body;
    std::string error;
  };
  Answer Post(std::string_view body);
  void SetError(const std::string& error);
  void MeasureSpool();
  void EstimatePending();
  void NoteAcked(uint64_t bytes);
  bool Sleep(int64_t ms);  // false when stopping

  log::EventLog* spool_;
  std::string spool_dir_;
  std::string stream_;
  RemoteSinkOptions options_;
  void* curl_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;  // stop, room in the spool
  ShipperStats stats_;
  uint64_t spool_end_ = 0;
  // Unacknowledged bytes: estimated from the files at start, then counted
  // exactly (the gate adds what it appends, acknowledgements subtract).
  std::atomic<int64_t> pending_bytes_{0};
};

// An EventSink that waits for room in the spool before handing events on.
class SpoolGate : public EventSink {
 public:
  SpoolGate(EventSink* inner, Shipper* shipper) : inner_(inner), shipper_(shipper) {}
  Status Emit(std::vector<CollectedEvent> events) override { return EmitBorrowed(&events); }
  Status EmitBorrowed(std::vector<CollectedEvent>* events) override {
    // The inner sink may buffer until the collector's next flush; events
    // counted as spooled but not yet written could never be acknowledged, so
    // they are written before waiting for room.
    if (shipper_->SpoolFull()) KL_RETURN_IF_ERROR(inner_->Flush());
    shipper_->WaitForRoom();
    uint64_t bytes = 0;
    for (const auto& e : *events) bytes += e.content.size() + e.cluster.size() + 28;  // the log's record framing
    Status s = inner_->EmitBorrowed(events);
    shipper_->NoteSpooled(bytes);
    return s;
  }
  Status Flush() override { return inner_->Flush(); }

 private:
  EventSink* inner_;
  Shipper* shipper_;
};

}  // namespace kl::collector
