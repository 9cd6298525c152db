#pragma once

// Statement-at-a-time query execution, for callers that send results while later
// statements still run (chunked /query). Query() (burnrate/query.h) is built on it.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "burnrate/db.h"
#include "burnrate/query_result.h"

namespace burnrate {

// Parses and authorises `text` as Query() does, then runs the statements in order and
// calls on_statement with each result as soon as it is complete (a failing statement's
// result carries its error and is the last one). Returns the whole-query refusal (parse
// error, read_only, authorize) before any call, the first non-OK status on_statement
// returns (which stops the query), or OK. Thread-safe as Query().
[[nodiscard]] absl::Status QueryStatements(
    Db* db, std::string_view text, const QueryOptions& options,
    const std::function<absl::Status(StatementResult&& result)>& on_statement);

// InfluxDB's chunked JSON for one statement (see QueryResultToJsonChunked): calls emit with
// each document (one line, newline included) in order, and stops at the first false it
// returns. Returns false when emit did.
bool StatementToJsonChunks(const StatementResult& result, EpochPrecision epoch, size_t chunk_size,
                           const ResultFormat& format,
                           const std::function<bool(std::string document)>& emit);

}  // namespace burnrate
