#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "burnrate/db.h"
#include "burnrate/file_system.h"
#include "engine/catalog.h"
#include "engine/memtable.h"
#include "storage/manifest.h"
#include "storage/segment.h"
#include "storage/wal.h"

namespace burnrate {

struct ScanSelection;             // engine/scan_select.h
enum class ScanFields : uint8_t;  // engine/scan_select.h

// A live segment file. Shared by the versions that list it; when the last reference goes
// and the file has been removed from the manifest, the file is deleted.
// Thread-safe (immutable after construction but for `obsolete`).
// File numbers of segments some SegmentHandle still refers to (a version a reader or a
// backup holds), so garbage collection leaves their files alone. Thread-safe.
class SegmentRegistry {
 public:
  void Hold(uint64_t n) {
    absl::MutexLock lock(&mu_);
    held_.insert(n);
  }
  void Release(uint64_t n) {
    absl::MutexLock lock(&mu_);
    auto it = held_.find(n);
    if (it != held_.end()) held_.erase(it);
  }
  void AppendHeld(std::vector<uint64_t>* out) {
    absl::MutexLock lock(&mu_);
    out->insert(out->end(), held_.begin(), held_.end());
  }

 private:
  absl::Mutex mu_;
  std::multiset<uint64_t> held_ ABSL_GUARDED_BY(mu_);
};

struct SegmentHandle {
  ManifestSegment meta;
  std::shared_ptr<SegmentRegistry> registry;
  std::string path;
  std::unique_ptr<SegmentReader> reader;
  FileSystem* fs = nullptr;
  std::atomic<bool> obsolete{false};
  ~SegmentHandle();
};

// An immutable set of live segments, sorted by (database id, partition start, file number).
// Readers hold a shared_ptr to the version they started with. Thread-safe (immutable).
struct Version {
  std::vector<std::shared_ptr<SegmentHandle>> segments;
};

// The engine behind Db. Layout of the data directory and recovery: docs/format/README.md.
//
// Writes go through a queue of writers; the one at the front (the leader) commits the
// whole queue as a group: one WAL append per batch and one fsync for the group. Flushes run
// on a background thread (or inline when Options::background_work is false). Readers take
// the current version and memtables under mu_ briefly and then read without it.
//
// Thread-safe.
class DbImpl : public Db {
 public:
  DbImpl(std::string path, const Options& options);
  ~DbImpl() override;

  [[nodiscard]] absl::Status Recover();

  absl::Status Write(const WriteOptions& options, const WriteBatch& batch) override;
  absl::Status CreateDatabase(std::string_view name, const DatabaseOptions& options) override;
  absl::StatusOr<std::vector<DatabaseInfo>> ListDatabases() override;
  absl::Status DropDatabase(std::string_view name) override;
  absl::StatusOr<std::vector<std::string>> ListMeasurements(std::string_view database) override;
  absl::StatusOr<std::vector<FieldInfo>> ListFields(std::string_view database,
                                                    std::string_view measurement) override;
  absl::StatusOr<std::vector<SeriesInfo>> ListSeries(
      std::string_view database, std::string_view measurement,
      const std::vector<TagMatcher>& matchers) override;
  absl::StatusOr<SeriesSet> ResolveSeries(std::string_view database, std::string_view measurement,
                                          const std::vector<TagMatcher>& matchers) override;
  absl::Status Scan(const ScanRequest& request, const ScanSink& sink) override;
  absl::Status Flush() override;
  absl::StatusOr<BackupReport> Backup(const std::string& target_dir,
                                      const BackupOptions& options) override;
  absl::StatusOr<std::unique_ptr<SourceImport>> BeginSourceImport(std::string_view database,
                                                                  std::string_view key) override;
  absl::StatusOr<std::vector<SourceInfo>> ListSources(std::string_view database) override;
  absl::Status DropSource(std::string_view database, std::string_view key) override;
  absl::Status Delete(const DeleteRequest& request) override;
  absl::Status EnforceRetention() override;
  absl::Status CompactAll() override;
  absl::Status ScanRollups(const RollupRequest& request, const RollupSink& sink,
                           RollupScanReport* report) override;
  DbStats GetStats() override;

