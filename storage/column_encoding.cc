#include "storage/column_encoding.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>

#include "base/coding.h"
#include "base/str_cat.h"

namespace burnrate {
namespace {

// Values per bit-packed miniblock. A multiple of 8, so every group of 8 packed values
// starts on a byte boundary (the unpacking loops rely on it).
constexpr size_t kMiniblock = 128;
// Bytes that the unpacking loads may read past the last packed byte of a miniblock.
constexpr size_t kUnpackSlack = 8;
// The width byte of a miniblock: low 7 bits the bit width (0..64); the high bit set means
// the packed numbers are values minus min ("direct"), clear means deltas minus min.
constexpr uint8_t kDirectFlag = 0x80;
constexpr uint8_t kWidthMask = 0x7f;

absl::Status Corrupt(std::string_view encoding, std::string_view what, size_t value_index) {
  return absl::DataLossError(StrCat(encoding, ": ", what, " at value ", value_index));
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint64_t DoubleBits(double d) { return std::bit_cast<uint64_t>(d); }

// ---------------------------------------------------------------------------------------
// Bit packing.

// Appends count values of `width` bits each, least significant bit first, in
// ceil(count * width / 8) bytes. Every value must be < 2^width.
void PackBits(const uint64_t* values, size_t count, int width, std::string* out) {
  if (width == 0 || count == 0) return;
  const size_t bytes = (count * static_cast<size_t>(width) + 7) / 8;
  const size_t start = out->size();
  out->resize(start + bytes + 8);  // room for the last 8-byte store; trimmed below
  char* p = out->data() + start;
  unsigned __int128 acc = 0;
  int bits = 0;
  for (size_t i = 0; i < count; ++i) {
    acc |= static_cast<unsigned __int128>(values[i]) << bits;
    bits += width;
    if (bits >= 64) {
      const uint64_t word = static_cast<uint64_t>(acc);
      std::memcpy(p, &word, 8);
      p += 8;
      acc >>= 64;
      bits -= 64;
    }
  }
  const uint64_t word = static_cast<uint64_t>(acc);
  std::memcpy(p, &word, 8);
  out->resize(start + bytes);
}

// Unpacks a full miniblock of W-bit values. Reads in[0, 16 * W + kUnpackSlack).
template <int W>
void Unpack128(const uint8_t* in, uint64_t* out) {
  if constexpr (W == 0) {
    std::memset(out, 0, kMiniblock * sizeof(uint64_t));
  } else {
    constexpr uint64_t kMask = W == 64 ? ~uint64_t{0} : (uint64_t{1} << W) - 1;
    for (size_t g = 0; g < kMiniblock / 8; ++g) {
      const uint8_t* p = in + g * W;
      uint64_t* o = out + g * 8;
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const int bit = k * W;
        const int shift = bit & 7;
        uint64_t v = Load64(p + (bit >> 3)) >> shift;
        if constexpr (W > 56) {
          if (shift + W > 64) v |= uint64_t{p[(bit >> 3) + 8]} << (64 - shift);
        }
        o[k] = v & kMask;
      }
    }
  }
}

using UnpackFn = void (*)(const uint8_t*, uint64_t*);
template <size_t... W>
constexpr std::array<UnpackFn, sizeof...(W)> MakeUnpackTable(std::index_sequence<W...>) {
  return {&Unpack128<static_cast<int>(W)>...};
}
constexpr std::array<UnpackFn, 65> kUnpack = MakeUnpackTable(std::make_index_sequence<65>());

// Decodes a full miniblock of W-bit deltas (no exceptions) straight into values:
// acc += min + residual, fused with the unpacking so residuals never go through memory.
// Reads in[0, 16 * W + kUnpackSlack).
template <int W>
void DecodeDeltas128(const uint8_t* in, uint64_t min, uint64_t* acc, int64_t* out) {
  constexpr uint64_t kMask = W == 64 ? ~uint64_t{0} : (uint64_t{1} << W) - 1;
  uint64_t a = *acc;
  for (size_t g = 0; g < kMiniblock / 8; ++g) {
    const uint8_t* p = in + g * W;
    int64_t* o = out + g * 8;
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const int bit = k * W;
      const int shift = bit & 7;
      uint64_t v = Load64(p + (bit >> 3)) >> shift;
      if constexpr (W > 56) {
        if (shift + W > 64) v |= uint64_t{p[(bit >> 3) + 8]} << (64 - shift);
      }
      a += min + (v & kMask);
      o[k] = static_cast<int64_t>(a);
    }
  }
  *acc = a;
}

using DeltaFn = void (*)(const uint8_t*, uint64_t, uint64_t*, int64_t*);
template <size_t... W>
constexpr std::array<DeltaFn, sizeof...(W) + 1> MakeDeltaTable(std::index_sequence<W...>) {
  return {nullptr, &DecodeDeltas128<static_cast<int>(W + 1)>...};
}
// Indexed by width 1..64.
constexpr std::array<DeltaFn, 65> kDecodeDeltas = MakeDeltaTable(std::make_index_sequence<64>());

// ---------------------------------------------------------------------------------------
// Miniblock streams, used by kIntDelta (and through it by kTimeScaledDelta and
// kFloatDecimal).
//
// A miniblock of count numbers (int64 bit patterns): zigzag varint min; the width byte;
// varint exception count; the residuals number - min bit-packed in `width` bits each (0
// in the slots of exceptions); then per exception, in increasing index order, u8 index
// and zigzag varint of (number - min) as a signed 64-bit value. Exceptions keep a rare
// outlier (a gap between timestamps, a price step) from widening the whole miniblock.

struct MiniblockHeader {
  uint64_t min = 0;  // the base of the packed numbers, as a bit pattern
  int width = 0;
  bool direct = false;
  size_t exceptions = 0;
  const uint8_t* packed = nullptr;
  bool in_place = false;  // at least kUnpackSlack readable bytes follow the packed bytes
};

size_t VarintLength(uint64_t v) { return std::max<size_t>(1, (std::bit_width(v) + 6) / 7); }

// How to pack one miniblock, and what it costs.
struct MiniblockPlan {
  int64_t min = 0;
  int width = 0;
  size_t bytes = 0;
};

// The cheapest width, with exceptions, for numbers relative to min.
MiniblockPlan PlanForMin(const int64_t* numbers, size_t count, int64_t min) {
  size_t below_count = 0, below_bytes = 0;
  size_t by_width[65] = {};
  for (size_t i = 0; i < count; ++i) {
    const uint64_t r = static_cast<uint64_t>(numbers[i]) - static_cast<uint64_t>(min);
    if (numbers[i] < min) {
      ++below_count;
      below_bytes += 1 + VarintLength(ZigZagEncode(static_cast<int64_t>(r)));
    } else {
      ++by_width[std::bit_width(r)];
    }
  }
  MiniblockPlan best{min, 64, std::numeric_limits<size_t>::max()};
  size_t above_count = 0, above_bytes = 0;  // numbers wider than w
  for (int w = 64; w >= 0; --w) {
    const size_t exceptions = below_count + above_count;
    const size_t bytes = (count * static_cast<size_t>(w) + 7) / 8 + below_bytes + above_bytes +
                         VarintLength(exceptions);
    if (bytes <= best.bytes) best = MiniblockPlan{min, w, bytes};
    // Numbers of exactly w bits become exceptions for every narrower width; their zigzag
    // encoding has w + 1 bits, at most 64.
    above_count += by_width[w];
    above_bytes += by_width[w] * (1 + VarintLength(w >= 63 ? ~uint64_t{0} : uint64_t{1} << w));
  }
  best.bytes += VarintLength(ZigZagEncode(min)) + 1;
  return best;
}

// The range of a miniblock's numbers (as int64) and the bit width it spans.
struct Spread {
  int64_t min;
  int64_t max;
  int width;
};

Spread SpreadOf(const uint64_t* numbers, size_t count) {
  const auto* v = reinterpret_cast<const int64_t*>(numbers);
  int64_t min = v[0], max = v[0];
  for (size_t i = 1; i < count; ++i) {
    min = std::min(min, v[i]);
    max = std::max(max, v[i]);
  }
  return Spread{
      min, max,
      static_cast<int>(std::bit_width(static_cast<uint64_t>(max) - static_cast<uint64_t>(min)))};
}

// The cheapest plan for a miniblock: the minimum as base, or one of the few smallest
// numbers (those below it become exceptions).
MiniblockPlan PlanMiniblock(const uint64_t* numbers, size_t count, const Spread& spread) {
  const auto* v = reinterpret_cast<const int64_t*>(numbers);
  // Narrow miniblocks cannot get much cheaper; skip the search.
  if (spread.width <= 2) {
    return MiniblockPlan{spread.min, spread.width,
                         (count * static_cast<size_t>(spread.width) + 7) / 8 +
                             VarintLength(ZigZagEncode(spread.min)) + 2};
  }
  MiniblockPlan best = PlanForMin(v, count, spread.min);
  // The smallest numbers, ascending, by insertion: few numbers get past the first test.
  constexpr size_t kLowest = 9;
  int64_t low[kLowest];
  size_t k = 0;
  for (size_t i = 0; i < count; ++i) {
    const int64_t x = v[i];
    if (k == kLowest && x >= low[kLowest - 1]) continue;
    size_t p = k < kLowest ? k++ : kLowest - 1;
    for (; p > 0 && low[p - 1] > x; --p) low[p] = low[p - 1];
    low[p] = x;
  }
  // A base is worth planning when the numbers below it lie far from it (a step back in
  // time, a price drop), or when dropping them narrows the spread.
  int tries = 0;
  for (size_t e = 1; e < k && tries < 4; ++e) {
    if (low[e] == low[e - 1]) continue;
    const int narrowed = static_cast<int>(
        std::bit_width(static_cast<uint64_t>(spread.max) - static_cast<uint64_t>(low[e])));
    const int gap = static_cast<int>(
        std::bit_width(static_cast<uint64_t>(low[e]) - static_cast<uint64_t>(low[0])));
    if (narrowed >= spread.width && gap + 2 < spread.width) continue;
    ++tries;
    const MiniblockPlan plan = PlanForMin(v, count, low[e]);
    if (plan.bytes < best.bytes) best = plan;
  }
  return best;
}

void PutMiniblock(const uint64_t* numbers, size_t count, const MiniblockPlan& plan, bool direct,
                  std::string* out) {
  const auto min = static_cast<uint64_t>(plan.min);
  const uint64_t limit = plan.width == 64 ? ~uint64_t{0} : (uint64_t{1} << plan.width) - 1;
  uint64_t residuals[kMiniblock];
  uint8_t exception_index[kMiniblock];
  size_t exceptions = 0;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t r = numbers[i] - min;
    if (static_cast<int64_t>(numbers[i]) < plan.min || r > limit) {
      exception_index[exceptions++] = static_cast<uint8_t>(i);
      residuals[i] = 0;
    } else {
      residuals[i] = r;
    }
  }
  PutVarint64(out, ZigZagEncode(plan.min));
  out->push_back(static_cast<char>(plan.width | (direct ? kDirectFlag : 0)));
  PutVarint64(out, exceptions);
  PackBits(residuals, count, plan.width, out);
  for (size_t e = 0; e < exceptions; ++e) {
    const size_t i = exception_index[e];
    out->push_back(static_cast<char>(i));
    PutVarint64(out, ZigZagEncode(static_cast<int64_t>(numbers[i] - min)));
  }
}

