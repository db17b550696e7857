// CollectorService: a collector writing to the event log, restored from its
// checkpoint and the log when it starts, checkpointing periodically and on
// stop. Used by `kubelake collect --sink log:URI`, `run` and `demo`.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collector/collector.h"
#include "collector/sink/log_sink.h"
#include "log/event_log.h"

namespace kl::cli {

// What a remote sink adds: a gate in front of the log sink (the bounded
// spool), and a consumer group that records each checkpoint's log position
// (the spool's retention keeps what recovery needs).
struct CollectorServiceExtras {
  std::function<std::unique_ptr<collector::EventSink>(collector::EventSink* log_sink)> wrap_sink;
  std::string checkpoint_group;
  // Runs after the collector is made and before it is restored and started
  // (WatchSets read from the cluster set its first targets here).
  std::function<Status(collector::Collector*)> before_start;
};

class CollectorService {
 public:
  // `options` names clusters, watch sets and tuning; its sink is replaced by the log.
  static Result<std::unique_ptr<CollectorService>> Start(log::EventLog* log, collector::CollectorOptions options,
                                                         std::string checkpoint_path, double checkpoint_interval_s,
                                                         CollectorServiceExtras extras = {});
  ~CollectorService() { Stop(); }

  Status Checkpoint();
  // Stops watching and writes a final checkpoint.
  void Stop();

  collector::Collector* collector() { return collector_.get(); }
  uint64_t events() const { return sink_->events_written(); }

 private:
  CollectorService() = default;
  log::EventLog* log_ = nullptr;
  std::string checkpoint_path_;
  std::unique_ptr<collector::LogSink> sink_;
  std::unique_ptr<collector::EventSink> wrapped_sink_;
  std::string checkpoint_group_;
  std::unique_ptr<collector::Collector> collector_;
  std::thread thread_;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  bool stopped_ = false;
};

}  // namespace kl::cli
