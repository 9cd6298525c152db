#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "burnrate/file_system.h"
#include "burnrate/scan.h"
#include "storage/manifest.h"
#include "storage/segment.h"

namespace burnrate {

// One column of a series being written: its catalog field id and values.
struct OutputColumn {
  uint32_t field_id;
  const ScanColumn* data;
};

// Writes one segment file of one (database, partition): the rows of each series, then the
// two rollup tables (1 h and 1 d, engine/rollup.h) computed from them. Series must come in
// increasing id order. Not thread-safe.
class PartitionOutput {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PartitionOutput>> Create(
      FileSystem* fs, std::string path, const SegmentMeta& meta);

  [[nodiscard]] absl::Status AddSeries(uint32_t series_id, std::span<const TimestampNs> times,
                                       std::span<const OutputColumn> columns);
  // Writes the rollups and the footer; the file is durable when this returns OK. `entry`
  // gets the sizes, counts and time range (file_number, database_id, seq, source_id are
  // the caller's).
  [[nodiscard]] absl::Status Finish(ManifestSegment* entry);

  const std::string& path() const { return path_; }
  uint64_t data_rows() const { return data_rows_; }

 private:
  // One rollup level's table under construction.
  struct Table {
    ScanColumn series;   // kInteger
    ScanColumn buckets;  // kInteger
    // Catalog field id -> its four columns (count, sum, min, max).
    std::map<uint32_t, std::array<ScanColumn, 4>> fields;
    size_t rows = 0;
  };
  PartitionOutput(std::string path, std::unique_ptr<SegmentWriter> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}
  void AddRollups(RollupLevel level, uint32_t series_id, std::span<const TimestampNs> times,
                  std::span<const OutputColumn> columns);
  absl::Status WriteTable(RollupLevel level, Table* table);

  std::string path_;
  std::unique_ptr<SegmentWriter> writer_;
  Table tables_[2];
  uint64_t data_rows_ = 0;
  uint32_t series_count_ = 0;
  TimestampNs min_time_ = INT64_MAX;
  TimestampNs max_time_ = INT64_MIN;
};

}  // namespace burnrate
