#include "engine/scan_select.h"

#include <algorithm>
#include <span>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "engine/engine_util.h"
#include "engine/rollup.h"

namespace burnrate {

void FindCandidates(const Version& version, const Memtable* mem, const Memtable* imm,
                    uint32_t database_id, int64_t partition_duration, const ScanRequest& request,
                    SeriesCandidates* out) {
  const TimestampNs min_time = request.min_time, max_time = request.max_time;
  out->database_id = database_id;
  out->maybe.clear();
  auto mark = [&](uint32_t id) {
    if (id >= out->maybe.size()) out->maybe.resize(std::max<size_t>(id + 1, out->maybe.size() * 2));
    out->maybe[id] = 1;
  };
  for (const auto& h : version.segments) {
    if (h->meta.database_id != database_id || h->meta.max_time < min_time ||
        h->meta.min_time > max_time) {
      continue;
    }
    if (!InPartitionShare(PartitionIndex(h->meta.partition_start, partition_duration),
                          request.partition_stride, request.partition_phase)) {
      continue;
    }
    for (const SegmentReader::SeriesEntry& e : h->reader->series()) {
      if (e.series_id & kRollupSeriesBit) break;  // rollup tables sort after every series
      if (e.max_time < min_time || e.min_time > max_time) continue;
      mark(e.series_id);
    }
  }
  if (mem != nullptr) mem->ForEachSeriesId(database_id, mark);
  if (imm != nullptr) imm->ForEachSeriesId(database_id, mark);
}

absl::Status SelectForScan(const Catalog& catalog, const ScanRequest& request, ScanFields mode,
                           const SeriesCandidates* candidates, ScanSelection* out) {
  BR_ASSIGN_OR_RETURN(SeriesMatcher matcher, SeriesMatcher::Create(request.tag_matchers));
  *out = ScanSelection{};
  SeriesSet& set = out->series;
  set.tag_begin.assign(1, 0);
  return catalog.ReadPinned(
      request.database,
      [&](const DatabaseCatalog& db, std::shared_ptr<const void> pin) -> absl::Status {
        out->db_id = db.id();
        out->partition_duration = db.options().partition_duration_ns;
        set.pin = std::move(pin);
        const int64_t m = db.FindMeasurement(request.measurement);
        if (m < 0) return absl::OkStatus();
        const auto& meas = db.measurements()[m];
        if (mode != ScanFields::kNone) {
          if (request.fields.empty()) {
            for (uint32_t f : meas.field_ids) {
              const FieldType type = db.fields()[f].type;
              if (mode == ScanFields::kRollup && !IsRollupType(type)) continue;
              out->field_ids.push_back(f);
              out->field_names.push_back(db.fields()[f].name);
              out->field_types.push_back(type);
            }
          } else {
            for (const std::string& name : request.fields) {
              const int64_t f = db.FindField(static_cast<uint32_t>(m), name);
              const FieldType type = f < 0 ? FieldType::kFloat : db.fields()[f].type;
              if (mode == ScanFields::kRollup && !IsRollupType(type)) {
                return absl::InvalidArgumentError(
                    StrCat("field '", name, "' is ", FieldTypeName(type),
                           "; rollups exist for numeric fields only"));
              }
              out->field_ids.push_back(f);
              out->field_names.push_back(name);
              out->field_types.push_back(type);
            }
          }
        }
        const std::vector<uint8_t>* maybe =
            candidates != nullptr && candidates->database_id == db.id() ? &candidates->maybe
                                                                        : nullptr;
        auto consider = [&](uint32_t sid) {
          if (maybe != nullptr && (sid >= maybe->size() || (*maybe)[sid] == 0)) return;
          if (!matcher.Matches(db, sid)) return;
          const size_t begin = set.tag_views.size();
          for (auto [k, v] : db.series(sid).tags) {
            set.tag_views.push_back(TagView{db.str(k), db.str(v)});
          }
          if (request.series_filter &&
              !request.series_filter(std::span<const TagView>(set.tag_views.data() + begin,
                                                              set.tag_views.size() - begin))) {
            set.tag_views.resize(begin);
            return;
          }
          set.ids.push_back(sid);
          set.tag_begin.push_back(static_cast<uint32_t>(set.tag_views.size()));
        };
        if (!request.series_ids) {
          // Sized once: a month of churning series can select a million of them.
          size_t n = meas.series_ids.size();
          if (maybe != nullptr) {
            n = 0;
            for (uint32_t sid : meas.series_ids) n += sid < maybe->size() && (*maybe)[sid] != 0;
          }
          set.ids.reserve(n);
          set.tag_begin.reserve(n + 1);
          if (!meas.series_ids.empty()) {
            set.tag_views.reserve(n * db.series(meas.series_ids.back()).tags.size());
          }
          for (uint32_t sid : meas.series_ids) consider(sid);
          return absl::OkStatus();
        }
        const std::vector<uint32_t>& given = *request.series_ids;
        std::vector<uint32_t> sorted;
        const std::vector<uint32_t>* ids = &given;
        if (!std::is_sorted(given.begin(), given.end())) {
          sorted = given;
          std::sort(sorted.begin(), sorted.end());
          ids = &sorted;
        }
        set.ids.reserve(ids->size());
        set.tag_begin.reserve(ids->size() + 1);
        for (size_t i = 0; i < ids->size(); ++i) {
          const uint32_t sid = (*ids)[i];
          if (i > 0 && sid == (*ids)[i - 1]) continue;
          if (sid >= db.series_count() || db.series(sid).measurement_id != m) continue;
          consider(sid);
        }
        return absl::OkStatus();
      });
}

}  // namespace burnrate
