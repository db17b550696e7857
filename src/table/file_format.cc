#include "table/file_format.h"

#include "format/avro/avro_file.h"

namespace kl::table {
namespace {

class AvroFormatWriter : public FormatWriter {
 public:
  explicit AvroFormatWriter(std::unique_ptr<format::avro::AvroWriter> w) : w_(std::move(w)) {}
  Status Write(const format::ColumnBatch& batch, size_t begin, size_t end) override {
    return w_->WriteRows(batch, begin, end);
  }
  Result<uint64_t> Close() override { return w_->Close(); }
  uint64_t EstimatedSize() const override { return w_->EstimatedSize(); }

 private:
  std::unique_ptr<format::avro::AvroWriter> w_;
};

class AvroFormatReader : public FormatReader {
 public:
  explicit AvroFormatReader(std::unique_ptr<format::avro::AvroReader> r) : r_(std::move(r)) {}
  Result<size_t> Read(size_t max_rows, format::ColumnBatch* out) override { return r_->Read(max_rows, out); }

 private:
  std::unique_ptr<format::avro::AvroReader> r_;
};

class AvroFormat : public FileFormat {
 public:
  explicit AvroFormat(const TableOptions& options) {
    std::string compression = options.file_compression();
    auto codec = format::avro::AvroCodecFromName(compression == "none" ? "null" : compression);
    opts_.codec = codec.ok() ? *codec : format::avro::AvroCodec::kZstandard;
    opts_.level = options.file_compression_level();
  }
  std::string name() const override { return "avro"; }
  std::string extension() const override { return "avro"; }
  Result<std::unique_ptr<FormatWriter>> NewWriter(const std::string& path, const format::RowType& type) const override {
    KL_ASSIGN_OR_RETURN(auto w, format::avro::AvroWriter::Open(path, type, opts_));
    return std::unique_ptr<FormatWriter>(new AvroFormatWriter(std::move(w)));
  }
  Result<std::unique_ptr<FormatReader>> NewReader(const std::string& path) const override {
    KL_ASSIGN_OR_RETURN(auto r, format::avro::AvroReader::Open(path));
    return std::unique_ptr<FormatReader>(new AvroFormatReader(std::move(r)));
  }

 private:
  format::avro::AvroWriterOptions opts_;
};

}  // namespace

Result<std::unique_ptr<FileFormat>> CreateFileFormat(const std::string& name, const TableOptions& options) {
  if (name == "avro") return std::unique_ptr<FileFormat>(new AvroFormat(options));
  return Status::NotSupported("data file format \"" + name + "\"");
}

Result<std::unique_ptr<FileFormat>> FileFormatForPath(const std::string& path, const TableOptions& options) {
  size_t dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  if (ext == "avro") return CreateFileFormat("avro", options);
  if (ext == "parquet") return CreateFileFormat("parquet", options);
  if (ext == "orc") return Status::NotSupported("ORC data file " + path);
  return Status::NotSupported("data file " + path + " has an unknown format");
}

}  // namespace kl::table
