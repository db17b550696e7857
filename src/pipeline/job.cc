#include "pipeline/job.h"

#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/clock.h"

namespace kl::pipeline {
void Job::ChargeCpu(double* mark, double JobStatus::*bucket) {
  double now = ThreadCpuSeconds();
  std::lock_guard<std::mutex> lock(mu_);
  status_.*bucket += now - *mark;
  *mark = now;
}

Job::Job(std::string name, JobFactory factory, JobOptions options)
    : name_(std::move(name)), factory_(std::move(factory)), options_(options) {
  status_.name = name_;
}

Status Job::Open() {
  KL_ASSIGN_OR_RETURN(parts_, factory_());
  if (!parts_.source || !parts_.sink) return Status::InvalidArgument("job " + name_ + " needs a source and a sink");
  KL_ASSIGN_OR_RETURN(std::optional<SourcePosition> position, parts_.sink->RestorePosition());
  KL_RETURN_IF_ERROR(parts_.source->Restore(position));
  opened_ = true;
  last_checkpoint_us_ = last_commit_us_ = MonotonicMicros();
  dirty_ = false;
  std::lock_guard<std::mutex> lock(mu_);
  if (position) status_.position = *position;
  return Status::OK();
}

Status Job::Drain(Changes& changes, size_t from_operator) {
  double mark = ThreadCpuSeconds();
  for (size_t i = from_operator; i < parts_.operators.size(); ++i) {
    Changes next;
    KL_RETURN_IF_ERROR(parts_.operators[i]->Process(changes, &next));
    changes = std::move(next);
  }
  ChargeCpu(&mark, &JobStatus::cpu_operators_seconds);
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.changes_out += changes.size();
  }
  Status written = parts_.sink->Write(changes);
  ChargeCpu(&mark, &JobStatus::cpu_write_seconds);
  return written;
}

Result<bool> Job::Step() {
  if (!opened_) KL_RETURN_IF_ERROR(Open());
  int64_t since_ms = (MonotonicMicros() - last_checkpoint_us_) / 1000;
  if (dirty_ && !last_poll_full_ && since_ms < options_.commit_interval_ms) {
    // Caught up with the source and a checkpoint is coming: what arrives until
    // then is read and processed in one batch, so the per-batch costs of the
    // source, the operators and the sink are paid about once per commit instead
    // of once per arriving event. Commits (and freshness) keep their interval.
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min(options_.commit_interval_ms - since_ms, options_.poll_timeout_ms)));
    return false;
  }
  Changes changes;
  double mark = ThreadCpuSeconds();
  KL_RETURN_IF_ERROR(parts_.source->Poll(options_.max_batch, dirty_ ? 0 : options_.poll_timeout_ms, &changes));
  ChargeCpu(&mark, &JobStatus::cpu_poll_seconds);
  bool read = !changes.empty();
  last_poll_full_ = changes.size() >= options_.max_batch;
  if (read) {
    dirty_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      status_.changes_in += changes.size();
    }
    KL_RETURN_IF_ERROR(Drain(changes, 0));
  }
  int64_t now = MonotonicMicros();
  bool due = dirty_ && (now - last_checkpoint_us_) / 1000 >= options_.commit_interval_ms;
  bool idle_due = (now - last_commit_us_) / 1000 >= options_.idle_commit_ms &&
                  !(parts_.source->position() == status().position);
  if (due || idle_due) KL_RETURN_IF_ERROR(Checkpoint(idle_due));
  return read;
}

Status Job::Checkpoint(bool record_progress) {
  if (!opened_) return Status::OK();
  // Operators holding changes back (aggregates) release them, in chain order.
  for (size_t i = 0; i < parts_.operators.size(); ++i) {
    Changes held;
    KL_RETURN_IF_ERROR(parts_.operators[i]->Finish(&held));
    if (!held.empty()) KL_RETURN_IF_ERROR(Drain(held, i + 1));
  }
  SourcePosition position = parts_.source->position();
  bool moved = !(position == status().position);
  last_checkpoint_us_ = MonotonicMicros();
  dirty_ = false;
  // Nothing to write: no snapshot (idle tables cost nothing), unless the
  // position is to be recorded.
  if (!parts_.sink->has_pending() && !(moved && record_progress)) return Status::OK();
  double mark = ThreadCpuSeconds();
  // With a backlog still waiting in the source, compactions wait until it is read.
  parts_.sink->SetCatchingUp(last_poll_full_);
  auto committed = parts_.sink->Commit(position, /*allow_empty=*/moved);
  ChargeCpu(&mark, &JobStatus::cpu_commit_seconds);
  {
    table::WriterCpu c = parts_.sink->writer_cpu();
    std::lock_guard<std::mutex> lock(mu_);
    status_.table_cpu = {retired_table_cpu_.flush + c.flush, retired_table_cpu_.compact + c.compact,
                         retired_table_cpu_.commit + c.commit, retired_table_cpu_.expire + c.expire};
  }
  KL_ASSIGN_OR_RETURN(table::CommitResult result, std::move(committed));
  Status noted = parts_.source->Committed(position);
  if (!noted.ok()) spdlog::warn("job {}: recording the committed position: {}", name_, noted.ToString());
  last_commit_us_ = MonotonicMicros();
  std::lock_guard<std::mutex> lock(mu_);
  status_.position = position;
  if (!result.snapshot_ids.empty()) {
    ++status_.commits;
    status_.last_snapshot = result.snapshot_ids.back();
    status_.last_commit_ms = NowMillis();
  }
  return Status::OK();
}

Status Job::Recover(const Status& cause) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++status_.errors;
    status_.last_error = cause.ToString();
  }
  spdlog::warn("job {}: {}; restarting from its last commit", name_, cause.ToString());
  if (parts_.sink) {
    table::WriterCpu c = parts_.sink->writer_cpu();
    retired_table_cpu_.flush += c.flush;
    retired_table_cpu_.compact += c.compact;
    retired_table_cpu_.commit += c.commit;
    retired_table_cpu_.expire += c.expire;
  }
  parts_ = JobParts();
  opened_ = false;
  return Open();
}

void Job::Run(const std::atomic<bool>& stop) {
  double cpu_start = ThreadCpuSeconds();
  auto account = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    status_.cpu_seconds = ThreadCpuSeconds() - cpu_start;
  };
  while (!stop.load()) {
    auto step = Step();
    account();
    if (step.ok()) continue;
    Status s = step.status();
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_backoff_ms));
      s = Recover(s);
      if (s.ok()) break;
    }
  }
  if (opened_) {
    // Jobs wait out their commit interval before reading what arrived
    // meanwhile: read what is there now (for up to a second), so a stop leaves
    // the tables as current as the source.
    Status s;
    int64_t deadline = MonotonicMicros() + 1'000'000;
    while (s.ok() && MonotonicMicros() < deadline) {
      Changes changes;
      s = parts_.source->Poll(options_.max_batch, options_.poll_timeout_ms, &changes);
      if (!s.ok() || changes.empty()) break;
      dirty_ = true;
      {
        std::lock_guard<std::mutex> lock(mu_);
        status_.changes_in += changes.size();
      }
      s = Drain(changes, 0);
    }
    if (s.ok()) s = Checkpoint(/*record_progress=*/true);
    if (!s.ok()) spdlog::warn("job {}: final commit failed: {}", name_, s.ToString());
  }
}

JobStatus Job::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace kl::pipeline
