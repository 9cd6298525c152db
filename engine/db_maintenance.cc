// Replace-by-source imports, compaction, deletes and retention: every operation that
// replaces live segments by others in one manifest commit.
#include <algorithm>
#include <map>
#include <set>

#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "engine/column_ops.h"
#include "engine/db_impl.h"
#include "engine/engine_util.h"
#include "engine/rollup.h"
#include "engine/segment_output.h"

namespace burnrate {
namespace {

// Compaction picks a run of at least this many segments ...
constexpr size_t kMinMergeRun = 4;
// ... and always merges when a partition has more than this many.
constexpr size_t kMaxFilesPerPartition = 12;
// A partition that ended this long ago is merged into one file whenever it has several.
constexpr int64_t kColdPartitionNs = 3600LL * 1'000'000'000;

// Real (non-rollup) columns of a segment, in footer order.
std::vector<std::pair<uint32_t, FieldType>> DataColumns(const SegmentReader& r) {
  std::vector<std::pair<uint32_t, FieldType>> cols;
  for (const auto& c : r.columns()) {
    if ((c.field_id & kRollupFieldBit) == 0) cols.emplace_back(c.field_id, c.type);
  }
  return cols;
}

// Reads every row of series entry `idx` of `r` (all data columns in `cols`) into *out.
absl::Status ReadAllRows(const SegmentReader& r, size_t idx,
                         const std::vector<std::pair<uint32_t, FieldType>>& cols, ScanBatch* out,
                         SegmentReadCache* cache) {
  std::vector<int64_t> ids;
  for (const auto& [id, type] : cols) ids.push_back(id);
  return r.ReadSeries(idx, INT64_MIN, INT64_MAX, ids, out, cache);
}

void InitBatch(const std::vector<std::pair<uint32_t, FieldType>>& cols, ScanBatch* b) {
  b->times.clear();
  b->columns.resize(cols.size());
  for (size_t i = 0; i < cols.size(); ++i) {
    ClearColumn(&b->columns[i]);
    b->columns[i].type = cols[i].second;
  }
}

// Adds the rows of *b (sorted, unique) to out, dropping all-null columns.
absl::Status AddBatch(uint32_t sid, const std::vector<std::pair<uint32_t, FieldType>>& cols,
                      ScanBatch* b, PartitionOutput* out) {
  if (b->times.empty()) return absl::OkStatus();
  std::vector<OutputColumn> oc;
  for (size_t i = 0; i < cols.size(); ++i) {
    ScanColumn& c = b->columns[i];
    CompactValidity(&c);
    if (!c.valid.empty() &&
        std::none_of(c.valid.begin(), c.valid.end(), [](uint8_t v) { return v != 0; })) {
      continue;
    }
    oc.push_back(OutputColumn{cols[i].first, &c});
  }
  if (oc.empty()) return absl::OkStatus();
  return out->AddSeries(sid, b->times, oc);
}

// Union of the data columns of several segments; a field has one type per database.
std::vector<std::pair<uint32_t, FieldType>> UnionColumns(
    const std::vector<std::shared_ptr<SegmentHandle>>& segs) {
  std::map<uint32_t, FieldType> all;
  for (const auto& h : segs) {
    for (const auto& [id, type] : DataColumns(*h->reader)) all.emplace(id, type);
  }
  return {all.begin(), all.end()};
}

std::vector<uint32_t> RealSeries(const std::vector<std::shared_ptr<SegmentHandle>>& segs) {
  std::set<uint32_t> ids;
  for (const auto& h : segs) {
    for (const auto& e : h->reader->series()) {
      if ((e.series_id & kRollupSeriesBit) == 0) ids.insert(e.series_id);
    }
  }
  return {ids.begin(), ids.end()};
}

}  // namespace

absl::Status DbImpl::CommitSegmentChange(const std::vector<std::shared_ptr<SegmentHandle>>& remove,
                                         const std::vector<std::shared_ptr<SegmentHandle>>& add,
                                         const std::vector<ManifestSource>& sources,
                                         uint64_t next_source_id) {
  std::vector<std::shared_ptr<SegmentHandle>> segments;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& h : version_->segments) {
      if (std::find(remove.begin(), remove.end(), h) == remove.end()) segments.push_back(h);
    }
  }
  for (const auto& h : add) {
    if (catalog_.HasDatabaseId(h->meta.database_id)) segments.push_back(h);
  }
  std::sort(segments.begin(), segments.end(), SegmentOrder);
  uint64_t log_number = log_number_;
  BR_RETURN_IF_ERROR(WriteCatalogAndManifest(segments, log_number, sources, next_source_id));
  absl::MutexLock lock(&mu_);
  InstallVersion(std::move(segments));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Replace by source

