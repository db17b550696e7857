// The rows of recently written changelog files, kept in memory for readers in
// the same process: the jobs that follow a table read each changelog file
// soon after its commit, and decoding it again (once per follower) cost more
// than producing it. Files are immutable and uniquely named; an entry is used
// only while the file on disk still has the size and modification time it had
// when it was written, and the cache is bounded (least recently used go first),
// so a reader in another process, or after eviction, simply reads the file.
//
// A file that is not kept (it outgrew the cache while written, or was evicted) is decoded
// once for the readers following its table: each says which columns it reads while it
// lives (AddReader), and the first that misses a file decodes it with the columns of them
// all (DecodeOnce) and keeps those rows; the others wait for it and read them (rows that
// outgrow the cache are dropped as they do, and each reader reads the file). Each reader
// still filters and projects on its own, and its position is its own: only the decoding
// is shared.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
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

  // A reader of the table at `table_path` that decodes files once for all such readers
  // (TableRead::ShareDecodes) says which columns it reads, by name, for as long as it lives
  // (until RemoveReader with the returned id).
  int64_t AddReader(const std::string& table_path, std::vector<std::string> columns);
  void RemoveReader(int64_t id);
  // The columns of every such reader of `table_path`, in no order, when there are two or
  // more (a file is then worth decoding once for all); else nothing.
  std::vector<std::string> SharedColumns(const std::string& table_path);
  // The rows of `path`, for a reader whose Find missed: kept ones; or those another thread is
  // decoding (waited for; null when that decode failed or its rows were not kept); or those
  // `decode` returns now, which are kept when they fit. Errors are `decode`'s. The read
  // stays counted as the one miss its Find counted (a wait or a decode says how it went on).
  Result<std::shared_ptr<const FileRows>> DecodeOnce(
      const std::string& path, const std::function<Result<std::shared_ptr<const FileRows>>()>& decode);

  struct Stats {
    int64_t hits = 0;     // Find found the rows
    int64_t misses = 0;   // Find did not (once per Find, whatever DecodeOnce does next)
    int64_t decodes = 0;  // DecodeOnce decoded a file
    int64_t waits = 0;    // DecodeOnce waited for another thread's decode
  };
  Stats stats();

 private:
  struct Impl;
  RecentFiles();
  // Find, counting the lookup in stats() or not.
  std::shared_ptr<const FileRows> Lookup(const std::string& path, bool count);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kl::table
