#include "format/interval.h"

#include <cstdio>

namespace kl::format {

namespace {

constexpr int kKeyLowBits = 57;  // months (25 bits, biased) and days (32 bits, biased)
constexpr int64_t kDaysPerMonth = 30;
constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kIntervalMicrosPerDay = 24 * kMicrosPerHour;

}  // namespace

Result<Int128> IntervalKey(const Interval& v) {
  if (v.months > kMaxIntervalMonths || v.months < -kMaxIntervalMonths)
    return Status::InvalidArgument("interval out of range");
  Int128 low = (static_cast<Int128>(v.months + (1 << 24)) << 32) + (static_cast<int64_t>(v.days) + (int64_t{1} << 31));
  return IntervalLength(v) * (static_cast<Int128>(1) << kKeyLowBits) + low;
}

Interval IntervalFromKey(Int128 key) {
  Int128 length = key >> kKeyLowBits;  // arithmetic shift: floor
  int64_t low = static_cast<int64_t>(key - (length << kKeyLowBits));
  Interval v;
  v.months = static_cast<int32_t>((low >> 32) - (1 << 24));
  v.days = static_cast<int32_t>((low & 0xFFFFFFFFLL) - (int64_t{1} << 31));
  v.micros =
      static_cast<int64_t>(length - (static_cast<Int128>(v.months) * kDaysPerMonth + v.days) * kIntervalMicrosPerDay);
  return v;
}

Int128 IntervalLength(const Interval& v) {
  return (static_cast<Int128>(v.months) * kDaysPerMonth + v.days) * kIntervalMicrosPerDay + v.micros;
}

std::string FormatInterval(const Interval& v) {
  // Years and months from the months, hours down to microseconds from the time, each with
  // the sign of what it came from (C division), as PostgreSQL prints them.
  int64_t years = v.months / 12, months = v.months % 12;
  int64_t t = v.micros;
  int64_t hours = t / kMicrosPerHour;
  t -= hours * kMicrosPerHour;
  int64_t minutes = t / kMicrosPerMinute;
  t -= minutes * kMicrosPerMinute;
  int64_t seconds = t / kMicrosPerSecond;
  int64_t micros = t - seconds * kMicrosPerSecond;
  std::string out;
  bool is_zero = true, is_before = false;
  auto part = [&](int64_t value, const char* unit) {
    if (value == 0) return;
    if (!is_zero) out += ' ';
    if (is_before && value > 0) out += '+';
    out += std::to_string(value) + " " + unit + (value != 1 ? "s" : "");
    is_before = value < 0;
    is_zero = false;
  };
  part(years, "year");
  part(months, "mon");
  part(static_cast<int64_t>(v.days), "day");
  if (is_zero || hours != 0 || minutes != 0 || seconds != 0 || micros != 0) {
    bool minus = hours < 0 || minutes < 0 || seconds < 0 || micros < 0;
    if (!is_zero) out += ' ';
    out += minus ? "-" : is_before ? "+" : "";
    char buf[64];
    auto abs64 = [](int64_t x) {
      return x < 0 ? static_cast<uint64_t>(0) - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
    };
    std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu", static_cast<unsigned long long>(abs64(hours)),
                  static_cast<unsigned long long>(abs64(minutes)), static_cast<unsigned long long>(abs64(seconds)));
    out += buf;
    if (micros != 0) {
      std::snprintf(buf, sizeof buf, ".%06llu", static_cast<unsigned long long>(abs64(micros)));
      std::string frac = buf;
      while (frac.back() == '0') frac.pop_back();
      out += frac;
    }
  }
  return out;
}

}  // namespace kl::format
