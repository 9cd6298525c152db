// `burnrate query` end to end: the real binary against a server on an OS-chosen port, in
// every format, with and without tokens, through -e and through standard input, and in
// embedded mode on a data directory.

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/str_cat.h"
#include "burnrate/write_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/query_route.h"
#include "tests/server/server_test_util.h"
#include "tools/query_command.h"

namespace burnrate {
namespace {

using ::burnrate::testing::ServerTest;
using ::burnrate::testing::TempDir;
using ::burnrate::testing::TestServerOptions;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kPoints =
    "cost,cloud=aws,run_id=TrainFlow/1 cost=1.25 1793491200000000000\n"
    "cost,cloud=aws,run_id=TrainFlow/2 cost=0.0000000001 1793491260000000000\n"
    "cost,cloud=gcp,run_id=EvalFlow/7 cost=2 1793491320000000000\n";

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out.append("'\\''");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class QueryCommandTest : public ServerTest {
 protected:
  void StartAndLoad(ServerOptions options = TestServerOptions()) {
    options.query_handler = MakeQueryHandler(db_.get());
    StartServer(std::move(options));
    ASSERT_OK_AND_ASSIGN(
        auto w, Client()->Post("/write?db=db", kPoints, {{"Authorization", "Token writer"}}));
    ASSERT_EQ(w.status, 204) << w.body;
  }

  std::string ServerUrl() const { return StrCat("http://127.0.0.1:", server_->port()); }

  // Runs `burnrate query <args>` with `input` on its standard input (a file, so not a
  // terminal) and `env` prepended to the command line.
  CliRun Burnrate(const std::vector<std::string>& args, std::string_view input = "",
                  std::string_view env = "") {
    const std::string in = dir_.Sub(StrCat("in", runs_));
    const std::string out = dir_.Sub(StrCat("out", runs_));
    const std::string err = dir_.Sub(StrCat("err", runs_));
    ++runs_;
    std::ofstream(in) << input;
    std::string command = StrCat("env -u BURNRATE_TOKEN ", env, " ", BURNRATE_PATH, " query");
    for (const std::string& a : args) StrAppend(&command, " ", Quote(a));
    StrAppend(&command, " < ", in, " > ", out, " 2> ", err);
    const int status = std::system(command.c_str());
    CliRun r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }

  int runs_ = 0;
};

TEST_F(QueryCommandTest, TablesAreAlignedWithAHeaderPerSeries) {
  StartAndLoad();
  CliRun r = Burnrate({"--url", ServerUrl(), "--db", "db", "-e",
                       "SELECT sum(cost) AS total FROM cost GROUP BY cloud"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "name: cost\n"
            "tags: cloud=aws\n"
            "time                 total\n"
            "----                 -----\n"
            "1970-01-01T00:00:00Z 1.2500000001\n"
            "\n"
            "name: cost\n"
            "tags: cloud=gcp\n"
            "time                 total\n"
            "----                 -----\n"
            "1970-01-01T00:00:00Z 2\n");
  EXPECT_EQ(r.err, "");

  CliRun raw = Burnrate({"--url", ServerUrl(), "--db", "db", "--precision", "s", "-e",
                         "SELECT cost, run_id FROM cost WHERE cloud = 'aws'"});
  EXPECT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_EQ(raw.out,
            "name: cost\n"
            "time       cost         run_id\n"
            "----       ----         ------\n"
            "1793491200 1.25         TrainFlow/1\n"
            "1793491260 0.0000000001 TrainFlow/2\n");
}

TEST_F(QueryCommandTest, CsvAndJsonFormatsAreTheServersOutput) {
  StartAndLoad();
  CliRun csv = Burnrate({"--url", ServerUrl(), "--db", "db", "--format", "csv", "-e",
                         "SELECT sum(cost) FROM cost GROUP BY cloud"});
  EXPECT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out,
            "name,tags,time,sum\n"
            "cost,cloud=aws,0,1.2500000001\n"
            "cost,cloud=gcp,0,2\n");

  CliRun json = Burnrate({"--url", ServerUrl(), "--format", "json", "--precision", "ms", "-e",
                          "SELECT cost FROM db..cost WHERE run_id = 'EvalFlow/7'"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out,
            "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"cost\",\"columns\":"
            "[\"time\",\"cost\"],\"values\":[[1793491320000,2]]}]}]}\n");

  CliRun pretty =
      Burnrate({"--url", ServerUrl(), "--format", "json", "--pretty", "-e", "SHOW DATABASES"});
  EXPECT_EQ(pretty.exit_code, 0) << pretty.err;
  EXPECT_THAT(pretty.out, HasSubstr("\n    \"results\": ["));
}

TEST_F(QueryCommandTest, TokensFromTheFlagOrTheEnvironmentAndWrongTokensFail) {
  std::ofstream(dir_.Sub("tokens")) << "reader read:db\nwriter write:db\n";
  ServerOptions options = TestServerOptions();
  options.tokens_file = dir_.Sub("tokens");
  StartAndLoad(options);
  const std::string q = "SELECT count(cost) FROM cost";

  CliRun flag = Burnrate({"--url", ServerUrl(), "--db", "db", "--token", "reader", "-e", q});
  EXPECT_EQ(flag.exit_code, 0) << flag.err;
  EXPECT_THAT(flag.out, HasSubstr("1970-01-01T00:00:00Z 3\n"));

  CliRun env = Burnrate({"--url", ServerUrl(), "--db", "db", "-e", q}, "", "BURNRATE_TOKEN=reader");
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_THAT(env.out, HasSubstr(" 3\n"));

  CliRun wrong = Burnrate({"--url", ServerUrl(), "--db", "db", "--token", "nope", "-e", q});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(wrong.out, "");
  EXPECT_THAT(wrong.err, HasSubstr("ERR: HTTP 401: authorization failed"));

  CliRun none = Burnrate({"--url", ServerUrl(), "--db", "db", "-e", q});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("HTTP 401"));
  EXPECT_THAT(none.err, HasSubstr("--token"));

  CliRun scope = Burnrate({"--url", ServerUrl(), "--token", "reader", "-e", "CREATE DATABASE x"});
  EXPECT_EQ(scope.exit_code, 1);
  EXPECT_THAT(scope.err, HasSubstr("HTTP 403"));
}

TEST_F(QueryCommandTest, TablesShowStringsUnescaped) {
  StartAndLoad();
  ASSERT_OK_AND_ASSIGN(
      auto w, Client()->Post("/write?db=db",
                             "notes,who=ünï\\ code text=\"<a & b> say \\\"hi\\\" \\\\ ok\" 1\n"));
  ASSERT_EQ(w.status, 204) << w.body;
  CliRun r = Burnrate({"--url", ServerUrl(), "--db", "db", "--precision", "ns", "-e",
                       "SELECT text, who FROM notes"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "name: notes\n"
            "time text                  who\n"
            "---- ----                  ---\n"
            "1    <a & b> say \"hi\" \\ ok ünï code\n");
}

TEST_F(QueryCommandTest, UnknownDatabaseParseErrorsAndUnreachableServersFail) {
  StartAndLoad();
  CliRun unknown = Burnrate({"--url", ServerUrl(), "--db", "nosuch", "-e", "SELECT * FROM cost"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("ERR: database not found: nosuch"));

  CliRun parse = Burnrate({"--url", ServerUrl(), "--db", "db", "-e", "SELECT cost FROMM cost"});
  EXPECT_EQ(parse.exit_code, 1);
  EXPECT_THAT(parse.err, HasSubstr("ERR: error parsing query:"));
  EXPECT_THAT(parse.err, HasSubstr("at line 1, char "));

  CliRun csv_unknown = Burnrate(
      {"--url", ServerUrl(), "--db", "nosuch", "--format", "csv", "-e", "SELECT * FROM cost"});
  EXPECT_EQ(csv_unknown.exit_code, 1);
  EXPECT_THAT(csv_unknown.err, HasSubstr("database not found: nosuch"));

  const uint16_t port = server_->port();
  server_.reset();
  CliRun down = Burnrate({"--url", StrCat("http://127.0.0.1:", port), "-e", "SHOW DATABASES"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err, HasSubstr("ERR: cannot connect to 127.0.0.1:"));
}

TEST_F(QueryCommandTest, StandardInputRunsCommandsAndStatementsLineByLine) {
  StartAndLoad();
  const std::string input =
      "help\n"
      "use db\n"
      "SELECT sum(cost) FROM cost\n"
      "format csv\n"
      "SELECT count(cost) FROM cost\n"
      "SELEKT nonsense\n"
      "format json\n"
      "precision s\n"
      "SELECT cost FROM cost WHERE run_id = 'EvalFlow/7'\n"
      "format yaml\n"
      "exit\n"
      "SHOW DATABASES\n";  // after exit: not run
  CliRun r = Burnrate({"--url", ServerUrl()}, input);
  EXPECT_EQ(r.exit_code, 1);  // the bad statement and the bad format
  EXPECT_THAT(r.out, HasSubstr("use <db>"));
  EXPECT_THAT(r.out, HasSubstr("Using database db\n"));
  EXPECT_THAT(r.out, HasSubstr("time                 sum\n"
                               "----                 ---\n"
                               "1970-01-01T00:00:00Z 3.2500000001\n"));
  EXPECT_THAT(r.out, HasSubstr("name,tags,time,count\ncost,,0,3\n"));
  EXPECT_THAT(r.out, HasSubstr("\"values\":[[1793491320,2]]"));
  EXPECT_THAT(r.out, Not(HasSubstr("\"databases\"")));
  EXPECT_THAT(r.err, HasSubstr("ERR: error parsing query:"));
  EXPECT_THAT(r.err, HasSubstr("ERR: format \"yaml\" is not one of table, csv, json"));

  CliRun clean = Burnrate({"--url", ServerUrl(), "--db", "db"}, "SELECT count(cost) FROM cost\n");
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_THAT(clean.out, HasSubstr(" 3\n"));
}

TEST_F(QueryCommandTest, InteractivePromptOnATerminalKeepsHistoryAndSurvivesErrors) {
  if (std::system("command -v script > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "script(1) (bsdutils) is needed to give the prompt a terminal";
  }
  StartAndLoad();
  const std::string history = dir_.Sub("history");
  const std::string in = dir_.Sub("tty-in");
  const std::string out = dir_.Sub("tty-out");
  std::ofstream(in) << "use db\nSELECT count(cost) FROM cost\nSELEKT\nformat csv\n"
                       "SELECT count(cost) FROM cost\nexit\n";
  const std::string burnrate = StrCat("env -u BURNRATE_TOKEN ", BURNRATE_PATH, " query --url ",
                                      ServerUrl(), " --history-file ", history);
  const int status = std::system(
      StrCat("script -qec ", Quote(burnrate), " /dev/null < ", in, " > ", out, " 2>&1").c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);  // errors at the prompt are shown, not fatal
  const std::string screen = ReadFile(out);
  EXPECT_THAT(screen, HasSubstr("Connected to " + ServerUrl()));
  EXPECT_THAT(screen, HasSubstr("Using database db"));
  EXPECT_THAT(screen, HasSubstr("db> "));
  EXPECT_THAT(screen, HasSubstr("1970-01-01T00:00:00Z 3"));
  EXPECT_THAT(screen, HasSubstr("ERR: error parsing query"));
  EXPECT_THAT(screen, HasSubstr("cost,,0,3"));
  const std::string saved = ReadFile(history);
  EXPECT_THAT(saved, HasSubstr("count(cost)"));
  EXPECT_THAT(saved, HasSubstr("SELEKT"));
}

TEST_F(QueryCommandTest, EmbeddedModeOpensTheDataDirectoryWithoutAServer) {
  TempDir other;
  const std::string data = other.Sub("data");
  {
    Options options;
    options.info_log = [](std::string_view) {};
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Db> db, Db::Open(data, options));
    ASSERT_OK(db->CreateDatabase("e", DatabaseOptions()));
    WriteBatch batch("e");
    const std::vector<Tag> tags = {{"run_id", "TrainFlow/9"}};
    const WriteBatch::SeriesRef s = batch.AddSeries("cost", tags);
    batch.AddPoint(s, 1793491200000000000LL);
    batch.AddDecimal("cost", "0.1234567891");
    batch.AddPoint(s, 1793491260000000000LL);
    batch.AddDecimal("cost", "1");
    ASSERT_OK(db->Write(WriteOptions(), batch));
    ASSERT_OK(db->Close());
  }
  CliRun table = Burnrate(
      {"--data-dir", data, "--db", "e", "-e", "SELECT sum(cost) FROM cost GROUP BY run_id"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out,
            "name: cost\n"
            "tags: run_id=TrainFlow/9\n"
            "time                 sum\n"
            "----                 ---\n"
            "1970-01-01T00:00:00Z 1.1234567891\n");

  CliRun json = Burnrate({"--data-dir", data, "--format", "json", "--precision", "s", "-e",
                          "SELECT cost FROM e..cost LIMIT 1"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out,
            "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"cost\",\"columns\":"
            "[\"time\",\"cost\"],\"values\":[[1793491200,0.1234567891]]}]}]}\n");

  // Statements that change data run too, and the REPL commands work on stdin.
  CliRun repl = Burnrate({"--data-dir", data},
                         "CREATE DATABASE f\nformat csv\nSHOW DATABASES\nuse e\nformat table\n"
                         "SELECT count(cost) FROM cost\nSELECT * FROM nosuch..cost\n");
  EXPECT_EQ(repl.exit_code, 1);
  EXPECT_THAT(repl.out, HasSubstr("databases,,f\n"));
  EXPECT_THAT(repl.out, HasSubstr("1970-01-01T00:00:00Z 2\n"));
  EXPECT_THAT(repl.err, HasSubstr("ERR: database not found: nosuch"));

  CliRun missing = Burnrate({"--data-dir", other.Sub("nothing"), "-e", "SHOW DATABASES"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("burnrate query: cannot open data directory"));
}

TEST_F(QueryCommandTest, EmbeddedModeRefusesADirectoryAServerHolds) {
  // The fixture's Db (the server's) holds dir_/data open.
  CliRun r = Burnrate({"--data-dir", dir_.Sub("data"), "-e", "SHOW DATABASES"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is in use by another process (a running burnrated?)"));
  EXPECT_THAT(r.err, HasSubstr("--url"));
  EXPECT_EQ(r.out, "");
}

TEST(RenderTableTest, PadsEveryColumnButTheLastAndCountsCharactersNotBytes) {
  std::vector<TextSeries> series(2);
  series[0].columns = {"key", "v"};
  series[0].rows = {{"é", "1"}, {"long key", ""}};
  series[1].name = "m";
  series[1].tags = {{"a", "1"}, {"b", "2"}};
  series[1].columns = {"x"};
  EXPECT_EQ(RenderTable(series),
            "key      v\n"
            "---      -\n"
            "é        1\n"
            "long key\n"
            "\n"
            "name: m\n"
            "tags: a=1, b=2\n"
            "x\n"
            "-\n");
}

}  // namespace
}  // namespace burnrate
