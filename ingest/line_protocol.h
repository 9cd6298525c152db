#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/types.h"
#include "burnrate/write_batch.h"

// InfluxDB line protocol, as the InfluxDB 1.x/2.x servers and the reference decoder
// (influxdata/line-protocol) accept it, checked against the conformance corpus
// influxdata/line-protocol-corpus. Where those disagree, tests/ingest/
// line_protocol_divergences.txt records what we do and why.

namespace burnrate {

// The unit of the timestamps written in a body.
enum class Precision : uint8_t {
  kNanosecond,
  kMicrosecond,
  kMillisecond,
  kSecond,
  kMinute,
  kHour,
};

// Parses the precision names of the InfluxDB write endpoints: "" / "n" / "ns", "u" / "us",
// "ms", "s", "m", "h". kInvalidArgument for anything else. Which of these an endpoint admits
// (1.x /write refuses "us", 2.x refuses "n", "m" and "h") is the server's decision.
[[nodiscard]] absl::StatusOr<Precision> ParsePrecision(std::string_view name);

// Nanoseconds in one unit of `precision`.
int64_t NanosecondsPer(Precision precision);

// What ParseLineProtocolInto does with a body that has invalid lines.
enum class LineErrorPolicy : uint8_t {
  // Nothing of the body is applied (InfluxDB 2.x before 2.5, and our Db::Write semantics).
  kRejectBatch,
  // Every valid line is applied and every invalid one reported (InfluxDB 1.x "partial write").
  kSkipInvalidLines,
};

struct LineProtocolOptions {
  Precision precision = Precision::kNanosecond;
  // The time of points written without a timestamp, in ns; it is floored to `precision`
  // first, as InfluxDB does.
  TimestampNs default_time = 0;
  // Limits on one point: its bytes (from the start of its line to its end of line, a quoted
  // string's newlines included) and its number of fields.
  size_t max_line_bytes = 256 * 1024;
  size_t max_fields = 1000;
  // Used by ParseLineProtocolInto only.
  LineErrorPolicy on_error = LineErrorPolicy::kRejectBatch;
  // How many errors ParseReport keeps (all are counted; the first is always kept).
  size_t max_reported_errors = 100;
};

// One invalid line.
struct LineProtocolError {
  static constexpr size_t kMaxTextBytes = 200;

  size_t line = 0;    // 1-based
  size_t column = 0;  // 1-based, in bytes
  std::string reason;
  // The raw bytes of the physical line the error is on, cut to kMaxTextBytes; it may hold any
  // byte, so escape it before putting it into JSON or a log.
  std::string text;

  // "line N, column C: reason".
  std::string ToString() const;
};

struct LineTag {
  std::string_view key;    // unescaped
  std::string_view value;  // unescaped, never empty
  size_t key_offset = 0;   // byte offset of the key within the body, for error positions
};

// A field as written. `type` is kFloat, kInteger, kUnsigned, kBoolean or kString (never
// kMoney: which fields hold money is decided when the point is stored).
struct LineField {
  std::string_view key;  // unescaped
  FieldType type = FieldType::kFloat;
  // kFloat, kInteger, kUnsigned, kBoolean: the value text as written, without the i/u
  // suffix (so a money field can be parsed exactly from its decimal text); kString: the
  // unescaped value.
  std::string_view text;
  // The parsed value (unused for kString), as FieldValue::bits(): double bits, int64,
  // uint64, 0/1.
  uint64_t bits = 0;
  // Byte offsets of the key and the value within the body, for error positions.
  size_t key_offset = 0;
  size_t value_offset = 0;

  double as_float() const {
    double d;
    __builtin_memcpy(&d, &bits, sizeof d);
    return d;
  }
  int64_t as_integer() const { return static_cast<int64_t>(bits); }
  uint64_t as_unsigned() const { return bits; }
  bool as_boolean() const { return bits != 0; }
};

// One point. The views point into the body or into the parser, and are valid until the
// parser's next call to Next.
struct LinePoint {
  std::string_view measurement;  // unescaped, never empty
  // In the order written; keys are unique (a repeated tag key is an error).
  std::span<const LineTag> tags;
  // In the order written. A key may repeat, as the reference decoder reports it;
  // ParseLineProtocolInto keeps the last value, as InfluxDB stores it.
  std::span<const LineField> fields;
  TimestampNs time_ns = 0;
  bool has_timestamp = false;
  // The measurement and tag set exactly as written: equal text means the same series.
  std::string_view series_text;
  size_t line = 0;    // 1-based line of the point's first byte
  size_t offset = 0;  // byte offset of that line within the body
};

// Splits a line-protocol body into points, one line at a time.
//
// Blank lines and comment lines ('#' first, after optional spaces) give no points; "\n",
// "\r\n" and a final "\r" end lines; a quoted string value may span lines. Names are kept as
// views into the body unless they contain escapes, which are resolved into a buffer of at
// most max_line_bytes owned by the parser. Each invalid line is reported once, and parsing
// resumes at the next newline.
//
// `body` must outlive the parser. Not thread-safe; one parser serves one body on one thread.
class LineProtocolParser {
 public:
  LineProtocolParser(std::string_view body, const LineProtocolOptions& options);
  ~LineProtocolParser();
  LineProtocolParser(const LineProtocolParser&) = delete;
  LineProtocolParser& operator=(const LineProtocolParser&) = delete;

  enum class Step : uint8_t {
    kPoint,  // *point holds the next point
    kError,  // *error describes the first problem of an invalid line, which is skipped
    kEnd,    // the body is exhausted
  };
  [[nodiscard]] Step Next(LinePoint* point, LineProtocolError* error);

  // An error at byte `offset` of the point Next returned last, for checks the caller makes
  // on it (such as money values); line, column and text are filled in.
  LineProtocolError ErrorAt(size_t offset, std::string reason) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// What ParseLineProtocolInto did.
struct ParseReport {
  size_t points_added = 0;
  size_t invalid_lines = 0;
  // The first options.max_reported_errors errors, in body order.
  std::vector<LineProtocolError> errors;
};

// Parses `body` and appends its points to `batch`.
//
// Beyond the syntax, a line is invalid when it would make the batch fail WriteBatch::Validate
// or Db::Write: a money field (`cost`, `*_cost`) that is not a decimal number or an `i`
// integer in the Money range, a tag or field key "time", a name or string value over 64 KiB,
// or one field key given twice with different types (given twice with one type, the last
// value wins, as in InfluxDB). Money fields are parsed from their decimal text, never
// through a double.
//
// Returns OK when every line is valid. Otherwise kInvalidArgument whose message is the first
// error as "line N, column C: reason" (plus how many more lines are invalid); with
// kRejectBatch the batch is then left exactly as it was, with kSkipInvalidLines the valid
// points have been appended. `report` may be null.
[[nodiscard]] absl::Status ParseLineProtocolInto(std::string_view body,
                                                 const LineProtocolOptions& options,
                                                 WriteBatch* batch, ParseReport* report);

}  // namespace burnrate
