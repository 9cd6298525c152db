#include "query/condition.h"

#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/literals.h"
#include "query/parser.h"
#include "tests/testing/status_matchers.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;
using ::testing::HasSubstr;

constexpr TimestampNs kNow = 1'800'000'000'000'000'000;
constexpr TimestampNs kHour = 3'600'000'000'000;
constexpr TimestampNs kDay = 24 * kHour;

WhereContext Context() {
  WhereContext ctx;
  ctx.now = kNow;
  ctx.is_tag = [](std::string_view name) {
    return name == "host" || name == "region" || name == "run_id";
  };
  return ctx;
}

absl::StatusOr<WhereSplit> Split(std::string_view where, const WhereContext& ctx = Context()) {
  absl::StatusOr<Expr> e = ParseExpr(where);
  if (!e.ok()) return e.status();
  return SplitWhere(&*e, ctx);
}

std::string Residual(const std::optional<Expr>& e) { return e ? ToString(*e) : "<none>"; }

TEST(SplitWhereTest, NoConditionMeansEverything) {
  ASSERT_OK_AND_ASSIGN(WhereSplit s, SplitWhere(nullptr, Context()));
  EXPECT_EQ(s.min_time, std::numeric_limits<TimestampNs>::min());
  EXPECT_EQ(s.max_time, std::numeric_limits<TimestampNs>::max());
  EXPECT_TRUE(s.tag_matchers.empty());
  EXPECT_FALSE(s.series_condition || s.row_condition);
}

TEST(SplitWhereTest, RelativeTimeRangeWithStrictBounds) {
  ASSERT_OK_AND_ASSIGN(WhereSplit s, Split("time > now() - 30d AND time < now()"));
  EXPECT_EQ(s.min_time, kNow - 30 * kDay + 1);
  EXPECT_EQ(s.max_time, kNow - 1);
  EXPECT_FALSE(s.EmptyTimeRange());
}

TEST(SplitWhereTest, GrafanaEpochMilliseconds) {
  ASSERT_OK_AND_ASSIGN(WhereSplit s, Split("time >= 1700000000000ms and time <= 1700003600000ms"));
  EXPECT_EQ(s.min_time, 1'700'000'000'000'000'000);
  EXPECT_EQ(s.max_time, 1'700'003'600'000'000'000);
}

TEST(SplitWhereTest, IntegerNanosecondsAndReversedOperands) {
  ASSERT_OK_AND_ASSIGN(WhereSplit s, Split("1000 <= time AND 2000 > time"));
  EXPECT_EQ(s.min_time, 1000);
  EXPECT_EQ(s.max_time, 1999);
}

TEST(SplitWhereTest, TimeEqualityAndIntersection) {
  ASSERT_OK_AND_ASSIGN(WhereSplit s, Split("time = 5000 AND time >= 1000"));
  EXPECT_EQ(s.min_time, 5000);
  EXPECT_EQ(s.max_time, 5000);
  ASSERT_OK_AND_ASSIGN(s, Split("time > now() AND time < now() - 1h"));
  EXPECT_TRUE(s.EmptyTimeRange());
  ASSERT_OK_AND_ASSIGN(s, Split("time > 9223372036854775807"));
  EXPECT_TRUE(s.EmptyTimeRange());
}

TEST(SplitWhereTest, TimeLiteralsUseTheStatementZone) {
  ASSERT_OK_AND_ASSIGN(WhereSplit utc,
                       Split("time >= '2026-11-01' AND time < '2026-11-02T00:00:00Z'"));
  EXPECT_EQ(utc.min_time, 1'793'491'200'000'000'000);
  EXPECT_EQ(utc.max_time, 1'793'491'200'000'000'000 + kDay - 1);

  WhereContext paris = Context();
  ASSERT_OK_AND_ASSIGN(paris.tz, LoadQueryTimeZone("Europe/Paris"));
  ASSERT_OK_AND_ASSIGN(WhereSplit local,
                       Split("time >= '2026-11-01' AND time < '2026-11-02T00:00:00Z'", paris));
  // Paris is UTC+1 in November: local midnight is 23:00 UTC the day before. A literal with
  // an explicit zone is not shifted.
  EXPECT_EQ(local.min_time, 1'793'491'200'000'000'000 - kHour);
  EXPECT_EQ(local.max_time, utc.max_time);
}

