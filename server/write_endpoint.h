#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "burnrate/db.h"
#include "burnrate/types.h"
#include "server/metrics.h"
#include "server/query_handler.h"
#include "server/url.h"

// The write endpoints, /write (InfluxDB 1.x) and /api/v2/write (2.x), apart from HTTP
// framing and authentication, which the session does before reading the body.

namespace burnrate {

enum class WriteApi : uint8_t { kV1, kV2 };

// The error response of `api` for `status`: 1.x {"error": message}, 2.x {"code": ...,
// "message": message}. Extra JSON members (already encoded, starting with ',') are
// appended to the object.
HttpResponse WriteErrorResponse(WriteApi api, int status, std::string_view message,
                                std::string_view extra_members = {});

// The database (and retention policy) a write addresses: 1.x `db` and `rp`, 2.x `bucket`
// as "db" or "db/rp" (`org` is ignored, as InfluxDB 1.8 does).
struct WriteTarget {
  std::string database;
  std::string retention_policy;
};

// The target, or the error response: 400 when the database is missing, 404 for a
// retention policy other than "" and "autogen" (burnrate has one per database).
[[nodiscard]] absl::StatusOr<WriteTarget> ResolveWriteTarget(WriteApi api, const UrlParams& params,
                                                             HttpResponse* error);

struct WriteEndpointOptions {
  size_t max_decompressed_bytes = 100'000'000;
  size_t max_line_bytes = 256 * 1024;
  bool partial_writes = false;
};

struct WriteRequest {
  WriteApi api = WriteApi::kV1;
  WriteTarget target;
  UrlParams params;
  std::string content_encoding;
  std::string body;  // consumed
  TimestampNs now_ns = 0;
};

// Decompresses, parses and applies one write, returning the response: 204 only once
// Db::Write returned OK (durable per the database's fsync policy); 400 with the first
// invalid line (and, with partial writes, "partial write: ..." after the valid lines were
// written); 404 unknown database; 413 a gzip body inflating past the limit; 415 an unknown
// Content-Encoding; 503 with Retry-After when the engine pushes back or is closing.
// Blocks on the WAL: call it on a worker thread. Thread-safe (db is).
HttpResponse HandleWrite(Db* db, WriteRequest request, const WriteEndpointOptions& options,
                         int retry_after_seconds, ServerMetrics* metrics);

}  // namespace burnrate
