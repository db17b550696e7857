#include "format/parquet/parquet_reader.h"

#include <algorithm>

#include "common/coding.h"
#include "format/parquet/column/column_reader.h"
#include "format/parquet/file_cache.h"

namespace kl::format::parquet {

// ---------------------------------------------------------------------------------------
// Field readers: produce the rows of one top-level column of one row group.

class ParquetBatchReader::FieldReader {
 public:
  virtual ~FieldReader() = default;
  virtual Status Skip(int64_t rows) = 0;
  virtual Status Read(int64_t rows, Column* out) = 0;
  int64_t pages_skipped = 0;
};

namespace {

std::string Where(const ParquetReader& file, size_t rg, const LeafInfo& leaf) {
  std::string path;
  for (const auto& p : file.file_schema().nodes()[leaf.node].path) path += (path.empty() ? "" : ".") + p;
  return "reading " + file.name() + ": row group " + std::to_string(rg) + ", column " + path;
}

// A column without repetition: one level (at most) per row, values straight into the column.
class FlatFieldReader : public ParquetBatchReader::FieldReader {
 public:
  FlatFieldReader(const ParquetReader& file, size_t rg, int leaf)
      : chunk_(file.data(), file.metadata().row_groups[rg].columns[static_cast<size_t>(leaf)],
               file.file_schema().leaves()[static_cast<size_t>(leaf)],
               Where(file, rg, file.file_schema().leaves()[static_cast<size_t>(leaf)])) {}

  Status Open() { return chunk_.Open(); }

  Status Read(int64_t rows, Column* out) override {
    while (rows > 0) {
      if (pos_ == chunk_.num_levels()) KL_RETURN_IF_ERROR(LoadPage());
      size_t take = std::min<size_t>(static_cast<size_t>(rows), chunk_.num_levels() - pos_);
      const int16_t* def = chunk_.def_levels();
      if (def == nullptr) {
        chunk_.AppendValues(vpos_, take, out);
        vpos_ += take;
      } else {
        const int16_t max = chunk_.leaf().max_def;
        size_t i = pos_, end = pos_ + take;
        while (i < end) {
          if (def[i] == max) {
            size_t j = i + 1;
            while (j < end && def[j] == max) ++j;
            chunk_.AppendValues(vpos_, j - i, out);
            vpos_ += j - i;
            i = j;
          } else {
            out->AppendNull();
            ++i;
          }
        }
      }
      pos_ += take;
      rows -= static_cast<int64_t>(take);
    }
    return Status::OK();
  }

  Status Skip(int64_t rows) override {
    while (rows > 0) {
      if (pos_ == chunk_.num_levels()) {
        KL_ASSIGN_OR_RETURN(int64_t skipped, chunk_.TrySkipPage(rows));
        if (skipped > 0) {
          rows -= skipped;
          ++pages_skipped;
          continue;
        }
        KL_RETURN_IF_ERROR(LoadPage());
      }
      size_t take = std::min<size_t>(static_cast<size_t>(rows), chunk_.num_levels() - pos_);
      const int16_t* def = chunk_.def_levels();
      if (def == nullptr) {
        vpos_ += take;
      } else {
        const int16_t max = chunk_.leaf().max_def;
        for (size_t i = pos_; i < pos_ + take; ++i) vpos_ += def[i] == max;
      }
      pos_ += take;
      rows -= static_cast<int64_t>(take);
    }
    return Status::OK();
  }

 private:
  Status LoadPage() {
    bool done = false;
    KL_RETURN_IF_ERROR(chunk_.NextPage(&done));
    if (done) return Status::Corruption(chunk_.where() + ": column ends before the row group's last row");
    pos_ = 0;
    vpos_ = 0;
    return Status::OK();
  }

