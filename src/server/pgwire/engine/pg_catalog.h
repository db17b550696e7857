// PostgreSQL's catalogs for clients of the PostgreSQL server, computed from
// the warehouse when queried: `pg_catalog` (pg_namespace, pg_class,
// pg_attribute, pg_type, pg_index, pg_constraint, pg_description, pg_database,
// pg_settings, pg_proc, pg_roles, ... and empty tables for what kubelake does
// not have: sequences, triggers, policies, publications, ...) and
// `information_schema` (schemata, tables, columns, views, table_constraints,
// key_column_usage, ...), plus the functions clients call with them
// (version(), current_setting, format_type, pg_get_indexdef, has_*_privilege,
// ::regclass, ...). Registered with a SqlEngine; they read the session's
// settings and user through ExecContext::variables.
#pragma once

#include <memory>

#include "server/pgwire/engine/catalog_snapshot.h"
#include "sql/sql.h"

namespace kl::server::pg {

struct PgCatalogOptions {
  bool allow_writes = false;  // what has_table_privilege answers for INSERT/UPDATE/DELETE
};

// Adds pg_catalog and information_schema (as databases visible from every
// catalog; pg_catalog's tables also by bare name) and the functions to
// `engine`, over `catalog`'s snapshots.
void RegisterPgCatalog(sql::SqlEngine& engine, std::shared_ptr<WarehouseCatalog> catalog,
                       const PgCatalogOptions& options);

}  // namespace kl::server::pg
