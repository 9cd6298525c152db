#include "server/http_server.h"

#include <atomic>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/gzip.h"
#include "tests/server/server_test_util.h"

namespace burnrate {
namespace {

using ::burnrate::testing::RawConnection;
using ::burnrate::testing::ServerTest;
using ::burnrate::testing::StatusIs;
using ::burnrate::testing::TestServerOptions;
using ::testing::HasSubstr;

constexpr std::string_view kTwoPoints =
    "cost,run_id=a,resource=i-1 cost=0.25,gpu_util=0.5,gpu_count=4i 1793491200000000000\n"
    "cost,run_id=b,resource=i-2 cost=1.5,gpu_util=1,gpu_count=8i 1793491260000000000\n";

// Lines of one point each, for runs of distinct series and times.
std::string Lines(int first, int count) {
  std::string out;
  for (int i = first; i < first + count; ++i) {
    StrAppend(&out, "cost,run_id=r", i % 50, ",resource=i-", i, " cost=0.0", i % 10 + 1,
              ",gpu_count=1i ", 1793491200000000000LL + int64_t{i} * 60'000'000'000LL, "\n");
  }
  return out;
}

TEST_F(ServerTest, PingAnswers204WithTheHeadersInfluxClientsCheck) {
  StartServer();
  auto client = Client();
  for (const char* method : {"GET", "HEAD"}) {
    ASSERT_OK_AND_ASSIGN(HttpClientResponse r, client->Send(method, "/ping"));
    EXPECT_EQ(r.status, 204) << method;
    EXPECT_EQ(r.Header("X-Influxdb-Version"), "1.8.10");
    EXPECT_EQ(r.Header("X-Influxdb-Build"), "OSS");
    EXPECT_FALSE(r.Header("Request-Id").empty());
    EXPECT_EQ(r.body, "");
  }
  ASSERT_OK_AND_ASSIGN(HttpClientResponse verbose, client->Get("/ping?verbose=true"));
  EXPECT_EQ(verbose.status, 200);
  EXPECT_EQ(verbose.body, "{\"version\":\"1.8.10\"}");
}

TEST_F(ServerTest, HealthReportsPass) {
  StartServer();
  ASSERT_OK_AND_ASSIGN(HttpClientResponse r, Client()->Get("/health"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_THAT(r.body, HasSubstr("\"status\":\"pass\""));
  EXPECT_THAT(r.body, HasSubstr("\"version\":\"1.8.10\""));
}

TEST_F(ServerTest, WriteV1StoresEveryPointBeforeAnswering204) {
  StartServer();
  ASSERT_OK_AND_ASSIGN(HttpClientResponse r, Client()->Post("/write?db=db", kTwoPoints));
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.Header("Content-Length"), "");
  EXPECT_EQ(CountPoints(), 2u);
  // Money is stored exactly.
  ScanRequest scan;
  scan.database = "db";
  scan.measurement = "cost";
  scan.fields = {"cost"};
  std::vector<std::string> costs;
  ASSERT_OK(db_->Scan(scan, [&](const ScanBatch& b) {
    EXPECT_EQ(b.columns[0].type, FieldType::kMoney);
    for (size_t i = 0; i < b.rows(); ++i) {
      costs.push_back(Money::FromUnits(b.columns[0].ints[i]).ToString());
    }
    return absl::OkStatus();
  }));
  EXPECT_THAT(costs, ::testing::UnorderedElementsAre(Money::Parse("0.25")->ToString(),
                                                     Money::Parse("1.5")->ToString()));
}

TEST_F(ServerTest, WriteV2TakesBucketAndPrecision) {
  StartServer();
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(
      HttpClientResponse r,
      client->Post("/api/v2/write?org=ignored&bucket=db/autogen&precision=s",
                   "cost,run_id=a cost=1 1793491200\n", {{"Authorization", "Token unused"}}));
  EXPECT_EQ(r.status, 204) << r.body;
  ScanRequest scan;
  scan.database = "db";
  scan.measurement = "cost";
  std::vector<TimestampNs> times;
  ASSERT_OK(db_->Scan(scan, [&](const ScanBatch& b) {
    times.insert(times.end(), b.times.begin(), b.times.end());
    return absl::OkStatus();
  }));
  EXPECT_THAT(times, ::testing::ElementsAre(1793491200LL * 1'000'000'000));
}

TEST_F(ServerTest, EachApiAcceptsItsOwnPrecisionNames) {
  StartServer();
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto v1_us, client->Post("/write?db=db&precision=us", kTwoPoints));
  EXPECT_EQ(v1_us.status, 400);
  EXPECT_THAT(v1_us.body, HasSubstr("invalid precision \\\"us\\\""));
  ASSERT_OK_AND_ASSIGN(auto v1_u, client->Post("/write?db=db&precision=u", "m v=1 5\n"));
  EXPECT_EQ(v1_u.status, 204);
  ASSERT_OK_AND_ASSIGN(auto v2_n, client->Post("/api/v2/write?bucket=db&precision=n", "m v=1\n"));
  EXPECT_EQ(v2_n.status, 400);
  EXPECT_THAT(v2_n.body, HasSubstr("\"code\":\"invalid\""));
  ASSERT_OK_AND_ASSIGN(auto v2_us,
                       client->Post("/api/v2/write?bucket=db&precision=us", "m v=1 5\n"));
  EXPECT_EQ(v2_us.status, 204);
}

TEST_F(ServerTest, InvalidLineRejectsTheWholeBodyByDefaultAndNamesTheLine) {
  StartServer();
  const std::string body = StrCat(kTwoPoints, "cost,run_id=c cost= 1793491200000000000\n");
  ASSERT_OK_AND_ASSIGN(HttpClientResponse v1, Client()->Post("/write?db=db", body));
  EXPECT_EQ(v1.status, 400);
  EXPECT_EQ(v1.Header("Content-Type"), "application/json");
  EXPECT_THAT(v1.body, HasSubstr("\"error\":\"unable to parse 'cost,run_id=c cost= "
                                 "1793491200000000000': line 3, column"));
  EXPECT_THAT(v1.body, HasSubstr("\"line\":3,\"written\":0,\"rejected\":1"));
  ASSERT_OK_AND_ASSIGN(HttpClientResponse v2, Client()->Post("/api/v2/write?bucket=db", body));
  EXPECT_EQ(v2.status, 400);
  EXPECT_THAT(v2.body, HasSubstr("{\"code\":\"invalid\",\"message\":\"unable to parse"));
  EXPECT_EQ(CountPoints(), 0u);
}

TEST_F(ServerTest, AcceptPartialWritesTheValidLinesAndReportsTheOthers) {
  StartServer();
  const std::string body =
      StrCat("bad line\n", kTwoPoints, "cost,run_id=c cost=x 1793491200000000000\n");
  ASSERT_OK_AND_ASSIGN(HttpClientResponse r,
                       Client()->Post("/write?db=db&accept_partial=true", body));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("\"error\":\"partial write: unable to parse 'bad line': line 1"));
  EXPECT_THAT(r.body, HasSubstr("(and 1 more invalid line)"));
  EXPECT_THAT(r.body, HasSubstr("\"line\":1,\"written\":2,\"rejected\":2"));
  EXPECT_EQ(CountPoints(), 2u);
}

TEST_F(ServerTest, PartialWritesCanBeTheServerDefault) {
  ServerOptions options = TestServerOptions();
  options.partial_writes = true;
  StartServer(options);
  const std::string body = StrCat(kTwoPoints, "oops\n");
  ASSERT_OK_AND_ASSIGN(auto partial, Client()->Post("/write?db=db", body));
  EXPECT_EQ(partial.status, 400);
  EXPECT_THAT(partial.body, HasSubstr("partial write"));
  EXPECT_EQ(CountPoints(), 2u);
  ASSERT_OK_AND_ASSIGN(auto strict, Client()->Post("/write?db=db&accept_partial=false",
                                                   "cost,run_id=z cost=1 1\nnope\n"));
  EXPECT_EQ(strict.status, 400);
  EXPECT_EQ(CountPoints(), 2u);
  ASSERT_OK_AND_ASSIGN(auto bad, Client()->Post("/write?db=db&accept_partial=maybe", "m v=1\n"));
  EXPECT_EQ(bad.status, 400);
}

TEST_F(ServerTest, FieldTypeConflictIs400) {
  StartServer();
  ASSERT_OK_AND_ASSIGN(auto first, Client()->Post("/write?db=db", "m v=1i 1\n"));
  EXPECT_EQ(first.status, 204);
  ASSERT_OK_AND_ASSIGN(auto second, Client()->Post("/write?db=db", "m v=\"text\" 2\n"));
  EXPECT_EQ(second.status, 400) << second.body;
}

TEST_F(ServerTest, EmptyBodyIs204) {
  StartServer();
  ASSERT_OK_AND_ASSIGN(auto r, Client()->Post("/write?db=db", ""));
  EXPECT_EQ(r.status, 204);
  ASSERT_OK_AND_ASSIGN(auto comments, Client()->Post("/write?db=db", "# nothing\n\n"));
  EXPECT_EQ(comments.status, 204);
}

TEST_F(ServerTest, MissingOrUnknownDatabaseAndRetentionPolicy) {
  StartServer();
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto no_db, client->Post("/write", kTwoPoints));
  EXPECT_EQ(no_db.status, 400);
  EXPECT_EQ(no_db.body, "{\"error\":\"database is required\"}");
  ASSERT_OK_AND_ASSIGN(auto unknown, client->Post("/write?db=nope", kTwoPoints));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "{\"error\":\"database not found: \\\"nope\\\"\"}");
  ASSERT_OK_AND_ASSIGN(auto unknown_empty, client->Post("/write?db=nope", ""));
  EXPECT_EQ(unknown_empty.status, 404);
  ASSERT_OK_AND_ASSIGN(auto v2_unknown, client->Post("/api/v2/write?bucket=nope", kTwoPoints));
  EXPECT_EQ(v2_unknown.status, 404);
  EXPECT_THAT(v2_unknown.body, HasSubstr("\"code\":\"not found\""));
  ASSERT_OK_AND_ASSIGN(auto v2_no_bucket, client->Post("/api/v2/write?org=x", kTwoPoints));
  EXPECT_EQ(v2_no_bucket.status, 400);
  ASSERT_OK_AND_ASSIGN(auto rp, client->Post("/write?db=db&rp=weekly", kTwoPoints));
  EXPECT_EQ(rp.status, 404);
  EXPECT_THAT(rp.body, HasSubstr("retention policy not found: weekly"));
  ASSERT_OK_AND_ASSIGN(auto autogen, client->Post("/write?db=db&rp=autogen", kTwoPoints));
  EXPECT_EQ(autogen.status, 204);
}

TEST_F(ServerTest, GzipBodiesAreInflatedWithinTheLimit) {
  ServerOptions options = TestServerOptions();
  options.max_decompressed_bytes = 64 * 1024;
  StartServer(options);
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(
      auto ok, client->Post("/write?db=db", Gzip(Lines(0, 100)), {{"Content-Encoding", "gzip"}}));
  EXPECT_EQ(ok.status, 204) << ok.body;
  EXPECT_EQ(CountPoints(), 100u);

  // 10 MB of one repeated line compresses to a few KB: refused once it inflates past 64 KiB.
  std::string bomb;
  while (bomb.size() < 10'000'000) bomb += "cost,run_id=x cost=1 1793491200000000000\n";
  const std::string compressed = Gzip(bomb);
  ASSERT_LT(compressed.size(), 100'000u);
  ASSERT_OK_AND_ASSIGN(auto big,
                       client->Post("/write?db=db", compressed, {{"Content-Encoding", "gzip"}}));
  EXPECT_EQ(big.status, 413);
  EXPECT_THAT(big.body, HasSubstr("decompresses to more than 65536 bytes"));

  ASSERT_OK_AND_ASSIGN(auto corrupt, client->Post("/write?db=db", "not gzip at all",
                                                  {{"Content-Encoding", "gzip"}}));
  EXPECT_EQ(corrupt.status, 400);
  EXPECT_THAT(corrupt.body, HasSubstr("invalid gzip body"));
  const std::string gz = Gzip(Lines(0, 10));
  ASSERT_OK_AND_ASSIGN(auto truncated, client->Post("/write?db=db", gz.substr(0, gz.size() / 2),
                                                    {{"Content-Encoding", "gzip"}}));
  EXPECT_EQ(truncated.status, 400);
  ASSERT_OK_AND_ASSIGN(auto br,
                       client->Post("/write?db=db", kTwoPoints, {{"Content-Encoding", "br"}}));
  EXPECT_EQ(br.status, 415);
  EXPECT_EQ(CountPoints(), 100u);
}

TEST_F(ServerTest, BodyOverTheLimitIs413WithMaxLength) {
  ServerOptions options = TestServerOptions();
  options.max_body_bytes = 1000;
  StartServer(options);
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto v2, client->Post("/api/v2/write?bucket=db", Lines(0, 100)));
  EXPECT_EQ(v2.status, 413);
  EXPECT_THAT(v2.body, HasSubstr("\"code\":\"request too large\""));
  EXPECT_THAT(v2.body, HasSubstr("\"maxLength\":1000"));
  EXPECT_EQ(v2.Header("Connection"), "close");
  // The client reconnects; a body within the limit still goes through.
  ASSERT_OK_AND_ASSIGN(auto small, client->Post("/write?db=db", Lines(0, 3)));
  EXPECT_EQ(small.status, 204);

  // A chunked body has no Content-Length: it is cut off once it passes the limit.
  RawConnection raw(server_->port());
  std::string request =
      "POST /write?db=db HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string lines = Lines(0, 100);
  StrAppend(&request, absl::Hex(lines.size()), "\r\n", lines, "\r\n0\r\n\r\n");
  ASSERT_TRUE(raw.Send(request));
  const std::string response = raw.ReadUntil("\r\n\r\n");
  EXPECT_THAT(response, HasSubstr("HTTP/1.1 413"));
  EXPECT_EQ(CountPoints(), 3u);
}

TEST_F(ServerTest, WrongMethodsAndPathsGet405And404) {
  StartServer();
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto get_write, client->Get("/write?db=db"));
  EXPECT_EQ(get_write.status, 405);
  EXPECT_EQ(get_write.Header("Allow"), "POST");
  ASSERT_OK_AND_ASSIGN(auto nowhere, client->Get("/nowhere"));
  EXPECT_EQ(nowhere.status, 404);
  // Without a query handler /query is not served at all.
  ASSERT_OK_AND_ASSIGN(auto query, client->Get("/query?q=SHOW+DATABASES"));
  EXPECT_EQ(query.status, 404);
  // The connection survived every one of them.
  ASSERT_OK_AND_ASSIGN(auto ping, client->Get("/ping"));
  EXPECT_EQ(ping.status, 204);
  EXPECT_EQ(server_->metrics().connections_total.load(), 1u);
  // A refused request whose body was not read closes the connection (its body would
  // otherwise be read as the next request).
  ASSERT_OK_AND_ASSIGN(auto post_ping, client->Post("/ping", "x"));
  EXPECT_EQ(post_ping.status, 405);
  EXPECT_EQ(post_ping.Header("Connection"), "close");
}

TEST_F(ServerTest, MalformedRequestsGet4xxAndTheServerCarriesOn) {
  ServerOptions options = TestServerOptions();
  options.max_header_bytes = 2048;
  StartServer(options);
  {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.Send("THIS IS NOT HTTP\r\n\r\n"));
    std::string got;
    EXPECT_TRUE(raw.WaitForClose(&got));
    EXPECT_THAT(got, HasSubstr("HTTP/1.1 400"));
  }
  {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.Send(
        StrCat("GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ", std::string(4096, 'a'), "\r\n\r\n")));
    std::string got;
    EXPECT_TRUE(raw.WaitForClose(&got));
    EXPECT_THAT(got, HasSubstr("HTTP/1.1 431"));
  }
  {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.Send("POST /write?db=db HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n"));
    std::string got;
    EXPECT_TRUE(raw.WaitForClose(&got));
    EXPECT_THAT(got, HasSubstr("HTTP/1.1 400"));
  }
  ASSERT_OK_AND_ASSIGN(auto ping, Client()->Get("/ping"));
  EXPECT_EQ(ping.status, 204);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  RawConnection raw(server_->port());
  const std::string body = Lines(0, 2);
  ASSERT_TRUE(
      raw.Send(StrCat("POST /write?db=db HTTP/1.1\r\nHost: x\r\nContent-Length: ", body.size(),
                      "\r\n\r\n", body, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                      "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
  std::string got;
  EXPECT_TRUE(raw.WaitForClose(&got));
  const size_t first = got.find("HTTP/1.1 204");
  const size_t second = got.find("HTTP/1.1 200");
  const size_t third = got.find("HTTP/1.1 204", first + 1);
  EXPECT_NE(first, std::string::npos);
  EXPECT_NE(second, std::string::npos);
  EXPECT_NE(third, std::string::npos);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_EQ(CountPoints(), 2u);
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  StartServer();
  auto client = Client();
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK_AND_ASSIGN(auto r, client->Post("/write?db=db", Lines(i * 10, 10)));
    ASSERT_EQ(r.status, 204) << r.body;
  }
  EXPECT_EQ(server_->metrics().connections_total.load(), 1u);
  EXPECT_EQ(CountPoints(), 200u);
}

TEST_F(ServerTest, SlowClientIsDisconnectedByTheHeaderTimeout) {
  ServerOptions options = TestServerOptions();
  options.header_timeout = absl::Milliseconds(200);
  StartServer(options);
  RawConnection raw(server_->port());
  // Half a header, then nothing: the server must not wait forever.
  ASSERT_TRUE(raw.Send("POST /write?db=db HTTP/1.1\r\nHost: x\r\n"));
  EXPECT_TRUE(raw.WaitForClose());
  ASSERT_OK_AND_ASSIGN(auto ping, Client()->Get("/ping"));
  EXPECT_EQ(ping.status, 204);
  // The counter moves after the socket is closed: read it once the server has stopped.
  server_->Shutdown();
  server_->Wait();
  EXPECT_EQ(server_->metrics().connections_timed_out.load(), 1u);
}

TEST_F(ServerTest, SilentConnectionIsClosedByTheHeaderTimeout) {
  ServerOptions options = TestServerOptions();
  options.header_timeout = absl::Milliseconds(200);
  StartServer(options);
  RawConnection raw(server_->port());
  EXPECT_TRUE(raw.WaitForClose());
}

TEST_F(ServerTest, IdleKeptAliveConnectionIsClosedByTheIdleTimeout) {
  ServerOptions options = TestServerOptions();
  options.idle_timeout = absl::Milliseconds(200);
  StartServer(options);
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got;
  EXPECT_TRUE(raw.WaitForClose(&got));
  EXPECT_THAT(got, HasSubstr("HTTP/1.1 204"));
}

TEST_F(ServerTest, SlowBodyIsDisconnectedByTheBodyTimeout) {
  ServerOptions options = TestServerOptions();
  options.body_timeout = absl::Milliseconds(200);
  StartServer(options);
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.Send("POST /write?db=db HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nm v"));
  EXPECT_TRUE(raw.WaitForClose());
  server_->Shutdown();
  server_->Wait();
  EXPECT_EQ(server_->metrics().inflight_write_bytes.load(), 0);
  EXPECT_EQ(server_->metrics().connections_timed_out.load(), 1u);
}

