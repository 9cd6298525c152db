// Child process of crash_test: opens a data directory and writes batches 0, 1, 2, ...
// (continuing after the highest batch already stored), printing "ack <k>" on stdout after
// each acknowledged (durable) write, until it is killed.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "burnrate/db.h"
#include "tests/crash/crash_workload.h"

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR FIRST_BATCH [ops]\n");
    return 2;
  }
  // "ops": besides writes, replace a source, delete old batches and compact, so kills land
  // inside those operations too.
  const bool ops = argc == 4 && std::string(argv[3]) == "ops";
  burnrate::Options options;
  options.memtable_bytes = 64 << 10;  // flush often, so kills land in flushes too
  options.info_log = [](std::string_view) {};
  auto db = burnrate::Db::Open(argv[1], options);
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(db.status().message()).c_str());
    return 1;
  }
  auto s = (*db)->CreateDatabase("db", burnrate::DatabaseOptions{});
  if (!s.ok() && !absl::IsAlreadyExists(s)) return 1;
  std::printf("ready\n");
  std::fflush(stdout);
  for (int64_t k = std::atoll(argv[2]);; ++k) {
    burnrate::WriteBatch b("db");
    burnrate::crash::FillBatch(k, &b);
    s = (*db)->Write(burnrate::WriteOptions{}, b);
    if (!s.ok()) {
      std::fprintf(stderr, "write %lld: %s\n", static_cast<long long>(k),
                   std::string(s.message()).c_str());
      return 1;
    }
    std::printf("ack %lld\n", static_cast<long long>(k));
    std::fflush(stdout);
    if (!ops) continue;
    if (k % 3 == 0) {
      burnrate::WriteBatch src("db");
      burnrate::crash::FillSource(k, &src);
      s = (*db)->Write(burnrate::WriteOptions{}, src);
      if (!s.ok()) return 1;
      std::printf("src %lld\n", static_cast<long long>(k));
      std::fflush(stdout);
    }
    if (k % 4 == 0 && k >= 8) {
      const int64_t victim = k - 8;
      burnrate::DeleteRequest d;
      d.database = "db";
      d.measurement = "cost";
      d.min_time = burnrate::crash::PointTime(victim, 0);
      d.max_time = burnrate::crash::PointTime(victim, burnrate::crash::kPointsPerBatch - 1);
      d.tag_matchers = {{"run_id", burnrate::TagMatcher::Op::kEqual,
                         burnrate::StrCat("TrainFlow/", victim % 13)}};
      std::printf("deleting %lld\n", static_cast<long long>(victim));
      std::fflush(stdout);
      s = (*db)->Delete(d);
      if (!s.ok()) return 1;
      std::printf("del %lld\n", static_cast<long long>(victim));
      std::fflush(stdout);
    }
    if (k % 5 == 0) {
      s = (*db)->CompactAll();
      if (!s.ok()) return 1;
    }
  }
}
