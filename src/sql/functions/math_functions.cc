// Numeric functions. ROUND rounds half away from zero (Java's HALF_UP), on
// DECIMAL exactly and on DOUBLE through its decimal text, as Flink does.
#include <cmath>
#include <cstdio>
#include <mutex>

#include "common/random.h"
#include "sql/functions/cast.h"
#include "sql/functions/helpers.h"

namespace kl::sql {

using format::Int128;

namespace {

// RAND's generator, shared by every evaluation of one call and guarded: a
// streaming Calc may evaluate a batch's chunks on several threads.
struct SharedRandom {
  explicit SharedRandom(uint64_t seed) : random(seed) {}
  std::mutex mu;
  Random random;
};

Int128 Pow10(int n) {
  Int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

double RoundDouble(double v, int64_t digits, bool truncate) {
  if (std::isnan(v) || std::isinf(v)) return v;
  if (digits > 300) return v;
  if (digits < -300) return 0;
  // Round through decimal text so that 2.675 rounds as its decimal form reads.
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  double scale = std::pow(10.0, static_cast<double>(digits));
  double x = v * scale;
  double r = truncate ? std::trunc(x) : std::round(x);
  // Correct cases where v*scale lost the half (e.g. 1.005 * 100 = 100.49999).
  if (!truncate) {
    std::snprintf(buf, sizeof(buf), "%.15g", x);
    double x2 = std::strtod(buf, nullptr);
    r = std::round(x2);
  }
  return r / scale;
}

// Scalar binder for functions of one number keeping DECIMAL exact where it matters.
ScalarBinder NumericUnary(const std::string& name, double (*fn)(double)) {
  return FixedBinder("n", 1, DataType::Double(), [fn](ExecContext&, const Datum* a, Datum* o) {
    *o = Datum::Double(fn(a[0].as_double()));
    return Status::OK();
  });
}

Result<BoundFunction> BindRound(const CallSite& site, bool truncate) {
  KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 2));
  const DataType& t = site.arg_types[0];
  if (!IsNumeric(t)) return site.Error(site.Arg(0) + " must be a number, not " + TypeName(t.WithNullable(true)));
  if (site.arg_types.size() == 2 && !IsIntegral(site.arg_types[1]))
    return site.Error(site.Arg(1) + " must be an integer");
  int64_t digits = 0;
  bool constant_digits = site.arg_types.size() < 2 || (site.constants[1] && !site.constants[1]->is_null());
  if (site.arg_types.size() == 2 && constant_digits) digits = site.constants[1]->as_int();
  BoundFunction f;
  f.arg_types = {t, DataType::BigInt()};
  f.arg_types.resize(site.arg_types.size());
  if (t.root() == TypeRoot::kDecimal && constant_digits) {
    int s = t.scale();
    int new_scale = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(digits, s)));
    int p = std::min(38, t.precision() - s + new_scale + 1);
    f.return_type = DataType::Decimal(std::max(p, 1), new_scale);
    f.kernel = RowKernel(
        [s, new_scale, digits, truncate](ExecContext&, const Datum* a, Datum* o) {
          Int128 v = a[0].as_decimal();
          int drop = s - static_cast<int>(std::max<int64_t>(digits, -38));
          if (drop <= 0) {
            *o = Datum::Decimal(v * Pow10(new_scale - s));
            return Status::OK();
          }
          if (drop > 38) {
            *o = Datum::Decimal(0);
            return Status::OK();
          }
          Int128 div = Pow10(drop);
          Int128 q = v / div, r = v % div;
          if (r < 0) r = -r;
          if (!truncate && r >= div - r) q += v < 0 ? -1 : 1;
          // q has scale s - drop = digits; express in new_scale.
          int q_scale = s - drop;
          if (q_scale < new_scale) {
            q *= Pow10(new_scale - q_scale);
          } else if (q_scale > new_scale) {
            q /= Pow10(q_scale - new_scale);
          }
          if (digits < 0) q *= 1;  // already scaled to 0 digits
          *o = Datum::Decimal(q);
          return Status::OK();
        },
        false, 2);
    if (digits < 0) {
      // ROUND(123.45, -1) = 120: scale 0 result computed through doubles of the exact text.
      f.kernel = RowKernel(
          [s, digits, truncate](ExecContext&, const Datum* a, Datum* o) {
            Int128 v = a[0].as_decimal();
            int drop = s - static_cast<int>(digits);
            if (drop > 38) {
              *o = Datum::Decimal(0);
              return Status::OK();
            }
            Int128 div = Pow10(drop);
            Int128 q = v / div, r = v % div;
            if (r < 0) r = -r;
            if (!truncate && r >= div - r) q += v < 0 ? -1 : 1;
            *o = Datum::Decimal(q * Pow10(static_cast<int>(-digits)));
            return Status::OK();
          },
          false, 2);
    }
    return f;
  }
  if (IsIntegral(t)) {
    f.return_type = t.WithNullable(true);
    f.kernel = RowKernel(
        [truncate](ExecContext&, const Datum* a, Datum* o) {
          int64_t v = a[0].as_int();
          int64_t d = a[1].is_null() ? 0 : a[1].as_int();
          if (d >= 0) {
            *o = Datum::Int(v);
            return Status::OK();
          }
          if (d < -18) {
            *o = Datum::Int(0);
            return Status::OK();
          }
          int64_t div = 1;
          for (int64_t i = 0; i < -d; ++i) div *= 10;
          int64_t q = v / div, r = v % div;
          if (!truncate && (r < 0 ? -r : r) * 2 >= div) q += v < 0 ? -1 : 1;
          int64_t out;
          *o = __builtin_mul_overflow(q, div, &out) ? Datum() : Datum::Int(out);
          return Status::OK();
        },
        false, 2);
    return f;
  }
  f.return_type = IsApproximate(t) ? DataType::Double() : DataType::Double();
  f.arg_types[0] = DataType::Double();
  f.kernel = RowKernel(
      [truncate](ExecContext&, const Datum* a, Datum* o) {
        *o = Datum::Double(RoundDouble(a[0].as_double(), a[1].is_null() ? 0 : a[1].as_int(), truncate));
        return Status::OK();
      },
      false, 2);
  return f;
}

