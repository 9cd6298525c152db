#include "server/http_server.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/json_string.h"
#include "base/str_cat.h"
#include "server/asio.h"
#include "server/auth.h"
#include "server/import_route.h"
#include "server/url.h"
#include "server/write_endpoint.h"

namespace burnrate {
namespace {

using SteadyClock = std::chrono::steady_clock;

// After a response with `Connection: close` whose request body was not read (or is still
// arriving), the socket is half-closed and what the client still sends is read and
// dropped for a while: closing with unread bytes would make the kernel send a reset, which
// can destroy the response before the client reads it.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr size_t kMaxLingerBytes = 64u << 20;
// Connections refused with 503 that may be open at once; past it they are closed unanswered.
constexpr int kMaxRejectingSessions = 64;

std::chrono::nanoseconds ToChrono(absl::Duration d) {
  return std::chrono::nanoseconds(absl::ToInt64Nanoseconds(d));
}

enum class Endpoint : uint8_t {
  kWriteV1,
  kWriteV2,
  kQuery,
  kPing,
  kHealth,
  kMetrics,
  kImport,
  kOther
};

std::string_view EndpointLabel(Endpoint e) {
  switch (e) {
    case Endpoint::kWriteV1:
      return "/write";
    case Endpoint::kWriteV2:
      return "/api/v2/write";
    case Endpoint::kQuery:
      return "/query";
    case Endpoint::kPing:
      return "/ping";
    case Endpoint::kHealth:
      return "/health";
    case Endpoint::kMetrics:
      return "/metrics";
    case Endpoint::kImport:
      return "/api/v1/import";
    case Endpoint::kOther:
      break;
  }
  return "other";
}

Endpoint Route(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/write") return Endpoint::kWriteV1;
  if (path == "/api/v2/write") return Endpoint::kWriteV2;
  if (path == "/query") return Endpoint::kQuery;
  if (path == "/ping") return Endpoint::kPing;
  if (path == "/health") return Endpoint::kHealth;
  if (path == "/metrics") return Endpoint::kMetrics;
  if (path == "/api/v1/import") return Endpoint::kImport;
  return Endpoint::kOther;
}

// A random version-4 UUID, as InfluxDB's Request-Id header carries one.
std::string RequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t a = rng();
  const uint64_t b = rng();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    uint64_t nibble = i < 16 ? (a >> (60 - 4 * i)) & 15 : (b >> (60 - 4 * (i - 16))) & 15;
    if (i == 12) nibble = 4;
    if (i == 16) nibble = 8 | (nibble & 3);
    out.push_back(kHex[nibble]);
  }
  return out;
}

HttpResponse JsonError(int status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = StrCat("{\"error\":", JsonString(message), "}");
  return r;
}

// A request body spooled to a file, removed when the last owner lets go (the session, or
// the import worker it handed the body to). Thread-compatible.
struct SpoolFile {
  explicit SpoolFile(std::string p) : path(std::move(p)) {}
  ~SpoolFile() { std::remove(path.c_str()); }
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;
  const std::string path;
};

void LogToStderr(std::string_view line) {
  const std::string stamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::fprintf(stderr, "%s burnrated: %.*s\n", stamp.c_str(), static_cast<int>(line.size()),
               line.data());
}

}  // namespace

class Session;
class ChunkedStream;

// The state behind HttpServer. Configuration members are set before the io threads start
// and only read afterwards; the acceptor and the timers are used on strand_ only; the
// session registry has its own mutex. Thread-safe in that way.
class HttpServer::Impl {
 public:
  Impl(Db* db, const ServerOptions& options, std::unique_ptr<Authenticator> auth)
      : db_(db),
        options_(options),
        auth_(std::move(auth)),
        strand_(net::make_strand(ioc_)),
        acceptor_(strand_),
        accept_retry_(strand_),
        drain_timer_(strand_),
        work_(net::make_work_guard(ioc_)),
        write_pool_(static_cast<size_t>(options.write_threads)),
        query_pool_(static_cast<size_t>(options.query_threads)),
        import_pool_(static_cast<size_t>(options.import_threads)) {
    if (!options_.log) options_.log = LogToStderr;
    write_options_.max_decompressed_bytes = options_.max_decompressed_bytes;
    write_options_.max_line_bytes = options_.max_line_bytes;
    write_options_.partial_writes = options_.partial_writes;
  }

  [[nodiscard]] absl::Status Listen();
  void Run();
  void Shutdown();
  void Wait();

  void Log(std::string_view line) { options_.log(line); }
  void Register(const std::shared_ptr<Session>& session);
  void Unregister(Session* session);

  Db* const db_;
  ServerOptions options_;
  WriteEndpointOptions write_options_;
  std::unique_ptr<Authenticator> auth_;
  ServerMetrics metrics_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> rejecting_sessions_{0};
  std::string host_;
  uint16_t port_ = 0;

  net::io_context ioc_;
  // Serialises the acceptor, the timers and the shutdown steps.
  net::strand<net::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  net::steady_timer drain_timer_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  net::thread_pool write_pool_;
  net::thread_pool query_pool_;
  net::thread_pool import_pool_;

