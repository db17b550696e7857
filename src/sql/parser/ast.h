// The syntax tree the parser builds: statements, queries, table references and
// expressions, each node with the place in the text it came from. Names are
// kept as written; the binder resolves them against the catalog.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/datum.h"
#include "format/types.h"
#include "sql/parser/lexer.h"

namespace kl::sql {

struct Query;
struct ParsedExpr;
using ExprPtr = std::shared_ptr<ParsedExpr>;
using QueryPtr = std::shared_ptr<Query>;

// A possibly qualified name: catalog.db.table, db.table or table; t.column.
struct QualifiedName {
  std::vector<std::string> parts;
  SourcePos pos;
  std::string ToString() const;  // parts joined by '.', quoted where needed
  const std::string& last() const { return parts.back(); }
};

enum class ExprKind : unsigned char {
  kLiteral,     // value + type
  kColumn,      // name (qualifier in `qualifier`)
  kStar,        // * or t.*
  kParameter,   // ? or $n (index in `param_index`)
  kUnary,       // op: "-", "+", "NOT"
  kBinary,      // op: + - * / % || = <> < <= > >= AND OR
  kIsNull,      // negated: IS NOT NULL
  kIsBool,      // IS [NOT] TRUE/FALSE/UNKNOWN (value = TRUE/FALSE/NULL)
  kIsDistinct,  // IS [NOT] DISTINCT FROM
  kBetween,     // args: value, low, high; negated
  kInList,      // args: value, list...; negated
  kInSubquery,  // args: value; subquery; negated
  kExists,      // subquery; negated
  kScalarSubquery,
  kLike,           // args: value, pattern[, escape]; negated; op "LIKE" or "SIMILAR TO"
  kCase,           // args: [operand], when, then, when, then, ..., [else]; has_operand, has_else
  kCast,           // args: value; type; try_cast
  kFunction,       // name; args; distinct; star (COUNT(*)); over; filter
  kInterval,       // value (the number, as BIGINT ms or months), unit
  kArrayCtor,      // ARRAY[a, b]
  kMapCtor,        // MAP[k, v, ...]
  kRowCtor,        // ROW(a, b) or (a, b)
  kSubscript,      // args: base, index  (a[1], m['k'])
  kField,          // args: base; name   (r.f on a ROW value)
  kExtract,        // name: unit; args: value
  kTimestampDiff,  // name: unit; args: a, b   (TIMESTAMPDIFF / TIMESTAMPADD use name2)
  kJsonValue,      // args: doc, path; json_* options below
  kJsonQuery,
  kJsonExists,
  kTrim,       // name: BOTH/LEADING/TRAILING; args: [chars], value
  kPosition,   // args: needle, haystack
  kSubstring,  // args: value, from[, len]
  kOverlay,
  kQuantified,     // x op ANY|ALL (array or subquery): op; name "ANY"/"ALL"; args: value[, array]; subquery
  kArraySubquery,  // ARRAY(subquery)
};

struct OrderItem {
  ExprPtr expr;
  bool descending = false;
  std::optional<bool> nulls_first;  // unset: Flink's default (NULLS FIRST for ASC, LAST for DESC)
};

enum class FrameUnit : unsigned char { kRows, kRange };
enum class FrameBoundKind : unsigned char {
  kUnboundedPreceding,
  kPreceding,
  kCurrentRow,
  kFollowing,
  kUnboundedFollowing
};
struct FrameBound {
  FrameBoundKind kind = FrameBoundKind::kUnboundedPreceding;
  int64_t offset = 0;
};
struct WindowFrame {
  FrameUnit unit = FrameUnit::kRange;
  FrameBound start;
  FrameBound end{FrameBoundKind::kCurrentRow, 0};
};

struct WindowSpec {
  std::vector<ExprPtr> partition_by;
  std::vector<OrderItem> order_by;
  std::optional<WindowFrame> frame;
  SourcePos pos;
};

// JSON_VALUE / JSON_QUERY behaviours (Flink's): NULL, ERROR, DEFAULT expr, and for
// JSON_QUERY the wrapper and EMPTY ARRAY / EMPTY OBJECT.
enum class JsonBehavior : unsigned char { kNull, kError, kDefault, kEmptyArray, kEmptyObject, kTrue, kFalse, kUnknown };
enum class JsonWrapper : unsigned char { kWithout, kConditional, kUnconditional };

struct ParsedExpr {
  ExprKind kind = ExprKind::kLiteral;
  SourcePos pos;
  std::string op;                      // operator / function name / unit / trim mode; kCast: a PostgreSQL
                                       // conversion such as "regclass" (postgres_types.h)
  std::string name;                    // column name, field name, second unit
  std::vector<std::string> qualifier;  // kColumn, kStar: table or db.table
  format::Datum value;                 // kLiteral
  format::DataType type;               // kLiteral, kCast, RETURNING type
  bool has_type = false;               // RETURNING given
  std::vector<ExprPtr> args;
  QueryPtr subquery;
  bool negated = false;
  bool distinct = false;
  bool star = false;  // COUNT(*)
  bool try_cast = false;
  bool has_operand = false;  // CASE x WHEN ...
  bool has_else = false;
  int param_index = 0;
  std::shared_ptr<WindowSpec> over;
  std::string over_name;  // OVER w (named window)
  ExprPtr filter;         // agg(...) FILTER (WHERE ...)
  // JSON functions
  JsonBehavior on_empty = JsonBehavior::kNull, on_error = JsonBehavior::kNull;
  ExprPtr on_empty_default, on_error_default;
  JsonWrapper wrapper = JsonWrapper::kWithout;
  bool json_lax = false;
  // Interval: months or milliseconds
  bool interval_months = false;
  // The order an aggregate sees its rows in: string_agg(x, ',' ORDER BY y), or
  // percentile_cont(0.5) WITHIN GROUP (ORDER BY x) (then `within_group_clause`).
  std::vector<OrderItem> within_group;
  bool within_group_clause = false;

