#include "engine/segment_output.h"

#include <numeric>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "engine/column_ops.h"
#include "engine/rollup.h"

namespace burnrate {

absl::StatusOr<std::unique_ptr<PartitionOutput>> PartitionOutput::Create(FileSystem* fs,
                                                                         std::string path,
                                                                         const SegmentMeta& meta) {
  BR_ASSIGN_OR_RETURN(auto writer, SegmentWriter::Create(fs, path, meta, SegmentWriterOptions{}));
  auto out =
      std::unique_ptr<PartitionOutput>(new PartitionOutput(std::move(path), std::move(writer)));
  for (Table& t : out->tables_) {
    t.series.type = FieldType::kInteger;
    t.buckets.type = FieldType::kInteger;
  }
  return out;
}

absl::Status PartitionOutput::AddSeries(uint32_t series_id, std::span<const TimestampNs> times,
                                        std::span<const OutputColumn> columns) {
  if (times.empty()) return absl::OkStatus();
  if (series_id >= kMaxSeriesId) return absl::ResourceExhaustedError("too many series");
  std::vector<SegmentColumnInput> inputs;
  inputs.reserve(columns.size());
  for (const OutputColumn& c : columns) {
    if (c.field_id >= kMaxFieldId) return absl::ResourceExhaustedError("too many fields");
    inputs.push_back(SegmentColumnInput{c.field_id, "", c.data});
  }
  BR_RETURN_IF_ERROR(writer_->AddSeries(series_id, times, inputs));
  data_rows_ += times.size();
  ++series_count_;
  min_time_ = std::min(min_time_, times.front());
  max_time_ = std::max(max_time_, times.back());
  AddRollups(RollupLevel::kHour, series_id, times, columns);
  AddRollups(RollupLevel::kDay, series_id, times, columns);
  return absl::OkStatus();
}

void PartitionOutput::AddRollups(RollupLevel level, uint32_t series_id,
                                 std::span<const TimestampNs> times,
                                 std::span<const OutputColumn> columns) {
  RollupBatch b;
  std::vector<const ScanColumn*> numeric;
  std::vector<uint32_t> ids;
  for (const OutputColumn& c : columns) {
    if (!IsRollupType(c.data->type)) continue;
    numeric.push_back(c.data);
    ids.push_back(c.field_id);
    RollupColumn rc;
    rc.type = c.data->type;
    b.columns.push_back(std::move(rc));
  }
  if (numeric.empty()) return;
  AccumulateRollups(times, numeric, RollupWidthNs(level), &b);
  Table& t = tables_[static_cast<int>(level)];
  const size_t n = b.bucket_starts.size();
  t.series.ints.insert(t.series.ints.end(), n, series_id);
  t.buckets.ints.insert(t.buckets.ints.end(), b.bucket_starts.begin(), b.bucket_starts.end());
  for (size_t f = 0; f < ids.size(); ++f) {
    auto [it, inserted] = t.fields.try_emplace(ids[f]);
    auto& cols = it->second;
    if (inserted) {
      cols[0].type = FieldType::kInteger;
      for (int k = 1; k < 4; ++k) cols[k].type = b.columns[f].type;
      for (ScanColumn& c : cols) AppendNulls(&c, t.rows);
    }
    const RollupColumn& rc = b.columns[f];
    for (size_t i = 0; i < n; ++i) {
      int64_t count = rc.counts[i];
      if (rc.type == FieldType::kFloat) {
        cols[1].floats.push_back(rc.float_sums[i]);
        cols[2].floats.push_back(rc.float_mins[i]);
        cols[3].floats.push_back(rc.float_maxs[i]);
      } else {
        const __int128 sum = rc.int_sums[i];
        if (sum > INT64_MAX || sum < INT64_MIN) count = -1;  // answered from raw rows
        cols[1].ints.push_back(count < 0 ? 0 : static_cast<int64_t>(sum));
        cols[2].ints.push_back(rc.int_mins[i]);
        cols[3].ints.push_back(rc.int_maxs[i]);
      }
      cols[0].ints.push_back(count);
      for (int k = 0; k < 4; ++k) {
        if (!cols[k].valid.empty()) cols[k].valid.push_back(1);
      }
    }
  }
  t.rows += n;
  // Fields this series lacks are null in its rows.
  for (auto& [id, cols] : t.fields) {
    for (ScanColumn& c : cols) {
      if (ColumnRows(c) < t.rows) AppendNulls(&c, t.rows - ColumnRows(c));
    }
  }
}

absl::Status PartitionOutput::WriteTable(RollupLevel level, Table* t) {
  if (t->rows == 0) return absl::OkStatus();
  std::vector<TimestampNs> ordinals(t->rows);
  std::iota(ordinals.begin(), ordinals.end(), 0);
  std::vector<SegmentColumnInput> inputs;
  inputs.push_back(SegmentColumnInput{kRollupSeriesColumn, "", &t->series});
  inputs.push_back(SegmentColumnInput{kRollupBucketColumn, "", &t->buckets});
  for (auto& [id, cols] : t->fields) {
    for (int k = 0; k < 4; ++k) {
      CompactValidity(&cols[k]);
      inputs.push_back(SegmentColumnInput{RollupFieldId(id, k), "", &cols[k]});
    }
  }
  return writer_->AddSeries(RollupTableId(level), ordinals, inputs);
}

absl::Status PartitionOutput::Finish(ManifestSegment* entry) {
  // The table ids sort after every real series id, hour before day.
  BR_RETURN_IF_ERROR(WriteTable(RollupLevel::kHour, &tables_[0]));
  BR_RETURN_IF_ERROR(WriteTable(RollupLevel::kDay, &tables_[1]));
  BR_ASSIGN_OR_RETURN(SegmentInfo info, writer_->Finish());
  entry->file_size = info.file_size;
  entry->row_count = data_rows_;
  entry->series_count = series_count_;
  entry->min_time = min_time_;
  entry->max_time = max_time_;
  return absl::OkStatus();
}

}  // namespace burnrate
