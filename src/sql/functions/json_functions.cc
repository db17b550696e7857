#include "sql/functions/json_functions.h"

#include <simdjson.h>

#include <cctype>
#include <cstring>
#include <limits>

#include "common/json.h"
#include "common/string_util.h"
#include "sql/binder/types.h"
#include "sql/functions/cast.h"
#include "sql/functions/helpers.h"
#include "sql/functions/json_text.h"
#include "sql/functions/postgres_text.h"

namespace kl::sql {

struct JsonPathStep {
  enum Kind : unsigned char { kKey, kAnyKey, kIndex, kAnyIndex, kLast } kind;
  std::string key;
  int64_t index = 0;
};

struct JsonPath {
  bool strict = false;
  std::vector<JsonPathStep> steps;
  bool simple = false;  // keys and indexes only: at most one element is selected
  // Lax paths: how many steps from the start are keys and indexes (all of them when simple).
  size_t simple_steps = 0;
};

namespace {

using PathStep = JsonPathStep;

Result<JsonPath> CompilePath(std::string_view text) {
  JsonPath p;
  std::string_view s = Trim(text);
  if (s.size() >= 4 && EqualsIgnoreCase(s.substr(0, 4), "lax ")) {
    s = Trim(s.substr(4));
  } else if (s.size() >= 7 && EqualsIgnoreCase(s.substr(0, 7), "strict ")) {
    p.strict = true;
    s = Trim(s.substr(7));
  }
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("bad JSON path '" + std::string(text) + "': " + why);
  };
  if (s.empty() || s[0] != '$') return bad("it must start with $");
  size_t i = 1;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
      if (i < s.size() && s[i] == '*') {
        p.steps.push_back({PathStep::kAnyKey, "", 0});
        ++i;
        continue;
      }
      if (i < s.size() && s[i] == '"') {
        size_t end = s.find('"', i + 1);
        if (end == std::string_view::npos) return bad("unterminated quoted key");
        p.steps.push_back({PathStep::kKey, std::string(s.substr(i + 1, end - i - 1)), 0});
        i = end + 1;
        continue;
      }
      size_t start = i;
      while (i < s.size() && s[i] != '.' && s[i] != '[') ++i;
      if (i == start) return bad("a key is missing after '.'");
      p.steps.push_back({PathStep::kKey, std::string(Trim(s.substr(start, i - start))), 0});
    } else if (s[i] == '[') {
      size_t end = s.find(']', i);
      if (end == std::string_view::npos) return bad("unterminated [");
      std::string_view inside = Trim(s.substr(i + 1, end - i - 1));
      if (inside == "*") {
        p.steps.push_back({PathStep::kAnyIndex, "", 0});
      } else if (!inside.empty() && (inside[0] == '\'' || inside[0] == '"')) {
        if (inside.size() < 2 || inside.back() != inside[0]) return bad("unterminated quoted key");
        p.steps.push_back({PathStep::kKey, std::string(inside.substr(1, inside.size() - 2)), 0});
      } else if (EqualsIgnoreCase(inside, "last")) {
        p.steps.push_back({PathStep::kLast, "", 0});
      } else {
        auto n = ParseInt64(inside);
        if (!n || *n < 0) return bad("array index '" + std::string(inside) + "' is not a non-negative number");
        p.steps.push_back({PathStep::kIndex, "", *n});
      }
      i = end + 1;
    } else if (std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
    } else {
      return bad("unexpected '" + std::string(1, s[i]) + "'");
    }
  }
  p.simple = !p.strict;  // strict paths raise errors the simple walk does not
  for (const auto& st : p.steps) {
    p.simple = p.simple && (st.kind == PathStep::kKey || st.kind == PathStep::kIndex);
    if (p.simple) ++p.simple_steps;
  }
  return p;
}

using Element = simdjson::dom::element;

