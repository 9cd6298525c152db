#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "burnrate/db.h"

// Restoring and checking backups made by Db::Backup, and checking data directories.
// Layout of a backup: docs/format/backup.md.

namespace burnrate {

class FileSystem;

struct RestoreOptions {
  // Null means FileSystem::Default(). Must outlive the call.
  FileSystem* file_system = nullptr;
  // Called from the restoring thread as bytes are checked and copied; may be empty.
  ProgressCallback progress;
};

struct RestoreReport {
  uint64_t files_restored = 0;
  uint64_t bytes_restored = 0;
  // When the backup was taken (BACKUP-MANIFEST), ns since the Unix epoch.
  int64_t backup_time_unix_ns = 0;
};

// Copies the backup at backup_dir into target_dir, which must be empty or absent
// (kFailedPrecondition otherwise), and returns OK only when every file matched its size and
// XXH3 checksum in BACKUP-MANIFEST, every segment's block checksums verified, and the
// manifest and catalog frames checked. The restored MANIFEST is written last and durably,
// so an interrupted or failed restore never leaves a directory that opens as a partial
// database: on failure the files written so far are removed and target_dir holds no
// MANIFEST. kDataLoss names the backup file and offset of the first mismatch;
// kFailedPrecondition when backup_dir has no BACKUP-MANIFEST (not a backup, or one that was
// interrupted); kNotFound when backup_dir does not exist.
[[nodiscard]] absl::StatusOr<RestoreReport> RestoreBackup(const std::string& backup_dir,
                                                          const std::string& target_dir,
                                                          const RestoreOptions& options);

struct VerifyOptions {
  // Null means FileSystem::Default(). Must outlive the call.
  FileSystem* file_system = nullptr;
  // Called from the verifying thread as bytes are checked; may be empty.
  ProgressCallback progress;
};

struct VerifyReport {
  // The directory holds a backup (it has BACKUP-MANIFEST); otherwise a data directory.
  bool is_backup = false;
  uint64_t files_checked = 0;
  uint64_t bytes_checked = 0;
  // One line per problem, "FILE at offset N: what" (or the reader's own message, which names
  // the file and offset too). Empty when everything checked out.
  std::vector<std::string> problems;
  // Findings that are not damage: a WAL's torn tail (recovery truncates it), files a live
  // database removed while they were being checked, files no manifest names.
  std::vector<std::string> notes;
};

// Checks every checksum of a data directory or of a backup: the MANIFEST and catalog frames,
// every block of every segment the MANIFEST names, every WAL record, and for a backup the size
// and checksum of every file BACKUP-MANIFEST lists. Damage is reported in
// VerifyReport::problems with an OK status (the caller decides what to do); a non-OK status
// means the check itself could not run (kNotFound: dir is not a data directory or backup).
//
// It only reads, so it may run on the directory of a live database: files that the database
// deletes while they are being checked (segments replaced by a flush or compaction, old WAL
// files) are re-checked against a fresh read of MANIFEST and reported as notes, and the WAL
// being appended to may show a torn tail, also a note.
[[nodiscard]] absl::StatusOr<VerifyReport> VerifyDirectory(const std::string& dir,
                                                           const VerifyOptions& options);

}  // namespace burnrate
