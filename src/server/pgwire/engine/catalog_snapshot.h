// The warehouse as PostgreSQL's catalogs describe it: schemas (one per Paimon
// database, plus pg_catalog and information_schema), relations (tables,
// views, and the index behind each primary key), their columns and comments,
// with stable oids. A snapshot is built from the Paimon catalog when asked for
// and reused for a moment (and rebuilt at once after DDL), so the dozen
// catalog queries psql sends for one `\d` see one consistent picture.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "format/types.h"
#include "sql/catalog/catalog.h"

namespace kl::server::pg {

struct PgColumn {
  std::string name;
  format::DataType type;
  uint32_t type_oid = 25;
  int32_t typmod = -1;
  bool not_null = false;
  std::string comment;
};

struct PgRelation {
  uint32_t oid = 0;
  uint32_t schema_oid = 0;
  std::string schema;
  std::string name;
  char kind = 'r';  // r table, v view, i index
  std::vector<PgColumn> columns;
  std::string comment;
  // Tables with a primary key: the index and constraint behind it and the key's columns (attnums).
  uint32_t index_oid = 0, constraint_oid = 0;
  std::vector<int16_t> key_columns;
  // Indexes: the table they belong to.
  uint32_t table_oid = 0;
  std::string view_definition;                 // views
  std::map<std::string, std::string> options;  // Paimon options (reloptions)
  std::vector<std::string> partition_keys;
  bool system = false;  // pg_catalog / information_schema
};

struct PgSchema {
  uint32_t oid = 0;
  std::string name;
  bool system = false;
};

class CatalogSnapshot {
 public:
  std::vector<PgSchema> schemas;
  std::vector<PgRelation> relations;

  const PgRelation* Relation(uint32_t oid) const;
  const PgRelation* Relation(const std::string& schema, const std::string& name) const;
  const PgSchema* Schema(uint32_t oid) const;
  const PgSchema* Schema(const std::string& name) const;
  void Index();  // builds the look-up maps (after the vectors are filled)

 private:
  std::map<uint32_t, size_t> by_oid_;
  std::map<std::pair<std::string, std::string>, size_t> by_name_;
  std::map<uint32_t, size_t> schema_by_oid_;
  std::map<std::string, size_t> schema_by_name_;
};

// A system relation's definition: its schema and columns (pg_catalog.pg_class, ...).
struct SystemRelation {
  std::string schema, name;
  format::RowType columns;
  std::vector<uint32_t> column_type_oids;  // PostgreSQL's type of each column
  uint32_t oid = 0;                        // PostgreSQL's own where clients know it (pg_class 1259), else stable
  char kind = 'r';                         // information_schema's are views
};

class WarehouseCatalog {
 public:
  // `view_columns` gives a view's columns (binding its query).
  WarehouseCatalog(std::shared_ptr<sql::Catalog> warehouse,
                   std::function<Result<format::RowType>(const std::string& db, const std::string& view)> view_columns);

  void SetSystemRelations(std::vector<SystemRelation> relations);
  // The current snapshot: rebuilt when older than a second or after Invalidate().
  Result<std::shared_ptr<const CatalogSnapshot>> Snapshot();
  void Invalidate();
  sql::Catalog& warehouse() { return *warehouse_; }

 private:
  Result<std::shared_ptr<const CatalogSnapshot>> Build();

  std::shared_ptr<sql::Catalog> warehouse_;
  std::function<Result<format::RowType>(const std::string&, const std::string&)> view_columns_;
  std::vector<SystemRelation> system_;
  std::mutex mu_;
  std::shared_ptr<const CatalogSnapshot> cached_;
  int64_t built_at_ms_ = 0;
  uint64_t generation_ = 0, built_generation_ = 0;
};

}  // namespace kl::server::pg
