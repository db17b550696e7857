// The parser: tokens to statements (ast.h), by recursive descent. One
// statement per call; scripts are split first (lexer.h: SplitStatements).
// Errors name the line and column and what was expected there.
#pragma once

#include <string_view>

#include "common/result.h"
#include "sql/parser/ast.h"

namespace kl::sql {

// The SQL a session speaks: Flink's (kubelake sql, the default) or PostgreSQL's
// (sessions of the PostgreSQL wire protocol: `::` casts with PostgreSQL type
// names, `~` regex operators, OPERATOR(pg_catalog.~), = ANY(array), ARRAY(subquery),
// COLLATE, pg_catalog.f(...) calls, functions in FROM, unquoted names folded to
// lower case). PostgreSQL mode accepts Flink's statements too.
enum class Dialect : unsigned char { kFlink, kPostgres };

struct ParseOptions {
  Dialect dialect = Dialect::kFlink;
};

// Parses exactly one statement (a trailing `;` is allowed). `base` is where the
// text starts in a larger script, so positions in errors refer to the script.
Result<StatementPtr> ParseStatement(std::string_view text, SourcePos base = {1, 1}, const ParseOptions& options = {});

// Parses one expression (a computed column's definition).
Result<ExprPtr> ParseExpression(std::string_view text);

// Parses a data type ("DECIMAL(10, 2)", "ARRAY<STRING>", "TIMESTAMP_LTZ(3)").
Result<format::DataType> ParseDataType(std::string_view text);

}  // namespace kl::sql
