// JSON for metadata-sized documents: a small owned tree parsed by simdjson,
// and a streaming writer. Hot paths (watch events, JSON_VALUE over object
// content) use simdjson directly instead of building a tree.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace kl {

class JsonValue {
 public:
  enum class Type : unsigned char { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  using Members = std::vector<std::pair<std::string, JsonValue>>;

  JsonValue() = default;
  static JsonValue Bool(bool b) {
    JsonValue v;
    v.type_ = Type::kBool;
    v.int_ = b;
    return v;
  }
  static JsonValue Int(int64_t i) {
    JsonValue v;
    v.type_ = Type::kInt;
    v.int_ = i;
    return v;
  }
  static JsonValue Double(double d) {
    JsonValue v;
    v.type_ = Type::kDouble;
    v.double_ = d;
    return v;
  }
  static JsonValue String(std::string s) {
    JsonValue v;
    v.type_ = Type::kString;
    v.string_ = std::move(s);
    return v;
  }
  static JsonValue Array(std::vector<JsonValue> items = {});
  static JsonValue Object(Members members = {});

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_int() const { return type_ == Type::kInt; }
  bool is_number() const { return type_ == Type::kInt || type_ == Type::kDouble; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  bool as_bool() const { return int_ != 0; }
  // A double out of int64's range (or NaN) saturates instead of overflowing.
  int64_t as_int() const {
    if (type_ != Type::kDouble) return int_;
    if (!(double_ >= -9.2e18)) return double_ != double_ ? 0 : INT64_MIN;
    if (!(double_ <= 9.2e18)) return INT64_MAX;
    return static_cast<int64_t>(double_);
  }
  double as_double() const { return type_ == Type::kInt ? static_cast<double>(int_) : double_; }
  const std::string& as_string() const { return string_; }
  const std::vector<JsonValue>& items() const;
  const Members& members() const;
  std::vector<JsonValue>& mutable_items();
  Members& mutable_members();

  // Object member lookup; nullptr when absent (or when this is not an object).
  const JsonValue* Find(std::string_view key) const;
  void Set(std::string key, JsonValue value);

  // Typed member access with errors that name the key.
  Result<std::string> GetString(std::string_view key) const;
  Result<int64_t> GetInt(std::string_view key) const;
  Result<bool> GetBool(std::string_view key) const;
  std::string GetStringOr(std::string_view key, std::string fallback) const;
  int64_t GetIntOr(std::string_view key, int64_t fallback) const;

  std::string ToJson(bool pretty = false) const;

 private:
  Type type_ = Type::kNull;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::shared_ptr<std::vector<JsonValue>> items_;
  std::shared_ptr<Members> members_;
};

// Parses a complete document. `what` names the source in errors ("snapshot-3").
Result<JsonValue> ParseJson(std::string_view text, std::string_view what = "JSON");

// Appends `s` to `out` as a quoted JSON string.
void AppendJsonString(std::string* out, std::string_view s);

// Streaming writer: handles commas and escaping; the caller keeps nesting right.
class JsonWriter {
 public:
  explicit JsonWriter(bool pretty = false) : pretty_(pretty) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Uint(uint64_t v);
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  JsonWriter& Raw(std::string_view json);  // an already encoded value
  JsonWriter& Value(const JsonValue& v);

  const std::string& str() const { return out_; }
  std::string Release() { return std::move(out_); }
  void Clear() {
    out_.clear();
    stack_.clear();
    after_key_ = false;
  }

 private:
  void BeforeValue();
  void NewLine();

  std::string out_;
  std::vector<int> stack_;  // number of elements written at each open level
  bool pretty_;
  bool after_key_ = false;
};

// Formats a double the shortest way that reads back to the same value.
std::string FormatDouble(double v);

}  // namespace kl
