#include "base/money_sum.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace burnrate {
namespace {

MoneySum Naive(const std::vector<int64_t>& v, const std::vector<uint8_t>& valid = {}) {
  MoneySum s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (valid.empty() || valid[i]) s.AddUnits(v[i]);
  }
  return s;
}

TEST(MoneySumKernelTest, MatchesScalarSumOnExtremesAndRandomValues) {
  std::mt19937_64 rng(7);
  for (size_t n : {0, 1, 2, 3, 7, 8, 15, 16, 17, 100, 1000, 4099}) {
    std::vector<int64_t> v(n);
    std::vector<uint8_t> valid(n);
    for (size_t i = 0; i < n; ++i) {
      switch (rng() % 4) {
        case 0:
          v[i] = INT64_MAX;
          break;
        case 1:
          v[i] = INT64_MIN;
          break;
        default:
          v[i] = static_cast<int64_t>(rng());
      }
      valid[i] = rng() % 3 != 0;
    }
    EXPECT_EQ(SumMoneyUnits(v), Naive(v)) << n;
    EXPECT_EQ(SumMoneyUnitsValid(v, valid), Naive(v, valid)) << n;
  }
}

TEST(MoneySumKernelTest, MillionTenthsSumToExactlyOneHundredThousand) {
  std::vector<int64_t> v(1'000'000, Money::Parse("0.1")->units());
  EXPECT_EQ(SumMoneyUnits(v).ToString(), "100000");
}

}  // namespace
}  // namespace burnrate
