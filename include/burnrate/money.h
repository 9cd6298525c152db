#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace burnrate {

// An exact amount of money: a signed count of 10^-10 units of its currency (the currency
// travels beside the amount, as a tag or column, never inside it).
//
// Ten fractional digits cover the precision cloud bills and price lists use for per-unit
// costs (AWS CUR writes up to 10); digits beyond the tenth are rounded half-even on parse.
// One amount spans +-922,337,203.6854775807. Arithmetic that would leave that range is an
// error, never a wrap. Sums of many amounts use MoneySum (128-bit).
//
// A value type. Thread-compatible.
class Money {
 public:
  static constexpr int kScale = 10;
  static constexpr int64_t kUnitsPerWhole = 10'000'000'000;

  constexpr Money() = default;
  static constexpr Money FromUnits(int64_t units) { return Money(units); }

  // Parses decimal text: optional sign, digits with an optional '.', an optional exponent
  // (`1.81E-8`, `2e3`). Returns kInvalidArgument naming the column (0-based byte offset)
  // of the first bad character, or saying the value is out of range.
  [[nodiscard]] static absl::StatusOr<Money> Parse(std::string_view text);

  // Whole currency units (e.g. dollars); kInvalidArgument when out of range.
  [[nodiscard]] static absl::StatusOr<Money> FromWhole(int64_t whole);

  constexpr int64_t units() const { return units_; }

  // The shortest exact decimal text: "0", "-1.5", "0.0000000181", "12".
  std::string ToString() const;

  // Nearest double; for display and float arithmetic only.
  double ToDouble() const { return static_cast<double>(units_) / kUnitsPerWhole; }

  friend constexpr bool operator==(Money a, Money b) = default;
  friend constexpr auto operator<=>(Money a, Money b) = default;

 private:
  explicit constexpr Money(int64_t units) : units_(units) {}
  int64_t units_ = 0;
};

// An exact running sum of Money amounts in 128 bits. The result does not depend on the
// order of additions. Overflow (beyond +-2^127 units) is reported by ok() turning false.
// A value type. Thread-compatible.
class MoneySum {
 public:
  void Add(Money m) { AddUnits(m.units()); }
  void AddUnits(int64_t units) {
    if (__builtin_add_overflow(units_, static_cast<__int128>(units), &units_)) overflow_ = true;
  }
  void Merge(const MoneySum& other) {
    if (__builtin_add_overflow(units_, other.units_, &units_) || other.overflow_) overflow_ = true;
  }
  // Adds the exact sum of `units`, where the caller has split it as hi * 2^32 + lo.
  void AddSplit(int64_t hi, uint64_t lo) {
    __int128 v = (static_cast<__int128>(hi) << 32) + static_cast<__int128>(lo);
    if (__builtin_add_overflow(units_, v, &units_)) overflow_ = true;
  }

  bool ok() const { return !overflow_; }
  __int128 units() const { return units_; }

  // kInvalidArgument when the sum does not fit one Money.
  [[nodiscard]] absl::StatusOr<Money> ToMoney() const;
  // Exact decimal text of the sum, like Money::ToString; "overflow" when !ok().
  std::string ToString() const;
  double ToDouble() const;

  friend bool operator==(const MoneySum& a, const MoneySum& b) = default;

 private:
  __int128 units_ = 0;
  bool overflow_ = false;
};

// The shortest exact decimal text of units * 10^-10, for sums beyond one Money's range.
std::string MoneyUnitsToString(__int128 units);

// True for field names that hold money: "cost" and names ending in "_cost".
bool IsMoneyFieldName(std::string_view name);

}  // namespace burnrate