// Buffers rows in a private memtable and spills it to (uncommitted) segment files when
// it grows past the memtable budget. Not thread-safe.
class SourceImportImpl final : public SourceImport {
 public:
  SourceImportImpl(DbImpl* db, uint32_t database_id, std::string database, std::string key)
      : db_(db),
        database_id_(database_id),
        database_(std::move(database)),
        key_(std::move(key)),
        pending_(db),
        rows_(std::make_unique<Memtable>()) {}
  ~SourceImportImpl() override {
    // After a failed commit the new manifest may still be on disk, naming these segments:
    // garbage collection removes them once a later manifest is durable.
    if (!commit_attempted_) {
      for (auto& h : added_) h->obsolete = true;
    }
  }

  absl::Status Add(const WriteBatch& batch) override {
    if (committed_) return absl::FailedPreconditionError("source import already committed");
    if (batch.database() != database_) {
      return absl::InvalidArgumentError(StrCat("batch is for database '", batch.database(),
                                               "', the import for '", database_, "'"));
    }
    if (!batch.source().empty() && batch.source() != key_) {
      return absl::InvalidArgumentError(
          StrCat("batch carries source '", batch.source(), "', the import is '", key_, "'"));
    }
    BR_RETURN_IF_ERROR(batch.Validate());
    ResolvedBatch resolved;
    BR_RETURN_IF_ERROR(db_->catalog_.Resolve(batch, &resolved));
    rows_->Apply(batch, resolved);
    points_ += batch.point_count();
    if (rows_->ApproximateBytes() >= db_->options_.memtable_bytes) return Spill();
    return absl::OkStatus();
  }

  absl::Status Commit() override {
    if (committed_) return absl::FailedPreconditionError("source import already committed");
    BR_RETURN_IF_ERROR(Spill());
    commit_attempted_ = true;
    BR_RETURN_IF_ERROR(db_->CommitSource(database_id_, key_, points_, added_));
    committed_ = true;
    return absl::OkStatus();
  }

  uint64_t points_added() const override { return points_; }

 private:
  absl::Status Spill() {
    if (rows_->empty()) return absl::OkStatus();
    std::vector<std::shared_ptr<SegmentHandle>> spilled;
    BR_RETURN_IF_ERROR(db_->WriteRowsToSegments(*rows_, /*source_id=*/0, &pending_, &spilled));
    added_.insert(added_.end(), spilled.begin(), spilled.end());
    rows_ = std::make_unique<Memtable>();
    return absl::OkStatus();
  }

  DbImpl* const db_;
  const uint32_t database_id_;
  const std::string database_;
  const std::string key_;
  DbImpl::PendingOutputs pending_;
  std::unique_ptr<Memtable> rows_;
  std::vector<std::shared_ptr<SegmentHandle>> added_;
  uint64_t points_ = 0;
  bool committed_ = false;
  bool commit_attempted_ = false;
};

absl::StatusOr<std::unique_ptr<SourceImport>> DbImpl::BeginSourceImport(std::string_view database,
                                                                        std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("source key is empty");
  BR_ASSIGN_OR_RETURN(uint32_t id, catalog_.DatabaseId(database));
  // Everything written before this import must rank below it for last-write-wins: flush it
  // into segments, whose seqs are lower than the import's file numbers.
  BR_RETURN_IF_ERROR(Flush());
  return std::unique_ptr<SourceImport>(
      new SourceImportImpl(this, id, std::string(database), std::string(key)));
}

absl::Status DbImpl::WriteSource(const WriteBatch& batch) {
  BR_ASSIGN_OR_RETURN(auto import, BeginSourceImport(batch.database(), batch.source()));
  BR_RETURN_IF_ERROR(import->Add(batch));
  BR_RETURN_IF_ERROR(import->Commit());
  ++batches_written_;
  points_written_ += batch.point_count();
  return absl::OkStatus();
}