  ColumnChunkReader chunk_;
  size_t pos_ = 0;   // next level of the page
  size_t vpos_ = 0;  // next non-null value of the page
};

// Nested columns hold a row group's levels in memory; beyond this many per leaf (far above
// real Paimon data) the reader refuses rather than exhaust memory.
constexpr size_t kMaxNestedLevels = size_t{1} << 27;

// A column with nested values: loads the levels and values of all its leaves for the row
// group, then assembles one Datum per row (Dremel record assembly).
class NestedFieldReader : public ParquetBatchReader::FieldReader {
 public:
  NestedFieldReader(const ParquetReader& file, size_t rg, const LevelNode& levels)
      : file_(file), rg_(rg), levels_(levels), rows_left_(file.row_group_num_rows(rg)) {}

  Status Read(int64_t rows, Column* out) override {
    KL_RETURN_IF_ERROR(Load());
    for (int64_t i = 0; i < rows; ++i) {
      KL_ASSIGN_OR_RETURN(Datum d, ReadRow());
      out->AppendNested(std::move(d));
    }
    return Finish();
  }

  Status Skip(int64_t rows) override {
    KL_RETURN_IF_ERROR(Load());
    for (int64_t i = 0; i < rows; ++i) {
      KL_ASSIGN_OR_RETURN(Datum d, ReadRow());
    }
    return Finish();
  }

 private:
  struct Leaf {
    std::vector<int16_t> def, rep;
    Column values;
    size_t pos = 0, vpos = 0;
    int16_t max_def = 0;
    std::string where;
  };

  Status Load() {
    if (loaded_) return Status::OK();
    loaded_ = true;
    const RowGroup& group = file_.metadata().row_groups[rg_];
    for (int l = levels_.first_leaf; l < levels_.leaf_end; ++l) {
      const LeafInfo& info = file_.file_schema().leaves()[l];
      Leaf leaf;
      leaf.values = Column(info.type);
      leaf.max_def = info.max_def;
      ColumnChunkReader chunk(file_.data(), group.columns[l], info, Where(file_, rg_, info));
      leaf.where = chunk.where();
      KL_RETURN_IF_ERROR(chunk.Open());
      while (true) {
        bool done = false;
        KL_RETURN_IF_ERROR(chunk.NextPage(&done));
        if (done) break;
        size_t n = chunk.num_levels();
        if (leaf.def.size() + n > kMaxNestedLevels) {
          return Status::NotSupported(leaf.where + ": more than " + std::to_string(kMaxNestedLevels) +
                                      " nested values in one row group");
        }
        if (chunk.def_levels())
          leaf.def.insert(leaf.def.end(), chunk.def_levels(), chunk.def_levels() + n);
        else
          leaf.def.insert(leaf.def.end(), n, info.max_def);
        if (chunk.rep_levels())
          leaf.rep.insert(leaf.rep.end(), chunk.rep_levels(), chunk.rep_levels() + n);
        else
          leaf.rep.insert(leaf.rep.end(), n, 0);
        chunk.AppendValues(0, chunk.values().size, &leaf.values);
      }
      leaves_.push_back(std::move(leaf));
    }
    return Status::OK();
  }

  Leaf& LeafAt(int l) { return leaves_[static_cast<size_t>(l - levels_.first_leaf)]; }

  Status Corrupt(const Leaf& leaf, const std::string& what) {
    return Status::Corruption(leaf.where + ": " + what + " at level entry " + std::to_string(leaf.pos));
  }

  // One entry in every leaf below `node` stands for a null or empty value.
  Status ConsumeEmpty(const LevelNode& node) {
    for (int l = node.first_leaf; l < node.leaf_end; ++l) {
      Leaf& leaf = LeafAt(l);
      if (leaf.pos >= leaf.def.size()) return Corrupt(leaf, "levels end early");
      if (leaf.def[leaf.pos] == leaf.max_def) return Corrupt(leaf, "value where the levels say none");
      ++leaf.pos;
    }
    return Status::OK();
  }

