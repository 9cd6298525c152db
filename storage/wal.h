#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/file_system.h"

// The write-ahead log: one append-only file per memtable generation, a sequence of
// checksummed records. Byte layout: docs/format/wal.md. The payload of a record is opaque
// here (the engine encodes write batches and catalog operations into it).

namespace burnrate {

// Appends records to one WAL file. Not thread-safe; the engine's single writer owns it.
class WalWriter {
 public:
  // Creates path (truncating it) and writes the file header.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<WalWriter>> Create(FileSystem* fs,
                                                                         const std::string& path);
  // Appends to an existing WAL whose valid content ends at its current size (after
  // recovery truncated any torn tail).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<WalWriter>> OpenForAppend(
      FileSystem* fs, const std::string& path);
  ~WalWriter();

  // Appends one record (payload must be non-empty and < 1 GiB). Not durable until Sync.
  [[nodiscard]] absl::Status AddRecord(std::string_view payload);
  [[nodiscard]] absl::Status Sync();
  [[nodiscard]] absl::Status Close();
  // Bytes in the file so far.
  uint64_t size() const;

 private:
  explicit WalWriter(std::unique_ptr<WritableFile> file);
  std::unique_ptr<WritableFile> file_;
};

struct WalReadResult {
  uint64_t records = 0;
  // Offset just past the last good record: the length of the clean prefix.
  uint64_t valid_end = 0;
  // The file ends inside a record (or in a zero-filled tail): a crash cut the last
  // append short. Not an error; the caller truncates to valid_end.
  bool torn_tail = false;
  // A complete record failed its checksum or had an impossible length; everything from
  // corrupt_offset on is untrusted. ReadWal then returns kDataLoss.
  bool corrupt = false;
  uint64_t corrupt_offset = 0;
  uint64_t file_size = 0;
};

// Calls on_record(payload, offset) for each good record of the WAL at path, in order, and
// fills *result. Returns kDataLoss "PATH at offset N: reason" for a corrupt record or a bad
// file header (result->corrupt set, records before it already delivered); an error returned
// by on_record stops the read and is returned as is. A torn tail is not an error.
[[nodiscard]] absl::Status ReadWal(
    FileSystem* fs, const std::string& path,
    const std::function<absl::Status(std::string_view payload, uint64_t offset)>& on_record,
    WalReadResult* result);

}  // namespace burnrate
