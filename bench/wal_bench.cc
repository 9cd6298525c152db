// WAL append and recovery throughput on the real file system, in a fresh directory under
// $TMPDIR (or /tmp). Figures depend on that file system: fsync on tmpfs costs nothing.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "burnrate/file_system.h"
#include "storage/wal.h"

namespace burnrate {
namespace {

// A fresh directory, removed with its contents on destruction.
class BenchDir {
 public:
  BenchDir() {
    const char* base = std::getenv("TMPDIR");
    path_ =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/burnrate-bench-XXXXXX";
    if (mkdtemp(path_.data()) == nullptr) std::abort();
  }
  ~BenchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string RandomPayload(size_t n) {
  std::mt19937_64 rng(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A new file after this many bytes keeps the unsynced case from filling the disk.
constexpr uint64_t kMaxFileBytes = uint64_t{256} << 20;

// Appends records of range(0) bytes; range(1) != 0 syncs after each one. Wall time, since
// fsync waits without using CPU.
void BM_WalAppend(benchmark::State& state) {
  const std::string payload = RandomPayload(static_cast<size_t>(state.range(0)));
  const bool sync = state.range(1) != 0;
  FileSystem* fs = FileSystem::Default();
  BenchDir dir;
  const std::string path = dir.Sub("bench.wal");
  auto writer = WalWriter::Create(fs, path);
  if (!writer.ok()) return state.SkipWithError(writer.status().ToString().c_str());
  for (auto _ : state) {
    if (!(*writer)->AddRecord(payload).ok()) return state.SkipWithError("AddRecord failed");
    if (sync && !(*writer)->Sync().ok()) return state.SkipWithError("Sync failed");
    if ((*writer)->size() > kMaxFileBytes) {
      state.PauseTiming();
      if (!(*writer)->Close().ok()) return state.SkipWithError("Close failed");
      writer = WalWriter::Create(fs, path);
      if (!writer.ok()) return state.SkipWithError(writer.status().ToString().c_str());
      state.ResumeTiming();
    }
  }
  if (!(*writer)->Close().ok()) return state.SkipWithError("Close failed");
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WalAppend)
    ->ArgNames({"bytes", "sync"})
    ->Args({100 << 10, 0})
    ->Args({100 << 10, 1})
    ->Args({256, 0})
    ->Args({256, 1})
    ->UseRealTime();

// Reads back a 64 MiB log of range(0)-byte records, as recovery does.
void BM_ReadWal(benchmark::State& state) {
  const size_t record_bytes = static_cast<size_t>(state.range(0));
  const std::string payload = RandomPayload(record_bytes);
  FileSystem* fs = FileSystem::Default();
  BenchDir dir;
  const std::string path = dir.Sub("bench.wal");
  {
    auto writer = WalWriter::Create(fs, path);
    if (!writer.ok()) return state.SkipWithError(writer.status().ToString().c_str());
    while ((*writer)->size() < (uint64_t{64} << 20)) {
      if (!(*writer)->AddRecord(payload).ok()) return state.SkipWithError("AddRecord failed");
    }
    if (!(*writer)->Close().ok()) return state.SkipWithError("Close failed");
  }
  uint64_t bytes = 0;
  for (auto _ : state) {
    WalReadResult result;
    absl::Status s = ReadWal(
        fs, path,
        [](std::string_view payload, uint64_t) {
          benchmark::DoNotOptimize(payload.data());
          return absl::OkStatus();
        },
        &result);
    if (!s.ok()) return state.SkipWithError(s.ToString().c_str());
    bytes += result.file_size;
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_ReadWal)->ArgName("bytes")->Arg(100 << 10)->Arg(256);

}  // namespace
}  // namespace burnrate