// Reads a miniblock's header and locates its packed bytes; the exceptions follow, to be
// read by ReadResiduals. False when malformed.
bool ReadMiniblockHeader(Decoder* d, size_t count, MiniblockHeader* h) {
  uint64_t zz, exceptions;
  uint8_t width_byte;
  if (!d->GetVarint64(&zz) || !d->GetByte(&width_byte) || !d->GetVarint64(&exceptions)) {
    return false;
  }
  h->min = static_cast<uint64_t>(ZigZagDecode(zz));
  h->direct = (width_byte & kDirectFlag) != 0;
  h->width = width_byte & kWidthMask;
  if (h->width > 64 || exceptions > count) return false;
  h->exceptions = exceptions;
  std::string_view packed;
  if (!d->GetBytes((count * static_cast<size_t>(h->width) + 7) / 8, &packed)) return false;
  h->packed = reinterpret_cast<const uint8_t*>(packed.data());
  // Full miniblocks away from the end of the input unpack in place.
  h->in_place = count == kMiniblock && d->remaining() >= kUnpackSlack;
  return true;
}

// Unpacks the residuals (numbers minus min) of a miniblock whose header was just read
// into residuals[0, count) and applies its exceptions. False when malformed.
bool ReadResiduals(Decoder* d, size_t count, const MiniblockHeader& h, uint64_t* residuals) {
  if (h.width == 0) {
    std::memset(residuals, 0, count * sizeof(uint64_t));
  } else if (h.in_place) {
    kUnpack[h.width](h.packed, residuals);
  } else {
    // The tail of the input (or a partial miniblock): unpack from a zero-padded copy.
    const size_t bytes = (count * static_cast<size_t>(h.width) + 7) / 8;
    alignas(8) uint8_t padded[kMiniblock * 8 + kUnpackSlack];
    std::memcpy(padded, h.packed, bytes);
    std::memset(padded + bytes, 0, sizeof padded - bytes);
    kUnpack[h.width](padded, residuals);
  }
  size_t next = 0;  // exception indexes must increase
  for (size_t e = 0; e < h.exceptions; ++e) {
    uint8_t index;
    uint64_t value;
    if (!d->GetByte(&index) || index < next || index >= count || !d->GetVarint64(&value)) {
      return false;
    }
    residuals[index] = static_cast<uint64_t>(ZigZagDecode(value));
    next = index + 1;
  }
  return true;
}

