#include "common/json.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace kl {
namespace {

const std::vector<JsonValue>& EmptyItems() {
  static const std::vector<JsonValue> empty;
  return empty;
}
const JsonValue::Members& EmptyMembers() {
  static const JsonValue::Members empty;
  return empty;
}

Result<JsonValue> Convert(simdjson::dom::element e, int depth) {
  if (depth > 512) return Status::Corruption("JSON nested deeper than 512 levels");
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE: return JsonValue();
    case simdjson::dom::element_type::BOOL: return JsonValue::Bool(bool(e.get_bool()));
    case simdjson::dom::element_type::INT64: return JsonValue::Int(int64_t(e.get_int64()));
    case simdjson::dom::element_type::UINT64: {
      uint64_t u = e.get_uint64();
      if (u > static_cast<uint64_t>(INT64_MAX)) return JsonValue::Double(static_cast<double>(u));
      return JsonValue::Int(static_cast<int64_t>(u));
    }
    case simdjson::dom::element_type::DOUBLE: return JsonValue::Double(double(e.get_double()));
    case simdjson::dom::element_type::STRING: return JsonValue::String(std::string(std::string_view(e.get_string())));
    case simdjson::dom::element_type::ARRAY: {
      std::vector<JsonValue> items;
      for (simdjson::dom::element child : e.get_array()) {
        KL_ASSIGN_OR_RETURN(JsonValue v, Convert(child, depth + 1));
        items.push_back(std::move(v));
      }
      return JsonValue::Array(std::move(items));
    }
    case simdjson::dom::element_type::OBJECT: {
      JsonValue::Members members;
      for (simdjson::dom::key_value_pair kv : e.get_object()) {
        KL_ASSIGN_OR_RETURN(JsonValue v, Convert(kv.value, depth + 1));
        members.emplace_back(std::string(kv.key), std::move(v));
      }
      return JsonValue::Object(std::move(members));
    }
  }
  return Status::Corruption("unknown JSON element type");
}

}  // namespace

JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v;
  v.type_ = Type::kArray;
  v.items_ = std::make_shared<std::vector<JsonValue>>(std::move(items));
  return v;
}

JsonValue JsonValue::Object(Members members) {
  JsonValue v;
  v.type_ = Type::kObject;
  v.members_ = std::make_shared<Members>(std::move(members));
  return v;
}

const std::vector<JsonValue>& JsonValue::items() const { return items_ ? *items_ : EmptyItems(); }
const JsonValue::Members& JsonValue::members() const { return members_ ? *members_ : EmptyMembers(); }

std::vector<JsonValue>& JsonValue::mutable_items() {
  if (!items_)
    items_ = std::make_shared<std::vector<JsonValue>>();
  else if (items_.use_count() > 1)
    items_ = std::make_shared<std::vector<JsonValue>>(*items_);
  return *items_;
}

JsonValue::Members& JsonValue::mutable_members() {
  if (!members_)
    members_ = std::make_shared<Members>();
  else if (members_.use_count() > 1)
    members_ = std::make_shared<Members>(*members_);
  return *members_;
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (type_ != Type::kObject || !members_) return nullptr;
  for (const auto& [k, v] : *members_) {
    if (k == key) return &v;
  }
  return nullptr;
}

void JsonValue::Set(std::string key, JsonValue value) {
  type_ = Type::kObject;
  auto& m = mutable_members();
  for (auto& [k, v] : m) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  m.emplace_back(std::move(key), std::move(value));
}

Result<std::string> JsonValue::GetString(std::string_view key) const {
  const JsonValue* v = Find(key);
  if (v == nullptr) return Status::Corruption("missing field \"" + std::string(key) + "\"");
  if (!v->is_string()) return Status::Corruption("field \"" + std::string(key) + "\" is not a string");
  return v->as_string();
}

Result<int64_t> JsonValue::GetInt(std::string_view key) const {
  const JsonValue* v = Find(key);
  if (v == nullptr) return Status::Corruption("missing field \"" + std::string(key) + "\"");
  if (!v->is_number()) return Status::Corruption("field \"" + std::string(key) + "\" is not a number");
  return v->as_int();
}

Result<bool> JsonValue::GetBool(std::string_view key) const {
  const JsonValue* v = Find(key);
  if (v == nullptr) return Status::Corruption("missing field \"" + std::string(key) + "\"");
  if (!v->is_bool()) return Status::Corruption("field \"" + std::string(key) + "\" is not a boolean");
  return v->as_bool();
}

std::string JsonValue::GetStringOr(std::string_view key, std::string fallback) const {
  const JsonValue* v = Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::move(fallback);
}

