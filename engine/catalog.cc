#include "engine/catalog.h"

#include <algorithm>

#include "base/coding.h"
#include "base/status_macros.h"
#include "base/str_cat.h"

namespace burnrate {
namespace {
constexpr uint32_t kCatalogVersion = 1;

void PutOptions(std::string* out, const DatabaseOptions& o) {
  out->push_back(static_cast<char>(o.fsync));
  PutVarint64(out, static_cast<uint64_t>(o.partition_duration_ns));
  PutVarint64(out, static_cast<uint64_t>(o.retention_ns));
}

bool GetOptions(Decoder* d, DatabaseOptions* o) {
  uint8_t fsync;
  uint64_t part, ret;
  if (!d->GetByte(&fsync) || fsync > 2 || !d->GetVarint64(&part) || !d->GetVarint64(&ret)) {
    return false;
  }
  o->fsync = static_cast<FsyncPolicy>(fsync);
  o->partition_duration_ns = static_cast<int64_t>(part);
  o->retention_ns = static_cast<int64_t>(ret);
  return o->partition_duration_ns > 0 && o->retention_ns >= 0;
}

bool ValidFieldType(uint8_t t) { return t >= 1 && t <= 6; }

}  // namespace

absl::Status CheckDatabaseName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("database name is empty");
  if (name.size() > 255)
    return absl::InvalidArgumentError("database name is longer than 255 bytes");
  if (name[0] == '.') {
    return absl::InvalidArgumentError(StrCat("database name '", name, "' starts with '.'"));
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '/' || c == '\\') {
      return absl::InvalidArgumentError(
          StrCat("database name '", name, "' contains a control byte, '/' or '\\'"));
    }
  }
  return absl::OkStatus();
}

// ---- DatabaseCatalog ----

int64_t DatabaseCatalog::FindMeasurement(std::string_view name) const {
  auto it = measurement_ids_.find(std::string(name));
  return it == measurement_ids_.end() ? -1 : static_cast<int64_t>(it->second);
}

int64_t DatabaseCatalog::FindField(uint32_t measurement_id, std::string_view name) const {
  auto it = field_ids_.find(std::make_pair(measurement_id, std::string(name)));
  return it == field_ids_.end() ? -1 : static_cast<int64_t>(it->second);
}

int64_t DatabaseCatalog::FindString(std::string_view s) const {
  auto it = string_ids_.find(s);
  return it == string_ids_.end() ? -1 : static_cast<int64_t>(it->second);
}

std::vector<Tag> DatabaseCatalog::SeriesTags(uint32_t series_id) const {
  std::vector<Tag> tags;
  const Series& s = series_[series_id];
  tags.reserve(s.tags.size());
  for (auto [k, v] : s.tags) tags.push_back(Tag{strings_[k], strings_[v]});
  return tags;
}

