// Db::ScanRollups: per-bucket aggregates from stored rollups where they are exact, raw rows
// elsewhere.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "engine/column_ops.h"
#include "engine/db_impl.h"
#include "engine/engine_util.h"
#include "engine/rollup.h"
#include "engine/scan_select.h"

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

// A decoded rollup table of one segment: rows sorted by (series, bucket); columns are the
// series id, the bucket start, then four per requested field (count, sum, min, max).
struct StoredTable {
  ScanBatch rows;
  bool loaded = false;
  bool present = false;
  size_t cursor = 0;  // SeriesRows: rows before it belong to series already looked up
};

// Rows [begin, end) of the table belong to series `sid`. Series are looked up in
// ascending id order: the search starts at *cursor (where the previous one ended) and
// steps forward, since the next selected series is usually a few rows on.
std::pair<size_t, size_t> SeriesRows(const ScanBatch& t, uint32_t sid, size_t* cursor) {
  const auto& ids = t.columns[0].ints;
  const int64_t id = sid;
  size_t lo = std::min(*cursor, ids.size());
  for (int step = 0; step < 8 && lo < ids.size() && ids[lo] < id; ++step) ++lo;
  if (lo < ids.size() && ids[lo] < id) {
    lo = static_cast<size_t>(std::lower_bound(ids.begin() + lo, ids.end(), id) - ids.begin());
  }
  size_t hi = lo;
  while (hi < ids.size() && ids[hi] == id) ++hi;
  *cursor = hi;
  return {lo, hi};
}

