// Random Paimon schemas and values for the Parquet property tests, and a
// round-trip helper: every atomic type, ARRAY / MAP / ROW nested up to three
// deep, nulls at every level, empty and long strings, extreme numbers, NaN.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/random.h"
#include "format/column.h"
#include "format/datum.h"
#include "format/types.h"

namespace kl::format::parquet::proptest {

class RandomData {
 public:
  explicit RandomData(uint64_t seed) : rng_(seed) {}

  DataType Type(int depth) {
    DataType t;
    int choice = static_cast<int>(rng_.Uniform(depth < 3 ? 22 : 18));
    switch (choice) {
      case 0: t = DataType::Boolean(); break;
      case 1: t = DataType::TinyInt(); break;
      case 2: t = DataType::SmallInt(); break;
      case 3: t = DataType::Int(); break;
      case 4: t = DataType::BigInt(); break;
      case 5: t = DataType::Float(); break;
      case 6: t = DataType::Double(); break;
      case 7: {
        static const int kPrecisions[] = {1, 5, 9, 10, 18, 19, 28, 38};
        int p = kPrecisions[rng_.Uniform(8)];
        t = DataType::Decimal(p, static_cast<int>(rng_.Uniform(static_cast<uint64_t>(p) + 1)));
        break;
      }
      case 8: t = DataType::String(); break;
      case 9: t = DataType::VarChar(20); break;
      case 10: t = DataType::Bytes(); break;
      case 11: t = DataType::Date(); break;
      case 12: t = DataType::Time(); break;
      case 13: t = DataType::Timestamp(static_cast<int>(rng_.Uniform(10))); break;
      case 14: t = DataType::TimestampLtz(static_cast<int>(rng_.Uniform(10))); break;
      case 15: t = DataType::Char(4); break;
      case 16: t = DataType::Binary(8); break;
      case 17: t = DataType::String(); break;
      case 18:
      case 19: t = DataType::Array(Type(depth + 1)); break;
      case 20: t = DataType::Map(Type(3).NotNull(), Type(depth + 1)); break;
      default: {
        std::vector<DataField> fields;
        int n = 1 + static_cast<int>(rng_.Uniform(3));
        for (int i = 0; i < n; ++i) fields.push_back({next_id_++, "r" + std::to_string(i), Type(depth + 1), ""});
        t = DataType::Row(std::move(fields));
        break;
      }
    }
    return rng_.OneIn(4) ? t.NotNull() : t;
  }

  RowType Schema(int columns) {
    std::vector<DataField> fields;
    for (int i = 0; i < columns; ++i) {
      int id = next_id_++;
      fields.push_back({id, "c" + std::to_string(i), Type(0), ""});
    }
    return RowType(std::move(fields));
  }

  std::string Text(bool binary) {
    uint64_t kind = rng_.Uniform(10);
    size_t len = kind == 0 ? 0 : kind == 1 ? 200 + rng_.Uniform(3000) : rng_.Uniform(12);
    std::string s;
    if (!binary) return kind < 8 && len < 12 ? rng_.Alnum(len) : std::string(len, static_cast<char>('a' + rng_.Uniform(26)));
    for (size_t i = 0; i < len; ++i) s.push_back(static_cast<char>(rng_.Uniform(256)));
    return s;
  }

