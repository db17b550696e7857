#include "sql/parser/lexer.h"

#include <cctype>
#include <optional>

#include "common/string_util.h"

namespace kl::sql {

Status ErrorAt(SourcePos pos, std::string_view message) {
  if (pos.line <= 0) return Status::InvalidArgument(std::string(message));
  return Status::InvalidArgument("line " + std::to_string(pos.line) + ", column " + std::to_string(pos.column) + ": " +
                                 std::string(message));
}

bool Token::IsKeyword(std::string_view kw) const {
  return kind == TokenKind::kIdentifier && EqualsIgnoreCase(text, kw);
}

namespace {

bool IsIdentStart(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool IsIdentPart(unsigned char c) { return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

// Walks the text keeping line and column.
class Cursor {
 public:
  explicit Cursor(std::string_view text, SourcePos base = {1, 1}) : text_(text), line_(base.line), col_(base.column) {}
  bool done() const { return i_ >= text_.size(); }
  char peek(size_t ahead = 0) const { return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0'; }
  void advance(size_t n = 1) {
    for (size_t k = 0; k < n && i_ < text_.size(); ++k) {
      if (text_[i_] == '\n') {
        ++line_;
        col_ = 1;
      } else if ((static_cast<unsigned char>(text_[i_]) & 0xC0) != 0x80) {
        ++col_;  // count characters, not UTF-8 continuation bytes
      }
      ++i_;
    }
  }
  SourcePos pos() const { return {line_, col_}; }
  size_t offset() const { return i_; }
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
  size_t i_ = 0;
  int line_;
  int col_;
};

// Skips blanks and comments (not hints). Error on an unterminated block comment.
Status SkipBlanks(Cursor* c) {
  while (!c->done()) {
    char ch = c->peek();
    if (std::isspace(static_cast<unsigned char>(ch))) {
      c->advance();
    } else if (ch == '-' && c->peek(1) == '-') {
      while (!c->done() && c->peek() != '\n') c->advance();
    } else if (ch == '/' && c->peek(1) == '*' && c->peek(2) != '+') {
      SourcePos start = c->pos();
      c->advance(2);
      while (!c->done() && !(c->peek() == '*' && c->peek(1) == '/')) c->advance();
      if (c->done()) return ErrorAt(start, "unterminated comment: /* without */");
      c->advance(2);
    } else {
      break;
    }
  }
  return Status::OK();
}

// E'...' after the E: backslash escapes as PostgreSQL reads them; '' is a quote too.
Status LexEscapeString(Cursor* c, Token* t) {
  c->advance(2);
  t->kind = TokenKind::kString;
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  while (true) {
    if (c->done()) return ErrorAt(t->pos, "unterminated string: E' without closing '");
    char ch = c->peek();
    if (ch == '\'') {
      if (c->peek(1) == '\'') {
        t->text.push_back('\'');
        c->advance(2);
        continue;
      }
      c->advance();
      return Status::OK();
    }
    if (ch != '\\') {
      t->text.push_back(ch);
      c->advance();
      continue;
    }
    char e = c->peek(1);
    c->advance(2);
    switch (e) {
      case 'n': t->text.push_back('\n'); break;
      case 't': t->text.push_back('\t'); break;
      case 'r': t->text.push_back('\r'); break;
      case 'b': t->text.push_back('\b'); break;
      case 'f': t->text.push_back('\f'); break;
      case 'x': {
        int v = 0, n = 0;
        while (n < 2 && hex(c->peek()) >= 0) {
          v = v * 16 + hex(c->peek());
          c->advance();
          ++n;
        }
        if (n == 0) return ErrorAt(c->pos(), "\\x in an E'...' string needs hex digits");
        t->text.push_back(static_cast<char>(v));
        break;
      }
      case '\0': return ErrorAt(t->pos, "unterminated string: E' without closing '");
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', n = 1;
          while (n < 3 && c->peek() >= '0' && c->peek() <= '7') {
            v = v * 8 + (c->peek() - '0');
            c->advance();
            ++n;
          }
          t->text.push_back(static_cast<char>(v & 0xFF));
        } else {
          t->text.push_back(e);  // \\, \', and any other character stands for itself
        }
    }
  }
}

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view text, SourcePos base) {
  std::vector<Token> out;
  Cursor c(text, base);
  while (true) {
    KL_RETURN_IF_ERROR(SkipBlanks(&c));
    Token t;
    t.pos = c.pos();
    t.offset = c.offset();
    if (c.done()) {
      t.kind = TokenKind::kEnd;
      t.end = t.offset;
      out.push_back(std::move(t));
      return out;
    }
    char ch = c.peek();
    unsigned char uch = static_cast<unsigned char>(ch);
    if (ch == '/' && c.peek(1) == '*' && c.peek(2) == '+') {
      c.advance(3);
      size_t start = c.offset();
      while (!c.done() && !(c.peek() == '*' && c.peek(1) == '/')) c.advance();
      if (c.done()) return ErrorAt(t.pos, "unterminated hint: /*+ without */");
      t.kind = TokenKind::kHint;
      t.text = std::string(text.substr(start, c.offset() - start));
      c.advance(2);
    } else if ((ch == 'E' || ch == 'e') && c.peek(1) == '\'' &&
               (t.offset == 0 || !IsIdentPart(static_cast<unsigned char>(text[t.offset - 1])))) {
      // PostgreSQL's escape string E'...': backslash escapes (\n, \t, \\, \', \xHH, octal).
      KL_RETURN_IF_ERROR(LexEscapeString(&c, &t));
    } else if (ch == '$' && (c.peek(1) == '$' || IsIdentStart(static_cast<unsigned char>(c.peek(1))))) {
      // PostgreSQL's dollar quoting: $$...$$ or $tag$...$tag$.
      size_t start = c.offset();
      size_t close = text.find('$', start + 1);
      std::string_view tag = close == std::string_view::npos ? "" : text.substr(start, close - start + 1);
      bool tag_ok = !tag.empty();
      for (size_t k = 1; tag_ok && k + 1 < tag.size(); ++k)
        tag_ok = IsIdentPart(static_cast<unsigned char>(tag[k])) && tag[k] != '$';
      if (!tag_ok) return ErrorAt(t.pos, "unexpected character '$'");
      size_t body = start + tag.size();
      size_t end = text.find(tag, body);
      if (end == std::string_view::npos)
        return ErrorAt(
            t.pos, "unterminated dollar-quoted string: " + std::string(tag) + " without closing " + std::string(tag));
      t.kind = TokenKind::kString;
      t.text = std::string(text.substr(body, end - body));
      c.advance(end + tag.size() - start);
    } else if ((ch == 'X' || ch == 'x') && c.peek(1) == '\'') {
      c.advance(2);
      t.kind = TokenKind::kBinaryString;
      while (!c.done() && c.peek() != '\'') {
        if (!std::isxdigit(static_cast<unsigned char>(c.peek()))) {
          return ErrorAt(c.pos(), "binary string literal X'...' holds a character that is not a hex digit");
        }
        t.text.push_back(c.peek());
        c.advance();
      }
      if (c.done()) return ErrorAt(t.pos, "unterminated binary string literal");
      c.advance();
      if (t.text.size() % 2 != 0)
        return ErrorAt(t.pos, "binary string literal X'...' needs an even number of hex digits");
    } else if (IsIdentStart(uch)) {
      size_t start = c.offset();
      while (!c.done() && IsIdentPart(static_cast<unsigned char>(c.peek()))) c.advance();
      t.kind = TokenKind::kIdentifier;
      t.text = std::string(text.substr(start, c.offset() - start));
    } else if (ch == '`' || ch == '"') {
      // Flink quotes identifiers with backticks; double quotes are accepted too
      // (PostgreSQL clients send them).
      char q = ch;
      c.advance();
      t.kind = TokenKind::kQuotedIdentifier;
      while (true) {
        if (c.done())
          return ErrorAt(t.pos, std::string("unterminated quoted identifier: ") + q + " without closing " + q);
        if (c.peek() == q) {
          if (c.peek(1) == q) {
            t.text.push_back(q);
            c.advance(2);
            continue;
          }
          c.advance();
          break;
        }
        t.text.push_back(c.peek());
        c.advance();
      }
      if (t.text.empty()) return ErrorAt(t.pos, "empty quoted identifier");
    } else if (ch == '\'') {
      c.advance();
      t.kind = TokenKind::kString;
      while (true) {
        if (c.done()) return ErrorAt(t.pos, "unterminated string: ' without closing '");
        if (c.peek() == '\'') {
          if (c.peek(1) == '\'') {
            t.text.push_back('\'');
            c.advance(2);
            continue;
          }
          c.advance();
          break;
        }
        t.text.push_back(c.peek());
        c.advance();
      }
    } else if (std::isdigit(uch) || (ch == '.' && std::isdigit(static_cast<unsigned char>(c.peek(1))))) {
      size_t start = c.offset();
      bool dot = false, exp = false;
      while (!c.done()) {
        char d = c.peek();
        if (std::isdigit(static_cast<unsigned char>(d))) {
          c.advance();
        } else if (d == '.' && !dot && !exp) {
          dot = true;
          c.advance();
        } else if ((d == 'e' || d == 'E') && !exp &&
                   (std::isdigit(static_cast<unsigned char>(c.peek(1))) ||
                    ((c.peek(1) == '+' || c.peek(1) == '-') && std::isdigit(static_cast<unsigned char>(c.peek(2)))))) {
          exp = true;
          c.advance(2);
        } else {
          break;
        }
      }
      if (!c.done() && IsIdentStart(static_cast<unsigned char>(c.peek()))) {
        return ErrorAt(c.pos(), "a number runs into a name: '" +
                                    std::string(text.substr(start, c.offset() - start + 1)) +
                                    "' (put a space between them)");
      }
      t.kind = exp ? TokenKind::kFloat : dot ? TokenKind::kDecimal : TokenKind::kInteger;
      t.text = std::string(text.substr(start, c.offset() - start));
    } else if (ch == '?') {
      c.advance();
      t.kind = TokenKind::kParameter;
    } else if (ch == '$' && std::isdigit(static_cast<unsigned char>(c.peek(1)))) {
      c.advance();
      size_t start = c.offset();
      while (!c.done() && std::isdigit(static_cast<unsigned char>(c.peek()))) c.advance();
      t.kind = TokenKind::kParameter;
      t.text = std::string(text.substr(start, c.offset() - start));
    } else {
      static const char* kThree[] = {"!~*", "!~~", "->>", "#>>"};
      static const char* kTwo[] = {"||", "<>", "!=", "<=", ">=", "::", "!~", "~*", "~~", "->", "#>"};
      t.kind = TokenKind::kSymbol;
      bool matched = false;
      for (const char* three : kThree) {
        if (ch == three[0] && c.peek(1) == three[1] && c.peek(2) == three[2]) {
          t.text = three;
          c.advance(3);
          matched = true;
          break;
        }
      }
      for (const char* two : kTwo) {
        if (matched) break;
        if (ch == two[0] && c.peek(1) == two[1]) {
          t.text = two;
          c.advance(2);
          matched = true;
          break;
        }
      }
      if (!matched) {
        static const std::string_view kOne = "(),.;+-*/%=<>[]:{}~";
        if (kOne.find(ch) == std::string_view::npos) {
          std::string shown = uch < 0x20 ? "byte " + std::to_string(uch) : "'" + std::string(1, ch) + "'";
          return ErrorAt(t.pos, "unexpected character " + shown);
        }
        t.text = std::string(1, ch);
        c.advance();
      }
    }
    t.end = c.offset();
    out.push_back(std::move(t));
  }
}

namespace {

// Calls on_semicolon(offset) for each `;` outside strings, identifiers and comments.
template <typename F>
void ScanSemicolons(std::string_view s, F&& on_semicolon) {
  size_t i = 0;
  while (i < s.size()) {
    char ch = s[i];
    if (ch == '$' && i + 1 < s.size() && (s[i + 1] == '$' || IsIdentStart(static_cast<unsigned char>(s[i + 1]))) &&
        (i == 0 || !IsIdentPart(static_cast<unsigned char>(s[i - 1])))) {
      // $tag$ ... $tag$
      size_t close = s.find('$', i + 1);
      bool tag_ok = close != std::string_view::npos;
      for (size_t k = i + 1; tag_ok && k < close; ++k) tag_ok = IsIdentPart(static_cast<unsigned char>(s[k]));
      if (tag_ok) {
        std::string_view tag = s.substr(i, close - i + 1);
        size_t end = s.find(tag, close + 1);
        i = end == std::string_view::npos ? s.size() : end + tag.size();
        continue;
      }
    }
    bool escapes = ch == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
                   (i == 1 || !IsIdentPart(static_cast<unsigned char>(s[i - 2])));
    if (ch == '\'' || ch == '`' || ch == '"') {
      ++i;
      while (i < s.size()) {
        if (escapes && s[i] == '\\') {
          i += 2;
          continue;
        }
        if (s[i] == ch) {
          if (i + 1 < s.size() && s[i + 1] == ch) {
            i += 2;
            continue;
          }
          break;
        }
        ++i;
      }
      ++i;
    } else if (ch == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (ch == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      size_t end = s.find("*/", i + 2);
      i = end == std::string_view::npos ? s.size() : end + 2;
    } else {
      if (ch == ';') on_semicolon(i);
      ++i;
    }
  }
}

bool OnlyBlanksAndComments(std::string_view s) {
  Cursor c(s);
  if (!SkipBlanks(&c).ok()) return false;
  return c.done();
}

SourcePos PosOf(std::string_view s, size_t offset) {
  SourcePos p{1, 1};
  for (size_t i = 0; i < offset && i < s.size(); ++i) {
    if (s[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      ++p.column;
    }
  }
  return p;
}

}  // namespace

namespace {

// The first `n` words of a piece (comments and blanks skipped), upper-cased.
std::vector<std::string> LeadingWords(std::string_view piece, size_t n) {
  std::vector<std::string> words;
  auto toks = Tokenize(piece);
  if (!toks.ok()) return words;
  for (const auto& t : *toks) {
    if (words.size() >= n || t.kind != TokenKind::kIdentifier) break;
    std::string w = t.text;
    for (auto& ch : w) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    words.push_back(std::move(w));
  }
  return words;
}

}  // namespace

std::vector<ScriptStatement> SplitStatements(std::string_view script) {
  std::vector<ScriptStatement> out;
  size_t start = 0;
  // EXECUTE STATEMENT SET BEGIN ...; ...; END is one statement despite its ';'s.
  std::optional<size_t> set_start;
  auto emit = [&](size_t end) {
    std::string_view piece = script.substr(start, end - start);
    if (!OnlyBlanksAndComments(piece)) {
      if (!set_start) {
        auto words = LeadingWords(piece, 4);
        if (words.size() == 4 && words[0] == "EXECUTE" && words[1] == "STATEMENT" && words[2] == "SET" &&
            words[3] == "BEGIN") {
          set_start = start;
        }
      }
      if (set_start) {
        auto words = LeadingWords(piece, 2);
        bool ends = words.size() == 1 && words[0] == "END";
        if (!ends && end < script.size()) {
          start = end + 1;
          return;
        }
        piece = script.substr(*set_start, end - *set_start);
        start = *set_start;
        set_start.reset();
      }
      // Start at the first character that is not blank (comments stay: they may hold hints).
      size_t skip = 0;
      while (skip < piece.size() && std::isspace(static_cast<unsigned char>(piece[skip]))) ++skip;
      out.push_back({std::string(piece.substr(skip)), PosOf(script, start + skip)});
    }
    start = end + 1;
  };
  ScanSemicolons(script, emit);
  if (start < script.size()) emit(script.size());
  if (set_start) {
    // A statement set without END: its parse reports what is missing.
    std::string_view piece = script.substr(*set_start);
    size_t skip = 0;
    while (skip < piece.size() && std::isspace(static_cast<unsigned char>(piece[skip]))) ++skip;
    out.push_back({std::string(piece.substr(skip)), PosOf(script, *set_start + skip)});
  }
  return out;
}

bool EndsStatement(std::string_view text) {
  bool found = false;
  size_t start = 0;
  ScanSemicolons(text, [&](size_t at) {
    if (!OnlyBlanksAndComments(text.substr(start, at - start))) found = true;
    start = at + 1;
  });
  return found;
}

}  // namespace kl::sql
