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

// Largest record payload the format allows (1 GiB); larger lengths mark a corrupt record.
inline constexpr uint32_t kWalMaxRecordPayload = uint32_t{1} << 30;
// Bytes before the first record: magic, format version, header checksum.
inline constexpr uint64_t kWalFileHeaderSize = 16;
// Bytes before each record's payload: fixed32 length, fixed64 checksum.
inline constexpr uint64_t kWalRecordHeaderSize = 12;

// Appends records to one WAL file. It owns the open file; the FileSystem passed to Create
// or OpenForAppend is not kept. After an Append or Sync failure the file may end in a
// partial record, so every later AddRecord and Sync returns that first error: the engine
// must stop using this file (recovery treats the partial record as a torn tail).
// Not thread-safe; the engine's single writer owns it.
class WalWriter {
 public:
  // Creates path (truncating it) and writes the file header. Nothing is durable until
  // Sync, and the new directory entry only after the caller syncs the parent directory.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<WalWriter>> Create(FileSystem* fs,
                                                                         const std::string& path);
  // Appends to an existing WAL whose valid content ends at its current size (after
  // recovery truncated any torn tail). An empty or missing file gets a new header. Returns
  // kDataLoss when the file header is bad and kFailedPrecondition when the file holds only
  // part of a header (truncate it to ReadWal's valid_end, 0, first).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<WalWriter>> OpenForAppend(
      FileSystem* fs, const std::string& path);
  // Closes the file if Close was not called, ignoring errors; unsynced records may be lost.
  ~WalWriter();

  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;

  // Appends one record with a single WritableFile::Append. The payload must be non-empty
  // (kInvalidArgument) and at most kWalMaxRecordPayload bytes (kResourceExhausted). Not
  // durable until Sync.
  [[nodiscard]] absl::Status AddRecord(std::string_view payload);
  // Makes every record added so far durable.
  [[nodiscard]] absl::Status Sync();
  // Closes the file without syncing it. Later calls return kFailedPrecondition.
  [[nodiscard]] absl::Status Close();
  // Bytes in the file so far, header included.
  uint64_t size() const;

 private:
  explicit WalWriter(std::unique_ptr<WritableFile> file);
  [[nodiscard]] absl::Status Append(std::string_view bytes);

  std::unique_ptr<WritableFile> file_;
  // The first Append or Sync error; once set, the file's tail is unknown.
  absl::Status status_;
  bool closed_ = false;
  // Reused across AddRecord calls so that a record costs one allocation-free Append.
  std::string record_;
};

struct WalReadResult {
  // Records delivered to on_record (and accepted by it).
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
// fills *result. offset is where the record starts in the file; payload is valid only
// during the call. Returns kDataLoss "PATH at offset N: reason" for a corrupt record or a
// bad file header (result->corrupt set, records before it already delivered); an error
// returned by on_record stops the read and is returned as is. A torn tail is not an error.
// The file is read in chunks of a few MiB, not one call per record.
[[nodiscard]] absl::Status ReadWal(
    FileSystem* fs, const std::string& path,
    const std::function<absl::Status(std::string_view payload, uint64_t offset)>& on_record,
    WalReadResult* result);

}  // namespace burnrate
