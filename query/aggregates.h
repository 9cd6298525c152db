#pragma once

// Aggregation state: one object per aggregate per shard, holding the state of every
// (group, bucket) cell in flat arrays indexed by cell number. Rows arrive as runs of one
// column that fall into one cell; the inner loops run over contiguous column data (the
// money sum is base/money_sum.h's vectorised exact kernel).
//
// Results are independent of how rows are split into runs and of the order of merges
// except for float sums, which the executor keeps deterministic by a fixed shard order.
// Ties between equal points are broken by time, then value, then engine series id, never
// by arrival order.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "burnrate/query_result.h"
#include "burnrate/scan.h"
#include "query/select_plan.h"

namespace burnrate {

inline constexpr uint64_t kNoSeries = std::numeric_limits<uint64_t>::max();

// Where a run of rows comes from.
struct RowSource {
  uint32_t sid = 0;                 // engine series id (tie-break between equal points)
  uint64_t series_ref = kNoSeries;  // the executor's handle to the series' tags
  std::span<const TagView> tags;    // the series' tags (top/bottom tag arguments)
};

// One output of an aggregate for a cell.
struct AggPoint {
  ResultValue value;
  bool has_time = false;  // a selector's point: `time` is that point's time
  TimestampNs time = 0;
  uint64_t series_ref = kNoSeries;
  std::vector<std::string> tag_values;  // top/bottom with tag arguments
};

// The state of one aggregate over all cells of one shard.
// Not thread-safe: each shard owns its states; merging reads another shard's state after
// that shard has finished.
class AggState {
 public:
  virtual ~AggState() = default;

  // Makes room for cells [0, n).
  virtual void Resize(size_t n) = 0;
  // Rows [begin, end) of col (times ascending), all in `cell`.
  virtual void AddRows(uint32_t cell, const ScanColumn& col, const TimestampNs* times, size_t begin,
                       size_t end, const RowSource& src) = 0;
  // Bucket i of a rollup column (only for IsRollupAnswerable functions).
  virtual void AddRollup(uint32_t cell, const RollupColumn& col, size_t i, TimestampNs time,
                         const RowSource& src);
  // Folds other's cell into this state's cell; other has the same spec.
  virtual void Merge(uint32_t cell, const AggState& other, uint32_t other_cell) = 0;
  // The cell's result: one point (perhaps null) for most functions, zero or more for
  // top, bottom and distinct.
  virtual void Emit(uint32_t cell, std::vector<AggPoint>* out) const = 0;
  // Approximate heap bytes held, for the memory limit.
  virtual size_t Bytes() const = 0;
};

// The state for `spec`.
std::unique_ptr<AggState> NewAggState(const AggSpec& spec);

// The value of row i of a scan column as a result value (null when invalid).
ResultValue ColumnValue(const ScanColumn& col, size_t i);

}  // namespace burnrate
