#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "burnrate/money.h"

namespace burnrate {

// Exact sum of Money units, vectorised: each value is biased to unsigned (v + 2^63) and
// split into 32-bit halves, which are summed in 64-bit lanes that cannot overflow for up to
// 2^31 values per chunk; the halves are recombined in 128 bits. The result is exact and
// independent of order, chunking and lane count.
MoneySum SumMoneyUnits(std::span<const int64_t> units);

// As SumMoneyUnits over the rows whose valid byte is non-zero.
MoneySum SumMoneyUnitsValid(std::span<const int64_t> units, std::span<const uint8_t> valid);

}  // namespace burnrate
