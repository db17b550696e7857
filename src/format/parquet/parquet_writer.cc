#include "format/parquet/parquet_writer.h"

#include "common/coding.h"
#include "format/parquet/column/column_writer.h"
#include "format/parquet/column/compression.h"
#include "format/parquet/metadata/schema.h"

namespace kl::format::parquet {
namespace {

// Rows shredded between page-size checks; pages and row groups are cut at these borders.
constexpr size_t kSliceRows = 256;

constexpr const char* kCreatedBy = "kubelake version 0.1.0 (build kubelake)";

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual Status Close() = 0;
  uint64_t size() const { return size_; }

 protected:
  uint64_t size_ = 0;
};

class FileSink : public Sink {
 public:
  FileSink(std::unique_ptr<AppendFile> file, bool sync) : file_(std::move(file)), sync_(sync) {}
  Status Append(std::string_view data) override {
    size_ += data.size();
    return file_->Append(data);
  }
  Status Close() override {
    if (sync_) KL_RETURN_IF_ERROR(file_->Sync());
    return file_->Close();
  }

 private:
  std::unique_ptr<AppendFile> file_;
  bool sync_;
};

class StringSink : public Sink {
 public:
  explicit StringSink(std::string* out) : out_(out) { out_->clear(); }
  Status Append(std::string_view data) override {
    size_ += data.size();
    out_->append(data);
    return Status::OK();
  }
  Status Close() override { return Status::OK(); }

 private:
  std::string* out_;
};

Status KindMismatch(const DataType& type, const Datum& d) {
  return Status::InvalidArgument("value of kind " + std::to_string(static_cast<int>(d.kind())) + " does not fit type " +
                                 type.ToString());
}

}  // namespace

class ParquetWriter::Impl {
 public:
  Impl(std::unique_ptr<Sink> sink, ParquetWriterOptions options)
      : sink_(std::move(sink)), options_(std::move(options)) {}

  Status Init(const RowType& schema) {
    schema_ = schema;
    if (!CodecSupported(options_.codec)) {
      return Status::NotSupported(std::string("compression codec ") + CodecName(options_.codec));
    }
    KL_ASSIGN_OR_RETURN(elements_, ToParquetSchema(schema));
    KL_ASSIGN_OR_RETURN(file_schema_, FileSchema::Make(elements_));
    for (const auto& leaf : file_schema_.leaves()) {
      writers_.push_back(std::make_unique<ColumnChunkWriter>(leaf, file_schema_.nodes()[leaf.node].path, options_));
    }
    top_nulls_.assign(schema.size(), 0);
    return sink_->Append("PAR1");
  }

  Status Write(const ColumnBatch& batch) {
    if (closed_) return Status::InvalidArgument("write after close");
    if (batch.num_columns() != schema_.size()) {
      return Status::InvalidArgument("batch has " + std::to_string(batch.num_columns()) + " columns, the file " +
                                     std::to_string(schema_.size()));
    }
    for (size_t c = 0; c < schema_.size(); ++c) {
      const Column& col = batch.column(c);
      if (col.type().root() != schema_.type(c).root() || col.size() < batch.num_rows()) {
        return Status::InvalidArgument("column " + schema_.field(c).name + " is " + col.type().ToString() +
                                       ", the file expects " + schema_.type(c).ToString());
      }
    }
    size_t slice = std::max<size_t>(1, std::min<size_t>(kSliceRows, static_cast<size_t>(options_.page_rows)));
    for (size_t begin = 0; begin < batch.num_rows(); begin += slice) {
      size_t end = std::min(batch.num_rows(), begin + slice);
      for (size_t c = 0; c < schema_.size(); ++c) {
        Status s = WriteColumn(c, batch.column(c), begin, end);
        if (!s.ok()) return s.WithContext("writing column " + schema_.field(c).name);
      }
      rows_in_group_ += static_cast<int64_t>(end - begin);
      int64_t buffered = 0;
      for (auto& w : writers_) {
        KL_RETURN_IF_ERROR(w->MaybeFlushPage());
        buffered += w->BufferedBytes();
      }
      buffered_bytes_ = buffered;
      if (buffered >= options_.row_group_bytes) {
        KL_RETURN_IF_ERROR(FlushRowGroup());
        buffered_bytes_ = 0;
      }
    }
    return Status::OK();
  }

