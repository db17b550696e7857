// Row filters for table reads: a conjunction of comparisons between a column
// and a literal ("f3 > 15.0 AND k = 0"). TableRead applies a filter exactly
// to the rows it returns (after merging, for primary-key tables) and pushes
// it into data files where that is safe, so Parquet row groups and pages whose
// statistics exclude every match are never decoded.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "format/column.h"
#include "format/datum.h"
#include "format/types.h"

namespace kl::table {

// kIn: the column equals one of a list of values (`literals`).
enum class CompareOp : unsigned char { kEq, kNe, kLt, kLe, kGt, kGe, kIsNull, kIsNotNull, kIn };

std::string_view CompareOpText(CompareOp op);

struct PredicateLeaf {
  std::string field;       // column name in the table's schema
  CompareOp op = CompareOp::kEq;
  format::Datum literal;   // of the column's type; unused for IS [NOT] NULL and IN
  std::vector<format::Datum> literals;  // IN: the values, non-null, sorted and distinct (InLeaf)
};

// `field` IN (values): drops nulls and duplicates and sorts the rest.
PredicateLeaf InLeaf(std::string field, std::vector<format::Datum> values);

// Min/max and null statistics of a column over some rows (a row group, a page).
struct ValueRange {
  bool has_min_max = false;
  format::Datum min, max;
  bool has_null_count = false;
  int64_t null_count = 0;
  int64_t num_values = 0;
};

class Predicate {
 public:
  Predicate() = default;
  explicit Predicate(std::vector<PredicateLeaf> leaves) : leaves_(std::move(leaves)) {}

  Predicate& And(PredicateLeaf leaf) {
    leaves_.push_back(std::move(leaf));
    return *this;
  }
  bool empty() const { return leaves_.empty(); }
  const std::vector<PredicateLeaf>& leaves() const { return leaves_; }
  std::string ToString() const;

  // Parses "a > 1 AND b = 'x' AND c IS NULL" against `type` (literals take the
  // column's type: numbers, quoted strings, timestamps, decimals, true/false).
  static Result<Predicate> Parse(std::string_view text, const format::RowType& type);
  // Checks that every leaf names a column of `type` with a literal it can compare.
  Status Validate(const format::RowType& type) const;

 private:
  std::vector<PredicateLeaf> leaves_;
};

// SQL semantics: a comparison with a null value is not true, so the row does not pass.
bool LeafMatches(const PredicateLeaf& leaf, const format::Column& column, size_t row);
// May any of the rows described by `range` satisfy the leaf? Unknown (nullptr) means yes.
bool LeafMayMatch(const PredicateLeaf& leaf, const ValueRange* range);

}  // namespace kl::table
