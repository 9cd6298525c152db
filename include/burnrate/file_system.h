#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace burnrate {

// A file being written sequentially. Data appended is durable only after Sync() returns OK.
// Not thread-safe; callers synchronise.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  [[nodiscard]] virtual absl::Status Append(std::string_view data) = 0;
  // Makes every byte appended so far durable (fdatasync).
  [[nodiscard]] virtual absl::Status Sync() = 0;
  [[nodiscard]] virtual absl::Status Close() = 0;
  // Bytes in the file, including those appended but not yet synced.
  virtual uint64_t Size() const = 0;
};

// A file read at arbitrary offsets. Thread-safe.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into scratch (which must hold n bytes); *result points
  // into scratch. A short read means end of file.
  [[nodiscard]] virtual absl::Status Read(uint64_t offset, size_t n, char* scratch,
                                          std::string_view* result) const = 0;
  virtual uint64_t Size() const = 0;
};

// Held while a data directory is in use; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

// Every file operation burnrate does goes through this interface, so tests can inject
// faults (failed writes and syncs, ENOSPC, lost unsynced data). Errors are absl::Status
// with the path in the message. Implementations are thread-safe.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The process-wide POSIX file system. Never null; never destroyed.
  static FileSystem* Default();

  // Creates or truncates path.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  // Opens path for appending, creating it if missing.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  [[nodiscard]] virtual absl::Status ReadFileToString(const std::string& path,
                                                      std::string* out) = 0;
  [[nodiscard]] virtual bool FileExists(const std::string& path) = 0;
  [[nodiscard]] virtual absl::StatusOr<uint64_t> GetFileSize(const std::string& path) = 0;
  // Names (not paths) of the entries of dir, unsorted, without "." and "..".
  [[nodiscard]] virtual absl::Status ListDir(const std::string& dir,
                                             std::vector<std::string>* names) = 0;
  // Creates dir and missing parents; OK when it exists.
  [[nodiscard]] virtual absl::Status CreateDirs(const std::string& dir) = 0;
  [[nodiscard]] virtual absl::Status DeleteFile(const std::string& path) = 0;
  // Removes an empty directory.
  [[nodiscard]] virtual absl::Status DeleteDir(const std::string& dir) = 0;
  // Atomic replace of `to` by `from` (rename(2)); durable after SyncDir of the parent.
  [[nodiscard]] virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Hard link; kUnimplemented where links are not possible (callers then copy).
  [[nodiscard]] virtual absl::Status LinkFile(const std::string& from, const std::string& to) = 0;
  [[nodiscard]] virtual absl::Status Truncate(const std::string& path, uint64_t size) = 0;
  // Makes the directory's entries (creations, renames, deletions) durable.
  [[nodiscard]] virtual absl::Status SyncDir(const std::string& dir) = 0;
  // An exclusive advisory lock on path (created if missing). kFailedPrecondition when another
  // process (or another lock in this process) holds it.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& path) = 0;
};

}  // namespace burnrate
