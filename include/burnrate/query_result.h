#pragma once

// The result model of the embedded query API (burnrate/query.h): InfluxDB 1.x's
// results -> series -> rows shape, the options of a query, and the JSON and CSV writers
// that print results as InfluxDB's /query does. docs/query_execution.md describes them.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "burnrate/types.h"

namespace burnrate {

// How result times are written: RFC 3339 with nanoseconds (InfluxDB's default), or an
// integer count of a unit since the Unix epoch (the `epoch` parameter of /query).
enum class EpochPrecision : uint8_t {
  kRfc3339,
  kNanoseconds,
  kMicroseconds,
  kMilliseconds,
  kSeconds,
  kMinutes,
  kHours,
};

// Parses the `epoch` parameter: "" (RFC 3339), "ns" or "n", "u" or "µ", "ms", "s", "m",
// "h". kInvalidArgument for anything else.
[[nodiscard]] absl::StatusOr<EpochPrecision> ParseEpochPrecision(std::string_view text);

// Nanoseconds per unit of an epoch precision (1 for kNanoseconds and kRfc3339).
int64_t EpochDivisor(EpochPrecision epoch);

// What a statement needs on a database, for QueryOptions::authorize.
enum class QueryAccess : uint8_t {
  kRead,   // SELECT, SHOW on a database
  kWrite,  // DELETE, DROP SERIES, DROP MEASUREMENT
  kAdmin,  // CREATE DATABASE, DROP DATABASE, SHOW DATABASES
};

struct QueryOptions {
  // The database of statements that name none (the `db` parameter of /query).
  std::string database;
  // The value of now(); the wall clock when unset. Fixed once per query.
  std::optional<TimestampNs> now;
  // How the JSON and CSV writers print times.
  EpochPrecision epoch = EpochPrecision::kRfc3339;
  // Bytes of aggregation state and buffered rows one statement may hold; beyond it the
  // statement fails with kResourceExhausted. 0: no limit.
  size_t max_memory_bytes = size_t{1} << 30;
  // Wall time one query may take; beyond it the running statement fails with
  // kDeadlineExceeded. Infinite: no limit.
  absl::Duration timeout = absl::InfiniteDuration();
  // Rows one statement may return; the rest is cut off and the result marked partial, as
  // InfluxDB's max-row-limit does. 0: no limit.
  size_t max_rows = 1'000'000;
  // Threads a large scan may use (1 or 2 used today). Results do not depend on it.
  int threads = 2;
  // Answer eligible aggregates from the engine's 1h/1d rollups (exact, and much faster).
  // False forces raw scans: for checks and benchmarks.
  bool use_rollups = true;
  // Refuse statements that change anything (CREATE, DROP, DELETE) with kPermissionDenied,
  // as InfluxDB does for GET /query.
  bool read_only = false;
  // Called before any statement runs, for each database a statement touches ("" for
  // SHOW DATABASES and the like); a non-OK status fails the whole query with it. Null:
  // everything is allowed.
  std::function<absl::Status(QueryAccess access, std::string_view database)> authorize;
};

// One cell of a result. Money is an exact decimal (a count of 10^-10 units in 128 bits),
// never a double. Times are nanoseconds since the epoch with the UTC offset (seconds) of
// the statement's tz() at that instant, which RFC 3339 output shows.
// A value type. Thread-compatible.
class ResultValue {
 public:
  enum class Kind : uint8_t {
    kNull,
    kBoolean,
    kInteger,
    kUnsigned,
    kFloat,
    kString,
    kDecimal,
    kTime
  };

