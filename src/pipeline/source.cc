#include "pipeline/source.h"

#include <chrono>
#include <thread>

#include "common/clock.h"

namespace kl::pipeline {

TableChangeSource::TableChangeSource(std::shared_ptr<table::Table> table, std::unique_ptr<table::TableRead> read)
    : table_(std::move(table)), read_(std::move(read)) {}

Result<std::unique_ptr<TableChangeSource>> TableChangeSource::Create(std::shared_ptr<table::Table> table,
                                                                     std::vector<std::string> projection) {
  KL_ASSIGN_OR_RETURN(auto read, table->NewRead(std::move(projection)));
  return std::unique_ptr<TableChangeSource>(new TableChangeSource(std::move(table), std::move(read)));
}

Status TableChangeSource::Restore(const std::optional<SourcePosition>& position) {
  if (position && position->table_snapshot > 0) {
    scan_.emplace(table_->NewStreamScan(table::StreamStart::kFromSnapshot));
    scan_->RestoreAfter(position->table_snapshot);
    consumed_ = position->table_snapshot;
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

SourcePosition TableChangeSource::position() const {
  SourcePosition p;
  p.table_snapshot = consumed_;
  return p;
}

}  // namespace kl::pipeline
