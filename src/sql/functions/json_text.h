// JSON_QUERY's text of a parsed JSON element (internal to src/sql/functions).
#pragma once

#include <string>

namespace simdjson::dom {
class element;
}

namespace kl::sql {

// Appends `e`'s JSON text (JSON_QUERY's) to `out`: compact (no whitespace),
// fields in document order, duplicates kept; strings re-escaped, '"' '\\' \b \t
// \n \f \r as two characters and the other control characters as lowercase
// \u00XX, all other bytes as they are; integers exact; doubles in a short form
// that reads back to the same double. Nothing is allocated beyond `out`'s growth
// except for a double, whose digits are first formatted into a string of their own.
void AppendMinifiedJson(const simdjson::dom::element& e, std::string* out);

}  // namespace kl::sql
