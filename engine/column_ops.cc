#include "engine/column_ops.h"

#include <algorithm>
#include <numeric>
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

void SortAndDedupRows(ScanBatch* batch) {
  const size_t n = batch->times.size();
  if (StrictlyIncreasing(batch->times)) return;
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return batch->times[a] < batch->times[b]; });
  ScanBatch out;
  out.series_id = batch->series_id;
  out.tags = batch->tags;
  out.columns.resize(batch->columns.size());
  for (size_t c = 0; c < batch->columns.size(); ++c) {
    out.columns[c].name = batch->columns[c].name;
    out.columns[c].type = batch->columns[c].type;
  }
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    const int64_t t = batch->times[order[i]];
    while (j < n && batch->times[order[j]] == t) ++j;
    out.times.push_back(t);
    for (size_t c = 0; c < batch->columns.size(); ++c) {
      const ScanColumn& col = batch->columns[c];
      // The last row of the group (latest write) that has this field wins.
      const ScanColumn* winner = nullptr;
      size_t winner_row = 0;
      for (size_t k = j; k > i; --k) {
        if (col.IsValid(order[k - 1])) {
          winner = &col;
          winner_row = order[k - 1];
          break;
        }
      }
      AppendColumnRow(winner, winner_row, &out.columns[c]);
    }
    i = j;
  }
  for (ScanColumn& c : out.columns) CompactValidity(&c);
  batch->times = std::move(out.times);
  batch->columns = std::move(out.columns);
}

}  // namespace burnrate