  // A consistent set of files for a backup: the manifest as it would be written now, the
  // catalog snapshot it names (read into memory, so a later catalog change cannot delete
  // it under the backup), and the live segments, kept from deletion while `version` is held.
  struct BackupSnapshot {
    std::string manifest_bytes;
    std::string catalog_name;  // empty when there is no catalog snapshot
    std::string catalog_bytes;
    std::shared_ptr<const Version> version;
  };
  // Flushes the memtable first, so the snapshot holds every write acknowledged before the
  // call.
  [[nodiscard]] absl::StatusOr<BackupSnapshot> PinSnapshot();
  const std::string& path() const { return path_; }
  FileSystem* file_system() const { return fs_; }
  const RecoveryReport& recovery_report() const override { return report_; }
  absl::Status Close() override;

 private:
  // What a scan or rollup scan reads: the current version and memtables, and the series
  // of `request` selected among those with rows in its time range (only they get tags).
  absl::Status SnapshotForScan(const ScanRequest& request, ScanFields fields,
                               std::shared_ptr<const Version>* version,
                               std::shared_ptr<Memtable>* mem, std::shared_ptr<Memtable>* imm,
                               ScanSelection* sel);

  enum class WriterKind { kBatch, kSync, kSwitch };
  struct Writer {
    WriterKind kind = WriterKind::kBatch;
    const WriteBatch* batch = nullptr;
    WriteOptions options;
    absl::Status status;
    bool done = false;
    absl::CondVar cv;
  };

