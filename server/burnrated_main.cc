#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/str_cat.h"
#include "burnrate/db.h"
#include "query/http_query.h"
#include "server/http_server.h"
#include "server/query_route.h"
#include "server/server_options.h"

namespace burnrate {
namespace {

int Fail(std::string_view reason) {
  std::string line(reason);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "burnrated: %s\n", line.c_str());
  return 1;
}

// Accepts absl durations ("10s", "1m30s", "250ms") and bare numbers of seconds.
std::string ParseDurationInto(const std::string& text, absl::Duration* out) {
  if (absl::ParseDuration(text, out)) return "";
  double seconds = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%lf%c", &seconds, &extra) == 1 && seconds >= 0) {
    *out = absl::Seconds(seconds);
    return "";
  }
  return StrCat("invalid duration \"", text, "\" (use e.g. 10s, 500ms, 2m)");
}

struct DurationFlag {
  std::string text;
  absl::Duration* target;
};

int Main(int argc, char** argv) {
  CLI::App app(
      "burnrated: the burnrate server. InfluxDB-compatible HTTP API (/write, /api/v2/write, "
      "/query, /ping, /health, /metrics) and billing import (/api/v1/import) over a burnrate data "
      "directory; see docs/http.md.",
      "burnrated");
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("burnrated: ") + e.what() + " (see --help)\n";
  });
  app.set_config("--config", "",
                 "Read options from a file: one `name = value` per line, names as the long "
                 "options without dashes (data-dir = /var/lib/burnrate), # comments; flags on "
                 "the command line win");

  ServerOptions server;
  std::string data_dir = "./burnrate-data";
  std::string http_address = "127.0.0.1:8086";
  std::vector<std::string> create_databases;
  std::string create_fsync = "always";
  Options db_options;
  bool quiet = false;

  app.add_option("--data-dir", data_dir, "Data directory, created if missing")
      ->capture_default_str();
  app.add_option("--http", http_address,
                 "Address to listen on, host:port ([v6]:port, or :port for every interface; "
                 "port 0 lets the OS choose)")
      ->capture_default_str();
  app.add_option("--tokens-file", server.tokens_file,
                 "Tokens file (\"<token> <scope>...\" per line, scopes read:<db>, write:<db>, "
                 "read:*, write:*, admin); turns authentication on. Re-read on SIGHUP");
  app.add_flag("--insecure-allow-no-auth", server.insecure_allow_no_auth,
               "Allow listening on a non-loopback address without a tokens file");
  app.add_option("--create-database", create_databases,
                 "Create this database at start if missing (repeatable)");
  app.add_option("--create-database-fsync", create_fsync,
                 "WAL fsync policy of databases made by --create-database: always (a write "
                 "is acknowledged once on disk), interval (fsync every --fsync-interval-ms) "
                 "or none")
      ->check(CLI::IsMember({"always", "interval", "none"}))
      ->capture_default_str();
  app.add_flag("--partial-writes", server.partial_writes,
               "Write the valid lines of a body with invalid ones and answer 400 \"partial "
               "write\" (InfluxDB 1.x); by default a body is applied all-or-nothing. "
               "Requests override it with accept_partial=true|false");

  app.add_option("--io-threads", server.io_threads, "HTTP io threads (0: one per core)")
      ->capture_default_str();
  app.add_option("--write-threads", server.write_threads,
                 "Threads parsing and applying writes (0: two per core)")
      ->capture_default_str();
  app.add_option("--query-threads", server.query_threads,
                 "Threads answering /query and /metrics (0: one per core)")
      ->capture_default_str();
  app.add_option("--import-threads", server.import_threads,
                 "Threads running billing imports (POST /api/v1/import; 0: one); further "
                 "imports wait")
      ->capture_default_str();

  app.add_option("--max-body-bytes", server.max_body_bytes,
                 "Largest request body accepted, as sent (413 beyond)")
      ->capture_default_str();
  app.add_option("--max-decompressed-bytes", server.max_decompressed_bytes,
                 "Largest size a gzip body may inflate to (413 beyond)")
      ->capture_default_str();
  app.add_option("--max-import-body-bytes", server.max_import_body_bytes,
                 "Largest billing file POST /api/v1/import accepts, as sent (413 beyond)")
      ->capture_default_str();
  app.add_option("--import-spool-dir", server.import_spool_dir,
                 "Directory import bodies are written to as they arrive, each removed after its "
                 "import (default: the system's temporary directory)");
  app.add_option("--max-header-bytes", server.max_header_bytes,
                 "Largest request header (431 beyond)")
      ->capture_default_str();
  app.add_option("--max-line-bytes", server.max_line_bytes,
                 "Largest line-protocol line (the line is invalid beyond)")
      ->capture_default_str();
  app.add_option("--max-connections", server.max_connections,
                 "Open client connections; more are answered 503 and closed")
      ->capture_default_str();
  app.add_option("--max-inflight-write-bytes", server.max_inflight_write_bytes,
                 "Bytes of write bodies being received or applied at once; more get 429 with "
                 "Retry-After")
      ->capture_default_str();
  app.add_option("--retry-after", server.retry_after_seconds,
                 "Seconds a 429 or 503 response asks the client to wait (Retry-After)")
      ->capture_default_str();

  std::vector<DurationFlag> durations = {{"10s", &server.header_timeout},
                                         {"60s", &server.idle_timeout},
                                         {"60s", &server.body_timeout},
                                         {"60s", &server.write_timeout},
                                         {"30s", &server.shutdown_timeout}};
  app.add_option("--header-timeout", durations[0].text,
                 "Longest time from a request's first byte to the end of its header")
      ->capture_default_str();
  app.add_option("--idle-timeout", durations[1].text,
                 "Longest wait for the next request on a kept-alive connection")
      ->capture_default_str();
  app.add_option("--body-timeout", durations[2].text, "Longest time to receive one request body")
      ->capture_default_str();
  app.add_option("--write-timeout", durations[3].text, "Longest time to send one response")
      ->capture_default_str();
  app.add_option("--shutdown-timeout", durations[4].text,
                 "On SIGTERM/SIGINT, how long requests in flight may take before their "
                 "connections are closed")
      ->capture_default_str();

  QueryHttpOptions query;
  std::string query_timeout = "0s";
  app.add_option("--query-timeout", query_timeout,
                 "Longest a /query request may run (0s: no limit)")
      ->capture_default_str();
  app.add_option("--query-max-rows", query.max_rows, "Most rows one /query response may hold")
      ->capture_default_str();
  app.add_option("--query-max-memory-bytes", query.max_memory_bytes,
                 "Most memory one /query request may use")
      ->capture_default_str();
  app.add_option("--query-parallelism", query.threads,
                 "Threads one query may use to scan and aggregate")
      ->capture_default_str();

  app.add_option("--memtable-bytes", db_options.memtable_bytes,
                 "Memtable size that triggers a flush to segment files")
      ->capture_default_str();
  app.add_option("--fsync-interval-ms", db_options.fsync_interval_ms,
                 "WAL fsync period of databases with the interval policy")
      ->capture_default_str();
  app.add_flag("--quiet", quiet, "Drop the engine's informational log lines");

  app.footer(
      "Signals: SIGTERM or SIGINT stop accepting connections, finish requests in flight,\n"
      "flush and close the data directory, and exit 0. SIGHUP re-reads the tokens file.\n"
      "Listening on an address other than loopback requires --tokens-file (or\n"
      "--insecure-allow-no-auth). Documentation: docs/http.md.");

  CLI11_PARSE(app, argc, argv);

  for (DurationFlag& d : durations) {
    if (std::string error = ParseDurationInto(d.text, d.target); !error.empty()) {
      return Fail(error);
    }
  }
  absl::Duration query_limit;
  if (std::string error = ParseDurationInto(query_timeout, &query_limit); !error.empty()) {
    return Fail(error);
  }
  if (query_limit > absl::ZeroDuration()) query.timeout = query_limit;
  absl::StatusOr<HostPort> address = ParseHostPort(http_address);
  if (!address.ok()) return Fail(StrCat(address.status().message()));
  server.host = address->host;
  server.port = address->port;

  // Signals are taken by sigwait below; every thread started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  db_options.create_if_missing = true;
  if (quiet) db_options.info_log = [](std::string_view) {};
  absl::StatusOr<std::unique_ptr<Db>> opened = Db::Open(data_dir, db_options);
  if (!opened.ok()) return Fail(StrCat("open ", data_dir, ": ", opened.status().message()));
  std::unique_ptr<Db> db = std::move(opened).value();

  DatabaseOptions create_options;
  create_options.fsync = create_fsync == "always"     ? FsyncPolicy::kAlways
                         : create_fsync == "interval" ? FsyncPolicy::kInterval
                                                      : FsyncPolicy::kNone;
  for (const std::string& name : create_databases) {
    absl::Status s = db->CreateDatabase(name, create_options);
    if (!s.ok() && !absl::IsAlreadyExists(s)) {
      return Fail(StrCat("create database ", name, ": ", s.message()));
    }
  }

  server.query_handler = MakeQueryHandler(db.get(), query);
  absl::StatusOr<std::unique_ptr<HttpServer>> started = HttpServer::Start(db.get(), server);
  if (!started.ok()) {
    (void)db->Close();
    return Fail(StrCat(started.status().message()));
  }
  std::unique_ptr<HttpServer> http = std::move(started).value();
  const std::string shown_host =
      http->host().find(':') != std::string::npos ? StrCat("[", http->host(), "]") : http->host();
  std::printf("burnrated: listening on http://%s:%u (data %s, authentication %s)\n",
              shown_host.c_str(), static_cast<unsigned>(http->port()), data_dir.c_str(),
              server.tokens_file.empty() ? "off" : "on");
  std::fflush(stdout);

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      (void)http->ReloadTokens();
      continue;
    }
    std::fprintf(stderr, "burnrated: %s received, shutting down\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  http->Shutdown();
  http->Wait();
  http.reset();
  if (absl::Status s = db->Close(); !s.ok()) return Fail(StrCat("close: ", s.message()));
  std::fprintf(stderr, "burnrated: stopped\n");
  return 0;
}

}  // namespace
}  // namespace burnrate

int main(int argc, char** argv) { return burnrate::Main(argc, argv); }
