#include "engine/db_impl.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <regex>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "engine/column_ops.h"
#include "engine/engine_util.h"
#include "engine/rollup.h"
#include "engine/scan_select.h"
#include "engine/segment_output.h"
#include "engine/wal_record.h"
#include "storage/file_util.h"

namespace burnrate {
namespace {

constexpr char kCatalogMagic[] = "BRCATLG1";
constexpr size_t kMaxGroupBytes = 8 << 20;

int64_t NowMicros() { return absl::GetCurrentTimeNanos() / 1000; }

// Parses "<digits>" or "<digits>.<ext>" names; returns false for anything else.
bool ParseNumberedName(const std::string& name, std::string_view prefix, std::string_view suffix,
                       uint64_t* number) {
  if (name.size() <= prefix.size() + suffix.size()) return false;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  const std::string digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 19) return false;
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *number = n;
  return true;
}

}  // namespace

SegmentHandle::~SegmentHandle() {
  if (registry) registry->Release(meta.file_number);
  if (obsolete.load()) {
    reader.reset();
    (void)fs->DeleteFile(path);
  }
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, const Options& options) {
  auto db = std::make_unique<DbImpl>(path, options);
  BR_RETURN_IF_ERROR(db->Recover());
  return std::unique_ptr<Db>(std::move(db));
}

DbImpl::DbImpl(std::string path, const Options& options)
    : path_(std::move(path)),
      options_(options),
      fs_(options.file_system ? options.file_system : FileSystem::Default()) {}

DbImpl::~DbImpl() { (void)Close(); }

void DbImpl::Log(std::string_view line) const {
  if (options_.info_log) {
    options_.info_log(line);
  } else {
    std::fprintf(stderr, "burnrate: %.*s\n", static_cast<int>(line.size()), line.data());
  }
}

std::string DbImpl::WalPath(uint64_t number) const {
  return absl::StrFormat("%s/wal/%06d.log", path_, number);
}
std::string DbImpl::SegmentPath(uint64_t number) const {
  return absl::StrFormat("%s/segments/%06d.seg", path_, number);
}
std::string DbImpl::CatalogFileName(uint64_t number) const {
  return absl::StrFormat("CATALOG-%06d", number);
}

// ---------------------------------------------------------------------------------------
// Recovery

