// RunQueryRequest with a response stream (chunked=true): results leave statement by
// statement and chunk by chunk while the query runs.

#include <string>
#include <vector>

#include "burnrate/write_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/http_query.h"
#include "tests/query/query_test_util.h"

namespace burnrate {
namespace {

using ::burnrate::testing::kMinute;
using ::burnrate::testing::kT0;
using ::burnrate::testing::QueryTest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Records what the query layer sends; `on_write` runs inside each Write.
class RecordingStream final : public QueryResponseStream {
 public:
  bool Start(int status, const std::string& content_type) override {
    events.push_back("start " + std::to_string(status) + " " + content_type);
    return true;
  }
  bool Write(std::string data) override {
    events.push_back(data);
    if (on_write) on_write();
    return writes_left < 0 || writes_left-- > 0;
  }

  std::vector<std::string> events;
  std::function<void()> on_write;
  int writes_left = -1;  // Write fails after this many; -1 never
};

class HttpQueryStreamTest : public QueryTest {
 protected:
  void WritePoint(int i) {
    WriteBatch b("db");
    auto s = b.AddSeries("m", std::vector<Tag>{{"k", "v"}});
    b.AddPoint(s, kT0 + i * kMinute);
    b.AddInteger("x", i);
    ASSERT_OK(db_->Write(WriteOptions(), b));
  }

  QueryHttpRequest Request(std::string q) {
    QueryHttpRequest r;
    r.db = "db";
    r.q = std::move(q);
    r.epoch = "s";
    r.chunked = true;
    r.now_ns = kT0;
    r.stream = &stream_;
    return r;
  }

  RecordingStream stream_;
};

TEST_F(HttpQueryStreamTest, AStatementIsSentBeforeTheNextOneRuns) {
  for (int i = 0; i < 3; ++i) WritePoint(i);
  // A point written while statement 0's result is being sent is seen by statement 1: it
  // had not run yet. A buffering implementation would count 3 twice.
  int next = 3;
  stream_.on_write = [&] { WritePoint(next++); };
  QueryHttpResponse r =
      RunQueryRequest(db_.get(), Request("SELECT count(x) FROM m; SELECT count(x) FROM m"));
  EXPECT_TRUE(r.streamed);
  EXPECT_THAT(
      stream_.events,
      ElementsAre("start 200 application/json",
                  "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\",\"columns\":"
                  "[\"time\",\"count\"],\"values\":[[0,3]]}]}]}\n",
                  "{\"results\":[{\"statement_id\":1,\"series\":[{\"name\":\"m\",\"columns\":"
                  "[\"time\",\"count\"],\"values\":[[0,4]]}]}]}\n"));
}

TEST_F(HttpQueryStreamTest, ChunksOfChunkSizeRowsAndAClientThatLeavesStopsTheQuery) {
  for (int i = 0; i < 5; ++i) WritePoint(i);
  QueryHttpRequest req = Request("SELECT x FROM m; SELECT count(x) FROM m");
  req.chunk_size = 2;
  stream_.writes_left = 1;  // the second Write reports the client gone
  QueryHttpResponse r = RunQueryRequest(db_.get(), req);
  EXPECT_TRUE(r.streamed);
  ASSERT_EQ(stream_.events.size(), 3u);  // start, two chunks, then nothing more
  EXPECT_THAT(stream_.events[1], HasSubstr("\"values\":[[1793491200,0],[1793491260,1]]"));
  EXPECT_THAT(stream_.events[1], HasSubstr("\"partial\":true"));
  EXPECT_THAT(stream_.events[2], HasSubstr("\"values\":[[1793491320,2],[1793491380,3]]"));
}

TEST_F(HttpQueryStreamTest, RefusedQueriesAreOrdinaryResponses) {
  QueryHttpResponse r = RunQueryRequest(db_.get(), Request("SELEKT"));
  EXPECT_FALSE(r.streamed);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("error parsing query"));
  QueryHttpRequest get = Request("DROP DATABASE db");
  r = RunQueryRequest(db_.get(), get);
  EXPECT_EQ(r.status, 405);
  QueryHttpRequest csv = Request("SELECT count(x) FROM m");
  csv.csv = true;  // CSV is never streamed
  r = RunQueryRequest(db_.get(), csv);
  EXPECT_FALSE(r.streamed);
  EXPECT_EQ(r.content_type, "text/csv");
  EXPECT_TRUE(stream_.events.empty());
}

}  // namespace
}  // namespace burnrate
