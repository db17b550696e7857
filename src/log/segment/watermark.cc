#include "log/segment/watermark.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/coding.h"
#include "common/file/file_util.h"
#include "log/crc32c.h"

namespace kl::log {
namespace {

constexpr size_t kSize = 16;

std::string Encode(int64_t offset) {
  std::string out = "KLWM";
  std::string value;
  PutFixed64LE(&value, static_cast<uint64_t>(offset));
  PutFixed32LE(&out, Crc32c(value));
  return out + value;
}

std::optional<int64_t> Decode(const char* p) {
  if (std::memcmp(p, "KLWM", 4) != 0) return std::nullopt;
  if (LoadLE32(p + 4) != Crc32c(p + 8, 8)) return std::nullopt;
  auto offset = static_cast<int64_t>(LoadLE64(p + 8));
  if (offset < 0) return std::nullopt;
  return offset;
}

}  // namespace

Result<std::unique_ptr<WatermarkWriter>> WatermarkWriter::Open(const std::string& partition_dir) {
  std::string path = JoinPath(partition_dir, kWatermarkFileName);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("opening " + path + ": " + std::strerror(errno));
  return std::unique_ptr<WatermarkWriter>(new WatermarkWriter(path, fd));
}

WatermarkWriter::~WatermarkWriter() { ::close(fd_); }

Status WatermarkWriter::Publish(int64_t offset) {
  std::string bytes = Encode(offset);
  // 16 bytes at offset 0: one page, one pwrite.
  if (::pwrite(fd_, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    return Status::IOError("publishing watermark " + std::to_string(offset) + " to " + path_ + ": " +
                           std::strerror(errno));
  }
  return Status::OK();
}

Status WriteWatermark(const std::string& partition_dir, int64_t offset) {
  KL_ASSIGN_OR_RETURN(auto writer, WatermarkWriter::Open(partition_dir));
  return writer->Publish(offset);
}

WatermarkReader::WatermarkReader(std::string partition_dir) : path_(JoinPath(partition_dir, kWatermarkFileName)) {}

WatermarkReader::~WatermarkReader() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<int64_t> WatermarkReader::Read() {
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return last_;
  }
  char buf[kSize];
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (::pread(fd_, buf, kSize, 0) != static_cast<ssize_t>(kSize)) break;
    if (auto value = Decode(buf)) {
      last_ = value;
      return last_;
    }
  }
  // There but not (yet) valid: just created, or damaged by a power loss.
  // Show nothing new until the writer publishes again.
  return last_.value_or(0);
}

}  // namespace kl::log
