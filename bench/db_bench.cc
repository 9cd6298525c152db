// Storage-core benchmarks on the generator's telemetry, through the embedded API:
// write throughput (batches of 10,000 points, fsync per batch), flush throughput, bytes per
// point on disk, and scan throughput for full-column sums of money and of a float field.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/money_sum.h"
#include "burnrate/db.h"
#include "tools/telemetry_generator.h"

namespace burnrate {
namespace {

constexpr size_t kBatchPoints = 10'000;

std::string FreshDir(const std::string& name) {
  std::string dir = (std::filesystem::temp_directory_path() / ("burnrate-bench-" + name)).string();
  std::filesystem::remove_all(dir);
  return dir;
}

// The generator's data as ready-made batches, so generation is not measured.
const std::vector<std::unique_ptr<WriteBatch>>& Batches(int days, uint32_t series) {
  static auto* cache =
      new std::map<std::pair<int, uint32_t>, std::vector<std::unique_ptr<WriteBatch>>>();
  auto& batches = (*cache)[{days, series}];
  if (!batches.empty()) return batches;
  GeneratorConfig config;
  config.days = days;
  config.series = series;
  auto gen = TelemetryGenerator::Create(config);
  if (!gen.ok()) std::abort();
  while (!(*gen)->done()) {
    auto b = std::make_unique<WriteBatch>("bench");
    (*gen)->FillBatch(b.get(), kBatchPoints);
    batches.push_back(std::move(b));
  }
  return batches;
}

std::unique_ptr<Db> OpenFresh(const std::string& dir, const Options& options) {
  auto db = Db::Open(dir, options);
  if (!db.ok() || !(*db)->CreateDatabase("bench", DatabaseOptions{}).ok()) std::abort();
  return std::move(*db);
}

Options QuietOptions() {
  Options o;
  o.info_log = [](std::string_view) {};
  return o;
}

// Points/s written with an fsync per batch (FsyncPolicy::kAlways), flushes running in the
// background as in production.
void BM_WriteFsyncPerBatch(benchmark::State& state) {
  const auto& batches = Batches(1, 1000);
  uint64_t points = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = FreshDir("write");
    auto db = OpenFresh(dir, QuietOptions());
    state.ResumeTiming();
    for (const auto& b : batches) {
      if (!db->Write(WriteOptions{}, *b).ok()) std::abort();
      points += b->point_count();
    }
    state.PauseTiming();
    db.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.counters["points_per_s"] = benchmark::Counter(points, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WriteFsyncPerBatch)->Unit(benchmark::kMillisecond)->UseRealTime();

// Flush of a memtable holding one day of 1,000 series (1.44 M points), and bytes per point
// of the resulting segments (every column: time, series, cost, gpu_util, gpu_count).
void BM_FlushAndBytesPerPoint(benchmark::State& state) {
  const int days = static_cast<int>(state.range(0));
  const auto& batches = Batches(days, 1000);
  uint64_t points = 0;
  double bytes_per_point = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = FreshDir("flush");
    Options o = QuietOptions();
    o.memtable_bytes = size_t{8} << 30;
    o.background_work = false;
    auto db = OpenFresh(dir, o);
    WriteOptions wo;
    wo.fsync = FsyncPolicy::kNone;
    uint64_t n = 0;
    for (const auto& b : batches) {
      if (!db->Write(wo, *b).ok()) std::abort();
      n += b->point_count();
    }
    state.ResumeTiming();
    if (!db->Flush().ok()) std::abort();
    state.PauseTiming();
    points += n;
    const DbStats stats = db->GetStats();
    bytes_per_point = static_cast<double>(stats.segment_bytes) / static_cast<double>(n);
    db.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.counters["points_per_s"] = benchmark::Counter(points, benchmark::Counter::kIsRate);
  state.counters["bytes_per_point"] = bytes_per_point;
}
BENCHMARK(BM_FlushAndBytesPerPoint)
    ->Arg(1)
    ->Arg(7)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

// A data directory with `days` of 1,000 series flushed to segments, shared by the scans.
Db* ScanDb() {
  static Db* db = [] {
    const std::string dir = FreshDir("scan");
    Options o = QuietOptions();
    o.memtable_bytes = size_t{1} << 30;
    auto d = OpenFresh(dir, o);
    WriteOptions wo;
    wo.fsync = FsyncPolicy::kNone;
    for (const auto& b : Batches(7, 1000)) {
      if (!d->Write(wo, *b).ok()) std::abort();
    }
    if (!d->Flush().ok()) std::abort();
    return d.release();
  }();
  return db;
}

// Decode + exact sum of the money column, values/s on one core.
void BM_ScanSumMoney(benchmark::State& state) {
  Db* db = ScanDb();
  ScanRequest r;
  r.database = "bench";
  r.measurement = "cost";
  r.fields = {"cost"};
  uint64_t values = 0;
  MoneySum total;
  for (auto _ : state) {
    MoneySum sum;
    if (!db->Scan(r, [&](const ScanBatch& b) {
             sum.Merge(SumMoneyUnitsValid(b.columns[0].ints, b.columns[0].valid));
             values += b.rows();
             return absl::OkStatus();
           }).ok()) {
      std::abort();
    }
    total = sum;
  }
  benchmark::DoNotOptimize(total);
  state.counters["values_per_s"] = benchmark::Counter(values, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ScanSumMoney)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ScanSumFloat(benchmark::State& state) {
  Db* db = ScanDb();
  ScanRequest r;
  r.database = "bench";
  r.measurement = "cost";
  r.fields = {"gpu_util"};
  uint64_t values = 0;
  double total = 0;
  for (auto _ : state) {
    double sum = 0;
    if (!db->Scan(r, [&](const ScanBatch& b) {
             for (double v : b.columns[0].floats) sum += v;
             values += b.rows();
             return absl::OkStatus();
           }).ok()) {
      std::abort();
    }
    total = sum;
  }
  benchmark::DoNotOptimize(total);
  state.counters["values_per_s"] = benchmark::Counter(values, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ScanSumFloat)->Unit(benchmark::kMillisecond)->UseRealTime();

// The sum kernel alone over an already decoded money column (what the query executor runs
// per batch), values/s on one core.
void BM_MoneySumKernelDecoded(benchmark::State& state) {
  std::vector<int64_t> units(state.range(0));
  for (size_t i = 0; i < units.size(); ++i) units[i] = static_cast<int64_t>(i * 2654435761u);
  for (auto _ : state) benchmark::DoNotOptimize(SumMoneyUnits(units));
  state.counters["values_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * units.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MoneySumKernelDecoded)->Arg(4096)->Arg(1 << 20);

// Peak resident memory of this process, from /proc/self/status (kB -> bytes).
uint64_t PeakRssBytes() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmHWM: %lu kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb * 1024;
}

// A million series of one point each: catalog bytes per series (the engine's own account)
// and the process's peak memory growth per series.
void BM_MillionSeriesCatalog(benchmark::State& state) {
  const uint32_t series = static_cast<uint32_t>(state.range(0));
  double catalog_per_series = 0, rss_per_series = 0;
  for (auto _ : state) {
    const std::string dir = FreshDir("cardinality");
    Options o = QuietOptions();
    o.memtable_bytes = 64 << 20;
    auto db = OpenFresh(dir, o);
    const uint64_t rss_before = PeakRssBytes();
    WriteOptions wo;
    wo.fsync = FsyncPolicy::kNone;
    for (uint32_t i = 0; i < series; i += 10'000) {
      WriteBatch b("bench");
      for (uint32_t j = i; j < std::min(series, i + 10'000); ++j) {
        std::vector<Tag> tags = {{"account", std::to_string(100000000000 + j % 50)},
                                 {"cloud", "aws"},
                                 {"resource", "i-" + std::to_string(0x10000000 + j)},
                                 {"run_id", "TrainFlow/" + std::to_string(j / 4)}};
        b.AddPoint(b.AddSeries("cost", tags), 1'793'491'200'000'000'000LL);
        b.AddMoney("cost", Money::FromUnits(j));
      }
      if (!db->Write(wo, b).ok()) std::abort();
    }
    if (!db->Flush().ok()) std::abort();
    const DbStats stats = db->GetStats();
    catalog_per_series = static_cast<double>(stats.catalog_bytes) / series;
    rss_per_series = static_cast<double>(PeakRssBytes() - rss_before) / series;
    db.reset();
    std::filesystem::remove_all(dir);
  }
  state.counters["catalog_bytes_per_series"] = catalog_per_series;
  state.counters["peak_rss_growth_per_series"] = rss_per_series;
}
BENCHMARK(BM_MillionSeriesCatalog)->Arg(1'000'000)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
}  // namespace burnrate
