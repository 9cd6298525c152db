#include "engine/memtable.h"

#include <algorithm>
#include <cstring>

#include "engine/column_ops.h"

namespace burnrate {
namespace {

constexpr size_t kSeriesOverhead = sizeof(MemSeries) + 64;
constexpr size_t kColumnOverhead = sizeof(ScanColumn) + 32;

void AppendValue(const WriteBatch& batch, const WriteBatch::Field& f, ScanColumn* col) {
  switch (col->type) {
    case FieldType::kFloat: {
      double d;
      std::memcpy(&d, &f.bits, sizeof d);
      col->floats.push_back(d);
      break;
    }
    case FieldType::kString:
      col->strings.push_back(batch.strings()[f.str]);
      break;
    default:
      col->ints.push_back(static_cast<int64_t>(f.bits));
  }
  if (!col->valid.empty()) col->valid.push_back(1);
}

// AppendNulls(col, 1) without the general insert path: most points of a billing series
// lack several fields, so this runs more often than values are appended.
void PushNull(ScanColumn* col, size_t rows) {
  if (col->valid.empty()) col->valid.assign(rows, 1);
  col->valid.push_back(0);
  switch (col->type) {
    case FieldType::kFloat:
      col->floats.push_back(0.0);
      break;
    case FieldType::kString:
      col->strings.emplace_back();
      break;
    default:
      col->ints.push_back(0);
  }
}

}  // namespace

void Memtable::Apply(const WriteBatch& batch, const ResolvedBatch& resolved) {
  absl::MutexLock lock(&mu_);
  DatabaseRows& db = databases_[resolved.database_id];
  size_t added = 0;
  for (const WriteBatch::Point& p : batch.points()) {
    const uint32_t sid = resolved.series_ids[p.series];
    if (sid >= db.series.size()) db.series.resize(sid + 1);
    std::unique_ptr<MemSeries>& slot = db.series[sid];
    if (!slot) {
      slot = std::make_unique<MemSeries>();
      added += kSeriesOverhead;
    }
    MemSeries& s = *slot;
    if (!s.times.empty() && p.time_ns <= s.times.back()) s.in_order = false;
    const size_t row = s.times.size();
    s.times.push_back(p.time_ns);
    added += sizeof(TimestampNs);
    // Fields of the point, then nulls for the series' other columns.
    for (uint32_t f = p.field_begin; f < p.field_end; ++f) {
      const uint32_t fid = resolved.field_ids[f];
      size_t c = 0;
      while (c < s.field_ids.size() && s.field_ids[c] != fid) ++c;
      if (c == s.field_ids.size()) {
        s.field_ids.push_back(fid);
        ScanColumn col;
        col.type = resolved.field_types[f];
        AppendNulls(&col, row);
        s.columns.push_back(std::move(col));
        added += kColumnOverhead + row * 9;
      }
      const WriteBatch::Field& field = batch.fields()[f];
      AppendValue(batch, field, &s.columns[c]);
      added += 9;
      if (field.type == FieldType::kString) added += batch.strings()[field.str].size() + 32;
    }
    for (ScanColumn& col : s.columns) {
      if (ColumnRows(col) == row) {
        PushNull(&col, row);
        added += 9;
      }
    }
  }
  bytes_ += added;
  points_ += batch.points().size();
}

size_t Memtable::ApproximateBytes() const {
  absl::ReaderMutexLock lock(&mu_);
  return bytes_;
}

uint64_t Memtable::points() const {
  absl::ReaderMutexLock lock(&mu_);
  return points_;
}

bool Memtable::HasSeries(uint32_t database_id, uint32_t series_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = databases_.find(database_id);
  return it != databases_.end() && series_id < it->second.series.size() &&
         it->second.series[series_id] != nullptr;
}

void Memtable::ForEachSeriesId(uint32_t database_id,
                               const std::function<void(uint32_t)>& fn) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = databases_.find(database_id);
  if (it == databases_.end()) return;
  const auto& series = it->second.series;
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i] != nullptr) fn(static_cast<uint32_t>(i));
  }
}

size_t Memtable::ReadSeries(uint32_t database_id, uint32_t series_id, TimestampNs min_time,
                            TimestampNs max_time, std::span<const int64_t> field_ids,
                            ScanBatch* out) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = databases_.find(database_id);
  if (it == databases_.end() || series_id >= it->second.series.size()) return 0;
  const MemSeries* s = it->second.series[series_id].get();
  if (s == nullptr) return 0;

  // Column of this series for each requested field, or null.
  std::vector<const ScanColumn*> src(field_ids.size(), nullptr);
  for (size_t i = 0; i < field_ids.size(); ++i) {
    for (size_t c = 0; c < s->field_ids.size(); ++c) {
      if (field_ids[i] >= 0 && s->field_ids[c] == static_cast<uint32_t>(field_ids[i])) {
        src[i] = &s->columns[c];
      }
    }
  }

  if (s->in_order) {
    const auto lo = std::lower_bound(s->times.begin(), s->times.end(), min_time);
    const auto hi = std::upper_bound(lo, s->times.end(), max_time);
    const size_t b = lo - s->times.begin();
    const size_t e = hi - s->times.begin();
    if (b == e) return 0;
    out->times.insert(out->times.end(), lo, hi);
    for (size_t i = 0; i < src.size(); ++i) {
      if (src[i] == nullptr) {
        AppendNulls(&out->columns[i], e - b);
      } else {
        AppendColumnRows(*src[i], b, e, &out->columns[i]);
      }
    }
    return e - b;
  }

  // Out-of-order rows: gather the rows in range, then sort with last write winning.
  ScanBatch tmp;
  tmp.columns.resize(src.size());
  for (size_t i = 0; i < src.size(); ++i) tmp.columns[i].type = out->columns[i].type;
  for (size_t r = 0; r < s->times.size(); ++r) {
    if (s->times[r] < min_time || s->times[r] > max_time) continue;
    tmp.times.push_back(s->times[r]);
    for (size_t i = 0; i < src.size(); ++i) AppendColumnRow(src[i], r, &tmp.columns[i]);
  }
  if (tmp.times.empty()) return 0;
  SortAndDedupRows(&tmp);
  out->times.insert(out->times.end(), tmp.times.begin(), tmp.times.end());
  for (size_t i = 0; i < src.size(); ++i) {
    AppendColumnRows(tmp.columns[i], 0, tmp.times.size(), &out->columns[i]);
  }
  return tmp.times.size();
}

std::vector<uint32_t> Memtable::DatabaseIds() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<uint32_t> ids;
  for (const auto& [id, db] : databases_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void Memtable::ForEachSeries(uint32_t database_id,
                             const std::function<void(uint32_t, const MemSeries&)>& fn) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = databases_.find(database_id);
  if (it == databases_.end()) return;
  for (size_t sid = 0; sid < it->second.series.size(); ++sid) {
    const MemSeries* s = it->second.series[sid].get();
    if (s == nullptr) continue;
    if (s->in_order) {
      fn(static_cast<uint32_t>(sid), *s);
      continue;
    }
    ScanBatch tmp;
    tmp.times = s->times;
    tmp.columns = s->columns;
    SortAndDedupRows(&tmp);
    MemSeries sorted;
    sorted.times = std::move(tmp.times);
    sorted.field_ids = s->field_ids;
    sorted.columns = std::move(tmp.columns);
    fn(static_cast<uint32_t>(sid), sorted);
  }
}

void Memtable::DropDatabase(uint32_t database_id) {
  absl::MutexLock lock(&mu_);
  databases_.erase(database_id);
}

}  // namespace burnrate
