#include "server/pgwire/statement.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <optional>

#include "common/string_util.h"
#include "server/pgwire/query_engine.h"

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

// SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE: the zone PostgreSQL makes of it,
// named in POSIX form with the offset counted west ("<+05:30>-05:30"). Text that is
// not [+-]hh[:mm] is kept as given (and refused as a zone name).
std::string ZoneOfInterval(const std::string& text) {
  std::string s(Trim(text));
  bool west = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.erase(0, 1);
  int hours = 0, minutes = 0;
  char end = 0;
  int n = std::sscanf(s.c_str(), "%d:%d%c", &hours, &minutes, &end);
  if (n < 1 || n > 2 || hours < 0 || hours > 15 || minutes < 0 || minutes > 59 ||
      s.find_first_not_of("0123456789:") != std::string::npos) {
    return text;
  }
  char abbreviation[16];
  std::snprintf(abbreviation, sizeof(abbreviation), "%c%02d", west ? '-' : '+', hours);
  std::string east = abbreviation;
  if (minutes != 0) {
    std::snprintf(abbreviation, sizeof(abbreviation), ":%02d", minutes);
    east += abbreviation;
  }
  std::string posix = east;
  posix[0] = west ? '+' : '-';
  return "<" + east + ">" + posix;
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
      if (Is(t, i + 2, "interval") && i + 3 < t.size()) cmd.value = ZoneOfInterval(Unquote(t[i + 3]));
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
  if (Is(t, 0, "copy")) {
    cmd.kind = Kind::kCopy;
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

namespace {

// The index of the first character at or after `at` that is neither blank nor in a comment.
size_t SkipBlanksAndComments(std::string_view sql, size_t at) {
  while (at < sql.size()) {
    bool comment = (sql[at] == '-' || sql[at] == '/') && SkipQuotedOrComment(sql, at) != at;
    if (comment) {
      at = SkipQuotedOrComment(sql, at);
    } else if (std::isspace(static_cast<unsigned char>(sql[at]))) {
      ++at;
    } else {
      break;
    }
  }
  return at;
}

CopyParse CopyError(const char* sqlstate, std::string message) {
  CopyParse p;
  p.sqlstate = sqlstate;
  p.message = std::move(message);
  return p;
}

// A one-byte character option value ('x'); nullopt when it is not one.
std::optional<char> SingleByte(const std::string& token) {
  if (token.empty() || token[0] != '\'') return std::nullopt;
  std::string v = Unquote(token);
  if (v.size() != 1 || static_cast<unsigned char>(v[0]) >= 0x80) return std::nullopt;
  return v[0];
}

std::optional<bool> BooleanWord(const std::string& token) {
  std::string v = ToLower(Unquote(token));
  if (v == "true" || v == "on" || v == "1") return true;
  if (v == "false" || v == "off" || v == "0") return false;
  return std::nullopt;
}

// A column name as the query returns it: unquoted names fold to lower case.
std::string ColumnName(const std::string& token) {
  return !token.empty() && token[0] == '"' ? Unquote(token) : ToLower(token);
}

// An option's value token at t[*i], advancing past it: E'...' (escapes
// resolved) becomes a plain quoted string.
std::string TakeValue(const std::vector<std::string>& t, size_t* i) {
  if ((t[*i] == "E" || t[*i] == "e") && *i + 1 < t.size() && !t[*i + 1].empty() && t[*i + 1][0] == '\'') {
    std::string raw = t[*i + 1].substr(1, t[*i + 1].size() >= 2 ? t[*i + 1].size() - 2 : 0);
    std::string v;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '\'' && k + 1 < raw.size() && raw[k + 1] == '\'') {
        v.push_back('\'');
        ++k;
      } else if (raw[k] == '\\' && k + 1 < raw.size()) {
        char e = raw[++k];
        v.push_back(e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e);
      } else {
        v.push_back(raw[k]);
      }
    }
    *i += 2;
    std::string quoted = "'";
    for (char ch : v) {
      quoted.push_back(ch);
      if (ch == '\'') quoted.push_back('\'');
    }
    return quoted + "'";
  }
  return t[(*i)++];
}

// Column names in parentheses from t[*i] ("(" a, b ")"); false when malformed.
bool ColumnList(const std::vector<std::string>& t, size_t* i, std::vector<std::string>* names,
                std::vector<std::string>* as_written) {
  if (*i >= t.size() || t[*i] != "(") return false;
  ++*i;
  while (*i < t.size() && t[*i] != ")") {
    if (t[*i] == "," || t[*i] == "(" || t[*i][0] == '\'') return false;
    names->push_back(ColumnName(t[*i]));
    if (as_written != nullptr) as_written->push_back(t[*i]);
    ++*i;
    if (*i < t.size() && t[*i] == ",") ++*i;
  }
  if (*i >= t.size() || names->empty()) return false;
  ++*i;
  return true;
}

}  // namespace

