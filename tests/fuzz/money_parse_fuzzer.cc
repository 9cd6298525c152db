// Money::Parse on arbitrary bytes: it must not crash, and whatever it accepts must print
// (ToString) as text that parses back to the same amount and prints the same again.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "burnrate/money.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<burnrate::Money> parsed = burnrate::Money::Parse(text);
  if (!parsed.ok()) return 0;
  const std::string printed = parsed->ToString();
  const absl::StatusOr<burnrate::Money> reparsed = burnrate::Money::Parse(printed);
  if (!reparsed.ok() || *reparsed != *parsed || reparsed->ToString() != printed) {
    std::fprintf(stderr, "round trip failed: input of %zu bytes printed as \"%s\"\n", size,
                 printed.c_str());
    std::abort();
  }
  return 0;
}