absl::Status DbImpl::CommitSource(uint32_t database_id, const std::string& key, uint64_t points,
                                  std::vector<std::shared_ptr<SegmentHandle>> added) {
  absl::MutexLock mlock(&manifest_mu_);
  if (!catalog_.HasDatabaseId(database_id)) {
    return absl::NotFoundError(StrCat("database id ", database_id, " was dropped"));
  }
  ManifestSource src;
  src.id = next_source_id_;
  src.database_id = database_id;
  src.key = key;
  src.points = points;
  src.written_at = absl::GetCurrentTimeNanos();
  src.min_time = INT64_MAX;
  src.max_time = INT64_MIN;
  for (const auto& h : added) {
    // Not yet visible to any reader: the entry can still be stamped.
    h->meta.source_id = src.id;
    src.min_time = std::min(src.min_time, h->meta.min_time);
    src.max_time = std::max(src.max_time, h->meta.max_time);
  }
  if (added.empty()) src.min_time = src.max_time = 0;

  std::vector<ManifestSource> sources;
  std::vector<uint64_t> replaced;
  for (const ManifestSource& s : sources_) {
    if (s.database_id == database_id && s.key == key) {
      replaced.push_back(s.id);
    } else {
      sources.push_back(s);
    }
  }
  sources.push_back(src);
  std::vector<std::shared_ptr<SegmentHandle>> remove;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& h : version_->segments) {
      if (h->meta.source_id != 0 &&
          std::find(replaced.begin(), replaced.end(), h->meta.source_id) != replaced.end()) {
        remove.push_back(h);
      }
    }
  }
  BR_RETURN_IF_ERROR(CommitSegmentChange(remove, added, sources, src.id + 1));
  DeleteObsoleteFilesLocked();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SourceInfo>> DbImpl::ListSources(std::string_view database) {
  int64_t db_id = -1;
  if (!database.empty()) {
    BR_ASSIGN_OR_RETURN(uint32_t id, catalog_.DatabaseId(database));
    db_id = id;
  }
  std::vector<SourceInfo> out;
  absl::MutexLock mlock(&manifest_mu_);
  for (const ManifestSource& s : sources_) {
    if (db_id >= 0 && s.database_id != db_id) continue;
    out.push_back(SourceInfo{catalog_.DatabaseName(s.database_id), s.key, s.points, s.min_time,
                             s.max_time, s.written_at});
  }
  std::sort(out.begin(), out.end(), [](const SourceInfo& a, const SourceInfo& b) {
    return std::tie(a.database, a.key) < std::tie(b.database, b.key);
  });
  return out;
}

absl::Status DbImpl::DropSource(std::string_view database, std::string_view key) {
  BR_ASSIGN_OR_RETURN(uint32_t db_id, catalog_.DatabaseId(database));
  absl::MutexLock mlock(&manifest_mu_);
  std::vector<ManifestSource> sources;
  int64_t dropped = -1;
  for (const ManifestSource& s : sources_) {
    if (s.database_id == db_id && s.key == key) {
      dropped = static_cast<int64_t>(s.id);
    } else {
      sources.push_back(s);
    }
  }
  if (dropped < 0) {
    return absl::NotFoundError(StrCat("no source '", key, "' in database '", database, "'"));
  }
  std::vector<std::shared_ptr<SegmentHandle>> remove;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& h : version_->segments) {
      if (h->meta.source_id == static_cast<uint64_t>(dropped)) remove.push_back(h);
    }
  }
  BR_RETURN_IF_ERROR(CommitSegmentChange(remove, {}, sources, next_source_id_));
  DeleteObsoleteFilesLocked();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Compaction