uint32_t DatabaseCatalog::InternString(std::string_view s) {
  auto it = string_ids_.find(s);
  if (it != string_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  string_ids_.emplace(std::string_view(strings_.back()), id);
  string_bytes_ += s.size();
  return id;
}

uint32_t DatabaseCatalog::GetOrCreateMeasurement(std::string_view name) {
  auto [it, inserted] =
      measurement_ids_.try_emplace(std::string(name), static_cast<uint32_t>(measurements_.size()));
  if (inserted) measurements_.push_back(Measurement{std::string(name), {}, {}});
  return it->second;
}

uint32_t DatabaseCatalog::GetOrCreateField(uint32_t measurement_id, std::string_view name,
                                           FieldType type) {
  auto [it, inserted] = field_ids_.try_emplace(std::make_pair(measurement_id, std::string(name)),
                                               static_cast<uint32_t>(fields_.size()));
  if (inserted) {
    fields_.push_back(Field{measurement_id, std::string(name), type});
    measurements_[measurement_id].field_ids.push_back(it->second);
  }
  return it->second;
}

std::string DatabaseCatalog::SeriesKey(uint32_t measurement_id,
                                       std::span<const std::pair<uint32_t, uint32_t>> tags) const {
  std::string key;
  PutVarint32(&key, measurement_id);
  for (auto [k, v] : tags) {
    PutVarint32(&key, k);
    PutVarint32(&key, v);
  }
  return key;
}

uint32_t DatabaseCatalog::GetOrCreateSeries(uint32_t measurement_id,
                                            std::span<const Tag> sorted_tags) {
  std::vector<std::pair<uint32_t, uint32_t>> ids;
  ids.reserve(sorted_tags.size());
  for (const Tag& t : sorted_tags) ids.emplace_back(InternString(t.key), InternString(t.value));
  std::string key = SeriesKey(measurement_id, ids);
  auto [it, inserted] =
      series_ids_.try_emplace(std::move(key), static_cast<uint32_t>(series_.size()));
  if (inserted) {
    tag_pairs_ += ids.size();
    series_.push_back(Series{measurement_id, std::move(ids)});
    measurements_[measurement_id].series_ids.push_back(it->second);
  }
  return it->second;
}

size_t DatabaseCatalog::ApproximateBytes() const {
  // Heap estimates: vector slots, hash slots (~1.2x load), and string payloads.
  size_t n = string_bytes_ + strings_.size() * (sizeof(std::string) + 24);
  n += series_.size() * (sizeof(Series) + 16 + 40 + 4) + tag_pairs_ * 8;
  for (const auto& [key, id] : series_ids_) n += key.size() > 15 ? key.size() + 1 : 0;
  n += fields_.size() * (sizeof(Field) + 64);
  n += measurements_.size() * (sizeof(Measurement) + 64);
  return n;
}

void DatabaseCatalog::EncodeTo(std::string* out) const {
  PutVarint32(out, id_);
  PutLengthPrefixed(out, name_);
  PutOptions(out, options_);
  PutVarint64(out, strings_.size());
  for (const std::string& s : strings_) PutLengthPrefixed(out, s);
  PutVarint64(out, measurements_.size());
  for (const Measurement& m : measurements_) PutLengthPrefixed(out, m.name);
  PutVarint64(out, fields_.size());
  for (const Field& f : fields_) {
    PutVarint32(out, f.measurement_id);
    PutLengthPrefixed(out, f.name);
    out->push_back(static_cast<char>(f.type));
  }
  PutVarint64(out, series_.size());
  for (const Series& s : series_) {
    PutVarint32(out, s.measurement_id);
    PutVarint32(out, static_cast<uint32_t>(s.tags.size()));
    for (auto [k, v] : s.tags) {
      PutVarint32(out, k);
      PutVarint32(out, v);
    }
  }
}

bool DatabaseCatalog::DecodeFrom(Decoder* d) {
  uint64_t n;
  std::string_view sv;
  if (!d->GetVarint64(&n) || n > d->remaining()) return false;
  for (uint64_t i = 0; i < n; ++i) {
    if (!d->GetLengthPrefixed(&sv)) return false;
    if (InternString(sv) != i) return false;  // duplicate string
  }
  if (!d->GetVarint64(&n) || n > d->remaining()) return false;
  for (uint64_t i = 0; i < n; ++i) {
    if (!d->GetLengthPrefixed(&sv) || GetOrCreateMeasurement(sv) != i) return false;
  }
  if (!d->GetVarint64(&n) || n > d->remaining()) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t m;
    uint8_t type;
    if (!d->GetVarint32(&m) || m >= measurements_.size() || !d->GetLengthPrefixed(&sv) ||
        !d->GetByte(&type) || !ValidFieldType(type)) {
      return false;
    }
    if (GetOrCreateField(m, sv, static_cast<FieldType>(type)) != i) return false;
  }
  if (!d->GetVarint64(&n) || n > d->remaining()) return false;
  series_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t m, count;
    if (!d->GetVarint32(&m) || m >= measurements_.size() || !d->GetVarint32(&count) ||
        count > d->remaining()) {
      return false;
    }
    std::vector<std::pair<uint32_t, uint32_t>> tags(count);
    for (auto& [k, v] : tags) {
      if (!d->GetVarint32(&k) || !d->GetVarint32(&v) || k >= strings_.size() ||
          v >= strings_.size()) {
        return false;
      }
    }
    auto [it, inserted] = series_ids_.try_emplace(SeriesKey(m, tags), static_cast<uint32_t>(i));
    if (!inserted) return false;
    tag_pairs_ += tags.size();
    series_.push_back(Series{m, std::move(tags)});
    measurements_[m].series_ids.push_back(static_cast<uint32_t>(i));
  }
  return true;
}

// ---- Catalog ----

