#include "table/schema/schema.h"

#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/file/parsed_file_cache.h"
#include "common/json.h"
#include "common/string_util.h"

namespace kl::table {

std::vector<std::string> TableSchema::TrimmedPrimaryKeys() const {
  std::vector<std::string> out;
  for (const auto& k : primary_keys) {
    if (std::find(partition_keys.begin(), partition_keys.end(), k) == partition_keys.end()) out.push_back(k);
  }
  // A primary key made only of partition fields keeps them all.
  return out.empty() ? primary_keys : out;
}

Result<std::vector<int>> TableSchema::IndexesOf(const std::vector<std::string>& names) const {
  std::vector<int> out;
  for (const auto& n : names) {
    int i = fields.IndexOf(n);
    if (i < 0) return Status::InvalidArgument("no column named \"" + n + "\"");
    out.push_back(i);
  }
  return out;
}

std::vector<int> TableSchema::PartitionIndexes() const {
  auto r = IndexesOf(partition_keys);
  return r.ok() ? *r : std::vector<int>{};
}

std::vector<int> TableSchema::TrimmedKeyIndexes() const {
  auto r = IndexesOf(TrimmedPrimaryKeys());
  return r.ok() ? *r : std::vector<int>{};
}

std::vector<int> TableSchema::BucketKeyIndexes() const {
  std::vector<std::string> keys = table_options().bucket_keys();
  if (keys.empty()) keys = TrimmedPrimaryKeys();
  if (!keys.empty()) {
    auto r = IndexesOf(keys);
    if (r.ok()) return *r;
  }
  std::vector<int> all(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) all[i] = static_cast<int>(i);
  return all;
}

bool TableSchema::CrossPartitionUpdate() const {
  if (primary_keys.empty()) return false;
  for (const auto& k : partition_keys) {
    if (std::find(primary_keys.begin(), primary_keys.end(), k) == primary_keys.end()) return true;
  }
  return false;
}

format::RowType TableSchema::PartitionType() const { return fields.Project(PartitionIndexes()); }

std::string TableSchema::ToJson() const {
  JsonWriter w(/*pretty=*/true);
  w.BeginObject();
  w.Key("version").Int(3);
  w.Key("id").Int(id);
  w.Key("fields").BeginArray();
  for (const auto& f : fields.fields()) w.Value(f.ToJson());
  w.EndArray();
  w.Key("highestFieldId").Int(highest_field_id);
  w.Key("partitionKeys").BeginArray();
  for (const auto& k : partition_keys) w.String(k);
  w.EndArray();
  w.Key("primaryKeys").BeginArray();
  for (const auto& k : primary_keys) w.String(k);
  w.EndArray();
  w.Key("options").BeginObject();
  for (const auto& [k, v] : options) w.Key(k).String(v);
  w.EndObject();
  if (!comment.empty()) w.Key("comment").String(comment);
  w.Key("timeMillis").Int(time_millis);
  w.EndObject();
  return w.Release();
}

Result<TableSchema> TableSchema::FromJson(std::string_view json, std::string_view what) {
  KL_ASSIGN_OR_RETURN(JsonValue root, ParseJson(json, what));
  auto fail = [&](const Status& s) { return s.WithContext(what); };
  TableSchema schema;
  auto id = root.GetInt("id");
  if (!id.ok()) return fail(id.status());
  schema.id = *id;
  const JsonValue* fields = root.Find("fields");
  if (fields == nullptr || !fields->is_array()) return fail(Status::Corruption("missing \"fields\""));
  std::vector<format::DataField> out;
  for (const auto& f : fields->items()) {
    auto field = format::DataField::FromJson(f);
    if (!field.ok()) return fail(field.status());
    out.push_back(std::move(field).value());
  }
  schema.fields = format::RowType(std::move(out));
  schema.highest_field_id = static_cast<int32_t>(root.GetIntOr("highestFieldId", -1));
  auto strings = [&](const char* key, std::vector<std::string>* dst) -> Status {
    const JsonValue* v = root.Find(key);
    if (v == nullptr) return Status::OK();
    if (!v->is_array()) return Status::Corruption(std::string("\"") + key + "\" is not an array");
    for (const auto& s : v->items()) dst->push_back(s.as_string());
    return Status::OK();
  };
  Status s = strings("partitionKeys", &schema.partition_keys);
  if (s.ok()) s = strings("primaryKeys", &schema.primary_keys);
  if (!s.ok()) return fail(s);
  if (const JsonValue* opts = root.Find("options"); opts != nullptr && opts->is_object()) {
    for (const auto& [k, v] : opts->members()) schema.options[k] = v.is_string() ? v.as_string() : v.ToJson();
  }
  schema.comment = root.GetStringOr("comment", "");
  schema.time_millis = root.GetIntOr("timeMillis", 0);
  return schema;
}

Status TableSchema::Validate() const {
  for (const auto& list : {partition_keys, primary_keys}) {
    for (const auto& k : list) {
      if (fields.IndexOf(k) < 0) return Status::InvalidArgument("key column \"" + k + "\" is not a column");
    }
  }
  for (const auto& k : partition_keys) {
    if (!primary_keys.empty() && std::find(primary_keys.begin(), primary_keys.end(), k) == primary_keys.end()) {
      return Status::InvalidArgument("partition column \"" + k +
                                     "\" must be part of the primary key: without it a key could move between "
                                     "partitions (Paimon's cross-partition upsert), which kubelake does not write");
    }
  }
  std::vector<std::string> names = fields.names();
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
    return Status::InvalidArgument("duplicate column names");
  }
  TableOptions opts = table_options();
  KL_RETURN_IF_ERROR(opts.Validate());
  if (opts.bucket() == -1 && !opts.bucket_keys().empty()) {
    return Status::InvalidArgument("'bucket-key' needs a fixed number of buckets; with 'bucket' = '-1' (" +
                                   std::string(primary_keys.empty() ? "unaware" : "dynamic") +
                                   " bucket mode, the default) remove it or set 'bucket'");
  }
  for (const auto& k : opts.bucket_keys()) {
    if (fields.IndexOf(k) < 0) return Status::InvalidArgument("bucket-key column \"" + k + "\" is not a column");
    if (!primary_keys.empty() && std::find(primary_keys.begin(), primary_keys.end(), k) == primary_keys.end()) {
      return Status::InvalidArgument("bucket-key column \"" + k + "\" must be part of the primary key");
    }
  }
  for (const auto& k : opts.sequence_fields()) {
    if (fields.IndexOf(k) < 0) return Status::InvalidArgument("sequence.field column \"" + k + "\" is not a column");
  }
  // Paimon's record-level expiry: a time field of a type it can read a time from.
  if (opts.Get("record-level.expire-time")) {
    auto name = opts.Get("record-level.time-field");
    if (!name) return Status::InvalidArgument("record-level.expire-time needs record-level.time-field");
    int i = fields.IndexOf(*name);
    if (i < 0) return Status::InvalidArgument("record-level.time-field column \"" + *name + "\" is not a column");
    format::TypeRoot root = fields.type(static_cast<size_t>(i)).root();
    if (root != format::TypeRoot::kInt && root != format::TypeRoot::kBigInt && root != format::TypeRoot::kTimestamp &&
        root != format::TypeRoot::kTimestampLtz) {
      return Status::InvalidArgument("record-level.time-field column \"" + *name +
                                     "\" must be INT, BIGINT or TIMESTAMP, not " +
                                     fields.type(static_cast<size_t>(i)).ToString());
    }
  }
  if (primary_keys.empty() && opts.merge_engine() != MergeEngine::kDeduplicate && opts.Get("merge-engine")) {
    return Status::InvalidArgument("merge-engine needs a primary key");
  }
  return Status::OK();
}

