#pragma once

// Meta statements: SHOW ..., CREATE/DROP DATABASE, DROP MEASUREMENT, DROP SERIES, DELETE.
// Result shapes follow InfluxDB 1.x (docs/query_execution.md).

#include <vector>

#include "absl/status/statusor.h"
#include "burnrate/query_result.h"
#include "query/ast.h"
#include "query/exec_context.h"

namespace burnrate {

// Runs a statement that is not SELECT or EXPLAIN; returns its series (none for the
// statements that change data). Errors: kNotFound (database), kInvalidArgument (a WHERE
// clause the statement cannot use, naming the position), and the Db's errors.
[[nodiscard]] absl::StatusOr<std::vector<ResultSeries>> ExecuteMeta(QueryContext* ctx,
                                                                    const Statement& statement);

}  // namespace burnrate
