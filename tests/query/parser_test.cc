#include "query/parser.h"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "burnrate/money.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/ast.h"
#include "tests/testing/status_matchers.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;
using ::testing::HasSubstr;

// The canonical text of a parsed query, or "ERROR: <message>".
std::string Canon(std::string_view text) {
  absl::StatusOr<Query> q = ParseQuery(text);
  if (!q.ok()) return "ERROR: " + std::string(q.status().message());
  return ToString(*q);
}

// Parses text, prints it, parses the print: both trees must be equal and print the same.
void ExpectRoundTrip(std::string_view text) {
  SCOPED_TRACE(std::string(text));
  absl::StatusOr<Query> q = ParseQuery(text);
  ASSERT_TRUE(q.ok()) << q.status();
  const std::string printed = ToString(*q);
  absl::StatusOr<Query> again = ParseQuery(printed);
  ASSERT_TRUE(again.ok()) << again.status() << " for " << printed;
  EXPECT_TRUE(*again == *q) << printed;
  EXPECT_EQ(ToString(*again), printed);
}

SelectStatement ParseSelect(std::string_view text) {
  absl::StatusOr<Statement> s = ParseStatement(text);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok() || !std::holds_alternative<SelectStatement>(*s)) return SelectStatement{};
  return std::get<SelectStatement>(*std::move(s));
}

// ---------------------------------------------------------------------------------------
// Every construct, checked through its canonical print.

struct CanonCase {
  const char* input;
  const char* canonical;
};

class CanonicalFormTest : public ::testing::TestWithParam<CanonCase> {};

TEST_P(CanonicalFormTest, PrintsCanonicallyAndRoundTrips) {
  EXPECT_EQ(Canon(GetParam().input), GetParam().canonical);
  ExpectRoundTrip(GetParam().input);
}

constexpr CanonCase kFieldCases[] = {
    {"select sum(cost) from cost", "SELECT sum(cost) FROM cost"},
    {"SELECT SUM(cost) AS total FROM cost", "SELECT sum(cost) AS total FROM cost"},
    {"SELECT sum(cost) AS \"select\" FROM cost", "SELECT sum(cost) AS \"select\" FROM cost"},
    {"SELECT * FROM cpu", "SELECT * FROM cpu"},
    {"SELECT *::field, *::tag FROM cpu", "SELECT *::field, *::tag FROM cpu"},
    {"SELECT \"host\"::tag, \"value\"::field, v::float, i::integer, u::unsigned, s::string, "
     "b::boolean FROM m",
     "SELECT host::tag, value::field, v::float, i::integer, u::unsigned, s::string, b::boolean "
     "FROM m"},
    {"SELECT /^usage_/ FROM cpu", "SELECT /^usage_/ FROM cpu"},
    {"SELECT count(*), count(DISTINCT host), DISTINCT region, distinct(zone) FROM m",
     "SELECT count(*), count(distinct(host)), distinct(region), distinct(zone) FROM m"},
    {"SELECT count(c), sum(c), mean(c), min(c), max(c), first(c), last(c), spread(c), "
     "median(c), percentile(c, 95), percentile(c, 99.9), stddev(c) FROM m",
     "SELECT count(c), sum(c), mean(c), min(c), max(c), first(c), last(c), spread(c), "
     "median(c), percentile(c, 95), percentile(c, 99.9), stddev(c) FROM m"},
    {"SELECT top(cost, run_id, 10), bottom(cost, 3), TOP(cost, a, b, 2) FROM c",
     "SELECT top(cost, run_id, 10), bottom(cost, 3), top(cost, a, b, 2) FROM c"},
    {"SELECT frobnicate(cost), now() FROM c", "SELECT frobnicate(cost), now() FROM c"},
    {"SELECT sum(cost) * 60 FROM c", "SELECT sum(cost) * 60 FROM c"},
    {"SELECT (sum(a) + sum(b)) / 2, sum(a) + sum(b) / 2 FROM c",
     "SELECT (sum(a) + sum(b)) / 2, sum(a) + sum(b) / 2 FROM c"},
    {"SELECT a - (b - c), (a - b) - c, a * (b + c), a / (b * c) FROM m",
     "SELECT a - (b - c), a - b - c, a * (b + c), a / (b * c) FROM m"},
    {"SELECT -sum(cost), -(1), - 2.50, +3, -(-4), a - -1 FROM c",
     "SELECT -1 * sum(cost), -1, -2.50, 3, 4, a - -1 FROM c"},
    {"SELECT 0.1, .5, 10.250, 007 FROM m", "SELECT 0.1, .5, 10.250, 7 FROM m"},
    {"SELECT 'str', 'it\\'s', true, FALSE FROM m", "SELECT 'str', 'it\\'s', true, false FROM m"},
};
INSTANTIATE_TEST_SUITE_P(Fields, CanonicalFormTest, ::testing::ValuesIn(kFieldCases));

constexpr CanonCase kSourceCases[] = {
    {"SELECT a FROM db.rp.m", "SELECT a FROM db.rp.m"},
    {"SELECT a FROM db..m", "SELECT a FROM db..m"},
    {"SELECT a FROM rp.m", "SELECT a FROM rp.m"},
    {"SELECT a FROM \"my db\".\"my rp\".\"my m\"", "SELECT a FROM \"my db\".\"my rp\".\"my m\""},
    {"SELECT a FROM \"cpu\"", "SELECT a FROM cpu"},
    {"SELECT a FROM \"select\", \"1m\", \"a\\\"b\"",
     "SELECT a FROM \"select\", \"1m\", \"a\\\"b\""},
    {"SELECT a FROM m1, m2", "SELECT a FROM m1, m2"},
    {"SELECT a FROM /^cpu/, db../x/, db.rp./y\\/z/",
     "SELECT a FROM /^cpu/, db../x/, db.rp./y\\/z/"},
    {"SELECT top(total, run_id, 10) FROM (SELECT sum(cost) AS total FROM cost WHERE time > "
     "now() - 30d GROUP BY run_id)",
     "SELECT top(total, run_id, 10) FROM (SELECT sum(cost) AS total FROM cost WHERE time > "
     "now() - 30d GROUP BY run_id)"},
    {"SELECT max(m) FROM (SELECT mean(v) AS m FROM (SELECT v FROM x) GROUP BY time(1h)), y",
     "SELECT max(m) FROM (SELECT mean(v) AS m FROM (SELECT v FROM x) GROUP BY time(1h)), y"},
};
INSTANTIATE_TEST_SUITE_P(Sources, CanonicalFormTest, ::testing::ValuesIn(kSourceCases));

