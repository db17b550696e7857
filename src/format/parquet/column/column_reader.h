// Reads one column chunk page by page: parses page headers, decompresses,
// decodes levels and values (PLAIN, dictionary, RLE, DELTA_*, BYTE_STREAM_SPLIT)
// into flat arrays the field readers copy from. Views point into the mapped
// file or the reader's own buffers and stay valid until the next page.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "format/parquet/column/compression.h"
#include "format/parquet/metadata/metadata.h"
#include "format/parquet/metadata/schema.h"

namespace kl::format::parquet {

// Non-null values of a page (or dictionary), in the representation the leaf's conversion
// calls for: integers, doubles, or byte views.
struct DecodedValues {
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::vector<std::string_view> views;
  size_t size = 0;
};

class ColumnChunkReader {
 public:
  // `file` is the whole file; `where` names file, row group and column for errors.
  ColumnChunkReader(std::string_view file, const ColumnChunk& chunk, const LeafInfo& leaf, std::string where);

  Status Open();
  // Decodes the next data page (reading a dictionary page on the way). *done at the end.
  Status NextPage(bool* done);
  // When the next data page's row count is known without decoding it (columns without
  // repetition) and it holds at most `max_rows` rows, skips it and reports the rows;
  // otherwise reports 0 and leaves the page in place.
  Result<int64_t> TrySkipPage(int64_t max_rows);

  size_t num_levels() const { return num_levels_; }
  // nullptr when every value of the page is present (no nulls, no empty lists).
  const int16_t* def_levels() const { return leaf_.max_def > 0 && !all_defined_ ? def_.data() : nullptr; }
  const int16_t* rep_levels() const { return leaf_.max_rep > 0 ? rep_.data() : nullptr; }
  // Values of the page. A dictionary-encoded page of a bytes leaf keeps its codes
  // instead (page_codes()), which AppendValues hands on as a dictionary-encoded column.
  const DecodedValues& values() const { return values_; }
  const uint32_t* page_codes() const { return page_codes_ ? indices_.data() : nullptr; }
  const LeafInfo& leaf() const { return leaf_; }
  const std::string& where() const { return where_; }
  // Values [from, from + n) of the current page appended to a column of the leaf's type.
  void AppendValues(size_t from, size_t n, Column* out) const;

 private:
  Status Corrupt(const std::string& what) const;
  Status ReadHeader(PageHeader* header, std::string_view* body);
  Status LoadDictionary(const PageHeader& header, std::string_view body);
  Status DecodeDataPage(const PageHeader& header, std::string_view body);
  // Decodes n levels into *out; when `all_max` is given and every level is max_level (one
  // RLE run: a page without nulls), sets it instead and leaves *out alone.
  Status DecodeLevels(const uint8_t* data, size_t size, int16_t max_level, size_t n, std::vector<int16_t>* out,
                      bool* all_max = nullptr);
  Status DecodeValues(Encoding encoding, std::string_view data, size_t n, DecodedValues* out);
  Status DecodePlain(std::string_view data, size_t n, DecodedValues* out);
  Status Uncompress(std::string_view input, size_t size, ByteBuffer* buffer, std::string_view* out);
  void ConvertInts(DecodedValues* v) const;

  std::string_view file_;
  const ColumnChunk& chunk_;
  LeafInfo leaf_;
  std::string where_;
  size_t pos_ = 0, end_ = 0;
  int page_index_ = -1;
  int64_t values_seen_ = 0;

  bool has_dictionary_ = false;
  ByteBuffer dict_buffer_;
  DecodedValues dict_;
  std::shared_ptr<const Column> dict_column_;  // bytes leaves: the dictionary as a column
  bool page_codes_ = false;                    // the current page's values are indices_

  ByteBuffer page_buffer_;
  std::string scratch_;  // BYTE_STREAM_SPLIT / DELTA_BYTE_ARRAY output
  std::vector<uint32_t> indices_;
  std::vector<uint32_t> level_scratch_;
  std::vector<int16_t> def_, rep_;
  size_t num_levels_ = 0;
  bool all_defined_ = false;
  DecodedValues values_;
};

}  // namespace kl::format::parquet
