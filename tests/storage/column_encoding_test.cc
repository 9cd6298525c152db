#include "storage/column_encoding.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinute = 60'000'000'000;

// Sizes around the 128-value miniblocks (and their first-value offset).
const size_t kSizes[] = {0, 1, 2, 3, 127, 128, 129, 130, 255, 256, 257, 1000, 8192};

std::vector<int64_t> DecodeIntsOrDie(ColumnEncoding e, const std::string& bytes, size_t n) {
  std::vector<int64_t> out(n);
  absl::Status s = DecodeInt64s(e, bytes, n, out.data());
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

void ExpectIntRoundTrip(const std::vector<int64_t>& values) {
  std::string bytes;
  EncodeInts(values, &bytes);
  EXPECT_EQ(DecodeIntsOrDie(ColumnEncoding::kIntDelta, bytes, values.size()), values);
  std::string time_bytes;
  EncodeTimes(values, &time_bytes);
  EXPECT_EQ(DecodeIntsOrDie(ColumnEncoding::kTimeScaledDelta, time_bytes, values.size()), values);
}

std::vector<uint64_t> Bits(const std::vector<double>& v) {
  std::vector<uint64_t> out;
  for (double d : v) out.push_back(std::bit_cast<uint64_t>(d));
  return out;
}

ColumnEncoding ExpectFloatRoundTrip(const std::vector<double>& values) {
  std::string bytes;
  const ColumnEncoding e = EncodeFloats(values, &bytes);
  std::vector<double> out(values.size());
  absl::Status s = DecodeDoubles(e, bytes, values.size(), out.data());
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(Bits(out), Bits(values));
  return e;
}

TEST(ColumnEncodingTest, IntsRoundTripAtEverySizeAndShape) {
  std::mt19937_64 rng(42);
  for (size_t n : kSizes) {
    std::vector<int64_t> constant(n, 7), step(n), walk(n), uniform(n), alternating(n);
    int64_t w = 1'000'000;
    for (size_t i = 0; i < n; ++i) {
      step[i] = static_cast<int64_t>(i) * 13 - 5;
      w += static_cast<int64_t>(rng() % 21) - 10;
      walk[i] = w;
      uniform[i] = static_cast<int64_t>(rng());
      alternating[i] = i % 2 ? kMin : kMax;
    }
    SCOPED_TRACE(n);
    ExpectIntRoundTrip(constant);
    ExpectIntRoundTrip(step);
    ExpectIntRoundTrip(walk);
    ExpectIntRoundTrip(uniform);
    ExpectIntRoundTrip(alternating);
  }
}

TEST(ColumnEncodingTest, IntsRoundTripExtremesWhoseDeltasOverflow) {
  ExpectIntRoundTrip({kMin});
  ExpectIntRoundTrip({kMax});
  ExpectIntRoundTrip({kMin, kMax, kMin, 0, -1, kMax, kMax, kMin + 1, kMax - 1});
  ExpectIntRoundTrip({0, kMax, 0, kMin, 0});
  std::vector<int64_t> mixed;
  for (int i = 0; i < 1000; ++i) mixed.push_back(i % 3 == 0 ? kMin : i % 3 == 1 ? kMax : i);
  ExpectIntRoundTrip(mixed);
}

TEST(ColumnEncodingTest, IntsEachBitWidthRoundTrips) {
  std::mt19937_64 rng(7);
  for (int width = 0; width <= 64; ++width) {
    std::vector<int64_t> values(300);
    const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
    for (auto& v : values) v = static_cast<int64_t>(rng() & mask);
    SCOPED_TRACE(width);
    ExpectIntRoundTrip(values);
  }
}

TEST(ColumnEncodingTest, ConstantAndConstantStepIntsCostAlmostNothing) {
  std::vector<int64_t> constant(8192, 123'456'789), step(8192);
  for (size_t i = 0; i < step.size(); ++i) step[i] = 5'000'000 + static_cast<int64_t>(i) * 250;
  std::string a, b;
  EncodeInts(constant, &a);
  EncodeInts(step, &b);
  EXPECT_LT(a.size(), 8192 / 20);
  EXPECT_LT(b.size(), 8192 / 20);
}

TEST(ColumnEncodingTest, RandomWalkCostsAboutTheBitsOfItsStep) {
  // Steps in [-8, 7]: 4 bits per value plus a few bytes per 128-value miniblock.
  std::mt19937_64 rng(3);
  std::vector<int64_t> walk(8192);
  int64_t v = 2'500'000'000;  // $0.25 in money units
  for (auto& x : walk) {
    v += static_cast<int64_t>(rng() % 16) - 8;
    x = v;
  }
  std::string bytes;
  EncodeInts(walk, &bytes);
  EXPECT_LE(bytes.size() * 8.0 / walk.size(), 4.3);
}

TEST(ColumnEncodingTest, RegularTimesCostUnderATenthOfAByte) {
  std::vector<int64_t> times(8192);
  for (size_t i = 0; i < times.size(); ++i) {
    times[i] = 1'700'000'000'000'000'000 + static_cast<int64_t>(i) * kMinute;
  }
  std::string bytes;
  EncodeTimes(times, &bytes);
  EXPECT_LT(static_cast<double>(bytes.size()) / times.size(), 0.1);
  EXPECT_EQ(DecodeIntsOrDie(ColumnEncoding::kTimeScaledDelta, bytes, times.size()), times);
}

TEST(ColumnEncodingTest, RareOutliersDoNotWidenTheirMiniblock) {
  // Minute data with a gap and a jittered point; cost per minute with price steps.
  std::vector<int64_t> times(8192), cost(8192);
  for (size_t i = 0; i < times.size(); ++i) {
    times[i] = 1'700'000'000'000'000'000 + static_cast<int64_t>(i) * kMinute +
               (i >= 3000 ? 90 * kMinute : 0) + (i == 5000 ? 17 : 0);
    cost[i] = i < 2000 ? 1'234'567 : i < 6000 ? 9'876'543'210 : 42;
  }
  std::string time_bytes, cost_bytes;
  EncodeTimes(times, &time_bytes);
  EncodeInts(cost, &cost_bytes);
  EXPECT_LT(static_cast<double>(time_bytes.size()) / times.size(), 0.1);
  EXPECT_LT(static_cast<double>(cost_bytes.size()) / cost.size(), 0.1);
  EXPECT_EQ(DecodeIntsOrDie(ColumnEncoding::kTimeScaledDelta, time_bytes, times.size()), times);
  EXPECT_EQ(DecodeIntsOrDie(ColumnEncoding::kIntDelta, cost_bytes, cost.size()), cost);
}

TEST(ColumnEncodingTest, OutliersOfEveryKindRoundTrip) {
  std::mt19937_64 rng(31);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int64_t> v(static_cast<size_t>(1 + rng() % 400));
    int64_t base = static_cast<int64_t>(rng());
    for (auto& x : v) {
      base += static_cast<int64_t>(rng() % 9) - 4;
      const uint64_t kind = rng() % 40;
      x = kind == 0 ? kMin : kind == 1 ? kMax : kind == 2 ? static_cast<int64_t>(rng()) : base;
    }
    SCOPED_TRACE(trial);
    ExpectIntRoundTrip(v);
  }
}

