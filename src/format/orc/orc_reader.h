// orc — a reader of Apache ORC files, enough for what Java Paimon writes in
// ORC: manifests and manifest lists (`manifest.format = orc`) and flat data
// files. Debian 12 packages no ORC library (Apache ORC's C++ reader is not in
// the archive), so kubelake reads the format itself: the protobuf footers,
// ZSTD/ZLIB/SNAPPY/LZ4 streams, byte/boolean/integer RLE (v1 and v2), direct
// and dictionary strings, decimals, timestamps, and LIST/MAP/STRUCT nesting.
// Columns are matched to the caller's fields by name (nested ROW fields too).
// Reading only: kubelake writes Avro and Parquet.
//
// Limits: UNION columns and LZO streams are NotSupported; TIMESTAMP values are
// taken as written in UTC (the writer's time zone in the stripe footer is not
// applied).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/file/file_util.h"
#include "common/result.h"
#include "format/column.h"
#include "format/orc/orc_decoding.h"

namespace kl::format::orc {

// True when `data` starts like an ORC file ("ORC").
bool LooksLikeOrc(std::string_view data);

class OrcReader {
 public:
  static Result<std::unique_ptr<OrcReader>> Open(const std::string& path);
  // Reads a file held in memory; `name` is used in error messages.
  static Result<std::unique_ptr<OrcReader>> OpenBuffer(std::string data, std::string name);
  ~OrcReader();

  const std::string& name() const { return name_; }
  // The top-level struct's fields as Paimon types (ids are positions).
  const RowType& schema() const { return schema_; }
  int64_t num_rows() const { return num_rows_; }
  size_t num_stripes() const;
  CompressionKind compression() const { return compression_; }

  // Appends every row of stripe `stripe` to `out`, whose schema names the fields to read
  // (matched by name; fields the file lacks read as null, NOT NULL ones are an error).
  Status ReadStripe(size_t stripe, ColumnBatch* out) const;
  Result<ColumnBatch> ReadAll(const RowType& read_type) const;

  struct Type;
  struct Stripe;

 private:
  OrcReader() = default;
  Status Init();
  Status Fail(const Status& s) const;

  std::string name_;
  std::unique_ptr<MappedFile> mapped_;
  std::string owned_;
  std::string_view data_;
  CompressionKind compression_ = CompressionKind::kNone;
  uint64_t block_size_ = 256 * 1024;
  int64_t num_rows_ = 0;
  std::vector<Type> types_;
  std::vector<Stripe> stripes_;
  RowType schema_;
};

}  // namespace kl::format::orc
