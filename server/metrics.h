#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "burnrate/db.h"

namespace burnrate {

// A Prometheus histogram of durations with fixed buckets (0.5 ms to 10 s). Thread-safe and
// lock-free.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBoundsSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  void Observe(double seconds);
  // Appends HELP, TYPE and the _bucket/_sum/_count lines of `name`.
  void Render(std::string* out, std::string_view name, std::string_view help) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBoundsSeconds.size()> buckets_{};  // not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};
};

// The server's own counters, shown by /metrics beside the engine's DbStats.
// Thread-safe: counters are atomics, the per-endpoint table has its own mutex.
class ServerMetrics {
 public:
  std::atomic<int64_t> connections_open{0};
  std::atomic<uint64_t> connections_total{0};
  // Refused at accept because max_connections were open.
  std::atomic<uint64_t> connections_rejected{0};
  // Closed by the header, idle or body timeout.
  std::atomic<uint64_t> connections_timed_out{0};
  std::atomic<uint64_t> write_points{0};
  std::atomic<uint64_t> write_bytes{0};  // request bodies as received (compressed or not)
  std::atomic<uint64_t> write_rejected_lines{0};
  // Requests answered 429 or 503 because of back-pressure.
  std::atomic<uint64_t> throttled_requests{0};
  std::atomic<int64_t> inflight_write_bytes{0};
  LatencyHistogram write_latency;  // from the end of the body to the response, per write
  LatencyHistogram query_latency;  // the query handler's time, per /query

  void CountRequest(std::string_view endpoint, int status);
  uint64_t Requests(std::string_view endpoint, int status) const;

  // The Prometheus text exposition (version 0.0.4) of these counters and of `db`.
  std::string Render(const DbStats& db) const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t, std::less<>> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace burnrate
