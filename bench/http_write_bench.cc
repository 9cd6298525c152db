// Ingest through HTTP: a native load generator posting pre-encoded batches of the
// generator's telemetry (line protocol, 10,000 lines each) to an in-process burnrated
// server over loopback, from several connections at once. Counts only acknowledged points:
// every 204 means Db::Write returned OK under FsyncPolicy::kAlways (the WAL was fsynced).
// Clients and server share this machine's cores, as they would on a single box.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "burnrate/db.h"
#include "server/http_server.h"
#include "tools/http_client.h"
#include "tools/telemetry_generator.h"

namespace burnrate {
namespace {

constexpr size_t kBatchLines = 10'000;

// The server, its data directory and the encoded batches, set up once and shared by every
// benchmark thread. Immutable after setup; thread-safe.
struct Setup {
  std::string dir;
  std::unique_ptr<Db> db;
  std::unique_ptr<HttpServer> server;
  std::vector<std::string> batches;

  Setup() {
    dir = (std::filesystem::temp_directory_path() / "burnrate-bench-http").string();
    std::filesystem::remove_all(dir);
    Options options;
    options.info_log = [](std::string_view) {};
    auto opened = Db::Open(dir, options);
    if (!opened.ok() || !(*opened)->CreateDatabase("bench", DatabaseOptions{}).ok()) std::abort();
    db = std::move(opened).value();
    ServerOptions server_options;
    server_options.port = 0;
    server_options.log = [](std::string_view) {};
    auto started = HttpServer::Start(db.get(), server_options);
    if (!started.ok()) std::abort();
    server = std::move(started).value();

    // One day of 1,000 series: 144 batches, about 330 MB of line protocol.
    GeneratorConfig config;
    config.days = 1;
    config.series = 1000;
    auto gen = TelemetryGenerator::Create(config);
    if (!gen.ok()) std::abort();
    while (!(*gen)->done()) {
      std::string body;
      (*gen)->AppendLineProtocol(&body, kBatchLines);
      batches.push_back(std::move(body));
    }
  }

  ~Setup() {
    server.reset();
    (void)db->Close();
    std::filesystem::remove_all(dir);
  }
};

Setup& GetSetup() {
  static Setup* setup = new Setup();
  return *setup;
}

void BM_HttpWriteAcknowledged(benchmark::State& state) {
  Setup& setup = GetSetup();
  HttpClient client(HttpUrl{"127.0.0.1", std::to_string(setup.server->port()), ""});
  const HttpHeaders headers = {{"Content-Type", "text/plain; charset=utf-8"}};
  size_t next = static_cast<size_t>(state.thread_index()) * 7;
  int64_t points = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    const std::string& body = setup.batches[next++ % setup.batches.size()];
    auto r = client.Post("/write?db=bench", body, headers);
    if (!r.ok() || r->status != 204) {
      state.SkipWithError(r.ok() ? r->body.c_str() : "request failed");
      break;
    }
    points += static_cast<int64_t>(kBatchLines);
    bytes += static_cast<int64_t>(body.size());
  }
  state.SetItemsProcessed(points);
  state.SetBytesProcessed(bytes);
  state.counters["points/s"] =
      benchmark::Counter(static_cast<double>(points), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HttpWriteAcknowledged)
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->Threads(8)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace burnrate