// Writes out[j] = base + (j + 1) * step (mod 2^64) for j < count, two lanes at a time
// with two vectors in flight, rather than one chain or a 64-bit multiply per value.
void FillArithmetic(uint64_t base, uint64_t step, size_t count, int64_t* out) {
  using U64x2 = uint64_t __attribute__((vector_size(16)));
  U64x2 a = {base + step, base + 2 * step};
  U64x2 b = {base + 3 * step, base + 4 * step};
  const U64x2 step4 = {4 * step, 4 * step};
  size_t j = 0;
  for (; j + 4 <= count; j += 4) {
    std::memcpy(out + j, &a, sizeof a);
    std::memcpy(out + j + 2, &b, sizeof b);
    a += step4;
    b += step4;
  }
  for (; j < count; ++j) out[j] = static_cast<int64_t>(base + (j + 1) * step);
}

// ---------------------------------------------------------------------------------------
// kIntDelta: zigzag varint first value; miniblocks of values 1..n-1, each holding either
// deltas to the previous value or the values themselves, whichever packs narrower.

void EncodeIntStream(std::span<const int64_t> values, std::string* out) {
  const size_t n = values.size();
  if (n == 0) return;
  const auto* v = reinterpret_cast<const uint64_t*>(values.data());
  PutVarint64(out, ZigZagEncode(values[0]));
  uint64_t deltas[kMiniblock];
  for (size_t i = 1; i < n; i += kMiniblock) {
    const size_t count = std::min(kMiniblock, n - i);
    for (size_t j = 0; j < count; ++j) deltas[j] = v[i + j] - v[i + j - 1];
    const MiniblockPlan as_deltas = PlanMiniblock(deltas, count, SpreadOf(deltas, count));
    // Values spanning clearly more bits than the deltas need are not worth planning.
    const Spread values = SpreadOf(v + i, count);
    if (values.width < as_deltas.width + 2) {
      const MiniblockPlan as_values = PlanMiniblock(v + i, count, values);
      if (as_values.bytes < as_deltas.bytes) {
        PutMiniblock(v + i, count, as_values, /*direct=*/true, out);
        continue;
      }
    }
    PutMiniblock(deltas, count, as_deltas, /*direct=*/false, out);
  }
}

