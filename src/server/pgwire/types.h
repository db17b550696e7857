// PostgreSQL types for kubelake's types: OIDs, sizes and type modifiers for
// RowDescription, and values in PostgreSQL's text and binary formats (both
// directions: results out, parameters in).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "format/column.h"
#include "format/datum.h"
#include "format/types.h"

namespace kl::sql {
class TimeZone;
}

namespace kl::server::pg {

namespace oid {
inline constexpr uint32_t kUnspecified = 0;
inline constexpr uint32_t kBool = 16;
inline constexpr uint32_t kBytea = 17;
inline constexpr uint32_t kChar = 18;
inline constexpr uint32_t kName = 19;
inline constexpr uint32_t kInt8 = 20;
inline constexpr uint32_t kInt2 = 21;
inline constexpr uint32_t kInt4 = 23;
inline constexpr uint32_t kText = 25;
inline constexpr uint32_t kOid = 26;
inline constexpr uint32_t kJson = 114;
inline constexpr uint32_t kFloat4 = 700;
inline constexpr uint32_t kFloat8 = 701;
inline constexpr uint32_t kUnknown = 705;
inline constexpr uint32_t kBpchar = 1042;
inline constexpr uint32_t kVarchar = 1043;
inline constexpr uint32_t kDate = 1082;
inline constexpr uint32_t kTime = 1083;
inline constexpr uint32_t kTimestamp = 1114;
inline constexpr uint32_t kTimestamptz = 1184;
inline constexpr uint32_t kInterval = 1186;
inline constexpr uint32_t kNumeric = 1700;
}  // namespace oid

struct PgType {
  uint32_t oid = oid::kText;
  int16_t size = -1;  // typlen: -1 variable
  int32_t typmod = -1;
};

// The PostgreSQL type a kubelake type is shown as (MAP, ROW and MULTISET as json).
PgType PgTypeOf(const format::DataType& type);
// The kubelake type for a PostgreSQL type OID a client declared; nullopt when unknown.
std::optional<format::DataType> DataTypeOfOid(uint32_t oid);
// The array type OID of an element OID (0 if none).
uint32_t ArrayOidOf(uint32_t element_oid);
// "int8", "text"… for messages.
std::string PgTypeName(uint32_t oid);

// A result value in text (format 0) or binary (format 1) form. Text timestamptz
// values show on the wall clock of `zone` (the session's TimeZone; null = UTC) with
// its offset; binary ones are UTC microseconds whatever the zone.
Status EncodeValue(const format::Datum& value, const format::DataType& type, bool binary, std::string* out,
                   const kl::sql::TimeZone* zone = nullptr);

// The text form EncodeValue gives row `row` (not null) of `column` when no conversion is
// needed beyond copying bytes or printing an integer (strings, integers, booleans of the
// declared `type`): a view of the column's bytes or of `buf` (at least 24 chars);
// nullopt for every other type and layout (then EncodeValue of column.Get(row)).
std::optional<std::string_view> PlainTextOf(const format::Column& column, size_t row, const format::DataType& type,
                                            char* buf);

// A parameter value from its wire bytes. `wire_oid` is the type the client
// declared (0 = none; then `type` decides the binary layout). A text timestamptz
// without an offset is read on the wall clock of `zone` (null = UTC).
Result<format::Datum> DecodeValue(std::string_view bytes, const format::DataType& type, uint32_t wire_oid, bool binary,
                                  const kl::sql::TimeZone* zone = nullptr);

}  // namespace kl::server::pg
