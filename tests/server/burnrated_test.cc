// Tests that run burnrated as a child process, and compatibility tests with real InfluxDB
// clients from Debian's packages.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/query_route.h"
#include "tests/server/server_test_util.h"

namespace burnrate {
namespace {

using ::burnrate::testing::ServerTest;
using ::burnrate::testing::TempDir;
using ::burnrate::testing::TestServerOptions;
using ::testing::HasSubstr;

constexpr int kPointsPerBatch = 200;
constexpr TimestampNs kBaseTime = 1793491200LL * 1'000'000'000;

// A burnrated child with its stdout on a pipe and its stderr in a file.
struct Child {
  pid_t pid = -1;
  std::FILE* out = nullptr;
  uint16_t port = 0;
  std::string first_line;
};

Child Spawn(const std::vector<std::string>& args, const std::string& stderr_path) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  Child child;
  child.pid = fork();
  if (child.pid == 0) {
    dup2(fds[1], 1);
    const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) dup2(err, 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(BURNRATED_PATH));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(BURNRATED_PATH, argv.data());
    _exit(127);
  }
  close(fds[1]);
  child.out = fdopen(fds[0], "r");
  char line[512];
  if (std::fgets(line, sizeof line, child.out) != nullptr) {
    child.first_line = line;
    const size_t at = child.first_line.find("http://127.0.0.1:");
    if (at != std::string::npos) {
      child.port = static_cast<uint16_t>(std::atoi(child.first_line.c_str() + at + 17));
    }
  }
  return child;
}

