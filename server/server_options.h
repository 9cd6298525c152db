#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/query_handler.h"

namespace burnrate {

// Everything HttpServer::Start needs besides the Db. The defaults are burnrated's.
struct ServerOptions {
  // Address and port to listen on; port 0 lets the OS choose (HttpServer::port() tells).
  std::string host = "127.0.0.1";
  uint16_t port = 8086;

  // Threads running Asio handlers (accept, parse HTTP, route, send); 0: one per core.
  int io_threads = 0;
  // Threads parsing line protocol and calling Db::Write; they wait on WAL fsyncs, so more
  // than the cores lets group commit gather writes. 0: two per core.
  int write_threads = 0;
  // Threads running /query handlers and /metrics; 0: one per core.
  int query_threads = 0;
  // Threads running billing imports (POST /api/v1/import); more imports wait. 0: one.
  int import_threads = 0;

  // Limits. A body over max_body_bytes, or a gzip body inflating past
  // max_decompressed_bytes, is refused with 413.
  size_t max_body_bytes = 25'000'000;
  size_t max_decompressed_bytes = 100'000'000;
  // A billing import body (POST /api/v1/import) is written to a file in import_spool_dir
  // as it arrives (never held in memory) and removed after the import, so it has its own,
  // larger limit (413 beyond); a gzip body is inflated as it is read.
  size_t max_import_body_bytes = size_t{16} << 30;
  // Where import bodies are spooled; empty: the system's temporary directory.
  std::string import_spool_dir;
  size_t max_header_bytes = 64 * 1024;
  size_t max_line_bytes = 256 * 1024;
  size_t max_connections = 1024;
  // Bytes of write bodies being received, queued or applied at once; past it writes get 429
  // with Retry-After (one request is always admitted, whatever its size).
  size_t max_inflight_write_bytes = 256u << 20;
  // Seconds suggested by Retry-After on 429 and 503.
  int retry_after_seconds = 1;

  // Timeouts. header: from a request's first byte to the end of its header; idle: waiting
  // for the next request on a kept-alive connection; body: reading one request body;
  // write: sending one response. A client exceeding one is disconnected.
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration idle_timeout = absl::Seconds(60);
  absl::Duration body_timeout = absl::Seconds(60);
  absl::Duration write_timeout = absl::Seconds(60);
  // How long Shutdown waits for in-flight requests before closing their connections.
  absl::Duration shutdown_timeout = absl::Seconds(30);

  // Write semantics when a request does not say (`accept_partial`): false applies a body
  // all-or-nothing; true writes the valid lines and reports the invalid ones (InfluxDB 1.x).
  bool partial_writes = false;

  // Tokens file (docs/http.md); empty turns authentication off, which Start allows only on
  // a loopback address unless insecure_allow_no_auth.
  std::string tokens_file;
  bool insecure_allow_no_auth = false;

  // Answers /query; when empty /query is not served (404).
  QueryHandler query_handler;

  // Receives one line per event worth an operator's attention (start, stop, 500s, reload).
  // Empty logs to stderr.
  std::function<void(std::string_view)> log;
};

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Parses "host:port", "[v6]:port" or ":port" (all interfaces). kInvalidArgument otherwise.
[[nodiscard]] absl::StatusOr<HostPort> ParseHostPort(std::string_view text);

// Version strings clients see in X-Influxdb-Version and /health.
inline constexpr std::string_view kInfluxCompatVersion = "1.8.10";
inline constexpr std::string_view kBurnrateVersion = "0.1.0";

}  // namespace burnrate
