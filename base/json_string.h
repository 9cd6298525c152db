#pragma once

#include <string>
#include <string_view>

namespace burnrate {

// Appends s as a JSON string literal the way Go's encoding/json writes it (so our bodies
// match InfluxDB's byte for byte): `"`, `\\`, control characters escaped (\n \r \t, others
// \u00XX), `<`, `>`, `&`, U+2028 and U+2029 as \u escapes, and invalid UTF-8 replaced by
// \ufffd, so any input gives valid JSON.
void AppendJsonString(std::string* out, std::string_view s);

inline std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

}  // namespace burnrate
