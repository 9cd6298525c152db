// The executor on small hand-checked data: every statement kind, fill, time zones,
// subqueries, the ORDER BY extension, money exactness, the currency rule, errors with
// positions, limits, rollups against raw scans and thread-count independence.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/query/query_test_util.h"

namespace burnrate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class ExecutorTest : public QueryTest {
 protected:
  // Three runs on two clouds, five points each, 30 minutes apart from kT0.
  void WriteRuns() {
    WriteBatch b("db");
    for (int r = 0; r < 3; ++r) {
      for (int i = 0; i < 5; ++i) {
        std::vector<Tag> tags = {{"cloud", r == 2 ? "gcp" : "aws"},
                                 {"run_id", "run" + std::to_string(r)}};
        auto s = b.AddSeries("cost", tags);
        b.AddPoint(s, kT0 + i * 30 * kMinute);
        b.AddDecimal("cost", std::to_string(r + 1) + ".1234567891");
        b.AddFloat("gpu_util", 0.25 * i);
        b.AddInteger("gpus", r);
      }
    }
    Write(b);
  }

  std::string Error(std::string_view q) { return Error(q, Opts()); }
  std::string Error(std::string_view q, const QueryOptions& o) {
    absl::StatusOr<QueryResult> r = Run(q, o);
    if (!r.ok()) return std::string(r.status().message());
    return std::string(r->status().message());
  }
  absl::StatusCode Code(std::string_view q, const QueryOptions& o) {
    absl::StatusOr<QueryResult> r = Run(q, o);
    if (!r.ok()) return r.status().code();
    return r->status().code();
  }
};

