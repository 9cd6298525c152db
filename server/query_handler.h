#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "burnrate/types.h"

// The seam between the HTTP server and the query executor. The server parses a /query
// request (URL and form parameters, credentials, Accept header), and calls the registered
// QueryHandler on its query worker pool; the handler runs the statements and returns the
// whole response, or streams it (chunked=true) through QueryRequestParams::stream. The server adds
// the common headers (X-Influxdb-Version, Request-Id, Content-Length), measures latency for
// /metrics, and answers 500 if the handler throws. This header stays free of Boost so a handler can
// be written and tested without it.

namespace burnrate {

// A response as the server sends it.
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra headers, e.g. {"Retry-After", "1"}.
  std::vector<std::pair<std::string, std::string>> headers;
  // The handler sent the response through QueryRequestParams::stream (it called Start);
  // the server ends the chunked body and ignores the other members.
  bool streamed = false;
};

// A response sent while it is produced, with chunked transfer encoding. The server adds
// the common headers. Each call blocks until the previous piece has been written to the
// socket (back-pressure), so a slow client slows the producer rather than growing a
// buffer. Called from one worker thread.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Sends the status line and headers. False when the connection is gone.
  virtual bool Start(int status, const std::string& content_type) = 0;
  // Sends one piece of the body (empty pieces are skipped). False when the connection is
  // gone or the write timed out: stop producing.
  virtual bool Write(std::string data) = 0;
};

// What a request may do to a database.
enum class Access : uint8_t {
  kRead,   // SELECT, SHOW on the database
  kWrite,  // /write, INSERT, DELETE, DROP SERIES
  kAdmin,  // CREATE/DROP DATABASE, SHOW DATABASES of every database; database is ignored
};

// True when the request's credentials allow `access` to `database` ("" for statements on
// no database). With auth off it always answers true.
using AccessCheck = std::function<bool(Access access, std::string_view database)>;

// The result format the client asked for: JSON unless Accept names application/csv.
enum class QueryFormat : uint8_t { kJson, kCsv };

// One /query request, as InfluxDB 1.x defines its parameters. Every value is decoded
// (percent-escapes, '+'), taken from the URL or, for POST, from an
// application/x-www-form-urlencoded body, the URL winning when both carry one.
struct QueryRequestParams {
  bool is_post = false;  // InfluxDB refuses CREATE, DROP, DELETE ... over GET
  std::string db;        // default database, may be empty
  std::string rp;        // default retention policy, may be empty
  std::string q;         // statements separated by ';'
  // "" (RFC 3339 times), or one of "ns", "n", "u", "µ", "ms", "s", "m", "h".
  std::string epoch;
  bool pretty = false;
  bool chunked = false;
  // From chunk_size; 10,000 when absent, as InfluxDB 1.x.
  size_t chunk_size = 10'000;
  // The `params` parameter (a JSON object of bound parameters), verbatim.
  std::string params;
  QueryFormat format = QueryFormat::kJson;
  // The server's clock when the request arrived, for now().
  TimestampNs now_ns = 0;
  // Always set. Callers check every database a statement touches.
  AccessCheck allowed;
  // Set when the response may be streamed (HTTP/1.1 clients): a handler may call Start and
  // Write and return a response with `streamed` set. Valid during the call only.
  ResponseStream* stream = nullptr;
};

// Runs one /query request. Called on a query worker thread, never on an io thread, so it
// may block; concurrent calls come from several workers. Must be thread-safe.
using QueryHandler = std::function<HttpResponse(const QueryRequestParams& request)>;

}  // namespace burnrate