absl::StatusOr<uint32_t> Catalog::CreateDatabase(std::string_view name,
                                                 const DatabaseOptions& options) {
  BR_RETURN_IF_ERROR(CheckDatabaseName(name));
  if (options.partition_duration_ns <= 0) {
    return absl::InvalidArgumentError("partition duration must be positive");
  }
  if (options.retention_ns < 0) return absl::InvalidArgumentError("retention must be >= 0");
  absl::MutexLock lock(&mu_);
  for (const auto& [id, db] : databases_) {
    if (db->name() == name) {
      return absl::AlreadyExistsError(StrCat("database '", name, "' already exists"));
    }
  }
  const uint32_t id = next_database_id_++;
  databases_[id] = std::make_shared<DatabaseCatalog>(id, std::string(name), options);
  ++change_count_;
  return id;
}

absl::StatusOr<uint32_t> Catalog::DropDatabase(std::string_view name) {
  absl::MutexLock lock(&mu_);
  for (auto it = databases_.begin(); it != databases_.end(); ++it) {
    if (it->second->name() == name) {
      const uint32_t id = it->first;
      databases_.erase(it);
      ++change_count_;
      return id;
    }
  }
  return absl::NotFoundError(StrCat("database '", name, "' not found"));
}

std::vector<DatabaseInfo> Catalog::ListDatabases() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<DatabaseInfo> out;
  for (const auto& [id, db] : databases_) out.push_back(DatabaseInfo{db->name(), db->options()});
  std::sort(out.begin(), out.end(),
            [](const DatabaseInfo& a, const DatabaseInfo& b) { return a.name < b.name; });
  return out;
}

absl::StatusOr<uint32_t> Catalog::DatabaseId(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [id, db] : databases_) {
    if (db->name() == name) return id;
  }
  return absl::NotFoundError(StrCat("database '", name, "' not found"));
}

bool Catalog::HasDatabaseId(uint32_t id) const {
  absl::ReaderMutexLock lock(&mu_);
  return databases_.contains(id);
}

std::string Catalog::DatabaseName(uint32_t id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = databases_.find(id);
  return it == databases_.end() ? std::string() : it->second->name();
}

absl::StatusOr<DatabaseOptions> Catalog::Options(uint32_t id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = databases_.find(id);
  if (it == databases_.end()) return absl::NotFoundError(StrCat("database id ", id));
  return it->second->options();
}

absl::Status Catalog::Resolve(const WriteBatch& batch, ResolvedBatch* out) {
  absl::MutexLock lock(&mu_);
  for (auto& [id, db] : databases_) {
    if (db->name() == batch.database()) return ResolveLocked(db.get(), batch, out);
  }
  return absl::NotFoundError(StrCat("database '", batch.database(), "' not found"));
}

absl::Status Catalog::ResolveForDatabase(uint32_t database_id, const WriteBatch& batch,
                                         ResolvedBatch* out) {
  absl::MutexLock lock(&mu_);
  auto it = databases_.find(database_id);
  if (it == databases_.end()) return absl::NotFoundError(StrCat("database id ", database_id));
  return ResolveLocked(it->second.get(), batch, out);
}