TEST_F(ExecutorTest, AggregatesPerGroupWithExactMoney) {
  WriteRuns();
  EXPECT_EQ(
      Json("SELECT sum(cost), count(cost), mean(cost) FROM cost GROUP BY run_id"),
      R"({"results":[{"statement_id":0,"series":[)"
      R"({"name":"cost","tags":{"run_id":"run0"},"columns":["time","sum","count","mean"],"values":[["1970-01-01T00:00:00Z",5.6172839455,5,1.1234567891]]},)"
      R"({"name":"cost","tags":{"run_id":"run1"},"columns":["time","sum","count","mean"],"values":[["1970-01-01T00:00:00Z",10.6172839455,5,2.1234567891]]},)"
      R"({"name":"cost","tags":{"run_id":"run2"},"columns":["time","sum","count","mean"],"values":[["1970-01-01T00:00:00Z",15.6172839455,5,3.1234567891]]}]}]})");
  // Arithmetic with integers stays exact; the alias names the column.
  EXPECT_EQ(
      Json("SELECT sum(cost) * 60 AS hourly FROM cost WHERE cloud = 'gcp'"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","hourly"],"values":[["1970-01-01T00:00:00Z",937.03703673]]}]}]})");
}

TEST_F(ExecutorTest, MoneyArithmeticStaysExact) {
  WriteRuns();
  EXPECT_EQ(
      Json("SELECT sum(cost) / 3 AS a, sum(cost) * 0.5 AS b, sum(cost) + 1.5 AS c, "
           "sum(cost) - sum(cost) AS d, mean(gpu_util) * sum(cost) AS e FROM cost WHERE "
           "run_id = 'run0'"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","a","b","c","d","e"],"values":[["1970-01-01T00:00:00Z",1.8724279818,2.8086419728,7.1172839455,0,2.80864197275]]}]}]})");
}

TEST_F(ExecutorTest, WhereComparesMoneyWithTheLiteralsDecimal) {
  WriteBatch b("db");
  auto s = b.AddSeries("cost", std::vector<Tag>{{"run_id", "r"}});
  const char* costs[] = {"0.1", "0.1000000001", "0.0999999999", "0.10"};
  for (int i = 0; i < 4; ++i) {
    b.AddPoint(s, kT0 + i * kMinute);
    b.AddDecimal("cost", costs[i]);
  }
  Write(b);
  EXPECT_EQ(
      Json("SELECT count(cost) FROM cost WHERE cost = 0.1"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","count"],"values":[["1970-01-01T00:00:00Z",2]]}]}]})");
  EXPECT_EQ(
      Json("SELECT cost FROM cost WHERE cost > 0.1"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","cost"],"values":[["2026-11-01T00:01:00Z",0.1000000001]]}]}]})");
}

TEST_F(ExecutorTest, GroupByTimeWithFillModes) {
  WriteRuns();
  const std::string base =
      "SELECT sum(cost) FROM cost WHERE run_id = 'run0' AND time >= '2026-11-01T00:00:00Z' AND "
      "time < '2026-11-01T05:00:00Z' GROUP BY time(1h)";
  const std::string head =
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","sum"],"values":[)";
  const std::string tail = "]}]}]}";
  EXPECT_EQ(
      Json(base),
      head +
          R"(["2026-11-01T00:00:00Z",2.2469135782],["2026-11-01T01:00:00Z",2.2469135782],)"
          R"(["2026-11-01T02:00:00Z",1.1234567891],["2026-11-01T03:00:00Z",null],["2026-11-01T04:00:00Z",null])" +
          tail);
  EXPECT_EQ(
      Json(base + " fill(none)"),
      head +
          R"(["2026-11-01T00:00:00Z",2.2469135782],["2026-11-01T01:00:00Z",2.2469135782],["2026-11-01T02:00:00Z",1.1234567891])" +
          tail);
  EXPECT_EQ(
      Json(base + " fill(0)"),
      head +
          R"(["2026-11-01T00:00:00Z",2.2469135782],["2026-11-01T01:00:00Z",2.2469135782],)"
          R"(["2026-11-01T02:00:00Z",1.1234567891],["2026-11-01T03:00:00Z",0],["2026-11-01T04:00:00Z",0])" +
          tail);
  EXPECT_EQ(
      Json(base + " fill(previous)"),
      head +
          R"(["2026-11-01T00:00:00Z",2.2469135782],["2026-11-01T01:00:00Z",2.2469135782],)"
          R"(["2026-11-01T02:00:00Z",1.1234567891],["2026-11-01T03:00:00Z",1.1234567891],["2026-11-01T04:00:00Z",1.1234567891])" +
          tail);
  EXPECT_EQ(Json(base + " fill(-1.5) ORDER BY time DESC LIMIT 2"),
            head + R"(["2026-11-01T04:00:00Z",-1.5],["2026-11-01T03:00:00Z",-1.5])" + tail);
  // Linear interpolation between neighbours, exact for money.
  EXPECT_EQ(
      Json("SELECT max(cost) FROM cost WHERE run_id = 'run1' AND time >= "
           "'2026-11-01T00:00:00Z' AND time < '2026-11-01T02:30:00Z' GROUP BY time(30m) "
           "fill(linear)"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","max"],"values":[)"
      R"(["2026-11-01T00:00:00Z",2.1234567891],["2026-11-01T00:30:00Z",2.1234567891],["2026-11-01T01:00:00Z",2.1234567891],)"
      R"(["2026-11-01T01:30:00Z",2.1234567891],["2026-11-01T02:00:00Z",2.1234567891]]}]}]})");
}

TEST_F(ExecutorTest, LinearFillInterpolatesMoneyExactly) {
  WriteBatch b("db");
  auto s = b.AddSeries("cost", std::vector<Tag>{{"run_id", "r"}});
  b.AddPoint(s, kT0);
  b.AddDecimal("cost", "1");
  b.AddPoint(s, kT0 + 3 * kHour);
  b.AddDecimal("cost", "2");
  Write(b);
  EXPECT_EQ(
      Json("SELECT sum(cost) FROM cost WHERE time >= '2026-11-01T00:00:00Z' AND time < "
           "'2026-11-01T04:00:00Z' GROUP BY time(1h) fill(linear)"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","sum"],"values":[)"
      R"(["2026-11-01T00:00:00Z",1],["2026-11-01T01:00:00Z",1.3333333333],["2026-11-01T02:00:00Z",1.6666666667],["2026-11-01T03:00:00Z",2]]}]}]})");
}

TEST_F(ExecutorTest, DayBucketsInATimeZone) {
  WriteBatch b("db");
  auto s = b.AddSeries("cost", std::vector<Tag>{{"run_id", "r"}});
  // 2026-11-01T22:30Z is 23:30 in Paris (UTC+1): the 1st; 23:30Z is the 2nd there.
  b.AddPoint(s, kT0 + 22 * kHour + 30 * kMinute);
  b.AddDecimal("cost", "1");
  b.AddPoint(s, kT0 + 23 * kHour + 30 * kMinute);
  b.AddDecimal("cost", "2");
  Write(b);
  EXPECT_EQ(
      Json("SELECT sum(cost) FROM cost WHERE time >= '2026-11-01' AND time < '2026-11-03' "
           "GROUP BY time(1d) tz('Europe/Paris')"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","sum"],"values":[)"
      R"(["2026-11-01T00:00:00+01:00",1],["2026-11-02T00:00:00+01:00",2]]}]}]})");
  EXPECT_EQ(
      Json("SELECT sum(cost) FROM cost WHERE time >= '2026-11-01' AND time < '2026-11-03' "
           "GROUP BY time(1d)"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","sum"],"values":[)"
      R"(["2026-11-01T00:00:00Z",3],["2026-11-02T00:00:00Z",null]]}]}]})");
}

TEST_F(ExecutorTest, DaylightSavingDaysAreShorterOrLonger) {
  WriteBatch b("db");
  auto s = b.AddSeries("m", std::vector<Tag>{{"k", "v"}});
  // Europe/Paris leaves summer time on 2026-10-25 (a 25-hour day).
  const TimestampNs oct24 = kT0 - 8 * kDay - 2 * kHour;  // 2026-10-24T00:00:00+02:00
  for (int h = 0; h < 72; ++h) {
    b.AddPoint(s, oct24 + h * kHour);
    b.AddInteger("n", 1);
  }
  Write(b);
  EXPECT_EQ(
      Json("SELECT count(n) FROM m WHERE time >= '2026-10-24T00:00:00+02:00' AND time < "
           "'2026-10-27T00:00:00+01:00' GROUP BY time(1d) tz('Europe/Paris')"),
      R"({"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","count"],"values":[)"
      R"(["2026-10-24T00:00:00+02:00",24],["2026-10-25T00:00:00+02:00",25],["2026-10-26T00:00:00+01:00",23]]}]}]})");
}

TEST_F(ExecutorTest, RawSelectsFieldsTagsAndWildcards) {
  WriteRuns();
  EXPECT_EQ(
      Json("SELECT * FROM cost WHERE run_id = 'run1' LIMIT 2"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","cloud","cost","gpu_util","gpus","run_id"],"values":[)"
      R"(["2026-11-01T00:00:00Z","aws",2.1234567891,0,1,"run1"],["2026-11-01T00:30:00Z","aws",2.1234567891,0.25,1,"run1"]]}]}]})");
  EXPECT_EQ(
      Json("SELECT gpu_util * 4 AS g, run_id FROM cost WHERE cloud = 'gcp' AND gpu_util >= 0.75 "
           "ORDER BY time DESC"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","g","run_id"],"values":[)"
      R"(["2026-11-01T02:00:00Z",4,"run2"],["2026-11-01T01:30:00Z",3,"run2"]]}]}]})");
  EXPECT_EQ(
      Json("SELECT *::field FROM cost WHERE run_id = 'run0' GROUP BY * LIMIT 1"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","tags":{"cloud":"aws","run_id":"run0"},"columns":["time","cost","gpu_util","gpus"],"values":[)"
      R"(["2026-11-01T00:00:00Z",1.1234567891,0,0]]}]}]})");
  // Only tags, or unknown names: no points.
  EXPECT_EQ(Json("SELECT run_id FROM cost"), R"({"results":[{"statement_id":0}]})");
}

TEST_F(ExecutorTest, SelectorsTopBottomDistinctAndPercentiles) {
  WriteRuns();
  EXPECT_EQ(
      Json("SELECT max(cost), run_id FROM cost"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","max","run_id"],"values":[["2026-11-01T00:00:00Z",3.1234567891,"run2"]]}]}]})");
  EXPECT_EQ(
      Json("SELECT last(gpu_util) FROM cost WHERE run_id = 'run1'"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","last"],"values":[["2026-11-01T02:00:00Z",1]]}]}]})");
  EXPECT_EQ(
      Json("SELECT top(gpu_util, run_id, 2) FROM cost"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","top","run_id"],"values":[)"
      R"(["2026-11-01T02:00:00Z",1,"run0"],["2026-11-01T02:00:00Z",1,"run1"]]}]}]})");
  EXPECT_EQ(
      Json("SELECT bottom(cost, 2) FROM cost"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","bottom"],"values":[)"
      R"(["2026-11-01T00:00:00Z",1.1234567891],["2026-11-01T00:30:00Z",1.1234567891]]}]}]})");
  EXPECT_EQ(
      Json("SELECT distinct(gpus) FROM cost"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","distinct"],"values":[["1970-01-01T00:00:00Z",0],["1970-01-01T00:00:00Z",1],["1970-01-01T00:00:00Z",2]]}]}]})");
  EXPECT_EQ(
      Json("SELECT count(distinct(gpus)) FROM cost"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","count"],"values":[["1970-01-01T00:00:00Z",3]]}]}]})");
  EXPECT_EQ(
      Json("SELECT median(gpu_util), percentile(gpu_util, 90), stddev(gpus), spread(cost), "
           "median(cost) FROM cost"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","median","percentile","stddev","spread","median_1"],"values":[)"
      R"(["1970-01-01T00:00:00Z",0.5,1,0.8451542547285166,2,2.1234567891]]}]}]})");
  EXPECT_EQ(
      Json("SELECT mean(*) FROM cost WHERE run_id = 'run2'"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","mean_cost","mean_gpu_util","mean_gpus"],"values":[["1970-01-01T00:00:00Z",3.1234567891,0.5,2]]}]}]})");
}

TEST_F(ExecutorTest, TopOfAGroupedAggregateThroughASubquery) {
  WriteRuns();
  EXPECT_EQ(
      Json("SELECT top(total, run_id, 2) FROM (SELECT sum(cost) AS total FROM cost WHERE "
           "time >= now() - 30d GROUP BY run_id)"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","top","run_id"],"values":[)"
      R"(["2026-11-01T00:00:00Z",15.6172839455,"run2"],["2026-11-01T00:00:00Z",10.6172839455,"run1"]]}]}]})");
  // Deeper: filter an aggregate of an aggregate.
  EXPECT_EQ(
      Json("SELECT sum(total) FROM (SELECT sum(cost) AS total FROM cost GROUP BY run_id, "
           "cloud) WHERE total > 6 GROUP BY cloud"),
      R"({"results":[{"statement_id":0,"series":[)"
      R"({"name":"cost","tags":{"cloud":"aws"},"columns":["time","sum"],"values":[["1970-01-01T00:00:00Z",10.6172839455]]},)"
      R"({"name":"cost","tags":{"cloud":"gcp"},"columns":["time","sum"],"values":[["1970-01-01T00:00:00Z",15.6172839455]]}]}]})");
}

TEST_F(ExecutorTest, OrderByAnAggregateRanksGroups) {
  WriteRuns();
  const std::string want =
      R"({"results":[{"statement_id":0,"series":[)"
      R"({"name":"cost","tags":{"run_id":"run2"},"columns":["time","total"],"values":[["1970-01-01T00:00:00Z",15.6172839455]]},)"
      R"({"name":"cost","tags":{"run_id":"run1"},"columns":["time","total"],"values":[["1970-01-01T00:00:00Z",10.6172839455]]}]}]})";
  EXPECT_EQ(Json("SELECT sum(cost) AS total FROM cost GROUP BY run_id ORDER BY total DESC LIMIT 2"),
            want);
  EXPECT_EQ(
      Json("SELECT sum(cost) AS total FROM cost GROUP BY run_id ORDER BY sum(cost) DESC LIMIT 2"),
      want);
  EXPECT_EQ(Json("SELECT sum(cost) AS total FROM cost GROUP BY run_id ORDER BY max(gpus) DESC, "
                 "total LIMIT 2"),
            want);
  EXPECT_EQ(
      Json("SELECT sum(cost) AS total FROM cost GROUP BY run_id ORDER BY total ASC LIMIT 1 OFFSET "
           "1"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","tags":{"run_id":"run1"},"columns":["time","total"],"values":[["1970-01-01T00:00:00Z",10.6172839455]]}]}]})");
}

TEST_F(ExecutorTest, SeveralMeasurementsAndRegexSources) {
  WriteRuns();
  WriteBatch b("db");
  auto s = b.AddSeries("gpu_cost", std::vector<Tag>{{"run_id", "run9"}});
  b.AddPoint(s, kT0);
  b.AddDecimal("cost", "9");
  Write(b);
  const std::string want =
      R"({"results":[{"statement_id":0,"series":[)"
      R"({"name":"cost","columns":["time","sum"],"values":[["1970-01-01T00:00:00Z",31.8518518365]]},)"
      R"({"name":"gpu_cost","columns":["time","sum"],"values":[["1970-01-01T00:00:00Z",9]]}]}]})";
  EXPECT_EQ(Json("SELECT sum(cost) FROM cost, gpu_cost"), want);
  EXPECT_EQ(Json("SELECT sum(cost) FROM /cost$/"), want);
  EXPECT_EQ(
      Json("SELECT sum(cost) FROM db.autogen./cost$/ SLIMIT 1 SOFFSET 1"),
      R"({"results":[{"statement_id":0,"series":[{"name":"gpu_cost","columns":["time","sum"],"values":[["1970-01-01T00:00:00Z",9]]}]}]})");
  EXPECT_EQ(Error("SELECT sum(cost) FROM db.weekly.cost"), "retention policy not found: weekly");
}

TEST_F(ExecutorTest, GroupByRegexAndMissingTags) {
  WriteRuns();
  WriteBatch b("db");
  auto s = b.AddSeries("cost", std::vector<Tag>{{"run_id", "run0"}, {"step", "train"}});
  b.AddPoint(s, kT0);
  b.AddDecimal("cost", "1");
  Write(b);
  EXPECT_EQ(
      Json("SELECT count(cost) FROM cost WHERE run_id = 'run0' GROUP BY step"),
      R"({"results":[{"statement_id":0,"series":[)"
      R"({"name":"cost","tags":{"step":""},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",5]]},)"
      R"({"name":"cost","tags":{"step":"train"},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",1]]}]}]})");
  EXPECT_EQ(
      Json("SELECT count(cost) FROM cost WHERE run_id = 'run0' GROUP BY /^(cloud|step)$/"),
      R"({"results":[{"statement_id":0,"series":[)"
      R"({"name":"cost","tags":{"cloud":"","step":"train"},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",1]]},)"
      R"({"name":"cost","tags":{"cloud":"aws","step":""},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",5]]}]}]})");
}