  Result<Datum> ReadNode(const LevelNode& node) {
    Leaf& first = LeafAt(node.first_leaf);
    if (first.pos >= first.def.size()) return Corrupt(first, "levels end early");
    int16_t d = first.def[first.pos];
    if (d < node.def) {
      if (!node.nullable) return Corrupt(first, "null in a required field");
      KL_RETURN_IF_ERROR(ConsumeEmpty(node));
      return Datum();
    }
    switch (node.kind) {
      case LevelNode::Kind::kLeaf: {
        Leaf& leaf = LeafAt(node.leaf);
        if (leaf.def[leaf.pos] != leaf.max_def) return Corrupt(leaf, "missing value");
        if (leaf.vpos >= leaf.values.size()) return Corrupt(leaf, "more levels than values");
        ++leaf.pos;
        return leaf.values.Get(leaf.vpos++);
      }
      case LevelNode::Kind::kRow: {
        DatumList items;
        items.reserve(node.children.size());
        for (const auto& child : node.children) {
          KL_ASSIGN_OR_RETURN(Datum item, ReadNode(child));
          items.push_back(std::move(item));
        }
        return Datum::List(std::move(items));
      }
      case LevelNode::Kind::kList:
      case LevelNode::Kind::kMap: {
        if (d < node.repeated_def) {
          KL_RETURN_IF_ERROR(ConsumeEmpty(node));
          return Datum::List({});
        }
        DatumList items;
        while (true) {
          for (const auto& child : node.children) {
            KL_ASSIGN_OR_RETURN(Datum item, ReadNode(child));
            items.push_back(std::move(item));
          }
          if (first.pos >= first.rep.size() || first.rep[first.pos] < node.rep) break;
          if (first.rep[first.pos] > node.rep) return Corrupt(first, "repetition level deeper than the list");
        }
        return Datum::List(std::move(items));
      }
    }
    return Status::Internal("unknown level node");
  }

  Result<Datum> ReadRow() {
    --rows_left_;
    Leaf& first = LeafAt(levels_.first_leaf);
    if (first.pos < first.rep.size() && first.rep[first.pos] != 0) return Corrupt(first, "row starts mid-list");
    return ReadNode(levels_);
  }

  // Once every row of the row group is out, every leaf must be used up exactly.
  Status Finish() {
    if (rows_left_ > 0) return Status::OK();
    for (auto& leaf : leaves_) {
      if (leaf.pos != leaf.def.size() || leaf.vpos != leaf.values.size()) {
        return Corrupt(leaf, "levels or values left over after the row group's last row");
      }
    }
    return Status::OK();
  }

