#include "log/segment/segment_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/coding.h"
#include "common/file/file_util.h"
#include "common/string_util.h"

namespace kl::log {
namespace {

constexpr size_t kOffsetDigits = 20;

std::string PaddedOffset(int64_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020lld", static_cast<long long>(offset));
  return buf;
}

}  // namespace

std::string SegmentFileName(int64_t base_offset) { return PaddedOffset(base_offset) + ".log"; }
std::string IndexFileName(int64_t base_offset) { return PaddedOffset(base_offset) + ".idx"; }

std::optional<int64_t> ParseSegmentFileName(std::string_view name) {
  if (name.size() != kOffsetDigits + 4 || name.substr(kOffsetDigits) != ".log") return std::nullopt;
  auto digits = name.substr(0, kOffsetDigits);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  auto value = ParseInt64(digits);
  if (!value || *value < 0) return std::nullopt;
  return *value;
}

Result<std::vector<int64_t>> ListSegments(const std::string& partition_dir) {
  auto names = ListDir(partition_dir);
  if (!names.ok()) {
    if (names.status().IsNotFound()) return std::vector<int64_t>{};
    return names.status();
  }
  std::vector<int64_t> bases;
  for (const auto& name : *names) {
    if (auto base = ParseSegmentFileName(name)) bases.push_back(*base);
  }
  std::sort(bases.begin(), bases.end());
  return bases;
}

Result<std::unique_ptr<SegmentFile>> SegmentFile::Open(const std::string& path, int64_t base_offset) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = "opening segment " + path + ": " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
  }
  return std::unique_ptr<SegmentFile>(new SegmentFile(path, base_offset, fd));
}

SegmentFile::~SegmentFile() { ::close(fd_); }

std::string SegmentFile::name() const { return "segment " + JoinPath(BaseName(DirName(path_)), BaseName(path_)); }

Result<uint64_t> SegmentFile::Size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Status::IOError("stat " + path_ + ": " + std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

Status SegmentFile::ReadAt(uint64_t pos, size_t n, std::string* out) const {
  out->resize(n);
  KL_ASSIGN_OR_RETURN(size_t done, ReadInto(pos, n, out->data()));
  out->resize(done);
  return Status::OK();
}

Result<size_t> SegmentFile::ReadInto(uint64_t pos, size_t n, char* dst) const {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(pos + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("reading " + name() + " at byte " + std::to_string(pos + done) + ": " +
                             std::strerror(errno));
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

SegmentCursor::SegmentCursor(const SegmentFile* file, uint64_t position, int64_t next_offset, size_t chunk_bytes)
    : file_(file), position_(position), next_offset_(next_offset), chunk_bytes_(chunk_bytes) {}

std::string_view SegmentCursor::Available() const {
  if (!buffer_ || position_ < buffer_position_ || position_ - buffer_position_ > buffer_->length) return {};
  return std::string_view(buffer_->bytes.get(), buffer_->length).substr(position_ - buffer_position_);
}

Status SegmentCursor::Fill(size_t need) {
  if (Available().size() >= need) return Status::OK();
  KL_ASSIGN_OR_RETURN(uint64_t size, file_->Size());
  if (size <= position_) {
    spare_ = std::move(buffer_);
    return Status::OK();
  }
  size_t want = static_cast<size_t>(std::min<uint64_t>(size - position_, std::max(need, chunk_bytes_)));
  // Records handed out earlier may still view the current buffer: it is read
  // into again only when no batch holds it any more, else a fresh one is used.
  std::shared_ptr<ReadBuffer> next;
  if (buffer_ != nullptr && buffer_.use_count() == 1) {
    next = std::move(buffer_);
  } else if (spare_ != nullptr && spare_.use_count() == 1) {
    next = std::move(spare_);
  } else {
    next = std::make_shared<ReadBuffer>();
  }
  buffer_.reset();
  if (next->capacity < want) {
    next->bytes.reset(new char[want + kReadPadding]);  // uninitialised: pread fills what is used
    next->capacity = want;
  }
  next->length = 0;
  Result<size_t> read = file_->ReadInto(position_, want, next->bytes.get());
  if (!read.ok()) {
    spare_ = std::move(next);
    return read.status();
  }
  next->length = *read;
  buffer_ = std::move(next);
  buffer_position_ = position_;
  fresh_ = true;
  return Status::OK();
}

Result<SegmentCursor::State> SegmentCursor::Peek(bool verify_crc) {
  KL_ASSIGN_OR_RETURN(State state, PeekBuffered(verify_crc));
  if (state == State::kRecord || fresh_) return state;
  // Bytes read earlier may be stale: a new writer cuts a torn tail and
  // writes over it. Judge anything but a record on what the file holds now.
  spare_ = std::move(buffer_);
  return PeekBuffered(verify_crc);
}

Result<SegmentCursor::State> SegmentCursor::PeekBuffered(bool verify_crc) {
  trailing_bytes_ = 0;
  fresh_ = false;
  KL_RETURN_IF_ERROR(Fill(kRecordPrefixSize));
  size_t need = RecordSizeAt(Available());
  if (need > kRecordPrefixSize && need <= kRecordPrefixSize + kMaxRecordBodySize) {
    KL_RETURN_IF_ERROR(Fill(need));
  }
  std::string_view data = Available();
  switch (DecodeRecord(data, &record_, &problem_, verify_crc)) {
    case DecodeState::kIncomplete: trailing_bytes_ = data.size(); return State::kEnd;
    case DecodeState::kBad:
      problem_ = "at byte " + std::to_string(position_) + " (expected offset " + std::to_string(next_offset_) +
                 "): " + problem_;
      return State::kBad;
    case DecodeState::kOk: break;
  }
  if (record_.offset != next_offset_) {
    problem_ = "at byte " + std::to_string(position_) + ": record has offset " + std::to_string(record_.offset) +
               " where " + std::to_string(next_offset_) + " was expected";
    return State::kBad;
  }
  return State::kRecord;
}

void SegmentCursor::Advance() {
  position_ += record_.encoded_size;
  ++next_offset_;
}

void AppendIndexEntry(std::string* dst, int64_t offset, uint64_t position) {
  PutFixed64LE(dst, static_cast<uint64_t>(offset));
  PutFixed64LE(dst, position);
}

Result<std::pair<uint64_t, int64_t>> SeekHint(const std::string& index_path, const SegmentFile& segment,
                                              int64_t target_offset) {
  std::pair<uint64_t, int64_t> first{kSegmentHeaderSize, segment.base_offset()};
  auto index = ReadFile(index_path);
  if (!index.ok()) return first;  // missing or unreadable: the index is only a hint
  size_t entries = index->size() / kIndexEntrySize;
  // Binary search for the last entry with offset <= target, then walk back
  // until one checks out against the segment.
  size_t lo = 0, hi = entries;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    auto offset = static_cast<int64_t>(LoadLE64(index->data() + mid * kIndexEntrySize));
    if (offset <= target_offset) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  std::string probe;
  for (size_t i = lo; i-- > 0 && lo - i <= 4;) {
    auto offset = static_cast<int64_t>(LoadLE64(index->data() + i * kIndexEntrySize));
    uint64_t position = LoadLE64(index->data() + i * kIndexEntrySize + 8);
    if (offset < segment.base_offset() || position < kSegmentHeaderSize) continue;
    SegmentCursor cursor(&segment, position, offset, 64 << 10);
    KL_ASSIGN_OR_RETURN(auto state, cursor.Peek(/*verify_crc=*/true));
    if (state == SegmentCursor::State::kRecord) return std::make_pair(position, offset);
  }
  return first;
}

}  // namespace kl::log
