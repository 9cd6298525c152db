#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace burnrate {

struct WriteCommandOptions {
  // A line-protocol file, or "-" for standard input.
  std::string input = "-";
  std::string url = "http://127.0.0.1:8086";
  std::string database = "burnrate";
  // Sent as `Authorization: Token <token>`; empty sends none.
  std::string token;
  // Timestamp unit of the input: ns, us, ms or s.
  std::string precision = "ns";
  // Lines per request; InfluxDB's documentation advises 5,000 to 10,000.
  size_t batch_lines = 5000;
  // Requests in flight at once, each on its own connection. Batches of the input may land
  // out of order when above 1, which matters only if the input writes one point twice.
  int connections = 1;
  // Times a batch answered 429 or 503 is sent again, after the server's Retry-After.
  int max_retries = 10;
};

struct WriteSummary {
  uint64_t lines = 0;           // point lines read (blank and comment lines not counted)
  uint64_t points_written = 0;  // acknowledged by the server
  uint64_t lines_rejected = 0;  // invalid, or in a batch the server refused whole
  uint64_t batches = 0;
  uint64_t bytes = 0;
  double seconds = 0;
};

// Splits the input into line-protocol lines (a quoted string value may hold newlines),
// and POSTs them in batches to <url>/write?db=...&precision=...&accept_partial=true, so the
// valid lines of a batch land even when some are invalid. Shows progress on stderr when it
// is a terminal; prints each rejected batch's first error (with its line number in the
// input) and a summary to `out`. Returns the summary, or an error when the input cannot be
// read, the server cannot be reached, or it refuses a batch for a reason other than its
// lines (401, 403, 404 ...): then nothing after that batch is sent.
[[nodiscard]] absl::StatusOr<WriteSummary> RunWrite(const WriteCommandOptions& options,
                                                    std::FILE* out);

// Finds where line-protocol lines end, in input given piece by piece: a newline inside a
// quoted field value does not end a line. Not thread-safe; callers synchronise.
class LineSplitter {
 public:
  // Consumes `data` up to and including the newline that ends the current line and returns
  // how many bytes it consumed; *line_ended tells whether that newline was found (if not,
  // all of data was consumed and the line goes on in the next piece). Once a line ended,
  // line_is_point() and line_newlines() describe it until the next call.
  size_t Consume(std::string_view data, bool* line_ended);

  // Whether the line holds a point: it is neither blank nor a comment.
  bool line_is_point() const { return is_point_; }
  // Newlines the line spans, its own included (more than 1 with multi-line strings).
  size_t line_newlines() const { return newlines_; }
  // Whether bytes of an unfinished line were consumed (input ending without a newline).
  bool in_line() const { return state_ != State::kStart || newlines_pending_ > 0; }
  // Ends an unfinished last line; returns whether it held a point.
  bool FinishLastLine();

 private:
  enum class State : uint8_t { kStart, kComment, kSeries, kFields, kString, kTail };
  void EndLine();

  State state_ = State::kStart;
  bool escape_ = false;
  bool after_equals_ = false;
  bool field_started_ = false;
  bool has_point_ = false;
  size_t newlines_pending_ = 0;
  bool is_point_ = false;
  size_t newlines_ = 0;
};

}  // namespace burnrate
