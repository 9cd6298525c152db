#include "query/value_ops.h"

#include <charconv>
#include <cstdlib>
#include <limits>
#include <string>

#include "burnrate/money.h"
#include "query/format.h"
#include "query/result_util.h"

namespace burnrate {
namespace {

using Kind = ResultValue::Kind;

bool IsExact(Kind k) { return k == Kind::kInteger || k == Kind::kUnsigned || k == Kind::kDecimal; }
bool IsNumber(Kind k) { return IsExact(k) || k == Kind::kFloat; }

// An exact number as 10^-10 units.
__int128 Units(const ResultValue& v) {
  switch (v.kind()) {
    case Kind::kInteger:
      return static_cast<__int128>(v.integer()) * kDecimalScale;
    case Kind::kUnsigned:
      return static_cast<__int128>(v.unsigned_value()) * kDecimalScale;
    default:
      return v.decimal_units();
  }
}

// An integral exact number as itself.
__int128 Whole(const ResultValue& v) {
  return v.kind() == Kind::kUnsigned ? static_cast<__int128>(v.unsigned_value())
                                     : static_cast<__int128>(v.integer());
}

ResultValue FromWhole(__int128 v) {
  if (v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max()) {
    return ResultValue::Integer(static_cast<int64_t>(v));
  }
  if (v > 0 && v <= static_cast<__int128>(std::numeric_limits<uint64_t>::max())) {
    return ResultValue::Unsigned(static_cast<uint64_t>(v));
  }
  return ResultValue::Float(static_cast<double>(v));
}

absl::Status Overflow() {
  return absl::InvalidArgumentError("exact arithmetic overflow (beyond 128 bits)");
}

}  // namespace

double DecimalToDouble(__int128 units) {
  const std::string text = MoneyUnitsToString(units);
  double d = 0;
  std::from_chars(text.data(), text.data() + text.size(), d);
  return d;
}

__int128 DivRoundHalfEven(__int128 num, __int128 den) {
  if (den < 0) {
    num = -num;
    den = -den;
  }
  __int128 q = num / den;
  __int128 r = num % den;
  if (r != 0) {
    const __int128 twice = (r < 0 ? -r : r) * 2;
    const bool up = twice > den || (twice == den && (q % 2 != 0));
    if (up) q += num < 0 ? -1 : 1;
  }
  return q;
}

std::optional<ResultValue> LiteralValue(const Expr& e) {
  if (const auto* i = e.As<IntegerLiteral>()) return ResultValue::Integer(i->value);
  if (const auto* s = e.As<StringLiteral>()) return ResultValue::String(s->value);
  if (const auto* b = e.As<BoolLiteral>()) return ResultValue::Boolean(b->value);
  if (const auto* n = e.As<NumberLiteral>()) {
    // Exact when Money's parse does not round: at most 10 fractional digits.
    const size_t point = n->text.find('.');
    const size_t frac = point == std::string::npos ? 0 : n->text.size() - point - 1;
    if (frac <= static_cast<size_t>(Money::kScale)) {
      absl::StatusOr<Money> m = Money::Parse(n->text);
      if (m.ok()) return ResultValue::Decimal(m->units());
    }
    return ResultValue::Float(n->value);
  }
  if (const auto* d = e.As<DurationLiteral>()) return ResultValue::Integer(d->ns);
  return std::nullopt;
}

absl::StatusOr<ResultValue> Arithmetic(BinaryOp op, const ResultValue& a, const ResultValue& b) {
  if (!IsNumber(a.kind()) || !IsNumber(b.kind())) return ResultValue();
  if (a.kind() == Kind::kFloat || b.kind() == Kind::kFloat) {
    const double x = a.ToDouble(), y = b.ToDouble();
    switch (op) {
      case BinaryOp::kAdd:
        return ResultValue::Float(x + y);
      case BinaryOp::kSub:
        return ResultValue::Float(x - y);
      case BinaryOp::kMul:
        return ResultValue::Float(x * y);
      case BinaryOp::kDiv:
        return ResultValue::Float(y == 0 ? 0 : x / y);
      default:
        return ResultValue();
    }
  }
  const bool decimal = a.kind() == Kind::kDecimal || b.kind() == Kind::kDecimal;
  if (!decimal) {
    const __int128 x = Whole(a), y = Whole(b);
    switch (op) {
      case BinaryOp::kAdd:
        return FromWhole(x + y);
      case BinaryOp::kSub:
        return FromWhole(x - y);
      case BinaryOp::kMul: {
        __int128 p;
        if (__builtin_mul_overflow(x, y, &p)) {
          return ResultValue::Float(static_cast<double>(x) * static_cast<double>(y));
        }
        return FromWhole(p);
      }
      case BinaryOp::kDiv:
        return ResultValue::Float(y == 0 ? 0 : static_cast<double>(x) / static_cast<double>(y));
      default:
        return ResultValue();
    }
  }
  __int128 out = 0;
  switch (op) {
    case BinaryOp::kAdd:
      if (__builtin_add_overflow(Units(a), Units(b), &out)) return Overflow();
      return ResultValue::Decimal(out);
    case BinaryOp::kSub:
      if (__builtin_sub_overflow(Units(a), Units(b), &out)) return Overflow();
      return ResultValue::Decimal(out);
    case BinaryOp::kMul:
      if (a.kind() != Kind::kDecimal || b.kind() != Kind::kDecimal) {
        const ResultValue& d = a.kind() == Kind::kDecimal ? a : b;
        const ResultValue& w = a.kind() == Kind::kDecimal ? b : a;
        if (__builtin_mul_overflow(d.decimal_units(), Whole(w), &out)) return Overflow();
        return ResultValue::Decimal(out);
      }
      if (__builtin_mul_overflow(a.decimal_units(), b.decimal_units(), &out)) return Overflow();
      return ResultValue::Decimal(DivRoundHalfEven(out, kDecimalScale));
    case BinaryOp::kDiv: {
      const __int128 y = Units(b);
      if (y == 0) return ResultValue::Decimal(0);
      if (b.kind() != Kind::kDecimal)
        return ResultValue::Decimal(DivRoundHalfEven(Units(a), Whole(b)));
      if (__builtin_mul_overflow(Units(a), kDecimalScale, &out)) return Overflow();
      return ResultValue::Decimal(DivRoundHalfEven(out, y));
    }
    default:
      return ResultValue();
  }
}

std::optional<int> CompareValues(const ResultValue& a, const ResultValue& b) {
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (IsNumber(a.kind()) && IsNumber(b.kind())) {
    if (IsExact(a.kind()) && IsExact(b.kind())) {
      if (a.kind() != Kind::kDecimal && b.kind() != Kind::kDecimal) return cmp(Whole(a), Whole(b));
      return cmp(Units(a), Units(b));
    }
    const double x = a.ToDouble(), y = b.ToDouble();
    if (x != x || y != y) return std::nullopt;
    return cmp(x, y);
  }
  if (a.kind() != b.kind()) return std::nullopt;
  switch (a.kind()) {
    case Kind::kString:
      return cmp(a.string(), b.string());
    case Kind::kBoolean:
      return cmp(a.boolean(), b.boolean());
    case Kind::kTime:
      return cmp(a.time(), b.time());
    default:
      return std::nullopt;
  }
}

int OrderValues(const ResultValue& a, const ResultValue& b) {
  auto rank = [](Kind k) {
    if (IsNumber(k)) return 0;
    switch (k) {
      case Kind::kString:
        return 1;
      case Kind::kBoolean:
        return 2;
      case Kind::kTime:
        return 3;
      default:
        return 4;  // null
    }
  };
  const int ra = rank(a.kind()), rb = rank(b.kind());
  if (ra != rb) return ra < rb ? -1 : 1;
  std::optional<int> c = CompareValues(a, b);
  return c.value_or(0);
}

}  // namespace burnrate
