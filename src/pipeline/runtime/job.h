// A streaming job: source -> operators -> table sink, with a checkpoint every
// commit interval. A checkpoint is a table commit that records the source
// position it covers, so after any crash the job resumes from its sink's
// last commit and a commit re-sent with the same identifier is a no-op:
// each change lands exactly once. On an error the job rebuilds its parts
// from the factory and resumes from the table.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "common/result.h"
#include "pipeline/runtime/operator.h"
#include "pipeline/runtime/sink.h"
#include "pipeline/runtime/source.h"

namespace kl::pipeline {

struct JobParts {
  std::unique_ptr<Source> source;
  std::vector<std::unique_ptr<Operator>> operators;
  std::unique_ptr<Sink> sink;
};

// Builds fresh parts; called at start and again after an error.
using JobFactory = std::function<Result<JobParts>()>;

struct JobOptions {
  int64_t commit_interval_ms = 1000;
  size_t max_batch = 20000;  // changes polled per step
  int64_t poll_timeout_ms = 50;
  // A checkpoint that has nothing to write commits no snapshot; the source
  // position is still recorded this often (an empty commit), so a restart
  // does not re-read much and followed tables can expire their snapshots.
  int64_t idle_commit_ms = 30000;
  int64_t retry_backoff_ms = 1000;
  // Where the job keeps its state checkpoints (state.h); needed when an
  // operator is stateful or the source has several inputs. The fingerprint
  // names the job's plan: state saved for another plan is not loaded.
  std::string state_dir;
  std::string state_fingerprint;
  // Errors that restarting cannot cure (a NULL for a NOT NULL column): the job
  // stops and reports failed instead of retrying. Default: every error is retried.
  std::function<bool(const Status&)> is_fatal;
};

struct JobStatus {
  std::string name;
  uint64_t changes_in = 0;
  uint64_t changes_out = 0;
  uint64_t commits = 0;
  uint64_t errors = 0;
  int64_t last_commit_ms = 0;
  int64_t last_snapshot = 0;
  // Last time a poll found nothing new with everything read committed: an
  // idle job that is caught up commits nothing, yet is healthy.
  int64_t last_caught_up_ms = 0;
  bool running = false;              // opened and stepping (false while recovering from an error)
  bool failed = false;               // stopped by a fatal error (last_error says which)
  DurationHistogram commit_seconds;  // wall time of each table commit
  double cpu_seconds = 0;            // CPU time of the thread running the job and of the worker
                                     // threads writing its table's buckets, split below
  double cpu_poll_seconds = 0;       // reading and decoding the source
  double cpu_operators_seconds = 0;  // the operator chain
  double cpu_write_seconds = 0;      // handing changes to the table writer (buffering, flushes)
  double cpu_commit_seconds = 0;     // checkpoints: final flushes, compaction, changelog, commit
  table::WriterCpu table_cpu;        // the table writers' CPU by phase (in write and commit above)
  SourcePosition position;
  std::string last_error;
};

class Job {
 public:
  Job(std::string name, JobFactory factory, JobOptions options = {});

  const std::string& name() const { return name_; }
  // Builds the parts and restores the source from the sink's last commit.
  Status Open();
  // Polls once, runs the operators, writes to the sink; commits when due.
  // Returns whether any change was read.
  Result<bool> Step();
  // Finishes the operators and commits what was written. Without anything to
  // write it commits nothing, unless `record_progress` (or the idle commit
  // interval has passed and the source moved): then an empty snapshot
  // records the source position.
  Status Checkpoint(bool record_progress = false);
  // Steps until `stop`, recovering from errors; commits once more on the way out.
  // Returns early when a fatal error stops the job.
  void Run(const std::atomic<bool>& stop);
  // True when the source is bounded and everything it had is committed.
  bool finished() const;
  JobStatus status() const;

 private:
  Status Recover(const Status& cause);
  // Polls the source once (as a batch when source_batches_) and runs what came through
  // the operators into the sink; `*polled` is how many changes came.
  Status PollAndDrain(int64_t timeout_ms, size_t* polled);
  Status Drain(Changes& changes, size_t from_operator);
  // Drain for a batch that operator `from_operator - 1` (at or after batch_from_) gave.
  Status DrainBatch(ChangeBatch& batch, size_t from_operator);
  // Runs operators [from, batch_from_) on rows; the rest, and the sink, on one batch.
  Status Write(Changes& changes, ChangeBatch& batch, size_t from_operator, bool batched);
  // Adds the thread CPU time since `*mark` to `*bucket` and moves the mark.
  void ChargeCpu(double* mark, double JobStatus::*bucket);
  // Adds the CPU the operators and the sink's table writers spent on worker threads since the
  // last call to `*bucket`.
  void ChargeWorkerCpu(double JobStatus::*bucket);
  double WorkerCpuOfParts() const;

  std::string name_;
  JobFactory factory_;
  JobOptions options_;
  JobParts parts_;
  bool opened_ = false;
  int64_t last_checkpoint_us_ = 0;
  int64_t last_commit_us_ = 0;          // last snapshot committed (or open)
  bool dirty_ = false;                  // read anything since the last checkpoint
  bool last_poll_full_ = false;         // the last poll stopped at a limit (max_batch, the source's): more are waiting
  table::WriterCpu retired_table_cpu_;  // of sinks replaced after errors
  double retired_worker_cpu_ = 0;       // worker threads' CPU of parts replaced after errors
  double charged_worker_cpu_ = 0;       // worker threads' CPU counted so far (guarded by mu_)
  bool uses_state_ = false;
  // The operator whose output goes on as a column batch (Operator::emits_batches), when the
  // operators after it and the sink take batches; operators.size() when none does; 0 when
  // the source's batches go through (source_batches_).
  size_t batch_from_ = 0;
  // The source's batches go to the operators as they are (Source::emits_batches): every
  // operator and the sink take batches.
  bool source_batches_ = false;
  std::unique_ptr<StateStore> state_;
  mutable std::mutex mu_;
  JobStatus status_;
};

}  // namespace kl::pipeline
