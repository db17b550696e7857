// The functions PostgreSQL clients call along with the catalogs: version(),
// current_setting, current_schema(s), session users, format_type,
// pg_get_expr / _indexdef / _constraintdef / _viewdef / _userbyid,
// visibility and privilege checks, descriptions, sizes, and the
// ::regclass / ::regtype / ::regnamespace / ::regproc / ::regrole look-ups.
#include <algorithm>

#include "common/clock.h"
#include "common/string_util.h"
#include "server/pgwire/engine/pg_catalog.h"
#include "server/pgwire/engine/pg_types.h"
#include "server/pgwire/engine/session_view.h"
#include "server/pgwire/settings.h"
#include "sql/binder/types.h"
#include "sql/functions/helpers.h"

namespace kl::server::pg {

using format::DataType;
using format::Datum;
using sql::BoundFunction;
using sql::CallSite;
using sql::ExecContext;
using sql::FixedBinder;
using sql::RowFunction;

namespace {

const int64_t kStartMicros = NowMillis() * 1000;

Datum Text(std::string s) { return Datum::Bytes(std::move(s)); }

// Splits "schema.name" / "\"Quoted\".name" / "name" into its parts (unquoted names folded to lower case).
std::vector<std::string> NameParts(const std::string& s) {
  std::vector<std::string> parts;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
      was_quoted = true;
    } else if (c == '.') {
      parts.push_back(cur);
      cur.clear();
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      cur.push_back(was_quoted ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  parts.push_back(cur);
  return parts;
}

class Functions : public std::enable_shared_from_this<Functions> {
 public:
  Functions(sql::SqlEngine& engine, std::shared_ptr<WarehouseCatalog> catalog, PgCatalogOptions options)
      : engine_(engine), catalog_(std::move(catalog)), options_(options) {}

  void Add(const std::string& name, sql::ScalarBinder binder, std::string signature) {
    engine_.RegisterScalarFunction(name, std::move(binder), std::move(signature));
  }
  // A non-deterministic (session- or catalog-dependent) function of fixed argument kinds.
  void AddFixed(const std::string& name, std::string kinds, size_t min_args, DataType ret, RowFunction f,
                std::string signature, bool null_handling = false) {
    auto fixed = FixedBinder(std::move(kinds), min_args, ret, std::move(f), null_handling);
    Add(
        name,
        [fixed](const CallSite& site) -> Result<BoundFunction> {
          KL_ASSIGN_OR_RETURN(BoundFunction b, fixed(site));
          b.deterministic = false;
          return b;
        },
        std::move(signature));
  }

  Result<std::shared_ptr<const CatalogSnapshot>> Snapshot() { return catalog_->Snapshot(); }

  // ---- name look-ups (the reg* types) ----
  Result<int64_t> RelationOid(const ExecContext& ctx, const std::string& text, bool missing_ok) {
    if (auto n = ParseInt64(text)) return *n;
    KL_ASSIGN_OR_RETURN(auto s, Snapshot());
    auto parts = NameParts(text);
    const PgRelation* r = nullptr;
    if (parts.size() == 2) {
      r = s->Relation(parts[0], parts[1]);
    } else if (parts.size() == 1) {
      for (const auto& schema : SearchPath(ctx, *s)) {
        if ((r = s->Relation(schema, parts[0])) != nullptr) break;
      }
    }
    if (r == nullptr) {
      if (missing_ok) return int64_t{-1};
      return Status::NotFound("relation \"" + text + "\" does not exist");
    }
    return static_cast<int64_t>(r->oid);
  }
  Result<std::string> RelationName(const ExecContext& ctx, int64_t oid) {
    KL_ASSIGN_OR_RETURN(auto s, Snapshot());
    const PgRelation* r = s->Relation(static_cast<uint32_t>(oid));
    if (r == nullptr) return std::to_string(oid);
    return Qualified(ctx, *s, *r);
  }

  void Register() {
    std::shared_ptr<Functions> self = shared_from_this();
    const DataType S = DataType::String(), B = DataType::Boolean(), I = DataType::BigInt();
    AddFixed(
        "VERSION", "", 0, S,
        [](ExecContext&, const Datum*, Datum* o) {
          *o = Text(std::string("PostgreSQL ") + kServerVersion +
                    " on x86_64-pc-linux-gnu, a PostgreSQL-compatible server over Apache Paimon tables, 64-bit");
          return Status::OK();
        },
        "VERSION(): PostgreSQL 15 as kubelake speaks it");
    auto setting = [](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
      std::string name = ToLower(a[0].as_bytes());
      std::optional<std::string> v = ctx.variables != nullptr ? ctx.variables->Get(name) : std::nullopt;
      if (!v) {
        if (!a[1].is_null() && a[1].as_int() != 0) {
          *o = Datum();
          return Status::OK();
        }
        return Status::NotFound("unrecognized configuration parameter \"" + a[0].as_bytes() + "\"");
      }
      *o = Text(*v);
      return Status::OK();
    };
    AddFixed("CURRENT_SETTING", "sb", 1, S, setting, "CURRENT_SETTING(name[, missing_ok])");
    AddFixed(
        "SET_CONFIG", "ssb", 3, S,
        [](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          if (ctx.variables == nullptr) return Status::NotSupported("this session has no settings");
          KL_RETURN_IF_ERROR(ctx.variables->Set(ToLower(a[0].as_bytes()), a[1].as_bytes()));
          *o = Text(ctx.variables->Get(ToLower(a[0].as_bytes())).value_or(a[1].as_bytes()));
          return Status::OK();
        },
        "SET_CONFIG(name, value, is_local): as SET; the new value");
    auto schema_fn = [](ExecContext& ctx, const Datum*, Datum* o) {
      *o = Text(ctx.current_database);
      return Status::OK();
    };
    AddFixed("CURRENT_SCHEMA", "", 0, S, schema_fn, "CURRENT_SCHEMA(): the session's current schema (Paimon database)");
    AddFixed(
        "CURRENT_SCHEMAS", "b", 1, DataType::Array(S),
        [self](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
          format::DatumList items;
          for (const auto& n : SearchPath(ctx, *s)) {
            if (n == "pg_catalog" && a[0].as_int() == 0) continue;
            items.push_back(Text(n));
          }
          *o = Datum::List(std::move(items));
          return Status::OK();
        },
        "CURRENT_SCHEMAS(include_implicit)");
    auto user_fn = [](ExecContext& ctx, const Datum*, Datum* o) {
      *o = Text(SessionUser(ctx));
      return Status::OK();
    };
    for (const char* n : {"CURRENT_USER", "SESSION_USER", "USER", "CURRENT_ROLE", "GETPGUSERNAME"}) {
      AddFixed(n, "", 0, S, user_fn, std::string(n) + ": the session's user");
    }
    AddFixed(
        "PG_BACKEND_PID", "", 0, DataType::Int(),
        [](ExecContext& ctx, const Datum*, Datum* o) {
          *o = Datum::Int(ParseInt64(Setting(ctx, "kubelake.backend_pid")).value_or(0));
          return Status::OK();
        },
        "PG_BACKEND_PID(): the session's process id as BackendKeyData gave it");
    for (const char* n : {"INET_SERVER_ADDR", "INET_CLIENT_ADDR"}) {
      AddFixed(
          n, "", 0, S,
          [](ExecContext&, const Datum*, Datum* o) {
            *o = Datum();
            return Status::OK();
          },
          "");
    }
    for (const char* n : {"INET_SERVER_PORT", "INET_CLIENT_PORT"}) {
      AddFixed(
          n, "", 0, DataType::Int(),
          [](ExecContext&, const Datum*, Datum* o) {
            *o = Datum();
            return Status::OK();
          },
          "");
    }
    AddFixed(
        "PG_IS_IN_RECOVERY", "", 0, B,
        [](ExecContext&, const Datum*, Datum* o) {
          *o = Datum::Bool(false);
          return Status::OK();
        },
        "");
    AddFixed(
        "PG_POSTMASTER_START_TIME", "", 0, DataType::TimestampLtz(6),
        [](ExecContext&, const Datum*, Datum* o) {
          *o = Datum::Time(format::Timestamp::FromMicros(kStartMicros));
          return Status::OK();
        },
        "PG_POSTMASTER_START_TIME(): when this kubelake started");
    AddFixed(
        "FORMAT_TYPE", "ii", 2, S,
        [](ExecContext&, const Datum* a, Datum* o) {
          if (a[0].is_null()) {
            *o = Datum();
            return Status::OK();
          }
          *o = Text(FormatType(static_cast<uint32_t>(a[0].as_int()),
                               a[1].is_null() ? -1 : static_cast<int32_t>(a[1].as_int())));
          return Status::OK();
        },
        "FORMAT_TYPE(type_oid, typmod): the type's SQL name", true);
    AddFixed(
        "PG_GET_EXPR", "sib", 2, S,
        [](ExecContext&, const Datum* a, Datum* o) {
          *o = a[0];  // kubelake keeps no expression trees: defaults and bounds are absent (NULL)
          return Status::OK();
        },
        "PG_GET_EXPR(expression, relation[, pretty])");
    AddFixed(
        "PG_GET_USERBYID", "i", 1, S,
        [](ExecContext& ctx, const Datum* a, Datum* o) {
          uint32_t oid = static_cast<uint32_t>(a[0].as_int());
          std::string user = SessionUser(ctx);
          if (oid == kOwnerRole) {
            *o = Text("kubelake");
          } else if (oid == RoleOid(user)) {
            *o = Text(user);
          } else {
            *o = Text("unknown (OID=" + std::to_string(oid) + ")");
          }
          return Status::OK();
        },
        "PG_GET_USERBYID(role_oid)");
    AddFixed(
        "PG_GET_INDEXDEF", "iib", 1, S,
        [self](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
          const PgRelation* index = s->Relation(static_cast<uint32_t>(a[0].as_int()));
          *o = Datum();
          if (index == nullptr || index->kind != 'i') return Status::OK();
          int64_t column = a[1].is_null() ? 0 : a[1].as_int();
          if (column == 0) {
            *o = Text(IndexDef(ctx, *s, *index));
          } else if (column > 0 && column <= static_cast<int64_t>(index->columns.size())) {
            *o = Text(QuoteIdentifierPg(index->columns[column - 1].name));
          }
          return Status::OK();
        },
        "PG_GET_INDEXDEF(index_oid[, column, pretty])");
    AddFixed(
        "PG_GET_CONSTRAINTDEF", "ib", 1, S,
        [self](ExecContext&, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
          *o = Datum();
          for (const auto& r : s->relations) {
            if (r.constraint_oid != 0 && r.constraint_oid == static_cast<uint32_t>(a[0].as_int())) {
              *o = Text(ConstraintDef(r));
            }
          }
          return Status::OK();
        },
        "PG_GET_CONSTRAINTDEF(constraint_oid[, pretty])");
    AddFixed(
        "PG_GET_VIEWDEF", "xb", 1, S,
        [self](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
          int64_t oid = 0;
          if (a[0].kind() == Datum::Kind::kBytes) {
            KL_ASSIGN_OR_RETURN(oid, self->RelationOid(ctx, a[0].as_bytes(), false));
          } else {
            oid = a[0].as_int();
          }
          const PgRelation* r = s->Relation(static_cast<uint32_t>(oid));
          *o = r != nullptr && r->kind == 'v' ? Text(r->view_definition) : Datum();
          return Status::OK();
        },
        "PG_GET_VIEWDEF(view[, pretty]): the view's query");
    for (const char* n : {"PG_GET_PARTKEYDEF", "PG_GET_TRIGGERDEF", "PG_GET_RULEDEF", "PG_GET_STATISTICSOBJDEF_COLUMNS",
                          "PG_GET_SERIAL_SEQUENCE", "PG_TABLESPACE_LOCATION"}) {
      AddFixed(
          n, "xx", 1, S,
          [](ExecContext&, const Datum*, Datum* o) {
            *o = Datum();
            return Status::OK();
          },
          std::string(n) + ": NULL (kubelake has no such objects)");
    }
    AddFixed(
        "PG_RELATION_IS_PUBLISHABLE", "x", 1, B,
        [](ExecContext&, const Datum*, Datum* o) {
          *o = Datum::Bool(false);
          return Status::OK();
        },
        "");
    AddFixed(
        "PG_TABLE_IS_VISIBLE", "i", 1, B,
        [self](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
          const PgRelation* r = s->Relation(static_cast<uint32_t>(a[0].as_int()));
          *o = r == nullptr ? Datum() : Datum::Bool(RelationVisible(ctx, *s, *r));
          return Status::OK();
        },
        "PG_TABLE_IS_VISIBLE(relation_oid): whether its unqualified name finds it");
    for (const char* n :
         {"PG_TYPE_IS_VISIBLE", "PG_FUNCTION_IS_VISIBLE", "PG_COLLATION_IS_VISIBLE", "PG_OPERATOR_IS_VISIBLE",
          "PG_OPCLASS_IS_VISIBLE", "PG_OPFAMILY_IS_VISIBLE", "PG_CONVERSION_IS_VISIBLE", "PG_STATISTICS_OBJ_IS_VISIBLE",
          "PG_TS_CONFIG_IS_VISIBLE", "PG_TS_DICT_IS_VISIBLE", "PG_TS_PARSER_IS_VISIBLE", "PG_TS_TEMPLATE_IS_VISIBLE"}) {
      AddFixed(
          n, "i", 1, B,
          [](ExecContext&, const Datum*, Datum* o) {
            *o = Datum::Bool(true);
            return Status::OK();
          },
          std::string(n) + ": built-in objects are visible");
    }
    AddFixed(
        "OBJ_DESCRIPTION", "is", 1, S,
        [self](ExecContext&, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
          *o = Datum();
          if (!a[1].is_null() && a[1].as_bytes() != "pg_class") return Status::OK();
          const PgRelation* r = s->Relation(static_cast<uint32_t>(a[0].as_int()));
          if (r != nullptr && !r->comment.empty()) *o = Text(r->comment);
          return Status::OK();
        },
        "OBJ_DESCRIPTION(oid[, catalog]): a table's comment");
    AddFixed(
        "COL_DESCRIPTION", "ii", 2, S,
        [self](ExecContext&, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
          *o = Datum();
          const PgRelation* r = s->Relation(static_cast<uint32_t>(a[0].as_int()));
          int64_t n = a[1].as_int();
          if (r != nullptr && n >= 1 && n <= static_cast<int64_t>(r->columns.size()) &&
              !r->columns[n - 1].comment.empty()) {
            *o = Text(r->columns[n - 1].comment);
          }
          return Status::OK();
        },
        "COL_DESCRIPTION(table_oid, column_number): a column's comment");
    AddFixed(
        "SHOBJ_DESCRIPTION", "is", 2, S,
        [](ExecContext&, const Datum*, Datum* o) {
          *o = Datum();
          return Status::OK();
        },
        "");
    // Privileges: every user may read everything; writes as the server allows them.
    bool writes = options_.allow_writes;
    auto privilege = [writes](const std::string& text) {
      bool any = false;
      for (const auto& p : Split(ToUpper(text), ',', true)) {
        std::string w(Trim(p));
        if (w.rfind(" WITH GRANT OPTION") != std::string::npos) return false;
        bool read = w == "SELECT" || w == "USAGE" || w == "CONNECT" || w == "TEMPORARY" || w == "TEMP" ||
                    w == "EXECUTE" || w == "REFERENCES";
        if (read || writes) any = true;
      }
      return any;
    };
    auto has_table = [self, privilege](ExecContext& ctx, const Datum* a, size_t n, Datum* o) -> Status {
      const Datum& object = a[n - 2];
      const Datum& what = a[n - 1];
      if (object.is_null() || what.is_null()) {
        *o = Datum();
        return Status::OK();
      }
      if (object.kind() == Datum::Kind::kBytes) {
        KL_RETURN_IF_ERROR(self->RelationOid(ctx, object.as_bytes(), false).status());
      } else {
        KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
        if (s->Relation(static_cast<uint32_t>(object.as_int())) == nullptr) {
          *o = Datum();
          return Status::OK();
        }
      }
      *o = Datum::Bool(privilege(what.as_bytes()));
      return Status::OK();
    };
    auto privilege_binder = [has_table](size_t min_args, size_t max_args, bool table_check) {
      return [=](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(sql::CheckArgCount(site, min_args, max_args));
        BoundFunction f;
        f.return_type = DataType::Boolean();
        f.deterministic = false;
        size_t n = site.arg_types.size();
        bool table_privilege = table_check;
        // (user, object, privilege) or (object, privilege); column privileges take the column before it.
        f.kernel = sql::RowKernel(
            [has_table, n, table_privilege](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
              if (table_privilege) return has_table(ctx, a, n, o);
              if (a[n - 1].is_null()) {
                *o = Datum();
                return Status::OK();
              }
              *o = Datum::Bool(true);
              return Status::OK();
            },
            true, n);
        return f;
      };
    };
    Add("HAS_TABLE_PRIVILEGE", privilege_binder(2, 3, true), "HAS_TABLE_PRIVILEGE([user,] table, privilege)");
    Add("HAS_ANY_COLUMN_PRIVILEGE", privilege_binder(2, 3, true), "HAS_ANY_COLUMN_PRIVILEGE([user,] table, privilege)");
    for (const char* n :
         {"HAS_SCHEMA_PRIVILEGE", "HAS_DATABASE_PRIVILEGE", "HAS_FUNCTION_PRIVILEGE", "HAS_SEQUENCE_PRIVILEGE",
          "HAS_TABLESPACE_PRIVILEGE", "HAS_TYPE_PRIVILEGE", "HAS_LANGUAGE_PRIVILEGE", "PG_HAS_ROLE"}) {
      Add(n, privilege_binder(2, 3, false), std::string(n) + "([user,] object, privilege)");
    }
    Add("HAS_COLUMN_PRIVILEGE", privilege_binder(3, 4, false),
        "HAS_COLUMN_PRIVILEGE([user,] table, column, privilege)");
    AddFixed(
        "PG_ENCODING_TO_CHAR", "i", 1, S,
        [](ExecContext&, const Datum* a, Datum* o) {
          *o = Text(a[0].as_int() == 6 ? "UTF8" : a[0].as_int() == 0 ? "SQL_ASCII" : "");
          return Status::OK();
        },
        "PG_ENCODING_TO_CHAR(encoding)");
    Add(
        "PG_SIZE_PRETTY",
        [](const CallSite& site) -> Result<BoundFunction> {
          KL_RETURN_IF_ERROR(sql::CheckArgCount(site, 1, 1));
          if (!sql::IsNumeric(site.arg_types[0])) return site.Error("PG_SIZE_PRETTY takes a number of bytes");
          BoundFunction f;
          f.return_type = DataType::String();
          f.arg_types = {DataType::BigInt()};
          f.kernel = sql::RowKernel([](ExecContext&, const Datum* a, Datum* o) {
            *o = Text(SizePretty(a[0].as_int()));
            return Status::OK();
          });
          return f;
        },
        "PG_SIZE_PRETTY(bytes): 12 kB, 3 MB, ...");
    auto size_fn = [self](ExecContext&, const Datum* a, Datum* o) -> Status {
      KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
      const PgRelation* r = s->Relation(static_cast<uint32_t>(a[0].as_int()));
      *o = Datum();
      if (r == nullptr) return Status::OK();
      int64_t bytes = TableBytes(*self->catalog_, *r);
      if (bytes >= 0) *o = Datum::Int(bytes);
      return Status::OK();
    };
    for (const char* n : {"PG_TABLE_SIZE", "PG_TOTAL_RELATION_SIZE", "PG_RELATION_SIZE"}) {
      AddFixed(n, "is", 1, I, size_fn, std::string(n) + "(relation_oid): bytes of its live data files");
    }
    AddFixed(
        "PG_INDEXES_SIZE", "i", 1, I,
        [](ExecContext&, const Datum*, Datum* o) {
          *o = Datum::Int(0);
          return Status::OK();
        },
        "");
    auto function_text = [self](int which) {
      return [self, which](ExecContext&, const Datum* a, Datum* o) -> Status {
        auto fns = self->engine_.functions();
        *o = Datum();
        for (const auto& [name, signature] : fns->signatures()) {
          if (StableOid("function", name) != static_cast<uint32_t>(a[0].as_int())) continue;
          size_t open = signature.find('('), close = signature.rfind(')');
          std::string args = open != std::string::npos && close != std::string::npos && close > open
                                 ? signature.substr(open + 1, close - open - 1)
                                 : "";
          *o = Text(which == 0 ? (fns->FindAggregate(name) != nullptr ? "any" : "any") : args);
        }
        return Status::OK();
      };
    };
    AddFixed("PG_GET_FUNCTION_RESULT", "i", 1, S, function_text(0), "PG_GET_FUNCTION_RESULT(function_oid)");
    AddFixed("PG_GET_FUNCTION_ARGUMENTS", "i", 1, S, function_text(1), "PG_GET_FUNCTION_ARGUMENTS(function_oid)");
    AddFixed("PG_GET_FUNCTION_IDENTITY_ARGUMENTS", "i", 1, S, function_text(1), "");
    AddFixed(
        "PG_GET_FUNCTION_SQLBODY", "i", 1, S,
        [](ExecContext&, const Datum*, Datum* o) {
          *o = Datum();  // built-in functions have no SQL body
          return Status::OK();
        },
        "PG_GET_FUNCTION_SQLBODY(function_oid): NULL (kubelake's functions are built in)");
    AddFixed(
        "PG_GET_FUNCTIONDEF", "i", 1, S,
        [self](ExecContext&, const Datum* a, Datum* o) -> Status {
          *o = Datum();
          for (const auto& [name, signature] : self->engine_.functions()->signatures()) {
            if (StableOid("function", name) != static_cast<uint32_t>(a[0].as_int())) continue;
            size_t open = signature.find('('), close = signature.rfind(')');
            std::string args = open != std::string::npos && close != std::string::npos && close > open
                                   ? signature.substr(open + 1, close - open - 1)
                                   : "";
            *o = Text("CREATE OR REPLACE FUNCTION pg_catalog." + ToLower(name) + "(" + args +
                      ")\n LANGUAGE internal\nAS $function$" + ToLower(name) + "$function$\n");
            return Status::OK();
          }
          return Status::NotFound("function with OID " + std::to_string(a[0].as_int()) + " does not exist");
        },
        "PG_GET_FUNCTIONDEF(function_oid): a CREATE FUNCTION statement naming the built-in function");
    AddFixed(
        "GETDATABASEENCODING", "", 0, S,
        [](ExecContext&, const Datum*, Datum* o) {
          *o = Text("UTF8");
          return Status::OK();
        },
        "GETDATABASEENCODING(): UTF8");
    AddFixed(
        "PG_CHAR_TO_ENCODING", "s", 1, I,
        [](ExecContext&, const Datum* a, Datum* o) {
          std::string name = ToUpper(std::string(a[0].as_bytes()));
          *o = Datum::Int(name == "UTF8" || name == "UTF-8" || name == "UNICODE" ? 6 : name == "SQL_ASCII" ? 0 : -1);
          return Status::OK();
        },
        "PG_CHAR_TO_ENCODING(name): the encoding's number (UTF8 = 6), -1 when unknown");
    AddFixed(
        "PG_DATABASE_SIZE", "x", 1, I,
        [self](ExecContext&, const Datum* a, Datum* o) -> Status {
          // A database is a Paimon database (pg_database lists them as it lists schemas).
          KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
          bool by_name = a[0].kind() == Datum::Kind::kBytes;
          const PgSchema* database = nullptr;
          for (const auto& n : s->schemas) {
            if (n.system) continue;
            if (by_name ? n.name == a[0].as_bytes()
                        : static_cast<int64_t>(StableOid("database", n.name)) == a[0].as_int()) {
              database = &n;
            }
          }
          if (database == nullptr) {
            return Status::NotFound(by_name ? "database \"" + std::string(a[0].as_bytes()) + "\" does not exist"
                                            : "database with OID " + std::to_string(a[0].as_int()) + " does not exist");
          }
          int64_t total = 0;
          for (const auto& r : s->relations) {
            if (r.kind != 'r' || r.system || r.schema != database->name) continue;
            int64_t bytes = TableBytes(*self->catalog_, r);
            if (bytes > 0) total += bytes;
          }
          *o = Datum::Int(total);
          return Status::OK();
        },
        "PG_DATABASE_SIZE(name | oid): bytes of the live data files of the database's tables");
    Add(
        "PG_TYPEOF",
        [](const CallSite& site) -> Result<BoundFunction> {
          KL_RETURN_IF_ERROR(sql::CheckArgCount(site, 1, 1));
          PgColumnType t = PgColumnTypeOf(site.arg_types[0]);
          std::string name = FormatType(t.oid, -1);
          BoundFunction f;
          f.return_type = DataType::String().NotNull();
          f.kernel = sql::RowKernel(
              [name](ExecContext&, const Datum*, Datum* o) {
                *o = Text(name);
                return Status::OK();
              },
              true, 1);
          return f;
        },
        "PG_TYPEOF(x): the PostgreSQL type of x");
    // ---- the reg* look-ups: x::regclass from text gives an oid, from an oid its name ----
    auto lookup = [self](const std::string& upper, std::function<Result<int64_t>(ExecContext&, const std::string&)> in,
                         std::function<Result<std::string>(ExecContext&, int64_t)> out) {
      self->AddFixed(
          "__PG_" + upper + "_IN", "s", 1, DataType::BigInt(),
          [in](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
            KL_ASSIGN_OR_RETURN(int64_t oid, in(ctx, a[0].as_bytes()));
            *o = Datum::Int(oid);
            return Status::OK();
          },
          "");
      self->AddFixed(
          "__PG_" + upper + "_OUT", "i", 1, DataType::String(),
          [out](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
            KL_ASSIGN_OR_RETURN(std::string name, out(ctx, a[0].as_int()));
            *o = Text(name);
            return Status::OK();
          },
          "");
    };
    lookup(
        "REGCLASS", [self](ExecContext& ctx, const std::string& t) { return self->RelationOid(ctx, t, false); },
        [self](ExecContext& ctx, int64_t oid) { return self->RelationName(ctx, oid); });
    lookup(
        "REGTYPE",
        [](ExecContext&, const std::string& t) -> Result<int64_t> {
          if (auto n = ParseInt64(t)) return *n;
          const PgTypeInfo* ti = FindPgTypeByName(std::string(Trim(t)));
          if (ti == nullptr) return Status::NotFound("type \"" + t + "\" does not exist");
          return static_cast<int64_t>(ti->oid);
        },
        [](ExecContext&, int64_t oid) -> Result<std::string> {
          if (FindPgType(static_cast<uint32_t>(oid)) == nullptr) return std::to_string(oid);
          return FormatType(static_cast<uint32_t>(oid), -1);
        });
    lookup(
        "REGNAMESPACE",
        [self](ExecContext&, const std::string& t) -> Result<int64_t> {
          if (auto n = ParseInt64(t)) return *n;
          KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
          auto parts = NameParts(t);
          const PgSchema* n = parts.size() == 1 ? s->Schema(parts[0]) : nullptr;
          if (n == nullptr) return Status::NotFound("schema \"" + t + "\" does not exist");
          return static_cast<int64_t>(n->oid);
        },
        [self](ExecContext&, int64_t oid) -> Result<std::string> {
          KL_ASSIGN_OR_RETURN(auto s, self->Snapshot());
          const PgSchema* n = s->Schema(static_cast<uint32_t>(oid));
          return n == nullptr ? std::to_string(oid) : QuoteIdentifierPg(n->name);
        });
    lookup(
        "REGROLE",
        [](ExecContext& ctx, const std::string& t) -> Result<int64_t> {
          if (auto n = ParseInt64(t)) return *n;
          std::string name = NameParts(t).back();
          if (name != "kubelake" && name != SessionUser(ctx))
            return Status::NotFound("role \"" + t + "\" does not exist");
          return static_cast<int64_t>(RoleOid(name));
        },
        [](ExecContext& ctx, int64_t oid) -> Result<std::string> {
          if (static_cast<uint32_t>(oid) == kOwnerRole) return std::string("kubelake");
          if (static_cast<uint32_t>(oid) == RoleOid(SessionUser(ctx))) return SessionUser(ctx);
          return std::to_string(oid);
        });
    auto proc_in = [self](ExecContext&, const std::string& t) -> Result<int64_t> {
      if (auto n = ParseInt64(t)) return *n;
      std::string name = ToUpper(NameParts(t.substr(0, t.find('('))).back());
      auto fns = self->engine_.functions();
      if (fns->signatures().count(name) == 0) return Status::NotFound("function \"" + t + "\" does not exist");
      return static_cast<int64_t>(StableOid("function", name));
    };
    auto proc_out = [self](ExecContext&, int64_t oid) -> Result<std::string> {
      if (oid == 0) return std::string("-");
      for (const auto& [name, _] : self->engine_.functions()->signatures()) {
        if (StableOid("function", name) == static_cast<uint32_t>(oid)) return ToLower(name);
      }
      return std::to_string(oid);
    };
    lookup("REGPROC", proc_in, proc_out);
    for (const char* n : {"REGOPER", "REGCONFIG"}) {
      lookup(
          n,
          [n](ExecContext&, const std::string& t) -> Result<int64_t> {
            if (auto v = ParseInt64(t)) return *v;
            return Status::NotFound(
                std::string(n == std::string("REGOPER") ? "operator" : "text search configuration") + " \"" + t +
                "\" does not exist");
          },
          [](ExecContext&, int64_t oid) -> Result<std::string> { return std::to_string(oid); });
    }
    AddFixed(
        "TO_REGCLASS", "s", 1, DataType::BigInt(),
        [self](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          KL_ASSIGN_OR_RETURN(int64_t oid, self->RelationOid(ctx, a[0].as_bytes(), true));
          *o = oid < 0 ? Datum() : Datum::Int(oid);
          return Status::OK();
        },
        "TO_REGCLASS(name): the relation's oid, or NULL");
    AddFixed(
        "TO_REGTYPE", "s", 1, DataType::BigInt(),
        [](ExecContext&, const Datum* a, Datum* o) {
          const PgTypeInfo* ti = FindPgTypeByName(std::string(Trim(a[0].as_bytes())));
          *o = ti == nullptr ? Datum() : Datum::Int(ti->oid);
          return Status::OK();
        },
        "TO_REGTYPE(name): the type's oid, or NULL");
  }

  sql::SqlEngine& engine_;
  std::shared_ptr<WarehouseCatalog> catalog_;
  PgCatalogOptions options_;
};

}  // namespace

void RegisterCatalogFunctions(sql::SqlEngine& engine, std::shared_ptr<WarehouseCatalog> catalog,
                              const PgCatalogOptions& options) {
  // The registered functions hold the state they share.
  std::make_shared<Functions>(engine, std::move(catalog), options)->Register();
}

}  // namespace kl::server::pg