Result<BoundFunction> BindFloorCeil(const CallSite& site, bool ceil) {
  KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 1));
  const DataType& t = site.arg_types[0];
  BoundFunction f;
  if (IsIntegral(t)) {
    f.return_type = t.WithNullable(true);
    f.kernel = RowKernel([](ExecContext&, const Datum* a, Datum* o) {
      *o = a[0];
      return Status::OK();
    });
    return f;
  }
  if (t.root() == TypeRoot::kDecimal) {
    int s = t.scale();
    f.return_type = DataType::Decimal(std::max(1, std::min(38, t.precision() - s + 1)), 0);
    f.kernel = RowKernel([s, ceil](ExecContext&, const Datum* a, Datum* o) {
      Int128 v = a[0].as_decimal(), div = Pow10(s);
      Int128 q = v / div, r = v % div;
      if (r != 0 && ((v > 0) == ceil)) q += ceil ? 1 : -1;
      *o = Datum::Decimal(q);
      return Status::OK();
    });
    return f;
  }
  if (IsApproximate(t)) {
    f.return_type = DataType::Double();
    f.arg_types = {DataType::Double()};
    f.kernel = RowKernel([ceil](ExecContext&, const Datum* a, Datum* o) {
      *o = Datum::Double(ceil ? std::ceil(a[0].as_double()) : std::floor(a[0].as_double()));
      return Status::OK();
    });
    return f;
  }
  return site.Error(site.Arg(0) + " must be a number (or FLOOR(timestamp TO unit)), not " +
                    TypeName(t.WithNullable(true)));
}

}  // namespace

