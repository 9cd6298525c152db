#pragma once

// Small helpers shared by the result writers and the executor.

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace burnrate {

// The status message as a std::string (what the JSON `error` field carries).
inline std::string StatusText(const absl::Status& s) {
  return std::string(s.message().data(), s.message().size());
}

// The double nearest to units * 10^-10 (correctly rounded, via the decimal text).
double DecimalToDouble(__int128 units);

// InfluxDB's CSV for a whole-query error: "error" then the message.
std::string QueryErrorToCsv(const absl::Status& status);

}  // namespace burnrate
