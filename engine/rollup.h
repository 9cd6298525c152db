#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "burnrate/scan.h"
#include "burnrate/types.h"

// Rollups are stored inside each segment file as two extra "virtual" series, one per level
// (docs/format/rollups.md), with id kRollupSeriesBit | level. Each is a table with one row
// per (series, bucket), sorted by series then bucket; its time column is the row's ordinal.
// Columns (field ids): kRollupFieldBit | 0 the series id, kRollupFieldBit | 1 the bucket
// start, and for each numeric field f four columns kRollupFieldBit | (f + 1) << 2 | k:
// count, sum, min, max (null where the series lacks the field). A bucket whose sum
// overflowed 64 bits stores count -1 and is answered from raw rows.

namespace burnrate {

inline constexpr uint32_t kRollupSeriesBit = 1u << 31;
inline constexpr uint32_t kRollupFieldBit = 1u << 31;
// Series and field ids must stay below these for the virtual ids to be unique.
inline constexpr uint32_t kMaxSeriesId = 1u << 30;
inline constexpr uint32_t kMaxFieldId = 1u << 28;
inline constexpr uint32_t kRollupSeriesColumn = kRollupFieldBit | 0;
inline constexpr uint32_t kRollupBucketColumn = kRollupFieldBit | 1;

inline uint32_t RollupTableId(RollupLevel level) {
  return kRollupSeriesBit | static_cast<uint32_t>(level);
}
inline uint32_t RollupFieldId(uint32_t field_id, int k) {
  return kRollupFieldBit | (field_id + 1) << 2 | static_cast<uint32_t>(k);
}
inline bool IsRollupType(FieldType t) {
  return t == FieldType::kFloat || t == FieldType::kInteger || t == FieldType::kMoney;
}

inline TimestampNs BucketStart(TimestampNs t, int64_t width) {
  TimestampNs q = t / width;
  if (t % width < 0) --q;
  TimestampNs start;
  if (__builtin_mul_overflow(q, width, &start)) return INT64_MIN;
  return start;
}

// Aggregates rows (sorted by time, unique) into per-bucket rollups of each numeric column,
// appending to *out (which the caller has set up with one RollupColumn per input column,
// types matching). Columns of other types get count 0 buckets. Merges into the last bucket
// of *out when it has the same start (rows of one bucket may arrive in several calls, in
// time order).
void AccumulateRollups(std::span<const TimestampNs> times,
                       std::span<const ScanColumn* const> columns, int64_t width, RollupBatch* out);

// Adds bucket `j` of `src` into bucket `i` of `dst` (same type).
void MergeRollupBucket(const RollupColumn& src, size_t j, RollupColumn* dst, size_t i);

// Appends an empty (count 0) bucket to every column.
void AppendEmptyBucket(RollupBatch* b, TimestampNs start);

}  // namespace burnrate
