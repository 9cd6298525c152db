#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "burnrate/scan.h"
#include "burnrate/types.h"
#include "engine/catalog.h"
#include "engine/db_impl.h"
#include "engine/memtable.h"

namespace burnrate {

// What a scan reads, resolved against the catalog once: the database, the requested
// fields and the selected series with their tags as views into the catalog (kept alive by
// series.pin). Shared by Db::Scan, Db::ScanRollups and Db::ResolveSeries.
struct ScanSelection {
  uint32_t db_id = 0;
  int64_t partition_duration = 0;
  std::vector<int64_t> field_ids;  // -1: the measurement has no such field
  std::vector<std::string> field_names;
  std::vector<FieldType> field_types;
  SeriesSet series;
};

enum class ScanFields : uint8_t {
  kAll,     // request.fields, or every field of the measurement when empty
  kRollup,  // as kAll, numeric fields only: a named non-numeric field is kInvalidArgument
  kNone,    // series only
};

// Series of database `database_id` that may have rows in a time range, as a bitmap by
// series id (1: maybe). Lets a selection skip, cheaply, the many series of a long-lived
// catalog that a short range does not touch.
struct SeriesCandidates {
  uint32_t database_id = 0;
  std::vector<uint8_t> maybe;
};

// Marks the series with rows in [min_time, max_time] in the version's segments of the
// database (by their series tables) and every series the memtables hold.
// Only segments of partitions in the request's share count (ScanRequest::partition_stride).
void FindCandidates(const Version& version, const Memtable* mem, const Memtable* imm,
                    uint32_t database_id, int64_t partition_duration, const ScanRequest& request,
                    SeriesCandidates* out);

// Resolves `request` (database, measurement, fields, tag matchers evaluated once per
// distinct tag value, series_filter, series_ids), considering only `candidates` when given
// (and still naming the same database). Tags are built only for candidate series. An
// unknown measurement selects nothing; kNotFound for an unknown database, kInvalidArgument
// for a bad regex.
[[nodiscard]] absl::Status SelectForScan(const Catalog& catalog, const ScanRequest& request,
                                         ScanFields fields, const SeriesCandidates* candidates,
                                         ScanSelection* out);

}  // namespace burnrate
