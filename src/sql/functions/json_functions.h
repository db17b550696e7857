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

struct JsonPath;  // a compiled path (json_functions.cc)

// A bound JSON call (BoundFunction::json): what it computes, so that several
// calls over one document can share a single parse.
struct JsonCall {
  std::shared_ptr<const JsonPath> path;
  JsonCallOptions options;
  std::string name;
  // The options that differ from the defaults, as SQL (" RETURNING BIGINT DEFAULT
  // 'x' ON ERROR"): part of the call's text, so that calls differing only there
  // are told apart wherever expressions are matched by their text.
  std::string options_text;
  // Set by a streaming Calc for F(JSON_QUERY(doc, path WITH ARRAY WRAPPER)) with default ON EMPTY
  // and ON ERROR, where F is a sum over the strings of a JSON array (BoundFunction::json_string_term):
  // the call's value is then F's, a BIGINT, the sum of this term over the string elements the path
  // selects (0 for none, a NULL document or bad JSON) — what F gives on the wrapped array's text.
  int64_t (*sum_of_strings)(std::string_view) = nullptr;
};

// A fixed set of JSON calls evaluated over documents with one parse per
// document (the parser's buffers are kept from one document to the next), and
// paths that begin alike ($.obj.metadata.name, $.obj.metadata.labels['k'])
// walking their common steps once.
class JsonCallSet {
 public:
  explicit JsonCallSet(std::vector<const JsonCall*> calls);
  ~JsonCallSet();
  // Appends one value per document (nullptr: NULL) to each of `outs` (one per
  // call, of the call's return type).
  Status Evaluate(ExecContext& ctx, const std::vector<const std::string*>& docs, std::vector<Column>* outs);
  // The same for rows [begin, end) of a column of documents.
  Status Evaluate(ExecContext& ctx, const Column& docs, size_t begin, size_t end, std::vector<Column>* outs);
  // The same for `n` documents given as views (none NULL), each readable `padding` bytes
  // past its end: parsed where it lies when that is enough for the parser (64 bytes), else
  // from the parser's own copy.
  Status Evaluate(ExecContext& ctx, const std::string_view* docs, size_t n, size_t padding, std::vector<Column>* outs);

 private:
  // One document (nullptr: NULL); `padded`: readable past its end as the parser needs.
  Status EvaluateDoc(ExecContext& ctx, const char* doc, size_t size, bool padded, std::vector<Column>* outs);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kl::sql
