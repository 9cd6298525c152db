#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "query/ast.h"

namespace burnrate {

// Nesting limit for parentheses, calls, unary minus and subqueries: deeper text is
// rejected ("too deeply nested") instead of exhausting the stack. At the limit a parse
// needs about 400 KB of stack in an optimised build (more under sanitizers): run it on a
// thread with at least 1 MB.
inline constexpr int kMaxQueryNesting = 256;
// Height limit of one expression tree (`a OR b OR c ...` grows it without parentheses):
// bounds the recursion of everything that walks the tree.
inline constexpr int kMaxExpressionHeight = 1024;

// Parses InfluxQL text: statements separated by `;` (empty statements between semicolons
// are skipped, so "" is a query of no statements). Errors are kInvalidArgument
// "error parsing query: found X, expected Y at line L, char C" for an unexpected token,
// or "error parsing query: <problem> at line L, char C" for a bad literal (unterminated
// string, regex or identifier, invalid duration or time literal, unknown time zone) and for
// nesting beyond the limits above. Never crashes on any input.
[[nodiscard]] absl::StatusOr<Query> ParseQuery(std::string_view text);

// Exactly one statement (a trailing `;` is allowed).
[[nodiscard]] absl::StatusOr<Statement> ParseStatement(std::string_view text);

// One expression, as in a WHERE clause or a field list entry.
[[nodiscard]] absl::StatusOr<Expr> ParseExpr(std::string_view text);

}  // namespace burnrate