TEST_F(ExecutorTest, CurrenciesAreNeverAddedTogether) {
  WriteBatch b("db");
  auto usd = b.AddSeries("bill", std::vector<Tag>{{"account", "a"}, {"currency", "USD"}});
  auto eur = b.AddSeries("bill", std::vector<Tag>{{"account", "b"}, {"currency", "EUR"}});
  b.AddPoint(usd, kT0);
  b.AddDecimal("cost", "10");
  b.AddPoint(eur, kT0);
  b.AddDecimal("cost", "20");
  Write(b);
  EXPECT_EQ(Error("SELECT sum(cost) FROM bill"),
            "cannot aggregate money in several currencies (EUR and USD) in one group of bill: add "
            "currency to GROUP BY, or select one with WHERE currency = 'EUR'");
  EXPECT_EQ(
      Json("SELECT sum(cost) FROM bill GROUP BY currency"),
      R"({"results":[{"statement_id":0,"series":[)"
      R"({"name":"bill","tags":{"currency":"EUR"},"columns":["time","sum"],"values":[["1970-01-01T00:00:00Z",20]]},)"
      R"({"name":"bill","tags":{"currency":"USD"},"columns":["time","sum"],"values":[["1970-01-01T00:00:00Z",10]]}]}]})");
  EXPECT_EQ(
      Json("SELECT sum(cost) FROM bill WHERE currency = 'USD'"),
      R"({"results":[{"statement_id":0,"series":[{"name":"bill","columns":["time","sum"],"values":[["1970-01-01T00:00:00Z",10]]}]}]})");
  // Counting is not adding.
  EXPECT_EQ(
      Json("SELECT count(cost) FROM bill"),
      R"({"results":[{"statement_id":0,"series":[{"name":"bill","columns":["time","count"],"values":[["1970-01-01T00:00:00Z",2]]}]}]})");
}

