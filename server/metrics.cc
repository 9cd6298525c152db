#include "server/metrics.h"

#include <cstdio>

#include "base/str_cat.h"

namespace burnrate {
namespace {

void Header(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void Counter(std::string* out, std::string_view name, std::string_view help, uint64_t v) {
  Header(out, name, "counter", help);
  StrAppend(out, name, " ", v, "\n");
}

template <typename T>
void Gauge(std::string* out, std::string_view name, std::string_view help, T v) {
  Header(out, name, "gauge", help);
  StrAppend(out, name, " ", v, "\n");
}

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

void LatencyHistogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kBoundsSeconds.size() && seconds > kBoundsSeconds[i]) ++i;
  if (i < kBoundsSeconds.size()) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<uint64_t>(seconds > 0 ? seconds * 1e9 : 0),
                       std::memory_order_relaxed);
}

void LatencyHistogram::Render(std::string* out, std::string_view name,
                              std::string_view help) const {
  Header(out, name, "histogram", help);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBoundsSeconds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    StrAppend(out, name, "_bucket{le=\"", FormatSeconds(kBoundsSeconds[i]), "\"} ", cumulative,
              "\n");
  }
  const uint64_t count = count_.load(std::memory_order_relaxed);
  StrAppend(out, name, "_bucket{le=\"+Inf\"} ", count, "\n");
  StrAppend(out, name, "_sum ",
            FormatSeconds(static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9),
            "\n");
  StrAppend(out, name, "_count ", count, "\n");
}

void ServerMetrics::CountRequest(std::string_view endpoint, int status) {
  absl::MutexLock lock(&mu_);
  ++requests_[std::make_pair(std::string(endpoint), status)];
}

uint64_t ServerMetrics::Requests(std::string_view endpoint, int status) const {
  absl::MutexLock lock(&mu_);
  auto it = requests_.find(std::make_pair(std::string(endpoint), status));
  return it == requests_.end() ? 0 : it->second;
}

std::string ServerMetrics::Render(const DbStats& db) const {
  std::string out;
  out.reserve(8192);
  Header(&out, "burnrate_http_requests_total", "counter",
         "HTTP requests answered, by endpoint and status code.");
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, n] : requests_) {
      StrAppend(&out, "burnrate_http_requests_total{endpoint=\"", key.first, "\",code=\"",
                key.second, "\"} ", n, "\n");
    }
  }
  Gauge(&out, "burnrate_http_open_connections", "Client connections open now.",
        connections_open.load());
  Counter(&out, "burnrate_http_connections_total", "Client connections accepted.",
          connections_total.load());
  Counter(&out, "burnrate_http_connections_rejected_total",
          "Connections refused with 503 because max-connections were open.",
          connections_rejected.load());
  Counter(&out, "burnrate_http_connections_timed_out_total",
          "Connections closed by the header, idle or body timeout.", connections_timed_out.load());
  Counter(&out, "burnrate_http_throttled_requests_total",
          "Requests answered 429 or 503 because of back-pressure.", throttled_requests.load());
  Counter(&out, "burnrate_ingest_points_total", "Points acknowledged through the write endpoints.",
          write_points.load());
  Counter(&out, "burnrate_ingest_bytes_total",
          "Write request body bytes received (as sent, compressed or not).", write_bytes.load());
  Counter(&out, "burnrate_ingest_rejected_lines_total",
          "Invalid line-protocol lines in write requests.", write_rejected_lines.load());
  Gauge(&out, "burnrate_ingest_inflight_bytes",
        "Bytes of write requests being received, queued or applied.", inflight_write_bytes.load());
  write_latency.Render(&out, "burnrate_write_duration_seconds",
                       "Time from a write request's last body byte to its response.");
  query_latency.Render(&out, "burnrate_query_duration_seconds",
                       "Time the query handler took per /query request.");

  Counter(&out, "burnrate_engine_points_written_total", "Points applied by Db::Write.",
          db.points_written);
  Counter(&out, "burnrate_engine_batches_written_total", "Batches applied by Db::Write.",
          db.batches_written);
  Counter(&out, "burnrate_wal_bytes_written_total", "Bytes appended to the write-ahead log.",
          db.wal_bytes_written);
  Counter(&out, "burnrate_wal_syncs_total", "fsyncs of the write-ahead log.", db.wal_syncs);
  Gauge(&out, "burnrate_memtable_bytes", "Bytes held in the memtable.", db.memtable_bytes);
  Gauge(&out, "burnrate_memtable_points", "Points held in the memtable.", db.memtable_points);
  Counter(&out, "burnrate_flushes_total", "Memtable flushes to segment files.", db.flushes);
  Counter(&out, "burnrate_flush_bytes_written_total", "Bytes written by flushes.",
          db.flush_bytes_written);
  Gauge(&out, "burnrate_segment_files", "Live segment files.", db.segment_files);
  Gauge(&out, "burnrate_segment_bytes", "Bytes of live segment files.", db.segment_bytes);
  Gauge(&out, "burnrate_segment_rows", "Rows in live segment files.", db.segment_rows);
  Gauge(&out, "burnrate_segment_max_files_per_partition",
        "The most segment files any one partition has.", db.max_files_per_partition);
  Gauge(&out, "burnrate_partitions", "Time partitions with data.", db.partitions);
  Counter(&out, "burnrate_compactions_total", "Compactions run.", db.compactions);
  Counter(&out, "burnrate_compaction_bytes_read_total", "Bytes read by compactions.",
          db.compaction_bytes_read);
  Counter(&out, "burnrate_compaction_bytes_written_total", "Bytes written by compactions.",
          db.compaction_bytes_written);
  Gauge(&out, "burnrate_series", "Series in the catalog.", db.series);
  Gauge(&out, "burnrate_databases", "Databases.", db.databases);
  Gauge(&out, "burnrate_catalog_bytes", "Approximate heap bytes of the catalog.", db.catalog_bytes);
  Gauge(&out, "burnrate_sources", "Replace-by-source imports held.", db.sources);
  Counter(&out, "burnrate_retention_partitions_dropped_total", "Partitions dropped by retention.",
          db.partitions_dropped_by_retention);
  return out;
}

}  // namespace burnrate
