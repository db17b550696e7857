// JSON_QUERY's text of a parsed JSON element (internal to src/sql/functions).
#pragma once

#include <string>

namespace simdjson::dom {
class element;
}

namespace kl::sql {

// Appends `e` as simdjson::minify writes it (JSON_QUERY's text), without a
// string of its own.
void AppendMinifiedJson(const simdjson::dom::element& e, std::string* out);

}  // namespace kl::sql