absl::Status DbImpl::Recover() {
  if (!fs_->FileExists(path_)) {
    if (!options_.create_if_missing) {
      return absl::NotFoundError(StrCat(path_, ": data directory does not exist"));
    }
  }
  BR_RETURN_IF_ERROR(fs_->CreateDirs(path_));
  BR_ASSIGN_OR_RETURN(lock_, fs_->LockFile(path_ + "/LOCK"));
  BR_RETURN_IF_ERROR(fs_->CreateDirs(path_ + "/wal"));
  BR_RETURN_IF_ERROR(fs_->CreateDirs(path_ + "/segments"));

  const std::string manifest_path = path_ + "/MANIFEST";
  Manifest manifest;
  if (fs_->FileExists(manifest_path)) {
    std::string contents;
    BR_RETURN_IF_ERROR(fs_->ReadFileToString(manifest_path, &contents));
    BR_ASSIGN_OR_RETURN(manifest, DecodeManifest(manifest_path, std::move(contents)));
  } else {
    std::vector<std::string> segs;
    BR_RETURN_IF_ERROR(fs_->ListDir(path_ + "/segments", &segs));
    for (const std::string& s : segs) {
      if (s.ends_with(".seg")) {
        return absl::DataLossError(StrCat(manifest_path, ": missing, but segment files exist"));
      }
    }
    std::vector<std::string> top;
    BR_RETURN_IF_ERROR(fs_->ListDir(path_, &top));
    for (const std::string& s : top) {
      if (s.starts_with("CATALOG-")) {
        // An interrupted restore or a damaged directory: never start an empty database
        // over what is left.
        return absl::DataLossError(StrCat(manifest_path, ": missing, but ", s, " exists"));
      }
    }
    if (!options_.create_if_missing) {
      return absl::NotFoundError(StrCat(path_, ": not a burnrate data directory"));
    }
    absl::MutexLock lock(&manifest_mu_);
    BR_RETURN_IF_ERROR(WriteFileAtomically(fs_, path_, "MANIFEST", EncodeManifest(manifest)));
  }

  if (manifest.catalog_file_number != 0) {
    const std::string cpath = path_ + "/" + CatalogFileName(manifest.catalog_file_number);
    std::string contents;
    BR_RETURN_IF_ERROR(fs_->ReadFileToString(cpath, &contents));
    BR_ASSIGN_OR_RETURN(std::string payload, UnframeChecksummed(std::string_view(kCatalogMagic, 8),
                                                                cpath, std::move(contents)));
    BR_RETURN_IF_ERROR(catalog_.Decode(cpath, payload));
  }

  std::vector<std::shared_ptr<SegmentHandle>> segments;
  for (const ManifestSegment& m : manifest.segments) {
    BR_ASSIGN_OR_RETURN(auto h, OpenSegmentHandle(m));
    segments.push_back(std::move(h));
  }
  std::sort(segments.begin(), segments.end(), SegmentOrder);

  uint64_t next_file = manifest.next_file_number;
  {
    absl::MutexLock lock(&manifest_mu_);
    catalog_file_number_ = manifest.catalog_file_number;
    catalog_change_count_ = catalog_.change_count();
    log_number_ = manifest.log_number;
    sources_ = manifest.sources;
    next_source_id_ = manifest.next_source_id;
  }

  // Replay the WAL files the manifest still needs, oldest first.
  std::vector<std::string> wal_names;
  BR_RETURN_IF_ERROR(fs_->ListDir(path_ + "/wal", &wal_names));
  std::vector<uint64_t> wal_numbers;
  for (const std::string& n : wal_names) {
    uint64_t num;
    if (ParseNumberedName(n, "", ".log", &num)) {
      next_file = std::max(next_file, num + 1);
      if (num >= manifest.log_number) wal_numbers.push_back(num);
    }
  }
  std::sort(wal_numbers.begin(), wal_numbers.end());
  // Files no manifest names (left by an interrupted flush, compaction, import or catalog
  // write) can carry numbers at or above the manifest's counter. Start past every number on
  // disk so that no number is ever used twice: a larger number must always be a newer file,
  // and a reused name could be taken for the older file it replaced.
  {
    std::vector<std::string> names;
    BR_RETURN_IF_ERROR(fs_->ListDir(path_ + "/segments", &names));
    for (const std::string& n : names) {
      uint64_t num;
      if (ParseNumberedName(n, "", ".seg", &num)) next_file = std::max(next_file, num + 1);
    }
    names.clear();
    BR_RETURN_IF_ERROR(fs_->ListDir(path_, &names));
    for (const std::string& n : names) {
      uint64_t num;
      if (ParseNumberedName(n, "CATALOG-", "", &num) ||
          ParseNumberedName(n, "CATALOG-", ".tmp", &num)) {
        next_file = std::max(next_file, num + 1);
      }
    }
  }
  {
    absl::MutexLock lock(&mu_);
    mem_ = std::make_shared<Memtable>();
    mem_created_micros_ = NowMicros();
  }
  for (size_t i = 0; i < wal_numbers.size(); ++i) {
    absl::Status s = ReplayWal(WalPath(wal_numbers[i]));
    if (s.ok()) continue;
    if (!absl::IsDataLoss(s) || !options_.repair) return s;
    // Repair: keep the clean prefix, drop everything after it, and say exactly what.
    for (size_t j = i + 1; j < wal_numbers.size(); ++j) {
      const std::string later = WalPath(wal_numbers[j]);
      auto size = fs_->GetFileSize(later);
      report_.dropped.push_back(StrCat(later, ": dropped the whole file (", size.ok() ? *size : 0,
                                       " bytes) after an earlier corrupt WAL file"));
      BR_RETURN_IF_ERROR(fs_->DeleteFile(later));
    }
    BR_RETURN_IF_ERROR(fs_->SyncDir(path_ + "/wal"));
    break;
  }

  {
    absl::MutexLock lock(&mu_);
    uint64_t next = std::max<uint64_t>(next_file, 1);
    for (const auto& h : segments) next = std::max(next, h->meta.file_number + 1);
    next_file_number_ = next;
    version_ = std::make_shared<Version>(Version{std::move(segments)});
    BR_RETURN_IF_ERROR(OpenNewWal());
  }

  // Make the replayed rows part of segments now, so old WAL files can go and the next
  // open replays nothing twice.
  bool replayed;
  {
    absl::MutexLock lock(&mu_);
    replayed = !mem_->empty();
    imm_ = mem_;
    imm_log_number_ = wal_number_;
    mem_ = std::make_shared<Memtable>();
    mem_created_micros_ = NowMicros();
  }
  if (replayed) {
    absl::MutexLock lock(&mu_);
    flushing_ = true;
    mu_.Unlock();
    absl::Status s = FlushImmutable();
    mu_.Lock();
    flushing_ = false;
    BR_RETURN_IF_ERROR(s);
  } else {
    absl::MutexLock lock(&mu_);
    imm_.reset();
    mu_.Unlock();
    {
      absl::MutexLock mlock(&manifest_mu_);
      std::shared_ptr<const Version> v;
      uint64_t wal_number;
      {
        absl::MutexLock l2(&mu_);
        v = version_;
        wal_number = wal_number_;
      }
      BR_RETURN_IF_ERROR(
          WriteCatalogAndManifest(v->segments, wal_number, sources_, next_source_id_));
    }
    mu_.Lock();
  }
  DeleteObsoleteFiles();

  if (options_.background_work) {
    bg_thread_ = std::thread([this] { BackgroundLoop(); });
  }
  return absl::OkStatus();
}

absl::Status DbImpl::ReplayWal(const std::string& file) {
  WalReadResult result;
  absl::Status s = ReadWal(
      fs_, file,
      [this](std::string_view payload, uint64_t offset) -> absl::Status {
        absl::Status st = ApplyReplayed(payload);
        if (!st.ok()) {
          return absl::DataLossError(StrCat(st.message(), " (WAL record at offset ", offset, ")"));
        }
        return absl::OkStatus();
      },
      &result);
  report_.wal_records_replayed += result.records;
  if (result.torn_tail) {
    Log(StrCat(file, ": torn tail at offset ", result.valid_end, " (file size ", result.file_size,
               "), the last write was cut short; truncating"));
    report_.torn_tail_truncated = true;
    BR_RETURN_IF_ERROR(fs_->Truncate(file, result.valid_end));
  }
  if (s.ok()) return s;
  if (result.corrupt && options_.repair) {
    report_.dropped.push_back(StrCat(file, ": dropped bytes ", result.valid_end, " to ",
                                     result.file_size, " from the corrupt record at offset ",
                                     result.corrupt_offset, ": ", s.message()));
    Log(report_.dropped.back());
    BR_RETURN_IF_ERROR(fs_->Truncate(file, result.valid_end));
  }
  return s;
}

