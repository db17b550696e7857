// Avro object container files: a reader that decodes records straight into
// ColumnBatch columns (matching fields by name, skipping the rest), and a
// writer that encodes ColumnBatch rows into compressed blocks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/file/file_util.h"
#include "common/result.h"
#include "format/avro/avro_codec.h"
#include "format/avro/avro_schema.h"
#include "format/column.h"

namespace kl::format::avro {

class AvroReader {
 public:
  static Result<std::unique_ptr<AvroReader>> Open(const std::string& path);
  // Reads from memory; `name` is used in error messages.
  static Result<std::unique_ptr<AvroReader>> FromBuffer(std::string name, std::string data);
  ~AvroReader();

  const AvroSchema& schema() const { return *schema_; }
  const std::string& name() const { return name_; }
  AvroCodec codec() const { return codec_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The Paimon row type the file's records read as, derived from its Avro schema.
  Result<RowType> FileRowType() const;

  // Decodes up to `max_rows` more records into `out`, whose schema gives the
  // columns to fill (matched to the file's fields by name). Returns the
  // number decoded; 0 at the end of the file.
  Result<size_t> Read(size_t max_rows, ColumnBatch* out);
  // All remaining records as columns of `read_type`.
  Result<ColumnBatch> ReadAll(const RowType& read_type);
  // The next block as stored (its record count and compressed bytes), for
  // copying blocks into a file of the same schema and codec without decoding
  // them; false at the end of the file. Not to be mixed with Read().
  Result<bool> NextRawBlock(int64_t* count, std::string_view* payload);
  // Files whose fields are all primitives decode a chunk of records at a time
  // (FlatRecordDecoder); off, every file takes the general per-value decoder
  // (tests and benchmarks compare the two).
  void set_flat_decoding(bool on);
  // Whether the last Read() decoded flat records (false before the first).
  bool decoding_flat() const;

 private:
  struct Plan;
  AvroReader() = default;
  Status Init();
  Status NextBlock();
  Status BuildPlan(const RowType& read_type);
  Status Fail(const Status& s) const;

  std::string name_;
  std::unique_ptr<MappedFile> mapped_;
  std::string owned_;
  std::string_view data_;
  size_t pos_ = 0;
  AvroSchemaPtr schema_;
  AvroCodec codec_ = AvroCodec::kNull;
  std::map<std::string, std::string> metadata_;
  std::string sync_;
  std::string block_;
  size_t block_pos_ = 0;
  int64_t block_remaining_ = 0;
  int64_t block_index_ = -1;
  std::unique_ptr<Plan> plan_;
  RowType plan_type_;
  bool flat_decoding_ = true;
};

struct AvroWriterOptions {
  AvroCodec codec = AvroCodec::kZstandard;
  int level = 1;                   // zstandard / deflate level
  size_t block_bytes = 64 * 1024;  // uncompressed bytes per block before it is flushed
  // A file (not in-memory) writer fdatasyncs its descriptor before Close() returns, so a
  // snapshot never names a file a crash could still truncate.
  bool sync = false;
  // A file writer holds the file's bytes (encoded, compressed blocks) in memory and creates
  // and writes the file only in Close(): a table's write buffer of encoded rows, which keeps
  // no descriptor open for each of many buckets and leaves no file behind until it is done.
  bool hold_until_close = false;
  std::map<std::string, std::string> metadata;
  std::string record_name = "record";
  std::string record_namespace = "org.apache.paimon.avro.generated";
};

class AvroWriter {
 public:
  // Writes to `path` (created or truncated).
  static Result<std::unique_ptr<AvroWriter>> Open(const std::string& path, const RowType& type,
                                                  const AvroWriterOptions& options = {});
  // Writes into memory; the bytes are available from buffer() after Close().
  static Result<std::unique_ptr<AvroWriter>> InMemory(const RowType& type, const AvroWriterOptions& options = {});
  ~AvroWriter();

  // Rows of `batch`, whose columns must have this writer's types in order.
  Status Write(const ColumnBatch& batch);
  Status WriteRows(const ColumnBatch& batch, size_t begin, size_t end);
  Status WriteRow(const Row& row);
  // Appends a block as another file stored it (NextRawBlock): the caller
  // guarantees the same schema and codec.
  Status AppendRawBlock(int64_t count, std::string_view payload);
  // Flushes the last block; returns the total file size.
  Result<uint64_t> Close();

  uint64_t rows_written() const { return rows_; }
  // Bytes written so far plus the pending block (an estimate before Close()).
  uint64_t EstimatedSize() const { return bytes_written_ + block_.size(); }
  // Heap bytes the writer holds: its block buffers, and the file's bytes when held until Close().
  size_t MemoryBytes() const { return out_.capacity() + block_.capacity() + compressed_.capacity(); }
  const std::string& buffer() const { return out_; }
  const AvroSchema& schema() const { return *schema_; }

 private:
  AvroWriter(RowType type, AvroWriterOptions options);
  Status Start();
  Status FlushBlock();
  Status Emit(std::string_view bytes);

  RowType type_;
  AvroWriterOptions options_;
  AvroSchemaPtr schema_;
  std::string schema_json_;
  std::unique_ptr<AppendFile> file_;
  std::string path_;  // hold_until_close: the file Close() writes
  std::string out_;   // in-memory target, or the held file's bytes
  std::string block_;
  std::string compressed_;
  std::string sync_;
  int64_t block_count_ = 0;
  uint64_t rows_ = 0;
  uint64_t bytes_written_ = 0;
  bool closed_ = false;
  Status close_status_;  // of the sync and close in Close(), returned again by later calls
};

}  // namespace kl::format::avro
