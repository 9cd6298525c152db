// Feeds arbitrary bytes to ReadWal as a WAL file. It must never crash, and what it reports
// must be consistent with the bytes (see the checks below, which abort on a violation).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "burnrate/file_system.h"
#include "storage/wal.h"

namespace {

// The input file, in a private directory removed at exit.
const std::string& InputPath() {
  static std::string dir;
  static const std::string path = [] {
    const char* base = std::getenv("TMPDIR");
    dir =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/burnrate-wal-fuzz-XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return dir + "/input.wal";
  }();
  return path;
}

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "wal_reader_fuzzer: violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  burnrate::FileSystem* fs = burnrate::FileSystem::Default();
  const std::string& path = InputPath();
  {
    auto file = fs->NewWritableFile(path);
    if (!file.ok()) std::abort();
    if (!(*file)->Append(std::string_view(reinterpret_cast<const char*>(data), size)).ok() ||
        !(*file)->Close().ok()) {
      std::abort();
    }
  }

  uint64_t expected_offset = burnrate::kWalFileHeaderSize;
  uint64_t delivered = 0;
  burnrate::WalReadResult result;
  const absl::Status status = burnrate::ReadWal(
      fs, path,
      [&](std::string_view payload, uint64_t offset) {
        Check(offset == expected_offset, "records are contiguous");
        Check(!payload.empty() && payload.size() <= burnrate::kWalMaxRecordPayload,
              "payload length within limits");
        Check(offset + burnrate::kWalRecordHeaderSize + payload.size() <= size,
              "payload inside the file");
        expected_offset = offset + burnrate::kWalRecordHeaderSize + payload.size();
        ++delivered;
        return absl::OkStatus();
      },
      &result);

  Check(result.file_size == size, "file_size is the input size");
  Check(result.records == delivered, "records counts deliveries");
  Check(result.valid_end <= size, "valid_end inside the file");
  Check(!(result.torn_tail && result.corrupt), "torn and corrupt are exclusive");
  if (delivered > 0) Check(result.valid_end == expected_offset, "valid_end ends the last record");
  if (status.ok()) {
    Check(!result.corrupt, "OK means not corrupt");
    Check(result.torn_tail || result.valid_end == size, "a clean read reaches end of file");
    Check(!result.torn_tail || result.valid_end < size, "a torn tail leaves bytes behind");
  } else {
    Check(status.code() == absl::StatusCode::kDataLoss, "errors are kDataLoss");
    Check(result.corrupt && result.corrupt_offset == result.valid_end,
          "kDataLoss sets corrupt at valid_end");
    Check(status.message().find(path) != absl::string_view::npos, "message names the file");
  }
  return 0;
}