// Appends what steps [s, end) of the path select from `e`, depth first: the order in which
// applying the steps one at a time to all elements selected so far lists them, without the
// lists between. False on a strict-mode structural error.
bool ApplyFrom(const JsonPath& path, size_t s, Element e, std::vector<Element>* out) {
  if (s == path.steps.size()) {
    out->push_back(e);
    return true;
  }
  const JsonPathStep& step = path.steps[s];
  auto type = e.type();
  // Lax mode: a key step on an array applies to each element.
  if (!path.strict && type == simdjson::dom::element_type::ARRAY &&
      (step.kind == PathStep::kKey || step.kind == PathStep::kAnyKey)) {
    simdjson::dom::array items = e.get_array().value_unsafe();
    for (Element item : items) {
      if (item.type() != simdjson::dom::element_type::OBJECT) continue;
      simdjson::dom::object obj = item.get_object().value_unsafe();
      if (step.kind == PathStep::kAnyKey) {
        for (auto field : obj) ApplyFrom(path, s + 1, field.value, out);  // lax: never fails
      } else {
        Element v;
        if (obj.at_key(step.key).get(v) == simdjson::SUCCESS) ApplyFrom(path, s + 1, v, out);
      }
    }
    return true;
  }
  switch (step.kind) {
    case PathStep::kKey: {
      if (type != simdjson::dom::element_type::OBJECT) return !path.strict;
      Element v;
      simdjson::dom::object obj = e.get_object().value_unsafe();
      if (obj.at_key(step.key).get(v) == simdjson::SUCCESS) return ApplyFrom(path, s + 1, v, out);
      return !path.strict;
    }
    case PathStep::kAnyKey: {
      if (type != simdjson::dom::element_type::OBJECT) return !path.strict;
      simdjson::dom::object obj = e.get_object().value_unsafe();
      for (auto field : obj) {
        if (!ApplyFrom(path, s + 1, field.value, out)) return false;
      }
      return true;
    }
    case PathStep::kIndex:
    case PathStep::kLast:
    case PathStep::kAnyIndex: {
      if (type != simdjson::dom::element_type::ARRAY) {
        // Lax: a non-array is treated as an array of one.
        if (path.strict) return false;
        if (step.kind == PathStep::kAnyIndex || (step.kind == PathStep::kIndex && step.index == 0) ||
            step.kind == PathStep::kLast) {
          ApplyFrom(path, s + 1, e, out);
        }
        return true;
      }
      simdjson::dom::array arr = e.get_array().value_unsafe();
      if (step.kind == PathStep::kAnyIndex) {
        for (Element item : arr) {
          if (!ApplyFrom(path, s + 1, item, out)) return false;
        }
        return true;
      }
      size_t n = arr.size();
      size_t idx = step.kind == PathStep::kLast ? (n == 0 ? SIZE_MAX : n - 1) : static_cast<size_t>(step.index);
      if (idx < n) return ApplyFrom(path, s + 1, arr.at(idx).value_unsafe(), out);
      return !path.strict;
    }
  }
  return true;
}

// Sets `out` to what the path's steps from `from_step` on select from `root` (the element
// the steps before it selected); false on a strict-mode structural error.
bool Apply(const JsonPath& path, Element root, std::vector<Element>* out, size_t from_step = 0) {
  out->clear();
  return ApplyFrom(path, from_step, root, out);
}

bool IsScalar(Element e) {
  auto t = e.type();
  return t != simdjson::dom::element_type::ARRAY && t != simdjson::dom::element_type::OBJECT;
}

// Text of a scalar as JSON_VALUE returns it; nullopt for JSON null.
std::optional<std::string> ScalarText(Element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: return std::string(e.get_string().value_unsafe());
    case simdjson::dom::element_type::BOOL: return e.get_bool().value_unsafe() ? "true" : "false";
    case simdjson::dom::element_type::NULL_VALUE: return std::nullopt;
    case simdjson::dom::element_type::INT64: return std::to_string(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64: return std::to_string(e.get_uint64().value_unsafe());
    case simdjson::dom::element_type::DOUBLE: return JavaDoubleText(e.get_double().value_unsafe());
    default: return simdjson::minify(e);
  }
}

// How a walk of a path of keys and indexes ended.
enum class WalkEnd : unsigned char {
  kSelected,  // the step (or walk) reached an element
  kNothing,   // a step found nothing (lax: no value)
  kGeneral,   // a key step met an array: only the general walk (Apply) handles that
};

// One key or index step of a lax path from `e`.
WalkEnd Step(const PathStep& step, Element e, Element* next) {
  auto type = e.type();
  if (step.kind == PathStep::kKey) {
    if (type == simdjson::dom::element_type::ARRAY) return WalkEnd::kGeneral;
    if (type != simdjson::dom::element_type::OBJECT) return WalkEnd::kNothing;
    if (e.get_object().value_unsafe().at_key(step.key).get(*next) != simdjson::SUCCESS) return WalkEnd::kNothing;
    return WalkEnd::kSelected;
  }
  if (type != simdjson::dom::element_type::ARRAY) {
    if (step.index != 0) return WalkEnd::kNothing;  // lax: a non-array is an array of one
    *next = e;
    return WalkEnd::kSelected;
  }
  if (step.index < 0 ||
      e.get_array().value_unsafe().at(static_cast<size_t>(step.index)).get(*next) != simdjson::SUCCESS) {
    return WalkEnd::kNothing;
  }
  return WalkEnd::kSelected;
}

// Walks steps [0, end) of a lax path, keys and indexes, from `*e` (then the element reached).
WalkEnd WalkSimple(const JsonPath& path, size_t end, Element* e) {
  for (size_t d = 0; d < end; ++d) {
    Element next;
    WalkEnd r = Step(path.steps[d], *e, &next);
    if (r != WalkEnd::kSelected) return r;
    *e = next;
  }
  return WalkEnd::kSelected;
}

