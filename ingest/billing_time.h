#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "burnrate/types.h"

namespace burnrate {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;
inline constexpr int64_t kNanosPerHour = 3600 * kNanosPerSecond;
inline constexpr int64_t kNanosPerDay = 24 * kNanosPerHour;

// Parses the timestamps billing exports write, as UTC unless an offset is given:
//   2023-11-01T00:00:00.000Z, 2023-11-01T00:00:00Z, 2023-11-13T10:00Z, 2018-06-01 00:00:00,
//   2020-11-10 05:49:32.199000+00:00, 2023-11-01 (midnight), 20180801T000000.000Z (CUR
//   manifests), 09/21/2023 and 9/2/2023 and 5/1/25 (month/day/year, as Azure and spreadsheets
//   write them; two-digit years are 20yy), optionally followed by a time such as
//   "12:00:00 AM".
// kInvalidArgument (without file context) for anything else, including out-of-range fields
// such as hour 30.
[[nodiscard]] absl::StatusOr<TimestampNs> ParseBillingTime(std::string_view text);

// "start/end" ISO intervals (CUR identity/TimeInterval).
[[nodiscard]] absl::Status ParseBillingInterval(std::string_view text, TimestampNs* start,
                                                TimestampNs* end);

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);

// "YYYY-MM" of the month holding t (UTC).
std::string MonthOf(TimestampNs t);

// RFC 3339 text of t in UTC, with fractional seconds only when non-zero.
std::string FormatBillingTime(TimestampNs t);

}  // namespace burnrate
