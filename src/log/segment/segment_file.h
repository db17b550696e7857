// Segment files of one partition directory: naming, listing, reading through
// a cursor that tolerates files growing underneath it, and the sparse offset
// index that lets readers seek without scanning a whole segment.
//
// A partition directory holds 00000000000000000000.log, 00000000000000004711.log, ...
// each named by the offset of its first record (its base offset); the last
// one is the active segment the writer appends to. Beside each segment an
// .idx file holds (offset u64, byte position u64) pairs every few dozen KB.
// The index is only a hint: every entry is checked against the record it
// points to before use, so a stale or torn index never misleads a reader.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "log/segment/record_format.h"

namespace kl::log {

std::string SegmentFileName(int64_t base_offset);  // "00000000000000004711.log"
std::string IndexFileName(int64_t base_offset);    // "00000000000000004711.idx"
std::optional<int64_t> ParseSegmentFileName(std::string_view name);

// Base offsets of the segments in `partition_dir`, ascending. Empty if the directory is missing.
Result<std::vector<int64_t>> ListSegments(const std::string& partition_dir);

// A segment opened for reading with pread; the file may grow or (only at
// writer start-up, below nothing a reader has consumed) shrink meanwhile.
class SegmentFile {
 public:
  static Result<std::unique_ptr<SegmentFile>> Open(const std::string& path, int64_t base_offset);
  ~SegmentFile();
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;

  Result<uint64_t> Size() const;
  // Reads up to `n` bytes at `pos` into `out` (fewer at the end of the file).
  Status ReadAt(uint64_t pos, size_t n, std::string* out) const;
  // Reads up to `n` bytes at `pos` into `dst` (room for `n`): how many were read.
  Result<size_t> ReadInto(uint64_t pos, size_t n, char* dst) const;
  const std::string& path() const { return path_; }
  int64_t base_offset() const { return base_offset_; }
  // "partition 3 segment 00000000000000004711.log" style name for messages.
  std::string name() const;

 private:
  SegmentFile(std::string path, int64_t base, int fd) : path_(std::move(path)), base_offset_(base), fd_(fd) {}
  std::string path_;
  int64_t base_offset_;
  int fd_;
};

// Walks the records of one segment from a known (position, offset) pair.
// Records are decoded from chunks read into shared buffers, so a consumer can
// keep the views (RecordBatch::Retain) while the cursor moves on.
class SegmentCursor {
 public:
  enum class State {
    kRecord,  // `record()` holds the next record
    kEnd,     // no complete record at the cursor (end of data, or a partial record)
    kBad,     // the bytes at the cursor are not a valid record (see problem())
  };

  // Bytes readable after the end of every record a cursor reads (the buffers' slack, not
  // read into): a JSON parser that reads past its input (simdjson: 64 bytes) parses a value
  // where it lies.
  static constexpr size_t kReadPadding = 64;

  // `chunk_bytes`: how much to read ahead per pread.
  SegmentCursor(const SegmentFile* file, uint64_t position, int64_t next_offset, size_t chunk_bytes = 1 << 20);

  // Decodes the record at the cursor without moving past it.
  Result<State> Peek(bool verify_crc = true);
  // Moves past the record returned by the last Peek (which must be kRecord).
  void Advance();

  const DecodedRecord& record() const { return record_; }
  // What holds the bytes record() views (a batch keeps it alive).
  std::shared_ptr<const void> buffer() const { return buffer_; }
  uint64_t position() const { return position_; }
  int64_t next_offset() const { return next_offset_; }
  const std::string& problem() const { return problem_; }
  // Bytes present after the cursor when Peek returned kEnd (a partial record).
  uint64_t trailing_bytes() const { return trailing_bytes_; }
  void set_chunk_bytes(size_t n) { chunk_bytes_ = n; }

 private:
  Result<State> PeekBuffered(bool verify_crc);
  // Makes at least `need` bytes from position_ available in the buffer if the file has them.
  Status Fill(size_t need);
  std::string_view Available() const;

  const SegmentFile* file_;
  uint64_t position_;
  int64_t next_offset_;
  size_t chunk_bytes_;
  // Bytes read ahead, left uninitialised until read into: a chunk is a
  // megabyte, and zero-filling it before every pread cost as much as a copy.
  struct ReadBuffer {
    std::unique_ptr<char[]> bytes;
    size_t capacity = 0;
    size_t length = 0;  // bytes read from the file
  };
  // Batches keep the buffers their records view alive; one that nothing
  // else holds any more is read into again (no fresh pages to fault in).
  std::shared_ptr<ReadBuffer> buffer_;
  std::shared_ptr<ReadBuffer> spare_;
  uint64_t buffer_position_ = 0;  // file position of buffer_->bytes[0]
  DecodedRecord record_;
  std::string problem_;
  uint64_t trailing_bytes_ = 0;
  bool fresh_ = false;  // the last PeekBuffered read from the file
};

// Reads a segment's index file and returns the verified entry with the
// greatest offset <= target: (byte position, offset). Falls back to the first
// record when the index is missing or no entry checks out.
Result<std::pair<uint64_t, int64_t>> SeekHint(const std::string& index_path, const SegmentFile& segment,
                                              int64_t target_offset);

inline constexpr size_t kIndexEntrySize = 16;
void AppendIndexEntry(std::string* dst, int64_t offset, uint64_t position);

}  // namespace kl::log
