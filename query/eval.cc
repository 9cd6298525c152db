#include "query/eval.h"

#include "base/str_cat.h"
#include "query/select_plan.h"

namespace burnrate {

absl::Status RegexSet::Compile(const Expr& e) {
  absl::Status status;
  ForEachExpr(e, [&](const Expr& x) {
    const auto* r = x.As<RegexLiteral>();
    if (r == nullptr || !status.ok() || regexes_.contains(&x)) return;
    try {
      regexes_[&x] = std::make_unique<std::regex>(r->pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& err) {
      status = SemanticError(x.pos,
                             StrCat("invalid regular expression /", r->pattern, "/: ", err.what()));
    }
  });
  return status;
}

const std::regex* RegexSet::Find(const Expr& regex_node) const {
  auto it = regexes_.find(&regex_node);
  return it == regexes_.end() ? nullptr : it->second.get();
}

}  // namespace burnrate