Result<TableSchema> NewTableSchema(std::vector<format::DataField> fields, std::vector<std::string> partition_keys,
                                   std::vector<std::string> primary_keys, std::map<std::string, std::string> options,
                                   std::string comment) {
  TableSchema schema;
  int32_t next_id = 0;
  // Ids count depth-first through nested rows, as Paimon assigns them.
  std::function<format::DataType(const format::DataType&)> renumber = [&](const format::DataType& t) {
    if (t.root() == format::TypeRoot::kRow) {
      std::vector<format::DataField> nested;
      for (const auto& f : t.fields()) {
        format::DataField copy = f;
        copy.id = next_id++;
        copy.type = renumber(f.type);
        nested.push_back(std::move(copy));
      }
      return format::DataType::Row(std::move(nested)).WithNullable(t.nullable());
    }
    if (t.root() == format::TypeRoot::kArray)
      return format::DataType::Array(renumber(t.element())).WithNullable(t.nullable());
    if (t.root() == format::TypeRoot::kMultiset)
      return format::DataType::Multiset(renumber(t.element())).WithNullable(t.nullable());
    if (t.root() == format::TypeRoot::kMap)
      return format::DataType::Map(renumber(t.key()), renumber(t.value())).WithNullable(t.nullable());
    return t;
  };
  for (auto& f : fields) {
    f.id = next_id++;
    f.type = renumber(f.type);
    if (std::find(primary_keys.begin(), primary_keys.end(), f.name) != primary_keys.end()) f.type = f.type.NotNull();
  }
  schema.fields = format::RowType(std::move(fields));
  schema.highest_field_id = next_id - 1;
  schema.partition_keys = std::move(partition_keys);
  schema.primary_keys = std::move(primary_keys);
  schema.options = std::move(options);
  schema.comment = std::move(comment);
  schema.time_millis = NowMillis();
  KL_RETURN_IF_ERROR(schema.Validate());
  return schema;
}

