#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/db.h"
#include "burnrate/money.h"
#include "burnrate/types.h"
#include "ingest/billing_attribution.h"
#include "ingest/billing_formats.h"
#include "ingest/billing_input.h"

// Imports cloud billing exports into the `billing` measurement of a database, each source
// (provider, billing account, billing period, export) as one replace-by-source import: a
// newer delivery of the same source atomically replaces the previous one. The normalised
// model (tags, fields, period splitting, source keys) is documented in docs/billing.md.

namespace burnrate {

inline constexpr std::string_view kBillingMeasurement = "billing";

struct ImportOptions {
  // kAuto detects the format of each file from its header.
  BillingFormat format = BillingFormat::kAuto;
  AzureDataset azure_dataset = AzureDataset::kAuto;
  // Skip rows that cannot be read (counted, the first max_reported_errors kept) instead of
  // rejecting the whole delivery. Errors in the CSV structure itself (an unterminated
  // quote) still reject the file.
  bool skip_bad_rows = false;
  size_t max_reported_errors = 20;
  // Points per SourceImport::Add.
  size_t batch_points = 10'000;
  // The export part of source keys for files outside a delivery layout; empty uses the
  // file name without its extensions.
  std::string export_name;
  AttributionMapping attribution = AttributionMapping::Default();
  // A charge is split into the hours it overlaps; a row spanning more hours is bad input.
  int64_t max_split_hours = 5 * 8784;
  // Create the database when it does not exist, with these options. Billing rows are split
  // into hours over whole months (and years, for commitments), so partitions of 30 days keep
  // a month in one or two segment files per import where day partitions would need 31.
  bool create_database = true;
  DatabaseOptions new_database_options = [] {
    DatabaseOptions o;
    o.partition_duration_ns = 30LL * 24 * 3600 * 1'000'000'000;
    return o;
  }();
  // At most this many sources open at once in one delivery (each buffers up to the Db's
  // memtable budget before spilling); more is kResourceExhausted.
  size_t max_sources_per_delivery = 256;
  // Progress of the current delivery, from the importing thread: source bytes consumed,
  // source bytes in total, rows read.
  std::function<void(uint64_t, uint64_t, uint64_t)> progress;
  // One line per decision and note (formats detected, sources replaced, rows skipped).
  std::function<void(std::string_view)> log;
  // Called after each batch is handed to a source import, with the points added so far
  // in the delivery. An error abandons the delivery (nothing of it becomes visible), as a
  // crash at that moment would: tests use it to stop an import midway.
  std::function<absl::Status(uint64_t points_added)> after_batch;
};

// A row that could not be imported.
struct RowError {
  std::string file;
  uint64_t line = 0;    // 1-based physical line where the row starts; 0 for the file
  size_t column = 0;    // 1-based field number; 0 for the row as a whole
  std::string message;  // names the column and what was wrong
  // "file:line: column C: message".
  std::string ToString() const;
};

// Exact totals of one currency.
struct CurrencyTotals {
  MoneySum billed_cost;
  MoneySum effective_cost;
  MoneySum list_cost;
};

// One source written by an import.
struct SourceResult {
  std::string key;
  std::string billing_period;  // YYYY-MM
  uint64_t rows = 0;
  uint64_t points = 0;
  // Whether an earlier version was replaced, and when that version was written.
  bool replaced = false;
  TimestampNs replaced_written_at = 0;
  // The charge periods of its rows: min start, max end.
  TimestampNs min_time = 0;
  TimestampNs max_time = 0;
  std::map<std::string, CurrencyTotals> totals;  // by currency
};

struct ImportSummary {
  std::vector<std::string> deliveries;  // ids of the deliveries imported
  std::vector<std::string> files;       // CSV documents read ("path" or "zip!member")
  std::vector<std::string> formats;     // the format of each of files
  uint64_t source_bytes = 0;            // bytes of the files as stored (compressed)
  uint64_t csv_bytes = 0;               // bytes of CSV parsed
  uint64_t rows_read = 0;
  uint64_t rows_imported = 0;
  uint64_t rows_skipped = 0;
  uint64_t points_written = 0;
  std::vector<RowError> errors;  // the first ImportOptions::max_reported_errors
  std::vector<SourceResult> sources;
  std::map<std::string, CurrencyTotals> totals;  // by currency, over every source
  std::vector<std::string> notes;

