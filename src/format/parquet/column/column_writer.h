// Writes one leaf column of a row group: collects levels and values, cuts
// pages, encodes them (dictionary with fallback, PLAIN, DELTA_*, RLE,
// BYTE_STREAM_SPLIT), compresses, and keeps page-index and chunk statistics.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "format/datum.h"
#include "format/parquet/column/chunk_buffer.h"
#include "format/parquet/column/dictionary_index.h"
#include "format/parquet/metadata/metadata.h"
#include "format/parquet/metadata/schema.h"
#include "format/parquet/parquet_writer.h"

namespace kl::format::parquet {

class ColumnChunkWriter {
 public:
  ColumnChunkWriter(const LeafInfo& leaf, std::vector<std::string> path, const ParquetWriterOptions& options);

  // One level entry; a value follows (Add*) exactly when def == max_def.
  void AddLevels(int16_t rep, int16_t def) {
    if (leaf_.max_rep > 0) {
      rep_.push_back(static_cast<uint32_t>(rep));
      if (rep == 0) ++page_rows_;
    } else {
      ++page_rows_;
    }
    if (leaf_.max_def > 0) def_.push_back(static_cast<uint32_t>(def));
    ++page_levels_;
  }
  // Flat columns: n rows that all hold a value (levels only; the values follow in bulk).
  void AddDefinedRows(size_t n) {
    if (leaf_.max_def > 0) def_.resize(def_.size() + n, static_cast<uint32_t>(leaf_.max_def));
    page_rows_ += static_cast<int64_t>(n);
    page_levels_ += static_cast<int64_t>(n);
  }
  void AddInt(int64_t v);
  void AddDouble(double v);
  void AddBytes(std::string_view v);
  // Flat columns: n non-null values at once.
  void AddInts(const int64_t* v, size_t n);
  void AddBytesBatch(const std::string_view* v, size_t n);

  // Cuts a page when the current one is full; call between rows only.
  Status MaybeFlushPage();
  // Estimated bytes this chunk holds so far (row group sizing).
  int64_t BufferedBytes() const;

  // Finishes the chunk: `offset` is where its bytes will start in the file.
  Status Finish(int64_t offset, ColumnChunk* chunk, ColumnIndex* column_index, OffsetIndex* offset_index,
                bool* has_column_index);
  // The chunk's bytes, in file order: the dictionary page (if any), then the data pages.
  const std::string& dictionary_bytes() const { return dict_page_; }
  std::string_view bytes() const { return chunk_bytes_.view(); }
  // Min/max of everything written (kubelake domain; INT96 tracked directly), and nulls.
  const std::optional<Datum>& min() const { return min_; }
  const std::optional<Datum>& max() const { return max_; }
  int64_t null_count() const { return null_count_; }
  // Clears per-row-group state, keeping the file-wide min/max.
  void ResetForRowGroup();

 private:
  enum class Mode : uint8_t { kDictionary, kFallback };
  struct PageStats {
    bool has = false;
    int64_t imin = 0, imax = 0;
    double dmin = 0, dmax = 0;
    std::string bmin, bmax;
    uint64_t bmin_key = 0, bmax_key = 0;  // first 8 bytes of bmin/bmax, big-endian: most compares end here
    Int128 decmin = 0, decmax = 0;        // decimals in bytes compare as numbers
  };

  Status FlushPage();
  void DropDictionary();
  Status WriteDictionaryPage(std::string* out);
  Status EncodeValues(std::string* out, Encoding* encoding);
  void UpdateStats(int64_t v);
  void UpdateStats(double v);
  void UpdateStats(std::string_view v);
  void MergePageStats();
  std::string StatBytes(bool min, const PageStats& s) const;
  void AddInt96Stats(std::string_view v);
  void AddEncoding(Encoding e);
  void AppendPage(PageType type, const std::string& body_uncompressed_levels, const std::string& values,
                  int32_t num_values, int32_t num_nulls, int32_t num_rows, Encoding encoding);

  LeafInfo leaf_;
  std::vector<std::string> path_;
  const ParquetWriterOptions& options_;
  Mode mode_;
  bool dictionary_checked_ = false;  // the first page decided whether the dictionary pays off

  // current page
  std::vector<uint32_t> def_, rep_;
  int64_t page_levels_ = 0, page_rows_ = 0, page_values_ = 0;
  std::string plain_;  // PLAIN values of the page (kept in dictionary mode until decided)
  std::vector<uint32_t> bools_;
  std::vector<uint32_t> indices_;
  PageStats page_stats_;

  // dictionary
  DictionaryIndex dict_index_;  // entries by value; byte strings are found in dict_plain_
  std::string dict_plain_;
  uint32_t dict_size_ = 0;
  // Byte strings: per entry, the page whose statistics last took its value (page_serial_).
  std::vector<uint32_t> entry_page_;
  uint32_t page_serial_ = 1;  // of the page being filled; entries start at 0 (none)

  // chunk
  ChunkBuffer chunk_bytes_;  // data pages
  std::string dict_page_;
  // A page's encoded values, a v2 page's levels (stored uncompressed before its body), a v1
  // page's levels + values (the codec's input) and its header: members so that their capacity
  // carries over from page to page (plain_ trades buffers with the first).
  std::string page_encoded_, v2_levels_, v1_page_, header_;
  int64_t first_data_page_ = -1;
  bool has_dictionary_page_ = false;
  int64_t total_uncompressed_ = 0;
  int64_t num_values_ = 0;
  int64_t rows_written_ = 0;
  std::vector<Encoding> encodings_;
  std::vector<PageEncodingStats> encoding_stats_;
  PageStats chunk_stats_;
  int64_t chunk_nulls_ = 0;
  ColumnIndex column_index_;
  bool column_index_ok_ = true;
  OffsetIndex offset_index_;

  // file-wide, in kubelake terms
  std::optional<Datum> min_, max_;
  int64_t null_count_ = 0;
};

}  // namespace kl::format::parquet
