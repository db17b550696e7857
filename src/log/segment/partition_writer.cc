#include "log/segment/partition_writer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "common/clock.h"
#include "common/coding.h"
#include "common/file/file_util.h"
#include "log/crc32c.h"
#include "log/segment/record_format.h"
#include "log/segment/segment_file.h"

namespace kl::log {
namespace {

Status Errno(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

}  // namespace

void AppendPending(PendingRecords* pending, int64_t timestamp_ms, std::string_view key, std::string_view value) {
  // Offset 0 for now; the writer seals each record with its real offset.
  AppendRecord(&pending->bytes, 0, timestamp_ms, key, value);
  ++pending->count;
}

void AppendPendingEncoded(PendingRecords* pending, std::string_view record) {
  pending->bytes.append(record);
  ++pending->count;
}

PartitionWriter::PartitionWriter(std::string dir, int32_t partition, PartitionWriterOptions options)
    : dir_(std::move(dir)), partition_(partition), options_(options) {}

PartitionWriter::~PartitionWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (index_fd_ >= 0) ::close(index_fd_);
}

std::string PartitionWriter::SegmentPath(int64_t base) const { return JoinPath(dir_, SegmentFileName(base)); }

std::string PartitionWriter::Where() const {
  return "partition " + std::to_string(partition_) + " segment " +
         (segments_.empty() ? std::string("(none)") : SegmentFileName(segments_.back().base_offset));
}

Result<std::unique_ptr<PartitionWriter>> PartitionWriter::Open(const std::string& dir, int32_t partition,
                                                               const PartitionWriterOptions& options) {
  KL_RETURN_IF_ERROR(CreateDirs(dir));
  std::unique_ptr<PartitionWriter> writer(new PartitionWriter(dir, partition, options));
  KL_ASSIGN_OR_RETURN(writer->watermark_, WatermarkWriter::Open(dir));
  KL_ASSIGN_OR_RETURN(auto bases, ListSegments(dir));
  if (bases.empty()) {
    KL_RETURN_IF_ERROR(writer->CreateSegment(0));
    KL_RETURN_IF_ERROR(writer->Publish());
    return writer;
  }
  for (size_t i = 0; i + 1 < bases.size(); ++i) {
    KL_ASSIGN_OR_RETURN(uint64_t size, FileSize(writer->SegmentPath(bases[i])));
    writer->segments_.push_back({bases[i], size});
  }
  KL_RETURN_IF_ERROR(writer->Recover(bases.back()));
  // What survived recovery is what readers may see, whatever the previous
  // writer had published (a power loss can have taken some of it).
  KL_RETURN_IF_ERROR(writer->Publish());
  return writer;
}

Status PartitionWriter::Recover(int64_t base) {
  std::string path = SegmentPath(base);
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) return Errno("opening " + path);
  KL_ASSIGN_OR_RETURN(auto file, SegmentFile::Open(path, base));
  KL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string header;
  KL_RETURN_IF_ERROR(file->ReadAt(0, kSegmentHeaderSize, &header));
  std::string problem;
  HeaderState header_state = CheckSegmentHeader(header, base, &problem);
  if (header_state == HeaderState::kBad && size >= kSegmentHeaderSize) {
    return Status::Corruption("opening partition " + std::to_string(partition_) + " " + file->name() + ": " + problem);
  }
  segments_.push_back({base, size});
  next_offset_ = base;
  active_since_ms_ = NowMillis();  // its real age is unknown: count from now (conservative)
  if (header_state != HeaderState::kOk) {
    // Created just before a crash: nothing but (part of) a header was written.
    recovered_tail_bytes_ = size;
    if (::ftruncate(fd_, 0) != 0) return Errno("truncating " + path);
    KL_RETURN_IF_ERROR(WriteAt(0, EncodeSegmentHeader(base)));
    segments_.back().size = kSegmentHeaderSize;
  } else {
    // Check every record of the newest segment: a crash can only have torn
    // this one, because a segment is synced before the next is created.
    SegmentCursor cursor(file.get(), kSegmentHeaderSize, base, 4 << 20);
    std::string index;
    uint64_t last_indexed = 0;
    SegmentCursor::State state;
    while (true) {
      KL_ASSIGN_OR_RETURN(state, cursor.Peek());
      if (state != SegmentCursor::State::kRecord) break;
      if (cursor.position() - last_indexed >= options_.index_interval_bytes || last_indexed == 0) {
        AppendIndexEntry(&index, cursor.next_offset(), cursor.position());
        last_indexed = cursor.position();
      }
      cursor.Advance();
    }
    uint64_t good_end = cursor.position();
    if (good_end < size) {
      std::string rest;
      KL_RETURN_IF_ERROR(file->ReadAt(good_end, size - good_end, &rest));
      size_t found = FindValidRecord(rest, 1, cursor.next_offset());
      if (found != std::string_view::npos) {
        return Status::Corruption("opening partition " + std::to_string(partition_) + " " + file->name() + ": " +
                                  (state == SegmentCursor::State::kBad
                                       ? cursor.problem()
                                       : "partial record at byte " + std::to_string(good_end)) +
                                  "; valid records follow at byte " + std::to_string(good_end + found) +
                                  ", refusing to cut them off (see `kubelake log verify`)");
      }
      spdlog::warn("log partition {}: cutting a torn tail of {} bytes from {} at byte {} (offset {})", partition_,
                   size - good_end, file->name(), good_end, cursor.next_offset());
      if (::ftruncate(fd_, static_cast<off_t>(good_end)) != 0) return Errno("truncating " + path);
      if (::fdatasync(fd_) != 0) return Errno("syncing " + path);
      recovered_tail_bytes_ = size - good_end;
    }
    segments_.back().size = good_end;
    next_offset_ = cursor.next_offset();
    last_indexed_position_ = last_indexed;
    // The old index may point past the cut or miss entries: write it anew.
    KL_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(dir_, IndexFileName(base)), index, /*sync=*/false));
    index_size_ = index.size();
  }
  std::string index_path = JoinPath(dir_, IndexFileName(base));
  index_fd_ = ::open(index_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (index_fd_ < 0) spdlog::warn("log partition {}: no index for {}: {}", partition_, path, std::strerror(errno));
  if (header_state != HeaderState::kOk && index_fd_ >= 0 && ::ftruncate(index_fd_, 0) == 0) index_size_ = 0;
  return Status::OK();
}

