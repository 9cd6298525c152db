#pragma once

#include <cstdint>
#include <functional>
#include <limits>
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

// A replace-by-source import as listed by Db::ListSources.
struct SourceInfo {
  std::string database;
  std::string key;
  uint64_t points = 0;
  TimestampNs min_time = 0;
  TimestampNs max_time = 0;
  TimestampNs written_at = 0;  // when this version was written (wall clock)
};

// What Db::Delete removes: points of one database (of one measurement, or every
// measurement when empty), in [min_time, max_time], of the series matching every matcher.
struct DeleteRequest {
  std::string database;
  std::string measurement;
  TimestampNs min_time = std::numeric_limits<TimestampNs>::min();
  TimestampNs max_time = std::numeric_limits<TimestampNs>::max();
  std::vector<TagMatcher> tag_matchers;
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
  uint64_t compactions = 0;
  uint64_t compaction_bytes_read = 0;
  uint64_t compaction_bytes_written = 0;
  uint64_t flush_bytes_written = 0;
  // Bytes written to segments (flushes, imports, compactions, rewrites) per byte flushed.
  double write_amplification = 0;
  // The most segment files any one partition has.
  uint64_t max_files_per_partition = 0;
  uint64_t partitions = 0;
  uint64_t sources = 0;
  uint64_t partitions_dropped_by_retention = 0;
};

// Reports progress of long operations (backup, restore, verify): bytes done of total.
using ProgressCallback = std::function<void(uint64_t done_bytes, uint64_t total_bytes)>;

struct BackupOptions {
  // Called from the backing-up thread as files are copied; may be empty.
  ProgressCallback progress;
};

struct BackupReport {
  uint64_t files_copied = 0;   // copied byte by byte
  uint64_t files_linked = 0;   // hard-linked (same file system)
  uint64_t files_skipped = 0;  // already in the target with the same checksum (incremental)
  uint64_t bytes_copied = 0;
  uint64_t bytes_total = 0;  // of every file the backup lists
};

// A replace-by-source import too large for one batch (a month of billing rows): rows are
// added in batches and spilled to files as they come, so memory stays bounded whatever
// the source's size; nothing is visible until Commit, which atomically replaces the
// previous version of the source (the same guarantee as a batch with a source key).
// Destroying an import without Commit abandons it and deletes what it spilled.
// Not thread-safe; one thread drives an import. The Db must outlive it.
class SourceImport {
 public:
  virtual ~SourceImport() = default;
  // Validates and buffers the batch (its database must be the import's; its source key
  // empty or the import's). kInvalidArgument as Db::Write.
  [[nodiscard]] virtual absl::Status Add(const WriteBatch& batch) = 0;
  // Makes this version of the source live, durably. Later calls fail.
  [[nodiscard]] virtual absl::Status Commit() = 0;
  virtual uint64_t points_added() const = 0;
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

  // Applies the whole batch or nothing. A batch with a source key (WriteBatch::set_source)
  // atomically replaces every point written earlier under that key in that database:
  // readers, and a restart after a crash at any moment, see the whole old version or the
  // whole new one. Such a batch may be empty (the source then holds nothing).
  // kInvalidArgument for a bad point ("point N: ..."),
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

  // The series of a measurement matching all matchers, with their tags as views (no
  // copies): for callers that select series once and then scan subsets of them by id
  // (ScanRequest::series_ids). kNotFound for an unknown database, kInvalidArgument for a
  // bad regex; an unknown measurement gives an empty set.
  [[nodiscard]] virtual absl::StatusOr<SeriesSet> ResolveSeries(
      std::string_view database, std::string_view measurement,
      const std::vector<TagMatcher>& matchers) = 0;

  // Streams the requested rows to sink; see ScanBatch for the order. kNotFound for an
  // unknown database, kInvalidArgument for a bad regex, kDataLoss for a corrupt file.
  [[nodiscard]] virtual absl::Status Scan(const ScanRequest& request, const ScanSink& sink) = 0;

  // Starts a streaming replace-by-source import of `key` into `database`. Writes
  // acknowledged before this call rank below the import's rows for last-write-wins.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<SourceImport>> BeginSourceImport(
      std::string_view database, std::string_view key) = 0;

  // Lists the replace-by-source imports of a database (all databases when empty), by key.
  [[nodiscard]] virtual absl::StatusOr<std::vector<SourceInfo>> ListSources(
      std::string_view database) = 0;
  // Removes every point written under the source key. kNotFound when there is none.
  [[nodiscard]] virtual absl::Status DropSource(std::string_view database,
                                                std::string_view key) = 0;

  // Deletes the points the request selects, durably and atomically; they never reappear
  // (after compaction, restart or recovery). Points written after Delete starts are kept.
  [[nodiscard]] virtual absl::Status Delete(const DeleteRequest& request) = 0;

  // Drops every partition of each database whose end is older than now - retention.
  // Also runs in the background.
  [[nodiscard]] virtual absl::Status EnforceRetention() = 0;

  // Merges each partition's segments now (the background does it by size and age).
  [[nodiscard]] virtual absl::Status CompactAll() = 0;

  // Per-bucket aggregates of numeric fields, from stored rollups where they are exact and
  // from raw rows elsewhere; the same numbers a raw scan would give. *report (optional)
  // says which ranges came from where.
  [[nodiscard]] virtual absl::Status ScanRollups(const RollupRequest& request,
                                                 const RollupSink& sink,
                                                 RollupScanReport* report) = 0;

  // Flushes the memtable to segment files and returns once they are durable.
  [[nodiscard]] virtual absl::Status Flush() = 0;

  // Writes a consistent snapshot of every database, as of the moment the call starts, into
  // target_dir while writes continue. Segment files are hard-linked where possible and
  // copied otherwise; files already in target_dir with the same checksum are kept
  // (incremental backups). target_dir ends with BACKUP-MANIFEST, written last, listing every
  // file with its size and XXH3 checksum. Layout: docs/format/backup.md.
  [[nodiscard]] virtual absl::StatusOr<BackupReport> Backup(const std::string& target_dir,
                                                            const BackupOptions& options) = 0;

  virtual DbStats GetStats() = 0;
  virtual const RecoveryReport& recovery_report() const = 0;

  // Flushes, stops background work and releases the lock. Later calls fail with
  // kFailedPrecondition. Also done by the destructor.
  [[nodiscard]] virtual absl::Status Close() = 0;
};

}  // namespace burnrate
