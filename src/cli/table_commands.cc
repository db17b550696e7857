// `kubelake table ...`: inspect and operate Paimon tables directly.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <numeric>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/clock.h"
#include "common/file/file_util.h"
#include "common/random.h"
#include "common/string_util.h"
#include "table/data/binary_row.h"
#include "table/data/predicate.h"
#include "table/operation/consumer.h"
#include "table/table.h"
#include "table/tag/tag.h"

namespace kl::cli {
namespace {

using table::Table;

Status ParseFormat(const std::string& text, OutputFormat* out) {
  if (!ParseOutputFormat(text, out)) return Status::InvalidArgument("--format must be table or jsonl, not " + text);
  return Status::OK();
}

// Row order for output: by primary key for primary-key tables (partition
// fields first when they are part of the key), else as stored.
std::vector<size_t> OutputOrder(const Table& t, const format::ColumnBatch& rows) {
  std::vector<size_t> order(rows.num_rows());
  std::iota(order.begin(), order.end(), size_t{0});
  const auto& schema = t.schema();
  if (!schema.has_primary_key()) return order;
  std::vector<int> key_cols;
  for (const auto& k : schema.primary_keys) {
    int i = rows.schema().IndexOf(k);
    if (i >= 0) key_cols.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    for (int c : key_cols) {
      int r = rows.column(static_cast<size_t>(c)).CompareAt(a, rows.column(static_cast<size_t>(c)), b);
      if (r != 0) return r < 0;
    }
    return false;
  });
  return order;
}

// `--option key=value` pairs: table options for this command only (Paimon's dynamic options).
Result<std::map<std::string, std::string>> ParseDynamicOptions(const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> options;
  for (const auto& pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("--option takes key=value, not \"" + pair + "\"");
    }
    options[std::string(Trim(pair.substr(0, eq)))] = std::string(Trim(pair.substr(eq + 1)));
  }
  return options;
}

Result<std::shared_ptr<Table>> OpenWithOptions(const std::string& dir, const std::vector<std::string>& pairs) {
  KL_ASSIGN_OR_RETURN(auto options, ParseDynamicOptions(pairs));
  if (options.empty()) return Table::Open(dir);
  return Table::Open(dir, options);
}

// --snapshot and --tag choose what to read; as Paimon's scan options, one at a time.
Status AddTravelOptions(int64_t snapshot, const std::string& tag, std::vector<std::string>* option_pairs) {
  if (snapshot >= 0 && !tag.empty()) return Status::InvalidArgument("give --snapshot or --tag, not both");
  if (!tag.empty()) option_pairs->push_back("scan.tag-name=" + tag);
  return Status::OK();
}

Status RunRead(const std::string& dir, int64_t snapshot, const std::string& tag, const std::string& columns,
               const std::string& where, std::vector<std::string> option_pairs, const std::string& fmt) {
  OutputFormat format;
  KL_RETURN_IF_ERROR(ParseFormat(fmt, &format));
  KL_RETURN_IF_ERROR(AddTravelOptions(snapshot, tag, &option_pairs));
  KL_ASSIGN_OR_RETURN(auto t, OpenWithOptions(dir, option_pairs));
  std::vector<std::string> projection;
  for (auto& c : Split(columns, ',', true)) projection.emplace_back(Trim(c));
  table::Predicate filter;
  if (!Trim(where).empty()) {
    auto parsed = table::Predicate::Parse(where, t->schema().fields);
    if (!parsed.ok()) return parsed.status().WithContext("--where");
    filter = std::move(*parsed);
  }
  KL_ASSIGN_OR_RETURN(auto rows, t->ReadAll(snapshot >= 0 ? std::optional<int64_t>(snapshot) : std::nullopt, projection,
                                            std::move(filter)));
  std::vector<size_t> order = OutputOrder(*t, rows.rows);
  if (format == OutputFormat::kJsonl)
    PrintRowsJsonl(stdout, rows.rows, order);
  else
    PrintRowsTable(stdout, rows.rows, order);
  return Status::OK();
}

