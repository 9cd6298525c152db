#include "base/coding.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace burnrate {
namespace {

std::vector<uint64_t> InterestingU64() {
  std::vector<uint64_t> v = {0,
                             1,
                             127,
                             128,
                             255,
                             256,
                             16383,
                             16384,
                             UINT32_MAX,
                             uint64_t{UINT32_MAX} + 1,
                             UINT64_MAX - 1,
                             UINT64_MAX};
  for (int shift = 0; shift < 64; shift += 7) {
    v.push_back(uint64_t{1} << shift);
    v.push_back((uint64_t{1} << shift) - 1);
  }
  std::mt19937_64 rng(42);
  for (int i = 0; i < 1000; ++i) v.push_back(rng() >> (rng() % 64));
  return v;
}

TEST(CodingTest, FixedRoundTripsLittleEndian) {
  std::string buf;
  PutFixed32(&buf, 0x04030201);
  PutFixed64(&buf, 0x0807060504030201);
  ASSERT_EQ(buf.size(), 12u);
  EXPECT_EQ(buf.substr(0, 4), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(buf[4], '\x01');
  EXPECT_EQ(buf[11], '\x08');

  Decoder d(buf);
  uint32_t a;
  uint64_t b;
  ASSERT_TRUE(d.GetFixed32(&a));
  ASSERT_TRUE(d.GetFixed64(&b));
  EXPECT_EQ(a, 0x04030201u);
  EXPECT_EQ(b, 0x0807060504030201u);
  EXPECT_TRUE(d.done());
  EXPECT_FALSE(d.failed());
}

TEST(CodingTest, Varint64RoundTrips) {
  std::string buf;
  const std::vector<uint64_t> values = InterestingU64();
  for (uint64_t v : values) PutVarint64(&buf, v);
  Decoder d(buf);
  for (uint64_t v : values) {
    uint64_t got;
    ASSERT_TRUE(d.GetVarint64(&got)) << v;
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(d.done());
}

TEST(CodingTest, VarintLengthsAreMinimal) {
  std::string buf;
  PutVarint64(&buf, 127);
  EXPECT_EQ(buf.size(), 1u);
  buf.clear();
  PutVarint64(&buf, 128);
  EXPECT_EQ(buf.size(), 2u);
  buf.clear();
  PutVarint64(&buf, UINT64_MAX);
  EXPECT_EQ(buf.size(), 10u);
}

TEST(CodingTest, Varint32RejectsValuesAbove32Bits) {
  std::string buf;
  PutVarint32(&buf, UINT32_MAX);
  PutVarint64(&buf, uint64_t{UINT32_MAX} + 1);
  Decoder d(buf);
  uint32_t v;
  ASSERT_TRUE(d.GetVarint32(&v));
  EXPECT_EQ(v, UINT32_MAX);
  EXPECT_FALSE(d.GetVarint32(&v));
  EXPECT_TRUE(d.failed());
}

TEST(CodingTest, ZigZagRoundTripsAndKeepsSmallMagnitudesSmall) {
  EXPECT_EQ(ZigZagEncode(0), 0u);
  EXPECT_EQ(ZigZagEncode(-1), 1u);
  EXPECT_EQ(ZigZagEncode(1), 2u);
  EXPECT_EQ(ZigZagEncode(-2), 3u);
  EXPECT_EQ(ZigZagEncode(std::numeric_limits<int64_t>::max()), UINT64_MAX - 1);
  EXPECT_EQ(ZigZagEncode(std::numeric_limits<int64_t>::min()), UINT64_MAX);
  for (uint64_t u : InterestingU64()) {
    const int64_t v = static_cast<int64_t>(u);
    EXPECT_EQ(ZigZagDecode(ZigZagEncode(v)), v);
    if (v != std::numeric_limits<int64_t>::min()) {
      EXPECT_EQ(ZigZagDecode(ZigZagEncode(-v)), -v) << v;
    }
  }
}

TEST(CodingTest, LengthPrefixedRoundTrips) {
  std::string buf;
  PutLengthPrefixed(&buf, "");
  PutLengthPrefixed(&buf, "cost");
  PutLengthPrefixed(&buf, std::string(300, 'x'));
  Decoder d(buf);
  std::string_view s;
  ASSERT_TRUE(d.GetLengthPrefixed(&s));
  EXPECT_EQ(s, "");
  ASSERT_TRUE(d.GetLengthPrefixed(&s));
  EXPECT_EQ(s, "cost");
  ASSERT_TRUE(d.GetLengthPrefixed(&s));
  EXPECT_EQ(s, std::string(300, 'x'));
  EXPECT_TRUE(d.done());
}

TEST(CodingTest, DecoderFailsOnEveryTruncation) {
  std::string buf;
  PutFixed32(&buf, 7);
  PutVarint64(&buf, UINT64_MAX);
  PutLengthPrefixed(&buf, "usage_cost");
  PutFixed64(&buf, 9);
  for (size_t len = 0; len < buf.size(); ++len) {
    Decoder d(buf.data(), len);
    uint32_t a;
    uint64_t b, c;
    std::string_view s;
    const bool all =
        d.GetFixed32(&a) && d.GetVarint64(&b) && d.GetLengthPrefixed(&s) && d.GetFixed64(&c);
    EXPECT_FALSE(all) << "length " << len;
    EXPECT_TRUE(d.failed()) << "length " << len;
    // A failed decoder stays failed and at the end.
    uint8_t byte;
    EXPECT_FALSE(d.GetByte(&byte));
    EXPECT_EQ(d.remaining(), 0u);
  }
}

TEST(CodingTest, DecoderRejectsOverlongVarint) {
  // Eleven continuation bytes, and a tenth byte with bits beyond 64.
  const std::string too_long(11, '\xff');
  Decoder d1(too_long);
  uint64_t v;
  EXPECT_FALSE(d1.GetVarint64(&v));
  const std::string overflow = std::string(9, '\xff') + '\x02';
  Decoder d2(overflow);
  EXPECT_FALSE(d2.GetVarint64(&v));
  const std::string max = std::string(9, '\xff') + '\x01';
  Decoder d3(max);
  ASSERT_TRUE(d3.GetVarint64(&v));
  EXPECT_EQ(v, UINT64_MAX);
}

TEST(CodingTest, DecoderReportsOffset) {
  std::string buf;
  PutFixed32(&buf, 1);
  PutVarint64(&buf, 300);
  Decoder d(buf);
  uint32_t a;
  ASSERT_TRUE(d.GetFixed32(&a));
  EXPECT_EQ(d.offset(), 4u);
  uint64_t b;
  ASSERT_TRUE(d.GetVarint64(&b));
  EXPECT_EQ(d.offset(), 6u);
  EXPECT_EQ(b, 300u);
}

}  // namespace
}  // namespace burnrate
