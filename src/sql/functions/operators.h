// Operators the binder calls directly: comparisons, arithmetic (integers wrap
// as in Java, DECIMAL overflow gives NULL, division by zero is an error), date
// arithmetic with intervals, string concatenation and LIKE.
#pragma once

#include <string>

#include "sql/functions/function.h"

namespace kl::sql {

// `type`: the common type both arguments were cast to. op: = <> < <= > >=
Result<BoundFunction> BindComparison(const std::string& op, const DataType& type);
// a op b with both arguments cast to `operand` types given; `result` from ArithmeticType.
Result<BoundFunction> BindArithmetic(const std::string& op, const DataType& a, const DataType& b,
                                     const DataType& result);
BoundFunction BindNegate(const DataType& type);
// timestamp/date +/- interval (milliseconds or months)
BoundFunction BindIntervalAdd(const DataType& temporal, bool months, bool subtract);
// PostgreSQL's interval operators (functions/datetime/interval_functions.cc): comparisons by
// length, interval +/- interval, -interval, interval * / number, timestamp - timestamp,
// timestamp +/- interval (`t`: TIMESTAMP or TIMESTAMP_LTZ, which the arguments are cast to).
Result<BoundFunction> BindIntervalComparison(const std::string& op);
BoundFunction BindIntervalAddInterval(bool subtract);
BoundFunction BindIntervalNegate();
BoundFunction BindIntervalScale(bool divide, bool interval_first);
BoundFunction BindTimestampDifference(const DataType& t);
BoundFunction BindTimestampAddInterval(const DataType& t, bool subtract);
// time ± interval (PostgreSQL): the interval's months and days are ignored, its time added
// modulo 24 hours.
BoundFunction BindTimeAddInterval(const DataType& time, bool subtract);
BoundFunction BindConcat(size_t args);
// value LIKE pattern [ESCAPE e]; `pattern` constant when known (compiled once).
Result<BoundFunction> BindLike(const CallSite& site, bool case_insensitive, bool similar);

// Compiled LIKE patterns ('%' any run, '_' one character, escape char).
class LikeMatcher {
 public:
  static Result<LikeMatcher> Compile(std::string_view pattern, int escape, bool case_insensitive);
  bool Matches(std::string_view s) const;

 private:
  struct Piece {
    enum Kind : unsigned char { kLiteral, kAnyOne, kAnyRun } kind;
    std::string text;
  };
  std::vector<Piece> pieces_;
  bool case_insensitive_ = false;
  // Fast forms: prefix%, %suffix, %infix%, exact.
  enum class Shape : unsigned char { kGeneral, kExact, kPrefix, kSuffix, kContains } shape_ = Shape::kGeneral;
  std::string fixed_;
};

}  // namespace kl::sql