absl::StatusOr<bool> DbImpl::CompactOnce(bool force) {
  std::shared_ptr<const Version> version;
  {
    absl::MutexLock lock(&mu_);
    version = version_;
  }
  const TimestampNs now = absl::GetCurrentTimeNanos();
  // Segments are sorted by (database, partition, seq): walk each partition.
  std::vector<std::shared_ptr<SegmentHandle>> inputs;
  const auto& segs = version->segments;
  for (size_t i = 0; i < segs.size() && inputs.empty();) {
    size_t j = i;
    while (j < segs.size() && segs[j]->meta.database_id == segs[i]->meta.database_id &&
           segs[j]->meta.partition_start == segs[i]->meta.partition_start) {
      ++j;
    }
    // Runs of ordinary segments adjacent in seq order (import segments break runs).
    std::vector<std::vector<std::shared_ptr<SegmentHandle>>> runs(1);
    for (size_t k = i; k < j; ++k) {
      if (segs[k]->meta.source_id != 0) {
        runs.emplace_back();
      } else {
        runs.back().push_back(segs[k]);
      }
    }
    const bool cold = segs[i]->meta.partition_end <= now - kColdPartitionNs;
    for (auto& run : runs) {
      if (run.size() < 2) continue;
      if (force || cold || run.size() > kMaxFilesPerPartition) {
        inputs = run;
        break;
      }
      // Size-tiered: from the newest segment backwards, take older ones while each is no
      // bigger than twice what is taken so far; merge when that makes a run of 4 or more.
      // Write amplification stays logarithmic and the file count bounded.
      uint64_t total = run.back()->meta.file_size;
      size_t first = run.size() - 1;
      while (first > 0 && run[first - 1]->meta.file_size <= 2 * total) {
        --first;
        total += run[first]->meta.file_size;
      }
      if (run.size() - first >= kMinMergeRun) {
        inputs.assign(run.begin() + first, run.end());
        break;
      }
    }
    i = j;
  }
  if (inputs.empty()) return false;

  const ManifestSegment& first = inputs.front()->meta;
  PendingOutputs pending(this);
  ManifestSegment entry;
  entry.file_number = pending.NewFileNumber();
  entry.database_id = first.database_id;
  entry.partition_start = first.partition_start;
  entry.partition_end = first.partition_end;
  entry.source_id = 0;
  entry.seq = 0;
  uint64_t bytes_in = 0;
  for (const auto& h : inputs) {
    entry.seq = std::max(entry.seq, h->meta.seq);
    bytes_in += h->meta.file_size;
  }
  auto fail = [&](absl::Status s) {
    (void)fs_->DeleteFile(SegmentPath(entry.file_number));
    return s;
  };
  auto out = PartitionOutput::Create(fs_, SegmentPath(entry.file_number),
                                     SegmentMeta{catalog_.DatabaseName(entry.database_id),
                                                 entry.partition_start, entry.partition_end});
  if (!out.ok()) return fail(out.status());
  const auto cols = UnionColumns(inputs);
  ScanBatch batch;
  SegmentReadCache cache;  // series go in id order: each input block is decoded once
  for (uint32_t sid : RealSeries(inputs)) {
    InitBatch(cols, &batch);
    int sources = 0;
    for (const auto& h : inputs) {  // oldest first: later rows win
      const int idx = h->reader->FindSeries(sid);
      if (idx < 0) continue;
      ++sources;
      absl::Status s = ReadAllRows(*h->reader, idx, cols, &batch, &cache);
      if (!s.ok()) return fail(s);
    }
    if (sources > 1) SortAndDedupRows(&batch);
    absl::Status s = AddBatch(sid, cols, &batch, out->get());
    if (!s.ok()) return fail(s);
  }
  absl::Status s = (*out)->Finish(&entry);
  if (s.ok()) s = fs_->SyncDir(path_ + "/segments");
  if (!s.ok()) return fail(s);
  auto handle = OpenSegmentHandle(entry);
  if (!handle.ok()) return fail(handle.status());

  {
    absl::MutexLock mlock(&manifest_mu_);
    bool still_live = true;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& h : inputs) {
        if (std::find(version_->segments.begin(), version_->segments.end(), h) ==
            version_->segments.end()) {
          still_live = false;
        }
      }
    }
    // A delete or database drop replaced an input meanwhile: this output is stale.
    if (!still_live) {
      (*handle)->obsolete = true;
      return true;
    }
    BR_RETURN_IF_ERROR(CommitSegmentChange(inputs, {*handle}, sources_, next_source_id_));
  }
  ++compactions_;
  compaction_bytes_read_ += bytes_in;
  compaction_bytes_written_ += entry.file_size;
  DeleteObsoleteFiles();
  return true;
}

absl::Status DbImpl::CompactAll() {
  BR_RETURN_IF_ERROR(Flush());
  while (true) {
    BR_ASSIGN_OR_RETURN(bool did, CompactOnce(/*force=*/true));
    if (!did) return absl::OkStatus();
  }
}

// ---------------------------------------------------------------------------------------
// Delete

