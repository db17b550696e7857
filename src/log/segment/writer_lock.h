// The embedded log's single-writer rule: an exclusive flock() on <dir>/LOCK,
// which also records the holder's pid for the error message of the next
// would-be writer. The kernel drops the lock when the process dies, however
// it dies, so a SIGKILLed writer never blocks its successor.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"

namespace kl::log {

class WriterLock {
 public:
  // Conflict when another process (or another open in this one) holds it.
  static Result<std::unique_ptr<WriterLock>> Acquire(const std::string& log_dir);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace kl::log
