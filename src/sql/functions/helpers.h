// Shorthand for registering functions with fixed argument kinds.
#pragma once

#include <string>

#include "sql/binder/types.h"
#include "sql/functions/function.h"

namespace kl::sql {

// Argument kinds, one character per argument: 's' string, 'i' integer (as BIGINT),
// 'n' number (as DOUBLE), 'b' boolean, 'x' any type as given. `min_args` of them are
// required. A NULL argument gives NULL unless `null_handling`.
ScalarBinder FixedBinder(std::string kinds, size_t min_args, DataType ret, RowFunction f, bool null_handling = false);

// Unicode code points of UTF-8 text (invalid bytes count as one each).
size_t Utf8Length(std::string_view s);
// Byte offset of the character at index `chars` (clamped to the end).
size_t Utf8Offset(std::string_view s, size_t chars);

}  // namespace kl::sql
