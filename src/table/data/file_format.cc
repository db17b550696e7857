#include "table/data/file_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/string_util.h"
#include "format/avro/avro_file.h"
#include "format/orc/orc_reader.h"
#include "format/parquet/parquet.h"

namespace kl::table {
Status SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("opening " + path + " to sync it: " + std::strerror(errno));
  int rc = ::fdatasync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("syncing " + path + ": " + std::strerror(err));
  return Status::OK();
}

namespace {

using format::ColumnBatch;
using format::RowType;

// ---- Avro ----

class AvroFormatWriter : public FormatWriter {
 public:
  explicit AvroFormatWriter(std::unique_ptr<format::avro::AvroWriter> w) : w_(std::move(w)) {}
  Status Write(const ColumnBatch& batch, size_t begin, size_t end) override { return w_->WriteRows(batch, begin, end); }
  // Syncs the open descriptor before closing it when the table syncs data files.
  Result<uint64_t> Close() override { return w_->Close(); }
  uint64_t EstimatedSize() const override { return w_->EstimatedSize(); }
  size_t MemoryBytes() const override { return w_->MemoryBytes(); }

 private:
  std::unique_ptr<format::avro::AvroWriter> w_;
};

class AvroFormatReader : public FormatReader {
 public:
  AvroFormatReader(std::unique_ptr<format::avro::AvroReader> r, RowType read_type)
      : r_(std::move(r)), read_type_(std::move(read_type)) {}
  Result<size_t> Read(size_t max_rows, ColumnBatch* out) override {
    if (!(out->schema() == read_type_)) return Status::Internal("Avro reader asked for another read type");
    return r_->Read(max_rows, out);
  }

 private:
  std::unique_ptr<format::avro::AvroReader> r_;
  RowType read_type_;
};

Result<format::avro::AvroCodec> AvroCodecNamed(const std::string& name) {
  std::string n = ToLower(name);
  if (n == "null" || n == "none") return format::avro::AvroCodec::kNull;
  if (n == "deflate") return format::avro::AvroCodec::kDeflate;
  if (n == "snappy") return format::avro::AvroCodec::kSnappy;
  if (n == "zstd" || n == "zstandard") return format::avro::AvroCodec::kZstandard;
  return Status::InvalidArgument(
      "\"" + name + "\" is not one of the avro compressions: null, none, deflate, snappy, zstd, zstandard");
}

class AvroFormat : public FileFormat {
 public:
  static Result<std::unique_ptr<FileFormat>> Create(const TableOptions& options) {
    std::unique_ptr<AvroFormat> f(new AvroFormat());
    auto codec = AvroCodecNamed(options.file_compression());
    if (!codec.ok()) return codec.status().WithContext("option file.compression");
    f->opts_.codec = *codec;
    // file.compression.zstd-level is zstd's (Paimon's Avro deflate takes zlib's default level).
    f->opts_.level = *codec == format::avro::AvroCodec::kZstandard ? options.file_compression_level() : -1;
    f->opts_.sync = options.data_file_sync();
    f->opts_.block_bytes = static_cast<size_t>(options.avro_block_size());
    return std::unique_ptr<FileFormat>(std::move(f));
  }
  std::string name() const override { return "avro"; }
  std::string extension() const override { return "avro"; }
  Result<std::unique_ptr<FormatWriter>> NewWriter(const std::string& path, const RowType& type) const override {
    KL_ASSIGN_OR_RETURN(auto w, format::avro::AvroWriter::Open(path, type, opts_));
    return std::unique_ptr<FormatWriter>(new AvroFormatWriter(std::move(w)));
  }
  bool holds_encoded_rows() const override { return true; }
  Result<std::unique_ptr<FormatWriter>> NewHeldWriter(const std::string& path, const RowType& type) const override {
    format::avro::AvroWriterOptions held = opts_;
    held.hold_until_close = true;
    KL_ASSIGN_OR_RETURN(auto w, format::avro::AvroWriter::Open(path, type, held));
    return std::unique_ptr<FormatWriter>(new AvroFormatWriter(std::move(w)));
  }
  // Avro files carry no field ids: fields match by name (the names the file was written with).
  Result<std::unique_ptr<FormatReader>> NewReader(const std::string& path, const RowType& read_type,
                                                  const FormatReadOptions&) const override {
    KL_ASSIGN_OR_RETURN(auto r, format::avro::AvroReader::Open(path));
    return std::unique_ptr<FormatReader>(new AvroFormatReader(std::move(r), read_type));
  }