TEST_F(ExecutorTest, SemanticErrorsSayWhatAndWhere) {
  WriteRuns();
  WriteBatch b("db");
  auto s = b.AddSeries("notes", std::vector<Tag>{{"k", "v"}});
  b.AddPoint(s, kT0);
  b.AddString("text", "hello");
  Write(b);
  EXPECT_EQ(Error("SELECT foo(cost) FROM cost"), "undefined function foo() at line 1, char 8");
  EXPECT_EQ(Error("SELECT derivative(cost) FROM cost"),
            "function derivative() is not supported at line 1, char 8");
  EXPECT_EQ(Error("SELECT sum(cost), cost FROM cost"),
            "selecting field \"cost\" beside an aggregate is not supported (select tags beside a "
            "selector, or use a subquery) at line 1, char 19");
  EXPECT_EQ(Error("SELECT sum(cost), * FROM cost"),
            "mixing aggregate and non-aggregate queries is not supported at line 1, char 19");
  EXPECT_EQ(Error("SELECT\n  sum(text) FROM notes"),
            "sum() cannot aggregate string field \"text\" at line 2, char 7");
  EXPECT_EQ(Error("SELECT percentile(cost, 101) FROM cost"),
            "percentile() needs a percentile between 0 and 100 at line 1, char 25");
  EXPECT_EQ(Error("SELECT top(cost, 0) FROM cost"),
            "top() expects a positive integer limit as its last argument at line 1, char 18");
  EXPECT_EQ(Error("SELECT top(cost, 2), sum(cost) FROM cost"),
            "top() cannot be combined with other functions at line 1, char 8");
  EXPECT_EQ(Error("SELECT sum(cost, 2) FROM cost"),
            "invalid arguments to sum(): expected 1 argument, found 2 at line 1, char 8");
  EXPECT_EQ(Error("SELECT cost FROM cost GROUP BY time(1h)"),
            "GROUP BY time() requires at least one aggregate function at line 1, char 1");
  EXPECT_EQ(Error("SELECT cost FROM cost ORDER BY cost DESC"),
            "ORDER BY a value needs an aggregate query (only ORDER BY time orders raw points) at "
            "line 1, char 32");
  EXPECT_EQ(Error("SELECT sum(cost) FROM cost ORDER BY total"),
            "ORDER BY total: no output column has that name at line 1, char 37");
  EXPECT_THAT(Error("SELECT sum(cost) FROM cost WHERE run_id =~ /(/"),
              StartsWith("invalid regular expression /(/"));
  EXPECT_EQ(Error("SELECT sum(cost) FROM cost WHERE time > now() - 1h OR cost > 1"),
            "invalid time condition: compare time with a constant, and combine time conditions "
            "with the rest using AND at line 1, char 52");
  // A parse error fails the whole query.
  EXPECT_EQ(Json("SELECT sum(cost) FROM"),
            "error: error parsing query: found EOF, expected identifier, regex at line 1, char 22");
}