// Decodes the n values v_i of a kIntDelta stream. With kScaled it writes base + scale * v_i
// (mod 2^64) instead, fused with the decoding so that regular steps stay a fill, and
// requires v_0 == 0 (the time encoding's offsets). With kIncreasing (and kScaled) it also
// fails unless the values written increase strictly (as int64) but at the indexes in
// `breaks`: checked once for a regular miniblock, per value for the others.
template <bool kScaled, bool kIncreasing = false>
absl::Status DecodeIntStream(std::string_view in, size_t n, int64_t* out, uint64_t base = 0,
                             uint64_t scale = 1, std::span<const uint32_t> breaks = {}) {
  static_assert(kScaled || !kIncreasing);
  constexpr std::string_view kName = "int delta";
  bool bad = false;
  size_t next_break = 0;  // breaks before it lie before the values checked so far
  // Checks out[k] > out[k - 1] for k in [from, to), except at breaks.
  auto check = [&](size_t from, size_t to) {
    while (from < to) {
      while (next_break < breaks.size() && breaks[next_break] < from) ++next_break;
      const bool cut = next_break < breaks.size() && breaks[next_break] < to;
      const size_t stop = cut ? breaks[next_break] : to;
      for (size_t k = from; k < stop; ++k) bad |= out[k] <= out[k - 1];
      from = cut ? stop + 1 : to;
    }
  };
  auto emit = [&](uint64_t v) {
    if constexpr (kScaled) {
      return static_cast<int64_t>(base + scale * v);
    } else {
      return static_cast<int64_t>(v);
    }
  };
  Decoder d(in);
  if (n == 0) {
    if (!in.empty()) return Corrupt(kName, "trailing bytes", 0);
    return absl::OkStatus();
  }
  uint64_t zz;
  if (!d.GetVarint64(&zz)) return Corrupt(kName, "bad first value", 0);
  uint64_t acc = static_cast<uint64_t>(ZigZagDecode(zz));
  if (kScaled && acc != 0) return Corrupt(kName, "scaled offsets do not start at 0", 0);
  out[0] = emit(acc);
  alignas(64) uint64_t residuals[kMiniblock];
  for (size_t i = 1; i < n; i += kMiniblock) {
    const size_t count = std::min(kMiniblock, n - i);
    MiniblockHeader h;
    if (!ReadMiniblockHeader(&d, count, &h)) return Corrupt(kName, "malformed miniblock", i);
    int64_t* o = out + i;
    const uint64_t min = h.min;
    if (h.exceptions == 0 && h.width == 0) {
      if (h.direct) {
        for (size_t j = 0; j < count; ++j) o[j] = emit(min);
        acc = min;
      } else {
        const auto prev = static_cast<uint64_t>(emit(acc));
        FillArithmetic(prev, kScaled ? scale * min : min, count, o);
        acc += count * min;
        if constexpr (kIncreasing) {
          // Increasing from o[-1] on iff the step is positive and the last value does not
          // pass INT64_MAX (the step fits 126 bits and count <= 128, so no overflow).
          const __int128 step = static_cast<__int128>(scale) * static_cast<int64_t>(min);
          const bool regular = step > 0 && step <= std::numeric_limits<int64_t>::max() &&
                               static_cast<int64_t>(prev) + step * static_cast<__int128>(count) <=
                                   std::numeric_limits<int64_t>::max();
          if (!regular) check(i, i + count);
        }
      }
      if (kIncreasing && h.direct) check(i, i + count);
      continue;
    }
    if (h.exceptions == 0 && !h.direct && h.in_place) {
      kDecodeDeltas[h.width](h.packed, min, &acc, o);
      if constexpr (kScaled) {
        for (size_t j = 0; j < count; ++j) o[j] = emit(static_cast<uint64_t>(o[j]));
      }
      if constexpr (kIncreasing) check(i, i + count);
      continue;
    }
    if (!ReadResiduals(&d, count, h, residuals)) return Corrupt(kName, "malformed miniblock", i);
    if (h.direct) {
      for (size_t j = 0; j < count; ++j) o[j] = emit(min + residuals[j]);
      acc = min + residuals[count - 1];
    } else {
      for (size_t j = 0; j < count; ++j) {
        acc += min + residuals[j];
        o[j] = emit(acc);
      }
    }
    if constexpr (kIncreasing) check(i, i + count);
  }
  if (!d.done()) return Corrupt(kName, "trailing bytes", n);
  if (bad) return absl::DataLossError("times do not increase");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// kTimeScaledDelta: zigzag varint t_0; for n >= 2, varint unit u (1 <= u < 2^63), then the
// kIntDelta stream of s_0 .. s_{n-1} with s_0 = 0 and s_i = s_{i-1} + (t_i - t_{i-1}) / u,
// so that t_i = t_0 + u * s_i (mod 2^64). u is the greatest common divisor of the steps:
// minute data counts in minutes, so the step back where one series' rows end and the next
// one's begin is a small number rather than a 40-bit one.

// The greatest common divisor of the steps between consecutive values (int64 differences,
// mod 2^64); 1 when every step is 0 or the divisor does not fit int64.
uint64_t StepUnit(std::span<const int64_t> values) {
  uint64_t g = 0;
  uint64_t last = 0;  // a magnitude known to be a multiple of g
  for (size_t i = 1; i < values.size(); ++i) {
    const auto d = static_cast<int64_t>(static_cast<uint64_t>(values[i]) -
                                        static_cast<uint64_t>(values[i - 1]));
    const uint64_t magnitude = d < 0 ? 0 - static_cast<uint64_t>(d) : static_cast<uint64_t>(d);
    if (magnitude == last || (g != 0 && magnitude % g == 0)) continue;
    g = std::gcd(g, magnitude);
    if (g == 1) return 1;
    last = magnitude;
  }
  return g == 0 || g > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? 1 : g;
}

void EncodeTimeStream(std::span<const int64_t> values, std::string* out) {
  const size_t n = values.size();
  if (n == 0) return;
  PutVarint64(out, ZigZagEncode(values[0]));
  if (n == 1) return;
  const uint64_t unit = StepUnit(values);
  PutVarint64(out, unit);
  std::unique_ptr<int64_t[]> scaled(new int64_t[n]);
  uint64_t s = 0;
  scaled[0] = 0;
  int64_t last_step = 0, last_quotient = 0;  // a division costs more than the rest per value
  for (size_t i = 1; i < n; ++i) {
    const auto d = static_cast<int64_t>(static_cast<uint64_t>(values[i]) -
                                        static_cast<uint64_t>(values[i - 1]));
    if (d != last_step) {
      last_step = d;
      last_quotient = d / static_cast<int64_t>(unit);
    }
    s += static_cast<uint64_t>(last_quotient);
    scaled[i] = static_cast<int64_t>(s);
  }
  EncodeIntStream(std::span<const int64_t>(scaled.get(), n), out);
}

template <bool kIncreasing>
absl::Status DecodeTimeStream(std::string_view in, size_t n, std::span<const uint32_t> breaks,
                              int64_t* out) {
  constexpr std::string_view kName = "time scaled delta";
  Decoder d(in);
  if (n == 0) {
    if (!in.empty()) return Corrupt(kName, "trailing bytes", 0);
    return absl::OkStatus();
  }
  uint64_t zz;
  if (!d.GetVarint64(&zz)) return Corrupt(kName, "bad first value", 0);
  const auto first = static_cast<uint64_t>(ZigZagDecode(zz));
  if (n == 1) {
    if (!d.done()) return Corrupt(kName, "trailing bytes", 1);
    out[0] = static_cast<int64_t>(first);
    return absl::OkStatus();
  }
  uint64_t unit;
  if (!d.GetVarint64(&unit) || unit == 0 ||
      unit > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Corrupt(kName, "bad unit", 1);
  }
  absl::Status s =
      DecodeIntStream<true, kIncreasing>(in.substr(d.offset()), n, out, first, unit, breaks);
  if (!s.ok()) return absl::DataLossError(StrCat(kName, ": ", s.message()));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// kFloatDecimal: u8 exponent e (0..15), then kIntDelta of the integers k with
// value == (double)k / 10^e bit for bit. Decoding divides, so the encoder checks with the
// same division.

constexpr double kPow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
constexpr int kMaxDecimalExponent = 15;
// Scaled magnitudes at or beyond this are not considered (they would not fit int64).
constexpr double kMaxScaled = 9.0e18;

// Nearest integer to s, |s| <= kMaxScaled. Exactness is checked by the caller, so any
// rounding of halfway cases is fine.
inline int64_t RoundScaled(double s) {
  constexpr double kMagic = 0x1.8p52;  // adding it rounds |s| < 2^51 to an integer
  if (std::fabs(s) < 0x1p51) return static_cast<int64_t>((s + kMagic) - kMagic);
  return static_cast<int64_t>(s);
}

bool ScaleToDecimal(std::span<const double> values, int e, int64_t* ints) {
  const double p = kPow10[e];
  for (size_t i = 0; i < values.size(); ++i) {
    const double s = values[i] * p;
    if (!(std::fabs(s) <= kMaxScaled)) return false;  // also NaN
    const int64_t k = RoundScaled(s);
    if (DoubleBits(static_cast<double>(k) / p) != DoubleBits(values[i])) return false;
    ints[i] = k;
  }
  return true;
}

void EncodeXor(std::span<const double> values, std::string* out) {
  uint64_t prev = 0;
  out->reserve(out->size() + values.size() * 4);
  for (double v : values) {
    const uint64_t bits = DoubleBits(v);
    const uint64_t x = bits ^ prev;
    prev = bits;
    if (x == 0) {
      out->push_back(0);
      continue;
    }
    const int trailing = std::countr_zero(x) / 8;
    const int leading = std::countl_zero(x) / 8;
    const int significant = 8 - trailing - leading;
    out->push_back(static_cast<char>((trailing << 4) | significant));
    const uint64_t shifted = x >> (8 * trailing);
    char buf[8];
    std::memcpy(buf, &shifted, 8);
    out->append(buf, significant);
  }
}

// kFloatXor: per value a control byte (high nibble: trailing zero bytes t, low nibble:
// significant bytes s, s + t <= 8) and s bytes of (bits XOR previous bits) >> 8t; the
// value before the first is 0.
absl::Status DecodeXor(std::string_view in, size_t n, double* out) {
  constexpr std::string_view kName = "float xor";
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const uint8_t* const end = p + in.size();
  uint64_t prev = 0;
  for (size_t i = 0; i < n; ++i) {
    if (p == end) return Corrupt(kName, "truncated", i);
    const uint8_t control = *p++;
    const int significant = control & 0x0f;
    const int trailing = control >> 4;
    if (significant + trailing > 8) return Corrupt(kName, "bad control byte", i);
    if (significant > end - p) return Corrupt(kName, "truncated", i);
    if (significant != 0) {
      uint64_t x = 0;
      std::memcpy(&x, p, significant);
      p += significant;
      prev ^= x << (8 * trailing);
    }
    out[i] = std::bit_cast<double>(prev);
  }
  if (p != end) return Corrupt(kName, "trailing bytes", n);
  return absl::OkStatus();
}

absl::Status DecodeDecimal(std::string_view in, size_t n, double* out) {
  if (n == 0) {
    if (!in.empty()) return Corrupt("float decimal", "trailing bytes", 0);
    return absl::OkStatus();
  }
  if (in.empty()) return Corrupt("float decimal", "missing exponent", 0);
  const uint8_t e = static_cast<uint8_t>(in[0]);
  if (e > kMaxDecimalExponent) return Corrupt("float decimal", "bad exponent", 0);
  std::unique_ptr<int64_t[]> ints(new int64_t[n]);
  absl::Status s = DecodeIntStream<false>(in.substr(1), n, ints.get());
  if (!s.ok()) return s;
  const double p = kPow10[e];
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<double>(ints[i]) / p;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Bitmaps.

template <typename T>
void PutBits(std::span<const T> flags, std::string* out) {
  const size_t n = flags.size();
  const size_t start = out->size();
  out->resize(start + (n + 7) / 8);
  auto* p = reinterpret_cast<uint8_t*>(out->data() + start);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint8_t byte = 0;
    for (int k = 0; k < 8; ++k) byte |= static_cast<uint8_t>(flags[i + k] != 0) << k;
    *p++ = byte;
  }
  if (i < n) {
    uint8_t byte = 0;
    for (int k = 0; i + k < n; ++k) byte |= static_cast<uint8_t>(flags[i + k] != 0) << k;
    *p = byte;
  }
}

// Checks in is a bitmap of exactly n flags with zero padding bits.
bool CheckBitmap(std::string_view in, size_t n) {
  if (in.size() != (n + 7) / 8) return false;
  if (n % 8 != 0) {
    const uint8_t last = static_cast<uint8_t>(in.back());
    if ((last >> (n % 8)) != 0) return false;
  }
  return true;
}

template <typename T>
size_t ExpandBits(std::string_view in, size_t n, T* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  size_t ones = 0;
  for (size_t i = 0; i < n; ++i) {
    const T bit = static_cast<T>((p[i >> 3] >> (i & 7)) & 1);
    out[i] = bit;
    ones += static_cast<size_t>(bit);
  }
  return ones;
}

// ---------------------------------------------------------------------------------------
// kStringPlain: n varint lengths, then the n strings' bytes back to back.

absl::Status DecodeStringStream(std::string_view in, size_t n, std::vector<std::string>* out) {
  constexpr std::string_view kName = "string plain";
  if (n > in.size()) return Corrupt(kName, "fewer bytes than values", 0);
  Decoder lengths(in);
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t len;
    if (!lengths.GetVarint64(&len)) return Corrupt(kName, "bad length", i);
    if (len > in.size() || total + len > in.size()) return Corrupt(kName, "length too large", i);
    total += len;
  }
  const size_t header = lengths.offset();
  if (in.size() - header != total) return Corrupt(kName, "lengths do not match the bytes", n);
  Decoder again(in.substr(0, header));
  const char* data = in.data() + header;
  out->reserve(out->size() + n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t len = 0;
    if (!again.GetVarint64(&len)) return Corrupt(kName, "bad length", i);
    out->emplace_back(data, len);
    data += len;
  }
  return absl::OkStatus();
}

}  // namespace

