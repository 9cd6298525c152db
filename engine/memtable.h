#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "burnrate/scan.h"
#include "burnrate/write_batch.h"
#include "engine/catalog.h"

namespace burnrate {

// Rows of one series in arrival order, columnar: one column per field id the series has
// been written with, validity as in ScanColumn (empty while every row is valid, which
// saves a byte per value for series whose points always carry the field).
struct MemSeries {
  std::vector<TimestampNs> times;
  std::vector<uint32_t> field_ids;  // parallel to columns
  std::vector<ScanColumn> columns;
  // Times strictly increasing in arrival order: reads need no sort and no dedup.
  bool in_order = true;
};

// The columnar in-memory buffer of recent writes, for every database. Writes append;
// reads copy rows out sorted by time with last-write-wins applied. A memtable is frozen
// (made immutable) when it is switched out for flushing.
//
// Thread-safe: Apply takes the writer lock, reads the reader lock.
class Memtable {
 public:
  Memtable() = default;

  // Appends every point of the batch. `resolved` gives the catalog ids.
  void Apply(const WriteBatch& batch, const ResolvedBatch& resolved);

  size_t ApproximateBytes() const;
  uint64_t points() const;
  bool empty() const { return points() == 0; }

  // Appends to *out the rows of (database_id, series_id) with min_time <= t <= max_time,
  // sorted and deduplicated, with one column per entry of field_ids (-1 or a field this
  // series lacks: nulls). out->columns must be sized and typed by the caller. Returns the
  // number of rows appended.
  size_t ReadSeries(uint32_t database_id, uint32_t series_id, TimestampNs min_time,
                    TimestampNs max_time, std::span<const int64_t> field_ids, ScanBatch* out) const;

  // True when the memtable holds rows of the series.
  bool HasSeries(uint32_t database_id, uint32_t series_id) const;

  std::vector<uint32_t> DatabaseIds() const;

  // Calls fn for every series of the database with rows, in series id order, with its rows
  // sorted and deduplicated. For flush; the memtable must be frozen (no concurrent Apply).
  void ForEachSeries(uint32_t database_id,
                     const std::function<void(uint32_t series_id, const MemSeries&)>& fn) const;

  // Calls fn(series_id) for every series of the database with rows, in id order, under
  // the reader lock (fn must not call back into the memtable).
  void ForEachSeriesId(uint32_t database_id, const std::function<void(uint32_t)>& fn) const;

  // Forgets every row of the database.
  void DropDatabase(uint32_t database_id);

 private:
  struct DatabaseRows {
    std::vector<std::unique_ptr<MemSeries>> series;  // indexed by series id
  };

  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint32_t, DatabaseRows> databases_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t points_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace burnrate
