// /query through HTTP, with the query layer wired in as burnrated does.

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/query_route.h"
#include "tests/server/server_test_util.h"

namespace burnrate {
namespace {

using ::burnrate::testing::ServerTest;
using ::burnrate::testing::TestServerOptions;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kPoints =
    "cost,cloud=aws,run_id=TrainFlow/1 cost=1.25 1793491200000000000\n"
    "cost,cloud=aws,run_id=TrainFlow/2 cost=0.75 1793491260000000000\n"
    "cost,cloud=gcp,run_id=EvalFlow/7 cost=2 1793491320000000000\n";

class QueryEndpointTest : public ServerTest {
 protected:
  ServerOptions QueryOptions() {
    ServerOptions options = TestServerOptions();
    options.query_handler = MakeQueryHandler(db_.get());
    return options;
  }
  void StartAndLoad(ServerOptions options) {
    StartServer(std::move(options));
    ASSERT_OK_AND_ASSIGN(auto w, Client()->Post("/write?db=db", kPoints));
    ASSERT_EQ(w.status, 204) << w.body;
  }
};

TEST_F(QueryEndpointTest, SelectAndShowAnswerInfluxJsonAndCsv) {
  StartAndLoad(QueryOptions());
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto dbs, client->Get("/query?q=SHOW+DATABASES"));
  EXPECT_EQ(dbs.status, 200);
  EXPECT_THAT(dbs.Header("Content-Type"), HasSubstr("application/json"));
  EXPECT_THAT(dbs.body, HasSubstr("[\"db\"]"));

  ASSERT_OK_AND_ASSIGN(auto sum,
                       client->Get("/query?db=db&q=SELECT+sum%28cost%29+FROM+cost+GROUP+BY+cloud"));
  EXPECT_EQ(sum.status, 200) << sum.body;
  EXPECT_THAT(sum.body, HasSubstr("\"tags\":{\"cloud\":\"aws\"}"));
  EXPECT_THAT(sum.body, HasSubstr("2]"));  // 1.25 + 0.75, exactly
  EXPECT_THAT(sum.body, HasSubstr("\"tags\":{\"cloud\":\"gcp\"}"));

  ASSERT_OK_AND_ASSIGN(auto csv,
                       client->Post("/query", "db=db&q=SELECT+count%28cost%29+FROM+cost",
                                    {{"Content-Type", "application/x-www-form-urlencoded"},
                                     {"Accept", "application/csv"}}));
  EXPECT_EQ(csv.status, 200) << csv.body;
  EXPECT_THAT(csv.body, HasSubstr("name,tags,time,count"));
  EXPECT_THAT(csv.body, HasSubstr(",3"));

  ASSERT_OK_AND_ASSIGN(auto bad, client->Get("/query?db=db&q=SELEKT+1"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("error parsing query"));
  EXPECT_EQ(server_->metrics().query_latency.count(), 4u);
}

TEST_F(QueryEndpointTest, StatementsThatChangeDataNeedPost) {
  StartAndLoad(QueryOptions());
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto get, client->Get("/query?q=CREATE+DATABASE+other"));
  EXPECT_EQ(get.status, 405);
  ASSERT_OK_AND_ASSIGN(auto post, client->Post("/query?q=CREATE+DATABASE+other", ""));
  EXPECT_EQ(post.status, 200) << post.body;
  ASSERT_OK_AND_ASSIGN(auto write, client->Post("/write?db=other", kPoints));
  EXPECT_EQ(write.status, 204);
}

TEST_F(QueryEndpointTest, TokenScopesDecideWhichStatementsRun) {
  std::ofstream(dir_.Sub("tokens")) << "reader read:db\nadmin-token admin\n";
  ServerOptions options = QueryOptions();
  options.tokens_file = dir_.Sub("tokens");
  StartServer(options);
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto none, client->Get("/query?db=db&q=SELECT+count%28cost%29+FROM+cost"));
  EXPECT_EQ(none.status, 401);
  const HttpHeaders reader = {{"Authorization", "Token reader"}};
  ASSERT_OK_AND_ASSIGN(auto select,
                       client->Get("/query?db=db&q=SELECT+count%28cost%29+FROM+cost", reader));
  EXPECT_EQ(select.status, 200) << select.body;
  ASSERT_OK_AND_ASSIGN(auto create, client->Post("/query?q=CREATE+DATABASE+x", "", reader));
  EXPECT_EQ(create.status, 403) << create.body;
  ASSERT_OK_AND_ASSIGN(auto admin, client->Post("/query?q=CREATE+DATABASE+x", "",
                                                {{"Authorization", "Token admin-token"}}));
  EXPECT_EQ(admin.status, 200) << admin.body;
}

TEST_F(QueryEndpointTest, ConcurrentWritersAndQueriesAllSucceed) {
  StartServer(QueryOptions());
  std::atomic<int> failures{0};
  std::atomic<bool> writing{true};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      auto client = Client();
      for (int b = 0; b < 20; ++b) {
        std::string body;
        for (int i = 0; i < 100; ++i) {
          StrAppend(&body, "cost,run_id=w", w, ",resource=r", i, " cost=0.5 ",
                    1793491200000000000LL + int64_t{b} * 60'000'000'000LL, "\n");
        }
        auto r = client->Post("/write?db=db", body);
        if (!r.ok() || r->status != 204) ++failures;
      }
    });
  }
  std::atomic<int> queries{0};
  for (int q = 0; q < 2; ++q) {
    threads.emplace_back([&] {
      auto client = Client();
      while (writing.load() || queries.load() < 10) {
        auto r = client->Get("/query?db=db&q=SELECT+sum%28cost%29+FROM+cost+GROUP+BY+run_id");
        if (!r.ok() || r->status != 200) ++failures;
        ++queries;
      }
    });
  }
  for (int w = 0; w < 3; ++w) threads[static_cast<size_t>(w)].join();
  writing = false;
  for (size_t i = 3; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CountPoints(), 3u * 20 * 100);
  ASSERT_OK_AND_ASSIGN(auto total, Client()->Get("/query?db=db&q=SELECT+sum%28cost%29+FROM+cost"));
  EXPECT_THAT(total.body, HasSubstr("3000]"));  // 6,000 points of $0.5
}

}  // namespace
}  // namespace burnrate