// The largest JSON_QUERY text buffer a thread keeps from one value to the next.
constexpr size_t kMaxKeptQueryText = size_t{1} << 20;

void AppendText(Column* out, std::string_view text) {
  if (out->kind() == format::PhysicalKind::kBytes) {
    out->AppendBytes(text);
  } else {
    out->Append(Datum::Bytes(std::string(text)));
  }
}

// Appends one JSON call's value to `out` (of the call's return type): `found` is
// what the path selected; `parsed` false: the text was not JSON; `strict_failed`:
// a strict path did not match.
Status AppendJsonResult(ExecContext& ctx, const JsonCall& call, bool parsed, bool strict_failed,
                        const std::vector<Element>& found, Column* out) {
  const JsonCallOptions& o = call.options;
  bool error = false, empty = false;
  std::string why;
  Datum result;
  if (!parsed) {
    error = true;
    why = "the document is not valid JSON";
  } else if (strict_failed) {
    error = true;
    why = "the strict path does not match the document";
  } else if (found.empty()) {
    empty = true;
  } else {
    switch (o.kind) {
      case JsonFunctionKind::kExists: result = Datum::Bool(true); break;
      case JsonFunctionKind::kValue: {
        if (found.size() > 1 || !IsScalar(found[0])) {
          error = true;
          why = "the path selects an object or array, not a scalar";
          break;
        }
        Element v = found[0];
        auto type = v.type();
        if (type == simdjson::dom::element_type::NULL_VALUE) {
          out->AppendNull();  // JSON null -> SQL NULL
          return Status::OK();
        }
        // The common cases straight into the column, without a text or Datum between.
        if (IsStringType(o.returning) && out->kind() == format::PhysicalKind::kBytes &&
            o.returning.root() != TypeRoot::kChar) {
          if (type == simdjson::dom::element_type::STRING) {
            out->AppendBytes(v.get_string().value_unsafe());
            return Status::OK();
          }
          if (type == simdjson::dom::element_type::BOOL) {
            out->AppendBytes(v.get_bool().value_unsafe() ? "true" : "false");
            return Status::OK();
          }
        }
        if (o.returning.root() == TypeRoot::kBigInt && type == simdjson::dom::element_type::INT64) {
          out->AppendInt(v.get_int64().value_unsafe());  // what the cast of its text gives
          return Status::OK();
        }
        if (o.returning.root() == TypeRoot::kBoolean && type == simdjson::dom::element_type::BOOL) {
          out->Append(Datum::Bool(v.get_bool().value_unsafe()));
          return Status::OK();
        }
        auto t = ScalarText(v);
        if (IsStringType(o.returning)) {
          result = Datum::Bytes(std::move(*t));
        } else {
          auto cast = CastValue(ctx, Datum::Bytes(std::move(*t)), DataType::String(), o.returning);
          if (!cast.ok()) {
            error = true;
            why = cast.status().message();
          } else {
            result = std::move(*cast);
          }
        }
        break;
      }
      case JsonFunctionKind::kQuery: {
        bool wrap = o.wrapper == JsonWrapperKind::kUnconditional ||
                    (o.wrapper == JsonWrapperKind::kConditional && (found.size() > 1 || IsScalar(found[0])));
        if (!wrap && (found.size() > 1 || IsScalar(found[0]))) {
          error = true;
          why = "the path selects a scalar or several values (use WITH ARRAY WRAPPER)";
          break;
        }
        // One buffer per thread, kept: the text is built without an allocation of its own.
        // One grown past kMaxKeptQueryText by a large value is released after it, so that
        // such a value does not stay held by every worker thread that once met one.
        thread_local std::string text;
        text.clear();
        if (wrap) {
          text.push_back('[');
          for (size_t k = 0; k < found.size(); ++k) {
            if (k > 0) text.push_back(',');
            AppendMinifiedJson(found[k], &text);
          }
          text.push_back(']');
        } else {
          AppendMinifiedJson(found[0], &text);
        }
        AppendText(out, text);
        if (text.capacity() > kMaxKeptQueryText) std::string().swap(text);
        return Status::OK();
      }
    }
  }
  if (empty || error) {
    JsonOnBehavior b = empty ? o.on_empty : o.on_error;
    const Datum& def = empty ? o.empty_default : o.error_default;
    if (o.kind == JsonFunctionKind::kExists && empty) {
      result = Datum::Bool(false);
    } else {
      switch (b) {
        case JsonOnBehavior::kNull:
          result = o.kind == JsonFunctionKind::kExists && !error ? Datum::Bool(false) : Datum();
          break;
        case JsonOnBehavior::kError:
          return Status::InvalidArgument(call.name + ": " +
                                         (empty ? std::string("no value at the path (ON EMPTY ERROR)") : why));
        case JsonOnBehavior::kDefault: result = def; break;
        case JsonOnBehavior::kEmptyArray: result = Datum::Bytes("[]"); break;
        case JsonOnBehavior::kEmptyObject: result = Datum::Bytes("{}"); break;
        case JsonOnBehavior::kTrue: result = Datum::Bool(true); break;
        case JsonOnBehavior::kFalse: result = Datum::Bool(false); break;
        case JsonOnBehavior::kUnknown: result = Datum(); break;
      }
      if (o.kind == JsonFunctionKind::kExists && error && b == JsonOnBehavior::kNull) result = Datum::Bool(false);
    }
  }
  out->Append(result);
  return Status::OK();
}

