#include "common/clock.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace kl {

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

namespace {

void FormatUtc(int64_t epoch_millis, bool with_millis, char* buf, size_t size) {
  int64_t secs = epoch_millis >= 0 ? epoch_millis / 1000 : (epoch_millis - 999) / 1000;
  int millis = static_cast<int>(epoch_millis - secs * 1000);
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  if (with_millis) {
    std::snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  } else {
    std::snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec);
  }
}

}  // namespace

// H. Hinnant's algorithms (days_from_civil / civil_from_days).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

int DaysInMonth(int64_t year, unsigned month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

int64_t AddMonthsToDay(int64_t day, int64_t months) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  int64_t index = y * 12 + (m - 1) + months;
  int64_t ny = FloorDiv(index, 12);
  unsigned nm = static_cast<unsigned>(index - ny * 12 + 1);
  return DaysFromCivil(ny, nm, std::min<unsigned>(d, static_cast<unsigned>(DaysInMonth(ny, nm))));
}

std::string FormatIsoMillis(int64_t epoch_millis) {
  char buf[96];
  FormatUtc(epoch_millis, true, buf, sizeof(buf));
  return buf;
}

std::string FormatRfc3339(int64_t epoch_millis) {
  char buf[96];
  FormatUtc(epoch_millis, false, buf, sizeof(buf));
  return buf;
}

namespace {

// The number in text[pos, pos + n) when it is all digits, else -1.
int FixedDigits(std::string_view text, size_t pos, size_t n) {
  if (pos + n > text.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    v = v * 10 + (text[i] - '0');
  }
  return v;
}

}  // namespace

int64_t ParseRfc3339Millis(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM], the form Kubernetes writes.
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || text[13] != ':' || text[16] != ':') return -1;
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return -1;
  int y = FixedDigits(text, 0, 4), mo = FixedDigits(text, 5, 2), d = FixedDigits(text, 8, 2);
  int h = FixedDigits(text, 11, 2), mi = FixedDigits(text, 14, 2), s = FixedDigits(text, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, static_cast<unsigned>(mo)) || h < 0 || h > 23 ||
      mi < 0 || mi > 59 || s < 0 || s > 60) {
    return -1;  // a second of 60 is RFC 3339's leap second
  }
  int64_t millis = 0;
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    int digits = 0;
    ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return -1;
    for (; digits < 3; ++digits) millis *= 10;
  }
  int64_t offset_minutes = 0;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh = FixedDigits(text, pos + 1, 2), om = FixedDigits(text, pos + 4, 2);
    if (oh < 0 || om < 0 || text[pos + 3] != ':' || pos + 6 != text.size()) return -1;
    offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
  } else if (pos < text.size() && (pos + 1 != text.size() || (text[pos] != 'Z' && text[pos] != 'z'))) {
    return -1;  // no zone at all is read as UTC
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi - offset_minutes) * 60000 + s * 1000 + millis;
}

}  // namespace kl
