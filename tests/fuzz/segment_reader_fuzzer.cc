// Feeds arbitrary bytes to SegmentReader as a segment file: Open, then (if it opened) read
// every series, without and with a SegmentReadCache, and VerifyAll. It must never crash;
// errors must be kDataLoss naming the file, what it returns must be consistent with the
// footer, and the cache must not change any answer (checks below abort).
//
// Each input is tried twice: as given, and with the trailer's footer checksum recomputed,
// so that mutations of the footer reach the FlatBuffers verifier and the sanity checks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "base/coding.h"
#include "burnrate/file_system.h"
#include "storage/file_util.h"
#include "storage/segment.h"

namespace {

// The input file, in a private directory removed at exit.
const std::string& InputPath() {
  static std::string dir;
  static const std::string path = [] {
    const char* base = std::getenv("TMPDIR");
    dir = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
          "/burnrate-segment-fuzz-XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return dir + "/input.seg";
  }();
  return path;
}

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "segment_reader_fuzzer: violated: %s\n", what);
    std::abort();
  }
}

void CheckError(const absl::Status& s, const std::string& path) {
  Check(s.code() == absl::StatusCode::kDataLoss, "errors are kDataLoss");
  Check(s.message().find(path) != absl::string_view::npos, "message names the file");
}

size_t Rows(const burnrate::ScanColumn& c) {
  switch (c.type) {
    case burnrate::FieldType::kFloat:
      return c.floats.size();
    case burnrate::FieldType::kString:
      return c.strings.size();
    default:
      return c.ints.size();
  }
}

void Clear(burnrate::ScanBatch* b) {
  b->times.clear();
  for (auto& c : b->columns) {
    c.ints.clear();
    c.floats.clear();
    c.strings.clear();
    c.valid.clear();
  }
}

// Bit-for-bit equal rows (floats compared as bit patterns, NaNs included).
bool Same(const burnrate::ScanBatch& a, const burnrate::ScanBatch& b) {
  if (a.times != b.times || a.columns.size() != b.columns.size()) return false;
  for (size_t i = 0; i < a.columns.size(); ++i) {
    const auto& x = a.columns[i];
    const auto& y = b.columns[i];
    if (x.ints != y.ints || x.strings != y.strings || x.valid != y.valid ||
        x.floats.size() != y.floats.size() ||
        (!x.floats.empty() &&
         std::memcmp(x.floats.data(), y.floats.data(), x.floats.size() * sizeof(double)) != 0)) {
      return false;
    }
  }
  return true;
}

void Exercise(std::string_view bytes) {
  burnrate::FileSystem* fs = burnrate::FileSystem::Default();
  const std::string& path = InputPath();
  {
    auto file = fs->NewWritableFile(path);
    if (!file.ok() || !(*file)->Append(bytes).ok() || !(*file)->Close().ok()) std::abort();
  }
  auto opened = burnrate::SegmentReader::Open(fs, path);
  if (!opened.ok()) {
    CheckError(opened.status(), path);
    return;
  }
  const burnrate::SegmentReader& reader = **opened;
  Check(reader.info().file_size == bytes.size(), "file_size is the input size");
  Check(reader.info().series_count == reader.series().size(), "series_count");

  std::vector<int64_t> field_ids = {-1};
  burnrate::ScanBatch batch;
  batch.columns.emplace_back();
  for (const auto& c : reader.columns()) {
    field_ids.push_back(c.field_id);
    batch.columns.emplace_back();
    batch.columns.back().type = c.type;
  }
  for (size_t b = 0; b < reader.blocks().size(); ++b) {
    for (size_t c = 0; c < reader.columns().size(); ++c) {
      auto stats = reader.GetChunkStats(c, b);
      if (stats) Check(stats->null_count < stats->row_count, "present chunks have a value");
    }
  }
  burnrate::SegmentReadCache cache;
  for (size_t i = 0; i < reader.series().size(); ++i) {
    const auto& entry = reader.series()[i];
    for (int pass = 0; pass < 2; ++pass) {
      const int64_t lo = pass == 0 ? entry.min_time : entry.min_time / 2 + entry.max_time / 2;
      burnrate::ScanBatch cached = batch;
      Clear(&batch);
      Clear(&cached);
      absl::Status s = reader.ReadSeries(i, lo, entry.max_time, field_ids, &batch);
      absl::Status cs = reader.ReadSeries(i, lo, entry.max_time, field_ids, &cached, &cache);
      Check(s.code() == cs.code(), "the cache does not change the outcome");
      if (!s.ok()) {
        CheckError(s, path);
        Check(batch.times.empty() && cached.times.empty(), "a failed read appends nothing");
        continue;
      }
      Check(Same(batch, cached), "the cache does not change the rows");
      Check(batch.times.size() <= entry.row_count, "no more rows than the series has");
      for (size_t r = 0; r < batch.times.size(); ++r) {
        Check(batch.times[r] >= lo && batch.times[r] <= entry.max_time, "times in range");
        Check(r == 0 || batch.times[r] > batch.times[r - 1], "times increase");
      }
      for (const auto& c : batch.columns) {
        Check(Rows(c) == batch.times.size(), "one value per row");
        Check(c.valid.empty() || c.valid.size() == batch.times.size(), "one flag per row");
      }
    }
  }
  absl::Status s = reader.VerifyAll();
  if (!s.ok()) CheckError(s, path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Exercise(input);
  // Trailer: fixed32 footer size, fixed64 footer checksum, 8-byte end magic.
  constexpr size_t kTrailer = 20;
  if (size < 8 + kTrailer) return 0;
  const uint32_t footer_size = burnrate::DecodeFixed32(input.data() + size - kTrailer);
  if (footer_size > size - 8 - kTrailer) return 0;
  std::string fixed(input);
  const size_t footer_offset = size - kTrailer - footer_size;
  const uint64_t checksum =
      burnrate::Checksum64(std::string_view(fixed).substr(footer_offset, footer_size));
  std::string encoded;
  burnrate::PutFixed64(&encoded, checksum);
  fixed.replace(size - kTrailer + 4, 8, encoded);
  if (fixed != input) Exercise(fixed);
  return 0;
}
