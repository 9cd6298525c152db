// /query with chunked=true: InfluxDB 1.x's one JSON document per series or per chunk_size
// rows, sent with chunked transfer encoding while the query runs. The tests read the raw
// HTTP bytes and check the framing chunk by chunk.

#include <string>
#include <vector>

#include "base/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/query_route.h"
#include "tests/server/server_test_util.h"

namespace burnrate {
namespace {

using ::burnrate::testing::RawConnection;
using ::burnrate::testing::ServerTest;
using ::burnrate::testing::TestServerOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Run a has 5 points, run b 3.
constexpr std::string_view kPoints =
    "cost,run_id=a cost=1 60000000000\n"
    "cost,run_id=a cost=2 120000000000\n"
    "cost,run_id=a cost=3 180000000000\n"
    "cost,run_id=a cost=4 240000000000\n"
    "cost,run_id=a cost=5 300000000000\n"
    "cost,run_id=b cost=6 60000000000\n"
    "cost,run_id=b cost=7 120000000000\n"
    "cost,run_id=b cost=8 180000000000\n";

struct RawResponse {
  std::string head;                 // status line and headers
  std::vector<std::string> chunks;  // the decoded chunks of a chunked body
  std::string body;                 // their concatenation, or the whole body otherwise
  bool complete = false;            // the terminating chunk arrived
};

// Splits a raw response into its head and chunks ("size\r\ndata\r\n" ... "0\r\n\r\n").
RawResponse ParseChunked(const std::string& raw) {
  RawResponse r;
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return r;
  r.head = raw.substr(0, head_end);
  size_t at = head_end + 4;
  while (at < raw.size()) {
    const size_t line_end = raw.find("\r\n", at);
    if (line_end == std::string::npos) break;
    const size_t size = std::stoul(raw.substr(at, line_end - at), nullptr, 16);
    if (size == 0) {
      r.complete = raw.compare(line_end, 4, "\r\n\r\n") == 0;
      break;
    }
    r.chunks.push_back(raw.substr(line_end + 2, size));
    r.body.append(r.chunks.back());
    at = line_end + 2 + size + 2;
  }
  return r;
}

class ChunkedQueryTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    ServerOptions options = TestServerOptions();
    options.query_handler = MakeQueryHandler(db_.get());
    StartServer(options);
    ASSERT_OK_AND_ASSIGN(auto w, Client()->Post("/write?db=db", kPoints));
    ASSERT_EQ(w.status, 204) << w.body;
  }

  static std::string Get(std::string_view target, std::string_view version = "1.1") {
    return StrCat("GET ", target, " HTTP/", version, "\r\nHost: test\r\n\r\n");
  }
};

TEST_F(ChunkedQueryTest, EachSeriesAndEachChunkSizeRowsIsOneHttpChunk) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(
      c.Send(Get("/query?db=db&epoch=s&chunked=true&chunk_size=2&q=SELECT+cost+FROM+"
                 "cost+GROUP+BY+run_id")));
  const RawResponse r = ParseChunked(c.ReadUntil("\r\n0\r\n\r\n"));
  EXPECT_THAT(r.head, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(r.head, HasSubstr("Transfer-Encoding: chunked"));
  EXPECT_THAT(r.head, HasSubstr("Content-Type: application/json"));
  EXPECT_THAT(r.head, HasSubstr("X-Influxdb-Version:"));
  EXPECT_THAT(r.head, Not(HasSubstr("Content-Length")));
  ASSERT_TRUE(r.complete);
  const std::string head =
      "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"cost\",\"tags\":{\"run_id\":";
  EXPECT_THAT(
      r.chunks,
      ElementsAre(head + "\"a\"},\"columns\":[\"time\",\"cost\"],\"values\":[[60,1],[120,2]],"
                         "\"partial\":true}],\"partial\":true}]}\n",
                  head + "\"a\"},\"columns\":[\"time\",\"cost\"],\"values\":[[180,3],[240,4]],"
                         "\"partial\":true}],\"partial\":true}]}\n",
                  head + "\"a\"},\"columns\":[\"time\",\"cost\"],\"values\":[[300,5]]}]}]}\n",
                  head + "\"b\"},\"columns\":[\"time\",\"cost\"],\"values\":[[60,6],[120,7]],"
                         "\"partial\":true}],\"partial\":true}]}\n",
                  head + "\"b\"},\"columns\":[\"time\",\"cost\"],\"values\":[[180,8]]}]}]}\n"));

  // The connection stays usable after a streamed response.
  ASSERT_TRUE(c.Send(Get("/ping")));
  EXPECT_THAT(c.ReadUntil("\r\n\r\n"), HasSubstr("204 No Content"));
}

