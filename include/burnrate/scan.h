#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "burnrate/types.h"

namespace burnrate {

// One condition on a series' tags. A series lacking the key has the empty value for it, as
// in InfluxQL (so `key != 'x'` matches it and `key = 'x'` does not).
struct TagMatcher {
  enum class Op : uint8_t { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };
  std::string key;
  Op op = Op::kEqual;
  std::string value;  // the literal, or an ECMAScript regular expression for the regex ops
};

// What to read: one measurement of one database, a time range, a series selection and a
// list of fields.
struct ScanRequest {
  std::string database;
  std::string measurement;
  TimestampNs min_time = std::numeric_limits<TimestampNs>::min();  // inclusive
  TimestampNs max_time = std::numeric_limits<TimestampNs>::max();  // inclusive
  // All must hold (AND). Evaluated once per series, never per row.
  std::vector<TagMatcher> tag_matchers;
  // Optional further selection, called once per candidate series with its sorted tags.
  std::function<bool(std::span<const TagView>)> series_filter;
  // When set, the candidate series are these ids (ascending, e.g. from a SeriesSet that
  // Db::ResolveSeries returned) instead of every series of the measurement: a caller that
  // has resolved the series once reads subsets of them without the catalog walk. Ids of
  // other measurements or unknown ids are skipped; tag_matchers and series_filter still
  // apply.
  std::optional<std::vector<uint32_t>> series_ids;
  // Fields to return, in this order; empty means every field of the measurement. A field
  // the measurement does not have is returned as an all-null column of type kFloat.
  std::vector<std::string> fields;
  // A share of the time partitions, for callers that scan in parallel without reading a
  // block twice: only partitions whose index (floor(partition start / partition duration),
  // as ScanBatch::partition) is congruent to partition_phase modulo partition_stride are
  // read. The default reads every partition.
  uint32_t partition_stride = 1;
  uint32_t partition_phase = 0;
};

// Whether partition index `partition` is in the share (stride, phase) of a ScanRequest.
inline bool InPartitionShare(int64_t partition, uint32_t stride, uint32_t phase) {
  if (stride <= 1) return true;
  const int64_t m = partition % static_cast<int64_t>(stride);
  return (m < 0 ? m + static_cast<int64_t>(stride) : m) == static_cast<int64_t>(phase);
}

// Series of one measurement resolved once against the catalog (Db::ResolveSeries): ids
// ascending, each with its tags sorted by key as views into the catalog's interned
// strings, which stay valid as long as the SeriesSet lives (even if the database is
// dropped meanwhile). Immutable once returned; thread-safe.
struct SeriesSet {
  std::vector<uint32_t> ids;
  std::vector<uint32_t> tag_begin;  // tags of series i: [tag_begin[i], tag_begin[i + 1])
  std::vector<TagView> tag_views;
  std::shared_ptr<const void> pin;  // keeps the strings alive

  size_t size() const { return ids.size(); }
  std::span<const TagView> tags(size_t i) const {
    return std::span<const TagView>(tag_views.data() + tag_begin[i],
                                    tag_begin[i + 1] - tag_begin[i]);
  }
};

// A decoded column of a ScanBatch. Exactly one of the value vectors is used, by type:
// ints for kInteger, kMoney (units), kBoolean (0/1) and kUnsigned (bit pattern);
// floats for kFloat; strings for kString. Rows where the field is absent are null.
struct ScanColumn {
  std::string name;
  FieldType type = FieldType::kFloat;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  // Empty when every row is valid; otherwise one byte (0 or 1) per row.
  std::vector<uint8_t> valid;

  bool IsValid(size_t row) const { return valid.empty() || valid[row] != 0; }
};

// Rows of one series, sorted by time, unique times (last write wins already applied),
// within the requested range. A series may arrive in several batches (per partition and
// bounded in size); batches of one series arrive in time order and series in id order.
struct ScanBatch {
  uint32_t series_id = 0;
  int64_t partition = 0;          // index of the rows' partition: floor(its start / its duration)
  std::span<const TagView> tags;  // sorted by key; valid during the sink call
  std::vector<TimestampNs> times;
  std::vector<ScanColumn> columns;  // in ScanRequest::fields order

  size_t rows() const { return times.size(); }
};

// Rollup granularity; buckets are aligned to multiples of their width since the Unix epoch
// (UTC).
enum class RollupLevel : uint8_t { kHour = 0, kDay = 1 };

inline constexpr int64_t RollupWidthNs(RollupLevel level) {
  return level == RollupLevel::kHour ? 3600LL * 1'000'000'000 : 86400LL * 1'000'000'000;
}

// Aggregates of one numeric field (kFloat, kInteger, kMoney) per bucket: the count of
// non-null values, their sum (exact for kInteger/kMoney: ints; floats summed in time order),
// min and max. Vectors are parallel to RollupBatch::bucket_starts; a bucket where the
// field has no value has count 0 (and zeros elsewhere).
struct RollupColumn {
  std::string name;
  FieldType type = FieldType::kFloat;
  std::vector<int64_t> counts;
  // kInteger / kMoney: sums as exact 128-bit integers, min and max as ints.
  std::vector<__int128> int_sums;
  std::vector<int64_t> int_mins;
  std::vector<int64_t> int_maxs;
  // kFloat.
  std::vector<double> float_sums;
  std::vector<double> float_mins;
  std::vector<double> float_maxs;
};

// Buckets of one series in one time partition, in time order. Every bucket is the
// aggregate of the raw rows of that bucket which lie in the requested range (so edge
// buckets cover only part of it). Batches come partition by partition, in time order, and
// within a partition in series id order; a series therefore arrives in several batches.
// A bucket wider than the database's partitions (a day bucket over hourly partitions)
// arrives in parts, one per partition: add them (counts and sums add, min/max combine).
struct RollupBatch {
  uint32_t series_id = 0;
  int64_t partition = 0;          // index of the partition, as ScanBatch::partition
  std::span<const TagView> tags;  // sorted by key; valid during the sink call
  std::vector<TimestampNs> bucket_starts;
  std::vector<RollupColumn> columns;  // in RollupRequest::fields order
};

struct RollupRequest {
  ScanRequest scan;  // fields must be numeric (kFloat, kInteger, kMoney)
  RollupLevel level = RollupLevel::kHour;
};

// Where a rollup scan's answers came from: time ranges (inclusive) answered from stored
// rollups, and from raw rows (ragged edges, partitions with overlapping files, memtable
// data), merged across series into sorted, non-overlapping ranges.
struct RollupScanReport {
  std::vector<std::pair<TimestampNs, TimestampNs>> from_rollups;
  std::vector<std::pair<TimestampNs, TimestampNs>> from_raw;
  uint64_t rollup_buckets_read = 0;
  uint64_t raw_rows_read = 0;
};

using RollupSink = std::function<absl::Status(const RollupBatch&)>;

// Receives scan output; returning an error stops the scan and Scan returns that error.
// The batch is valid only during the call.
using ScanSink = std::function<absl::Status(const ScanBatch&)>;

}  // namespace burnrate
