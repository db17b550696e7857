// Sources: where a job's changes come from, and how far it has read. A table
// change source follows another table: first everything in it, then each new
// snapshot's changelog (or delta). The log source (log_source.h) reads the
// event log from offsets.
#pragma once

#include <memory>
#include <optional>

#include "common/result.h"
#include "format/types.h"
#include "pipeline/change.h"
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
  // The position after everything Poll returned so far.
  virtual SourcePosition position() const = 0;
  // Called after the sink committed `position` (e.g. to record consumer offsets).
  virtual Status Committed(const SourcePosition& position) { return Status::OK(); }
};

// Follows a table's changes one snapshot at a time. Fresh start: the full
// latest snapshot as +I rows, then every later snapshot's changes. With a
// consumer id it records, in the followed table, the next snapshot it needs
// (table/consumer.h), so snapshot expiry waits for it.
class TableChangeSource : public Source {
 public:
  static Result<std::unique_ptr<TableChangeSource>> Create(std::shared_ptr<table::Table> table,
                                                           std::vector<std::string> projection = {},
                                                           std::string consumer_id = "");
  std::string name() const override { return "table " + table_->path(); }
  const format::RowType& output_type() const override { return read_->output_type(); }
  Status Restore(const std::optional<SourcePosition>& position) override;
  Status Poll(size_t max_changes, int64_t timeout_ms, Changes* out) override;
  SourcePosition position() const override;
  Status Committed(const SourcePosition& position) override;

 private:
  TableChangeSource(std::shared_ptr<table::Table> table, std::unique_ptr<table::TableRead> read,
                    std::string consumer_id);
  std::shared_ptr<table::Table> table_;
  std::unique_ptr<table::TableRead> read_;
  std::string consumer_id_;
  std::optional<table::StreamScan> scan_;
  int64_t consumed_ = 0;  // last snapshot fully returned
};

}  // namespace kl::pipeline
