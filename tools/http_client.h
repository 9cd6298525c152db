#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

// A small blocking HTTP/1.1 client for the burnrate command, benchmarks and tests: one
// keep-alive connection to one server. Boost.Beast does the protocol; this header keeps it
// out of the callers' includes.

namespace burnrate {

struct HttpUrl {
  std::string host;
  std::string port;
  std::string path_prefix;  // "" or "/something", without a trailing '/'
};

// Parses "http://host[:port][/prefix]" (port 8086 when absent) or "host:port".
// kInvalidArgument otherwise, and for https (not supported by this client).
[[nodiscard]] absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpClientResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  // The first header of that name (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

// One connection, opened on first use and again after the server closed it.
// A request on a reused connection that fails before any response byte arrives (the server
// closed an idle connection) is sent once more on a new one. Not thread-safe; one thread
// uses a client.
class HttpClient {
 public:
  // `timeout` bounds each of connecting, sending the request and reading the response.
  explicit HttpClient(HttpUrl url, absl::Duration timeout = absl::Seconds(60));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `method target` (target is appended to the URL's path prefix) with the body (a
  // Content-Length is set unless the body is empty and the method is GET or HEAD) and the
  // headers. Returns the response whatever its status; kUnavailable when the server cannot
  // be reached or the connection breaks, kDeadlineExceeded on a timeout.
  [[nodiscard]] absl::StatusOr<HttpClientResponse> Send(std::string_view method,
                                                        std::string_view target,
                                                        std::string_view body = {},
                                                        const HttpHeaders& headers = {});

  [[nodiscard]] absl::StatusOr<HttpClientResponse> Get(std::string_view target,
                                                       const HttpHeaders& headers = {}) {
    return Send("GET", target, {}, headers);
  }
  [[nodiscard]] absl::StatusOr<HttpClientResponse> Post(std::string_view target,
                                                        std::string_view body,
                                                        const HttpHeaders& headers = {}) {
    return Send("POST", target, body, headers);
  }

  // Whether the last response left the connection open.
  bool connected() const;
  void Close();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes a query-string parameter value.
std::string UrlEncode(std::string_view text);

}  // namespace burnrate
