// Paimon's system tables, computed from a table's metadata when scanned:
// t$snapshots, t$schemas, t$options, t$files, t$manifests, t$consumers,
// t$tags, t$audit_log (every record of the live files with its row kind).
#include <cstdio>

#include "common/json.h"
#include "common/string_util.h"
#include "sql/catalog/catalog.h"
#include "table/data/binary_row.h"
#include "table/operation/commit.h"
#include "table/operation/consumer.h"
#include "table/tag/tag.h"

namespace kl::sql {

using format::ColumnBatch;
using format::DataField;
using format::DataType;
using format::Datum;
using format::RowType;

namespace {

RowType Fields(std::vector<std::pair<std::string, DataType>> cols) {
  std::vector<DataField> fields;
  int id = 0;
  for (auto& [n, t] : cols) fields.push_back({id++, n, t, ""});
  return RowType(std::move(fields));
}

Datum Str(std::string s) { return Datum::Bytes(std::move(s)); }
Datum Opt(const std::optional<int64_t>& v) { return v ? Datum::Int(*v) : Datum(); }
Datum Time(int64_t ms) { return Datum::Time({ms, 0}); }

std::string RowText(const std::string& binary, const std::vector<DataType>& types) {
  if (types.empty()) return "{}";
  auto row = table::DeserializeBinaryRow(binary, types);
  if (!row.ok()) return "?";
  std::vector<std::string> parts;
  for (size_t i = 0; i < row->size(); ++i) parts.push_back(format::DatumToString((*row)[i], types[i]));
  return "{" + Join(parts, ", ") + "}";
}

// As Java's Duration.toString: PT24H, PT1H30M, PT0.5S.
std::string DurationText(int64_t millis) {
  if (millis == 0) return "PT0S";
  std::string out = millis < 0 ? "-PT" : "PT";
  int64_t m = millis < 0 ? -millis : millis;
  if (m >= 3600000) out += std::to_string(m / 3600000) + "H";
  if (m % 3600000 >= 60000) out += std::to_string(m % 3600000 / 60000) + "M";
  if (int64_t ms = m % 60000; ms != 0) {
    out += std::to_string(ms / 1000);
    if (ms % 1000 != 0) {
      char frac[8];
      std::snprintf(frac, sizeof(frac), ".%03lld", static_cast<long long>(ms % 1000));
      std::string f = frac;
      while (f.back() == '0') f.pop_back();
      out += f;
    }
    out += "S";
  }
  return out;
}

std::shared_ptr<CatalogObject> Make(const std::shared_ptr<table::Table>& t, const std::string& name, RowType schema,
                                    MaterializedSource::Producer producer) {
  auto obj = std::make_shared<CatalogObject>();
  obj->kind = ObjectKind::kSystemTable;
  obj->schema = schema;
  obj->paimon = t;
  obj->source = std::make_shared<MaterializedSource>(name, std::move(schema), std::move(producer));
  return obj;
}

}  // namespace

std::vector<std::string> SystemTableNames() {
  return {"snapshots", "schemas", "options", "files", "manifests", "consumers", "tags", "audit_log"};
}

Result<std::shared_ptr<CatalogObject>> OpenSystemTable(const std::shared_ptr<table::Table>& t,
                                                       const std::string& system_name) {
  std::string n = ToLower(system_name);
  std::string path = t->path();
  if (n == "snapshots") {
    RowType schema = Fields({{"snapshot_id", DataType::BigInt().NotNull()},
                             {"schema_id", DataType::BigInt().NotNull()},
                             {"commit_user", DataType::String()},
                             {"commit_identifier", DataType::BigInt()},
                             {"commit_kind", DataType::String()},
                             {"commit_time", DataType::Timestamp(3)},
                             {"base_manifest_list", DataType::String()},
                             {"delta_manifest_list", DataType::String()},
                             {"changelog_manifest_list", DataType::String()},
                             {"total_record_count", DataType::BigInt()},
                             {"delta_record_count", DataType::BigInt()},
                             {"changelog_record_count", DataType::BigInt()},
                             {"watermark", DataType::BigInt()}});
    return Make(t, "snapshots", schema, [t, schema](ExecContext&) -> Result<ColumnBatch> {
      ColumnBatch out(schema);
      auto snapshots = t->snapshots();
      KL_ASSIGN_OR_RETURN(auto ids, snapshots.ListIds());
      for (int64_t id : ids) {
        auto s = snapshots.Read(id);
        if (!s.ok()) {
          if (s.status().IsNotFound()) continue;  // expired meanwhile
          return s.status();
        }
        out.AppendRow({Datum::Int(s->id), Datum::Int(s->schema_id), Str(s->commit_user),
                       Datum::Int(s->commit_identifier), Str(std::string(table::CommitKindName(s->commit_kind))),
                       Time(s->time_millis), Str(s->base_manifest_list), Str(s->delta_manifest_list),
                       s->changelog_manifest_list ? Str(*s->changelog_manifest_list) : Datum(),
                       Opt(s->total_record_count), Opt(s->delta_record_count), Opt(s->changelog_record_count),
                       Opt(s->watermark)});
      }
      return out;
    });
  }
  if (n == "schemas") {
    RowType schema = Fields({{"schema_id", DataType::BigInt().NotNull()},
                             {"fields", DataType::String()},
                             {"partition_keys", DataType::String()},
                             {"primary_keys", DataType::String()},
                             {"options", DataType::String()},
                             {"comment", DataType::String()},
                             {"update_time", DataType::Timestamp(3)}});
    return Make(t, "schemas", schema, [path, schema](ExecContext&) -> Result<ColumnBatch> {
      ColumnBatch out(schema);
      table::SchemaManager schemas(path);
      KL_ASSIGN_OR_RETURN(auto ids, schemas.ListIds());
      for (int64_t id : ids) {
        KL_ASSIGN_OR_RETURN(table::TableSchema s, schemas.Read(id));
        JsonValue fields = JsonValue::Array();
        for (const auto& f : s.fields.fields()) fields.mutable_items().push_back(f.ToJson());
        JsonValue pk = JsonValue::Array(), pt = JsonValue::Array();
        for (const auto& k : s.primary_keys) pk.mutable_items().push_back(JsonValue::String(k));
        for (const auto& k : s.partition_keys) pt.mutable_items().push_back(JsonValue::String(k));
        JsonValue opts = JsonValue::Object();
        for (const auto& [k, v] : s.options) opts.Set(k, JsonValue::String(v));
        out.AppendRow({Datum::Int(s.id), Str(fields.ToJson()), Str(pt.ToJson()), Str(pk.ToJson()), Str(opts.ToJson()),
                       Str(s.comment), Time(s.time_millis)});
      }
      return out;
    });
  }
  if (n == "options") {
    RowType schema = Fields({{"key", DataType::String().NotNull()}, {"value", DataType::String().NotNull()}});
    return Make(t, "options", schema, [t, schema](ExecContext&) -> Result<ColumnBatch> {
      ColumnBatch out(schema);
      for (const auto& [k, v] : t->schema().options) out.AppendRow({Str(k), Str(v)});
      return out;
    });
  }
  if (n == "files") {
    RowType schema = Fields({{"partition", DataType::String()},
                             {"bucket", DataType::Int()},
                             {"file_path", DataType::String()},
                             {"file_format", DataType::String()},
                             {"schema_id", DataType::BigInt()},
                             {"level", DataType::Int()},
                             {"record_count", DataType::BigInt()},
                             {"file_size_in_bytes", DataType::BigInt()},
                             {"min_key", DataType::String()},
                             {"max_key", DataType::String()},
                             {"min_sequence_number", DataType::BigInt()},
                             {"max_sequence_number", DataType::BigInt()},
                             {"creation_time", DataType::Timestamp(3)},
                             {"delete_row_count", DataType::BigInt()}});
    return Make(t, "files", schema, [t, schema](ExecContext&) -> Result<ColumnBatch> {
      ColumnBatch out(schema);
      KL_ASSIGN_OR_RETURN(auto latest, t->snapshots().LatestId());
      if (!latest) return out;
      KL_ASSIGN_OR_RETURN(table::ScanPlan plan, t->NewScan().PlanSnapshotFull(*latest));
      std::vector<DataType> part_types = table::TypesOf(t->schema().PartitionType());
      std::vector<DataType> key_types;
      for (int k : t->schema().TrimmedKeyIndexes()) key_types.push_back(t->schema().fields.type(k));
      for (const auto& split : plan.splits) {
        std::string part = RowText(split.partition, part_types);
        for (const auto& f : split.files) {
          std::string name = f.file_name;
          std::string fmt = name.substr(name.find_last_of('.') + 1);
          out.AppendRow({Str(part), Datum::Int(split.bucket), Str(name), Str(fmt), Datum::Int(f.schema_id),
                         Datum::Int(f.level), Datum::Int(f.row_count), Datum::Int(f.file_size),
                         key_types.empty() ? Datum() : Str(RowText(f.min_key, key_types)),
                         key_types.empty() ? Datum() : Str(RowText(f.max_key, key_types)),
                         Datum::Int(f.min_sequence_number), Datum::Int(f.max_sequence_number),
                         f.creation_time_millis ? Time(*f.creation_time_millis) : Datum(), Opt(f.delete_row_count)});
        }
      }
      return out;
    });
  }
  if (n == "manifests") {
    RowType schema = Fields({{"file_name", DataType::String().NotNull()},
                             {"file_size", DataType::BigInt()},
                             {"num_added_files", DataType::BigInt()},
                             {"num_deleted_files", DataType::BigInt()},
                             {"schema_id", DataType::BigInt()}});
    return Make(t, "manifests", schema, [t, schema](ExecContext&) -> Result<ColumnBatch> {
      ColumnBatch out(schema);
      KL_ASSIGN_OR_RETURN(auto latest, t->snapshots().Latest());
      if (!latest) return out;
      table::TableScan scan = t->NewScan();
      const table::ManifestIO& io = scan.manifests();
      for (const std::string& list : {latest->base_manifest_list, latest->delta_manifest_list}) {
        if (list.empty()) continue;
        KL_ASSIGN_OR_RETURN(auto metas, io.ReadManifestList(list));
        for (const auto& m : metas) {
          out.AppendRow({Str(m.file_name), Datum::Int(m.file_size), Datum::Int(m.num_added_files),
                         Datum::Int(m.num_deleted_files), Datum::Int(m.schema_id)});
        }
      }
      return out;
    });
  }
  if (n == "consumers") {
    RowType schema = Fields({{"consumer_id", DataType::String().NotNull()}, {"next_snapshot_id", DataType::BigInt()}});
    return Make(t, "consumers", schema, [path, schema](ExecContext&) -> Result<ColumnBatch> {
      ColumnBatch out(schema);
      KL_ASSIGN_OR_RETURN(auto all, table::ConsumerManager(path).ReadAll());
      for (const auto& [id, next] : all) out.AppendRow({Str(id), Datum::Int(next)});
      return out;
    });
  }
  if (n == "tags") {
    // Paimon's columns; create_time and time_retained only for tags that expire.
    RowType schema = Fields({{"tag_name", DataType::String().NotNull()},
                             {"snapshot_id", DataType::BigInt().NotNull()},
                             {"schema_id", DataType::BigInt().NotNull()},
                             {"commit_time", DataType::Timestamp(3).NotNull()},
                             {"record_count", DataType::BigInt()},
                             {"create_time", DataType::Timestamp(3)},
                             {"time_retained", DataType::String()}});
    return Make(t, "tags", schema, [path, schema](ExecContext&) -> Result<ColumnBatch> {
      ColumnBatch out(schema);
      KL_ASSIGN_OR_RETURN(auto tags, table::TagManager(path).ReadAll());
      for (const auto& tag : tags) {
        const table::Snapshot& s = tag.snapshot;
        out.AppendRow({Str(tag.name), Datum::Int(s.id), Datum::Int(s.schema_id), Time(s.time_millis),
                       Opt(s.total_record_count), tag.create_time ? Time(*tag.create_time) : Datum(),
                       tag.time_retained_millis ? Str(DurationText(*tag.time_retained_millis)) : Datum()});
      }
      return out;
    });
  }
  if (n == "audit_log") {
    std::vector<DataField> fields = {{0, "rowkind", DataType::String().NotNull(), ""}};
    for (const auto& f : t->schema().fields.fields())
      fields.push_back({static_cast<int32_t>(fields.size()), f.name, f.type, ""});
    RowType schema(fields);
    return Make(t, "audit_log", schema, [t, schema](ExecContext& ctx) -> Result<ColumnBatch> {
      ColumnBatch out(schema);
      KL_ASSIGN_OR_RETURN(auto latest, t->snapshots().LatestId());
      if (!latest) return out;
      KL_ASSIGN_OR_RETURN(table::ScanPlan plan, t->NewScan().PlanSnapshotFull(*latest));
      for (auto& split : plan.splits) split.raw_changes = true;  // every stored record, with its kind
      KL_ASSIGN_OR_RETURN(auto read, t->NewRead());
      KL_ASSIGN_OR_RETURN(table::RowsWithKinds rows, read->ReadAll(plan));
      for (size_t i = 0; i < rows.size(); ++i) {
        if (i % 4096 == 0) KL_RETURN_IF_ERROR(ctx.CheckInterrupt());
        out.mutable_column(0).AppendBytes(format::RowKindShortString(rows.kinds[i]));
        for (size_t c = 0; c < rows.rows.num_columns(); ++c) {
          out.mutable_column(c + 1).AppendFrom(rows.rows.column(c), i);
        }
      }
      out.SetNumRows(rows.size());
      return out;
    });
  }
  return Status::NotFound("no system table $" + system_name + " (there are: $" + Join(SystemTableNames(), ", $") + ")");
}

}  // namespace kl::sql