bool IsColumnEncoding(uint8_t id) {
  return id >= static_cast<uint8_t>(ColumnEncoding::kTimeScaledDelta) &&
         id <= static_cast<uint8_t>(ColumnEncoding::kStringPlain);
}

void EncodeTimes(std::span<const int64_t> values, std::string* out) {
  EncodeTimeStream(values, out);
}

void EncodeInts(std::span<const int64_t> values, std::string* out) { EncodeIntStream(values, out); }

ColumnEncoding EncodeFloats(std::span<const double> values, std::string* out) {
  const size_t n = values.size();
  if (n > 0) {
    std::unique_ptr<int64_t[]> ints(new int64_t[n]);
    for (int e = 0; e <= kMaxDecimalExponent; ++e) {
      if (!ScaleToDecimal(values, e, ints.get())) continue;
      const size_t start = out->size();
      out->push_back(static_cast<char>(e));
      EncodeIntStream(std::span<const int64_t>(ints.get(), n), out);
      // Many significant digits pack no better than raw bits; keep the smaller encoding.
      if (out->size() - start > 6 * n) {
        std::string xor_bytes;
        EncodeXor(values, &xor_bytes);
        if (xor_bytes.size() < out->size() - start) {
          out->resize(start);
          out->append(xor_bytes);
          return ColumnEncoding::kFloatXor;
        }
      }
      return ColumnEncoding::kFloatDecimal;
    }
  }
  EncodeXor(values, out);
  return ColumnEncoding::kFloatXor;
}

