#include "query/select_plan.h"

#include <algorithm>
#include <regex>
#include <string>
#include <utility>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "query/literals.h"
#include "query/value_ops.h"

namespace burnrate {
namespace {

struct FunctionInfo {
  std::string_view name;
  AggFunc func;
};

constexpr FunctionInfo kFunctions[] = {
    {"count", AggFunc::kCount},   {"sum", AggFunc::kSum},
    {"mean", AggFunc::kMean},     {"min", AggFunc::kMin},
    {"max", AggFunc::kMax},       {"first", AggFunc::kFirst},
    {"last", AggFunc::kLast},     {"spread", AggFunc::kSpread},
    {"median", AggFunc::kMedian}, {"percentile", AggFunc::kPercentile},
    {"stddev", AggFunc::kStddev}, {"distinct", AggFunc::kDistinct},
    {"top", AggFunc::kTop},       {"bottom", AggFunc::kBottom},
};

// InfluxQL functions burnrate does not implement: named as such rather than "undefined".
constexpr std::string_view kUnsupported[] = {
    "mode",
    "sample",
    "integral",
    "derivative",
    "difference",
    "elapsed",
    "moving_average",
    "cumulative_sum",
    "holt_winters",
    "holt_winters_with_fit",
    "non_negative_derivative",
    "non_negative_difference",
    "abs",
    "acos",
    "asin",
    "atan",
    "atan2",
    "ceil",
    "cos",
    "exp",
    "floor",
    "ln",
    "log",
    "log2",
    "log10",
    "pow",
    "round",
    "sin",
    "sqrt",
    "tan",
    "chande_momentum_oscillator",
    "exponential_moving_average",
    "double_exponential_moving_average",
    "kaufmans_efficiency_ratio",
    "kaufmans_adaptive_moving_average",
    "triple_exponential_moving_average",
    "triple_exponential_derivative",
    "relative_strength_index",
};

std::optional<AggFunc> LookupFunction(std::string_view name) {
  for (const FunctionInfo& f : kFunctions) {
    if (f.name == name) return f.func;
  }
  return std::nullopt;
}

bool IsNumeric(FieldType t) {
  return t == FieldType::kFloat || t == FieldType::kInteger || t == FieldType::kUnsigned ||
         t == FieldType::kMoney;
}

// Whether the function accepts a field of type t.
bool Accepts(AggFunc f, FieldType t) {
  switch (f) {
    case AggFunc::kCount:
    case AggFunc::kCountDistinct:
    case AggFunc::kFirst:
    case AggFunc::kLast:
    case AggFunc::kDistinct:
      return true;
    default:
      return IsNumeric(t);
  }
}

// InfluxQL's column name of an expression: the alias, a call's name, a variable's name,
// or the names in a binary expression joined by '_'.
void ExprNames(const Expr& e, std::vector<std::string>* names) {
  if (const auto* c = e.As<Call>()) {
    names->push_back(c->name);
    return;
  }
  if (const auto* v = e.As<VarRef>()) {
    names->push_back(v->name);
    return;
  }
  if (const auto* b = e.As<BinaryExpr>()) {
    ExprNames(*b->lhs, names);
    ExprNames(*b->rhs, names);
  }
}

std::string FieldName(const Field& f) {
  if (!f.alias.empty()) return f.alias;
  std::vector<std::string> names;
  ExprNames(f.expr, &names);
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out.push_back('_');
    out += names[i];
  }
  return out;
}

bool IsArithmetic(BinaryOp op) {
  return op == BinaryOp::kAdd || op == BinaryOp::kSub || op == BinaryOp::kMul ||
         op == BinaryOp::kDiv;
}

class Planner {
 public:
  Planner(const SelectStatement& s, const SourceSchema& schema, SelectPlan* plan)
      : s_(s), schema_(schema), plan_(*plan) {}

