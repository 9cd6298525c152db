#include "burnrate/money.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace burnrate {
namespace {

constexpr uint64_t kMaxUnits = std::numeric_limits<int64_t>::max();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The text quoted in error messages, escaped and cut so a huge bad value cannot flood a log.
std::string Quoted(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string q = absl::CHexEscape(absl::string_view(text.data(), std::min(text.size(), kMax)));
  return absl::StrCat("\"", q, text.size() > kMax ? "...\"" : "\"");
}

absl::Status BadCharacter(std::string_view text, size_t column) {
  if (column >= text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid money value ", Quoted(text), ": unexpected end at column ", column));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid money value ", Quoted(text), ": unexpected '",
                   absl::CHexEscape(absl::string_view(&text[column], 1)), "' at column ", column));
}

absl::Status OutOfRange(std::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat(
      "money value ", Quoted(text), " is out of range (at most +-922337203.6854775807)"));
}

// Decimal text of magnitude / 10^kScale, negated when negative: the shortest exact form.
std::string UnitsToString(bool negative, unsigned __int128 magnitude) {
  const unsigned __int128 kPer = Money::kUnitsPerWhole;
  unsigned __int128 whole = magnitude / kPer;
  uint64_t frac = static_cast<uint64_t>(magnitude % kPer);

  char buf[64];  // 39 whole digits, '.', 10 fraction digits, sign.
  char* end = buf + sizeof buf;
  char* p = end;
  if (frac != 0) {
    int digits = Money::kScale;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    for (int i = 0; i < digits; ++i) {
      *--p = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    *--p = '.';
  }
  do {
    *--p = static_cast<char>('0' + static_cast<int>(whole % 10));
    whole /= 10;
  } while (whole != 0);
  if (negative && magnitude != 0) *--p = '-';
  return std::string(p, end);
}

}  // namespace

// Grammar: [+-] (digits [. [digits]] | . digits) [(e|E) [+-] digits].
//
// The value is 0.d1d2...dn * 10^point with d1 the first non-zero digit; the units are that
// times 10^kScale, so the first q = point + kScale significant digits are the integer part
// of the units, d(q+1) the rounding digit and any non-zero digit after it the sticky bit.
// Nothing loops over the exponent, so 1e-999999999 costs what 1e-9 does.
absl::StatusOr<Money> Money::Parse(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("invalid money value: empty");
  size_t i = 0;
  bool negative = false;
  if (text[i] == '+' || text[i] == '-') negative = text[i++] == '-';

  const size_t int_begin = i;
  while (i < text.size() && IsDigit(text[i])) ++i;
  const size_t int_end = i;
  size_t frac_begin = i, frac_end = i;
  if (i < text.size() && text[i] == '.') {
    frac_begin = ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    frac_end = i;
  }
  if (int_begin == int_end && frac_begin == frac_end) {
    // No digit in the mantissa: blame the first character that is not a sign or '.'.
    return BadCharacter(text, i);
  }

  // Saturates far beyond any exponent that could still matter (|q| > 19 decides alone).
  constexpr int64_t kExponentCap = int64_t{1} << 40;
  int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exponent_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      exponent_negative = text[i++] == '-';
    }
    if (i >= text.size() || !IsDigit(text[i])) return BadCharacter(text, i);
    while (i < text.size() && IsDigit(text[i])) {
      if (exponent < kExponentCap) exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (exponent_negative) exponent = -exponent;
  }
  if (i != text.size()) return BadCharacter(text, i);

  // The mantissa digits as one sequence (integer digits then fraction digits).
  const size_t int_digits = int_end - int_begin;
  const size_t total_digits = int_digits + (frac_end - frac_begin);
  auto digit = [&](size_t k) -> int {
    return text[k < int_digits ? int_begin + k : frac_begin + (k - int_digits)] - '0';
  };
  size_t first = 0;
  while (first < total_digits && digit(first) == 0) ++first;
  if (first == total_digits) return Money();  // Zero, whatever the exponent.

  const int64_t significant = static_cast<int64_t>(total_digits - first);
  const int64_t point = significant + exponent - static_cast<int64_t>(frac_end - frac_begin);
  const int64_t q = point + kScale;
  // d1 != 0, so the units are at least 10^(q-1): q > 19 exceeds 2^63.
  if (q > 19) return OutOfRange(text);
  // The units are below 10^q <= 0.1: they round to zero.
  if (q < 0) return Money();

  uint64_t magnitude = 0;
  for (int64_t k = 0; k < q; ++k) {
    const size_t at = first + static_cast<size_t>(k);
    magnitude = magnitude * 10 + static_cast<uint64_t>(at < total_digits ? digit(at) : 0);
  }
  const size_t round_at = first + static_cast<size_t>(q);
  if (round_at < total_digits) {
    const int round_digit = digit(round_at);
    bool sticky = false;
    for (size_t k = round_at + 1; k < total_digits && !sticky; ++k) sticky = digit(k) != 0;
    if (round_digit > 5 || (round_digit == 5 && (sticky || (magnitude & 1) != 0))) {
      ++magnitude;
    }
  }
  if (magnitude > kMaxUnits) return OutOfRange(text);
  const int64_t units = static_cast<int64_t>(magnitude);
  return Money(negative ? -units : units);
}

absl::StatusOr<Money> Money::FromWhole(int64_t whole) {
  int64_t units;
  if (__builtin_mul_overflow(whole, kUnitsPerWhole, &units) ||
      units == std::numeric_limits<int64_t>::min()) {
    return absl::InvalidArgumentError(
        absl::StrCat("money value ", whole, " is out of range (at most +-922337203)"));
  }
  return Money(units);
}

std::string Money::ToString() const {
  const uint64_t magnitude =
      units_ < 0 ? uint64_t{0} - static_cast<uint64_t>(units_) : static_cast<uint64_t>(units_);
  return UnitsToString(units_ < 0, magnitude);
}

absl::StatusOr<Money> MoneySum::ToMoney() const {
  if (!ok() || units_ > static_cast<__int128>(kMaxUnits) ||
      units_ < -static_cast<__int128>(kMaxUnits)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "money sum ", ToString(), " is out of range (at most +-922337203.6854775807)"));
  }
  return Money::FromUnits(static_cast<int64_t>(units_));
}

std::string MoneySum::ToString() const {
  if (!ok()) return "overflow";
  return MoneyUnitsToString(units_);
}

std::string MoneyUnitsToString(__int128 units) {
  const unsigned __int128 magnitude =
      units < 0 ? -static_cast<unsigned __int128>(units) : static_cast<unsigned __int128>(units);
  return UnitsToString(units < 0, magnitude);
}

double MoneySum::ToDouble() const {
  if (!ok()) return std::numeric_limits<double>::quiet_NaN();
  // Whole and fraction apart, so a large sum keeps its cents instead of losing them to one
  // rounded division.
  const __int128 whole = units_ / Money::kUnitsPerWhole;
  const __int128 frac = units_ % Money::kUnitsPerWhole;
  return static_cast<double>(whole) +
         static_cast<double>(frac) / static_cast<double>(Money::kUnitsPerWhole);
}

bool IsMoneyFieldName(std::string_view name) {
  constexpr std::string_view kCost = "cost";
  constexpr std::string_view kSuffix = "_cost";
  return name == kCost || name.ends_with(kSuffix);
}

}  // namespace burnrate
