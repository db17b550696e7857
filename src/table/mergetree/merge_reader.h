// Merge-on-read of a primary-key bucket: each sorted run (one level-0 file,
// or all files of a level > 0) is read in key order; a k-way merge hands the
// records of each key, in sequence order, to the merge function and emits
// one record per key.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/result.h"
#include "table/data/data_file.h"
#include "table/data/kv.h"
#include "table/mergetree/merge_function.h"

namespace kl::table {

using FileOpener = std::function<Result<std::unique_ptr<DataFileReader>>(const DataFileMeta&)>;

// Files that together hold keys in order without overlap.
struct SortedRun {
  std::vector<DataFileMeta> files;  // ordered by key range
  int64_t TotalSize() const;
};

// Level-0 files are one run each (newest first); each higher level is one run
// whose files are ordered by their minimum key (of `key_types`).
std::vector<SortedRun> SortedRunsOf(const std::vector<DataFileMeta>& files,
                                    const std::vector<format::DataType>& key_types);

// Reads one sorted run record by record.
// Rows each cursor reads at a time when `runs` sorted runs are merged: 16,384 up to two
// runs, else a shared 32,768 split among them (at least 1,024 each). A merge of many runs
// (a compaction that waited for a backlog, up to num-sorted-run.stop-trigger of them) would
// otherwise hold 16,384 decoded rows of every run at once.
size_t RunChunkRows(size_t runs);

class RunCursor {
 public:
  RunCursor(SortedRun run, FileOpener opener, size_t chunk_rows);
  Status Init();
  bool valid() const { return valid_; }
  KvRef current() const { return KvRef{chunk_.get(), pos_}; }
  Status Advance();
  // Records left in the current chunk (the current one included).
  size_t remaining_in_chunk() const { return valid_ ? chunk_->size() - pos_ : 0; }
  // Moves past `n` records of the current chunk (n <= remaining_in_chunk()).
  Status AdvanceInChunk(size_t n);
  // Chunks already passed, kept alive until the caller has copied what it needs; one
  // that nothing else holds is kept to be refilled by the next read.
  void ReleaseRetired();
  // Whether the current chunk is whole (none of it passed yet).
  bool at_chunk_start() const { return valid_ && pos_ == 0; }
  // Hands the whole current chunk over to the empty `out` (same layout) by exchanging
  // buffers rather than copying, then moves to the next chunk.
  Status TakeChunk(KvBatch* out);
  const KvBatch& chunk() const { return *chunk_; }

 private:
  Status LoadNextChunk();
  SortedRun run_;
  FileOpener opener_;
  size_t chunk_rows_;
  size_t file_index_ = 0;
  std::unique_ptr<DataFileReader> reader_;
  std::shared_ptr<KvBatch> chunk_;
  std::vector<std::shared_ptr<KvBatch>> retired_;
  std::shared_ptr<KvBatch> spare_;  // a retired chunk to read the next one into
  size_t pos_ = 0;
  bool valid_ = false;
};

class MergeReader {
 public:
  MergeReader(std::vector<std::unique_ptr<RunCursor>> runs, KeyComparator comparator,
              std::unique_ptr<MergeFunction> merge, bool drop_retracts);
  Status Init();
  // Appends up to `max_records` merged records to `out`; returns how many (0 at the end).
  Result<size_t> Next(size_t max_records, KvBatch* out);

 private:
  bool Less(size_t a, size_t b) const;
  void SiftDown(size_t i);
  void SiftUp(size_t i);
  // Copies the picked records column by column (runs of adjacent rows as ranges).
  void FlushPicked(KvBatch* out);
  // With one run left its keys are unique: a picking merge keeps each record as it is,
  // so records go out in bulk, without a merge per key. Returns the number emitted.
  Result<size_t> EmitLastRun(size_t max_records, KvBatch* out);

  std::vector<std::unique_ptr<RunCursor>> runs_;
  KeyComparator cmp_;
  std::unique_ptr<MergeFunction> merge_;
  bool drop_retracts_;
  std::vector<size_t> heap_;   // indexes into runs_, min-heap by (key, sequence)
  std::vector<KvRef> picked_;  // results that are input records, not yet copied to the output
};

}  // namespace kl::table
