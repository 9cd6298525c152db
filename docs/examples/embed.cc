// Embeds burnrate: opens a data directory, creates a database, writes the cost of two ML
// runs, asks for the cost per run and prints the answer as InfluxDB's /query JSON.
// Usage: embed [data-dir]
#include <cstdio>
#include <string>
#include <vector>

#include "burnrate/db.h"
#include "burnrate/query.h"

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "./burnrate-embed-data";
  auto db = burnrate::Db::Open(dir, burnrate::Options{});
  if (!db.ok()) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), std::string(db.status().message()).c_str());
    return 1;
  }
  absl::Status created = (*db)->CreateDatabase("burn", burnrate::DatabaseOptions{});
  if (!created.ok() && !absl::IsAlreadyExists(created)) {
    std::fprintf(stderr, "create: %s\n", std::string(created.message()).c_str());
    return 1;
  }

  // One point a minute for ten minutes, per run. Money is written as exact decimal text.
  const int64_t start = 1'793'491'200'000'000'000;  // 2026-11-01T00:00:00Z in ns
  burnrate::WriteBatch batch("burn");
  for (const char* run : {"TrainFlow/17", "TrainFlow/18"}) {
    const std::vector<burnrate::Tag> tags = {{"cloud", "aws"}, {"run_id", run}};
    const auto series = batch.AddSeries("cost", tags);
    for (int minute = 0; minute < 10; ++minute) {
      batch.AddPoint(series, start + minute * 60'000'000'000LL);
      batch.AddDecimal("cost", run[11] == '7' ? "0.0512345678" : "0.2");
      batch.AddFloat("gpu_util", 0.5);
    }
  }
  if (absl::Status s = (*db)->Write(burnrate::WriteOptions{}, batch); !s.ok()) {
    std::fprintf(stderr, "write: %s\n", std::string(s.message()).c_str());
    return 1;
  }

  burnrate::QueryOptions options;
  options.database = "burn";
  auto result = burnrate::Query(db->get(),
                                "SELECT sum(cost) AS total, mean(gpu_util) FROM cost "
                                "WHERE time >= '2026-11-01T00:00:00Z' AND time < '2026-11-02' "
                                "GROUP BY run_id",
                                options);
  if (!result.ok()) {
    std::fprintf(stderr, "query: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  if (!result->status().ok()) {
    std::fprintf(stderr, "statement: %s\n", std::string(result->status().message()).c_str());
    return 1;
  }
  std::fputs(burnrate::QueryResultToJson(*result).c_str(), stdout);
  return (*db)->Close().ok() ? 0 : 1;
}