TEST(SplitWhereTest, TimeArithmetic) {
  ASSERT_OK_AND_ASSIGN(WhereSplit s,
                       Split("time > '2026-11-01T00:00:00Z' + 6m AND time <= now() - 2 * 1h"));
  EXPECT_EQ(s.min_time, 1'793'491'200'000'000'000 + 6 * 60'000'000'000 + 1);
  EXPECT_EQ(s.max_time, kNow - 2 * kHour);
}

TEST(SplitWhereTest, TagMatchers) {
  ASSERT_OK_AND_ASSIGN(
      WhereSplit s,
      Split("host = 'a' AND region <> 'eu' AND run_id =~ /^TrainFlow\\// AND host !~ /x/ AND "
            "'b' = region AND (time > now() - 1h)"));
  ASSERT_EQ(s.tag_matchers.size(), 5u);
  EXPECT_EQ(s.tag_matchers[0].key, "host");
  EXPECT_EQ(s.tag_matchers[0].op, TagMatcher::Op::kEqual);
  EXPECT_EQ(s.tag_matchers[0].value, "a");
  EXPECT_EQ(s.tag_matchers[1].op, TagMatcher::Op::kNotEqual);
  EXPECT_EQ(s.tag_matchers[1].value, "eu");
  EXPECT_EQ(s.tag_matchers[2].op, TagMatcher::Op::kRegexMatch);
  EXPECT_EQ(s.tag_matchers[2].value, "^TrainFlow/");
  EXPECT_EQ(s.tag_matchers[3].op, TagMatcher::Op::kRegexNoMatch);
  EXPECT_EQ(s.tag_matchers[4].key, "region");
  EXPECT_EQ(s.tag_matchers[4].value, "b");
  EXPECT_EQ(s.min_time, kNow - kHour + 1);
  EXPECT_FALSE(s.series_condition || s.row_condition);
}

TEST(SplitWhereTest, TypeHintsDecideTagOrField) {
  ASSERT_OK_AND_ASSIGN(WhereSplit s, Split("zone::tag = 'a' AND host::field = 'b'"));
  ASSERT_EQ(s.tag_matchers.size(), 1u);
  EXPECT_EQ(s.tag_matchers[0].key, "zone");
  EXPECT_EQ(Residual(s.row_condition), "host::field = 'b'");
}

TEST(SplitWhereTest, ResidualsSplitBySeriesAndRow) {
  ASSERT_OK_AND_ASSIGN(WhereSplit s,
                       Split("(host = 'a' OR host = 'b') AND cost > 0.1 AND region = 'eu' AND "
                             "(region = 'x' OR cost < 5) AND host > 'm'"));
  ASSERT_EQ(s.tag_matchers.size(), 1u);
  EXPECT_EQ(Residual(s.series_condition), "(host = 'a' OR host = 'b') AND host > 'm'");
  EXPECT_EQ(Residual(s.row_condition), "cost > 0.1 AND (region = 'x' OR cost < 5)");
}

TEST(SplitWhereTest, WithoutTagInformationNothingIsATag) {
  WhereContext ctx;
  ASSERT_OK_AND_ASSIGN(WhereSplit s, Split("host = 'a'", ctx));
  EXPECT_TRUE(s.tag_matchers.empty());
  EXPECT_EQ(Residual(s.row_condition), "host = 'a'");
}

TEST(SplitWhereTest, ManyResidualConjunctsStayShallow) {
  std::string where = "cost > 0";
  for (int i = 1; i < 600; ++i) StrAppend(&where, " AND cost > ", i);
  ASSERT_OK_AND_ASSIGN(WhereSplit s, Split(where));
  ASSERT_TRUE(s.row_condition.has_value());
  ASSERT_OK_AND_ASSIGN(Expr again, ParseExpr(ToString(*s.row_condition)));
  (void)again;
}

TEST(SplitWhereTest, BadTimeConditionsAreErrors) {
  EXPECT_THAT(Split("time > now() - 1h OR host = 'a'"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("invalid time condition: compare time with a constant, and "
                                 "combine time conditions with the rest using AND at line 1, "
                                 "char 19")));
  EXPECT_THAT(Split("time != 5"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "time supports only =, <, <=, > and >= (found !=) at line 1, char 6"));
  EXPECT_THAT(Split("time > host"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid time value host")));
  EXPECT_THAT(Split("time > 0.5"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Split("time > now(1)"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("now() takes no arguments")));
  EXPECT_THAT(Split("time > now() + 9223372036854775807ns"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  EXPECT_THAT(Split("time > 1h / 0"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("division by zero")));
  EXPECT_THAT(Split("time + 1h > now()"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid time condition")));
}

TEST(EvaluateTimeExprTest, Values) {
  const WhereContext ctx = Context();
  ASSERT_OK_AND_ASSIGN(Expr e, ParseExpr("now() - 1d + 1h"));
  ASSERT_OK_AND_ASSIGN(TimestampNs t, EvaluateTimeExpr(e, ctx));
  EXPECT_EQ(t, kNow - kDay + kHour);
  ASSERT_OK_AND_ASSIGN(e, ParseExpr("'2026-11-01T00:00:00Z'"));
  ASSERT_OK_AND_ASSIGN(t, EvaluateTimeExpr(e, ctx));
  EXPECT_EQ(t, 1'793'491'200'000'000'000);
}

TEST(LiteralsTest, DurationsFormatInTheirLargestUnit) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(90 * 60'000'000'000), "90m");
  EXPECT_EQ(FormatDuration(14 * kDay), "2w");
  EXPECT_EQ(FormatDuration(-15 * 60'000'000'000), "-15m");
  EXPECT_EQ(FormatDuration(1500), "1500ns");
  EXPECT_EQ(FormatDuration(2000), "2u");
  EXPECT_EQ(FormatDuration(std::numeric_limits<int64_t>::min()), "-9223372036854775808ns");
  for (int64_t v : {int64_t{1}, int64_t{999}, 90 * 60'000'000'000, 7 * kDay + 1,
                    std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}) {
    const std::string text = FormatDuration(v);
    const bool negative = text[0] == '-';
    const absl::StatusOr<int64_t> parsed =
        ParseDuration(negative ? text.substr(1) : text, negative);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(*parsed, v) << text;
  }
}

TEST(LiteralsTest, TimeZoneNames) {
  EXPECT_OK(LoadQueryTimeZone(""));
  EXPECT_OK(LoadQueryTimeZone("UTC"));
  EXPECT_OK(LoadQueryTimeZone("America/New_York"));
  EXPECT_THAT(
      LoadQueryTimeZone("Nowhere/Special"),
      StatusIs(absl::StatusCode::kInvalidArgument, "unable to find time zone Nowhere/Special"));
}

}  // namespace
}  // namespace burnrate
