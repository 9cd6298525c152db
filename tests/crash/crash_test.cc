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

Child Spawn(const std::string& dir, int64_t first_batch, bool ops = false) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    const std::string first = std::to_string(first_batch);
    if (ops) {
      execl(CRASH_WRITER_PATH, CRASH_WRITER_PATH, dir.c_str(), first.c_str(), "ops", nullptr);
    } else {
      execl(CRASH_WRITER_PATH, CRASH_WRITER_PATH, dir.c_str(), first.c_str(), nullptr);
    }
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
    // The writer may have run ahead of this reader: what it acknowledged before it died
    // must be there too.
    while (std::fgets(line, sizeof line, c.out) != nullptr) {
      long long k;
      if (std::sscanf(line, "ack %lld", &k) == 1) acked.insert(k);
    }
    fclose(c.out);

    Options o;
    o.background_work = false;
    o.info_log = [](std::string_view) {};
    auto db = Db::Open(dir.path(), o);
    ASSERT_OK(db) << "round " << round;
    auto seen = ReadBack(db->get());
    for (int64_t k : acked) {
      ASSERT_TRUE(seen.contains(k)) << "round " << round << ": acknowledged batch " << k << " lost";
    }
    for (const auto& [k, s] : seen) {
      EXPECT_EQ(s.points, crash::kPointsPerBatch)
          << "round " << round << ": batch " << k << " partially visible";
      EXPECT_TRUE(s.exact) << "batch " << k;
      next_batch = std::max(next_batch, k + 1);
    }
  }
  EXPECT_GT(acked.size(), 100u);
}

// Kills the child anywhere in writes, source replacements, deletes, flushes and
// compactions: after reopening, each operation is either wholly done or not at all, and
// every acknowledged one is done.
TEST(CrashTest, KillsDuringSourceReplaceDeleteAndCompactionLeaveBeforeOrAfterState) {
  testing::TempDir dir;
  std::mt19937_64 rng(777);
  std::set<int64_t> acked, deleted;
  int64_t acked_source = -1;
  int64_t next_batch = 0;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    Child c = Spawn(dir.path(), next_batch, /*ops=*/true);
    const int kill_after = 1 + static_cast<int>(rng() % 40);
    char line[128];
    int events = 0;
    std::set<int64_t> deleting;
    // Records one line of the child's; false if it is no event.
    auto record = [&](const char* text) {
      long long k;
      if (std::sscanf(text, "ack %lld", &k) == 1) {
        acked.insert(k);
      } else if (std::sscanf(text, "src %lld", &k) == 1) {
        acked_source = k;
      } else if (std::sscanf(text, "deleting %lld", &k) == 1) {
        deleting.insert(k);
      } else if (std::sscanf(text, "del %lld", &k) == 1) {
        deleted.insert(k);
        deleting.erase(k);
      } else {
        return false;
      }
      return true;
    };
    while (std::fgets(line, sizeof line, c.out) != nullptr) {
      if (record(line) && ++events >= kill_after) break;
    }
    kill(c.pid, SIGKILL);
    int status;
    waitpid(c.pid, &status, 0);
    // The child may have run ahead of this reader (a fast disk, a busy machine): what it
    // printed before it died happened too, such as a whole delete.
    while (std::fgets(line, sizeof line, c.out) != nullptr) record(line);
    fclose(c.out);

    Options o;
    o.background_work = false;
    o.info_log = [](std::string_view) {};
    auto db = Db::Open(dir.path(), o);
    ASSERT_OK(db) << "round " << round;
    auto seen = ReadBack(db->get());
    for (const auto& [k, s] : seen) {
      EXPECT_EQ(s.points, crash::kPointsPerBatch)
          << "round " << round << ": batch " << k << " partially visible";
      EXPECT_FALSE(deleted.contains(k))
          << "round " << round << ": deleted batch " << k << " reappeared";
      next_batch = std::max(next_batch, k + 1);
    }
    for (int64_t k : acked) {
      if (!deleted.contains(k) && !deleting.contains(k)) {
        EXPECT_TRUE(seen.contains(k)) << "round " << round << ": batch " << k << " lost";
      }
    }
    // Deletes in flight at the kill either happened or not; later rounds may not know, so
    // count them as possibly deleted from now on.
    for (int64_t k : deleting) {
      if (!seen.contains(k)) deleted.insert(k);
    }
    // The source: one whole version, the acknowledged one or a newer one in flight.
    std::map<int64_t, int> versions;
    ScanRequest r;
    r.database = "db";
    r.measurement = "billing";
    ASSERT_OK((*db)->Scan(r, [&](const ScanBatch& b) {
      for (size_t i = 0; i < b.rows(); ++i) ++versions[b.columns[0].ints[i]];
      return absl::OkStatus();
    }));
    if (acked_source >= 0) {
      ASSERT_EQ(versions.size(), 1u) << "round " << round;
    }
    ASSERT_LE(versions.size(), 1u) << "round " << round << ": two source versions visible";
    if (!versions.empty()) {
      const auto [v, n] = *versions.begin();
      EXPECT_GE(v, acked_source) << "round " << round;
      EXPECT_EQ(n, crash::SourcePoints(v)) << "round " << round << ": partial source version";
      acked_source = std::max(acked_source, v);
    }
    next_batch = std::max(next_batch, *acked.rbegin() + 1);
  }
  EXPECT_GT(deleted.size(), 5u);
}

}  // namespace
}  // namespace burnrate
