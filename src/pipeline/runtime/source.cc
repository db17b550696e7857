#include "pipeline/runtime/source.h"

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "table/manifest/commit_signal.h"
#include "table/operation/consumer.h"

namespace kl::pipeline {

TableChangeSource::TableChangeSource(std::shared_ptr<table::Table> table, std::unique_ptr<table::TableRead> read,
                                     TableChangeOptions options)
    : table_(std::move(table)),
      read_(std::move(read)),
      options_(std::move(options)),
      consumer_id_(options_.consumer_id) {}

Result<std::unique_ptr<TableChangeSource>> TableChangeSource::Create(std::shared_ptr<table::Table> table,
                                                                     std::vector<std::string> projection,
                                                                     std::string consumer_id) {
  TableChangeOptions options;
  options.consumer_id = std::move(consumer_id);
  return Create(std::move(table), std::move(projection), std::move(options));
}

Result<std::unique_ptr<TableChangeSource>> TableChangeSource::Create(std::shared_ptr<table::Table> table,
                                                                     std::vector<std::string> projection,
                                                                     TableChangeOptions options) {
  KL_ASSIGN_OR_RETURN(auto read, table->NewRead(std::move(projection), options.filter));
  // Followers of one table read the same files soon after one another: each file the
  // cache lacks is decoded once for them all.
  read->ShareDecodes();
  return std::unique_ptr<TableChangeSource>(
      new TableChangeSource(std::move(table), std::move(read), std::move(options)));
}

Status TableChangeSource::Restore(const std::optional<SourcePosition>& position) {
  if (position && position->table_snapshot > 0) {
    scan_.emplace(table_->NewStreamScan(table::StreamStart::kFromSnapshot));
    scan_->RestoreAfter(position->table_snapshot);
    consumed_ = position->table_snapshot;
    // Re-recorded in case the consumer file was lost: the sink's position is the truth.
    KL_RETURN_IF_ERROR(Committed(*position));
    return Status::OK();
  }
  consumed_ = 0;
  if (options_.start_from_consumer && !consumer_id_.empty()) {
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> next, table::ConsumerManager(table_->path()).Read(consumer_id_));
    if (next) {
      scan_.emplace(table_->NewStreamScan(table::StreamStart::kFromSnapshot));
      scan_->RestoreAfter(*next - 1);
      consumed_ = *next - 1;
      return Status::OK();
    }
  }
  scan_.emplace(table_->NewStreamScan(options_.start, options_.start_snapshot));
  if (options_.start == table::StreamStart::kFromSnapshot && options_.start_snapshot) {
    consumed_ = *options_.start_snapshot - 1;
  }
  return Status::OK();
}

Status Source::PollBatch(size_t max_changes, int64_t timeout_ms, ChangeBatch* out) {
  Changes changes;
  KL_RETURN_IF_ERROR(Poll(max_changes, timeout_ms, &changes));
  if (!changes.empty()) AppendChangesToBatch(output_type(), changes, out);
  return Status::OK();
}

Status TableChangeSource::Poll(size_t max_changes, int64_t timeout_ms, Changes* out) {
  return PollInto(max_changes, timeout_ms, [&](table::RowsWithKinds& rows) {
    AppendBatchToChanges(rows, out);
    return rows.size();
  });
}

Status TableChangeSource::PollBatch(size_t max_changes, int64_t timeout_ms, ChangeBatch* out) {
  return PollInto(max_changes, timeout_ms, [&](table::RowsWithKinds& rows) {
    size_t n = rows.size();
    AppendBatch(rows, out);
    return n;
  });
}

template <typename Take>
Status TableChangeSource::PollInto(size_t max_changes, int64_t timeout_ms, Take take) {
  if (!scan_) KL_RETURN_IF_ERROR(Restore(std::nullopt));
  int64_t deadline = MonotonicMicros() + timeout_ms * 1000;
  size_t added = 0;
  while (added < max_changes) {
    // Counted before looking, so a commit landing in between ends the wait below at once.
    uint64_t committed_here = table::SnapshotsCommittedHere(table_->path());
    KL_ASSIGN_OR_RETURN(table::ScanPlan plan, scan_->Next());
    if (!plan.snapshot_id && consumed_ == 0 && scan_->next_snapshot() && *scan_->next_snapshot() > 1) {
      // A start after the latest snapshot (scan.mode latest): that far is read.
      consumed_ = *scan_->next_snapshot() - 1;
    }
    if (!plan.snapshot_id) {
      int64_t now = MonotonicMicros();
      if (added > 0 || now >= deadline) break;
      // A commit in this process wakes the wait; another process's is found when it times out.
      table::WaitForSnapshotCommittedHere(table_->path(), committed_here, (deadline - now + 999) / 1000);
      continue;
    }
    KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows, read_->ReadAll(plan));
    added += take(rows);
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

namespace kl::pipeline {

MultiSource::MultiSource(std::vector<std::unique_ptr<Source>> inputs) : inputs_(std::move(inputs)) {}

std::string MultiSource::name() const {
  std::string out;
  for (const auto& in : inputs_) out += (out.empty() ? "" : " + ") + in->name();
  return out;
}

Status MultiSource::Restore(const std::optional<SourcePosition>& position) {
  for (size_t i = 0; i < inputs_.size(); ++i) {
    std::optional<SourcePosition> p;
    if (position && i < position->inputs.size()) p = position->inputs[i];
    KL_RETURN_IF_ERROR(inputs_[i]->Restore(p));
  }
  return Status::OK();
}

Status MultiSource::Poll(size_t max_changes, int64_t timeout_ms, Changes* out) {
  // Every input gets a turn without waiting; only when none has anything does one wait.
  for (size_t n = 0; n < inputs_.size() && out->size() < max_changes; ++n) {
    size_t i = (next_ + n) % inputs_.size();
    size_t before = out->size();
    KL_RETURN_IF_ERROR(inputs_[i]->Poll(max_changes - out->size(), 0, out));
    for (size_t k = before; k < out->size(); ++k) (*out)[k].input = static_cast<uint8_t>(i);
  }
  next_ = (next_ + 1) % inputs_.size();
  if (out->empty() && timeout_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(timeout_ms, 20)));
  }
  return Status::OK();
}

