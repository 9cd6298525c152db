#include "tools/http_client.h"

// <utility> first, as server/asio.h does (CONVENTIONS.md): some Boost 1.74 headers use it
// without including it.
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "base/str_cat.h"

namespace burnrate {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  std::string_view rest = url;
  if (rest.substr(0, 8) == "https://") {
    return absl::InvalidArgumentError(
        StrCat("\"", url, "\": https is not supported; put a TLS proxy in front"));
  }
  if (rest.substr(0, 7) == "http://") rest.remove_prefix(7);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  HttpUrl out;
  out.port = "8086";
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(StrCat("invalid URL \"", url, "\""));
    }
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':') {
        return absl::InvalidArgumentError(StrCat("invalid URL \"", url, "\""));
      }
      out.port = std::string(authority.substr(1));
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
  }
  if (out.host.empty() || out.port.empty() ||
      out.port.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(StrCat("invalid URL \"", url, "\" (use http://host:port)"));
  }
  out.path_prefix = std::string(path);
  return out;
}

std::string HttpClientResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(absl::string_view(k.data(), k.size()),
                               absl::string_view(name.data(), name.size()))) {
      return v;
    }
  }
  return "";
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

class HttpClient::Impl {
 public:
  Impl(HttpUrl url, absl::Duration timeout)
      : url_(std::move(url)),
        timeout_(std::chrono::nanoseconds(absl::ToInt64Nanoseconds(timeout))) {}

  absl::StatusOr<HttpClientResponse> Send(std::string_view method, std::string_view target,
                                          std::string_view body, const HttpHeaders& headers) {
    http::request<http::string_body> req;
    req.method(http::string_to_verb(beast::string_view(method.data(), method.size())));
    if (req.method() == http::verb::unknown) {
      req.method_string(beast::string_view(method.data(), method.size()));
    }
    req.target(StrCat(url_.path_prefix, target));
    req.version(11);
    req.set(http::field::host, StrCat(url_.host, ":", url_.port));
    req.set(http::field::user_agent, "burnrate");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::string(body);
    req.keep_alive(true);
    if (!body.empty() || (req.method() != http::verb::get && req.method() != http::verb::head)) {
      req.prepare_payload();
    }

    const bool reused = stream_.has_value();
    absl::StatusOr<HttpClientResponse> response = RoundTrip(req);
    if (!response.ok() && reused && !got_response_bytes_ &&
        absl::IsUnavailable(response.status())) {
      response = RoundTrip(req);
    }
    return response;
  }

  bool connected() const { return stream_.has_value(); }
  void Close() {
    if (stream_) {
      boost::system::error_code ignored;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_->close();
    }
    stream_.reset();
    buffer_.clear();
  }

 private:
  // Runs the io_context until the operation started by `start` completes.
  template <typename Start>
  boost::system::error_code Run(Start start) {
    boost::system::error_code result = net::error::would_block;
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  absl::Status Failure(std::string_view what, boost::system::error_code ec) {
    Close();
    const std::string message = StrCat(what, " ", url_.host, ":", url_.port, ": ", ec.message());
    if (ec == beast::error::timeout) return absl::DeadlineExceededError(message);
    return absl::UnavailableError(message);
  }

  absl::StatusOr<HttpClientResponse> RoundTrip(http::request<http::string_body>& req) {
    got_response_bytes_ = false;
    if (!stream_) {
      tcp::resolver resolver(ioc_);
      boost::system::error_code ec;
      const auto endpoints = resolver.resolve(url_.host, url_.port, ec);
      if (ec) return Failure("cannot resolve", ec);
      stream_.emplace(ioc_);
      stream_->expires_after(timeout_);
      ec = Run([&](auto handler) { stream_->async_connect(endpoints, std::move(handler)); });
      if (ec) return Failure("cannot connect to", ec);
      boost::system::error_code ignored;
      stream_->socket().set_option(tcp::no_delay(true), ignored);
    }
    stream_->expires_after(timeout_);
    boost::system::error_code ec =
        Run([&](auto handler) { http::async_write(*stream_, req, std::move(handler)); });
    if (ec) return Failure("sending a request to", ec);

    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.header_limit(1 << 20);
    // A response to HEAD announces a body it does not carry.
    if (req.method() == http::verb::head) parser.skip(true);
    stream_->expires_after(timeout_);
    ec = Run([&](auto handler) {
      http::async_read_header(*stream_, buffer_, parser, std::move(handler));
    });
    if (ec) {
      got_response_bytes_ = buffer_.size() > 0;
      return Failure("reading the response from", ec);
    }
    got_response_bytes_ = true;
    if (!parser.is_done()) {
      stream_->expires_after(timeout_);
      ec = Run(
          [&](auto handler) { http::async_read(*stream_, buffer_, parser, std::move(handler)); });
      if (ec) return Failure("reading the response from", ec);
    }
    HttpClientResponse out;
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) Close();
    return out;
  }

  const HttpUrl url_;
  const std::chrono::nanoseconds timeout_;
  net::io_context ioc_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  bool got_response_bytes_ = false;
};

HttpClient::HttpClient(HttpUrl url, absl::Duration timeout)
    : impl_(std::make_unique<Impl>(std::move(url), timeout)) {}
HttpClient::~HttpClient() = default;

absl::StatusOr<HttpClientResponse> HttpClient::Send(std::string_view method,
                                                    std::string_view target, std::string_view body,
                                                    const HttpHeaders& headers) {
  return impl_->Send(method, target, body, headers);
}

bool HttpClient::connected() const { return impl_->connected(); }
void HttpClient::Close() { impl_->Close(); }

}  // namespace burnrate
