#include "sql/parser/postgres_types.h"

#include <map>

namespace kl::sql {

using format::DataType;

std::optional<PostgresTypeName> LookupPostgresType(std::string_view name) {
  static const std::map<std::string, PostgresTypeName, std::less<>> kTypes = {
      {"bool", {DataType::Boolean(), "", 0}},
      {"boolean", {DataType::Boolean(), "", 0}},
      {"int2", {DataType::SmallInt(), "", 0}},
      {"smallint", {DataType::SmallInt(), "", 0}},
      {"int4", {DataType::Int(), "", 0}},
      {"int", {DataType::Int(), "", 0}},
      {"integer", {DataType::Int(), "", 0}},
      {"int8", {DataType::BigInt(), "", 0}},
      {"bigint", {DataType::BigInt(), "", 0}},
      {"float4", {DataType::Float(), "", 0}},
      {"real", {DataType::Float(), "", 0}},
      {"float8", {DataType::Double(), "", 0}},
      {"float", {DataType::Double(), "", 0}},
      {"numeric", {DataType::Decimal(38, 10), "numeric", 'p'}},
      {"decimal", {DataType::Decimal(38, 10), "numeric", 'p'}},
      {"money", {DataType::Decimal(19, 2), "", 0}},
      {"text", {DataType::String(), "", 0}},
      {"varchar", {DataType::String(), "", 'l'}},
      {"bpchar", {DataType::String(), "", 'l'}},
      {"char", {DataType::Char(1), "", 'l'}},
      {"character", {DataType::Char(1), "", 'l'}},
      {"name", {DataType::String(), "", 0}},
      {"citext", {DataType::String(), "", 0}},
      {"uuid", {DataType::String(), "", 0}},
      {"json", {DataType::String(), "", 0}},
      {"jsonb", {DataType::String(), "", 0}},
      {"xml", {DataType::String(), "", 0}},
      {"inet", {DataType::String(), "", 0}},
      {"cidr", {DataType::String(), "", 0}},
      {"macaddr", {DataType::String(), "", 0}},
      {"aclitem", {DataType::String(), "", 0}},
      {"cstring", {DataType::String(), "", 0}},
      {"unknown", {DataType::String(), "", 0}},
      {"pg_node_tree", {DataType::String(), "", 0}},
      {"bytea", {DataType::Bytes(), "", 0}},
      {"date", {DataType::Date(), "", 0}},
      {"time", {DataType::Time(6), "", 't'}},
      {"timetz", {DataType::Time(6), "", 't'}},
      {"timestamp", {DataType::Timestamp(6), "", 't'}},
      {"timestamptz", {DataType::TimestampLtz(6), "", 't'}},
      {"interval", {DataType::Interval(), "", 0}},
      {"oid", {DataType::BigInt(), "", 0}},
      {"xid", {DataType::BigInt(), "", 0}},
      {"cid", {DataType::BigInt(), "", 0}},
      {"tid", {DataType::String(), "", 0}},
      {"int2vector", {DataType::Array(DataType::SmallInt()), "", 0}},
      {"oidvector", {DataType::Array(DataType::BigInt()), "", 0}},
      {"regclass", {DataType::BigInt(), "regclass", 0}},
      {"regtype", {DataType::BigInt(), "regtype", 0}},
      {"regnamespace", {DataType::BigInt(), "regnamespace", 0}},
      {"regproc", {DataType::BigInt(), "regproc", 0}},
      {"regprocedure", {DataType::BigInt(), "regproc", 0}},
      {"regrole", {DataType::BigInt(), "regrole", 0}},
      {"regoper", {DataType::BigInt(), "regoper", 0}},
      {"regoperator", {DataType::BigInt(), "regoper", 0}},
      {"regconfig", {DataType::BigInt(), "regconfig", 0}},
  };
  auto it = kTypes.find(name);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

}  // namespace kl::sql
