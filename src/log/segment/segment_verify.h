// A full check of an embedded log directory, for `kubelake log verify` and
// `kubelake log info`: every record's CRC and offset, segment headers, the
// hand-over between segments. Read-only; safe while a writer runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace kl::log {

struct PartitionReport {
  int32_t partition = 0;
  size_t segments = 0;
  uint64_t bytes = 0;  // all segment files
  int64_t start_offset = 0;
  int64_t end_offset = 0;  // after the last record that checks out
  // Bytes after the last good record of the newest segment: a torn tail that
  // the next writer cuts (or a record being written right now).
  uint64_t tail_bytes = 0;
  std::optional<int64_t> watermark;  // what readers may see (absent: no writer has opened the log)
  std::string problem;  // empty when the partition is sound
};

struct LogReport {
  int32_t partitions = 0;
  std::vector<PartitionReport> partition_reports;
  bool ok() const;
};

Result<LogReport> VerifySegmentLog(const std::string& dir);

// For damage the writer refuses to cut (valid records after it): makes the
// partition end just before the first damaged record. The damaged segment and
// every later one are moved, untouched, to partition-<n>/damaged-<ms>/ for
// inspection; the good prefix is written back in place. Records after the
// damage leave the log, and their offsets will be reused by new records, so
// a consumer that had read past the damage must be re-positioned.
// Needs the writer lock (no writer may run). Returns what it did.
Result<std::string> RepairPartition(const std::string& dir, int32_t partition);

}  // namespace kl::log
