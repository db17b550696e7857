// JSON_VALUE, JSON_QUERY and JSON_EXISTS with Flink's semantics over SQL/JSON
// paths ($.a.b[0], $['k'], [*], .*; lax by default, `strict $...` on request).
// Defaults: a missing path or an error (bad JSON, an object or array where a
// scalar is wanted, a value that does not cast) gives NULL (FALSE for
// JSON_EXISTS); ON EMPTY / ON ERROR choose NULL, ERROR or DEFAULT <value>.
#pragma once

#include "sql/functions/function.h"

namespace kl::sql {

enum class JsonFunctionKind : unsigned char { kValue, kQuery, kExists };
enum class JsonOnBehavior : unsigned char {
  kNull,
  kError,
  kDefault,
  kEmptyArray,
  kEmptyObject,
  kTrue,
  kFalse,
  kUnknown
};
enum class JsonWrapperKind : unsigned char { kWithout, kConditional, kUnconditional };

struct JsonCallOptions {
  JsonFunctionKind kind = JsonFunctionKind::kValue;
  DataType returning = DataType::String();
  JsonOnBehavior on_empty = JsonOnBehavior::kNull;
  JsonOnBehavior on_error = JsonOnBehavior::kNull;
  JsonWrapperKind wrapper = JsonWrapperKind::kWithout;
  // DEFAULT values (already of the returning type) when constant.
  Datum empty_default, error_default;
};

// Binds a call whose arguments are (document, path); the path must be a constant.
Result<BoundFunction> BindJsonFunction(const CallSite& site, const JsonCallOptions& options);

}  // namespace kl::sql
