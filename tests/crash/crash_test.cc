#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>

#include "burnrate/db.h"
#include "gtest/gtest.h"
#include "tests/crash/crash_workload.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

struct Child {
  pid_t pid;
  FILE* out;
};

Child Spawn(const std::string& dir, int64_t first_batch) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    const std::string first = std::to_string(first_batch);
    execl(CRASH_WRITER_PATH, CRASH_WRITER_PATH, dir.c_str(), first.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  return Child{pid, fdopen(fds[0], "r")};
}

// Batch id -> cells seen (count of points, and whether each value was exact).
struct Seen {
  int points = 0;
  bool exact = true;
};

std::map<int64_t, Seen> ReadBack(Db* db) {
  std::map<int64_t, Seen> seen;
  ScanRequest r;
  r.database = "db";
  r.measurement = "cost";
  r.fields = {"cost", "batch"};
  EXPECT_OK(db->Scan(r, [&](const ScanBatch& b) {
    for (size_t i = 0; i < b.rows(); ++i) {
      EXPECT_TRUE(b.columns[0].IsValid(i) && b.columns[1].IsValid(i));
      const int64_t k = b.columns[1].ints[i];
      const int64_t offset = (b.times[i] - crash::kBaseTime) / crash::kStep;
      const int j = static_cast<int>(offset - k * crash::kPointsPerBatch);
      Seen& s = seen[k];
      ++s.points;
      if (j < 0 || j >= crash::kPointsPerBatch ||
          Money::FromUnits(b.columns[0].ints[i]).ToString() !=
              Money::Parse(crash::CostText(k, j))->ToString()) {
        s.exact = false;
      }
    }
    return absl::OkStatus();
  }));
  return seen;
}

TEST(CrashTest, KilledWriterLosesNoAcknowledgedBatchAndLeavesNoPartialOne) {
  testing::TempDir dir;
  std::mt19937_64 rng(20261125);
  std::set<int64_t> acked;
  int64_t next_batch = 0;
  constexpr int kRounds = 25;
  for (int round = 0; round < kRounds; ++round) {
    Child c = Spawn(dir.path(), next_batch);
    // Kill after a random number of acknowledgements: the kill lands anywhere in the
    // write path (WAL append, fsync, memtable, flush, manifest) of the following batches.
    const int kill_after = static_cast<int>(rng() % 60);
    char line[128];
    int acks = 0;
    bool ready = false;
    while (std::fgets(line, sizeof line, c.out) != nullptr) {
      long long k;
      if (std::sscanf(line, "ack %lld", &k) == 1) {
        acked.insert(k);
        if (++acks >= kill_after) break;
      } else if (std::string(line) == "ready\n") {
        ready = true;
        if (kill_after == 0) break;
      }
    }
    ASSERT_TRUE(ready) << "round " << round << ": writer did not start";
    kill(c.pid, SIGKILL);
    int status;
    waitpid(c.pid, &status, 0);
    fclose(c.out);

    Options o;
    o.background_work = false;
    o.info_log = [](std::string_view) {};
    auto db = Db::Open(dir.path(), o);
    ASSERT_OK(db) << "round " << round;
    auto seen = ReadBack(db->get());
    for (int64_t k : acked) {
      ASSERT_TRUE(seen.contains(k)) << "round " << round << ": acknowledged batch " << k
                                    << " lost";
    }
    for (const auto& [k, s] : seen) {
      EXPECT_EQ(s.points, crash::kPointsPerBatch) << "round " << round << ": batch " << k
                                                  << " partially visible";
      EXPECT_TRUE(s.exact) << "batch " << k;
      next_batch = std::max(next_batch, k + 1);
    }
  }
  EXPECT_GT(acked.size(), 100u);
}

}  // namespace
}  // namespace burnrate