// A sum call's value (JsonCall::sum_of_strings): what the summing function gives on the text
// JSON_QUERY ... WITH ARRAY WRAPPER would make of `found` — an array of those elements, whose
// strings (unescaped as written, so as parsed back) each add their term; bad JSON or a failed
// strict path: JSON_QUERY's NULL, which sums to 0.
void AppendStringSum(const JsonCall& call, bool parsed, bool strict_failed, const std::vector<Element>& found,
                     Column* out) {
  int64_t sum = 0;
  if (parsed && !strict_failed) {
    for (Element e : found) {
      std::string_view s;
      // Saturating, as the summing function does.
      if (e.get_string().get(s) == simdjson::SUCCESS && __builtin_add_overflow(sum, call.sum_of_strings(s), &sum)) {
        sum = std::numeric_limits<int64_t>::max();
        break;
      }
    }
  }
  out->AppendInt(sum);
}

// One JSON call over a parsed document, walked from its root.
Status EvaluateOne(ExecContext& ctx, const JsonCall& call, bool parsed, Element root, std::vector<Element>* found,
                   Column* out) {
  found->clear();
  bool strict_failed = false;
  if (parsed) {
    WalkEnd end = WalkEnd::kGeneral;
    if (call.path->simple) {
      Element v = root;
      end = WalkSimple(*call.path, call.path->steps.size(), &v);
      if (end == WalkEnd::kSelected) found->push_back(v);
    }
    if (end == WalkEnd::kGeneral) strict_failed = !Apply(*call.path, root, found);
  }
  if (call.sum_of_strings != nullptr) {
    AppendStringSum(call, parsed, strict_failed, *found, out);
    return Status::OK();
  }
  return AppendJsonResult(ctx, call, parsed, strict_failed, *found, out);
}

bool SameStep(const PathStep& a, const PathStep& b) { return a.kind == b.kind && a.key == b.key && a.index == b.index; }

}  // namespace

struct JsonCallSet::Impl {
  std::vector<const JsonCall*> calls;
  // The leading keys and indexes of the lax paths as a tree: node 0 is the
  // document, every other node one step from its parent (parents come first), so
  // steps that paths begin with alike are taken once per document.
  struct Node {
    size_t parent;
    const PathStep* step;
  };
  std::vector<Node> nodes;
  std::vector<size_t> node_of_call;  // where the call's leading steps end (lax calls)
  // JSON_VALUE's common answers, appended without AppendJsonResult: per call, whether
  // the column takes strings as they are, the value is RETURNING BIGINT, and an empty
  // path gives NULL.
  struct Fast {
    bool value = false;  // JSON_VALUE over a simple lax path
    bool text = false, bigint = false, empty_null = false;
  };
  std::vector<Fast> fast;
  simdjson::dom::parser parser;  // its buffers are kept for the next documents
  // Per node, for the current document: how its walk ended and the element reached.
  std::vector<WalkEnd> ends;
  std::vector<Element> elements;
  std::vector<Element> found;
  // Per node with several key steps below it, those children: an object there is scanned once
  // for all of their keys (at_key would scan it once per key).
  std::vector<std::vector<size_t>> key_children;
  // Per such node, its children's keys, compact: a field is told from most of them by its
  // length and first byte, without a call to compare the bytes.
  struct ChildKey {
    uint32_t size;
    char first;
    size_t node;
    const char* data;
  };
  std::vector<std::vector<ChildKey>> child_keys;
  // Per such node, the lengths of its children's keys (bit n: a key of n bytes; bit 63: 63 or
  // more): most fields of an object are told apart from the keys sought by their length alone.
  std::vector<uint64_t> key_lengths;
  std::vector<uint8_t> stepped;  // per node, for the current document: reached by such a scan

  static int LengthBit(size_t n) { return n < 63 ? static_cast<int>(n) : 63; }