 private:
  AvroFormat() = default;
  format::avro::AvroWriterOptions opts_;
};

// ---- Parquet ----

ValueRange ToValueRange(const format::parquet::ColumnStatistics& s) {
  ValueRange r;
  r.has_min_max = s.has_min_max;
  r.min = s.min;
  r.max = s.max;
  r.has_null_count = s.has_null_count;
  r.null_count = s.null_count;
  r.num_values = s.num_values;
  return r;
}

class ParquetFormatWriter : public FormatWriter {
 public:
  explicit ParquetFormatWriter(std::unique_ptr<format::parquet::ParquetWriter> w) : w_(std::move(w)) {}

  Status Write(const ColumnBatch& batch, size_t begin, size_t end) override {
    if (begin == 0 && end == batch.num_rows()) return w_->Write(batch);
    ColumnBatch slice(batch.schema());
    for (size_t c = 0; c < batch.num_columns(); ++c) slice.mutable_column(c).AppendRange(batch.column(c), begin, end);
    slice.SetNumRows(end - begin);
    return w_->Write(slice);
  }

  Result<uint64_t> Close() override {
    KL_ASSIGN_OR_RETURN(format::parquet::ParquetWriteResult result, w_->Close());
    stats_.clear();
    for (const auto& s : result.column_stats) stats_.push_back(ToValueRange(s));
    return result.file_size;
  }

  uint64_t EstimatedSize() const override { return w_->EstimatedSize(); }
  bool ComputesStatistics() const override { return true; }
  const std::vector<ValueRange>& column_stats() const override { return stats_; }

 private:
  std::unique_ptr<format::parquet::ParquetWriter> w_;
  std::vector<ValueRange> stats_;
};

// Reads the requested fields of a Parquet file by field id (by name in files without ids),
// batch by batch; the decoded batch's columns move into the caller's batch when it asks
// for at least a whole batch, and are copied otherwise.
class ParquetFormatReader : public FormatReader {
 public:
  static Result<std::unique_ptr<FormatReader>> Open(const std::string& path, const RowType& read_type,
                                                    const FormatReadOptions& options) {
    std::unique_ptr<ParquetFormatReader> r(new ParquetFormatReader());
    // Data files never change once written: an open file is reused across reads.
    KL_ASSIGN_OR_RETURN(r->file_, format::parquet::ParquetReader::OpenShared(path));
    r->read_type_ = read_type;
    const RowType& file_type = r->file_->schema();
    bool by_id = r->file_->has_field_ids();
    format::parquet::ParquetReadOptions read;
    for (const auto& field : read_type.fields()) {
      int col = -1;
      for (size_t j = 0; j < file_type.size(); ++j) {
        const auto& f = file_type.field(j);
        if (by_id ? f.id == field.id : f.name == field.name) {
          col = static_cast<int>(j);
          break;
        }
      }
      if (col < 0) {
        if (!field.type.nullable()) {
          return Status::Corruption(path + ": file has no column " + field.name + " (id " + std::to_string(field.id) +
                                    ")");
        }
        r->source_.push_back(-1);
        continue;
      }
      r->source_.push_back(static_cast<int>(read.columns.size()));
      r->file_column_.push_back(col);
      read.columns.push_back(col);
    }
    r->read_.columns = read.columns;
    r->read_.batch_rows = std::max<size_t>(1024, options.batch_rows);
    if (options.may_match) {
      // The Parquet reader asks by file column; the caller's predicate speaks of read columns.
      std::vector<int> read_index_of(file_type.size(), -1);
      for (size_t i = 0; i < r->source_.size(); ++i) {
        if (r->source_[i] >= 0)
          read_index_of[static_cast<size_t>(r->file_column_[static_cast<size_t>(r->source_[i])])] = static_cast<int>(i);
      }
      std::vector<int> file_col_of_read(read_type.size(), -1);
      for (size_t j = 0; j < read_index_of.size(); ++j) {
        if (read_index_of[j] >= 0) file_col_of_read[static_cast<size_t>(read_index_of[j])] = static_cast<int>(j);
      }
      for (int c : options.may_match_columns) {
        if (c >= 0 && static_cast<size_t>(c) < file_col_of_read.size() &&
            file_col_of_read[static_cast<size_t>(c)] >= 0) {
          r->read_.predicate_columns.push_back(file_col_of_read[static_cast<size_t>(c)]);
        }
      }
      // A leaf on a column the file lacks leaves the list empty (any column may matter).
      if (r->read_.predicate_columns.size() != options.may_match_columns.size()) r->read_.predicate_columns.clear();
      auto may_match = options.may_match;
      r->read_.predicate = [may_match, file_col_of_read](const format::parquet::StatsLookup& stats) {
        std::vector<ValueRange> ranges(file_col_of_read.size());
        std::vector<bool> known(file_col_of_read.size(), false);
        RangeLookup lookup = [&](int read_col) -> const ValueRange* {
          if (read_col < 0 || static_cast<size_t>(read_col) >= file_col_of_read.size()) return nullptr;
          size_t i = static_cast<size_t>(read_col);
          if (file_col_of_read[i] < 0) return nullptr;
          if (!known[i]) {
            const format::parquet::ColumnStatistics* s = stats(file_col_of_read[i]);
            if (s == nullptr) return nullptr;
            ranges[i] = ToValueRange(*s);
            known[i] = true;
          }
          return &ranges[i];
        };
        return may_match(lookup);
      };
    }
    KL_ASSIGN_OR_RETURN(r->batches_, r->file_->NewBatchReader(r->read_));
    return std::unique_ptr<FormatReader>(std::move(r));
  }

