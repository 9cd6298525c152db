#include "engine/column_ops.h"

#include <algorithm>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

namespace burnrate {

size_t ColumnRows(const ScanColumn& c) {
  switch (c.type) {
    case FieldType::kFloat:
      return c.floats.size();
    case FieldType::kString:
      return c.strings.size();
    default:
      return c.ints.size();
  }
}

void ClearColumn(ScanColumn* c) {
  c->ints.clear();
  c->floats.clear();
  c->strings.clear();
  c->valid.clear();
}

void CompactValidity(ScanColumn* c) {
  if (!c->valid.empty() &&
      std::all_of(c->valid.begin(), c->valid.end(), [](uint8_t v) { return v != 0; })) {
    c->valid.clear();
  }
}

void AppendNulls(ScanColumn* dst, size_t n) {
  if (n == 0) return;
  const size_t rows = ColumnRows(*dst);
  if (dst->valid.empty()) dst->valid.assign(rows, 1);
  dst->valid.insert(dst->valid.end(), n, 0);
  switch (dst->type) {
    case FieldType::kFloat:
      dst->floats.insert(dst->floats.end(), n, 0.0);
      break;
    case FieldType::kString:
      dst->strings.insert(dst->strings.end(), n, std::string());
      break;
    default:
      dst->ints.insert(dst->ints.end(), n, 0);
  }
}

void AppendColumnRows(const ScanColumn& src, size_t begin, size_t end, ScanColumn* dst) {
  if (begin >= end) return;
  const size_t rows = ColumnRows(*dst);
  if (!src.valid.empty() || !dst->valid.empty()) {
    if (dst->valid.empty()) dst->valid.assign(rows, 1);
    if (src.valid.empty()) {
      dst->valid.insert(dst->valid.end(), end - begin, 1);
    } else {
      dst->valid.insert(dst->valid.end(), src.valid.begin() + begin, src.valid.begin() + end);
    }
  }
  switch (dst->type) {
    case FieldType::kFloat:
      dst->floats.insert(dst->floats.end(), src.floats.begin() + begin, src.floats.begin() + end);
      break;
    case FieldType::kString:
      dst->strings.insert(dst->strings.end(), src.strings.begin() + begin,
                          src.strings.begin() + end);
      break;
    default:
      dst->ints.insert(dst->ints.end(), src.ints.begin() + begin, src.ints.begin() + end);
  }
}

void AppendColumnRow(const ScanColumn* src, size_t row, ScanColumn* dst) {
  if (src == nullptr || !src->IsValid(row)) {
    AppendNulls(dst, 1);
    return;
  }
  AppendColumnRows(*src, row, row + 1, dst);
}

bool StrictlyIncreasing(std::span<const int64_t> times) {
  for (size_t i = 1; i < times.size(); ++i) {
    if (times[i] <= times[i - 1]) return false;
  }
  return true;
}

namespace {

constexpr uint32_t kNoRow = UINT32_MAX;

// Replaces the values of `c` by those of rows `rows` (kNoRow: null), in that order. Each
// source row appears at most once, so strings are moved, not copied.
void GatherColumn(std::span<const uint32_t> rows, bool any_null, ScanColumn* c) {
  const size_t m = rows.size();
  switch (c->type) {
    case FieldType::kFloat: {
      std::vector<double> v(m);
      for (size_t i = 0; i < m; ++i) v[i] = rows[i] == kNoRow ? 0.0 : c->floats[rows[i]];
      c->floats = std::move(v);
      break;
    }
    case FieldType::kString: {
      std::vector<std::string> v(m);
      for (size_t i = 0; i < m; ++i) {
        if (rows[i] != kNoRow) v[i] = std::move(c->strings[rows[i]]);
      }
      c->strings = std::move(v);
      break;
    }
    default: {
      std::vector<int64_t> v(m);
      for (size_t i = 0; i < m; ++i) v[i] = rows[i] == kNoRow ? 0 : c->ints[rows[i]];
      c->ints = std::move(v);
    }
  }
  if (any_null) {
    c->valid.resize(m);
    for (size_t i = 0; i < m; ++i) c->valid[i] = rows[i] != kNoRow;
  } else {
    c->valid.clear();
  }
}

}  // namespace

void SortAndDedupRows(ScanBatch* batch) {
  const size_t n = batch->times.size();
  if (StrictlyIncreasing(batch->times)) return;
  // Sorting (time, input row) pairs orders equal times by input row, as a stable sort of
  // the rows would; runs that are already in order (the common case) cost one pass.
  std::vector<std::pair<int64_t, uint32_t>> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = {batch->times[i], static_cast<uint32_t>(i)};
  if (!std::is_sorted(order.begin(), order.end())) std::sort(order.begin(), order.end());

  // Groups of equal times: [group_begin[g], group_begin[g + 1]) into `order`.
  std::vector<uint32_t> group_begin;
  group_begin.reserve(n + 1);
  std::vector<int64_t> times;
  times.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (i == 0 || order[i].first != order[i - 1].first) {
      group_begin.push_back(static_cast<uint32_t>(i));
      times.push_back(order[i].first);
    }
  }
  const size_t m = times.size();
  group_begin.push_back(static_cast<uint32_t>(n));

  std::vector<uint32_t> rows(m);
  for (ScanColumn& col : batch->columns) {
    bool any_null = false;
    if (col.valid.empty()) {
      // Every row has the field: the group's last row wins.
      for (size_t g = 0; g < m; ++g) rows[g] = order[group_begin[g + 1] - 1].second;
    } else {
      // The last row of the group (latest write) that has this field wins.
      for (size_t g = 0; g < m; ++g) {
        uint32_t winner = kNoRow;
        for (uint32_t k = group_begin[g + 1]; k > group_begin[g]; --k) {
          if (col.valid[order[k - 1].second] != 0) {
            winner = order[k - 1].second;
            break;
          }
        }
        rows[g] = winner;
        any_null |= winner == kNoRow;
      }
    }
    GatherColumn(rows, any_null, &col);
  }
  batch->times = std::move(times);
}

}  // namespace burnrate
