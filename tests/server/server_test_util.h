#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "burnrate/db.h"
#include "burnrate/scan.h"
#include "gtest/gtest.h"
#include "server/http_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tools/http_client.h"

namespace burnrate::testing {

// Options for a test server: loopback, an OS-chosen port, few threads, quiet.
inline ServerOptions TestServerOptions() {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.io_threads = 2;
  o.write_threads = 2;
  o.query_threads = 1;
  o.log = [](std::string_view) {};
  return o;
}

// A data directory with database "db" and a server over it. Not thread-safe; tests drive it
// from the main thread (clients may run on others).
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options options;
    options.info_log = [](std::string_view) {};
    auto db = Db::Open(dir_.Sub("data"), options);
    ASSERT_OK(db);
    db_ = std::move(db).value();
    ASSERT_OK(db_->CreateDatabase("db", DatabaseOptions()));
  }

  void TearDown() override {
    server_.reset();
    if (db_) {
      EXPECT_OK(db_->Close());
    }
  }

  void StartServer(ServerOptions options = TestServerOptions()) {
    server_.reset();
    auto started = HttpServer::Start(db_.get(), options);
    ASSERT_OK(started);
    server_ = std::move(started).value();
  }

  HttpUrl Url() const { return HttpUrl{"127.0.0.1", std::to_string(server_->port()), ""}; }
  std::unique_ptr<HttpClient> Client(absl::Duration timeout = absl::Seconds(30)) const {
    return std::make_unique<HttpClient>(Url(), timeout);
  }

  // Points of measurement `m` in database "db" with a value for `field`.
  uint64_t CountPoints(std::string_view m = "cost", std::string_view field = "cost") {
    uint64_t n = 0;
    ScanRequest r;
    r.database = "db";
    r.measurement = std::string(m);
    r.fields = {std::string(field)};
    EXPECT_OK(db_->Scan(r, [&](const ScanBatch& b) {
      for (size_t i = 0; i < b.rows(); ++i) n += b.columns[0].IsValid(i) ? 1 : 0;
      return absl::OkStatus();
    }));
    return n;
  }

  TempDir dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<HttpServer> server_;
};

// A plain blocking TCP connection, for requests a well-behaved client would not send.
// Reads give up after 30 s so a broken server fails the test instead of hanging it.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{30, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until `marker` has arrived (returning everything read) or the peer closed.
  std::string ReadUntil(std::string_view marker) {
    std::string out;
    char buf[4096];
    while (out.find(marker) == std::string::npos) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // Reads until the peer closes the connection; true when it did (rather than a timeout).
  bool WaitForClose(std::string* received = nullptr) {
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
      if (received != nullptr) received->append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace burnrate::testing
