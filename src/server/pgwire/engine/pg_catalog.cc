#include "server/pgwire/engine/pg_catalog.h"

#include <algorithm>
#include <cstring>

#include "common/clock.h"
#include "common/string_util.h"
#include "server/pgwire/engine/pg_types.h"
#include "server/pgwire/engine/session_view.h"
#include "server/pgwire/settings.h"
#include "sql/binder/types.h"
#include "sql/functions/helpers.h"
#include "table/operation/scan.h"

namespace kl::server::pg {

using format::ColumnBatch;
using format::DataType;
using format::Datum;
using format::DatumList;
using format::Row;
using format::RowType;
using sql::ExecContext;

namespace {

// ---- table definitions ----

// A catalog column: its name and PostgreSQL type ("oid", "name", "int2", "text[]", ...).
struct ColumnSpec {
  std::string name;
  std::string pg_type;
};

DataType KubelakeTypeOf(const std::string& pg) {
  if (pg == "oid" || pg == "xid" || pg == "int8") return DataType::BigInt();
  if (pg == "int4" || pg == "cardinal_number") return DataType::Int();
  if (pg == "int2") return DataType::SmallInt();
  if (pg == "bool") return DataType::Boolean();
  if (pg == "float4") return DataType::Float();
  if (pg == "float8") return DataType::Double();
  if (pg == "timestamptz") return DataType::TimestampLtz(6);
  if (pg == "bytea") return DataType::Bytes();
  if (pg == "oid[]" || pg == "oidvector") return DataType::Array(DataType::BigInt());
  if (pg == "int2[]" || pg == "int2vector") return DataType::Array(DataType::SmallInt());
  if (pg.size() > 2 && pg.compare(pg.size() - 2, 2, "[]") == 0) return DataType::Array(DataType::String());
  return DataType::String();  // name, text, "char", regproc, pg_node_tree, aclitem
}

uint32_t PgOidOf(const std::string& pg) {
  static const std::map<std::string, uint32_t> kOids = {{"oid", 26},
                                                        {"xid", 28},
                                                        {"int8", 20},
                                                        {"int4", 23},
                                                        {"int2", 21},
                                                        {"bool", 16},
                                                        {"float4", 700},
                                                        {"float8", 701},
                                                        {"name", 19},
                                                        {"text", 25},
                                                        {"char", 18},
                                                        {"regproc", 24},
                                                        {"pg_node_tree", 194},
                                                        {"aclitem[]", 1034},
                                                        {"text[]", 1009},
                                                        {"oid[]", 1028},
                                                        {"oidvector", 30},
                                                        {"int2[]", 1005},
                                                        {"int2vector", 22},
                                                        {"char[]", 1002},
                                                        {"name[]", 1003},
                                                        {"timestamptz", 1184},
                                                        {"bytea", 17},
                                                        {"anyarray", 2277},
                                                        {"inet", 25},
                                                        {"regtype", 2206},
                                                        {"yes_or_no", 1043},
                                                        {"sql_identifier", 19},
                                                        {"cardinal_number", 23},
                                                        {"character_data", 1043}};
  auto it = kOids.find(pg);
  return it == kOids.end() ? 25 : it->second;
}

struct Rows {
  ColumnBatch batch;
  void Add(Row row) { batch.AppendRow(row); }
};

Datum Oid(uint32_t v) { return Datum::Int(static_cast<int64_t>(v)); }
Datum Int(int64_t v) { return Datum::Int(v); }
Datum Bool(bool v) { return Datum::Bool(v); }
Datum Text(std::string s) { return Datum::Bytes(std::move(s)); }
Datum Null() { return Datum(); }
Datum Floating(double v) { return Datum::Double(v); }
Datum Shorts(const std::vector<int16_t>& v) {
  DatumList items;
  for (int16_t x : v) items.push_back(Datum::Int(x));
  return Datum::List(std::move(items));
}
Datum Oids(const std::vector<uint32_t>& v) {
  DatumList items;
  for (uint32_t x : v) items.push_back(Datum::Int(static_cast<int64_t>(x)));
  return Datum::List(std::move(items));
}
Datum Texts(const std::vector<std::string>& v) {
  DatumList items;
  for (const auto& x : v) items.push_back(Datum::Bytes(x));
  return Datum::List(std::move(items));
}

struct Session {
  const CatalogSnapshot& snapshot;
  ExecContext& ctx;
  std::string user;
};

using RowsFn = std::function<Status(const Session& s, Rows* out)>;

struct TableSpec {
  std::string schema, name;
  std::vector<ColumnSpec> columns;
  RowsFn rows;  // null: always empty
  uint32_t oid = 0;
  char kind = 'r';
};

std::vector<ColumnSpec> Columns(const std::string& spec) {
  std::vector<ColumnSpec> out;
  for (const auto& part : Split(spec, ',', true)) {
    std::string p(Trim(part));
    size_t sp = p.find(' ');
    out.push_back({p.substr(0, sp), sp == std::string::npos ? "text" : std::string(Trim(p.substr(sp + 1)))});
  }
  return out;
}

RowType RowTypeOf(const std::vector<ColumnSpec>& cols) {
  std::vector<format::DataField> fields;
  for (size_t i = 0; i < cols.size(); ++i) {
    fields.push_back({static_cast<int32_t>(i), cols[i].name, KubelakeTypeOf(cols[i].pg_type), ""});
  }
  return RowType(fields);
}

// ---- the tables ----

std::vector<TableSpec> Tables(std::shared_ptr<WarehouseCatalog> catalog,
                              std::shared_ptr<const sql::FunctionRegistry> fns, PgCatalogOptions options) {
  std::vector<TableSpec> t;
  auto add = [&](const char* schema, const char* name, const std::string& cols, RowsFn rows, uint32_t oid = 0,
                 char kind = 'r') {
    t.push_back({schema, name, Columns(cols), std::move(rows), oid, kind});
  };
  const char* pc = "pg_catalog";
  add(
      pc, "pg_namespace", "oid oid, nspname name, nspowner oid, nspacl aclitem[]",
      [](const Session& s, Rows* out) {
        for (const auto& n : s.snapshot.schemas) out->Add({Oid(n.oid), Text(n.name), Oid(kOwnerRole), Null()});
        return Status::OK();
      },
      2615);
  add(
      pc, "pg_class",
      "oid oid, relname name, relnamespace oid, reltype oid, reloftype oid, relowner oid, relam oid, relfilenode oid, "
      "reltablespace oid, relpages int4, reltuples float4, relallvisible int4, reltoastrelid oid, relhasindex bool, "
      "relisshared bool, relpersistence char, relkind char, relnatts int2, relchecks int2, relhasrules bool, "
      "relhastriggers bool, relhassubclass bool, relrowsecurity bool, relforcerowsecurity bool, relispopulated bool, "
      "relreplident char, relispartition bool, relrewrite oid, relfrozenxid xid, relminmxid xid, relacl aclitem[], "
      "reloptions text[], relpartbound pg_node_tree",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          std::vector<std::string> opts;
          for (const auto& [k, v] : r.options) opts.push_back(k + "=" + v);
          uint32_t am = r.kind == 'i' ? kBtreeAccessMethod : r.kind == 'r' && !r.system ? kPaimonAccessMethod : 0;
          if (r.kind == 'r' && r.system) am = kHeapAccessMethod;
          out->Add({Oid(r.oid),
                    Text(r.name),
                    Oid(r.schema_oid),
                    Oid(0),
                    Oid(0),
                    Oid(kOwnerRole),
                    Oid(am),
                    Oid(r.kind == 'v' ? 0 : r.oid),
                    Oid(0),
                    Int(0),
                    Floating(-1),
                    Int(0),
                    Oid(0),
                    Bool(r.index_oid != 0),
                    Bool(false),
                    Text("p"),
                    Text(std::string(1, r.kind)),
                    Int(static_cast<int64_t>(r.columns.size())),
                    Int(0),
                    Bool(false),
                    Bool(false),
                    Bool(false),
                    Bool(false),
                    Bool(false),
                    Bool(true),
                    Text(r.kind == 'v' ? "n" : "d"),
                    Bool(false),
                    Oid(0),
                    Int(0),
                    Int(0),
                    Null(),
                    opts.empty() ? Null() : Texts(opts),
                    Null()});
        }
        return Status::OK();
      },
      kPgClassOid);
  add(
      pc, "pg_attribute",
      "attrelid oid, attname name, atttypid oid, attstattarget int4, attlen int2, attnum int2, attndims int4, "
      "attcacheoff int4, atttypmod int4, attbyval bool, attalign char, attstorage char, attcompression char, "
      "attnotnull bool, atthasdef bool, atthasmissing bool, attidentity char, attgenerated char, attisdropped bool, "
      "attislocal bool, attinhcount int4, attcollation oid, attacl aclitem[], attoptions text[], "
      "attfdwoptions text[], attmissingval anyarray",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          for (size_t i = 0; i < r.columns.size(); ++i) {
            const PgColumn& c = r.columns[i];
            const PgTypeInfo* ti = FindPgType(c.type_oid);
            int16_t len = ti != nullptr ? ti->length : -1;
            bool array = ti != nullptr && ti->category == 'A';
            bool collatable = ti != nullptr && ti->collatable;
            out->Add({Oid(r.oid),
                      Text(c.name),
                      Oid(c.type_oid),
                      Int(-1),
                      Int(len),
                      Int(static_cast<int64_t>(i + 1)),
                      Int(array ? 1 : 0),
                      Int(-1),
                      Int(c.typmod),
                      Bool(ti != nullptr && ti->by_value),
                      Text(len == 8   ? "d"
                           : len == 2 ? "s"
                           : len == 1 ? "c"
                                      : "i"),
                      Text(len > 0 ? "p" : "x"),
                      Text(""),
                      Bool(c.not_null),
                      Bool(false),
                      Bool(false),
                      Text(""),
                      Text(""),
                      Bool(false),
                      Bool(true),
                      Int(0),
                      Oid(collatable ? kDefaultCollation : 0),
                      Null(),
                      Null(),
                      Null(),
                      Null()});
          }
        }
        return Status::OK();
      },
      1249);
  add(
      pc, "pg_type",
      "oid oid, typname name, typnamespace oid, typowner oid, typlen int2, typbyval bool, typtype char, "
      "typcategory char, typispreferred bool, typisdefined bool, typdelim char, typrelid oid, typsubscript regproc, "
      "typelem oid, typarray oid, typinput regproc, typoutput regproc, typreceive regproc, typsend regproc, "
      "typmodin regproc, typmodout regproc, typanalyze regproc, typalign char, typstorage char, typnotnull bool, "
      "typbasetype oid, typtypmod int4, typndims int4, typcollation oid, typdefaultbin pg_node_tree, "
      "typdefault text, typacl aclitem[]",
      [](const Session&, Rows* out) {
        for (const auto& ti : PgTypes()) {
          std::string base = ti.category == 'A' ? "array" : ti.name;
          char typtype = ti.category == 'P' ? 'p' : 'b';
          bool preferred = std::strcmp(ti.name, "text") == 0 || std::strcmp(ti.name, "float8") == 0 ||
                           std::strcmp(ti.name, "bool") == 0 || std::strcmp(ti.name, "timestamptz") == 0 ||
                           std::strcmp(ti.name, "oid") == 0;
          out->Add({Oid(ti.oid),
                    Text(ti.name),
                    Oid(kPgCatalogNamespace),
                    Oid(kOwnerRole),
                    Int(ti.length),
                    Bool(ti.by_value),
                    Text(std::string(1, typtype)),
                    Text(std::string(1, ti.category)),
                    Bool(preferred),
                    Bool(true),
                    Text(","),
                    Oid(0),
                    Text(ti.category == 'A' ? "array_subscript_handler" : "-"),
                    Oid(ti.element),
                    Oid(ti.array),
                    Text(base + "_in"),
                    Text(base + "_out"),
                    Text(base + "_recv"),
                    Text(base + "_send"),
                    Text("-"),
                    Text("-"),
                    Text("-"),
                    Text(ti.length == 8   ? "d"
                         : ti.length == 2 ? "s"
                         : ti.length == 1 ? "c"
                                          : "i"),
                    Text(ti.length > 0 ? "p" : "x"),
                    Bool(false),
                    Oid(0),
                    Int(-1),
                    Int(0),
                    Oid(ti.collatable ? kDefaultCollation : 0),
                    Null(),
                    Null(),
                    Null()});
        }
        return Status::OK();
      },
      1247);
  add(
      pc, "pg_database",
      "oid oid, datname name, datdba oid, encoding int4, datlocprovider char, datistemplate bool, datallowconn bool, "
      "datconnlimit int4, datfrozenxid xid, datminmxid xid, dattablespace oid, datcollate text, datctype text, "
      "daticulocale text, datcollversion text, datacl aclitem[]",
      [](const Session& s, Rows* out) {
        for (const auto& n : s.snapshot.schemas) {
          if (n.system) continue;
          out->Add({Oid(StableOid("database", n.name)), Text(n.name), Oid(kOwnerRole), Int(6), Text("c"), Bool(false),
                    Bool(true), Int(-1), Int(0), Int(1), Oid(1663), Text("C"), Text("C"), Null(), Null(), Null()});
        }
        return Status::OK();
      },
      1262);
  add(pc, "pg_settings",
      "name text, setting text, unit text, category text, short_desc text, extra_desc text, context text, "
      "vartype text, source text, min_val text, max_val text, enumvals text[], boot_val text, reset_val text, "
      "sourcefile text, sourceline int4, pending_restart bool",
      [](const Session& s, Rows* out) {
        if (s.ctx.variables == nullptr) return Status::OK();
        for (const auto& v : s.ctx.variables->All()) {
          if (v.size() < 3) continue;
          std::string name = ToLower(v[0]);
          bool read_only = name == "server_version" || name == "server_encoding" || name == "integer_datetimes" ||
                           name == "server_version_num" || name == "max_identifier_length" || name == "is_superuser";
          out->Add({Text(v[0]), Text(v[1]), Null(), Text("kubelake"), Text(v[2]), Null(),
                    Text(read_only ? "internal" : "user"), Text("string"), Text("default"), Null(), Null(), Null(),
                    Text(v[1]), Text(v[1]), Null(), Null(), Bool(false)});
        }
        return Status::OK();
      });
  add(
      pc, "pg_description", "objoid oid, classoid oid, objsubid int4, description text",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (!r.comment.empty()) out->Add({Oid(r.oid), Oid(kPgClassOid), Int(0), Text(r.comment)});
          for (size_t i = 0; i < r.columns.size(); ++i) {
            if (!r.columns[i].comment.empty()) {
              out->Add({Oid(r.oid), Oid(kPgClassOid), Int(static_cast<int64_t>(i + 1)), Text(r.columns[i].comment)});
            }
          }
        }
        return Status::OK();
      },
      2609);
  add(pc, "pg_shdescription", "objoid oid, classoid oid, description text", nullptr, 2396);
  add(
      pc, "pg_index",
      "indexrelid oid, indrelid oid, indnatts int2, indnkeyatts int2, indisunique bool, indnullsnotdistinct bool, "
      "indisprimary bool, indisexclusion bool, indimmediate bool, indisclustered bool, indisvalid bool, "
      "indcheckxmin bool, indisready bool, indislive bool, indisreplident bool, indkey int2vector, "
      "indcollation oidvector, indclass oidvector, indoption int2vector, indexprs pg_node_tree, indpred pg_node_tree",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.kind != 'i') continue;
          int64_t n = static_cast<int64_t>(r.key_columns.size());
          std::vector<uint32_t> collations, classes;
          for (const auto& c : r.columns) {
            const PgTypeInfo* ti = FindPgType(c.type_oid);
            collations.push_back(ti != nullptr && ti->collatable ? kDefaultCollation : 0);
            classes.push_back(0);
          }
          out->Add({Oid(r.oid),
                    Oid(r.table_oid),
                    Int(n),
                    Int(n),
                    Bool(true),
                    Bool(false),
                    Bool(true),
                    Bool(false),
                    Bool(true),
                    Bool(false),
                    Bool(true),
                    Bool(false),
                    Bool(true),
                    Bool(true),
                    Bool(false),
                    Shorts(r.key_columns),
                    Oids(collations),
                    Oids(classes),
                    Shorts(std::vector<int16_t>(r.key_columns.size(), 0)),
                    Null(),
                    Null()});
        }
        return Status::OK();
      },
      2610);
  add(pc, "pg_attrdef", "oid oid, adrelid oid, adnum int2, adbin pg_node_tree", nullptr, 2604);
  add(
      pc, "pg_constraint",
      "oid oid, conname name, connamespace oid, contype char, condeferrable bool, condeferred bool, "
      "convalidated bool, conrelid oid, contypid oid, conindid oid, conparentid oid, confrelid oid, "
      "confupdtype char, confdeltype char, confmatchtype char, conislocal bool, coninhcount int4, "
      "connoinherit bool, conkey int2[], confkey int2[], conpfeqop oid[], conppeqop oid[], conffeqop oid[], "
      "confdelsetcols int2[], conexclop oid[], conbin pg_node_tree",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.constraint_oid == 0) continue;
          out->Add({Oid(r.constraint_oid),
                    Text(r.name + "_pkey"),
                    Oid(r.schema_oid),
                    Text("p"),
                    Bool(false),
                    Bool(false),
                    Bool(true),
                    Oid(r.oid),
                    Oid(0),
                    Oid(r.index_oid),
                    Oid(0),
                    Oid(0),
                    Text(" "),
                    Text(" "),
                    Text(" "),
                    Bool(true),
                    Int(0),
                    Bool(true),
                    Shorts(r.key_columns),
                    Null(),
                    Null(),
                    Null(),
                    Null(),
                    Null(),
                    Null(),
                    Null()});
        }
        return Status::OK();
      },
      2606);
  add(
      pc, "pg_proc",
      "oid oid, proname name, pronamespace oid, proowner oid, prolang oid, procost float4, prorows float4, "
      "provariadic oid, prosupport regproc, prokind char, prosecdef bool, proleakproof bool, proisstrict bool, "
      "proretset bool, provolatile char, proparallel char, pronargs int2, pronargdefaults int2, prorettype oid, "
      "proargtypes oidvector, proallargtypes oid[], proargmodes char[], proargnames text[], "
      "proargdefaults pg_node_tree, protrftypes oid[], prosrc text, probin text, prosqlbody pg_node_tree, "
      "proconfig text[], proacl aclitem[]",
      [fns](const Session&, Rows* out) {
        for (const auto& [name, signature] : fns->signatures()) {
          if (name.rfind("__", 0) == 0) continue;
          bool agg = fns->FindAggregate(name) != nullptr;
          out->Add({Oid(StableOid("function", name)),
                    Text(ToLower(name)),
                    Oid(kPgCatalogNamespace),
                    Oid(kOwnerRole),
                    Oid(12),
                    Floating(1),
                    Floating(0),
                    Oid(0),
                    Text("-"),
                    Text(agg ? "a" : "f"),
                    Bool(false),
                    Bool(false),
                    Bool(false),
                    Bool(false),
                    Text("i"),
                    Text("s"),
                    Int(0),
                    Int(0),
                    Oid(0),
                    Oids({}),
                    Null(),
                    Null(),
                    Null(),
                    Null(),
                    Null(),
                    Text(signature),
                    Null(),
                    Null(),
                    Null(),
                    Null()});
        }
        return Status::OK();
      },
      1255);
  auto role_rows = [](const Session& s, Rows* out, bool user_view) {
    std::vector<std::string> names = {"kubelake"};
    if (s.user != "kubelake") names.push_back(s.user);
    for (const auto& n : names) {
      if (user_view) {
        out->Add({Text(n), Oid(RoleOid(n)), Bool(false), Bool(n == "kubelake"), Bool(false), Bool(false),
                  Text("********"), Null(), Null()});
      } else {
        out->Add({Text(n), Bool(n == "kubelake"), Bool(true), Bool(false), Bool(false), Bool(true), Bool(false),
                  Int(-1), Text("********"), Null(), Bool(false), Null(), Oid(RoleOid(n))});
      }
    }
    return Status::OK();
  };
  add(
      pc, "pg_roles",
      "rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool, rolcreatedb bool, rolcanlogin bool, "
      "rolreplication bool, rolconnlimit int4, rolpassword text, rolvaliduntil timestamptz, rolbypassrls bool, "
      "rolconfig text[], oid oid",
      [role_rows](const Session& s, Rows* out) { return role_rows(s, out, false); }, 0, 'v');
  add(
      pc, "pg_user",
      "usename name, usesysid oid, usecreatedb bool, usesuper bool, userepl bool, usebypassrls bool, passwd text, "
      "valuntil timestamptz, useconfig text[]",
      [role_rows](const Session& s, Rows* out) { return role_rows(s, out, true); }, 0, 'v');
  add(pc, "pg_auth_members", "roleid oid, member oid, grantor oid, admin_option bool", nullptr, 1261);
  add(
      pc, "pg_am", "oid oid, amname name, amhandler regproc, amtype char",
      [](const Session&, Rows* out) {
        out->Add({Oid(kHeapAccessMethod), Text("heap"), Text("heap_tableam_handler"), Text("t")});
        out->Add({Oid(kBtreeAccessMethod), Text("btree"), Text("bthandler"), Text("i")});
        out->Add({Oid(kPaimonAccessMethod), Text("paimon"), Text("-"), Text("t")});
        return Status::OK();
      },
      2601);
  add(pc, "pg_inherits", "inhrelid oid, inhparent oid, inhseqno int4, inhdetachpending bool", nullptr, 2611);
  add(
      pc, "pg_collation",
      "oid oid, collname name, collnamespace oid, collowner oid, collprovider char, collisdeterministic bool, "
      "collencoding int4, collcollate text, collctype text, colliculocale text, collversion text",
      [](const Session&, Rows* out) {
        out->Add({Oid(kDefaultCollation), Text("default"), Oid(kPgCatalogNamespace), Oid(kOwnerRole), Text("d"),
                  Bool(true), Int(-1), Null(), Null(), Null(), Null()});
        out->Add({Oid(950), Text("C"), Oid(kPgCatalogNamespace), Oid(kOwnerRole), Text("c"), Bool(true), Int(-1),
                  Text("C"), Text("C"), Null(), Null()});
        out->Add({Oid(951), Text("POSIX"), Oid(kPgCatalogNamespace), Oid(kOwnerRole), Text("c"), Bool(true), Int(-1),
                  Text("POSIX"), Text("POSIX"), Null(), Null()});
        return Status::OK();
      },
      3456);
  add(pc, "pg_enum", "oid oid, enumtypid oid, enumsortorder float4, enumlabel name", nullptr, 3501);
  add(pc, "pg_range",
      "rngtypid oid, rngsubtype oid, rngmultitypid oid, rngcollation oid, rngsubopc oid, rngcanonical regproc, "
      "rngsubdiff regproc",
      nullptr, 3541);
  add(pc, "pg_extension",
      "oid oid, extname name, extowner oid, extnamespace oid, extrelocatable bool, extversion text, "
      "extconfig oid[], extcondition text[]",
      nullptr, 3079);
  add(pc, "pg_policy",
      "oid oid, polname name, polrelid oid, polcmd char, polpermissive bool, polroles oid[], "
      "polqual pg_node_tree, polwithcheck pg_node_tree",
      nullptr, 3256);
  add(pc, "pg_statistic_ext",
      "oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid, stxstattarget int4, "
      "stxkeys int2vector, stxkind char[], stxexprs pg_node_tree",
      nullptr, 3381);
  add(pc, "pg_publication",
      "oid oid, pubname name, pubowner oid, puballtables bool, pubinsert bool, pubupdate bool, pubdelete bool, "
      "pubtruncate bool, pubviaroot bool",
      nullptr, 6104);
  add(pc, "pg_publication_namespace", "oid oid, pnpubid oid, pnnspid oid", nullptr, 6237);
  add(pc, "pg_publication_rel", "oid oid, prpubid oid, prrelid oid, prqual pg_node_tree, prattrs int2vector", nullptr,
      6106);
  add(pc, "pg_sequence",
      "seqrelid oid, seqtypid oid, seqstart int8, seqincrement int8, seqmax int8, seqmin int8, seqcache int8, "
      "seqcycle bool",
      nullptr, 2224);
  add(
      pc, "pg_tablespace", "oid oid, spcname name, spcowner oid, spcacl aclitem[], spcoptions text[]",
      [](const Session&, Rows* out) {
        out->Add({Oid(1663), Text("pg_default"), Oid(kOwnerRole), Null(), Null()});
        out->Add({Oid(1664), Text("pg_global"), Oid(kOwnerRole), Null(), Null()});
        return Status::OK();
      },
      1213);
  add(pc, "pg_trigger",
      "oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype int2, tgenabled char, "
      "tgisinternal bool, tgconstrrelid oid, tgconstrindid oid, tgconstraint oid, tgdeferrable bool, "
      "tginitdeferred bool, tgnargs int2, tgattr int2vector, tgargs bytea, tgqual pg_node_tree, tgoldtable name, "
      "tgnewtable name",
      nullptr, 2620);
  add(pc, "pg_rewrite",
      "oid oid, rulename name, ev_class oid, ev_type char, ev_enabled char, is_instead bool, ev_qual pg_node_tree, "
      "ev_action pg_node_tree",
      nullptr, 2618);
  add(pc, "pg_depend",
      "classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid, refobjsubid int4, deptype char", nullptr,
      2608);
  add(pc, "pg_partitioned_table",
      "partrelid oid, partstrat char, partnatts int2, partdefid oid, partattrs int2vector, partclass oidvector, "
      "partcollation oidvector, partexprs pg_node_tree",
      nullptr, 3350);
  add(pc, "pg_foreign_table", "ftrelid oid, ftserver oid, ftoptions text[]", nullptr, 3118);
  // Catalogs of objects kubelake does not have (operators, casts, text search, foreign servers,
  // subscriptions, ...): empty, with PostgreSQL 15's columns, so clients' queries of them run
  // (their regproc columns are declared oid: clients join them to pg_proc.oid).
  add(pc, "pg_foreign_data_wrapper",
      "oid oid, fdwname name, fdwowner oid, fdwhandler oid, fdwvalidator oid, fdwacl aclitem[], fdwoptions text[]",
      nullptr, 2328);
  add(pc, "pg_foreign_server",
      "oid oid, srvname name, srvowner oid, srvfdw oid, srvtype text, srvversion text, srvacl aclitem[], "
      "srvoptions text[]",
      nullptr, 1417);
  add(pc, "pg_user_mapping", "oid oid, umuser oid, umserver oid, umoptions text[]", nullptr, 1418);
  add(pc, "pg_user_mappings", "umid oid, srvid oid, srvname name, umuser oid, usename name, umoptions text[]", nullptr,
      0, 'v');
  add(pc, "pg_cast", "oid oid, castsource oid, casttarget oid, castfunc oid, castcontext char, castmethod char",
      nullptr, 2605);
  add(pc, "pg_operator",
      "oid oid, oprname name, oprnamespace oid, oprowner oid, oprkind char, oprcanmerge bool, oprcanhash bool, "
      "oprleft oid, oprright oid, oprresult oid, oprcom oid, oprnegate oid, oprcode oid, oprrest oid, "
      "oprjoin oid",
      nullptr, 2617);
  add(pc, "pg_conversion",
      "oid oid, conname name, connamespace oid, conowner oid, conforencoding int4, contoencoding int4, "
      "conproc oid, condefault bool",
      nullptr, 2607);
  add(pc, "pg_aggregate",
      "aggfnoid oid, aggkind char, aggnumdirectargs int2, aggtransfn oid, aggfinalfn oid, "
      "aggcombinefn oid, aggserialfn oid, aggdeserialfn oid, aggmtransfn oid, "
      "aggminvtransfn oid, aggmfinalfn oid, aggfinalextra bool, aggmfinalextra bool, aggfinalmodify char, "
      "aggmfinalmodify char, aggsortop oid, aggtranstype oid, aggtransspace int4, aggmtranstype oid, "
      "aggmtransspace int4, agginitval text, aggminitval text",
      nullptr, 2600);
  add(pc, "pg_opclass",
      "oid oid, opcmethod oid, opcname name, opcnamespace oid, opcowner oid, opcfamily oid, opcintype oid, "
      "opcdefault bool, opckeytype oid",
      nullptr, 2616);
  add(pc, "pg_opfamily", "oid oid, opfmethod oid, opfname name, opfnamespace oid, opfowner oid", nullptr, 2753);
  add(pc, "pg_amop",
      "oid oid, amopfamily oid, amoplefttype oid, amoprighttype oid, amopstrategy int2, amoppurpose char, "
      "amopopr oid, amopmethod oid, amopsortfamily oid",
      nullptr, 2602);
  add(pc, "pg_amproc", "oid oid, amprocfamily oid, amproclefttype oid, amprocrighttype oid, amprocnum int2, amproc oid",
      nullptr, 2603);
  add(pc, "pg_event_trigger",
      "oid oid, evtname name, evtevent name, evtowner oid, evtfoid oid, evtenabled char, evttags text[]", nullptr,
      3466);
  add(pc, "pg_db_role_setting", "setdatabase oid, setrole oid, setconfig text[]", nullptr, 2964);
  add(pc, "pg_default_acl", "oid oid, defaclrole oid, defaclnamespace oid, defaclobjtype char, defaclacl aclitem[]",
      nullptr, 826);
  add(pc, "pg_init_privs", "objoid oid, classoid oid, objsubid int4, privtype char, initprivs aclitem[]", nullptr,
      3394);
  add(pc, "pg_largeobject_metadata", "oid oid, lomowner oid, lomacl aclitem[]", nullptr, 2995);
  add(pc, "pg_seclabel", "objoid oid, classoid oid, objsubid int4, provider text, label text", nullptr, 3596);
  add(pc, "pg_shseclabel", "objoid oid, classoid oid, provider text, label text", nullptr, 3592);
  add(pc, "pg_shdepend", "dbid oid, classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid, deptype char",
      nullptr, 1214);
  add(pc, "pg_subscription",
      "oid oid, subdbid oid, subskiplsn text, subname name, subowner oid, subenabled bool, subbinary bool, "
      "substream bool, subtwophasestate char, subdisableonerr bool, subconninfo text, subslotname name, "
      "subsynccommit text, subpublications text[]",
      nullptr, 6100);
  add(pc, "pg_transform", "oid oid, trftype oid, trflang oid, trffromsql oid, trftosql oid", nullptr, 3576);
  add(pc, "pg_ts_config", "oid oid, cfgname name, cfgnamespace oid, cfgowner oid, cfgparser oid", nullptr, 3602);
  add(pc, "pg_ts_config_map", "mapcfg oid, maptokentype int4, mapseqno int4, mapdict oid", nullptr, 3603);
  add(pc, "pg_ts_dict",
      "oid oid, dictname name, dictnamespace oid, dictowner oid, dicttemplate oid, dictinitoption text", nullptr, 3600);
  add(pc, "pg_ts_parser",
      "oid oid, prsname name, prsnamespace oid, prsstart oid, prstoken oid, prsend oid, "
      "prsheadline oid, prslextype oid",
      nullptr, 3601);
  add(pc, "pg_ts_template", "oid oid, tmplname name, tmplnamespace oid, tmplinit oid, tmpllexize oid", nullptr, 3764);
  add(
      pc, "pg_language",
      "oid oid, lanname name, lanowner oid, lanispl bool, lanpltrusted bool, lanplcallfoid oid, laninline oid, "
      "lanvalidator oid, lanacl aclitem[]",
      [](const Session&, Rows* out) {
        out->Add(
            {Oid(12), Text("internal"), Oid(kOwnerRole), Bool(false), Bool(false), Oid(0), Oid(0), Oid(0), Null()});
        out->Add({Oid(14), Text("sql"), Oid(kOwnerRole), Bool(false), Bool(true), Oid(0), Oid(0), Oid(0), Null()});
        return Status::OK();
      },
      2612);
  add(
      pc, "pg_tables",
      "schemaname name, tablename name, tableowner name, tablespace name, hasindexes bool, hasrules bool, "
      "hastriggers bool, rowsecurity bool",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.kind != 'r') continue;
          out->Add({Text(r.schema), Text(r.name), Text("kubelake"), Null(), Bool(r.index_oid != 0), Bool(false),
                    Bool(false), Bool(false)});
        }
        return Status::OK();
      },
      0, 'v');
  add(
      pc, "pg_views", "schemaname name, viewname name, viewowner name, definition text",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.kind != 'v' || r.system) continue;
          out->Add({Text(r.schema), Text(r.name), Text("kubelake"), Text(r.view_definition)});
        }
        return Status::OK();
      },
      0, 'v');
  add(pc, "pg_matviews",
      "schemaname name, matviewname name, matviewowner name, tablespace name, hasindexes bool, ispopulated bool, "
      "definition text",
      nullptr, 0, 'v');
  add(
      pc, "pg_indexes", "schemaname name, tablename name, indexname name, tablespace name, indexdef text",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.kind != 'i') continue;
          const PgRelation* table = s.snapshot.Relation(r.table_oid);
          out->Add({Text(r.schema), Text(table != nullptr ? table->name : ""), Text(r.name), Null(),
                    Text(IndexDef(s.ctx, s.snapshot, r))});
        }
        return Status::OK();
      },
      0, 'v');
  add(
      pc, "pg_stat_user_tables",
      "relid oid, schemaname name, relname name, seq_scan int8, seq_tup_read int8, idx_scan int8, "
      "idx_tup_fetch int8, n_tup_ins int8, n_tup_upd int8, n_tup_del int8, n_tup_hot_upd int8, n_live_tup int8, "
      "n_dead_tup int8, n_mod_since_analyze int8, n_ins_since_vacuum int8, last_vacuum timestamptz, "
      "last_autovacuum timestamptz, last_analyze timestamptz, last_autoanalyze timestamptz, vacuum_count int8, "
      "autovacuum_count int8, analyze_count int8, autoanalyze_count int8",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.kind != 'r' || r.system) continue;
          out->Add({Oid(r.oid), Text(r.schema), Text(r.name), Int(0), Int(0), Null(), Null(), Int(0),
                    Int(0),     Int(0),         Int(0),       Null(), Int(0), Int(0), Int(0), Null(),
                    Null(),     Null(),         Null(),       Int(0), Int(0), Int(0), Int(0)});
        }
        return Status::OK();
      },
      0, 'v');
  add(
      pc, "pg_stat_activity",
      "datid oid, datname name, pid int4, leader_pid int4, usesysid oid, usename name, application_name text, "
      "client_addr inet, client_hostname text, client_port int4, backend_start timestamptz, "
      "xact_start timestamptz, query_start timestamptz, state_change timestamptz, wait_event_type text, "
      "wait_event text, state text, backend_xid xid, backend_xmin xid, query_id int8, query text, "
      "backend_type text",
      [](const Session& s, Rows* out) {
        // This session only: sessions of other clients are not shown.
        int64_t pid = 0;
        if (auto p = ParseInt64(Setting(s.ctx, "kubelake.backend_pid"))) pid = *p;
        out->Add({Oid(StableOid("database", s.ctx.current_database)),
                  Text(s.ctx.current_database),
                  Int(pid),
                  Null(),
                  Oid(RoleOid(s.user)),
                  Text(s.user),
                  Text(Setting(s.ctx, "application_name")),
                  Null(),
                  Null(),
                  Null(),
                  Null(),
                  Null(),
                  Null(),
                  Null(),
                  Null(),
                  Null(),
                  Text("active"),
                  Null(),
                  Null(),
                  Null(),
                  Null(),
                  Text("client backend")});
        return Status::OK();
      },
      0, 'v');
  // ---- information_schema ----
  const char* is = "information_schema";
  add(
      is, "schemata",
      "catalog_name sql_identifier, schema_name sql_identifier, schema_owner sql_identifier, "
      "default_character_set_catalog sql_identifier, default_character_set_schema sql_identifier, "
      "default_character_set_name sql_identifier, sql_path character_data",
      [](const Session& s, Rows* out) {
        for (const auto& n : s.snapshot.schemas) {
          out->Add({Text(s.ctx.current_database), Text(n.name), Text("kubelake"), Null(), Null(), Null(), Null()});
        }
        return Status::OK();
      },
      0, 'v');
  add(
      is, "tables",
      "table_catalog sql_identifier, table_schema sql_identifier, table_name sql_identifier, "
      "table_type character_data, self_referencing_column_name sql_identifier, reference_generation character_data, "
      "user_defined_type_catalog sql_identifier, user_defined_type_schema sql_identifier, "
      "user_defined_type_name sql_identifier, is_insertable_into yes_or_no, is_typed yes_or_no, "
      "commit_action character_data",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.kind == 'i') continue;
          out->Add({Text(s.ctx.current_database), Text(r.schema), Text(r.name),
                    Text(r.kind == 'v' ? "VIEW" : "BASE TABLE"), Null(), Null(), Null(), Null(), Null(), Text("NO"),
                    Text("NO"), Null()});
        }
        return Status::OK();
      },
      0, 'v');
  add(
      is, "columns",
      "table_catalog sql_identifier, table_schema sql_identifier, table_name sql_identifier, "
      "column_name sql_identifier, ordinal_position cardinal_number, column_default character_data, "
      "is_nullable yes_or_no, data_type character_data, character_maximum_length cardinal_number, "
      "character_octet_length cardinal_number, numeric_precision cardinal_number, "
      "numeric_precision_radix cardinal_number, numeric_scale cardinal_number, datetime_precision cardinal_number, "
      "interval_type character_data, interval_precision cardinal_number, character_set_catalog sql_identifier, "
      "character_set_schema sql_identifier, character_set_name sql_identifier, collation_catalog sql_identifier, "
      "collation_schema sql_identifier, collation_name sql_identifier, domain_catalog sql_identifier, "
      "domain_schema sql_identifier, domain_name sql_identifier, udt_catalog sql_identifier, "
      "udt_schema sql_identifier, udt_name sql_identifier, scope_catalog sql_identifier, "
      "scope_schema sql_identifier, scope_name sql_identifier, maximum_cardinality cardinal_number, "
      "dtd_identifier sql_identifier, is_self_referencing yes_or_no, is_identity yes_or_no, "
      "identity_generation character_data, identity_start character_data, identity_increment character_data, "
      "identity_maximum character_data, identity_minimum character_data, identity_cycle yes_or_no, "
      "is_generated character_data, generation_expression character_data, is_updatable yes_or_no",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.kind == 'i') continue;
          for (size_t i = 0; i < r.columns.size(); ++i) {
            const PgColumn& c = r.columns[i];
            const PgTypeInfo* ti = FindPgType(c.type_oid);
            Datum char_len, octet_len, precision, radix, scale, dt_precision;
            uint32_t o = c.type_oid;
            if ((o == 1043 || o == 1042) && c.typmod > 4) {
              char_len = Int(c.typmod - 4);
              octet_len = Int(static_cast<int64_t>(c.typmod - 4) * 4);
            } else if (o == 25 || o == 1043) {
              octet_len = Int(1073741824);
            }
            if (o == 21 || o == 23 || o == 20) {
              precision = Int(o == 21 ? 16 : o == 23 ? 32 : 64);
              radix = Int(2);
              scale = Int(0);
            } else if (o == 700 || o == 701) {
              precision = Int(o == 700 ? 24 : 53);
              radix = Int(2);
            } else if (o == 1700) {
              radix = Int(10);
              if (c.typmod > 4) {
                precision = Int(((c.typmod - 4) >> 16) & 0xffff);
                scale = Int((c.typmod - 4) & 0xffff);
              }
            }
            if (o == 1082) dt_precision = Int(0);
            if (o == 1083 || o == 1114 || o == 1184) dt_precision = Int(c.typmod >= 0 ? c.typmod : 6);
            out->Add({Text(s.ctx.current_database),
                      Text(r.schema),
                      Text(r.name),
                      Text(c.name),
                      Int(static_cast<int64_t>(i + 1)),
                      Null(),
                      Text(c.not_null ? "NO" : "YES"),
                      Text(InformationSchemaType(o)),
                      char_len,
                      octet_len,
                      precision,
                      radix,
                      scale,
                      dt_precision,
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Text(s.ctx.current_database),
                      Text("pg_catalog"),
                      Text(ti != nullptr ? ti->name : "text"),
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Text(std::to_string(i + 1)),
                      Text("NO"),
                      Text("NO"),
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Null(),
                      Text("NO"),
                      Text("NEVER"),
                      Null(),
                      Text(r.kind == 'r' && !r.system ? "YES" : "NO")});
          }
        }
        return Status::OK();
      },
      0, 'v');
  add(
      is, "views",
      "table_catalog sql_identifier, table_schema sql_identifier, table_name sql_identifier, "
      "view_definition character_data, check_option character_data, is_updatable yes_or_no, "
      "is_insertable_into yes_or_no, is_trigger_updatable yes_or_no, is_trigger_deletable yes_or_no, "
      "is_trigger_insertable_into yes_or_no",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.kind != 'v' || r.system) continue;
          out->Add({Text(s.ctx.current_database), Text(r.schema), Text(r.name), Text(r.view_definition), Text("NONE"),
                    Text("NO"), Text("NO"), Text("NO"), Text("NO"), Text("NO")});
        }
        return Status::OK();
      },
      0, 'v');
  add(
      is, "table_constraints",
      "constraint_catalog sql_identifier, constraint_schema sql_identifier, constraint_name sql_identifier, "
      "table_catalog sql_identifier, table_schema sql_identifier, table_name sql_identifier, "
      "constraint_type character_data, is_deferrable yes_or_no, initially_deferred yes_or_no, enforced yes_or_no, "
      "nulls_distinct yes_or_no",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.constraint_oid == 0) continue;
          out->Add({Text(s.ctx.current_database), Text(r.schema), Text(r.name + "_pkey"), Text(s.ctx.current_database),
                    Text(r.schema), Text(r.name), Text("PRIMARY KEY"), Text("NO"), Text("NO"), Text("YES"), Null()});
        }
        return Status::OK();
      },
      0, 'v');
  auto key_usage = [](bool with_position) {
    return [with_position](const Session& s, Rows* out) {
      for (const auto& r : s.snapshot.relations) {
        if (r.constraint_oid == 0) continue;
        for (size_t k = 0; k < r.key_columns.size(); ++k) {
          Row row = {Text(s.ctx.current_database),
                     Text(r.schema),
                     Text(r.name + "_pkey"),
                     Text(s.ctx.current_database),
                     Text(r.schema),
                     Text(r.name),
                     Text(r.columns[r.key_columns[k] - 1].name)};
          if (with_position) {
            row.push_back(Int(static_cast<int64_t>(k + 1)));
            row.push_back(Null());
          }
          out->Add(row);
        }
      }
      return Status::OK();
    };
  };
  add(is, "key_column_usage",
      "constraint_catalog sql_identifier, constraint_schema sql_identifier, constraint_name sql_identifier, "
      "table_catalog sql_identifier, table_schema sql_identifier, table_name sql_identifier, "
      "column_name sql_identifier, ordinal_position cardinal_number, position_in_unique_constraint cardinal_number",
      key_usage(true), 0, 'v');
  add(
      is, "constraint_column_usage",
      "table_catalog sql_identifier, table_schema sql_identifier, table_name sql_identifier, "
      "column_name sql_identifier, constraint_catalog sql_identifier, constraint_schema sql_identifier, "
      "constraint_name sql_identifier",
      [](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.constraint_oid == 0) continue;
          for (int16_t k : r.key_columns) {
            out->Add({Text(s.ctx.current_database), Text(r.schema), Text(r.name), Text(r.columns[k - 1].name),
                      Text(s.ctx.current_database), Text(r.schema), Text(r.name + "_pkey")});
          }
        }
        return Status::OK();
      },
      0, 'v');
  add(is, "referential_constraints",
      "constraint_catalog sql_identifier, constraint_schema sql_identifier, constraint_name sql_identifier, "
      "unique_constraint_catalog sql_identifier, unique_constraint_schema sql_identifier, "
      "unique_constraint_name sql_identifier, match_option character_data, update_rule character_data, "
      "delete_rule character_data",
      nullptr, 0, 'v');
  add(is, "check_constraints",
      "constraint_catalog sql_identifier, constraint_schema sql_identifier, constraint_name sql_identifier, "
      "check_clause character_data",
      nullptr, 0, 'v');
  add(
      is, "table_privileges",
      "grantor sql_identifier, grantee sql_identifier, table_catalog sql_identifier, table_schema sql_identifier, "
      "table_name sql_identifier, privilege_type character_data, is_grantable yes_or_no, with_hierarchy yes_or_no",
      [options](const Session& s, Rows* out) {
        for (const auto& r : s.snapshot.relations) {
          if (r.kind == 'i') continue;
          std::vector<const char*> privileges = {"SELECT"};
          if (options.allow_writes && r.kind == 'r' && !r.system) privileges.push_back("INSERT");
          for (const char* p : privileges) {
            out->Add({Text("kubelake"), Text(s.user), Text(s.ctx.current_database), Text(r.schema), Text(r.name),
                      Text(p), Text("NO"), Text("YES")});
          }
        }
        return Status::OK();
      },
      0, 'v');
  add(is, "routines",
      "specific_catalog sql_identifier, specific_schema sql_identifier, specific_name sql_identifier, "
      "routine_catalog sql_identifier, routine_schema sql_identifier, routine_name sql_identifier, "
      "routine_type character_data, data_type character_data, routine_definition character_data",
      nullptr, 0, 'v');
  add(is, "sequences",
      "sequence_catalog sql_identifier, sequence_schema sql_identifier, sequence_name sql_identifier, "
      "data_type character_data",
      nullptr, 0, 'v');
  add(is, "triggers",
      "trigger_catalog sql_identifier, trigger_schema sql_identifier, trigger_name sql_identifier, "
      "event_manipulation character_data, event_object_catalog sql_identifier, event_object_schema sql_identifier, "
      "event_object_table sql_identifier, action_statement character_data",
      nullptr, 0, 'v');
  (void)catalog;
  return t;
}

}  // namespace

