#include "table/table_context.h"

#include "common/string_util.h"
#include "table/data/binary_row.h"

namespace kl::table {

Result<std::shared_ptr<SplitReadExtras>> LoadDeletionVectors(const std::map<std::string, DeletionFile>& files) {
  auto extras = std::make_shared<SplitReadExtras>();
  for (const auto& [name, file] : files) {
    auto dv = ReadDeletionVector(file);
    if (!dv.ok()) return dv.status().WithContext("data file " + name);
    extras->deletion_vectors[name] = std::make_shared<const DeletionVector>(std::move(dv).value());
  }
  return extras;
}

namespace {
// The file format of `options` with some of them replaced (a changelog's own format, a
// level's own compression).
Result<std::unique_ptr<FileFormat>> FormatWith(const TableOptions& options,
                                               const std::map<std::string, std::string>& replaced) {
  std::map<std::string, std::string> opts = options.map();
  for (const auto& [key, value] : replaced) opts[key] = value;
  TableOptions with(std::move(opts));
  return CreateFileFormat(with.file_format(), with);
}
}  // namespace

Result<std::shared_ptr<TableContext>> TableContext::Create(std::string path, TableSchema schema) {
  std::shared_ptr<TableContext> ctx(new TableContext());
  ctx->path_ = std::move(path);
  ctx->schema_ = std::move(schema);
  ctx->options_ = ctx->schema_.table_options();
  auto format = CreateFileFormat(ctx->options_.file_format(), ctx->options_);
  if (format.ok())
    ctx->format_ = std::move(format).value();
  else
    ctx->format_status_ = format.status().WithContext("table " + ctx->path_);
  ctx->level_formats_status_ = ctx->CreateLevelFormats().WithContext("table " + ctx->path_);
  auto changelog_format = ctx->options_.Get("changelog-file.format");
  auto changelog_compression = ctx->options_.Get("changelog-file.compression");
  if (changelog_format || changelog_compression) {
    std::map<std::string, std::string> replaced;
    if (changelog_format) replaced["file.format"] = *changelog_format;
    if (changelog_compression) replaced["file.compression"] = *changelog_compression;
    auto f = FormatWith(ctx->options_, replaced);
    if (f.ok())
      ctx->changelog_format_ = std::move(f).value();
    else
      ctx->changelog_format_status_ = f.status().WithContext("table " + ctx->path_ + ", changelog files");
  }
  ctx->paths_ =
      std::make_unique<PathFactory>(ctx->path_, ctx->schema_.PartitionType(), ctx->options_.partition_default_name());
  if (auto from = ctx->options_.Get("kubelake.external-path.rewrite.from")) {
    ctx->paths_->SetExternalPathRewrite(*from, ctx->options_.GetString("kubelake.external-path.rewrite.to", ""));
  }
  ctx->schemas_ = std::make_unique<SchemaCache>(ctx->path_);
  KL_ASSIGN_OR_RETURN(ctx->comparator_, ctx->ComparatorFor(ctx->schema_.fields));
  for (int k : ctx->schema_.TrimmedKeyIndexes())
    ctx->key_types_.push_back(ctx->schema_.fields.type(static_cast<size_t>(k)));
  return ctx;
}

Result<const FileFormat*> TableContext::WriteFormat() const {
  if (!format_) return format_status_;
  return format_.get();
}

Status TableContext::CreateLevelFormats() {
  KL_ASSIGN_OR_RETURN(auto per_level, options_.file_compression_per_level());
  for (const auto& [level, compression] : per_level) {
    auto f = FormatWith(options_, {{"file.compression", compression}});
    if (!f.ok()) {
      level_formats_.clear();
      return f.status().WithContext("option file.compression.per.level = \"" +
                                    *options_.Get("file.compression.per.level") + "\"");
    }
    level_formats_[level] = std::move(f).value();
  }
  return Status::OK();
}

Result<const FileFormat*> TableContext::WriteFormat(int level) const {
  if (!level_formats_status_.ok()) return level_formats_status_;
  auto it = level_formats_.find(level);
  if (it != level_formats_.end()) return it->second.get();
  return WriteFormat();
}

Result<const FileFormat*> TableContext::ChangelogWriteFormat() const {
  if (!changelog_format_status_.ok()) return changelog_format_status_;
  if (changelog_format_) return changelog_format_.get();
  return WriteFormat();
}

bool TableContext::ChangelogWritesLike(int level) const {
  auto data = WriteFormat(level);
  auto changelog = ChangelogWriteFormat();
  if (!data.ok() || !changelog.ok()) return false;
  if (*data == *changelog) return true;
  // Each format was made from the table's options with file.format and file.compression
  // replaced (FormatWith): the same two values make the same format.
  auto per_level = options_.file_compression_per_level();
  if (!per_level.ok()) return false;
  auto it = per_level->find(level);
  const std::string data_compression = it != per_level->end() ? it->second : options_.file_compression();
  const std::string format = options_.file_format();
  return EqualsIgnoreCase(options_.GetString("changelog-file.format", format), format) &&
         EqualsIgnoreCase(options_.GetString("changelog-file.compression", options_.file_compression()),
                          data_compression);
}

Result<KeyComparator> TableContext::ComparatorFor(const format::RowType& value_type) const {
  std::vector<int> keys, seqs;
  for (const auto& name : schema_.TrimmedPrimaryKeys()) {
    int i = value_type.IndexOf(name);
    if (i < 0) return Status::Internal("read layout lacks key column " + name);
    keys.push_back(i);
  }
  for (const auto& name : options_.sequence_fields()) {
    int i = value_type.IndexOf(name);
    if (i < 0) return Status::Internal("read layout lacks sequence column " + name);
    seqs.push_back(i);
  }
  return KeyComparator(std::move(keys), std::move(seqs), options_.sequence_descending());
}

Result<const TableSchema*> TableContext::SchemaById(int64_t id) {
  if (id == schema_.id) return &schema_;
  std::lock_guard<std::mutex> lock(schemas_mu_);
  return schemas_->Get(id);
}

FileOpener TableContext::OpenerFor(const std::string& partition, int32_t bucket, const format::RowType& read_type,
                                   std::shared_ptr<const SplitReadExtras> extras) {
  bool key_value = primary_key();
  // Shared, not copied: the opener is copied once per sorted run of a read.
  auto type = std::make_shared<const format::RowType>(read_type);
  return [this, partition, bucket, type, key_value,
          extras](const DataFileMeta& file) -> Result<std::unique_ptr<DataFileReader>> {
    const format::RowType& read_type = *type;
    KL_ASSIGN_OR_RETURN(const TableSchema* file_schema, SchemaById(file.schema_id));
    DataFileReadExtras file_extras;
    if (extras) {
      auto it = extras->deletion_vectors.find(file.file_name);
      if (it != extras->deletion_vectors.end()) file_extras.deletion_vector = it->second;
      file_extras.skip_by_stats = extras->skip_by_stats;
      file_extras.key_leaves = extras->key_leaves;
      file_extras.key_rows = extras->key_rows;
      file_extras.share_decodes_of = extras->share_decodes_of;
    }
    return DataFileReader::Open(paths_->DataFilePath(partition, bucket, file), file, *file_schema, read_type, key_value,
                                options_, file_extras);
  };
}

}  // namespace kl::table