int WaitExit(Child& child) {
  int status = 0;
  waitpid(child.pid, &status, 0);
  if (child.out != nullptr) std::fclose(child.out);
  child.out = nullptr;
  return status;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The exact decimal cost of point j of batch k.
std::string CostText(int64_t k, int j) { return StrCat(k, ".", 1000 + j); }

std::string Batch(int writer, int64_t k) {
  std::string out;
  for (int j = 0; j < kPointsPerBatch; ++j) {
    StrAppend(&out, "cost,writer=w", writer, " cost=", CostText(k, j), ",batch=", k, "i ",
              kBaseTime + (k * kPointsPerBatch + j) * 1'000'000'000LL, "\n");
  }
  return out;
}

std::unique_ptr<Db> OpenData(const std::string& dir) {
  Options options;
  options.info_log = [](std::string_view) {};
  auto db = Db::Open(dir, options);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? std::move(db).value() : nullptr;
}

// Batch id -> (points, all values exact).
std::map<int64_t, std::pair<int, bool>> ReadBatches(Db* db) {
  std::map<int64_t, std::pair<int, bool>> seen;
  ScanRequest r;
  r.database = "db";
  r.measurement = "cost";
  r.fields = {"cost", "batch"};
  EXPECT_OK(db->Scan(r, [&](const ScanBatch& b) {
    for (size_t i = 0; i < b.rows(); ++i) {
      const int64_t k = b.columns[1].ints[i];
      const int j =
          static_cast<int>((b.times[i] - kBaseTime) / 1'000'000'000LL - k * kPointsPerBatch);
      auto& s = seen[k];
      ++s.first;
      if (s.first == 1) s.second = true;
      if (Money::FromUnits(b.columns[0].ints[i]).ToString() !=
          Money::Parse(CostText(k, j))->ToString()) {
        s.second = false;
      }
    }
    return absl::OkStatus();
  }));
  return seen;
}

TEST(BurnratedTest, KilledDuringIngestKeepsEveryAcknowledgedPoint) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  Child child =
      Spawn({"--data-dir", data, "--http", "127.0.0.1:0", "--create-database", "db", "--quiet"},
            dir.Sub("stderr"));
  ASSERT_GT(child.port, 0) << child.first_line << ReadFile(dir.Sub("stderr"));

  constexpr int kWriters = 3;
  constexpr size_t kKillAfter = 45;
  std::mutex mu;
  std::set<int64_t> acked;
  std::atomic<int64_t> next{0};
  std::atomic<bool> killed{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      HttpClient client(HttpUrl{"127.0.0.1", std::to_string(child.port), ""}, absl::Seconds(30));
      for (;;) {
        const int64_t k = next.fetch_add(1);
        auto r = client.Post("/write?db=db", Batch(w, k));
        if (!r.ok()) return;  // the server is gone
        if (r->status != 204) {
          ADD_FAILURE() << "batch " << k << ": " << r->status << " " << r->body;
          return;
        }
        std::lock_guard<std::mutex> lock(mu);
        acked.insert(k);
        if (acked.size() == kKillAfter && !killed.exchange(true)) {
          kill(child.pid, SIGKILL);
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  const int status = WaitExit(child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_GE(acked.size(), kKillAfter);

  std::unique_ptr<Db> db = OpenData(data);
  ASSERT_NE(db, nullptr);
  const auto seen = ReadBatches(db.get());
  for (int64_t k : acked) {
    auto it = seen.find(k);
    ASSERT_NE(it, seen.end()) << "acknowledged batch " << k << " is missing";
    EXPECT_EQ(it->second.first, kPointsPerBatch) << "batch " << k;
    EXPECT_TRUE(it->second.second) << "batch " << k << " has inexact values";
  }
  // A batch the kill interrupted is there whole or not at all.
  for (const auto& [k, s] : seen) EXPECT_EQ(s.first, kPointsPerBatch) << "batch " << k;
  EXPECT_OK(db->Close());
}

TEST(BurnratedTest, SigtermFinishesFlushesAndExitsZero) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  Child child =
      Spawn({"--data-dir", data, "--http", "127.0.0.1:0", "--create-database", "db", "--quiet"},
            dir.Sub("stderr"));
  ASSERT_GT(child.port, 0) << child.first_line << ReadFile(dir.Sub("stderr"));
  EXPECT_THAT(child.first_line, HasSubstr("authentication off"));
  {
    HttpClient client(HttpUrl{"127.0.0.1", std::to_string(child.port), ""});
    for (int64_t k = 0; k < 5; ++k) {
      ASSERT_OK_AND_ASSIGN(auto r, client.Post("/write?db=db", Batch(0, k)));
      ASSERT_EQ(r.status, 204) << r.body;
    }
  }
  kill(child.pid, SIGTERM);
  const int status = WaitExit(child);
  ASSERT_TRUE(WIFEXITED(status)) << ReadFile(dir.Sub("stderr"));
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadFile(dir.Sub("stderr"));
  EXPECT_THAT(ReadFile(dir.Sub("stderr")), HasSubstr("burnrated: stopped"));
  std::unique_ptr<Db> db = OpenData(data);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(ReadBatches(db.get()).size(), 5u);
  // A clean shutdown flushed the memtable: nothing is left to replay.
  EXPECT_EQ(db->recovery_report().points_replayed, 0u);
  EXPECT_OK(db->Close());
}

TEST(BurnratedTest, RefusesANonLoopbackAddressWithoutAuth) {
  TempDir dir;
  Child child = Spawn({"--data-dir", dir.Sub("data"), "--http", "0.0.0.0:0"}, dir.Sub("stderr"));
  const int status = WaitExit(child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_THAT(ReadFile(dir.Sub("stderr")), HasSubstr("without authentication"));
}

TEST(BurnratedTest, ReadsAConfigFileAndTokens) {
  TempDir dir;
  std::ofstream(dir.Sub("tokens")) << "ci-token write:db\n";
  std::ofstream(dir.Sub("burnrated.conf"))
      << "# burnrated settings\ndata-dir = " << dir.Sub("data") << "\nhttp = 127.0.0.1:0\n"
      << "tokens-file = " << dir.Sub("tokens") << "\ncreate-database = db\nquiet = true\n";
  Child child = Spawn({"--config", dir.Sub("burnrated.conf")}, dir.Sub("stderr"));
  ASSERT_GT(child.port, 0) << child.first_line << ReadFile(dir.Sub("stderr"));
  EXPECT_THAT(child.first_line, HasSubstr("authentication on"));
  {
    HttpClient client(HttpUrl{"127.0.0.1", std::to_string(child.port), ""});
    ASSERT_OK_AND_ASSIGN(auto denied, client.Post("/write?db=db", Batch(0, 0)));
    EXPECT_EQ(denied.status, 401);
    ASSERT_OK_AND_ASSIGN(
        auto ok, client.Post("/write?db=db", Batch(0, 0), {{"Authorization", "Token ci-token"}}));
    EXPECT_EQ(ok.status, 204);
  }
  kill(child.pid, SIGTERM);
  const int status = WaitExit(child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(BurnratedTest, HelpDocumentsTheOptions) {
  TempDir dir;
  const std::string out = dir.Sub("help");
  const int rc = std::system(StrCat(BURNRATED_PATH, " --help > ", out, " 2>&1").c_str());
  EXPECT_EQ(rc, 0);
  const std::string help = ReadFile(out);
  for (const char* option :
       {"--data-dir", "--http", "--config", "--tokens-file", "--insecure-allow-no-auth",
        "--max-body-bytes", "--max-connections", "--header-timeout", "--idle-timeout",
        "--partial-writes", "SIGHUP", "./burnrate-data", "127.0.0.1:8086"}) {
    EXPECT_THAT(help, HasSubstr(option));
  }
}

// Compatibility with the clients Debian packages.

bool Installed(const std::string& check) {
  return std::system(StrCat(check, " > /dev/null 2>&1").c_str()) == 0;
}

class ClientCompatibilityTest : public ServerTest {
 protected:
  void StartWithToken() {
    std::ofstream(dir_.Sub("tokens")) << "client-token write:db read:db\n";
    ServerOptions options = TestServerOptions();
    options.tokens_file = dir_.Sub("tokens");
    options.query_handler = MakeQueryHandler(db_.get());
    StartServer(options);
  }

  // Runs the influx CLI with `args`; its output goes to *output.
  int Influx(std::string_view args, std::string* output) {
    const std::string log = dir_.Sub("influx.log");
    const int rc =
        std::system(StrCat("influx -host 127.0.0.1 -port ", server_->port(),
                           " -username ci -password client-token ", args, " > ", log, " 2>&1")
                        .c_str());
    *output = ReadFile(log);
    return rc;
  }
};

TEST_F(ClientCompatibilityTest, PythonInfluxdbClientWritesAndQueries) {
  // Debian's python3-influxdb installs for the system interpreter, whatever PATH prefers.
  if (!Installed("/usr/bin/python3 -c 'import influxdb'")) {
    GTEST_SKIP() << "python3-influxdb is not installed (scripts/install-deps.sh installs it)";
  }
  StartWithToken();
  const std::string script = dir_.Sub("client.py");
  std::ofstream(script) << R"(import sys
from influxdb import InfluxDBClient
client = InfluxDBClient(host="127.0.0.1", port=int(sys.argv[1]), username="ci",
                        password=sys.argv[2], database="db")
version = client.ping()
assert version == "1.8.10", version
client.write_points([
    {"measurement": "cost", "tags": {"run_id": "TrainFlow/1", "cloud": "aws"},
     "time": 1793491200000000000, "fields": {"cost": 1.25, "gpu_count": 2}},
    {"measurement": "cost", "tags": {"run_id": "TrainFlow/2", "cloud": "gcp"},
     "time": 1793491260000000000, "fields": {"cost": 0.5, "gpu_count": 1}},
])
client.write_points(["cost,run_id=TrainFlow/3 cost=2.5,gpu_count=4i 1793491320"],
                    protocol="line", time_precision="s")
result = client.query("SELECT sum(cost) FROM cost GROUP BY run_id")
sums = {tags["run_id"]: list(points)[0]["sum"] for (_, tags), points in result.items()}
assert sums == {"TrainFlow/1": 1.25, "TrainFlow/2": 0.5, "TrainFlow/3": 2.5}, sums
assert "db" in [d["name"] for d in client.get_list_database()]
try:
    InfluxDBClient(host="127.0.0.1", port=int(sys.argv[1]), username="ci", password="wrong",
                   database="db").write_points(["cost,run_id=x cost=1 1"], protocol="line")
    sys.exit("a wrong password was accepted")
except Exception as e:
    assert "401" in str(getattr(e, "code", "")) or "authorization failed" in str(e), e
print("ok")
)";
  const std::string log = dir_.Sub("client.log");
  const int rc = std::system(
      StrCat("/usr/bin/python3 ", script, " ", server_->port(), " client-token > ", log, " 2>&1")
          .c_str());
  EXPECT_EQ(rc, 0) << ReadFile(log);
  EXPECT_EQ(CountPoints(), 3u);
}

TEST_F(ClientCompatibilityTest, InfluxCliShowsSelectsAndInserts) {
  if (!Installed("command -v influx")) {
    GTEST_SKIP() << "the influx CLI is not installed (package influxdb-client; "
                    "scripts/install-deps.sh installs it)";
  }
  StartWithToken();
  std::string out;
  EXPECT_EQ(Influx("-database db -execute 'INSERT cost,run_id=cli/1,cloud=aws cost=3.75,"
                   "gpu_count=1i 1793491200000000000'",
                   &out),
            0)
      << out;
  EXPECT_EQ(Influx("-database db -execute 'INSERT cost,run_id=cli/2,cloud=gcp cost=1.25 "
                   "1793491260000000000'",
                   &out),
            0)
      << out;
  EXPECT_EQ(CountPoints(), 2u);
  ASSERT_EQ(Influx("-execute 'SHOW DATABASES'", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("name: databases"));
  EXPECT_THAT(out, HasSubstr("\ndb\n"));
  ASSERT_EQ(Influx("-database db -execute 'SELECT sum(cost) FROM cost GROUP BY cloud'", &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr("tags: cloud=aws"));
  EXPECT_THAT(out, HasSubstr("3.75"));
  EXPECT_THAT(out, HasSubstr("tags: cloud=gcp"));
  EXPECT_THAT(out, HasSubstr("1.25"));
}

}  // namespace
}  // namespace burnrate