  uint64_t EstimatedSize() const { return sink_->size() + static_cast<uint64_t>(buffered_bytes_); }

  Result<ParquetWriteResult> Close() {
    if (closed_) return Status::InvalidArgument("closed twice");
    closed_ = true;
    if (rows_in_group_ > 0) KL_RETURN_IF_ERROR(FlushRowGroup());
    FileMetaData meta;
    meta.version = 1;
    meta.schema = elements_;
    meta.row_groups = std::move(row_groups_);
    meta.key_value_metadata = options_.key_value_metadata;
    meta.created_by = kCreatedBy;
    meta.num_column_orders = static_cast<int32_t>(writers_.size());
    for (const auto& g : meta.row_groups) meta.num_rows += g.num_rows;
    if (options_.write_page_index) {
      std::string buffer;
      for (size_t g = 0; g < meta.row_groups.size(); ++g) {
        for (size_t c = 0; c < writers_.size(); ++c) {
          if (!has_column_index_[g][c]) continue;
          buffer.clear();
          SerializeColumnIndex(column_indexes_[g][c], &buffer);
          meta.row_groups[g].columns[c].column_index_offset = static_cast<int64_t>(sink_->size());
          meta.row_groups[g].columns[c].column_index_length = static_cast<int32_t>(buffer.size());
          KL_RETURN_IF_ERROR(sink_->Append(buffer));
        }
      }
      for (size_t g = 0; g < meta.row_groups.size(); ++g) {
        for (size_t c = 0; c < writers_.size(); ++c) {
          buffer.clear();
          SerializeOffsetIndex(offset_indexes_[g][c], &buffer);
          meta.row_groups[g].columns[c].offset_index_offset = static_cast<int64_t>(sink_->size());
          meta.row_groups[g].columns[c].offset_index_length = static_cast<int32_t>(buffer.size());
          KL_RETURN_IF_ERROR(sink_->Append(buffer));
        }
      }
    }
    std::string footer;
    SerializeFileMetaData(meta, &footer);
    PutFixed32LE(&footer, static_cast<uint32_t>(footer.size()));
    footer.append("PAR1");
    KL_RETURN_IF_ERROR(sink_->Append(footer));
    KL_RETURN_IF_ERROR(sink_->Close());

    ParquetWriteResult result;
    result.file_size = sink_->size();
    result.num_rows = meta.num_rows;
    for (size_t t = 0; t < schema_.size(); ++t) {
      ColumnStatistics stats;
      stats.num_values = meta.num_rows;
      stats.has_null_count = true;
      const LevelNode& levels = file_schema_.levels(t);
      if (levels.kind == LevelNode::Kind::kLeaf) {
        const ColumnChunkWriter& w = *writers_[static_cast<size_t>(levels.leaf)];
        stats.null_count = w.null_count();
        if (w.min() && w.max()) {
          stats.has_min_max = true;
          stats.min = *w.min();
          stats.max = *w.max();
        }
      } else {
        stats.null_count = top_nulls_[t];
      }
      result.column_stats.push_back(std::move(stats));
    }
    return result;
  }

 private:
  Status WriteColumn(size_t c, const Column& col, size_t begin, size_t end) {
    const LevelNode& levels = file_schema_.levels(c);
    const DataType& type = schema_.type(c);
    if (levels.kind == LevelNode::Kind::kLeaf) return WriteFlat(levels, type, col, begin, end);
    for (size_t i = begin; i < end; ++i) {
      Datum d = col.Get(i);
      if (d.is_null()) ++top_nulls_[c];
      KL_RETURN_IF_ERROR(Shred(levels, type, d, 0));
    }
    return Status::OK();
  }

