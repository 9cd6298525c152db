#include "query/ast.h"

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "base/str_cat.h"
#include "query/literals.h"

namespace burnrate {
namespace {

bool IsIdentStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

std::string_view VarTypeText(VarType t) {
  switch (t) {
    case VarType::kAny:
      return "";
    case VarType::kTag:
      return "tag";
    case VarType::kField:
      return "field";
    case VarType::kFloat:
      return "float";
    case VarType::kInteger:
      return "integer";
    case VarType::kUnsigned:
      return "unsigned";
    case VarType::kString:
      return "string";
    case VarType::kBoolean:
      return "boolean";
  }
  return "";
}

std::string RegexText(std::string_view pattern) {
  std::string out = "/";
  for (char c : pattern) {
    if (c == '/') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('/');
  return out;
}

// `DISTINCT (` parses as a call, so distinct() prints bare although DISTINCT is a keyword.
std::string FunctionName(std::string_view name) {
  return name == "distinct" ? std::string(name) : QuoteIdent(name);
}

void AppendExpr(std::string* out, const Expr& e, int parent_precedence, bool right_side);

void AppendArgs(std::string* out, const std::vector<Expr>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out->append(", ");
    AppendExpr(out, args[i], 0, false);
  }
}

void AppendExpr(std::string* out, const Expr& e, int parent_precedence, bool right_side) {
  std::visit(
      [&](const auto& n) {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, IntegerLiteral>) {
          StrAppend(out, n.value);
        } else if constexpr (std::is_same_v<T, NumberLiteral>) {
          out->append(n.text);
        } else if constexpr (std::is_same_v<T, StringLiteral>) {
          out->append(QuoteString(n.value));
        } else if constexpr (std::is_same_v<T, RegexLiteral>) {
          out->append(RegexText(n.pattern));
        } else if constexpr (std::is_same_v<T, DurationLiteral>) {
          out->append(FormatDuration(n.ns));
        } else if constexpr (std::is_same_v<T, TimeLiteral>) {
          out->append(QuoteString(n.text));
        } else if constexpr (std::is_same_v<T, BoolLiteral>) {
          out->append(n.value ? "true" : "false");
        } else if constexpr (std::is_same_v<T, Wildcard>) {
          out->append(n.kind == WildcardKind::kTags     ? "*::tag"
                      : n.kind == WildcardKind::kFields ? "*::field"
                                                        : "*");
        } else if constexpr (std::is_same_v<T, VarRef>) {
          out->append(QuoteIdent(n.name));
          if (n.type != VarType::kAny) StrAppend(out, "::", VarTypeText(n.type));
        } else if constexpr (std::is_same_v<T, Call>) {
          StrAppend(out, FunctionName(n.name), "(");
          AppendArgs(out, n.args);
          out->append(")");
        } else if constexpr (std::is_same_v<T, BinaryExpr>) {
          const int p = Precedence(n.op);
          // Operators are left-associative: a right operand of equal binding needs
          // parentheses, a left one does not.
          const bool paren = p < parent_precedence || (p == parent_precedence && right_side);
          if (paren) out->append("(");
          AppendExpr(out, *n.lhs, p, false);
          StrAppend(out, " ", BinaryOpText(n.op), " ");
          AppendExpr(out, *n.rhs, p, true);
          if (paren) out->append(")");
        }
      },
      e.node);
}

std::string JoinMeasurements(const std::vector<Measurement>& sources) {
  std::string out;
  for (size_t i = 0; i < sources.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(ToString(sources[i]));
  }
  return out;
}

void AppendOn(std::string* out, const std::string& database) {
  if (!database.empty()) StrAppend(out, " ON ", QuoteIdent(database));
}

void AppendFrom(std::string* out, const std::vector<Measurement>& sources) {
  if (!sources.empty()) StrAppend(out, " FROM ", JoinMeasurements(sources));
}

void AppendWhere(std::string* out, const std::optional<Expr>& condition) {
  if (condition) StrAppend(out, " WHERE ", ToString(*condition));
}

void AppendLimits(std::string* out, int64_t limit, int64_t offset) {
  if (limit > 0) StrAppend(out, " LIMIT ", limit);
  if (offset > 0) StrAppend(out, " OFFSET ", offset);
}

std::string DimensionText(const Dimension& d) {
  switch (d.kind) {
    case Dimension::Kind::kTag:
      return QuoteIdent(d.name);
    case Dimension::Kind::kRegex:
      return RegexText(d.name);
    case Dimension::Kind::kWildcard:
      return "*";
    case Dimension::Kind::kTime:
      if (d.offset_ns != 0) {
        return StrCat("time(", FormatDuration(d.interval_ns), ", ", FormatDuration(d.offset_ns),
                      ")");
      }
      return StrCat("time(", FormatDuration(d.interval_ns), ")");
  }
  return "";
}

std::string FillText(const SelectStatement& s) {
  switch (s.fill) {
    case FillMode::kNull:
      return "null";
    case FillMode::kNone:
      return "none";
    case FillMode::kPrevious:
      return "previous";
    case FillMode::kLinear:
      return "linear";
    case FillMode::kValue:
      return s.fill_value ? ToString(*s.fill_value) : "0";
  }
  return "";
}

std::string StatementText(const SelectStatement& s) { return ToString(s); }

std::string StatementText(const ExplainStatement& s) {
  return StrCat("EXPLAIN ", s.analyze ? "ANALYZE " : "", ToString(s.select));
}

std::string StatementText(const ShowDatabasesStatement&) { return "SHOW DATABASES"; }

std::string StatementText(const ShowMeasurementsStatement& s) {
  std::string out = "SHOW MEASUREMENTS";
  AppendOn(&out, s.database);
  if (s.with_measurement) {
    StrAppend(&out, " WITH MEASUREMENT ", s.with_measurement->regex ? "=~ " : "= ",
              ToString(*s.with_measurement));
  }
  AppendWhere(&out, s.condition);
  AppendLimits(&out, s.limit, s.offset);
  return out;
}

std::string StatementText(const ShowTagKeysStatement& s) {
  std::string out = "SHOW TAG KEYS";
  AppendOn(&out, s.database);
  AppendFrom(&out, s.sources);
  AppendWhere(&out, s.condition);
  AppendLimits(&out, s.limit, s.offset);
  return out;
}

std::string StatementText(const ShowTagValuesStatement& s) {
  std::string out = "SHOW TAG VALUES";
  AppendOn(&out, s.database);
  AppendFrom(&out, s.sources);
  out.append(" WITH KEY ");
  switch (s.key_op) {
    case ShowTagValuesStatement::KeyOp::kEq:
      StrAppend(&out, "= ", QuoteIdent(s.keys.empty() ? "" : s.keys[0]));
      break;
    case ShowTagValuesStatement::KeyOp::kNotEq:
      StrAppend(&out, "!= ", QuoteIdent(s.keys.empty() ? "" : s.keys[0]));
      break;
    case ShowTagValuesStatement::KeyOp::kEqRegex:
      StrAppend(&out, "=~ ", RegexText(s.key_regex));
      break;
    case ShowTagValuesStatement::KeyOp::kNotEqRegex:
      StrAppend(&out, "!~ ", RegexText(s.key_regex));
      break;
    case ShowTagValuesStatement::KeyOp::kIn:
      out.append("IN (");
      for (size_t i = 0; i < s.keys.size(); ++i) {
        if (i > 0) out.append(", ");
        out.append(QuoteIdent(s.keys[i]));
      }
      out.append(")");
      break;
  }
  AppendWhere(&out, s.condition);
  AppendLimits(&out, s.limit, s.offset);
  return out;
}

std::string StatementText(const ShowFieldKeysStatement& s) {
  std::string out = "SHOW FIELD KEYS";
  AppendOn(&out, s.database);
  AppendFrom(&out, s.sources);
  AppendLimits(&out, s.limit, s.offset);
  return out;
}

std::string StatementText(const ShowSeriesStatement& s) {
  std::string out = "SHOW SERIES";
  AppendOn(&out, s.database);
  AppendFrom(&out, s.sources);
  AppendWhere(&out, s.condition);
  AppendLimits(&out, s.limit, s.offset);
  return out;
}

std::string StatementText(const ShowRetentionPoliciesStatement& s) {
  std::string out = "SHOW RETENTION POLICIES";
  AppendOn(&out, s.database);
  return out;
}

std::string StatementText(const CreateDatabaseStatement& s) {
  std::string out = StrCat("CREATE DATABASE ", QuoteIdent(s.name));
  if (s.duration_ns || s.replication || s.shard_duration_ns || s.retention_policy_name) {
    out.append(" WITH");
    if (s.duration_ns) {
      StrAppend(&out, " DURATION ", *s.duration_ns == 0 ? "INF" : FormatDuration(*s.duration_ns));
    }
    if (s.replication) StrAppend(&out, " REPLICATION ", *s.replication);
    if (s.shard_duration_ns)
      StrAppend(&out, " SHARD DURATION ", FormatDuration(*s.shard_duration_ns));
    if (s.retention_policy_name) StrAppend(&out, " NAME ", QuoteIdent(*s.retention_policy_name));
  }
  return out;
}

std::string StatementText(const DropDatabaseStatement& s) {
  return StrCat("DROP DATABASE ", QuoteIdent(s.name));
}

std::string StatementText(const DropMeasurementStatement& s) {
  return StrCat("DROP MEASUREMENT ", QuoteIdent(s.name));
}

std::string StatementText(const DropSeriesStatement& s) {
  std::string out = "DROP SERIES";
  AppendFrom(&out, s.sources);
  AppendWhere(&out, s.condition);
  return out;
}

std::string StatementText(const DeleteStatement& s) {
  std::string out = "DELETE";
  AppendFrom(&out, s.sources);
  AppendWhere(&out, s.condition);
  return out;
}

}  // namespace