  const ParquetReader& file_;
  size_t rg_;
  const LevelNode& levels_;
  bool loaded_ = false;
  int64_t rows_left_;
  std::vector<Leaf> leaves_;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// ParquetReader

Result<std::unique_ptr<ParquetReader>> ParquetReader::Open(const std::string& path) {
  std::unique_ptr<ParquetReader> r(new ParquetReader());
  r->name_ = path;
  KL_ASSIGN_OR_RETURN(r->mapped_, MappedFile::Open(path));
  r->data_ = r->mapped_->data();
  KL_RETURN_IF_ERROR(r->Init());
  return r;
}

Result<std::shared_ptr<const ParquetReader>> ParquetReader::OpenShared(const std::string& path) {
  return ParquetFileCache::Global().Open(path);
}

Result<std::unique_ptr<ParquetReader>> ParquetReader::OpenBuffer(std::string data, std::string name) {
  std::unique_ptr<ParquetReader> r(new ParquetReader());
  r->name_ = std::move(name);
  r->owned_ = std::move(data);
  r->data_ = r->owned_;
  KL_RETURN_IF_ERROR(r->Init());
  return r;
}

Status ParquetReader::Init() {
  auto corrupt = [&](const std::string& what) { return Status::Corruption("reading " + name_ + ": " + what); };
  if (data_.size() < 12) return corrupt("file of " + std::to_string(data_.size()) + " bytes is too short for Parquet");
  if (data_.substr(0, 4) != "PAR1") return corrupt("missing PAR1 magic at the start");
  std::string_view tail = data_.substr(data_.size() - 4);
  if (tail == "PARE") return Status::NotSupported("reading " + name_ + ": encrypted Parquet footers are not supported");
  if (tail != "PAR1") return corrupt("missing PAR1 magic at the end (truncated file?)");
  uint32_t footer_len = LoadLE32(data_.data() + data_.size() - 8);
  if (footer_len > data_.size() - 12) {
    return corrupt("footer length " + std::to_string(footer_len) + " exceeds the file");
  }
  std::string error;
  if (!ParseFileMetaData(data_.substr(data_.size() - 8 - footer_len, footer_len), &metadata_, &error)) {
    return corrupt("bad footer: " + error);
  }
  Result<FileSchema> schema = FileSchema::Make(metadata_.schema);
  if (!schema.ok()) return schema.status().WithContext("reading " + name_ + ": schema");
  schema_ = std::move(schema).value();
  if (metadata_.num_rows < 0) return corrupt("negative row count");
  const auto& leaves = schema_.leaves();
  int64_t total = 0;
  for (size_t g = 0; g < metadata_.row_groups.size(); ++g) {
    const RowGroup& rg = metadata_.row_groups[g];
    std::string where = "row group " + std::to_string(g) + ": ";
    if (rg.num_rows < 0) return corrupt(where + "negative row count");
    if (rg.columns.size() != leaves.size()) {
      return corrupt(where + std::to_string(rg.columns.size()) + " column chunks for " + std::to_string(leaves.size()) +
                     " leaf columns");
    }
    for (size_t c = 0; c < leaves.size(); ++c) {
      const ColumnChunk& chunk = rg.columns[c];
      if (chunk.has_meta_data && !chunk.meta_data.path_in_schema.empty() &&
          chunk.meta_data.path_in_schema != schema_.nodes()[leaves[c].node].path) {
        return corrupt(where + "column chunk " + std::to_string(c) + " does not match the schema path");
      }
      // A flat column holds one value (or null) per row.
      if (chunk.has_meta_data && leaves[c].max_rep == 0 && chunk.meta_data.num_values != rg.num_rows) {
        return corrupt(where + "column chunk " + std::to_string(c) + " holds " +
                       std::to_string(chunk.meta_data.num_values) + " values for " + std::to_string(rg.num_rows) +
                       " rows");
      }
    }
    total += rg.num_rows;
    std::vector<ColumnStatistics> stats(schema_.top_level().size());
    for (size_t t = 0; t < stats.size(); ++t) {
      const LevelNode& levels = schema_.levels(t);
      stats[t].num_values = rg.num_rows;
      if (levels.kind != LevelNode::Kind::kLeaf) continue;
      const ColumnChunk& chunk = rg.columns[static_cast<size_t>(levels.leaf)];
      if (!chunk.has_meta_data) continue;
      stats[t] =
          StatisticsFromParquet(leaves[static_cast<size_t>(levels.leaf)], chunk.meta_data.statistics, rg.num_rows);
    }
    stats_.push_back(std::move(stats));
  }
  if (total != metadata_.num_rows) {
    return corrupt("row groups hold " + std::to_string(total) + " rows, the footer says " +
                   std::to_string(metadata_.num_rows));
  }
  return Status::OK();
}

Result<std::unique_ptr<ParquetBatchReader>> ParquetReader::NewBatchReader(ParquetReadOptions options) const {
  if (options.columns.empty()) {
    for (size_t i = 0; i < schema().size(); ++i) options.columns.push_back(static_cast<int>(i));
  }
  for (int c : options.columns) {
    if (c < 0 || static_cast<size_t>(c) >= schema().size()) {
      return Status::InvalidArgument("reading " + name_ + ": no column " + std::to_string(c) + " (file has " +
                                     std::to_string(schema().size()) + ")");
    }
  }
  if (options.batch_rows == 0) options.batch_rows = 1;
  RowType projected = schema().Project(options.columns);
  return std::unique_ptr<ParquetBatchReader>(new ParquetBatchReader(this, std::move(options), std::move(projected)));
}

Result<ColumnBatch> ParquetReader::ReadAll(const std::vector<int>& columns) const {
  ParquetReadOptions options;
  options.columns = columns;
  KL_ASSIGN_OR_RETURN(auto reader, NewBatchReader(options));
  std::vector<int> cols = columns;
  if (cols.empty()) {
    for (size_t i = 0; i < schema().size(); ++i) cols.push_back(static_cast<int>(i));
  }
  ColumnBatch all(schema().Project(cols));
  ColumnBatch batch;
  while (true) {
    KL_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
    if (!more) break;
    for (size_t c = 0; c < all.num_columns(); ++c) {
      all.mutable_column(c).AppendRange(batch.column(c), 0, batch.num_rows());
    }
    all.SetNumRows(all.num_rows() + batch.num_rows());
  }
  return all;
}

// ---------------------------------------------------------------------------------------
// ParquetBatchReader

ParquetBatchReader::ParquetBatchReader(const ParquetReader* file, ParquetReadOptions options, RowType schema)
    : file_(file), options_(std::move(options)), schema_(std::move(schema)) {}

ParquetBatchReader::~ParquetBatchReader() = default;

int64_t ParquetBatchReader::pages_skipped() const {
  int64_t n = pages_skipped_done_;
  for (const auto& r : readers_) n += r->pages_skipped;
  return n;
}

Result<std::vector<ParquetBatchReader::RowRange>> ParquetBatchReader::SelectRows(size_t rg) {
  const RowGroup& group = file_->metadata().row_groups[rg];
  std::vector<RowRange> all = {{0, group.num_rows}};
  if (!options_.predicate || !options_.use_page_index) return all;
  const FileSchema& schema = file_->file_schema();
  std::string_view data = file_->data();
  std::vector<RowRange> excluded;
  for (size_t t = 0; t < schema.top_level().size(); ++t) {
    const LevelNode& levels = schema.levels(t);
    if (levels.kind != LevelNode::Kind::kLeaf) continue;
    const auto& wanted = options_.predicate_columns;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), static_cast<int>(t)) == wanted.end()) continue;
    const ColumnChunk& chunk = group.columns[static_cast<size_t>(levels.leaf)];
    if (!chunk.column_index_offset || !chunk.column_index_length || !chunk.offset_index_offset ||
        !chunk.offset_index_length) {
      continue;
    }
    auto slice = [&](int64_t off, int32_t len, std::string_view* out) {
      if (off < 0 || len < 0 || static_cast<uint64_t>(off) + static_cast<uint64_t>(len) > data.size()) return false;
      *out = data.substr(static_cast<size_t>(off), static_cast<size_t>(len));
      return true;
    };
    std::string_view ci_bytes, oi_bytes;
    std::string where = "reading " + file_->name() + ": row group " + std::to_string(rg) + ", column " +
                        schema.row_type().field(t).name + ": page index";
    if (!slice(*chunk.column_index_offset, *chunk.column_index_length, &ci_bytes) ||
        !slice(*chunk.offset_index_offset, *chunk.offset_index_length, &oi_bytes)) {
      return Status::Corruption(where + " lies outside the file");
    }
    ColumnIndex ci;
    OffsetIndex oi;
    std::string error;
    if (!ParseColumnIndex(ci_bytes, &ci, &error) || !ParseOffsetIndex(oi_bytes, &oi, &error)) {
      return Status::Corruption(where + ": " + error);
    }
    if (ci.null_pages.size() != oi.page_locations.size()) return Status::Corruption(where + ": page counts differ");
    const LeafInfo& leaf = schema.leaves()[static_cast<size_t>(levels.leaf)];
    for (size_t p = 0; p < oi.page_locations.size(); ++p) {
      int64_t begin = oi.page_locations[p].first_row_index;
      int64_t end = p + 1 < oi.page_locations.size() ? oi.page_locations[p + 1].first_row_index : group.num_rows;
      if (begin < 0 || end < begin || end > group.num_rows) return Status::Corruption(where + ": bad page row ranges");
      ColumnStatistics stats;
      stats.num_values = end - begin;
      if (!ci.null_counts.empty()) {
        stats.has_null_count = true;
        stats.null_count = ci.null_counts[p];
      }
      if (ci.null_pages[p]) {
        stats.has_null_count = true;
        stats.null_count = end - begin;
      } else if (DecodeStatValue(leaf, ci.min_values[p], &stats.min) &&
                 DecodeStatValue(leaf, ci.max_values[p], &stats.max)) {
        stats.has_min_max = true;
      }
      int column = static_cast<int>(t);
      StatsLookup lookup = [&](int c) -> const ColumnStatistics* { return c == column ? &stats : nullptr; };
      if (!options_.predicate(lookup)) excluded.push_back({begin, end});
    }
  }
  if (excluded.empty()) return all;
  std::sort(excluded.begin(), excluded.end(), [](const RowRange& a, const RowRange& b) { return a.begin < b.begin; });
  std::vector<RowRange> selected;
  int64_t cursor = 0;
  for (const auto& e : excluded) {
    if (e.begin > cursor) selected.push_back({cursor, e.begin});
    cursor = std::max(cursor, e.end);
  }
  if (cursor < group.num_rows) selected.push_back({cursor, group.num_rows});
  return selected;
}

