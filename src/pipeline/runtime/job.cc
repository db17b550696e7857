#include "pipeline/runtime/job.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/memory.h"

namespace kl::pipeline {
void Job::ChargeCpu(double* mark, double JobStatus::*bucket) {
  double now = ThreadCpuSeconds();
  std::lock_guard<std::mutex> lock(mu_);
  status_.*bucket += now - *mark;
  *mark = now;
}

double Job::WorkerCpuOfParts() const {
  double total = 0;
  if (parts_.sink) total += parts_.sink->writer_cpu().workers;
  for (const auto& op : parts_.operators) total += op->worker_cpu_seconds();
  return total;
}

void Job::ChargeWorkerCpu(double JobStatus::*bucket) {
  double total = retired_worker_cpu_ + WorkerCpuOfParts();
  std::lock_guard<std::mutex> lock(mu_);
  status_.*bucket += total - charged_worker_cpu_;
  charged_worker_cpu_ = total;
}

Job::Job(std::string name, JobFactory factory, JobOptions options)
    : name_(std::move(name)), factory_(std::move(factory)), options_(options) {
  status_.name = name_;
}

Status Job::Open() {
  KL_ASSIGN_OR_RETURN(parts_, factory_());
  if (!parts_.source || !parts_.sink) return Status::InvalidArgument("job " + name_ + " needs a source and a sink");
  KL_ASSIGN_OR_RETURN(std::optional<SourcePosition> position, parts_.sink->RestorePosition());
  uses_state_ = parts_.source->position_in_state();
  for (const auto& op : parts_.operators) uses_state_ = uses_state_ || op->stateful();
  state_.reset();
  if (uses_state_) {
    if (options_.state_dir.empty()) {
      return Status::InvalidArgument("job " + name_ + " keeps state but has no state directory");
    }
    state_ = std::make_unique<StateStore>(options_.state_dir, options_.state_fingerprint);
    if (position) {
      // The checkpoint of the sink's last commit: positions and operator state as of it.
      auto restored = state_->Load(parts_.sink->last_identifier(), parts_.operators.size());
      if (!restored.ok()) return restored.status().WithContext("job " + name_);
      position = restored->position;
      for (size_t i = 0; i < parts_.operators.size(); ++i) {
        if (!parts_.operators[i]->stateful()) continue;
        KL_RETURN_IF_ERROR(parts_.operators[i]
                               ->LoadState(restored->operators[i])
                               .WithContext("job " + name_ + ": restoring " + parts_.operators[i]->name()));
      }
    } else {
      KL_RETURN_IF_ERROR(state_->Clear());
    }
  }
  KL_RETURN_IF_ERROR(parts_.source->Restore(position));
  const auto& ops = parts_.operators;
  batch_from_ = ops.size();
  if (parts_.sink->takes_batches()) {
    // The last emitter after which every operator takes batches.
    for (size_t i = ops.size(); i-- > 0;) {
      if (ops[i]->emits_batches()) {
        batch_from_ = i;
        break;
      }
      if (!ops[i]->takes_batches()) break;
    }
  }
  // A source that reads columns hands them on as they are when everything after it takes batches.
  source_batches_ = parts_.source->emits_batches() && parts_.sink->takes_batches() &&
                    std::all_of(ops.begin(), ops.end(), [](const auto& op) { return op->takes_batches(); });
  // Then every operator has had batches, and gives what it holds at a checkpoint as one.
  if (source_batches_) batch_from_ = 0;
  opened_ = true;
  last_checkpoint_us_ = last_commit_us_ = MonotonicMicros();
  dirty_ = false;
  std::lock_guard<std::mutex> lock(mu_);
  if (position) status_.position = *position;
  status_.running = true;
  return Status::OK();
}

Status Job::Drain(Changes& changes, size_t from_operator) {
  ChangeBatch batch;
  return Write(changes, batch, from_operator, false);
}

Status Job::DrainBatch(ChangeBatch& batch, size_t from_operator) {
  Changes none;
  return Write(none, batch, from_operator, true);
}

Status Job::Write(Changes& changes, ChangeBatch& batch, size_t from_operator, bool batched) {
  double mark = ThreadCpuSeconds();
  for (size_t i = from_operator; i < parts_.operators.size(); ++i) {
    Operator& op = *parts_.operators[i];
    if (batched) {
      if (batch.empty()) break;  // everything was filtered out: nothing for the rest of the chain
      ChangeBatch next;
      KL_RETURN_IF_ERROR(op.ProcessBatch(batch, &next));
      batch = std::move(next);
    } else if (i == batch_from_) {
      KL_RETURN_IF_ERROR(op.ProcessIntoBatch(changes, &batch));
      changes.clear();
      batched = true;
    } else {
      Changes next;
      next.reserve(changes.size());
      KL_RETURN_IF_ERROR(op.Process(changes, &next));
      changes = std::move(next);
    }
  }
  ChargeCpu(&mark, &JobStatus::cpu_operators_seconds);
  ChargeWorkerCpu(&JobStatus::cpu_operators_seconds);
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.changes_out += batched ? batch.size() : changes.size();
  }
  Status written = batched ? parts_.sink->WriteBatch(batch) : parts_.sink->Write(changes);
  ChargeCpu(&mark, &JobStatus::cpu_write_seconds);
  ChargeWorkerCpu(&JobStatus::cpu_write_seconds);
  return written;
}

