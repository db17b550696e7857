#include "table/mergetree/merge_reader.h"

#include <algorithm>
#include <map>

#include "table/data/binary_row.h"

namespace kl::table {

int64_t SortedRun::TotalSize() const {
  int64_t n = 0;
  for (const auto& f : files) n += f.file_size;
  return n;
}

std::vector<SortedRun> SortedRunsOf(const std::vector<DataFileMeta>& files,
                                    const std::vector<format::DataType>& key_types) {
  std::vector<SortedRun> runs;
  std::vector<DataFileMeta> level0;
  std::map<int32_t, std::vector<DataFileMeta>> levels;
  for (const auto& f : files) {
    if (f.level == 0)
      level0.push_back(f);
    else
      levels[f.level].push_back(f);
  }
  // Newest level-0 file first (highest sequence numbers), as Paimon orders runs.
  std::sort(level0.begin(), level0.end(), [](const DataFileMeta& a, const DataFileMeta& b) {
    if (a.max_sequence_number != b.max_sequence_number) return a.max_sequence_number > b.max_sequence_number;
    return a.file_name > b.file_name;
  });
  for (auto& f : level0) runs.push_back(SortedRun{{f}});
  for (auto& [level, fs] : levels) {
    std::vector<std::pair<format::Row, DataFileMeta>> keyed;
    for (auto& f : fs) {
      auto key = DeserializeBinaryRow(f.min_key, key_types);
      keyed.emplace_back(key.ok() ? std::move(key).value() : format::Row{}, std::move(f));
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& b) { return format::CompareRows(a.first, b.first) < 0; });
    SortedRun run;
    for (auto& [key, f] : keyed) run.files.push_back(std::move(f));
    runs.push_back(std::move(run));
  }
  return runs;
}

size_t RunChunkRows(size_t runs) {
  constexpr size_t kChunkRows = 16384, kMergeRows = 32768, kMinChunkRows = 1024;
  if (runs <= kMergeRows / kChunkRows) return kChunkRows;
  return std::max(kMinChunkRows, kMergeRows / runs);
}

RunCursor::RunCursor(SortedRun run, FileOpener opener, size_t chunk_rows)
    : run_(std::move(run)), opener_(std::move(opener)), chunk_rows_(chunk_rows) {}

Status RunCursor::Init() { return LoadNextChunk(); }

Status RunCursor::LoadNextChunk() {
  if (chunk_) retired_.push_back(std::move(chunk_));
  while (true) {
    if (!reader_) {
      if (file_index_ >= run_.files.size()) {
        valid_ = false;
        chunk_.reset();
        return Status::OK();
      }
      KL_ASSIGN_OR_RETURN(reader_, opener_(run_.files[file_index_]));
      ++file_index_;
    }
    std::shared_ptr<KvBatch> batch = spare_ ? std::move(spare_) : std::make_shared<KvBatch>();
    KL_ASSIGN_OR_RETURN(size_t n, reader_->Next(chunk_rows_, batch.get()));
    if (n == 0) {
      reader_.reset();
      continue;
    }
    chunk_ = std::move(batch);
    pos_ = 0;
    valid_ = true;
    return Status::OK();
  }
}

void RunCursor::ReleaseRetired() {
  for (auto& c : retired_) {
    if (!spare_ && c.use_count() == 1) spare_ = std::move(c);
  }
  retired_.clear();
}

Status RunCursor::TakeChunk(KvBatch* out) {
  KvBatch& chunk = *chunk_;
  auto& from = chunk.values.mutable_columns();
  auto& to = out->values.mutable_columns();
  for (size_t c = 0; c < to.size(); ++c) to[c].SwapValues(from[c]);
  out->values.SetNumRows(chunk.size());
  chunk.values.SetNumRows(0);
  out->seq.swap(chunk.seq);
  out->kinds.swap(chunk.kinds);
  chunk.Clear();
  return LoadNextChunk();
}

Status RunCursor::Advance() {
  if (!valid_) return Status::OK();
  if (++pos_ < chunk_->size()) return Status::OK();
  return LoadNextChunk();
}

Status RunCursor::AdvanceInChunk(size_t n) {
  if (n == 0) return Status::OK();
  pos_ += n;
  if (pos_ < chunk_->size()) return Status::OK();
  return LoadNextChunk();
}

MergeReader::MergeReader(std::vector<std::unique_ptr<RunCursor>> runs, KeyComparator comparator,
                         std::unique_ptr<MergeFunction> merge, bool drop_retracts)
    : runs_(std::move(runs)), cmp_(std::move(comparator)), merge_(std::move(merge)), drop_retracts_(drop_retracts) {}

bool MergeReader::Less(size_t a, size_t b) const {
  int c = cmp_.Compare(runs_[a]->current(), runs_[b]->current());
  if (c != 0) return c < 0;
  return a > b;  // equal (key, sequence): newer run (lower index) comes later
}

void MergeReader::SiftDown(size_t i) {
  size_t n = heap_.size();
  while (true) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && Less(heap_[l], heap_[m])) m = l;
    if (r < n && Less(heap_[r], heap_[m])) m = r;
    if (m == i) return;
    std::swap(heap_[i], heap_[m]);
    i = m;
  }
}

void MergeReader::SiftUp(size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!Less(heap_[i], heap_[p])) return;
    std::swap(heap_[i], heap_[p]);
    i = p;
  }
}

Status MergeReader::Init() {
  for (size_t i = 0; i < runs_.size(); ++i) {
    KL_RETURN_IF_ERROR(runs_[i]->Init());
    if (runs_[i]->valid()) heap_.push_back(i);
  }
  for (size_t i = heap_.size(); i-- > 0;) SiftDown(i);
  return Status::OK();
}