TEST_F(ServerTest, ConnectionsBeyondTheLimitGet503WithRetryAfter) {
  ServerOptions options = TestServerOptions();
  options.max_connections = 2;
  StartServer(options);
  RawConnection a(server_->port());
  RawConnection b(server_->port());
  // Both are accepted before the third: the acceptor takes connections in order.
  RawConnection c(server_->port());
  std::string got;
  EXPECT_TRUE(c.WaitForClose(&got));
  EXPECT_THAT(got, HasSubstr("HTTP/1.1 503"));
  EXPECT_THAT(got, HasSubstr("Retry-After: 1"));
  EXPECT_EQ(server_->metrics().connections_rejected.load(), 1u);
}

TEST_F(ServerTest, TooManyBytesInFlightGet429WithRetryAfter) {
  ServerOptions options = TestServerOptions();
  options.max_inflight_write_bytes = 1000;
  StartServer(options);
  // A write of 900 bytes whose body has not arrived yet holds its reservation; the
  // 100 Continue tells that the server has taken it.
  const std::string body = Lines(0, 20).substr(0, 900);
  ASSERT_EQ(body.size(), 900u);
  RawConnection slow(server_->port());
  ASSERT_TRUE(slow.Send(
      StrCat("POST /write?db=db HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ",
             body.size(), "\r\n\r\n")));
  EXPECT_THAT(slow.ReadUntil("\r\n\r\n"), HasSubstr("HTTP/1.1 100 Continue"));
  EXPECT_EQ(server_->metrics().inflight_write_bytes.load(), 900);

  ASSERT_OK_AND_ASSIGN(auto throttled, Client()->Post("/write?db=db", Lines(100, 2)));
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.Header("Retry-After"), "1");
  EXPECT_EQ(server_->metrics().throttled_requests.load(), 1u);

  // Once the first write completes, writes go through again.
  const size_t last_newline = body.rfind('\n');
  std::string complete = body.substr(0, last_newline + 1);
  complete.resize(body.size(), '\n');
  ASSERT_TRUE(slow.Send(complete));
  EXPECT_THAT(slow.ReadUntil("\r\n\r\n"), HasSubstr("HTTP/1.1 204"));
  ASSERT_OK_AND_ASSIGN(auto ok, Client()->Post("/write?db=db", Lines(100, 2)));
  EXPECT_EQ(ok.status, 204);
}

