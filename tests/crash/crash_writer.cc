// Child process of crash_test: opens a data directory and writes batches 0, 1, 2, ...
// (continuing after the highest batch already stored), printing "ack <k>" on stdout after
// each acknowledged (durable) write, until it is killed.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "burnrate/db.h"
#include "tests/crash/crash_workload.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR FIRST_BATCH\n");
    return 2;
  }
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
  }
}
