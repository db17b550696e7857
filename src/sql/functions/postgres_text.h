// PostgreSQL's text forms of values that both the SQL engine and the PostgreSQL
// server read or write: every value's output text (the server's text results, a
// PostgreSQL session's casts to text), bytea in hex (a JDBC sink's parameters) and
// one-dimensional arrays ('{a,"b c",NULL}': the binder's array literals, the
// server's array parameters).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "format/datum.h"
#include "format/types.h"

namespace kl::sql {

class TimeZone;

// Appends the text PostgreSQL's output function gives `v` (not null) of `type`: booleans
// 't'/'f', floats as float8out (shortest exact digits, "1e+15", "NaN"), bytea in hex,
// arrays '{...}', timestamptz on the wall clock of `zone` (null = UTC) with its offset
// ("2024-01-01 11:00:00+01"), maps and rows as JSON. Errors on a type it has no form for.
Status AppendPostgresText(const format::Datum& v, const format::DataType& type, const TimeZone* zone, std::string* out);

// `bytes` as PostgreSQL's bytea hex format: "\x" and two lower-case hex digits a byte.
std::string PostgresByteaHex(std::string_view bytes);

// Why a text is not a one-dimensional PostgreSQL array.
enum class ArrayTextError {
  kNotBraced,          // not '{' ... '}' (after trimming blanks)
  kNested,             // a '{' or '}' inside: multidimensional arrays are not read
  kUnterminatedQuote,  // a '"' never closed
};

// Reads PostgreSQL's text form of a one-dimensional array, in order: `element` gets
// each element's text (quotes removed, backslash escapes inside quotes resolved,
// blanks around an unquoted element trimmed) or nullopt for an unquoted NULL (any
// case). The first non-OK status of `element` stops the reading and is returned; a
// malformed text returns what `malformed` makes of the error. "{}" has no elements.
Status ForEachArrayTextElement(std::string_view text,
                               const std::function<Status(std::optional<std::string_view>)>& element,
                               const std::function<Status(ArrayTextError)>& malformed);

}  // namespace kl::sql
