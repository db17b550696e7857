// Decoded copies of data files that reads by key come back to, shared by every
// reader in the process. A look-up by key (`WHERE user_id = ...`) of a
// primary-key table reads the same few files over and over; each data file of
// such a table is sorted by key, so once a file's rows are in memory a look-up
// finds its key range by binary search instead of decoding pages.
//
// Exact at every snapshot: data files never change once written (Paimon names
// each uniquely), and a read still merges every file its snapshot lists; the
// cache only replaces decoding a file. An entry is used only while the file on
// disk has the size and modification time it had when it was decoded. A file is
// decoded on its second read by key within the recent past (a one-off query
// never pays a whole-file decode), only when its estimated decoded size is a
// small share of the budget; the least recently used leave first.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/file/file_util.h"
#include "common/result.h"
#include "format/column.h"
#include "table/data/predicate.h"

namespace kl::table {

// A data file's rows in file order (chunks as decoded), in the file's full layout.
struct DecodedFile {
  format::RowType type;
  std::vector<format::ColumnBatch> chunks;
  std::vector<size_t> chunk_start;  // first row of each chunk
  size_t rows = 0;
  size_t bytes = 0;

  // The chunk holding row `row` and the row's index in it.
  std::pair<size_t, size_t> Locate(size_t row) const;
};

// Row ranges [begin, end) of `file` (sorted by `key_columns`, columns of file.type
// in key order) outside which no row can satisfy every leaf; `leaf_columns[i]` is
// the column of file.type leaf i is on (-1: the leaf is not on a key column or its
// column cannot be searched, and narrows nothing). Leaves on a key prefix narrow:
// equality on each leading key column, then a range on the next one.
std::vector<std::pair<size_t, size_t>> KeyRowRanges(const DecodedFile& file, const std::vector<int>& key_columns,
                                                    const std::vector<PredicateLeaf>& leaves,
                                                    const std::vector<int>& leaf_columns);

// Row ranges of `file` outside which no row's leading key columns equal those of one of
// `rows`: `row_columns[j]` is the column of file.type value j of each row is for. Uses
// the longest prefix of `key_columns` whose every column the rows give (and can be
// searched); `*prefix` gets its length, 0 when there is none (then: the whole file).
std::vector<std::pair<size_t, size_t>> KeyRowsRanges(const DecodedFile& file, const std::vector<int>& key_columns,
                                                     const std::vector<int>& row_columns,
                                                     const std::vector<format::Row>& rows, size_t* prefix);

// The rows two sorted lists of disjoint ranges have in common.
std::vector<std::pair<size_t, size_t>> IntersectRanges(const std::vector<std::pair<size_t, size_t>>& a,
                                                       const std::vector<std::pair<size_t, size_t>>& b);

class DecodedFiles {
 public:
  struct Limits {
    uint64_t max_bytes = uint64_t{256} << 20;  // 0 disables the cache
    int64_t reuse_window_ms = 600000;          // a second read within this decodes a file
  };
  struct Stats {
    int64_t hits = 0, misses = 0, decoded = 0;
    size_t files = 0;
    uint64_t bytes = 0;
  };

  explicit DecodedFiles(Limits limits) : limits_(limits) {}
  static DecodedFiles& Global();

  // The decoded file at `path`, when kept and unchanged on disk; else null.
  std::shared_ptr<const DecodedFile> Find(const std::string& path);
  // Whether a read by key of `path` (estimated at `estimated_bytes` decoded) should
  // decode the whole file now: true on the second call within the reuse window,
  // when the file would take at most a quarter of the budget, and no other read is
  // decoding it. A true answer must be followed by Put or Abandon.
  bool ShouldDecode(const std::string& path, uint64_t estimated_bytes);
  // Keeps a decoded file (dropped when it alone exceeds a quarter of the budget).
  void Put(const std::string& path, std::shared_ptr<const DecodedFile> file);
  // A decode ShouldDecode asked for failed: another read may try.
  void Abandon(const std::string& path);

  void SetLimits(Limits limits);
  Limits limits() const;
  void Clear();
  Stats stats() const;

 private:
  struct Entry {
    std::string path;
    FileStamp stamp;
    std::shared_ptr<const DecodedFile> file;
  };
  void Trim();  // mu_ held

  mutable std::mutex mu_;
  Limits limits_;
  std::list<Entry> lru_;  // most recently used first
  std::map<std::string, std::list<Entry>::iterator> by_path_;
  std::map<std::string, int64_t> seen_;      // path -> time of its first read by key (not yet decoded)
  std::map<std::string, int64_t> decoding_;  // path -> when a read began decoding it
  // A decode not finished (Put or Abandon) by then is taken as lost.
  static constexpr int64_t kDecodeAbandonedMs = 60000;
  uint64_t bytes_ = 0;
  int64_t hits_ = 0, misses_ = 0, decoded_ = 0;
};

}  // namespace kl::table
