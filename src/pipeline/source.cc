#include "pipeline/source.h"

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "table/consumer.h"

namespace kl::pipeline {

TableChangeSource::TableChangeSource(std::shared_ptr<table::Table> table, std::unique_ptr<table::TableRead> read,
                                     std::string consumer_id)
    : table_(std::move(table)), read_(std::move(read)), consumer_id_(std::move(consumer_id)) {}

Result<std::unique_ptr<TableChangeSource>> TableChangeSource::Create(std::shared_ptr<table::Table> table,
                                                                     std::vector<std::string> projection,
                                                                     std::string consumer_id) {
  KL_ASSIGN_OR_RETURN(auto read, table->NewRead(std::move(projection)));
  return std::unique_ptr<TableChangeSource>(
      new TableChangeSource(std::move(table), std::move(read), std::move(consumer_id)));
}

Status TableChangeSource::Restore(const std::optional<SourcePosition>& position) {
  if (position && position->table_snapshot > 0) {
    scan_.emplace(table_->NewStreamScan(table::StreamStart::kFromSnapshot));
    scan_->RestoreAfter(position->table_snapshot);
    consumed_ = position->table_snapshot;
    // Re-recorded in case the consumer file was lost: the sink's position is the truth.
    KL_RETURN_IF_ERROR(Committed(*position));
  } else {
    scan_.emplace(table_->NewStreamScan(table::StreamStart::kLatestFull));
    consumed_ = 0;
  }
  return Status::OK();
}

Status TableChangeSource::Poll(size_t max_changes, int64_t timeout_ms, Changes* out) {
  if (!scan_) KL_RETURN_IF_ERROR(Restore(std::nullopt));
  int64_t deadline = MonotonicMicros() + timeout_ms * 1000;
  size_t added = 0;
  while (added < max_changes) {
    KL_ASSIGN_OR_RETURN(table::ScanPlan plan, scan_->Next());
    if (!plan.snapshot_id) {
      if (added > 0 || MonotonicMicros() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(20, timeout_ms)));
      continue;
    }
    KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows, read_->ReadAll(plan));
    for (size_t i = 0; i < rows.size(); ++i) out->push_back({rows.kinds[i], rows.rows.GetRow(i)});
    added += rows.size();
    consumed_ = *plan.snapshot_id;
  }
  return Status::OK();
}

Status TableChangeSource::Committed(const SourcePosition& position) {
  if (consumer_id_.empty() || position.table_snapshot <= 0) return Status::OK();
  return table::ConsumerManager(table_->path()).Record(consumer_id_, position.table_snapshot + 1);
}

SourcePosition TableChangeSource::position() const {
  SourcePosition p;
  p.table_snapshot = consumed_;
  return p;
}

}  // namespace kl::pipeline
