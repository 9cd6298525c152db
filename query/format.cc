#include "query/format.h"

#include <charconv>
#include <cstdlib>
#include <system_error>

namespace burnrate {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2 ? 1 : 0);
}

void AppendPadded(std::string* out, int64_t v, int width) {
  char buf[24];
  int n = 0;
  uint64_t u = static_cast<uint64_t>(v < 0 ? -v : v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) out->push_back('-');
  for (int i = n; i < width; ++i) out->push_back('0');
  while (n > 0) out->push_back(buf[--n]);
}

// Writes v / 10^prec's fraction (".123", trailing zeros dropped, nothing when zero) before
// `*w` in buf, as Go's fmtFrac; returns v / 10^prec.
uint64_t FmtFrac(char* buf, int* w, uint64_t v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) buf[--*w] = static_cast<char>('0' + digit);
    v /= 10;
  }
  if (print) buf[--*w] = '.';
  return v;
}

void FmtInt(char* buf, int* w, uint64_t v) {
  if (v == 0) {
    buf[--*w] = '0';
    return;
  }
  while (v > 0) {
    buf[--*w] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

std::string FormatFloatFixed(double v) {
  char buf[400];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (r.ec != std::errc()) return "NaN";
  return std::string(buf, r.ptr);
}

std::string FormatFloatJson(double v) {
  const double a = std::abs(v);
  if (a == 0 || (a >= 1e-6 && a < 1e21)) return FormatFloatFixed(v);
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, r.ptr);
  // Go writes e-07 as e-7 (and e+21 stays): drop one leading zero of a 2-digit exponent.
  const size_t n = s.size();
  if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
  return s;
}

std::string FormatRfc3339Nano(TimestampNs ns, int32_t utc_offset_s) {
  // Local time = UTC + offset; split into whole seconds (floored) and nanoseconds.
  __int128 local = static_cast<__int128>(ns) + static_cast<__int128>(utc_offset_s) * kNsPerSecond;
  __int128 secs = local / kNsPerSecond;
  int64_t frac = static_cast<int64_t>(local % kNsPerSecond);
  if (frac < 0) {
    frac += kNsPerSecond;
    --secs;
  }
  int64_t days = static_cast<int64_t>(secs / 86400);
  int64_t sod = static_cast<int64_t>(secs % 86400);
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  std::string out;
  out.reserve(36);
  AppendPadded(&out, y, 4);
  out.push_back('-');
  AppendPadded(&out, m, 2);
  out.push_back('-');
  AppendPadded(&out, d, 2);
  out.push_back('T');
  AppendPadded(&out, sod / 3600, 2);
  out.push_back(':');
  AppendPadded(&out, sod / 60 % 60, 2);
  out.push_back(':');
  AppendPadded(&out, sod % 60, 2);
  if (frac != 0) {
    char digits[9];
    for (int i = 8; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    int n = 9;
    while (digits[n - 1] == '0') --n;
    out.push_back('.');
    out.append(digits, n);
  }
  if (utc_offset_s == 0) {
    out.push_back('Z');
  } else {
    const int32_t a = std::abs(utc_offset_s);
    out.push_back(utc_offset_s < 0 ? '-' : '+');
    AppendPadded(&out, a / 3600, 2);
    out.push_back(':');
    AppendPadded(&out, a / 60 % 60, 2);
  }
  return out;
}

std::string FormatGoDuration(int64_t ns) {
  char buf[40];
  int w = sizeof buf;
  const bool neg = ns < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  if (u < static_cast<uint64_t>(kNsPerSecond)) {
    if (u == 0) return "0s";
    int prec;
    buf[--w] = 's';
    if (u < 1'000) {
      prec = 0;
      buf[--w] = 'n';
    } else if (u < 1'000'000) {
      prec = 3;
      buf[--w] = '\xB5';  // U+00B5 as UTF-8: C2 B5
      buf[--w] = '\xC2';
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    u = FmtFrac(buf, &w, u, prec);
    FmtInt(buf, &w, u);
  } else {
    buf[--w] = 's';
    u = FmtFrac(buf, &w, u, 9);
    FmtInt(buf, &w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      FmtInt(buf, &w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        FmtInt(buf, &w, u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  return std::string(buf + w, buf + sizeof buf);
}

}  // namespace burnrate