SourcePosition MultiSource::position() const {
  SourcePosition p;
  for (const auto& in : inputs_) p.inputs.push_back(in->position());
  return p;
}

Status MultiSource::Committed(const SourcePosition& position) {
  for (size_t i = 0; i < inputs_.size() && i < position.inputs.size(); ++i) {
    KL_RETURN_IF_ERROR(inputs_[i]->Committed(position.inputs[i]));
  }
  return Status::OK();
}

bool MultiSource::bounded() const {
  for (const auto& in : inputs_) {
    if (!in->bounded()) return false;
  }
  return true;
}

bool MultiSource::exhausted() const {
  for (const auto& in : inputs_) {
    if (!in->exhausted()) return false;
  }
  return true;
}

Result<std::unique_ptr<TableSamplesSource>> TableSamplesSource::Create(std::shared_ptr<table::Table> table,
                                                                       std::vector<std::string> columns,
                                                                       int64_t period_ms, std::string consumer_id) {
  if (period_ms <= 0) return Status::InvalidArgument("sampling " + table->path() + ": the period must be positive");
  const format::RowType& t = table->schema().fields;
  std::vector<int> from;
  std::vector<format::DataField> fields;
  for (const auto& c : columns) {
    if (c.empty()) {
      from.push_back(-1);
      fields.push_back(
          {static_cast<int32_t>(fields.size()), "snapshot_time", format::DataType::BigInt().NotNull(), ""});
      continue;
    }
    int i = t.IndexOf(c);
    if (i < 0) return Status::InvalidArgument("sampling " + table->path() + ": no column " + c);
    from.push_back(i);
    fields.push_back({static_cast<int32_t>(fields.size()), c, t.type(static_cast<size_t>(i)), ""});
  }
  return std::unique_ptr<TableSamplesSource>(new TableSamplesSource(
      std::move(table), std::move(from), format::RowType(std::move(fields)), period_ms, std::move(consumer_id)));
}

Status TableSamplesSource::Restore(const std::optional<SourcePosition>& position) {
  last_ = position ? position->table_snapshot : 0;
  return Status::OK();
}

Status TableSamplesSource::Poll(size_t max_changes, int64_t timeout_ms, Changes* out) {
  int64_t now = NowMillis();
  int64_t current = now / period_ms_;  // the period in progress
  int64_t first = last_ == 0 ? current - 1 : last_ + 1;
  first = std::max(first, current - 60);
  size_t before = out->size();
  for (int64_t p = first; p < current && out->size() - before < max_changes; ++p) {
    int64_t boundary = (p + 1) * period_ms_;
    auto plan = table_->NewScan().PlanAsOfTime(boundary);
    if (plan.ok()) {
      KL_ASSIGN_OR_RETURN(auto read, table_->NewRead());
      KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows, read->ReadAll(*plan));
      for (size_t i = 0; i < rows.size(); ++i) {
        format::Row all = rows.rows.GetRow(i);
        format::Row row;
        row.reserve(from_.size());
        for (int f : from_) row.push_back(f < 0 ? format::Datum::Int(boundary) : all[static_cast<size_t>(f)]);
        out->push_back({format::RowKind::kInsert, std::move(row)});
      }
      sampled_snapshot_ = plan->snapshot_id.value_or(sampled_snapshot_);
    } else if (!plan.status().IsNotFound()) {
      return plan.status();
    }
    last_ = p;
  }
  if (out->size() == before && timeout_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(timeout_ms, 200)));
  }
  return Status::OK();
}

SourcePosition TableSamplesSource::position() const {
  SourcePosition p;
  p.table_snapshot = last_;
  return p;
}

Status TableSamplesSource::Committed(const SourcePosition&) {
  if (consumer_id_.empty() || sampled_snapshot_ <= 0) return Status::OK();
  return table::ConsumerManager(table_->path()).Record(consumer_id_, sampled_snapshot_);
}

Status ValuesSource::Restore(const std::optional<SourcePosition>& position) {
  done_ = position && position->table_snapshot > 0;
  return Status::OK();
}

Status ValuesSource::Poll(size_t, int64_t timeout_ms, Changes* out) {
  if (done_) {
    if (timeout_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(timeout_ms, 20)));
    return Status::OK();
  }
  for (const auto& c : changes_) out->push_back(c);
  done_ = true;
  return Status::OK();
}

SourcePosition ValuesSource::position() const {
  SourcePosition p;
  p.table_snapshot = done_ ? 1 : 0;
  return p;
}

}  // namespace kl::pipeline