  std::string ToString() const;  // SQL text, for column names and EXPLAIN
};

// FROM items.
enum class TableRefKind : unsigned char { kBase, kSubquery, kJoin, kUnnest, kValues, kTableFunction };
enum class JoinType : unsigned char { kInner, kLeft, kRight, kFull, kCross, kSemi, kAnti };

struct ParsedTableRef;
using TableRefPtr = std::shared_ptr<ParsedTableRef>;

struct ParsedTableRef {
  TableRefKind kind = TableRefKind::kBase;
  SourcePos pos;
  QualifiedName name;                        // kBase
  std::map<std::string, std::string> hints;  // /*+ OPTIONS('k'='v') */
  ExprPtr as_of;                             // FOR SYSTEM_TIME AS OF <expr>
  QueryPtr subquery;                         // kSubquery
  std::string alias;
  std::vector<std::string> column_aliases;
  // kJoin
  JoinType join = JoinType::kInner;
  TableRefPtr left, right;
  ExprPtr condition;
  std::vector<std::string> using_columns;
  bool natural = false;
  bool lateral = false;
  // kUnnest: args; kValues: rows; kTableFunction: name(args) (PostgreSQL) or
  // TABLE(function(TABLE t, args...)) (Flink: `function` and `tables` set)
  std::vector<ExprPtr> args;
  std::string function;               // kTableFunction: its name, upper-cased
  std::vector<QualifiedName> tables;  // kTableFunction: its TABLE arguments
  bool with_ordinality = false;
  std::vector<std::vector<ExprPtr>> rows;
};

struct SelectItem {
  ExprPtr expr;
  std::string alias;
  SourcePos pos;
};

// One SELECT ... FROM ... WHERE ... GROUP BY ... HAVING.
struct SelectCore {
  SourcePos pos;
  bool distinct = false;
  std::vector<SelectItem> items;
  TableRefPtr from;  // null: SELECT without FROM (one row)
  ExprPtr where;
  std::vector<ExprPtr> group_by;
  ExprPtr having;
  std::map<std::string, std::shared_ptr<WindowSpec>> windows;  // WINDOW w AS (...)
  ExprPtr qualify;
  // PostgreSQL's DISTINCT ON (exprs): the first row per value of exprs, kept as
  // QUALIFY ROW_NUMBER() OVER (PARTITION BY exprs ORDER BY <the query's ORDER BY>) = 1;
  // this is that window, whose order the enclosing query fills in.
  std::shared_ptr<WindowSpec> distinct_on;
};

enum class SetOpKind : unsigned char { kNone, kUnion, kIntersect, kExcept };

// The body of a query: a SELECT, VALUES, a parenthesised query, or a set operation.
struct QueryBody {
  SetOpKind op = SetOpKind::kNone;
  bool all = false;
  std::shared_ptr<SelectCore> select;      // op == kNone, no nested query
  QueryPtr nested;                         // op == kNone: a parenthesised query / VALUES
  std::shared_ptr<QueryBody> left, right;  // set operations
  SourcePos pos;
};

struct CommonTableExpr {
  std::string name;
  std::vector<std::string> columns;
  QueryPtr query;
  SourcePos pos;
};

struct Query {
  SourcePos pos;
  std::vector<CommonTableExpr> ctes;
  std::shared_ptr<QueryBody> body;
  std::vector<OrderItem> order_by;
  ExprPtr limit;  // null: none
  ExprPtr offset;
  // VALUES (...), (...) as a query
  std::vector<std::vector<ExprPtr>> values;
};

// ---- statements ----

enum class StatementKind : unsigned char {
  kQuery,
  kExplain,
  kInsert,
  kCreateCatalog,
  kUseCatalog,
  kShowCatalogs,
  kShowCurrentCatalog,
  kShowCurrentDatabase,
  kCreateDatabase,
  kDropDatabase,
  kUseDatabase,
  kShowDatabases,
  kShowTables,
  kShowViews,
  kShowCreateTable,
  kShowFunctions,
  kDescribe,
  kCreateTable,
  kCreateTableLike,
  kDropTable,
  kAlterTableSet,
  kAlterTableReset,
  kAlterTableAddColumns,
  kAlterTableRename,
  kCreateView,
  kDropView,
  kSet,
  kReset,
  kIgnoredSessionLine,  // MaxCompute SET odps.x=y (ignored with a warning)
  kShowJobs,
  // Streaming jobs (docs/sql.md, "Streaming"):
  kStatementSet,       // EXECUTE STATEMENT SET BEGIN INSERT ...; ... END (statements)
  kBeginStatementSet,  // BEGIN STATEMENT SET (SQL client form; INSERTs follow, then END)
  kEndStatementSet,    // END
  kStopJob,            // STOP JOB 'name' (value)
  kCall,               // CALL sys.procedure(args) (name, call_args)
};

struct ColumnDef {
  std::string name;
  format::DataType type;
  bool primary_key = false;  // inline PRIMARY KEY NOT ENFORCED
  std::string comment;
  SourcePos pos;
  // Connector tables: `name AS expr` (computed) and `name type METADATA [FROM 'key'] [VIRTUAL]`.
  ExprPtr computed;
  std::string computed_text;
  bool metadata = false;
  std::string metadata_key;  // empty: the column's name
  bool is_virtual = false;
};

// One column of INSERT ... PARTITION (col = value, ...): the value as written (a string
// literal's text, or a number, TRUE/FALSE), cast to the column's type when the INSERT runs.
struct StaticPartitionValue {
  std::string column;
  std::string value;
  SourcePos pos;
};

struct Statement {
  StatementKind kind;
  SourcePos pos;
  std::string text;  // the statement's own text

