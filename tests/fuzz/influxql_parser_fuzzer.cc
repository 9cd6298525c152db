// ParseQuery on arbitrary bytes: it must not crash, and whatever it accepts must print
// (ToString) as text that parses back to an equal tree and prints the same again. The WHERE
// splitter runs on every accepted condition too (errors are fine, crashes are not).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "query/ast.h"
#include "query/condition.h"
#include "query/parser.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& printed) {
  std::fprintf(stderr, "%s; printed as:\n%s\n", what, printed.c_str());
  std::abort();
}

void SplitConditions(const burnrate::Query& query) {
  burnrate::WhereContext ctx;
  ctx.now = 1'700'000'000'000'000'000;
  ctx.is_tag = [](std::string_view name) { return !name.empty() && name[0] < 'n'; };
  for (const burnrate::Statement& s : query.statements) {
    const burnrate::Expr* condition = nullptr;
    if (const auto* select = std::get_if<burnrate::SelectStatement>(&s)) {
      if (select->condition) condition = &*select->condition;
    } else if (const auto* del = std::get_if<burnrate::DeleteStatement>(&s)) {
      if (del->condition) condition = &*del->condition;
    }
    if (condition == nullptr) continue;
    const absl::StatusOr<burnrate::WhereSplit> split = burnrate::SplitWhere(condition, ctx);
    if (split.ok() && split->row_condition) (void)burnrate::ToString(*split->row_condition);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<burnrate::Query> parsed = burnrate::ParseQuery(text);
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("parse error with a code other than kInvalidArgument", "");
    }
    return 0;
  }
  const std::string printed = burnrate::ToString(*parsed);
  const absl::StatusOr<burnrate::Query> reparsed = burnrate::ParseQuery(printed);
  if (!reparsed.ok()) Fail(std::string(reparsed.status().message()).c_str(), printed);
  if (!(*reparsed == *parsed)) Fail("reparsed tree differs", printed);
  if (burnrate::ToString(*reparsed) != printed) Fail("second print differs", printed);
  SplitConditions(*parsed);
  return 0;
}
