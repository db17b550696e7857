// PostgreSQL's type names, as PostgreSQL clients write them in casts
// (`x::int4`, `CAST(x AS regclass)`, `'{1,2}'::int2[]`), mapped to kubelake's
// types. Object-identifier types (regclass, regtype, ...) are not plain types
// but look-ups in a catalog: they come back as a named conversion the binder
// turns into a call of a function the server registers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "format/types.h"

namespace kl::sql {

struct PostgresTypeName {
  format::DataType type;
  // "regclass", "regtype", "regnamespace", "regproc", "regrole", or "numeric" (a DECIMAL whose
  // scale follows its input); "" for a plain type.
  std::string conversion;
  // How modifiers in parentheses apply: 'l' a length (varchar(n), char(n)), 'p' a precision
  // and scale (numeric(p, s)), 't' a fractional-seconds precision (timestamp(p)), 0 none.
  char modifiers = 0;
};

// `name` in lower case, without schema (pg_catalog.) and without "[]".
std::optional<PostgresTypeName> LookupPostgresType(std::string_view name);

}  // namespace kl::sql
