#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace burnrate {

class FileSystem;

// When an acknowledged write is durable.
enum class FsyncPolicy : uint8_t {
  kAlways = 0,    // Write returns only after the WAL is fsynced (group commit shares fsyncs).
  kInterval = 1,  // fsync every Options::fsync_interval_ms; a crash loses at most that window.
  kNone = 2,      // Never fsync the WAL explicitly; the OS decides.
};

std::string_view FsyncPolicyName(FsyncPolicy policy);

// Per-database settings, fixed at CreateDatabase and persisted in the catalog.
struct DatabaseOptions {
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  // Width of a time partition; every segment file holds rows of one partition only.
  int64_t partition_duration_ns = 24LL * 3600 * 1'000'000'000;
  // Partitions whose end is older than now - retention are dropped whole; 0 keeps forever.
  int64_t retention_ns = 0;
};

// Options for Db::Open.
struct Options {
  bool create_if_missing = true;
  // Open even when the WAL holds a corrupt record in its middle: keep the clean prefix and
  // report what was dropped in Db::recovery_report(). Without it such a WAL is kDataLoss.
  bool repair = false;
  // The memtable is flushed to segments when it holds this many bytes ...
  size_t memtable_bytes = 64 << 20;
  // ... or when its oldest write is this old.
  int64_t memtable_max_age_ms = 5 * 60 * 1000;
  // Period of the WAL fsync for databases with FsyncPolicy::kInterval.
  int64_t fsync_interval_ms = 100;
  // Run flushes in a background thread. When false, flushes happen only on Flush() and
  // synchronously inside Write when the memtable is full (deterministic tests).
  bool background_work = true;
  // All file operations go through this; null means FileSystem::Default(). Must outlive
  // the Db.
  FileSystem* file_system = nullptr;
  // Receives informational log lines (recovery, flushes). Null logs to stderr.
  std::function<void(std::string_view)> info_log;
};

// Options for one Db::Write.
struct WriteOptions {
  // Overrides the database's fsync policy for this write.
  std::optional<FsyncPolicy> fsync;
};

}  // namespace burnrate