constexpr CanonCase kWhereCases[] = {
    {"SELECT a FROM m WHERE host = 'a' AND region != 'b' OR x <> 1",
     "SELECT a FROM m WHERE host = 'a' AND region != 'b' OR x != 1"},
    {"SELECT a FROM m WHERE host = 'a' AND (region = 'b' OR region = 'c')",
     "SELECT a FROM m WHERE host = 'a' AND (region = 'b' OR region = 'c')"},
    {"SELECT a FROM m WHERE (host = 'a' AND region = 'b') OR region = 'c'",
     "SELECT a FROM m WHERE host = 'a' AND region = 'b' OR region = 'c'"},
    {"SELECT a FROM m WHERE host =~ /^a/ AND host !~ /b$/ AND p =~ /x\\/y/",
     "SELECT a FROM m WHERE host =~ /^a/ AND host !~ /b$/ AND p =~ /x\\/y/"},
    {"SELECT a FROM m WHERE cost > 0.1 AND cost <= 10 AND n >= -3 AND n < 5",
     "SELECT a FROM m WHERE cost > 0.1 AND cost <= 10 AND n >= -3 AND n < 5"},
    {"SELECT a FROM m WHERE time > now() - 30d", "SELECT a FROM m WHERE time > now() - 30d"},
    {"SELECT a FROM m WHERE time >= now() - 1h30m AND time < now() + 10\xC2\xB5",
     "SELECT a FROM m WHERE time >= now() - 90m AND time < now() + 10u"},
    {"SELECT a FROM m WHERE time > now() - 1w2d3h4m5s6ms7u8ns",
     "SELECT a FROM m WHERE time > now() - 788645006007008ns"},
    {"SELECT a FROM m WHERE time >= '2026-11-01T00:00:00Z' AND time < '2026-11-01 08:00:00.5'",
     "SELECT a FROM m WHERE time >= '2026-11-01T00:00:00Z' AND time < '2026-11-01 08:00:00.5'"},
    {"SELECT a FROM m WHERE '2026-11-01' <= time AND time < '2026-11-02' + 1h",
     "SELECT a FROM m WHERE '2026-11-01' <= time AND time < '2026-11-02' + 1h"},
    {"SELECT a FROM m WHERE time >= 1700000000000ms and time <= 1700003600000ms",
     "SELECT a FROM m WHERE time >= 1700000000s AND time <= 1700003600s"},
    {"SELECT a FROM m WHERE time >= 1700000000000000000",
     "SELECT a FROM m WHERE time >= 1700000000000000000"},
    {"SELECT a FROM m WHERE b = true AND c = FALSE",
     "SELECT a FROM m WHERE b = true AND c = false"},
    {"SELECT a FROM m WHERE x + 1 > y * 2 - z", "SELECT a FROM m WHERE x + 1 > y * 2 - z"},
    {"SELECT a FROM m WHERE (a = 1) = true", "SELECT a FROM m WHERE a = 1 = true"},
    {"SELECT a FROM m WHERE a = (b = true)", "SELECT a FROM m WHERE a = (b = true)"},
    {"SELECT a FROM m WHERE label = 'it\\'s \\\\ a\\nb'",
     "SELECT a FROM m WHERE label = 'it\\'s \\\\ a\\nb'"},
};
INSTANTIATE_TEST_SUITE_P(Where, CanonicalFormTest, ::testing::ValuesIn(kWhereCases));

constexpr CanonCase kClauseCases[] = {
    {"SELECT a FROM m GROUP BY run_id, time(1h)", "SELECT a FROM m GROUP BY run_id, time(1h)"},
    {"SELECT a FROM m GROUP BY time(1h, -15m), *", "SELECT a FROM m GROUP BY time(1h, -15m), *"},
    {"SELECT a FROM m GROUP BY time(60m,2h)", "SELECT a FROM m GROUP BY time(1h, 2h)"},
    {"SELECT a FROM m GROUP BY /^cl/, \"cloud provider\", \"host\"::tag",
     "SELECT a FROM m GROUP BY /^cl/, \"cloud provider\", host"},
    {"SELECT a FROM m GROUP BY TIME(1d)", "SELECT a FROM m GROUP BY time(1d)"},
    {"SELECT a FROM m GROUP BY time(1h) fill(0)", "SELECT a FROM m GROUP BY time(1h) fill(0)"},
    {"SELECT a FROM m GROUP BY time(1h) FILL(none)",
     "SELECT a FROM m GROUP BY time(1h) fill(none)"},
    {"SELECT a FROM m GROUP BY time(1h) fill(null)", "SELECT a FROM m GROUP BY time(1h)"},
    {"SELECT a FROM m GROUP BY time(1h) fill(previous)",
     "SELECT a FROM m GROUP BY time(1h) fill(previous)"},
    {"SELECT a FROM m GROUP BY time(1h) fill(linear)",
     "SELECT a FROM m GROUP BY time(1h) fill(linear)"},
    {"SELECT a FROM m GROUP BY time(1h) fill(-1.50)",
     "SELECT a FROM m GROUP BY time(1h) fill(-1.50)"},
    {"SELECT a FROM m fill(100)", "SELECT a FROM m fill(100)"},
    {"SELECT a FROM m ORDER BY time DESC", "SELECT a FROM m ORDER BY time DESC"},
    {"SELECT a FROM m ORDER BY time ASC", "SELECT a FROM m ORDER BY time"},
    {"SELECT sum(cost) FROM m GROUP BY run_id ORDER BY sum(cost) DESC LIMIT 10",
     "SELECT sum(cost) FROM m GROUP BY run_id ORDER BY sum(cost) DESC LIMIT 10"},
    {"SELECT sum(cost) AS total FROM m GROUP BY run_id ORDER BY total DESC, time",
     "SELECT sum(cost) AS total FROM m GROUP BY run_id ORDER BY total DESC, time"},
    {"SELECT a FROM m LIMIT 10 OFFSET 5 SLIMIT 2 SOFFSET 1",
     "SELECT a FROM m LIMIT 10 OFFSET 5 SLIMIT 2 SOFFSET 1"},
    {"SELECT a FROM m LIMIT 0", "SELECT a FROM m"},
    {"SELECT a FROM m GROUP BY time(1d) tz('Europe/Paris')",
     "SELECT a FROM m GROUP BY time(1d) tz('Europe/Paris')"},
    {"SELECT a FROM m tz('UTC')", "SELECT a FROM m"},
    {"SELECT mean(v) FROM m WHERE host = 'a' GROUP BY time(5m), host fill(0) ORDER BY time DESC "
     "LIMIT 5 OFFSET 1 SLIMIT 3 SOFFSET 2 tz('Asia/Tokyo')",
     "SELECT mean(v) FROM m WHERE host = 'a' GROUP BY time(5m), host fill(0) ORDER BY time DESC "
     "LIMIT 5 OFFSET 1 SLIMIT 3 SOFFSET 2 tz('Asia/Tokyo')"},
    {"EXPLAIN SELECT sum(cost) FROM cost", "EXPLAIN SELECT sum(cost) FROM cost"},
    {"explain analyze SELECT sum(cost) FROM cost", "EXPLAIN ANALYZE SELECT sum(cost) FROM cost"},
    {"-- a comment\nSELECT /* inline */ a FROM b -- trailing", "SELECT a FROM b"},
    {"SELECT a FROM b; SELECT c FROM d", "SELECT a FROM b; SELECT c FROM d"},
    {";;SELECT a FROM b;;", "SELECT a FROM b"},
    {"", ""},
};
INSTANTIATE_TEST_SUITE_P(Clauses, CanonicalFormTest, ::testing::ValuesIn(kClauseCases));

