#pragma once

// Duration and time literals of InfluxQL: parsing, printing and time-zone resolution.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "burnrate/types.h"
#include "query/ast.h"

namespace burnrate {

// Parses a duration token (`15m`, `1h30m`, `1700000000000ms`, `10µ`): one or more
// <digits><unit> with units ns, u, µ, ms, s, m, h, d, w. `negative` negates the whole
// (so -9223372036854775808ns is representable). kInvalidArgument "invalid duration ..."
// for a bad unit or a value outside int64 nanoseconds.
[[nodiscard]] absl::StatusOr<int64_t> ParseDuration(std::string_view text, bool negative = false);

// The shortest text for ns in its largest exact unit ("90m", "1w", "-15m", "0s"), as
// InfluxDB prints durations; ParseDuration reads it back.
std::string FormatDuration(int64_t ns);

// Parses the time strings InfluxDB accepts: RFC3339 ('2026-11-01T00:00:00Z', with up to
// nine fractional digits and `Z` or a `+hh:mm` offset), 'YYYY-MM-DD HH:MM:SS[.fff]' and
// 'YYYY-MM-DD' (midnight). A `T` form without an offset is accepted as civil time too.
// kInvalidArgument "invalid time literal ..." for anything else or a time outside the
// int64-nanosecond range (years 1677 to 2262).
[[nodiscard]] absl::StatusOr<TimeLiteral> ParseTimeString(std::string_view text);

// The instant a time literal means in zone tz (used only when it has no offset).
// kInvalidArgument when the result leaves the int64-nanosecond range.
[[nodiscard]] absl::StatusOr<TimestampNs> ResolveTime(const TimeLiteral& t,
                                                      const absl::TimeZone& tz);

// Loads an IANA zone name as written in tz('...'): empty or "UTC" is UTC. Names are
// restricted to letters, digits and `_+-/` (no absolute or `..` paths reach the zone
// loader). kInvalidArgument "unable to find time zone ..." when the zone is unknown.
[[nodiscard]] absl::StatusOr<absl::TimeZone> LoadQueryTimeZone(std::string_view name);

}  // namespace burnrate