TEST(ColumnEncodingTest, TimesOfSeriesBackToBackCostLittle) {
  // A block holds the rows of many short series: minute data that jumps back in time
  // wherever one series ends and the next begins.
  std::mt19937_64 rng(5);
  std::vector<int64_t> times;
  while (times.size() < 8192) {
    int64_t t = 1'700'000'000'000'000'000 + static_cast<int64_t>(rng() % 1440) * kMinute;
    const size_t n = 1 + rng() % 180;
    for (size_t i = 0; i < n && times.size() < 8192; ++i, t += kMinute) times.push_back(t);
  }
  std::string bytes;
  EncodeTimes(times, &bytes);
  EXPECT_LT(static_cast<double>(bytes.size()) / times.size(), 0.06);
  EXPECT_EQ(DecodeIntsOrDie(ColumnEncoding::kTimeScaledDelta, bytes, times.size()), times);

  // One odd nanosecond makes the unit 1 ns; everything still round-trips.
  times[4000] += 1;
  ExpectIntRoundTrip(times);
  ExpectIntRoundTrip(std::vector<int64_t>(200, 7));
  ExpectIntRoundTrip({kMax - 1, kMax, kMin, 0, kMin, kMax});
}

TEST(ColumnEncodingTest, IncreasingTimesDecoderRejectsEveryNonIncreaseButAtBreaks) {
  auto check = [](const std::vector<int64_t>& times, std::vector<uint32_t> breaks,
                  bool increasing) {
    std::string bytes;
    EncodeTimes(times, &bytes);
    std::vector<int64_t> out(times.size());
    absl::Status s = DecodeIncreasingTimes(bytes, times.size(), breaks, out.data());
    if (increasing) {
      EXPECT_TRUE(s.ok()) << s;
      EXPECT_EQ(out, times);
    } else {
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss));
    }
  };
  std::vector<int64_t> regular(1000);
  for (size_t i = 0; i < regular.size(); ++i) regular[i] = static_cast<int64_t>(i) * kMinute;
  check(regular, {}, true);
  check(regular, {1, 500}, true);
  check({kMin, kMin + 1, kMax}, {}, true);
  check({5}, {}, true);
  check({}, {}, true);
  for (uint32_t at : {1u, 2u, 129u, 500u, 999u}) {
    SCOPED_TRACE(at);
    std::vector<int64_t> t = regular;
    t[at] = t[at - 1];  // a repeat
    check(t, {}, false);
    check(t, {at}, true);
    check(t, {at - 1}, false);
    t[at] = t[at - 1] - 1;  // a step back
    check(t, {}, false);
    check(t, {at}, true);
  }
  // Two series back to back: the second starts earlier.
  std::vector<int64_t> two(regular.begin(), regular.begin() + 300);
  for (int i = 0; i < 300; ++i) two.push_back(static_cast<int64_t>(i + 100) * kMinute);
  check(two, {300}, true);
  check(two, {}, false);
  check(two, {301}, false);
  // Regular steps that run past INT64_MAX, and a single wrapping step.
  std::vector<int64_t> wrapping(300);
  for (size_t i = 0; i < wrapping.size(); ++i) {
    wrapping[i] = static_cast<int64_t>(static_cast<uint64_t>(kMax - 100 * kMinute) +
                                       static_cast<uint64_t>(i) * kMinute);
  }
  check(wrapping, {}, false);
  check({kMax - 1, kMax, kMin}, {}, false);
  check({kMax - 1, kMax, kMin}, {2}, true);
  check(std::vector<int64_t>(200, 7), {}, false);
}