  Result<size_t> Read(size_t max_rows, ColumnBatch* out) override {
    if (pos_ >= pending_.num_rows()) {
      pending_ = ColumnBatch();
      pos_ = 0;
      KL_ASSIGN_OR_RETURN(bool more, batches_->Next(&pending_));
      if (!more) return size_t{0};
    }
    size_t n = std::min(max_rows, pending_.num_rows() - pos_);
    auto& dst = out->mutable_columns();
    auto& src = pending_.mutable_columns();
    bool fresh = out->num_rows() == 0;
    bool whole = fresh && pos_ == 0 && n == pending_.num_rows();
    for (size_t i = 0; i < read_type_.size(); ++i) {
      int s = source_[i];
      if (s < 0) {
        for (size_t k = 0; k < n; ++k) dst[i].AppendNull();
        continue;
      }
      format::Column& col = src[static_cast<size_t>(s)];
      if (whole) {
        dst[i] = std::move(col);
        continue;
      }
      // Keep the file's type for the column (the caller casts); an empty target takes it on.
      if (fresh && !(dst[i].type() == col.type())) dst[i] = format::Column(col.type());
      if (dst[i].kind() != col.kind()) {
        return Status::Internal(file_->name() + ": column " + read_type_.field(i).name + " read as " +
                                col.type().ToString() + " into " + dst[i].type().ToString());
      }
      dst[i].AppendRange(col, pos_, pos_ + n);
    }
    pos_ = whole ? pending_.num_rows() : pos_ + n;
    out->SetNumRows(out->num_rows() + n);
    return n;
  }

  int64_t rows_skipped() const override { return batches_ ? batches_->rows_skipped() : 0; }

 private:
  ParquetFormatReader() = default;
  std::shared_ptr<const format::parquet::ParquetReader> file_;
  std::unique_ptr<format::parquet::ParquetBatchReader> batches_;  // borrows file_
  format::parquet::ParquetReadOptions read_;
  RowType read_type_;
  std::vector<int> source_;       // per read column: index into the decoded batch, or -1
  std::vector<int> file_column_;  // per decoded column: file column
  ColumnBatch pending_;
  size_t pos_ = 0;
};

// ---- ORC (read only) ----

// Reads an ORC data file stripe by stripe, fields matched by name.
class OrcFormatReader : public FormatReader {
 public:
  OrcFormatReader(std::unique_ptr<format::orc::OrcReader> r, RowType read_type)
      : r_(std::move(r)), read_type_(std::move(read_type)) {}
  Result<size_t> Read(size_t max_rows, ColumnBatch* out) override {
    while (pos_ >= pending_.num_rows()) {
      if (next_stripe_ >= r_->num_stripes()) return size_t{0};
      pending_ = ColumnBatch(read_type_);
      pos_ = 0;
      KL_RETURN_IF_ERROR(r_->ReadStripe(next_stripe_++, &pending_));
    }
    size_t n = std::min(max_rows, pending_.num_rows() - pos_);
    auto& dst = out->mutable_columns();
    for (size_t c = 0; c < dst.size(); ++c) dst[c].AppendRange(pending_.column(c), pos_, pos_ + n);
    pos_ += n;
    out->SetNumRows(out->num_rows() + n);
    return n;
  }

