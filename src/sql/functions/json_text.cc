#include "sql/functions/json_text.h"

#include <simdjson.h>

#include <charconv>

#include "common/json.h"

namespace kl::sql {

void AppendMinifiedJson(const simdjson::dom::element& e, std::string* out) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      out->push_back('[');
      bool first = true;
      simdjson::dom::array items = e.get_array().value_unsafe();
      for (simdjson::dom::element item : items) {
        if (!first) out->push_back(',');
        first = false;
        AppendMinifiedJson(item, out);
      }
      out->push_back(']');
      return;
    }
    case simdjson::dom::element_type::OBJECT: {
      out->push_back('{');
      bool first = true;
      simdjson::dom::object fields = e.get_object().value_unsafe();
      for (auto field : fields) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(out, field.key);
        out->push_back(':');
        AppendMinifiedJson(field.value, out);
      }
      out->push_back('}');
      return;
    }
    case simdjson::dom::element_type::STRING: AppendJsonString(out, e.get_string().value_unsafe()); return;
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64: {
      char digits[24];
      auto r = e.type() == simdjson::dom::element_type::INT64
                   ? std::to_chars(digits, digits + sizeof(digits), e.get_int64().value_unsafe())
                   : std::to_chars(digits, digits + sizeof(digits), e.get_uint64().value_unsafe());
      out->append(digits, r.ptr);
      return;
    }
    case simdjson::dom::element_type::BOOL: out->append(e.get_bool().value_unsafe() ? "true" : "false"); return;
    case simdjson::dom::element_type::NULL_VALUE: out->append("null"); return;
    case simdjson::dom::element_type::DOUBLE: out->append(simdjson::minify(e)); return;  // a string of its own
  }
}

}  // namespace kl::sql
