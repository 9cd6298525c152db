#pragma once

// Splits a WHERE condition into what the storage layer can use before reading rows (a time
// range and per-series tag matchers) and what must still be evaluated.
//
// What is extracted: the condition is read as an AND of conjuncts (nested ANDs and
// parentheses flatten). Each conjunct is one of
//   - a time bound: `time op T` or `T op time` with op one of = < <= > >=, where T is built
//     from now(), integer nanoseconds, durations (an offset from the epoch, as Grafana's
//     `1700000000000ms`), time literals ('2026-11-01T00:00:00Z'; without an offset they are
//     read in the statement's tz()), and + - * / of those. Bounds intersect; strict bounds
//     become inclusive ones (`time > T` is `time >= T + 1`).
//   - a tag matcher: `tag = 'v'`, `tag != 'v'` (also `<>`, and `'v' = tag`), `tag =~ /re/`,
//     `tag !~ /re/`, where the name is a tag by its `::tag` hint or by WhereContext::is_tag.
//   - anything else, which stays as a residual: in series_condition when it reads no field
//     (only tags and literals), so it can run once per series; otherwise in row_condition.
//
// What is not extracted (stays residual): OR of tag conditions (`host = 'a' OR host = 'b'`,
// even on one key), comparisons of tags with non-strings or with < and >, conditions on
// fields, and NOT-like shapes. A condition mentioning `time` anywhere but a top-level time
// bound is an error (InfluxDB also rejects time conditions under OR), as are `time != T`,
// regex matches on time, and time values that are not constant.

#include <functional>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "burnrate/scan.h"
#include "burnrate/types.h"
#include "query/ast.h"

namespace burnrate {

// What SplitWhere needs to know beyond the condition. Thread-compatible.
struct WhereContext {
  TimestampNs now = 0;                      // the value of now(), fixed once per query
  absl::TimeZone tz = absl::UTCTimeZone();  // the statement's tz(), for zone-less literals
  // Whether an unhinted name is a tag key of the measurement(s) read. Null: no name is.
  std::function<bool(std::string_view)> is_tag;
};

// The parts of a WHERE condition. Thread-compatible.
struct WhereSplit {
  // Inclusive bounds. min_time > max_time means no row can match.
  TimestampNs min_time = std::numeric_limits<TimestampNs>::min();
  TimestampNs max_time = std::numeric_limits<TimestampNs>::max();
  // All must hold; for ScanRequest::tag_matchers.
  std::vector<TagMatcher> tag_matchers;
  // Residual conjuncts that read no field: evaluate once per series (series_filter).
  std::optional<Expr> series_condition;
  // Residual conjuncts that read fields: evaluate per row.
  std::optional<Expr> row_condition;

  bool EmptyTimeRange() const { return min_time > max_time; }
};

// Splits `condition` (null: no WHERE clause) as described above. kInvalidArgument, naming
// the line and char, for an unusable time condition or a time value out of range.
[[nodiscard]] absl::StatusOr<WhereSplit> SplitWhere(const Expr* condition, const WhereContext& ctx);

// The instant a time expression denotes (see above for what it may contain).
// kInvalidArgument naming the position for anything else, overflow or division by zero.
[[nodiscard]] absl::StatusOr<TimestampNs> EvaluateTimeExpr(const Expr& e, const WhereContext& ctx);

}  // namespace burnrate