void MergeReader::FlushPicked(KvBatch* out) {
  size_t n = picked_.size();
  if (n == 0) return;
  auto& cols = out->values.mutable_columns();
  // Interleaved runs (most records alone in their stretch): each column is filled in one
  // pass over the picks, its buffers sized once, rather than a value-by-value append.
  size_t stretches = 1;
  for (size_t i = 1; i < n; ++i) {
    if (picked_[i].batch != picked_[i - 1].batch || picked_[i].row != picked_[i - 1].row + 1) ++stretches;
  }
  if (stretches * 4 > n) {
    std::vector<const format::Column*> sources(n);
    std::vector<size_t> rows(n);
    for (size_t i = 0; i < n; ++i) rows[i] = picked_[i].row;
    for (size_t c = 0; c < cols.size(); ++c) {
      for (size_t i = 0; i < n; ++i) sources[i] = &picked_[i].batch->values.column(c);
      cols[c].AppendFromEach(sources.data(), rows.data(), n);
    }
    out->values.SetNumRows(out->values.num_rows() + n);
    picked_.clear();
    return;
  }
  for (size_t c = 0; c < cols.size(); ++c) {
    format::Column& dst = cols[c];
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && picked_[j].batch == picked_[i].batch && picked_[j].row == picked_[j - 1].row + 1) ++j;
      const format::Column& src = picked_[i].batch->values.column(c);
      if (j - i == 1)
        dst.AppendFrom(src, picked_[i].row);
      else
        dst.AppendRange(src, picked_[i].row, picked_[i].row + (j - i));
      i = j;
    }
  }
  out->values.SetNumRows(out->values.num_rows() + n);
  picked_.clear();
}

namespace {

// Whether `chunk` can be handed to `out` whole: out holds nothing yet, has the
// same column types, and no record of the chunk is a retraction (those are the
// merge function's to judge).
bool CanTakeWhole(const KvBatch& chunk, const KvBatch& out, size_t room) {
  if (out.size() != 0 || out.values.num_rows() != 0 || chunk.size() > room) return false;
  if (out.values.num_columns() != chunk.values.num_columns()) return false;
  for (size_t c = 0; c < out.values.num_columns(); ++c) {
    if (!(out.values.column(c).type() == chunk.values.column(c).type())) return false;
  }
  for (format::RowKind k : chunk.kinds) {
    if (format::IsRetract(k)) return false;
  }
  return true;
}

}  // namespace

Result<size_t> MergeReader::EmitLastRun(size_t max_records, KvBatch* out) {
  RunCursor& run = *runs_[heap_[0]];
  size_t emitted = 0;
  // The common case of a compacted bucket: the reader's chunk becomes the output as it is.
  if (picked_.empty() && run.at_chunk_start() && CanTakeWhole(run.chunk(), *out, max_records)) {
    emitted = run.chunk().size();
    KL_RETURN_IF_ERROR(run.TakeChunk(out));
    return emitted;
  }
  while (emitted < max_records && run.valid()) {
    KvRef cur = run.current();
    size_t n = std::min(run.remaining_in_chunk(), max_records - emitted);
    size_t taken = 0;
    // A retraction is the merge function's to judge (dropped, kept, or an error): stop there.
    while (taken < n && !format::IsRetract(cur.batch->kinds[cur.row + taken])) {
      picked_.push_back(KvRef{cur.batch, cur.row + taken});
      out->seq.push_back(cur.batch->seq[cur.row + taken]);
      out->kinds.push_back(cur.batch->kinds[cur.row + taken]);
      ++taken;
    }
    emitted += taken;
    KL_RETURN_IF_ERROR(run.AdvanceInChunk(taken));
    if (taken < n) break;
  }
  return emitted;
}

Result<size_t> MergeReader::Next(size_t max_records, KvBatch* out) {
  size_t emitted = 0;
  MergeResult result;
  std::vector<size_t> touched;
  picked_.clear();
  while (emitted < max_records && !heap_.empty()) {
    if (heap_.size() == 1 && merge_->picks_input()) {
      touched.push_back(heap_[0]);
      KL_ASSIGN_OR_RETURN(size_t n, EmitLastRun(max_records - emitted, out));
      emitted += n;
      if (!runs_[heap_[0]]->valid()) heap_.clear();
      if (n > 0) continue;
    }
    merge_->Reset();
    size_t top = heap_[0];
    KvRef first = runs_[top]->current();
    KvRef key_ref = first;
    // The key's records, in sequence order, from every run that has them.
    while (!heap_.empty()) {
      size_t r = heap_[0];
      KvRef cur = runs_[r]->current();
      if (cur.batch != key_ref.batch || cur.row != key_ref.row) {
        if (cmp_.CompareKey(cur, key_ref) != 0) break;
      }
      KL_RETURN_IF_ERROR(merge_->Add(cur));
      touched.push_back(r);
      KL_RETURN_IF_ERROR(runs_[r]->Advance());
      if (runs_[r]->valid()) {
        SiftDown(0);
      } else {
        heap_[0] = heap_.back();
        heap_.pop_back();
        if (!heap_.empty()) SiftDown(0);
      }
    }
    KL_RETURN_IF_ERROR(merge_->GetResult(&result));
    if (result.present && !(drop_retracts_ && result.is_retract())) {
      if (result.by_ref) {
        // Copied later, column by column: the chunks it points into stay alive until then.
        picked_.push_back(result.ref);
        out->seq.push_back(result.seq);
        out->kinds.push_back(result.kind);
      } else {
        FlushPicked(out);
        out->AppendRow(result.row, result.seq, result.kind);
      }
      ++emitted;
    }
  }
  FlushPicked(out);
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (size_t r : touched) runs_[r]->ReleaseRetired();
  return emitted;
}

}  // namespace kl::table
