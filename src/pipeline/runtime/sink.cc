#include "pipeline/runtime/sink.h"

namespace kl::pipeline {

TableSink::TableSink(std::shared_ptr<table::Table> table, std::string job)
    : table_(std::move(table)), commit_user_("kubelake-job-" + job) {}

Result<std::optional<SourcePosition>> TableSink::RestorePosition() {
  table::FileStoreCommit commit(table_->context());
  KL_ASSIGN_OR_RETURN(std::optional<table::Snapshot> last, commit.LatestSnapshotOf(commit_user_));
  if (!last) return std::optional<SourcePosition>();
  last_identifier_ = last->commit_identifier;
  SourcePosition p;
  p.log_offsets = last->log_offsets;
  p.table_snapshot = last->log_offsets.empty() ? last->commit_identifier : 0;
  return std::optional<SourcePosition>(p);
}

Status Sink::WriteBatch(const ChangeBatch& batch) {
  Changes changes;
  AppendBatchToChanges(batch, &changes);
  return Write(changes);
}

void TableSink::OpenWriter() {
  if (writer_) return;
  writer_ = table_->NewWriter(commit_user_);
  writer_->DeferCompaction(catching_up_);
}

Status TableSink::WriteBatch(const ChangeBatch& batch) {
  if (batch.empty()) return Status::OK();
  const auto& type = table_->schema().fields;
  if (batch.rows.num_columns() != type.size() || batch.rows.num_rows() != batch.size()) {
    return Status::InvalidArgument("batch of " + std::to_string(batch.rows.num_columns()) + " columns and " +
                                   std::to_string(batch.rows.num_rows()) + " rows with " +
                                   std::to_string(batch.size()) + " kinds for table " + table_->path() + " with " +
                                   std::to_string(type.size()) + " columns");
  }
  for (size_t c = 0; c < type.size(); ++c) {
    const format::Column& col = batch.rows.column(c);
    if (col.size() != batch.size()) {
      return Status::InvalidArgument("column " + type.field(c).name + " of a batch for table " + table_->path() +
                                     " has " + std::to_string(col.size()) + " rows, not " +
                                     std::to_string(batch.size()));
    }
    // A column of another type of the same values (a VARCHAR's length): row by row, as Write takes it.
    if (!col.type().EqualsIgnoreNullable(type.type(c))) return Sink::WriteBatch(batch);
  }
  OpenWriter();
  pending_rows_ += batch.size();
  return writer_->Write(batch.rows, &batch.kinds);
}

Status TableSink::Write(const Changes& changes) {
  if (changes.empty()) return Status::OK();
  OpenWriter();
  const auto& type = table_->schema().fields;
  // One batch serves the Writes up to the next commit: its columns keep their capacity, so
  // rows are copied into memory already mapped rather than into columns growing afresh.
  if (batch_.schema() == type) {
    batch_.Clear();
  } else {
    batch_ = format::ColumnBatch(type);
  }
  kinds_.clear();
  kinds_.reserve(changes.size());
  for (const auto& c : changes) {
    if (c.row.size() != type.size()) {
      return Status::InvalidArgument("row with " + std::to_string(c.row.size()) + " columns for table " +
                                     table_->path() + " with " + std::to_string(type.size()));
    }
    batch_.AppendRow(c.row);
    kinds_.push_back(c.kind);
  }
  pending_rows_ += changes.size();
  Status written = writer_->Write(batch_, &kinds_);
  // A batch of unusually large rows does not keep its memory.
  if (batch_.MemoryBytes() > kMaxKeptBatchBytes) batch_ = format::ColumnBatch();
  return written;
}

int64_t TableSink::NextIdentifier(const SourcePosition& position) const {
  // Log-sourced: offsets go in the snapshot, the identifier counts commits.
  // Table-sourced: the identifier is the upstream snapshot (no offsets).
  bool by_snapshot = position.log_offsets.empty() && position.inputs.empty();
  return by_snapshot ? position.table_snapshot : last_identifier_ + 1;
}

Result<table::CommitResult> TableSink::Commit(const SourcePosition& position, bool allow_empty) {
  OpenWriter();
  int64_t identifier = NextIdentifier(position);
  if (identifier <= last_identifier_) return table::CommitResult{};
  auto result = writer_->Commit(identifier, position.log_offsets, allow_empty);
  if (!result.ok()) {
    Reset();
    return result.status();
  }
  if (!result->snapshot_ids.empty() || result->already_committed) last_identifier_ = identifier;
  pending_rows_ = 0;
  // The batch serves the Writes of one commit interval; an idle job keeps no rows' worth.
  batch_ = format::ColumnBatch();
  return result;
}

void TableSink::Reset() {
  if (writer_) retired_cpu_ += writer_->cpu();
  writer_.reset();
  pending_rows_ = 0;
  batch_ = format::ColumnBatch();
}

table::WriterCpu TableSink::writer_cpu() const {
  table::WriterCpu c = retired_cpu_;
  if (writer_) c += writer_->cpu();
  return c;
}

}  // namespace kl::pipeline
