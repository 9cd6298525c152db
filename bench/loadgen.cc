// burnrate-loadgen: the native HTTP load generator of the end-to-end comparison
// (bench/compare). It maps a line-protocol file, cuts it into batches of whole lines once
// (the request bodies are ready before the clock starts), and posts them to one write
// endpoint from several keep-alive connections at once, each connection taking the next
// unsent batch. Only acknowledged batches (2xx) count; 429/503 are retried after the
// server's Retry-After; any other answer stops the run with exit 1. The same binary drives
// every HTTP contender (burnrate, InfluxDB, VictoriaMetrics), so the client is the same.
//
//   burnrate-loadgen --url http://127.0.0.1:8086 --path '/write?db=bench' --file data.lp
//                    [--connections 4] [--batch-lines 10000] [--header 'Name: value']...
//
// Prints one JSON object: points, batches, bytes, seconds, points_per_s, retries.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tools/http_client.h"

namespace burnrate {
namespace {

struct Args {
  std::string url = "http://127.0.0.1:8086";
  std::string path = "/write?db=bench";
  std::string file;
  int connections = 4;
  size_t batch_lines = 10'000;
  HttpHeaders headers = {{"Content-Type", "text/plain; charset=utf-8"}};
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "burnrate-loadgen: %s\nusage: burnrate-loadgen --file FILE [--url URL] [--path "
               "TARGET] [--connections N] [--batch-lines N] [--header 'Name: value']...\n",
               why);
  std::exit(2);
}

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) Usage("every option takes a value");
    const char* value = argv[++i];
    if (flag == "--url") {
      a.url = value;
    } else if (flag == "--path") {
      a.path = value;
    } else if (flag == "--file") {
      a.file = value;
    } else if (flag == "--connections") {
      a.connections = std::atoi(value);
    } else if (flag == "--batch-lines") {
      a.batch_lines = static_cast<size_t>(std::atoll(value));
    } else if (flag == "--header") {
      const std::string_view h = value;
      const size_t colon = h.find(':');
      if (colon == std::string_view::npos) Usage("--header takes 'Name: value'");
      std::string_view v = h.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      a.headers.emplace_back(std::string(h.substr(0, colon)), std::string(v));
    } else {
      Usage("unknown option");
    }
  }
  if (a.file.empty()) Usage("--file is required");
  if (a.connections < 1 || a.batch_lines < 1) Usage("--connections and --batch-lines must be >= 1");
  return a;
}

struct Batch {
  std::string_view body;
  size_t lines = 0;
};

// Cuts the mapped file into bodies of `lines_per_batch` whole lines (the last may be shorter).
std::vector<Batch> CutBatches(std::string_view data, size_t lines_per_batch) {
  std::vector<Batch> batches;
  size_t begin = 0;
  while (begin < data.size()) {
    size_t pos = begin;
    size_t lines = 0;
    while (lines < lines_per_batch && pos < data.size()) {
      const void* nl = std::memchr(data.data() + pos, '\n', data.size() - pos);
      pos = nl == nullptr ? data.size()
                          : static_cast<size_t>(static_cast<const char*>(nl) - data.data()) + 1;
      ++lines;
    }
    batches.push_back({data.substr(begin, pos - begin), lines});
    begin = pos;
  }
  return batches;
}

int Main(int argc, char** argv) {
  const Args args = ParseArgs(argc, argv);
  auto url = ParseHttpUrl(args.url);
  if (!url.ok()) Usage(std::string(url.status().message()).c_str());

  const int fd = open(args.file.c_str(), O_RDONLY);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    std::fprintf(stderr, "burnrate-loadgen: cannot open %s: %s\n", args.file.c_str(),
                 std::strerror(errno));
    return 1;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* map = size == 0 ? nullptr : mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    std::fprintf(stderr, "burnrate-loadgen: mmap %s: %s\n", args.file.c_str(),
                 std::strerror(errno));
    return 1;
  }
  const std::string_view data(static_cast<const char*>(map), size);
  // Touch every page first so that reading the file is not part of the measured time.
  (void)madvise(map, size, MADV_WILLNEED);
  uint64_t checksum = 0;
  for (size_t i = 0; i < size; i += 4096) checksum += static_cast<unsigned char>(data[i]);
  const std::vector<Batch> batches = CutBatches(data, args.batch_lines);

  std::atomic<size_t> next{0};
  std::atomic<uint64_t> points{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::string error;

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < args.connections; ++c) {
    threads.emplace_back([&] {
      HttpClient client(*url, absl::Seconds(600));
      for (size_t i = next++; i < batches.size() && !failed; i = next++) {
        for (;;) {
          auto r = client.Post(args.path, batches[i].body, args.headers);
          if (r.ok() && r->status >= 200 && r->status < 300) {
            points += batches[i].lines;
            break;
          }
          if (r.ok() && (r->status == 429 || r->status == 503)) {
            ++retries;
            const int wait = std::max(1, std::atoi(r->Header("Retry-After").c_str()));
            std::this_thread::sleep_for(std::chrono::seconds(wait));
            continue;
          }
          std::lock_guard<std::mutex> lock(error_mu);
          error = r.ok() ? "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 500)
                         : std::string(r.status().message());
          failed = true;
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed) {
    std::fprintf(stderr, "burnrate-loadgen: write failed: %s\n", error.c_str());
    return 1;
  }
  std::printf(
      "{\"points\": %llu, \"batches\": %zu, \"bytes\": %zu, \"seconds\": %.3f, "
      "\"points_per_s\": %.0f, \"retries\": %llu, \"connections\": %d, \"batch_lines\": %zu, "
      "\"page_sum\": %llu}\n",
      static_cast<unsigned long long>(points.load()), batches.size(), size, seconds,
      static_cast<double>(points.load()) / seconds, static_cast<unsigned long long>(retries.load()),
      args.connections, args.batch_lines, static_cast<unsigned long long>(checksum));
  munmap(map, size);
  close(fd);
  return 0;
}

}  // namespace
}  // namespace burnrate

int main(int argc, char** argv) { return burnrate::Main(argc, argv); }
