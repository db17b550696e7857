#include "table/data/decoded_files.h"

#include <algorithm>
#include <iterator>
#include <optional>

#include "common/clock.h"

namespace kl::table {

using format::Column;
using format::Datum;

std::pair<size_t, size_t> DecodedFile::Locate(size_t row) const {
  size_t c =
      static_cast<size_t>(std::upper_bound(chunk_start.begin(), chunk_start.end(), row) - chunk_start.begin()) - 1;
  return {c, row - chunk_start[c]};
}

namespace {

// Which of the two kinds a searchable key column holds (the order the file is sorted
// in: signed integers, unsigned bytes); others are not searched.
bool Searchable(const Column& column, const Datum& literal) {
  if (literal.is_null()) return false;
  if (column.kind() == format::PhysicalKind::kInt) return literal.kind() == Datum::Kind::kInt;
  if (column.kind() == format::PhysicalKind::kBytes) return literal.kind() == Datum::Kind::kBytes;
  return false;
}

int CompareCell(const Column& column, size_t row, const Datum& literal) {
  if (column.kind() == format::PhysicalKind::kInt) {
    int64_t x = column.GetInt(row), y = literal.as_int();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  int c = column.GetBytes(row).compare(literal.as_bytes());
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

// The first row of [begin, end) whose value is not below `v` (upper: above `v`). It
// gallops from `begin` (1, 2, 4, ... rows ahead) before bisecting: the rows sought
// usually lie close to `begin` (the next value of a sorted list, the end of a short run
// of equal values).
size_t Bound(const DecodedFile& file, int column, size_t begin, size_t end, const Datum& v, bool upper) {
  auto before = [&](size_t row) {  // does `row` lie before the bound?
    auto [c, i] = file.Locate(row);
    int cmp = CompareCell(file.chunks[c].column(static_cast<size_t>(column)), i, v);
    return upper ? cmp <= 0 : cmp < 0;
  };
  size_t step = 1;
  while (begin < end) {
    size_t probe = begin + step - 1;
    if (probe >= end || !before(probe)) {
      end = std::min(end, probe);
      break;
    }
    begin = probe + 1;
    step *= 2;
  }
  while (begin < end) {
    size_t mid = begin + (end - begin) / 2;
    if (before(mid)) {
      begin = mid + 1;
    } else {
      end = mid;
    }
  }
  return begin;
}

}  // namespace

std::vector<std::pair<size_t, size_t>> KeyRowRanges(const DecodedFile& file, const std::vector<int>& key_columns,
                                                    const std::vector<PredicateLeaf>& leaves,
                                                    const std::vector<int>& leaf_columns) {
  std::vector<std::pair<size_t, size_t>> ranges;
  if (file.rows == 0) return ranges;
  ranges.push_back({0, file.rows});
  for (int column : key_columns) {
    std::vector<const PredicateLeaf*> on;
    for (size_t l = 0; l < leaves.size(); ++l) {
      if (leaf_columns[l] != column) continue;
      const Column& sample = file.chunks[0].column(static_cast<size_t>(column));
      bool searchable = leaves[l].op == CompareOp::kIn ? true : Searchable(sample, leaves[l].literal);
      for (const auto& v : leaves[l].literals) searchable = searchable && Searchable(sample, v);
      if (searchable) on.push_back(&leaves[l]);
    }
    // The values equality and IN allow on this column (sorted), when any of them is there.
    std::optional<std::vector<Datum>> points;
    auto less = [](const Datum& a, const Datum& b) { return format::CompareDatum(a, b) < 0; };
    for (const PredicateLeaf* l : on) {
      if (l->op != CompareOp::kEq && l->op != CompareOp::kIn) continue;
      std::vector<Datum> allowed = l->op == CompareOp::kEq ? std::vector<Datum>{l->literal} : l->literals;
      if (!points) {
        points = std::move(allowed);
      } else {
        std::vector<Datum> both;
        std::set_intersection(points->begin(), points->end(), allowed.begin(), allowed.end(), std::back_inserter(both),
                              less);
        points = std::move(both);
      }
    }
    if (points) {
      // Within each range the key columns before this one are constant, so this one is sorted.
      std::vector<std::pair<size_t, size_t>> next;
      for (auto [b, e] : ranges) {
        for (const Datum& v : *points) {
          size_t lo = Bound(file, column, b, e, v, false);
          size_t hi = Bound(file, column, lo, e, v, true);
          if (lo < hi) next.push_back({lo, hi});
          b = hi;  // the values are sorted: the next one's rows come after
        }
      }
      ranges = std::move(next);
      if (ranges.empty()) return ranges;
      continue;
    }
    // A range on this column narrows each range; the columns after it are not sorted there.
    for (auto& [b, e] : ranges) {
      for (const PredicateLeaf* l : on) {
        switch (l->op) {
          case CompareOp::kGe: b = std::max(b, Bound(file, column, b, e, l->literal, false)); break;
          case CompareOp::kGt: b = std::max(b, Bound(file, column, b, e, l->literal, true)); break;
          case CompareOp::kLt: e = std::min(e, Bound(file, column, b, e, l->literal, false)); break;
          case CompareOp::kLe: e = std::min(e, Bound(file, column, b, e, l->literal, true)); break;
          default: break;
        }
        if (e < b) e = b;
      }
    }
    ranges.erase(std::remove_if(ranges.begin(), ranges.end(), [](const auto& r) { return r.first >= r.second; }),
                 ranges.end());
    break;
  }
  return ranges;
}

std::vector<std::pair<size_t, size_t>> KeyRowsRanges(const DecodedFile& file, const std::vector<int>& key_columns,
                                                     const std::vector<int>& row_columns,
                                                     const std::vector<format::Row>& rows, size_t* prefix) {
  *prefix = 0;
  std::vector<std::pair<size_t, size_t>> all;
  if (file.rows == 0) return all;
  all.push_back({0, file.rows});
  // The key prefix the rows cover: per key column, which value of a row is for it.
  std::vector<size_t> value_of;
  for (int column : key_columns) {
    auto it = std::find(row_columns.begin(), row_columns.end(), column);
    if (it == row_columns.end()) break;
    size_t j = static_cast<size_t>(it - row_columns.begin());
    const Column& sample = file.chunks[0].column(static_cast<size_t>(column));
    bool searchable = true;
    for (const auto& r : rows) searchable = searchable && j < r.size() && Searchable(sample, r[j]);
    if (!searchable) break;
    value_of.push_back(j);
  }
  if (value_of.empty()) return all;
  *prefix = value_of.size();
  // The rows' prefixes in key order, each once; consecutive ones search from where the
  // previous one's range began. The rows are ordered in place (no copies of their values),
  // and not at all when they come sorted, as the keys a join hands down do.
  auto compare = [&](const format::Row* a, const format::Row* b) {
    for (size_t j : value_of) {
      int c = format::CompareDatum((*a)[j], (*b)[j]);
      if (c != 0) return c;
    }
    return 0;
  };
  std::vector<const format::Row*> keys;
  keys.reserve(rows.size());
  for (const auto& r : rows) keys.push_back(&r);
  auto less = [&](const format::Row* a, const format::Row* b) { return compare(a, b) < 0; };
  if (std::adjacent_find(keys.begin(), keys.end(),
                         [&](const format::Row* a, const format::Row* b) { return !less(a, b); }) != keys.end()) {
    std::sort(keys.begin(), keys.end(), less);
    keys.erase(std::unique(keys.begin(), keys.end(),
                           [&](const format::Row* a, const format::Row* b) { return compare(a, b) == 0; }),
               keys.end());
  }
  std::vector<std::pair<size_t, size_t>> ranges;
  // Consecutive keys share leading values (a cluster's nodes): the rows of the columns
  // they share are the previous key's, and on the first column they differ the key's
  // rows come after the previous key's there. lo/hi[c]: the previous key's rows on
  // columns 0..c, for the first `computed` columns (the last of them may be empty).
  const size_t depth = value_of.size();
  std::vector<size_t> lo(depth), hi(depth);
  size_t computed = 0;
  const format::Row* prev = nullptr;
  for (const format::Row* key : keys) {
    size_t d = 0;
    if (prev != nullptr) {
      while (d < depth && format::CompareDatum((*key)[value_of[d]], (*prev)[value_of[d]]) == 0) ++d;
    }
    bool after_prev = prev != nullptr;
    prev = key;
    if (after_prev && d >= computed) continue;  // equal to the previous key where it found no rows
    bool found = true;
    size_t c = d;
    for (; c < depth; ++c) {
      size_t b = c == 0 ? 0 : lo[c - 1], e = c == 0 ? file.rows : hi[c - 1];
      if (c == d && after_prev) b = std::max(b, hi[d]);
      const Datum& v = (*key)[value_of[c]];
      lo[c] = b < e ? Bound(file, key_columns[c], b, e, v, false) : b;
      hi[c] = lo[c] < e ? Bound(file, key_columns[c], lo[c], e, v, true) : lo[c];
      if (lo[c] >= hi[c]) {
        found = false;
        ++c;
        break;
      }
    }
    computed = c;
    if (!found) continue;
    size_t b = lo[depth - 1], e = hi[depth - 1];
    if (!ranges.empty() && ranges.back().second >= b) {
      ranges.back().second = std::max(ranges.back().second, e);
    } else {
      ranges.push_back({b, e});
    }
  }
  return ranges;
}

std::vector<std::pair<size_t, size_t>> IntersectRanges(const std::vector<std::pair<size_t, size_t>>& a,
                                                       const std::vector<std::pair<size_t, size_t>>& b) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    size_t lo = std::max(a[i].first, b[j].first), hi = std::min(a[i].second, b[j].second);
    if (lo < hi) out.push_back({lo, hi});
    if (a[i].second < b[j].second) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

DecodedFiles& DecodedFiles::Global() {
  static DecodedFiles* files = new DecodedFiles(Limits{});
  return *files;
}

std::shared_ptr<const DecodedFile> DecodedFiles::Find(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (by_path_.count(path) == 0) {
      ++misses_;
      return nullptr;
    }
  }
  FileStamp stamp = StampFile(path);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) {
    ++misses_;
    return nullptr;
  }
  if (!(it->second->stamp == stamp)) {
    bytes_ -= it->second->file->bytes;
    lru_.erase(it->second);
    by_path_.erase(it);
    ++misses_;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  ++hits_;
  return it->second->file;
}

bool DecodedFiles::ShouldDecode(const std::string& path, uint64_t estimated_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (limits_.max_bytes == 0 || estimated_bytes > limits_.max_bytes / 4) return false;
  int64_t now = MonotonicMicros() / 1000;
  // One read decodes a file; the others read it as usual meanwhile (many connections
  // asking at once would otherwise each decode the same file).
  if (auto d = decoding_.find(path); d != decoding_.end()) {
    if (now - d->second <= kDecodeAbandonedMs) return false;
    decoding_.erase(d);
  }
  auto it = seen_.find(path);
  if (it != seen_.end() && now - it->second <= limits_.reuse_window_ms) {
    seen_.erase(it);
    decoding_[path] = now;
    return true;
  }
  // Remember the first read; forget old ones so the memo stays small.
  if (seen_.size() >= 4096) {
    for (auto s = seen_.begin(); s != seen_.end();) {
      s = now - s->second > limits_.reuse_window_ms ? seen_.erase(s) : std::next(s);
    }
    if (seen_.size() >= 4096) seen_.clear();
  }
  seen_[path] = now;
  return false;
}

void DecodedFiles::Abandon(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  decoding_.erase(path);
}

void DecodedFiles::Put(const std::string& path, std::shared_ptr<const DecodedFile> file) {
  FileStamp stamp = StampFile(path);
  std::lock_guard<std::mutex> lock(mu_);
  decoding_.erase(path);
  if (stamp.size < 0) return;
  if (file->bytes > limits_.max_bytes / 4) return;
  auto it = by_path_.find(path);
  if (it != by_path_.end()) {
    bytes_ -= it->second->file->bytes;
    lru_.erase(it->second);
    by_path_.erase(it);
  }
  lru_.push_front(Entry{path, stamp, std::move(file)});
  by_path_[path] = lru_.begin();
  bytes_ += lru_.front().file->bytes;
  ++decoded_;
  Trim();
}

void DecodedFiles::Trim() {
  while (bytes_ > limits_.max_bytes && !lru_.empty()) {
    bytes_ -= lru_.back().file->bytes;
    by_path_.erase(lru_.back().path);
    lru_.pop_back();
  }
}

void DecodedFiles::SetLimits(Limits limits) {
  std::lock_guard<std::mutex> lock(mu_);
  limits_ = limits;
  Trim();
}

DecodedFiles::Limits DecodedFiles::limits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return limits_;
}

void DecodedFiles::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  lru_.clear();
  by_path_.clear();
  seen_.clear();
  decoding_.clear();
  bytes_ = 0;
}

DecodedFiles::Stats DecodedFiles::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{hits_, misses_, decoded_, lru_.size(), bytes_};
}

}  // namespace kl::table