  Status WriteFlat(const LevelNode& node, const DataType& type, const Column& col, size_t begin, size_t end) {
    ColumnChunkWriter& w = *writers_[static_cast<size_t>(node.leaf)];
    const LeafInfo& leaf = file_schema_.leaves()[static_cast<size_t>(node.leaf)];
    bool nullable = leaf.max_def > 0;
    // Column::has_nulls() counts the whole column; only this slice matters here.
    bool nulls = false;
    for (size_t i = begin; i < end && !nulls; ++i) nulls = col.IsNull(i);
    if (nulls && !nullable) {
      for (size_t i = begin; i < end; ++i) {
        if (col.IsNull(i)) return Status::InvalidArgument("null in NOT NULL column at row " + std::to_string(i));
      }
    }
    // The common flat cases go in bulk: levels one by one, values as one run.
    if (leaf.conversion == LeafConversion::kBytes || leaf.conversion == LeafConversion::kInt) {
      bool bytes = leaf.conversion == LeafConversion::kBytes;
      views_.clear();
      ints_.clear();
      if (!nulls) w.AddDefinedRows(end - begin);
      for (size_t i = begin; i < end; ++i) {
        if (nulls) {
          if (col.IsNull(i)) {
            w.AddLevels(0, 0);
            continue;
          }
          w.AddLevels(0, leaf.max_def);
        }
        if (bytes)
          views_.push_back(col.GetBytes(i));
        else
          ints_.push_back(col.GetInt(i));
      }
      if (bytes)
        w.AddBytesBatch(views_.data(), views_.size());
      else
        w.AddInts(ints_.data(), ints_.size());
      return Status::OK();
    }
    for (size_t i = begin; i < end; ++i) {
      if (col.IsNull(i)) {
        w.AddLevels(0, 0);
        continue;
      }
      w.AddLevels(0, leaf.max_def);
      switch (leaf.conversion) {
        case LeafConversion::kBoolean: w.AddInt(col.GetInt(i) != 0); break;
        case LeafConversion::kInt:
        case LeafConversion::kTimeMillis: w.AddInt(col.GetInt(i)); break;
        case LeafConversion::kFloat:
        case LeafConversion::kDouble: w.AddDouble(col.GetDouble(i)); break;
        case LeafConversion::kBytes: w.AddBytes(col.GetBytes(i)); break;
        default: KL_RETURN_IF_ERROR(AddValue(&w, leaf, type, col.Get(i))); break;
      }
    }
    return Status::OK();
  }

  Status AddValue(ColumnChunkWriter* w, const LeafInfo& leaf, const DataType& type, const Datum& d) {
    using K = Datum::Kind;
    switch (leaf.conversion) {
      case LeafConversion::kBoolean:
      case LeafConversion::kInt:
      case LeafConversion::kTimeMillis:
      case LeafConversion::kUInt32:
        if (d.kind() != K::kInt && d.kind() != K::kBool) return KindMismatch(type, d);
        w->AddInt(leaf.conversion == LeafConversion::kBoolean ? (d.as_int() != 0) : d.as_int());
        return Status::OK();
      case LeafConversion::kFloat:
      case LeafConversion::kDouble:
        if (d.kind() == K::kDouble)
          w->AddDouble(d.as_double());
        else if (d.kind() == K::kInt)
          w->AddDouble(static_cast<double>(d.as_int()));
        else
          return KindMismatch(type, d);
        return Status::OK();
      case LeafConversion::kBytes:
        if (d.kind() != K::kBytes) return KindMismatch(type, d);
        w->AddBytes(d.as_bytes());
        return Status::OK();
      case LeafConversion::kDecimalInt:
        if (d.kind() != K::kDecimal) return KindMismatch(type, d);
        w->AddInt(static_cast<int64_t>(d.as_decimal()));
        return Status::OK();
      case LeafConversion::kDecimalBytes:
        if (d.kind() != K::kDecimal) return KindMismatch(type, d);
        w->AddBytes(DecimalToBigEndian(d.as_decimal(), leaf.type_length));
        return Status::OK();
      case LeafConversion::kTimestampMillis:
      case LeafConversion::kTimestampMicros:
      case LeafConversion::kTimestampNanos:
      case LeafConversion::kInt96: {
        if (d.kind() != K::kTimestamp) return KindMismatch(type, d);
        Timestamp ts = d.as_timestamp();
        if (leaf.conversion == LeafConversion::kTimestampMillis)
          w->AddInt(ts.millis);
        else if (leaf.conversion == LeafConversion::kTimestampMicros)
          w->AddInt(ts.ToMicros());
        else if (leaf.conversion == LeafConversion::kTimestampNanos)
          w->AddInt(ts.millis * 1000000 + ts.nanos);
        else {
          char b[12];
          TimestampToInt96(ts, b);
          w->AddBytes(std::string_view(b, 12));
        }
        return Status::OK();
      }
      default: return Status::NotSupported("writing values of type " + type.ToString());
    }
  }

