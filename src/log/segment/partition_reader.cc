#include "log/segment/partition_reader.h"

#include <algorithm>

#include "common/file/file_util.h"

namespace kl::log {
namespace {

constexpr size_t kMinChunk = 64 << 10;
// Each reader keeps up to two chunks per partition (one records may still view): 2 MiB
// reads cost no more per byte than larger ones, and every job reading the log holds them.
constexpr size_t kMaxChunk = 2 << 20;

}  // namespace

PartitionReader::PartitionReader(std::string partition_dir, int32_t partition)
    : dir_(std::move(partition_dir)), partition_(partition), watermark_(dir_) {}

std::string PartitionReader::SegmentPath(int64_t base) const { return JoinPath(dir_, SegmentFileName(base)); }

std::string PartitionReader::Where() const {
  return "partition " + std::to_string(partition_) +
         (segment_ ? " segment " + SegmentFileName(segment_->base_offset()) : std::string());
}

void PartitionReader::Seek(int64_t offset) {
  if (offset == next_offset_ && cursor_) return;
  next_offset_ = offset;
  cursor_.reset();
  segment_.reset();
  checked_bad_tail_size_ = 0;
}

Status PartitionReader::Locate() {
  KL_ASSIGN_OR_RETURN(auto bases, ListSegments(dir_));
  if (bases.empty()) {
    if (next_offset_ == 0) return Status::OK();  // nothing written yet; Read waits
    return Status::InvalidArgument("partition " + std::to_string(partition_) + ": offset " +
                                   std::to_string(next_offset_) + " is beyond the end offset 0");
  }
  if (next_offset_ < bases.front()) {
    return Status::Expired("partition " + std::to_string(partition_) + ": offset " + std::to_string(next_offset_) +
                           " is below the start offset " + std::to_string(bases.front()) + " (deleted by retention)");
  }
  int64_t base = *(std::upper_bound(bases.begin(), bases.end(), next_offset_) - 1);
  auto file = SegmentFile::Open(SegmentPath(base), base);
  if (!file.ok()) {
    // Retention may have deleted it between the listing and the open: list again.
    if (file.status().IsNotFound()) return Locate();
    return file.status();
  }
  segment_ = std::move(*file);
  std::string header;
  KL_RETURN_IF_ERROR(segment_->ReadAt(0, kSegmentHeaderSize, &header));
  std::string problem;
  HeaderState header_state = CheckSegmentHeader(header, base, &problem);
  if (header_state == HeaderState::kBad) return Status::Corruption("reading " + segment_->name() + ": " + problem);
  if (header_state == HeaderState::kIncomplete) {
    // A segment whose header is not yet complete holds no record: only
    // possible for the newest segment just created.
    if (next_offset_ != base) {
      return Status::InvalidArgument(Where() + ": offset " + std::to_string(next_offset_) +
                                     " is beyond the end offset " + std::to_string(base));
    }
    cursor_.emplace(segment_.get(), kSegmentHeaderSize, base, kMinChunk);
    return Status::OK();
  }
  KL_ASSIGN_OR_RETURN(auto hint, SeekHint(JoinPath(dir_, IndexFileName(base)), *segment_, next_offset_));
  cursor_.emplace(segment_.get(), hint.first, hint.second, kMinChunk);
  // Skip forward to the wanted offset, checking framing only: the records
  // skipped are not returned.
  while (cursor_->next_offset() < next_offset_) {
    KL_ASSIGN_OR_RETURN(auto state, cursor_->Peek(/*verify_crc=*/false));
    if (state == SegmentCursor::State::kRecord) {
      cursor_->Advance();
      continue;
    }
    if (state == SegmentCursor::State::kBad) {
      return Status::Corruption("reading " + segment_->name() + " " + cursor_->problem());
    }
    // The segment ends before the wanted offset.
    KL_ASSIGN_OR_RETURN(bool moved, MoveToNextSegment());
    if (!moved) {
      int64_t end = cursor_->next_offset();
      cursor_.reset();
      segment_.reset();
      return Status::InvalidArgument("partition " + std::to_string(partition_) + ": offset " +
                                     std::to_string(next_offset_) + " is beyond the end offset " + std::to_string(end));
    }
  }
  return Status::OK();
}

Result<bool> PartitionReader::MoveToNextSegment() {
  int64_t next_base = cursor_->next_offset();
  // The writer never rolls an empty segment, so an empty one is the newest.
  if (next_base == segment_->base_offset()) return false;
  std::string next_path = SegmentPath(next_base);
  if (!FileExists(next_path)) return false;
  // The writer finishes a segment before it creates the next one, so the
  // current file's size is final now: anything left in it must be read first.
  KL_ASSIGN_OR_RETURN(auto state, cursor_->Peek());
  if (state == SegmentCursor::State::kRecord) return true;  // more data arrived; the caller reads it
  if (state == SegmentCursor::State::kBad || cursor_->trailing_bytes() > 0) {
    return Status::Corruption("reading " + segment_->name() + " " +
                              (state == SegmentCursor::State::kBad
                                   ? cursor_->problem()
                                   : "at byte " + std::to_string(cursor_->position()) + ": partial record of " +
                                         std::to_string(cursor_->trailing_bytes()) + " bytes before the next segment"));
  }
  auto file = SegmentFile::Open(next_path, next_base);
  if (!file.ok()) {
    if (file.status().IsNotFound()) {
      return Status::Expired("partition " + std::to_string(partition_) + ": segment " + SegmentFileName(next_base) +
                             " was deleted by retention while being read");
    }
    return file.status();
  }
  segment_ = std::move(*file);
  cursor_.emplace(segment_.get(), kSegmentHeaderSize, next_base, kMinChunk);
  std::string header;
  KL_RETURN_IF_ERROR(segment_->ReadAt(0, kSegmentHeaderSize, &header));
  std::string problem;
  if (CheckSegmentHeader(header, next_base, &problem) == HeaderState::kBad) {
    return Status::Corruption("reading " + segment_->name() + ": " + problem);
  }
  checked_bad_tail_size_ = 0;
  return true;
}

Status PartitionReader::CheckTail() {
  KL_ASSIGN_OR_RETURN(uint64_t size, segment_->Size());
  if (size == checked_bad_tail_size_) return Status::OK();  // judged before, nothing changed since
  KL_ASSIGN_OR_RETURN(auto bases, ListSegments(dir_));
  bool newest = !bases.empty() && bases.back() == segment_->base_offset();
  // One read of everything after the cursor, and every judgement on those
  // same bytes: the writer may be completing the record right now, or a new
  // writer cutting a torn tail and writing over it.
  std::string tail;
  KL_RETURN_IF_ERROR(segment_->ReadAt(cursor_->position(), size - cursor_->position(), &tail));
  DecodedRecord record;
  std::string problem;
  DecodeState state = DecodeRecord(tail, &record, &problem);
  if (state == DecodeState::kOk && record.offset == cursor_->next_offset()) return Status::OK();  // read it next time
  std::string damage =
      "reading " + segment_->name() + " at byte " + std::to_string(cursor_->position()) + " (expected offset " +
      std::to_string(cursor_->next_offset()) + "): " +
      (state == DecodeState::kIncomplete ? "incomplete record (" + std::to_string(tail.size()) + " bytes)"
       : state == DecodeState::kBad      ? problem
                                         : "record has offset " + std::to_string(record.offset));
  // A later segment exists, so this one was finished (and synced) before it.
  if (!newest) return Status::Corruption(damage);
  size_t found = FindValidRecord(tail, 1, cursor_->next_offset());
  if (found != std::string_view::npos) {
    return Status::Corruption(damage + "; valid records follow at byte " + std::to_string(cursor_->position() + found) +
                              ", so this is not a torn tail");
  }
  // A record being written, or garbage a crash left at the tail of the
  // newest segment, which the next writer cuts. Nothing to return until then.
  checked_bad_tail_size_ = size;
  return Status::OK();
}

Result<size_t> PartitionReader::Read(size_t max_records, size_t max_bytes, RecordBatch* batch) {
  size_t count = 0;
  Status status = ReadInto(max_records, max_bytes, batch, &count);
  // Records read before a problem are returned; the problem is met again,
  // at the same place, on the next Read.
  if (!status.ok() && count == 0) return status;
  return count;
}

Status PartitionReader::ReadInto(size_t max_records, size_t max_bytes, RecordBatch* batch, size_t* read) {
  size_t& count = *read;
  if (!cursor_) {
    KL_RETURN_IF_ERROR(Locate());
    if (!cursor_) return Status::OK();
  }
  cursor_->set_chunk_bytes(std::clamp(max_bytes, kMinChunk, kMaxChunk));
  // Records at or past the watermark exist but are not yet durable enough to hand out.
  std::optional<int64_t> visible_end = ignore_watermark_ ? std::nullopt : watermark_.Read();
  size_t bytes = 0;
  const void* retained = nullptr;
  // Only the first record of a whole Poll may exceed max_bytes.
  bool strict = batch != nullptr && !batch->empty();
  while (true) {
    if (count >= max_records || (count > 0 && bytes >= max_bytes)) {
      if (batch != nullptr) batch->set_more_waiting();
      break;
    }
    if (visible_end && cursor_->next_offset() >= *visible_end) break;
    KL_ASSIGN_OR_RETURN(auto state, cursor_->Peek());
    if (state == SegmentCursor::State::kBad || (state == SegmentCursor::State::kEnd && cursor_->trailing_bytes() > 0)) {
      KL_RETURN_IF_ERROR(CheckTail());
      break;
    }
    if (state == SegmentCursor::State::kEnd) {
      KL_ASSIGN_OR_RETURN(bool moved, MoveToNextSegment());
      if (!moved) break;
      continue;
    }
    const DecodedRecord& rec = cursor_->record();
    if ((count > 0 || strict) && bytes + rec.key.size() + rec.value.size() > max_bytes) {
      if (batch != nullptr) batch->set_more_waiting();
      break;
    }
    if (batch != nullptr) {
      if (retained != cursor_->buffer().get()) {
        batch->Retain(cursor_->buffer());
        retained = cursor_->buffer().get();
      }
      batch->Add(Record{partition_, rec.offset, rec.timestamp_ms, rec.key, rec.value,
                        std::string_view(rec.key.data() - kRecordOverhead, rec.encoded_size)});
    }
    bytes += rec.key.size() + rec.value.size();
    ++count;
    cursor_->Advance();
    next_offset_ = cursor_->next_offset();
  }
  return Status::OK();
}

Result<int64_t> PartitionReader::ReadToEnd() {
  while (true) {
    KL_ASSIGN_OR_RETURN(size_t n, Read(1 << 20, SIZE_MAX, nullptr));
    if (n == 0) return next_offset_;
  }
}

}  // namespace kl::log