Expr Expr::Integer(int64_t value, NodePos pos) { return Expr{IntegerLiteral{value}, pos}; }

Expr Expr::Number(std::string_view text, NodePos pos) {
  NumberLiteral n;
  n.text = std::string(text);
  if (!absl::SimpleAtod(absl::string_view(text.data(), text.size()), &n.value)) n.value = 0;
  return Expr{std::move(n), pos};
}

Expr Expr::String(std::string value, NodePos pos) {
  return Expr{StringLiteral{std::move(value)}, pos};
}

Expr Expr::Regex(std::string pattern, NodePos pos) {
  return Expr{RegexLiteral{std::move(pattern)}, pos};
}

Expr Expr::Duration(int64_t ns, NodePos pos) { return Expr{DurationLiteral{ns}, pos}; }

Expr Expr::Bool(bool value, NodePos pos) { return Expr{BoolLiteral{value}, pos}; }

Expr Expr::Var(std::string name, VarType type, NodePos pos) {
  return Expr{VarRef{std::move(name), type}, pos};
}

Expr Expr::Function(std::string name, std::vector<Expr> args, NodePos pos) {
  return Expr{Call{std::move(name), std::move(args)}, pos};
}

Expr Expr::Binary(BinaryOp op, Expr lhs, Expr rhs, NodePos pos) {
  return Expr{BinaryExpr{op, std::move(lhs), std::move(rhs)}, pos};
}

