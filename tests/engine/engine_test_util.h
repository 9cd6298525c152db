#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "burnrate/db.h"
#include "tests/testing/status_matchers.h"

namespace burnrate::testing {

// One stored value, keyed for comparisons: (series tags as "k=v,k=v", time, field).
using CellKey = std::tuple<std::string, TimestampNs, std::string>;

inline std::string TagsKey(std::span<const TagView> tags) {
  std::string s;
  for (const TagView& t : tags) {
    if (!s.empty()) s += ",";
    s += std::string(t.key) + "=" + std::string(t.value);
  }
  return s;
}

inline std::string TagsKey(std::span<const Tag> tags) {
  std::string s;
  for (const Tag& t : tags) {
    if (!s.empty()) s += ",";
    s += t.key + "=" + t.value;
  }
  return s;
}

inline std::string CellText(const ScanColumn& c, size_t row) {
  switch (c.type) {
    case FieldType::kFloat:
      return FieldValue::Float(c.floats[row]).DebugString();
    case FieldType::kInteger:
      return FieldValue::Integer(c.ints[row]).DebugString();
    case FieldType::kUnsigned:
      return FieldValue::Unsigned(static_cast<uint64_t>(c.ints[row])).DebugString();
    case FieldType::kBoolean:
      return FieldValue::Boolean(c.ints[row] != 0).DebugString();
    case FieldType::kString:
      return FieldValue::String(c.strings[row]).DebugString();
    case FieldType::kMoney:
      return FieldValue::OfMoney(Money::FromUnits(c.ints[row])).DebugString();
  }
  return "?";
}

// Every non-null cell a scan returns, as text. Also checks the batch invariants: times
// strictly increasing within a series across batches, series ids increasing.
inline absl::StatusOr<std::map<CellKey, std::string>> ScanAll(Db* db, ScanRequest req) {
  std::map<CellKey, std::string> cells;
  int64_t last_series = -1;
  TimestampNs last_time = 0;
  absl::Status st = db->Scan(req, [&](const ScanBatch& b) -> absl::Status {
    if (static_cast<int64_t>(b.series_id) < last_series) {
      return absl::InternalError("series out of order");
    }
    for (size_t r = 0; r < b.rows(); ++r) {
      if (static_cast<int64_t>(b.series_id) == last_series && b.times[r] <= last_time) {
        return absl::InternalError("times not strictly increasing");
      }
      last_series = b.series_id;
      last_time = b.times[r];
      for (const ScanColumn& c : b.columns) {
        if (!c.IsValid(r)) continue;
        cells[CellKey{TagsKey(b.tags), b.times[r], c.name}] = CellText(c, r);
      }
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return cells;
}

}  // namespace burnrate::testing
