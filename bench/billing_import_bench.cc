// Billing import throughput on a large AWS CUR file made by repeating the real anonymised
// CUR sample (shared/data/real) with shifted line-item ids and times: CSV MB/s and rows/s
// for parsing alone, for parsing and mapping, and for the whole import into a database
// (splitting, batching, spilling, commit), with the peak resident memory of each run
// (VmHWM, reset before it) to show memory does not grow with the file.
//
// MB/s is wall clock; MB/cpu_s divides by the CPU time of the whole process (every thread),
// the per-core rate, which does not depend on how busy the machine is.
//
// The file size is BURNRATE_BENCH_CUR_MB (default 300). Run with --benchmark_min_time=0.01
// (every case runs one iteration over the whole file).
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/str_cat.h"
#include "burnrate/db.h"
#include "ingest/billing_csv.h"
#include "ingest/billing_formats.h"
#include "ingest/billing_import.h"
#include "ingest/billing_input.h"
#include "ingest/billing_time.h"

namespace burnrate {
namespace {

#ifndef BURNRATE_SHARED_DIR
#define BURNRATE_SHARED_DIR "../shared"
#endif

constexpr char kSample[] =
    "/data/real/aws-cur-legacy-focus-converters/sample-anonymous-aws-export-dataset.csv";

std::string SharedDir() {
  const char* env = std::getenv("BURNRATE_SHARED_DIR");
  if (env != nullptr && *env != '\0') return env;
  // The benchmark runs from the build tree; shared/ sits beside the repository.
  for (std::string candidate :
       {std::string(BURNRATE_SHARED_DIR), std::string("../shared"), std::string("../../shared"),
        std::string("../../../shared"), std::string("/work/shared")}) {
    if (std::filesystem::exists(candidate + kSample)) return candidate;
  }
  return BURNRATE_SHARED_DIR;
}

size_t TargetMegabytes() {
  const char* env = std::getenv("BURNRATE_BENCH_CUR_MB");
  return env != nullptr ? static_cast<size_t>(std::atol(env)) : 300;
}

// Peak resident set (VmHWM) of this process in bytes.
uint64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// Resets VmHWM to the current RSS (Linux 4.0+), so each case reports its own peak.
void ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

void Append(std::string* out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(field);
    return;
  }
  out->push_back('"');
  for (const char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

struct BigCur {
  std::string path;
  uint64_t bytes = 0;
  uint64_t rows = 0;
};

// Writes copies of the sample's rows until the file reaches the target size; copy k has
// line-item ids suffixed -k and every time shifted by k hours. With hourly, every charge is
// cut to the hour it starts in (as an hourly resource-level report is), so rows and points
// are one to one; otherwise the sample's own periods stand (its month-long tax rows become
// 720 points each, and the whole file about 12 points per row).
BigCur MakeBigCurFile(bool hourly) {
  BigCur out;
  out.path = (std::filesystem::temp_directory_path() /
              (hourly ? "burnrate-bench-big-cur-hourly.csv" : "burnrate-bench-big-cur.csv"))
                 .string();
  const uint64_t target = TargetMegabytes() << 20;
  if (std::filesystem::exists(out.path) && std::filesystem::file_size(out.path) >= target &&
      std::filesystem::file_size(out.path) < target + (4 << 20)) {
    // Reuse the file of an earlier run; count its rows.
    auto bytes = OpenRandomAccessFile(out.path);
    auto inputs = ListCsvInputs(*bytes);
    CsvReader reader(*(*inputs)[0].open(), out.path);
    while (*reader.Next()) ++out.rows;
    --out.rows;
    out.bytes = std::filesystem::file_size(out.path);
    return out;
  }
  const std::string sample_path = SharedDir() + kSample;
  auto bytes = OpenRandomAccessFile(sample_path);
  if (!bytes.ok()) {
    std::fprintf(stderr, "%s\n", std::string(bytes.status().message()).c_str());
    std::abort();
  }
  auto inputs = ListCsvInputs(*bytes);
  CsvReader reader(*(*inputs)[0].open(), sample_path);
  std::vector<std::vector<std::string>> rows;
  while (*reader.Next()) rows.emplace_back(reader.fields().begin(), reader.fields().end());
  const std::vector<std::string> header = rows.front();
  rows.erase(rows.begin());
  auto column = [&](std::string_view name) {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    std::abort();
  };
  const int id = column("identity/LineItemId");
  const int interval = column("identity/TimeInterval");
  const int start = column("lineItem/UsageStartDate");
  const int end = column("lineItem/UsageEndDate");

  std::ofstream file(out.path, std::ios::binary | std::ios::trunc);
  std::string buf;
  for (size_t i = 0; i < header.size(); ++i) {
    if (i) buf.push_back(',');
    Append(&buf, header[i]);
  }
  buf.push_back('\n');
  auto shifted = [](std::string_view text, int64_t hours) {
    auto t = ParseBillingTime(text);
    return t.ok() ? FormatBillingTime(*t + hours * kNanosPerHour) : std::string(text);
  };
  for (int64_t copy = 0; out.bytes < target; ++copy) {
    for (const std::vector<std::string>& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) buf.push_back(',');
        const int c = static_cast<int>(i);
        if (c == id) {
          Append(&buf, StrCat(row[i], "-", copy));
        } else if (c == start) {
          Append(&buf, shifted(row[i], copy));
        } else if (c == end) {
          Append(&buf, hourly ? shifted(row[static_cast<size_t>(start)], copy + 1)
                              : shifted(row[i], copy));
        } else if (c == interval) {
          const size_t slash = row[i].find('/');
          Append(&buf, StrCat(shifted(row[i].substr(0, slash), copy), "/",
                              shifted(row[i].substr(slash + 1), copy)));
        } else {
          Append(&buf, row[i]);
        }
      }
      buf.push_back('\n');
      ++out.rows;
    }
    file.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    out.bytes += buf.size();
    buf.clear();
  }
  return out;
}

const BigCur& MakeBigCur(bool hourly = false) {
  static const BigCur* sample_periods = new BigCur(MakeBigCurFile(false));
  if (!hourly) return *sample_periods;
  static const BigCur* hourly_rows = new BigCur(MakeBigCurFile(true));
  return *hourly_rows;
}

// CPU seconds (user + system) of the whole process, every thread included.
double ProcessCpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Wall-clock rates, and MB per CPU second of the process (the per-core rate, independent of
// how busy the machine is).
void Report(benchmark::State& state, uint64_t bytes, uint64_t rows, double seconds,
            double cpu_seconds) {
  state.counters["MB/s"] = static_cast<double>(bytes) / 1e6 / seconds;
  state.counters["MB/cpu_s"] = static_cast<double>(bytes) / 1e6 / cpu_seconds;
  state.counters["rows/s"] = static_cast<double>(rows) / seconds;
  state.counters["file_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["peak_RSS_MB"] = static_cast<double>(PeakRssBytes()) / 1e6;
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CSV parsing alone.
void BM_ParseCsv(benchmark::State& state) {
  const BigCur& big = MakeBigCur();
  for (auto _ : state) {
    ResetPeakRss();
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = ProcessCpuSeconds();
    auto inputs = ListCsvInputs(*OpenRandomAccessFile(big.path));
    CsvReader reader(*(*inputs)[0].open(), big.path);
    uint64_t rows = 0, fields = 0;
    while (*reader.Next()) {
      ++rows;
      fields += reader.fields().size();
    }
    benchmark::DoNotOptimize(fields);
    Report(state, big.bytes, rows - 1, Since(t0), ProcessCpuSeconds() - cpu0);
  }
}
BENCHMARK(BM_ParseCsv)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// Parsing and mapping every row to a normalised record (no database).
void BM_ParseAndMap(benchmark::State& state) {
  const BigCur& big = MakeBigCur();
  for (auto _ : state) {
    ResetPeakRss();
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = ProcessCpuSeconds();
    auto inputs = ListCsvInputs(*OpenRandomAccessFile(big.path));
    CsvReader reader(*(*inputs)[0].open(), big.path);
    if (!*reader.Next()) std::abort();
    std::vector<std::string> header(reader.fields().begin(), reader.fields().end());
    std::vector<std::string_view> views(header.begin(), header.end());
    auto mapper = NewBillingRowMapper(BillingFormat::kAuto, views, MapperOptions());
    BillingRecord record;
    RowProblem problem;
    uint64_t rows = 0;
    while (*reader.Next()) {
      record.Clear();
      if (!(*mapper)->Map(reader.fields(), &record, &problem)) std::abort();
      ++rows;
    }
    Report(state, big.bytes, rows, Since(t0), ProcessCpuSeconds() - cpu0);
  }
}
BENCHMARK(BM_ParseAndMap)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// The whole import into a fresh database: mapping, hourly splitting, batches of 10,000
// points into one SourceImport (spilling to segments), and the commit.
void BM_ImportIntoDb(benchmark::State& state) {
  const BigCur& big = MakeBigCur(state.range(0) != 0);
  for (auto _ : state) {
    const std::string dir =
        (std::filesystem::temp_directory_path() / "burnrate-bench-billing-db").string();
    std::filesystem::remove_all(dir);
    Options o;
    o.info_log = [](std::string_view) {};
    auto db = Db::Open(dir, o);
    if (!db.ok()) std::abort();
    ResetPeakRss();
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = ProcessCpuSeconds();
    auto s = ImportBillingPath(db->get(), "billing", big.path, ImportOptions());
    const double seconds = Since(t0);
    const double cpu_seconds = ProcessCpuSeconds() - cpu0;
    if (!s.ok()) {
      state.SkipWithError(std::string(s.status().message()).c_str());
      return;
    }
    Report(state, big.bytes, s->rows_imported, seconds, cpu_seconds);
    state.counters["points/s"] = static_cast<double>(s->points_written) / seconds;
    state.counters["points"] = static_cast<double>(s->points_written);
    state.SetLabel(StrCat(s->rows_imported, " rows"));
    (void)(*db)->Close();
    std::filesystem::remove_all(dir);
  }
}
// Arg 0: the sample's own charge periods; arg 1: hourly rows.
BENCHMARK(BM_ImportIntoDb)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

}  // namespace
}  // namespace burnrate
