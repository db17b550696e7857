// Datum: one value of any Paimon type, for row-at-a-time code (keys, stats,
// nested values, SQL). Bulk data moves in columns (column.h) instead.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "format/types.h"

namespace kl::format {

using Int128 = __int128;

// Paimon's Timestamp: milliseconds since the epoch plus nanoseconds within the millisecond.
struct Timestamp {
  int64_t millis = 0;
  int32_t nanos = 0;  // 0..999999

  static Timestamp FromMicros(int64_t micros);
  static Timestamp FromNanos(int64_t nanos);  // range limited to ~1677..2262
  int64_t ToMicros() const { return millis * 1000 + nanos / 1000; }
  auto operator<=>(const Timestamp&) const = default;
};

// The change a row carries in a changelog: Paimon's RowKind, stored as _VALUE_KIND.
enum class RowKind : int8_t { kInsert = 0, kUpdateBefore = 1, kUpdateAfter = 2, kDelete = 3 };

inline bool IsAdd(RowKind k) { return k == RowKind::kInsert || k == RowKind::kUpdateAfter; }
inline bool IsRetract(RowKind k) { return k == RowKind::kUpdateBefore || k == RowKind::kDelete; }
std::string_view RowKindShortString(RowKind k);  // "+I", "-U", "+U", "-D"
Result<RowKind> ParseRowKind(std::string_view s);
Result<RowKind> RowKindFromByte(int64_t v);

class Datum;
using DatumList = std::vector<Datum>;

class Datum {
 public:
  enum class Kind : unsigned char { kNull, kBool, kInt, kDouble, kBytes, kDecimal, kTimestamp, kList };

  Datum() = default;
  static Datum Bool(bool v) { return Datum(Storage(std::in_place_index<1>, v)); }
  static Datum Int(int64_t v) { return Datum(Storage(std::in_place_index<2>, v)); }
  static Datum Double(double v) { return Datum(Storage(std::in_place_index<3>, v)); }
  static Datum Bytes(std::string v) { return Datum(Storage(std::in_place_index<4>, std::move(v))); }
  static Datum Decimal(Int128 unscaled) { return Datum(Storage(std::in_place_index<5>, unscaled)); }
  static Datum Time(Timestamp ts) { return Datum(Storage(std::in_place_index<6>, ts)); }
  // ARRAY / MULTISET elements, ROW fields, or MAP entries as k0, v0, k1, v1, ...
  static Datum List(DatumList items) {
    return Datum(Storage(std::in_place_index<7>, std::make_shared<const DatumList>(std::move(items))));
  }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return v_.index() == 0; }
  bool as_bool() const { return std::get<1>(v_); }
  int64_t as_int() const { return v_.index() == 1 ? std::get<1>(v_) : std::get<2>(v_); }
  double as_double() const { return std::get<3>(v_); }
  const std::string& as_bytes() const { return std::get<4>(v_); }
  Int128 as_decimal() const { return std::get<5>(v_); }
  Timestamp as_timestamp() const { return std::get<6>(v_); }
  const DatumList& as_list() const { return *std::get<7>(v_); }

  bool operator==(const Datum& other) const;

 private:
  using Storage = std::variant<std::monostate, bool, int64_t, double, std::string, Int128, Timestamp,
                               std::shared_ptr<const DatumList>>;
  explicit Datum(Storage v) : v_(std::move(v)) {}
  Storage v_;
};

using Row = std::vector<Datum>;

// Total order used for keys and min/max statistics: null first, then by value.
int CompareDatum(const Datum& a, const Datum& b);
int CompareRows(const Row& a, const Row& b);

// JSON with typed values: numbers as numbers, strings as strings, null as null;
// DECIMAL as a string ("12.30"), DATE as days, TIMESTAMP as ISO text, BYTES as
// text, ARRAY as a list, MAP as [[k, v], ...], ROW as a list of field values.
void WriteDatumJson(JsonWriter* w, const Datum& d, const DataType& type);
Result<Datum> DatumFromJson(const JsonValue& json, const DataType& type);
// Human-readable text of a value (reports, CSV-like output).
std::string DatumToString(const Datum& d, const DataType& type);
// Text of a value from its own kind alone (logs, test messages).
std::string DatumDebugString(const Datum& d);

std::string FormatDecimal(Int128 unscaled, int scale);
Result<Int128> ParseDecimal(std::string_view text, int precision, int scale);
// ISO-8601 local date-time text with as many fraction digits as needed.
std::string FormatTimestamp(Timestamp ts);
Result<Timestamp> ParseTimestamp(std::string_view text);
std::string FormatDate(int64_t days);

}  // namespace kl::format