Status RunSnapshots(const std::string& dir, const std::string& fmt) {
  OutputFormat format;
  KL_RETURN_IF_ERROR(ParseFormat(fmt, &format));
  KL_ASSIGN_OR_RETURN(auto t, Table::Open(dir));
  auto snapshots = t->snapshots();
  KL_ASSIGN_OR_RETURN(std::vector<int64_t> ids, snapshots.ListIds());
  std::vector<std::vector<std::string>> cells;
  JsonWriter w;
  for (int64_t id : ids) {
    KL_ASSIGN_OR_RETURN(table::Snapshot s, snapshots.Read(id));
    if (format == OutputFormat::kJsonl) {
      w.Clear();
      w.BeginObject().Key("id").Int(s.id).Key("commit_kind").String(table::CommitKindName(s.commit_kind));
      w.Key("time_millis").Int(s.time_millis).Key("time").String(FormatIsoMillis(s.time_millis));
      w.Key("schema_id").Int(s.schema_id).Key("commit_user").String(s.commit_user);
      w.Key("commit_identifier").Int(s.commit_identifier);
      w.Key("total_record_count").Int(s.total_record_count.value_or(0));
      w.Key("delta_record_count").Int(s.delta_record_count.value_or(0));
      w.Key("changelog_record_count").Int(s.changelog_record_count.value_or(0));
      w.Key("log_offsets").BeginObject();
      for (const auto& [p, o] : s.log_offsets) w.Key(std::to_string(p)).Int(o);
      w.EndObject().EndObject();
      std::printf("%s\n", w.str().c_str());
    } else {
      cells.push_back(
          {std::to_string(s.id), std::string(table::CommitKindName(s.commit_kind)), FormatIsoMillis(s.time_millis),
           std::to_string(s.total_record_count.value_or(0)), std::to_string(s.delta_record_count.value_or(0)),
           std::to_string(s.changelog_record_count.value_or(0)), s.commit_user, std::to_string(s.commit_identifier)});
    }
  }
  if (format == OutputFormat::kTable) {
    PrintTextTable(stdout, {"id", "kind", "time", "total", "delta", "changelog", "commit_user", "identifier"}, cells);
  }
  return Status::OK();
}

Status RunFiles(const std::string& dir, int64_t snapshot, const std::string& tag,
                const std::vector<std::string>& option_pairs, const std::string& fmt) {
  OutputFormat format;
  KL_RETURN_IF_ERROR(ParseFormat(fmt, &format));
  if (snapshot >= 0 && !tag.empty()) return Status::InvalidArgument("give --snapshot or --tag, not both");
  KL_ASSIGN_OR_RETURN(auto t, OpenWithOptions(dir, option_pairs));
  auto scan = t->NewScan();
  table::Snapshot snap;
  if (!tag.empty()) {
    KL_ASSIGN_OR_RETURN(table::Tag found, table::TagManager(t->path()).Read(tag));
    snap = std::move(found.snapshot);
  } else {
    std::optional<int64_t> snapshot_id;
    if (snapshot >= 0) {
      snapshot_id = snapshot;
    } else {
      KL_ASSIGN_OR_RETURN(snapshot_id, scan.snapshots().LatestId());
    }
    if (!snapshot_id) {
      if (format == OutputFormat::kTable) std::printf("%s has no snapshot yet\n", t->path().c_str());
      return Status::OK();
    }
    KL_ASSIGN_OR_RETURN(snap, scan.snapshots().Read(*snapshot_id));
  }
  // Every live file of the snapshot, at every level. A batch read of a deletion-vector or
  // first-row table leaves level 0 out (its keys may repeat; compaction lifts them), so those
  // files are listed with batch_read = false rather than hidden.
  KL_ASSIGN_OR_RETURN(table::ScanPlan plan, scan.PlanFull(snap));
  bool batch_skips_level0 = t->context()->primary_key() && t->context()->options().batch_scan_skips_level0();
  format::RowType part_type = t->schema().PartitionType();
  std::vector<std::vector<std::string>> cells;
  int64_t files = 0, rows = 0, skipped = 0;
  JsonWriter w;
  for (const auto& split : plan.splits) {
    auto part = table::DeserializeBinaryRow(split.partition, table::TypesOf(part_type));
    JsonWriter pw;
    pw.BeginObject();
    for (size_t i = 0; i < part_type.size() && part.ok(); ++i) {
      pw.Key(part_type.field(i).name);
      format::WriteDatumJson(&pw, (*part)[i], part_type.type(i));
    }
    pw.EndObject();
    for (const auto& f : split.files) {
      bool batch_read = !(batch_skips_level0 && f.level == 0);
      ++files;
      rows += f.row_count;
      skipped += !batch_read;
      if (format == OutputFormat::kJsonl) {
        w.Clear();
        w.BeginObject().Key("file").String(f.file_name).Key("partition").Raw(pw.str());
        w.Key("bucket").Int(split.bucket).Key("level").Int(f.level).Key("row_count").Int(f.row_count);
        w.Key("delete_row_count").Int(f.delete_row_count.value_or(0)).Key("file_size").Int(f.file_size);
        w.Key("min_sequence_number").Int(f.min_sequence_number).Key("max_sequence_number").Int(f.max_sequence_number);
        w.Key("schema_id").Int(f.schema_id).Key("batch_read").Bool(batch_read).EndObject();
        std::printf("%s\n", w.str().c_str());
      } else {
        cells.push_back({f.file_name, pw.str(), std::to_string(split.bucket), std::to_string(f.level),
                         std::to_string(f.row_count), HumanBytes(static_cast<double>(f.file_size)),
                         batch_read ? "yes" : "no (level 0)"});
      }
    }
  }
  if (format == OutputFormat::kTable) {
    PrintTextTable(stdout, {"file", "partition", "bucket", "level", "rows", "size", "batch read"}, cells);
    std::string total = snap.total_record_count ? std::to_string(*snap.total_record_count) : "not recorded";
    std::printf("snapshot %lld: %lld files, %lld rows (totalRecordCount %s)", static_cast<long long>(snap.id),
                static_cast<long long>(files), static_cast<long long>(rows), total.c_str());
    if (skipped > 0) std::printf("; a batch read skips %lld of them (level 0)", static_cast<long long>(skipped));
    std::printf("\n");
  }
  return Status::OK();
}

