#pragma once

// Execution of SELECT (and EXPLAIN [ANALYZE] SELECT).
//
// The pipeline per FROM source: resolve the source; split WHERE into a time range, tag
// matchers (the catalog selects series; a regex runs once per distinct tag value) and
// residual conditions (per series once, or per row); plan against the source's fields;
// scan — Db::ScanRollups when every aggregate can come from 1h/1d rollups, Db::Scan
// otherwise — on two disjoint halves of the data (alternate time partitions; a subquery's
// series by a hash of their tags) with per-half state, merged in a fixed order so that results
// never depend on the thread count; then build rows per group and bucket (fill, expressions),
// order, limit. docs/query_execution.md describes the semantics.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "burnrate/query_result.h"
#include "query/ast.h"
#include "query/exec_context.h"

namespace burnrate {

enum class ExplainMode : uint8_t { kNone, kExplain, kAnalyze };

struct SelectOutput {
  std::vector<ResultSeries> series;
  std::vector<ResultMessage> messages;
  bool partial = false;  // rows were cut at QueryOptions::max_rows
};

// Runs s (with mode kExplain/kAnalyze: describes its plan, after running it for kAnalyze).
// Errors: kInvalidArgument (semantic error naming line and char), kNotFound (database),
// kResourceExhausted, kDeadlineExceeded, and the Db's scan errors.
[[nodiscard]] absl::StatusOr<SelectOutput> ExecuteSelect(QueryContext* ctx,
                                                         const SelectStatement& s,
                                                         ExplainMode mode = ExplainMode::kNone);

// The database a FROM entry or meta statement names, or the query's default; kNotFound
// "database not found: x" when it does not exist, kInvalidArgument "database name
// required" when there is none.
[[nodiscard]] absl::StatusOr<std::string> ResolveDatabase(QueryContext* ctx,
                                                          const std::string& named);

}  // namespace burnrate