void EncodeBools(std::span<const int64_t> values, std::string* out) { PutBits(values, out); }

void EncodeStrings(std::span<const std::string> values, std::string* out) {
  size_t total = 0;
  for (const std::string& s : values) {
    PutVarint64(out, s.size());
    total += s.size();
  }
  out->reserve(out->size() + total);
  for (const std::string& s : values) out->append(s);
}

void EncodeBitmap(std::span<const uint8_t> flags, std::string* out) { PutBits(flags, out); }

absl::Status DecodeIncreasingTimes(std::string_view in, size_t n, std::span<const uint32_t> breaks,
                                   int64_t* out) {
  return DecodeTimeStream<true>(in, n, breaks, out);
}

absl::Status DecodeInt64s(ColumnEncoding encoding, std::string_view in, size_t n, int64_t* out) {
  switch (encoding) {
    case ColumnEncoding::kTimeScaledDelta:
      return DecodeTimeStream<false>(in, n, {}, out);
    case ColumnEncoding::kIntDelta:
      return DecodeIntStream<false>(in, n, out);
    case ColumnEncoding::kBoolBitmap:
      if (!CheckBitmap(in, n)) return Corrupt("bool bitmap", "bad size or padding", 0);
      ExpandBits(in, n, out);
      return absl::OkStatus();
    default:
      return absl::DataLossError(
          StrCat("encoding ", static_cast<int>(encoding), " does not hold integers"));
  }
}

absl::Status DecodeDoubles(ColumnEncoding encoding, std::string_view in, size_t n, double* out) {
  switch (encoding) {
    case ColumnEncoding::kFloatDecimal:
      return DecodeDecimal(in, n, out);
    case ColumnEncoding::kFloatXor:
      return DecodeXor(in, n, out);
    default:
      return absl::DataLossError(
          StrCat("encoding ", static_cast<int>(encoding), " does not hold floats"));
  }
}

absl::Status DecodeStrings(ColumnEncoding encoding, std::string_view in, size_t n,
                           std::vector<std::string>* out) {
  if (encoding != ColumnEncoding::kStringPlain) {
    return absl::DataLossError(
        StrCat("encoding ", static_cast<int>(encoding), " does not hold strings"));
  }
  return DecodeStringStream(in, n, out);
}

absl::Status DecodeBitmap(std::string_view in, size_t n, uint8_t* out, size_t* ones) {
  if (!CheckBitmap(in, n)) return Corrupt("bitmap", "bad size or padding", 0);
  *ones = ExpandBits(in, n, out);
  return absl::OkStatus();
}

}  // namespace burnrate
