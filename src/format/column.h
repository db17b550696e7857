// Column and ColumnBatch: values of one type stored contiguously (ints,
// doubles, string bytes + offsets), the unit in which file readers, writers
// and the merge engine move data. Nested values fall back to Datum per row.
//
// A string/bytes column may instead be dictionary-encoded: a shared dictionary
// (a plain bytes column, built once per Parquet column chunk) and one 32-bit
// code per row. Readers (GetBytes, Get, CompareAt, the Append* sources) see
// the values either way; operators that understand codes (grouping, filters,
// hashing) work on the codes and evaluate once per dictionary entry. Any
// mutation that cannot stay in codes first turns the column plain.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/datum.h"
#include "format/types.h"

namespace kl::format {

class Column {
 public:
  explicit Column(DataType type = DataType::Int());

  const DataType& type() const { return type_; }
  PhysicalKind kind() const { return kind_; }
  size_t size() const { return size_; }
  void Reserve(size_t n);
  // Room for `n` bytes of string values in all (plain bytes columns; else no-op): a column
  // filled value by value grows its buffer once rather than by doubling from empty.
  void ReserveBytes(size_t n);
  // Bytes of string values held (plain bytes columns; else 0).
  size_t ValueBytes() const { return dict_ ? 0 : bytes_.size(); }
  void Clear();

  bool IsNull(size_t i) const { return !nulls_.empty() && nulls_[i] != 0; }
  bool has_nulls() const;
  size_t null_count() const;

  // Typed access; the caller knows the kind from the type.
  int64_t GetInt(size_t i) const { return ints_[i]; }
  double GetDouble(size_t i) const { return doubles_[i]; }
  std::string_view GetBytes(size_t i) const {
    if (dict_) [[unlikely]]
      return dict_->PlainBytes(codes_[i]);
    return PlainBytes(i);
  }
  // Bytes readable after value i's end (0 for a dictionary): a parser that reads past its
  // input's end (simdjson: 64 bytes) reads value i in place when there are enough.
  size_t BytesReadableAfter(size_t i) const { return dict_ ? 0 : bytes_.capacity() - offsets_[i + 1]; }
  Int128 GetDecimal(size_t i) const { return decimals_[i]; }
  Timestamp GetTimestamp(size_t i) const { return Timestamp{ints_[i], nanos_[i]}; }
  const Datum& GetNested(size_t i) const { return nested_[i]; }
  // Any value as a Datum (null-aware).
  Datum Get(size_t i) const;

  void AppendNull();
  void AppendInt(int64_t v);
  void AppendDouble(double v);
  void AppendBytes(std::string_view v);
  void AppendDecimal(Int128 v);
  void AppendTimestamp(Timestamp v);
  void AppendNested(Datum v);
  // Bulk appends of n non-null values, for file decoders (one resize, no per-value checks).
  void AppendInts(const int64_t* values, size_t n);
  void AppendDoubles(const double* values, size_t n);
  void AppendBytesBatch(const std::string_view* values, size_t n);
  // The same with a null mask: row i is null where nulls[i] != 0 (its value, 0 or an
  // empty view, is ignored); a null `nulls` means no row is null.
  void AppendInts(const int64_t* values, const uint8_t* nulls, size_t n);
  void AppendDoubles(const double* values, const uint8_t* nulls, size_t n);
  void AppendBytesBatch(const std::string_view* values, const uint8_t* nulls, size_t n);
  // Appends a Datum of this column's type (or null).
  void Append(const Datum& d);
  // Copies row `i` of `src` (same physical kind) to the end.
  void AppendFrom(const Column& src, size_t i);
  // Copies rows [begin, end) of `src`.
  void AppendRange(const Column& src, size_t begin, size_t end);
  // Copies the rows `rows[0..n)` of `src` in that order. Gathering one column
  // at a time keeps memory access local (a row-at-a-time gather across many
  // columns of a large buffer misses the cache once per value).
  void AppendGather(const Column& src, const size_t* rows, size_t n);
  // Copies row rows[k] of *sources[k] (same physical kind), k in [0, n): the output of a
  // merge, whose rows come from several runs. Sizes the buffers once for all n.
  void AppendFromEach(const Column* const* sources, const size_t* rows, size_t n);

