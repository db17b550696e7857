// Helpers for tests: a scratch directory removed at the end, the location of
// the shared test data (../shared) with a clean skip when it is absent, and a
// file size limit that makes writes fail as on a full disk.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdlib>
#include <string>

#include "common/file/file_util.h"
#include "common/random.h"

namespace kl::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    path_ = std::string(base != nullptr ? base : "/tmp") + "/kubelake-test-" + RandomUuid();
    (void)CreateDirs(path_);
  }
  ~TempDir() {
    if (std::getenv("KUBELAKE_KEEP_TEST_DIRS") == nullptr) (void)RemoveAll(path_);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return JoinPath(path_, name); }

 private:
  std::string path_;
};

// The shared test-data directory, or "" when it is not present.
inline std::string SharedDir() {
  const char* env = std::getenv("KUBELAKE_SHARED_DIR");
#ifdef KUBELAKE_DEFAULT_SHARED_DIR
  std::string dir = env != nullptr ? env : KUBELAKE_DEFAULT_SHARED_DIR;
#else
  std::string dir = env != nullptr ? env : "";
#endif
  if (dir.empty() || !IsDirectory(dir)) return "";
  return dir;
}

#ifndef KUBELAKE_DEFAULT_SOURCE_DIR
#define KUBELAKE_DEFAULT_SOURCE_DIR "."
#endif
#ifndef KUBELAKE_DEFAULT_BINARY_DIR
#define KUBELAKE_DEFAULT_BINARY_DIR "."
#endif

inline std::string SourceDir() {
  const char* env = std::getenv("KUBELAKE_SOURCE_DIR");
  return env != nullptr ? env : KUBELAKE_DEFAULT_SOURCE_DIR;
}

inline std::string BinaryDir() {
  const char* env = std::getenv("KUBELAKE_BINARY_DIR");
  return env != nullptr ? env : KUBELAKE_DEFAULT_BINARY_DIR;
}

// While alive, writes fail (EFBIG) once a file would pass `bytes`, as they fail
// with ENOSPC on a full disk; SIGXFSZ is ignored so the write returns the error.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  struct rlimit saved_;
  sighandler_t old_handler_;
};

}  // namespace kl::testing

// Skips the current test when ../shared/<sub> is missing (a user's fresh clone).
#define KL_REQUIRE_SHARED(sub, var)                                                         \
  std::string var = ::kl::testing::SharedDir();                                             \
  if (var.empty() || !::kl::FileExists(::kl::JoinPath(var, sub))) {                         \
    GTEST_SKIP() << "shared test data " << (sub) << " not found (set KUBELAKE_SHARED_DIR)"; \
  }                                                                                         \
  var = ::kl::JoinPath(var, sub)

#define KL_ASSERT_OK(expr)                       \
  do {                                           \
    ::kl::Status kl_s_ = (expr);                 \
    ASSERT_TRUE(kl_s_.ok()) << kl_s_.ToString(); \
  } while (0)

#define KL_EXPECT_OK(expr)                       \
  do {                                           \
    ::kl::Status kl_s_ = (expr);                 \
    EXPECT_TRUE(kl_s_.ok()) << kl_s_.ToString(); \
  } while (0)

#define KL_ASSERT_OK_AND_ASSIGN(lhs, expr) KL_ASSERT_OK_AND_ASSIGN_IMPL_(KL_CONCAT_(kl_r_, __LINE__), lhs, expr)
#define KL_ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString();   \
  lhs = std::move(tmp).value()