constexpr CanonCase kMetaCases[] = {
    {"show databases", "SHOW DATABASES"},
    {"SHOW MEASUREMENTS", "SHOW MEASUREMENTS"},
    {"SHOW MEASUREMENTS ON db WITH MEASUREMENT =~ /cpu/ WHERE host = 'a' LIMIT 10 OFFSET 2",
     "SHOW MEASUREMENTS ON db WITH MEASUREMENT =~ /cpu/ WHERE host = 'a' LIMIT 10 OFFSET 2"},
    {"SHOW MEASUREMENTS WITH MEASUREMENT = \"cpu\"", "SHOW MEASUREMENTS WITH MEASUREMENT = cpu"},
    {"SHOW TAG KEYS", "SHOW TAG KEYS"},
    {"SHOW TAG KEYS ON db FROM cpu, mem WHERE host = 'a' LIMIT 5 OFFSET 1",
     "SHOW TAG KEYS ON db FROM cpu, mem WHERE host = 'a' LIMIT 5 OFFSET 1"},
    {"SHOW TAG VALUES FROM cpu WITH KEY = \"host\"", "SHOW TAG VALUES FROM cpu WITH KEY = host"},
    {"SHOW TAG VALUES ON db WITH KEY = 'host' WHERE region = 'eu' LIMIT 3",
     "SHOW TAG VALUES ON db WITH KEY = host WHERE region = 'eu' LIMIT 3"},
    {"SHOW TAG VALUES WITH KEY IN (\"region\", host)",
     "SHOW TAG VALUES WITH KEY IN (region, host)"},
    {"SHOW TAG VALUES WITH KEY =~ /h.*/", "SHOW TAG VALUES WITH KEY =~ /h.*/"},
    {"SHOW TAG VALUES WITH KEY !~ /h.*/", "SHOW TAG VALUES WITH KEY !~ /h.*/"},
    {"SHOW TAG VALUES WITH KEY != host", "SHOW TAG VALUES WITH KEY != host"},
    {"SHOW FIELD KEYS", "SHOW FIELD KEYS"},
    {"SHOW FIELD KEYS ON db FROM cpu", "SHOW FIELD KEYS ON db FROM cpu"},
    {"SHOW SERIES", "SHOW SERIES"},
    {"SHOW SERIES ON db FROM cpu WHERE host = 'a' LIMIT 10 OFFSET 1",
     "SHOW SERIES ON db FROM cpu WHERE host = 'a' LIMIT 10 OFFSET 1"},
    {"SHOW RETENTION POLICIES", "SHOW RETENTION POLICIES"},
    {"SHOW RETENTION POLICIES on \"telegraf\"", "SHOW RETENTION POLICIES ON telegraf"},
    {"CREATE DATABASE burn", "CREATE DATABASE burn"},
    {"CREATE DATABASE burn WITH DURATION 400d REPLICATION 1 SHARD DURATION 24h NAME autogen",
     "CREATE DATABASE burn WITH DURATION 400d REPLICATION 1 SHARD DURATION 1d NAME autogen"},
    {"CREATE DATABASE \"x y\" WITH DURATION INF", "CREATE DATABASE \"x y\" WITH DURATION INF"},
    {"CREATE DATABASE x WITH NAME rp", "CREATE DATABASE x WITH NAME rp"},
    {"DROP DATABASE burn", "DROP DATABASE burn"},
    {"DROP MEASUREMENT \"cpu\"", "DROP MEASUREMENT cpu"},
    {"DROP SERIES FROM cpu WHERE host = 'a'", "DROP SERIES FROM cpu WHERE host = 'a'"},
    {"DROP SERIES WHERE host = 'a'", "DROP SERIES WHERE host = 'a'"},
    {"DROP SERIES FROM /c.*/", "DROP SERIES FROM /c.*/"},
    {"DELETE FROM cost WHERE time < '2026-01-01'", "DELETE FROM cost WHERE time < '2026-01-01'"},
    {"DELETE FROM cost", "DELETE FROM cost"},
    {"DELETE WHERE run_id = 'x'", "DELETE WHERE run_id = 'x'"},
};
INSTANTIATE_TEST_SUITE_P(Meta, CanonicalFormTest, ::testing::ValuesIn(kMetaCases));

// ---------------------------------------------------------------------------------------
// The tree itself.

TEST(ParserTest, SelectFieldsAndAliases) {
  const SelectStatement s = ParseSelect("SELECT sum(cost) * 60 AS rate, host FROM cost");
  ASSERT_EQ(s.fields.size(), 2u);
  EXPECT_EQ(s.fields[0].alias, "rate");
  const auto* mul = s.fields[0].expr.As<BinaryExpr>();
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(mul->op, BinaryOp::kMul);
  EXPECT_TRUE(IsCall(*mul->lhs, "sum"));
  EXPECT_EQ(mul->rhs->As<IntegerLiteral>()->value, 60);
  const auto* host = s.fields[1].expr.As<VarRef>();
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->name, "host");
  EXPECT_EQ(host->type, VarType::kAny);
  EXPECT_EQ(s.fields[1].alias, "");
}

