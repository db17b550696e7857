// The collector's connection to the event log: a sink that appends each event
// (key = cluster, value = ODS content, timestamp = ingest time), and restart
// safety on top of it. A checkpoint stores the log's end offsets taken first,
// then every watch's tracker image, written only after a flush has made all
// events the images reflect durable. Recovery restores the images and
// replays the log from those offsets: replayed events the images already
// hold change nothing (trackers only move forward), so a collector killed at
// any instant neither repeats an event nor misses one.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "collector/collector.h"
#include "collector/event.h"
#include "log/event_log.h"

namespace kl::collector {

class LogSink : public EventSink {
 public:
  static Result<std::unique_ptr<LogSink>> Create(log::EventLog* log);
  Status Emit(std::vector<CollectedEvent> events) override { return EmitBorrowed(&events); }
  // Sends the events (a large batch written from their buffers, a small one
  // copied) and leaves them to the caller.
  Status EmitBorrowed(std::vector<CollectedEvent>* events) override;
  Status Flush() override;
  // Events of the batches the log accepted. A batch that failed is not
  // counted, though part of it may be in the log (a write that failed
  // part-way); such an error stops the collector.
  uint64_t events_written() const;

 private:
  explicit LogSink(std::unique_ptr<log::Producer> producer) : producer_(std::move(producer)) {}
  mutable std::mutex mu_;
  std::unique_ptr<log::Producer> producer_;
  std::vector<log::ProducerRecord> records_;  // a batch's, kept for their capacity
  uint64_t events_ = 0;
};

// Writes a checkpoint of `collector` to `path` (atomically).
Status WriteCollectorCheckpoint(Collector* collector, LogSink* sink, log::EventLog* log, const std::string& path);

struct RecoveryStats {
  bool from_checkpoint = false;
  uint64_t events_replayed = 0;
};

// Before Start(): restores the checkpoint at `path` (if any) and replays the
// events of `clusters` that the log holds after it.
Result<RecoveryStats> RecoverFromLog(Collector* collector, log::EventLog* log, const std::string& path,
                                     const std::set<std::string>& clusters);

}  // namespace kl::collector
