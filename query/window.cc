#include "query/window.h"

#include <cstdlib>
#include <limits>

namespace burnrate {
namespace {

constexpr TimestampNs kMaxTime = std::numeric_limits<TimestampNs>::max();
constexpr TimestampNs kMinTime = std::numeric_limits<TimestampNs>::min();

int64_t ZoneNs(const GroupingSpec& g, TimestampNs t) {
  return g.utc ? 0 : static_cast<int64_t>(UtcOffsetSeconds(g.tz, t)) * 1'000'000'000;
}

TimestampNs SaturatingAdd(TimestampNs a, int64_t b) {
  TimestampNs out;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? kMaxTime : kMinTime;
  return out;
}

// InfluxDB's window start (query.IteratorOptions.Window).
TimestampNs WindowStart(const GroupingSpec& g, TimestampNs t) {
  const int64_t interval = g.interval_ns;
  t = SaturatingAdd(t, -g.offset_ns);
  const int64_t zone = ZoneNs(g, t);
  int64_t dt = static_cast<int64_t>((static_cast<__int128>(t) + zone) % interval);
  if (dt < 0) dt += interval;
  TimestampNs start = SaturatingAdd(t, -dt);
  if (!g.utc) {
    // The zone may have changed between start and t: InfluxDB moves start by the
    // difference unless it is at least a whole interval.
    const int64_t o = zone - ZoneNs(g, start);
    if (o != 0 && std::llabs(o) < interval) start = SaturatingAdd(start, o);
  }
  return SaturatingAdd(start, g.offset_ns);
}

}  // namespace

int32_t UtcOffsetSeconds(const absl::TimeZone& tz, TimestampNs t) {
  return tz.At(absl::FromUnixNanos(t)).offset;
}

TimeWindow WindowOf(const GroupingSpec& g, TimestampNs t) {
  TimeWindow w;
  w.start = WindowStart(g, t);
  if (g.utc) {
    w.end = SaturatingAdd(w.start, g.interval_ns);
    return w;
  }
  // With a zone, buckets are not all one interval long: the next bucket starts where the
  // window of a time half an interval past the nominal end starts.
  const TimestampNs probe = SaturatingAdd(SaturatingAdd(w.start, g.interval_ns), g.interval_ns / 2);
  TimestampNs next = WindowStart(g, probe);
  if (next <= w.start || next > SaturatingAdd(w.start, g.interval_ns + g.interval_ns / 2)) {
    next = SaturatingAdd(w.start, g.interval_ns);
  }
  if (next <= t) next = SaturatingAdd(w.start, g.interval_ns);
  w.end = next;
  return w;
}

}  // namespace burnrate
