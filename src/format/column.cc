#include "format/column.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/coding.h"

namespace kl::format {
namespace {

// Average value size from which AppendBytesBatch appends value by value: short values are
// copied faster into room made for all of them at once.
constexpr size_t kLongValueBytes = 256;

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace

Column::Column(DataType type) : type_(std::move(type)), kind_(type_.physical()) {
  if (kind_ == PhysicalKind::kBytes) offsets_.push_back(0);
}

void Column::Reserve(size_t n) {
  switch (kind_) {
    case PhysicalKind::kInt: ints_.reserve(n); break;
    case PhysicalKind::kDouble: doubles_.reserve(n); break;
    case PhysicalKind::kBytes:
      if (dict_)
        codes_.reserve(n);
      else
        offsets_.reserve(n + 1);
      break;
    case PhysicalKind::kDecimal: decimals_.reserve(n); break;
    case PhysicalKind::kTimestamp:
      ints_.reserve(n);
      nanos_.reserve(n);
      break;
    case PhysicalKind::kNested: nested_.reserve(n); break;
  }
}

void Column::ReserveBytes(size_t n) {
  if (kind_ == PhysicalKind::kBytes && !dict_) bytes_.reserve(n);
}

void Column::Clear() {
  size_ = 0;
  nulls_.clear();
  ints_.clear();
  nanos_.clear();
  doubles_.clear();
  offsets_.clear();
  bytes_.clear();
  decimals_.clear();
  nested_.clear();
  dict_.reset();
  codes_.clear();
  if (kind_ == PhysicalKind::kBytes) offsets_.push_back(0);
}

void Column::SwapValues(Column& other) {
  std::swap(size_, other.size_);
  nulls_.swap(other.nulls_);
  ints_.swap(other.ints_);
  nanos_.swap(other.nanos_);
  doubles_.swap(other.doubles_);
  offsets_.swap(other.offsets_);
  bytes_.swap(other.bytes_);
  decimals_.swap(other.decimals_);
  nested_.swap(other.nested_);
  dict_.swap(other.dict_);
  codes_.swap(other.codes_);
}

std::shared_ptr<const Column> Column::MakeDictionary(const DataType& type, const std::string_view* values, size_t n) {
  auto dict = std::make_shared<Column>(type);
  dict->AppendBytesBatch(values, n);
  dict->AppendBytes("");  // the code of null rows
  return dict;
}

void Column::AdoptDictionary(const std::shared_ptr<const Column>& dict) {
  dict_ = dict;
  codes_.assign(size_, null_code());
  offsets_.assign(1, 0);
}

void Column::AppendCodes(const std::shared_ptr<const Column>& dict, const uint32_t* codes, size_t n) {
  if (dict_ != dict && !CanAdoptDictionary()) {
    Flatten();
    size_t total = 0;
    for (size_t i = 0; i < n; ++i) total += dict->offsets_[codes[i] + 1] - dict->offsets_[codes[i]];
    bytes_.reserve(bytes_.size() + total);
    offsets_.reserve(offsets_.size() + n);
    for (size_t i = 0; i < n; ++i) {
      bytes_.append(dict->PlainBytes(codes[i]));
      offsets_.push_back(bytes_.size());
    }
  } else {
    if (!dict_) AdoptDictionary(dict);
    codes_.insert(codes_.end(), codes, codes + n);
  }
  if (!nulls_.empty()) nulls_.resize(nulls_.size() + n, 0);
  size_ += n;
}

void Column::Flatten() {
  if (!dict_) return;
  std::shared_ptr<const Column> dict = std::move(dict_);
  dict_.reset();
  const uint32_t* codes = codes_.data();
  size_t total = 0;
  for (size_t i = 0; i < codes_.size(); ++i) total += dict->offsets_[codes[i] + 1] - dict->offsets_[codes[i]];
  offsets_.assign(1, 0);
  offsets_.reserve(codes_.size() + 1);
  bytes_.clear();
  bytes_.resize(total);
  size_t pos = 0;
  for (size_t i = 0; i < codes_.size(); ++i) {
    std::string_view v = dict->PlainBytes(codes[i]);
    CopyShortValue(bytes_.data() + pos, v.data(), v.size());
    pos += v.size();
    offsets_.push_back(pos);
  }
  codes_.clear();
  codes_.shrink_to_fit();
}

bool Column::has_nulls() const { return null_count() > 0; }

size_t Column::null_count() const {
  size_t n = 0;
  for (uint8_t b : nulls_) n += b;
  return n;
}

void Column::MarkValid() {
  if (!nulls_.empty()) nulls_.push_back(0);
  ++size_;
}

void Column::AppendNull() {
  if (nulls_.empty()) nulls_.assign(size_, 0);
  nulls_.push_back(1);
  ++size_;
  switch (kind_) {
    case PhysicalKind::kInt: ints_.push_back(0); break;
    case PhysicalKind::kDouble: doubles_.push_back(0); break;
    case PhysicalKind::kBytes:
      if (dict_)
        codes_.push_back(null_code());
      else
        offsets_.push_back(bytes_.size());
      break;
    case PhysicalKind::kDecimal: decimals_.push_back(0); break;
    case PhysicalKind::kTimestamp:
      ints_.push_back(0);
      nanos_.push_back(0);
      break;
    case PhysicalKind::kNested: nested_.emplace_back(); break;
  }
}

void Column::AppendInt(int64_t v) {
  ints_.push_back(v);
  MarkValid();
}

void Column::AppendDouble(double v) {
  doubles_.push_back(v);
  MarkValid();
}

void Column::AppendBytes(std::string_view v) {
  if (dict_) [[unlikely]]
    Flatten();
  bytes_.append(v);
  offsets_.push_back(bytes_.size());
  MarkValid();
}

void Column::AppendInts(const int64_t* values, size_t n) { AppendInts(values, nullptr, n); }

void Column::AppendDoubles(const double* values, size_t n) { AppendDoubles(values, nullptr, n); }

void Column::AppendBytesBatch(const std::string_view* values, size_t n) { AppendBytesBatch(values, nullptr, n); }

void Column::AddRowsWithNulls(const uint8_t* nulls, size_t n) {
  bool tracked = !nulls_.empty();
  if (!tracked && nulls != nullptr) {
    for (size_t i = 0; i < n && !tracked; ++i) tracked = nulls[i] != 0;
    if (tracked) nulls_.assign(size_, 0);
  }
  if (tracked) {
    if (nulls != nullptr)
      nulls_.insert(nulls_.end(), nulls, nulls + n);
    else
      nulls_.resize(nulls_.size() + n, 0);
  }
  size_ += n;
}

void Column::AppendInts(const int64_t* values, const uint8_t* nulls, size_t n) {
  ints_.insert(ints_.end(), values, values + n);
  AddRowsWithNulls(nulls, n);
}

void Column::AppendDoubles(const double* values, const uint8_t* nulls, size_t n) {
  doubles_.insert(doubles_.end(), values, values + n);
  AddRowsWithNulls(nulls, n);
}

void Column::AppendBytesBatch(const std::string_view* values, const uint8_t* nulls, size_t n) {
  if (dict_) [[unlikely]]
    Flatten();
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += values[i].size();
  size_t pos = bytes_.size();
  // push_back below avoids zero-filling the offsets; grow geometrically, as push_back would.
  if (offsets_.capacity() < offsets_.size() + n)
    offsets_.reserve(std::max(offsets_.size() + n, 2 * offsets_.capacity()));
  if (total >= n * kLongValueBytes) {
    // Long values (documents of kilobytes, as a log's records): appended into reserved room
    // rather than copied over room zero-filled first, which cost half as much again.
    if (bytes_.capacity() < pos + total) bytes_.reserve(std::max(pos + total, 2 * bytes_.capacity()));
    for (size_t i = 0; i < n; ++i) {
      bytes_.append(values[i].data(), values[i].size());
      offsets_.push_back(bytes_.size());
    }
    AddRowsWithNulls(nulls, n);
    return;
  }
  bytes_.resize(pos + total);
  char* dst = bytes_.data();
  for (size_t i = 0; i < n; ++i) {
    // A null row's value is an empty view: no bytes, as AppendNull.
    CopyShortValue(dst + pos, values[i].data(), values[i].size());
    pos += values[i].size();
    offsets_.push_back(pos);
  }
  AddRowsWithNulls(nulls, n);
}

void Column::AppendDecimal(Int128 v) {
  decimals_.push_back(v);
  MarkValid();
}

void Column::AppendTimestamp(Timestamp v) {
  ints_.push_back(v.millis);
  nanos_.push_back(v.nanos);
  MarkValid();
}

void Column::AppendNested(Datum v) {
  if (v.is_null()) {
    AppendNull();
    return;
  }
  nested_.push_back(std::move(v));
  MarkValid();
}

void Column::Append(const Datum& d) {
  if (d.is_null()) {
    AppendNull();
    return;
  }
  switch (kind_) {
    case PhysicalKind::kInt: AppendInt(d.as_int()); break;
    case PhysicalKind::kDouble:
      AppendDouble(d.kind() == Datum::Kind::kDouble ? d.as_double() : static_cast<double>(d.as_int()));
      break;
    case PhysicalKind::kBytes: AppendBytes(d.as_bytes()); break;
    case PhysicalKind::kDecimal: AppendDecimal(d.as_decimal()); break;
    case PhysicalKind::kTimestamp: AppendTimestamp(d.as_timestamp()); break;
    case PhysicalKind::kNested: AppendNested(d); break;
  }
}

Datum Column::Get(size_t i) const {
  if (IsNull(i)) return Datum();
  switch (kind_) {
    case PhysicalKind::kInt:
      return type_.root() == TypeRoot::kBoolean ? Datum::Bool(ints_[i] != 0) : Datum::Int(ints_[i]);
    case PhysicalKind::kDouble: return Datum::Double(doubles_[i]);
    case PhysicalKind::kBytes: return Datum::Bytes(std::string(GetBytes(i)));
    case PhysicalKind::kDecimal: return Datum::Decimal(decimals_[i]);
    case PhysicalKind::kTimestamp: return Datum::Time(GetTimestamp(i));
    case PhysicalKind::kNested: return nested_[i];
  }
  return Datum();
}

void Column::AppendFromEach(const Column* const* sources, const size_t* rows, size_t n) {
  bool any_null = false;
  for (size_t k = 0; k < n && !any_null; ++k) any_null = sources[k]->IsNull(rows[k]);
  if (any_null || (kind_ != PhysicalKind::kInt && kind_ != PhysicalKind::kBytes)) {
    for (size_t k = 0; k < n; ++k) AppendFrom(*sources[k], rows[k]);
    return;
  }
  if (kind_ == PhysicalKind::kInt) {
    size_t base = ints_.size();
    ints_.resize(base + n);
    for (size_t k = 0; k < n; ++k) ints_[base + k] = sources[k]->ints_[rows[k]];
  } else {
    if (dict_) Flatten();
    size_t total = 0;
    for (size_t k = 0; k < n; ++k) total += sources[k]->GetBytes(rows[k]).size();
    size_t pos = bytes_.size();
    bytes_.resize(pos + total);
    size_t base = offsets_.size();
    offsets_.resize(base + n);
    char* dst = bytes_.data();
    for (size_t k = 0; k < n; ++k) {
      std::string_view v = sources[k]->GetBytes(rows[k]);
      CopyShortValue(dst + pos, v.data(), v.size());
      pos += v.size();
      offsets_[base + k] = pos;
    }
  }
  if (!nulls_.empty()) nulls_.resize(nulls_.size() + n, 0);
  size_ += n;
}

void Column::AppendFrom(const Column& src, size_t i) {
  if (src.IsNull(i)) {
    AppendNull();
    return;
  }
  switch (kind_) {
    case PhysicalKind::kInt: AppendInt(src.ints_[i]); break;
    case PhysicalKind::kDouble: AppendDouble(src.doubles_[i]); break;
    case PhysicalKind::kBytes:
      if (dict_ && dict_ == src.dict_) {
        codes_.push_back(src.codes_[i]);
        MarkValid();
      } else {
        AppendBytes(src.GetBytes(i));
      }
      break;
    case PhysicalKind::kDecimal: AppendDecimal(src.decimals_[i]); break;
    case PhysicalKind::kTimestamp: AppendTimestamp(src.GetTimestamp(i)); break;
    case PhysicalKind::kNested: AppendNested(src.nested_[i]); break;
  }
}

void Column::AppendRange(const Column& src, size_t begin, size_t end) {
  if (begin >= end) return;
  size_t n = end - begin;
  if (!src.nulls_.empty() || !nulls_.empty()) {
    if (nulls_.empty()) nulls_.assign(size_, 0);
    if (src.nulls_.empty())
      nulls_.insert(nulls_.end(), n, 0);
    else
      nulls_.insert(nulls_.end(), src.nulls_.begin() + begin, src.nulls_.begin() + end);
  }
  switch (kind_) {
    case PhysicalKind::kInt: ints_.insert(ints_.end(), src.ints_.begin() + begin, src.ints_.begin() + end); break;
    case PhysicalKind::kDouble:
      doubles_.insert(doubles_.end(), src.doubles_.begin() + begin, src.doubles_.begin() + end);
      break;
    case PhysicalKind::kBytes: {
      if (CanShareDictionary(src)) {
        if (!dict_) AdoptDictionary(src.dict_);
        codes_.insert(codes_.end(), src.codes_.begin() + begin, src.codes_.begin() + end);
        break;
      }
      if (dict_) Flatten();
      if (src.dict_) {
        const Column& dict = *src.dict_;
        const uint32_t* codes = src.codes_.data();
        size_t total = 0;
        for (size_t k = begin; k < end; ++k) total += dict.offsets_[codes[k] + 1] - dict.offsets_[codes[k]];
        size_t pos = bytes_.size();
        bytes_.resize(pos + total);
        offsets_.reserve(offsets_.size() + n);
        for (size_t k = begin; k < end; ++k) {
          std::string_view v = dict.PlainBytes(codes[k]);
          CopyShortValue(bytes_.data() + pos, v.data(), v.size());
          pos += v.size();
          offsets_.push_back(pos);
        }
        break;
      }
      uint64_t from = src.offsets_[begin], to = src.offsets_[end];
      uint64_t base = bytes_.size();
      bytes_.append(src.bytes_.data() + from, to - from);
      size_t at = offsets_.size();
      offsets_.resize(at + n);
      uint64_t* out = offsets_.data() + at;
      const uint64_t* in = src.offsets_.data() + begin + 1;
      const uint64_t shift = base - from;  // unsigned wrap-around is intended
      for (size_t k = 0; k < n; ++k) out[k] = in[k] + shift;
      break;
    }
    case PhysicalKind::kDecimal:
      decimals_.insert(decimals_.end(), src.decimals_.begin() + begin, src.decimals_.begin() + end);
      break;
    case PhysicalKind::kTimestamp:
      ints_.insert(ints_.end(), src.ints_.begin() + begin, src.ints_.begin() + end);
      nanos_.insert(nanos_.end(), src.nanos_.begin() + begin, src.nanos_.begin() + end);
      break;
    case PhysicalKind::kNested:
      nested_.insert(nested_.end(), src.nested_.begin() + begin, src.nested_.begin() + end);
      break;
  }
  size_ += n;
}

void Column::AppendGather(const Column& src, const size_t* rows, size_t n) {
  if (!src.nulls_.empty() || !nulls_.empty()) {
    if (nulls_.empty()) nulls_.assign(size_, 0);
    nulls_.reserve(size_ + n);
    for (size_t k = 0; k < n; ++k) nulls_.push_back(src.nulls_.empty() ? 0 : src.nulls_[rows[k]]);
  }
  switch (kind_) {
    case PhysicalKind::kInt: {
      size_t at = ints_.size();
      ints_.resize(at + n);
      int64_t* out = ints_.data() + at;
      const int64_t* in = src.ints_.data();
      for (size_t k = 0; k < n; ++k) {
        if (k + 16 < n) __builtin_prefetch(in + rows[k + 16]);
        out[k] = in[rows[k]];
      }
      break;
    }
    case PhysicalKind::kDouble:
      doubles_.reserve(doubles_.size() + n);
      for (size_t k = 0; k < n; ++k) doubles_.push_back(src.doubles_[rows[k]]);
      break;
    case PhysicalKind::kBytes: {
      // Codes of a small dictionary are kept (4 bytes a row); a large dictionary is not
      // held on for a few rows.
      if (CanShareDictionary(src) && (dict_ || src.dict_->size() <= 8 * n + 1024)) {
        if (!dict_) AdoptDictionary(src.dict_);
        size_t at = codes_.size();
        codes_.resize(at + n);
        const uint32_t* in = src.codes_.data();
        for (size_t k = 0; k < n; ++k) codes_[at + k] = in[rows[k]];
        break;
      }
      if (dict_) Flatten();
      if (src.dict_) {
        for (size_t k = 0; k < n; ++k) {
          std::string_view v = src.GetBytes(rows[k]);
          bytes_.append(v);
          offsets_.push_back(bytes_.size());
        }
        break;
      }
      // Rows come in any order (a sort's permutation): each value is a likely cache miss
      // in both offsets_ and bytes_ of the source, so both are prefetched a few rows ahead,
      // and values are copied inline into a buffer sized from the source's average length.
      constexpr size_t kAhead = 16;
      const uint64_t* src_off = src.offsets_.data();
      const char* src_bytes = src.bytes_.data();
      for (size_t k = 0; k < std::min(n, kAhead); ++k) __builtin_prefetch(src_off + rows[k]);
      size_t pos = bytes_.size();
      size_t average = src.size_ > 0 ? src.bytes_.size() / src.size_ + 1 : 8;
      bytes_.resize(pos + n * average);
      size_t at = offsets_.size();
      offsets_.resize(at + n);
      uint64_t* out = offsets_.data() + at;
      for (size_t k = 0; k < n; ++k) {
        if (k + kAhead < n) __builtin_prefetch(src_off + rows[k + kAhead]);
        if (k + kAhead / 2 < n) __builtin_prefetch(src_bytes + src_off[rows[k + kAhead / 2]]);
        uint64_t from = src_off[rows[k]], len = src_off[rows[k] + 1] - from;
        if (pos + len > bytes_.size()) bytes_.resize(std::max(2 * bytes_.size(), pos + len));
        CopyShortValue(bytes_.data() + pos, src_bytes + from, len);
        pos += len;
        out[k] = pos;
      }
      bytes_.resize(pos);
      break;
    }
    case PhysicalKind::kDecimal:
      for (size_t k = 0; k < n; ++k) decimals_.push_back(src.decimals_[rows[k]]);
      break;
    case PhysicalKind::kTimestamp:
      for (size_t k = 0; k < n; ++k) {
        ints_.push_back(src.ints_[rows[k]]);
        nanos_.push_back(src.nanos_[rows[k]]);
      }
      break;
    case PhysicalKind::kNested:
      for (size_t k = 0; k < n; ++k) nested_.push_back(src.nested_[rows[k]]);
      break;
  }
  size_ += n;
}

int Column::CompareAt(size_t i, const Column& other, size_t j) const {
  bool a_null = IsNull(i), b_null = other.IsNull(j);
  if (a_null || b_null) return Cmp(!a_null, !b_null);
  switch (kind_) {
    case PhysicalKind::kInt: return Cmp(ints_[i], other.ints_[j]);
    case PhysicalKind::kDouble: {
      double x = doubles_[i], y = other.doubles_[j];
      if (std::isnan(x) || std::isnan(y)) return Cmp(std::isnan(x), std::isnan(y));
      return Cmp(x, y);
    }
    case PhysicalKind::kBytes: {
      if (dict_ && dict_ == other.dict_ && codes_[i] == other.codes_[j]) return 0;
      int c = GetBytes(i).compare(other.GetBytes(j));
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case PhysicalKind::kDecimal: return Cmp(decimals_[i], other.decimals_[j]);
    case PhysicalKind::kTimestamp: return Cmp(GetTimestamp(i), other.GetTimestamp(j));
    case PhysicalKind::kNested: return CompareDatum(nested_[i], other.nested_[j]);
  }
  return 0;
}

size_t Column::MemoryBytes() const {
  return nulls_.capacity() + ints_.capacity() * 8 + nanos_.capacity() * 4 + doubles_.capacity() * 8 +
         offsets_.capacity() * 8 + bytes_.capacity() + decimals_.capacity() * 16 + nested_.capacity() * sizeof(Datum) +
         codes_.capacity() * 4 + (dict_ ? dict_->MemoryBytes() : 0);
}

size_t Column::UsedBytes() const {
  return nulls_.size() + ints_.size() * 8 + nanos_.size() * 4 + doubles_.size() * 8 + offsets_.size() * 8 +
         bytes_.size() + decimals_.size() * 16 + nested_.size() * sizeof(Datum) + codes_.size() * 4 +
         (dict_ ? dict_->UsedBytes() : 0);
}

ColumnBatch::ColumnBatch(RowType schema) : schema_(std::move(schema)) {
  columns_.reserve(schema_.size());
  for (const auto& f : schema_.fields()) columns_.emplace_back(f.type);
}

void ColumnBatch::Reserve(size_t n) {
  for (auto& c : columns_) c.Reserve(n);
}

void ColumnBatch::Clear() {
  for (auto& c : columns_) c.Clear();
  num_rows_ = 0;
}

Row ColumnBatch::GetRow(size_t i) const {
  Row row;
  row.reserve(columns_.size());
  for (const auto& c : columns_) row.push_back(c.Get(i));
  return row;
}

void ColumnBatch::AppendRow(const Row& row) {
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (c < row.size())
      columns_[c].Append(row[c]);
    else
      columns_[c].AppendNull();
  }
  ++num_rows_;
}

void ColumnBatch::AppendRowFrom(const ColumnBatch& src, size_t i) {
  for (size_t c = 0; c < columns_.size(); ++c) columns_[c].AppendFrom(src.columns_[c], i);
  ++num_rows_;
}

size_t ColumnBatch::MemoryBytes() const {
  size_t n = 0;
  for (const auto& c : columns_) n += c.MemoryBytes();
  return n;
}

size_t ColumnBatch::UsedBytes() const {
  size_t n = 0;
  for (const auto& c : columns_) n += c.UsedBytes();
  return n;
}

}  // namespace kl::format