TEST_F(ExecutorTest, AFailingStatementStopsTheQuery) {
  WriteRuns();
  EXPECT_EQ(
      Json("SHOW DATABASES; SELECT foo(cost) FROM cost; SHOW DATABASES"),
      R"({"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["db"]]}]},)"
      R"({"statement_id":1,"error":"undefined function foo() at line 1, char 24"}]})");
}

TEST_F(ExecutorTest, MetaStatements) {
  WriteRuns();
  EXPECT_EQ(
      Json("SHOW MEASUREMENTS; SHOW TAG KEYS FROM cost; SHOW FIELD KEYS"),
      R"({"results":[{"statement_id":0,"series":[{"name":"measurements","columns":["name"],"values":[["cost"]]}]},)"
      R"({"statement_id":1,"series":[{"name":"cost","columns":["tagKey"],"values":[["cloud"],["run_id"]]}]},)"
      R"({"statement_id":2,"series":[{"name":"cost","columns":["fieldKey","fieldType"],"values":[["cost","float"],["gpu_util","float"],["gpus","integer"]]}]}]})");
  EXPECT_EQ(
      Json("SHOW TAG VALUES WITH KEY = run_id WHERE cloud = 'aws'"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["key","value"],"values":[["run_id","run0"],["run_id","run1"]]}]}]})");
  EXPECT_EQ(
      Json("SHOW TAG VALUES WITH KEY IN (cloud, run_id) WHERE run_id =~ /2$/"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["key","value"],"values":[["cloud","gcp"],["run_id","run2"]]}]}]})");
  EXPECT_EQ(
      Json("SHOW TAG VALUES WITH KEY =~ /^cl/ LIMIT 1"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["key","value"],"values":[["cloud","aws"]]}]}]})");
  EXPECT_EQ(
      Json("SHOW SERIES WHERE cloud = 'aws' OR run_id = 'run2'"),
      R"({"results":[{"statement_id":0,"series":[{"columns":["key"],"values":[["cost,cloud=aws,run_id=run0"],["cost,cloud=aws,run_id=run1"],["cost,cloud=gcp,run_id=run2"]]}]}]})");
  EXPECT_EQ(Json("SHOW MEASUREMENTS WHERE cloud = 'azure'"), R"({"results":[{"statement_id":0}]})");
  EXPECT_EQ(
      Json("CREATE DATABASE burn WITH DURATION 400d SHARD DURATION 1h; SHOW RETENTION "
           "POLICIES ON burn; CREATE DATABASE burn; DROP DATABASE burn; DROP DATABASE burn; "
           "SHOW DATABASES"),
      R"({"results":[{"statement_id":0},{"statement_id":1,"series":[{"columns":["name","duration","shardGroupDuration","replicaN","default"],"values":[["autogen","9600h0m0s","1h0m0s",1,true]]}]},)"
      R"({"statement_id":2},{"statement_id":3},{"statement_id":4},{"statement_id":5,"series":[{"name":"databases","columns":["name"],"values":[["db"]]}]}]})");
  EXPECT_EQ(Error("SHOW TAG KEYS ON nope"), "database not found: nope");
}

