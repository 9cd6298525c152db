#include "engine/segment_output.h"

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "engine/rollup.h"

namespace burnrate {
namespace {

// Stored form of one rollup level of one series: rows = buckets, four columns per field.
absl::Status WriteRollupSeries(SegmentWriter* writer, uint32_t series_id, RollupLevel level,
                               const std::vector<uint32_t>& field_ids, const RollupBatch& b) {
  const size_t n = b.bucket_starts.size();
  if (n == 0) return absl::OkStatus();
  std::vector<ScanColumn> cols(field_ids.size() * 4);
  std::vector<SegmentColumnInput> inputs;
  for (size_t f = 0; f < field_ids.size(); ++f) {
    const RollupColumn& rc = b.columns[f];
    ScanColumn& count = cols[f * 4];
    ScanColumn& sum = cols[f * 4 + 1];
    ScanColumn& mn = cols[f * 4 + 2];
    ScanColumn& mx = cols[f * 4 + 3];
    count.type = FieldType::kInteger;
    sum.type = mn.type = mx.type = rc.type;
    for (size_t i = 0; i < n; ++i) {
      int64_t c = rc.counts[i];
      if (rc.type == FieldType::kFloat) {
        sum.floats.push_back(rc.float_sums[i]);
        mn.floats.push_back(rc.float_mins[i]);
        mx.floats.push_back(rc.float_maxs[i]);
      } else {
        const __int128 s = rc.int_sums[i];
        if (s > INT64_MAX || s < INT64_MIN) c = -1;  // answered from raw rows instead
        sum.ints.push_back(c < 0 ? 0 : static_cast<int64_t>(s));
        mn.ints.push_back(rc.int_mins[i]);
        mx.ints.push_back(rc.int_maxs[i]);
      }
      count.ints.push_back(c);
    }
    for (int k = 0; k < 4; ++k) {
      inputs.push_back(SegmentColumnInput{RollupFieldId(field_ids[f], k), "", &cols[f * 4 + k]});
    }
  }
  return writer->AddSeries(RollupSeriesId(series_id, level), b.bucket_starts, inputs);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PartitionOutput>> PartitionOutput::Create(FileSystem* fs,
                                                                          std::string path,
                                                                          const SegmentMeta& meta) {
  BR_ASSIGN_OR_RETURN(auto writer, SegmentWriter::Create(fs, path, meta, SegmentWriterOptions{}));
  return std::unique_ptr<PartitionOutput>(new PartitionOutput(std::move(path), std::move(writer)));
}

absl::Status PartitionOutput::AddSeries(uint32_t series_id, std::span<const TimestampNs> times,
                                        std::span<const OutputColumn> columns) {
  if (times.empty()) return absl::OkStatus();
  if (series_id >= kMaxSeriesId) return absl::ResourceExhaustedError("too many series");
  std::vector<SegmentColumnInput> inputs;
  inputs.reserve(columns.size());
  SeriesRollups r;
  r.series_id = series_id;
  for (const OutputColumn& c : columns) {
    inputs.push_back(SegmentColumnInput{c.field_id, "", c.data});
    if (IsRollupType(c.data->type)) {
      if (c.field_id >= kMaxFieldId) return absl::ResourceExhaustedError("too many fields");
      r.field_ids.push_back(c.field_id);
      RollupColumn rc;
      rc.type = c.data->type;
      r.hour.columns.push_back(rc);
      r.day.columns.push_back(rc);
    }
  }
  BR_RETURN_IF_ERROR(writer_->AddSeries(series_id, times, inputs));
  data_rows_ += times.size();
  ++series_count_;
  min_time_ = std::min(min_time_, times.front());
  max_time_ = std::max(max_time_, times.back());
  if (!r.field_ids.empty()) {
    // Aggregate the numeric columns only, in the order of r.field_ids.
    std::vector<const ScanColumn*> view;
    for (const OutputColumn& c : columns) {
      if (IsRollupType(c.data->type)) view.push_back(c.data);
    }
    AccumulateRollups(times, view, RollupWidthNs(RollupLevel::kHour), &r.hour);
    AccumulateRollups(times, view, RollupWidthNs(RollupLevel::kDay), &r.day);
    rollups_.push_back(std::move(r));
  }
  return absl::OkStatus();
}

absl::Status PartitionOutput::Finish(ManifestSegment* entry) {
  // Virtual rollup series ids sort after every real id, hour before day for each series.
  for (const SeriesRollups& r : rollups_) {
    BR_RETURN_IF_ERROR(
        WriteRollupSeries(writer_.get(), r.series_id, RollupLevel::kHour, r.field_ids, r.hour));
    BR_RETURN_IF_ERROR(
        WriteRollupSeries(writer_.get(), r.series_id, RollupLevel::kDay, r.field_ids, r.day));
  }
  BR_ASSIGN_OR_RETURN(SegmentInfo info, writer_->Finish());
  entry->file_size = info.file_size;
  entry->row_count = data_rows_;
  entry->series_count = series_count_;
  entry->min_time = min_time_;
  entry->max_time = max_time_;
  return absl::OkStatus();
}

}  // namespace burnrate