Status RunCreate(const std::string& dir, const std::string& schema_path) {
  KL_ASSIGN_OR_RETURN(std::string text, ReadFile(schema_path));
  KL_ASSIGN_OR_RETURN(JsonValue json, ParseJson(text, schema_path));
  const JsonValue* fields_json = json.Find("fields");
  if (fields_json == nullptr || !fields_json->is_array()) {
    return Status::InvalidArgument(schema_path + ": needs a \"fields\" array of {name, type}");
  }
  std::vector<format::DataField> fields;
  for (const auto& f : fields_json->items()) {
    format::DataField field;
    auto name = f.GetString("name");
    if (!name.ok()) return name.status().WithContext(schema_path);
    field.name = *name;
    const JsonValue* type = f.Find("type");
    if (type == nullptr) return Status::InvalidArgument(schema_path + ": field " + field.name + " has no type");
    auto t = format::DataType::FromJson(*type);
    if (!t.ok()) return t.status().WithContext(schema_path + ": field " + field.name);
    field.type = *t;
    field.description = f.GetStringOr("description", "");
    fields.push_back(std::move(field));
  }
  auto strings = [&](const char* key) {
    std::vector<std::string> out;
    if (const JsonValue* v = json.Find(key); v != nullptr) {
      for (const auto& s : v->items()) out.push_back(s.as_string());
    }
    return out;
  };
  std::map<std::string, std::string> options;
  if (const JsonValue* o = json.Find("options"); o != nullptr) {
    for (const auto& [k, v] : o->members()) options[k] = v.is_string() ? v.as_string() : v.ToJson();
  }
  auto schema = table::NewTableSchema(std::move(fields), strings("partitionKeys"), strings("primaryKeys"), options,
                                      json.GetStringOr("comment", ""));
  if (!schema.ok()) return schema.status().WithContext(schema_path);
  KL_ASSIGN_OR_RETURN(auto t, Table::Create(dir, *schema));
  std::printf("created %s\n", t->path().c_str());
  return Status::OK();
}