// Adds stored row r of table t to *out (merging into its last bucket when the start is the
// same). False when the row cannot be used (an overflowed sum): read raw rows instead.
bool AppendStoredBucket(const ScanBatch& t, size_t r, RollupBatch* out) {
  const size_t nf = out->columns.size();
  for (size_t f = 0; f < nf; ++f) {
    const ScanColumn& count = t.columns[2 + f * 4];
    if (count.IsValid(r) && count.ints[r] < 0) return false;
  }
  const TimestampNs start = t.columns[1].ints[r];
  if (out->bucket_starts.empty() || out->bucket_starts.back() != start) {
    AppendEmptyBucket(out, start);
  }
  const size_t i = out->bucket_starts.size() - 1;
  for (size_t f = 0; f < nf; ++f) {
    const ScanColumn& count = t.columns[2 + f * 4];
    if (!count.IsValid(r) || count.ints[r] == 0) continue;
    const ScanColumn& sum = t.columns[2 + f * 4 + 1];
    const ScanColumn& mn = t.columns[2 + f * 4 + 2];
    const ScanColumn& mx = t.columns[2 + f * 4 + 3];
    RollupColumn& c = out->columns[f];
    const bool first = c.counts[i] == 0;
    c.counts[i] += count.ints[r];
    if (c.type == FieldType::kFloat) {
      c.float_sums[i] += sum.floats[r];
      c.float_mins[i] = first ? mn.floats[r] : std::min(c.float_mins[i], mn.floats[r]);
      c.float_maxs[i] = first ? mx.floats[r] : std::max(c.float_maxs[i], mx.floats[r]);
    } else {
      c.int_sums[i] += sum.ints[r];
      c.int_mins[i] = first ? mn.ints[r] : std::min(c.int_mins[i], mn.ints[r]);
      c.int_maxs[i] = first ? mx.ints[r] : std::max(c.int_maxs[i], mx.ints[r]);
    }
  }
  return true;
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
  std::shared_ptr<const Version> version;
  std::shared_ptr<Memtable> mem, imm;
  ScanSelection sel;
  BR_RETURN_IF_ERROR(SnapshotForScan(req, ScanFields::kRollup, &version, &mem, &imm, &sel));
  const SeriesSet& series = sel.series;
  const std::vector<int64_t>& field_ids = sel.field_ids;
  const std::vector<std::string>& field_names = sel.field_names;
  const std::vector<FieldType>& field_types = sel.field_types;
  const uint32_t db_id = sel.db_id;
  const int64_t partition_duration = sel.partition_duration;
  // Memtable rows only for series the memtable has: a month of minute data can select
  // 100,000 series.
  struct Selected {
    uint32_t id;
    std::unique_ptr<ScanBatch> mem;  // memtable rows in range, sorted; null when none
  };
  std::vector<Selected> selected(series.size());
  for (size_t k = 0; k < series.size(); ++k) selected[k].id = series.ids[k];
  RollupScanReport local_report;
  RollupScanReport* rep = report ? report : &local_report;
  *rep = RollupScanReport{};
  if (selected.empty() || req.min_time > req.max_time) return absl::OkStatus();

  auto init_rows = [&](ScanBatch* b) {
    b->times.clear();
    b->columns.resize(field_ids.size());
    for (size_t i = 0; i < field_ids.size(); ++i) {
      ClearColumn(&b->columns[i]);
      b->columns[i].type = field_types[i];
    }
  };
  std::vector<int64_t> table_columns = {kRollupSeriesColumn, kRollupBucketColumn};
  for (int64_t f : field_ids) {
    for (int k = 0; k < 4; ++k) {
      table_columns.push_back(f < 0 ? -1 : RollupFieldId(static_cast<uint32_t>(f), k));
    }
  }

  // Partitions to visit, in time order: those of this database's segments in range and
  // those of memtable rows.
  // Only partitions in the request's share (ScanRequest::partition_stride).
  auto in_share = [&](TimestampNs pstart) {
    return InPartitionShare(PartitionIndex(pstart, partition_duration), req.partition_stride,
                            req.partition_phase);
  };
  std::set<TimestampNs> partitions;
  std::map<TimestampNs, std::vector<const SegmentHandle*>> segs_by_partition;
  for (const auto& h : version->segments) {
    if (h->meta.database_id == db_id && h->meta.max_time >= req.min_time &&
        h->meta.min_time <= req.max_time && in_share(h->meta.partition_start)) {
      segs_by_partition[h->meta.partition_start].push_back(h.get());  // in seq order
      partitions.insert(h->meta.partition_start);
    }
  }
  const uint32_t max_id = series.ids.back();  // ascending
  std::vector<int32_t> selected_of(static_cast<size_t>(max_id) + 1, -1);
  for (size_t k = 0; k < selected.size(); ++k)
    selected_of[selected[k].id] = static_cast<int32_t>(k);
  std::map<TimestampNs, std::vector<size_t>> mem_partitions;  // selected indexes with rows
  for (size_t k = 0; k < selected.size(); ++k) {
    Selected& s = selected[k];
    const bool in_imm = imm && imm->HasSeries(db_id, s.id);
    if (!in_imm && !mem->HasSeries(db_id, s.id)) continue;
    s.mem = std::make_unique<ScanBatch>();
    init_rows(s.mem.get());
    size_t imm_count = 0;
    if (in_imm) {
      imm_count = imm->ReadSeries(db_id, s.id, req.min_time, req.max_time, field_ids, s.mem.get());
    }
    const size_t total = imm_count + mem->ReadSeries(db_id, s.id, req.min_time, req.max_time,
                                                     field_ids, s.mem.get());
    if (imm_count > 0 && total > imm_count) SortAndDedupRows(s.mem.get());
    for (TimestampNs t : s.mem->times) {
      const TimestampNs p = SafePartitionStart(t, partition_duration);
      if (!in_share(p)) continue;
      partitions.insert(p);
      auto& list = mem_partitions[p];
      if (list.empty() || list.back() != k) list.push_back(k);
    }
  }

  std::vector<Range> from_rollups, from_raw;
  ScanBatch rows;
  RollupBatch out;
  SegmentReadCache cache;
  for (const TimestampNs pstart : partitions) {
    const TimestampNs pend = PartitionEnd(pstart, partition_duration);
    const TimestampNs lo = std::max(req.min_time, pstart);
    const TimestampNs hi = pend == INT64_MAX ? req.max_time : std::min(req.max_time, pend - 1);
    const std::vector<const SegmentHandle*>& psegs = segs_by_partition[pstart];
    std::vector<StoredTable> tables(psegs.size());
    // The selected series present here: from the segments' series tables (one pass each)
    // and from memtable rows. Series absent from this partition cost nothing.
    // (selected index, psegs index, series entry); entry -1 marks memtable rows only.
    std::vector<std::tuple<size_t, size_t, int>> present;
    for (size_t i = 0; i < psegs.size(); ++i) {
      const auto& entries = psegs[i]->reader->series();
      for (size_t e = 0; e < entries.size(); ++e) {
        const uint32_t id = entries[e].series_id;
        if (id & kRollupSeriesBit) break;  // the rollup tables sort last
        if (id > max_id || selected_of[id] < 0) continue;
        present.emplace_back(static_cast<size_t>(selected_of[id]), i, static_cast<int>(e));
      }
    }
    for (size_t k : mem_partitions[pstart]) present.emplace_back(k, 0, -1);
    std::sort(present.begin(), present.end());
    std::vector<std::pair<size_t, int>> part_segs;
    for (size_t p = 0; p < present.size();) {
      const size_t k = std::get<0>(present[p]);
      part_segs.clear();
      for (; p < present.size() && std::get<0>(present[p]) == k; ++p) {
        if (std::get<2>(present[p]) >= 0) {
          part_segs.emplace_back(std::get<1>(present[p]), std::get<2>(present[p]));
        }
      }
      const Selected& s = selected[k];
      size_t mem_b = 0, mem_e = 0;
      if (s.mem) {
        const auto mem_lo = std::lower_bound(s.mem->times.begin(), s.mem->times.end(), lo);
        const auto mem_hi = std::upper_bound(mem_lo, s.mem->times.end(), hi);
        mem_b = mem_lo - s.mem->times.begin();
        mem_e = mem_hi - s.mem->times.begin();
      }
      if (part_segs.empty() && mem_b == mem_e) continue;

      // Reused across batches: clearing keeps the vectors' capacity.
      out.series_id = s.id;
      out.partition = PartitionIndex(pstart, partition_duration);
      out.tags = series.tags(k);
      out.bucket_starts.clear();
      out.columns.resize(field_ids.size());
      for (size_t i = 0; i < field_ids.size(); ++i) {
        RollupColumn& c = out.columns[i];
        c.name = field_names[i];
        c.type = field_types[i];
        c.counts.clear();
        c.int_sums.clear();
        c.int_mins.clear();
        c.int_maxs.clear();
        c.float_sums.clear();
        c.float_mins.clear();
        c.float_maxs.clear();
      }

      bool stored = false;
      if (part_segs.size() == 1 && mem_b == mem_e) {
        StoredTable& t = tables[part_segs[0].first];
        if (!t.loaded) {
          t.loaded = true;
          const SegmentReader& reader = *psegs[part_segs[0].first]->reader;
          const int tidx = reader.FindSeries(RollupTableId(request.level));
          if (tidx >= 0) {
            t.rows.columns.resize(table_columns.size());
            for (size_t c = 0; c < table_columns.size(); ++c) {
              t.rows.columns[c].type =
                  c < 2 ? FieldType::kInteger
                        : ((c - 2) % 4 == 0 ? FieldType::kInteger : field_types[(c - 2) / 4]);
            }
            BR_RETURN_IF_ERROR(
                reader.ReadSeries(tidx, INT64_MIN, INT64_MAX, table_columns, &t.rows, &cache));
            t.present = true;
          }
        }
        stored = t.present;
      }

      if (stored) {
        // Buckets whose part inside this partition lies wholly in [lo, hi] come from the
        // stored rollups; the ragged edges and unusable buckets from raw rows.
        const SegmentReader& reader = *psegs[part_segs[0].first]->reader;
        const int data_idx = part_segs[0].second;
        const ScanBatch& table = tables[part_segs[0].first].rows;
        auto covered_lo = [&](TimestampNs b) { return std::max(b, pstart); };
        auto covered_hi = [&](TimestampNs b) {
          const TimestampNs be = PartitionEnd(b, width);
          return std::min(be == INT64_MAX ? be : be - 1, pend == INT64_MAX ? pend : pend - 1);
        };
        auto raw = [&](TimestampNs a, TimestampNs b) -> absl::Status {
          if (a > b) return absl::OkStatus();
          init_rows(&rows);
          BR_RETURN_IF_ERROR(reader.ReadSeries(data_idx, a, b, field_ids, &rows, &cache));
          rep->raw_rows_read += rows.times.size();
          AddRange(&from_raw, a, b);
          Accumulate(rows, width, &out);
          return absl::OkStatus();
        };
        const auto [rb, re] = SeriesRows(table, s.id, &tables[part_segs[0].first].cursor);
        TimestampNs next = lo;  // everything before `next` is accounted for
        for (size_t r = rb; r < re; ++r) {
          const TimestampNs start = table.columns[1].ints[r];
          const TimestampNs clo = covered_lo(start), chi = covered_hi(start);
          if (chi < lo) continue;
          if (clo > hi) break;
          if (clo < lo || chi > hi) continue;  // a ragged edge: read raw below
          BR_RETURN_IF_ERROR(raw(next, clo - 1));
          ++rep->rollup_buckets_read;
          if (AppendStoredBucket(table, r, &out)) {
            AddRange(&from_rollups, clo, chi);
          } else {
            BR_RETURN_IF_ERROR(raw(clo, chi));
          }
          next = chi == INT64_MAX ? chi : chi + 1;
        }
        if (next <= hi) BR_RETURN_IF_ERROR(raw(next, hi));
      } else {
        // Several files (or memtable rows) hold this series here: merge raw rows, with last
        // write winning, and aggregate them.
        init_rows(&rows);
        for (const auto& [i, idx] : part_segs) {
          BR_RETURN_IF_ERROR(psegs[i]->reader->ReadSeries(idx, lo, hi, field_ids, &rows, &cache));
        }
        if (mem_e > mem_b) {
          rows.times.insert(rows.times.end(), s.mem->times.begin() + mem_b,
                            s.mem->times.begin() + mem_e);
          for (size_t c = 0; c < rows.columns.size(); ++c) {
            AppendColumnRows(s.mem->columns[c], mem_b, mem_e, &rows.columns[c]);
          }
        }
        if (part_segs.size() + (mem_e > mem_b ? 1 : 0) > 1) SortAndDedupRows(&rows);
        rep->raw_rows_read += rows.times.size();
        AddRange(&from_raw, lo, hi);
        Accumulate(rows, width, &out);
      }
      if (!out.bucket_starts.empty()) BR_RETURN_IF_ERROR(sink(out));
    }
  }
  rep->from_rollups = Normalize(std::move(from_rollups));
  rep->from_raw = Normalize(std::move(from_raw));
  return absl::OkStatus();
}

}  // namespace burnrate
