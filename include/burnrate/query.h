#pragma once

// The embedded query API: run InfluxQL against an open Db and get InfluxDB 1.x-shaped
// results, without a server. The language is described in docs/query.md, results and
// execution in docs/query_execution.md; docs/embedding.md has a complete program.
//
// Layering: Query() is a free function of the public API that the query library
// (burnrate::query) implements. The Db lives in the engine, which must not depend on the
// query layer, so Db has no Query method; link burnrate::query to use this header.
//
// The function's name hides the query layer's internal syntax-tree type of the same name
// (query/ast.h): code that needs both includes this header after the query/ headers.

#include <string_view>

#include "absl/status/statusor.h"
#include "burnrate/query_result.h"

namespace burnrate {

class Db;

// Parses and runs `text` (statements separated by ';') against db. Statements run one
// after another; a failing statement stops the query (its error is in its result).
// Returns kInvalidArgument when the text does not parse ("error parsing query: ... at
// line L, char C"), kPermissionDenied when read_only refuses a statement, and the status
// of options.authorize when it refuses one; nothing has run then. Thread-safe: queries may run
// concurrently with each other and with writes; each sees the data as of its scans.
[[nodiscard]] absl::StatusOr<QueryResult> Query(Db* db, std::string_view text,
                                                const QueryOptions& options = {});

}  // namespace burnrate
