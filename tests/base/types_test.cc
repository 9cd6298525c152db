#include "burnrate/types.h"

#include <cmath>
#include <limits>

#include "burnrate/money.h"
#include "burnrate/options.h"
#include "gtest/gtest.h"

namespace burnrate {
namespace {

TEST(FieldTypeTest, NamesAreInfluxDbNames) {
  EXPECT_EQ(FieldTypeName(FieldType::kFloat), "float");
  EXPECT_EQ(FieldTypeName(FieldType::kInteger), "integer");
  EXPECT_EQ(FieldTypeName(FieldType::kUnsigned), "unsigned");
  EXPECT_EQ(FieldTypeName(FieldType::kBoolean), "boolean");
  EXPECT_EQ(FieldTypeName(FieldType::kString), "string");
  EXPECT_EQ(FieldTypeName(FieldType::kMoney), "money");
  EXPECT_EQ(FieldTypeName(static_cast<FieldType>(0)), "unknown");
}

TEST(FieldValueTest, DebugStringLooksLikeLineProtocol) {
  EXPECT_EQ(FieldValue::Float(1.5).DebugString(), "1.5");
  EXPECT_EQ(FieldValue::Float(0.1).DebugString(), "0.1");
  EXPECT_EQ(FieldValue::Float(-2).DebugString(), "-2");
  EXPECT_EQ(FieldValue::Integer(3).DebugString(), "3i");
  EXPECT_EQ(FieldValue::Integer(-3).DebugString(), "-3i");
  EXPECT_EQ(FieldValue::Unsigned(7).DebugString(), "7u");
  EXPECT_EQ(FieldValue::Boolean(true).DebugString(), "true");
  EXPECT_EQ(FieldValue::Boolean(false).DebugString(), "false");
  EXPECT_EQ(FieldValue::String("text").DebugString(), "\"text\"");
  EXPECT_EQ(FieldValue::String("a\"b\\c").DebugString(), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(FieldValue::OfMoney(Money::FromUnits(181)).DebugString(), "0.0000000181");
  EXPECT_EQ(FieldValue::OfMoney(Money::FromUnits(-15'000'000'000)).DebugString(), "-1.5");
}

TEST(FieldValueTest, FloatDebugStringRoundTrips) {
  for (double d : {0.1 + 0.2, 1e-300, 1.7976931348623157e308, 123456789.125}) {
    EXPECT_EQ(std::stod(FieldValue::Float(d).DebugString()), d);
  }
  EXPECT_EQ(FieldValue::Float(std::numeric_limits<double>::infinity()).DebugString(), "inf");
}

TEST(FsyncPolicyTest, Names) {
  EXPECT_EQ(FsyncPolicyName(FsyncPolicy::kAlways), "always");
  EXPECT_EQ(FsyncPolicyName(FsyncPolicy::kInterval), "interval");
  EXPECT_EQ(FsyncPolicyName(FsyncPolicy::kNone), "none");
}

}  // namespace
}  // namespace burnrate
