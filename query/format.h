#pragma once

// Text forms of result values as InfluxDB (Go) prints them: floats, exact decimals, RFC 3339
// times, Go durations, JSON strings.

#include <cstdint>
#include <string>
#include <string_view>

#include "burnrate/types.h"

namespace burnrate {

// Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest text that reads back as v,
// never with an exponent ("0.1", "100000000000000000000", "-0").
std::string FormatFloatFixed(double v);

// Go's encoding/json form of a float: as FormatFloatFixed for 1e-6 <= |v| < 1e21 (and 0),
// otherwise the shortest exponent form with a one-digit minimum exponent ("1e+21",
// "1.5e-7"). The caller handles NaN and infinities (JSON has no text for them).
std::string FormatFloatJson(double v);

// RFC 3339 with nanoseconds, as Go's time.RFC3339Nano prints it: fraction trailing zeros
// removed (and the point when none remain), "Z" for a zero offset, else "+hh:mm".
std::string FormatRfc3339Nano(TimestampNs ns, int32_t utc_offset_s = 0);

// Go's time.Duration.String(): "0s", "1h0m0s", "168h0m0s", "1.5s", "100ms".
std::string FormatGoDuration(int64_t ns);

}  // namespace burnrate
