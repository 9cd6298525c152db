#pragma once

// GROUP BY time() buckets, as InfluxDB 1.x computes them: aligned to multiples of the
// interval since the Unix epoch plus the offset, and with tz() to the zone's civil time
// (so day buckets start at local midnight, and a daylight-saving day is 23 or 25 hours).

#include <cstdint>

#include "absl/time/time.h"
#include "burnrate/types.h"
#include "query/select_plan.h"

namespace burnrate {

// The bucket [start, end) holding time t.
struct TimeWindow {
  TimestampNs start = 0;
  TimestampNs end = 0;
};

// g.has_window must be set.
TimeWindow WindowOf(const GroupingSpec& g, TimestampNs t);

// Seconds east of UTC of zone tz at instant t.
int32_t UtcOffsetSeconds(const absl::TimeZone& tz, TimestampNs t);

}  // namespace burnrate
