#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "burnrate/db.h"
#include "burnrate/query_result.h"
#include "burnrate/types.h"

namespace burnrate {

// What one query run shares between its statements and threads: the Db, the options, the
// fixed value of now(), the deadline and the memory in use.
//
// The Db and options are borrowed and must outlive the context. Thread-safe: scan threads
// call CheckDeadline and Charge concurrently.
class QueryContext {
 public:
  QueryContext(Db* db, const QueryOptions& options, TimestampNs now)
      : db_(db),
        options_(options),
        now_(now),
        deadline_(options.timeout == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                                              : absl::Now() + options.timeout) {}

  Db* db() const { return db_; }
  const QueryOptions& options() const { return options_; }
  TimestampNs now() const { return now_; }
  int threads() const {
    return options_.threads < 1 ? 1 : (options_.threads > 2 ? 2 : options_.threads);
  }

  // kDeadlineExceeded once the query has run longer than options().timeout.
  [[nodiscard]] absl::Status CheckDeadline() const {
    if (deadline_ == absl::InfiniteFuture() || absl::Now() <= deadline_) return absl::OkStatus();
    return absl::DeadlineExceededError(
        "query-timeout limit exceeded: the query ran longer than its time limit of " +
        absl::FormatDuration(options_.timeout));
  }

  // Adds delta bytes (negative to release) to the memory in use; kResourceExhausted when
  // that passes options().max_memory_bytes. A failed charge stays counted: the caller is
  // about to abandon the statement and release everything.
  [[nodiscard]] absl::Status Charge(int64_t delta) {
    const int64_t used = used_.fetch_add(delta, std::memory_order_relaxed) + delta;
    if (options_.max_memory_bytes == 0 || delta <= 0 ||
        used <= static_cast<int64_t>(options_.max_memory_bytes)) {
      return absl::OkStatus();
    }
    return absl::ResourceExhaustedError(
        "query memory limit exceeded: the statement needs more than " +
        std::to_string(options_.max_memory_bytes) +
        " bytes of aggregation state and buffered rows (narrow the time range, group by "
        "fewer tags, or raise the limit)");
  }
  int64_t memory_used() const { return used_.load(std::memory_order_relaxed); }
  void ResetMemory() { used_.store(0, std::memory_order_relaxed); }

 private:
  Db* const db_;
  const QueryOptions& options_;
  const TimestampNs now_;
  const absl::Time deadline_;
  std::atomic<int64_t> used_{0};
};

// Tracks one component's share of the context's memory and releases it when destroyed.
// Not thread-safe; one thread owns it.
class MemoryCharge {
 public:
  explicit MemoryCharge(QueryContext* ctx) : ctx_(ctx) {}
  ~MemoryCharge() { (void)ctx_->Charge(-static_cast<int64_t>(bytes_)); }
  MemoryCharge(const MemoryCharge&) = delete;
  MemoryCharge& operator=(const MemoryCharge&) = delete;

  // Sets the component's current size.
  [[nodiscard]] absl::Status Set(size_t bytes) {
    const int64_t delta = static_cast<int64_t>(bytes) - static_cast<int64_t>(bytes_);
    bytes_ = bytes;
    return ctx_->Charge(delta);
  }

 private:
  QueryContext* ctx_;
  size_t bytes_ = 0;
};

}  // namespace burnrate