Status Job::PollAndDrain(int64_t timeout_ms, size_t* polled) {
  double mark = ThreadCpuSeconds();
  Changes changes;
  ChangeBatch batch;
  Status s = source_batches_ ? parts_.source->PollBatch(options_.max_batch, timeout_ms, &batch)
                             : parts_.source->Poll(options_.max_batch, timeout_ms, &changes);
  ChargeCpu(&mark, &JobStatus::cpu_poll_seconds);
  KL_RETURN_IF_ERROR(s);
  *polled = source_batches_ ? batch.size() : changes.size();
  if (*polled == 0) return Status::OK();
  dirty_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.changes_in += *polled;
  }
  return source_batches_ ? DrainBatch(batch, 0) : Drain(changes, 0);
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
  size_t polled = 0;
  KL_RETURN_IF_ERROR(PollAndDrain(dirty_ ? 0 : options_.poll_timeout_ms, &polled));
  bool read = polled > 0;
  last_poll_full_ = polled >= options_.max_batch || parts_.source->more_waiting();
  if (!read && !dirty_) {
    std::lock_guard<std::mutex> lock(mu_);
    status_.last_caught_up_ms = NowMillis();
  }
  int64_t now = MonotonicMicros();
  int64_t since_checkpoint_ms = (now - last_checkpoint_us_) / 1000;
  if (!dirty_ && since_checkpoint_ms >= options_.commit_interval_ms) {
    for (auto& op : parts_.operators) dirty_ = op->WantsCheckpoint() || dirty_;
  }
  bool due = dirty_ && since_checkpoint_ms >= options_.commit_interval_ms;
  bool idle_due =
      (now - last_commit_us_) / 1000 >= options_.idle_commit_ms && !(parts_.source->position() == status().position);
  if (due || idle_due) KL_RETURN_IF_ERROR(Checkpoint(idle_due));
  return read;
}

