#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/file_system.h"
#include "burnrate/scan.h"
#include "burnrate/types.h"

// Immutable columnar segment files. Byte layout: docs/format/segment.md.
//
// A segment holds the rows of one database and one time partition, sorted by (series id,
// time), times unique per series. The rows, series after series, are cut into blocks of
// SegmentWriterOptions::block_rows rows (the last block may be shorter), so a block holds
// the rows of as many consecutive series as fit, and a long series spans several blocks.
// Each column (a field, identified by its catalog field id) has one chunk in each block
// where it has a value. Every chunk and the footer carry an xxHash64 checksum; the footer
// is a FlatBuffers table (storage/segment_footer.fbs).

namespace burnrate {

struct SegmentMeta {
  std::string database;
  TimestampNs partition_start = 0;  // inclusive
  TimestampNs partition_end = 0;    // exclusive
};

struct SegmentWriterOptions {
  uint32_t block_rows = 8192;
  int zstd_level = 3;
};

// One field's values for the rows of one AddSeries call.
struct SegmentColumnInput {
  uint32_t field_id = 0;
  std::string_view name;
  const ScanColumn* data = nullptr;  // type, values and validity; rows == times.size()
};

// Summary of a finished segment, recorded in the manifest.
struct SegmentInfo {
  uint64_t file_size = 0;
  uint64_t row_count = 0;
  uint32_t series_count = 0;
  TimestampNs min_time = 0;
  TimestampNs max_time = 0;
};

// Writes one segment file. Call AddSeries in strictly increasing series id order, then
// Finish. Rows are buffered until a block is full, so a write error may surface from a
// later AddSeries or from Finish. The file is complete and synced when Finish returns OK;
// on any error the partial file is left for the caller to delete. Not thread-safe.
class SegmentWriter {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SegmentWriter>> Create(
      FileSystem* fs, const std::string& path, const SegmentMeta& meta,
      const SegmentWriterOptions& opts);
  ~SegmentWriter();

  // times: strictly increasing. Each column's type must be the same for a field id across
  // the whole segment (kInvalidArgument otherwise). Columns may differ between series.
  [[nodiscard]] absl::Status AddSeries(uint32_t series_id, std::span<const TimestampNs> times,
                                       std::span<const SegmentColumnInput> columns);

  // Writes the footer, fsyncs and closes the file.
  [[nodiscard]] absl::StatusOr<SegmentInfo> Finish();

 private:
  struct Impl;
  explicit SegmentWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Per-block statistics of one column chunk, from the footer (no data read). A block may
// hold the rows of several series; the statistics cover all of them.
struct ChunkStats {
  uint32_t row_count = 0;   // rows of the block
  uint32_t null_count = 0;  // rows where the field is absent
  // kInteger, kMoney, kBoolean: min/max/sum as integers (sum exact in 128 bits).
  int64_t min_int = 0;
  int64_t max_int = 0;
  __int128 sum_int = 0;
  // kUnsigned: bit patterns in min_int/max_int as uint64; sum_int exact.
  // kFloat: min/max/sum as doubles (NaN-free).
  double min_float = 0;
  double max_float = 0;
  double sum_float = 0;
};

class SegmentReader;

// Blocks decoded by SegmentReader::ReadSeries, kept for the next calls: reading the series
// of a segment in id order then decodes each block (and each requested column of it) once,
// although a block holds the rows of many series. Keeps the two most recently used blocks
// of each reader, and drops the least recently used blocks of all readers beyond
// `max_bytes` of decoded data. Readers are told apart by an id unique in the process, so a
// cache may outlive the readers it has seen. Not thread-safe: use one per scan or thread.
class SegmentReadCache {
 public:
  explicit SegmentReadCache(size_t max_bytes = size_t{64} << 20);
  ~SegmentReadCache();
  SegmentReadCache(const SegmentReadCache&) = delete;
  SegmentReadCache& operator=(const SegmentReadCache&) = delete;

  // Blocks decoded by reads given this cache, since construction (a measure of how well
  // it works). A block holding rows of one series only is decoded straight into the
  // caller's batch and not kept: no other series needs it.
  uint64_t blocks_decoded() const;

 private:
  friend class SegmentReader;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads a segment file. Open verifies the footer (checksum and FlatBuffers verifier);
// every chunk's checksum is verified when it is read. Any mismatch or malformed content
// is kDataLoss naming the file and the block/offset, never a crash or a wrong answer.
// Thread-safe after Open (reads use pread); a SegmentReadCache passed in is not.
class SegmentReader {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SegmentReader>> Open(FileSystem* fs,
                                                                           const std::string& path);
  ~SegmentReader();

  const std::string& path() const;
  const SegmentMeta& meta() const;
  const SegmentInfo& info() const;

  struct SeriesEntry {
    uint32_t series_id;
    uint32_t row_count;
    uint64_t row_begin;    // rows of the series before this one
    uint32_t first_block;  // blocks [first_block, first_block + block_count) hold its rows
    uint32_t block_count;
    TimestampNs min_time;
    TimestampNs max_time;
  };
  struct BlockEntry {
    uint64_t row_begin;  // rows of the blocks before this one
    uint32_t row_count;
    TimestampNs first_time;  // time of the first row (of whichever series it belongs to)
    TimestampNs last_time;   // time of the last row
  };
  struct ColumnEntry {
    uint32_t field_id;
    std::string name;
    FieldType type;
  };
  // Sorted by series id.
  const std::vector<SeriesEntry>& series() const;
  const std::vector<BlockEntry>& blocks() const;
  const std::vector<ColumnEntry>& columns() const;

  // Index into series() of series_id, or -1.
  int FindSeries(uint32_t series_id) const;
  // Index into columns() of field_id, or -1.
  int FindColumn(uint32_t field_id) const;

  // Footer statistics of column `column` (index into columns()) in block `block`; nullopt
  // when the column has no value in the block.
  std::optional<ChunkStats> GetChunkStats(size_t column, size_t block) const;

  // Appends to *out the rows of series() entry `series_index` with min_time <= time <=
  // max_time: times to out->times and, for each requested column, values to
  // out->columns[i] (which the caller has sized and typed; field_ids[i] < 0 or a field this
  // segment lacks appends nulls). A series outside the range reads nothing, and blocks
  // holding only rows of the series outside the range are skipped unread. Blocks are
  // decoded whole and kept in *cache (when given) for the next calls. On error *out is
  // left as it was.
  [[nodiscard]] absl::Status ReadSeries(size_t series_index, TimestampNs min_time,
                                        TimestampNs max_time, std::span<const int64_t> field_ids,
                                        ScanBatch* out, SegmentReadCache* cache = nullptr) const;

  // Reads and checks every chunk; kDataLoss for the first bad one.
  [[nodiscard]] absl::Status VerifyAll() const;

 private:
  struct Impl;
  explicit SegmentReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace burnrate
