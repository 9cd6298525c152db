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
  friend bool operator==(const ManifestSegment&, const ManifestSegment&) = default;
};

struct Manifest {
  // Every file number below this has been used.
  uint64_t next_file_number = 1;
  // WAL files numbered below this hold nothing that is not in segments; they may go.
  uint64_t log_number = 0;
  // The catalog snapshot file (CATALOG-<n>); 0 when none has been written.
  uint64_t catalog_file_number = 0;
  std::vector<ManifestSegment> segments;
  friend bool operator==(const Manifest&, const Manifest&) = default;
};

inline constexpr char kManifestMagic[] = "BRMANIF1";

// The whole file, framed and checksummed.
std::string EncodeManifest(const Manifest& m);
// kDataLoss naming path and offset when contents is not a valid manifest.
[[nodiscard]] absl::StatusOr<Manifest> DecodeManifest(const std::string& path,
                                                      std::string contents);

}  // namespace burnrate