 private:
  void Accept();
  void OnAccept(boost::system::error_code ec, tcp::socket socket);
  void BeginShutdown();
  void FinishShutdown();

  std::vector<std::thread> io_threads_;
  absl::Mutex wait_mu_;
  bool waited_ ABSL_GUARDED_BY(wait_mu_) = false;

  absl::Mutex mu_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  bool shutdown_started_ ABSL_GUARDED_BY(mu_) = false;
};

// One client connection: reads requests one after another (keep-alive), answers each, and
// enforces the timeouts and limits. Owned by shared_ptrs held by its pending operations
// (and by a worker while one handles its request). Confined to its strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl* server, bool counted)
      : server_(server), stream_(std::move(socket)), counted_(counted) {
    if (counted_) {
      server_->metrics_.connections_open.fetch_add(1);
      server_->metrics_.connections_total.fetch_add(1);
    }
  }

  ~Session() {
    ReleaseReservation();
    if (counted_) {
      server_->metrics_.connections_open.fetch_sub(1);
    } else {
      server_->rejecting_sessions_.fetch_sub(1);
    }
    server_->Unregister(this);
  }

  auto executor() { return stream_.get_executor(); }

  void Start() {
    net::dispatch(executor(), [self = shared_from_this()] { self->WaitForRequest(); });
  }

  // Answers 503 without reading a request, then closes.
  void StartRejected() {
    net::dispatch(executor(), [self = shared_from_this()] {
      HttpResponse r = JsonError(503, "too many open connections");
      r.headers.emplace_back("Retry-After", StrCat(self->server_->options_.retry_after_seconds));
      self->Send(std::move(r), /*close=*/true);
    });
  }

  // Graceful shutdown: a connection between requests closes now, one with a request in
  // flight closes after answering it.
  void OnShutdown() {
    shutdown_ = true;
    if (phase_ == Phase::kIdle || phase_ == Phase::kHeader) Close();
  }

  void ForceClose() { Close(); }

 private:
  enum class Phase : uint8_t { kIdle, kHeader, kBody, kHandling, kWriting, kClosing, kClosed };

  const ServerOptions& options() const { return server_->options_; }
  ServerMetrics& metrics() { return server_->metrics_; }

  void WaitForRequest() {
    if (shutdown_) return Close();
    phase_ = Phase::kIdle;
    parser_.reset();
    import_parser_.reset();
    spool_.reset();
    endpoint_ = Endpoint::kOther;
    if (buffer_.size() > 0) return ReadHeader();  // a pipelined request is already here
    stream_.expires_after(
        ToChrono(first_request_ ? options().header_timeout : options().idle_timeout));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              self->OnFirstBytes(ec, n);
                            });
  }

  void OnFirstBytes(boost::system::error_code ec, size_t n) {
    if (ec) {
      if (ec == beast::error::timeout) metrics().connections_timed_out.fetch_add(1);
      return Close();
    }
    buffer_.commit(n);
    ReadHeader();
  }

  void ReadHeader() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kHeader;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(options().max_header_bytes));
    // The body limit is set once the header is in: Beast checks Content-Length against it
    // while parsing the header, and the 413 should know which endpoint it answers.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(ToChrono(options().header_timeout));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](boost::system::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(boost::system::error_code ec) {
    if (ec) {
      if (ec == beast::error::timeout) {
        metrics().connections_timed_out.fetch_add(1);
        return Close();
      }
      if (ec == http::error::end_of_stream || ec == net::error::eof ||
          ec == net::error::operation_aborted || ec == net::error::connection_reset ||
          phase_ == Phase::kClosed) {
        return Close();
      }
      version_ = 11;
      keep_alive_ = false;
      if (ec == http::error::header_limit) {
        return Send(
            JsonError(431, StrCat("request header exceeds ", options().max_header_bytes, " bytes")),
            /*close=*/true);
      }
      return Send(JsonError(400, StrCat("malformed HTTP request: ", ec.message())),
                  /*close=*/true);
    }
    first_request_ = false;
    phase_ = Phase::kBody;
    const auto& req = parser_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    request_id_ = RequestId();

    std::string_view path;
    std::string_view query;
    const auto target = req.target();
    SplitTarget(std::string_view(target.data(), target.size()), &path, &query);
    params_ = UrlParams::Parse(query);
    endpoint_ = Route(path);

    const http::verb method = req.method();
    const auto not_allowed = [&](std::string_view allow) {
      HttpResponse r = JsonError(405, StrCat("method not allowed (use ", allow, ")"));
      r.headers.emplace_back("Allow", std::string(allow));
      return RespondEarly(std::move(r));
    };
    switch (endpoint_) {
      case Endpoint::kWriteV1:
      case Endpoint::kWriteV2:
        if (method != http::verb::post) return not_allowed("POST");
        break;
      case Endpoint::kQuery:
        if (!options().query_handler) return RespondEarly(JsonError(404, "not found"));
        if (method != http::verb::get && method != http::verb::post) {
          return not_allowed("GET, POST");
        }
        break;
      case Endpoint::kPing:
      case Endpoint::kHealth:
      case Endpoint::kMetrics:
        if (method != http::verb::get && method != http::verb::head) {
          return not_allowed("GET, HEAD");
        }
        break;
      case Endpoint::kImport:
        if (method != http::verb::post) return not_allowed("POST");
        break;
      case Endpoint::kOther:
        return RespondEarly(JsonError(404, "not found"));
    }

    const bool is_write = endpoint_ == Endpoint::kWriteV1 || endpoint_ == Endpoint::kWriteV2;
    const WriteApi api = endpoint_ == Endpoint::kWriteV2 ? WriteApi::kV2 : WriteApi::kV1;
    const auto content_length = parser_->content_length();
    if (content_length && *content_length > BodyLimit()) {
      return RespondEarly(TooLarge(is_write, api), /*close=*/true);
    }

    if (is_write) {
      HttpResponse error;
      absl::StatusOr<WriteTarget> target_or = ResolveWriteTarget(api, params_, &error);
      if (!target_or.ok()) return RespondEarly(std::move(error));
      target_ = *std::move(target_or);
      if (!Authorize(Access::kWrite, target_.database, api, &error)) {
        return RespondEarly(std::move(error));
      }
      // Reserve before reading so bodies being received count too; a chunked body of
      // unknown length reserves the limit.
      if (!Reserve(content_length ? *content_length : options().max_body_bytes)) {
        metrics().throttled_requests.fetch_add(1);
        HttpResponse r = WriteErrorResponse(
            api, 429, "too many bytes of writes in flight; retry after the Retry-After delay");
        r.headers.emplace_back("Retry-After", StrCat(options().retry_after_seconds));
        return RespondEarly(std::move(r), /*close=*/true);
      }
    } else if (endpoint_ == Endpoint::kQuery) {
      HttpResponse error;
      if (!Authorize(std::nullopt, "", WriteApi::kV1, &error)) {
        return RespondEarly(std::move(error));
      }
    } else if (endpoint_ == Endpoint::kImport) {
      HttpResponse error;
      absl::StatusOr<ImportOptions> import_options = ParseImportParams(params_, &error);
      if (!import_options.ok()) return RespondEarly(std::move(error));
      import_options_ = *std::move(import_options);
      target_ = WriteTarget{ImportDatabase(params_), ""};
      if (!Authorize(Access::kWrite, target_.database, WriteApi::kV1, &error)) {
        return RespondEarly(std::move(error));
      }
    }

    parser_->body_limit(BodyLimit());
    if (!parser_->is_done() &&
        absl::EqualsIgnoreCase(ToAbsl(req[http::field::expect]), "100-continue")) {
      continue_ =
          std::make_shared<http::response<http::empty_body>>(http::status::continue_, version_);
      stream_.expires_after(ToChrono(options().write_timeout));
      return http::async_write(stream_, *continue_,
                               [self = shared_from_this()](boost::system::error_code ec, size_t) {
                                 self->continue_.reset();
                                 if (ec) return self->Close();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  static absl::string_view ToAbsl(beast::string_view s) { return {s.data(), s.size()}; }
  static std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

  void ReadBody() {
    if (phase_ == Phase::kClosed) return;
    stream_.expires_after(ToChrono(options().body_timeout));
    if (endpoint_ == Endpoint::kImport) return ReadImportBody();
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](boost::system::error_code ec, size_t) { self->OnBody(ec); });
  }

  // An import body goes to a spool file as it arrives, so its size does not bound memory.
  void ReadImportBody() {
    std::string dir = options().import_spool_dir;
    if (dir.empty()) {
      std::error_code ec;
      dir = std::filesystem::temp_directory_path(ec).string();
      if (ec) dir = "/tmp";
    }
    spool_ = std::make_shared<SpoolFile>(
        (std::filesystem::path(dir) / StrCat("burnrate-import-", request_id_, ".part")).string());
    import_parser_.emplace(std::move(*parser_));
    import_parser_->body_limit(BodyLimit());
    beast::error_code ec;
    import_parser_->get().body().open(spool_->path.c_str(), beast::file_mode::write, ec);
    if (ec) {
      server_->Log(StrCat("cannot spool an import body to ", spool_->path, ": ", ec.message()));
      spool_.reset();
      HttpResponse r = JsonError(503, StrCat("cannot store the request body: ", ec.message()));
      r.headers.emplace_back("Retry-After", StrCat(options().retry_after_seconds));
      return Send(std::move(r), /*close=*/true);
    }
    http::async_read(
        stream_, buffer_, *import_parser_,
        [self = shared_from_this()](boost::system::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(boost::system::error_code ec) {
    if (ec) {
      if (ec == beast::error::timeout) {
        metrics().connections_timed_out.fetch_add(1);
        return Close();
      }
      if (endpoint_ == Endpoint::kImport &&
          ec.category() != http::make_error_code(http::error::body_limit).category() &&
          ec != net::error::eof && ec != net::error::operation_aborted &&
          ec != net::error::connection_reset && phase_ != Phase::kClosed) {
        // Writing the spool file failed (a full disk, say).
        HttpResponse r = JsonError(503, StrCat("cannot store the request body: ", ec.message()));
        r.headers.emplace_back("Retry-After", StrCat(options().retry_after_seconds));
        return Send(std::move(r), /*close=*/true);
      }
      if (ec == http::error::body_limit) {
        const bool is_write = endpoint_ == Endpoint::kWriteV1 || endpoint_ == Endpoint::kWriteV2;
        return Send(
            TooLarge(is_write, endpoint_ == Endpoint::kWriteV2 ? WriteApi::kV2 : WriteApi::kV1),
            /*close=*/true);
      }
      if (ec == http::error::end_of_stream || ec == net::error::eof ||
          ec == net::error::operation_aborted || ec == net::error::connection_reset ||
          phase_ == Phase::kClosed) {
        return Close();
      }
      return Send(JsonError(400, StrCat("malformed HTTP request body: ", ec.message())),
                  /*close=*/true);
    }
    Dispatch();
  }

  size_t BodyLimit() const {
    return endpoint_ == Endpoint::kImport ? options().max_import_body_bytes
                                          : options().max_body_bytes;
  }

  HttpResponse TooLarge(bool is_write, WriteApi api) const {
    const std::string message = StrCat("request body exceeds the limit of ", BodyLimit(), " bytes");
    if (is_write) {
      return WriteErrorResponse(api, 413, message,
                                StrCat(",\"maxLength\":", options().max_body_bytes));
    }
    return JsonError(413, message);
  }

  // Whether the request's credentials allow `access` (none: any valid token) to `database`;
  // otherwise *error is the 401 or 403 response. Sets access_ for /query.
  bool Authorize(std::optional<Access> access, std::string_view database, WriteApi api,
                 HttpResponse* error) {
    if (!server_->auth_->enabled()) {
      access_ = [](Access, std::string_view) { return true; };
      return true;
    }
    const bool is_write = endpoint_ == Endpoint::kWriteV1 || endpoint_ == Endpoint::kWriteV2;
    const auto fail = [&](int status, std::string_view message) {
      *error = is_write ? WriteErrorResponse(api, status, message) : JsonError(status, message);
      if (status == 401) {
        error->headers.emplace_back("WWW-Authenticate",
                                    "Token realm=\"burnrate\", Basic realm=\"burnrate\"");
      }
      return false;
    };
    const auto& req = parser_->get();
    const std::vector<std::string> candidates =
        CandidateTokens(ToStd(req[http::field::authorization]), params_.Get("p"));
    if (candidates.empty()) return fail(401, "unable to parse authentication credentials");
    std::shared_ptr<const TokenSet> tokens = server_->auth_->Current();
    const TokenGrant* grant = nullptr;
    for (const std::string& c : candidates) {
      if ((grant = tokens->Find(c)) != nullptr) break;
    }
    if (grant == nullptr) return fail(401, "authorization failed");
    if (access && !grant->Allows(*access, database)) {
      return fail(403, StrCat(*access == Access::kWrite ? "write" : "read",
                              " access to database \"", database, "\" is not granted"));
    }
    access_ = [tokens, grant](Access a, std::string_view db) { return grant->Allows(a, db); };
    return true;
  }

  bool Reserve(size_t bytes) {
    std::atomic<int64_t>& inflight = metrics().inflight_write_bytes;
    const auto limit = static_cast<int64_t>(options().max_inflight_write_bytes);
    const auto n = static_cast<int64_t>(bytes);
    int64_t current = inflight.load();
    do {
      if (current > 0 && current + n > limit) return false;
    } while (!inflight.compare_exchange_weak(current, current + n));
    reserved_ = n;
    return true;
  }

  void ReleaseReservation() {
    if (reserved_ != 0) {
      metrics().inflight_write_bytes.fetch_sub(reserved_);
      reserved_ = 0;
    }
  }

  void Dispatch() {
    phase_ = Phase::kHandling;
    stream_.expires_never();
    auto& req = parser_->get();
    switch (endpoint_) {
      case Endpoint::kPing: {
        HttpResponse r;
        if (params_.Get("verbose") == "true") {
          r.body = StrCat("{\"version\":", JsonString(kInfluxCompatVersion), "}");
        } else {
          r.status = 204;
          r.content_type.clear();
        }
        return Send(std::move(r), false);
      }
      case Endpoint::kHealth: {
        HttpResponse r;
        const bool stopping = server_->stopping_.load();
        r.status = stopping ? 503 : 200;
        r.body = StrCat("{\"name\":\"burnrate\",\"message\":",
                        stopping ? "\"shutting down\"" : "\"ready for queries and writes\"",
                        ",\"status\":", stopping ? "\"fail\"" : "\"pass\"",
                        ",\"checks\":[],\"version\":", JsonString(kInfluxCompatVersion),
                        ",\"commit\":", JsonString(StrCat("burnrate ", kBurnrateVersion)), "}");
        return Send(std::move(r), false);
      }
      case Endpoint::kMetrics:
        return net::post(server_->query_pool_, [self = shared_from_this()] {
          HttpResponse r;
          try {
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
            r.body = self->metrics().Render(self->server_->db_->GetStats());
          } catch (const std::exception& e) {
            r = self->Internal(e.what());
          } catch (...) {
            r = self->Internal("unknown exception");
          }
          self->PostResponse(std::move(r));
        });
      case Endpoint::kWriteV1:
      case Endpoint::kWriteV2: {
        WriteRequest w;
        w.api = endpoint_ == Endpoint::kWriteV2 ? WriteApi::kV2 : WriteApi::kV1;
        w.target = target_;
        w.params = params_;
        w.content_encoding = std::string(ToStd(req[http::field::content_encoding]));
        w.body = std::move(req.body());
        w.now_ns = absl::ToUnixNanos(absl::Now());
        metrics().write_bytes.fetch_add(w.body.size(), std::memory_order_relaxed);
        return net::post(server_->write_pool_, [self = shared_from_this(), w = std::move(w),
                                                start = SteadyClock::now()]() mutable {
          HttpResponse r;
          try {
            r = HandleWrite(self->server_->db_, std::move(w), self->server_->write_options_,
                            self->options().retry_after_seconds, &self->metrics());
            if (r.status == 503) self->metrics().throttled_requests.fetch_add(1);
          } catch (const std::exception& e) {
            r = self->Internal(e.what());
          } catch (...) {
            r = self->Internal("unknown exception");
          }
          self->metrics().write_latency.Observe(
              std::chrono::duration<double>(SteadyClock::now() - start).count());
          self->PostResponse(std::move(r));
        });
      }
      case Endpoint::kQuery:
        return DispatchQuery();
      case Endpoint::kImport: {
        auto& import_req = import_parser_->get();
        import_req.body().close();
        ImportRequest im;
        im.database = target_.database;
        im.name = params_.Get("name");
        im.content_encoding = std::string(ToStd(import_req[http::field::content_encoding]));
        im.body_file = spool_->path;
        im.options = std::move(import_options_);
        im.retry_after_seconds = options().retry_after_seconds;
        // A shutdown abandons an import at its next batch rather than waiting for the end
        // of a large file; its previous version stays live.
        im.options.after_batch = [server = server_](uint64_t) {
          return server->stopping_.load()
                     ? absl::UnavailableError("server shutting down; the import was abandoned")
                     : absl::OkStatus();
        };
        return net::post(server_->import_pool_, [self = shared_from_this(), im = std::move(im),
                                                 spool = std::move(spool_)]() mutable {
          HttpResponse r;
          try {
            r = HandleImport(self->server_->db_, std::move(im));
          } catch (const std::exception& e) {
            r = self->Internal(e.what());
          } catch (...) {
            r = self->Internal("unknown exception");
          }
          // The spool file is gone before the client hears back.
          spool.reset();
          self->PostResponse(std::move(r));
        });
      }
      case Endpoint::kOther:
        break;
    }
    Send(JsonError(404, "not found"), false);
  }

  HttpResponse Internal(std::string_view what) {
    server_->Log(StrCat(EndpointLabel(endpoint_), " request ", request_id_,
                        " failed with an exception: ", what));
    return JsonError(500, "internal error");
  }

  // From a worker thread: hands the response to the session's strand.
  void PostResponse(HttpResponse r) {
    net::post(executor(), [self = shared_from_this(), r = std::move(r)]() mutable {
      self->Send(std::move(r), false);
    });
  }

  // Answers before the body was read: the connection stays usable only when the request
  // has no body (or close is false and the body is already complete).
  void RespondEarly(HttpResponse r, bool close = false) {
    Send(std::move(r), close || !parser_->is_done());
  }

  void Send(HttpResponse r, bool close) {
    if (phase_ == Phase::kClosed || phase_ == Phase::kClosing) return;
    ReleaseReservation();
    if (counted_) metrics().CountRequest(EndpointLabel(endpoint_), r.status);
    if (r.status >= 500 && r.status != 503) {
      server_->Log(StrCat(EndpointLabel(endpoint_), " answered ", r.status, ": ", r.body));
    }
    close = close || shutdown_ || !keep_alive_ || !counted_;
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version_ == 0 ? 11 : version_);
    SetCommonHeaders(*res);
    if (!r.content_type.empty() && r.status != 204) {
      res->set(http::field::content_type, r.content_type);
    }
    for (auto& [name, value] : r.headers) res->set(name, value);
    if (!head_ && r.status != 204) res->body() = std::move(r.body);
    res->keep_alive(!close);
    // A 204 carries neither a body nor a Content-Length (RFC 9110).
    if (r.status != 204) res->prepare_payload();
    response_ = std::move(res);
    phase_ = Phase::kWriting;
    stream_.expires_after(ToChrono(options().write_timeout));
    http::async_write(stream_, *response_,
                      [self = shared_from_this(), close](boost::system::error_code ec, size_t) {
                        self->OnWritten(ec, close);
                      });
  }

  // The headers of every response: server, InfluxDB version and build, request id.
  void SetCommonHeaders(http::header<false, http::fields>& h) const {
    h.set(http::field::server, StrCat("burnrated/", kBurnrateVersion));
    h.set("X-Influxdb-Version", std::string(kInfluxCompatVersion));
    h.set("X-Influxdb-Build", "OSS");
    if (!request_id_.empty()) {
      h.set("Request-Id", request_id_);
      h.set("X-Request-Id", request_id_);
    }
  }

  // A streamed response (ChunkedStream), on the strand: the header, each chunk, the end.
  // Each operation reports its completion to the stream, which waits for it before the
  // next; a session that is closing or closed fails them at once. Defined after
  // ChunkedStream.
  void StreamHeader(const std::shared_ptr<ChunkedStream>& st, int status,
                    const std::string& content_type);
  void StreamChunk(const std::shared_ptr<ChunkedStream>& st, std::shared_ptr<std::string> data);
  void StreamEnd(bool abort);
  void DispatchQuery();
  friend class ChunkedStream;

  void OnWritten(boost::system::error_code ec, bool close) {
    response_.reset();
    request_id_.clear();
    if (ec) return Close();
    if (close) return LingeringClose();
    WaitForRequest();
  }

  void LingeringClose() {
    phase_ = Phase::kClosing;
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kMaxLingerBytes) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    ReleaseReservation();
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  HttpServer::Impl* const server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // An import request's parser once its header was checked (parser_ is moved into it), and
  // the file its body is spooled to.
  std::optional<http::request_parser<http::file_body>> import_parser_;
  std::shared_ptr<SpoolFile> spool_;
  std::shared_ptr<http::response<http::string_body>> response_;
  std::shared_ptr<http::response<http::empty_body>> continue_;
  std::array<char, 16384> drain_;
  size_t lingered_ = 0;
  const bool counted_;  // false for a connection refused at accept
  Phase phase_ = Phase::kIdle;
  bool first_request_ = true;
  bool shutdown_ = false;

  // The request in progress.
  Endpoint endpoint_ = Endpoint::kOther;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  std::string request_id_;
  UrlParams params_;
  WriteTarget target_;
  ImportOptions import_options_;
  AccessCheck access_;
  int64_t reserved_ = 0;       // bytes of metrics().inflight_write_bytes this request holds
  bool stream_close_ = false;  // a streamed response closes the connection when done
};

// ResponseStream for a /query handler: the worker thread calls Start, Write and Finish;
// each posts one write to the session's strand, after waiting for the previous one to
// complete, so at most one piece is in flight and one being produced. Thread-safe: the
// worker and the strand share the completion state under mu_.
class ChunkedStream final : public ResponseStream,
                            public std::enable_shared_from_this<ChunkedStream> {
 public:
  explicit ChunkedStream(std::shared_ptr<Session> session) : session_(std::move(session)) {}

  bool Start(int status, const std::string& content_type) override {
    if (!Begin()) return false;
    started_ = true;
    net::post(session_->executor(), [self = shared_from_this(), status, content_type] {
      self->session_->StreamHeader(self, status, content_type);
    });
    return true;
  }

  bool Write(std::string data) override {
    if (!started_) return false;
    if (data.empty()) return true;
    if (!Begin()) return false;
    net::post(session_->executor(),
              [self = shared_from_this(),
               data = std::make_shared<std::string>(std::move(data))]() mutable {
                self->session_->StreamChunk(self, std::move(data));
              });
    return true;
  }

  // Ends the body (or, with abort or after a failed write, closes the connection) once
  // the write in flight has completed. Called once, after the handler returned.
  void Finish(bool abort) {
    const bool ok = WaitIdle();
    net::post(session_->executor(),
              [session = session_, abort = abort || !ok] { session->StreamEnd(abort); });
  }

  bool started() const { return started_; }

  // From the strand: the posted write completed.
  void Done(boost::system::error_code ec) {
    absl::MutexLock lock(&mu_);
    in_flight_ = false;
    if (ec) failed_ = true;
  }

 private:
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !in_flight_; }

  // Waits for the write in flight; false when a write has failed.
  bool WaitIdle() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &ChunkedStream::Idle));
    return !failed_;
  }

  // Waits for the previous write and marks a new one in flight; false when one failed.
  bool Begin() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &ChunkedStream::Idle));
    if (failed_) return false;
    in_flight_ = true;
    return true;
  }

  const std::shared_ptr<Session> session_;
  bool started_ = false;  // worker thread only
  absl::Mutex mu_;
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
};

