#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/db.h"
#include "server/metrics.h"
#include "server/server_options.h"

namespace burnrate {

// burnrated's HTTP server: the InfluxDB-compatible endpoints (docs/http.md) over one
// listening socket.
//
// Io threads run Asio handlers only: they read requests, authenticate, route and send
// responses, and never wait on the disk or a query. Writes (line-protocol parsing and
// Db::Write, which waits for the WAL fsync) run on a pool of write threads, /query and
// /metrics on a pool of query threads; each result is posted back to the connection's
// strand. Each connection is a session confined to its strand.
//
// The Db is borrowed and must outlive the server; the server never closes it.
// Thread-safe: every public method may be called from any thread that is not one of the
// server's own.
class HttpServer {
 public:
  // Listens and starts serving before returning. kInvalidArgument for bad options,
  // kFailedPrecondition when asked to listen on a non-loopback address without a tokens
  // file (and without insecure_allow_no_auth), the tokens file's error, or kUnavailable
  // when the address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      Db* db, const ServerOptions& options);

  // Shuts down (as Shutdown) and waits (as Wait).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address and port (the OS's choice when options.port was 0).
  const std::string& host() const;
  uint16_t port() const;

  // Starts a graceful shutdown and returns at once: stop accepting, close idle
  // connections, let requests whose header has arrived finish and answer them with
  // `Connection: close`, and after shutdown_timeout close whatever is left. Idempotent.
  void Shutdown();

  // Blocks until Shutdown has finished and every thread of the server has exited.
  void Wait();

  // Re-reads the tokens file (as SIGHUP does). On error the previous tokens stay in force.
  [[nodiscard]] absl::Status ReloadTokens();

  const ServerMetrics& metrics() const;

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace burnrate