// Defined in catalog_functions.cc.
void RegisterCatalogFunctions(sql::SqlEngine& engine, std::shared_ptr<WarehouseCatalog> catalog,
                              const PgCatalogOptions& options);

void RegisterPgCatalog(sql::SqlEngine& engine, std::shared_ptr<WarehouseCatalog> catalog,
                       const PgCatalogOptions& options) {
  auto virtual_catalog = std::make_shared<sql::VirtualCatalog>();
  std::vector<SystemRelation> system;
  for (auto& spec : Tables(catalog, engine.functions(), options)) {
    RowType schema = RowTypeOf(spec.columns);
    SystemRelation rel;
    rel.schema = spec.schema;
    rel.name = spec.name;
    rel.columns = schema;
    for (const auto& c : spec.columns) rel.column_type_oids.push_back(PgOidOf(c.pg_type));
    rel.oid = spec.oid;
    rel.kind = spec.kind;
    system.push_back(rel);
    RowsFn rows = spec.rows;
    // A catalog table of pg_catalog has PostgreSQL's system column `tableoid`
    // (psql's \dd and \dL join descriptions on it), read by name only.
    bool has_tableoid = spec.schema == "pg_catalog" && spec.oid != 0;
    RowType read_schema = schema;
    if (has_tableoid) {
      std::vector<format::DataField> fields = schema.fields();
      fields.push_back({static_cast<int32_t>(fields.size()), "tableoid", DataType::BigInt().NotNull(), ""});
      read_schema = RowType(fields);
    }
    int64_t table_oid = spec.oid;
    virtual_catalog->AddTable(
        spec.schema, spec.name, read_schema,
        [catalog, rows, schema, read_schema, has_tableoid, table_oid](ExecContext& ctx) -> Result<ColumnBatch> {
          Rows out{ColumnBatch(schema)};
          if (rows) {
            KL_ASSIGN_OR_RETURN(auto snapshot, catalog->Snapshot());
            Session s{*snapshot, ctx, SessionUser(ctx)};
            KL_RETURN_IF_ERROR(rows(s, &out));
          }
          if (!has_tableoid) return std::move(out.batch);
          ColumnBatch with_oid(read_schema);
          size_t n = out.batch.num_rows();
          for (size_t i = 0; i < schema.size(); ++i) {
            with_oid.mutable_columns()[i] = std::move(out.batch.mutable_columns()[i]);
          }
          format::Column& oids = with_oid.mutable_columns().back();
          oids.Reserve(n);
          for (size_t i = 0; i < n; ++i) oids.AppendInt(table_oid);
          with_oid.SetNumRows(n);
          return with_oid;
        },
        has_tableoid ? 1 : 0);
  }
  catalog->SetSystemRelations(std::move(system));
  engine.RegisterGlobalDatabase("pg_catalog", virtual_catalog, "pg_catalog", /*searched=*/true);
  engine.RegisterGlobalDatabase("information_schema", virtual_catalog, "information_schema", /*searched=*/false);
  RegisterCatalogFunctions(engine, catalog, options);
}

}  // namespace kl::server::pg