  void EmitEmpty(const LevelNode& node, int16_t rep, int16_t def) {
    for (int l = node.first_leaf; l < node.leaf_end; ++l) writers_[static_cast<size_t>(l)]->AddLevels(rep, def);
  }

  // Dremel shredding: one level entry per leaf for every value, null or empty collection.
  Status Shred(const LevelNode& node, const DataType& type, const Datum& d, int16_t rep) {
    if (d.is_null()) {
      if (!node.nullable) return Status::InvalidArgument("null for NOT NULL type " + type.ToString());
      EmitEmpty(node, rep, static_cast<int16_t>(node.def - 1));
      return Status::OK();
    }
    switch (node.kind) {
      case LevelNode::Kind::kLeaf: {
        ColumnChunkWriter* w = writers_[static_cast<size_t>(node.leaf)].get();
        const LeafInfo& leaf = file_schema_.leaves()[static_cast<size_t>(node.leaf)];
        w->AddLevels(rep, node.def);
        return AddValue(w, leaf, type, d);
      }
      case LevelNode::Kind::kRow: {
        if (d.kind() != Datum::Kind::kList) return KindMismatch(type, d);
        const DatumList& items = d.as_list();
        const auto& fields = type.fields();
        if (items.size() > fields.size())
          return Status::InvalidArgument("ROW value with too many fields for " + type.ToString());
        static const Datum kNull;
        for (size_t i = 0; i < node.children.size(); ++i) {
          KL_RETURN_IF_ERROR(Shred(node.children[i], fields[i].type, i < items.size() ? items[i] : kNull, rep));
        }
        return Status::OK();
      }
      case LevelNode::Kind::kList: {
        if (d.kind() != Datum::Kind::kList) return KindMismatch(type, d);
        const DatumList& items = d.as_list();
        if (items.empty()) {
          EmitEmpty(node, rep, static_cast<int16_t>(node.repeated_def - 1));
          return Status::OK();
        }
        for (size_t i = 0; i < items.size(); ++i) {
          KL_RETURN_IF_ERROR(Shred(node.children[0], type.element(), items[i], i == 0 ? rep : node.rep));
        }
        return Status::OK();
      }
      case LevelNode::Kind::kMap: {
        if (d.kind() != Datum::Kind::kList) return KindMismatch(type, d);
        DatumList counted;
        const DatumList* items = &d.as_list();
        DataType key_type, value_type;
        if (type.root() == TypeRoot::kMultiset) {
          // Paimon stores a multiset as a map from element to its count.
          for (const Datum& e : *items) {
            bool found = false;
            for (size_t k = 0; k < counted.size(); k += 2) {
              if (counted[k] == e) {
                counted[k + 1] = Datum::Int(counted[k + 1].as_int() + 1);
                found = true;
                break;
              }
            }
            if (!found) {
              counted.push_back(e);
              counted.push_back(Datum::Int(1));
            }
          }
          items = &counted;
          key_type = type.element().NotNull();
          value_type = DataType::Int().NotNull();
        } else {
          if (items->size() % 2 != 0) return Status::InvalidArgument("MAP value with an odd number of items");
          key_type = type.key();
          value_type = type.value();
        }
        if (items->empty()) {
          EmitEmpty(node, rep, static_cast<int16_t>(node.repeated_def - 1));
          return Status::OK();
        }
        for (size_t i = 0; i < items->size(); i += 2) {
          int16_t r = i == 0 ? rep : node.rep;
          KL_RETURN_IF_ERROR(Shred(node.children[0], key_type, (*items)[i], r));
          KL_RETURN_IF_ERROR(Shred(node.children[1], value_type, (*items)[i + 1], r));
        }
        return Status::OK();
      }
    }
    return Status::Internal("unknown level node");
  }

