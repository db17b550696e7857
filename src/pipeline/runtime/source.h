// Sources: where a job's changes come from, and how far it has read. A table
// change source follows another table: first everything in it, then each new
// snapshot's changelog (or delta). The log source (log_source.h) reads the
// event log from offsets.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>

#include "common/result.h"
#include "format/types.h"
#include "pipeline/runtime/change.h"
#include "table/table.h"

namespace kl::pipeline {

class Source {
 public:
  virtual ~Source() = default;
  virtual std::string name() const = 0;
  virtual const format::RowType& output_type() const = 0;
  // Starts reading after `position` (restored from the sink); nullopt: from the beginning.
  virtual Status Restore(const std::optional<SourcePosition>& position) = 0;
  // Appends what is available, waiting up to `timeout_ms` when nothing is.
  virtual Status Poll(size_t max_changes, int64_t timeout_ms, Changes* out) = 0;
  // A source that reads columns (a table's) says emits_batches(): a job whose operators
  // and sink all take batches then polls with PollBatch, and no row of Datums is built
  // per change between the read and the table writer.
  virtual bool emits_batches() const { return false; }
  // Poll, appending to a batch of output_type() (or an empty one). By default through rows.
  virtual Status PollBatch(size_t max_changes, int64_t timeout_ms, ChangeBatch* out);
  // The position after everything Poll returned so far.
  virtual SourcePosition position() const = 0;
  // True when the last Poll stopped at a limit with more input ready: the job
  // is behind its source and reads on at once instead of waiting to batch.
  virtual bool more_waiting() const { return false; }
  // Called after the sink committed `position` (e.g. to record consumer offsets).
  virtual Status Committed(const SourcePosition& position) { return Status::OK(); }
  // True when the position does not fit a table snapshot (several inputs): the
  // job keeps it in its state checkpoints (state.h).
  virtual bool position_in_state() const { return false; }
  // True for sources that end (VALUES): once exhausted, Poll returns nothing.
  virtual bool bounded() const { return false; }
  virtual bool exhausted() const { return false; }
};

// Follows a table's changes one snapshot at a time. Fresh start: the full
// latest snapshot as +I rows, then every later snapshot's changes. With a
// consumer id it records, in the followed table, the next snapshot it needs
// (table/operation/consumer.h), so snapshot expiry waits for it.
struct TableChangeOptions {
  // Where a fresh start (no committed position) begins: Paimon's scan modes.
  table::StreamStart start = table::StreamStart::kLatestFull;
  std::optional<int64_t> start_snapshot;  // kFromSnapshot / kFromSnapshotFull
  std::string consumer_id;
  // With a consumer id whose position the table holds, a fresh start resumes there.
  bool start_from_consumer = false;
  // Only changes whose row satisfies it are returned, decided on the read's columns
  // before any row is built: a job keeping few of the table's rows (WHERE kind = 'Node')
  // pays for those alone. Not for tables whose changes must be normalized downstream.
  table::Predicate filter;
};

class TableChangeSource : public Source {
 public:
  static Result<std::unique_ptr<TableChangeSource>> Create(std::shared_ptr<table::Table> table,
                                                           std::vector<std::string> projection = {},
                                                           std::string consumer_id = "");
  static Result<std::unique_ptr<TableChangeSource>> Create(std::shared_ptr<table::Table> table,
                                                           std::vector<std::string> projection,
                                                           TableChangeOptions options);
  std::string name() const override { return "table " + table_->path(); }
  const format::RowType& output_type() const override { return read_->output_type(); }
  Status Restore(const std::optional<SourcePosition>& position) override;
  Status Poll(size_t max_changes, int64_t timeout_ms, Changes* out) override;
  bool emits_batches() const override { return true; }
  Status PollBatch(size_t max_changes, int64_t timeout_ms, ChangeBatch* out) override;
  SourcePosition position() const override;
  Status Committed(const SourcePosition& position) override;

