#include "ingest/billing_time.h"

#include <cstdio>

#include "absl/status/status.h"
#include "base/str_cat.h"

namespace burnrate {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly n digits at *p.
bool Digits(std::string_view s, size_t* p, size_t n, int64_t* out) {
  if (*p + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*p + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return true;
}

// Reads 1 to max_n digits at *p.
bool SomeDigits(std::string_view s, size_t* p, size_t max_n, int64_t* out, size_t* count) {
  size_t n = 0;
  int64_t v = 0;
  while (*p + n < s.size() && n < max_n && IsDigit(s[*p + n])) {
    v = v * 10 + (s[*p + n] - '0');
    ++n;
  }
  if (n == 0) return false;
  *p += n;
  *out = v;
  *count = n;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

absl::Status Bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      StrCat("invalid timestamp \"", text.substr(0, 64), "\": ", why));
}

struct Parts {
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, nanos = 0;
  int64_t offset_seconds = 0;
};

// Parses [T| ]HH:MM[:SS[.fff]] then an optional zone: Z, UTC, +HH:MM, +HHMM, +HH.
absl::Status ParseClock(std::string_view text, size_t* p, Parts* t, bool compact) {
  const std::string_view s = text;
  if (!Digits(s, p, 2, &t->hour)) return Bad(text, "bad hour");
  if (!compact) {
    if (*p >= s.size() || s[*p] != ':') return Bad(text, "expected ':' after the hour");
    ++*p;
  }
  if (!Digits(s, p, 2, &t->minute)) return Bad(text, "bad minute");
  if (*p < s.size() && (s[*p] == ':' || (compact && IsDigit(s[*p])))) {
    if (s[*p] == ':') ++*p;
    if (!Digits(s, p, 2, &t->second)) return Bad(text, "bad second");
    if (*p < s.size() && (s[*p] == '.' || s[*p] == ',')) {
      ++*p;
      size_t n = 0;
      int64_t frac = 0;
      while (*p < s.size() && IsDigit(s[*p])) {
        if (n < 9) frac = frac * 10 + (s[*p] - '0');
        ++n;
        ++*p;
      }
      if (n == 0) return Bad(text, "empty fraction of a second");
      for (size_t k = n; k < 9; ++k) frac *= 10;
      t->nanos = frac;
    }
  }
  return absl::OkStatus();
}

absl::Status ParseZone(std::string_view text, size_t* p, Parts* t) {
  const std::string_view s = text;
  while (*p < s.size() && s[*p] == ' ') ++*p;
  if (*p == s.size()) return absl::OkStatus();
  if (s[*p] == 'Z' || s[*p] == 'z') {
    ++*p;
  } else if (s.substr(*p) == "UTC" || s.substr(*p) == "GMT") {
    *p += 3;
  } else if (s[*p] == '+' || s[*p] == '-') {
    const int sign = s[*p] == '-' ? -1 : 1;
    ++*p;
    int64_t hh = 0, mm = 0;
    if (!Digits(s, p, 2, &hh)) return Bad(text, "bad zone offset");
    if (*p < s.size() && s[*p] == ':') ++*p;
    if (*p < s.size() && !Digits(s, p, 2, &mm)) return Bad(text, "bad zone offset");
    if (hh > 23 || mm > 59) return Bad(text, "zone offset out of range");
    t->offset_seconds = sign * (hh * 3600 + mm * 60);
  } else {
    return Bad(text, "unexpected text after the time");
  }
  if (*p != s.size()) return Bad(text, "unexpected text after the zone");
  return absl::OkStatus();
}

absl::StatusOr<TimestampNs> Assemble(std::string_view text, const Parts& t) {
  if (t.year < 1900 || t.year > 9999) return Bad(text, "year out of range");
  if (t.month < 1 || t.month > 12) return Bad(text, "month out of range");
  if (t.day < 1 || t.day > DaysInMonth(t.year, static_cast<unsigned>(t.month))) {
    return Bad(text, "day out of range");
  }
  if (t.hour > 23) return Bad(text, "hour out of range");
  if (t.minute > 59) return Bad(text, "minute out of range");
  if (t.second > 59) return Bad(text, "second out of range");
  const int64_t days =
      DaysFromCivil(t.year, static_cast<unsigned>(t.month), static_cast<unsigned>(t.day));
  const int64_t seconds =
      days * 86400 + t.hour * 3600 + t.minute * 60 + t.second - t.offset_seconds;
  if (seconds > 9'000'000'000 || seconds < -2'000'000'000) return Bad(text, "out of range");
  return seconds * kNanosPerSecond + t.nanos;
}

// Month/day/year with an optional "H:MM[:SS] [AM|PM]" time.
absl::StatusOr<TimestampNs> ParseSlashDate(std::string_view text) {
  size_t p = 0;
  Parts t;
  size_t n = 0;
  if (!SomeDigits(text, &p, 2, &t.month, &n) || p >= text.size() || text[p] != '/') {
    return Bad(text, "expected month/day/year");
  }
  ++p;
  if (!SomeDigits(text, &p, 2, &t.day, &n) || p >= text.size() || text[p] != '/') {
    return Bad(text, "expected month/day/year");
  }
  ++p;
  if (!SomeDigits(text, &p, 4, &t.year, &n) || (n != 2 && n != 4)) {
    return Bad(text, "expected a two- or four-digit year");
  }
  if (n == 2) t.year += 2000;
  while (p < text.size() && text[p] == ' ') ++p;
  if (p < text.size() && IsDigit(text[p])) {
    if (!SomeDigits(text, &p, 2, &t.hour, &n) || p >= text.size() || text[p] != ':') {
      return Bad(text, "bad time");
    }
    ++p;
    if (!Digits(text, &p, 2, &t.minute)) return Bad(text, "bad minute");
    if (p < text.size() && text[p] == ':') {
      ++p;
      if (!Digits(text, &p, 2, &t.second)) return Bad(text, "bad second");
    }
    while (p < text.size() && text[p] == ' ') ++p;
    const std::string_view rest = text.substr(p);
    if (rest == "AM" || rest == "am" || rest == "PM" || rest == "pm") {
      if (t.hour < 1 || t.hour > 12) return Bad(text, "hour out of range for AM/PM");
      t.hour %= 12;
      if (rest[0] == 'P' || rest[0] == 'p') t.hour += 12;
      p = text.size();
    }
  }
  if (absl::Status s = ParseZone(text, &p, &t); !s.ok()) return s;
  return Assemble(text, t);
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* year, unsigned* month, unsigned* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = y + (*month <= 2);
}

absl::StatusOr<TimestampNs> ParseBillingTime(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return Bad(text, "empty");
  if (text.find('/') != std::string_view::npos) return ParseSlashDate(text);
  size_t p = 0;
  Parts t;
  if (!Digits(text, &p, 4, &t.year)) return Bad(text, "expected a year");
  if (p < text.size() && text[p] == '-') {
    ++p;
    if (!Digits(text, &p, 2, &t.month) || p >= text.size() || text[p] != '-') {
      return Bad(text, "expected YYYY-MM-DD");
    }
    ++p;
    if (!Digits(text, &p, 2, &t.day)) return Bad(text, "expected YYYY-MM-DD");
    if (p < text.size() && (text[p] == 'T' || text[p] == 't' || text[p] == ' ')) {
      ++p;
      while (p < text.size() && text[p] == ' ') ++p;
      if (p < text.size() && IsDigit(text[p])) {
        if (absl::Status s = ParseClock(text, &p, &t, /*compact=*/false); !s.ok()) return s;
      }
    }
  } else {
    // Compact ISO 8601 as CUR manifests write it: 20180801T000000.000Z.
    if (!Digits(text, &p, 2, &t.month) || !Digits(text, &p, 2, &t.day)) {
      return Bad(text, "expected YYYY-MM-DD or YYYYMMDD");
    }
    if (p < text.size() && (text[p] == 'T' || text[p] == 't')) {
      ++p;
      if (absl::Status s = ParseClock(text, &p, &t, /*compact=*/true); !s.ok()) return s;
    }
  }
  if (absl::Status s = ParseZone(text, &p, &t); !s.ok()) return s;
  return Assemble(text, t);
}

absl::Status ParseBillingInterval(std::string_view text, TimestampNs* start, TimestampNs* end) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return Bad(text, "expected start/end");
  absl::StatusOr<TimestampNs> a = ParseBillingTime(text.substr(0, slash));
  if (!a.ok()) return a.status();
  absl::StatusOr<TimestampNs> b = ParseBillingTime(text.substr(slash + 1));
  if (!b.ok()) return b.status();
  *start = *a;
  *end = *b;
  return absl::OkStatus();
}

std::string MonthOf(TimestampNs t) {
  int64_t days = t / kNanosPerDay;
  if (t % kNanosPerDay < 0) --days;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04lld-%02u", static_cast<long long>(y), m);
  return buf;
}

std::string FormatBillingTime(TimestampNs t) {
  int64_t days = t / kNanosPerDay;
  int64_t rem = t % kNanosPerDay;
  if (rem < 0) {
    rem += kNanosPerDay;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  const int64_t secs = rem / kNanosPerSecond;
  const int64_t nanos = rem % kNanosPerSecond;
  char buf[64];
  if (nanos == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                  static_cast<long long>(nanos));
  }
  return buf;
}

}  // namespace burnrate