absl::Status Catalog::ResolveLocked(DatabaseCatalog* db, const WriteBatch& batch,
                                    ResolvedBatch* out) {
  const auto& series = batch.series();
  const auto& fields = batch.fields();
  const auto& names = batch.field_names();

  // Phase 1: decide every field's id or type without changing the catalog. Each series
  // gets a batch-local measurement number once, so the per-field key is two integers
  // (local measurement, field name index) rather than a hashed name.
  absl::flat_hash_map<std::string_view, uint32_t> local_of;
  std::vector<int64_t> local_catalog_id;  // catalog id or -1
  std::vector<uint32_t> series_local(series.size());
  for (size_t s = 0; s < series.size(); ++s) {
    auto [it, inserted] =
        local_of.try_emplace(series[s].measurement, static_cast<uint32_t>(local_catalog_id.size()));
    if (inserted) local_catalog_id.push_back(db->FindMeasurement(series[s].measurement));
    series_local[s] = it->second;
  }
  absl::flat_hash_map<uint64_t, FieldType> batch_types;
  for (size_t i = 0; i < batch.points().size(); ++i) {
    const WriteBatch::Point& p = batch.points()[i];
    const uint32_t local = series_local[p.series];
    const int64_t catalog_m = local_catalog_id[local];
    for (uint32_t f = p.field_begin; f < p.field_end; ++f) {
      const WriteBatch::Field& field = fields[f];
      auto [bit, binserted] =
          batch_types.try_emplace((uint64_t{local} << 32) | field.name, field.type);
      if (binserted && catalog_m >= 0) {
        const int64_t fid = db->FindField(static_cast<uint32_t>(catalog_m), names[field.name]);
        if (fid >= 0) bit->second = db->fields()[fid].type;
      }
      if (bit->second != field.type) {
        return absl::InvalidArgumentError(
            StrCat("point ", i, ": field '", names[field.name], "' of measurement '",
                   series[p.series].measurement, "' is ", FieldTypeName(field.type),
                   " but was first written as ", FieldTypeName(bit->second)));
      }
    }
  }

  // Phase 2: create what is missing.
  out->database_id = db->id();
  out->series_ids.resize(series.size());
  std::vector<uint32_t> measurement_ids(series.size());
  for (size_t s = 0; s < series.size(); ++s) {
    measurement_ids[s] = db->GetOrCreateMeasurement(series[s].measurement);
    out->series_ids[s] = db->GetOrCreateSeries(measurement_ids[s], series[s].tags);
  }
  out->field_ids.resize(fields.size());
  out->field_types.resize(fields.size());
  absl::flat_hash_map<uint64_t, uint32_t> field_cache;
  for (const WriteBatch::Point& p : batch.points()) {
    const uint32_t m = measurement_ids[p.series];
    for (uint32_t f = p.field_begin; f < p.field_end; ++f) {
      const WriteBatch::Field& field = fields[f];
      auto [it, inserted] = field_cache.try_emplace((uint64_t{m} << 32) | field.name, 0);
      if (inserted) it->second = db->GetOrCreateField(m, names[field.name], field.type);
      out->field_ids[f] = it->second;
      out->field_types[f] = field.type;
    }
  }
  ++change_count_;
  return absl::OkStatus();
}

absl::Status Catalog::Read(std::string_view database,
                           const std::function<absl::Status(const DatabaseCatalog&)>& fn) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [id, db] : databases_) {
    if (db->name() == database) return fn(*db);
  }
  return absl::NotFoundError(StrCat("database '", database, "' not found"));
}

absl::Status Catalog::ReadPinned(
    std::string_view database,
    const std::function<absl::Status(const DatabaseCatalog&, std::shared_ptr<const void>)>& fn)
    const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [id, db] : databases_) {
    if (db->name() == database) return fn(*db, db);
  }
  return absl::NotFoundError(StrCat("database '", database, "' not found"));
}

uint64_t Catalog::change_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return change_count_;
}

size_t Catalog::series_count() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [id, db] : databases_) n += db->series_count();
  return n;
}

size_t Catalog::ApproximateBytes() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [id, db] : databases_) n += db->ApproximateBytes();
  return n;
}

std::string Catalog::Encode() const {
  absl::ReaderMutexLock lock(&mu_);
  std::string out;
  PutVarint32(&out, kCatalogVersion);
  PutVarint32(&out, next_database_id_);
  PutVarint64(&out, databases_.size());
  for (const auto& [id, db] : databases_) db->EncodeTo(&out);
  return out;
}

absl::Status Catalog::Decode(const std::string& path, std::string_view payload) {
  absl::MutexLock lock(&mu_);
  Decoder d(payload);
  uint32_t version, next_id;
  uint64_t n;
  auto bad = [&] {
    return absl::DataLossError(StrCat(path, " at offset ", 16 + d.offset(), ": malformed catalog"));
  };
  if (!d.GetVarint32(&version) || version != kCatalogVersion || !d.GetVarint32(&next_id) ||
      !d.GetVarint64(&n) || n > payload.size()) {
    return bad();
  }
  databases_.clear();
  next_database_id_ = next_id;
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t id;
    std::string_view name;
    DatabaseOptions options;
    if (!d.GetVarint32(&id) || id >= next_id || !d.GetLengthPrefixed(&name) ||
        !GetOptions(&d, &options)) {
      return bad();
    }
    auto db = std::make_shared<DatabaseCatalog>(id, std::string(name), options);
    if (!db->DecodeFrom(&d) || databases_.contains(id)) return bad();
    databases_[id] = std::move(db);
  }
  if (!d.done()) return bad();
  return absl::OkStatus();
}

}  // namespace burnrate
