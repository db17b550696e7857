#include "server/pgwire/statement.h"

#include <cctype>

#include "common/string_util.h"

namespace kl::server::pg {
namespace {

// Skips a comment or quoted section starting at `i`; returns the index after
// it, or `i` when nothing starts there.
size_t SkipQuotedOrComment(std::string_view s, size_t i) {
  char c = s[i];
  if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
    size_t end = s.find('\n', i);
    return end == std::string_view::npos ? s.size() : end + 1;
  }
  if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
    int depth = 1;  // PostgreSQL's block comments nest
    size_t j = i + 2;
    while (j < s.size() && depth > 0) {
      if (s[j] == '/' && j + 1 < s.size() && s[j + 1] == '*') {
        ++depth;
        j += 2;
      } else if (s[j] == '*' && j + 1 < s.size() && s[j + 1] == '/') {
        --depth;
        j += 2;
      } else {
        ++j;
      }
    }
    return j;
  }
  if (c == '\'' || c == '"' || c == '`') {
    size_t j = i + 1;
    while (j < s.size()) {
      if (s[j] == c) {
        if (j + 1 < s.size() && s[j + 1] == c) {
          j += 2;  // doubled quote
          continue;
        }
        return j + 1;
      }
      if (c == '\'' && s[j] == '\\' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') && j + 1 < s.size()) {
        j += 2;  // E'...' escapes
        continue;
      }
      ++j;
    }
    return s.size();
  }
  if (c == '$') {
    // $tag$ ... $tag$ (tag empty or an identifier); "$1" is a parameter.
    size_t j = i + 1;
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
    if (j < s.size() && s[j] == '$' && !(j > i + 1 && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      std::string_view tag = s.substr(i, j - i + 1);
      size_t end = s.find(tag, j + 1);
      return end == std::string_view::npos ? s.size() : end + tag.size();
    }
  }
  return i;
}

// Words of a statement (identifiers, numbers, quoted strings, single
// punctuation), comments dropped; quoted strings keep their quotes.
std::vector<std::string> Tokens(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    size_t skipped = SkipQuotedOrComment(s, i);
    if (skipped != i) {
      if (c == '\'' || c == '"' || c == '`' || c == '$') out.emplace_back(s.substr(i, skipped - i));
      i = skipped;
      continue;
    }
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '+') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '.' ||
                              ((s[j] == '-' || s[j] == '+') && j == i))) {
        ++j;
      }
      out.emplace_back(s.substr(i, j - i));
      i = j;
      continue;
    }
    out.emplace_back(1, c);
    ++i;
  }
  return out;
}

std::string Unquote(const std::string& token) {
  if (token.size() >= 2 && (token[0] == '\'' || token[0] == '"') && token.back() == token[0]) {
    std::string out;
    for (size_t i = 1; i + 1 < token.size(); ++i) {
      out.push_back(token[i]);
      if (token[i] == token[0] && i + 2 < token.size() && token[i + 1] == token[0]) ++i;
    }
    return out;
  }
  return token;
}

bool Is(const std::vector<std::string>& t, size_t i, std::string_view word) {
  return i < t.size() && EqualsIgnoreCase(t[i], word);
}

bool HasReadWrite(const std::vector<std::string>& t) {
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    if (Is(t, i, "read") && Is(t, i + 1, "write")) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> SplitStatements(std::string_view sql) {
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  auto flush = [&](size_t end) {
    std::string_view part = sql.substr(start, end - start);
    if (!IsEmptyStatement(part)) out.emplace_back(Trim(part));
  };
  while (i < sql.size()) {
    size_t skipped = SkipQuotedOrComment(sql, i);
    if (skipped != i) {
      i = skipped;
      continue;
    }
    if (sql[i] == ';') {
      flush(i);
      start = i + 1;
    }
    ++i;
  }
  flush(sql.size());
  return out;
}

bool IsEmptyStatement(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == ';') {
      ++i;
      continue;
    }
    bool comment = (sql[i] == '-' && i + 1 < sql.size() && sql[i + 1] == '-') ||
                   (sql[i] == '/' && i + 1 < sql.size() && sql[i + 1] == '*');
    if (!comment) return false;
    i = SkipQuotedOrComment(sql, i);
  }
  return true;
}

