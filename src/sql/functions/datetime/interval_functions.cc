// PostgreSQL's interval operators and functions (PostgreSQL sessions): the operators the
// binder calls (operators.h) and age, make_interval, justify_*, extract / date_part /
// date_trunc of an interval, SUM and AVG of intervals.
#include <cmath>

#include "common/clock.h"
#include "common/string_util.h"
#include "sql/binder/types.h"
#include "sql/functions/datetime/interval.h"
#include "sql/functions/function.h"
#include "sql/functions/operators.h"

namespace kl::sql {

using format::Int128;
using format::Timestamp;
using format::TypeRoot;

namespace {

Interval Get(const Datum& d) { return IntervalFromKey(d.as_decimal()); }

Result<Datum> Put(const Interval& v) {
  KL_ASSIGN_OR_RETURN(Int128 key, IntervalKey(v));
  return Datum::Decimal(key);
}

Status Set(Result<Interval> r, Datum* o) {
  if (!r.ok()) return r.status();
  KL_ASSIGN_OR_RETURN(*o, Put(*r));
  return Status::OK();
}

// Timestamps kubelake holds: years 1 to 9999.
const int64_t kMinMicros = DaysFromCivil(1, 1, 1) * kIntervalMicrosPerDay;
const int64_t kEndMicros = DaysFromCivil(10000, 1, 1) * kIntervalMicrosPerDay;

Result<int64_t> InRange(Int128 micros) {
  if (micros < kMinMicros || micros >= kEndMicros) return Status::InvalidArgument("timestamp out of range");
  return static_cast<int64_t>(micros);
}

// Wall-clock microseconds of a timestamp (a timestamptz in the session zone).
int64_t Wall(ExecContext& ctx, const Datum& d, bool with_zone) {
  int64_t micros = d.as_timestamp().ToMicros();
  if (with_zone) micros += ctx.OffsetMillisAtUtc(FloorDiv(micros, 1000)) * 1000;
  return micros;
}

// A wall-clock time read back as an instant in the session zone.
int64_t FromWall(ExecContext& ctx, int64_t wall) { return wall - ctx.OffsetMillisAtLocal(FloorDiv(wall, 1000)) * 1000; }

// Which of timestamp / timestamptz two arguments meet at: timestamp when both are
// timestamps, else timestamptz (PostgreSQL's preferred type for dates and text too).
DataType MeetingTimestamp(const DataType& a, const DataType& b) {
  if (a.root() == TypeRoot::kTimestamp && b.root() == TypeRoot::kTimestamp) return DataType::Timestamp(6);
  return DataType::TimestampLtz(6);
}

bool TimestampLike(const DataType& t) {
  return t.root() == TypeRoot::kTimestamp || t.root() == TypeRoot::kTimestampLtz || t.root() == TypeRoot::kDate ||
         IsStringType(t);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// PostgreSQL's spellings of the units extract() and date_trunc() take for an interval
// ("epoch", and unknown units for the caller's error, as written).
std::string IntervalUnit(const std::string& written) {
  std::string u = PostgresUnit(written);
  return u.empty() ? Lower(written) : u;
}

// SUM and AVG of intervals: field by field, as PostgreSQL adds them; AVG divides the sum.
class IntervalSumState : public AggregateState {
 public:
  explicit IntervalSumState(bool average) : average_(average) {}
  void Resize(size_t n) override {
    sums_.resize(n);
    counts_.resize(n, 0);
  }
  Status Update(const std::vector<const Column*>& args, const uint32_t* groups, size_t n) override {
    const Column& c = *args[0];
    for (size_t i = 0; i < n; ++i) {
      if (c.IsNull(i)) continue;
      uint32_t g = groups[i];
      KL_ASSIGN_OR_RETURN(sums_[g], AddIntervals(sums_[g], IntervalFromKey(c.GetDecimal(i))));
      ++counts_[g];
    }
    return Status::OK();
  }
  Status Finish(size_t g, Column* out) override {
    if (counts_[g] == 0) {
      out->AppendNull();
      return Status::OK();
    }
    Interval v = sums_[g];
    if (average_) {
      KL_ASSIGN_OR_RETURN(v, DivideInterval(v, static_cast<double>(counts_[g])));
    }
    KL_ASSIGN_OR_RETURN(Int128 key, IntervalKey(v));
    out->AppendDecimal(key);
    return Status::OK();
  }
  int64_t MemoryBytes() const override { return static_cast<int64_t>(counts_.capacity() * 24); }

 private:
  bool average_;
  std::vector<Interval> sums_;
  std::vector<int64_t> counts_;
};

}  // namespace

Result<BoundFunction> BindIntervalComparison(const std::string& op) {
  std::function<bool(int)> test;
  if (op == "=") test = [](int c) { return c == 0; };
  if (op == "<>") test = [](int c) { return c != 0; };
  if (op == "<") test = [](int c) { return c < 0; };
  if (op == "<=") test = [](int c) { return c <= 0; };
  if (op == ">") test = [](int c) { return c > 0; };
  if (op == ">=") test = [](int c) { return c >= 0; };
  if (!test) return Status::Internal("unknown comparison " + op);
  BoundFunction f;
  f.return_type = DataType::Boolean();
  // PostgreSQL compares lengths with 30-day months and 24-hour days: '1 mon' = '30 days'.
  f.kernel = [test](ExecContext&, const std::vector<const Column*>& args, size_t rows, Column* out) -> Status {
    for (size_t i = 0; i < rows; ++i) {
      if (args[0]->IsNull(i) || args[1]->IsNull(i)) {
        out->AppendNull();
        continue;
      }
      Int128 a = IntervalLength(IntervalFromKey(args[0]->GetDecimal(i)));
      Int128 b = IntervalLength(IntervalFromKey(args[1]->GetDecimal(i)));
      out->AppendInt(test(a < b ? -1 : a > b ? 1 : 0) ? 1 : 0);
    }
    return Status::OK();
  };
  return f;
}

BoundFunction BindIntervalAddInterval(bool subtract) {
  BoundFunction f;
  f.return_type = DataType::Interval();
  f.kernel = RowKernel([subtract](ExecContext&, const Datum* a, Datum* o) -> Status {
    Interval b = Get(a[1]);
    if (subtract) {
      KL_ASSIGN_OR_RETURN(b, NegateInterval(b));
    }
    return Set(AddIntervals(Get(a[0]), b), o);
  });
  return f;
}

BoundFunction BindIntervalNegate() {
  BoundFunction f;
  f.return_type = DataType::Interval();
  f.kernel = RowKernel([](ExecContext&, const Datum* a, Datum* o) { return Set(NegateInterval(Get(a[0])), o); });
  return f;
}

BoundFunction BindIntervalScale(bool divide, bool interval_first) {
  BoundFunction f;
  f.return_type = DataType::Interval();
  f.arg_types = interval_first ? std::vector<DataType>{DataType::Interval(), DataType::Double()}
                               : std::vector<DataType>{DataType::Double(), DataType::Interval()};
  f.kernel = RowKernel([divide, interval_first](ExecContext&, const Datum* a, Datum* o) -> Status {
    Interval v = Get(a[interval_first ? 0 : 1]);
    double x = a[interval_first ? 1 : 0].as_double();
    return Set(divide ? DivideInterval(v, x) : MultiplyInterval(v, x), o);
  });
  return f;
}

BoundFunction BindTimestampDifference(const DataType& t) {
  BoundFunction f;
  f.return_type = DataType::Interval();
  f.arg_types = {t, t};
  f.kernel = RowKernel([](ExecContext&, const Datum* a, Datum* o) {
    return Set(TimestampDifference(a[0].as_timestamp().ToMicros(), a[1].as_timestamp().ToMicros()), o);
  });
  return f;
}

namespace {

// t + v: months and days move the wall clock (the session zone's for a timestamptz, so a day
// across a change to summer time is 23 hours); the time is added to the instant.
Result<int64_t> AddToTimestamp(ExecContext& ctx, int64_t micros, const Interval& v, bool with_zone) {
  if (v.months != 0 || v.days != 0) {
    int64_t wall = micros;
    if (with_zone) wall += ctx.OffsetMillisAtUtc(FloorDiv(micros, 1000)) * 1000;
    if (wall < kMinMicros || wall >= kEndMicros) return Status::InvalidArgument("timestamp out of range");
    KL_ASSIGN_OR_RETURN(int64_t moved, InRange(AddMonthsAndDays(wall, v.months, v.days)));
    micros = with_zone ? FromWall(ctx, moved) : moved;
  }
  return InRange(static_cast<Int128>(micros) + v.micros);
}

}  // namespace

BoundFunction BindTimestampAddInterval(const DataType& t, bool subtract) {
  BoundFunction f;
  f.return_type = t;
  f.arg_types = {t, DataType::Interval()};
  bool with_zone = t.root() == TypeRoot::kTimestampLtz;
  f.kernel = RowKernel([with_zone, subtract](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
    Interval v = Get(a[1]);
    if (subtract) {
      KL_ASSIGN_OR_RETURN(v, NegateInterval(v));
    }
    KL_ASSIGN_OR_RETURN(int64_t r, AddToTimestamp(ctx, a[0].as_timestamp().ToMicros(), v, with_zone));
    *o = Datum::Time(Timestamp::FromMicros(r));
    return Status::OK();
  });
  return f;
}

BoundFunction BindTimeAddInterval(const DataType& time, bool subtract) {
  BoundFunction f;
  f.return_type = time;
  f.arg_types = {time, DataType::Interval()};
  f.kernel = RowKernel([subtract](ExecContext&, const Datum* a, Datum* o) -> Status {
    int64_t step = Get(a[1]).micros % kIntervalMicrosPerDay;
    if (subtract) step = -step;
    int64_t micros = a[0].as_int() * 1000 + step;
    micros = (micros % kIntervalMicrosPerDay + kIntervalMicrosPerDay) % kIntervalMicrosPerDay;
    // A time holds milliseconds of the day: finer digits of the result are cut off.
    *o = Datum::Int(micros / 1000);
    return Status::OK();
  });
  return f;
}

void RegisterIntervalFunctions(FunctionRegistry* r) {
  // The timestamps generate_series(start, stop, interval) walks (see the binder): each the
  // previous plus the step, as PostgreSQL adds it (a month step keeps a day once clamped:
  // Jan 31, Feb 29, Mar 29; months and days of a timestamptz on the session zone's wall clock).
  r->AddScalar(
      "__TIME_SERIES",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 3, 3));
        // Text and dates are read as timestamptz, as PostgreSQL resolves them; the start's type
        // is the series'.
        DataType t = site.arg_types[0];
        if (IsStringType(t) || t.root() == TypeRoot::kDate) t = DataType::TimestampLtz(6);
        if (t.root() != TypeRoot::kTimestamp && t.root() != TypeRoot::kTimestampLtz) {
          return site.Error("generate_series with an interval step walks timestamps; argument 1 is " +
                            TypeName(site.arg_types[0].WithNullable(true)));
        }
        bool with_zone = t.root() == TypeRoot::kTimestampLtz;
        BoundFunction f;
        f.return_type = DataType::Array(t.WithNullable(false));
        f.arg_types = {t, t, DataType::Interval()};
        f.kernel = RowKernel([with_zone](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          int64_t v = a[0].as_timestamp().ToMicros(), stop = a[1].as_timestamp().ToMicros();
          Interval step = Get(a[2]);
          Int128 length = IntervalLength(step);
          if (length == 0) return Status::InvalidArgument("generate_series: the step interval cannot be zero");
          format::DatumList items;
          while (length > 0 ? v <= stop : v >= stop) {
            if (items.size() >= 10000000) {
              return Status::InvalidArgument("generate_series of more than 10,000,000 values is not supported");
            }
            items.push_back(Datum::Time(Timestamp::FromMicros(v)));
            auto next = AddToTimestamp(ctx, v, step, with_zone);
            if (!next.ok()) break;  // the series ends at the last timestamp there is
            v = *next;
          }
          *o = Datum::List(std::move(items));
          return Status::OK();
        });
        return f;
      },
      "");

  r->AddScalar(
      "AGE",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 2));
        for (size_t i = 0; i < site.arg_types.size(); ++i) {
          if (!TimestampLike(site.arg_types[i])) {
            return site.Error(site.Arg(i) + " must be a timestamp, timestamptz or date, not " +
                              TypeName(site.arg_types[i].WithNullable(true)));
          }
        }
        DataType t = site.arg_types.size() == 2 ? MeetingTimestamp(site.arg_types[0], site.arg_types[1])
                                                : MeetingTimestamp(site.arg_types[0], site.arg_types[0]);
        bool with_zone = t.root() == TypeRoot::kTimestampLtz;
        bool one = site.arg_types.size() == 1;
        BoundFunction f;
        f.return_type = DataType::Interval();
        f.arg_types = one ? std::vector<DataType>{t} : std::vector<DataType>{t, t};
        f.deterministic = !one;
        f.kernel = RowKernel([with_zone, one](ExecContext& ctx, const Datum* a, Datum* o) -> Status {
          int64_t later;
          if (one) {
            // age(t): from midnight of the session's current date.
            int64_t now = ctx.statement_time_millis * 1000;
            now += ctx.OffsetMillisAtUtc(ctx.statement_time_millis) * 1000;
            later = FloorDiv(now, kIntervalMicrosPerDay) * kIntervalMicrosPerDay;
          } else {
            later = Wall(ctx, a[0], with_zone);
          }
          return Set(Age(later, Wall(ctx, a[one ? 0 : 1], with_zone)), o);
        });
        return f;
      },
      "AGE(t1, t2) | AGE(t): years, months and days from t2 (or midnight today) to t1");

  r->AddScalar(
      "MAKE_INTERVAL",
      [](const CallSite& site) -> Result<BoundFunction> {
        KL_RETURN_IF_ERROR(CheckArgCount(site, 0, 7));
        BoundFunction f;
        f.return_type = DataType::Interval();
        for (size_t i = 0; i < site.arg_types.size(); ++i) {
          bool secs = i == 6;
          if (!(secs ? IsNumeric(site.arg_types[i]) : IsIntegral(site.arg_types[i])) && !site.untyped_null[i]) {
            return site.Error(site.Arg(i) + " must be " + (secs ? "a number" : "an integer") + ", not " +
                              TypeName(site.arg_types[i].WithNullable(true)) +
                              " (make_interval(years, months, weeks, days, hours, mins, secs))");
          }
          f.arg_types.push_back(secs ? DataType::Double() : DataType::BigInt());
        }
        size_t n = site.arg_types.size();
        f.kernel = RowKernel(
            [n](ExecContext&, const Datum* a, Datum* o) -> Status {
              int64_t v[6] = {0, 0, 0, 0, 0, 0};
              double secs = 0;
              for (size_t i = 0; i < n; ++i) {
                if (i < 6) {
                  if (a[i].as_int() > INT32_MAX || a[i].as_int() < INT32_MIN)
                    return Status::InvalidArgument("interval out of range");
                  v[i] = a[i].as_int();
                } else {
                  secs = a[i].as_double();
                }
              }
              Int128 months = static_cast<Int128>(v[0]) * 12 + v[1];
              Int128 days = static_cast<Int128>(v[2]) * 7 + v[3];
              double micros = std::rint(secs * 1e6);
              if (std::isnan(micros) || std::fabs(micros) >= 9.2e18)
                return Status::InvalidArgument("interval out of range");
              Int128 time =
                  (static_cast<Int128>(v[4]) * 60 + v[5]) * 60 * kMicrosPerSecond + static_cast<int64_t>(micros);
              if (months > INT32_MAX || months < INT32_MIN || days > INT32_MAX || days < INT32_MIN ||
                  time > INT64_MAX || time < INT64_MIN) {
                return Status::InvalidArgument("interval out of range");
              }
              return Set(Interval{static_cast<int32_t>(months), static_cast<int32_t>(days), static_cast<int64_t>(time)},
                         o);
            },
            false, n);
        return f;
      },
      "MAKE_INTERVAL(years, months, weeks, days, hours, mins, secs): each optional (0)");

  auto justify = [](Result<Interval> (*fn)(const Interval&), const char* name) {
    return [fn, name](const CallSite& site) -> Result<BoundFunction> {
      KL_RETURN_IF_ERROR(CheckArgCount(site, 1, 1));
      if (site.arg_types[0].root() != TypeRoot::kInterval && !IsStringType(site.arg_types[0])) {
        return site.Error(std::string(name) + " needs an interval, not " +
                          TypeName(site.arg_types[0].WithNullable(true)));
      }
      BoundFunction f;
      f.return_type = DataType::Interval();
      f.arg_types = {DataType::Interval()};
      f.kernel = RowKernel([fn](ExecContext&, const Datum* a, Datum* o) { return Set(fn(Get(a[0])), o); });
      return f;
    };
  };
  r->AddScalar("JUSTIFY_DAYS", justify(&JustifyDays, "justify_days"), "JUSTIFY_DAYS(interval): 30 days as a month");
  r->AddScalar("JUSTIFY_HOURS", justify(&JustifyHours, "justify_hours"), "JUSTIFY_HOURS(interval): 24 hours as a day");
  r->AddScalar("JUSTIFY_INTERVAL", justify(&JustifyInterval, "justify_interval"),
               "JUSTIFY_INTERVAL(interval): justify_days and justify_hours, signs made to agree");

  // extract(field from interval) and date_trunc(field, interval); other arguments go to the
  // functions registered before.
  auto interval_extract = [](const CallSite& site, const std::string& unit) -> Result<BoundFunction> {
    int scale = 0;
    auto probe = ExtractFromInterval(unit, Interval{}, &scale);
    if (!probe.ok()) return site.Error(probe.status().message());
    BoundFunction f;
    f.return_type = DataType::Decimal(scale == 0 ? 20 : 26, scale);
    f.arg_types = {DataType::String(), DataType::Interval()};
    f.kernel = RowKernel([unit](ExecContext&, const Datum* a, Datum* o) -> Status {
      int s = 0;
      KL_ASSIGN_OR_RETURN(Int128 v, ExtractFromInterval(unit, Get(a[1]), &s));
      *o = Datum::Decimal(v);
      return Status::OK();
    });
    return f;
  };
  if (const ScalarBinder* previous = r->FindScalar("EXTRACT")) {
    ScalarBinder before = *previous;
    r->AddScalar(
        "EXTRACT",
        [before, interval_extract](const CallSite& site) -> Result<BoundFunction> {
          if (!site.postgres || site.arg_types.size() != 2 || site.arg_types[1].root() != TypeRoot::kInterval ||
              !site.constants[0] || site.constants[0]->is_null()) {
            return before(site);
          }
          return interval_extract(site, IntervalUnit(site.constants[0]->as_bytes()));
        },
        "EXTRACT(unit FROM t) (PostgreSQL sessions: also from an interval)");
  }

  if (const ScalarBinder* previous = r->FindScalar("DATE_TRUNC")) {
    ScalarBinder before = *previous;
    r->AddScalar(
        "DATE_TRUNC",
        [before](const CallSite& site) -> Result<BoundFunction> {
          if (!site.postgres || site.arg_types.size() != 2 || site.arg_types[1].root() != TypeRoot::kInterval) {
            return before(site);
          }
          if (!IsStringType(site.arg_types[0]) || !site.constants[0] || site.constants[0]->is_null()) {
            return site.Error("the unit of date_trunc must be constant text such as 'hour'");
          }
          std::string unit = IntervalUnit(site.constants[0]->as_bytes());
          auto probe = TruncateInterval(unit, Interval{});
          if (!probe.ok()) return site.Error(probe.status().message());
          BoundFunction f;
          f.return_type = DataType::Interval();
          f.arg_types = {DataType::String(), DataType::Interval()};
          f.kernel = RowKernel(
              [unit](ExecContext&, const Datum* a, Datum* o) { return Set(TruncateInterval(unit, Get(a[1])), o); });
          return f;
        },
        "DATE_TRUNC(unit, t) (PostgreSQL sessions: also of an interval)");
  }

  // SUM and AVG of intervals; numbers go to the aggregates registered before.
  for (const char* name : {"SUM", "AVG"}) {
    const AggregateBinder* previous = r->FindAggregate(name);
    if (previous == nullptr) continue;
    AggregateBinder before = *previous;
    bool average = std::string(name) == "AVG";
    r->AddAggregate(
        name,
        [before, average](const CallSite& site) -> Result<BoundAggregate> {
          if (site.arg_types.size() != 1 || site.arg_types[0].root() != TypeRoot::kInterval) return before(site);
          BoundAggregate a;
          a.return_type = DataType::Interval();
          a.arg_types = {DataType::Interval()};
          a.make = [average] { return std::make_unique<IntervalSumState>(average); };
          return a;
        },
        std::string(name) + "([DISTINCT] number | interval)");
  }

  // date_part(unit, x): extract as double precision (PostgreSQL's date_part).
  // (Registered last: it returns early when there is no EXTRACT to wrap.)
  const ScalarBinder* extract_binder = r->FindScalar("EXTRACT");
  if (extract_binder == nullptr) return;
  ScalarBinder extract = *extract_binder;
  r->AddScalar(
      "DATE_PART",
      [extract](const CallSite& site) -> Result<BoundFunction> {
        if (!site.postgres) return site.Error("date_part is PostgreSQL's; write EXTRACT(unit FROM t)");
        KL_RETURN_IF_ERROR(CheckArgCount(site, 2, 2));
        if (!IsStringType(site.arg_types[0]) || !site.constants[0] || site.constants[0]->is_null()) {
          return site.Error("the unit of date_part must be constant text such as 'hour'");
        }
        CallSite inner = site;
        inner.name = "EXTRACT";
        std::string unit = IntervalUnit(site.constants[0]->as_bytes());
        // EXTRACT takes its field in upper case, as the parser gives it.
        std::string field = unit == "microseconds"   ? "MICROSECOND"
                            : unit == "milliseconds" ? "MILLISECOND"
                                                     : ToUpper(unit);
        inner.constants[0] = Datum::Bytes(field);
        KL_ASSIGN_OR_RETURN(BoundFunction e, extract(inner));
        BoundFunction f;
        f.return_type = DataType::Double();
        f.arg_types = e.arg_types;
        if (f.arg_types.empty()) f.arg_types = {DataType::String(), site.arg_types[1]};
        DataType inner_type = e.return_type;
        ScalarKernel kernel = e.kernel;
        f.deterministic = e.deterministic;
        f.kernel = [inner_type, kernel, field](ExecContext& ctx, const std::vector<const Column*>& args, size_t rows,
                                               Column* out) -> Status {
          // The inner call reads its field as EXTRACT spells it.
          Column unit_column(DataType::String());
          for (size_t i = 0; i < rows; ++i) unit_column.AppendBytes(field);
          std::vector<const Column*> inner_args = args;
          inner_args[0] = &unit_column;
          Column values(inner_type);
          KL_RETURN_IF_ERROR(kernel(ctx, inner_args, rows, &values));
          for (size_t i = 0; i < rows; ++i) {
            if (values.IsNull(i)) {
              out->AppendNull();
            } else if (inner_type.root() == TypeRoot::kDecimal) {
              double v = static_cast<double>(values.GetDecimal(i));
              for (int s = 0; s < inner_type.scale(); ++s) v /= 10;
              out->AppendDouble(v);
            } else if (inner_type.physical() == format::PhysicalKind::kDouble) {
              out->AppendDouble(values.GetDouble(i));
            } else {
              out->AppendDouble(static_cast<double>(values.GetInt(i)));
            }
          }
          return Status::OK();
        };
        return f;
      },
      "DATE_PART(unit, t): extract(unit from t) as double precision (PostgreSQL sessions)");
}

}  // namespace kl::sql