TEST(ParserTest, NumberLiteralsKeepTheirExactText) {
  const SelectStatement s = ParseSelect("SELECT a FROM m WHERE cost > 0.10");
  ASSERT_TRUE(s.condition.has_value());
  const auto* cmp = s.condition->As<BinaryExpr>();
  ASSERT_NE(cmp, nullptr);
  const auto* n = cmp->rhs->As<NumberLiteral>();
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->text, "0.10");
  EXPECT_DOUBLE_EQ(n->value, 0.1);
  ASSERT_OK_AND_ASSIGN(Money m, Money::Parse(n->text));
  EXPECT_EQ(m.units(), Money::kUnitsPerWhole / 10);

  const SelectStatement neg = ParseSelect("SELECT a FROM m WHERE cost > -0.0000000001");
  EXPECT_EQ(neg.condition->As<BinaryExpr>()->rhs->As<NumberLiteral>()->text, "-0.0000000001");
}

TEST(ParserTest, IntegerLimits) {
  const SelectStatement s =
      ParseSelect("SELECT -9223372036854775808, 9223372036854775807, -(5) FROM m");
  EXPECT_EQ(s.fields[0].expr.As<IntegerLiteral>()->value, INT64_MIN);
  EXPECT_EQ(s.fields[1].expr.As<IntegerLiteral>()->value, INT64_MAX);
  EXPECT_EQ(s.fields[2].expr.As<IntegerLiteral>()->value, -5);
  ExpectRoundTrip("SELECT -9223372036854775808, -9223372036854775808ns FROM m");
}

TEST(ParserTest, Measurements) {
  const SelectStatement s = ParseSelect("SELECT a FROM db.rp.m, db..n, rp.o, p, db../^q/");
  ASSERT_EQ(s.sources.size(), 5u);
  const auto& m0 = std::get<Measurement>(s.sources[0]);
  EXPECT_EQ(m0.database, "db");
  EXPECT_EQ(m0.retention_policy, "rp");
  EXPECT_EQ(m0.name, "m");
  EXPECT_FALSE(m0.regex.has_value());
  const auto& m1 = std::get<Measurement>(s.sources[1]);
  EXPECT_EQ(m1.database, "db");
  EXPECT_EQ(m1.retention_policy, "");
  EXPECT_EQ(m1.name, "n");
  const auto& m2 = std::get<Measurement>(s.sources[2]);
  EXPECT_EQ(m2.database, "");
  EXPECT_EQ(m2.retention_policy, "rp");
  const auto& m3 = std::get<Measurement>(s.sources[3]);
  EXPECT_EQ(m3.name, "p");
  const auto& m4 = std::get<Measurement>(s.sources[4]);
  EXPECT_EQ(m4.database, "db");
  EXPECT_EQ(m4.name, "");
  EXPECT_EQ(m4.regex, "^q");
}

TEST(ParserTest, NestedSubqueries) {
  const SelectStatement s = ParseSelect(
      "SELECT top(total, run_id, 10) FROM (SELECT sum(cost) AS total FROM (SELECT cost FROM "
      "cost WHERE cost > 0) GROUP BY run_id)");
  ASSERT_EQ(s.sources.size(), 1u);
  const auto* sub = std::get_if<Subquery>(&s.sources[0]);
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->select->fields[0].alias, "total");
  ASSERT_EQ(sub->select->dimensions.size(), 1u);
  EXPECT_EQ(sub->select->dimensions[0].name, "run_id");
  const auto* inner = std::get_if<Subquery>(&sub->select->sources[0]);
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(std::get<Measurement>(inner->select->sources[0]).name, "cost");
  EXPECT_TRUE(inner->select->condition.has_value());
}

TEST(ParserTest, DimensionsFillOrderLimitsTz) {
  const SelectStatement s = ParseSelect(
      "SELECT sum(cost) AS total FROM cost GROUP BY cloud, /^acc/, *, time(1d, -2h) fill(0.5) "
      "ORDER BY total DESC LIMIT 3 OFFSET 4 SLIMIT 5 SOFFSET 6 tz('Europe/Paris')");
  ASSERT_EQ(s.dimensions.size(), 4u);
  EXPECT_EQ(s.dimensions[0].kind, Dimension::Kind::kTag);
  EXPECT_EQ(s.dimensions[0].name, "cloud");
  EXPECT_EQ(s.dimensions[1].kind, Dimension::Kind::kRegex);
  EXPECT_EQ(s.dimensions[1].name, "^acc");
  EXPECT_EQ(s.dimensions[2].kind, Dimension::Kind::kWildcard);
  ASSERT_NE(s.TimeDimension(), nullptr);
  EXPECT_EQ(s.TimeDimension()->interval_ns, 86'400'000'000'000);
  EXPECT_EQ(s.TimeDimension()->offset_ns, -7'200'000'000'000);
  EXPECT_EQ(s.fill, FillMode::kValue);
  ASSERT_TRUE(s.fill_value.has_value());
  EXPECT_EQ(s.fill_value->As<NumberLiteral>()->text, "0.5");
  ASSERT_EQ(s.order_by.size(), 1u);
  EXPECT_FALSE(s.order_by[0].ascending);
  EXPECT_EQ(s.order_by[0].expr.As<VarRef>()->name, "total");
  EXPECT_EQ(s.limit, 3);
  EXPECT_EQ(s.offset, 4);
  EXPECT_EQ(s.slimit, 5);
  EXPECT_EQ(s.soffset, 6);
  EXPECT_EQ(s.tz, "Europe/Paris");

  const SelectStatement d = ParseSelect("SELECT a FROM m");
  EXPECT_EQ(d.fill, FillMode::kNull);
  EXPECT_EQ(d.TimeDimension(), nullptr);
  EXPECT_EQ(d.limit, 0);
}

TEST(ParserTest, TimeStringsBesideTimeBecomeTimeLiterals) {
  const SelectStatement s = ParseSelect(
      "SELECT a FROM m WHERE time >= '2026-11-01T00:00:00Z' AND time < '2026-11-01' + 1h AND "
      "label = '2026-11-01'");
  std::vector<const Expr*> literals;
  ForEachExpr(*s.condition, [&](const Expr& e) {
    if (e.Is<TimeLiteral>() || e.Is<StringLiteral>()) literals.push_back(&e);
  });
  ASSERT_EQ(literals.size(), 3u);
  const auto* t0 = literals[0]->As<TimeLiteral>();
  ASSERT_NE(t0, nullptr);
  EXPECT_EQ(t0->ns, 1'793'491'200'000'000'000);
  EXPECT_TRUE(t0->has_zone);
  const auto* t1 = literals[1]->As<TimeLiteral>();
  ASSERT_NE(t1, nullptr);
  EXPECT_EQ(t1->ns, 1'793'491'200'000'000'000);
  EXPECT_FALSE(t1->has_zone);
  // A string compared with anything but time stays a string.
  EXPECT_TRUE(literals[2]->Is<StringLiteral>());
}

