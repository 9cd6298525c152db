#pragma once

// Arithmetic and comparison of result values, with money kept exact.
//
// Numbers come in four kinds: integer, unsigned, float and decimal (money, and number
// literals that fit 10 decimal places exactly). The rules (docs/query_execution.md):
//   - decimal with decimal or integer: + - * exact, / rounded half-even to 10 places;
//   - integer with integer: + - * integer (float on overflow), / float (as InfluxDB);
//   - anything with a float: float;
//   - division by zero gives 0 (as InfluxDB); a null operand gives null; strings and
//     booleans give null in arithmetic.
// Comparisons between exact kinds are exact (money against the literal's decimal text);
// with a float they compare as doubles.

#include <optional>

#include "absl/status/statusor.h"
#include "burnrate/query_result.h"
#include "query/ast.h"

namespace burnrate {

// units * 10^10 per whole unit.
inline constexpr __int128 kDecimalScale = 10'000'000'000;

// The value of a literal: integers, strings and booleans as themselves; a number as a
// decimal when it has at most 10 fractional digits and fits, else as a float. nullopt for
// other nodes.
std::optional<ResultValue> LiteralValue(const Expr& e);

// a op b for + - * /. kInvalidArgument when an exact result leaves 128 bits.
[[nodiscard]] absl::StatusOr<ResultValue> Arithmetic(BinaryOp op, const ResultValue& a,
                                                     const ResultValue& b);

// The three-way comparison of two values of comparable kinds (numbers with numbers, strings
// with strings, booleans with booleans, times with times); nullopt otherwise or when
// either is null.
std::optional<int> CompareValues(const ResultValue& a, const ResultValue& b);

// A total order for sorting: nulls last, then numbers, strings, booleans; numbers by value.
int OrderValues(const ResultValue& a, const ResultValue& b);

// num / den rounded half-even; den != 0.
__int128 DivRoundHalfEven(__int128 num, __int128 den);

}  // namespace burnrate