 private:
  // Poll's loop; `take` appends a plan's rows to the output and returns how many it took.
  template <typename Take>
  Status PollInto(size_t max_changes, int64_t timeout_ms, Take take);
  TableChangeSource(std::shared_ptr<table::Table> table, std::unique_ptr<table::TableRead> read,
                    TableChangeOptions options);
  std::shared_ptr<table::Table> table_;
  std::unique_ptr<table::TableRead> read_;
  TableChangeOptions options_;
  std::string consumer_id_;
  std::optional<table::StreamScan> scan_;
  int64_t consumed_ = 0;  // last snapshot fully returned
};

// Samples a table every `period_ms`: at the end of each period, the table's
// rows as of that instant (time travel). `columns` names the table columns of
// each row; an empty name stands for the period's end (epoch milliseconds).
// The position is the last period sampled, so a restarted job fills the
// periods it missed (up to 60); a fresh start samples the last period ended.
class TableSamplesSource : public Source {
 public:
  // With a `consumer_id`, each commit records the snapshot of the last sample
  // as that consumer of the table, so snapshot expiry (retained by count)
  // keeps what the next samples read.
  static Result<std::unique_ptr<TableSamplesSource>> Create(std::shared_ptr<table::Table> table,
                                                            std::vector<std::string> columns, int64_t period_ms,
                                                            std::string consumer_id = "");
  std::string name() const override { return "samples of " + table_->path(); }
  const format::RowType& output_type() const override { return output_; }
  Status Restore(const std::optional<SourcePosition>& position) override;
  Status Poll(size_t max_changes, int64_t timeout_ms, Changes* out) override;
  SourcePosition position() const override;
  Status Committed(const SourcePosition& position) override;

 private:
  TableSamplesSource(std::shared_ptr<table::Table> table, std::vector<int> from, format::RowType output,
                     int64_t period_ms, std::string consumer_id)
      : table_(std::move(table)),
        from_(std::move(from)),
        output_(std::move(output)),
        period_ms_(period_ms),
        consumer_id_(std::move(consumer_id)) {}
  std::shared_ptr<table::Table> table_;
  std::vector<int> from_;  // per output column: the table column, or -1 for the period end
  format::RowType output_;
  int64_t period_ms_;
  std::string consumer_id_;
  int64_t last_ = 0;              // last period sampled (index since the epoch)
  int64_t sampled_snapshot_ = 0;  // the snapshot the last sample read
};

// Reads several sources as one: each change carries the index of the source
// it came from (Change::input), the position holds one position per source.
class MultiSource : public Source {
 public:
  explicit MultiSource(std::vector<std::unique_ptr<Source>> inputs);
  std::string name() const override;
  const format::RowType& output_type() const override { return inputs_[0]->output_type(); }
  Status Restore(const std::optional<SourcePosition>& position) override;
  Status Poll(size_t max_changes, int64_t timeout_ms, Changes* out) override;
  SourcePosition position() const override;
  Status Committed(const SourcePosition& position) override;
  bool position_in_state() const override { return true; }
  bool more_waiting() const override {
    return std::any_of(inputs_.begin(), inputs_.end(), [](const auto& in) { return in->more_waiting(); });
  }
  bool bounded() const override;
  bool exhausted() const override;
  const std::vector<std::unique_ptr<Source>>& inputs() const { return inputs_; }

 private:
  std::vector<std::unique_ptr<Source>> inputs_;
  size_t next_ = 0;  // round robin
};

// A fixed list of changes (VALUES): all of them on the first poll, then nothing.
class ValuesSource : public Source {
 public:
  ValuesSource(format::RowType type, Changes changes) : type_(std::move(type)), changes_(std::move(changes)) {}
  std::string name() const override { return "values"; }
  const format::RowType& output_type() const override { return type_; }
  Status Restore(const std::optional<SourcePosition>& position) override;
  Status Poll(size_t max_changes, int64_t timeout_ms, Changes* out) override;
  SourcePosition position() const override;
  bool bounded() const override { return true; }
  bool exhausted() const override { return done_; }

 private:
  format::RowType type_;
  Changes changes_;
  bool done_ = false;
};

}  // namespace kl::pipeline