TEST_F(ServerTest, MetricsExposeIngestAndEngineCounters) {
  StartServer();
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto w, client->Post("/write?db=db", Lines(0, 25)));
  ASSERT_EQ(w.status, 204);
  ASSERT_OK_AND_ASSIGN(auto r, client->Get("/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.Header("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  for (const char* line :
       {"burnrate_ingest_points_total 25\n", "burnrate_engine_points_written_total 25\n",
        "burnrate_http_open_connections 1\n", "burnrate_write_duration_seconds_count 1\n",
        "burnrate_query_duration_seconds_count 0\n",
        "burnrate_http_requests_total{endpoint=\"/write\",code=\"204\"} 1\n",
        "# TYPE burnrate_wal_bytes_written_total counter\n", "burnrate_wal_syncs_total ",
        "burnrate_memtable_bytes ", "burnrate_segment_files ", "burnrate_compactions_total ",
        "burnrate_write_duration_seconds_bucket{le=\"+Inf\"} 1\n"}) {
    EXPECT_THAT(r.body, HasSubstr(line));
  }
}

TEST_F(ServerTest, ConcurrentWritersAndReadersAllSucceed) {
  StartServer();
  constexpr int kWriters = 4;
  constexpr int kBatches = 25;
  constexpr int kPerBatch = 200;
  std::atomic<int> failures{0};
  std::atomic<bool> writing{true};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto client = Client();
      for (int b = 0; b < kBatches; ++b) {
        const int first = (w * kBatches + b) * kPerBatch;
        auto r = client->Post(b % 2 == 0 ? "/write?db=db" : "/api/v2/write?bucket=db",
                              Lines(first, kPerBatch));
        if (!r.ok() || r->status != 204) ++failures;
      }
    });
  }
  for (int reader = 0; reader < 2; ++reader) {
    threads.emplace_back([&, reader] {
      auto client = Client();
      int served = 0;
      while (writing.load() || served < 5) {
        auto r = client->Get(reader == 0 ? "/metrics" : "/health");
        if (!r.ok() || r->status != 200) ++failures;
        ++served;
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[static_cast<size_t>(w)].join();
  writing = false;
  for (size_t i = kWriters; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CountPoints(), static_cast<uint64_t>(kWriters * kBatches * kPerBatch));
  EXPECT_EQ(server_->metrics().write_points.load(),
            static_cast<uint64_t>(kWriters * kBatches * kPerBatch));
}

TEST_F(ServerTest, ShutdownFinishesTheRequestInFlightAndClosesIdleConnections) {
  StartServer();
  RawConnection idle(server_->port());
  ASSERT_TRUE(idle.Send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_THAT(idle.ReadUntil("\r\n\r\n"), HasSubstr("204"));

  const std::string body = Lines(0, 5);
  RawConnection busy(server_->port());
  ASSERT_TRUE(busy.Send(
      StrCat("POST /write?db=db HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ",
             body.size(), "\r\n\r\n")));
  EXPECT_THAT(busy.ReadUntil("\r\n\r\n"), HasSubstr("100 Continue"));

  server_->Shutdown();
  EXPECT_TRUE(idle.WaitForClose());
  ASSERT_TRUE(busy.Send(body));
  std::string got;
  EXPECT_TRUE(busy.WaitForClose(&got));
  EXPECT_THAT(got, HasSubstr("HTTP/1.1 204"));
  EXPECT_THAT(got, HasSubstr("Connection: close"));
  server_->Wait();
  EXPECT_EQ(CountPoints(), 5u);
  RawConnection late(server_->port());
  EXPECT_FALSE(late.connected());
}

TEST_F(ServerTest, ShutdownTimeoutClosesRequestsThatDoNotFinish) {
  ServerOptions options = TestServerOptions();
  options.shutdown_timeout = absl::Milliseconds(100);
  StartServer(options);
  RawConnection stuck(server_->port());
  ASSERT_TRUE(
      stuck.Send("POST /write?db=db HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
                 "50\r\n\r\n"));
  EXPECT_THAT(stuck.ReadUntil("\r\n\r\n"), HasSubstr("100 Continue"));
  server_->Shutdown();
  EXPECT_TRUE(stuck.WaitForClose());
  server_->Wait();
}

TEST_F(ServerTest, NonLoopbackAddressNeedsAuthOrAnExplicitOptOut) {
  ServerOptions options = TestServerOptions();
  options.host = "0.0.0.0";
  EXPECT_THAT(HttpServer::Start(db_.get(), options),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("--tokens-file")));
  options.insecure_allow_no_auth = true;
  auto started = HttpServer::Start(db_.get(), options);
  ASSERT_OK(started);
  EXPECT_GT((*started)->port(), 0);
}

TEST_F(ServerTest, PortInUseIsUnavailable) {
  StartServer();
  ServerOptions options = TestServerOptions();
  options.port = server_->port();
  EXPECT_THAT(HttpServer::Start(db_.get(), options), StatusIs(absl::StatusCode::kUnavailable));
}

// Authentication.

class AuthTest : public ServerTest {
 protected:
  void WriteTokens(std::string_view text) { std::ofstream(tokens_path_, std::ios::trunc) << text; }
  void StartWithTokens(std::string_view text) {
    WriteTokens(text);
    ServerOptions options = TestServerOptions();
    options.tokens_file = tokens_path_;
    StartServer(options);
  }
  int WriteStatus(std::string_view target, const HttpHeaders& headers = {}) {
    auto r = Client()->Post(target, kTwoPoints, headers);
    EXPECT_OK(r);
    return r.ok() ? r->status : 0;
  }

  std::string tokens_path_ = dir_.Sub("tokens");
};

TEST_F(AuthTest, EveryCredentialFormIsAccepted) {
  StartWithTokens("# comment\nwriter-token write:db\n");
  const std::string basic = absl::Base64Escape("anyone:writer-token");
  EXPECT_EQ(WriteStatus("/write?db=db", {{"Authorization", "Token writer-token"}}), 204);
  EXPECT_EQ(WriteStatus("/write?db=db", {{"Authorization", "Bearer writer-token"}}), 204);
  EXPECT_EQ(WriteStatus("/write?db=db", {{"Authorization", "Basic " + basic}}), 204);
  EXPECT_EQ(WriteStatus("/write?db=db", {{"Authorization", "Token user:writer-token"}}), 204);
  EXPECT_EQ(WriteStatus("/write?db=db&u=user&p=writer-token"), 204);
  EXPECT_EQ(WriteStatus("/api/v2/write?bucket=db", {{"Authorization", "Token writer-token"}}), 204);
}

TEST_F(AuthTest, MissingOrWrongTokenIs401AndWrongScopeIs403) {
  StartWithTokens("writer-token write:db\nreader-token read:*\nother-token write:other\n");
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto none, client->Post("/write?db=db", kTwoPoints));
  EXPECT_EQ(none.status, 401);
  EXPECT_THAT(none.Header("WWW-Authenticate"), HasSubstr("Basic realm="));
  EXPECT_EQ(none.body, "{\"error\":\"unable to parse authentication credentials\"}");
  ASSERT_OK_AND_ASSIGN(auto wrong,
                       client->Post("/write?db=db", kTwoPoints, {{"Authorization", "Token nope"}}));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, "{\"error\":\"authorization failed\"}");
  EXPECT_EQ(WriteStatus("/write?db=db", {{"Authorization", "Token reader-token"}}), 403);
  EXPECT_EQ(WriteStatus("/write?db=db", {{"Authorization", "Token other-token"}}), 403);
  ASSERT_OK_AND_ASSIGN(auto v2, client->Post("/api/v2/write?bucket=db", kTwoPoints,
                                             {{"Authorization", "Token reader-token"}}));
  EXPECT_EQ(v2.status, 403);
  EXPECT_THAT(v2.body, HasSubstr("\"code\":\"forbidden\""));
  EXPECT_EQ(CountPoints(), 0u);
  // Ping, health and metrics stay open, as in InfluxDB.
  ASSERT_OK_AND_ASSIGN(auto ping, client->Get("/ping"));
  EXPECT_EQ(ping.status, 204);
  ASSERT_OK_AND_ASSIGN(auto health, client->Get("/health"));
  EXPECT_EQ(health.status, 200);
}

TEST_F(AuthTest, ReloadReplacesTheTokensAndKeepsThemOnABadFile) {
  StartWithTokens("old-token write:*\n");
  EXPECT_EQ(WriteStatus("/write?db=db", {{"Authorization", "Token old-token"}}), 204);
  WriteTokens("new-token admin\n");
  ASSERT_OK(server_->ReloadTokens());
  EXPECT_EQ(WriteStatus("/write?db=db", {{"Authorization", "Token old-token"}}), 401);
  EXPECT_EQ(WriteStatus("/write?db=db", {{"Authorization", "Token new-token"}}), 204);
  WriteTokens("broken-token bogus:scope\n");
  EXPECT_THAT(server_->ReloadTokens(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(WriteStatus("/write?db=db", {{"Authorization", "Token new-token"}}), 204);
}

TEST_F(AuthTest, UnreadableTokensFileFailsStart) {
  ServerOptions options = TestServerOptions();
  options.tokens_file = dir_.Sub("missing");
  EXPECT_THAT(HttpServer::Start(db_.get(), options), StatusIs(absl::StatusCode::kNotFound));
}

// The /query seam.

TEST_F(ServerTest, QueryHandlerGetsDecodedParametersOnAWorker) {
  ServerOptions options = TestServerOptions();
  std::vector<QueryRequestParams> seen;
  std::mutex mu;
  options.query_handler = [&](const QueryRequestParams& q) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(q);
    HttpResponse r;
    r.body = q.format == QueryFormat::kCsv ? "name,tags\n" : "{\"results\":[]}";
    if (q.format == QueryFormat::kCsv) r.content_type = "application/csv";
    return r;
  };
  StartServer(options);
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(
      auto get, client->Get("/query?db=db&q=SELECT+sum%28cost%29+FROM+cost&epoch=ms&pretty=true"));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "{\"results\":[]}");
  ASSERT_OK_AND_ASSIGN(
      auto post, client->Post("/query?db=fromurl", "q=SHOW+DATABASES&db=frombody&chunked=true",
                              {{"Content-Type", "application/x-www-form-urlencoded"},
                               {"Accept", "application/csv"}}));
  EXPECT_EQ(post.status, 200);
  EXPECT_EQ(post.Header("Content-Type"), "application/csv");
  ASSERT_OK_AND_ASSIGN(auto missing, client->Get("/query?db=db"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body, "{\"error\":\"missing required parameter \\\"q\\\"\"}");

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].is_post);
  EXPECT_EQ(seen[0].q, "SELECT sum(cost) FROM cost");
  EXPECT_EQ(seen[0].db, "db");
  EXPECT_EQ(seen[0].epoch, "ms");
  EXPECT_TRUE(seen[0].pretty);
  EXPECT_EQ(seen[0].format, QueryFormat::kJson);
  EXPECT_TRUE(seen[0].allowed(Access::kAdmin, ""));
  EXPECT_GT(seen[0].now_ns, 0);
  EXPECT_TRUE(seen[1].is_post);
  EXPECT_EQ(seen[1].q, "SHOW DATABASES");
  EXPECT_EQ(seen[1].db, "fromurl");
  EXPECT_TRUE(seen[1].chunked);
  EXPECT_EQ(seen[1].format, QueryFormat::kCsv);
  EXPECT_EQ(server_->metrics().query_latency.count(), 2u);
}

