// Throughput of the column encodings (values per second, one 8192-row block at a time)
// and of reading and summing a money column through SegmentReader, for long series and for
// many short ones sharing blocks.
//
//   bench/encoding_bench --benchmark_min_time=0.2
//
// items_per_second is values per second; bytes_per_value is the encoded size.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "burnrate/file_system.h"
#include "storage/column_encoding.h"
#include "storage/segment.h"

namespace burnrate {
namespace {

constexpr size_t kBlock = 8192;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kMinute = 60'000'000'000;

// Minute timestamps with a gap every few thousand rows.
std::vector<int64_t> MinuteTimes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> t(n);
  int64_t now = kT0;
  for (auto& x : t) {
    now += rng() % 3000 == 0 ? static_cast<int64_t>(rng() % 120) * kMinute : kMinute;
    x = now;
  }
  return t;
}

// Per-minute cost in money units (10^-10): a spot price random walk with small steps.
std::vector<int64_t> MoneyWalk(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> v(n);
  int64_t cost = 2'500'000'000;  // $0.25 a minute
  for (auto& x : v) {
    cost += static_cast<int64_t>(rng() % 201) - 100;
    x = cost;
  }
  return v;
}

// On-demand cost: constant per minute, with a price change now and then.
std::vector<int64_t> MoneySteps(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> v(n);
  int64_t cost = 540'000'000;
  for (auto& x : v) {
    if (rng() % 5000 == 0) cost = static_cast<int64_t>(rng() % 10'000'000'000);
    x = cost;
  }
  return v;
}

// GPU utilisation in percent with 4 decimals, moving slowly.
std::vector<double> Utilisation(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(n);
  int64_t k = 500'000;
  for (auto& x : v) {
    k = std::clamp<int64_t>(k + static_cast<int64_t>(rng() % 20001) - 10000, 0, 1'000'000);
    x = static_cast<double>(k) / 1e4;
  }
  return v;
}

void Report(benchmark::State& state, size_t values, size_t bytes) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * values));
  state.counters["bytes_per_value"] = static_cast<double>(bytes) / static_cast<double>(values);
}

void BM_EncodeTimes(benchmark::State& state) {
  const auto times = MinuteTimes(kBlock, 1);
  std::string out;
  for (auto _ : state) {
    out.clear();
    EncodeTimes(times, &out);
    benchmark::DoNotOptimize(out.data());
  }
  Report(state, kBlock, out.size());
}
BENCHMARK(BM_EncodeTimes);