SessionCommand ClassifyStatement(std::string_view sql, bool (*is_known_setting)(std::string_view name)) {
  SessionCommand cmd;
  std::vector<std::string> t = Tokens(sql);
  while (!t.empty() && t.back() == ";") t.pop_back();
  if (t.empty()) return cmd;
  using Kind = SessionCommand::Kind;
  if (Is(t, 0, "begin") || (Is(t, 0, "start") && Is(t, 1, "transaction"))) {
    cmd.kind = Kind::kBegin;
    cmd.read_write = HasReadWrite(t);
    return cmd;
  }
  if (Is(t, 0, "commit") || Is(t, 0, "end")) {
    if (t.size() == 1 || Is(t, 1, "work") || Is(t, 1, "transaction")) cmd.kind = Kind::kCommit;
    return cmd;
  }
  if (Is(t, 0, "rollback") || Is(t, 0, "abort")) {
    if (t.size() == 1 || Is(t, 1, "work") || Is(t, 1, "transaction")) cmd.kind = Kind::kRollback;
    return cmd;
  }
  if (Is(t, 0, "discard") && Is(t, 1, "all") && t.size() == 2) {
    cmd.kind = Kind::kDiscardAll;
    return cmd;
  }
  if (Is(t, 0, "deallocate")) {
    size_t i = Is(t, 1, "prepare") ? 2 : 1;
    if (i + 1 == t.size()) {
      cmd.kind = Kind::kDeallocate;
      cmd.name = Is(t, i, "all") ? "all" : Unquote(t[i]);
    }
    return cmd;
  }
  if (Is(t, 0, "set")) {
    size_t i = 1;
    if (Is(t, i, "session") && Is(t, i + 1, "characteristics")) {
      cmd.kind = Kind::kSetNoop;
      cmd.read_write = HasReadWrite(t);
      return cmd;
    }
    if (Is(t, i, "session") || Is(t, i, "local")) ++i;
    if (Is(t, i, "transaction")) {
      cmd.kind = Kind::kSetNoop;
      cmd.read_write = HasReadWrite(t);
      return cmd;
    }
    if (Is(t, i, "time") && Is(t, i + 1, "zone") && i + 2 < t.size()) {
      cmd.kind = Kind::kSet;
      cmd.name = "timezone";
      cmd.value = Is(t, i + 2, "local") || Is(t, i + 2, "default") ? "default" : Unquote(t[i + 2]);
      return cmd;
    }
    if (i >= t.size() || t[i].empty() || t[i][0] == '\'' || t[i][0] == '`') return cmd;
    std::string name = ToLower(Unquote(t[i]));
    if (!(Is(t, i + 1, "to") || Is(t, i + 1, "="))) return cmd;
    // Unquoted names are PostgreSQL settings (unknown ones are refused, or kept when custom:
    // "myapp.tenant"); Flink's quoted keys (SET 'k' = 'v') go to the engine.
    (void)is_known_setting;
    cmd.kind = Kind::kSet;
    cmd.name = name;
    std::string value;
    for (size_t j = i + 2; j < t.size(); ++j) {
      if (t[j] == ",") {
        value += ", ";
        continue;
      }
      value += Is(t, j, "default") && t.size() == j + 1 && j == i + 2 ? "default" : Unquote(t[j]);
    }
    if (value.empty()) cmd.kind = Kind::kEngine;
    cmd.value = value;
    return cmd;
  }
  if (Is(t, 0, "reset") && t.size() == 2) {
    std::string name = ToLower(Unquote(t[1]));
    if (name == "all" || is_known_setting(name)) {
      cmd.kind = Kind::kReset;
      cmd.name = name;
    }
    return cmd;
  }
  if (Is(t, 0, "show")) {
    std::string name;
    for (size_t i = 1; i < t.size(); ++i) name += (i > 1 ? " " : "") + ToLower(Unquote(t[i]));
    if (name == "time zone") name = "timezone";
    if (name == "transaction isolation level") name = "transaction_isolation";
    if (name == "all" || is_known_setting(name)) {
      cmd.kind = Kind::kShow;
      cmd.name = name;
    }
    return cmd;
  }
  return cmd;
}

}  // namespace kl::server::pg
