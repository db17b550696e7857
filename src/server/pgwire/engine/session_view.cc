#include "server/pgwire/engine/session_view.h"

#include <algorithm>
#include <cmath>

#include "common/string_util.h"
#include "server/pgwire/engine/pg_types.h"
#include "table/operation/scan.h"

namespace kl::server::pg {

using sql::ExecContext;


std::string SessionUser(const ExecContext& ctx) {
  return ctx.variables != nullptr ? ctx.variables->user() : std::string("kubelake");
}

std::string Setting(const ExecContext& ctx, const std::string& name) {
  if (ctx.variables == nullptr) return "";
  return ctx.variables->Get(name).value_or("");
}

// The schemas unqualified names look in: pg_catalog, the session's current schema (its Paimon
// database), then search_path's schemas that exist.
std::vector<std::string> SearchPath(const ExecContext& ctx, const CatalogSnapshot& s) {
  std::vector<std::string> out = {"pg_catalog"};
  auto add = [&](const std::string& n) {
    if (s.Schema(n) != nullptr && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  };
  add(ctx.current_database);
  for (const auto& raw : Split(Setting(ctx, "search_path"), ',', true)) {
    std::string n(Trim(raw));
    if (n.size() >= 2 && n.front() == '"' && n.back() == '"') n = n.substr(1, n.size() - 2);
    if (n == "$user") n = SessionUser(ctx);
    add(n);
  }
  return out;
}

bool RelationVisible(const ExecContext& ctx, const CatalogSnapshot& s, const PgRelation& r) {
  for (const auto& schema : SearchPath(ctx, s)) {
    if (s.Relation(schema, r.name) != nullptr) return schema == r.schema;
  }
  return false;
}

uint32_t RoleOid(const std::string& user) { return user == "kubelake" ? kOwnerRole : StableOid("role", user); }

std::string QuoteIdentifierPg(const std::string& n) {
  bool plain = !n.empty() && !(n[0] >= '0' && n[0] <= '9');
  for (char c : n) plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (plain) return n;
  std::string q = "\"";
  for (char c : n) {
    if (c == '"') q.push_back('"');
    q.push_back(c);
  }
  return q + "\"";
}

std::string Qualified(const ExecContext& ctx, const CatalogSnapshot& s, const PgRelation& r) {
  if (RelationVisible(ctx, s, r)) return QuoteIdentifierPg(r.name);
  return QuoteIdentifierPg(r.schema) + "." + QuoteIdentifierPg(r.name);
}

std::string IndexDef(const ExecContext& ctx, const CatalogSnapshot& s, const PgRelation& index) {
  const PgRelation* table = s.Relation(index.table_oid);
  if (table == nullptr) return "";
  std::vector<std::string> cols;
  for (int16_t k : index.key_columns) cols.push_back(table->columns[k - 1].name);
  return "CREATE UNIQUE INDEX " + index.name + " ON " + table->schema + "." + table->name + " USING btree (" +
         Join(cols, ", ") + ")";
}

std::string ConstraintDef(const PgRelation& table) {
  std::vector<std::string> cols;
  for (int16_t k : table.key_columns) cols.push_back(table.columns[k - 1].name);
  return "PRIMARY KEY (" + Join(cols, ", ") + ")";
}

// Bytes of a table's live data files (pg_table_size); -1 when unknown.
int64_t TableBytes(WarehouseCatalog& catalog, const PgRelation& r) {
  if (r.kind != 'r' || r.system) return 0;
  auto obj = catalog.warehouse().GetObject(r.schema, r.name, {});
  if (!obj.ok() || !(*obj)->paimon) return -1;
  auto latest = (*obj)->paimon->snapshots().LatestId();
  if (!latest.ok() || !latest->has_value()) return 0;
  auto plan = (*obj)->paimon->NewScan().PlanSnapshotFull(**latest);
  if (!plan.ok()) return -1;
  int64_t bytes = 0;
  for (const auto& split : plan->splits) {
    for (const auto& f : split.files) bytes += f.file_size;
  }
  return bytes;
}

std::string SizePretty(int64_t bytes) {
  // PostgreSQL's rounding: a unit is kept until the value reaches 10240 of it.
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  int64_t shown = bytes;
  while (u < 5 && std::llabs(shown) >= 10 * 1024) {
    v /= 1024;
    shown = static_cast<int64_t>(std::llround(v));
    ++u;
  }
  return std::to_string(u == 0 ? bytes : shown) + " " + units[u];
}

}  // namespace kl::server::pg
