#include "common/file/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kl {
namespace {

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string msg(what);
  msg += " ";
  msg += path;
  msg += ": ";
  msg += std::strerror(err);
  if (err == ENOENT) return Status::NotFound(std::move(msg));
  if (err == EEXIST) return Status::AlreadyExists(std::move(msg));
  return Status::IOError(std::move(msg));
}

// Each write copies at most this much into the page cache: the kernel sizes
// the page cache folios it allocates by the write (up to 2 MB), and on a VM
// whose balloon reports free memory to the host in blocks of 2 MB and more,
// large folios come from memory the host took back, each first touch a fault
// in the host (see the log's partition writer, which writes the same way).
constexpr size_t kMaxWriteChunk = 256 << 10;

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, std::min(left, kMaxWriteChunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("writing", path, errno);
    }
    // Nothing written (a full device may say so): an error, not a loop forever.
    if (n == 0) return Status::IOError("writing " + path + ": no bytes written");
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status::OK();
}

std::string TempPathFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
}

Status WriteTemp(const std::string& tmp, std::string_view data, bool sync) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("creating", tmp, errno);
  Status s = WriteAll(fd, data, tmp);
  if (s.ok() && sync && ::fsync(fd) != 0) s = ErrnoStatus("syncing", tmp, errno);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus("closing", tmp, errno);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

}  // namespace

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening", path, errno);
  std::string out;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus("reading", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

bool FileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
  return static_cast<uint64_t>(st.st_size);
}

Result<int64_t> FileModifiedMillis(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

FileStamp StampFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + static_cast<int64_t>(st.st_mtim.tv_nsec)};
}

Status WriteFileAtomic(const std::string& path, std::string_view data, bool sync) {
  std::string tmp = TempPathFor(path);
  KL_RETURN_IF_ERROR(WriteTemp(tmp, data, sync));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus("renaming into", path, err);
  }
  if (sync) return SyncDir(DirName(path));
  return Status::OK();
}

Status WriteFileIfAbsent(const std::string& path, std::string_view data, bool sync) {
  std::string tmp = TempPathFor(path);
  KL_RETURN_IF_ERROR(WriteTemp(tmp, data, sync));
  // link() fails with EEXIST when another writer got there first: an atomic
  // "create if absent" that never exposes a partially written file.
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) return ErrnoStatus("publishing", path, err);
  if (sync) return SyncDir(DirName(path));
  return Status::OK();
}

Status WriteFile(const std::string& path, std::string_view data, bool sync) { return WriteTemp(path, data, sync); }

Status OverwriteFile(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return WriteTemp(path, data, /*sync=*/false);  // a new file (or an error named there)
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) > data.size()) {
    // Written over in place, a longer file would show a mix of old and new bytes until cut.
    ::close(fd);
    return WriteTemp(path, data, /*sync=*/false);
  }
  Status s = WriteAll(fd, data, path);  // from offset 0: the file was just opened
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus("closing", path, errno);
  return s;
}

Result<uint64_t> CopyFile(const std::string& from, const std::string& to, bool sync, CopyVia via) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return ErrnoStatus("opening", from, errno);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return ErrnoStatus("creating", to, err);
  }
  Status s;
  uint64_t copied = 0;
  bool in_kernel = via == CopyVia::kKernel;
  // Some filesystems' copy_file_range returns 0 before the end: the size tells a real end.
  struct stat st;
  uint64_t source_size = 0;
  if (in_kernel && ::fstat(in, &st) == 0) source_size = static_cast<uint64_t>(st.st_size);
  std::string buf;
  while (s.ok()) {
    ssize_t n = -1;
    if (in_kernel) {
      n = ::copy_file_range(in, nullptr, out, nullptr, size_t{1} << 30, 0);
      // Filesystems (or kernels) that cannot copy between these files: through a buffer.
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        in_kernel = false;
        continue;
      }
      if (n < 0 && errno != EINTR) s = ErrnoStatus("copying " + from + " to", to, errno);
      if (n == 0 && copied < source_size) {
        // Stopped short: the rest through a buffer, from where the kernel left both offsets.
        in_kernel = false;
        continue;
      }
    } else {
      buf.resize(1 << 20);
      n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno != EINTR) s = ErrnoStatus("reading", from, errno);
      if (n > 0) s = WriteAll(out, std::string_view(buf.data(), static_cast<size_t>(n)), to);
    }
    if (n == 0) break;
    if (n > 0) copied += static_cast<uint64_t>(n);
  }
  ::close(in);
  if (s.ok() && sync && ::fdatasync(out) != 0) s = ErrnoStatus("syncing", to, errno);
  if (::close(out) != 0 && s.ok()) s = ErrnoStatus("closing", to, errno);
  if (!s.ok()) {
    ::unlink(to.c_str());
    return s;
  }
  return copied;
}

Status CreateDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IOError("creating directory " + path + ": " + ec.message());
  return Status::OK();
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("removing", path, errno);
  return Status::OK();
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::IOError("removing " + path + ": " + ec.message());
  return Status::OK();
}

Status RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("renaming " + from + " to", to, errno);
  return Status::OK();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) return ErrnoStatus("syncing directory", dir, err);
  return Status::OK();
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus("listing", dir, errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  std::string out(a);
  if (out.back() != '/') out += '/';
  out += b;
  return out;
}

std::string DirName(std::string_view path) {
  size_t pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

std::string BaseName(std::string_view path) {
  size_t pos = path.rfind('/');
  return std::string(pos == std::string_view::npos ? path : path.substr(pos + 1));
}

Result<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("stat", path, err);
  }
  size_t size = static_cast<size_t>(st.st_size);
  void* addr = nullptr;
  if (size > 0) {
    addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("mapping", path, err);
    }
  }
  ::close(fd);
  return std::unique_ptr<MappedFile>(new MappedFile(path, addr, size));
}

MappedFile::~MappedFile() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
}

Result<std::unique_ptr<AppendFile>> AppendFile::Open(const std::string& path, bool truncate) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return ErrnoStatus("opening for append", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("stat", path, err);
  }
  return std::unique_ptr<AppendFile>(new AppendFile(path, fd, static_cast<uint64_t>(st.st_size)));
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status AppendFile::Append(std::string_view data) {
  if (fd_ < 0) return Status::IOError("append to closed file " + path_);
  KL_RETURN_IF_ERROR(WriteAll(fd_, data, path_));
  size_ += data.size();
  return Status::OK();
}

Status AppendFile::Sync() {
  if (fd_ >= 0 && ::fdatasync(fd_) != 0) return ErrnoStatus("syncing", path_, errno);
  return Status::OK();
}

Status AppendFile::Truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return ErrnoStatus("truncating", path_, errno);
  size_ = size;
  return Status::OK();
}

Status AppendFile::Close() {
  if (fd_ < 0) return Status::OK();
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return ErrnoStatus("closing", path_, errno);
  return Status::OK();
}

}  // namespace kl
