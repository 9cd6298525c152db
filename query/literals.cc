#include "query/literals.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "base/str_cat.h"

namespace burnrate {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

absl::Status InvalidDuration(std::string_view text) {
  return absl::InvalidArgumentError(
      StrCat("invalid duration ", text, " (units: ns, u, µ, ms, s, m, h, d, w)"));
}

absl::Status InvalidTime(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(StrCat("invalid time literal '", text, "': ", why));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return kDays[m - 1];
}

// Reads exactly `n` digits at text[*i].
bool ReadDigits(std::string_view text, size_t* i, int n, int64_t* out) {
  if (*i + n > text.size()) return false;
  int64_t v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = text[*i + k];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* i, char c) {
  if (*i >= text.size() || text[*i] != c) return false;
  ++*i;
  return true;
}

}  // namespace

absl::StatusOr<int64_t> ParseDuration(std::string_view text, bool negative) {
  if (text.empty()) return InvalidDuration(text);
  __int128 total = 0;
  const __int128 limit = static_cast<__int128>(std::numeric_limits<int64_t>::max()) + 1;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) return InvalidDuration(text);
    __int128 n = 0;
    while (i < text.size() && IsDigit(text[i])) {
      n = n * 10 + (text[i] - '0');
      if (n > limit) return InvalidDuration(text);
      ++i;
    }
    const std::string_view rest = text.substr(i);
    int64_t unit = 0;
    size_t unit_len = 1;
    if (rest.substr(0, 2) == "ns") {
      unit = 1;
      unit_len = 2;
    } else if (rest.substr(0, 2) == "ms") {
      unit = 1'000'000;
      unit_len = 2;
    } else if (rest.substr(0, 2) == "\xC2\xB5") {
      unit = 1'000;
      unit_len = 2;
    } else if (!rest.empty()) {
      switch (rest[0]) {
        case 'u':
          unit = 1'000;
          break;
        case 's':
          unit = kNsPerSecond;
          break;
        case 'm':
          unit = 60 * kNsPerSecond;
          break;
        case 'h':
          unit = 3600 * kNsPerSecond;
          break;
        case 'd':
          unit = 86400 * kNsPerSecond;
          break;
        case 'w':
          unit = 7 * 86400 * kNsPerSecond;
          break;
        default:
          break;
      }
    }
    if (unit == 0) return InvalidDuration(text);
    i += unit_len;
    total += n * unit;
    if (total > limit) return InvalidDuration(text);
  }
  if (negative) total = -total;
  if (total > std::numeric_limits<int64_t>::max() || total < std::numeric_limits<int64_t>::min()) {
    return InvalidDuration(text);
  }
  return static_cast<int64_t>(total);
}