Status ParquetBatchReader::StartRowGroup(size_t rg, bool* selected) {
  for (const auto& r : readers_) pages_skipped_done_ += r->pages_skipped;
  readers_.clear();
  const ParquetReader& file = *file_;
  int64_t rows = file.row_group_num_rows(rg);
  if (options_.predicate) {
    StatsLookup lookup = [&](int c) -> const ColumnStatistics* {
      if (c < 0 || static_cast<size_t>(c) >= file.schema().size()) return nullptr;
      return &file.statistics(rg, static_cast<size_t>(c));
    };
    if (!options_.predicate(lookup)) {
      ++row_groups_skipped_;
      rows_skipped_ += rows;
      *selected = false;
      return Status::OK();
    }
  }
  KL_ASSIGN_OR_RETURN(ranges_, SelectRows(rg));
  int64_t kept = 0;
  for (const auto& r : ranges_) kept += r.end - r.begin;
  rows_skipped_ += rows - kept;
  if (kept == 0) {
    *selected = false;
    return Status::OK();
  }
  for (int c : options_.columns) {
    const LevelNode& levels = file.file_schema().levels(static_cast<size_t>(c));
    if (levels.kind == LevelNode::Kind::kLeaf) {
      auto reader = std::make_unique<FlatFieldReader>(file, rg, levels.leaf);
      KL_RETURN_IF_ERROR(reader->Open());
      readers_.push_back(std::move(reader));
    } else {
      readers_.push_back(std::make_unique<NestedFieldReader>(file, rg, levels));
    }
  }
  range_index_ = 0;
  row_ = 0;
  *selected = true;
  return Status::OK();
}

