#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "burnrate/db.h"
#include "ingest/billing_import.h"
#include "server/query_handler.h"
#include "server/url.h"

// The billing import endpoint, POST /api/v1/import (docs/http.md, docs/billing.md): the
// request body is one billing file, imported as `burnrate import FILE` would. HTTP framing,
// the body size limit and authentication are the session's; this file turns parameters
// and body into an import and its outcome into a response.

namespace burnrate {

// The database an import addresses: `db`, "billing" when absent.
std::string ImportDatabase(const UrlParams& params);

// The import options the URL parameters ask for (format, azure_dataset, skip_bad_rows,
// max_errors, export), checked before the body is read; otherwise *error is the 400.
[[nodiscard]] absl::StatusOr<ImportOptions> ParseImportParams(const UrlParams& params,
                                                              HttpResponse* error);

struct ImportRequest {
  std::string database;
  // The file name messages and the default export name use (`name`, else "upload").
  std::string name;
  std::string content_encoding;
  // The body: the file it was spooled to when body_file is set, else body (consumed).
  std::string body_file;
  std::string body;
  ImportOptions options;
  int retry_after_seconds = 1;  // for 503
};

// Imports the body and returns the response: 200 with the summary (ImportSummaryToJson)
// once every source of the file is committed; 400 for bad input (with "file", "line" and
// "column" when a row is at fault), nothing of the file imported and the previous versions
// live; 415 for a Content-Encoding other than gzip or identity; 503 when the engine pushes
// back or is closing. Plain CSV, gzip (by magic number or Content-Encoding: gzip; gzip is
// inflated as it is read) and zip bodies are accepted; Parquet is refused with 400.
// Blocks for the whole import: call it on a worker thread. Thread-safe (db is).
HttpResponse HandleImport(Db* db, ImportRequest request);

}  // namespace burnrate