  // Takes the key steps below `parent` (an object) in one scan of its fields: each child gets
  // the first field of its key, as at_key finds it, or nothing.
  void StepKeysTogether(size_t parent) {
    const std::vector<size_t>& children = key_children[parent];
    for (size_t c : children) {
      ends[c] = WalkEnd::kNothing;
      stepped[c] = 1;
    }
    size_t left = children.size();
    uint64_t lengths = key_lengths[parent];
    simdjson::dom::object object = elements[parent].get_object().value_unsafe();
    for (auto field : object) {
      std::string_view key = field.key;
      if ((lengths >> LengthBit(key.size()) & 1) == 0) continue;
      for (const ChildKey& k : child_keys[parent]) {
        size_t c = k.node;
        if (k.size == key.size() && ends[c] == WalkEnd::kNothing &&
            (k.size == 0 || (k.first == key[0] && std::memcmp(k.data + 1, key.data() + 1, k.size - 1) == 0))) {
          ends[c] = WalkEnd::kSelected;
          elements[c] = field.value;
          --left;
          break;  // sibling steps differ: no other child has this key
        }
      }
      if (left == 0) break;
    }
  }
};

JsonCallSet::JsonCallSet(std::vector<const JsonCall*> calls) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.calls = std::move(calls);
  m.nodes.push_back({0, nullptr});
  m.node_of_call.assign(m.calls.size(), 0);
  for (size_t k = 0; k < m.calls.size(); ++k) {
    const JsonPath& path = *m.calls[k]->path;
    if (path.strict) continue;
    size_t node = 0;
    for (size_t d = 0; d < path.simple_steps; ++d) {
      size_t child = 0;
      for (size_t n = node + 1; n < m.nodes.size() && child == 0; ++n) {
        if (m.nodes[n].parent == node && SameStep(*m.nodes[n].step, path.steps[d])) child = n;
      }
      if (child == 0) {
        child = m.nodes.size();
        m.nodes.push_back({node, &path.steps[d]});
      }
      node = child;
    }
    m.node_of_call[k] = node;
  }
  m.fast.resize(m.calls.size());
  for (size_t k = 0; k < m.calls.size(); ++k) {
    const JsonCallOptions& o = m.calls[k]->options;
    Impl::Fast& f = m.fast[k];
    f.value = o.kind == JsonFunctionKind::kValue && m.calls[k]->path->simple;
    f.text = IsStringType(o.returning) && o.returning.physical() == format::PhysicalKind::kBytes &&
             o.returning.root() != TypeRoot::kChar;
    f.bigint = o.returning.root() == TypeRoot::kBigInt;
    f.empty_null = o.on_empty == JsonOnBehavior::kNull;
  }
  m.ends.resize(m.nodes.size());
  m.elements.resize(m.nodes.size());
  m.key_children.resize(m.nodes.size());
  for (size_t n = 1; n < m.nodes.size(); ++n) {
    if (m.nodes[n].step->kind == PathStep::kKey) m.key_children[m.nodes[n].parent].push_back(n);
  }
  m.key_lengths.assign(m.nodes.size(), 0);
  m.child_keys.resize(m.nodes.size());
  for (size_t n = 0; n < m.nodes.size(); ++n) {
    auto& children = m.key_children[n];
    if (children.size() < 2) children.clear();  // one key: at_key's own scan is as cheap
    for (size_t c : children) {
      const std::string& key = m.nodes[c].step->key;
      m.key_lengths[n] |= uint64_t{1} << Impl::LengthBit(key.size());
      m.child_keys[n].push_back({static_cast<uint32_t>(key.size()), key.empty() ? '\0' : key[0], c, key.data()});
    }
  }
}

JsonCallSet::~JsonCallSet() = default;

Status JsonCallSet::Evaluate(ExecContext& ctx, const std::vector<const std::string*>& docs, std::vector<Column>* outs) {
  for (const std::string* doc : docs) {
    // Parsed in place when the string has the padding the parser reads past its end
    // (the log source leaves it), else copied into the parser's padded buffer.
    KL_RETURN_IF_ERROR(doc == nullptr ? EvaluateDoc(ctx, nullptr, 0, false, outs)
                                      : EvaluateDoc(ctx, doc->data(), doc->size(),
                                                    doc->capacity() - doc->size() >= simdjson::SIMDJSON_PADDING, outs));
  }
  return Status::OK();
}

Status JsonCallSet::Evaluate(ExecContext& ctx, const Column& docs, size_t begin, size_t end,
                             std::vector<Column>* outs) {
  for (size_t i = begin; i < end; ++i) {
    if (docs.IsNull(i)) {
      KL_RETURN_IF_ERROR(EvaluateDoc(ctx, nullptr, 0, false, outs));
      continue;
    }
    // In place when the column's buffer goes on long enough after it (the next values or
    // spare capacity), else copied into the parser's padded buffer.
    std::string_view doc = docs.GetBytes(i);
    KL_RETURN_IF_ERROR(
        EvaluateDoc(ctx, doc.data(), doc.size(), docs.BytesReadableAfter(i) >= simdjson::SIMDJSON_PADDING, outs));
  }
  return Status::OK();
}