  // Dictionary form. A dictionary is a plain bytes column without nulls whose last
  // entry is the empty string: the code of null rows (so a code alone tells a null).
  static std::shared_ptr<const Column> MakeDictionary(const DataType& type, const std::string_view* values, size_t n);
  bool is_dictionary() const { return dict_ != nullptr; }
  const Column& dictionary() const { return *dict_; }
  const std::shared_ptr<const Column>& shared_dictionary() const { return dict_; }
  const uint32_t* codes() const { return codes_.data(); }
  uint32_t null_code() const { return static_cast<uint32_t>(dict_->size() - 1); }
  // Appends n non-null rows by their codes in `dict` (each < dict->size() - 1). An empty
  // column takes the dictionary on; a column with another dictionary (or plain values)
  // gets the values.
  void AppendCodes(const std::shared_ptr<const Column>& dict, const uint32_t* codes, size_t n);
  // Turns a dictionary-encoded column into plain values (no-op when plain).
  void Flatten();
  // Exchanges values (and their buffers) with `other`, of the same physical kind; each
  // keeps its type. Readers hand a decoded column on this way and get the receiver's
  // emptied buffers back for the next chunk, instead of copying or allocating anew.
  void SwapValues(Column& other);

  // Orders row i of this column against row j of `other` (same kind), null first.
  int CompareAt(size_t i, const Column& other, size_t j) const;
  bool EqualAt(size_t i, const Column& other, size_t j) const { return CompareAt(i, other, j) == 0; }

  // Heap bytes reserved (capacity), and bytes holding values (size): write
  // buffers flush on the latter, since a cleared column keeps its capacity.
  size_t MemoryBytes() const;
  size_t UsedBytes() const;

 private:
  friend class RowArena;  // decodes rows straight into the value vectors
  void MarkValid();
  // After n values were added to the value vectors: n more rows with the given null mask.
  void AddRowsWithNulls(const uint8_t* nulls, size_t n);
  std::string_view PlainBytes(size_t i) const {
    return std::string_view(bytes_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }
  // Whether appending n rows of `src` (dictionary-encoded) can keep codes: this column is
  // empty or already holds codes of the same dictionary.
  bool CanShareDictionary(const Column& src) const { return src.dict_ && (dict_ == src.dict_ || CanAdoptDictionary()); }
  // Plain and holding no value yet: empty, or a few nulls (a chunk starting with nulls).
  bool CanAdoptDictionary() const {
    return !dict_ && (size_ == 0 || (size_ <= 256 && bytes_.empty() && null_count() == size_));
  }
  // Takes `dict` on; rows so far (all null) get its null code.
  void AdoptDictionary(const std::shared_ptr<const Column>& dict);

  DataType type_;
  PhysicalKind kind_;
  size_t size_ = 0;
  std::vector<uint8_t> nulls_;  // empty until the first null; then one byte per row
  std::vector<int64_t> ints_;   // kInt values, kTimestamp millis
  std::vector<int32_t> nanos_;  // kTimestamp nanos within the millisecond
  std::vector<double> doubles_;
  std::vector<uint64_t> offsets_;  // kBytes: size_ + 1 offsets into bytes_
  std::string bytes_;
  std::vector<Int128> decimals_;
  std::vector<Datum> nested_;
  std::shared_ptr<const Column> dict_;  // set in dictionary form (then offsets_/bytes_ unused)
  std::vector<uint32_t> codes_;
};

// Rows of a RowType held column by column.
class ColumnBatch {
 public:
  ColumnBatch() = default;
  explicit ColumnBatch(RowType schema);

  const RowType& schema() const { return schema_; }
  size_t num_rows() const { return num_rows_; }
  size_t num_columns() const { return columns_.size(); }
  const Column& column(size_t i) const { return columns_[i]; }
  Column& mutable_column(size_t i) { return columns_[i]; }
  std::vector<Column>& mutable_columns() { return columns_; }

  // After filling columns directly, declare the row count (all columns must match).
  void SetNumRows(size_t n) { num_rows_ = n; }
  void Reserve(size_t n);
  void Clear();

  Row GetRow(size_t i) const;
  void AppendRow(const Row& row);
  // Copies row `i` of `src` (same column kinds) to the end.
  void AppendRowFrom(const ColumnBatch& src, size_t i);
  size_t MemoryBytes() const;
  size_t UsedBytes() const;

 private:
  RowType schema_;
  std::vector<Column> columns_;
  size_t num_rows_ = 0;
};

}  // namespace kl::format
