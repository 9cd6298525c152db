// End-to-end query benchmarks through the embedded API (burnrate/query.h) on the
// generator's minute cost telemetry: 2,000 concurrently active series for N days (the
// issue's target is 30 days, about 86 million points; the default is 3 so that a run takes
// about a minute). Set the size with --days=N (or BURNRATE_QUERY_BENCH_DAYS).
//
//   q1  cost per run_id over everything, top 20
//   q2  hourly cost of one run
//   q3  cost per (cloud, account) per day
//   q4  top 10 resources by cost over the last 7 days
//   q5  spend rate in $/hour over the last 5 minutes per run, runs above a threshold
//   raw full raw-scan sum of the money column (rollups off), points/s
//
// Timings are warm: the data is written, flushed and compacted once before the first
// benchmark; each query also runs once unmeasured. The data directory is under $TMPDIR
// (kept for the next run with BURNRATE_QUERY_BENCH_KEEP=1).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/money_sum.h"
#include "burnrate/db.h"
#include "query/format.h"
#include "tools/telemetry_generator.h"

#include "burnrate/query.h"

namespace burnrate {
namespace {

constexpr uint32_t kSeries = 2000;
constexpr int64_t kMinuteNs = 60'000'000'000;

int g_days = 3;

struct BenchData {
  std::unique_ptr<Db> db;
  TimestampNs start = 0;
  TimestampNs end = 0;  // exclusive end of the data
  uint64_t points = 0;
  std::string run_id;  // a long run, for q2
};

BenchData& Data() {
  static BenchData* data = [] {
    auto* d = new BenchData;
    // With BURNRATE_QUERY_BENCH_KEEP set, the data directory (one per size) is kept and
    // reused by later runs: writing 30 days takes minutes.
    const bool keep = std::getenv("BURNRATE_QUERY_BENCH_KEEP") != nullptr;
    const std::string dir =
        (std::filesystem::temp_directory_path() /
         (keep ? "burnrate-bench-query-" + std::to_string(g_days) + "d" : "burnrate-bench-query"))
            .string();
    const std::string done_marker = dir + ".complete";
    const bool reuse = keep && std::filesystem::exists(done_marker);
    if (!reuse) {
      std::filesystem::remove_all(dir);
      std::filesystem::remove(done_marker);
    }
    Options o;
    o.info_log = [](std::string_view) {};
    o.memtable_bytes = size_t{256} << 20;
    auto db = Db::Open(dir, o);
    if (!db.ok() || (!reuse && !(*db)->CreateDatabase("bench", DatabaseOptions{}).ok())) {
      std::abort();
    }
    d->db = std::move(*db);
    GeneratorConfig config;
    config.days = g_days;
    config.series = kSeries;
    auto gen = TelemetryGenerator::Create(config);
    if (!gen.ok()) std::abort();
    WriteOptions wo;
    wo.fsync = FsyncPolicy::kNone;
    const absl::Time t0 = absl::Now();
    if (reuse) {
      d->points = static_cast<uint64_t>(g_days) * 1440 * kSeries;
    } else {
      while (!(*gen)->done()) {
        WriteBatch b("bench");
        d->points += (*gen)->FillBatch(&b, 50'000);
        if (!d->db->Write(wo, b).ok()) std::abort();
      }
      if (!d->db->Flush().ok() || !d->db->CompactAll().ok()) std::abort();
      if (keep) std::fclose(std::fopen(done_marker.c_str(), "w"));
    }
    d->start = config.start_ns;
    d->end = (*gen)->end_ns();
    const DbStats stats = d->db->GetStats();
    std::fprintf(stderr,
                 "query_bench: %d days, %llu points, %llu series, %llu segment files, "
                 "%.1f MB, written and compacted in %s\n",
                 g_days, static_cast<unsigned long long>(d->points),
                 static_cast<unsigned long long>(stats.series),
                 static_cast<unsigned long long>(stats.segment_files),
                 static_cast<double>(stats.segment_bytes) / 1e6,
                 absl::FormatDuration(absl::Now() - t0).c_str());
    // The costliest run (q1's first row) has many hours of data: q2 reads it.
    QueryOptions qo;
    qo.database = "bench";
    qo.now = d->end;
    auto r = Query(d->db.get(),
                   "SELECT sum(cost) AS total FROM cost GROUP BY run_id ORDER BY total DESC "
                   "LIMIT 1",
                   qo);
    if (!r.ok() || r->results.empty() || r->results[0].series.empty()) std::abort();
    d->run_id = r->results[0].series[0].tags[0].value;
    return d;
  }();
  return *data;
}

std::string Time(TimestampNs t) { return "'" + FormatRfc3339Nano(t) + "'"; }

std::string QueryText(int q) {
  const BenchData& d = Data();
  switch (q) {
    case 1:
      return "SELECT sum(cost) AS total FROM cost GROUP BY run_id ORDER BY total DESC LIMIT 20";
    case 2:
      return "SELECT sum(cost) FROM cost WHERE run_id = '" + d.run_id +
             "' AND time >= " + Time(d.start) + " AND time < " + Time(d.end) +
             " GROUP BY time(1h) fill(none)";
    case 3:
      return "SELECT sum(cost) FROM cost WHERE time >= " + Time(d.start) + " AND time < " +
             Time(d.end) + " GROUP BY cloud, account, time(1d)";
    case 4:
      return "SELECT sum(cost) AS total FROM cost WHERE time >= now() - 7d GROUP BY resource "
             "ORDER BY total DESC LIMIT 10";
    case 5:
      return "SELECT per_hour FROM (SELECT sum(cost) * 12 AS per_hour FROM cost WHERE time > "
             "now() - 5m GROUP BY run_id) WHERE per_hour > 20";
    case 6:
      return "SELECT top(total, run_id, 20) FROM (SELECT sum(cost) AS total FROM cost GROUP BY "
             "run_id)";
    default:
      return "SELECT sum(cost) FROM cost";
  }
}

QueryOptions BenchOptions(bool rollups, int threads) {
  QueryOptions o;
  o.database = "bench";
  o.now = Data().end;
  o.use_rollups = rollups;
  o.threads = threads;
  o.max_memory_bytes = size_t{4} << 30;
  return o;
}

void RunQuery(benchmark::State& state, int q, bool rollups) {
  const int threads = static_cast<int>(state.range(0));
  const std::string text = QueryText(q);
  const QueryOptions o = BenchOptions(rollups, threads);
  size_t rows = 0;
  auto once = [&] {
    auto r = Query(Data().db.get(), text, o);
    if (!r.ok() || !r->status().ok()) {
      state.SkipWithError(r.ok() ? std::string(r->status().message()).c_str()
                                 : std::string(r.status().message()).c_str());
      return false;
    }
    rows = 0;
    for (const auto& s : r->results[0].series) rows += s.values.size();
    return true;
  };
  if (!once()) return;  // warm-up
  for (auto _ : state) {
    if (!once()) return;
  }
  state.counters["rows"] = static_cast<double>(rows);
}

void BM_Q1_CostPerRunTop20(benchmark::State& s) { RunQuery(s, 1, true); }
void BM_Q1b_CostPerRunTop20Subquery(benchmark::State& s) { RunQuery(s, 6, true); }
void BM_Q2_HourlyCostOfOneRun(benchmark::State& s) { RunQuery(s, 2, true); }
void BM_Q3_CostPerCloudAccountPerDay(benchmark::State& s) { RunQuery(s, 3, true); }
void BM_Q4_Top10Resources7d(benchmark::State& s) { RunQuery(s, 4, true); }
void BM_Q5_SpendRateLast5mAboveThreshold(benchmark::State& s) { RunQuery(s, 5, true); }
void BM_Q1_Raw(benchmark::State& s) { RunQuery(s, 1, false); }
void BM_Q3_Raw(benchmark::State& s) { RunQuery(s, 3, false); }

// Full raw scan: exact sum of every money value, rollups off. points/s.
void BM_RawScanSum(benchmark::State& state) {
  const QueryOptions o = BenchOptions(false, static_cast<int>(state.range(0)));
  uint64_t points = 0;
  for (auto _ : state) {
    auto r = Query(Data().db.get(), "SELECT sum(cost) FROM cost", o);
    if (!r.ok() || !r->status().ok()) {
      state.SkipWithError("query failed");
      return;
    }
    points += Data().points;
  }
  state.counters["points_per_s"] =
      benchmark::Counter(static_cast<double>(points), benchmark::Counter::kIsRate);
}

// The engine's part alone, for comparison: a Db::Scan of the money column summed in the
// sink (what the raw path reads), and a Db::ScanRollups at day level with an empty sink
// (what q1's path reads). One thread.
void BM_EngineFloor_ScanSum(benchmark::State& state) {
  ScanRequest r;
  r.database = "bench";
  r.measurement = "cost";
  r.fields = {"cost"};
  uint64_t points = 0;
  for (auto _ : state) {
    MoneySum sum;
    if (!Data()
             .db
             ->Scan(r,
                    [&](const ScanBatch& b) {
                      sum.Merge(SumMoneyUnitsValid(b.columns[0].ints, b.columns[0].valid));
                      return absl::OkStatus();
                    })
             .ok()) {
      state.SkipWithError("scan failed");
      return;
    }
    benchmark::DoNotOptimize(sum);
    points += Data().points;
  }
  state.counters["points_per_s"] =
      benchmark::Counter(static_cast<double>(points), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EngineFloor_ScanSum)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_EngineFloor_ScanRollupsDay(benchmark::State& state) {
  RollupRequest r;
  r.scan.database = "bench";
  r.scan.measurement = "cost";
  r.scan.fields = {"cost"};
  r.level = RollupLevel::kDay;
  for (auto _ : state) {
    uint64_t batches = 0;
    if (!Data()
             .db
             ->ScanRollups(
                 r,
                 [&](const RollupBatch&) {
                   ++batches;
                   return absl::OkStatus();
                 },
                 nullptr)
             .ok()) {
      state.SkipWithError("scan failed");
      return;
    }
    benchmark::DoNotOptimize(batches);
  }
}
BENCHMARK(BM_EngineFloor_ScanRollupsDay)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Q2_Raw(benchmark::State& s) { RunQuery(s, 2, false); }
BENCHMARK(BM_Q2_Raw)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

#define QUERY_BENCH(fn) BENCHMARK(fn)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()

QUERY_BENCH(BM_Q1_CostPerRunTop20);
QUERY_BENCH(BM_Q1b_CostPerRunTop20Subquery);
QUERY_BENCH(BM_Q2_HourlyCostOfOneRun);
QUERY_BENCH(BM_Q3_CostPerCloudAccountPerDay);
QUERY_BENCH(BM_Q4_Top10Resources7d);
QUERY_BENCH(BM_Q5_SpendRateLast5mAboveThreshold);
QUERY_BENCH(BM_Q1_Raw);
QUERY_BENCH(BM_Q3_Raw);
QUERY_BENCH(BM_RawScanSum);

}  // namespace
}  // namespace burnrate

int main(int argc, char** argv) {
  if (const char* env = std::getenv("BURNRATE_QUERY_BENCH_DAYS")) burnrate::g_days = std::atoi(env);
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--days=", 7) == 0) {
      burnrate::g_days = std::atoi(argv[i] + 7);
    } else {
      args.push_back(argv[i]);
    }
  }
  if (burnrate::g_days < 1) burnrate::g_days = 1;
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  burnrate::Data();  // written before the first timing
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