// /query: decodes the parameters and runs the handler on a query thread, streaming the
// response when the handler asks to (chunked=true).
void Session::DispatchQuery() {
  auto& req = parser_->get();
  UrlParams all = params_;
  if (req.method() == http::verb::post &&
      absl::StartsWithIgnoreCase(ToAbsl(req[http::field::content_type]),
                                 "application/x-www-form-urlencoded")) {
    all.Append(UrlParams::Parse(req.body()));
  }
  QueryRequestParams q;
  q.is_post = req.method() == http::verb::post;
  q.db = all.Get("db");
  q.rp = all.Get("rp");
  q.q = all.Get("q");
  q.epoch = all.Get("epoch");
  q.pretty = all.Get("pretty") == "true";
  q.chunked = all.Get("chunked") == "true";
  if (const std::string* size = all.Find("chunk_size")) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(size->c_str(), &end, 10);
    if (end != size->c_str() && *end == '\0' && n > 0) q.chunk_size = n;
  }
  q.params = all.Get("params");
  const absl::string_view accept = ToAbsl(req[http::field::accept]);
  if (absl::StrContains(accept, "application/csv") || absl::StrContains(accept, "text/csv")) {
    q.format = QueryFormat::kCsv;
  }
  q.now_ns = absl::ToUnixNanos(absl::Now());
  q.allowed = access_;
  if (q.q.empty()) return Send(JsonError(400, "missing required parameter \"q\""), false);
  // HTTP/1.0 has no chunked transfer encoding: such clients get the body whole.
  std::shared_ptr<ChunkedStream> stream;
  if (version_ >= 11) stream = std::make_shared<ChunkedStream>(shared_from_this());
  q.stream = stream.get();
  return net::post(server_->query_pool_, [self = shared_from_this(), q = std::move(q),
                                          stream = std::move(stream), start = SteadyClock::now()] {
    HttpResponse r;
    bool failed = false;
    try {
      r = self->options().query_handler(q);
    } catch (const std::exception& e) {
      r = self->Internal(e.what());
      failed = true;
    } catch (...) {
      r = self->Internal("unknown exception");
      failed = true;
    }
    self->metrics().query_latency.Observe(
        std::chrono::duration<double>(SteadyClock::now() - start).count());
    if (stream && stream->started()) {
      // A failure after the header went out cannot change the status: cut
      // the connection so the client sees an incomplete body rather than a
      // complete one.
      stream->Finish(/*abort=*/failed || !r.streamed);
    } else {
      self->PostResponse(std::move(r));
    }
  });
}

