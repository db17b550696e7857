#include "table/mergetree/write_buffer.h"

#include <algorithm>

#include "common/coding.h"

namespace kl::table {

using format::ColumnBatch;
using format::PhysicalKind;
using format::RowKind;

namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

struct SortEntry {
  uint64_t prefix;
  size_t row;
};

}  // namespace

WriteBuffer::WriteBuffer(const format::RowType& type, std::vector<int> key_columns, KeyComparator comparator)
    : key_columns_(std::move(key_columns)),
      cmp_(std::move(comparator)),
      keys_(type.Project(key_columns_), /*merged_records=*/false),
      rows_(type) {
  const auto& keys = cmp_.key_indexes();
  if (!keys.empty()) {
    PhysicalKind kind = keys_.values.schema().type(static_cast<size_t>(keys[0])).physical();
    if (kind == PhysicalKind::kInt || kind == PhysicalKind::kBytes || kind == PhysicalKind::kTimestamp) {
      prefix_column_ = keys[0];
      prefix_is_key_ = keys.size() == 1 && kind == PhysicalKind::kInt;
    }
  }
}

void WriteBuffer::Append(const ColumnBatch& rows, size_t row, int64_t seq, RowKind kind) {
  auto& cols = keys_.values.mutable_columns();
  for (size_t i = 0; i < key_columns_.size(); ++i) {
    cols[i].AppendFrom(rows.column(static_cast<size_t>(key_columns_[i])), row);
  }
  keys_.values.SetNumRows(keys_.values.num_rows() + 1);
  keys_.seq.push_back(seq);
  keys_.kinds.push_back(kind);
  rows_.Append(rows, row);
}

void WriteBuffer::AppendRange(const ColumnBatch& rows, size_t begin, size_t end, int64_t first_seq,
                              const std::vector<RowKind>* kinds) {
  if (begin >= end) return;
  auto& cols = keys_.values.mutable_columns();
  for (size_t i = 0; i < key_columns_.size(); ++i) {
    cols[i].AppendRange(rows.column(static_cast<size_t>(key_columns_[i])), begin, end);
  }
  keys_.values.SetNumRows(keys_.values.num_rows() + (end - begin));
  for (size_t i = begin; i < end; ++i) keys_.seq.push_back(first_seq + static_cast<int64_t>(i - begin));
  if (kinds != nullptr)
    keys_.kinds.insert(keys_.kinds.end(), kinds->begin() + begin, kinds->begin() + end);
  else
    keys_.kinds.insert(keys_.kinds.end(), end - begin, RowKind::kInsert);
  rows_.AppendRange(rows, begin, end);
}

uint64_t WriteBuffer::Prefix(size_t row) const {
  const format::Column& col = keys_.values.column(static_cast<size_t>(prefix_column_));
  // Nulls sort first; only sequence fields may be null, keys never are.
  if (col.IsNull(row)) return 0;
  switch (col.kind()) {
    case PhysicalKind::kInt: return static_cast<uint64_t>(col.GetInt(row)) ^ kSignBit;
    case PhysicalKind::kBytes: return BytesPrefix(col.GetBytes(row));
    case PhysicalKind::kTimestamp: return static_cast<uint64_t>(col.GetTimestamp(row).millis) ^ kSignBit;
    default: return 0;
  }
}

void WriteBuffer::Sort(std::vector<size_t>* order, std::vector<uint8_t>* same_key_as_previous) const {
  size_t n = keys_.size();
  std::vector<SortEntry> entries(n);
  for (size_t i = 0; i < n; ++i) entries[i] = SortEntry{prefix_column_ >= 0 ? Prefix(i) : 0, i};
  const bool has_sequence_fields = !cmp_.sequence_indexes().empty();
  // Sequence numbers grow with the row index, so the index breaks the last tie.
  std::sort(entries.begin(), entries.end(), [&](const SortEntry& a, const SortEntry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    KvRef ra{&keys_, a.row}, rb{&keys_, b.row};
    if (!prefix_is_key_) {
      int c = cmp_.CompareKey(ra, rb);
      if (c != 0) return c < 0;
    }
    if (has_sequence_fields) {
      int c = cmp_.CompareSequence(ra, rb);
      if (c != 0) return c < 0;
    }
    return a.row < b.row;
  });
  order->resize(n);
  same_key_as_previous->resize(n);
  for (size_t i = 0; i < n; ++i) {
    (*order)[i] = entries[i].row;
    bool same =
        i > 0 && entries[i].prefix == entries[i - 1].prefix &&
        (prefix_is_key_ || cmp_.CompareKey(KvRef{&keys_, entries[i].row}, KvRef{&keys_, entries[i - 1].row}) == 0);
    (*same_key_as_previous)[i] = same ? 1 : 0;
  }
}

void WriteBuffer::Gather(const size_t* indexes, size_t n, KvBatch* out) const {
  rows_.DecodeRows(indexes, n, &out->values);
  for (size_t k = 0; k < n; ++k) {
    out->seq.push_back(keys_.seq[indexes[k]]);
    out->kinds.push_back(keys_.kinds[indexes[k]]);
  }
}

void WriteBuffer::Clear() {
  keys_.Clear();
  rows_.Clear();
}

}  // namespace kl::table
