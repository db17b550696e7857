// SQL typing rules (Flink's): which types mix, what arithmetic returns, which
// implicit casts the binder may insert.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "format/types.h"

namespace kl::sql {

using format::DataType;
using format::TypeRoot;

bool IsNumeric(const DataType& t);
bool IsIntegral(const DataType& t);     // TINYINT..BIGINT
bool IsApproximate(const DataType& t);  // FLOAT, DOUBLE
bool IsStringType(const DataType& t);
bool IsTemporal(const DataType& t);  // DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ
bool IsTimestamp(const DataType& t);
int IntegerDigits(const DataType& t);  // decimal digits an integral type needs

// The type both sides become for comparison, CASE, COALESCE, UNION; error when none.
Result<DataType> CommonType(const DataType& a, const DataType& b);
// Result of a + b, a - b, a * b, a / b, a % b on numbers (Flink's rules, DECIMAL included).
Result<DataType> ArithmeticType(const std::string& op, const DataType& a, const DataType& b);
// Flink's DECIMAL precision/scale adjustment when precision passes 38.
DataType AdjustDecimal(int precision, int scale, bool nullable);
// A DECIMAL that holds every value of an integral or decimal type.
DataType ToDecimal(const DataType& t);
// Whether the binder may cast `from` to `to` without the user writing CAST.
bool ImplicitlyCastable(const DataType& from, const DataType& to);
// The type's name as Flink prints it ("INT", "VARCHAR(10)", "STRING").
std::string TypeName(const DataType& t);
DataType WithNullable(const DataType& t, bool nullable);

// `v` narrowed to the integral type `root` the way Java narrows (two's-complement
// wrap-around): integer arithmetic, SUM and casts overflow like Flink's. BIGINT and
// non-integral roots keep `v`. Inline: it runs once a value in vectorised loops.
inline int64_t WrapToIntegral(int64_t v, TypeRoot root) {
  switch (root) {
    case TypeRoot::kTinyInt: return static_cast<int8_t>(v);
    case TypeRoot::kSmallInt: return static_cast<int16_t>(v);
    case TypeRoot::kInt: return static_cast<int32_t>(v);
    default: return v;
  }
}

}  // namespace kl::sql