void Session::StreamHeader(const std::shared_ptr<ChunkedStream>& st, int status,
                           const std::string& content_type) {
  if (phase_ == Phase::kClosed || phase_ == Phase::kClosing) {
    return st->Done(net::error::operation_aborted);
  }
  if (counted_) metrics().CountRequest(EndpointLabel(endpoint_), status);
  stream_close_ = shutdown_ || !keep_alive_ || !counted_;
  auto res = std::make_shared<http::response<http::empty_body>>(static_cast<http::status>(status),
                                                                version_);
  SetCommonHeaders(*res);
  if (!content_type.empty()) res->set(http::field::content_type, content_type);
  res->keep_alive(!stream_close_);
  res->chunked(true);
  auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
  phase_ = Phase::kWriting;
  stream_.expires_after(ToChrono(options().write_timeout));
  http::async_write_header(
      stream_, *sr, [self = shared_from_this(), st, res, sr](boost::system::error_code ec, size_t) {
        st->Done(ec);
      });
}

void Session::StreamChunk(const std::shared_ptr<ChunkedStream>& st,
                          std::shared_ptr<std::string> data) {
  if (phase_ != Phase::kWriting) return st->Done(net::error::operation_aborted);
  stream_.expires_after(ToChrono(options().write_timeout));
  net::async_write(stream_, http::make_chunk(net::buffer(*data)),
                   [self = shared_from_this(), st, data](boost::system::error_code ec, size_t) {
                     st->Done(ec);
                   });
}