void ForEachExpr(const Expr& e, const std::function<void(const Expr&)>& fn) {
  fn(e);
  if (const auto* call = e.As<Call>()) {
    for (const Expr& arg : call->args) ForEachExpr(arg, fn);
  } else if (const auto* bin = e.As<BinaryExpr>()) {
    ForEachExpr(*bin->lhs, fn);
    ForEachExpr(*bin->rhs, fn);
  }
}

bool IsComparison(BinaryOp op) {
  switch (op) {
    case BinaryOp::kEq:
    case BinaryOp::kNotEq:
    case BinaryOp::kLt:
    case BinaryOp::kLtEq:
    case BinaryOp::kGt:
    case BinaryOp::kGtEq:
    case BinaryOp::kEqRegex:
    case BinaryOp::kNotEqRegex:
      return true;
    default:
      return false;
  }
}

std::string_view BinaryOpText(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kEq:
      return "=";
    case BinaryOp::kNotEq:
      return "!=";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kLtEq:
      return "<=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kGtEq:
      return ">=";
    case BinaryOp::kEqRegex:
      return "=~";
    case BinaryOp::kNotEqRegex:
      return "!~";
    case BinaryOp::kAnd:
      return "AND";
    case BinaryOp::kOr:
      return "OR";
  }
  return "?";
}