std::string SchemaManager::SchemaPath(int64_t id) const {
  return JoinPath(JoinPath(table_path_, "schema"), "schema-" + std::to_string(id));
}

namespace {

// Parsed schema files and the latest schema id last found per table: a schema file never
// changes once written, yet every query that opens a table reads its latest one.
ParsedFileCache<TableSchema>& ParsedSchemas() {
  static auto* cache = new ParsedFileCache<TableSchema>(&TableSchema::FromJson, 1024);
  return *cache;
}

}  // namespace

Result<TableSchema> SchemaManager::Read(int64_t id) const { return ParsedSchemas().Read(SchemaPath(id)); }

Result<std::vector<int64_t>> SchemaManager::ListIds() const {
  auto names = ListDir(JoinPath(table_path_, "schema"));
  if (!names.ok()) return names.status();
  std::vector<int64_t> ids;
  for (const auto& n : *names) {
    if (n.rfind("schema-", 0) != 0) continue;
    if (auto id = ParseInt64(n.substr(7))) ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<TableSchema> SchemaManager::Latest() const {
  // Schema ids are taken one after another (a change writes schema-<latest + 1> only if it
  // is absent), so the id found last time is still the latest while its file is there and
  // the next one's is not: two stat() calls instead of listing the directory on every query.
  if (auto id = ParsedSchemas().LatestHint(table_path_); id && !FileExists(SchemaPath(*id + 1))) {
    auto schema = Read(*id);
    if (schema.ok()) return schema;  // gone or unreadable: list, as without a hint
  }
  KL_ASSIGN_OR_RETURN(std::vector<int64_t> ids, ListIds());
  if (ids.empty()) return Status::NotFound("no schema in " + table_path_ + " (not a table?)");
  KL_ASSIGN_OR_RETURN(TableSchema schema, Read(ids.back()));
  ParsedSchemas().SetLatestHint(table_path_, ids.back());
  return schema;
}

Result<int64_t> SchemaManager::LatestId() const {
  if (auto id = ParsedSchemas().LatestHint(table_path_);
      id && !FileExists(SchemaPath(*id + 1)) && FileExists(SchemaPath(*id))) {
    return *id;
  }
  KL_ASSIGN_OR_RETURN(std::vector<int64_t> ids, ListIds());
  if (ids.empty()) return Status::NotFound("no schema in " + table_path_ + " (not a table?)");
  ParsedSchemas().SetLatestHint(table_path_, ids.back());
  return ids.back();
}

Status SchemaManager::Commit(const TableSchema& schema) const {
  KL_RETURN_IF_ERROR(CreateDirs(JoinPath(table_path_, "schema")));
  return WriteFileIfAbsent(SchemaPath(schema.id), schema.ToJson());
}

}  // namespace kl::table
