// PostgreSQL's built-in types as pg_type lists them (the ones kubelake's
// values map to, their array types, and the catalog's own: oid, name, "char",
// regclass, ...), format_type's spelling of a type with its modifier, and the
// stable object ids the catalog gives schemas, tables, indexes and constraints.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/types.h"

namespace kl::server::pg {

struct PgTypeInfo {
  uint32_t oid;
  const char* name;      // typname
  int16_t length;        // typlen (-1 variable)
  bool by_value;         // typbyval
  char category;         // typcategory: B bool, N numeric, S string, D date/time, A array, U user, ...
  uint32_t element;      // typelem (arrays: the element type)
  uint32_t array;        // typarray (0 when none)
  const char* sql_name;  // format_type's name ("integer", "character varying", "timestamp without time zone")
  bool collatable;       // text types carry the default collation
};

// Every type pg_type shows, in oid order.
const std::vector<PgTypeInfo>& PgTypes();
const PgTypeInfo* FindPgType(uint32_t oid);
const PgTypeInfo* FindPgTypeByName(std::string_view name);  // typname ("int4", "_text") or a SQL name ("integer")

// The type a kubelake column is shown as: oid and type modifier (pg_attribute.atttypid/atttypmod).
struct PgColumnType {
  uint32_t oid;
  int32_t typmod;
};
PgColumnType PgColumnTypeOf(const format::DataType& type);

// format_type(oid, typmod): "integer", "character varying(64)", "numeric(10,2)", "text[]".
std::string FormatType(uint32_t oid, int32_t typmod);
// information_schema.columns.data_type: "integer", "character varying", "ARRAY", "USER-DEFINED".
std::string InformationSchemaType(uint32_t oid);

// Object ids of the catalog's own schemas and the bootstrap role.
inline constexpr uint32_t kPgCatalogNamespace = 11;
inline constexpr uint32_t kPublicNamespace = 2200;
inline constexpr uint32_t kInformationSchemaNamespace = 13000;
inline constexpr uint32_t kOwnerRole = 10;
inline constexpr uint32_t kDefaultCollation = 100;
inline constexpr uint32_t kHeapAccessMethod = 2;
inline constexpr uint32_t kBtreeAccessMethod = 403;
inline constexpr uint32_t kPaimonAccessMethod = 16383;
inline constexpr uint32_t kPgClassOid = 1259;

// A stable object id for a named object (FNV-1a of kind and name, above PostgreSQL's
// reserved range 0..16383 and below 2^31): the same warehouse gives the same oids in every
// process, so clients may keep them between statements.
uint32_t StableOid(std::string_view kind, std::string_view name);

}  // namespace kl::server::pg
