// Backup, restore and verify of a data directory of generated minute cost telemetry
// (tools/telemetry_generator.h), 11.5 million points, built once per process (that takes
// most of the run: about 20 to 60 s on two cores); the segment_MB counter gives its size
// (70 to 190 MB, depending on the column encodings):
//
//   BM_BackupHardLink     full backup into an empty directory on the same file system
//   BM_BackupCopy         the same, copying (as into another file system)
//   BM_BackupUnchanged    incremental backup when nothing changed: reads and checksums only
//   BM_RestoreVerify      restore of a copied backup: checks every checksum and segment block
//   BM_VerifyBackup       verify of a backup in place
//
// bytes_per_second is of the files backed up (or restored, verified). Every file is in the
// page cache, so copies and restores measure checksumming, writing and fsync, not reads.
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "benchmark/benchmark.h"
#include "burnrate/backup.h"
#include "burnrate/db.h"
#include "tests/testing/copy_only_file_system.h"
#include "tools/telemetry_generator.h"

namespace burnrate {
namespace {

// 2 days x 4,000 series of minute points.
constexpr int kDays = 2;
constexpr uint32_t kSeries = 4000;
constexpr size_t kBatchPoints = 20'000;

void Check(const absl::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "backup_bench: %s: %s\n", what, std::string(s.message()).c_str());
  std::exit(1);
}

Options QuietOptions(FileSystem* fs = nullptr) {
  Options o;
  o.create_if_missing = true;
  o.file_system = fs;
  o.info_log = [](std::string_view) {};
  return o;
}

// The generated data directory, and a scratch area beside it; removed at exit.
// Not thread-safe; benchmarks run one at a time.
struct BenchData {
  std::string root;
  std::string data;
  uint64_t segment_bytes = 0;

  BenchData() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "burnrate-backup-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) Check(absl::InternalError("mkdtemp"), "temp dir");
    root = pattern;
    data = root + "/data";
    auto db = Db::Open(data, QuietOptions());
    Check(db.status(), "open");
    DatabaseOptions database;
    database.fsync = FsyncPolicy::kNone;  // setup speed; the data is flushed below
    Check((*db)->CreateDatabase("burnrate", database), "create database");
    GeneratorConfig config;
    config.days = kDays;
    config.series = kSeries;
    auto generator = TelemetryGenerator::Create(config);
    Check(generator.status(), "generator");
    WriteBatch batch("burnrate");
    while (true) {
      batch.Clear();
      if ((*generator)->FillBatch(&batch, kBatchPoints) == 0) break;
      Check((*db)->Write(WriteOptions{}, batch), "write");
    }
    Check((*db)->Flush(), "flush");
    segment_bytes = (*db)->GetStats().segment_bytes;
    Check((*db)->Close(), "close");
  }
  ~BenchData() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }

  // A path under root that does not exist yet.
  std::string Fresh(const std::string& name) {
    return root + "/" + name + std::to_string(++counter);
  }
  void Remove(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }

  int counter = 0;
};

BenchData& Data() {
  static BenchData data;
  return data;
}

void FullBackup(benchmark::State& state, FileSystem* fs) {
  BenchData& d = Data();
  auto db = Db::Open(d.data, QuietOptions(fs));
  Check(db.status(), "open");
  uint64_t bytes = 0;
  for (auto _ : state) {
    const std::string target = d.Fresh("backup");
    auto report = (*db)->Backup(target, BackupOptions{});
    Check(report.status(), "backup");
    bytes += report->bytes_total;
    state.PauseTiming();
    d.Remove(target);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["segment_MB"] = static_cast<double>(d.segment_bytes) / 1e6;
}

void BM_BackupHardLink(benchmark::State& state) { FullBackup(state, nullptr); }

void BM_BackupCopy(benchmark::State& state) {
  testing::CopyOnlyFileSystem copy_only;
  FullBackup(state, &copy_only);
}

void BM_BackupUnchanged(benchmark::State& state) {
  BenchData& d = Data();
  testing::CopyOnlyFileSystem copy_only;
  auto db = Db::Open(d.data, QuietOptions(&copy_only));
  Check(db.status(), "open");
  const std::string target = d.Fresh("incremental");
  Check((*db)->Backup(target, BackupOptions{}).status(), "first backup");
  uint64_t bytes = 0;
  for (auto _ : state) {
    auto report = (*db)->Backup(target, BackupOptions{});
    Check(report.status(), "backup");
    bytes += report->bytes_total;
    if (report->files_copied + report->files_linked != 0) {
      Check(absl::InternalError("an unchanged backup copied files"), "incremental");
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  d.Remove(target);
}

// A copied backup of the data, made once.
const std::string& CopiedBackup() {
  static const std::string path = [] {
    BenchData& d = Data();
    testing::CopyOnlyFileSystem copy_only;
    auto db = Db::Open(d.data, QuietOptions(&copy_only));
    Check(db.status(), "open");
    std::string p = d.Fresh("copied");
    Check((*db)->Backup(p, BackupOptions{}).status(), "backup");
    return p;
  }();
  return path;
}

void BM_RestoreVerify(benchmark::State& state) {
  BenchData& d = Data();
  const std::string& backup = CopiedBackup();
  uint64_t bytes = 0;
  for (auto _ : state) {
    const std::string target = d.Fresh("restored");
    auto report = RestoreBackup(backup, target, RestoreOptions{});
    Check(report.status(), "restore");
    bytes += report->bytes_restored;
    state.PauseTiming();
    d.Remove(target);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_VerifyBackup(benchmark::State& state) {
  const std::string& backup = CopiedBackup();
  uint64_t bytes = 0;
  for (auto _ : state) {
    auto report = VerifyDirectory(backup, VerifyOptions{});
    Check(report.status(), "verify");
    if (!report->problems.empty()) Check(absl::DataLossError(report->problems[0]), "verify");
    bytes += report->bytes_checked;
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

BENCHMARK(BM_BackupHardLink)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_BackupCopy)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_BackupUnchanged)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_RestoreVerify)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_VerifyBackup)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace burnrate