  absl::Status EnqueueAndWait(Writer* w);
  // Leader only (front of writers_), mu_ held: makes room in the memtable, switching it
  // out and waiting for (or running) a flush as needed.
  absl::Status MakeRoomForWrite(bool force_switch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SwitchMemtable() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RotateWalAfterError() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Creates the next WAL file and makes it (and its name) durable before using it.
  absl::Status OpenNewWal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Writes the immutable memtable to segments and installs them; mu_ not held.
  absl::Status FlushImmutable() ABSL_LOCKS_EXCLUDED(mu_);
  // Runs FlushImmutable if imm_ is set and no flush is running; mu_ held on entry and exit.
  void MaybeFlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void BackgroundLoop();

  // Writes a catalog snapshot (when changed) and a manifest listing `segments`, with
  // log_number; manifest_mu_ held. Installs nothing.
  absl::Status WriteCatalogAndManifest(const std::vector<std::shared_ptr<SegmentHandle>>& segments,
                                       uint64_t log_number,
                                       const std::vector<ManifestSource>& sources,
                                       uint64_t next_source_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(manifest_mu_);
  // Writes the rows of every database in `rows` to new segment files (one per partition,
  // with rollups), durable, not yet in any manifest. On error nothing is left behind.
  // File numbers of segments one operation is writing, protected from garbage collection
  // until the operation commits or fails (then released by the destructor). Not
  // thread-safe; one per operation.
  class PendingOutputs {
   public:
    explicit PendingOutputs(DbImpl* db) : db_(db) {}
    ~PendingOutputs();
    PendingOutputs(const PendingOutputs&) = delete;
    PendingOutputs& operator=(const PendingOutputs&) = delete;
    uint64_t NewFileNumber();

   private:
    DbImpl* db_;
    std::vector<uint64_t> numbers_;
  };
  absl::Status WriteRowsToSegments(const Memtable& rows, uint64_t source_id,
                                   PendingOutputs* pending,
                                   std::vector<std::shared_ptr<SegmentHandle>>* added);
  absl::StatusOr<std::shared_ptr<SegmentHandle>> OpenSegmentHandle(const ManifestSegment& entry);

  // Maintenance (engine/db_maintenance.cc).
  absl::Status WriteSource(const WriteBatch& batch);
  friend class SourceImportImpl;
  // Makes `added` (written under pending) the live version of source `key`, replacing
  // the previous one; manifest_mu_ must not be held.
  absl::Status CommitSource(uint32_t database_id, const std::string& key, uint64_t points,
                            std::vector<std::shared_ptr<SegmentHandle>> added);
  // Picks and runs one compaction; false when there is nothing to do.
  absl::StatusOr<bool> CompactOnce(bool force);
  // Replaces `remove` by `add` in the live set with one manifest commit; manifest_mu_ held.
  absl::Status CommitSegmentChange(const std::vector<std::shared_ptr<SegmentHandle>>& remove,
                                   const std::vector<std::shared_ptr<SegmentHandle>>& add,
                                   const std::vector<ManifestSource>& sources,
                                   uint64_t next_source_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(manifest_mu_);
  // Replaces the current version; marks segments that left it obsolete.
  void InstallVersion(std::vector<std::shared_ptr<SegmentHandle>> segments)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DeleteObsoleteFiles() ABSL_LOCKS_EXCLUDED(mu_, manifest_mu_);
  void DeleteObsoleteFilesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(manifest_mu_);

  absl::Status ReplayWal(const std::string& file);
  bool closed_flag() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return closed_;
  }
  absl::Status ApplyReplayed(std::string_view payload);

  std::string WalPath(uint64_t number) const;
  std::string SegmentPath(uint64_t number) const;
  std::string CatalogFileName(uint64_t number) const;
  void Log(std::string_view line) const;

  const std::string path_;
  const Options options_;
  FileSystem* const fs_;
  std::unique_ptr<FileLock> lock_;
  Catalog catalog_;
  RecoveryReport report_;

  // Serialises manifest writes (flush install, database create/drop). Acquired before mu_.
  absl::Mutex manifest_mu_;
  uint64_t catalog_file_number_ ABSL_GUARDED_BY(manifest_mu_) = 0;
  uint64_t catalog_change_count_ ABSL_GUARDED_BY(manifest_mu_) = ~0ull;
  uint64_t log_number_ ABSL_GUARDED_BY(manifest_mu_) = 0;
  std::vector<ManifestSource> sources_ ABSL_GUARDED_BY(manifest_mu_);
  uint64_t next_source_id_ ABSL_GUARDED_BY(manifest_mu_) = 1;
  // Set when writing MANIFEST failed: the new one may have reached the disk all the same
  // (say its directory fsync failed after the rename), naming files the in-memory state
  // does not. No file is garbage-collected until a later manifest write succeeds.
  bool manifest_uncertain_ ABSL_GUARDED_BY(manifest_mu_) = false;

  absl::Mutex mu_;
  absl::CondVar bg_cv_;     // wakes the background thread
  absl::CondVar flush_cv_;  // signalled when a flush ends
  std::deque<Writer*> writers_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Memtable> mem_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Memtable> imm_ ABSL_GUARDED_BY(mu_);
  int64_t mem_created_micros_ ABSL_GUARDED_BY(mu_) = 0;
  // WAL files numbered below this hold only imm_ and older data.
  uint64_t imm_log_number_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<const Version> version_ ABSL_GUARDED_BY(mu_);
  // Owned by the leader writer; replaced only by the leader (or Recover/Close).
  std::unique_ptr<WalWriter> wal_;
  uint64_t wal_number_ ABSL_GUARDED_BY(mu_) = 0;
  bool wal_dirty_ ABSL_GUARDED_BY(mu_) = false;  // appended since the last sync
  int64_t last_wal_sync_micros_ ABSL_GUARDED_BY(mu_) = 0;
  // Atomic so a flush can number files while holding a memtable's lock without mu_.
  std::atomic<uint64_t> next_file_number_{1};
  bool flushing_ ABSL_GUARDED_BY(mu_) = false;
  // File numbers of segments being written and not yet committed; not garbage.
  const std::shared_ptr<SegmentRegistry> segment_registry_ = std::make_shared<SegmentRegistry>();
  absl::Mutex pending_mu_;
  std::multiset<uint64_t> pending_outputs_ ABSL_GUARDED_BY(pending_mu_);
  absl::Status bg_error_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::thread bg_thread_;

  // Statistics.
  std::atomic<uint64_t> batches_written_{0};
  std::atomic<uint64_t> points_written_{0};
  std::atomic<uint64_t> wal_bytes_{0};
  std::atomic<uint64_t> wal_syncs_{0};
  std::atomic<uint64_t> flushes_{0};
  std::atomic<uint64_t> flushed_points_{0};
  std::atomic<uint64_t> flush_bytes_{0};
  std::atomic<uint64_t> compactions_{0};
  std::atomic<uint64_t> compaction_bytes_read_{0};
  std::atomic<uint64_t> compaction_bytes_written_{0};
  std::atomic<uint64_t> retention_drops_{0};
  int64_t last_retention_micros_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace burnrate
