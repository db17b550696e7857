#include "format/parquet/metadata/statistics.h"

#include <cmath>
#include <cstring>

#include "common/coding.h"

namespace kl::format::parquet {
namespace {

constexpr int64_t kJulianEpochDay = 2440588;  // Julian day number of 1970-01-01
constexpr int64_t kNanosPerDay = 86400LL * 1000000000LL;

}  // namespace

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// The non-negative remainder of a / b (b > 0), without forming a * b.
static int64_t FloorMod(int64_t a, int64_t b) {
  int64_t r = a % b;
  return r < 0 ? r + b : r;
}

Timestamp TimestampFromMicros(int64_t micros) {
  return Timestamp{FloorDiv(micros, 1000), static_cast<int32_t>(FloorMod(micros, 1000) * 1000)};
}

Timestamp TimestampFromNanos(int64_t nanos) {
  return Timestamp{FloorDiv(nanos, 1000000), static_cast<int32_t>(FloorMod(nanos, 1000000))};
}

bool DecimalFromBigEndian(std::string_view bytes, Int128* out) {
  if (bytes.empty() || bytes.size() > 16) return false;
  unsigned __int128 v = (static_cast<uint8_t>(bytes[0]) & 0x80) ? ~static_cast<unsigned __int128>(0) : 0;
  for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
  *out = static_cast<Int128>(v);
  return true;
}

std::string DecimalToBigEndian(Int128 v, int size) {
  std::string out(static_cast<size_t>(size), '\0');
  auto u = static_cast<unsigned __int128>(v);
  for (int i = size - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(static_cast<uint8_t>(u));
    u >>= 8;
  }
  return out;
}

Timestamp Int96ToTimestamp(const char* b) {
  int64_t nanos_of_day = static_cast<int64_t>(LoadLE64(b));
  int64_t julian = static_cast<int32_t>(LoadLE32(b + 8));
  int64_t days = julian - kJulianEpochDay;
  // millis = days * 86400000 + nanos_of_day / 1e6, nanos-of-milli from the remainder.
  return Timestamp{days * 86400000LL + FloorDiv(nanos_of_day, 1000000),
                   static_cast<int32_t>(FloorMod(nanos_of_day, 1000000))};
}

void TimestampToInt96(Timestamp ts, char* b) {
  int64_t days = FloorDiv(ts.millis, 86400000);
  int64_t nanos_of_day = (ts.millis - days * 86400000) * 1000000 + ts.nanos;
  if (nanos_of_day >= kNanosPerDay) {
    nanos_of_day -= kNanosPerDay;
    ++days;
  }
  StoreLE64(b, static_cast<uint64_t>(nanos_of_day));
  StoreLE32(b + 8, static_cast<uint32_t>(days + kJulianEpochDay));
}

bool DecodeStatValue(const LeafInfo& leaf, std::string_view bytes, Datum* out) {
  using C = LeafConversion;
  auto i32 = [&](int64_t* v) {
    if (bytes.size() != 4) return false;
    *v = static_cast<int32_t>(LoadLE32(bytes.data()));
    return true;
  };
  auto i64 = [&](int64_t* v) {
    if (bytes.size() != 8) return false;
    *v = static_cast<int64_t>(LoadLE64(bytes.data()));
    return true;
  };
  auto integer = [&](int64_t* v) { return leaf.physical == PhysicalType::kInt32 ? i32(v) : i64(v); };
  int64_t v = 0;
  switch (leaf.conversion) {
    case C::kBoolean:
      if (bytes.size() != 1) return false;
      *out = Datum::Bool(bytes[0] != 0);
      return true;
    case C::kInt:
      if (!integer(&v)) return false;
      *out = Datum::Int(v);
      return true;
    case C::kUInt32:
      if (!i32(&v)) return false;
      *out = Datum::Int(static_cast<int64_t>(static_cast<uint32_t>(v)));
      return true;
    case C::kFloat: {
      if (bytes.size() != 4) return false;
      float f;
      std::memcpy(&f, bytes.data(), 4);
      if (std::isnan(f)) return false;
      *out = Datum::Double(f);
      return true;
    }
    case C::kDouble: {
      if (bytes.size() != 8) return false;
      double d;
      std::memcpy(&d, bytes.data(), 8);
      if (std::isnan(d)) return false;
      *out = Datum::Double(d);
      return true;
    }
    case C::kBytes: *out = Datum::Bytes(std::string(bytes)); return true;
    case C::kDecimalInt:
      if (!integer(&v)) return false;
      *out = Datum::Decimal(v);
      return true;
    case C::kDecimalBytes: {
      Int128 d;
      if (!DecimalFromBigEndian(bytes, &d)) return false;
      *out = Datum::Decimal(d);
      return true;
    }
    case C::kTimestampMillis:
      if (!i64(&v)) return false;
      *out = Datum::Time(Timestamp{v, 0});
      return true;
    case C::kTimestampMicros:
      if (!i64(&v)) return false;
      *out = Datum::Time(TimestampFromMicros(v));
      return true;
    case C::kTimestampNanos:
      if (!i64(&v)) return false;
      *out = Datum::Time(TimestampFromNanos(v));
      return true;
    case C::kInt96: return false;  // INT96 has no defined sort order
    case C::kTimeMillis:
      if (!i32(&v)) return false;
      *out = Datum::Int(v);
      return true;
    case C::kTimeMicros:
      if (!i64(&v)) return false;
      *out = Datum::Int(FloorDiv(v, 1000));
      return true;
    case C::kTimeNanos:
      if (!i64(&v)) return false;
      *out = Datum::Int(FloorDiv(v, 1000000));
      return true;
  }
  return false;
}

std::string EncodeStatValue(const LeafInfo& leaf, const Datum& value) {
  using C = LeafConversion;
  std::string out;
  switch (leaf.conversion) {
    case C::kBoolean: out.push_back(value.as_int() != 0 ? 1 : 0); break;
    case C::kInt:
    case C::kUInt32:
    case C::kTimeMillis:
      if (leaf.physical == PhysicalType::kInt32)
        PutFixed32LE(&out, static_cast<uint32_t>(value.as_int()));
      else
        PutFixed64LE(&out, static_cast<uint64_t>(value.as_int()));
      break;
    case C::kTimeMicros: PutFixed64LE(&out, static_cast<uint64_t>(value.as_int() * 1000)); break;
    case C::kTimeNanos: PutFixed64LE(&out, static_cast<uint64_t>(value.as_int() * 1000000)); break;
    case C::kFloat: {
      float f = static_cast<float>(value.as_double());
      out.append(reinterpret_cast<const char*>(&f), 4);
      break;
    }
    case C::kDouble: {
      double d = value.as_double();
      out.append(reinterpret_cast<const char*>(&d), 8);
      break;
    }
    case C::kBytes: out = value.as_bytes(); break;
    case C::kDecimalInt:
      if (leaf.physical == PhysicalType::kInt32)
        PutFixed32LE(&out, static_cast<uint32_t>(static_cast<int64_t>(value.as_decimal())));
      else
        PutFixed64LE(&out, static_cast<uint64_t>(static_cast<int64_t>(value.as_decimal())));
      break;
    case C::kDecimalBytes:
      out = DecimalToBigEndian(value.as_decimal(), leaf.type_length > 0 ? leaf.type_length : 16);
      break;
    case C::kTimestampMillis: PutFixed64LE(&out, static_cast<uint64_t>(value.as_timestamp().millis)); break;
    case C::kTimestampMicros: PutFixed64LE(&out, static_cast<uint64_t>(value.as_timestamp().ToMicros())); break;
    case C::kTimestampNanos: {
      Timestamp ts = value.as_timestamp();
      PutFixed64LE(&out, static_cast<uint64_t>(ts.millis * 1000000 + ts.nanos));
      break;
    }
    case C::kInt96: break;
  }
  return out;
}

ColumnStatistics StatisticsFromParquet(const LeafInfo& leaf, const Statistics& stats, int64_t num_values) {
  ColumnStatistics out;
  out.num_values = num_values;
  if (stats.null_count) {
    out.has_null_count = true;
    out.null_count = *stats.null_count;
  }
  const std::string* min = nullptr;
  const std::string* max = nullptr;
  if (stats.min_value && stats.max_value) {
    min = &*stats.min_value;
    max = &*stats.max_value;
  } else if (stats.min && stats.max) {
    // Old writers ordered these as signed bytes / signed ints: only numbers agree with that.
    using C = LeafConversion;
    bool signed_ok = leaf.conversion == C::kBoolean || leaf.conversion == C::kInt || leaf.conversion == C::kFloat ||
                     leaf.conversion == C::kDouble || leaf.conversion == C::kDecimalInt ||
                     leaf.conversion == C::kTimestampMillis || leaf.conversion == C::kTimestampMicros ||
                     leaf.conversion == C::kTimestampNanos || leaf.conversion == C::kTimeMillis;
    if (signed_ok) {
      min = &*stats.min;
      max = &*stats.max;
    }
  }
  if (min != nullptr && DecodeStatValue(leaf, *min, &out.min) && DecodeStatValue(leaf, *max, &out.max)) {
    out.has_min_max = true;
  } else {
    out.min = Datum();
    out.max = Datum();
  }
  return out;
}

}  // namespace kl::format::parquet