  absl::Status Run(const Expr* row_condition) {
    BR_RETURN_IF_ERROR(Grouping());
    plan_.aggregate = HasAggregate();
    if (plan_.aggregate) {
      BR_RETURN_IF_ERROR(AggregateColumns());
    } else {
      BR_RETURN_IF_ERROR(RawColumns());
    }
    BR_RETURN_IF_ERROR(Order());
    if (row_condition != nullptr) {
      BR_RETURN_IF_ERROR(RowFields(*row_condition));
    }
    plan_.fill = s_.fill;
    if (s_.fill_value) plan_.fill_value = LiteralValue(*s_.fill_value);
    DedupeNames();
    for (const AggSpec& a : plan_.aggs) {
      if (a.type == FieldType::kMoney && a.func != AggFunc::kCount &&
          a.func != AggFunc::kCountDistinct) {
        plan_.money_aggregate = true;
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Grouping() {
    GroupingSpec& g = plan_.grouping;
    for (const Dimension& d : s_.dimensions) {
      switch (d.kind) {
        case Dimension::Kind::kTag:
          if (std::find(g.keys.begin(), g.keys.end(), d.name) == g.keys.end()) {
            g.keys.push_back(d.name);
          }
          break;
        case Dimension::Kind::kRegex:
          try {
            std::regex re(d.name, std::regex::ECMAScript);
          } catch (const std::regex_error& e) {
            return SemanticError(d.pos,
                                 StrCat("invalid regular expression /", d.name, "/: ", e.what()));
          }
          g.regexes.push_back(d.name);
          break;
        case Dimension::Kind::kWildcard:
          g.all_tags = true;
          break;
        case Dimension::Kind::kTime:
          g.has_window = true;
          g.interval_ns = d.interval_ns;
          g.offset_ns = d.offset_ns % d.interval_ns;
          break;
      }
    }
    if (!s_.tz.empty()) {
      absl::StatusOr<absl::TimeZone> tz = LoadQueryTimeZone(s_.tz);
      if (!tz.ok()) return SemanticError(s_.pos, StatusMessage(tz.status()));
      g.tz = *tz;
      g.utc = s_.tz == "UTC" || s_.tz == "Etc/UTC";
    }
    return absl::OkStatus();
  }

  bool HasAggregate() const {
    bool found = false;
    for (const Field& f : s_.fields) {
      ForEachExpr(f.expr, [&](const Expr& e) {
        if (const auto* c = e.As<Call>(); c != nullptr && c->name != "now") found = true;
      });
    }
    return found;
  }

  int AddScanField(const std::string& name, FieldType type) {
    for (size_t i = 0; i < plan_.scan_fields.size(); ++i) {
      if (plan_.scan_fields[i] == name) return static_cast<int>(i);
    }
    plan_.scan_fields.push_back(name);
    plan_.scan_types.push_back(type);
    return static_cast<int>(plan_.scan_fields.size() - 1);
  }

  int AddAgg(AggSpec spec) {
    spec.field_index = AddScanField(spec.field, spec.type);
    for (size_t i = 0; i < plan_.aggs.size(); ++i) {
      if (plan_.aggs[i] == spec) return static_cast<int>(i);
    }
    plan_.aggs.push_back(std::move(spec));
    return static_cast<int>(plan_.aggs.size() - 1);
  }

  FieldType TypeOf(const std::string& field) const {
    const FieldInfo* f = schema_.Find(field);
    return f == nullptr ? FieldType::kFloat : f->type;
  }

  bool IsTagName(const VarRef& v) const {
    if (v.type == VarType::kTag) return true;
    if (v.type != VarType::kAny) return false;
    return schema_.Find(v.name) == nullptr;
  }

  absl::Status CheckType(AggFunc func, const std::string& field, NodePos pos) const {
    const FieldInfo* f = schema_.Find(field);
    if (f == nullptr || Accepts(func, f->type)) return absl::OkStatus();
    return SemanticError(pos, StrCat(AggFuncName(func), "() cannot aggregate ",
                                     FieldTypeName(f->type), " field \"", field, "\""));
  }

  // The fields a wildcard or regex argument stands for, those of a type func accepts.
  absl::StatusOr<std::vector<std::string>> ExpandArg(AggFunc func, const Expr& arg) const {
    std::vector<std::string> out;
    std::optional<std::regex> re;
    if (const auto* r = arg.As<RegexLiteral>()) {
      try {
        re.emplace(r->pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return SemanticError(arg.pos,
                             StrCat("invalid regular expression /", r->pattern, "/: ", e.what()));
      }
    }
    for (const FieldInfo& f : schema_.fields) {
      if (re && !std::regex_search(f.name, *re)) continue;
      if (Accepts(func, f.type)) out.push_back(f.name);
    }
    return out;
  }

  // Compiles a call into aggregate(s). `whole_field` says the call is a whole SELECT
  // field, where wildcard arguments may expand into several columns (`expanded`).
  absl::Status CompileCall(const Expr& e, std::vector<int>* expanded,
                           std::vector<std::string>* expanded_fields) {
    const Call& c = *e.As<Call>();
    std::optional<AggFunc> func = LookupFunction(c.name);
    if (!func) {
      for (std::string_view u : kUnsupported) {
        if (u == c.name) {
          return SemanticError(e.pos, StrCat("function ", c.name, "() is not supported"));
        }
      }
      return SemanticError(e.pos, StrCat("undefined function ", c.name, "()"));
    }
    AggSpec spec;
    spec.func = *func;
    spec.pos = e.pos;
    const size_t nargs = c.args.size();
    auto arg_error = [&](std::string_view expected) {
      return SemanticError(e.pos, StrCat("invalid arguments to ", c.name, "(): expected ", expected,
                                         ", found ", nargs));
    };
    switch (spec.func) {
      case AggFunc::kPercentile: {
        if (nargs != 2) return arg_error("2 arguments");
        const Expr& n = c.args[1];
        double p;
        if (const auto* i = n.As<IntegerLiteral>()) {
          p = static_cast<double>(i->value);
        } else if (const auto* num = n.As<NumberLiteral>()) {
          p = num->value;
        } else {
          return SemanticError(n.pos, "percentile() expects a number as its second argument");
        }
        if (p < 0 || p > 100) {
          return SemanticError(n.pos, "percentile() needs a percentile between 0 and 100");
        }
        spec.percentile = p;
        break;
      }
      case AggFunc::kTop:
      case AggFunc::kBottom: {
        if (nargs < 2) return arg_error("at least 2 arguments");
        const Expr& n = c.args.back();
        const auto* i = n.As<IntegerLiteral>();
        if (i == nullptr || i->value <= 0) {
          return SemanticError(n.pos, StrCat(c.name,
                                             "() expects a positive integer limit as "
                                             "its last argument"));
        }
        spec.n = i->value;
        for (size_t k = 1; k + 1 < nargs; ++k) {
          const auto* tag = c.args[k].As<VarRef>();
          if (tag == nullptr || !IsTagName(*tag)) {
            return SemanticError(c.args[k].pos, StrCat(c.name,
                                                       "() expects tag names between the field and "
                                                       "the limit"));
          }
          spec.tag_args.push_back(tag->name);
        }
        break;
      }
      default:
        if (nargs != 1) return arg_error("1 argument");
    }
    const Expr* arg = &c.args[0];
    if (spec.func == AggFunc::kCount && arg->Is<Call>()) {
      const Call& inner = *arg->As<Call>();
      if (inner.name != "distinct" || inner.args.size() != 1) {
        return SemanticError(arg->pos, "count() accepts a field or distinct(field)");
      }
      spec.func = AggFunc::kCountDistinct;
      arg = &inner.args[0];
    }
    if (arg->Is<Wildcard>() || arg->Is<RegexLiteral>()) {
      if (expanded == nullptr || IsMultiRow(spec.func)) {
        return SemanticError(arg->pos, StrCat("a wildcard or regex argument of ", c.name,
                                              "() must be the whole field"));
      }
      BR_ASSIGN_OR_RETURN(std::vector<std::string> fields, ExpandArg(spec.func, *arg));
      for (const std::string& f : fields) {
        AggSpec one = spec;
        one.field = f;
        one.type = TypeOf(f);
        expanded->push_back(AddAgg(std::move(one)));
        expanded_fields->push_back(f);
      }
      return absl::OkStatus();
    }
    const auto* ref = arg->As<VarRef>();
    if (ref == nullptr) {
      return SemanticError(arg->pos, StrCat("expected field argument in ", c.name, "()"));
    }
    if (ref->type == VarType::kTag || (IsTimeRef(*arg))) {
      return SemanticError(
          arg->pos, StrCat(c.name, "() needs a field, not ", IsTimeRef(*arg) ? "time" : "a tag"));
    }
    spec.field = ref->name;
    spec.type = TypeOf(ref->name);
    BR_RETURN_IF_ERROR(CheckType(spec.func, spec.field, arg->pos));
    plan_.agg_of_call[&e] = AddAgg(std::move(spec));
    return absl::OkStatus();
  }

  // Checks an aggregate-mode expression, compiling its calls; VarRefs are collected as
  // auxiliary (selector) columns.
  absl::Status CompileAggExpr(const Expr& e, std::vector<const Expr*>* aux, int* calls) {
    if (e.Is<Call>()) {
      ++*calls;
      return CompileCall(e, nullptr, nullptr);
    }
    if (const auto* b = e.As<BinaryExpr>()) {
      if (!IsArithmetic(b->op)) {
        return SemanticError(
            e.pos, StrCat("operator ", BinaryOpText(b->op), " is not allowed in a SELECT field"));
      }
      BR_RETURN_IF_ERROR(CompileAggExpr(*b->lhs, aux, calls));
      return CompileAggExpr(*b->rhs, aux, calls);
    }
    if (e.Is<VarRef>()) {
      aux->push_back(&e);
      return absl::OkStatus();
    }
    if (e.Is<Wildcard>() || e.Is<RegexLiteral>()) {
      return SemanticError(e.pos, "mixing aggregate and non-aggregate queries is not supported");
    }
    return absl::OkStatus();  // literals
  }

  absl::Status AggregateColumns() {
    std::vector<const Expr*> aux;
    int calls = 0;
    for (const Field& f : s_.fields) {
      if (f.expr.Is<Call>()) {
        const Call& c = *f.expr.As<Call>();
        const bool wild =
            !c.args.empty() && (c.args[0].Is<Wildcard>() || c.args[0].Is<RegexLiteral>());
        if (wild) {
          std::vector<int> expanded;
          std::vector<std::string> fields;
          ++calls;
          BR_RETURN_IF_ERROR(CompileCall(f.expr, &expanded, &fields));
          for (size_t i = 0; i < expanded.size(); ++i) {
            SelectColumn col;
            col.kind = SelectColumn::Kind::kAgg;
            col.index = expanded[i];
            col.name = StrCat(f.alias.empty() ? c.name : f.alias, "_", fields[i]);
            plan_.columns.push_back(std::move(col));
          }
          continue;
        }
      }
      const size_t before = aux.size();
      BR_RETURN_IF_ERROR(CompileAggExpr(f.expr, &aux, &calls));
      SelectColumn col;
      col.expr = &f.expr;
      col.name = FieldName(f);
      if (aux.size() > before) {
        if (!f.expr.Is<VarRef>()) {
          return SemanticError(aux[before]->pos,
                               "mixing aggregate and non-aggregate queries is not supported");
        }
        const VarRef& v = *f.expr.As<VarRef>();
        if (IsTimeRef(f.expr)) continue;
        col.kind = SelectColumn::Kind::kTag;
        col.name = f.alias.empty() ? v.name : f.alias;
        col.key = v.name;
        if (!IsTagName(v)) {
          return SemanticError(f.expr.pos,
                               StrCat("selecting field \"", v.name,
                                      "\" beside an aggregate is not supported (select tags "
                                      "beside a selector, or use a subquery)"));
        }
        col.expr = nullptr;
        plan_.columns.push_back(std::move(col));
        continue;
      }
      plan_.columns.push_back(std::move(col));
    }
    // Multi-row aggregates stand alone; a single selector may carry tag columns.
    for (size_t i = 0; i < plan_.aggs.size(); ++i) {
      if (!IsMultiRow(plan_.aggs[i].func)) continue;
      if (calls != 1 || plan_.aggs.size() != 1) {
        return SemanticError(
            plan_.aggs[i].pos,
            StrCat(AggFuncName(plan_.aggs[i].func), "() cannot be combined with other functions"));
      }
      plan_.multi_row_agg = static_cast<int>(i);
    }
    int tag_columns = 0;
    for (const SelectColumn& c : plan_.columns) {
      if (c.kind == SelectColumn::Kind::kTag) ++tag_columns;
    }
    const bool single_selector =
        calls == 1 && plan_.aggs.size() == 1 && IsSelector(plan_.aggs[0].func);
    if (tag_columns > 0 && !single_selector) {
      for (const SelectColumn& c : plan_.columns) {
        if (c.kind != SelectColumn::Kind::kTag) continue;
        return SemanticError(
            s_.pos, StrCat("mixing aggregate and non-aggregate queries is not supported ",
                           "(column \"", c.name, "\" beside several or non-selector functions)"));
      }
    }
    if (single_selector) plan_.selector_agg = 0;
    if (plan_.multi_row_agg >= 0) {
      const AggSpec& a = plan_.aggs[plan_.multi_row_agg];
      const bool top = a.func == AggFunc::kTop || a.func == AggFunc::kBottom;
      plan_.selector_time = top;
      if (top) {
        // The call's own column, then one column per tag argument, then the rest.
        std::vector<SelectColumn> cols;
        for (SelectColumn& c : plan_.columns) {
          cols.push_back(std::move(c));
          if (cols.back().expr != nullptr && cols.back().expr->Is<Call>()) {
            for (size_t k = 0; k < a.tag_args.size(); ++k) {
              SelectColumn t;
              t.kind = SelectColumn::Kind::kTagArg;
              t.index = static_cast<int>(k);
              t.name = a.tag_args[k];
              cols.push_back(std::move(t));
            }
          }
        }
        plan_.columns = std::move(cols);
      } else if (plan_.columns.size() != 1 || plan_.columns[0].expr == nullptr ||
                 !plan_.columns[0].expr->Is<Call>()) {
        return SemanticError(a.pos, "distinct() cannot be combined with other columns");
      }
    } else if (single_selector && !plan_.grouping.has_window) {
      plan_.selector_time = true;
    }
    return absl::OkStatus();
  }

  absl::Status RawColumns() {
    if (plan_.grouping.has_window) {
      return SemanticError(s_.pos, "GROUP BY time() requires at least one aggregate function");
    }
    bool any_field = false;
    for (const Field& f : s_.fields) {
      if (const auto* w = f.expr.As<Wildcard>()) {
        if (w->kind != WildcardKind::kTags) {
          for (const FieldInfo& fi : schema_.fields) {
            SelectColumn c;
            c.kind = SelectColumn::Kind::kField;
            c.name = fi.name;
            c.index = AddScanField(fi.name, fi.type);
            c.wildcard = true;
            plan_.columns.push_back(std::move(c));
            any_field = true;
          }
        }
        if (w->kind != WildcardKind::kFields) {
          SelectColumn c;
          c.kind = SelectColumn::Kind::kWildcardTags;
          plan_.columns.push_back(std::move(c));
        }
        continue;
      }
      if (f.expr.Is<RegexLiteral>()) {
        BR_ASSIGN_OR_RETURN(std::vector<std::string> fields, ExpandArg(AggFunc::kFirst, f.expr));
        for (const std::string& name : fields) {
          SelectColumn c;
          c.kind = SelectColumn::Kind::kField;
          c.name = name;
          c.index = AddScanField(name, TypeOf(name));
          plan_.columns.push_back(std::move(c));
          any_field = true;
        }
        continue;
      }
      if (const auto* v = f.expr.As<VarRef>()) {
        if (IsTimeRef(f.expr)) continue;
        SelectColumn c;
        c.name = f.alias.empty() ? v->name : f.alias;
        if (IsTagName(*v)) {
          c.kind = SelectColumn::Kind::kTag;
          c.key = v->name;
          plan_.columns.push_back(std::move(c));
        } else {
          c.kind = SelectColumn::Kind::kField;
          c.index = AddScanField(v->name, TypeOf(v->name));
          plan_.columns.push_back(std::move(c));
          any_field = true;
        }
        continue;
      }
      // An expression of fields, tags and literals.
      absl::Status bad;
      ForEachExpr(f.expr, [&](const Expr& x) {
        if (!bad.ok()) return;
        if (const auto* b = x.As<BinaryExpr>(); b != nullptr && !IsArithmetic(b->op)) {
          bad = SemanticError(
              x.pos, StrCat("operator ", BinaryOpText(b->op), " is not allowed in a SELECT field"));
        } else if (x.Is<Wildcard>() || x.Is<RegexLiteral>()) {
          bad = SemanticError(x.pos, "a wildcard must be a whole SELECT field");
        } else if (const auto* v = x.As<VarRef>(); v != nullptr && !IsTimeRef(x)) {
          if (!IsTagName(*v)) {
            AddScanField(v->name, TypeOf(v->name));
            any_field = true;
          }
        }
      });
      BR_RETURN_IF_ERROR(bad);
      SelectColumn c;
      c.expr = &f.expr;
      c.name = FieldName(f);
      plan_.columns.push_back(std::move(c));
    }
    if (plan_.columns.empty()) {
      return SemanticError(s_.pos, "at least 1 non-time field must be queried");
    }
    plan_.reads_nothing = !any_field;
    return absl::OkStatus();
  }

  absl::Status Order() {
    for (size_t i = 0; i < s_.order_by.size(); ++i) {
      const SortField& sf = s_.order_by[i];
      SortKey key;
      key.ascending = sf.ascending;
      if (IsTimeRef(sf.expr)) {
        key.time = true;
        if (plan_.order.empty()) plan_.time_descending = !sf.ascending;
        plan_.order.push_back(key);
        continue;
      }
      if (!plan_.aggregate) {
        return SemanticError(sf.expr.pos,
                             "ORDER BY a value needs an aggregate query (only ORDER BY time "
                             "orders raw points)");
      }
      if (const auto* v = sf.expr.As<VarRef>()) {
        for (size_t c = 0; c < plan_.columns.size(); ++c) {
          if (plan_.columns[c].name == v->name) key.column = static_cast<int>(c);
        }
        if (key.column < 0) {
          return SemanticError(sf.expr.pos,
                               StrCat("ORDER BY ", v->name, ": no output column has that name"));
        }
      } else {
        for (size_t c = 0; c < plan_.columns.size(); ++c) {
          if (plan_.columns[c].expr != nullptr && *plan_.columns[c].expr == sf.expr) {
            key.column = static_cast<int>(c);
          }
        }
        if (key.column < 0) {
          std::vector<const Expr*> aux;
          int calls = 0;
          BR_RETURN_IF_ERROR(CompileAggExpr(sf.expr, &aux, &calls));
          if (!aux.empty() || calls == 0) {
            return SemanticError(sf.expr.pos,
                                 "ORDER BY takes time, an aggregate expression or an output "
                                 "column name");
          }
          if (plan_.multi_row_agg >= 0 && plan_.aggs.size() > 1) {
            return SemanticError(sf.expr.pos,
                                 "ORDER BY of another aggregate cannot be "
                                 "combined with top(), bottom() or distinct()");
          }
          key.expr = &sf.expr;
        }
      }
      plan_.order_by_value = true;
      plan_.order.push_back(key);
    }
    return absl::OkStatus();
  }

  absl::Status RowFields(const Expr& cond) {
    ForEachExpr(cond, [&](const Expr& x) {
      const auto* v = x.As<VarRef>();
      if (v == nullptr || IsTimeRef(x) || IsTagName(*v)) return;
      AddScanField(v->name, TypeOf(v->name));
      if (std::find(plan_.row_fields.begin(), plan_.row_fields.end(), v->name) ==
          plan_.row_fields.end()) {
        plan_.row_fields.push_back(v->name);
      }
    });
    return absl::OkStatus();
  }

  // InfluxDB's duplicate column names: the second "mean" becomes "mean_1", and so on.
  void DedupeNames() {
    absl::flat_hash_map<std::string, int> seen;
    seen["time"] = 0;
    for (SelectColumn& c : plan_.columns) {
      if (c.kind == SelectColumn::Kind::kWildcardTags) continue;
      auto it = seen.find(c.name);
      if (it == seen.end()) {
        seen[c.name] = 0;
        continue;
      }
      if (c.name == "time" && it->second == 0 && c.kind == SelectColumn::Kind::kField) {
        it->second = 1;
        c.name = "time_1";
        continue;
      }
      std::string candidate;
      do {
        ++it->second;
        candidate = StrCat(c.name, "_", it->second);
      } while (seen.contains(candidate));
      seen[candidate] = 0;
      c.name = candidate;
    }
  }

  const SelectStatement& s_;
  const SourceSchema& schema_;
  SelectPlan& plan_;
};

}  // namespace

std::string_view AggFuncName(AggFunc f) {
  switch (f) {
    case AggFunc::kCount:
    case AggFunc::kCountDistinct:
      return "count";
    case AggFunc::kSum:
      return "sum";
    case AggFunc::kMean:
      return "mean";
    case AggFunc::kMin:
      return "min";
    case AggFunc::kMax:
      return "max";
    case AggFunc::kFirst:
      return "first";
    case AggFunc::kLast:
      return "last";
    case AggFunc::kSpread:
      return "spread";
    case AggFunc::kMedian:
      return "median";
    case AggFunc::kPercentile:
      return "percentile";
    case AggFunc::kStddev:
      return "stddev";
    case AggFunc::kDistinct:
      return "distinct";
    case AggFunc::kTop:
      return "top";
    case AggFunc::kBottom:
      return "bottom";
  }
  return "?";
}

bool IsSelector(AggFunc f) {
  switch (f) {
    case AggFunc::kMin:
    case AggFunc::kMax:
    case AggFunc::kFirst:
    case AggFunc::kLast:
    case AggFunc::kPercentile:
    case AggFunc::kTop:
    case AggFunc::kBottom:
      return true;
    default:
      return false;
  }
}

bool IsMultiRow(AggFunc f) {
  return f == AggFunc::kTop || f == AggFunc::kBottom || f == AggFunc::kDistinct;
}

bool IsRollupAnswerable(AggFunc f) {
  switch (f) {
    case AggFunc::kCount:
    case AggFunc::kSum:
    case AggFunc::kMean:
    case AggFunc::kMin:
    case AggFunc::kMax:
    case AggFunc::kSpread:
      return true;
    default:
      return false;
  }
}

bool GroupingSpec::GroupsByTag(std::string_view key) const {
  if (all_tags) return true;
  if (std::find(keys.begin(), keys.end(), key) != keys.end()) return true;
  for (const std::string& r : regexes) {
    try {
      if (std::regex_search(std::string(key), std::regex(r, std::regex::ECMAScript))) return true;
    } catch (const std::regex_error&) {
    }
  }
  return false;
}

const FieldInfo* SourceSchema::Find(std::string_view field) const {
  auto it = std::lower_bound(fields.begin(), fields.end(), field,
                             [](const FieldInfo& f, std::string_view n) { return f.name < n; });
  return it != fields.end() && it->name == field ? &*it : nullptr;
}

absl::Status SemanticError(NodePos pos, std::string_view message) {
  if (pos.line == 0) return absl::InvalidArgumentError(std::string(message));
  return absl::InvalidArgumentError(StrCat(message, " at line ", pos.line, ", char ", pos.column));
}

absl::StatusOr<SelectPlan> PlanSelect(const SelectStatement& s, const SourceSchema& schema,
                                      const Expr* row_condition) {
  SelectPlan plan;
  Planner planner(s, schema, &plan);
  BR_RETURN_IF_ERROR(planner.Run(row_condition));
  return plan;
}

}  // namespace burnrate
