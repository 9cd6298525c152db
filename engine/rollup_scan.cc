// Db::ScanRollups: per-bucket aggregates from stored rollups where they are exact, raw rows
// elsewhere.
#include <algorithm>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "engine/column_ops.h"
#include "engine/db_impl.h"
#include "engine/engine_util.h"
#include "engine/rollup.h"

namespace burnrate {
namespace {

using Range = std::pair<TimestampNs, TimestampNs>;

void AddRange(std::vector<Range>* ranges, TimestampNs lo, TimestampNs hi) {
  if (lo <= hi) ranges->emplace_back(lo, hi);
}

// Sorts and merges overlapping or touching ranges.
std::vector<Range> Normalize(std::vector<Range> r) {
  std::sort(r.begin(), r.end());
  std::vector<Range> out;
  for (const Range& x : r) {
    if (!out.empty() && (out.back().second == INT64_MAX || x.first <= out.back().second + 1)) {
      out.back().second = std::max(out.back().second, x.second);
    } else {
      out.push_back(x);
    }
  }
  return out;
}

// Appends the stored rollup rows in `rows` (4 columns per field: count, sum, min, max) to
// *out, merging into its last bucket when the start is the same. Rows whose stored count
// is -1 (overflowed sum) are skipped and returned in *fallback for raw reading.
void AppendStoredBuckets(const ScanBatch& rows, RollupBatch* out,
                         std::vector<TimestampNs>* fallback) {
  for (size_t r = 0; r < rows.times.size(); ++r) {
    bool overflow = false;
    for (size_t f = 0; f < out->columns.size(); ++f) {
      const ScanColumn& count = rows.columns[f * 4];
      if (count.IsValid(r) && count.ints[r] < 0) overflow = true;
    }
    if (overflow) {
      fallback->push_back(rows.times[r]);
      continue;
    }
    RollupBatch one;
    one.columns.resize(out->columns.size());
    for (size_t f = 0; f < out->columns.size(); ++f) one.columns[f].type = out->columns[f].type;
    AppendEmptyBucket(&one, rows.times[r]);
    for (size_t f = 0; f < out->columns.size(); ++f) {
      const ScanColumn& count = rows.columns[f * 4];
      if (!count.IsValid(r) || count.ints[r] == 0) continue;
      RollupColumn& c = one.columns[f];
      c.counts[0] = count.ints[r];
      const ScanColumn& sum = rows.columns[f * 4 + 1];
      const ScanColumn& mn = rows.columns[f * 4 + 2];
      const ScanColumn& mx = rows.columns[f * 4 + 3];
      if (c.type == FieldType::kFloat) {
        c.float_sums[0] = sum.floats[r];
        c.float_mins[0] = mn.floats[r];
        c.float_maxs[0] = mx.floats[r];
      } else {
        c.int_sums[0] = sum.ints[r];
        c.int_mins[0] = mn.ints[r];
        c.int_maxs[0] = mx.ints[r];
      }
    }
    if (out->bucket_starts.empty() || out->bucket_starts.back() != rows.times[r]) {
      AppendEmptyBucket(out, rows.times[r]);
    }
    const size_t i = out->bucket_starts.size() - 1;
    for (size_t f = 0; f < out->columns.size(); ++f) {
      MergeRollupBucket(one.columns[f], 0, &out->columns[f], i);
    }
  }
}

void Accumulate(const ScanBatch& rows, int64_t width, RollupBatch* out) {
  std::vector<const ScanColumn*> cols;
  for (const ScanColumn& c : rows.columns) cols.push_back(&c);
  AccumulateRollups(rows.times, cols, width, out);
}

}  // namespace

absl::Status DbImpl::ScanRollups(const RollupRequest& request, const RollupSink& sink,
                                 RollupScanReport* report) {
  const ScanRequest& req = request.scan;
  const int64_t width = RollupWidthNs(request.level);
  BR_ASSIGN_OR_RETURN(SeriesMatcher matcher, SeriesMatcher::Create(req.tag_matchers));
  struct Selected {
    uint32_t id;
    std::vector<Tag> tags;
  };
  std::vector<Selected> selected;
  std::vector<int64_t> field_ids;
  std::vector<std::string> field_names;
  std::vector<FieldType> field_types;
  uint32_t db_id = 0;
  int64_t partition_duration = 0;
  BR_RETURN_IF_ERROR(catalog_.Read(req.database, [&](const DatabaseCatalog& db) {
    db_id = db.id();
    partition_duration = db.options().partition_duration_ns;
    const int64_t m = db.FindMeasurement(req.measurement);
    if (m < 0) return absl::OkStatus();
    const auto& meas = db.measurements()[m];
    std::vector<std::string> names = req.fields;
    if (names.empty()) {
      for (uint32_t f : meas.field_ids) {
        if (IsRollupType(db.fields()[f].type)) names.push_back(db.fields()[f].name);
      }
    }
    for (const std::string& name : names) {
      const int64_t f = db.FindField(static_cast<uint32_t>(m), name);
      const FieldType type = f < 0 ? FieldType::kFloat : db.fields()[f].type;
      if (!IsRollupType(type)) {
        return absl::InvalidArgumentError(StrCat("field '", name, "' is ", FieldTypeName(type),
                                                 "; rollups exist for numeric fields only"));
      }
      field_ids.push_back(f);
      field_names.push_back(name);
      field_types.push_back(type);
    }
    for (uint32_t sid : meas.series_ids) {
      if (!matcher.Matches(db, sid)) continue;
      std::vector<Tag> tags = db.SeriesTags(sid);
      if (req.series_filter && !req.series_filter(tags)) continue;
      selected.push_back(Selected{sid, std::move(tags)});
    }
    return absl::OkStatus();
  }));
  RollupScanReport local_report;
  RollupScanReport* rep = report ? report : &local_report;
  *rep = RollupScanReport{};
  if (selected.empty() || req.min_time > req.max_time) return absl::OkStatus();

  std::shared_ptr<const Version> version;
  std::shared_ptr<Memtable> mem, imm;
  {
    absl::MutexLock lock(&mu_);
    version = version_;
    mem = mem_;
    imm = imm_;
  }
  std::vector<const SegmentHandle*> segs;
  for (const auto& h : version->segments) {
    if (h->meta.database_id == db_id && h->meta.max_time >= req.min_time &&
        h->meta.min_time <= req.max_time) {
      segs.push_back(h.get());
    }
  }
  std::vector<int64_t> rollup_field_ids;
  for (int64_t f : field_ids) {
    for (int k = 0; k < 4; ++k) {
      rollup_field_ids.push_back(f < 0 ? -1 : RollupFieldId(static_cast<uint32_t>(f), k));
    }
  }

  auto init_rows = [&](ScanBatch* b) {
    b->times.clear();
    b->columns.resize(field_ids.size());
    for (size_t i = 0; i < field_ids.size(); ++i) {
      ClearColumn(&b->columns[i]);
      b->columns[i].type = field_types[i];
    }
  };
  auto init_stored = [&](ScanBatch* b) {
    b->times.clear();
    b->columns.resize(rollup_field_ids.size());
    for (size_t i = 0; i < rollup_field_ids.size(); ++i) {
      ClearColumn(&b->columns[i]);
      b->columns[i].type = (i % 4 == 0) ? FieldType::kInteger : field_types[i / 4];
    }
  };

  std::vector<Range> from_rollups, from_raw;
  ScanBatch memrows, rows, stored;
  RollupBatch out;
  for (const Selected& s : selected) {
    out = RollupBatch{};
    out.series_id = s.id;
    out.tags = s.tags;
    out.columns.resize(field_ids.size());
    for (size_t i = 0; i < field_ids.size(); ++i) {
      out.columns[i].name = field_names[i];
      out.columns[i].type = field_types[i];
    }
    init_rows(&memrows);
    size_t imm_count = 0;
    if (imm) {
      imm_count = imm->ReadSeries(db_id, s.id, req.min_time, req.max_time, field_ids, &memrows);
    }
    const size_t mem_count =
        imm_count + mem->ReadSeries(db_id, s.id, req.min_time, req.max_time, field_ids, &memrows);
    if (imm_count > 0 && mem_count > imm_count) SortAndDedupRows(&memrows);

    size_t seg_i = 0, mem_i = 0;
    while (true) {
      while (seg_i < segs.size() && segs[seg_i]->reader->FindSeries(s.id) < 0) ++seg_i;
      const bool have_seg = seg_i < segs.size();
      const bool have_mem = mem_i < memrows.times.size();
      if (!have_seg && !have_mem) break;
      TimestampNs pstart;
      if (have_seg && have_mem) {
        pstart = std::min(segs[seg_i]->meta.partition_start,
                          SafePartitionStart(memrows.times[mem_i], partition_duration));
      } else if (have_seg) {
        pstart = segs[seg_i]->meta.partition_start;
      } else {
        pstart = SafePartitionStart(memrows.times[mem_i], partition_duration);
      }
      const TimestampNs pend = PartitionEnd(pstart, partition_duration);
      std::vector<std::pair<const SegmentHandle*, int>> part_segs;
      while (seg_i < segs.size() && segs[seg_i]->meta.partition_start == pstart) {
        const int idx = segs[seg_i]->reader->FindSeries(s.id);
        if (idx >= 0) part_segs.emplace_back(segs[seg_i], idx);
        ++seg_i;
      }
      size_t mem_end = mem_i;
      while (mem_end < memrows.times.size() &&
             (memrows.times[mem_end] < pend || pend == INT64_MAX)) {
        ++mem_end;
      }
      const bool has_mem_rows = mem_end > mem_i;
      // The part of the request inside this partition.
      const TimestampNs lo = std::max(req.min_time, pstart);
      const TimestampNs hi = pend == INT64_MAX ? req.max_time : std::min(req.max_time, pend - 1);

      const int rollup_idx =
          part_segs.size() == 1 && !has_mem_rows
              ? part_segs[0].first->reader->FindSeries(RollupSeriesId(s.id, request.level))
              : -1;
      if (rollup_idx >= 0) {
        // Buckets whose part inside this partition lies wholly in [lo, hi] come from the
        // stored rollups; the ragged edges from raw rows.
        const TimestampNs first_b = BucketStart(lo, width);
        const TimestampNs last_b = BucketStart(hi, width);
        auto covered_lo = [&](TimestampNs b) { return std::max(b, pstart); };
        auto covered_hi = [&](TimestampNs b) {
          const TimestampNs be = PartitionEnd(b, width);
          return std::min(be == INT64_MAX ? be : be - 1, pend == INT64_MAX ? pend : pend - 1);
        };
        TimestampNs full_first = covered_lo(first_b) >= lo ? first_b : PartitionEnd(first_b, width);
        TimestampNs full_last = covered_hi(last_b) <= hi ? last_b : last_b - width;
        const SegmentReader& reader = *part_segs[0].first->reader;
        const int data_idx = part_segs[0].second;
        auto raw = [&](TimestampNs a, TimestampNs b) -> absl::Status {
          if (a > b) return absl::OkStatus();
          init_rows(&rows);
          BR_RETURN_IF_ERROR(reader.ReadSeries(data_idx, a, b, field_ids, &rows));
          rep->raw_rows_read += rows.times.size();
          AddRange(&from_raw, a, b);
          Accumulate(rows, width, &out);
          return absl::OkStatus();
        };
        if (full_first > full_last) {
          BR_RETURN_IF_ERROR(raw(lo, hi));
        } else {
          BR_RETURN_IF_ERROR(raw(lo, covered_lo(full_first) - 1));
          init_stored(&stored);
          BR_RETURN_IF_ERROR(
              reader.ReadSeries(rollup_idx, full_first, full_last, rollup_field_ids, &stored));
          rep->rollup_buckets_read += stored.times.size();
          std::vector<TimestampNs> fallback;
          // Stored buckets and fallback buckets interleave in time order.
          size_t r = 0;
          ScanBatch one;
          while (r < stored.times.size()) {
            size_t e = r;
            while (e < stored.times.size()) {
              bool overflow = false;
              for (size_t f = 0; f < field_ids.size(); ++f) {
                if (stored.columns[f * 4].IsValid(e) && stored.columns[f * 4].ints[e] < 0) {
                  overflow = true;
                }
              }
              if (overflow) break;
              ++e;
            }
            if (e > r) {
              init_stored(&one);
              one.times.assign(stored.times.begin() + r, stored.times.begin() + e);
              for (size_t c = 0; c < one.columns.size(); ++c) {
                AppendColumnRows(stored.columns[c], r, e, &one.columns[c]);
              }
              AppendStoredBuckets(one, &out, &fallback);
              AddRange(&from_rollups, covered_lo(stored.times[r]), covered_hi(stored.times[e - 1]));
            }
            if (e < stored.times.size()) {
              BR_RETURN_IF_ERROR(raw(covered_lo(stored.times[e]), covered_hi(stored.times[e])));
              ++e;
            }
            r = e;
          }
          BR_RETURN_IF_ERROR(raw(covered_hi(full_last) + 1, hi));
        }
      } else {
        // Several files (or memtable rows) hold this series here: merge raw rows, with last
        // write winning, and aggregate them.
        init_rows(&rows);
        for (const auto& [h, idx] : part_segs) {
          BR_RETURN_IF_ERROR(h->reader->ReadSeries(idx, lo, hi, field_ids, &rows));
        }
        if (has_mem_rows) {
          rows.times.insert(rows.times.end(), memrows.times.begin() + mem_i,
                            memrows.times.begin() + mem_end);
          for (size_t c = 0; c < rows.columns.size(); ++c) {
            AppendColumnRows(memrows.columns[c], mem_i, mem_end, &rows.columns[c]);
          }
        }
        if (part_segs.size() + (has_mem_rows ? 1 : 0) > 1) SortAndDedupRows(&rows);
        rep->raw_rows_read += rows.times.size();
        AddRange(&from_raw, lo, hi);
        Accumulate(rows, width, &out);
      }
      mem_i = mem_end;
    }
    if (!out.bucket_starts.empty()) BR_RETURN_IF_ERROR(sink(out));
  }
  rep->from_rollups = Normalize(std::move(from_rollups));
  rep->from_raw = Normalize(std::move(from_raw));
  return absl::OkStatus();
}

}  // namespace burnrate
