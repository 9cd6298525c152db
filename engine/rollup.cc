#include "engine/rollup.h"

#include <algorithm>

namespace burnrate {

void AppendEmptyBucket(RollupBatch* b, TimestampNs start) {
  b->bucket_starts.push_back(start);
  for (RollupColumn& c : b->columns) {
    c.counts.push_back(0);
    if (c.type == FieldType::kFloat) {
      c.float_sums.push_back(0);
      c.float_mins.push_back(0);
      c.float_maxs.push_back(0);
    } else {
      c.int_sums.push_back(0);
      c.int_mins.push_back(0);
      c.int_maxs.push_back(0);
    }
  }
}

void MergeRollupBucket(const RollupColumn& src, size_t j, RollupColumn* dst, size_t i) {
  if (src.counts[j] == 0) return;
  const bool first = dst->counts[i] == 0;
  dst->counts[i] += src.counts[j];
  if (dst->type == FieldType::kFloat) {
    dst->float_sums[i] += src.float_sums[j];
    dst->float_mins[i] =
        first ? src.float_mins[j] : std::min(dst->float_mins[i], src.float_mins[j]);
    dst->float_maxs[i] =
        first ? src.float_maxs[j] : std::max(dst->float_maxs[i], src.float_maxs[j]);
  } else {
    dst->int_sums[i] += src.int_sums[j];
    dst->int_mins[i] = first ? src.int_mins[j] : std::min(dst->int_mins[i], src.int_mins[j]);
    dst->int_maxs[i] = first ? src.int_maxs[j] : std::max(dst->int_maxs[i], src.int_maxs[j]);
  }
}

void AccumulateRollups(std::span<const TimestampNs> times,
                       std::span<const ScanColumn* const> columns, int64_t width,
                       RollupBatch* out) {
  size_t r = 0;
  while (r < times.size()) {
    const TimestampNs start = BucketStart(times[r], width);
    size_t e = r;
    while (e < times.size() && BucketStart(times[e], width) == start) ++e;
    if (out->bucket_starts.empty() || out->bucket_starts.back() != start) {
      AppendEmptyBucket(out, start);
    }
    const size_t b = out->bucket_starts.size() - 1;
    for (size_t c = 0; c < columns.size(); ++c) {
      const ScanColumn& col = *columns[c];
      RollupColumn& dst = out->columns[c];
      if (!IsRollupType(col.type) || dst.type != col.type) continue;
      for (size_t k = r; k < e; ++k) {
        if (!col.IsValid(k)) continue;
        const bool first = dst.counts[b] == 0;
        ++dst.counts[b];
        if (col.type == FieldType::kFloat) {
          const double v = col.floats[k];
          dst.float_sums[b] += v;
          dst.float_mins[b] = first ? v : std::min(dst.float_mins[b], v);
          dst.float_maxs[b] = first ? v : std::max(dst.float_maxs[b], v);
        } else {
          const int64_t v = col.ints[k];
          dst.int_sums[b] += v;
          dst.int_mins[b] = first ? v : std::min(dst.int_mins[b], v);
          dst.int_maxs[b] = first ? v : std::max(dst.int_maxs[b], v);
        }
      }
    }
    r = e;
  }
}

}  // namespace burnrate