Status JsonCallSet::Evaluate(ExecContext& ctx, const std::string_view* docs, size_t n, size_t padding,
                             std::vector<Column>* outs) {
  const bool padded = padding >= simdjson::SIMDJSON_PADDING;
  for (size_t i = 0; i < n; ++i) {
    // An empty view may carry no pointer: it is still an (empty, not JSON) document, not NULL.
    const char* data = docs[i].data() != nullptr ? docs[i].data() : "";
    KL_RETURN_IF_ERROR(EvaluateDoc(ctx, data, docs[i].size(), padded && docs[i].data() != nullptr, outs));
  }
  return Status::OK();
}

Status JsonCallSet::EvaluateDoc(ExecContext& ctx, const char* doc, size_t size, bool padded,
                                std::vector<Column>* outs) {
  Impl& m = *impl_;
  if (doc == nullptr) {
    for (size_t k = 0; k < m.calls.size(); ++k) {
      Column& c = (*outs)[k];
      if (m.calls[k]->sum_of_strings != nullptr) {
        c.AppendInt(0);  // the summing function of NULL
      } else {
        c.AppendNull();
      }
    }
    return Status::OK();
  }
  Element root;
  bool parsed = m.parser.parse(doc, size, /*realloc_if_needed=*/!padded).get(root) == simdjson::SUCCESS;
  if (parsed) {
    m.ends[0] = WalkEnd::kSelected;
    m.elements[0] = root;
    m.stepped.assign(m.nodes.size(), 0);
    if (!m.key_children[0].empty() && root.type() == simdjson::dom::element_type::OBJECT) m.StepKeysTogether(0);
    for (size_t n = 1; n < m.nodes.size(); ++n) {
      const Impl::Node& node = m.nodes[n];
      if (!m.stepped[n]) {
        // A walk that ended before a step ends there for every path through it.
        m.ends[n] = m.ends[node.parent] != WalkEnd::kSelected
                        ? m.ends[node.parent]
                        : Step(*node.step, m.elements[node.parent], &m.elements[n]);
      }
      if (m.ends[n] == WalkEnd::kSelected && !m.key_children[n].empty() &&
          m.elements[n].type() == simdjson::dom::element_type::OBJECT) {
        m.StepKeysTogether(n);  // its children come after it
      }
    }
  }
  for (size_t k = 0; k < m.calls.size(); ++k) {
    const JsonCall& call = *m.calls[k];
    const JsonPath& path = *call.path;
    Column* out = &(*outs)[k];
    size_t node = m.node_of_call[k];
    if (!parsed || path.strict || m.ends[node] == WalkEnd::kGeneral) {
      KL_RETURN_IF_ERROR(EvaluateOne(ctx, call, parsed, root, &m.found, out));
      continue;
    }
    if (m.fast[k].value) {
      // What AppendJsonResult would append, for the common cases.
      const Impl::Fast& f = m.fast[k];
      if (m.ends[node] == WalkEnd::kNothing) {
        if (f.empty_null) {
          out->AppendNull();
          continue;
        }
      } else {
        Element v = m.elements[node];
        auto type = v.type();
        if (type == simdjson::dom::element_type::NULL_VALUE) {
          out->AppendNull();
          continue;
        }
        if (type == simdjson::dom::element_type::STRING && f.text) {
          out->AppendBytes(v.get_string().value_unsafe());
          continue;
        }
        if (type == simdjson::dom::element_type::INT64 && f.bigint) {
          out->AppendInt(v.get_int64().value_unsafe());
          continue;
        }
      }
    }
    // kNothing: a lax walk that selects nothing at some step selects nothing at the end.
    m.found.clear();
    if (m.ends[node] == WalkEnd::kSelected) {
      if (path.simple) {
        m.found.push_back(m.elements[node]);
      } else {
        Apply(path, m.elements[node], &m.found, path.simple_steps);  // lax: never fails
      }
    }
    if (call.sum_of_strings != nullptr) {
      AppendStringSum(call, parsed, false, m.found, out);
      continue;
    }
    KL_RETURN_IF_ERROR(AppendJsonResult(ctx, call, parsed, false, m.found, out));
  }
  return Status::OK();
}