void Session::StreamEnd(bool abort) {
  if (phase_ != Phase::kWriting) return;
  if (abort) return Close();
  stream_.expires_after(ToChrono(options().write_timeout));
  net::async_write(stream_, http::make_chunk_last(),
                   [self = shared_from_this()](boost::system::error_code ec, size_t) {
                     self->OnWritten(ec, self->stream_close_ || self->shutdown_);
                   });
}

absl::Status HttpServer::Impl::Listen() {
  boost::system::error_code ec;
  tcp::resolver resolver(ioc_);
  const auto results =
      resolver.resolve(options_.host, std::to_string(options_.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(
        StrCat("cannot resolve listen address \"", options_.host, "\": ", ec.message()));
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  if (!endpoint.address().is_loopback() && !auth_->enabled() && !options_.insecure_allow_no_auth) {
    return absl::FailedPreconditionError(
        StrCat("refusing to listen on ", endpoint.address().to_string(),
               " (not a loopback address) without authentication: give a tokens file "
               "(--tokens-file), or --insecure-allow-no-auth to accept unauthenticated writes from "
               "the network"));
  }
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(StrCat("cannot listen on ", endpoint.address().to_string(), ":",
                                         endpoint.port(), ": ", ec.message()));
  }
  const tcp::endpoint local = acceptor_.local_endpoint(ec);
  host_ = local.address().to_string();
  port_ = local.port();
  return absl::OkStatus();
}

void HttpServer::Impl::Run() {
  net::dispatch(strand_, [this] { Accept(); });
  const int n = options_.io_threads;
  io_threads_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    io_threads_.emplace_back([this] {
      // A handler that throws (only allocation failures can) must not end the thread.
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          Log(StrCat("io thread caught an exception: ", e.what()));
        } catch (...) {
          Log("io thread caught an unknown exception");
        }
      }
    });
  }
}

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_),
                         [this](boost::system::error_code ec, tcp::socket socket) {
                           OnAccept(ec, std::move(socket));
                         });
}