void RegisterMathFunctions(FunctionRegistry* r) {
  DataType D = DataType::Double();
  r->AddScalar(
      "ABS",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 1));
        const DataType& t = site.arg_types[0];
        if (!IsNumeric(t)) return site.Error(site.Arg(0) + " must be a number, not " + TypeName(t.WithNullable(true)));
        BoundFunction f;
        f.return_type = t.WithNullable(true);
        if (t.root() == TypeRoot::kFloat) f.return_type = DataType::Float();
        f.kernel = RowKernel([](ExecContext&, const Datum* a, Datum* o) {
          switch (a[0].kind()) {
            case Datum::Kind::kInt:
              *o = Datum::Int(static_cast<int64_t>(a[0].as_int() < 0 ? 0 - static_cast<uint64_t>(a[0].as_int())
                                                                     : static_cast<uint64_t>(a[0].as_int())));
              break;
            case Datum::Kind::kDouble: *o = Datum::Double(std::fabs(a[0].as_double())); break;
            default: *o = Datum::Decimal(a[0].as_decimal() < 0 ? -a[0].as_decimal() : a[0].as_decimal());
          }
          return Status::OK();
        });
        return f;
      },
      "ABS(x)");
  r->AddScalar(
      "ROUND", [](const CallSite& s) { return BindRound(s, false); }, "ROUND(x[, digits]): half away from zero");
  r->AddScalar(
      "TRUNCATE", [](const CallSite& s) { return BindRound(s, true); }, "TRUNCATE(x[, digits])");
  r->AddScalar(
      "FLOOR", [](const CallSite& s) { return BindFloorCeil(s, false); }, "FLOOR(x) | FLOOR(t TO unit)");
  r->AddScalar(
      "CEIL", [](const CallSite& s) { return BindFloorCeil(s, true); }, "CEIL(x) | CEIL(t TO unit)");
  r->AddScalar(
      "CEILING", [](const CallSite& s) { return BindFloorCeil(s, true); }, "CEILING(x)");
  r->AddScalar("SQRT", NumericUnary("SQRT", [](double x) { return std::sqrt(x); }), "SQRT(x)");
  r->AddScalar("EXP", NumericUnary("EXP", [](double x) { return std::exp(x); }), "EXP(x)");
  r->AddScalar("LN", NumericUnary("LN", [](double x) { return std::log(x); }), "LN(x)");
  r->AddScalar("LOG10", NumericUnary("LOG10", [](double x) { return std::log10(x); }), "LOG10(x)");
  r->AddScalar("LOG2", NumericUnary("LOG2", [](double x) { return std::log2(x); }), "LOG2(x)");
  r->AddScalar("SIN", NumericUnary("SIN", [](double x) { return std::sin(x); }), "SIN(x)");
  r->AddScalar("COS", NumericUnary("COS", [](double x) { return std::cos(x); }), "COS(x)");
  r->AddScalar("TAN", NumericUnary("TAN", [](double x) { return std::tan(x); }), "TAN(x)");
  r->AddScalar("ASIN", NumericUnary("ASIN", [](double x) { return std::asin(x); }), "ASIN(x)");
  r->AddScalar("ACOS", NumericUnary("ACOS", [](double x) { return std::acos(x); }), "ACOS(x)");
  r->AddScalar("ATAN", NumericUnary("ATAN", [](double x) { return std::atan(x); }), "ATAN(x)");
  r->AddScalar("DEGREES", NumericUnary("DEGREES", [](double x) { return x * 180.0 / M_PI; }), "DEGREES(x)");
  r->AddScalar("RADIANS", NumericUnary("RADIANS", [](double x) { return x * M_PI / 180.0; }), "RADIANS(x)");
  r->AddScalar("ATAN2",
               FixedBinder("nn", 2, D,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             *o = Datum::Double(std::atan2(a[0].as_double(), a[1].as_double()));
                             return Status::OK();
                           }),
               "ATAN2(y, x)");
  r->AddScalar("LOG",
               FixedBinder("nn", 1, D,
                           [](ExecContext&, const Datum* a, Datum* o) {
                             if (a[1].is_null()) {
                               *o = Datum::Double(std::log(a[0].as_double()));
                             } else {
                               *o = Datum::Double(std::log(a[1].as_double()) / std::log(a[0].as_double()));
                             }
                             return Status::OK();
                           }),
               "LOG(x) | LOG(base, x)");
  auto power = FixedBinder("nn", 2, D, [](ExecContext&, const Datum* a, Datum* o) {
    *o = Datum::Double(std::pow(a[0].as_double(), a[1].as_double()));
    return Status::OK();
  });
  r->AddScalar("POWER", power, "POWER(x, y)");
  r->AddScalar("POW", power, "POW(x, y)");
  r->AddScalar(
      "MOD",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
        return site.Error("internal: MOD is bound as the % operator");
      },
      "MOD(a, b): sign of a");
  r->AddScalar(
      "SIGN",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 1));
        const DataType& t = site.arg_types[0];
        if (!IsNumeric(t)) return site.Error(site.Arg(0) + " must be a number");
        BoundFunction f;
        f.return_type = IsIntegral(t) ? t.WithNullable(true) : DataType::Double();
        if (!IsIntegral(t)) f.arg_types = {DataType::Double()};
        f.kernel = RowKernel([](ExecContext&, const Datum* a, Datum* o) {
          if (a[0].kind() == Datum::Kind::kInt) {
            *o = Datum::Int(a[0].as_int() > 0 ? 1 : a[0].as_int() < 0 ? -1 : 0);
          } else {
            double v = a[0].as_double();
            *o = Datum::Double(v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0);
          }
          return Status::OK();
        });
        return f;
      },
      "SIGN(x)");
  r->AddScalar("PI",
               FixedBinder("", 0, D.NotNull(),
                           [](ExecContext&, const Datum*, Datum* o) {
                             *o = Datum::Double(M_PI);
                             return Status::OK();
                           }),
               "PI()");
  r->AddScalar("E",
               FixedBinder("", 0, D.NotNull(),
                           [](ExecContext&, const Datum*, Datum* o) {
                             *o = Datum::Double(M_E);
                             return Status::OK();
                           }),
               "E()");
  r->AddScalar(
      "RAND",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 0, 1));
        auto rng =
            std::make_shared<SharedRandom>(site.arg_types.empty() || !site.constants[0] || site.constants[0]->is_null()
                                               ? static_cast<uint64_t>(std::hash<std::string>{}(RandomUuid()))
                                               : static_cast<uint64_t>(site.constants[0]->as_int()));
        BoundFunction f = *FixedBinder(
            "i", 0, DataType::Double().NotNull(),
            [rng](ExecContext&, const Datum*, Datum* o) {
              std::lock_guard<std::mutex> lock(rng->mu);
              *o = Datum::Double(rng->random.NextDouble());
              return Status::OK();
            },
            true)(site);
        f.deterministic = false;
        return f;
      },
      "RAND([seed])");
  r->AddScalar(
      "RAND_INTEGER",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 2));
        auto rng = std::make_shared<SharedRandom>(static_cast<uint64_t>(std::hash<std::string>{}(RandomUuid())));
        BoundFunction f = *FixedBinder("ii", 1, DataType::Int(), [rng](ExecContext&, const Datum* a, Datum* o) {
          int64_t bound = a[1].is_null() ? a[0].as_int() : a[1].as_int();
          std::lock_guard<std::mutex> lock(rng->mu);
          *o = bound <= 0 ? Datum()
                          : Datum::Int(static_cast<int64_t>(rng->random.Uniform(static_cast<uint64_t>(bound))));
          return Status::OK();
        })(site);
        f.deterministic = false;
        return f;
      },
      "RAND_INTEGER([seed,] bound)");
  r->AddScalar("HEX",
               FixedBinder("x", 1, DataType::String(),
                           [](ExecContext&, const Datum* a, Datum* o) {
                             static const char* kDigits = "0123456789ABCDEF";
                             std::string out;
                             if (a[0].kind() == Datum::Kind::kBytes) {
                               for (unsigned char c : a[0].as_bytes()) {
                                 out.push_back(kDigits[c >> 4]);
                                 out.push_back(kDigits[c & 15]);
                               }
                             } else if (a[0].kind() == Datum::Kind::kInt) {
                               uint64_t v = static_cast<uint64_t>(a[0].as_int());
                               do {
                                 out.insert(out.begin(), kDigits[v & 15]);
                                 v >>= 4;
                               } while (v != 0);
                             } else {
                               *o = Datum();
                               return Status::OK();
                             }
                             *o = Datum::Bytes(out);
                             return Status::OK();
                           }),
               "HEX(x)");
  r->AddScalar("BIN",
               FixedBinder("i", 1, DataType::String(),
                           [](ExecContext&, const Datum* a, Datum* o) {
                             uint64_t v = static_cast<uint64_t>(a[0].as_int());
                             std::string out;
                             do {
                               out.insert(out.begin(), static_cast<char>('0' + (v & 1)));
                               v >>= 1;
                             } while (v != 0);
                             *o = Datum::Bytes(out);
                             return Status::OK();
                           }),
               "BIN(x)");
}

}  // namespace kl::sql
