#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/file_system.h"

namespace burnrate {

// Writes `contents` to dir/name so that after a crash the file holds either its previous
// contents or the new ones, never a mix: write dir/name.tmp, fsync it, rename over name,
// fsync dir.
[[nodiscard]] absl::Status WriteFileAtomically(FileSystem* fs, const std::string& dir,
                                               const std::string& name, std::string_view contents);

// Small metadata files (manifest, catalog) are framed as: 8-byte magic, fixed64 payload
// length, payload, fixed64 XXH3_64bits of everything before it (docs/format/manifest.md).
std::string FrameChecksummed(std::string_view magic8, std::string_view payload);

// Checks the frame and returns the payload; kDataLoss "PATH: reason" on any mismatch.
[[nodiscard]] absl::StatusOr<std::string> UnframeChecksummed(std::string_view magic8,
                                                             const std::string& path,
                                                             std::string contents);

// XXH3_64bits of data; the checksum used by every burnrate file format.
uint64_t Checksum64(std::string_view data);

}  // namespace burnrate