  Status FlushRowGroup() {
    RowGroup group;
    group.num_rows = rows_in_group_;
    group.ordinal = static_cast<int16_t>(row_groups_.size());
    std::vector<ColumnIndex> column_indexes(writers_.size());
    std::vector<OffsetIndex> offset_indexes(writers_.size());
    std::vector<bool> has_ci(writers_.size(), false);
    int64_t compressed = 0;
    group.file_offset = static_cast<int64_t>(sink_->size());
    for (size_t c = 0; c < writers_.size(); ++c) {
      ColumnChunk chunk;
      bool has = false;
      KL_RETURN_IF_ERROR(writers_[c]->Finish(static_cast<int64_t>(sink_->size()), &chunk, &column_indexes[c],
                                             &offset_indexes[c], &has));
      has_ci[c] = has;
      KL_RETURN_IF_ERROR(sink_->Append(writers_[c]->dictionary_bytes()));
      KL_RETURN_IF_ERROR(sink_->Append(writers_[c]->bytes()));
      group.total_byte_size += chunk.meta_data.total_uncompressed_size;
      compressed += chunk.meta_data.total_compressed_size;
      group.columns.push_back(std::move(chunk));
      writers_[c]->ResetForRowGroup();
    }
    group.total_compressed_size = compressed;
    row_groups_.push_back(std::move(group));
    column_indexes_.push_back(std::move(column_indexes));
    offset_indexes_.push_back(std::move(offset_indexes));
    has_column_index_.push_back(std::move(has_ci));
    rows_in_group_ = 0;
    return Status::OK();
  }

  std::unique_ptr<Sink> sink_;
  ParquetWriterOptions options_;
  RowType schema_;
  std::vector<SchemaElement> elements_;
  FileSchema file_schema_;
  std::vector<std::unique_ptr<ColumnChunkWriter>> writers_;
  std::vector<int64_t> top_nulls_;
  std::vector<std::string_view> views_;  // scratch for bulk flat writes
  std::vector<int64_t> ints_;
  int64_t rows_in_group_ = 0;
  int64_t buffered_bytes_ = 0;  // pages (and the open page) of the current row group
  std::vector<RowGroup> row_groups_;
  std::vector<std::vector<ColumnIndex>> column_indexes_;
  std::vector<std::vector<OffsetIndex>> offset_indexes_;
  std::vector<std::vector<bool>> has_column_index_;
  bool closed_ = false;
};

ParquetWriter::ParquetWriter(RowType schema, std::unique_ptr<Impl> impl)
    : schema_(std::move(schema)), impl_(std::move(impl)) {}

ParquetWriter::~ParquetWriter() = default;

Result<std::unique_ptr<ParquetWriter>> ParquetWriter::Open(const std::string& path, RowType schema,
                                                           ParquetWriterOptions options) {
  KL_ASSIGN_OR_RETURN(auto file, AppendFile::Open(path, /*truncate=*/true));
  bool sync = options.sync;
  auto impl = std::make_unique<Impl>(std::make_unique<FileSink>(std::move(file), sync), std::move(options));
  KL_RETURN_IF_ERROR(impl->Init(schema).WithContext("writing " + path));
  return std::unique_ptr<ParquetWriter>(new ParquetWriter(std::move(schema), std::move(impl)));
}

Result<std::unique_ptr<ParquetWriter>> ParquetWriter::OpenInMemory(std::string* sink, RowType schema,
                                                                   ParquetWriterOptions options) {
  auto impl = std::make_unique<Impl>(std::make_unique<StringSink>(sink), std::move(options));
  KL_RETURN_IF_ERROR(impl->Init(schema));
  return std::unique_ptr<ParquetWriter>(new ParquetWriter(std::move(schema), std::move(impl)));
}

Status ParquetWriter::Write(const ColumnBatch& batch) { return impl_->Write(batch); }

Result<ParquetWriteResult> ParquetWriter::Close() { return impl_->Close(); }

uint64_t ParquetWriter::EstimatedSize() const { return impl_->EstimatedSize(); }

}  // namespace kl::format::parquet