Status Job::Checkpoint(bool record_progress) {
  if (!opened_) return Status::OK();
  // Operators holding changes back (aggregates) release them, in chain order.
  for (size_t i = 0; i < parts_.operators.size(); ++i) {
    if (i >= batch_from_) {
      std::vector<ChangeBatch> held;
      KL_RETURN_IF_ERROR(parts_.operators[i]->FinishBatches(&held));
      for (ChangeBatch& batch : held) {
        if (!batch.empty()) KL_RETURN_IF_ERROR(DrainBatch(batch, i + 1));
      }
      continue;
    }
    Changes held;
    KL_RETURN_IF_ERROR(parts_.operators[i]->Finish(&held));
    if (!held.empty()) KL_RETURN_IF_ERROR(Drain(held, i + 1));
  }
  SourcePosition position = parts_.source->position();
  bool moved = !(position == status().position);
  last_checkpoint_us_ = MonotonicMicros();
  dirty_ = false;
  // Nothing to write: no snapshot (idle tables cost nothing), unless the
  // position is to be recorded (periodically, on the way out, or at the end of
  // a bounded source, which is then finished).
  bool record = record_progress || (parts_.source->bounded() && parts_.source->exhausted());
  if (!parts_.sink->has_pending() && !(moved && record)) return Status::OK();
  int64_t identifier = parts_.sink->NextIdentifier(position);
  if (uses_state_) {
    // Nothing newer than the last commit to record (a table source that has not moved on).
    if (identifier <= parts_.sink->last_identifier()) {
      last_commit_us_ = MonotonicMicros();
      return Status::OK();
    }
    bool full = state_->WantFull();
    std::vector<StateWriter> writers(parts_.operators.size());
    std::vector<const StateWriter*> states(parts_.operators.size(), nullptr);
    for (size_t i = 0; i < parts_.operators.size(); ++i) {
      if (!parts_.operators[i]->stateful()) continue;
      KL_RETURN_IF_ERROR(parts_.operators[i]->SaveState(full, &writers[i]));
      states[i] = &writers[i];
    }
    KL_RETURN_IF_ERROR(state_->Save(identifier, position, full, states).WithContext("job " + name_));
  }
  double mark = ThreadCpuSeconds();
  int64_t commit_start_us = MonotonicMicros();
  // With a backlog still waiting in the source, compactions wait until it is read.
  parts_.sink->SetCatchingUp(last_poll_full_);
  auto committed = parts_.sink->Commit(position, /*allow_empty=*/moved);
  ChargeCpu(&mark, &JobStatus::cpu_commit_seconds);
  ChargeWorkerCpu(&JobStatus::cpu_commit_seconds);
  {
    table::WriterCpu c = parts_.sink->writer_cpu();
    std::lock_guard<std::mutex> lock(mu_);
    if (committed.ok()) {
      status_.commit_seconds.Observe(static_cast<double>(MonotonicMicros() - commit_start_us) / 1e6);
    }
    c += retired_table_cpu_;
    status_.table_cpu = c;
  }
  // A failed commit may still have landed: its checkpoint stays (a restart decides).
  KL_ASSIGN_OR_RETURN(table::CommitResult result, std::move(committed));
  if (uses_state_) {
    if (!result.snapshot_ids.empty() || result.already_committed) {
      state_->Committed(identifier);
      for (auto& op : parts_.operators) op->StateCommitted();
    } else {
      state_->Abandon(identifier);
    }
  }
  Status noted = parts_.source->Committed(position);
  if (!noted.ok()) spdlog::warn("job {}: recording the committed position: {}", name_, noted.ToString());
  // A commit frees the interval's buffers; what the jobs freed goes back every few seconds.
  ReleaseFreeMemory();
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
    status_.running = false;
  }
  spdlog::warn("job {}: {}; restarting from its last commit", name_, cause.ToString());
  if (parts_.sink) retired_table_cpu_ += parts_.sink->writer_cpu();
  retired_worker_cpu_ += WorkerCpuOfParts();
  parts_ = JobParts();
  opened_ = false;
  return Open();
}

void Job::Run(const std::atomic<bool>& stop) {
  double cpu_start = ThreadCpuSeconds();
  auto account = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    // The job's thread and the worker threads that wrote its table's buckets.
    status_.cpu_seconds = ThreadCpuSeconds() - cpu_start + charged_worker_cpu_;
  };
  auto fatal = [&](const Status& s) {
    if (!options_.is_fatal || !options_.is_fatal(s)) return false;
    spdlog::error("job {} failed: {}", name_, s.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    ++status_.errors;
    status_.last_error = s.ToString();
    status_.failed = true;
    status_.running = false;
    return true;
  };
  while (!stop.load()) {
    auto step = Step();
    account();
    if (step.ok()) continue;
    Status s = step.status();
    if (fatal(s)) return;
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_backoff_ms));
      s = Recover(s);
      if (s.ok()) break;
      if (fatal(s)) return;
    }
  }
  if (opened_) {
    // Jobs wait out their commit interval before reading what arrived
    // meanwhile: read what is there now (for up to a second), so a stop leaves
    // the tables as current as the source.
    Status s;
    int64_t deadline = MonotonicMicros() + 1'000'000;
    while (s.ok() && MonotonicMicros() < deadline) {
      size_t polled = 0;
      s = PollAndDrain(options_.poll_timeout_ms, &polled);
      if (polled == 0) break;
    }
    if (s.ok()) s = Checkpoint(/*record_progress=*/true);
    if (!s.ok()) spdlog::warn("job {}: final commit failed: {}", name_, s.ToString());
  }
}

bool Job::finished() const {
  if (!opened_ || !parts_.source->bounded() || !parts_.source->exhausted() || dirty_) return false;
  return parts_.source->position() == status().position && !parts_.sink->has_pending();
}

JobStatus Job::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace kl::pipeline