  Datum Value(const DataType& t) {
    if (t.nullable() && rng_.OneIn(6)) return Datum();
    bool extreme = rng_.OneIn(8);
    switch (t.root()) {
      case TypeRoot::kBoolean: return Datum::Bool(rng_.OneIn(2));
      case TypeRoot::kTinyInt: return Datum::Int(extreme ? (rng_.OneIn(2) ? -128 : 127) : rng_.Range(-128, 127));
      case TypeRoot::kSmallInt: return Datum::Int(extreme ? (rng_.OneIn(2) ? -32768 : 32767) : rng_.Range(-300, 300));
      case TypeRoot::kInt:
        return Datum::Int(extreme ? (rng_.OneIn(2) ? INT32_MIN : INT32_MAX) : rng_.Range(-1000000, 1000000));
      case TypeRoot::kBigInt:
        return Datum::Int(extreme ? (rng_.OneIn(2) ? INT64_MIN : INT64_MAX) : static_cast<int64_t>(rng_.Next()) >> rng_.Uniform(60));
      case TypeRoot::kFloat:
      case TypeRoot::kDouble: {
        double v;
        if (extreme) {
          static const double kSpecial[] = {std::numeric_limits<double>::quiet_NaN(), INFINITY, -INFINITY, -0.0, 0.0,
                                            std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                                            std::numeric_limits<double>::denorm_min()};
          v = kSpecial[rng_.Uniform(8)];
        } else {
          v = (rng_.NextDouble() - 0.5) * std::pow(10.0, static_cast<double>(rng_.Range(-5, 12)));
        }
        if (t.root() == TypeRoot::kFloat) v = static_cast<float>(v);
        return Datum::Double(v);
      }
      case TypeRoot::kDecimal: {
        Int128 limit = 1;
        for (int i = 0; i < t.precision(); ++i) limit *= 10;
        Int128 v = extreme ? limit - 1 : static_cast<Int128>(rng_.Next() % 1000000007ULL);
        if (t.precision() > 18 && !extreme) v = v * static_cast<Int128>(rng_.Next() % 1000000000000000000ULL) % limit;
        v %= limit;
        return Datum::Decimal(rng_.OneIn(2) ? -v : v);
      }
      case TypeRoot::kChar:
      case TypeRoot::kVarChar: return Datum::Bytes(Text(false));
      case TypeRoot::kBinary:
      case TypeRoot::kVarBinary: return Datum::Bytes(Text(true));
      case TypeRoot::kDate: return Datum::Int(rng_.Range(-719162, 2932896));  // years 1..9999
      case TypeRoot::kTime: return Datum::Int(rng_.Range(0, 86399999));
      case TypeRoot::kTimestamp:
      case TypeRoot::kTimestampLtz: {
        int64_t millis = rng_.Range(-30000000000000LL, 30000000000000LL);  // about 1019..2920
        int32_t nanos = 0;
        if (t.precision() > 6) nanos = static_cast<int32_t>(rng_.Uniform(1000000));
        else if (t.precision() > 3) nanos = static_cast<int32_t>(rng_.Uniform(1000)) * 1000;
        if (t.precision() > 6) millis /= 4;  // INT96 nanos fit either way; keep years sane
        return Datum::Time(Timestamp{millis, nanos});
      }
      case TypeRoot::kArray: {
        DatumList items;
        size_t n = rng_.OneIn(5) ? 0 : rng_.Uniform(5);
        for (size_t i = 0; i < n; ++i) items.push_back(Value(t.element()));
        return Datum::List(std::move(items));
      }
      case TypeRoot::kMap: {
        DatumList items;
        size_t n = rng_.OneIn(5) ? 0 : rng_.Uniform(4);
        for (size_t i = 0; i < n; ++i) {
          items.push_back(Value(t.key()));
          items.push_back(Value(t.value()));
        }
        return Datum::List(std::move(items));
      }
      case TypeRoot::kRow: {
        DatumList items;
        for (const auto& f : t.fields()) items.push_back(Value(f.type));
        return Datum::List(std::move(items));
      }
      default: return Datum();
    }
  }

  ColumnBatch Batch(const RowType& schema, size_t rows) {
    ColumnBatch batch(schema);
    for (size_t r = 0; r < rows; ++r) {
      Row row;
      for (const auto& f : schema.fields()) row.push_back(Value(f.type));
      batch.AppendRow(row);
    }
    return batch;
  }

  Random& rng() { return rng_; }

 private:
  Random rng_;
  int next_id_ = 0;
};

}  // namespace kl::format::parquet::proptest
