#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "burnrate/types.h"

namespace burnrate {

// A set of points for one database, applied atomically by Db::Write: either every point is
// stored or none is.
//
// Building a batch never fails; problems (an unparsable decimal, a float given for a money
// field, an empty name ...) are recorded and reported by Validate() and Db::Write as
// kInvalidArgument naming the point's index (0-based, in insertion order) and the reason.
//
// Fields named `cost` or `*_cost` hold Money. Give them with AddMoney, AddDecimal (exact
// decimal text) or AddInteger (whole units); AddFloat on such a field is an error, because
// a double cannot carry an exact amount.
//
// Not thread-safe; callers synchronise.
class WriteBatch {
 public:
  // Handle to a series (measurement + tag set) within this batch.
  using SeriesRef = uint32_t;

  explicit WriteBatch(std::string_view database);

  const std::string& database() const { return database_; }

  // Replace-by-source key (see DESIGN.md); empty when the batch carries none.
  void set_source(std::string_view key) { source_ = std::string(key); }
  const std::string& source() const { return source_; }

  // Registers a series; tags may come in any order. Adding the same series twice returns
  // the same handle.
  SeriesRef AddSeries(std::string_view measurement, std::span<const Tag> tags);

  // Starts a point of `series` at `time_ns`; the Add* field calls that follow belong to it.
  void AddPoint(SeriesRef series, TimestampNs time_ns);
  void AddFloat(std::string_view field, double v);
  void AddInteger(std::string_view field, int64_t v);
  void AddUnsigned(std::string_view field, uint64_t v);
  void AddBoolean(std::string_view field, bool v);
  void AddString(std::string_view field, std::string_view v);
  void AddMoney(std::string_view field, Money v);
  // Decimal text: Money for money fields, a float for the others.
  void AddDecimal(std::string_view field, std::string_view text);
  void AddField(std::string_view field, const FieldValue& v);

  size_t point_count() const { return points_.size(); }
  size_t series_count() const { return series_.size(); }
  bool empty() const { return points_.empty(); }
  // Approximate bytes held, for limits and memory accounting.
  size_t ApproximateBytes() const;

  // OK, or kInvalidArgument "point N: reason" for the first bad point.
  [[nodiscard]] absl::Status Validate() const;

  void Clear();

  // Read access, used by the engine and by tests.
  struct Series {
    std::string measurement;
    std::vector<Tag> tags;  // sorted by key, keys unique
  };
  struct Field {
    uint32_t name;  // index into field_names()
    FieldType type;
    uint64_t bits;     // as FieldValue::bits()
    uint32_t str = 0;  // index into strings() for kString
  };
  struct Point {
    SeriesRef series;
    TimestampNs time_ns;
    uint32_t field_begin;  // [field_begin, field_end) into fields()
    uint32_t field_end;
  };
  const std::vector<Series>& series() const { return series_; }
  const std::vector<Point>& points() const { return points_; }
  const std::vector<Field>& fields() const { return fields_; }
  const std::vector<std::string>& field_names() const { return field_names_; }
  const std::vector<std::string>& strings() const { return strings_; }
  FieldValue ValueOf(const Field& f) const;

 private:
  uint32_t InternFieldName(std::string_view name);
  void AddRawField(std::string_view name, FieldType type, uint64_t bits, uint32_t str);
  void RecordError(std::string message);

  std::string database_;
  std::string source_;
  std::vector<Series> series_;
  absl::flat_hash_map<std::string, SeriesRef> series_index_;  // looked up by string_view
  std::vector<Point> points_;
  std::vector<Field> fields_;
  std::vector<std::string> field_names_;
  absl::flat_hash_map<std::string, uint32_t> field_name_index_;
  std::vector<std::string> strings_;
  std::string first_error_;  // "point N: reason", empty when none
};

}  // namespace burnrate