TEST_F(ExecutorTest, DeleteDropSeriesAndDropMeasurement) {
  WriteRuns();
  // Points of run0 before 01:00 go.
  EXPECT_EQ(Json("DELETE FROM cost WHERE run_id = 'run0' AND time < '2026-11-01T01:00:00Z'"),
            R"({"results":[{"statement_id":0}]})");
  EXPECT_EQ(
      Json("SELECT count(cost) FROM cost GROUP BY run_id"),
      R"({"results":[{"statement_id":0,"series":[)"
      R"({"name":"cost","tags":{"run_id":"run0"},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",3]]},)"
      R"({"name":"cost","tags":{"run_id":"run1"},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",5]]},)"
      R"({"name":"cost","tags":{"run_id":"run2"},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",5]]}]}]})");
  // An OR of tags deletes series by series.
  EXPECT_EQ(Json("DROP SERIES FROM cost WHERE run_id = 'run0' OR cloud = 'gcp'"),
            R"({"results":[{"statement_id":0}]})");
  EXPECT_EQ(
      Json("SELECT count(cost) FROM cost GROUP BY run_id"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","tags":{"run_id":"run1"},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",5]]}]}]})");
  EXPECT_EQ(Error("DROP SERIES FROM cost WHERE time < now()"),
            "DROP SERIES doesn't support time in WHERE clause at line 1, char 34");
  EXPECT_EQ(Error("DELETE FROM cost WHERE cost > 1"),
            "DELETE supports only tag conditions and a time range in WHERE at line 1, char 29");
  EXPECT_EQ(Json("DROP MEASUREMENT cost; SELECT count(cost) FROM cost"),
            R"({"results":[{"statement_id":0},{"statement_id":1}]})");
}

TEST_F(ExecutorTest, ReadOnlyAndAuthorization) {
  WriteRuns();
  QueryOptions o = Opts();
  o.read_only = true;
  EXPECT_EQ(Json("SHOW DATABASES; DROP DATABASE db", o),
            "error: DROP DATABASE changes data and is not allowed in a read-only query (send it "
            "with POST)");
  o.read_only = false;
  o.authorize = [](QueryAccess access, std::string_view db) {
    if (access == QueryAccess::kRead && db == "db") return absl::OkStatus();
    return absl::PermissionDeniedError(std::string("no access to ") + std::string(db));
  };
  EXPECT_EQ(Json("SELECT count(cost) FROM cost; DELETE FROM cost", o), "error: no access to db");
  EXPECT_EQ(
      Json("SHOW DATABASES", o),
      R"({"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["db"]]}]}]})");
}