Status PartitionWriter::CreateSegment(int64_t base) {
  std::string path = SegmentPath(base);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("creating " + path);
  std::string header = EncodeSegmentHeader(base);
  const char* p = header.data();
  size_t left = header.size();
  while (left > 0) {
    ssize_t n = ::pwrite(fd, p, left, static_cast<off_t>(header.size() - left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Errno("writing header of " + path);
      ::close(fd);
      ::unlink(path.c_str());
      return s;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    Status s = Errno("syncing " + path);
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  }
  std::string index_path = JoinPath(dir_, IndexFileName(base));
  int index_fd = ::open(index_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  // The directory entry must be durable before records in the file can be.
  Status synced = SyncDir(dir_);
  if (!synced.ok()) {
    ::close(fd);
    if (index_fd >= 0) ::close(index_fd);
    ::unlink(path.c_str());
    return synced;
  }
  if (fd_ >= 0) ::close(fd_);
  if (index_fd_ >= 0) ::close(index_fd_);
  fd_ = fd;
  index_fd_ = index_fd;
  index_size_ = 0;
  last_indexed_position_ = 0;
  segments_.push_back({base, kSegmentHeaderSize});
  next_offset_ = base;
  dirty_ = false;
  active_since_ms_ = NowMillis();
  return Status::OK();
}

Status PartitionWriter::Roll() {
  // Sync the full segment before the next one exists, whatever the fsync
  // policy: then only the newest segment can ever hold a torn tail.
  if (::fdatasync(fd_) != 0) return Errno("syncing " + SegmentPath(segments_.back().base_offset));
  dirty_ = false;
  return CreateSegment(next_offset_);
}

// Each pwrite copies at most this much into the page cache. The kernel sizes
// the page cache folios it allocates by the write (up to 2 MB); on a VM whose
// balloon reports free memory to the host (virtio-balloon free page
// reporting, which reports free blocks of 2 MB and more), large folios come
// from memory the host took back, and every first touch of it faults in the
// host: writing 320 MB took 0.75-0.85 s of kernel CPU in 1 MB writes and
// 0.08-0.10 s in 64-256 KB writes on the development VM. A few more system
// calls per megabyte cost nothing measurable where the memory is the guest's.
constexpr size_t kMaxWriteChunk = 256 << 10;

Status PartitionWriter::WriteAt(uint64_t position, std::string_view data) {
  iovec piece{const_cast<char*>(data.data()), data.size()};
  size_t done = 0;
  if (int err = WriteGatheredAt(position, &piece, 1, &done); err != 0)
    return WriteFailed(position, data.size(), 0, err);
  return Status::OK();
}

Status PartitionWriter::WriteFailed(uint64_t position, size_t size, size_t keep, int err) {
  bool cut = ::ftruncate(fd_, static_cast<off_t>(position + keep)) == 0;
  return Status::IOError("appending " + std::to_string(size) + " bytes to " + Where() + " at byte " +
                         std::to_string(position) + ": " + std::strerror(err) +
                         (cut ? "; the records not written completely were taken back"
                              : "; could not cut the partial write (the next open cuts it as a torn tail)"));
}

int PartitionWriter::WriteGatheredAt(uint64_t position, const iovec* iov, size_t count, size_t* done) {
  // At most kMaxWriteChunk bytes and kMaxPieces pieces per call (pwritev
  // refuses more than IOV_MAX; 1024 bounds the array on the stack).
  constexpr size_t kMaxPieces = std::min<size_t>(IOV_MAX, 1024);
  iovec part[kMaxPieces];
  size_t at = 0;    // the piece the next write starts in
  size_t skip = 0;  // bytes of it already written
  *done = 0;
  while (at < count) {
    size_t pieces = 0, bytes = 0;
    for (size_t i = at; i < count && pieces < kMaxPieces && bytes < kMaxWriteChunk; ++i) {
      size_t from = i == at ? skip : 0;
      size_t len = std::min(iov[i].iov_len - from, kMaxWriteChunk - bytes);
      if (len == 0) continue;
      part[pieces++] = {static_cast<char*>(iov[i].iov_base) + from, len};
      bytes += len;
    }
    if (pieces == 0) break;  // only empty pieces left
    ssize_t n = ::pwritev(fd_, part, static_cast<int>(pieces), static_cast<off_t>(position + *done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : ENOSPC;
    *done += static_cast<size_t>(n);
    // Step over what was written.
    for (size_t left = static_cast<size_t>(n); at < count;) {
      size_t rest = iov[at].iov_len - skip;
      if (left < rest) {
        skip += left;
        break;
      }
      left -= rest;
      skip = 0;
      ++at;
    }
  }
  return 0;
}

void PartitionWriter::AppendIndex(std::string_view entries) {
  if (index_fd_ < 0 || entries.empty()) return;
  ssize_t n = ::write(index_fd_, entries.data(), entries.size());
  if (n == static_cast<ssize_t>(entries.size())) {
    index_size_ += entries.size();
    return;
  }
  // A partial entry would misalign the ones after it; the index is only a
  // hint, so cut back or stop indexing this segment.
  if (::ftruncate(index_fd_, static_cast<off_t>(index_size_)) != 0) {
    ::close(index_fd_);
    index_fd_ = -1;
    ::unlink(JoinPath(dir_, IndexFileName(segments_.back().base_offset)).c_str());
  }
}

Status PartitionWriter::Write(PendingRecords* pending) {
  size_t written_bytes = 0, written_records = 0;
  Status status = WriteRecords(pending->bytes.data(), pending->bytes.size(), &written_bytes, &written_records);
  pending->bytes.erase(0, written_bytes);
  pending->count -= written_records;
  return status;
}

template <typename Size, typename Frame, typename Pieces>
Status PartitionWriter::WriteChunks(size_t count, Size size_of, Frame frame, Pieces pieces, size_t* written_records) {
  size_t i = 0;
  size_t written = 0;
  Status status;
  while (i < count) {
    SegmentInfo& active = segments_.back();
    bool full = active.size + size_of(i) > options_.segment_bytes;
    bool old = options_.segment_max_age_ms > 0 && NowMillis() - active_since_ms_ >= options_.segment_max_age_ms;
    if (active.size > kSegmentHeaderSize && (full || old)) {
      status = Roll();
      if (!status.ok()) break;
    }
    SegmentInfo& segment = segments_.back();
    // The records this segment takes (at least one), framed with their offsets.
    size_t begin = i;
    uint64_t bytes = 0;
    int64_t offset = next_offset_;
    uint64_t indexed_before = last_indexed_position_;
    std::string index;
    while (i < count) {
      size_t size = size_of(i);
      uint64_t file_position = segment.size + bytes;
      if (i > begin && file_position + size > options_.segment_bytes) break;
      frame(i, offset);
      if (last_indexed_position_ == 0 || file_position - last_indexed_position_ >= options_.index_interval_bytes) {
        AppendIndexEntry(&index, offset, file_position);
        last_indexed_position_ = file_position;
      }
      ++offset;
      bytes += size;
      ++i;
    }
    iov_.clear();
    pieces(begin, i, &iov_);
    size_t done = 0;
    if (int err = WriteGatheredAt(segment.size, iov_.data(), iov_.size(), &done); err != 0) {
      // The whole records that made it are in the log: account for them.
      size_t kept = 0, kept_records = 0;
      for (size_t j = begin; j < i && kept + size_of(j) <= done; ++j) {
        kept += size_of(j);
        ++kept_records;
      }
      status = WriteFailed(segment.size, bytes, kept, err);
      segment.size += kept;
      next_offset_ += static_cast<int64_t>(kept_records);
      written += kept_records;
      if (kept > 0) dirty_ = true;
      last_indexed_position_ = indexed_before;  // the new entries were not written (the index is a hint)
      break;
    }
    segment.size += bytes;
    next_offset_ = offset;
    written += i - begin;
    dirty_ = true;
    AppendIndex(index);
  }
  *written_records = written;
  return status;
}

Status PartitionWriter::WriteRecords(char* data, size_t size, size_t* written_bytes, size_t* written_records) {
  // Where each record starts (and the end), for the record sizes.
  starts_.clear();
  for (size_t pos = 0; pos < size; pos += RecordSizeAt(std::string_view(data + pos, size - pos))) {
    starts_.push_back(pos);
  }
  size_t count = starts_.size();
  starts_.push_back(size);
  Status status = WriteChunks(
      count, [&](size_t i) { return starts_[i + 1] - starts_[i]; },
      [&](size_t i, int64_t offset) { SealRecord(data + starts_[i], offset); },
      [&](size_t begin, size_t end, std::vector<iovec>* iov) {
        iov->push_back({data + starts_[begin], starts_[end] - starts_[begin]});
      },
      written_records);
  *written_bytes = starts_[*written_records];
  return status;
}

Status PartitionWriter::WriteGathered(const GatheredRecord* records, size_t count, size_t* written_records) {
  // Each record's header and key go to headers_, framed as AppendRecord
  // frames them but with their offsets known (no CRC patch later); its value
  // is written from where it lies.
  headers_.clear();
  size_t next_header = 0;  // where the headers of the chunk being written start
  return WriteChunks(
      count, [&](size_t i) { return EncodedRecordSize(records[i].key.size(), records[i].value.size()); },
      [&](size_t i, int64_t offset) {
        const GatheredRecord& r = records[i];
        size_t size = EncodedRecordSize(r.key.size(), r.value.size());
        char header[kRecordOverhead];
        StoreLE32(header + 4, static_cast<uint32_t>(size - kRecordPrefixSize));
        StoreLE64(header + 8, static_cast<uint64_t>(offset));
        StoreLE64(header + 16, static_cast<uint64_t>(r.timestamp_ms));
        StoreLE32(header + 24, static_cast<uint32_t>(r.key.size()));
        uint32_t crc = Crc32cExtend(0, header + 4, kRecordOverhead - 4);
        crc = Crc32cExtend(crc, r.key.data(), r.key.size());
        StoreLE32(header, r.value_crc32c ? Crc32cCombine(crc, *r.value_crc32c, r.value.size())
                                         : Crc32cExtend(crc, r.value.data(), r.value.size()));
        headers_.append(header, kRecordOverhead);
        headers_.append(r.key);
      },
      [&](size_t begin, size_t end, std::vector<iovec>* iov) {
        // The chunk's headers are complete now (headers_ no longer moves).
        for (size_t j = begin; j < end; ++j) {
          size_t header_bytes = kRecordOverhead + records[j].key.size();
          iov->push_back({headers_.data() + next_header, header_bytes});
          iov->push_back({const_cast<char*>(records[j].value.data()), records[j].value.size()});
          next_header += header_bytes;
        }
      },
      written_records);
}

Status PartitionWriter::Sync() {
  if (!dirty_) return Status::OK();
  if (::fdatasync(fd_) != 0) return Errno("syncing " + SegmentPath(segments_.back().base_offset));
  dirty_ = false;
  return Status::OK();
}

Status PartitionWriter::Publish() {
  if (visible_end_ == next_offset_ && visible_end_ != 0) return Status::OK();
  KL_RETURN_IF_ERROR(watermark_->Publish(next_offset_));
  visible_end_ = next_offset_;
  return Status::OK();
}

Status PartitionWriter::DeleteOldestSegment() {
  if (segments_.size() < 2) return Status::Internal("refusing to delete the active segment of " + Where());
  int64_t base = segments_.front().base_offset;
  KL_RETURN_IF_ERROR(RemoveFile(JoinPath(dir_, IndexFileName(base))));
  KL_RETURN_IF_ERROR(RemoveFile(SegmentPath(base)));
  segments_.erase(segments_.begin());
  return Status::OK();
}

}  // namespace kl::log