Status RunWrite(const std::string& dir, std::string commit_user, int64_t identifier) {
  KL_ASSIGN_OR_RETURN(auto t, Table::Open(dir));
  const auto& fields = t->schema().fields;
  format::ColumnBatch batch(fields);
  std::vector<format::RowKind> kinds;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (Trim(line).empty()) continue;
    std::string where = "stdin line " + std::to_string(line_no);
    KL_ASSIGN_OR_RETURN(JsonValue json, ParseJson(line, where));
    if (!json.is_object()) return Status::InvalidArgument(where + ": expected a JSON object");
    format::RowKind kind = format::RowKind::kInsert;
    for (const auto& [k, v] : json.members()) {
      if (k == "_kind") {
        auto parsed = format::ParseRowKind(v.is_string() ? v.as_string() : v.ToJson());
        if (!parsed.ok()) return parsed.status().WithContext(where);
        kind = *parsed;
      } else if (fields.IndexOf(k) < 0) {
        return Status::InvalidArgument(where + ": table has no column \"" + k + "\"");
      }
    }
    format::Row row;
    for (const auto& f : fields.fields()) {
      const JsonValue* v = json.Find(f.name);
      auto d = format::DatumFromJson(v != nullptr ? *v : JsonValue(), f.type);
      if (!d.ok()) return d.status().WithContext(where + ", column " + f.name);
      row.push_back(std::move(d).value());
    }
    batch.AppendRow(row);
    kinds.push_back(kind);
  }
  if (commit_user.empty()) commit_user = "kubelake-cli-" + RandomUuid();
  auto writer = t->NewWriter(commit_user);
  KL_RETURN_IF_ERROR(writer->Write(batch, &kinds));
  KL_ASSIGN_OR_RETURN(table::CommitResult result, writer->Commit(identifier));
  if (result.already_committed) {
    std::printf("commit %lld of %s was already in the table; nothing written\n", static_cast<long long>(identifier),
                commit_user.c_str());
  } else {
    std::string ids;
    for (int64_t id : result.snapshot_ids) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
    std::printf("wrote %zu rows; snapshot %s\n", batch.num_rows(), ids.empty() ? "(none)" : ids.c_str());
  }
  return Status::OK();
}

Status RunCompact(const std::string& dir, bool full) {
  KL_ASSIGN_OR_RETURN(auto t, Table::Open(dir));
  auto writer = t->NewWriter("kubelake-compact-" + RandomUuid());
  KL_RETURN_IF_ERROR(writer->Compact(full));
  KL_ASSIGN_OR_RETURN(table::CommitResult result, writer->Commit(1));
  if (result.snapshot_ids.empty())
    std::printf("nothing to compact\n");
  else
    std::printf("compacted; snapshot %lld\n", static_cast<long long>(result.snapshot_ids.back()));
  return Status::OK();
}

Result<int64_t> ParseDurationArg(const std::string& text) {
  table::TableOptions o({{"d", text}});
  int64_t v = o.GetDurationMillis("d", -1);
  if (v < 0) return Status::InvalidArgument("not a duration: \"" + text + "\" (e.g. 30min, 1h, 7d)");
  return v;
}

Status RunExpire(const std::string& dir, int retain_min, int retain_max, const std::string& older_than) {
  KL_ASSIGN_OR_RETURN(auto t, Table::Open(dir));
  table::ExpireOptions opts = table::ExpireOptions::FromTable(t->schema().table_options());
  opts.max_expire = std::numeric_limits<int>::max();  // an explicit run expires everything due
  if (retain_min >= 0) opts.retain_min = retain_min;
  if (retain_max >= 0) opts.retain_max = retain_max;
  if (!older_than.empty()) {
    KL_ASSIGN_OR_RETURN(int64_t d, ParseDurationArg(older_than));
    opts.older_than_millis = NowMillis() - d;
  }
  KL_ASSIGN_OR_RETURN(table::ExpireResult r, table::ExpireSnapshots(t->context(), opts));
  std::printf("expired %zu snapshots, deleted %lld files\n", r.expired_snapshots.size(),
              static_cast<long long>(r.deleted_files));
  return Status::OK();
}

// Streaming readers that hold snapshots back from expiry; --delete releases an abandoned one.
Status RunConsumers(const std::string& dir, const std::string& remove) {
  KL_ASSIGN_OR_RETURN(auto t, Table::Open(dir));
  table::ConsumerManager consumers(t->path());
  if (!remove.empty()) {
    KL_ASSIGN_OR_RETURN(std::optional<int64_t> next, consumers.Read(remove));
    if (!next) return Status::NotFound("table " + t->path() + " has no consumer '" + remove + "'");
    KL_RETURN_IF_ERROR(RemoveFile(consumers.ConsumerPath(remove)));
    std::printf("deleted consumer %s (it was to read snapshot %lld next)\n", remove.c_str(),
                static_cast<long long>(*next));
    return Status::OK();
  }
  KL_ASSIGN_OR_RETURN(auto all, consumers.ReadAll());
  std::vector<std::vector<std::string>> cells;
  for (const auto& [id, next] : all) {
    auto modified = FileModifiedMillis(consumers.ConsumerPath(id));
    cells.push_back({id, std::to_string(next), modified.ok() ? FormatIsoMillis(*modified) : "?"});
  }
  PrintTextTable(stdout, {"consumer", "next_snapshot", "recorded"}, cells);
  return Status::OK();
}

