#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

// Encodings of the values of one block of one column (the non-null rows only; validity
// travels beside them in the segment chunk). Byte layouts: docs/format/segment.md, "Value
// encodings".
//
// Encoders append to a string and cannot fail. Decoders take untrusted bytes and the
// number of values the caller expects (known from the segment footer, never read from the
// bytes); they never read outside `in`, never write beyond out[n), allocate at most in
// proportion to n or to the input size, and return kDataLoss with a reason (the caller
// adds the file and offset) when `in` is not exactly a valid encoding of n values.

namespace burnrate {

// Identifies a value encoding in a chunk header. Persisted: never renumber.
enum class ColumnEncoding : uint8_t {
  kTimeScaledDelta = 1,  // int64: deltas in a common unit, bit-packed miniblocks
  kIntDelta = 2,         // int64: per miniblock deltas or frame-of-reference, bit-packed
  kFloatDecimal = 3,     // double: decimal scaling to integers (ALP-like), then kIntDelta
  kFloatXor = 4,         // double: XOR with the previous value, byte aligned
  kBoolBitmap = 5,       // 0/1: one bit per value
  kStringPlain = 6,      // strings: varint lengths, then the bytes
};

// True when `id` names a ColumnEncoding.
bool IsColumnEncoding(uint8_t id);

// Timestamps: any int64 values round-trip, in any order. Regular steps cost 3 bytes per 128
// values; a gap or a step back (where one series' rows end and the next one's begin) costs
// a few bytes more, as the steps are counted in their greatest common divisor.
void EncodeTimes(std::span<const int64_t> values, std::string* out);

// Any int64 values (also uint64 bit patterns, money units); arithmetic wraps, so extremes
// round-trip.
void EncodeInts(std::span<const int64_t> values, std::string* out);

// Any doubles, bit-exact (-0.0, NaN payloads, infinities, denormals). Returns the encoding
// chosen: kFloatDecimal when every value is a decimal with at most 15 fractional digits
// that round-trips exactly, else kFloatXor.
ColumnEncoding EncodeFloats(std::span<const double> values, std::string* out);

// Booleans as 0/1 (any nonzero value is true).
void EncodeBools(std::span<const int64_t> values, std::string* out);

void EncodeStrings(std::span<const std::string> values, std::string* out);

// One bit per flag (nonzero = 1), least significant bit first, ceil(n/8) bytes.
void EncodeBitmap(std::span<const uint8_t> flags, std::string* out);

// Decodes exactly n values of an int64 encoding (kTimeScaledDelta, kIntDelta,
// kBoolBitmap) into out[0, n).
[[nodiscard]] absl::Status DecodeInt64s(ColumnEncoding encoding, std::string_view in, size_t n,
                                        int64_t* out);

// Decodes exactly n values of kTimeScaledDelta like DecodeInt64s, and also returns
// kDataLoss unless they increase strictly, except at the indexes in `breaks` (strictly
// increasing, each in [1, n)): where one series' rows end and the next one's begin. Checked
// while decoding, once per regular miniblock.
[[nodiscard]] absl::Status DecodeIncreasingTimes(std::string_view in, size_t n,
                                                 std::span<const uint32_t> breaks, int64_t* out);

// Decodes exactly n values of kFloatDecimal or kFloatXor into out[0, n).
[[nodiscard]] absl::Status DecodeDoubles(ColumnEncoding encoding, std::string_view in, size_t n,
                                         double* out);

// Decodes exactly n values of kStringPlain, appending them to *out.
[[nodiscard]] absl::Status DecodeStrings(ColumnEncoding encoding, std::string_view in, size_t n,
                                         std::vector<std::string>* out);

// Decodes a bitmap of exactly n flags (in.size() must be ceil(n/8), unused high bits 0)
// into out[0, n) as 0/1 bytes; *ones receives the number of set flags.
[[nodiscard]] absl::Status DecodeBitmap(std::string_view in, size_t n, uint8_t* out, size_t* ones);

}  // namespace burnrate