TEST_F(ExecutorTest, ExplainShowsThePlanAndRollupUse) {
  WriteRuns();
  ASSERT_OK(db_->Flush());
  ASSERT_OK(db_->CompactAll());
  absl::StatusOr<QueryResult> r =
      Run("EXPLAIN SELECT sum(cost) FROM cost WHERE time >= '2026-11-01T00:00:00Z' AND time < "
          "'2026-11-02T00:00:00Z' AND run_id =~ /run[01]/ GROUP BY run_id, time(1h)");
  ASSERT_OK(r);
  ASSERT_EQ(r->results[0].series.size(), 1u);
  std::string plan;
  for (const auto& row : r->results[0].series[0].values) plan += row[0].string() + "\n";
  EXPECT_THAT(
      plan, HasSubstr("TAG MATCHERS (catalog, once per distinct tag value): run_id =~ /run[01]/"));
  EXPECT_THAT(plan, HasSubstr("SERIES SELECTED: 2"));
  EXPECT_THAT(plan, HasSubstr("PARTITIONS: 1 of 24h0m0s overlap the time range"));
  EXPECT_THAT(plan, HasSubstr("PATH: Db::ScanRollups at 1h level"));
  // The data ends at 02:00: the rest of the day holds no rollup and no row.
  EXPECT_THAT(plan,
              HasSubstr("FROM ROLLUPS: [2026-11-01T00:00:00Z, 2026-11-01T02:59:59.999999999Z]"));
  EXPECT_THAT(plan, HasSubstr("ROLLUP BUCKETS READ: 6, RAW ROWS READ: 0"));

  r = Run("EXPLAIN ANALYZE SELECT percentile(cost, 50), count(cost) FROM cost");
  ASSERT_OK(r);
  plan.clear();
  for (const auto& row : r->results[0].series[0].values) plan += row[0].string() + "\n";
  EXPECT_THAT(plan, HasSubstr("PATH: Db::Scan of raw rows (percentile() needs every point)"));
  EXPECT_THAT(plan, HasSubstr("EXECUTED: 3 series"));
  EXPECT_THAT(plan, HasSubstr("15 rows read"));
}

// Flushed and compacted data read through rollups and through raw rows gives the same
// answers, in every rollup-answerable shape.
TEST_F(ExecutorTest, RollupsAndRawScansAgree) {
  WriteBatch b("db");
  for (int s = 0; s < 20; ++s) {
    auto ref = b.AddSeries("cost", std::vector<Tag>{{"run_id", "r" + std::to_string(s % 7)},
                                                    {"slot", std::to_string(s)}});
    for (int m = 0; m < 3 * 24 * 60; m += 7 + s) {
      b.AddPoint(ref, kT0 + m * kMinute);
      b.AddMoney("cost", Money::FromUnits(1'234'567 * (m % 97) + s));
      b.AddFloat("util", (m % 64) / 64.0);
      b.AddInteger("n", m % 13);
    }
  }
  Write(b);
  ASSERT_OK(db_->Flush());
  ASSERT_OK(db_->CompactAll());
  for (const char* q : {
           "SELECT sum(cost), count(cost), mean(cost), min(cost), max(cost), spread(cost) FROM "
           "cost GROUP BY run_id",
           "SELECT sum(util), mean(n), max(n), spread(util) FROM cost WHERE time >= "
           "'2026-11-01T05:17:00Z' AND time < '2026-11-03T01:00:00Z' GROUP BY time(1h)",
           "SELECT sum(cost) FROM cost WHERE time >= '2026-11-01T05:17:00Z' AND time <= "
           "'2026-11-03T11:00:00Z' GROUP BY run_id, time(1d) fill(0)",
           "SELECT sum(cost) * 60 FROM cost WHERE time > now() - 29d GROUP BY time(6h, 2h), slot",
       }) {
    QueryOptions raw = Opts();
    raw.use_rollups = false;
    const std::string via_rollups = Json(q);
    EXPECT_EQ(via_rollups, Json(q, raw)) << q;
    EXPECT_THAT(via_rollups, HasSubstr("\"values\"")) << q;
    absl::StatusOr<QueryResult> plan = Run(std::string("EXPLAIN ") + q);
    ASSERT_OK(plan);
    std::string text;
    for (const auto& row : plan->results[0].series[0].values) text += row[0].string() + "\n";
    EXPECT_THAT(text, HasSubstr("PATH: Db::ScanRollups")) << q;
    EXPECT_THAT(text, ::testing::Not(HasSubstr("FROM ROLLUPS: none"))) << q;
  }
}

// Floats that do not add exactly: one and two threads still give identical bits.
TEST_F(ExecutorTest, ResultsDoNotDependOnTheThreadCount) {
  WriteBatch b("db");
  for (int s = 0; s < 50; ++s) {
    auto ref =
        b.AddSeries("m", std::vector<Tag>{{"g", std::to_string(s % 3)}, {"s", std::to_string(s)}});
    for (int i = 0; i < 200; ++i) {
      b.AddPoint(ref, kT0 + i * kMinute);
      b.AddFloat("x", 0.1 * (i + 1) / (s + 1) + 1e-9 * s);
    }
  }
  Write(b);
  for (const char* q : {"SELECT sum(x), mean(x), stddev(x), median(x) FROM m GROUP BY g",
                        "SELECT sum(x) FROM m WHERE time >= '2026-11-01T00:00:00Z' AND time < "
                        "'2026-11-01T04:00:00Z' GROUP BY time(1h)",
                        "SELECT sum(x) FROM m WHERE x > 0.01"}) {
    QueryOptions one = Opts(), two = Opts();
    one.threads = 1;
    two.threads = 2;
    EXPECT_EQ(Json(q, one), Json(q, two)) << q;
  }
}