  // kQuery, kExplain, kInsert, kCreateView
  QueryPtr query;
  std::string query_text;  // CREATE VIEW / CREATE TABLE AS: the query as written
  // names: table / view / catalog / database
  QualifiedName name;
  QualifiedName like_name;  // CREATE TABLE ... LIKE
  bool if_not_exists = false;
  bool if_exists = false;
  bool temporary = false;
  bool extended = false;   // DESCRIBE EXTENDED, EXPLAIN ...
  bool overwrite = false;  // INSERT OVERWRITE
  // kCreateTable, kAlterTableAddColumns
  std::vector<ColumnDef> columns;
  std::vector<std::string> primary_key;
  std::vector<std::string> partition_keys;
  std::string comment;
  std::map<std::string, std::string> options;  // WITH (...) / SET (...) / hints of INSERT target
  std::vector<std::string> reset_keys;         // ALTER TABLE RESET / RESET 'k'
  std::vector<std::string> insert_columns;
  std::vector<StaticPartitionValue> static_partition;  // INSERT ... PARTITION (...)
  std::string key, value;                              // SET 'k' = 'v'
  std::string like_pattern;                            // SHOW TABLES LIKE '...'
  std::vector<std::string> view_columns;
  std::vector<std::shared_ptr<Statement>> statements;  // EXECUTE STATEMENT SET's INSERTs; EXPLAIN's statement
  // kCall: the arguments in order, each with its name when given as `name => value`.
  std::vector<std::pair<std::string, ExprPtr>> call_args;
};

using StatementPtr = std::shared_ptr<Statement>;

// Quotes an identifier with backticks (doubling backticks inside).
std::string QuoteIdentifier(const std::string& name);

}  // namespace kl::sql