TEST_F(ChunkedQueryTest, StatementsStreamInOrderWithTheDefaultChunkSize) {
  RawConnection c(server_->port());
  ASSERT_TRUE(
      c.Send(Get("/query?db=db&chunked=true&q=SHOW+DATABASES%3B+SELECT+count%28cost%29+"
                 "FROM+cost%3B+SELECT+cost+FROM+nosuch..cost%3B+SHOW+DATABASES")));
  const RawResponse r = ParseChunked(c.ReadUntil("\r\n0\r\n\r\n"));
  ASSERT_TRUE(r.complete) << r.head;
  ASSERT_EQ(r.chunks.size(), 3u) << r.body;
  EXPECT_EQ(r.chunks[0],
            "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"databases\",\"columns\":"
            "[\"name\"],\"values\":[[\"db\"]]}]}]}\n");
  EXPECT_EQ(r.chunks[1],
            "{\"results\":[{\"statement_id\":1,\"series\":[{\"name\":\"cost\",\"columns\":"
            "[\"time\",\"count\"],\"values\":[[\"1970-01-01T00:00:00Z\",8]]}]}]}\n");
  // A failing statement ends the query, as in InfluxDB: the last statement never runs.
  EXPECT_EQ(r.chunks[2],
            "{\"results\":[{\"statement_id\":2,\"error\":\"database not found: nosuch\"}]}\n");
}

TEST_F(ChunkedQueryTest, RefusedQueriesAndHttp10ClientsGetAWholeBody) {
  RawConnection bad(server_->port());
  ASSERT_TRUE(bad.Send(Get("/query?db=db&chunked=true&q=SELEKT+1")));
  const std::string refused = bad.ReadUntil("}\n");
  EXPECT_THAT(refused, HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(refused, HasSubstr("Content-Length:"));
  EXPECT_THAT(refused, Not(HasSubstr("chunked")));
  EXPECT_THAT(refused, HasSubstr("error parsing query"));

  RawConnection old(server_->port());
  ASSERT_TRUE(
      old.Send(Get("/query?db=db&chunked=true&chunk_size=4&q=SELECT+cost+FROM+cost", "1.0")));
  std::string whole;
  ASSERT_TRUE(old.WaitForClose(&whole));
  EXPECT_THAT(whole, HasSubstr("Content-Length:"));
  EXPECT_THAT(whole, Not(HasSubstr("chunked")));
  const std::string body = whole.substr(whole.find("\r\n\r\n") + 4);
  EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 2);  // 8 rows in 2 documents
}

TEST_F(ChunkedQueryTest, AnHttpClientReadsTheChunkedBodyAndCsvIsNotChunked) {
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto json,
                       client->Get("/query?db=db&chunked=true&chunk_size=3&pretty=true&q=SELECT+"
                                   "cost+FROM+cost+WHERE+run_id%3D%27a%27"));
  EXPECT_EQ(json.status, 200);
  EXPECT_EQ(json.Header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(std::count(json.body.begin(), json.body.end(), '{'), 2 * 3);  // 2 indented docs
  EXPECT_THAT(json.body, HasSubstr("\"partial\": true"));
  ASSERT_OK_AND_ASSIGN(auto csv, client->Get("/query?db=db&chunked=true&q=SELECT+count%28cost%29+"
                                             "FROM+cost",
                                             {{"Accept", "application/csv"}}));
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body, "name,tags,time,count\ncost,,0,8\n");
  EXPECT_EQ(server_->metrics().query_latency.count(), 2u);
}

TEST_F(ChunkedQueryTest, AClientThatLeavesMidStreamDoesNotStallTheServer) {
  std::string lines;
  for (int i = 0; i < 20'000; ++i) StrAppend(&lines, "big,k=v x=", i, " ", int64_t{i} * 1000, "\n");
  ASSERT_OK_AND_ASSIGN(auto w, Client()->Post("/write?db=db", lines));
  ASSERT_EQ(w.status, 204) << w.body;
  {
    RawConnection c(server_->port());
    ASSERT_TRUE(c.Send(Get("/query?db=db&chunked=true&chunk_size=1&q=SELECT+x+FROM+big")));
    EXPECT_THAT(c.ReadUntil("\r\n\r\n"), HasSubstr("Transfer-Encoding: chunked"));
  }  // closed with most of the response unread
  // The worker stops producing; other requests and the shutdown in TearDown go on.
  ASSERT_OK_AND_ASSIGN(auto count, Client()->Get("/query?db=db&q=SELECT+count%28x%29+FROM+big"));
  EXPECT_EQ(count.status, 200);
  EXPECT_THAT(count.body, HasSubstr("20000]"));
}

}  // namespace
}  // namespace burnrate