absl::Status DbImpl::ApplyReplayed(std::string_view payload) {
  BR_ASSIGN_OR_RETURN(DecodedWriteBatch decoded, DecodeWriteBatchRecord(payload));
  // Writes to a database dropped later are skipped: database ids are never reused.
  if (!catalog_.HasDatabaseId(decoded.database_id)) return absl::OkStatus();
  ResolvedBatch resolved;
  BR_RETURN_IF_ERROR(catalog_.ResolveForDatabase(decoded.database_id, decoded.batch, &resolved));
  std::shared_ptr<Memtable> mem;
  {
    absl::MutexLock lock(&mu_);
    mem = mem_;
  }
  mem->Apply(decoded.batch, resolved);
  report_.points_replayed += decoded.batch.point_count();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Write path

absl::Status DbImpl::Write(const WriteOptions& options, const WriteBatch& batch) {
  BR_RETURN_IF_ERROR(batch.Validate());
  if (!batch.source().empty()) return WriteSource(batch);
  if (batch.empty()) return absl::OkStatus();
  Writer w;
  w.kind = WriterKind::kBatch;
  w.batch = &batch;
  w.options = options;
  return EnqueueAndWait(&w);
}

absl::Status DbImpl::EnqueueAndWait(Writer* w) {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("database is closed");
  writers_.push_back(w);
  while (!w->done && w != writers_.front()) w->cv.Wait(&mu_);
  if (w->done) return w->status;

  // This writer leads: commit it and the batches queued behind it as one group.
  // Without a WAL (its rotation after an error failed too) nothing can be committed.
  absl::Status status = wal_ ? absl::OkStatus() : RotateWalAfterError();
  if (status.ok()) status = MakeRoomForWrite(w->kind == WriterKind::kSwitch);
  std::vector<Writer*> group;
  size_t group_bytes = 0;
  for (Writer* x : writers_) {
    if (x->kind == WriterKind::kSwitch && x != w) break;
    if (x->kind == WriterKind::kBatch) {
      const size_t b = x->batch->ApproximateBytes();
      if (!group.empty() && group_bytes + b > kMaxGroupBytes) break;
      group_bytes += b;
    }
    group.push_back(x);
    if (x->kind == WriterKind::kSwitch) break;
  }

  if (status.ok()) {
    std::shared_ptr<Memtable> mem = mem_;
    bool need_sync = false;
    bool interval_dirty = false;
    mu_.Unlock();
    // Resolve and encode outside the lock; only the leader touches wal_ and the catalog's
    // write side.
    std::vector<ResolvedBatch> resolved(group.size());
    std::vector<absl::Status> results(group.size());
    std::string record;
    absl::Status wal_status;
    for (size_t i = 0; i < group.size() && wal_status.ok(); ++i) {
      Writer* x = group[i];
      if (x->kind == WriterKind::kSync) {
        need_sync = true;
        continue;
      }
      if (x->kind != WriterKind::kBatch) continue;
      results[i] = catalog_.Resolve(*x->batch, &resolved[i]);
      if (!results[i].ok()) continue;
      auto db_options = catalog_.Options(resolved[i].database_id);
      const FsyncPolicy policy =
          x->options.fsync.value_or(db_options.ok() ? db_options->fsync : FsyncPolicy::kAlways);
      if (policy == FsyncPolicy::kAlways) need_sync = true;
      if (policy == FsyncPolicy::kInterval) interval_dirty = true;
      record.clear();
      EncodeWriteBatchRecord(resolved[i].database_id, *x->batch, &record);
      wal_status = wal_->AddRecord(record);
      wal_bytes_ += record.size() + 12;
    }
    if (wal_status.ok() && need_sync) {
      wal_status = wal_->Sync();
      ++wal_syncs_;
    }
    if (wal_status.ok()) {
      for (size_t i = 0; i < group.size(); ++i) {
        Writer* x = group[i];
        if (x->kind != WriterKind::kBatch || !results[i].ok()) continue;
        mem->Apply(*x->batch, resolved[i]);
        ++batches_written_;
        points_written_ += x->batch->point_count();
      }
    }
    mu_.Lock();
    if (!wal_status.ok()) {
      // The WAL file may now end in a partial record: never append after it. Later writes
      // go to a fresh file; recovery reads the partial record as that file's torn tail.
      Log(StrCat("WAL write failed: ", wal_status.message()));
      (void)RotateWalAfterError();
      status = wal_status;
    } else {
      if (need_sync) {
        wal_dirty_ = false;
        last_wal_sync_micros_ = NowMicros();
      } else if (interval_dirty) {
        wal_dirty_ = true;
      }
      for (size_t i = 0; i < group.size(); ++i) group[i]->status = results[i];
    }
  }

  for (Writer* x : group) {
    if (!status.ok()) x->status = status;
    x->done = true;
    if (x != w) x->cv.Signal();
  }
  for (size_t i = 0; i < group.size(); ++i) writers_.pop_front();
  if (!writers_.empty()) writers_.front()->cv.Signal();
  return w->status;
}

absl::Status DbImpl::RotateWalAfterError() {
  if (wal_) {
    (void)wal_->Close();
    wal_.reset();
  }
  return OpenNewWal();
}

absl::Status DbImpl::OpenNewWal() {
  const uint64_t number = next_file_number_++;
  BR_ASSIGN_OR_RETURN(auto wal, WalWriter::Create(fs_, WalPath(number)));
  // Records in the new file are acknowledged only once its name is durable too.
  BR_RETURN_IF_ERROR(wal->Sync());
  BR_RETURN_IF_ERROR(fs_->SyncDir(path_ + "/wal"));
  wal_ = std::move(wal);
  wal_number_ = number;
  return absl::OkStatus();
}

absl::Status DbImpl::MakeRoomForWrite(bool force_switch) {
  while (true) {
    const bool full = mem_->ApproximateBytes() >= options_.memtable_bytes;
    if (!force_switch && !full) return absl::OkStatus();
    if (force_switch && mem_->empty()) return absl::OkStatus();
    if (imm_ != nullptr) {
      // The previous memtable is still being written out. Flush it here unless someone
      // already is (the background thread may itself be the leader waiting here).
      if (!flushing_) {
        MaybeFlushLocked();
        if (!bg_error_.ok()) return bg_error_;
        continue;
      }
      flush_cv_.Wait(&mu_);
      continue;
    }
    BR_RETURN_IF_ERROR(SwitchMemtable());
    if (!options_.background_work) {
      MaybeFlushLocked();
      return bg_error_;
    }
    bg_cv_.Signal();
    return absl::OkStatus();
  }
}

absl::Status DbImpl::SwitchMemtable() {
  // The old WAL must be durable before its memtable is flushed and it is deleted; syncing it
  // here also makes every earlier kInterval/kNone write durable.
  if (wal_) {
    absl::Status s = wal_->Sync();
    if (!s.ok()) {
      (void)RotateWalAfterError();
      return s;
    }
    (void)wal_->Close();
    wal_.reset();
  }
  BR_RETURN_IF_ERROR(OpenNewWal());
  imm_ = mem_;
  imm_log_number_ = wal_number_;
  mem_ = std::make_shared<Memtable>();
  mem_created_micros_ = NowMicros();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Flush

void DbImpl::MaybeFlushLocked() {
  if (imm_ == nullptr || flushing_) return;
  flushing_ = true;
  mu_.Unlock();
  absl::Status s = FlushImmutable();
  mu_.Lock();
  flushing_ = false;
  bg_error_ = s;
  if (!s.ok()) Log(StrCat("flush failed: ", s.message()));
  flush_cv_.SignalAll();
  if (s.ok() && !options_.background_work) {
    // Without a background thread, compaction keeps pace with flushes right here.
    mu_.Unlock();
    while (true) {
      auto did = CompactOnce(/*force=*/false);
      if (!did.ok()) Log(StrCat("compaction failed: ", did.status().message()));
      if (!did.ok() || !*did) break;
    }
    mu_.Lock();
  } else if (s.ok()) {
    bg_cv_.Signal();
  }
}

DbImpl::PendingOutputs::~PendingOutputs() {
  absl::MutexLock lock(&db_->pending_mu_);
  for (uint64_t n : numbers_) db_->pending_outputs_.erase(db_->pending_outputs_.find(n));
}

uint64_t DbImpl::PendingOutputs::NewFileNumber() {
  const uint64_t n = db_->next_file_number_++;
  absl::MutexLock lock(&db_->pending_mu_);
  db_->pending_outputs_.insert(n);
  numbers_.push_back(n);
  return n;
}

absl::Status DbImpl::WriteRowsToSegments(const Memtable& rows, uint64_t source_id,
                                         PendingOutputs* pending,
                                         std::vector<std::shared_ptr<SegmentHandle>>* added) {
  std::vector<std::unique_ptr<PartitionOutput>> created;
  std::vector<ManifestSegment> entries;
  auto cleanup = [&](absl::Status s) {
    for (auto& o : created) (void)fs_->DeleteFile(o->path());
    for (auto& h : *added) h->obsolete = true;
    added->clear();
    return s;
  };
  for (uint32_t db_id : rows.DatabaseIds()) {
    auto db_options = catalog_.Options(db_id);
    if (!db_options.ok()) continue;  // dropped
    const int64_t dur = db_options->partition_duration_ns;
    const std::string db_name = catalog_.DatabaseName(db_id);
    std::map<TimestampNs, std::pair<PartitionOutput*, ManifestSegment>> outputs;
    absl::Status status;
    std::vector<OutputColumn> cols;
    std::vector<ScanColumn> slices;
    rows.ForEachSeries(db_id, [&](uint32_t sid, const MemSeries& series) {
      size_t begin = 0;
      while (status.ok() && begin < series.times.size()) {
        const TimestampNs pstart = SafePartitionStart(series.times[begin], dur);
        const TimestampNs pend = PartitionEnd(pstart, dur);
        size_t end = begin;
        while (end < series.times.size() && (series.times[end] < pend || pend == INT64_MAX)) {
          ++end;
        }
        auto it = outputs.find(pstart);
        if (it == outputs.end()) {
          ManifestSegment entry;
          entry.file_number = pending->NewFileNumber();
          entry.seq = entry.file_number;
          entry.source_id = source_id;
          entry.database_id = db_id;
          entry.partition_start = pstart;
          entry.partition_end = pend;
          auto out = PartitionOutput::Create(fs_, SegmentPath(entry.file_number),
                                             SegmentMeta{db_name, pstart, pend});
          if (!out.ok()) {
            status = out.status();
            return;
          }
          created.push_back(std::move(*out));
          it = outputs.emplace(pstart, std::make_pair(created.back().get(), entry)).first;
        }
        cols.clear();
        slices.resize(series.columns.size());
        for (size_t c = 0; c < series.columns.size(); ++c) {
          const ScanColumn* data = &series.columns[c];
          if (begin != 0 || end != series.times.size()) {
            ClearColumn(&slices[c]);
            slices[c].type = data->type;
            AppendColumnRows(*data, begin, end, &slices[c]);
            data = &slices[c];
          }
          cols.push_back(OutputColumn{series.field_ids[c], data});
        }
        status = it->second.first->AddSeries(
            sid, std::span<const TimestampNs>(series.times.data() + begin, end - begin), cols);
        begin = end;
      }
    });
    if (!status.ok()) return cleanup(status);
    for (auto& [pstart, out] : outputs) {
      ManifestSegment& entry = out.second;
      absl::Status s = out.first->Finish(&entry);
      if (!s.ok()) return cleanup(s);
      auto h = OpenSegmentHandle(entry);
      if (!h.ok()) return cleanup(h.status());
      added->push_back(std::move(*h));
    }
  }
  if (!added->empty()) {
    absl::Status s = fs_->SyncDir(path_ + "/segments");
    if (!s.ok()) return cleanup(s);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<SegmentHandle>> DbImpl::OpenSegmentHandle(
    const ManifestSegment& entry) {
  auto h = std::make_shared<SegmentHandle>();
  h->registry = segment_registry_;
  segment_registry_->Hold(entry.file_number);
  h->meta = entry;
  h->path = SegmentPath(entry.file_number);
  h->fs = fs_;
  BR_ASSIGN_OR_RETURN(h->reader, SegmentReader::Open(fs_, h->path));
  return h;
}

absl::Status DbImpl::FlushImmutable() {
  std::shared_ptr<Memtable> imm;
  uint64_t log_number;
  {
    absl::MutexLock lock(&mu_);
    imm = imm_;
    log_number = imm_log_number_;
  }
  if (imm == nullptr) return absl::OkStatus();

  PendingOutputs pending(this);
  std::vector<std::shared_ptr<SegmentHandle>> added;
  BR_RETURN_IF_ERROR(WriteRowsToSegments(*imm, /*source_id=*/0, &pending, &added));
  uint64_t bytes = 0;
  for (const auto& h : added) bytes += h->meta.file_size;
  {
    absl::MutexLock mlock(&manifest_mu_);
    std::vector<std::shared_ptr<SegmentHandle>> segments;
    {
      absl::MutexLock lock(&mu_);
      segments = version_->segments;
    }
    for (auto& h : added) {
      if (catalog_.HasDatabaseId(h->meta.database_id)) segments.push_back(h);
    }
    std::sort(segments.begin(), segments.end(), SegmentOrder);
    absl::Status s = WriteCatalogAndManifest(segments, log_number, sources_, next_source_id_);
    if (!s.ok()) {
      // The new manifest may have reached the disk (a failed directory fsync after the
      // rename), so its segments must stay until a later manifest supersedes it; they are
      // garbage-collected then.
      return s;
    }
    absl::MutexLock lock(&mu_);
    InstallVersion(std::move(segments));
    imm_.reset();
  }
  ++flushes_;
  flushed_points_ += imm->points();
  flush_bytes_ += bytes;
  DeleteObsoleteFiles();
  return absl::OkStatus();
}

absl::Status DbImpl::WriteCatalogAndManifest(
    const std::vector<std::shared_ptr<SegmentHandle>>& segments, uint64_t log_number,
    const std::vector<ManifestSource>& sources, uint64_t next_source_id) {
  Manifest m;
  m.sources = sources;
  m.next_source_id = next_source_id;
  const uint64_t changes = catalog_.change_count();
  if (changes != catalog_change_count_ || catalog_file_number_ == 0) {
    const uint64_t number = next_file_number_++;
    const std::string contents =
        FrameChecksummed(std::string_view(kCatalogMagic, 8), catalog_.Encode());
    BR_RETURN_IF_ERROR(WriteFileAtomically(fs_, path_, CatalogFileName(number), contents));
    m.catalog_file_number = number;
  } else {
    m.catalog_file_number = catalog_file_number_;
  }
  m.log_number = log_number;
  for (const auto& h : segments) m.segments.push_back(h->meta);
  m.next_file_number = next_file_number_;
  absl::Status s = WriteFileAtomically(fs_, path_, "MANIFEST", EncodeManifest(m));
  manifest_uncertain_ = !s.ok();
  BR_RETURN_IF_ERROR(s);
  // Only now is the new catalog the one a restart reads; until then the old one must stay.
  catalog_file_number_ = m.catalog_file_number;
  catalog_change_count_ = changes;
  log_number_ = log_number;
  if (&sources != &sources_) sources_ = sources;
  next_source_id_ = next_source_id;
  return absl::OkStatus();
}

void DbImpl::InstallVersion(std::vector<std::shared_ptr<SegmentHandle>> segments) {
  for (const auto& old : version_->segments) {
    if (std::find(segments.begin(), segments.end(), old) == segments.end()) old->obsolete = true;
  }
  version_ = std::make_shared<Version>(Version{std::move(segments)});
}

void DbImpl::DeleteObsoleteFiles() {
  absl::MutexLock lock(&manifest_mu_);
  DeleteObsoleteFilesLocked();
}

void DbImpl::DeleteObsoleteFilesLocked() {
  if (manifest_uncertain_) return;
  // List first, then collect what is live. A file a listing shows was created before the
  // listing, so its number was registered as a pending output (or was already in a version)
  // before that; and it stays pending until a version names it, which, like every version
  // change, needs manifest_mu_ (held here). Collecting first would miss a number allocated
  // and created between the two steps, and delete a file the next manifest names.
  std::vector<std::string> wal_names, segment_names, top_names;
  const bool wal_listed = fs_->ListDir(path_ + "/wal", &wal_names).ok();
  const bool segments_listed = fs_->ListDir(path_ + "/segments", &segment_names).ok();
  const bool top_listed = fs_->ListDir(path_, &top_names).ok();

  const uint64_t log_number = log_number_;
  const uint64_t catalog_number = catalog_file_number_;
  std::set<uint64_t> live_segments;
  uint64_t current_wal;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& h : version_->segments) live_segments.insert(h->meta.file_number);
    current_wal = wal_number_;
  }
  {
    // Segments being written (flush, compaction, import, delete) are not yet in the version.
    absl::MutexLock lock(&pending_mu_);
    live_segments.insert(pending_outputs_.begin(), pending_outputs_.end());
  }
  // Segments an older version still references (a scan or a backup holds it) stay until the
  // last reference goes; the handle deletes its file then.
  std::vector<uint64_t> held;
  segment_registry_->AppendHeld(&held);
  live_segments.insert(held.begin(), held.end());

  if (wal_listed) {
    for (const std::string& n : wal_names) {
      uint64_t num;
      if (ParseNumberedName(n, "", ".log", &num) && num < log_number && num != current_wal) {
        (void)fs_->DeleteFile(path_ + "/wal/" + n);
      }
    }
  }
  if (segments_listed) {
    for (const std::string& n : segment_names) {
      uint64_t num;
      const bool seg = ParseNumberedName(n, "", ".seg", &num);
      if ((seg && !live_segments.contains(num)) || n.ends_with(".tmp")) {
        (void)fs_->DeleteFile(path_ + "/segments/" + n);
      }
    }
  }
  if (top_listed) {
    for (const std::string& n : top_names) {
      uint64_t num;
      if ((ParseNumberedName(n, "CATALOG-", "", &num) && num != catalog_number) ||
          n.ends_with(".tmp")) {
        (void)fs_->DeleteFile(path_ + "/" + n);
      }
    }
  }
}

void DbImpl::BackgroundLoop() {
  absl::MutexLock lock(&mu_);
  while (!shutting_down_) {
    const int64_t wait_ms = std::clamp<int64_t>(
        std::min(options_.fsync_interval_ms, options_.memtable_max_age_ms), 1, 1000);
    bg_cv_.WaitWithTimeout(&mu_, absl::Milliseconds(wait_ms));
    if (shutting_down_) break;
    if (imm_ != nullptr && !flushing_) {
      MaybeFlushLocked();
      continue;
    }
    {
      mu_.Unlock();
      auto did = CompactOnce(/*force=*/false);
      mu_.Lock();
      if (!did.ok()) Log(StrCat("compaction failed: ", did.status().message()));
      if (did.ok() && *did) continue;
    }
    const int64_t now = NowMicros();
    if (now - last_retention_micros_ >= 60'000'000) {
      last_retention_micros_ = now;
      mu_.Unlock();
      absl::Status rs = EnforceRetention();
      mu_.Lock();
      if (!rs.ok()) Log(StrCat("retention failed: ", rs.message()));
    }
    const bool too_old = !mem_->empty() && imm_ == nullptr &&
                         now - mem_created_micros_ >= options_.memtable_max_age_ms * 1000;
    const bool needs_sync =
        wal_dirty_ && now - last_wal_sync_micros_ >= options_.fsync_interval_ms * 1000;
    if (too_old || needs_sync) {
      Writer w;
      w.kind = too_old ? WriterKind::kSwitch : WriterKind::kSync;
      mu_.Unlock();
      absl::Status s = EnqueueAndWait(&w);
      mu_.Lock();
      if (!s.ok()) Log(StrCat("background ", too_old ? "switch" : "sync", ": ", s.message()));
    }
  }
}

absl::Status DbImpl::Flush() {
  Writer w;
  w.kind = WriterKind::kSwitch;
  BR_RETURN_IF_ERROR(EnqueueAndWait(&w));
  absl::MutexLock lock(&mu_);
  while (imm_ != nullptr) {
    if (!flushing_) {
      MaybeFlushLocked();
      if (!bg_error_.ok()) return bg_error_;
      continue;
    }
    flush_cv_.Wait(&mu_);
    if (!bg_error_.ok()) return bg_error_;
  }
  return absl::OkStatus();
}

absl::StatusOr<DbImpl::BackupSnapshot> DbImpl::PinSnapshot() {
  BR_RETURN_IF_ERROR(Flush());
  absl::MutexLock mlock(&manifest_mu_);
  BackupSnapshot snap;
  {
    absl::MutexLock lock(&mu_);
    snap.version = version_;
  }
  Manifest m;
  m.catalog_file_number = catalog_file_number_;
  m.log_number = log_number_;
  m.next_file_number = next_file_number_;
  m.sources = sources_;
  m.next_source_id = next_source_id_;
  for (const auto& h : snap.version->segments) m.segments.push_back(h->meta);
  snap.manifest_bytes = EncodeManifest(m);
  if (catalog_file_number_ != 0) {
    snap.catalog_name = CatalogFileName(catalog_file_number_);
    BR_RETURN_IF_ERROR(fs_->ReadFileToString(path_ + "/" + snap.catalog_name, &snap.catalog_bytes));
  }
  return snap;
}

absl::Status DbImpl::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_ || wal_ == nullptr || version_ == nullptr) {
      // Already closed, or Recover failed part way: nothing to flush.
      closed_ = true;
      shutting_down_ = true;
      bg_cv_.SignalAll();
    }
  }
  if (bg_thread_.joinable() && closed_flag()) bg_thread_.join();
  if (closed_flag()) {
    lock_.reset();
    return absl::OkStatus();
  }
  absl::Status s = Flush();
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    closed_ = true;
    bg_cv_.SignalAll();
  }
  if (bg_thread_.joinable()) bg_thread_.join();
  {
    absl::MutexLock lock(&mu_);
    if (wal_) {
      absl::Status ws = wal_->Sync();
      if (s.ok()) s = ws;
      (void)wal_->Close();
      wal_.reset();
    }
    // Readers may still hold versions; segment files are deleted with their last reference.
  }
  lock_.reset();
  return s;
}