void BM_DecodeTimes(benchmark::State& state) {
  const auto times = MinuteTimes(kBlock, 1);
  std::string bytes;
  EncodeTimes(times, &bytes);
  std::vector<int64_t> out(kBlock);
  for (auto _ : state) {
    if (!DecodeInt64s(ColumnEncoding::kTimeScaledDelta, bytes, kBlock, out.data()).ok()) {
      state.SkipWithError("decode failed");
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  Report(state, kBlock, bytes.size());
}
BENCHMARK(BM_DecodeTimes);

std::vector<int64_t> Money(int64_t shape) {
  return shape == 0 ? MoneyWalk(kBlock, 2) : MoneySteps(kBlock, 2);
}

void BM_EncodeMoney(benchmark::State& state) {
  const auto values = Money(state.range(0));
  std::string out;
  for (auto _ : state) {
    out.clear();
    EncodeInts(values, &out);
    benchmark::DoNotOptimize(out.data());
  }
  Report(state, kBlock, out.size());
}
BENCHMARK(BM_EncodeMoney)->ArgName("steps")->Arg(0)->Arg(1);

void BM_DecodeMoney(benchmark::State& state) {
  const auto values = Money(state.range(0));
  std::string bytes;
  EncodeInts(values, &bytes);
  std::vector<int64_t> out(kBlock);
  for (auto _ : state) {
    if (!DecodeInt64s(ColumnEncoding::kIntDelta, bytes, kBlock, out.data()).ok()) {
      state.SkipWithError("decode failed");
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  Report(state, kBlock, bytes.size());
}
BENCHMARK(BM_DecodeMoney)->ArgName("steps")->Arg(0)->Arg(1);

void BM_EncodeUtilisation(benchmark::State& state) {
  const auto values = Utilisation(kBlock, 3);
  std::string out;
  for (auto _ : state) {
    out.clear();
    EncodeFloats(values, &out);
    benchmark::DoNotOptimize(out.data());
  }
  Report(state, kBlock, out.size());
}
BENCHMARK(BM_EncodeUtilisation);

void BM_DecodeUtilisation(benchmark::State& state) {
  const auto values = Utilisation(kBlock, 3);
  std::string bytes;
  const ColumnEncoding encoding = EncodeFloats(values, &bytes);
  std::vector<double> out(kBlock);
  for (auto _ : state) {
    if (!DecodeDoubles(encoding, bytes, kBlock, out.data()).ok()) {
      state.SkipWithError("decode failed");
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  Report(state, kBlock, bytes.size());
}
BENCHMARK(BM_DecodeUtilisation);

// A segment of `series` series x `rows` minutes of one money field, in a temporary
// directory that lives as long as the process.
class MoneySegment {
 public:
  MoneySegment(int64_t shape, uint32_t series, size_t rows) : rows_(series * rows) {
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/encoding-bench-XXXXXX";
    if (mkdtemp(dir_.data()) == nullptr) std::abort();
    path_ = dir_ + "/money.seg";
    FileSystem* fs = FileSystem::Default();
    auto writer = SegmentWriter::Create(
        fs, path_, SegmentMeta{"bench", kT0, kT0 + 365 * kMinute * 1440}, SegmentWriterOptions{});
    if (!writer.ok()) std::abort();
    const auto times = MinuteTimes(rows, 4);
    for (uint32_t s = 0; s < series; ++s) {
      ScanColumn cost;
      cost.type = FieldType::kMoney;
      cost.ints = shape == 0 ? MoneyWalk(rows, s) : MoneySteps(rows, s);
      const SegmentColumnInput input[] = {{1, "cost", &cost}};
      if (!(*writer)->AddSeries(s + 1, times, input).ok()) std::abort();
    }
    auto info = (*writer)->Finish();
    if (!info.ok()) std::abort();
    file_size_ = info->file_size;
    auto reader = SegmentReader::Open(fs, path_);
    if (!reader.ok()) std::abort();
    reader_ = std::move(*reader);
  }
  ~MoneySegment() {
    reader_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const SegmentReader& reader() const { return *reader_; }
  uint64_t file_size() const { return file_size_; }
  size_t rows() const { return rows_; }

 private:
  size_t rows_;
  std::string dir_;
  std::string path_;
  uint64_t file_size_ = 0;
  std::unique_ptr<SegmentReader> reader_;
};

// The exact sum of fewer than 2^31 values, two lanes at a time on baseline x86-64 (which
// has no 64-bit arithmetic shift): unsigned sums of the 32-bit halves, minus 2^64 for each
// negative value.
__int128 ExactSum(const std::vector<int64_t>& values) {
  using U64x2 = uint64_t __attribute__((vector_size(16)));
  U64x2 lo = {0, 0}, hi = {0, 0}, negative = {0, 0};
  size_t i = 0;
  for (; i + 2 <= values.size(); i += 2) {
    U64x2 x;
    std::memcpy(&x, values.data() + i, sizeof x);
    lo += x & 0xffffffff;
    hi += x >> 32;
    negative += x >> 63;
  }
  unsigned __int128 total = (static_cast<unsigned __int128>(hi[0] + hi[1]) << 32) + lo[0] + lo[1];
  uint64_t negatives = negative[0] + negative[1];
  for (; i < values.size(); ++i) {
    total += static_cast<uint64_t>(values[i]);
    negatives += values[i] < 0 ? 1 : 0;
  }
  return static_cast<__int128>(total - (static_cast<unsigned __int128>(negatives) << 64));
}

void BM_SegmentReadSumMoney(benchmark::State& state) {
  static MoneySegment* segments[2] = {};
  const int64_t shape = state.range(0);
  if (segments[shape] == nullptr) segments[shape] = new MoneySegment(shape, 64, 16384);
  const SegmentReader& reader = segments[shape]->reader();
  const int64_t fields[] = {1};
  ScanBatch batch;
  batch.columns.resize(1);
  batch.columns[0].type = FieldType::kMoney;
  {
    if (!reader.ReadSeries(0, INT64_MIN, INT64_MAX, fields, &batch).ok()) std::abort();
    __int128 naive = 0;
    for (int64_t v : batch.columns[0].ints) naive += v;
    if (ExactSum(batch.columns[0].ints) != naive) state.SkipWithError("ExactSum is wrong");
  }
  size_t rows = 0;
  for (auto _ : state) {
    __int128 sum = 0;
    for (size_t s = 0; s < reader.series().size(); ++s) {
      batch.times.clear();
      batch.columns[0].ints.clear();
      if (!reader.ReadSeries(s, INT64_MIN, INT64_MAX, fields, &batch).ok()) {
        state.SkipWithError("read failed");
      }
      sum += ExactSum(batch.columns[0].ints);
      rows += batch.columns[0].ints.size();
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(rows));
  state.counters["file_bytes_per_row"] = static_cast<double>(segments[shape]->file_size()) /
                                         static_cast<double>(segments[shape]->rows());
}
BENCHMARK(BM_SegmentReadSumMoney)->ArgName("steps")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Short-lived series, as a day of the generator's telemetry has them: 16Ki series of 90
// minutes share blocks. Every series is read in id order, without and with a
// SegmentReadCache (without one, each read decodes the whole blocks it overlaps).
void BM_SegmentReadShortSeries(benchmark::State& state) {
  static MoneySegment* segment = new MoneySegment(0, 16384, 90);
  const SegmentReader& reader = segment->reader();
  const int64_t fields[] = {1};
  ScanBatch batch;
  batch.columns.resize(1);
  batch.columns[0].type = FieldType::kMoney;
  size_t rows = 0;
  for (auto _ : state) {
    SegmentReadCache cache;
    SegmentReadCache* c = state.range(0) != 0 ? &cache : nullptr;
    __int128 sum = 0;
    for (size_t s = 0; s < reader.series().size(); ++s) {
      batch.times.clear();
      batch.columns[0].ints.clear();
      if (!reader.ReadSeries(s, INT64_MIN, INT64_MAX, fields, &batch, c).ok()) {
        state.SkipWithError("read failed");
      }
      sum += ExactSum(batch.columns[0].ints);
      rows += batch.columns[0].ints.size();
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(rows));
  state.counters["file_bytes_per_row"] =
      static_cast<double>(segment->file_size()) / static_cast<double>(segment->rows());
}
BENCHMARK(BM_SegmentReadShortSeries)
    ->ArgName("cache")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace burnrate
