#include "table/data/decoded_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <iterator>
#include <optional>

#include "common/clock.h"

namespace kl::table {

using format::Column;
using format::Datum;

std::pair<size_t, size_t> DecodedFile::Locate(size_t row) const {
  size_t c = static_cast<size_t>(std::upper_bound(chunk_start.begin(), chunk_start.end(), row) - chunk_start.begin()) - 1;
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
        std::set_intersection(points->begin(), points->end(), allowed.begin(), allowed.end(),
                              std::back_inserter(both), less);
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

DecodedFiles& DecodedFiles::Global() {
  static DecodedFiles* files = new DecodedFiles(Limits{});
  return *files;
}

DecodedFiles::Stamp DecodedFiles::StampOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + static_cast<int64_t>(st.st_mtim.tv_nsec)};
}

std::shared_ptr<const DecodedFile> DecodedFiles::Find(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (by_path_.count(path) == 0) {
      ++misses_;
      return nullptr;
    }
  }
  Stamp stamp = StampOf(path);
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
  auto it = seen_.find(path);
  if (it != seen_.end() && now - it->second <= limits_.reuse_window_ms) {
    seen_.erase(it);
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

void DecodedFiles::Put(const std::string& path, std::shared_ptr<const DecodedFile> file) {
  Stamp stamp = StampOf(path);
  if (stamp.size < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
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
  bytes_ = 0;
}

DecodedFiles::Stats DecodedFiles::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{hits_, misses_, decoded_, lru_.size(), bytes_};
}

}  // namespace kl::table
