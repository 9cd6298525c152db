// The burnrate query client's reader of /query JSON responses on arbitrary bytes: it must
// not crash, and whatever it accepts must render as a table.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tools/query_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::vector<burnrate::TextSeries> table;
  burnrate::QueryOutput out;
  if (burnrate::ReadQueryResponseJson(body, &table, &out).ok()) {
    (void)burnrate::RenderTable(table);
  }
  return 0;
}