static std::string BehaviorText(JsonOnBehavior b, const Datum& def, const DataType& type) {
  switch (b) {
    case JsonOnBehavior::kNull: return "NULL";
    case JsonOnBehavior::kError: return "ERROR";
    case JsonOnBehavior::kDefault: {
      if (def.is_null()) return "DEFAULT NULL";
      std::string text = format::DatumToString(def, type);
      if (!IsStringType(type)) return "DEFAULT " + text;
      std::string quoted = "'";
      for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
      return "DEFAULT " + quoted + "'";
    }
    case JsonOnBehavior::kEmptyArray: return "EMPTY ARRAY";
    case JsonOnBehavior::kEmptyObject: return "EMPTY OBJECT";
    case JsonOnBehavior::kTrue: return "TRUE";
    case JsonOnBehavior::kFalse: return "FALSE";
    case JsonOnBehavior::kUnknown: return "UNKNOWN";
  }
  return "?";
}

static std::string JsonOptionsText(const JsonCallOptions& o) {
  std::string out;
  bool exists = o.kind == JsonFunctionKind::kExists;
  if (!exists && !o.returning.EqualsIgnoreNullable(DataType::String())) {
    out += " RETURNING " + TypeName(o.returning.WithNullable(true));
  }
  if (o.wrapper == JsonWrapperKind::kConditional) out += " WITH CONDITIONAL ARRAY WRAPPER";
  if (o.wrapper == JsonWrapperKind::kUnconditional) out += " WITH ARRAY WRAPPER";
  if (o.on_empty != JsonOnBehavior::kNull)
    out += " " + BehaviorText(o.on_empty, o.empty_default, o.returning) + " ON EMPTY";
  JsonOnBehavior error_default = exists ? JsonOnBehavior::kFalse : JsonOnBehavior::kNull;
  if (o.on_error != error_default) out += " " + BehaviorText(o.on_error, o.error_default, o.returning) + " ON ERROR";
  return out;
}

Result<BoundFunction> BindJsonFunction(const CallSite& site, const JsonCallOptions& o) {
  if (site.arg_types.size() != 2) return site.Error(site.name + " takes a JSON document and a path");
  if (!IsStringType(site.arg_types[0])) {
    return site.Error("the document of " + site.name + " must be a string, not " + TypeName(site.arg_types[0]));
  }
  if (!IsStringType(site.arg_types[1]) || !site.constants[1] || site.constants[1]->is_null()) {
    return site.Error("the path of " + site.name + " must be a constant string such as '$.a.b'");
  }
  auto compiled = CompilePath(site.constants[1]->as_bytes());
  if (!compiled.ok()) return site.Error(compiled.status().message());
  auto path = std::make_shared<JsonPath>(std::move(*compiled));
  BoundFunction f;
  f.arg_types = {DataType::String(), DataType::String()};
  f.return_type = o.kind == JsonFunctionKind::kExists ? DataType::Boolean() : o.returning.WithNullable(true);
  auto call = std::make_shared<JsonCall>();
  call->path = path;
  call->options = o;
  call->name = site.name;
  call->options_text = JsonOptionsText(o);
  f.json = call;
  f.kernel = [call](ExecContext& ctx, const std::vector<const Column*>& args, size_t rows, Column* out) -> Status {
    // One parser per thread: a streaming Calc may evaluate a batch's chunks on several threads.
    thread_local simdjson::dom::parser parser_of_thread;
    simdjson::dom::parser* parser = &parser_of_thread;
    const Column& docs = *args[0];
    std::vector<Element> found;
    for (size_t i = 0; i < rows; ++i) {
      if (docs.IsNull(i)) {
        out->AppendNull();
        continue;
      }
      std::string_view text = docs.GetBytes(i);
      Element root;
      bool parsed = parser->parse(text.data(), text.size(), true).get(root) == simdjson::SUCCESS;
      KL_RETURN_IF_ERROR(EvaluateOne(ctx, *call, parsed, root, &found, out));
    }
    return Status::OK();
  };
  return f;
}