Result<bool> ParquetBatchReader::Next(ColumnBatch* out) {
  // Reuse the caller's columns when they fit: their capacity makes the next batch free of
  // allocations (and of the page faults of fresh memory).
  if (out->num_columns() == schema_.size() && out->schema() == schema_) {
    out->Clear();
  } else {
    *out = ColumnBatch(schema_);
  }
  size_t produced = 0;
  while (produced < options_.batch_rows) {
    if (range_index_ >= ranges_.size()) {
      bool selected = false;
      while (!selected && next_row_group_ < file_->num_row_groups()) {
        KL_RETURN_IF_ERROR(StartRowGroup(next_row_group_++, &selected));
      }
      if (!selected) {
        ranges_.clear();
        range_index_ = 0;
        break;
      }
    }
    const RowRange& range = ranges_[range_index_];
    if (row_ < range.begin) {
      for (auto& r : readers_) KL_RETURN_IF_ERROR(r->Skip(range.begin - row_));
      row_ = range.begin;
    }
    int64_t take = std::min<int64_t>(range.end - row_, static_cast<int64_t>(options_.batch_rows - produced));
    for (size_t c = 0; c < readers_.size(); ++c) {
      KL_RETURN_IF_ERROR(readers_[c]->Read(take, &out->mutable_column(c)));
    }
    row_ += take;
    produced += static_cast<size_t>(take);
    if (row_ >= range.end) ++range_index_;
    // A batch ends with its row group: string columns stay in the row group's dictionary.
    if (range_index_ >= ranges_.size()) break;
  }
  out->SetNumRows(produced);
  return produced > 0;
}

}  // namespace kl::format::parquet