CopyParse ParseCopy(std::string_view sql) {
  CopyParse out;
  CopyCommand& c = out.command;
  // Where the words after COPY start in the text (a query is copied as written).
  size_t at = SkipBlanksAndComments(sql, 0);
  if (sql.size() - at < 4 || !EqualsIgnoreCase(sql.substr(at, 4), "copy")) {
    return CopyError(sqlstate::kSyntaxError, "not a COPY statement");
  }
  at = SkipBlanksAndComments(sql, at + 4);
  std::vector<std::string> t;
  size_t i = 0;
  if (at < sql.size() && sql[at] == '(') {
    // (query): up to the parenthesis that closes it.
    int depth = 0;
    size_t j = at;
    for (; j < sql.size(); ++j) {
      size_t skipped = SkipQuotedOrComment(sql, j);
      if (skipped != j) {
        j = skipped - 1;
        continue;
      }
      if (sql[j] == '(') ++depth;
      if (sql[j] == ')' && --depth == 0) break;
    }
    if (j >= sql.size())
      return CopyError(sqlstate::kSyntaxError, "COPY (query): the query's parenthesis is not closed");
    c.query = std::string(Trim(sql.substr(at + 1, j - at - 1)));
    if (c.query.empty()) return CopyError(sqlstate::kSyntaxError, "COPY (query): the query is empty");
    t = Tokens(sql.substr(j + 1));
  } else {
    t = Tokens(sql.substr(at));
    std::string table;
    while (i < t.size() && t[i] != "(" && !Is(t, i, "to") && !Is(t, i, "from")) table += t[i++];
    if (table.empty()) return CopyError(sqlstate::kSyntaxError, "COPY needs a table name or a (query)");
    std::vector<std::string> columns, as_written;
    if (i < t.size() && t[i] == "(") {
      if (!ColumnList(t, &i, &columns, &as_written)) {
        return CopyError(sqlstate::kSyntaxError, "COPY's column list must be (name, ...)");
      }
    }
    c.query = "SELECT " + (as_written.empty() ? std::string("*") : Join(as_written, ", ")) + " FROM " + table;
  }
  while (!t.empty() && t.back() == ";") t.pop_back();
  if (Is(t, i, "from")) {
    return CopyError(sqlstate::kFeatureNotSupported,
                     "COPY FROM is not supported: kubelake's PostgreSQL port is read-only (its tables are written by "
                     "the pipeline and by INSERT INTO ... SELECT in `kubelake sql`)");
  }
  if (!Is(t, i, "to")) return CopyError(sqlstate::kSyntaxError, "COPY needs TO STDOUT");
  ++i;
  if (!Is(t, i, "stdout")) {
    return CopyError("42501",
                     "COPY to a file or program on the server is not allowed: use COPY ... TO STDOUT (psql: \\copy "
                     "... TO 'file')");
  }
  ++i;
  if (Is(t, i, "with")) ++i;
  bool format_given = false, delimiter_given = false, null_given = false, quote_given = false, escape_given = false,
       header_given = false, force_quote_given = false;
  auto option = [&](const std::string& raw_name, const std::vector<std::string>& values,
                    const std::vector<std::string>& names) -> std::string {
    std::string name = ToLower(raw_name);
    std::string value = values.empty() ? "" : values[0];
    auto single = [&](char* into, bool* given) -> std::string {
      if (*given) return "conflicting or redundant options";
      auto ch = SingleByte(value);
      if (!ch) return "COPY " + name + " must be a single one-byte character";
      *into = *ch;
      *given = true;
      return "";
    };
    if (name == "format") {
      if (format_given) return "conflicting or redundant options";
      format_given = true;
      std::string f = ToLower(Unquote(value));
      if (f == "text")
        c.format = CopyCommand::Format::kText;
      else if (f == "csv")
        c.format = CopyCommand::Format::kCsv;
      else if (f == "binary")
        c.format = CopyCommand::Format::kBinary;
      else
        return "COPY format \"" + Unquote(value) + "\" not recognized";
      return "";
    }
    if (name == "delimiter") return single(&c.delimiter, &delimiter_given);
    if (name == "quote") return single(&c.quote, &quote_given);
    if (name == "escape") return single(&c.escape, &escape_given);
    if (name == "null") {
      if (null_given) return "conflicting or redundant options";
      if (value.empty() || value[0] != '\'') return "COPY null must be a quoted string";
      c.null_text = Unquote(value);
      null_given = true;
      return "";
    }
    if (name == "header") {
      if (header_given) return "conflicting or redundant options";
      header_given = true;
      if (value.empty()) {
        c.header = true;
        return "";
      }
      if (ToLower(Unquote(value)) == "match") return "HEADER MATCH is only for COPY FROM";
      auto b = BooleanWord(value);
      if (!b) return "header requires a Boolean value";
      c.header = *b;
      return "";
    }
    if (name == "force_quote") {
      if (force_quote_given) return "conflicting or redundant options";
      force_quote_given = true;
      if (!names.empty()) {
        c.force_quote = names;
      } else if (value == "*") {
        c.force_quote_all = true;
      } else {
        return "force_quote needs (columns) or *";
      }
      return "";
    }
    if (name == "encoding") {
      std::string e = ToLower(Unquote(value));
      if (e != "utf8" && e != "utf-8" && e != "unicode")
        return "COPY encoding " + Unquote(value) + ": kubelake sends UTF8";
      return "";
    }
    if (name == "force_not_null" || name == "force_null" || name == "freeze" || name == "default") {
      return "COPY " + name + " is only for COPY FROM";
    }
    if (name == "oids") return "COPY WITH OIDS is not supported (tables have no oids)";
    return "option \"" + name + "\" not recognized";
  };
  if (i < t.size() && t[i] == "(") {
    // (name [value], ...)
    ++i;
    while (i < t.size() && t[i] != ")") {
      std::string name = t[i++];
      std::vector<std::string> values, names;
      if (i < t.size() && t[i] == "(") {
        if (!ColumnList(t, &i, &names, nullptr))
          return CopyError(sqlstate::kSyntaxError, "bad column list after " + name);
      } else if (i < t.size() && t[i] != "," && t[i] != ")") {
        values.push_back(TakeValue(t, &i));
      }
      std::string err = option(name, values, names);
      if (!err.empty()) return CopyError(sqlstate::kSyntaxError, err);
      if (i < t.size() && t[i] == ",") ++i;
    }
    if (i >= t.size()) return CopyError(sqlstate::kSyntaxError, "COPY's option list is not closed");
    ++i;
  } else {
    // Options as before PostgreSQL 9.0: BINARY, CSV, HEADER, DELIMITER [AS] 'x', NULL [AS] 'x',
    // QUOTE [AS] 'x', ESCAPE [AS] 'x', FORCE QUOTE columns | *.
    while (i < t.size()) {
      std::string word = ToLower(t[i++]);
      std::string err;
      if (word == "binary" || word == "csv") {
        err = option("format", {"'" + word + "'"}, {});
      } else if (word == "header") {
        err = option("header", {}, {});
      } else if (word == "delimiter" || word == "null" || word == "quote" || word == "escape") {
        if (Is(t, i, "as")) ++i;
        if (i >= t.size()) return CopyError(sqlstate::kSyntaxError, "COPY " + word + " needs a value");
        err = option(word, {TakeValue(t, &i)}, {});
      } else if (word == "force" && Is(t, i, "quote")) {
        ++i;
        std::vector<std::string> names;
        if (i < t.size() && t[i] == "*") {
          ++i;
          err = option("force_quote", {"*"}, {});
        } else {
          while (i < t.size()) {
            names.push_back(ColumnName(t[i++]));
            if (i < t.size() && t[i] == ",") {
              ++i;
            } else {
              break;
            }
          }
          err = names.empty() ? "FORCE QUOTE needs columns or *" : option("force_quote", {}, names);
        }
      } else if (word == "oids") {
        err = option("oids", {}, {});
      } else {
        err = "syntax error at or near \"" + t[i - 1] + "\"";
      }
      if (!err.empty()) return CopyError(sqlstate::kSyntaxError, err);
    }
  }
  if (i != t.size()) return CopyError(sqlstate::kSyntaxError, "syntax error at or near \"" + t[i] + "\"");
  // What PostgreSQL checks of the options together.
  using Format = CopyCommand::Format;
  bool csv = c.format == Format::kCsv;
  if (c.format == Format::kBinary) {
    if (delimiter_given) return CopyError(sqlstate::kSyntaxError, "cannot specify DELIMITER in BINARY mode");
    if (null_given) return CopyError(sqlstate::kSyntaxError, "cannot specify NULL in BINARY mode");
    if (c.header) return CopyError(sqlstate::kSyntaxError, "cannot specify HEADER in BINARY mode");
  }
  if (!csv && quote_given) return CopyError(sqlstate::kFeatureNotSupported, "COPY quote available only in CSV mode");
  if (!csv && escape_given) return CopyError(sqlstate::kFeatureNotSupported, "COPY escape available only in CSV mode");
  if (!csv && force_quote_given) {
    return CopyError(sqlstate::kFeatureNotSupported, "COPY force quote available only in CSV mode");
  }
  if (csv && !delimiter_given) c.delimiter = ',';
  if (csv && !null_given) c.null_text = "";
  if (csv && !escape_given) c.escape = c.quote;
  if (c.delimiter == '\n' || c.delimiter == '\r') {
    return CopyError(sqlstate::kSyntaxError, "COPY delimiter cannot be newline or carriage return");
  }
  if (c.null_text.find_first_of("\r\n") != std::string::npos) {
    return CopyError(sqlstate::kSyntaxError, "COPY null representation cannot use newline or carriage return");
  }
  if (!csv && (c.delimiter == '\\' || std::strchr("abcdefghijklmnopqrstuvwxyz0123456789.", c.delimiter) != nullptr)) {
    return CopyError(sqlstate::kSyntaxError, std::string("COPY delimiter cannot be \"") + c.delimiter + "\"");
  }
  if (csv && c.delimiter == c.quote) {
    return CopyError(sqlstate::kSyntaxError, "COPY delimiter and quote must be different");
  }
  if (c.format != Format::kBinary && c.null_text.find(c.delimiter) != std::string::npos) {
    return CopyError(sqlstate::kSyntaxError, "COPY delimiter must not appear in the NULL specification");
  }
  if (csv && c.null_text.find(c.quote) != std::string::npos) {
    return CopyError(sqlstate::kSyntaxError, "CSV quote character must not appear in the NULL specification");
  }
  return out;
}

}  // namespace kl::server::pg
