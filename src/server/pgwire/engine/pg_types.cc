#include "server/pgwire/engine/pg_types.h"

#include <algorithm>

#include "common/string_util.h"
#include "server/pgwire/types.h"

namespace kl::server::pg {

using format::DataType;
using format::TypeRoot;

const std::vector<PgTypeInfo>& PgTypes() {
  static const std::vector<PgTypeInfo> kTypes = [] {
    std::vector<PgTypeInfo> t = {
        {16, "bool", 1, true, 'B', 0, 1000, "boolean", false},
        {17, "bytea", -1, false, 'U', 0, 1001, "bytea", false},
        {18, "char", 1, true, 'Z', 0, 1002, "\"char\"", false},
        {19, "name", 64, false, 'S', 18, 1003, "name", true},
        {20, "int8", 8, true, 'N', 0, 1016, "bigint", false},
        {21, "int2", 2, true, 'N', 0, 1005, "smallint", false},
        {22, "int2vector", -1, false, 'A', 21, 1006, "int2vector", false},
        {23, "int4", 4, true, 'N', 0, 1007, "integer", false},
        {24, "regproc", 4, true, 'N', 0, 1008, "regproc", false},
        {25, "text", -1, false, 'S', 0, 1009, "text", true},
        {26, "oid", 4, true, 'N', 0, 1028, "oid", false},
        {30, "oidvector", -1, false, 'A', 26, 1013, "oidvector", false},
        {114, "json", -1, false, 'U', 0, 199, "json", false},
        {194, "pg_node_tree", -1, false, 'Z', 0, 0, "pg_node_tree", true},
        {199, "_json", -1, false, 'A', 114, 0, "json[]", false},
        {700, "float4", 4, true, 'N', 0, 1021, "real", false},
        {701, "float8", 8, true, 'N', 0, 1022, "double precision", false},
        {705, "unknown", -2, false, 'X', 0, 0, "unknown", false},
        {1000, "_bool", -1, false, 'A', 16, 0, "boolean[]", false},
        {1001, "_bytea", -1, false, 'A', 17, 0, "bytea[]", false},
        {1002, "_char", -1, false, 'A', 18, 0, "\"char\"[]", false},
        {1003, "_name", -1, false, 'A', 19, 0, "name[]", true},
        {1005, "_int2", -1, false, 'A', 21, 0, "smallint[]", false},
        {1006, "_int2vector", -1, false, 'A', 22, 0, "int2vector[]", false},
        {1007, "_int4", -1, false, 'A', 23, 0, "integer[]", false},
        {1008, "_regproc", -1, false, 'A', 24, 0, "regproc[]", false},
        {1009, "_text", -1, false, 'A', 25, 0, "text[]", true},
        {1013, "_oidvector", -1, false, 'A', 30, 0, "oidvector[]", false},
        {1014, "_bpchar", -1, false, 'A', 1042, 0, "character[]", true},
        {1015, "_varchar", -1, false, 'A', 1043, 0, "character varying[]", true},
        {1016, "_int8", -1, false, 'A', 20, 0, "bigint[]", false},
        {1021, "_float4", -1, false, 'A', 700, 0, "real[]", false},
        {1022, "_float8", -1, false, 'A', 701, 0, "double precision[]", false},
        {1028, "_oid", -1, false, 'A', 26, 0, "oid[]", false},
        {1033, "aclitem", 12, false, 'U', 0, 1034, "aclitem", false},
        {1034, "_aclitem", -1, false, 'A', 1033, 0, "aclitem[]", false},
        {1042, "bpchar", -1, false, 'S', 0, 1014, "character", true},
        {1043, "varchar", -1, false, 'S', 0, 1015, "character varying", true},
        {1082, "date", 4, true, 'D', 0, 1182, "date", false},
        {1083, "time", 8, true, 'D', 0, 1183, "time without time zone", false},
        {1114, "timestamp", 8, true, 'D', 0, 1115, "timestamp without time zone", false},
        {1115, "_timestamp", -1, false, 'A', 1114, 0, "timestamp without time zone[]", false},
        {1182, "_date", -1, false, 'A', 1082, 0, "date[]", false},
        {1183, "_time", -1, false, 'A', 1083, 0, "time without time zone[]", false},
        {1184, "timestamptz", 8, true, 'D', 0, 1185, "timestamp with time zone", false},
        {1185, "_timestamptz", -1, false, 'A', 1184, 0, "timestamp with time zone[]", false},
        {1186, "interval", 16, false, 'T', 0, 1187, "interval", false},
        {1187, "_interval", -1, false, 'A', 1186, 0, "interval[]", false},
        {1231, "_numeric", -1, false, 'A', 1700, 0, "numeric[]", false},
        {1700, "numeric", -1, false, 'N', 0, 1231, "numeric", false},
        {2205, "regclass", 4, true, 'N', 0, 2210, "regclass", false},
        {2206, "regtype", 4, true, 'N', 0, 2211, "regtype", false},
        {2210, "_regclass", -1, false, 'A', 2205, 0, "regclass[]", false},
        {2211, "_regtype", -1, false, 'A', 2206, 0, "regtype[]", false},
        {2249, "record", -1, false, 'P', 0, 2287, "record", false},
        {2275, "cstring", -2, false, 'P', 0, 1263, "cstring", false},
        {2276, "any", 4, true, 'P', 0, 0, "\"any\"", false},
        {2277, "anyarray", -1, false, 'P', 0, 0, "anyarray", false},
        {2278, "void", 4, true, 'P', 0, 0, "void", false},
        {2283, "anyelement", 4, true, 'P', 0, 0, "anyelement", false},
        {2950, "uuid", 16, false, 'U', 0, 2951, "uuid", false},
        {2951, "_uuid", -1, false, 'A', 2950, 0, "uuid[]", false},
        {3802, "jsonb", -1, false, 'U', 0, 3807, "jsonb", false},
        {3807, "_jsonb", -1, false, 'A', 3802, 0, "jsonb[]", false},
        {4089, "regnamespace", 4, true, 'N', 0, 4090, "regnamespace", false},
        {4090, "_regnamespace", -1, false, 'A', 4089, 0, "regnamespace[]", false},
    };
    std::sort(t.begin(), t.end(), [](const PgTypeInfo& a, const PgTypeInfo& b) { return a.oid < b.oid; });
    return t;
  }();
  return kTypes;
}

const PgTypeInfo* FindPgType(uint32_t oid) {
  const auto& types = PgTypes();
  auto it = std::lower_bound(types.begin(), types.end(), oid, [](const PgTypeInfo& t, uint32_t o) { return t.oid < o; });
  return it != types.end() && it->oid == oid ? &*it : nullptr;
}

const PgTypeInfo* FindPgTypeByName(std::string_view name) {
  std::string n = ToLower(name);
  if (n.rfind("pg_catalog.", 0) == 0) n = n.substr(11);
  static const std::vector<std::pair<const char*, const char*>> kAliases = {
      {"integer", "int4"},          {"int", "int4"},       {"smallint", "int2"},
      {"bigint", "int8"},           {"boolean", "bool"},   {"real", "float4"},
      {"double precision", "float8"}, {"character varying", "varchar"}, {"character", "bpchar"},
      {"decimal", "numeric"},       {"timestamp without time zone", "timestamp"},
      {"timestamp with time zone", "timestamptz"}, {"time without time zone", "time"},
      {"\"char\"", "char"}};
  for (const auto& [alias, real] : kAliases) {
    if (n == alias) n = real;
  }
  if (n.size() > 2 && n.compare(n.size() - 2, 2, "[]") == 0) n = "_" + n.substr(0, n.size() - 2);
  for (const auto& t : PgTypes()) {
    if (n == t.name) return &t;
  }
  return nullptr;
}

PgColumnType PgColumnTypeOf(const DataType& type) {
  PgType t = PgTypeOf(type);
  int32_t typmod = t.typmod;
  // PostgreSQL's default precision of time and timestamps (6) is no modifier at all.
  if ((t.oid == oid::kTimestamp || t.oid == oid::kTimestamptz || t.oid == oid::kTime) && typmod == 6) typmod = -1;
  return {t.oid, typmod};
}

std::string FormatType(uint32_t oid, int32_t typmod) {
  const PgTypeInfo* t = FindPgType(oid);
  if (t == nullptr) return "???";
  if (t->category == 'A' && t->element != 0 && oid != 22 && oid != 30) {
    return FormatType(t->element, typmod) + "[]";
  }
  std::string name = t->sql_name;
  if (typmod < 0) return name;
  switch (oid) {
    case 1043:
    case 1042: return name + "(" + std::to_string(typmod - 4) + ")";
    case 1700: {
      int32_t m = typmod - 4;
      return "numeric(" + std::to_string((m >> 16) & 0xffff) + "," + std::to_string(m & 0xffff) + ")";
    }
    case 1083: return "time(" + std::to_string(typmod) + ") without time zone";
    case 1114: return "timestamp(" + std::to_string(typmod) + ") without time zone";
    case 1184: return "timestamp(" + std::to_string(typmod) + ") with time zone";
    default: return name;
  }
}

std::string InformationSchemaType(uint32_t oid) {
  const PgTypeInfo* t = FindPgType(oid);
  if (t == nullptr) return "USER-DEFINED";
  if (t->category == 'A') return "ARRAY";
  return t->sql_name;
}

uint32_t StableOid(std::string_view kind, std::string_view name) {
  uint32_t h = 2166136261u;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 16777619u;
    }
  };
  mix(kind);
  mix(":");
  mix(name);
  constexpr uint32_t kFirst = 16384, kSpan = (1u << 31) - kFirst;
  return kFirst + h % kSpan;
}

}  // namespace kl::server::pg