TEST_F(ExecutorTest, MemoryAndTimeLimits) {
  WriteRuns();
  QueryOptions o = Opts();
  o.max_memory_bytes = 64;
  EXPECT_EQ(Code("SELECT percentile(cost, 50) FROM cost GROUP BY run_id, time(1m)", o),
            absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Error("SELECT * FROM cost", o), HasSubstr("query memory limit exceeded"));
  o = Opts();
  o.timeout = absl::Nanoseconds(1);
  EXPECT_EQ(Code("SELECT sum(cost) FROM cost WHERE time >= '2026-10-01T00:00:00Z' AND time < "
                 "'2026-11-02T00:00:00Z' GROUP BY time(1s)",
                 o),
            absl::StatusCode::kDeadlineExceeded);
  o = Opts();
  o.max_rows = 4;
  absl::StatusOr<QueryResult> r = Run("SELECT cost FROM cost GROUP BY run_id", o);
  ASSERT_OK(r);
  EXPECT_TRUE(r->results[0].partial);
  ASSERT_EQ(r->results[0].series.size(), 1u);
  EXPECT_EQ(r->results[0].series[0].values.size(), 4u);
  EXPECT_TRUE(r->results[0].series[0].partial);
}

// A raw scan far larger than max_rows keeps only what can be returned.
TEST_F(ExecutorTest, LongRawScansStayBounded) {
  WriteBatch b("db");
  auto s = b.AddSeries("m", std::vector<Tag>{{"k", "v"}});
  for (int i = 0; i < 200'000; ++i) {
    b.AddPoint(s, kT0 + i * kSecond);
    b.AddFloat("x", i);
  }
  Write(b);
  QueryOptions o = Opts();
  o.max_rows = 10;
  o.max_memory_bytes = 4 << 20;  // far less than 200,000 buffered rows would need
  absl::StatusOr<QueryResult> r = Run("SELECT x FROM m ORDER BY time DESC", o);
  ASSERT_OK(r);
  ASSERT_OK(r->status());
  ASSERT_EQ(r->results[0].series[0].values.size(), 10u);
  EXPECT_EQ(r->results[0].series[0].values[0][1].float_value(), 199'999);
  o.max_rows = 0;
  EXPECT_EQ(Code("SELECT x FROM m", o), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(
      Json("SELECT x FROM m LIMIT 2 OFFSET 5", o),
      R"({"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","x"],"values":[["2026-11-01T00:00:05Z",5],["2026-11-01T00:00:06Z",6]]}]}]})");
}

// Every query of the parser fuzzer's corpus, and a few odd ones, run against real data:
// each either answers or fails with a status, never crashes.
TEST_F(ExecutorTest, CorpusQueriesAnswerOrFailCleanly) {
  WriteRuns();
  std::vector<std::string> queries = {
      "SELECT sum(cost) / 0, count(cost) / 0, mean(gpu_util) / 0 FROM cost",
      "SELECT cost * cost * cost * 100000000000 FROM cost",
      "SELECT sum(cost) * 99999999999999999 * 99999999999 FROM cost",
      "SELECT percentile(cost, 0), percentile(cost, 100) FROM cost",
      "SELECT top(cost, run_id, cloud, 100) FROM cost GROUP BY time(1ns) LIMIT 3",
      "SELECT sum(cost) FROM cost WHERE time > now() - 1ns GROUP BY time(1ns) fill(linear)",
      "SELECT max(cost) FROM (SELECT * FROM (SELECT cost, run_id FROM cost))",
      "SELECT mean(x) FROM (SELECT top(cost, 1) AS x FROM cost GROUP BY *) GROUP BY time(1h)",
      "SELECT count(run_id) FROM cost",
      "SELECT sum(cost) FROM cost GROUP BY time(1000000w)",
      "SELECT \"cost\"::tag FROM cost",
      "SELECT * FROM /.*/ WHERE run_id =~ /./ OR cloud !~ /x/",
      "SHOW TAG VALUES FROM /./ WITH KEY =~ /.*/ WHERE cost > 1",
  };
  const std::string dir = BURNRATE_DOCS_DIR "/../tests/fuzz/corpus/influxql_parser_fuzzer";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    queries.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  for (const std::string& q : queries) {
    QueryOptions o = Opts();
    o.read_only = true;  // the corpus drops databases
    o.max_rows = 1000;
    o.max_memory_bytes = 64 << 20;
    absl::StatusOr<QueryResult> r = Run(q, o);
    if (r.ok()) (void)QueryResultToJson(*r);
  }
}

}  // namespace
}  // namespace burnrate::testing
