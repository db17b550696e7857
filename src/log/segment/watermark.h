// The visibility watermark of a partition: the offset below which readers
// may return records. The writer publishes it after records are as durable as
// the fsync policy promises (after the fdatasync for fsync=batch and for the
// interval policy, right after the write for fsync=never), so that no reader
// hands the pipeline a record that a power loss could still take back, while
// the pipeline's table commit of that offset would survive.
//
// File partition-<n>/watermark, 16 bytes rewritten in place (never synced:
// it is a bound for readers, not data): "KLWM" | crc32c(offset) u32 LE | offset u64 LE.
// Absent (a log no writer has opened yet): readers are bounded by the CRCs only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"

namespace kl::log {

inline constexpr const char* kWatermarkFileName = "watermark";

// Writer side: an open watermark file.
class WatermarkWriter {
 public:
  static Result<std::unique_ptr<WatermarkWriter>> Open(const std::string& partition_dir);
  ~WatermarkWriter();
  WatermarkWriter(const WatermarkWriter&) = delete;
  WatermarkWriter& operator=(const WatermarkWriter&) = delete;
  Status Publish(int64_t offset);

 private:
  WatermarkWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

// Reader side: re-reads the file on every call (one pread) and remembers the
// last value that checked out, for the rare read that meets a write half-done.
class WatermarkReader {
 public:
  explicit WatermarkReader(std::string partition_dir);
  ~WatermarkReader();
  WatermarkReader(const WatermarkReader&) = delete;
  WatermarkReader& operator=(const WatermarkReader&) = delete;
  // nullopt: no watermark file (no bound besides the records' own checks).
  // A file that does not check out bounds at the last good value (or 0).
  std::optional<int64_t> Read();

 private:
  std::string path_;
  int fd_ = -1;
  std::optional<int64_t> last_;
};

// Writes a watermark file once (repair, tests).
Status WriteWatermark(const std::string& partition_dir, int64_t offset);

}  // namespace kl::log
