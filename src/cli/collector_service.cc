#include "cli/collector_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

namespace kl::cli {

Result<std::unique_ptr<CollectorService>> CollectorService::Start(log::EventLog* log, collector::CollectorOptions o,
                                                                  std::string checkpoint_path,
                                                                  double checkpoint_interval_s,
                                                                  CollectorServiceExtras extras) {
  std::unique_ptr<CollectorService> s(new CollectorService());
  s->log_ = log;
  s->checkpoint_path_ = std::move(checkpoint_path);
  std::set<std::string> names;
  for (const auto& c : o.clusters) names.insert(c.name);
  KL_ASSIGN_OR_RETURN(s->sink_, collector::LogSink::Create(log));
  o.sink = s->sink_.get();
  if (extras.wrap_sink) {
    s->wrapped_sink_ = extras.wrap_sink(s->sink_.get());
    o.sink = s->wrapped_sink_.get();
  }
  s->checkpoint_group_ = extras.checkpoint_group;
  KL_ASSIGN_OR_RETURN(s->collector_, collector::Collector::Create(std::move(o)));
  if (extras.before_start) KL_RETURN_IF_ERROR(extras.before_start(s->collector_.get()));
  KL_ASSIGN_OR_RETURN(collector::RecoveryStats stats,
                      collector::RecoverFromLog(s->collector_.get(), log, s->checkpoint_path_, names));
  if (stats.from_checkpoint || stats.events_replayed > 0) {
    spdlog::info("collector: restored ({}checkpoint, {} events replayed from the log)",
                 stats.from_checkpoint ? "" : "no ", stats.events_replayed);
  }
  KL_RETURN_IF_ERROR(s->collector_->Start());
  s->thread_ = std::thread([svc = s.get(), checkpoint_interval_s] {
    auto last = std::chrono::steady_clock::now();
    while (!svc->stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (std::chrono::steady_clock::now() - last < std::chrono::duration<double>(checkpoint_interval_s)) continue;
      last = std::chrono::steady_clock::now();
      Status st = svc->Checkpoint();
      if (!st.ok()) spdlog::warn("collector: checkpoint failed: {}", st.ToString());
    }
  });
  return s;
}

Status CollectorService::Checkpoint() {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<int32_t, int64_t> before;
  if (!checkpoint_group_.empty()) {
    // At or below the offsets the checkpoint records (it takes them later).
    KL_RETURN_IF_ERROR(sink_->Flush());
    for (int32_t p = 0; p < log_->NumPartitions(); ++p) {
      KL_ASSIGN_OR_RETURN(before[p], log_->EndOffset(p));
    }
  }
  KL_RETURN_IF_ERROR(collector::WriteCollectorCheckpoint(collector_.get(), sink_.get(), log_, checkpoint_path_));
  if (checkpoint_group_.empty()) return Status::OK();
  KL_ASSIGN_OR_RETURN(auto consumer, log_->NewConsumer(checkpoint_group_));
  return consumer->Commit(before);
}

void CollectorService::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  collector_->Stop();
  Status st = Checkpoint();
  if (!st.ok()) spdlog::warn("collector: final checkpoint failed: {}", st.ToString());
}

}  // namespace kl::cli