absl::Status DbImpl::Delete(const DeleteRequest& request) {
  BR_ASSIGN_OR_RETURN(SeriesMatcher matcher, SeriesMatcher::Create(request.tag_matchers));
  // Rows still in the memtable become segments first, so one rewrite covers everything
  // written before this call.
  BR_RETURN_IF_ERROR(Flush());
  std::set<uint32_t> victims;
  uint32_t db_id = 0;
  BR_RETURN_IF_ERROR(catalog_.Read(request.database, [&](const DatabaseCatalog& db) {
    db_id = db.id();
    for (uint32_t m = 0; m < db.measurements().size(); ++m) {
      if (!request.measurement.empty() && db.measurements()[m].name != request.measurement) {
        continue;
      }
      for (uint32_t sid : db.measurements()[m].series_ids) {
        if (matcher.Matches(db, sid)) victims.insert(sid);
      }
    }
    return absl::OkStatus();
  }));
  if (victims.empty() || request.min_time > request.max_time) return absl::OkStatus();

  absl::MutexLock mlock(&manifest_mu_);
  std::shared_ptr<const Version> version;
  {
    absl::MutexLock lock(&mu_);
    version = version_;
  }
  std::vector<std::shared_ptr<SegmentHandle>> remove, add;
  std::map<uint64_t, uint64_t> removed_per_source;
  PendingOutputs pending(this);
  auto cleanup = [&](absl::Status s) {
    for (auto& h : add) h->obsolete = true;
    return s;
  };
  for (const auto& h : version->segments) {
    if (h->meta.database_id != db_id || h->meta.max_time < request.min_time ||
        h->meta.min_time > request.max_time) {
      continue;
    }
    bool touched = false;
    for (const auto& e : h->reader->series()) {
      if ((e.series_id & kRollupSeriesBit) == 0 && victims.contains(e.series_id) &&
          e.max_time >= request.min_time && e.min_time <= request.max_time) {
        touched = true;
        break;
      }
    }
    if (!touched) continue;
    // Rewrite the segment without the deleted rows; it keeps its seq and source.
    ManifestSegment entry = h->meta;
    entry.file_number = pending.NewFileNumber();
    auto out = PartitionOutput::Create(
        fs_, SegmentPath(entry.file_number),
        SegmentMeta{catalog_.DatabaseName(db_id), entry.partition_start, entry.partition_end});
    if (!out.ok()) return cleanup(out.status());
    const std::vector<std::shared_ptr<SegmentHandle>> one = {h};
    const auto cols = UnionColumns(one);
    ScanBatch batch;
    SegmentReadCache cache;
    uint64_t dropped = 0;
    for (size_t idx = 0; idx < h->reader->series().size(); ++idx) {
      const uint32_t sid = h->reader->series()[idx].series_id;
      if (sid & kRollupSeriesBit) continue;
      InitBatch(cols, &batch);
      absl::Status s = ReadAllRows(*h->reader, idx, cols, &batch, &cache);
      if (!s.ok()) return cleanup(s);
      if (victims.contains(sid)) {
        ScanBatch kept;
        InitBatch(cols, &kept);
        for (size_t r = 0; r < batch.times.size(); ++r) {
          if (batch.times[r] >= request.min_time && batch.times[r] <= request.max_time) {
            ++dropped;
            continue;
          }
          kept.times.push_back(batch.times[r]);
          for (size_t c = 0; c < cols.size(); ++c) {
            AppendColumnRow(&batch.columns[c], r, &kept.columns[c]);
          }
        }
        batch = std::move(kept);
      }
      s = AddBatch(sid, cols, &batch, out->get());
      if (!s.ok()) return cleanup(s);
    }
    remove.push_back(h);
    if (h->meta.source_id != 0) removed_per_source[h->meta.source_id] += dropped;
    if ((*out)->data_rows() == 0) {
      // Nothing left: the segment just goes.
      out->reset();
      (void)fs_->DeleteFile(SegmentPath(entry.file_number));
      continue;
    }
    absl::Status s = (*out)->Finish(&entry);
    if (!s.ok()) return cleanup(s);
    auto handle = OpenSegmentHandle(entry);
    if (!handle.ok()) return cleanup(handle.status());
    add.push_back(std::move(*handle));
  }
  if (remove.empty()) return absl::OkStatus();
  absl::Status s = fs_->SyncDir(path_ + "/segments");
  if (!s.ok()) return cleanup(s);
  std::vector<ManifestSource> sources = sources_;
  for (ManifestSource& src : sources) {
    auto it = removed_per_source.find(src.id);
    if (it != removed_per_source.end()) src.points -= std::min(src.points, it->second);
  }
  s = CommitSegmentChange(remove, add, sources, next_source_id_);
  if (!s.ok()) return s;
  DeleteObsoleteFilesLocked();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Retention

absl::Status DbImpl::EnforceRetention() {
  const TimestampNs now = absl::GetCurrentTimeNanos();
  absl::MutexLock mlock(&manifest_mu_);
  std::vector<std::shared_ptr<SegmentHandle>> remove;
  std::set<std::pair<uint32_t, TimestampNs>> partitions;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& h : version_->segments) {
      auto options = catalog_.Options(h->meta.database_id);
      if (!options.ok() || options->retention_ns <= 0) continue;
      if (h->meta.partition_end <= now - options->retention_ns) {
        remove.push_back(h);
        partitions.emplace(h->meta.database_id, h->meta.partition_start);
      }
    }
  }
  if (remove.empty()) return absl::OkStatus();
  BR_RETURN_IF_ERROR(CommitSegmentChange(remove, {}, sources_, next_source_id_));
  retention_drops_ += partitions.size();
  DeleteObsoleteFilesLocked();
  return absl::OkStatus();
}

}  // namespace burnrate
