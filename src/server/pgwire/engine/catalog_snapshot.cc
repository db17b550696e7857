#include "server/pgwire/engine/catalog_snapshot.h"

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "server/pgwire/engine/pg_types.h"

namespace kl::server::pg {

const PgRelation* CatalogSnapshot::Relation(uint32_t oid) const {
  auto it = by_oid_.find(oid);
  return it == by_oid_.end() ? nullptr : &relations[it->second];
}

const PgRelation* CatalogSnapshot::Relation(const std::string& schema, const std::string& name) const {
  auto it = by_name_.find({schema, name});
  return it == by_name_.end() ? nullptr : &relations[it->second];
}

const PgSchema* CatalogSnapshot::Schema(uint32_t oid) const {
  auto it = schema_by_oid_.find(oid);
  return it == schema_by_oid_.end() ? nullptr : &schemas[it->second];
}

const PgSchema* CatalogSnapshot::Schema(const std::string& name) const {
  auto it = schema_by_name_.find(name);
  return it == schema_by_name_.end() ? nullptr : &schemas[it->second];
}

void CatalogSnapshot::Index() {
  by_oid_.clear();
  by_name_.clear();
  schema_by_oid_.clear();
  schema_by_name_.clear();
  for (size_t i = 0; i < relations.size(); ++i) {
    by_oid_[relations[i].oid] = i;
    by_name_[{relations[i].schema, relations[i].name}] = i;
  }
  for (size_t i = 0; i < schemas.size(); ++i) {
    schema_by_oid_[schemas[i].oid] = i;
    schema_by_name_[schemas[i].name] = i;
  }
}

WarehouseCatalog::WarehouseCatalog(
    std::shared_ptr<sql::Catalog> warehouse,
    std::function<Result<format::RowType>(const std::string&, const std::string&)> view_columns)
    : warehouse_(std::move(warehouse)), view_columns_(std::move(view_columns)) {}

void WarehouseCatalog::SetSystemRelations(std::vector<SystemRelation> relations) {
  std::lock_guard<std::mutex> l(mu_);
  system_ = std::move(relations);
  ++generation_;
}

void WarehouseCatalog::Invalidate() {
  std::lock_guard<std::mutex> l(mu_);
  ++generation_;
}

Result<std::shared_ptr<const CatalogSnapshot>> WarehouseCatalog::Snapshot() {
  std::lock_guard<std::mutex> l(mu_);
  int64_t now = MonotonicMicros() / 1000;
  if (cached_ && built_generation_ == generation_ && now - built_at_ms_ < 1000) return cached_;
  uint64_t generation = generation_;
  KL_ASSIGN_OR_RETURN(auto snapshot, Build());
  cached_ = snapshot;
  built_at_ms_ = now;
  built_generation_ = generation;
  return snapshot;
}

namespace {

PgColumn ColumnOf(const format::DataField& f, bool not_null) {
  PgColumn c;
  c.name = f.name;
  c.type = f.type;
  PgColumnType t = PgColumnTypeOf(f.type);
  c.type_oid = t.oid;
  c.typmod = t.typmod;
  c.not_null = not_null || !f.type.nullable();
  c.comment = f.description;
  return c;
}

}  // namespace

Result<std::shared_ptr<const CatalogSnapshot>> WarehouseCatalog::Build() {
  auto s = std::make_shared<CatalogSnapshot>();
  std::set<uint32_t> used;
  // A stable oid, probed past collisions in a deterministic (name) order.
  auto oid_for = [&](std::string_view kind, const std::string& name) {
    uint32_t oid = StableOid(kind, name);
    for (int salt = 1; used.count(oid) != 0; ++salt) oid = StableOid(std::string(kind) + std::to_string(salt), name);
    used.insert(oid);
    return oid;
  };
  s->schemas.push_back({kPgCatalogNamespace, "pg_catalog", true});
  s->schemas.push_back({kPublicNamespace, "public", true});
  s->schemas.push_back({kInformationSchemaNamespace, "information_schema", true});
  for (uint32_t o : {kPgCatalogNamespace, kPublicNamespace, kInformationSchemaNamespace}) used.insert(o);
  for (const auto& r : system_) {
    if (r.oid != 0) used.insert(r.oid);
  }
  KL_ASSIGN_OR_RETURN(auto dbs, warehouse_->ListDatabases());
  std::sort(dbs.begin(), dbs.end());
  for (const auto& db : dbs) {
    if (s->Schema(db) != nullptr || db == "pg_catalog" || db == "information_schema" || db == "public") continue;
    s->schemas.push_back({oid_for("namespace", db), db, false});
    s->Index();
  }
  for (const auto& r : system_) {
    PgRelation rel;
    rel.schema = r.schema;
    rel.schema_oid = r.schema == "pg_catalog" ? kPgCatalogNamespace : kInformationSchemaNamespace;
    rel.name = r.name;
    rel.kind = r.kind;
    rel.system = true;
    rel.oid = r.oid != 0 ? r.oid : oid_for("relation", r.schema + "." + r.name);
    for (size_t i = 0; i < r.columns.size(); ++i) {
      PgColumn c = ColumnOf(r.columns.field(i), false);
      if (i < r.column_type_oids.size() && r.column_type_oids[i] != 0) {
        c.type_oid = r.column_type_oids[i];
        c.typmod = -1;
      }
      rel.columns.push_back(std::move(c));
    }
    s->relations.push_back(std::move(rel));
  }
  // A table, index or view of a user schema, its oid drawn in the order of the calls.
  auto user_relation = [&](const PgSchema& schema, const std::string& name, char kind) {
    PgRelation rel;
    rel.schema = schema.name;
    rel.schema_oid = schema.oid;
    rel.name = name;
    rel.kind = kind;
    rel.oid = oid_for("relation", schema.name + "." + name);
    return rel;
  };
  for (const auto& schema : s->schemas) {
    if (schema.system) continue;
    const std::string& db = schema.name;
    auto tables = warehouse_->ListTables(db);
    if (!tables.ok()) continue;  // a database that vanished meanwhile
    std::vector<std::string> names = *tables;
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      auto obj = warehouse_->GetObject(db, name, {});
      if (!obj.ok()) continue;  // dropped, or unreadable: not listed
      PgRelation rel = user_relation(schema, name, 'r');
      std::vector<std::string> pk;
      if ((*obj)->paimon) {
        const table::TableSchema& ts = (*obj)->paimon->schema();
        pk = ts.primary_keys;
        rel.comment = ts.comment;
        rel.options = ts.options;
        rel.partition_keys = ts.partition_keys;
      }
      const format::RowType& cols = (*obj)->schema;
      for (size_t i = 0; i < cols.size(); ++i) {
        bool key = std::find(pk.begin(), pk.end(), cols.field(i).name) != pk.end();
        rel.columns.push_back(ColumnOf(cols.field(i), key));
      }
      for (const auto& k : pk) {
        for (size_t i = 0; i < cols.size(); ++i) {
          if (cols.field(i).name == k) rel.key_columns.push_back(static_cast<int16_t>(i + 1));
        }
      }
      PgRelation index;
      if (!rel.key_columns.empty()) {
        index = user_relation(schema, name + "_pkey", 'i');
        rel.index_oid = index.oid;
        rel.constraint_oid = oid_for("constraint", db + "." + name + "_pkey");
        index.table_oid = rel.oid;
        index.key_columns = rel.key_columns;
        for (int16_t k : rel.key_columns) index.columns.push_back(rel.columns[k - 1]);
      }
      s->relations.push_back(std::move(rel));
      if (index.oid != 0) s->relations.push_back(std::move(index));
    }
    auto views = warehouse_->ListViews(db);
    if (views.ok()) {
      std::vector<std::string> vnames = *views;
      std::sort(vnames.begin(), vnames.end());
      for (const auto& name : vnames) {
        auto obj = warehouse_->GetObject(db, name, {});
        if (!obj.ok()) continue;
        PgRelation rel = user_relation(schema, name, 'v');
        rel.view_definition = (*obj)->view_query;
        rel.comment = (*obj)->comment;
        if (view_columns_) {
          auto cols = view_columns_(db, name);
          if (cols.ok()) {
            for (size_t i = 0; i < cols->size(); ++i) rel.columns.push_back(ColumnOf(cols->field(i), false));
          }
        }
        s->relations.push_back(std::move(rel));
      }
    }
  }
  s->Index();
  return std::shared_ptr<const CatalogSnapshot>(s);
}

}  // namespace kl::server::pg