TEST_F(AuthTest, QueryHandlerSeesTheTokensScopes) {
  WriteTokens("reader-token read:db\n");
  ServerOptions options = TestServerOptions();
  options.tokens_file = tokens_path_;
  std::atomic<int> calls{0};
  options.query_handler = [&](const QueryRequestParams& q) {
    ++calls;
    HttpResponse r;
    const bool ok = q.allowed(Access::kRead, "db") && !q.allowed(Access::kRead, "other") &&
                    !q.allowed(Access::kWrite, "db") && !q.allowed(Access::kAdmin, "");
    r.body = ok ? "scoped" : "unscoped";
    return r;
  };
  StartServer(options);
  ASSERT_OK_AND_ASSIGN(auto none, Client()->Get("/query?q=SHOW+DATABASES"));
  EXPECT_EQ(none.status, 401);
  ASSERT_OK_AND_ASSIGN(auto ok, Client()->Get("/query?q=x&u=me&p=reader-token"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "scoped");
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(ServerTest, AThrowingQueryHandlerGets500AndTheServerCarriesOn) {
  ServerOptions options = TestServerOptions();
  options.query_handler = [](const QueryRequestParams&) -> HttpResponse {
    throw std::runtime_error("boom");
  };
  StartServer(options);
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto r, client->Get("/query?q=x"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "{\"error\":\"internal error\"}");
  ASSERT_OK_AND_ASSIGN(auto ping, client->Get("/ping"));
  EXPECT_EQ(ping.status, 204);
}

}  // namespace
}  // namespace burnrate
