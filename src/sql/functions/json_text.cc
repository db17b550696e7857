#include "sql/functions/json_text.h"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <cstring>

namespace kl::sql {

namespace {

// Whether a string byte is written escaped: '"', '\\' and control characters.
bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// The string's JSON text: '"', '\\' and control characters escaped (\b \t \n \f \r by
// name, the others as \u00xx).
void AppendMinifiedString(std::string_view s, std::string* out) {
  // Most strings have nothing to escape: 8 bytes at a time, then the rest, and if so one copy.
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
    auto has_zero = [&](uint64_t v) { return ((v - kOnes) & ~v & kHighs) != 0; };
    // A byte below 0x20, or equal to '"' or '\\' (exact tests for whether any byte is).
    if ((((w - 0x20 * kOnes) & ~w & kHighs) != 0) || has_zero(w ^ ('"' * kOnes)) || has_zero(w ^ ('\\' * kOnes))) break;
  }
  while (i < s.size() && !NeedsEscape(static_cast<unsigned char>(s[i]))) ++i;
  if (i == s.size()) {
    size_t at = out->size();
    out->resize(at + s.size() + 2);
    char* p = out->data() + at;
    p[0] = '"';
    std::memcpy(p + 1, s.data(), s.size());
    p[s.size() + 1] = '"';
    return;
  }
  out->push_back('"');
  out->append(s.data(), i);
  size_t plain = i;  // s[plain, i) needs no escape
  for (; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (!NeedsEscape(c)) continue;
    out->append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\t': out->append("\\t"); break;
      case '\n': out->append("\\n"); break;
      case '\f': out->append("\\f"); break;
      case '\r': out->append("\\r"); break;
      default: {
        static const char kHex[] = "0123456789abcdef";
        char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(u, 6);
      }
    }
  }
  out->append(s.data() + plain, s.size() - plain);
  out->push_back('"');
}

}  // namespace

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
        AppendMinifiedString(field.key, out);
        out->push_back(':');
        AppendMinifiedJson(field.value, out);
      }
      out->push_back('}');
      return;
    }
    case simdjson::dom::element_type::STRING: AppendMinifiedString(e.get_string().value_unsafe(), out); return;
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
