// Feeds arbitrary bytes to the column value decoders. Input: one selector byte (which
// decoder), two bytes of value count (little-endian, at most 4096), then the encoded
// bytes. Decoders must never crash; whatever decodes must survive re-encoding and
// decoding again unchanged (checks below abort).
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "storage/column_encoding.h"

namespace {

using burnrate::ColumnEncoding;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "column_decoder_fuzzer: violated: %s\n", what);
    std::abort();
  }
}

void CheckError(const absl::Status& s) {
  Check(s.code() == absl::StatusCode::kDataLoss, "errors are kDataLoss");
}

void FuzzInts(ColumnEncoding e, std::string_view in, size_t n) {
  std::vector<int64_t> values(n);
  absl::Status s = burnrate::DecodeInt64s(e, in, n, values.data());
  if (!s.ok()) return CheckError(s);
  std::string again;
  if (e == ColumnEncoding::kTimeScaledDelta) {
    // The increasing-times decoder agrees with a plain check, and accepts any step back at
    // a break.
    std::vector<uint32_t> breaks;
    for (size_t i = 1; i < n; ++i) {
      if (values[i] <= values[i - 1]) breaks.push_back(static_cast<uint32_t>(i));
    }
    std::vector<int64_t> checked(n);
    Check(burnrate::DecodeIncreasingTimes(in, n, {}, checked.data()).ok() == breaks.empty(),
          "the increasing decoder rejects exactly the non-increasing times");
    Check(burnrate::DecodeIncreasingTimes(in, n, breaks, checked.data()).ok() && checked == values,
          "steps back at breaks are accepted");
    burnrate::EncodeTimes(values, &again);
  } else if (e == ColumnEncoding::kIntDelta) {
    burnrate::EncodeInts(values, &again);
  } else {
    for (int64_t v : values) Check(v == 0 || v == 1, "booleans are 0 or 1");
    burnrate::EncodeBools(values, &again);
    Check(again == in, "bitmaps are canonical");
  }
  std::vector<int64_t> round(n);
  Check(burnrate::DecodeInt64s(e, again, n, round.data()).ok(), "re-encoded ints decode");
  Check(round == values, "ints round-trip");
}

void FuzzDoubles(ColumnEncoding e, std::string_view in, size_t n) {
  std::vector<double> values(n);
  absl::Status s = burnrate::DecodeDoubles(e, in, n, values.data());
  if (!s.ok()) return CheckError(s);
  std::string again;
  const ColumnEncoding chosen = burnrate::EncodeFloats(values, &again);
  std::vector<double> round(n);
  Check(burnrate::DecodeDoubles(chosen, again, n, round.data()).ok(), "re-encoded floats decode");
  for (size_t i = 0; i < n; ++i) {
    Check(std::bit_cast<uint64_t>(round[i]) == std::bit_cast<uint64_t>(values[i]),
          "floats round-trip bit for bit");
  }
}

void FuzzStrings(std::string_view in, size_t n) {
  std::vector<std::string> values;
  absl::Status s = burnrate::DecodeStrings(ColumnEncoding::kStringPlain, in, n, &values);
  if (!s.ok()) return CheckError(s);
  Check(values.size() == n, "n strings");
  std::string again;
  burnrate::EncodeStrings(values, &again);
  std::vector<std::string> round;
  Check(burnrate::DecodeStrings(ColumnEncoding::kStringPlain, again, n, &round).ok(),
        "re-encoded strings decode");
  Check(round == values, "strings round-trip");
}

void FuzzBitmap(std::string_view in, size_t n) {
  std::vector<uint8_t> flags(n);
  size_t ones = 0;
  absl::Status s = burnrate::DecodeBitmap(in, n, flags.data(), &ones);
  if (!s.ok()) return CheckError(s);
  size_t count = 0;
  for (uint8_t f : flags) {
    Check(f <= 1, "flags are 0 or 1");
    count += f;
  }
  Check(count == ones, "ones counts the set flags");
  std::string again;
  burnrate::EncodeBitmap(flags, &again);
  Check(again == in, "bitmaps are canonical");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t selector = data[0];
  const size_t n = (data[1] | (size_t{data[2]} << 8)) % 4097;
  const std::string_view in(reinterpret_cast<const char*>(data + 3), size - 3);
  switch (selector % 7) {
    case 0:
      FuzzInts(ColumnEncoding::kTimeScaledDelta, in, n);
      break;
    case 1:
      FuzzInts(ColumnEncoding::kIntDelta, in, n);
      break;
    case 2:
      FuzzInts(ColumnEncoding::kBoolBitmap, in, n);
      break;
    case 3:
      FuzzDoubles(ColumnEncoding::kFloatDecimal, in, n);
      break;
    case 4:
      FuzzDoubles(ColumnEncoding::kFloatXor, in, n);
      break;
    case 5:
      FuzzStrings(in, n);
      break;
    case 6:
      FuzzBitmap(in, n);
      break;
  }
  return 0;
}
