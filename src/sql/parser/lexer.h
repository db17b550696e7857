// The lexer of kubelake's Flink SQL dialect: keywords are case-insensitive,
// identifiers are plain or in backticks (`` ` `` doubled inside), strings in
// single quotes ('' doubled inside), comments `--` and `/* */`, and query
// hints `/*+ ... */` come through as tokens of their own. Every token knows its
// line and column, so errors point where the user has to look.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace kl::sql {

// 1-based line and column of a place in the statement text; 0 = unknown.
struct SourcePos {
  int line = 0;
  int column = 0;
};

// An error at a place in the text: "line 3, column 14: <message>".
Status ErrorAt(SourcePos pos, std::string_view message);

enum class TokenKind : unsigned char {
  kEnd,
  kIdentifier,        // plain word (keywords too: the parser decides)
  kQuotedIdentifier,  // `name`
  kString,            // 'text' (value unescaped)
  kInteger,           // 123
  kDecimal,           // 1.5, .5
  kFloat,             // 1e3, 1.5E-2
  kBinaryString,      // X'0aff' (value: the hex digits)
  kParameter,         // ? or $1 (text: "" or the number)
  kHint,              // /*+ ... */ (value: what is between /*+ and */)
  kSymbol,            // operators and punctuation: ( ) , . ; + - * / % || = <> != < <= > >= [ ] :
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // the value (unescaped for strings and quoted identifiers)
  SourcePos pos;
  size_t offset = 0;  // byte offset in the statement text
  size_t end = 0;     // one past the last byte

  bool IsSymbol(std::string_view s) const { return kind == TokenKind::kSymbol && text == s; }
  // A plain identifier spelling keyword `kw` (upper case), case-insensitively.
  bool IsKeyword(std::string_view kw) const;
};

// Splits `text` into tokens (ending with kEnd). Errors: unterminated strings,
// quoted identifiers or comments, and characters that are no part of SQL.
// `base`: where the text starts in a larger script (positions are reported from there).
Result<std::vector<Token>> Tokenize(std::string_view text, SourcePos base = {1, 1});

// A statement of a script with where it starts.
struct ScriptStatement {
  std::string text;
  SourcePos pos;  // of its first character in the script
};

// Splits a script on `;` outside strings, identifiers and comments; drops empty
// statements (only blanks and comments). An unterminated string or comment
// still yields its statement, whose parse then reports the error.
std::vector<ScriptStatement> SplitStatements(std::string_view script);

// True when `text` holds at least one `;` outside strings and comments after
// something other than blanks (the shell's test for "statement complete").
bool EndsStatement(std::string_view text);

}  // namespace kl::sql