Status RunRemoveOrphans(const std::string& dir, const std::string& older_than, bool dry_run) {
  KL_ASSIGN_OR_RETURN(auto t, Table::Open(dir));
  KL_ASSIGN_OR_RETURN(int64_t d, ParseDurationArg(older_than));
  KL_ASSIGN_OR_RETURN(table::OrphanResult r, table::RemoveOrphanFiles(t->context(), NowMillis() - d, dry_run));
  for (const auto& f : r.deleted) std::printf("%s%s\n", dry_run ? "would delete " : "deleted ", f.c_str());
  std::printf("%zu orphan files\n", r.deleted.size());
  return Status::OK();
}

// A local date-time as written in tags ("2024-03-05T10:15:30.123", no zone).
std::string LocalDateTimeText(int64_t wall) {
  std::string text = FormatIsoMillis(wall);
  if (!text.empty() && text.back() == 'Z') text.pop_back();
  return text;
}

Status RunTagCreate(const std::string& dir, const std::string& name, int64_t snapshot, const std::string& retained) {
  KL_ASSIGN_OR_RETURN(auto t, Table::Open(dir));
  std::optional<int64_t> id;
  if (snapshot >= 0) {
    id = snapshot;
  } else {
    KL_ASSIGN_OR_RETURN(id, t->snapshots().LatestId());
    if (!id) return Status::InvalidArgument("table " + t->path() + " has no snapshot to tag yet");
  }
  // As Paimon's create_tag: --time-retained, else the table's tag.default-time-retained.
  std::optional<int64_t> retained_ms;
  std::string retention = retained;
  if (retention.empty()) retention = t->context()->options().GetString("tag.default-time-retained", "");
  if (!retention.empty()) {
    KL_ASSIGN_OR_RETURN(int64_t d, ParseDurationArg(retention));
    retained_ms = d;
  }
  KL_RETURN_IF_ERROR(table::TagManager(t->path()).Create(name, *id, retained_ms, table::WallClock{}.At(NowMillis())));
  std::printf("created tag %s of snapshot %lld\n", name.c_str(), static_cast<long long>(*id));
  return Status::OK();
}

Status RunTagDelete(const std::string& dir, const std::vector<std::string>& names) {
  KL_ASSIGN_OR_RETURN(auto t, Table::Open(dir));
  for (const auto& name : names) {
    KL_ASSIGN_OR_RETURN(table::DeleteTagResult r, table::DeleteTag(t->context(), name));
    std::printf("deleted tag %s (and %lld files only it held)\n", name.c_str(),
                static_cast<long long>(r.deleted_files));
  }
  return Status::OK();
}

Status RunTagList(const std::string& dir, const std::string& fmt) {
  OutputFormat format;
  KL_RETURN_IF_ERROR(ParseFormat(fmt, &format));
  KL_ASSIGN_OR_RETURN(auto t, Table::Open(dir));
  KL_ASSIGN_OR_RETURN(std::vector<table::Tag> tags, table::TagManager(t->path()).ReadAll());
  std::vector<std::vector<std::string>> cells;
  JsonWriter w;
  for (const auto& tag : tags) {
    const table::Snapshot& s = tag.snapshot;
    bool live = t->snapshots().Exists(s.id);
    std::string created = tag.create_time ? LocalDateTimeText(*tag.create_time) : "";
    std::string retained = tag.time_retained_millis ? std::to_string(*tag.time_retained_millis / 1000) + " s" : "";
    if (format == OutputFormat::kJsonl) {
      w.Clear();
      w.BeginObject().Key("tag").String(tag.name).Key("snapshot_id").Int(s.id);
      w.Key("commit_time").String(FormatIsoMillis(s.time_millis));
      w.Key("record_count").Int(s.total_record_count.value_or(0)).Key("snapshot_live").Bool(live);
      if (tag.create_time) w.Key("create_time").String(created);
      if (tag.time_retained_millis) w.Key("time_retained_ms").Int(*tag.time_retained_millis);
      w.EndObject();
      std::printf("%s\n", w.str().c_str());
    } else {
      cells.push_back({tag.name, std::to_string(s.id), FormatIsoMillis(s.time_millis),
                       std::to_string(s.total_record_count.value_or(0)), live ? "yes" : "no", created, retained});
    }
  }
  if (format == OutputFormat::kTable) {
    PrintTextTable(stdout, {"tag", "snapshot", "commit_time", "records", "snapshot kept", "created", "retained"},
                   cells);
  }
  return Status::OK();
}

}  // namespace