std::string FormatDuration(int64_t ns) {
  if (ns == 0) return "0s";
  const bool negative = ns < 0;
  // The magnitude of INT64_MIN does not fit int64.
  const uint64_t mag = negative ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  struct Unit {
    uint64_t ns;
    std::string_view suffix;
  };
  static constexpr Unit kUnits[] = {
      {7ULL * 86400 * kNsPerSecond, "w"},
      {86400ULL * kNsPerSecond, "d"},
      {3600ULL * kNsPerSecond, "h"},
      {60ULL * kNsPerSecond, "m"},
      {kNsPerSecond, "s"},
      {1'000'000, "ms"},
      {1'000, "u"},
      {1, "ns"},
  };
  for (const Unit& u : kUnits) {
    if (mag % u.ns == 0) return StrCat(negative ? "-" : "", mag / u.ns, u.suffix);
  }
  return StrCat(negative ? "-" : "", mag, "ns");
}

absl::StatusOr<TimeLiteral> ParseTimeString(std::string_view text) {
  constexpr std::string_view kFormats =
      "expected 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS[.fffffffff]' or RFC3339 "
      "'YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|+hh:mm)'";
  size_t i = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, frac_ns = 0;
  if (!ReadDigits(text, &i, 4, &year) || !Expect(text, &i, '-') ||
      !ReadDigits(text, &i, 2, &month) || !Expect(text, &i, '-') ||
      !ReadDigits(text, &i, 2, &day)) {
    return InvalidTime(text, kFormats);
  }
  if (month < 1 || month > 12) return InvalidTime(text, "month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return InvalidTime(text, "day out of range");
  bool has_zone = false;
  int64_t offset_seconds = 0;
  if (i < text.size()) {
    const char sep = text[i];
    if (sep != 'T' && sep != 't' && sep != ' ') return InvalidTime(text, kFormats);
    ++i;
    if (!ReadDigits(text, &i, 2, &hour) || !Expect(text, &i, ':') ||
        !ReadDigits(text, &i, 2, &minute) || !Expect(text, &i, ':') ||
        !ReadDigits(text, &i, 2, &second)) {
      return InvalidTime(text, kFormats);
    }
    if (hour > 23 || minute > 59 || second > 59)
      return InvalidTime(text, "time of day out of range");
    if (i < text.size() && text[i] == '.') {
      ++i;
      int digits = 0;
      while (i < text.size() && IsDigit(text[i])) {
        if (++digits > 9) return InvalidTime(text, "more than 9 fractional digits");
        frac_ns = frac_ns * 10 + (text[i] - '0');
        ++i;
      }
      if (digits == 0) return InvalidTime(text, kFormats);
      for (int k = digits; k < 9; ++k) frac_ns *= 10;
    }
    if (i < text.size()) {
      const char z = text[i];
      if (z == 'Z' || z == 'z') {
        ++i;
        has_zone = true;
      } else if (z == '+' || z == '-') {
        ++i;
        int64_t oh = 0, om = 0;
        if (!ReadDigits(text, &i, 2, &oh) || !Expect(text, &i, ':') ||
            !ReadDigits(text, &i, 2, &om)) {
          return InvalidTime(text, kFormats);
        }
        if (oh > 23 || om > 59) return InvalidTime(text, "zone offset out of range");
        offset_seconds = (oh * 3600 + om * 60) * (z == '-' ? -1 : 1);
        has_zone = true;
      }
    }
    if (i != text.size()) return InvalidTime(text, kFormats);
  }
  const __int128 seconds = static_cast<__int128>(DaysFromCivil(year, month, day)) * 86400 +
                           hour * 3600 + minute * 60 + second - offset_seconds;
  const __int128 ns = seconds * kNsPerSecond + frac_ns;
  if (ns > std::numeric_limits<int64_t>::max() || ns < std::numeric_limits<int64_t>::min()) {
    return InvalidTime(text, "outside the representable range (1677-09-21 to 2262-04-11)");
  }
  TimeLiteral t;
  t.text = std::string(text);
  t.ns = static_cast<int64_t>(ns);
  t.has_zone = has_zone;
  return t;
}

absl::StatusOr<TimestampNs> ResolveTime(const TimeLiteral& t, const absl::TimeZone& tz) {
  if (t.has_zone) return t.ns;
  int64_t secs = t.ns / kNsPerSecond;
  int64_t sub = t.ns % kNsPerSecond;
  if (sub < 0) {
    sub += kNsPerSecond;
    --secs;
  }
  const absl::CivilSecond civil =
      absl::ToCivilSecond(absl::FromUnixSeconds(secs), absl::UTCTimeZone());
  const int64_t local = absl::ToUnixSeconds(tz.At(civil).pre);
  const __int128 ns = static_cast<__int128>(local) * kNsPerSecond + sub;
  if (ns > std::numeric_limits<int64_t>::max() || ns < std::numeric_limits<int64_t>::min()) {
    return absl::InvalidArgumentError(
        StrCat("time literal '", t.text, "' in zone ", tz.name(), " is out of range"));
  }
  return static_cast<TimestampNs>(ns);
}

absl::StatusOr<absl::TimeZone> LoadQueryTimeZone(std::string_view name) {
  if (name.empty() || name == "UTC") return absl::UTCTimeZone();
  bool ok = name.size() <= 64 && name.front() != '/' && name.find("..") == std::string_view::npos;
  for (char c : name) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) ||
                         c == '_' || c == '+' || c == '-' || c == '/';
    ok = ok && allowed;
  }
  absl::TimeZone tz;
  if (!ok || !absl::LoadTimeZone(std::string(name), &tz)) {
    return absl::InvalidArgumentError(StrCat("unable to find time zone ", name));
  }
  return tz;
}

}  // namespace burnrate
