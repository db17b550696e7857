// The single writer of one partition directory: appends batches of records to
// the active segment, rolls to a new segment when it is full, keeps the
// sparse index, and at open cuts a torn tail left by a crash.
//
// Failure rule: when a write fails part-way (disk full, I/O error) the file
// is cut back to the end of the last record that made it completely; those
// records count as written (a reader may already have seen them, so they must
// not be taken back), nothing written earlier is touched, and the records not
// written stay with the caller to retry.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "log/segment/watermark.h"

namespace kl::log {

// Records encoded by a producer (record_format.h) whose offsets the writer
// fills in when it writes them.
struct PendingRecords {
  std::string bytes;
  size_t count = 0;
  bool empty() const { return count == 0; }
};

// Adds one record to `pending` with its offset still unset.
void AppendPending(PendingRecords* pending, int64_t timestamp_ms, std::string_view key, std::string_view value);
// Appends a record framed elsewhere (its CRC right for the offset it carries).
void AppendPendingEncoded(PendingRecords* pending, std::string_view record);

// A record whose key and value stay in the caller's memory (WriteGathered).
struct GatheredRecord {
  int64_t timestamp_ms = 0;
  std::string_view key;
  std::string_view value;
  std::optional<uint32_t> value_crc32c;  // the value's CRC-32C when known (saves a pass over it)
};

struct PartitionWriterOptions {
  uint64_t segment_bytes = 128 << 20;
  uint64_t index_interval_bytes = 64 << 10;
  // A non-empty active segment older than this rolls at the next write, so
  // age retention can reach the records of a quiet partition. 0: never.
  int64_t segment_max_age_ms = 0;
};

struct SegmentInfo {
  int64_t base_offset = 0;
  uint64_t size = 0;  // bytes, header included
};

class PartitionWriter {
 public:
  // Opens (creating if needed) the partition directory. Checks the newest
  // segment record by record and cuts a torn tail; refuses (Corruption) when
  // valid records follow the damage, since cutting would lose them.
  static Result<std::unique_ptr<PartitionWriter>> Open(const std::string& dir, int32_t partition,
                                                       const PartitionWriterOptions& options);
  ~PartitionWriter();
  PartitionWriter(const PartitionWriter&) = delete;
  PartitionWriter& operator=(const PartitionWriter&) = delete;

  // Writes `pending` and removes from it what was written (all of it on success).
  Status Write(PendingRecords* pending);
  // The same for framed records in data[0, size) that stay in the caller's
  // buffer: each is sealed with its offset there and written from there.
  // `written_bytes` / `written_records`: the whole records that made it.
  Status WriteRecords(char* data, size_t size, size_t* written_bytes, size_t* written_records);
  // The same for records whose keys and values lie in the caller's memory:
  // framed here with their offsets (only the small headers are built) and
  // written from where they lie with gathered writes, byte for byte what
  // Write writes for them. `written_records`: the first records that made it.
  Status WriteGathered(const GatheredRecord* records, size_t count, size_t* written_records);
  // fdatasync of the active segment if anything was written since the last sync.
  Status Sync();
  // Lets readers see everything written so far (see watermark.h). The caller
  // decides when, according to the fsync policy.
  Status Publish();

  int64_t end_offset() const { return next_offset_; }          // written
  int64_t visible_end_offset() const { return visible_end_; }  // published to readers
  int64_t start_offset() const { return segments_.front().base_offset; }
  const std::vector<SegmentInfo>& segments() const { return segments_; }
  std::string SegmentPath(int64_t base) const;
  // Deletes the oldest segment (never the active one).
  Status DeleteOldestSegment();
  // Bytes cut from a torn tail at open (for logs and tests).
  uint64_t recovered_tail_bytes() const { return recovered_tail_bytes_; }

 private:
  PartitionWriter(std::string dir, int32_t partition, PartitionWriterOptions options);
  Status CreateSegment(int64_t base);
  Status Recover(int64_t base);
  Status Roll();
  // Writes `data` at `position`; on failure cuts the file back to `position`.
  Status WriteAt(uint64_t position, std::string_view data);
  // What WriteRecords and WriteGathered share: writes `count` records (record
  // i of size_of(i) bytes) in chunks that fit the active segment, rolling it
  // when full or old; frame(i, offset) frames record i with its offset, and
  // pieces(begin, end, &iov) then gives where records [begin, end) lie.
  // Offsets, segment sizes and index entries follow what was written; after
  // a partial write the whole records that made it stay and the rest is cut
  // off. `*written_records` says how many stayed.
  template <typename Size, typename Frame, typename Pieces>
  Status WriteChunks(size_t count, Size size_of, Frame frame, Pieces pieces, size_t* written_records);
  // Writes the bytes iov[0, count) gather at `position`; `*done` says how
  // many made it (all on success). Returns 0 or the errno of the failure.
  int WriteGatheredAt(uint64_t position, const iovec* iov, size_t count, size_t* done);
  // After a write of `size` bytes at `position` failed with `err` once
  // `keep` bytes of whole records had made it: cuts the rest off.
  Status WriteFailed(uint64_t position, size_t size, size_t keep, int err);
  void AppendIndex(std::string_view entries);
  std::string Where() const;

  std::string dir_;
  int32_t partition_;
  PartitionWriterOptions options_;
  std::vector<SegmentInfo> segments_;  // oldest first; back() is active
  int fd_ = -1;                        // active segment
  int index_fd_ = -1;                  // its index; -1 when given up after an error
  uint64_t index_size_ = 0;
  uint64_t last_indexed_position_ = 0;
  int64_t next_offset_ = 0;
  bool dirty_ = false;
  int64_t active_since_ms_ = 0;  // when the active segment was created (or recovered)
  uint64_t recovered_tail_bytes_ = 0;
  std::unique_ptr<WatermarkWriter> watermark_;
  int64_t visible_end_ = 0;
  // Kept between calls: WriteRecords' record starts, WriteGathered's record
  // headers, the write vectors of both.
  std::vector<size_t> starts_;
  std::string headers_;
  std::vector<iovec> iov_;
};

}  // namespace kl::log