TEST(ColumnEncodingTest, TimeUnitAndFirstOffsetAreChecked) {
  const std::vector<int64_t> times = {0, kMinute, 2 * kMinute};
  std::string bytes;
  EncodeTimes(times, &bytes);
  // A one-byte first time, then the unit (a 6-byte varint).
  const size_t unit_at = 1;
  ASSERT_EQ(static_cast<uint8_t>(bytes[unit_at]), (kMinute & 0x7f) | 0x80);
  std::vector<int64_t> out(times.size());
  std::string zero_unit = bytes.substr(0, unit_at) + '\0' + bytes.substr(unit_at + 6);
  EXPECT_THAT(DecodeInt64s(ColumnEncoding::kTimeScaledDelta, zero_unit, 3, out.data()),
              StatusIs(absl::StatusCode::kDataLoss));
  // The scaled offsets must start at 0 (the int delta stream's first value follows the
  // 6-byte unit).
  std::string moved = bytes;
  moved[unit_at + 6] = 2;
  EXPECT_THAT(DecodeInt64s(ColumnEncoding::kTimeScaledDelta, moved, 3, out.data()),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(ColumnEncodingTest, TimesWithGapsRoundTrip) {
  std::mt19937_64 rng(11);
  std::vector<int64_t> times;
  int64_t t = 1'700'000'000'000'000'000;
  for (int i = 0; i < 5000; ++i) {
    t += rng() % 50 == 0 ? static_cast<int64_t>(rng() % 100) * kMinute : kMinute;
    t += rng() % 10 == 0 ? static_cast<int64_t>(rng() % 1000) : 0;
    times.push_back(t);
  }
  ExpectIntRoundTrip(times);
  ExpectIntRoundTrip({kMin, kMin + 1, 0, kMax - 1, kMax});
}

TEST(ColumnEncodingTest, SpecialDoublesRoundTripBitExact) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> special = {
      0.0,
      -0.0,
      inf,
      -inf,
      std::numeric_limits<double>::quiet_NaN(),
      -std::numeric_limits<double>::quiet_NaN(),
      std::numeric_limits<double>::signaling_NaN(),
      std::bit_cast<double>(uint64_t{0x7ff0000000000001}),  // NaN with a payload
      std::bit_cast<double>(uint64_t{0xfff8dead0000beef}),
      std::numeric_limits<double>::denorm_min(),
      -std::numeric_limits<double>::denorm_min(),
      std::bit_cast<double>(uint64_t{0x000fffffffffffff}),  // largest denormal
      std::numeric_limits<double>::min(),
      std::numeric_limits<double>::max(),
      std::numeric_limits<double>::lowest(),
      std::numeric_limits<double>::epsilon(),
      1.0,
      0.1,
      9.3e18,
      -9.3e18,
      1e300};
  EXPECT_EQ(ExpectFloatRoundTrip(special), ColumnEncoding::kFloatXor);
  for (double d : special) {
    SCOPED_TRACE(d);
    ExpectFloatRoundTrip({d});
    ExpectFloatRoundTrip(std::vector<double>(200, d));
  }
  // A -0.0 among decimals must not come back as +0.0.
  std::vector<double> with_negative_zero = {1.5, 2.25, -0.0, 3.0};
  EXPECT_EQ(ExpectFloatRoundTrip(with_negative_zero), ColumnEncoding::kFloatXor);
}

TEST(ColumnEncodingTest, RandomDoubleBitPatternsRoundTrip) {
  std::mt19937_64 rng(5);
  for (size_t n : kSizes) {
    std::vector<double> v(n);
    for (auto& d : v) d = std::bit_cast<double>(rng());
    ExpectFloatRoundTrip(v);
    for (auto& d : v) d = std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
    ExpectFloatRoundTrip(v);
  }
}

TEST(ColumnEncodingTest, DecimalFloatsUseDecimalEncoding) {
  std::mt19937_64 rng(9);
  for (int digits = 0; digits <= 6; ++digits) {
    std::vector<double> v(1000);
    const double scale = std::pow(10.0, digits);
    for (auto& d : v)
      d = static_cast<double>(static_cast<int64_t>(rng() % 2'000'000) - 1'000'000) / scale;
    SCOPED_TRACE(digits);
    EXPECT_EQ(ExpectFloatRoundTrip(v), ColumnEncoding::kFloatDecimal);
  }
  ExpectFloatRoundTrip({1e15, -1e15, 123456789012.125, 0.000000000000001});
}

TEST(ColumnEncodingTest, FourDecimalUtilisationCostsAtMostFourteenBits) {
  // GPU utilisation as a fraction with 4 decimals, uniformly random (the worst case).
  std::mt19937_64 rng(13);
  std::vector<double> v(8192);
  for (auto& d : v) d = static_cast<double>(rng() % 10001) / 1e4;
  std::string bytes;
  ASSERT_EQ(EncodeFloats(v, &bytes), ColumnEncoding::kFloatDecimal);
  EXPECT_LE(bytes.size() * 8.0 / v.size(), 14.3);
  // Percent with 4 decimals that moves slowly: a random walk.
  int64_t k = 500'000;
  for (auto& d : v) {
    k = std::clamp<int64_t>(k + static_cast<int64_t>(rng() % 2001) - 1000, 0, 1'000'000);
    d = static_cast<double>(k) / 1e4;
  }
  bytes.clear();
  ASSERT_EQ(EncodeFloats(v, &bytes), ColumnEncoding::kFloatDecimal);
  EXPECT_LE(bytes.size() * 8.0 / v.size(), 12.0);
  std::vector<double> out(v.size());
  ASSERT_OK(DecodeDoubles(ColumnEncoding::kFloatDecimal, bytes, v.size(), out.data()));
  EXPECT_EQ(Bits(out), Bits(v));
}

TEST(ColumnEncodingTest, BoolsRoundTrip) {
  std::mt19937_64 rng(17);
  for (size_t n : kSizes) {
    std::vector<int64_t> v(n);
    for (auto& b : v) b = static_cast<int64_t>(rng() % 2);
    std::string bytes;
    EncodeBools(v, &bytes);
    EXPECT_EQ(bytes.size(), (n + 7) / 8);
    EXPECT_EQ(DecodeIntsOrDie(ColumnEncoding::kBoolBitmap, bytes, n), v);
  }
  std::string bytes;
  EncodeBools(std::vector<int64_t>{5, 0, -1}, &bytes);
  EXPECT_EQ(DecodeIntsOrDie(ColumnEncoding::kBoolBitmap, bytes, 3),
            (std::vector<int64_t>{1, 0, 1}));
}

TEST(ColumnEncodingTest, BitmapCountsOnes) {
  std::vector<uint8_t> flags = {1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1};
  std::string bytes;
  EncodeBitmap(flags, &bytes);
  std::vector<uint8_t> out(flags.size());
  size_t ones = 0;
  ASSERT_OK(DecodeBitmap(bytes, flags.size(), out.data(), &ones));
  EXPECT_EQ(out, flags);
  EXPECT_EQ(ones, 7u);
  // A set padding bit is corruption.
  bytes.back() = static_cast<char>(bytes.back() | 0x80);
  EXPECT_THAT(DecodeBitmap(bytes, flags.size(), out.data(), &ones),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(ColumnEncodingTest, StringsRoundTrip) {
  std::vector<std::string> v = {
      "",           "a",       std::string("nul\0inside", 10), std::string(100000, 'x'), "",
      "p3.8xlarge", "\xff\xfe"};
  for (size_t n = 0; n <= v.size(); ++n) {
    std::vector<std::string> in(v.begin(), v.begin() + static_cast<ptrdiff_t>(n));
    std::string bytes;
    EncodeStrings(in, &bytes);
    std::vector<std::string> out = {"kept"};
    ASSERT_OK(DecodeStrings(ColumnEncoding::kStringPlain, bytes, n, &out));
    in.insert(in.begin(), "kept");
    EXPECT_EQ(out, in);
  }
}

TEST(ColumnEncodingTest, DecodersRejectTheWrongEncoding) {
  int64_t i;
  double d;
  std::vector<std::string> s;
  EXPECT_THAT(DecodeInt64s(ColumnEncoding::kFloatXor, "", 0, &i),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(DecodeDoubles(ColumnEncoding::kIntDelta, "", 0, &d),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(DecodeStrings(ColumnEncoding::kBoolBitmap, "", 0, &s),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_FALSE(IsColumnEncoding(0));
  EXPECT_FALSE(IsColumnEncoding(7));
  EXPECT_TRUE(IsColumnEncoding(static_cast<uint8_t>(ColumnEncoding::kStringPlain)));
}

// Decodes bytes as every encoding with n values; must not crash (run under ASan).
void DecodeAnyway(const std::string& bytes, size_t n) {
  std::vector<int64_t> ints(n);
  std::vector<double> doubles(n);
  std::vector<std::string> strings;
  std::vector<uint8_t> flags(n);
  size_t ones;
  for (uint8_t id = 1; id <= 6; ++id) {
    const auto e = static_cast<ColumnEncoding>(id);
    (void)DecodeInt64s(e, bytes, n, ints.data());
    (void)DecodeDoubles(e, bytes, n, doubles.data());
    strings.clear();
    (void)DecodeStrings(e, bytes, n, &strings);
  }
  (void)DecodeBitmap(bytes, n, flags.data(), &ones);
}

TEST(ColumnEncodingTest, CorruptInputNeverCrashes) {
  std::mt19937_64 rng(23);
  std::vector<std::string> samples;
  std::vector<size_t> counts;
  for (size_t n : {size_t{1}, size_t{2}, size_t{130}, size_t{300}}) {
    std::vector<int64_t> ints(n);
    std::vector<double> doubles(n), decimals(n);
    std::vector<std::string> strings(n);
    for (size_t i = 0; i < n; ++i) {
      ints[i] = static_cast<int64_t>(rng() >> (rng() % 64));
      doubles[i] = std::bit_cast<double>(rng());
      decimals[i] = static_cast<double>(rng() % 100000) / 100;
      strings[i] = std::string(rng() % 5, 'a');
    }
    std::string b;
    EncodeInts(ints, &b);
    samples.push_back(b);
    b.clear();
    EncodeTimes(ints, &b);
    samples.push_back(b);
    b.clear();
    EncodeFloats(doubles, &b);
    samples.push_back(b);
    b.clear();
    EncodeFloats(decimals, &b);
    samples.push_back(b);
    b.clear();
    EncodeStrings(strings, &b);
    samples.push_back(b);
    b.clear();
    EncodeBools(ints, &b);
    samples.push_back(b);
    counts.insert(counts.end(), 6, n);
  }
  for (size_t k = 0; k < samples.size(); ++k) {
    const std::string& good = samples[k];
    const size_t n = counts[k];
    for (size_t len = 0; len < good.size(); ++len) DecodeAnyway(good.substr(0, len), n);
    for (size_t pos = 0; pos < good.size(); ++pos) {
      for (uint8_t flip : {0x01, 0x80, 0xff}) {
        std::string bad = good;
        bad[pos] = static_cast<char>(bad[pos] ^ flip);
        DecodeAnyway(bad, n);
      }
    }
    DecodeAnyway(good, n + 1);
    DecodeAnyway(good, n > 0 ? n - 1 : 0);
    DecodeAnyway(good + "x", n);
  }
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    DecodeAnyway(junk, rng() % 300);
  }
}

TEST(ColumnEncodingTest, TruncatedOrPaddedInputIsDataLoss) {
  std::vector<int64_t> v(300);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i * i);
  std::string bytes;
  EncodeInts(v, &bytes);
  std::vector<int64_t> out(v.size());
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_THAT(DecodeInt64s(ColumnEncoding::kIntDelta, bytes.substr(0, len), v.size(), out.data()),
                StatusIs(absl::StatusCode::kDataLoss));
  }
  EXPECT_THAT(DecodeInt64s(ColumnEncoding::kIntDelta, bytes + "\x01", v.size(), out.data()),
              StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace burnrate
