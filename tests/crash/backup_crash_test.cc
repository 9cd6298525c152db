// A child that writes and backs up continuously is killed with SIGKILL at random moments,
// many times, with hard links and with copies. After each kill the backup target must either
// restore to a consistent database holding every batch acknowledged before the last backup
// known to have finished, or be rejected by restore without leaving a MANIFEST behind.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "burnrate/backup.h"
#include "burnrate/db.h"
#include "burnrate/file_system.h"
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

Child SpawnBackupChild(const std::string& data, const std::string& target, int64_t first_batch,
                       const char* mode) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    const std::string first = std::to_string(first_batch);
    execl(BACKUP_CHILD_PATH, BACKUP_CHILD_PATH, data.c_str(), target.c_str(), first.c_str(), mode,
          nullptr);
    _exit(127);
  }
  close(fds[1]);
  return Child{pid, fdopen(fds[0], "r")};
}

// Batch id -> points; *exact is cleared when a value is not the one written.
std::map<int64_t, int> BatchPoints(Db* db, bool* exact) {
  std::map<int64_t, int> seen;
  ScanRequest r;
  r.database = "db";
  r.measurement = "cost";
  r.fields = {"cost", "batch"};
  EXPECT_OK(db->Scan(r, [&](const ScanBatch& b) {
    for (size_t i = 0; i < b.rows(); ++i) {
      const int64_t k = b.columns[1].ints[i];
      const int64_t j = (b.times[i] - crash::kBaseTime) / crash::kStep - k * crash::kPointsPerBatch;
      if (j < 0 || j >= crash::kPointsPerBatch ||
          Money::FromUnits(b.columns[0].ints[i]).ToString() !=
              Money::Parse(crash::CostText(k, static_cast<int>(j)))->ToString()) {
        *exact = false;
      }
      ++seen[k];
    }
    return absl::OkStatus();
  }));
  return seen;
}

TEST(BackupCrashTest, KilledBackupLeavesATargetThatRestoresConsistentlyOrIsRejected) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  std::mt19937_64 rng(20261126);
  int64_t next_batch = 0;
  // Every batch up to this was acknowledged before a backup into the current target that
  // finished: if the target restores, it holds all of them, since every later backup holds
  // at least as much.
  int64_t proven = -1;
  int restored = 0, rejected = 0, backups_done = 0;
  constexpr int kRounds = 30;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Every third round starts a new target, so kills also land in a first backup.
    const std::string target = dir.Sub("backup" + std::to_string(round / 3));
    if (round % 3 == 0) proven = -1;
    Child c = SpawnBackupChild(data, target, next_batch, round % 2 == 0 ? "link" : "copy");
    // Kill after a random number of output lines: most are backup progress, so the kill
    // lands in every step of a backup (copies, links, catalog, manifests, sweep).
    const int kill_after = 1 + static_cast<int>(rng() % 400);
    char line[128];
    int lines = 0;
    bool ready = false;
    while (std::fgets(line, sizeof line, c.out) != nullptr) {
      long long k;
      if (std::sscanf(line, "ack %lld", &k) == 1) {
        next_batch = std::max<int64_t>(next_batch, k + 1);
      } else if (std::sscanf(line, "done %lld", &k) == 1) {
        proven = std::max<int64_t>(proven, k);
        ++backups_done;
      } else if (std::string(line) == "ready\n") {
        ready = true;
      }
      if (++lines >= kill_after) break;
    }
    ASSERT_TRUE(ready) << "the child did not start";
    kill(c.pid, SIGKILL);
    int status;
    waitpid(c.pid, &status, 0);
    fclose(c.out);
    EXPECT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself (see its stderr)";

    const std::string restore_dir = dir.Sub("restored" + std::to_string(round));
    auto report = RestoreBackup(target, restore_dir, RestoreOptions{});
    if (!report.ok()) {
      ++rejected;
      EXPECT_TRUE(absl::IsFailedPrecondition(report.status()) || absl::IsDataLoss(report.status()))
          << report.status();
      EXPECT_FALSE(FileSystem::Default()->FileExists(restore_dir + "/MANIFEST"));
      continue;
    }
    ++restored;
    Options o;
    o.background_work = false;
    o.info_log = [](std::string_view) {};
    auto db = Db::Open(restore_dir, o);
    ASSERT_OK(db);
    bool exact = true;
    const std::map<int64_t, int> seen = BatchPoints(db->get(), &exact);
    EXPECT_TRUE(exact);
    int64_t expect = 0;
    for (const auto& [k, points] : seen) {
      EXPECT_EQ(k, expect) << "batch " << expect << " missing before batch " << k;
      EXPECT_EQ(points, crash::kPointsPerBatch) << "batch " << k << " is partial";
      expect = k + 1;
    }
    EXPECT_GT(expect, proven) << "the backup lacks acknowledged batches";
    auto verified = VerifyDirectory(target, VerifyOptions{});
    ASSERT_OK(verified);
    EXPECT_TRUE(verified->problems.empty()) << verified->problems[0];
  }
  std::printf("%d rounds: %d restored, %d rejected; %d backups finished\n", kRounds, restored,
              rejected, backups_done);
  // Coverage, not correctness: enough kills land after a finished backup that the restore
  // checks above ran. Where kills land depends on timing (about half restore on an idle
  // machine, 14 of 30 was seen under load), so the bar is well below that.
  EXPECT_GE(restored, kRounds / 4);
  EXPECT_GT(backups_done, 0);
}

}  // namespace
}  // namespace burnrate