TEST(ParserTest, TimeLiteralForms) {
  struct Case {
    const char* text;
    int64_t ns;
    bool has_zone;
  };
  const Case cases[] = {
      {"2026-11-01T00:00:00Z", 1'793'491'200'000'000'000, true},
      {"2026-11-01T01:00:00+01:00", 1'793'491'200'000'000'000, true},
      {"2026-10-31T19:00:00-05:00", 1'793'491'200'000'000'000, true},
      {"2026-11-01T00:00:00.123456789Z", 1'793'491'200'123'456'789, true},
      {"2026-11-01T00:00:00.5Z", 1'793'491'200'500'000'000, true},
      {"2026-11-01 00:00:00", 1'793'491'200'000'000'000, false},
      {"2026-11-01 00:00:00.000001", 1'793'491'200'000'001'000, false},
      {"2026-11-01", 1'793'491'200'000'000'000, false},
      {"1970-01-01T00:00:00Z", 0, true},
      {"1969-12-31T23:59:59.999999999Z", -1, true},
      {"2024-02-29", 1'709'164'800'000'000'000, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const SelectStatement s = ParseSelect(StrCat("SELECT a FROM m WHERE time = '", c.text, "'"));
    ASSERT_TRUE(s.condition.has_value());
    const auto* t = s.condition->As<BinaryExpr>()->rhs->As<TimeLiteral>();
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->ns, c.ns);
    EXPECT_EQ(t->has_zone, c.has_zone);
    EXPECT_EQ(t->text, c.text);
  }
}

TEST(ParserTest, DurationsAndGrafanaEpochs) {
  const SelectStatement s =
      ParseSelect("SELECT a FROM m WHERE time >= 1700000000000ms AND time <= now() - 1h30m");
  const auto* conj = s.condition->As<BinaryExpr>();
  ASSERT_NE(conj, nullptr);
  EXPECT_EQ(conj->op, BinaryOp::kAnd);
  EXPECT_EQ(conj->lhs->As<BinaryExpr>()->rhs->As<DurationLiteral>()->ns, 1'700'000'000'000'000'000);
  const auto* sub = conj->rhs->As<BinaryExpr>()->rhs->As<BinaryExpr>();
  ASSERT_NE(sub, nullptr);
  EXPECT_TRUE(IsCall(*sub->lhs, "now"));
  EXPECT_EQ(sub->rhs->As<DurationLiteral>()->ns, 5'400'000'000'000);
}

TEST(ParserTest, PositionsPointAtTheNode) {
  const SelectStatement s = ParseSelect("SELECT a,\n  sum(cost) FROM m\nWHERE x = 1");
  EXPECT_EQ(s.pos.line, 1);
  EXPECT_EQ(s.pos.column, 1);
  EXPECT_EQ(s.fields[1].expr.pos.line, 2);
  EXPECT_EQ(s.fields[1].expr.pos.column, 3);
  // A binary expression is placed at its operator.
  EXPECT_EQ(s.condition->pos.line, 3);
  EXPECT_EQ(s.condition->pos.column, 9);
  EXPECT_EQ(std::get<Measurement>(s.sources[0]).pos.column, 18);

  ASSERT_OK_AND_ASSIGN(Query q, ParseQuery("SHOW DATABASES;\n  DROP DATABASE x"));
  ASSERT_EQ(q.statements.size(), 2u);
  EXPECT_EQ(StatementPos(q.statements[1]).line, 2);
  EXPECT_EQ(StatementPos(q.statements[1]).column, 3);
}

TEST(ParserTest, EqualityIgnoresPositionsButNotMeaning) {
  ASSERT_OK_AND_ASSIGN(Query a, ParseQuery("SELECT   a FROM m WHERE x = 1"));
  ASSERT_OK_AND_ASSIGN(Query b, ParseQuery("SELECT a\nFROM m WHERE (x = 1)"));
  ASSERT_OK_AND_ASSIGN(Query c, ParseQuery("SELECT a FROM m WHERE x = 2"));
  ASSERT_OK_AND_ASSIGN(Query d, ParseQuery("SELECT a FROM m WHERE x = 1.0"));
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == d);
}

TEST(ParserTest, MetaStatementTrees) {
  ASSERT_OK_AND_ASSIGN(Statement st,
                       ParseStatement("SHOW TAG VALUES ON db FROM cpu WITH KEY IN (region, "
                                      "host) WHERE region = 'eu' LIMIT 2 OFFSET 1"));
  const auto& tv = std::get<ShowTagValuesStatement>(st);
  EXPECT_EQ(tv.database, "db");
  ASSERT_EQ(tv.sources.size(), 1u);
  EXPECT_EQ(tv.sources[0].name, "cpu");
  EXPECT_EQ(tv.key_op, ShowTagValuesStatement::KeyOp::kIn);
  EXPECT_THAT(tv.keys, ::testing::ElementsAre("region", "host"));
  EXPECT_TRUE(tv.condition.has_value());
  EXPECT_EQ(tv.limit, 2);
  EXPECT_EQ(tv.offset, 1);

  ASSERT_OK_AND_ASSIGN(st, ParseStatement("CREATE DATABASE burn WITH DURATION 400d "
                                          "REPLICATION 1 SHARD DURATION 1d NAME raw"));
  const auto& cd = std::get<CreateDatabaseStatement>(st);
  EXPECT_EQ(cd.name, "burn");
  EXPECT_EQ(cd.duration_ns, 400 * 86'400'000'000'000);
  EXPECT_EQ(cd.replication, 1);
  EXPECT_EQ(cd.shard_duration_ns, 86'400'000'000'000);
  EXPECT_EQ(cd.retention_policy_name, "raw");

  ASSERT_OK_AND_ASSIGN(st, ParseStatement("SHOW MEASUREMENTS WITH MEASUREMENT =~ /^c/"));
  const auto& sm = std::get<ShowMeasurementsStatement>(st);
  ASSERT_TRUE(sm.with_measurement.has_value());
  EXPECT_EQ(sm.with_measurement->regex, "^c");

  ASSERT_OK_AND_ASSIGN(st, ParseStatement("EXPLAIN ANALYZE SELECT a FROM m;"));
  EXPECT_TRUE(std::get<ExplainStatement>(st).analyze);

  ASSERT_OK_AND_ASSIGN(st, ParseStatement("DELETE FROM cost WHERE run_id = 'x'"));
  EXPECT_EQ(std::get<DeleteStatement>(st).sources[0].name, "cost");
}

