// Reads the event log: every partition from the offsets the sink last
// committed (or from the beginning). Rows: (partition, offset, timestamp,
// key, value) — for kubelake's log, key = cluster and value = event JSON.
#pragma once

#include <memory>

#include "log/event_log.h"
#include "pipeline/runtime/source.h"

namespace kl::pipeline {

class LogSource : public Source {
 public:
  // `group` names the consumer group (for lag reporting and retention safety).
  // `start_offset`: where each partition starts without a committed position:
  // log::kOffsetBeginning, kOffsetEnd or kOffsetCommitted (the group's offsets).
  static Result<std::unique_ptr<LogSource>> Create(log::EventLog* log, const std::string& group,
                                                   int64_t start_offset = log::kOffsetBeginning);
  static format::RowType RecordType();
  // Spare capacity after each value: JSON parsers that read past the end of
  // their input (simdjson reads up to 64 bytes) parse such a string in place
  // instead of copying it into a padded buffer first.
  static constexpr size_t kValuePadding = 64;

  std::string name() const override { return "log " + log_->Describe(); }
  const format::RowType& output_type() const override { return type_; }
  Status Restore(const std::optional<SourcePosition>& position) override;
  Status Poll(size_t max_changes, int64_t timeout_ms, Changes* out) override;
  // The records as the log gives them (views into `*out`), for a reader that makes its own
  // rows or columns of them; the position moves past them as a Poll would.
  // `max_bytes`: of keys and values (the log's PollOptions).
  Status PollRecords(size_t max_records, int64_t timeout_ms, log::RecordBatch* out,
                     size_t max_bytes = log::PollOptions{}.max_bytes);
  SourcePosition position() const override { return position_; }
  bool more_waiting() const override { return more_waiting_; }
  // Stores the committed offsets in the consumer group: lag reporting, and
  // retention never deletes what a required group has not committed.
  Status Committed(const SourcePosition& position) override { return consumer_->Commit(position.log_offsets); }

 private:
  LogSource(log::EventLog* log, std::unique_ptr<log::Consumer> consumer, int64_t start_offset);
  log::EventLog* log_;
  int64_t start_offset_;
  std::unique_ptr<log::Consumer> consumer_;
  format::RowType type_;
  SourcePosition position_;
  bool more_waiting_ = false;
};

}  // namespace kl::pipeline
