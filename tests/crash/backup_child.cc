// Child process of crash_test's backup case: opens a data directory, keeps one thread
// writing batches FIRST_BATCH, FIRST_BATCH + 1, ... and backs up into TARGET over and over
// until it is killed. Prints, one line each: "ack <k>" after batch k is acknowledged;
// "backup <k>" before a backup starts (batches up to k are acknowledged); "progress" from
// the backup's progress callback; "done <k>" when that backup has returned OK.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "burnrate/db.h"
#include "tests/crash/crash_workload.h"
#include "tests/testing/copy_only_file_system.h"

namespace {

std::mutex out_mu;

void Say(const std::string& line) {
  std::lock_guard<std::mutex> lock(out_mu);
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

[[noreturn]] void Die(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), std::string(s.message()).c_str());
  std::_Exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 || (std::string(argv[4]) != "link" && std::string(argv[4]) != "copy")) {
    std::fprintf(stderr, "usage: backup_child DATA_DIR TARGET FIRST_BATCH link|copy\n");
    return 2;
  }
  burnrate::testing::CopyOnlyFileSystem copy_only;
  burnrate::Options options;
  options.memtable_bytes = 64 << 10;  // flush often, so backups see many segments
  options.info_log = [](std::string_view) {};
  if (std::string(argv[4]) == "copy") options.file_system = &copy_only;
  auto db = burnrate::Db::Open(argv[1], options);
  if (!db.ok()) Die("open", db.status());
  burnrate::DatabaseOptions hourly;
  hourly.partition_duration_ns = 3600LL * 1'000'000'000;
  absl::Status s = (*db)->CreateDatabase("db", hourly);
  if (!s.ok() && !absl::IsAlreadyExists(s)) Die("create database", s);
  Say("ready");

  const int64_t first = std::atoll(argv[3]);
  std::atomic<int64_t> acked{first - 1};
  std::thread writer([&] {
    for (int64_t k = first;; ++k) {
      burnrate::WriteBatch b("db");
      burnrate::crash::FillBatch(k, &b);
      absl::Status ws = (*db)->Write(burnrate::WriteOptions{}, b);
      if (!ws.ok()) Die("write " + std::to_string(k), ws);
      acked = k;
      Say("ack " + std::to_string(k));
    }
  });
  burnrate::BackupOptions backup;
  backup.progress = [](uint64_t, uint64_t) { Say("progress"); };
  while (true) {
    const int64_t bound = acked;
    Say("backup " + std::to_string(bound));
    auto report = (*db)->Backup(argv[2], backup);
    if (!report.ok()) Die("backup", report.status());
    Say("done " + std::to_string(bound));
  }
}