TEST(ParserTest, ParseExprAndStatementEntryPoints) {
  ASSERT_OK_AND_ASSIGN(Expr e, ParseExpr("host = 'a' OR x > 1"));
  EXPECT_EQ(ToString(e), "host = 'a' OR x > 1");
  EXPECT_THAT(ParseExpr("a b"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "error parsing query: found b, expected EOF at line 1, char 3"));
  EXPECT_THAT(ParseStatement("SHOW DATABASES; SHOW DATABASES"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected EOF")));
  EXPECT_THAT(ParseStatement(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParserTest, BuiltTreesPrint) {
  Expr e = Expr::Binary(
      BinaryOp::kAnd, Expr::Binary(BinaryOp::kEqRegex, Expr::Var("run_id"), Expr::Regex("^a/b")),
      Expr::Binary(BinaryOp::kGt, Expr::Var("cost", VarType::kField), Expr::Number("0.5")));
  EXPECT_EQ(ToString(e), "run_id =~ /^a\\/b/ AND cost::field > 0.5");
  EXPECT_EQ(QuoteIdent("ok_1"), "ok_1");
  EXPECT_EQ(QuoteIdent("1m"), "\"1m\"");
  EXPECT_EQ(QuoteIdent("from"), "\"from\"");
  EXPECT_EQ(QuoteIdent(""), "\"\"");
  EXPECT_EQ(QuoteString("a'b\\c"), "'a\\'b\\\\c'");
}

// ---------------------------------------------------------------------------------------
// Errors: every class, with InfluxDB's wording shape and 1-based line and char.

struct ErrorCase {
  const char* input;
  const char* message;
};

class ParseErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrorTest, IsInvalidArgumentWithPosition) {
  EXPECT_THAT(ParseQuery(GetParam().input),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StrCat("error parsing query: ", GetParam().message)));
}

constexpr ErrorCase kErrorCases[] = {
    // Unexpected tokens.
    {"SELECT", "found EOF, expected identifier, string, number, bool at line 1, char 7"},
    {"SELECT a", "found EOF, expected FROM at line 1, char 9"},
    {"SELECT a FROM", "found EOF, expected identifier, regex at line 1, char 14"},
    {"SELECT FROM cpu", "found FROM, expected identifier, string, number, bool at line 1, char 8"},
    {"SELECT a FROM b WHERE",
     "found EOF, expected identifier, string, number, bool at line 1, char 22"},
    {"SELECT a FROM b GROUP time(1h)", "found time, expected BY at line 1, char 23"},
    {"SELECT a FROM b c", "found c, expected ; at line 1, char 17"},
    {"SELECT a\nFROM b\nWHERE x = = 1",
     "found =, expected identifier, string, number, bool at line 3, char 11"},
    {"FOO", "found FOO, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN at line 1, char 1"},
    {"SHOW FOO",
     "found FOO, expected DATABASES, MEASUREMENTS, TAG, FIELD, SERIES, RETENTION at line 1, "
     "char 6"},
    {"SHOW TAG FOO", "found FOO, expected KEYS, VALUES at line 1, char 10"},
    {"SHOW TAG VALUES FROM cpu", "found EOF, expected WITH at line 1, char 25"},
    {"SHOW TAG VALUES WITH KEY host", "found host, expected =, !=, =~, !~, IN at line 1, char 26"},
    {"SELECT mean(x FROM m", "found FROM, expected ',', ')' at line 1, char 15"},
    {"SELECT a FROM b WHERE host =~ 'x'", "found 'x', expected regex at line 1, char 31"},
    {"SELECT a FROM b LIMIT x", "found x, expected integer at line 1, char 23"},
    {"SELECT a FROM b LIMIT -1", "found -, expected integer at line 1, char 23"},
    {"SELECT a FROM b LIMIT 1.5", "found 1.5, expected integer at line 1, char 23"},
    {"DELETE", "found EOF, expected FROM, WHERE at line 1, char 7"},
    {"DROP SERIES", "found EOF, expected FROM, WHERE at line 1, char 12"},
    {"DROP TABLE x", "found TABLE, expected DATABASE, MEASUREMENT, SERIES at line 1, char 6"},
    {"CREATE DATABASE x WITH",
     "found EOF, expected DURATION, REPLICATION, SHARD, NAME at line 1, "
     "char 23"},
    {"CREATE USER x", "found USER, expected DATABASE at line 1, char 8"},
    {"SELECT a FROM measurement",
     "found MEASUREMENT, expected identifier, regex at line 1, "
     "char 15"},
    {"SELECT a FROM (SHOW DATABASES)", "found SHOW, expected SELECT at line 1, char 16"},
    {"SELECT a FROM (SELECT b FROM c", "found EOF, expected ) at line 1, char 31"},
    {"SELECT *::float FROM m", "found float, expected tag, field at line 1, char 11"},
    {"SELECT a::text FROM m",
     "found text, expected tag, field, float, integer, unsigned, string, boolean at line 1, "
     "char 11"},
    {"SELECT a FROM b fill(foo)",
     "found foo, expected null, none, previous, linear, number at line 1, char 22"},
    {"SELECT a FROM b tz(Europe)", "found Europe, expected string at line 1, char 20"},
    {"SELECT a FROM b GROUP BY time(5)", "found 5, expected duration at line 1, char 31"},
    {"SELECT a FROM b ORDER time", "found time, expected BY at line 1, char 23"},
    {"EXPLAIN SHOW DATABASES", "found SHOW, expected SELECT, ANALYZE at line 1, char 9"},
    // Statement-level problems.
    {"SELECT a INTO b FROM c", "SELECT ... INTO is not supported at line 1, char 10"},
    {"SELECT a FROM b GROUP BY time(0s)",
     "GROUP BY time() interval must be positive at line 1, char 31"},
    {"SELECT a FROM b GROUP BY time(1h), time(1m)",
     "multiple time dimensions in GROUP BY at line 1, char 36"},
    {"SELECT a FROM b GROUP BY time",
     "GROUP BY time needs an interval, as in time(1h) at line 1, char 26"},
    {"SELECT a FROM b GROUP BY foo(1)",
     "only time() calls are allowed in GROUP BY at line 1, char 26"},
    {"SELECT a FROM b tz('Mars/Olympus')",
     "unable to find time zone Mars/Olympus at line 1, "
     "char 20"},
    {"SELECT a FROM b tz('../../etc/passwd')",
     "unable to find time zone ../../etc/passwd at line 1, char 20"},
    {"SELECT a FROM b tz('/etc/localtime')",
     "unable to find time zone /etc/localtime at line 1, char 20"},
    // Unterminated literals.
    {"SELECT a FROM b WHERE s = 'abc", "unterminated string at line 1, char 27"},
    {"SELECT a FROM b WHERE s =~ /abc", "unterminated regex at line 1, char 28"},
    {"SELECT \"a FROM b", "unterminated quoted identifier at line 1, char 8"},
    {"SELECT a FROM b /* never closed", "unterminated comment at line 1, char 17"},
    {"SELECT 'a\\x' FROM b",
     "bad escape \\x in string (use \\\\, \\', \\\" or \\n) at line 1, char 10"},
    {"SELECT $a FROM b", "unexpected character $ at line 1, char 8"},
    // Bad durations.
    {"SELECT a FROM b WHERE time > now() - 1x",
     "invalid duration 1x (units: ns, u, µ, ms, s, m, h, d, w) at line 1, char 38"},
    {"SELECT a FROM b WHERE time > now() - 1us",
     "invalid duration 1us (units: ns, u, µ, ms, s, m, h, d, w) at line 1, char 38"},
    {"SELECT a FROM b WHERE time > now() - 1h30",
     "invalid duration 1h30 (units: ns, u, µ, ms, s, m, h, d, w) at line 1, char 38"},
    {"SELECT a FROM b WHERE time > now() - 99999999999999999999h",
     "invalid duration 99999999999999999999h (units: ns, u, µ, ms, s, m, h, d, w) at line 1, "
     "char 38"},
    {"SELECT a FROM b WHERE time > now() - 15251w",
     "invalid duration 15251w (units: ns, u, µ, ms, s, m, h, d, w) at line 1, char 38"},
    {"SELECT a FROM b GROUP BY time(1y)",
     "invalid duration 1y (units: ns, u, µ, ms, s, m, h, d, w) at line 1, char 31"},
    // Bad time literals.
    {"SELECT a FROM b WHERE time > '2026-13-01'",
     "invalid time literal '2026-13-01': month out of range at line 1, char 30"},
    {"SELECT a FROM b WHERE time > '2026-02-29'",
     "invalid time literal '2026-02-29': day out of range at line 1, char 30"},
    {"SELECT a FROM b WHERE time > '2026-01-01T24:00:00Z'",
     "invalid time literal '2026-01-01T24:00:00Z': time of day out of range at line 1, char 30"},
    {"SELECT a FROM b WHERE time > '2026-01-01T00:00:00.1234567891Z'",
     "invalid time literal '2026-01-01T00:00:00.1234567891Z': more than 9 fractional digits at "
     "line 1, char 30"},
    {"SELECT a FROM b WHERE time > '1500-01-01'",
     "invalid time literal '1500-01-01': outside the representable range (1677-09-21 to "
     "2262-04-11) at line 1, char 30"},
    {"SELECT a FROM b WHERE time > 'yesterday'",
     "invalid time literal 'yesterday': expected 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS[.fffffffff]' "
     "or RFC3339 'YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|+hh:mm)' at line 1, char 30"},
    {"SELECT a FROM b WHERE time > now() - 1h AND time < '2026-01-01T00:00:00+25:00'",
     "invalid time literal '2026-01-01T00:00:00+25:00': zone offset out of range at line 1, "
     "char 52"},
    // Numbers.
    {"SELECT 99999999999999999999 FROM m",
     "integer out of range: 99999999999999999999 at line 1, "
     "char 8"},
    {"SELECT -(-9223372036854775808) FROM m", "integer out of range at line 1, char 8"},
};
INSTANTIATE_TEST_SUITE_P(All, ParseErrorTest, ::testing::ValuesIn(kErrorCases));

TEST(ParserLimitsTest, NestedParenthesesHaveALimit) {
  const std::string ok =
      StrCat("SELECT ", std::string(200, '('), "a", std::string(200, ')'), " FROM b");
  ExpectRoundTrip(ok);
  const std::string deep =
      StrCat("SELECT ", std::string(300, '('), "a", std::string(300, ')'), " FROM b");
  EXPECT_THAT(ParseQuery(deep),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "error parsing query: query too deeply nested (more than 256 levels) at "
                       "line 1, char 264"));
}

TEST(ParserLimitsTest, NestedSubqueriesHaveALimit) {
  auto nested = [](int levels) {
    std::string q = "SELECT a FROM m";
    for (int i = 0; i < levels; ++i) q = StrCat("SELECT a FROM (", q, ")");
    return q;
  };
  ExpectRoundTrip(nested(100));
  EXPECT_THAT(ParseQuery(nested(300)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("query too deeply nested")));
}

TEST(ParserLimitsTest, NestedCallsAndUnaryMinusHaveALimit) {
  std::string calls = "a";
  for (int i = 0; i < 300; ++i) calls = StrCat("f(", calls, ")");
  EXPECT_THAT(ParseQuery(StrCat("SELECT ", calls, " FROM m")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too deeply nested")));
  std::string minus;
  for (int i = 0; i < 300; ++i) minus += "- ";
  EXPECT_THAT(ParseQuery(StrCat("SELECT ", minus, "a FROM m")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too deeply nested")));
}

TEST(ParserLimitsTest, LongOperatorChainsHaveALimit) {
  std::string ok = "SELECT a FROM m WHERE x = 0";
  for (int i = 1; i < 500; ++i) StrAppend(&ok, " OR x = ", i);
  ExpectRoundTrip(ok);
  std::string chain = "SELECT a FROM m WHERE x = 0";
  for (int i = 1; i < 5000; ++i) StrAppend(&chain, " OR x = ", i);
  EXPECT_THAT(ParseQuery(chain), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("expression too deeply nested")));
}

// ---------------------------------------------------------------------------------------
// Queries as Grafana (after macro substitution), the influx CLI and the InfluxDB docs send
// them.

class RealWorldQueryTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RealWorldQueryTest, ParsesAndRoundTrips) { ExpectRoundTrip(GetParam()); }

constexpr const char* kRealWorld[] = {
    "SELECT mean(\"value\") FROM \"cpu\" WHERE time >= 1700000000000ms and time <= "
    "1700003600000ms GROUP BY time(10s) fill(null)",
    "SELECT mean(\"usage_idle\") FROM \"autogen\".\"cpu\" WHERE (\"host\" =~ /^(web1|web2)$/) AND "
    "time >= 1700000000000ms and time <= 1700003600000ms GROUP BY time(1m), \"host\" fill(none)",
    "SELECT non_negative_derivative(mean(\"bytes_recv\"), 1s) *8 FROM \"net\" WHERE (\"host\" = "
    "'srv1') AND time >= now() - 1h GROUP BY time(30s) fill(null)",
    "SELECT last(\"value\") FROM \"temperature\" WHERE time >= now() - 5m",
    "SELECT \"value\" FROM \"m\" WHERE time >= now() - 6h ORDER BY time DESC LIMIT 10",
    "SHOW TAG VALUES FROM \"cpu\" WITH KEY = \"host\"",
    "SHOW TAG VALUES WITH KEY = \"host\" WHERE \"datacenter\" =~ /^eu/",
    "SHOW TAG VALUES WITH KEY IN (\"region\", \"host\")",
    "SHOW MEASUREMENTS WITH MEASUREMENT =~ /cpu/ LIMIT 100",
    "SHOW FIELD KEYS FROM \"cpu\"",
    "SHOW TAG KEYS FROM \"cpu\"",
    "SHOW RETENTION POLICIES on \"telegraf\"",
    "SHOW DATABASES",
    "SELECT sum(\"cost\") FROM \"cost\" WHERE (\"cloud\"::tag = 'aws') AND time >= "
    "1700000000000ms and time <= 1700003600000ms GROUP BY time(1h), \"account\"::tag fill(0)",
    "SELECT count(\"value\") FROM \"events\" WHERE time > now() - 1d GROUP BY time(1h) fill(0) "
    "tz('America/New_York')",
    "SELECT max(\"mean\") FROM (SELECT mean(\"value\") FROM \"cpu\" WHERE time > now() - 1h GROUP "
    "BY time(1m))",
    "SELECT top(\"total\", \"run_id\", 10) FROM (SELECT sum(\"cost\") AS \"total\" FROM \"cost\" "
    "WHERE time > now() - 30d GROUP BY \"run_id\")",
    "SELECT sum(cost) FROM cost WHERE time >= now() - 30d AND run_id =~ /^TrainFlow\\// GROUP BY "
    "run_id, time(1h) fill(0)",
    "SELECT * FROM \"cpu\" WHERE time > now() - 1h LIMIT 10",
    "select * from cpu limit 1",
    "SELECT mean(\"value\") FROM \"cpu\" WHERE \"host\" = 'a' AND time >= '2026-11-01T00:00:00Z' "
    "AND time < '2026-11-02T00:00:00Z' GROUP BY time(1h), * fill(previous)",
    "SELECT moving_average(mean(\"value\"), 5) FROM \"cpu\" WHERE time > now() - 1d GROUP BY "
    "time(10m)",
    "SELECT percentile(\"latency\", 99) AS \"p99\" FROM \"http\" WHERE time > now() - 15m GROUP BY "
    "\"endpoint\"",
    "SELECT spread(\"cost\") FROM \"cost\" WHERE time >= now() - 7d GROUP BY time(1d) "
    "tz('Europe/Paris')",
    "SELECT \"cost\" FROM \"cost\" WHERE \"run_id\" = 'TrainFlow/42' AND \"cost\" > 0.1",
    "DROP SERIES FROM \"cpu\" WHERE \"host\" = 'old'",
    "DELETE FROM \"cost\" WHERE time < '2025-01-01'",
    "CREATE DATABASE \"burnrate\"",
    "SHOW SERIES FROM \"cpu\" WHERE \"host\" = 'a' LIMIT 100",
    "SELECT difference(last(\"value\")) FROM \"m\" WHERE time > now() - 1h GROUP BY time(5m)",
    "SELECT derivative(mean(\"value\"), 1m) FROM \"disk\" WHERE time >= now() - 6h GROUP BY "
    "time(1m), \"path\" fill(linear)",
    "SELECT mean(\"value\") FROM \"cpu\" WHERE time >= now() - 1h GROUP BY time(1m) ORDER BY time "
    "DESC LIMIT 1 SLIMIT 5",
    "SELECT count(distinct(\"host\")) FROM \"cpu\" WHERE time > now() - 1d",
    "SELECT mean(\"value\") FROM \"cpu\" WHERE \"host\"::tag = 'a' AND time >= 1700000000000ms and "
    "time <= 1700003600000ms GROUP BY time(2s) fill(null)",
    "SELECT * FROM \"h2o_feet\" WHERE \"location\" = 'santa_monica' AND time >= "
    "'2015-08-18T00:00:00.000000000Z' AND time <= '2015-08-18T00:30:00Z'",
    "SELECT \"water_level\" FROM \"NOAA_water_database\".\"autogen\".\"h2o_feet\" WHERE time > "
    "now() - 1w",
    "SELECT MEAN(\"water_level\") FROM \"h2o_feet\" GROUP BY time(12m, 6m)",
    "SELECT COUNT(\"water_level\") FROM \"h2o_feet\" WHERE time >= '2015-08-18T00:00:00Z' AND "
    "time <= '2015-08-18T00:30:00Z' GROUP BY time(12m), * fill(200) LIMIT 7 SLIMIT 1",
    "SELECT \"level description\",\"location\",\"water_level\" FROM \"h2o_feet\" WHERE time > "
    "'2015-09-18T21:24:00Z' + 6m",
    "SELECT mean(\"value\") FROM \"cpu\" WHERE time >= now() - 6h and time <= now() GROUP BY "
    "time(1m), \"host\"::tag fill(null); SHOW TAG VALUES FROM \"cpu\" WITH KEY = \"host\"",
};
INSTANTIATE_TEST_SUITE_P(GrafanaAndCli, RealWorldQueryTest, ::testing::ValuesIn(kRealWorld));

}  // namespace
}  // namespace burnrate