int64_t JsonValue::GetIntOr(std::string_view key, int64_t fallback) const {
  const JsonValue* v = Find(key);
  return v != nullptr && v->is_number() ? v->as_int() : fallback;
}

std::string JsonValue::ToJson(bool pretty) const {
  JsonWriter w(pretty);
  w.Value(*this);
  return w.Release();
}

Result<JsonValue> ParseJson(std::string_view text, std::string_view what) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  auto error = parser.parse(padded).get(root);
  if (error) {
    return Status::Corruption(std::string(what) + ": invalid JSON: " + simdjson::error_message(error));
  }
  auto converted = Convert(root, 0);
  if (!converted.ok()) return converted.status().WithContext(what);
  return converted;
}

void AppendJsonString(std::string* out, std::string_view s) {
  // Most strings have nothing to escape: looked at 8 bytes at a time (exact word tests for a
  // byte below 0x20, '"' or '\\'), and such a string is copied whole.
  size_t plain = 0;
  for (; plain + 8 <= s.size(); plain += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + plain, 8);
    constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
    auto has_zero = [&](uint64_t v) { return ((v - kOnes) & ~v & kHighs) != 0; };
    if ((((w - 0x20 * kOnes) & ~w & kHighs) != 0) || has_zero(w ^ ('"' * kOnes)) || has_zero(w ^ ('\\' * kOnes))) break;
  }
  auto needs_escape = [](unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; };
  while (plain < s.size() && !needs_escape(static_cast<unsigned char>(s[plain]))) ++plain;
  if (plain == s.size()) {
    size_t at = out->size();
    out->resize(at + s.size() + 2);
    char* p = out->data() + at;
    p[0] = '"';
    if (!s.empty()) std::memcpy(p + 1, s.data(), s.size());  // an empty view may hold no pointer
    p[s.size() + 1] = '"';
    return;
  }
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run_start = 0;
  for (size_t i = plain; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) continue;
    out->append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.data() + run_start, s.size() - run_start);
  out->push_back('"');
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  std::string out(buf, res.ptr);
  // Keep doubles recognisable as such ("1.0", not "1").
  if (out.find_first_of(".eE") == std::string::npos) out += ".0";
  return out;
}

void JsonWriter::NewLine() {
  out_.push_back('\n');
  out_.append(stack_.size() * 2, ' ');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!stack_.empty()) {
    if (stack_.back()++ > 0) out_.push_back(',');
    if (pretty_) NewLine();
  }
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  out_.push_back('{');
  stack_.push_back(0);
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  int n = stack_.empty() ? 0 : stack_.back();
  if (!stack_.empty()) stack_.pop_back();
  if (pretty_ && n > 0) NewLine();
  out_.push_back('}');
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  BeforeValue();
  out_.push_back('[');
  stack_.push_back(0);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  int n = stack_.empty() ? 0 : stack_.back();
  if (!stack_.empty()) stack_.pop_back();
  if (pretty_ && n > 0) NewLine();
  out_.push_back(']');
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  BeforeValue();
  AppendJsonString(&out_, key);
  out_.append(pretty_ ? " : " : ":");
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  BeforeValue();
  AppendJsonString(&out_, s);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t v) {
  BeforeValue();
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out_.append(buf, res.ptr);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t v) {
  BeforeValue();
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out_.append(buf, res.ptr);
  return *this;
}

JsonWriter& JsonWriter::Double(double v) {
  BeforeValue();
  if (std::isfinite(v)) {
    out_ += FormatDouble(v);
  } else {
    // JSON has no NaN/Infinity literals; write them as strings, as Jackson does when asked.
    AppendJsonString(&out_, FormatDouble(v));
  }
  return *this;
}

JsonWriter& JsonWriter::Bool(bool v) {
  BeforeValue();
  out_.append(v ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_.append(json);
  return *this;
}

JsonWriter& JsonWriter::Value(const JsonValue& v) {
  switch (v.type()) {
    case JsonValue::Type::kNull: return Null();
    case JsonValue::Type::kBool: return Bool(v.as_bool());
    case JsonValue::Type::kInt: return Int(v.as_int());
    case JsonValue::Type::kDouble: return Double(v.as_double());
    case JsonValue::Type::kString: return String(v.as_string());
    case JsonValue::Type::kArray:
      BeginArray();
      for (const auto& item : v.items()) Value(item);
      return EndArray();
    case JsonValue::Type::kObject:
      BeginObject();
      for (const auto& [k, item] : v.members()) {
        Key(k);
        Value(item);
      }
      return EndObject();
  }
  return *this;
}

}  // namespace kl