// ---------------------------------------------------------------------------------------
// Databases and metadata

absl::Status DbImpl::CreateDatabase(std::string_view name, const DatabaseOptions& options) {
  absl::MutexLock mlock(&manifest_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("database is closed");
  }
  BR_RETURN_IF_ERROR(catalog_.CreateDatabase(name, options).status());
  std::shared_ptr<const Version> v;
  {
    absl::MutexLock lock(&mu_);
    v = version_;
  }
  absl::Status s = WriteCatalogAndManifest(v->segments, log_number_, sources_, next_source_id_);
  if (!s.ok()) {
    (void)catalog_.DropDatabase(name);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DatabaseInfo>> DbImpl::ListDatabases() {
  return catalog_.ListDatabases();
}

absl::Status DbImpl::DropDatabase(std::string_view name) {
  absl::MutexLock mlock(&manifest_mu_);
  BR_ASSIGN_OR_RETURN(uint32_t id, catalog_.DropDatabase(name));
  std::vector<std::shared_ptr<SegmentHandle>> keep;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& h : version_->segments) {
      if (h->meta.database_id != id) keep.push_back(h);
    }
  }
  std::vector<ManifestSource> sources;
  for (const ManifestSource& src : sources_) {
    if (src.database_id != id) sources.push_back(src);
  }
  BR_RETURN_IF_ERROR(WriteCatalogAndManifest(keep, log_number_, sources, next_source_id_));
  {
    absl::MutexLock lock(&mu_);
    InstallVersion(std::move(keep));
    mem_->DropDatabase(id);
    if (imm_) imm_->DropDatabase(id);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DbImpl::ListMeasurements(std::string_view database) {
  std::vector<std::string> out;
  BR_RETURN_IF_ERROR(catalog_.Read(database, [&](const DatabaseCatalog& db) {
    for (const auto& m : db.measurements()) out.push_back(m.name);
    return absl::OkStatus();
  }));
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<FieldInfo>> DbImpl::ListFields(std::string_view database,
                                                          std::string_view measurement) {
  std::vector<FieldInfo> out;
  BR_RETURN_IF_ERROR(catalog_.Read(database, [&](const DatabaseCatalog& db) {
    const int64_t m = db.FindMeasurement(measurement);
    if (m < 0) return absl::OkStatus();
    for (uint32_t f : db.measurements()[m].field_ids) {
      out.push_back(FieldInfo{db.fields()[f].name, db.fields()[f].type});
    }
    return absl::OkStatus();
  }));
  std::sort(out.begin(), out.end(),
            [](const FieldInfo& a, const FieldInfo& b) { return a.name < b.name; });
  return out;
}

absl::StatusOr<std::vector<SeriesInfo>> DbImpl::ListSeries(
    std::string_view database, std::string_view measurement,
    const std::vector<TagMatcher>& matchers) {
  BR_ASSIGN_OR_RETURN(SeriesMatcher matcher, SeriesMatcher::Create(matchers));
  std::vector<SeriesInfo> out;
  BR_RETURN_IF_ERROR(catalog_.Read(database, [&](const DatabaseCatalog& db) {
    for (uint32_t m = 0; m < db.measurements().size(); ++m) {
      if (!measurement.empty() && db.measurements()[m].name != measurement) continue;
      for (uint32_t sid : db.measurements()[m].series_ids) {
        if (matcher.Matches(db, sid)) {
          out.push_back(SeriesInfo{sid, db.measurements()[m].name, db.SeriesTags(sid)});
        }
      }
    }
    return absl::OkStatus();
  }));
  return out;
}

DbStats DbImpl::GetStats() {
  DbStats s;
  s.batches_written = batches_written_;
  s.points_written = points_written_;
  s.wal_bytes_written = wal_bytes_;
  s.wal_syncs = wal_syncs_;
  s.flushes = flushes_;
  s.flushed_points = flushed_points_;
  {
    absl::MutexLock lock(&mu_);
    s.memtable_bytes = mem_ ? mem_->ApproximateBytes() : 0;
    s.memtable_points = mem_ ? mem_->points() : 0;
    if (imm_) {
      s.memtable_bytes += imm_->ApproximateBytes();
      s.memtable_points += imm_->points();
    }
    uint64_t in_partition = 0;
    for (size_t i = 0; i < version_->segments.size(); ++i) {
      const auto& h = version_->segments[i];
      ++s.segment_files;
      s.segment_bytes += h->meta.file_size;
      s.segment_rows += h->meta.row_count;
      const bool same = i > 0 &&
                        version_->segments[i - 1]->meta.database_id == h->meta.database_id &&
                        version_->segments[i - 1]->meta.partition_start == h->meta.partition_start;
      in_partition = same ? in_partition + 1 : 1;
      if (!same) ++s.partitions;
      s.max_files_per_partition = std::max(s.max_files_per_partition, in_partition);
    }
  }
  s.flush_bytes_written = flush_bytes_;
  s.compactions = compactions_;
  s.compaction_bytes_read = compaction_bytes_read_;
  s.compaction_bytes_written = compaction_bytes_written_;
  s.write_amplification =
      s.flush_bytes_written == 0
          ? 0
          : static_cast<double>(s.flush_bytes_written + s.compaction_bytes_written) /
                static_cast<double>(s.flush_bytes_written);
  s.partitions_dropped_by_retention = retention_drops_;
  {
    absl::MutexLock mlock(&manifest_mu_);
    s.sources = sources_.size();
  }
  s.series = catalog_.series_count();
  s.databases = catalog_.ListDatabases().size();
  s.catalog_bytes = catalog_.ApproximateBytes();
  return s;
}

// ---------------------------------------------------------------------------------------
// Scan

absl::StatusOr<SeriesSet> DbImpl::ResolveSeries(std::string_view database,
                                                std::string_view measurement,
                                                const std::vector<TagMatcher>& matchers) {
  ScanRequest request;
  request.database = std::string(database);
  request.measurement = std::string(measurement);
  request.tag_matchers = matchers;
  ScanSelection sel;
  BR_RETURN_IF_ERROR(SelectForScan(catalog_, request, ScanFields::kNone, nullptr, &sel));
  return std::move(sel.series);
}

absl::Status DbImpl::SnapshotForScan(const ScanRequest& request, ScanFields fields,
                                     std::shared_ptr<const Version>* version,
                                     std::shared_ptr<Memtable>* mem, std::shared_ptr<Memtable>* imm,
                                     ScanSelection* sel) {
  {
    absl::MutexLock lock(&mu_);
    *version = version_;
    *mem = mem_;
    *imm = imm_;
  }
  BR_ASSIGN_OR_RETURN(const uint32_t id, catalog_.DatabaseId(request.database));
  BR_ASSIGN_OR_RETURN(const DatabaseOptions db_options, catalog_.Options(id));
  SeriesCandidates candidates;
  FindCandidates(**version, mem->get(), imm->get(), id, db_options.partition_duration_ns, request,
                 &candidates);
  return SelectForScan(catalog_, request, fields, &candidates, sel);
}

absl::Status DbImpl::Scan(const ScanRequest& request, const ScanSink& sink) {
  std::shared_ptr<const Version> version;
  std::shared_ptr<Memtable> mem, imm;
  ScanSelection sel;
  BR_RETURN_IF_ERROR(SnapshotForScan(request, ScanFields::kAll, &version, &mem, &imm, &sel));
  const SeriesSet& selected = sel.series;
  const std::vector<int64_t>& field_ids = sel.field_ids;
  const std::vector<std::string>& field_names = sel.field_names;
  const std::vector<FieldType>& field_types = sel.field_types;
  const uint32_t db_id = sel.db_id;
  const int64_t partition_duration = sel.partition_duration;
  if (selected.size() == 0 || request.min_time > request.max_time) return absl::OkStatus();

  // This database's segments overlapping the range, by (partition, file number).
  std::vector<const SegmentHandle*> segs;
  for (const auto& h : version->segments) {
    if (h->meta.database_id == db_id && h->meta.max_time >= request.min_time &&
        h->meta.min_time <= request.max_time &&
        InPartitionShare(PartitionIndex(h->meta.partition_start, partition_duration),
                         request.partition_stride, request.partition_phase)) {
      segs.push_back(h.get());
    }
  }

  auto init_batch = [&](ScanBatch* b) {
    b->times.clear();
    b->columns.resize(field_ids.size());
    for (size_t i = 0; i < field_ids.size(); ++i) {
      ClearColumn(&b->columns[i]);
      b->columns[i].name = field_names[i];
      b->columns[i].type = field_types[i];
    }
  };

  // For each selected series, the (segment, series entry) pairs holding it, in segment order
  // (partition, then seq): one pass over the segments' series tables instead of a lookup
  // per (series, segment).
  const uint32_t max_id = selected.ids.back();  // ascending
  std::vector<int32_t> selected_of(static_cast<size_t>(max_id) + 1, -1);
  for (size_t k = 0; k < selected.size(); ++k) {
    selected_of[selected.ids[k]] = static_cast<int32_t>(k);
  }
  std::vector<std::vector<std::pair<uint32_t, int>>> hits(selected.size());
  for (size_t g = 0; g < segs.size(); ++g) {
    const auto& entries = segs[g]->reader->series();
    for (size_t e = 0; e < entries.size(); ++e) {
      const uint32_t id = entries[e].series_id;
      if (id & kRollupSeriesBit) break;  // rollup tables sort after every real series
      if (id > max_id || selected_of[id] < 0) continue;
      if (entries[e].max_time < request.min_time || entries[e].min_time > request.max_time) {
        continue;
      }
      hits[selected_of[id]].emplace_back(static_cast<uint32_t>(g), static_cast<int>(e));
    }
  }

  ScanBatch out, memrows, tmp;
  std::vector<std::pair<const SegmentHandle*, int>> part_segs;
  // Series are read in id order, so each segment block is decoded once per scan.
  SegmentReadCache cache;
  for (size_t k = 0; k < selected.size(); ++k) {
    const uint32_t sid = selected.ids[k];
    const auto& h = hits[k];
    // Memtable rows (older immutable first, so the newer memtable wins).
    init_batch(&memrows);
    size_t mem_count = 0;
    if (imm) {
      mem_count +=
          imm->ReadSeries(db_id, sid, request.min_time, request.max_time, field_ids, &memrows);
    }
    const size_t imm_count = mem_count;
    mem_count +=
        mem->ReadSeries(db_id, sid, request.min_time, request.max_time, field_ids, &memrows);
    if (imm_count > 0 && mem_count > imm_count) SortAndDedupRows(&memrows);

    size_t hit_i = 0;
    size_t mem_i = 0;
    while (true) {
      const bool have_seg = hit_i < h.size();
      const bool have_mem = mem_i < memrows.times.size();
      if (!have_seg && !have_mem) break;
      TimestampNs pstart;
      if (have_seg && have_mem) {
        pstart = std::min(segs[h[hit_i].first]->meta.partition_start,
                          SafePartitionStart(memrows.times[mem_i], partition_duration));
      } else if (have_seg) {
        pstart = segs[h[hit_i].first]->meta.partition_start;
      } else {
        pstart = SafePartitionStart(memrows.times[mem_i], partition_duration);
      }
      const TimestampNs pend = PartitionEnd(pstart, partition_duration);
      const int64_t pindex = PartitionIndex(pstart, partition_duration);
      // Sources in this partition, oldest first.
      part_segs.clear();
      while (hit_i < h.size() && segs[h[hit_i].first]->meta.partition_start == pstart) {
        part_segs.emplace_back(segs[h[hit_i].first], h[hit_i].second);
        ++hit_i;
      }
      size_t mem_end = mem_i;
      while (mem_end < memrows.times.size() &&
             (memrows.times[mem_end] < pend || pend == INT64_MAX)) {
        ++mem_end;
      }
      if (!InPartitionShare(pindex, request.partition_stride, request.partition_phase)) {
        mem_i = mem_end;  // another caller's share (only memtable rows can be here)
        continue;
      }
      const size_t sources = part_segs.size() + (mem_end > mem_i ? 1 : 0);
      init_batch(&out);
      out.series_id = sid;
      out.partition = pindex;
      out.tags = selected.tags(k);
      for (const auto& [h, idx] : part_segs) {
        BR_RETURN_IF_ERROR(h->reader->ReadSeries(idx, request.min_time, request.max_time, field_ids,
                                                 &out, &cache));
      }
      if (mem_end > mem_i) {
        out.times.insert(out.times.end(), memrows.times.begin() + mem_i,
                         memrows.times.begin() + mem_end);
        for (size_t c = 0; c < out.columns.size(); ++c) {
          AppendColumnRows(memrows.columns[c], mem_i, mem_end, &out.columns[c]);
        }
      }
      mem_i = mem_end;
      if (sources > 1) SortAndDedupRows(&out);
      if (!out.times.empty()) BR_RETURN_IF_ERROR(sink(out));
    }
  }
  return absl::OkStatus();
}

}  // namespace burnrate
