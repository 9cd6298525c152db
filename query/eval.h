#pragma once

// Evaluation of InfluxQL expressions over one row or one output bucket. Names and calls
// are resolved by an environment: `Env` has `ResultValue Var(const Expr& ref)` and
// `ResultValue Call(const Expr& call)`.

#include <memory>
#include <regex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "burnrate/query_result.h"
#include "query/ast.h"
#include "query/value_ops.h"

namespace burnrate {

// The compiled regexes of an expression, by node. Immutable after Compile; matching on a
// const std::regex is safe from several threads. Thread-compatible.
class RegexSet {
 public:
  // Compiles every regex literal in e. kInvalidArgument naming the position of a bad one.
  [[nodiscard]] absl::Status Compile(const Expr& e);
  const std::regex* Find(const Expr& regex_node) const;

 private:
  absl::flat_hash_map<const Expr*, std::unique_ptr<std::regex>> regexes_;
};

// True for a boolean true; everything else (null, numbers, strings) is false.
inline bool Truthy(const ResultValue& v) {
  return v.kind() == ResultValue::Kind::kBoolean && v.boolean();
}

template <typename Env>
[[nodiscard]] absl::StatusOr<ResultValue> Evaluate(const Expr& e, const Env& env,
                                                   const RegexSet* regexes) {
  if (e.Is<VarRef>()) return env.Var(e);
  if (e.Is<Call>()) return env.Call(e);
  if (const auto* b = e.As<BinaryExpr>()) {
    if (b->op == BinaryOp::kAnd || b->op == BinaryOp::kOr) {
      absl::StatusOr<ResultValue> l = Evaluate(*b->lhs, env, regexes);
      if (!l.ok()) return l;
      const bool lt = Truthy(*l);
      if (b->op == BinaryOp::kAnd && !lt) return ResultValue::Boolean(false);
      if (b->op == BinaryOp::kOr && lt) return ResultValue::Boolean(true);
      absl::StatusOr<ResultValue> r = Evaluate(*b->rhs, env, regexes);
      if (!r.ok()) return r;
      return ResultValue::Boolean(Truthy(*r));
    }
    absl::StatusOr<ResultValue> l = Evaluate(*b->lhs, env, regexes);
    if (!l.ok()) return l;
    if (b->op == BinaryOp::kEqRegex || b->op == BinaryOp::kNotEqRegex) {
      const std::regex* re = regexes == nullptr ? nullptr : regexes->Find(*b->rhs);
      if (re == nullptr || l->kind() != ResultValue::Kind::kString)
        return ResultValue::Boolean(false);
      const bool m = std::regex_search(l->string(), *re);
      return ResultValue::Boolean(b->op == BinaryOp::kEqRegex ? m : !m);
    }
    absl::StatusOr<ResultValue> r = Evaluate(*b->rhs, env, regexes);
    if (!r.ok()) return r;
    if (IsComparison(b->op)) {
      const std::optional<int> c = CompareValues(*l, *r);
      if (!c) return ResultValue::Boolean(false);
      switch (b->op) {
        case BinaryOp::kEq:
          return ResultValue::Boolean(*c == 0);
        case BinaryOp::kNotEq:
          return ResultValue::Boolean(*c != 0);
        case BinaryOp::kLt:
          return ResultValue::Boolean(*c < 0);
        case BinaryOp::kLtEq:
          return ResultValue::Boolean(*c <= 0);
        case BinaryOp::kGt:
          return ResultValue::Boolean(*c > 0);
        case BinaryOp::kGtEq:
          return ResultValue::Boolean(*c >= 0);
        default:
          return ResultValue::Boolean(false);
      }
    }
    return Arithmetic(b->op, *l, *r);
  }
  std::optional<ResultValue> lit = LiteralValue(e);
  if (lit) return *std::move(lit);
  return ResultValue();
}

}  // namespace burnrate
