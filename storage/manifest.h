#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "burnrate/types.h"

// The manifest names every live file of a data directory; replacing it (atomically, see
// WriteFileAtomically) is the commit point of every change to the set of files. Byte
// layout: docs/format/manifest.md.

namespace burnrate {

struct ManifestSegment {
  uint64_t file_number = 0;
  uint32_t database_id = 0;
  TimestampNs partition_start = 0;
  TimestampNs partition_end = 0;
  TimestampNs min_time = 0;
  TimestampNs max_time = 0;
  uint64_t file_size = 0;
  uint64_t row_count = 0;
  uint32_t series_count = 0;
  // Precedence for last-write-wins: of two segments holding the same (series, time, field),
  // the one with the higher seq wins. A flush or import output takes its file number; a
  // compaction output the highest seq of its inputs (inputs are always a run adjacent in
  // seq order, so this keeps the order against every other segment).
  uint64_t seq = 0;
  // The replace-by-source import that wrote this segment; 0 for ordinary writes.
  uint64_t source_id = 0;
  friend bool operator==(const ManifestSegment&, const ManifestSegment&) = default;
};

// One replace-by-source import: the live version of a source key in a database.
struct ManifestSource {
  uint64_t id = 0;
  uint32_t database_id = 0;
  std::string key;
  uint64_t points = 0;
  TimestampNs min_time = 0;
  TimestampNs max_time = 0;
  TimestampNs written_at = 0;  // wall clock, ns since the epoch
  friend bool operator==(const ManifestSource&, const ManifestSource&) = default;
};

struct Manifest {
  // Every file number below this has been used.
  uint64_t next_file_number = 1;
  // WAL files numbered below this hold nothing that is not in segments; they may go.
  uint64_t log_number = 0;
  // The catalog snapshot file (CATALOG-<n>); 0 when none has been written.
  uint64_t catalog_file_number = 0;
  std::vector<ManifestSegment> segments;
  std::vector<ManifestSource> sources;
  uint64_t next_source_id = 1;
  friend bool operator==(const Manifest&, const Manifest&) = default;
};

inline constexpr char kManifestMagic[] = "BRMANIF1";

// The whole file, framed and checksummed.
std::string EncodeManifest(const Manifest& m);
// kDataLoss naming path and offset when contents is not a valid manifest.
[[nodiscard]] absl::StatusOr<Manifest> DecodeManifest(const std::string& path,
                                                      std::string contents);

}  // namespace burnrate
