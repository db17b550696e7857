// The rows of recently written changelog files, kept in memory for readers in
// the same process: the jobs that follow a table read each changelog file
// soon after its commit, and decoding it again (once per follower) cost more
// than producing it. Files are immutable and uniquely named; an entry is used
// only while the file on disk still has the size and modification time it had
// when it was written, and the cache is bounded (least recently used go first),
// so a reader in another process, or after eviction, simply reads the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "format/column.h"

namespace kl::table {

struct FileRows {
  format::RowType type;                     // the file's column layout
  std::vector<format::ColumnBatch> chunks;  // the file's rows in order
  int64_t rows = 0;
};

class RecentFiles {
 public:
  static RecentFiles& Get();
  // Keeps `rows` as the content of the file at `path` (just written and closed).
  void Put(const std::string& path, std::shared_ptr<const FileRows> rows);
  // The rows of `path`, if kept and the file is unchanged; else null.
  std::shared_ptr<const FileRows> Find(const std::string& path);
  void SetBudget(size_t bytes);
  // The largest file the cache takes (half its budget: a DWD commit of a backlog writes
  // ~18 MB of rows per bucket, which every follower reads next): writers stop keeping the
  // rows of a file that grows past it.
  size_t max_file_bytes();

 private:
  struct Impl;
  RecentFiles();
  std::unique_ptr<Impl> impl_;
};

}  // namespace kl::table