int Precedence(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr:
      return 1;
    case BinaryOp::kAnd:
      return 2;
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
      return 4;
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
      return 5;
    default:
      return 3;
  }
}

bool IsTimeRef(const Expr& e) {
  const auto* ref = e.As<VarRef>();
  return ref != nullptr && absl::EqualsIgnoreCase(ref->name, "time");
}

bool IsCall(const Expr& e, std::string_view name) {
  const auto* call = e.As<Call>();
  return call != nullptr && call->name == name;
}

const Dimension* SelectStatement::TimeDimension() const {
  for (const Dimension& d : dimensions) {
    if (d.kind == Dimension::Kind::kTime) return &d;
  }
  return nullptr;
}

NodePos StatementPos(const Statement& statement) {
  return std::visit([](const auto& s) { return s.pos; }, statement);
}

std::string QuoteIdent(std::string_view name) {
  bool bare = !name.empty() && IsIdentStart(name[0]) && !IsKeyword(name);
  for (char c : name) bare = bare && IsIdentChar(c);
  if (bare) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string QuoteString(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string ToString(const Expr& e) {
  std::string out;
  AppendExpr(&out, e, 0, false);
  return out;
}

std::string ToString(const Measurement& m) {
  const std::string name = m.regex ? RegexText(*m.regex) : QuoteIdent(m.name);
  if (!m.database.empty()) {
    return StrCat(QuoteIdent(m.database), ".",
                  m.retention_policy.empty() ? "" : QuoteIdent(m.retention_policy), ".", name);
  }
  if (!m.retention_policy.empty()) return StrCat(QuoteIdent(m.retention_policy), ".", name);
  return name;
}

std::string ToString(const SelectStatement& s) {
  std::string out = "SELECT ";
  for (size_t i = 0; i < s.fields.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(ToString(s.fields[i].expr));
    if (!s.fields[i].alias.empty()) StrAppend(&out, " AS ", QuoteIdent(s.fields[i].alias));
  }
  out.append(" FROM ");
  for (size_t i = 0; i < s.sources.size(); ++i) {
    if (i > 0) out.append(", ");
    if (const auto* m = std::get_if<Measurement>(&s.sources[i])) {
      out.append(ToString(*m));
    } else {
      StrAppend(&out, "(", ToString(*std::get<Subquery>(s.sources[i]).select), ")");
    }
  }
  AppendWhere(&out, s.condition);
  if (!s.dimensions.empty()) {
    out.append(" GROUP BY ");
    for (size_t i = 0; i < s.dimensions.size(); ++i) {
      if (i > 0) out.append(", ");
      out.append(DimensionText(s.dimensions[i]));
    }
  }
  if (s.fill != FillMode::kNull) StrAppend(&out, " fill(", FillText(s), ")");
  if (!s.order_by.empty()) {
    out.append(" ORDER BY ");
    for (size_t i = 0; i < s.order_by.size(); ++i) {
      if (i > 0) out.append(", ");
      out.append(ToString(s.order_by[i].expr));
      if (!s.order_by[i].ascending) out.append(" DESC");
    }
  }
  if (s.limit > 0) StrAppend(&out, " LIMIT ", s.limit);
  if (s.offset > 0) StrAppend(&out, " OFFSET ", s.offset);
  if (s.slimit > 0) StrAppend(&out, " SLIMIT ", s.slimit);
  if (s.soffset > 0) StrAppend(&out, " SOFFSET ", s.soffset);
  if (!s.tz.empty()) StrAppend(&out, " tz(", QuoteString(s.tz), ")");
  return out;
}

std::string ToString(const Statement& s) {
  return std::visit([](const auto& st) { return StatementText(st); }, s);
}

std::string ToString(const Query& q) {
  std::string out;
  for (size_t i = 0; i < q.statements.size(); ++i) {
    if (i > 0) out.append("; ");
    out.append(ToString(q.statements[i]));
  }
  return out;
}

}  // namespace burnrate
