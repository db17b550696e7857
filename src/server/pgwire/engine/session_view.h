// What catalog tables and functions need to know about the session reading
// them: its user and settings (through ExecContext::variables), the schemas
// its unqualified names look in, and how PostgreSQL spells its objects
// (qualified names, index and constraint definitions, sizes).
#pragma once

#include <string>
#include <vector>

#include "server/pgwire/engine/catalog_snapshot.h"
#include "sql/execution/context.h"

namespace kl::server::pg {

std::string SessionUser(const sql::ExecContext& ctx);
// A setting's value ("" when unknown).
std::string Setting(const sql::ExecContext& ctx, const std::string& name);
// The schemas unqualified names look in: pg_catalog, the session's current schema (its Paimon
// database), then search_path's schemas that exist.
std::vector<std::string> SearchPath(const sql::ExecContext& ctx, const CatalogSnapshot& s);
bool RelationVisible(const sql::ExecContext& ctx, const CatalogSnapshot& s, const PgRelation& r);
uint32_t RoleOid(const std::string& user);
std::string QuoteIdentifierPg(const std::string& name);
// The relation's name, schema-qualified when it is not visible.
std::string Qualified(const sql::ExecContext& ctx, const CatalogSnapshot& s, const PgRelation& r);
std::string IndexDef(const sql::ExecContext& ctx, const CatalogSnapshot& s, const PgRelation& index);
std::string ConstraintDef(const PgRelation& table);
// Bytes of a table's live data files (pg_table_size); -1 when unknown.
int64_t TableBytes(WarehouseCatalog& catalog, const PgRelation& r);
// pg_size_pretty's text.
std::string SizePretty(int64_t bytes);

}  // namespace kl::server::pg
