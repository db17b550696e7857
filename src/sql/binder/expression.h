// Bound expressions: resolved, typed expression trees. Column references are
// positions in the input of the operator that evaluates them; functions carry
// their kernels. Built by the binder, rewritten by the optimiser, evaluated a
// batch at a time by execution/expression_eval.h.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "format/datum.h"
#include "format/types.h"
#include "sql/functions/function.h"
#include "sql/parser/lexer.h"

namespace kl::sql {

struct LogicalOp;

enum class BoundKind : unsigned char {
  kColumn,   // input column `column`
  kLiteral,  // `value`
  kCall,     // scalar function `function` over args
  kCast,     // args[0] cast to `type` (try_cast: NULL on failure)
  kCase,     // args: when, then, ..., else (else always present, NULL if not written)
  kAnd,      // n-ary, three-valued
  kOr,
  kNot,
  kIsNull,        // args[0] IS NULL
  kInList,        // args[0] IN (args[1..]) ; or against `value_set` once a subquery ran
  kSubquery,      // uncorrelated subquery, replaced by a literal or value set before execution
  kDistinctFrom,  // args[0] IS DISTINCT FROM args[1] (NULL-safe inequality)
  kOuterRef,      // inside a correlated subquery: value `column` of the outer row (correlation `correlation_id`)
};

// kArray: ARRAY(subquery), the first column's values as an array.
enum class SubqueryKind : unsigned char { kScalar, kExists, kIn, kArray };

struct CorrelatedCache;

// Values of an IN (subquery), keyed by their text encoding (see EncodeKey).
struct ValueSet {
  std::unordered_set<std::string> values;
  bool has_null = false;
};

struct BoundExpr;
using BoundExprPtr = std::shared_ptr<BoundExpr>;

struct BoundExpr {
  BoundKind kind = BoundKind::kLiteral;
  DataType type;
  SourcePos pos;
  std::string name;  // column name, function name, or what a cast converts (for errors)
  int column = -1;
  Datum value;
  std::vector<BoundExprPtr> args;
  BoundFunction function;  // kCall
  bool try_cast = false;
  bool negated = false;  // kInList: NOT IN
  // kCase written for COALESCE / IFNULL / NVL: each WHEN tests its THEN's value for NULL, so
  // the value is evaluated once for both (twice, a value that differs each time could be NULL).
  bool coalesce = false;
  std::shared_ptr<ValueSet> value_set;
  // kSubquery
  SubqueryKind subquery_kind = SubqueryKind::kScalar;
  std::shared_ptr<LogicalOp> subquery;
  // Correlated subqueries (and kOuterRef): which outer row's values they read. A correlated
  // kSubquery's args (after the tested value of kIn) are the outer expressions it reads, and it
  // runs once per distinct set of their values (cached in `correlated_cache`).
  int correlation_id = -1;
  std::shared_ptr<CorrelatedCache> correlated_cache;
  // kLiteral: the value of parameter $n (n >= 1), or a NULL of its type while its value is
  // unknown (describing a statement).
  int param = 0;

  bool IsConstant() const;       // no column reference, deterministic, no subquery
  std::string ToString() const;  // a parameter's literal reads `$n`
};

BoundExprPtr MakeColumn(int index, DataType type, std::string name = "");
BoundExprPtr MakeLiteral(Datum value, DataType type);
BoundExprPtr MakeAnd(std::vector<BoundExprPtr> terms);

// Calls f on the expression and every sub-expression (not into subqueries).
void VisitExpr(const BoundExpr& e, const std::function<void(const BoundExpr&)>& f);
// The input columns the expression reads.
void CollectColumns(const BoundExpr& e, std::vector<int>* out);
// A copy with every column index i replaced by mapping[i] (-1 entries must not occur).
BoundExprPtr RemapColumns(const BoundExprPtr& e, const std::vector<int>& mapping);
// Splits a conjunction into its terms.
void SplitConjunction(const BoundExprPtr& e, std::vector<BoundExprPtr>* out);

// An order-preserving byte encoding of a value, for hashing and set membership
// (values of the same type encode equal iff they are equal).
void EncodeKey(const Column& c, size_t row, std::string* out);
void EncodeDatumKey(const Datum& d, const DataType& type, std::string* out);

}  // namespace kl::sql
