#include "base/money_sum.h"

#include <algorithm>

namespace burnrate {
namespace {

constexpr uint64_t kBias = 1ull << 63;
constexpr size_t kChunk = size_t{1} << 30;

// Sums of the high and low halves of (v + 2^63) over n values; n <= 2^31.
// target_clones: the AVX-512 and AVX2 versions run four or eight lanes where the CPU has
// them; the baseline keeps the binary portable.
__attribute__((target_clones("avx512f", "avx2", "default"))) void SumHalves(const int64_t* v,
                                                                            size_t n,
                                                                            uint64_t* hi_out,
                                                                            uint64_t* lo_out) {
  uint64_t hi = 0;
  uint64_t lo = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t u = static_cast<uint64_t>(v[i]) ^ kBias;
    hi += u >> 32;
    lo += u & 0xffffffffu;
  }
  *hi_out = hi;
  *lo_out = lo;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void SumHalvesValid(
    const int64_t* v, const uint8_t* valid, size_t n, uint64_t* hi_out, uint64_t* lo_out,
    uint64_t* count_out) {
  uint64_t hi = 0;
  uint64_t lo = 0;
  uint64_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t mask = 0 - static_cast<uint64_t>(valid[i] != 0);
    const uint64_t u = (static_cast<uint64_t>(v[i]) ^ kBias) & mask;
    hi += u >> 32;
    lo += u & 0xffffffffu;
    count += mask & 1;
  }
  *hi_out = hi;
  *lo_out = lo;
  *count_out = count;
}

void AddChunk(uint64_t hi, uint64_t lo, uint64_t count, MoneySum* sum) {
  // sum(v) = sum(u) - count * 2^63, sum(u) = hi * 2^32 + lo.
  const unsigned __int128 total_u = (static_cast<unsigned __int128>(hi) << 32) + lo;
  const __int128 total = static_cast<__int128>(total_u) -
                         static_cast<__int128>(static_cast<unsigned __int128>(count) << 63);
  sum->AddSplit(static_cast<int64_t>(total >> 32), static_cast<uint64_t>(total & 0xffffffffu));
}

}  // namespace

MoneySum SumMoneyUnits(std::span<const int64_t> units) {
  MoneySum sum;
  for (size_t begin = 0; begin < units.size(); begin += kChunk) {
    const size_t n = std::min(kChunk, units.size() - begin);
    uint64_t hi, lo;
    SumHalves(units.data() + begin, n, &hi, &lo);
    AddChunk(hi, lo, n, &sum);
  }
  return sum;
}

MoneySum SumMoneyUnitsValid(std::span<const int64_t> units, std::span<const uint8_t> valid) {
  if (valid.empty()) return SumMoneyUnits(units);
  MoneySum sum;
  for (size_t begin = 0; begin < units.size(); begin += kChunk) {
    const size_t n = std::min(kChunk, units.size() - begin);
    uint64_t hi, lo, count;
    SumHalvesValid(units.data() + begin, valid.data() + begin, n, &hi, &lo, &count);
    AddChunk(hi, lo, count, &sum);
  }
  return sum;
}

}  // namespace burnrate
