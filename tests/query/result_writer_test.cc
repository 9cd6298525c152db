// The JSON and CSV writers against InfluxDB 1.x's documented /query output, byte for byte,
// and the Go formatting rules they rely on.
#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "query/format.h"
#include "query/http_query.h"
#include "tests/query/query_test_util.h"

namespace burnrate::testing {
namespace {

TEST(FormatTest, FloatsAsGoEncodingJsonPrintsThem) {
  EXPECT_EQ(FormatFloatJson(0), "0");
  EXPECT_EQ(FormatFloatJson(2), "2");
  EXPECT_EQ(FormatFloatJson(0.55), "0.55");
  EXPECT_EQ(FormatFloatJson(-1.5), "-1.5");
  EXPECT_EQ(FormatFloatJson(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatFloatJson(1e-6), "0.000001");
  EXPECT_EQ(FormatFloatJson(1e-7), "1e-7");
  EXPECT_EQ(FormatFloatJson(1.5e-10), "1.5e-10");
  EXPECT_EQ(FormatFloatJson(1e20), "100000000000000000000");
  EXPECT_EQ(FormatFloatJson(1e21), "1e+21");
  EXPECT_EQ(FormatFloatJson(1.2345e300), "1.2345e+300");
  EXPECT_EQ(FormatFloatJson(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
}

TEST(FormatTest, CsvFloatsNeverUseExponents) {
  EXPECT_EQ(FormatFloatFixed(1e21), "1000000000000000000000");
  EXPECT_EQ(FormatFloatFixed(1e-7), "0.0000001");
  EXPECT_EQ(FormatFloatFixed(0.64), "0.64");
}

TEST(FormatTest, Rfc3339NanoAsGoPrintsIt) {
  EXPECT_EQ(FormatRfc3339Nano(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Nano(1'422'568'543'702'900'257), "2015-01-29T21:55:43.702900257Z");
  EXPECT_EQ(FormatRfc3339Nano(1'434'055'562'000'000'000), "2015-06-11T20:46:02Z");
  EXPECT_EQ(FormatRfc3339Nano(1'434'055'562'500'000'000), "2015-06-11T20:46:02.5Z");
  EXPECT_EQ(FormatRfc3339Nano(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339Nano(std::numeric_limits<int64_t>::min()),
            "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(FormatRfc3339Nano(std::numeric_limits<int64_t>::max()),
            "2262-04-11T23:47:16.854775807Z");
  // 2015-08-18T00:00:00Z in America/Chicago (UTC-5 in summer).
  EXPECT_EQ(FormatRfc3339Nano(1'439'856'000'000'000'000, -5 * 3600), "2015-08-17T19:00:00-05:00");
  EXPECT_EQ(FormatRfc3339Nano(0, 5 * 3600 + 1800), "1970-01-01T05:30:00+05:30");
}

TEST(FormatTest, DurationsAsGoPrintsThem) {
  EXPECT_EQ(FormatGoDuration(0), "0s");
  EXPECT_EQ(FormatGoDuration(168 * kHour), "168h0m0s");
  EXPECT_EQ(FormatGoDuration(kDay), "24h0m0s");
  EXPECT_EQ(FormatGoDuration(90 * kMinute), "1h30m0s");
  EXPECT_EQ(FormatGoDuration(1'500'000'000), "1.5s");
  EXPECT_EQ(FormatGoDuration(100'000'000), "100ms");
  EXPECT_EQ(FormatGoDuration(1'500), "1.5\xC2\xB5s");
  EXPECT_EQ(FormatGoDuration(7), "7ns");
  EXPECT_EQ(FormatGoDuration(-kMinute), "-1m0s");
}

class WriterTest : public QueryTest {
 protected:
  // InfluxDB's documentation example (Querying data with the HTTP API): cpu_load_short
  // with three points in region us-west.
  void WriteCpuLoad() {
    WriteBatch b("db");
    auto s1 = b.AddSeries("cpu_load_short",
                          std::vector<Tag>{{"host", "server01"}, {"region", "us-west"}});
    auto s2 = b.AddSeries("cpu_load_short",
                          std::vector<Tag>{{"host", "server02"}, {"region", "us-west"}});
    b.AddPoint(s1, 1'422'568'543'702'900'257);
    b.AddFloat("value", 2);
    b.AddPoint(s2, 1'422'568'543'702'900'257);
    b.AddFloat("value", 0.55);
    b.AddPoint(s1, 1'434'055'562'000'000'000);
    b.AddFloat("value", 0.64);
    Write(b);
  }

  QueryResult MustRun(std::string_view q, QueryOptions o) {
    absl::StatusOr<QueryResult> r = Run(q, o);
    EXPECT_OK(r);
    return r.ok() ? *r : QueryResult{};
  }
};

TEST_F(WriterTest, PrettyJsonMatchesInfluxDbDocumentation) {
  WriteCpuLoad();
  const QueryResult r =
      MustRun("SELECT \"value\" FROM \"cpu_load_short\" WHERE \"region\"='us-west'", Opts());
  EXPECT_EQ(QueryResultToJson(r, ResultFormat{true}),
            R"({
    "results": [
        {
            "statement_id": 0,
            "series": [
                {
                    "name": "cpu_load_short",
                    "columns": [
                        "time",
                        "value"
                    ],
                    "values": [
                        [
                            "2015-01-29T21:55:43.702900257Z",
                            2
                        ],
                        [
                            "2015-01-29T21:55:43.702900257Z",
                            0.55
                        ],
                        [
                            "2015-06-11T20:46:02Z",
                            0.64
                        ]
                    ]
                }
            ]
        }
    ]
}
)");
}

TEST_F(WriterTest, MultipleStatementsAsInfluxDbDocumentsThem) {
  WriteCpuLoad();
  const QueryResult r = MustRun(
      "SELECT \"value\" FROM \"cpu_load_short\" WHERE \"region\"='us-west';SELECT "
      "count(\"value\") FROM \"cpu_load_short\" WHERE \"region\"='us-west'",
      Opts());
  EXPECT_EQ(
      QueryResultToJson(r),
      R"({"results":[{"statement_id":0,"series":[{"name":"cpu_load_short","columns":["time","value"],"values":[["2015-01-29T21:55:43.702900257Z",2],["2015-01-29T21:55:43.702900257Z",0.55],["2015-06-11T20:46:02Z",0.64]]}]},{"statement_id":1,"series":[{"name":"cpu_load_short","columns":["time","count"],"values":[["1970-01-01T00:00:00Z",3]]}]}]}
)");
}

TEST_F(WriterTest, EpochPrecisionsTruncateAsInfluxDb) {
  WriteCpuLoad();
  const std::string q = "SELECT \"value\" FROM \"cpu_load_short\" LIMIT 1";
  const std::pair<EpochPrecision, std::string> cases[] = {
      {EpochPrecision::kNanoseconds, "1422568543702900257"},
      {EpochPrecision::kMicroseconds, "1422568543702900"},
      {EpochPrecision::kMilliseconds, "1422568543702"},
      {EpochPrecision::kSeconds, "1422568543"},
      {EpochPrecision::kMinutes, "23709475"},
      {EpochPrecision::kHours, "395157"},
  };
  for (const auto& [epoch, text] : cases) {
    QueryOptions o = Opts();
    o.epoch = epoch;
    EXPECT_EQ(
        QueryResultToJson(MustRun(q, o)),
        R"({"results":[{"statement_id":0,"series":[{"name":"cpu_load_short","columns":["time","value"],"values":[[)" +
            text + R"(,2]]}]}]}
)");
  }
  EXPECT_EQ(*ParseEpochPrecision("n"), EpochPrecision::kNanoseconds);
  EXPECT_EQ(*ParseEpochPrecision("\xC2\xB5"), EpochPrecision::kMicroseconds);
  EXPECT_FALSE(ParseEpochPrecision("d").ok());
}

TEST_F(WriterTest, CsvMatchesInfluxDbDocumentation) {
  // The CSV example of InfluxDB's API documentation: SELECT * of mymeas, LIMIT 3.
  WriteBatch b("db");
  auto s = b.AddSeries("mymeas", std::vector<Tag>{{"tag1", "tag1value"}, {"tag2", "tag2value"}});
  for (int i = 0; i < 4; ++i) {
    b.AddPoint(s, 1'488'327'378'000'000'000 + i * 60 * kSecond);
    b.AddFloat("value", i + 1);
  }
  Write(b);
  const QueryResult r = MustRun("SELECT * FROM \"mymeas\" LIMIT 3", Opts());
  EXPECT_EQ(QueryResultToCsv(r),
            "name,tags,time,tag1,tag2,value\n"
            "mymeas,,1488327378000000000,tag1value,tag2value,1\n"
            "mymeas,,1488327438000000000,tag1value,tag2value,2\n"
            "mymeas,,1488327498000000000,tag1value,tag2value,3\n");
}

TEST_F(WriterTest, CsvGroupsTagsQuotesAndSeparatesStatements) {
  WriteCpuLoad();
  QueryOptions o = Opts();
  o.epoch = EpochPrecision::kSeconds;
  const QueryResult r =
      MustRun("SELECT max(value) FROM cpu_load_short GROUP BY host, region; SHOW DATABASES", o);
  EXPECT_EQ(QueryResultToCsv(r),
            "name,tags,time,max\n"
            "cpu_load_short,\"host=server01,region=us-west\",1422568543,2\n"
            "cpu_load_short,\"host=server02,region=us-west\",1422568543,0.55\n"
            "\n"
            "name,tags,name\n"
            "databases,,db\n");
}

TEST_F(WriterTest, EmptyResultsErrorsAndMessagesHaveInfluxDbShapes) {
  EXPECT_EQ(Json("SELECT value FROM nowhere"), R"({"results":[{"statement_id":0}]})");
  EXPECT_EQ(Json("SELECT value FROM db2..cpu"),
            R"({"results":[{"statement_id":0,"error":"database not found: db2"}]})");
  QueryOptions o = Opts();
  o.database = "";
  EXPECT_EQ(Json("SELECT value FROM cpu", o),
            R"({"results":[{"statement_id":0,"error":"database name required"}]})");
  EXPECT_EQ(QueryErrorToJson(absl::InvalidArgumentError(
                "error parsing query: found FROM, expected identifier at line 1, char 8")),
            "{\"error\":\"error parsing query: found FROM, expected identifier at line 1, char "
            "8\"}\n");

  QueryResult r;
  StatementResult s;
  s.statement_id = 3;
  s.messages.push_back(ResultMessage{"warning", "deprecated <thing>"});
  r.results.push_back(s);
  EXPECT_EQ(QueryResultToJson(r),
            "{\"results\":[{\"statement_id\":3,\"messages\":[{\"level\":\"warning\",\"text\":"
            "\"deprecated \\u003cthing\\u003e\"}]}]}\n");
  EXPECT_EQ(QueryResultToJson(QueryResult{}), "{\"results\":[]}\n");
}

TEST_F(WriterTest, MoneyIsWrittenFromTheExactDecimal) {
  WriteBatch b("db");
  auto s = b.AddSeries("cost", std::vector<Tag>{{"run_id", "r1"}});
  // 0.1 three times is 0.30000000000000004 in doubles, 0.3 exactly in money.
  for (int i = 0; i < 3; ++i) {
    b.AddPoint(s, kT0 + i * kMinute);
    b.AddDecimal("cost", "0.1");
  }
  b.AddPoint(s, kT0 + 3 * kMinute);
  b.AddDecimal("cost", "1.81E-8");
  Write(b);
  EXPECT_EQ(
      Json("SELECT sum(cost), mean(cost), last(cost) FROM cost"),
      R"({"results":[{"statement_id":0,"series":[{"name":"cost","columns":["time","sum","mean","last"],"values":[["1970-01-01T00:00:00Z",0.3000000181,0.0750000045,0.0000000181]]}]}]})");
  const QueryResult r = MustRun("SELECT sum(cost) FROM cost", Opts());
  EXPECT_EQ(QueryResultToCsv(r), "name,tags,time,sum\ncost,,0,0.3000000181\n");
}

TEST_F(WriterTest, ChunkedJsonSplitsSeriesAsInfluxDb) {
  WriteCpuLoad();
  const QueryResult r =
      MustRun("SELECT value FROM cpu_load_short GROUP BY host; SELECT value FROM nowhere", Opts());
  EXPECT_EQ(
      QueryResultToJsonChunked(r, 1),
      R"({"results":[{"statement_id":0,"series":[{"name":"cpu_load_short","tags":{"host":"server01"},"columns":["time","value"],"values":[["2015-01-29T21:55:43.702900257Z",2]],"partial":true}],"partial":true}]}
{"results":[{"statement_id":0,"series":[{"name":"cpu_load_short","tags":{"host":"server01"},"columns":["time","value"],"values":[["2015-06-11T20:46:02Z",0.64]]}]}]}
{"results":[{"statement_id":0,"series":[{"name":"cpu_load_short","tags":{"host":"server02"},"columns":["time","value"],"values":[["2015-01-29T21:55:43.702900257Z",0.55]]}]}]}
{"results":[{"statement_id":1}]}
)");
}

TEST_F(WriterTest, MaxRowsCutsTheResultAndMarksItPartial) {
  WriteCpuLoad();
  QueryOptions o = Opts();
  o.max_rows = 2;
  EXPECT_EQ(
      Json("SELECT value FROM cpu_load_short", o),
      R"({"results":[{"statement_id":0,"series":[{"name":"cpu_load_short","columns":["time","value"],"values":[["2015-01-29T21:55:43.702900257Z",2],["2015-01-29T21:55:43.702900257Z",0.55]],"partial":true}],"partial":true}]})");
}

TEST_F(WriterTest, TimesInTheStatementsZone) {
  WriteBatch b("db");
  auto s = b.AddSeries("h2o_feet", std::vector<Tag>{{"location", "santa_monica"}});
  b.AddPoint(s, 1'439'856'000'000'000'000);  // 2015-08-18T00:00:00Z
  b.AddFloat("water_level", 2.064);
  Write(b);
  EXPECT_EQ(
      Json("SELECT water_level FROM h2o_feet WHERE location = 'santa_monica' AND time >= "
           "'2015-08-18T00:00:00Z' AND time <= '2015-08-18T00:18:00Z' "
           "tz('America/Chicago')"),
      R"({"results":[{"statement_id":0,"series":[{"name":"h2o_feet","columns":["time","water_level"],"values":[["2015-08-17T19:00:00-05:00",2.064]]}]}]})");
}

TEST_F(WriterTest, HttpRequestStatusCodesAndBodies) {
  WriteCpuLoad();
  QueryHttpRequest req;
  req.db = "db";
  req.q = "SELECT count(value) FROM cpu_load_short";
  req.now_ns = kT0;
  QueryHttpResponse r = RunQueryRequest(db_.get(), req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"cpu_load_short\","
            "\"columns\":[\"time\",\"count\"],\"values\":[[\"1970-01-01T00:00:00Z\",3]]}]}]}\n");

  req.epoch = "s";
  req.csv = true;
  r = RunQueryRequest(db_.get(), req);
  EXPECT_EQ(r.content_type, "text/csv");
  EXPECT_EQ(r.body, "name,tags,time,count\ncpu_load_short,,0,3\n");
  req.csv = false;

  req.q = "SELECT FROM";
  r = RunQueryRequest(db_.get(), req);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.rfind("{\"error\":\"error parsing query: ", 0), 0u) << r.body;

  req.q = "";
  EXPECT_EQ(RunQueryRequest(db_.get(), req).status, 400);

  req.q = "DROP DATABASE db";
  r = RunQueryRequest(db_.get(), req);
  EXPECT_EQ(r.status, 405) << r.body;

  req.q = "SELECT count(value) FROM cpu_load_short";
  req.allowed = [](QueryAccess access, std::string_view database) {
    return access == QueryAccess::kRead && database == "other";
  };
  r = RunQueryRequest(db_.get(), req);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "{\"error\":\"error authorizing query: requires READ on db\"}\n");

  req.allowed = nullptr;
  req.is_post = true;
  req.q = "CREATE DATABASE db3; SHOW DATABASES";
  r = RunQueryRequest(db_.get(), req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"results\":[{\"statement_id\":0},{\"statement_id\":1,\"series\":[{\"name\":"
            "\"databases\",\"columns\":[\"name\"],\"values\":[[\"db\"],[\"db3\"]]}]}]}\n");
}

}  // namespace
}  // namespace burnrate::testing
