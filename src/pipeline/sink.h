// The sink of a job: a table, written through a TableWriter and committed at
// every checkpoint with the source position the commit covers. The position
// of the last commit is where the job resumes after a restart, and the
// commit identifier makes a commit re-sent after a crash a no-op.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "pipeline/change.h"
#include "table/table.h"

namespace kl::pipeline {

class TableSink {
 public:
  // `job` names the committing job (its commit user is "kubelake-job-<job>").
  TableSink(std::shared_ptr<table::Table> table, std::string job);

  const std::shared_ptr<table::Table>& table() const { return table_; }
  const std::string& commit_user() const { return commit_user_; }
  // The position recorded by this job's last commit, if any.
  Result<std::optional<SourcePosition>> RestorePosition();
  Status Write(const Changes& changes);
  bool has_pending() const { return pending_rows_ > 0; }
  // Commits everything written with `position`. Table-sourced jobs use the
  // upstream snapshot as identifier; log-sourced jobs count checkpoints.
  Result<table::CommitResult> Commit(const SourcePosition& position, bool allow_empty = false);
  // Drops the writer after a failed commit (the job then restarts from the table).
  void Reset();
  // The job has a backlog to catch up with: defer compactions (TableWriter::DeferCompaction).
  void SetCatchingUp(bool catching_up) {
    catching_up_ = catching_up;
    if (writer_) writer_->DeferCompaction(catching_up);
  }
  // CPU the table writers of this sink spent in commits, by phase (over writers since created).
  table::WriterCpu writer_cpu() const;

 private:
  std::shared_ptr<table::Table> table_;
  std::string commit_user_;
  std::unique_ptr<table::TableWriter> writer_;
  int64_t last_identifier_ = 0;
  size_t pending_rows_ = 0;
  table::WriterCpu retired_cpu_;  // of writers dropped after failures
  bool catching_up_ = false;
};

}  // namespace kl::pipeline
