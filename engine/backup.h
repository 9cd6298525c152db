#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

// BACKUP-MANIFEST, the file a backup writes last: every file of the backup with its size and
// checksums. Byte layout: docs/format/backup.md. The backup, restore and verify code that
// uses it is in engine/backup.cc; the public entry points are Db::Backup and
// include/burnrate/backup.h.

namespace burnrate {

inline constexpr char kBackupManifestName[] = "BACKUP-MANIFEST";
inline constexpr char kBackupManifestMagic[] = "BRBACKP1";
// Files are checksummed whole and in pieces of this many bytes, so a mismatch can be
// placed within a file.
inline constexpr uint64_t kBackupChunkBytes = uint64_t{1} << 20;

struct BackupFileEntry {
  // Relative to the backup directory, '/'-separated: "MANIFEST", "CATALOG-000007",
  // "segments/000012.seg".
  std::string path;
  uint64_t size = 0;
  // XXH3_64bits of the whole file.
  uint64_t checksum = 0;
  // XXH3_64bits of bytes [i * chunk_bytes, (i + 1) * chunk_bytes) of the file; one entry per
  // started chunk (none for an empty file).
  std::vector<uint64_t> chunk_checksums;
  friend bool operator==(const BackupFileEntry&, const BackupFileEntry&) = default;
};

struct BackupManifest {
  // When the backup's snapshot was taken, ns since the Unix epoch.
  int64_t created_unix_ns = 0;
  // The data directory backed up, as the backing-up process named it (for people).
  std::string source_dir;
  uint64_t chunk_bytes = kBackupChunkBytes;
  // Sorted by path.
  std::vector<BackupFileEntry> files;
  friend bool operator==(const BackupManifest&, const BackupManifest&) = default;
};

// The whole file, framed and checksummed like MANIFEST.
std::string EncodeBackupManifest(const BackupManifest& m);
// kDataLoss naming path and offset when contents is not a valid BACKUP-MANIFEST, including
// a file path that could escape the backup directory.
[[nodiscard]] absl::StatusOr<BackupManifest> DecodeBackupManifest(const std::string& path,
                                                                  std::string contents);

}  // namespace burnrate
