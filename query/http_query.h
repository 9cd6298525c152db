#pragma once

// /query as an HTTP exchange without HTTP: the server decodes a request into
// QueryHttpRequest, RunQueryRequest runs it and returns the status, content type and body
// InfluxDB 1.x would send. The server's adapter (server/query_route.h) is the only caller
// that knows about sockets; the query layer stays free of server types.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "burnrate/db.h"
#include "burnrate/query_result.h"

namespace burnrate {

// Where a streamed /query response goes (chunked=true): the status line and headers once,
// then each JSON document as it is produced. Implementations block in Write while the
// previous document is still being sent (back-pressure), so a slow client slows the query
// down instead of making it buffer. Called from one thread at a time.
class QueryResponseStream {
 public:
  virtual ~QueryResponseStream() = default;
  // Starts the response (chunked transfer encoding). False when the client has gone.
  virtual bool Start(int status, const std::string& content_type) = 0;
  // Sends one piece of the body. False when the client has gone: stop producing.
  virtual bool Write(std::string data) = 0;
};

// One /query request, decoded (see server/query_handler.h's QueryRequestParams).
struct QueryHttpRequest {
  bool is_post = false;  // statements that change data need POST
  std::string db;
  std::string rp;
  std::string q;
  std::string epoch;  // "" or ns, n, u, µ, ms, s, m, h
  bool pretty = false;
  bool chunked = false;
  size_t chunk_size = 10'000;
  std::string params;  // bound parameters: not supported, must be empty or "{}"
  bool csv = false;    // Accept: application/csv or text/csv
  TimestampNs now_ns = 0;
  // With chunked JSON, the results are sent here statement by statement and chunk by
  // chunk as they are produced; null buffers the whole body in the response.
  QueryResponseStream* stream = nullptr;
  // Whether the credentials allow `access` to `database`; null allows everything.
  std::function<bool(QueryAccess access, std::string_view database)> allowed;
};

// Server-wide query limits.
struct QueryHttpOptions {
  size_t max_memory_bytes = size_t{1} << 30;
  absl::Duration timeout = absl::InfiniteDuration();
  size_t max_rows = 1'000'000;
  int threads = 2;
};

struct QueryHttpResponse {
  // True when the response went to request.stream (Start was called); the other members
  // are then unused.
  bool streamed = false;
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Runs the request as InfluxDB's /query does: 400 with {"error":...} for a missing q, a
// parse error or a bad parameter; 403 when the credentials do not allow a statement; 405
// for a statement that changes data sent with GET; otherwise 200 with one result per
// statement run (a failing statement's error inside its result). JSON (chunked when asked)
// or CSV. A chunked JSON request with a stream sends its results there: each statement as
// it completes, as documents of at most chunk_size rows. Thread-safe.
QueryHttpResponse RunQueryRequest(Db* db, const QueryHttpRequest& request,
                                  const QueryHttpOptions& options = {});

}  // namespace burnrate
