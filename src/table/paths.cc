#include "table/paths.h"

#include <cctype>

#include "common/file/file_util.h"
#include "common/random.h"
#include "common/string_util.h"
#include "table/data/binary_row.h"

namespace kl::table {

PathFactory::PathFactory(std::string table_path, format::RowType partition_type, std::string default_partition_name)
    : table_path_(std::move(table_path)),
      partition_type_(std::move(partition_type)),
      default_partition_name_(std::move(default_partition_name)),
      uuid_(RandomUuid()) {}

std::string PathFactory::ManifestDir() const { return JoinPath(table_path_, "manifest"); }
std::string PathFactory::IndexDir() const { return JoinPath(table_path_, "index"); }

std::string EscapePathName(std::string_view name) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : name) {
    unsigned char c = static_cast<unsigned char>(ch);
    bool escape = c < 0x20 || c == 0x7f || c == '"' || c == '#' || c == '%' || c == '\'' || c == '*' || c == '/' ||
                  c == ':' || c == '=' || c == '?' || c == '\\' || c == '{' || c == '[' || c == ']' || c == '^';
    if (escape) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::string PartitionValueText(const format::Datum& value, const format::DataType& type,
                               const std::string& default_name) {
  if (value.is_null()) return default_name;
  std::string text;
  if (type.root() == format::TypeRoot::kDate)
    text = std::to_string(value.as_int());
  else
    text = format::DatumToString(value, type);
  if (Trim(text).empty()) return default_name;
  return text;
}

std::string PathFactory::PartitionPath(const std::string& partition) const {
  if (partition_type_.size() == 0) return "";
  auto row = DeserializeBinaryRow(partition, TypesOf(partition_type_));
  std::string path;
  for (size_t i = 0; i < partition_type_.size(); ++i) {
    if (i > 0) path += "/";
    format::Datum v = row.ok() ? (*row)[i] : format::Datum();
    path += EscapePathName(partition_type_.field(i).name) + "=" +
            EscapePathName(PartitionValueText(v, partition_type_.type(i), default_partition_name_));
  }
  return path;
}

std::string PathFactory::BucketDir(const std::string& partition, int32_t bucket) const {
  std::string dir = table_path_;
  std::string p = PartitionPath(partition);
  if (!p.empty()) dir = JoinPath(dir, p);
  return JoinPath(dir, "bucket-" + std::to_string(bucket));
}

std::string PathFactory::NewFileName(const std::string& prefix, const std::string& extension) const {
  return prefix + uuid_ + "-" + std::to_string(counter_.fetch_add(1)) + (extension.empty() ? "" : "." + extension);
}

namespace {

// "file:/x", "FILE:///x", "file://x" -> "/x"; other text is taken as a local path.
std::string StripFileScheme(const std::string& uri) {
  std::string p = uri;
  if (p.size() >= 5 && EqualsIgnoreCase(std::string_view(p).substr(0, 5), "file:")) {
    p = p.substr(5);
    while (p.rfind("//", 0) == 0) p = p.substr(1);
  }
  return p;
}

}  // namespace

void PathFactory::SetExternalPathRewrite(std::string from, std::string to) {
  rewrite_from_ = StripFileScheme(from);
  while (rewrite_from_.size() > 1 && rewrite_from_.back() == '/') rewrite_from_.pop_back();
  rewrite_to_ = std::move(to);
}

std::string PathFactory::ExternalLocalPath(const std::string& uri) const {
  std::string p = StripFileScheme(uri);
  if (!rewrite_from_.empty() && p.rfind(rewrite_from_, 0) == 0 &&
      (p.size() == rewrite_from_.size() || p[rewrite_from_.size()] == '/')) {
    p = rewrite_to_ + p.substr(rewrite_from_.size());
  }
  return p;
}

std::string PathFactory::DataFilePath(const std::string& partition, int32_t bucket, const DataFileMeta& file) const {
  if (file.external_path && !file.external_path->empty()) return ExternalLocalPath(*file.external_path);
  return DataFilePath(partition, bucket, file.file_name);
}

std::string PathFactory::IndexFilePath(const std::string& partition, int32_t bucket, const IndexFileMeta& file,
                                       bool in_data_file_dir) const {
  if (file.external_path && !file.external_path->empty()) return ExternalLocalPath(*file.external_path);
  if (in_data_file_dir) return JoinPath(BucketDir(partition, bucket), file.file_name);
  return JoinPath(IndexDir(), file.file_name);
}

std::string PathFactory::DataFilePath(const std::string& partition, int32_t bucket,
                                      const std::string& file_name) const {
  return JoinPath(BucketDir(partition, bucket), file_name);
}

}  // namespace kl::table