void HttpServer::Impl::OnAccept(boost::system::error_code ec, tcp::socket socket) {
  if (stopping_.load() || !acceptor_.is_open()) {
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  if (ec) {
    // Out of file descriptors, typically: wait a little instead of spinning.
    Log(StrCat("accept failed: ", ec.message()));
    accept_retry_.expires_after(std::chrono::milliseconds(50));
    accept_retry_.async_wait([this](boost::system::error_code e) {
      if (!e && !stopping_.load()) Accept();
    });
    return;
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (static_cast<size_t>(metrics_.connections_open.load()) >= options_.max_connections) {
    metrics_.connections_rejected.fetch_add(1);
    if (rejecting_sessions_.fetch_add(1) >= kMaxRejectingSessions) {
      rejecting_sessions_.fetch_sub(1);
      socket.close(ignored);
    } else {
      auto session = std::make_shared<Session>(std::move(socket), this, /*counted=*/false);
      Register(session);
      session->StartRejected();
    }
  } else {
    auto session = std::make_shared<Session>(std::move(socket), this, /*counted=*/true);
    Register(session);
    session->Start();
  }
  Accept();
}

void HttpServer::Impl::Register(const std::shared_ptr<Session>& session) {
  absl::MutexLock lock(&mu_);
  sessions_.emplace(session.get(), session);
}

void HttpServer::Impl::Unregister(Session* session) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(session);
  if (shutdown_started_ && sessions_.empty()) {
    net::post(strand_, [this] { FinishShutdown(); });
  }
}

void HttpServer::Impl::Shutdown() {
  if (stopping_.exchange(true)) return;
  net::post(strand_, [this] { BeginShutdown(); });
}

void HttpServer::Impl::BeginShutdown() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  std::vector<std::shared_ptr<Session>> live;
  {
    absl::MutexLock lock(&mu_);
    shutdown_started_ = true;
    for (auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    if (sessions_.empty()) {
      net::post(strand_, [this] { FinishShutdown(); });
    }
  }
  Log(StrCat("shutting down: ", live.size(), " connection", live.size() == 1 ? "" : "s",
             " open, waiting up to ", absl::FormatDuration(options_.shutdown_timeout),
             " for requests in flight"));
  for (auto& s : live) {
    net::post(s->executor(), [s] { s->OnShutdown(); });
  }
  drain_timer_.expires_after(ToChrono(options_.shutdown_timeout));
  drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    std::vector<std::shared_ptr<Session>> left;
    {
      absl::MutexLock lock(&mu_);
      for (auto& [ptr, weak] : sessions_) {
        if (auto s = weak.lock()) left.push_back(std::move(s));
      }
    }
    if (!left.empty()) {
      Log(StrCat("shutdown timeout: closing ", left.size(), " connection(s) still open"));
    }
    for (auto& s : left) net::post(s->executor(), [s] { s->ForceClose(); });
  });
}

