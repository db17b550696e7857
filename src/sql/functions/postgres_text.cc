#include "sql/functions/postgres_text.h"

#include <cctype>

#include "common/string_util.h"

namespace kl::sql {

std::string PostgresByteaHex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

Status ForEachArrayTextElement(std::string_view text,
                               const std::function<Status(std::optional<std::string_view>)>& element,
                               const std::function<Status(ArrayTextError)>& malformed) {
  std::string_view t = Trim(text);
  if (t.size() < 2 || t.front() != '{' || t.back() != '}') return malformed(ArrayTextError::kNotBraced);
  std::string item;
  bool quoted = false, was_quoted = false, any = false, emitted = false;
  auto flush = [&]() -> Status {
    std::string_view v = was_quoted ? std::string_view(item) : Trim(item);
    emitted = true;
    if (!was_quoted && EqualsIgnoreCase(v, "NULL")) {
      KL_RETURN_IF_ERROR(element(std::nullopt));
    } else {
      KL_RETURN_IF_ERROR(element(v));
    }
    item.clear();
    was_quoted = false;
    return Status::OK();
  };
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    char c = t[i];
    if (quoted) {
      if (c == '\\' && i + 2 < t.size()) {
        item.push_back(t[++i]);
      } else if (c == '"') {
        quoted = false;
      } else {
        item.push_back(c);
      }
    } else if (c == '"') {
      quoted = was_quoted = any = true;
    } else if (c == ',') {
      KL_RETURN_IF_ERROR(flush());
    } else if (c == '{' || c == '}') {
      return malformed(ArrayTextError::kNested);
    } else {
      item.push_back(c);
      if (!std::isspace(static_cast<unsigned char>(c))) any = true;
    }
  }
  if (quoted) return malformed(ArrayTextError::kUnterminatedQuote);
  // The last element, unless the braces hold nothing at all ("{}", "{ }").
  if (any || emitted) KL_RETURN_IF_ERROR(flush());
  return Status::OK();
}

}  // namespace kl::sql
