// Local filesystem access with errors that name the path. Writers that must
// not leave half-written files use WriteFileAtomic (temp file + rename) or
// WriteFileIfAbsent (the loser of a race gets AlreadyExists).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kl {

Result<std::string> ReadFile(const std::string& path);
bool FileExists(const std::string& path);
bool IsDirectory(const std::string& path);
Result<uint64_t> FileSize(const std::string& path);

// Writes through a temporary file in the same directory, then renames it into place.
Status WriteFileAtomic(const std::string& path, std::string_view data, bool sync = true);
// Publishes `data` at `path` only if nothing is there yet (hard-link of a complete
// temp file, so readers never see a partial file). AlreadyExists when it lost.
Status WriteFileIfAbsent(const std::string& path, std::string_view data, bool sync = true);
// Creates or truncates `path` and writes `data` (no atomicity).
Status WriteFile(const std::string& path, std::string_view data, bool sync = false);
// Like WriteFile, unsynced, but a file no longer than `data` is written over in place:
// no truncation to zero, which on ext4 frees (and may discard) the file's blocks and
// writes it out at close. For small files rewritten often with as long or longer
// contents (a hint's growing number); a longer file is truncated and written. A concurrent
// reader may see a mix of old and new bytes: readers must check what they read.
Status OverwriteFile(const std::string& path, std::string_view data);
// How CopyFile moves the bytes: in the kernel where it can (falling back to a buffer), or
// always through a buffer (the fallback itself, for tests).
enum class CopyVia { kKernel, kBuffer };
// Creates or truncates `to` with the bytes of `from` (copied in the kernel where it can be:
// no mapping or buffer of them here); returns the bytes copied. No atomicity.
Result<uint64_t> CopyFile(const std::string& from, const std::string& to, bool sync = false,
                          CopyVia via = CopyVia::kKernel);

Status CreateDirs(const std::string& path);
Status RemoveFile(const std::string& path);  // OK if it was already gone
Status RemoveAll(const std::string& path);   // recursive; OK if absent
Status RenameFile(const std::string& from, const std::string& to);
Status SyncDir(const std::string& dir);
// Names (not paths) of the entries of `dir`, sorted. NotFound if `dir` is missing.
Result<std::vector<std::string>> ListDir(const std::string& dir);
// Modification time in milliseconds since the epoch.
Result<int64_t> FileModifiedMillis(const std::string& path);

// A file's size and modification time (ns): what caches of files that are
// never rewritten in place check before reusing what they read from one.
struct FileStamp {
  int64_t size = -1;  // -1: the file is not there (or cannot be stat'ed)
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp StampFile(const std::string& path);

std::string JoinPath(std::string_view a, std::string_view b);
std::string DirName(std::string_view path);
std::string BaseName(std::string_view path);

// A whole file mapped read-only into memory (zero-copy reads of data files).
class MappedFile {
 public:
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view data() const { return {static_cast<const char*>(addr_), size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, void* addr, size_t size) : path_(std::move(path)), addr_(addr), size_(size) {}
  std::string path_;
  void* addr_;
  size_t size_;
};

// An append-only file handle for logs and data files being written.
class AppendFile {
 public:
  static Result<std::unique_ptr<AppendFile>> Open(const std::string& path, bool truncate);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  Status Append(std::string_view data);
  Status Sync();
  Status Close();
  Status Truncate(uint64_t size);
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  AppendFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_;
  uint64_t size_;
};

}  // namespace kl