void HttpServer::Impl::FinishShutdown() {
  drain_timer_.cancel();
  work_.reset();
}

void HttpServer::Impl::Wait() {
  absl::MutexLock lock(&wait_mu_);
  if (waited_) return;
  for (std::thread& t : io_threads_) t.join();
  write_pool_.join();
  query_pool_.join();
  import_pool_.join();
  waited_ = true;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Db* db,
                                                              const ServerOptions& options) {
  if (db == nullptr) return absl::InvalidArgumentError("HttpServer::Start: no database");
  ServerOptions o = options;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (o.io_threads <= 0) o.io_threads = cores;
  if (o.write_threads <= 0) o.write_threads = 2 * cores;
  if (o.query_threads <= 0) o.query_threads = cores;
  if (o.import_threads <= 0) o.import_threads = 1;
  if (o.max_body_bytes == 0 || o.max_import_body_bytes == 0 || o.max_connections == 0 ||
      o.max_header_bytes == 0) {
    return absl::InvalidArgumentError(
        "max body bytes, max import body bytes, max connections and max header bytes must be "
        "positive");
  }
  absl::StatusOr<std::unique_ptr<Authenticator>> auth = Authenticator::Create(o.tokens_file);
  if (!auth.ok()) return auth.status();
  auto impl = std::make_unique<Impl>(db, o, std::move(auth).value());
  if (absl::Status s = impl->Listen(); !s.ok()) return s;
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Shutdown();
  Wait();
}

const std::string& HttpServer::host() const { return impl_->host_; }
uint16_t HttpServer::port() const { return impl_->port_; }
void HttpServer::Shutdown() { impl_->Shutdown(); }
void HttpServer::Wait() { impl_->Wait(); }
const ServerMetrics& HttpServer::metrics() const { return impl_->metrics_; }

absl::Status HttpServer::ReloadTokens() {
  absl::Status s = impl_->auth_->Reload();
  impl_->Log(s.ok() ? StrCat("reloaded tokens from ", impl_->auth_->path())
                    : StrCat("reloading tokens failed, keeping the previous ones: ", s.message()));
  return s;
}

}  // namespace burnrate