void AddTableCommands(CLI::App* app) {
  auto* table = app->add_subcommand("table", "Read, write and maintain Paimon tables directly");
  table->require_subcommand(1);

  {
    auto* cmd = table->add_subcommand("read", "Print the merged rows of a table (primary-key tables ordered by key)");
    auto dir = std::make_shared<std::string>();
    auto snapshot = std::make_shared<int64_t>(-1);
    auto columns = std::make_shared<std::string>();
    auto where = std::make_shared<std::string>();
    auto options = std::make_shared<std::vector<std::string>>();
    auto fmt = std::make_shared<std::string>("table");
    cmd->add_option("table-dir", *dir, "Table directory")->required();
    auto tag = std::make_shared<std::string>();
    cmd->add_option("--snapshot", *snapshot, "Read this snapshot instead of the latest");
    cmd->add_option("--tag", *tag, "Read the snapshot this tag names (kept past snapshot expiry)");
    cmd->add_option("--columns", *columns, "Comma-separated columns to print");
    cmd->add_option("--where", *where, "Only rows passing this filter, e.g. \"kind = 'Pod' AND rv > 100\"");
    cmd->add_option("--option", *options,
                    "key=value table option for this read (repeatable; e.g. scan.version=3 or scan.tag-name=t)");
    cmd->add_option("--format", *fmt, "table or jsonl")->capture_default_str();
    cmd->callback([=] { Finish(RunRead(*dir, *snapshot, *tag, *columns, *where, *options, *fmt)); });
  }
  {
    auto* cmd = table->add_subcommand("snapshots", "List snapshots: id, commit kind, time, record counts");
    auto dir = std::make_shared<std::string>();
    auto fmt = std::make_shared<std::string>("table");
    cmd->add_option("table-dir", *dir, "Table directory")->required();
    cmd->add_option("--format", *fmt, "table or jsonl")->capture_default_str();
    cmd->callback([=] { Finish(RunSnapshots(*dir, *fmt)); });
  }
  {
    auto* cmd = table->add_subcommand(
        "files",
        "List every live data file of a snapshot: partition, bucket, level, rows, and whether a batch read uses it");
    auto dir = std::make_shared<std::string>();
    auto snapshot = std::make_shared<int64_t>(-1);
    auto options = std::make_shared<std::vector<std::string>>();
    auto fmt = std::make_shared<std::string>("table");
    cmd->add_option("table-dir", *dir, "Table directory")->required();
    auto tag = std::make_shared<std::string>();
    cmd->add_option("--snapshot", *snapshot, "List files of this snapshot instead of the latest");
    cmd->add_option("--tag", *tag, "List files of the snapshot this tag names");
    cmd->add_option("--option", *options, "key=value table option for this listing (repeatable)");
    cmd->add_option("--format", *fmt, "table or jsonl")->capture_default_str();
    cmd->callback([=] { Finish(RunFiles(*dir, *snapshot, *tag, *options, *fmt)); });
  }
  {
    auto* cmd = table->add_subcommand(
        "create", "Create a table from a schema file (fields, primaryKeys, partitionKeys, options)");
    auto dir = std::make_shared<std::string>();
    auto schema = std::make_shared<std::string>();
    cmd->add_option("table-dir", *dir, "Table directory")->required();
    cmd->add_option("--schema", *schema, "Schema JSON file")->required();
    cmd->callback([=] { Finish(RunCreate(*dir, *schema)); });
  }
  {
    auto* cmd = table->add_subcommand("write",
                                      "Write JSON lines from stdin as one commit (optional \"_kind\": +I, -U, +U, -D)");
    auto dir = std::make_shared<std::string>();
    auto user = std::make_shared<std::string>();
    auto identifier = std::make_shared<int64_t>(1);
    cmd->add_option("table-dir", *dir, "Table directory")->required();
    cmd->add_option("--commit-user", *user,
                    "Commit user (a retry with the same user and identifier is not applied twice)");
    cmd->add_option("--commit-identifier", *identifier, "Commit identifier")->capture_default_str();
    cmd->callback([=] { Finish(RunWrite(*dir, *user, *identifier)); });
  }
  {
    auto* cmd =
        table->add_subcommand("compact", "Compact the table (universal strategy, or --full into the last level)");
    auto dir = std::make_shared<std::string>();
    auto full = std::make_shared<bool>(false);
    cmd->add_option("table-dir", *dir, "Table directory")->required();
    cmd->add_flag("--full", *full, "Compact everything into one sorted run per bucket");
    cmd->callback([=] { Finish(RunCompact(*dir, *full)); });
  }
  {
    auto* cmd = table->add_subcommand("expire", "Expire old snapshots and the files only they needed");
    auto dir = std::make_shared<std::string>();
    auto retain_min = std::make_shared<int>(-1);
    auto retain_max = std::make_shared<int>(-1);
    auto older = std::make_shared<std::string>();
    cmd->add_option("table-dir", *dir, "Table directory")->required();
    cmd->add_option("--retain-min", *retain_min, "Keep at least this many snapshots (default: table option)");
    cmd->add_option("--retain-max", *retain_max, "Keep at most this many snapshots (default: table option)");
    cmd->add_option("--older-than", *older,
                    "Expire snapshots older than this (e.g. 1h; default: snapshot.time-retained)");
    cmd->callback([=] { Finish(RunExpire(*dir, *retain_min, *retain_max, *older)); });
  }
  {
    auto* tag =
        table->add_subcommand("tag", "Tags: named snapshots kept past snapshot expiry (Paimon's tag/tag-<name>)");
    tag->require_subcommand(1);
    {
      auto* cmd = tag->add_subcommand("create", "Tag the latest snapshot (or --snapshot N)");
      auto dir = std::make_shared<std::string>();
      auto name = std::make_shared<std::string>();
      auto snapshot = std::make_shared<int64_t>(-1);
      auto retained = std::make_shared<std::string>();
      cmd->add_option("table-dir", *dir, "Table directory")->required();
      cmd->add_option("name", *name, "Tag name")->required();
      cmd->add_option("--snapshot", *snapshot, "Snapshot to tag (default: the latest)");
      cmd->add_option("--time-retained", *retained,
                      "Delete the tag this long after now (e.g. 7d; default: tag.default-time-retained, else never)");
      cmd->callback([=] { Finish(RunTagCreate(*dir, *name, *snapshot, *retained)); });
    }
    {
      auto* cmd =
          tag->add_subcommand("delete", "Delete tags, and the files only they held once their snapshots have expired");
      auto dir = std::make_shared<std::string>();
      auto names = std::make_shared<std::vector<std::string>>();
      cmd->add_option("table-dir", *dir, "Table directory")->required();
      cmd->add_option("name", *names, "Tag names")->required();
      cmd->callback([=] { Finish(RunTagDelete(*dir, *names)); });
    }
    {
      auto* cmd = tag->add_subcommand("list", "List tags: snapshot, commit time, records, retention");
      auto dir = std::make_shared<std::string>();
      auto fmt = std::make_shared<std::string>("table");
      cmd->add_option("table-dir", *dir, "Table directory")->required();
      cmd->add_option("--format", *fmt, "table or jsonl")->capture_default_str();
      cmd->callback([=] { Finish(RunTagList(*dir, *fmt)); });
    }
  }
  {
    auto* cmd = table->add_subcommand("consumers", "List the streaming readers that hold snapshots back from expiry");
    auto dir = std::make_shared<std::string>();
    auto remove = std::make_shared<std::string>();
    cmd->add_option("table-dir", *dir, "Table directory")->required();
    cmd->add_option("--delete", *remove, "Delete this consumer (an abandoned reader) so expiry may pass it");
    cmd->callback([=] { Finish(RunConsumers(*dir, *remove)); });
  }
  {
    auto* cmd = table->add_subcommand("remove-orphans", "Delete files no snapshot references (left by failed writes)");
    auto dir = std::make_shared<std::string>();
    auto older = std::make_shared<std::string>("1d");
    auto dry = std::make_shared<bool>(false);
    cmd->add_option("table-dir", *dir, "Table directory")->required();
    cmd->add_option("--older-than", *older, "Only files older than this (writes in flight are younger)")
        ->capture_default_str();
    cmd->add_flag("--dry-run", *dry, "Only list what would be deleted");
    cmd->callback([=] { Finish(RunRemoveOrphans(*dir, *older, *dry)); });
  }
}

}  // namespace kl::cli
