#include "burnrate/money.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

int64_t Units(std::string_view text) {
  absl::StatusOr<Money> m = Money::Parse(text);
  EXPECT_TRUE(m.ok()) << text << ": " << m.status();
  return m.ok() ? m->units() : -1;
}

struct ParseCase {
  const char* text;
  int64_t units;
};

TEST(MoneyParseTest, PlainDecimals) {
  const ParseCase cases[] = {
      {"1", 10'000'000'000},
      {"12", 120'000'000'000},
      {"-1.5", -15'000'000'000},
      {"+3", 30'000'000'000},
      {".5", 5'000'000'000},
      {"5.", 50'000'000'000},
      {"-0.5", -5'000'000'000},
      {"0.0000000181", 181},
      {"0.0000000001", 1},
      {"-0.0000000001", -1},
      {"00012.3400", 123'400'000'000},
      {"922337203.6854775807", kMax},
      {"-922337203.6854775807", -kMax},
      {"14.2312345678", 142'312'345'678},
  };
  for (const ParseCase& c : cases) EXPECT_EQ(Units(c.text), c.units) << c.text;
}

TEST(MoneyParseTest, EveryZeroIsPositiveZero) {
  for (const char* text : {"0", "-0", "+0", "0.0", ".0", "0.", "-.0", "000", "0e0", "0e999999",
                           "-0e-999999", "0.000e5", "0e99999999999999999999999999999"}) {
    ASSERT_OK_AND_ASSIGN(Money m, Money::Parse(text));
    EXPECT_EQ(m.units(), 0) << text;
    EXPECT_EQ(m.ToString(), "0") << text;
  }
}

TEST(MoneyParseTest, ScientificNotation) {
  const ParseCase cases[] = {
      {"1.81E-8", 181},
      {"1.81e-8", 181},
      {"1e3", 10'000'000'000'000},
      {"2e3", 20'000'000'000'000},
      {"1E+2", 1'000'000'000'000},
      {"-2.5e-1", -2'500'000'000},
      {".5e1", 50'000'000'000},
      {"5.e-10", 5},
      {"1e-10", 1},
      {"123456789e-18", 1},
      {"100000000000000000000000e-23", 10'000'000'000},
      {"0.0000000000000000001e27", 1'000'000'000'000'000'000},
      {"9.223372036854775807e8", kMax},
      {"-9223372036854775807e-10", -kMax},
      {"1e-999999", 0},
      {"-1e-999999", 0},
      {"7e-99999999999999999999999999", 0},
  };
  for (const ParseCase& c : cases) EXPECT_EQ(Units(c.text), c.units) << c.text;
}

TEST(MoneyParseTest, RoundsHalfEvenAtTheEleventhDigit) {
  const ParseCase cases[] = {
      {"0.00000000005", 0},
      {"0.00000000015", 2},
      {"0.00000000025", 2},
      {"0.00000000035", 4},
      {"0.00000000045", 4},
      {"0.00000000014", 1},
      {"0.00000000016", 2},
      {"-0.00000000015", -2},
      {"-0.00000000025", -2},
      {"1.00000000005", 10'000'000'000},
      {"1.00000000015", 10'000'000'002},
      // Digits far past the rounding digit still break the tie.
      {"0.000000000050000000000000000001", 1},
      {"0.00000000025000000000000000000000000000001", 3},
      {"0.00000000004999999999999999999999", 0},
      {"-0.000000000050000000000001", -1},
      {"5e-11", 0},
      {"1.5e-10", 2},
      {"2.5e-10", 2},
      {"2.50000001e-10", 3},
      // Rounding carries through every digit.
      {"0.99999999995", 10'000'000'000},
      {"922337203.68547758065", kMax - 1},
      {"922337203.68547758074999", kMax},
  };
  for (const ParseCase& c : cases) EXPECT_EQ(Units(c.text), c.units) << c.text;
  EXPECT_EQ(Money::Parse("-0.00000000005")->ToString(), "0");
}

TEST(MoneyParseTest, HugeInputsCostTimeProportionalToTheirLength) {
  const std::string tiny = "0." + std::string(100000, '0') + "1";
  EXPECT_EQ(Units(tiny), 0);
  const std::string long_one = "1" + std::string(100000, '0') + "e-100000";
  EXPECT_EQ(Units(long_one), 10'000'000'000);
  const std::string sticky = "0.00000000005" + std::string(100000, '0') + "1";
  EXPECT_EQ(Units(sticky), 1);
}

TEST(MoneyParseTest, OutOfRangeIsInvalidArgument) {
  for (const char* text :
       {"1000000000", "-1000000000", "922337203.6854775808", "-922337203.6854775808",
        "922337203.68547758075", "1e9", "1e999999", "-1e99999999999999999999999",
        "99999999999999999999999999999999", "0.0000000000000000001e29"}) {
    EXPECT_THAT(Money::Parse(text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")))
        << text;
  }
}

TEST(MoneyParseTest, BadSyntaxNamesTheColumnOfTheFirstBadCharacter) {
  struct Case {
    std::string text;
    size_t column;
  };
  const Case cases[] = {
      {"+", 1},        {"-", 1},     {".", 1},   {"-.", 2},   {"abc", 0},
      {"NaN", 0},      {"nan", 0},   {"Inf", 0}, {"-inf", 1}, {"infinity", 0},
      {"1.2.3", 3},    {"1e", 2},    {"1e+", 3}, {"1e-x", 3}, {"1e5.0", 3},
      {" 1", 0},       {"1 ", 1},    {"1,5", 1}, {"0x10", 1}, {"1_000", 1},
      {"--1", 1},      {"+-1", 1},   {".e5", 1}, {"e5", 0},   {"1ee5", 2},
      {"12a", 2},      {"1e5e5", 3}, {"$1", 0},  {"1.5$", 3}, {std::string("1\0", 2), 1},
      {"\xc2\xbd", 0},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Money::Parse(c.text), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr(absl::StrCat("at column ", c.column))))
        << c.text;
  }
  EXPECT_THAT(Money::Parse(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
}

TEST(MoneyParseTest, ErrorMessagesQuoteLongInputsShortened) {
  const std::string text = std::string(1000, '1') + "x";
  absl::StatusOr<Money> m = Money::Parse(text);
  ASSERT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at column 1000")));
  EXPECT_LT(m.status().message().size(), 200u);
}

TEST(MoneyTest, ToStringIsShortestExactText) {
  EXPECT_EQ(Money().ToString(), "0");
  EXPECT_EQ(Money::FromUnits(1).ToString(), "0.0000000001");
  EXPECT_EQ(Money::FromUnits(-1).ToString(), "-0.0000000001");
  EXPECT_EQ(Money::FromUnits(181).ToString(), "0.0000000181");
  EXPECT_EQ(Money::FromUnits(-15'000'000'000).ToString(), "-1.5");
  EXPECT_EQ(Money::FromUnits(120'000'000'000).ToString(), "12");
  EXPECT_EQ(Money::FromUnits(kMax).ToString(), "922337203.6854775807");
  EXPECT_EQ(Money::FromUnits(-kMax).ToString(), "-922337203.6854775807");
  // Outside the parsable range, but FromUnits can make it.
  EXPECT_EQ(Money::FromUnits(kMin).ToString(), "-922337203.6854775808");
}

TEST(MoneyTest, FromWhole) {
  ASSERT_OK_AND_ASSIGN(Money five, Money::FromWhole(5));
  EXPECT_EQ(five.units(), 50'000'000'000);
  ASSERT_OK_AND_ASSIGN(Money top, Money::FromWhole(922337203));
  EXPECT_EQ(top.ToString(), "922337203");
  ASSERT_OK_AND_ASSIGN(Money bottom, Money::FromWhole(-922337203));
  EXPECT_EQ(bottom.ToString(), "-922337203");
  EXPECT_THAT(Money::FromWhole(922337204), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Money::FromWhole(-922337204), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Money::FromWhole(kMin), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Money::FromWhole(kMax), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MoneyTest, ToStringThenParseRoundTrips) {
  std::vector<int64_t> units = {
      0, 1, -1, 9, 10, 11, 10'000'000'000, -10'000'000'000, kMax, -kMax, kMax - 1, 5'000'000'000};
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 20000; ++i) {
    // Every magnitude, not just huge ones.
    int64_t v = static_cast<int64_t>(rng() >> (1 + rng() % 63));
    units.push_back(rng() % 2 ? v : -v);
  }
  for (int64_t u : units) {
    const Money m = Money::FromUnits(u);
    const std::string text = m.ToString();
    ASSERT_OK_AND_ASSIGN(Money back, Money::Parse(text));
    EXPECT_EQ(back, m) << text;
    // The same value in scientific notation.
    ASSERT_OK_AND_ASSIGN(Money sci, Money::Parse(absl::StrCat(u, "e-10")));
    EXPECT_EQ(sci, m) << u;
  }
}

TEST(MoneyTest, IsMoneyFieldName) {
  EXPECT_TRUE(IsMoneyFieldName("cost"));
  EXPECT_TRUE(IsMoneyFieldName("usage_cost"));
  EXPECT_TRUE(IsMoneyFieldName("unblended_cost"));
  EXPECT_FALSE(IsMoneyFieldName(""));
  EXPECT_FALSE(IsMoneyFieldName("costs"));
  EXPECT_FALSE(IsMoneyFieldName("Cost"));
  EXPECT_FALSE(IsMoneyFieldName("cost_usd"));
  EXPECT_FALSE(IsMoneyFieldName("usagecost"));
}

TEST(MoneySumTest, MillionTenthsSumToExactlyOneHundredThousand) {
  ASSERT_OK_AND_ASSIGN(Money tenth, Money::Parse("0.1"));
  MoneySum sum;
  for (int i = 0; i < 1'000'000; ++i) sum.Add(tenth);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum.ToString(), "100000");
  ASSERT_OK_AND_ASSIGN(Money total, sum.ToMoney());
  ASSERT_OK_AND_ASSIGN(Money expected, Money::FromWhole(100000));
  EXPECT_EQ(total, expected);
  EXPECT_EQ(sum.ToDouble(), 100000.0);
}

// The amounts of a bill: a million tenths, plus mixed-sign amounts whose total is known.
std::vector<Money> Amounts() {
  std::vector<Money> amounts(1'000'000, *Money::Parse("0.1"));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    const int64_t u = static_cast<int64_t>(rng() >> 2);
    amounts.push_back(Money::FromUnits(u));
    amounts.push_back(Money::FromUnits(-u));
  }
  return amounts;
}

MoneySum Sum(const std::vector<Money>& amounts, size_t begin, size_t end) {
  MoneySum s;
  for (size_t i = begin; i < end; ++i) s.Add(amounts[i]);
  return s;
}

TEST(MoneySumTest, TotalDoesNotDependOnOrderOrThreads) {
  std::vector<Money> amounts = Amounts();
  const MoneySum in_order = Sum(amounts, 0, amounts.size());
  EXPECT_EQ(in_order.ToString(), "100000");

  std::mt19937_64 rng(99);
  std::shuffle(amounts.begin(), amounts.end(), rng);
  const MoneySum shuffled = Sum(amounts, 0, amounts.size());
  EXPECT_EQ(shuffled, in_order);

  MoneySum halves[2];
  const size_t mid = amounts.size() / 2;
  std::thread first([&] { halves[0] = Sum(amounts, 0, mid); });
  std::thread second([&] { halves[1] = Sum(amounts, mid, amounts.size()); });
  first.join();
  second.join();
  MoneySum merged = halves[1];
  merged.Merge(halves[0]);
  EXPECT_EQ(merged, in_order);
  EXPECT_EQ(merged.ToString(), "100000");
}

TEST(MoneySumTest, ToStringIsExactBeyondSixtyFourBits) {
  MoneySum s;
  for (int i = 0; i < 4; ++i) s.AddUnits(kMax);
  EXPECT_EQ(s.ToString(), "3689348814.7419103228");
  EXPECT_DOUBLE_EQ(s.ToDouble(), 3689348814.7419103228);
  EXPECT_THAT(s.ToMoney(), StatusIs(absl::StatusCode::kInvalidArgument));

  MoneySum neg;
  for (int i = 0; i < 4; ++i) neg.AddUnits(-kMax);
  EXPECT_EQ(neg.ToString(), "-3689348814.7419103228");

  MoneySum big;
  big.AddSplit(int64_t{1} << 62, 0);  // 2^94 units
  for (int i = 0; i < 32; ++i) big.Merge(MoneySum(big));
  EXPECT_TRUE(big.ok());
  EXPECT_EQ(big.ToString(), "8507059173023461586584365185.7942052864");  // 2^126 units

  EXPECT_EQ(MoneySum().ToString(), "0");
  MoneySum cents;
  cents.AddUnits(-5'000'000'000);
  EXPECT_EQ(cents.ToString(), "-0.5");
}

TEST(MoneySumTest, ToMoneyAtTheEdgesOfTheRange) {
  MoneySum s;
  s.AddUnits(kMax);
  ASSERT_OK_AND_ASSIGN(Money m, s.ToMoney());
  EXPECT_EQ(m.units(), kMax);
  s.AddUnits(1);
  EXPECT_THAT(s.ToMoney(), StatusIs(absl::StatusCode::kInvalidArgument));
  s.AddUnits(-1);
  s.AddUnits(-kMax);
  s.AddUnits(-kMax);
  ASSERT_OK_AND_ASSIGN(Money low, s.ToMoney());
  EXPECT_EQ(low.units(), -kMax);
}

TEST(MoneySumTest, OverflowIsDetectedAndSticky) {
  MoneySum s;
  s.AddUnits(kMax);
  // (2^63 - 1) * 2^64 still fits; one more doubling passes 2^127.
  for (int i = 0; i < 64; ++i) {
    s.Merge(MoneySum(s));
    ASSERT_TRUE(s.ok()) << i;
  }
  s.Merge(MoneySum(s));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "overflow");
  EXPECT_THAT(s.ToMoney(), StatusIs(absl::StatusCode::kInvalidArgument));
  s.AddUnits(kMin);
  EXPECT_FALSE(s.ok());

  // Merging an overflowed sum poisons the result.
  MoneySum clean;
  clean.AddUnits(1);
  clean.Merge(s);
  EXPECT_FALSE(clean.ok());

  MoneySum negative;
  negative.AddUnits(kMin);
  for (int i = 0; i < 64; ++i) negative.Merge(MoneySum(negative));
  EXPECT_TRUE(negative.ok());  // Exactly -2^127, the lowest representable sum.
  EXPECT_EQ(negative.ToString(), "-17014118346046923173168730371.5884105728");
  negative.AddUnits(-1);
  EXPECT_FALSE(negative.ok());
}

TEST(MoneyUnitsToStringTest, ExactAndShortestBeyondOneMoney) {
  EXPECT_EQ(MoneyUnitsToString(0), "0");
  EXPECT_EQ(MoneyUnitsToString(1), "0.0000000001");
  EXPECT_EQ(MoneyUnitsToString(-1), "-0.0000000001");
  EXPECT_EQ(MoneyUnitsToString(142'300'000'000), "14.23");
  EXPECT_EQ(MoneyUnitsToString(static_cast<__int128>(10'000'000'000) * 10'000'000'000 * 1000),
            "10000000000000");
  const __int128 min = static_cast<__int128>(static_cast<unsigned __int128>(1) << 127);
  EXPECT_EQ(MoneyUnitsToString(min), "-17014118346046923173168730371.5884105728");
}

}  // namespace
}  // namespace burnrate
