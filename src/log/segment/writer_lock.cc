#include "log/segment/writer_lock.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/file/file_util.h"
#include "common/string_util.h"

namespace kl::log {

Result<std::unique_ptr<WriterLock>> WriterLock::Acquire(const std::string& log_dir) {
  std::string path = JoinPath(log_dir, "LOCK");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("opening " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    std::string text = ReadFile(path).value_or("");
    std::string holder(Trim(text));
    if (err == EWOULDBLOCK) {
      return Status::Conflict("the log at " + log_dir + " already has a writer" +
                              (holder.empty() ? std::string() : " (process " + holder + ")") +
                              "; one process writes, others may only read");
    }
    return Status::IOError("locking " + path + ": " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    spdlog::warn("could not record the writer pid in {}: {}", path, std::strerror(errno));
  }
  return std::unique_ptr<WriterLock>(new WriterLock(fd));
}

WriterLock::~WriterLock() { ::close(fd_); }  // releases the flock

}  // namespace kl::log
