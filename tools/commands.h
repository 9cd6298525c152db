#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/types.h"
#include "tools/telemetry_generator.h"

namespace burnrate {

// Parses an RFC 3339 time such as "2026-11-01T00:00:00Z"; kInvalidArgument otherwise.
[[nodiscard]] absl::StatusOr<TimestampNs> ParseRfc3339(std::string_view text);

struct GenCommandOptions {
  GeneratorConfig generator;
  // A file to create or truncate, or "-" for standard output.
  std::string out = "-";
};

// `burnrate gen`: writes every generated point as InfluxDB line protocol to options.out,
// with progress on stderr when it is a terminal and the output is not. kInvalidArgument for
// a bad config; the errno-derived code naming the file when opening or writing fails.
[[nodiscard]] absl::Status RunGen(const GenCommandOptions& options);

struct DemoCommandOptions {
  std::string data_dir = "./burnrate-data";
  GeneratorConfig generator = [] {
    GeneratorConfig c;
    c.days = 3;
    c.series = 200;
    return c;
  }();
  // Points per Db::Write.
  size_t batch_points = 10'000;
  // Pass the engine's informational log lines to stderr instead of dropping them.
  bool verbose = false;
};

inline constexpr std::string_view kDemoDatabase = "burnrate";

// `burnrate demo`: opens (creating if missing) the data directory, creates database
// "burnrate" if missing, writes the generated points through Db::Write, flushes, reads the
// cost field back with Db::Scan and prints throughput and cost per run to out. Writing the
// same points again overwrites them (last write wins), so repeated runs with the same
// settings leave the same data. Returns the engine's error prefixed with what was being
// done, or kInternal when the points read back do not add up to those written.
[[nodiscard]] absl::Status RunDemo(const DemoCommandOptions& options, std::FILE* out);

struct BackupCommandOptions {
  std::string data_dir;
  std::string target;
  // Pass the engine's informational log lines to stderr instead of dropping them.
  bool verbose = false;
};

// `burnrate backup`: opens the data directory (which must exist and not be open elsewhere),
// backs it up into options.target with Db::Backup (incrementally when the target holds an
// earlier backup), showing progress on stderr when it is a terminal, and prints what was
// linked, copied and kept. Returns the engine's error prefixed with what was being done.
[[nodiscard]] absl::Status RunBackup(const BackupCommandOptions& options, std::FILE* out);

struct RestoreCommandOptions {
  std::string backup;
  std::string target;
};

// `burnrate restore`: RestoreBackup into an empty or absent directory, every checksum
// checked first; prints what was restored. kDataLoss names the damaged file and offset.
[[nodiscard]] absl::Status RunRestore(const RestoreCommandOptions& options, std::FILE* out);

struct VerifyCommandOptions {
  std::string dir;
};

// `burnrate verify`: VerifyDirectory on a data directory or backup; prints each note and
// problem on its own line and a summary, and returns the number of problems. An error
// means the check could not run (no such directory, neither a data directory nor a backup).
[[nodiscard]] absl::StatusOr<size_t> RunVerify(const VerifyCommandOptions& options, std::FILE* out);

struct ImportCommandOptions {
  // A billing file or a folder of deliveries to import once; or, with watch_dir, a folder
  // to watch.
  std::string path;
  std::string watch_dir;
  std::string data_dir;
  std::string database = "billing";
  std::string format = "auto";         // auto, cur, cur2, focus, azure, gcp, oci
  std::string azure_dataset = "auto";  // auto, actual, amortized
  std::string export_name;             // the export part of source keys for plain files
  std::string attribution_file;        // JSON or key=value tag-to-attribution mapping
  std::string state_file;              // watch state; default DIR/.burnrate-import-state
  bool skip_bad_rows = false;
  size_t max_errors = 20;
  bool once = false;  // watch: one polling cycle, then exit
  double interval_seconds = 60;
  double settle_seconds = 5;
  bool verbose = false;
};

// `burnrate import`: imports billing files into options.database (created if missing) of
// the data directory, each delivery replacing the previous version of its sources, and
// prints a summary (rows, sources replaced, totals per currency); progress on stderr when
// it is a terminal. With watch_dir, polls the folder until SIGINT/SIGTERM (or once),
// importing each complete new delivery and logging every decision to stderr. Errors name
// the file, line and column of a bad row; nothing of a rejected delivery is imported.
[[nodiscard]] absl::Status RunImport(const ImportCommandOptions& options, std::FILE* out);

}  // namespace burnrate