 private:
  std::unique_ptr<format::orc::OrcReader> r_;
  RowType read_type_;
  ColumnBatch pending_;
  size_t pos_ = 0;
  size_t next_stripe_ = 0;
};

class OrcFormat : public FileFormat {
 public:
  std::string name() const override { return "orc"; }
  std::string extension() const override { return "orc"; }
  Result<std::unique_ptr<FormatWriter>> NewWriter(const std::string& path, const RowType&) const override {
    return Status::NotSupported("writing ORC data file " + path + ": kubelake reads ORC but writes parquet or avro");
  }
  Result<std::unique_ptr<FormatReader>> NewReader(const std::string& path, const RowType& read_type,
                                                  const FormatReadOptions&) const override {
    KL_ASSIGN_OR_RETURN(auto r, format::orc::OrcReader::Open(path));
    return std::unique_ptr<FormatReader>(new OrcFormatReader(std::move(r), read_type));
  }
};

Result<format::parquet::Codec> ParquetCodec(const std::string& name) {
  std::string n = ToLower(name);
  if (n == "zstd") return format::parquet::Codec::kZstd;
  if (n == "snappy") return format::parquet::Codec::kSnappy;
  if (n == "gzip") return format::parquet::Codec::kGzip;
  if (n == "lz4") return format::parquet::Codec::kLz4Raw;
  if (n == "none" || n == "uncompressed") return format::parquet::Codec::kUncompressed;
  return Status::InvalidArgument(
      "\"" + name + "\" is not one of the parquet compressions: none, uncompressed, snappy, gzip, lz4, zstd");
}

class ParquetFormat : public FileFormat {
 public:
  static Result<std::unique_ptr<FileFormat>> Create(const TableOptions& options) {
    std::unique_ptr<ParquetFormat> f(new ParquetFormat());
    auto codec = ParquetCodec(options.file_compression());
    if (!codec.ok()) return codec.status().WithContext("option file.compression");
    f->opts_.codec = *codec;
    // file.compression.zstd-level is zstd's; gzip keeps zlib's default (0).
    f->opts_.compression_level = *codec == format::parquet::Codec::kZstd ? options.file_compression_level() : 0;
    // Paimon passes parquet-mr's own settings through under their Hadoop names.
    f->opts_.row_group_bytes = options.GetMemorySize("parquet.block.size", f->opts_.row_group_bytes);
    f->opts_.page_bytes = options.GetMemorySize("parquet.page.size", f->opts_.page_bytes);
    // Fewer rows per page: a key condition on a sorted file reads fewer rows (page index).
    f->opts_.page_rows = options.GetInt("parquet.page.row.count.limit", f->opts_.page_rows);
    if (f->opts_.page_rows < 1) {
      return Status::InvalidArgument("'parquet.page.row.count.limit' must be at least 1");
    }
    f->opts_.dictionary_page_bytes =
        options.GetMemorySize("parquet.dictionary.page.size", f->opts_.dictionary_page_bytes);
    f->opts_.dictionary = options.GetBool("parquet.enable.dictionary", true);
    f->opts_.data_page_v2 = options.GetString("parquet.writer.version", "v1") == "v2";
    f->opts_.sync = options.data_file_sync();
    if (f->opts_.data_page_v2) f->opts_.encoding = format::parquet::ValueEncoding::kDelta;
    return std::unique_ptr<FileFormat>(std::move(f));
  }
  std::string name() const override { return "parquet"; }
  std::string extension() const override { return "parquet"; }
  Result<std::unique_ptr<FormatWriter>> NewWriter(const std::string& path, const RowType& type) const override {
    KL_ASSIGN_OR_RETURN(auto w, format::parquet::ParquetWriter::Open(path, type, opts_));
    return std::unique_ptr<FormatWriter>(new ParquetFormatWriter(std::move(w)));
  }
  Result<std::unique_ptr<FormatReader>> NewReader(const std::string& path, const RowType& read_type,
                                                  const FormatReadOptions& options) const override {
    return ParquetFormatReader::Open(path, read_type, options);
  }

 private:
  ParquetFormat() = default;
  format::parquet::ParquetWriterOptions opts_;
};

}  // namespace

Status CheckWriteCompression(const std::string& format, const std::string& compression) {
  if (format == "parquet") return ParquetCodec(compression).status();
  if (format == "avro") return AvroCodecNamed(compression).status();
  return Status::InvalidArgument("data files are written as parquet or avro, not \"" + format + "\"");
}

Result<std::unique_ptr<FileFormat>> CreateFileFormat(const std::string& name, const TableOptions& options) {
  if (name == "parquet") return ParquetFormat::Create(options);
  if (name == "avro") return AvroFormat::Create(options);
  if (name == "orc") return std::unique_ptr<FileFormat>(new OrcFormat());
  return Status::NotSupported("data file format \"" + name + "\"");
}

Result<std::unique_ptr<FileFormat>> FileFormatForPath(const std::string& path, const TableOptions& options) {
  size_t dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  if (ext == "avro" || ext == "parquet") {
    // Reading needs no codec choice: a table whose write compression the format lacks still reads.
    auto f = CreateFileFormat(ext, options);
    if (f.ok()) return f;
    return CreateFileFormat(ext, TableOptions());
  }
  if (ext == "orc") return CreateFileFormat("orc", options);
  return Status::NotSupported("data file " + path + " has an unknown format");
}

}  // namespace kl::table
