#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/options.h"
#include "burnrate/scan.h"
#include "burnrate/types.h"
#include "burnrate/write_batch.h"

namespace burnrate {

struct DatabaseInfo {
  std::string name;
  DatabaseOptions options;
};

struct FieldInfo {
  std::string name;
  FieldType type;
};

struct SeriesInfo {
  uint32_t id;
  std::string measurement;
  std::vector<Tag> tags;
};

// What recovery found when the Db was opened.
struct RecoveryReport {
  uint64_t wal_records_replayed = 0;
  uint64_t points_replayed = 0;
  // A torn last record (cut short by a crash) that was truncated away, if any.
  bool torn_tail_truncated = false;
  // With Options::repair: each record or byte range dropped, "file at offset: reason".
  std::vector<std::string> dropped;
};

struct DbStats {
  uint64_t batches_written = 0;
  uint64_t points_written = 0;
  uint64_t wal_bytes_written = 0;
  uint64_t wal_syncs = 0;
  uint64_t memtable_bytes = 0;
  uint64_t memtable_points = 0;
  uint64_t flushes = 0;
  uint64_t flushed_points = 0;
  uint64_t segment_files = 0;
  uint64_t segment_bytes = 0;
  uint64_t segment_rows = 0;
  uint64_t series = 0;
  uint64_t databases = 0;
  // Approximate heap bytes of the catalog (series keys, dictionaries, indexes).
  uint64_t catalog_bytes = 0;
};

// A burnrate data directory opened in this process: the embedded database.
//
// Open takes an exclusive lock on the directory; a second opener (in this or another
// process) gets kFailedPrecondition. Write is durable per the database's fsync policy when
// it returns OK. Readers (Scan, List*) see a consistent snapshot and never block writers
// for longer than copying memtable rows.
//
// Thread-safe: every method may be called concurrently from any thread.
class Db {
 public:
  // Opens (and with create_if_missing creates) the data directory at path, replaying its
  // WAL. kDataLoss when a file is corrupt (see Options::repair), kFailedPrecondition when
  // the directory is locked.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path,
                                                                const Options& options);

  virtual ~Db() = default;

  // Applies the whole batch or nothing. kInvalidArgument for a bad point ("point N: ..."),
  // including a field whose type conflicts with its measurement's; kNotFound for an unknown
  // database; kResourceExhausted under back-pressure; kFailedPrecondition after Close.
  [[nodiscard]] virtual absl::Status Write(const WriteOptions& options,
                                           const WriteBatch& batch) = 0;

  // kAlreadyExists when present (with any options), kInvalidArgument for a bad name.
  [[nodiscard]] virtual absl::Status CreateDatabase(std::string_view name,
                                                    const DatabaseOptions& options) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<DatabaseInfo>> ListDatabases() = 0;
  // Removes the database, its catalog and its files. kNotFound when absent.
  [[nodiscard]] virtual absl::Status DropDatabase(std::string_view name) = 0;

  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> ListMeasurements(
      std::string_view database) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<FieldInfo>> ListFields(
      std::string_view database, std::string_view measurement) = 0;
  // Series of a measurement (every measurement when empty) matching all matchers.
  [[nodiscard]] virtual absl::StatusOr<std::vector<SeriesInfo>> ListSeries(
      std::string_view database, std::string_view measurement,
      const std::vector<TagMatcher>& matchers) = 0;

  // Streams the requested rows to sink; see ScanBatch for the order. kNotFound for an
  // unknown database, kInvalidArgument for a bad regex, kDataLoss for a corrupt file.
  [[nodiscard]] virtual absl::Status Scan(const ScanRequest& request, const ScanSink& sink) = 0;

  // Flushes the memtable to segment files and returns once they are durable.
  [[nodiscard]] virtual absl::Status Flush() = 0;

  virtual DbStats GetStats() = 0;
  virtual const RecoveryReport& recovery_report() const = 0;

  // Flushes, stops background work and releases the lock. Later calls fail with
  // kFailedPrecondition. Also done by the destructor.
  [[nodiscard]] virtual absl::Status Close() = 0;
};

}  // namespace burnrate