  // The billing periods of the sources, sorted and unique.
  std::vector<std::string> Periods() const;
  // Adds another summary's counts, lists and totals to this one.
  void Merge(const ImportSummary& other);
};

// JSON of a summary (totals as exact decimal strings), for the import endpoint.
std::string ImportSummaryToJson(const ImportSummary& summary);

// Files that are imported together: one billing file, or the data files of one export
// delivery (a CUR report version named by its manifest, or a Data Exports billing period).
// A value type. Thread-compatible.
struct BillingDelivery {
  std::string id;                  // stable name, relative to the directory searched
  std::vector<std::string> files;  // paths, in import order
  // Incomplete deliveries (a manifest naming files that are not there yet) are reported by
  // FindBillingDeliveries but not imported.
  bool complete = true;
  std::string incomplete_reason;
  // Changes whenever the delivery may have changed (assembly id, file sizes and times).
  std::string fingerprint;
  // Source key parts fixed by the layout; empty parts are taken from each row.
  std::string provider;
  std::string billing_account;
  std::string billing_period;
  std::string export_name;
  // The newest modification time of the delivery's files (and manifest).
  TimestampNs newest_mtime = 0;
  // Columns a CUR manifest lists; files lacking some are imported with a note.
  std::vector<std::string> manifest_columns;
  // The format and Azure dataset a manifest states (kAuto: detected from each header).
  // ImportOptions that are not kAuto take precedence.
  BillingFormat format = BillingFormat::kAuto;
  AzureDataset azure_dataset = AzureDataset::kAuto;
  // Why the delivery cannot be imported at all (a malformed manifest, a dataset that is not
  // cost data); ImportBillingDelivery fails with it (kInvalidArgument) instead of reading.
  std::string error;
  // Observations worth logging.
  std::vector<std::string> notes;
};

// The deliveries under root: a file is one delivery; a directory is searched recursively
// (names starting with '.' are skipped) for
//   - AWS CUR report versions: <report>/<yyyymmdd-yyyymmdd>/<assemblyId>/<report>-<n>.csv.gz
//     with <report>-Manifest.json in the period folder naming the current assembly's files
//     (reportKeys); files of other assemblies are ignored;
//   - Azure Cost Management export runs:
//     {path}/{date-range}/{export-name}/{export-time}/{guid}/ with a manifest.json naming the
//     run's blobs (and their sizes); runs are grouped by partition (scope, dataset, month)
//     and only the newest run (runInfo.submittedTime) of each is a delivery, complete when
//     every blob it lists is there with its byteCount;
//   - AWS Data Exports periods: <export>/data/BILLING_PERIOD=YYYY-MM/ with, when a metadata
//     folder exists, <export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json;
//   - any other .csv, .csv.gz, .gz, .zip or .parquet file, as its own delivery.
// Sorted by id. Errors: the root is missing or unreadable.
[[nodiscard]] absl::StatusOr<std::vector<BillingDelivery>> FindBillingDeliveries(
    const std::string& root);

// Imports one complete delivery: every row of every file, then a commit per source.
// Nothing is visible until the end; on error (the first bad row without skip_bad_rows,
// unreadable files, an engine error) every source import of the delivery is abandoned and
// the previous versions stay live. Sources commit one after another, each atomically.
[[nodiscard]] absl::StatusOr<ImportSummary> ImportBillingDelivery(Db* db,
                                                                  const std::string& database,
                                                                  const BillingDelivery& delivery,
                                                                  const ImportOptions& options);

// Imports a file or every complete delivery under a directory. Deliveries are independent:
// when one fails the others are still imported, and the result is the first failure (its
// message names the delivery and how many others failed); incomplete ones are skipped with a
// note.
[[nodiscard]] absl::StatusOr<ImportSummary> ImportBillingPath(Db* db, const std::string& database,
                                                              const std::string& path,
                                                              const ImportOptions& options);

// Imports one billing file read from a stream (an HTTP request body): plain CSV or gzip.
// name is the file name the client gave (for messages and the export part of source keys).
// Zip archives need random access: use ImportBillingBuffer.
[[nodiscard]] absl::StatusOr<ImportSummary> ImportBillingStream(Db* db, const std::string& database,
                                                                std::string_view name,
                                                                std::unique_ptr<ByteStream> body,
                                                                const ImportOptions& options);

// As ImportBillingStream for a body held in memory, which may also be a zip archive.
[[nodiscard]] absl::StatusOr<ImportSummary> ImportBillingBuffer(Db* db, const std::string& database,
                                                                std::string_view name,
                                                                std::string_view body,
                                                                const ImportOptions& options);

// As ImportBillingBuffer for bytes readable at offsets (a spooled request body), named by
// bytes->name().
[[nodiscard]] absl::StatusOr<ImportSummary> ImportBillingBytes(
    Db* db, const std::string& database, std::shared_ptr<RandomAccessBytes> bytes,
    const ImportOptions& options);

// "provider:billing_account:billing_period:export", each part with ':' and '%'
// percent-encoded; an empty account is "unknown".
std::string MakeBillingSourceKey(std::string_view provider, std::string_view billing_account,
                                 std::string_view billing_period, std::string_view export_name);

// The file name of path without directories and without .gz, .zip, .csv, .parquet, .txt
// extensions ("koku-local-1.csv.gz" -> "koku-local-1"); a zip member ("a.zip!b.csv") has
// its archive's name ("a").
std::string ExportNameOf(std::string_view path);

// Splits amount over n pieces in proportion to cumulative weights: piece i gets
// F(cum[i]) - F(cum[i-1]) with F(c) = trunc(amount * c / total) (F(0) = 0), so the pieces
// sum to amount exactly and each is within one unit of its exact share. cum must be
// non-decreasing, end at total, and total > 0.
void SplitMoneyExactly(Money amount, std::span<const int64_t> cumulative, int64_t total,
                       std::vector<Money>* pieces);

}  // namespace burnrate