  ResultValue() = default;
  static ResultValue Boolean(bool v);
  static ResultValue Integer(int64_t v);
  static ResultValue Unsigned(uint64_t v);
  static ResultValue Float(double v);
  static ResultValue String(std::string v);
  // An exact decimal of `units` * 10^-10 (Money's scale).
  static ResultValue Decimal(__int128 units);
  static ResultValue Time(TimestampNs ns, int32_t utc_offset_s = 0);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool boolean() const { return i_ != 0; }
  int64_t integer() const { return static_cast<int64_t>(i_); }
  uint64_t unsigned_value() const { return static_cast<uint64_t>(i_); }
  double float_value() const { return f_; }
  const std::string& string() const { return s_; }
  __int128 decimal_units() const { return i_; }
  TimestampNs time() const { return static_cast<TimestampNs>(i_); }
  int32_t utc_offset_s() const { return offset_s_; }

  // The value as a double (numbers, decimals, booleans as 0/1); 0 for the others.
  double ToDouble() const;
  // Exact decimal text of a kDecimal ("12.5", "-0.0000000001"); the shortest round-trip
  // text of a float; the JSON-free text of the other kinds ("null" for null).
  std::string ToString() const;

  friend bool operator==(const ResultValue& a, const ResultValue& b);

 private:
  Kind kind_ = Kind::kNull;
  int32_t offset_s_ = 0;
  __int128 i_ = 0;  // bool, integer, unsigned bits, decimal units, time
  double f_ = 0;
  std::string s_;
};

// One series of a statement's result: InfluxDB's `{name, tags, columns, values}`.
struct ResultSeries {
  std::string name;
  std::vector<Tag> tags;  // sorted by key; values may be empty (GROUP BY of a missing tag)
  std::vector<std::string> columns;
  std::vector<std::vector<ResultValue>> values;  // rows, each columns.size() long
  bool partial = false;                          // rows were cut off (max_rows)
  friend bool operator==(const ResultSeries&, const ResultSeries&) = default;
};

struct ResultMessage {
  std::string level;  // "info" or "warning"
  std::string text;
  friend bool operator==(const ResultMessage&, const ResultMessage&) = default;
};

// The result of one statement.
struct StatementResult {
  int statement_id = 0;
  std::vector<ResultSeries> series;
  std::vector<ResultMessage> messages;
  bool partial = false;
  // OK, or why the statement failed (its message is the JSON `error`). Codes:
  // kInvalidArgument (bad statement: what and where), kNotFound (database not found),
  // kResourceExhausted (memory limit), kDeadlineExceeded (time limit), kDataLoss.
  absl::Status status;
};

// The result of a query: one StatementResult per statement run, in order. As InfluxDB
// does, statements after a failing one are not run and have no result.
// A value type. Thread-compatible.
struct QueryResult {
  std::vector<StatementResult> results;
  // How the writers print times (QueryOptions::epoch).
  EpochPrecision epoch = EpochPrecision::kRfc3339;

  // The first failing statement's status, or OK.
  absl::Status status() const;
};

struct ResultFormat {
  bool pretty = false;  // indented JSON (4 spaces), as InfluxDB's pretty=true
};

// InfluxDB 1.x's /query JSON: {"results":[{"statement_id":0,"series":[...]}]} followed
// by a newline, times per result.epoch, money as exact decimal numbers, floats as Go
// prints them (shortest round-trip text), NaN and infinities as null.
std::string QueryResultToJson(const QueryResult& result, const ResultFormat& format = {});

// InfluxDB's chunked JSON (chunked=true): one document per line, each holding one series
// of at most chunk_size rows; a series cut into several chunks has "partial":true on
// every chunk but its last. A statement without series is one document.
std::string QueryResultToJsonChunked(const QueryResult& result, size_t chunk_size,
                                     const ResultFormat& format = {});

// InfluxDB's CSV (Accept: application/csv): a header `name,tags,<columns>` per statement
// (and again when the columns change), tags as `k=v,k=v`, times as integers (ns unless
// result.epoch says otherwise), a blank line between statements.
std::string QueryResultToCsv(const QueryResult& result);

// A whole-query error (parse error, refused statement) as InfluxDB writes it:
// {"error":"..."} and a newline.
std::string QueryErrorToJson(const absl::Status& status, const ResultFormat& format = {});

}  // namespace burnrate
