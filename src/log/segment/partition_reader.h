// Reads one partition directory of the embedded log from any offset, following
// the active segment as it grows and moving on when the writer rolls to a new
// segment. Works in any process: it trusts nothing but the files.
//
// How it tells an unfinished record from damage: bytes at the read position
// that are not a complete, valid record are judged on one read of them. If a
// later segment exists (created only after this one was finished and synced)
// or a valid record follows, they are damage (Corruption). Otherwise they are
// a record still being written (the writer appends a batch with one write) or
// a torn tail a crash left, which only the next writer cuts: wait.
// Records at or past the partition's watermark (watermark.h) are not returned.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "log/event_log.h"
#include "log/segment/segment_file.h"
#include "log/segment/watermark.h"

namespace kl::log {

class PartitionReader {
 public:
  PartitionReader(std::string partition_dir, int32_t partition);

  // Sets the next offset to read. Cheap: the segment is located on the next Read.
  void Seek(int64_t offset);
  int64_t position() const { return next_offset_; }

  // Appends records from position() on to `batch` (if given; else only moves
  // past them) until max_records or max_bytes is reached or no complete record
  // remains. Returns how many it read; 0 means "at the end of what is written".
  Result<size_t> Read(size_t max_records, size_t max_bytes, RecordBatch* batch);

  // Moves past every complete record and returns the offset after the last one.
  Result<int64_t> ReadToEnd();

  // Reads every record in the files, published or not (verify, repair).
  void IgnoreWatermark() { ignore_watermark_ = true; }

 private:
  Status ReadInto(size_t max_records, size_t max_bytes, RecordBatch* batch, size_t* read);
  // Opens the segment holding next_offset_ and positions the cursor on it.
  Status Locate();
  // Called at the end of the current segment's data: true when the writer has
  // moved on to the next segment (and the cursor now points into it).
  Result<bool> MoveToNextSegment();
  // Decides what bytes at the cursor that are not a complete valid record
  // mean (see the header comment): OK to wait, or Corruption.
  Status CheckTail();
  std::string SegmentPath(int64_t base) const;
  std::string Where() const;

  std::string dir_;
  int32_t partition_;
  int64_t next_offset_ = 0;
  std::unique_ptr<SegmentFile> segment_;
  std::optional<SegmentCursor> cursor_;
  // A damaged tail already searched for following records: its file size, so
  // the search runs again only when the file changes.
  uint64_t checked_bad_tail_size_ = 0;
  WatermarkReader watermark_;
  bool ignore_watermark_ = false;
};

}  // namespace kl::log