void RegisterJsonFunctions(FunctionRegistry* r) {
  // JSON_STRING needs the argument type: bound by a custom binder.
  r->AddScalar(
      "JSON_STRING",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 1));
        DataType t = site.arg_types[0];
        BoundFunction f;
        f.return_type = DataType::String();
        f.kernel = RowKernel(
            [t](ExecContext& ctx, const Datum* a, Datum* o) {
              if (a[0].is_null()) {
                *o = Datum();
                return Status::OK();
              }
              std::string out;
              if (IsStringType(t)) {
                AppendJsonString(&out, a[0].as_bytes());
              } else if (IsNumeric(t) || t.root() == TypeRoot::kBoolean) {
                out = t.root() == TypeRoot::kBoolean ? (a[0].as_int() ? "true" : "false") : ValueToText(ctx, a[0], t);
              } else {
                JsonWriter w;
                format::WriteDatumJson(&w, a[0], t);
                out = w.str();
              }
              *o = Datum::Bytes(std::move(out));
              return Status::OK();
            },
            true);
        return f;
      },
      "JSON_STRING(x): x as JSON text");
  // PostgreSQL's -> / ->> (one key or array index) and #> / #>> (a path of them):
  // the element as JSON text, or with ->> / #>> a string's own text (JSON null: NULL).
  // What is not there (a missing key, an index out of range, a key into an array)
  // is NULL; a document that is not JSON is an error, as in PostgreSQL.
  auto json_get = [](bool path) {
    return [path](const CallSite& site) -> Result<BoundFunction> {
      KL_RETURN_IF_ERROR(CheckArgCount(site, 3, 3));
      if (!IsStringType(site.arg_types[0])) {
        return site.Error("the left side of a JSON operator (-> ->> #> #>>) must be json text, not " +
                          TypeName(site.arg_types[0]));
      }
      const DataType& k = site.arg_types[1];
      bool index = IsIntegral(k);
      bool array = k.root() == TypeRoot::kArray;
      if (path ? !(IsStringType(k) || (array && IsStringType(k.element()))) : !(index || IsStringType(k))) {
        return site.Error(path ? "a JSON path is a text array ('{a,0,b}' or ARRAY['a', '0', 'b']), not " + TypeName(k)
                               : "a JSON key is text or an array index is an integer, not " + TypeName(k));
      }
      BoundFunction f;
      f.return_type = DataType::String();
      f.kernel = RowKernel(
          [path, index, array](ExecContext&, const Datum* a, Datum* o) -> Status {
            *o = Datum();
            if (a[0].is_null() || a[1].is_null()) return Status::OK();
            thread_local simdjson::dom::parser parser;
            Element e;
            const std::string& doc = a[0].as_bytes();
            if (parser.parse(doc.data(), doc.size(), true).get(e) != simdjson::SUCCESS) {
              return Status::InvalidArgument("invalid input syntax for type json: " +
                                             (doc.size() > 60 ? doc.substr(0, 60) + "..." : doc));
            }
            // One step: a key into an object, or an index (negative: from the end) into an array.
            auto step = [&e](std::string_view key, std::optional<int64_t> at) -> bool {
              if (e.type() == simdjson::dom::element_type::OBJECT && !at) {
                return e.get_object().value_unsafe().at_key(key).get(e) == simdjson::SUCCESS;
              }
              if (e.type() != simdjson::dom::element_type::ARRAY) return false;
              if (!at) {
                auto n = ParseInt64(key);
                if (!n) return false;
                at = *n;
              }
              simdjson::dom::array items = e.get_array().value_unsafe();
              int64_t size = static_cast<int64_t>(items.size());
              int64_t i = *at < 0 ? size + *at : *at;
              if (i < 0 || i >= size) return false;
              return items.at(static_cast<size_t>(i)).get(e) == simdjson::SUCCESS;
            };
            bool found = true;
            if (!path) {
              found = index ? step("", a[1].as_int()) : step(a[1].as_bytes(), std::nullopt);
            } else if (array) {
              for (const Datum& part : a[1].as_list()) {
                if (part.is_null() || !step(part.as_bytes(), std::nullopt)) {
                  found = false;
                  break;
                }
              }
            } else {
              Status read = ForEachArrayTextElement(
                  a[1].as_bytes(),
                  [&](std::optional<std::string_view> part) -> Status {
                    if (found && (!part || !step(*part, std::nullopt))) found = false;
                    return Status::OK();
                  },
                  [&](ArrayTextError) {
                    return Status::InvalidArgument("malformed array literal: " + a[1].as_bytes());
                  });
              KL_RETURN_IF_ERROR(read);
            }
            if (!found) return Status::OK();
            if (a[2].as_int() != 0) {
              if (auto text = ScalarText(e)) *o = Datum::Bytes(*text);
              if (e.type() == simdjson::dom::element_type::DOUBLE) *o = Datum::Bytes(simdjson::minify(e));
            } else {
              *o = Datum::Bytes(simdjson::minify(e));
            }
            return Status::OK();
          },
          true);
      return f;
    };
  };
  r->AddScalar("__PG_JSON_GET", json_get(false), "");      // json -> key | index, json ->> key | index
  r->AddScalar("__PG_JSON_GET_PATH", json_get(true), "");  // json #> path, json #>> path
  r->AddScalar("IS_JSON",
               FixedBinder("s", 1, DataType::Boolean(),
                           [](ExecContext&, const Datum* a, Datum* o) {
                             simdjson::dom::parser p;
                             Element e;
                             *o = Datum::Bool(p.parse(a[0].as_bytes()).get(e) == simdjson::SUCCESS);
                             return Status::OK();
                           }),
               "IS_JSON(s)");
}

}  // namespace kl::sql
