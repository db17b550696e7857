// The sink of a job: a table, written through a TableWriter and committed at
// every checkpoint with the source position the commit covers. The position
// of the last commit is where the job resumes after a restart, and the
// commit identifier makes a commit re-sent after a crash a no-op.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "pipeline/runtime/change.h"
#include "table/table.h"

namespace kl::pipeline {

// Where a job's changes go. A commit makes everything written since the last
// one visible together with the source position it covers, atomically, under
// an identifier that grows with every commit; committing an identifier the
// sink already has is a no-op (a retry after a crash).
class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string name() const = 0;
  // The position recorded by this job's last commit, if any; also loads last_identifier().
  virtual Result<std::optional<SourcePosition>> RestorePosition() = 0;
  virtual Status Write(const Changes& changes) = 0;
  // Whether WriteBatch takes batches as they are (Operator::emits_batches); the
  // default goes through rows.
  virtual bool takes_batches() const { return false; }
  virtual Status WriteBatch(const ChangeBatch& batch);
  virtual bool has_pending() const = 0;
  // The identifier the next commit of `position` will carry.
  virtual int64_t NextIdentifier(const SourcePosition& position) const = 0;
  // Commits everything written with `position`; snapshot_ids is empty when
  // nothing was committed (nothing written and not `allow_empty`).
  virtual Result<table::CommitResult> Commit(const SourcePosition& position, bool allow_empty = false) = 0;
  virtual int64_t last_identifier() const = 0;
  // Drops what was written and not committed (the job then restarts from the sink).
  virtual void Reset() = 0;
  // The job has a backlog to catch up with: a sink may put off work that the
  // rest of the backlog would make again (compactions).
  virtual void SetCatchingUp(bool /*catching_up*/) {}
  // CPU the sink's table writers spent in commits, by phase (since the sink was created).
  virtual table::WriterCpu writer_cpu() const { return {}; }
};

class TableSink : public Sink {
 public:
  // `job` names the committing job (its commit user is "kubelake-job-<job>").
  TableSink(std::shared_ptr<table::Table> table, std::string job);

  std::string name() const override { return "table " + table_->path(); }
  const std::shared_ptr<table::Table>& table() const { return table_; }
  const std::string& commit_user() const { return commit_user_; }
  Result<std::optional<SourcePosition>> RestorePosition() override;
  Status Write(const Changes& changes) override;
  bool takes_batches() const override { return true; }
  // The batch's columns are the table's, in its order (of other types: row by row).
  Status WriteBatch(const ChangeBatch& batch) override;
  bool has_pending() const override { return pending_rows_ > 0; }
  // Jobs following one table use the upstream snapshot as identifier; others
  // (log-sourced, several sources) count checkpoints.
  int64_t NextIdentifier(const SourcePosition& position) const override;
  Result<table::CommitResult> Commit(const SourcePosition& position, bool allow_empty = false) override;
  int64_t last_identifier() const override { return last_identifier_; }
  void Reset() override;
  // Defers compactions while catching up (TableWriter::DeferCompaction).
  void SetCatchingUp(bool catching_up) override {
    catching_up_ = catching_up;
    if (writer_) writer_->DeferCompaction(catching_up);
  }
  table::WriterCpu writer_cpu() const override;

 private:
  void OpenWriter();

  std::shared_ptr<table::Table> table_;
  std::string commit_user_;
  std::unique_ptr<table::TableWriter> writer_;
  int64_t last_identifier_ = 0;
  size_t pending_rows_ = 0;
  table::WriterCpu retired_cpu_;  // of writers dropped after failures
  static constexpr size_t kMaxKeptBatchBytes = 32 << 20;
  format::ColumnBatch batch_;  // Write's rows as columns, kept for the next Write
  std::vector<format::RowKind> kinds_;
  bool catching_up_ = false;
};

}  // namespace kl::pipeline
