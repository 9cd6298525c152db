#include "query/condition.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "query/literals.h"

namespace burnrate {
namespace {

constexpr TimestampNs kMinTime = std::numeric_limits<TimestampNs>::min();
constexpr TimestampNs kMaxTime = std::numeric_limits<TimestampNs>::max();

absl::Status ConditionError(const Expr& at, std::string_view message) {
  return absl::InvalidArgumentError(
      StrCat(message, " at line ", at.pos.line, ", char ", at.pos.column));
}

void Flatten(const Expr& e, std::vector<const Expr*>* out) {
  if (const auto* b = e.As<BinaryExpr>(); b != nullptr && b->op == BinaryOp::kAnd) {
    Flatten(*b->lhs, out);
    Flatten(*b->rhs, out);
    return;
  }
  out->push_back(&e);
}

bool MentionsTime(const Expr& e) {
  bool found = false;
  ForEachExpr(e, [&](const Expr& x) { found = found || IsTimeRef(x); });
  return found;
}

bool IsTagRef(const Expr& e, const WhereContext& ctx) {
  const auto* ref = e.As<VarRef>();
  if (ref == nullptr || IsTimeRef(e)) return false;
  if (ref->type == VarType::kTag) return true;
  if (ref->type != VarType::kAny) return false;
  return ctx.is_tag && ctx.is_tag(ref->name);
}

// True when e reads no field: only tags and literals.
bool ReadsNoField(const Expr& e, const WhereContext& ctx) {
  bool ok = true;
  ForEachExpr(e, [&](const Expr& x) {
    if (x.Is<VarRef>() && !IsTagRef(x, ctx)) ok = false;
    if (x.Is<Call>() || x.Is<Wildcard>()) ok = false;
  });
  return ok;
}

BinaryOp Mirror(BinaryOp op) {
  switch (op) {
    case BinaryOp::kLt:
      return BinaryOp::kGt;
    case BinaryOp::kLtEq:
      return BinaryOp::kGtEq;
    case BinaryOp::kGt:
      return BinaryOp::kLt;
    case BinaryOp::kGtEq:
      return BinaryOp::kLtEq;
    default:
      return op;
  }
}

std::optional<TagMatcher> AsTagMatcher(const BinaryExpr& b, const WhereContext& ctx) {
  TagMatcher m;
  switch (b.op) {
    case BinaryOp::kEq:
    case BinaryOp::kNotEq: {
      m.op = b.op == BinaryOp::kEq ? TagMatcher::Op::kEqual : TagMatcher::Op::kNotEqual;
      const Expr* tag = b.lhs.get();
      const Expr* value = b.rhs.get();
      if (!IsTagRef(*tag, ctx)) std::swap(tag, value);
      const auto* s = value->As<StringLiteral>();
      if (!IsTagRef(*tag, ctx) || s == nullptr) return std::nullopt;
      m.key = tag->As<VarRef>()->name;
      m.value = s->value;
      return m;
    }
    case BinaryOp::kEqRegex:
    case BinaryOp::kNotEqRegex: {
      const auto* re = b.rhs->As<RegexLiteral>();
      if (!IsTagRef(*b.lhs, ctx) || re == nullptr) return std::nullopt;
      m.op =
          b.op == BinaryOp::kEqRegex ? TagMatcher::Op::kRegexMatch : TagMatcher::Op::kRegexNoMatch;
      m.key = b.lhs->As<VarRef>()->name;
      m.value = re->pattern;
      return m;
    }
    default:
      return std::nullopt;
  }
}

// Intersects [split->min_time, split->max_time] with `time op value`.
void ApplyTimeBound(BinaryOp op, TimestampNs value, WhereSplit* split) {
  auto at_least = [&](TimestampNs v) { split->min_time = std::max(split->min_time, v); };
  auto at_most = [&](TimestampNs v) { split->max_time = std::min(split->max_time, v); };
  auto nothing = [&] {
    split->min_time = kMaxTime;
    split->max_time = kMinTime;
  };
  switch (op) {
    case BinaryOp::kEq:
      at_least(value);
      at_most(value);
      break;
    case BinaryOp::kGt:
      if (value == kMaxTime) {
        nothing();
      } else {
        at_least(value + 1);
      }
      break;
    case BinaryOp::kGtEq:
      at_least(value);
      break;
    case BinaryOp::kLt:
      if (value == kMinTime) {
        nothing();
      } else {
        at_most(value - 1);
      }
      break;
    case BinaryOp::kLtEq:
      at_most(value);
      break;
    default:
      break;
  }
}

// ANDs the conjuncts as a balanced tree, so that a long list does not make a deep one.
Expr AndAll(std::vector<Expr>* items, size_t begin, size_t end) {
  if (end - begin == 1) return std::move((*items)[begin]);
  const size_t mid = begin + (end - begin) / 2;
  Expr lhs = AndAll(items, begin, mid);
  Expr rhs = AndAll(items, mid, end);
  const NodePos pos = lhs.pos;
  return Expr::Binary(BinaryOp::kAnd, std::move(lhs), std::move(rhs), pos);
}

std::optional<Expr> AndAll(std::vector<Expr> items) {
  if (items.empty()) return std::nullopt;
  return AndAll(&items, 0, items.size());
}

}  // namespace

absl::StatusOr<TimestampNs> EvaluateTimeExpr(const Expr& e, const WhereContext& ctx) {
  if (const auto* i = e.As<IntegerLiteral>()) return i->value;
  if (const auto* d = e.As<DurationLiteral>()) return d->ns;
  if (const auto* t = e.As<TimeLiteral>()) {
    absl::StatusOr<TimestampNs> ns = ResolveTime(*t, ctx.tz);
    if (!ns.ok()) return ConditionError(e, StatusMessage(ns.status()));
    return *ns;
  }
  if (const auto* s = e.As<StringLiteral>()) {
    absl::StatusOr<TimeLiteral> t = ParseTimeString(s->value);
    if (!t.ok()) return ConditionError(e, StatusMessage(t.status()));
    absl::StatusOr<TimestampNs> ns = ResolveTime(*t, ctx.tz);
    if (!ns.ok()) return ConditionError(e, StatusMessage(ns.status()));
    return *ns;
  }
  if (const auto* call = e.As<Call>(); call != nullptr && call->name == "now") {
    if (!call->args.empty()) return ConditionError(e, "now() takes no arguments");
    return ctx.now;
  }
  if (const auto* b = e.As<BinaryExpr>()) {
    BR_ASSIGN_OR_RETURN(const TimestampNs lhs, EvaluateTimeExpr(*b->lhs, ctx));
    BR_ASSIGN_OR_RETURN(const TimestampNs rhs, EvaluateTimeExpr(*b->rhs, ctx));
    TimestampNs out = 0;
    bool overflow = false;
    switch (b->op) {
      case BinaryOp::kAdd:
        overflow = __builtin_add_overflow(lhs, rhs, &out);
        break;
      case BinaryOp::kSub:
        overflow = __builtin_sub_overflow(lhs, rhs, &out);
        break;
      case BinaryOp::kMul:
        overflow = __builtin_mul_overflow(lhs, rhs, &out);
        break;
      case BinaryOp::kDiv:
        if (rhs == 0) return ConditionError(e, "division by zero in time expression");
        if (lhs == kMinTime && rhs == -1) {
          overflow = true;
        } else {
          out = lhs / rhs;
        }
        break;
      default:
        return ConditionError(
            e, StrCat("invalid operator ", BinaryOpText(b->op), " in time expression"));
    }
    if (overflow) return ConditionError(e, "time expression out of range");
    return out;
  }
  return ConditionError(e, StrCat("invalid time value ", ToString(e),
                                  " (expected now(), a time literal, an integer or a duration)"));
}

absl::StatusOr<WhereSplit> SplitWhere(const Expr* condition, const WhereContext& ctx) {
  WhereSplit split;
  if (condition == nullptr) return split;
  std::vector<const Expr*> conjuncts;
  Flatten(*condition, &conjuncts);
  std::vector<Expr> series_residual;
  std::vector<Expr> row_residual;
  for (const Expr* c : conjuncts) {
    const auto* b = c->As<BinaryExpr>();
    if (b != nullptr && IsComparison(b->op) && (IsTimeRef(*b->lhs) || IsTimeRef(*b->rhs))) {
      const bool time_left = IsTimeRef(*b->lhs);
      const Expr& value = time_left ? *b->rhs : *b->lhs;
      if (b->op == BinaryOp::kNotEq || b->op == BinaryOp::kEqRegex ||
          b->op == BinaryOp::kNotEqRegex) {
        return ConditionError(
            *c, StrCat("time supports only =, <, <=, > and >= (found ", BinaryOpText(b->op), ")"));
      }
      BR_ASSIGN_OR_RETURN(const TimestampNs v, EvaluateTimeExpr(value, ctx));
      ApplyTimeBound(time_left ? b->op : Mirror(b->op), v, &split);
      continue;
    }
    if (MentionsTime(*c)) {
      return ConditionError(*c,
                            "invalid time condition: compare time with a constant, and combine "
                            "time conditions with the rest using AND");
    }
    if (b != nullptr) {
      if (std::optional<TagMatcher> m = AsTagMatcher(*b, ctx)) {
        split.tag_matchers.push_back(*std::move(m));
        continue;
      }
    }
    (ReadsNoField(*c, ctx) ? series_residual : row_residual).push_back(*c);
  }
  split.series_condition = AndAll(std::move(series_residual));
  split.row_condition = AndAll(std::move(row_residual));
  return split;
}

}  // namespace burnrate
