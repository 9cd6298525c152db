#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/coding.h"
#include "burnrate/db.h"
#include "burnrate/options.h"
#include "burnrate/types.h"
#include "burnrate/write_batch.h"

namespace burnrate {

// The schema of one database: tag dictionary, measurements, fields and series.
//
// Ids are dense and positional: measurement, field and series ids index the vectors below
// and are never reused while the database exists, so segment files can refer to them.
// A field's type is fixed by its first write per measurement.
//
// Not thread-safe on its own: Catalog's mutex guards every DatabaseCatalog.
class DatabaseCatalog {
 public:
  struct Measurement {
    std::string name;
    std::vector<uint32_t> field_ids;   // in creation order
    std::vector<uint32_t> series_ids;  // ascending
  };
  struct Field {
    uint32_t measurement_id;
    std::string name;
    FieldType type;
  };
  struct Series {
    uint32_t measurement_id;
    // (key string id, value string id), sorted by key string.
    std::vector<std::pair<uint32_t, uint32_t>> tags;
  };

  DatabaseCatalog(uint32_t id, std::string name, const DatabaseOptions& options)
      : id_(id), name_(std::move(name)), options_(options) {}

  uint32_t id() const { return id_; }
  const std::string& name() const { return name_; }
  const DatabaseOptions& options() const { return options_; }

  const std::vector<Measurement>& measurements() const { return measurements_; }
  const std::vector<Field>& fields() const { return fields_; }
  size_t series_count() const { return series_.size(); }
  const Series& series(uint32_t id) const { return series_[id]; }
  // Strings are never removed or moved (a deque): a reference stays valid as long as the
  // catalog does, also while other strings are added.
  const std::string& str(uint32_t id) const { return strings_[id]; }

  // -1 when absent.
  int64_t FindMeasurement(std::string_view name) const;
  int64_t FindField(uint32_t measurement_id, std::string_view name) const;
  int64_t FindString(std::string_view s) const;

  // The series' tags as strings, sorted by key.
  std::vector<Tag> SeriesTags(uint32_t series_id) const;

  uint32_t InternString(std::string_view s);
  uint32_t GetOrCreateMeasurement(std::string_view name);
  // Creates the field if absent; the caller has checked the type.
  uint32_t GetOrCreateField(uint32_t measurement_id, std::string_view name, FieldType type);
  uint32_t GetOrCreateSeries(uint32_t measurement_id, std::span<const Tag> sorted_tags);

  // Approximate heap bytes.
  size_t ApproximateBytes() const;

  void EncodeTo(std::string* out) const;
  // Fills a freshly constructed catalog; false when bytes are malformed.
  bool DecodeFrom(Decoder* d);

 private:
  std::string SeriesKey(uint32_t measurement_id,
                        std::span<const std::pair<uint32_t, uint32_t>> tags) const;

  uint32_t id_;
  std::string name_;
  DatabaseOptions options_;
  std::deque<std::string> strings_;  // deque: stable addresses for the views in string_ids_
  absl::flat_hash_map<std::string_view, uint32_t> string_ids_;
  std::vector<Measurement> measurements_;
  absl::flat_hash_map<std::string, uint32_t> measurement_ids_;
  std::vector<Field> fields_;
  absl::flat_hash_map<std::pair<uint32_t, std::string>, uint32_t> field_ids_;
  std::vector<Series> series_;
  absl::flat_hash_map<std::string, uint32_t> series_ids_;
  size_t tag_pairs_ = 0;
  size_t string_bytes_ = 0;
};

// Ids a write batch resolved to: the batch's series and each of its fields.
struct ResolvedBatch {
  uint32_t database_id = 0;
  std::vector<uint32_t> series_ids;    // per WriteBatch series
  std::vector<uint32_t> field_ids;     // per WriteBatch::fields() entry
  std::vector<FieldType> field_types;  // per WriteBatch::fields() entry
};

// Every database's schema, persisted as a snapshot file (CATALOG-<n>, format in
// docs/format/catalog.md) referenced by the manifest; changes between snapshots are
// rebuilt from the WAL on recovery.
//
// Thread-safe: mutations take the writer lock, lookups the reader lock.
class Catalog {
 public:
  Catalog() = default;

  // kAlreadyExists, kInvalidArgument (bad name).
  [[nodiscard]] absl::StatusOr<uint32_t> CreateDatabase(std::string_view name,
                                                        const DatabaseOptions& options);
  [[nodiscard]] absl::StatusOr<uint32_t> DropDatabase(std::string_view name);
  std::vector<DatabaseInfo> ListDatabases() const;
  // kNotFound when absent.
  [[nodiscard]] absl::StatusOr<uint32_t> DatabaseId(std::string_view name) const;
  bool HasDatabaseId(uint32_t id) const;
  // Empty when absent.
  std::string DatabaseName(uint32_t id) const;
  absl::StatusOr<DatabaseOptions> Options(uint32_t id) const;

  // Checks the whole batch against the schema (type conflicts with earlier writes or
  // within the batch) and only then creates what is missing. kInvalidArgument "point N:
  // ..." on conflict, with nothing created; kNotFound for an unknown database.
  [[nodiscard]] absl::Status Resolve(const WriteBatch& batch, ResolvedBatch* out);
  // As Resolve, for a batch replayed from the WAL of database id (which must exist).
  [[nodiscard]] absl::Status ResolveForDatabase(uint32_t database_id, const WriteBatch& batch,
                                                ResolvedBatch* out);

  // Runs fn with the database's schema under the reader lock; kNotFound when absent.
  [[nodiscard]] absl::Status Read(
      std::string_view database,
      const std::function<absl::Status(const DatabaseCatalog&)>& fn) const;

  // As Read, and `pin` keeps the schema alive after the call: its interned strings are
  // append-only and never move, so views into them (DatabaseCatalog::str) taken under the
  // lock stay valid while the pin lives.
  [[nodiscard]] absl::Status ReadPinned(
      std::string_view database,
      const std::function<absl::Status(const DatabaseCatalog&, std::shared_ptr<const void> pin)>&
          fn) const;

  // Changes since construction or decoding; lets the engine skip unchanged snapshots.
  uint64_t change_count() const;
  size_t series_count() const;
  size_t ApproximateBytes() const;

  std::string Encode() const;
  [[nodiscard]] absl::Status Decode(const std::string& path, std::string_view payload);

 private:
  absl::Status ResolveLocked(DatabaseCatalog* db, const WriteBatch& batch, ResolvedBatch* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // Shared so that scans can pin a schema whose interned strings they hand out as views.
  std::map<uint32_t, std::shared_ptr<DatabaseCatalog>> databases_ ABSL_GUARDED_BY(mu_);
  uint32_t next_database_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t change_count_ ABSL_GUARDED_BY(mu_) = 0;
};

// Validates a database name: non-empty, at most 255 bytes, no control bytes, '/', or
// leading '.' (names appear in paths and URLs).
[[nodiscard]] absl::Status CheckDatabaseName(std::string_view name);

}  // namespace burnrate
