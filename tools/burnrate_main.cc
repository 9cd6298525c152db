#include <unistd.h>

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/commands.h"
#include "tools/query_command.h"
#include "tools/write_command.h"

namespace burnrate {
namespace {

// Prints "burnrate <command>: <reason>" on one line and returns the exit code.
int Fail(const std::string& command, const absl::Status& status) {
  std::string reason(status.message());
  for (char& c : reason) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "burnrate %s: %s\n", command.c_str(), reason.c_str());
  return 1;
}

void AddGeneratorOptions(CLI::App* command, GeneratorConfig* config, std::string* start) {
  command->add_option("--seed", config->seed, "Random seed; the same seed gives the same bytes")
      ->capture_default_str();
  command->add_option("--days", config->days, "Days of minute data to generate")
      ->check(CLI::Range(1, 3660))
      ->capture_default_str();
  command
      ->add_option("--series", config->series,
                   "Series active at every minute (one per running resource)")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  command->add_option("--start", *start, "Time of the first points (RFC 3339, UTC)")
      ->capture_default_str();
}

int Main(int argc, char** argv) {
  CLI::App app("burnrate: a time-series database for cloud cost", "burnrate");
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("burnrate: ") + e.what() + " (see --help)\n";
  });

  GenCommandOptions gen;
  std::string gen_start = "2026-11-01T00:00:00Z";
  std::string gen_format = "lp";
  CLI::App* gen_command = app.add_subcommand(
      "gen", "Write deterministic minute cost telemetry of ML runs as InfluxDB line protocol");
  AddGeneratorOptions(gen_command, &gen.generator, &gen_start);
  gen_command->add_option("--format", gen_format, "Output format (lp: InfluxDB line protocol)")
      ->check(CLI::IsMember({"lp"}))
      ->capture_default_str();
  gen_command->add_option("--out", gen.out, "Output file, or - for standard output")
      ->capture_default_str();
  gen_command->footer(
      "Writes days x 1440 x series points: measurement cost, tags account, cloud, flow,\n"
      "instance_type, resource, run_id, step; fields cost (exact decimal dollars per minute),\n"
      "gpu_util and gpu_count. Example: burnrate gen --days 1 --series 100 --out cost.lp");

  DemoCommandOptions demo;
  std::string demo_start = "2026-11-01T00:00:00Z";
  CLI::App* demo_command = app.add_subcommand(
      "demo", "Write generated cost telemetry into a data directory and report cost per run");
  demo_command->add_option("--data-dir", demo.data_dir, "Data directory, created if missing")
      ->capture_default_str();
  AddGeneratorOptions(demo_command, &demo.generator, &demo_start);
  demo_command->add_flag("--verbose", demo.verbose, "Show the engine's log lines on stderr");
  demo_command->footer(
      "Opens the directory with the embedded API (burnrate::Db), creates database \"burnrate\"\n"
      "if missing, writes the points in batches of 10,000, flushes, reads the cost field back\n"
      "and prints throughput and the top 15 runs by cost. Running it again with the same\n"
      "settings rewrites the same points (last write wins), so the totals do not change.");

  BackupCommandOptions backup;
  CLI::App* backup_command = app.add_subcommand(
      "backup", "Back up a data directory into a directory, consistently, while it is in use");
  backup_command->add_option("--data-dir", backup.data_dir, "Data directory to back up")
      ->required();
  backup_command->add_option("target", backup.target, "Backup directory")->required();
  backup_command->add_flag("--verbose", backup.verbose, "Show the engine's log lines on stderr");
  backup_command->footer(
      "Segment files are hard-linked when the target is on the same file system, else copied;\n"
      "into a directory holding an earlier backup only new files are added. BACKUP-MANIFEST,\n"
      "written last, lists every file with its checksum. Layout: docs/format/backup.md.");

  RestoreCommandOptions restore;
  CLI::App* restore_command = app.add_subcommand(
      "restore", "Restore a backup into an empty directory, checking every checksum first");
  restore_command->add_option("backup", restore.backup, "Backup directory")->required();
  restore_command->add_option("target", restore.target, "Empty or absent directory")->required();

  VerifyCommandOptions verify;
  CLI::App* verify_command = app.add_subcommand(
      "verify", "Check every checksum of a data directory or backup; exit 1 on any problem");
  verify_command->add_option("dir", verify.dir, "Data directory or backup")->required();

  ImportCommandOptions import;
  CLI::App* import_command = app.add_subcommand(
      "import", "Import cloud billing exports (AWS CUR, CUR 2.0, FOCUS, Azure, GCP, OCI)");
  import_command->add_option("path", import.path, "Billing file (.csv, .csv.gz, .zip) or folder");
  import_command->add_option("--watch", import.watch_dir,
                             "Watch a folder and import complete new deliveries as they appear");
  import_command->add_option("--data-dir", import.data_dir, "Data directory")->required();
  import_command->add_option("--db", import.database, "Database")->capture_default_str();
  import_command->add_option("--format", import.format, "Billing format")
      ->check(CLI::IsMember({"auto", "cur", "cur2", "focus", "azure", "gcp", "oci"}))
      ->capture_default_str();
  import_command->add_flag("--skip-bad-rows", import.skip_bad_rows,
                           "Skip unreadable rows (counted and listed) instead of rejecting");
  import_command->add_option("--max-errors", import.max_errors, "Bad rows listed")
      ->capture_default_str();
  import_command->add_option("--export", import.export_name,
                             "Export name in source keys (default: the file name)");
  import_command->add_option("--azure-dataset", import.azure_dataset, "Azure cost dataset")
      ->check(CLI::IsMember({"auto", "actual", "amortized"}))
      ->capture_default_str();
  import_command->add_option("--attribution", import.attribution_file,
                             "Tag-to-attribution mapping (JSON or key=value)");
  import_command->add_option("--state", import.state_file, "Watch state file");
  import_command->add_flag("--once", import.once, "Watch: poll once and exit");
  import_command->add_option("--interval", import.interval_seconds, "Watch: seconds between polls")
      ->capture_default_str();
  import_command
      ->add_option("--settle", import.settle_seconds,
                   "Watch: seconds a delivery must be unchanged before import")
      ->capture_default_str();
  import_command->add_flag("--verbose", import.verbose, "Log every file and source on stderr");
  import_command->footer(
      "Rows land in measurement billing (docs/billing.md). Each (provider, billing account,\n"
      "billing period, export) is one source: importing a newer delivery replaces it atomically.\n"
      "Example: burnrate import ./cur/my-report --data-dir ./burnrate-data");

  WriteCommandOptions write;
  CLI::App* write_command = app.add_subcommand(
      "write", "Send InfluxDB line protocol from a file or stdin to a burnrated server");
  write_command->add_option("input", write.input, "Line-protocol file, or - for standard input")
      ->capture_default_str();
  write_command->add_option("--url", write.url, "Server URL")->capture_default_str();
  write_command->add_option("--db", write.database, "Database to write into")
      ->capture_default_str();
  write_command
      ->add_option("--token", write.token,
                   "Token sent as `Authorization: Token ...` (default: $BURNRATE_TOKEN)")
      ->envname("BURNRATE_TOKEN");
  write_command->add_option("--precision", write.precision, "Unit of the input's timestamps")
      ->check(CLI::IsMember({"ns", "us", "ms", "s"}))
      ->capture_default_str();
  write_command->add_option("--batch-lines", write.batch_lines, "Lines per request")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  write_command
      ->add_option("--connections", write.connections,
                   "Requests in flight at once (above 1, batches may land out of order)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  write_command->footer(
      "Posts batches to <url>/write?db=<db>&precision=<p>&accept_partial=true: the valid lines\n"
      "of a batch are written even when others are invalid. Prints the first error of each\n"
      "rejected batch with its line number in the input, and a summary; exits 1 when any line\n"
      "was rejected. Example: burnrate gen --days 1 --series 100 | burnrate write -");

  QueryCommandOptions query;
  CLI::App* query_command = app.add_subcommand(
      "query", "Run InfluxQL against a burnrated server or a data directory (prompt or -e)");
  query_command->add_option("-e,--execute", query.execute, "Statements to run, then exit");
  query_command->add_option("--url", query.url, "Server URL")->capture_default_str();
  query_command
      ->add_option("--token", query.token,
                   "Token sent as `Authorization: Token ...` (default: $BURNRATE_TOKEN)")
      ->envname("BURNRATE_TOKEN");
  query_command->add_option("--db,--database", query.database,
                            "Database of statements that name none");
  query_command->add_option("--data-dir", query.data_dir,
                            "Open this data directory directly (embedded mode, no server)");
  query_command->add_option("--format", query.format, "Output format")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  query_command
      ->add_option("--precision,--epoch", query.precision,
                   "Times as rfc3339 or as integers of h, m, s, ms, u or ns since the epoch")
      ->check(CLI::IsMember({"rfc3339", "h", "m", "s", "ms", "u", "ns"}))
      ->capture_default_str();
  query_command->add_flag("--pretty", query.pretty, "Indented JSON");
  query_command
      ->add_option("--timeout", query.timeout_seconds, "Seconds to wait for the server's answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  query_command->add_option("--history-file", query.history_file,
                            "History of the interactive prompt (default: ~/.burnrate_history)");
  query_command->footer(
      "With -e, runs the statements (';'-separated) and exits. Otherwise reads lines from\n"
      "standard input: at a terminal an interactive prompt with line editing and history,\n"
      "else one statement or command per line. Commands: use <db>, format table|csv|json,\n"
      "precision <p>, pretty, help, exit. Errors go to stderr; the exit status is 1 when\n"
      "anything failed (the interactive prompt goes on after an error).\n"
      "Example: burnrate query --db burnrate -e 'SELECT sum(cost) FROM cost GROUP BY run_id'");

  CLI11_PARSE(app, argc, argv);

  if (gen_command->parsed()) {
    absl::StatusOr<TimestampNs> start = ParseRfc3339(gen_start);
    if (!start.ok()) return Fail("gen", start.status());
    gen.generator.start_ns = *start;
    if (absl::Status s = RunGen(gen); !s.ok()) return Fail("gen", s);
    return 0;
  }
  if (demo_command->parsed()) {
    absl::StatusOr<TimestampNs> start = ParseRfc3339(demo_start);
    if (!start.ok()) return Fail("demo", start.status());
    demo.generator.start_ns = *start;
    if (absl::Status s = RunDemo(demo, stdout); !s.ok()) return Fail("demo", s);
    return 0;
  }
  if (write_command->parsed()) {
    absl::StatusOr<WriteSummary> summary = RunWrite(write, stdout);
    if (!summary.ok()) return Fail("write", summary.status());
    if (summary->lines_rejected > 0) {
      return Fail("write",
                  absl::InvalidArgumentError(absl::StrCat(summary->lines_rejected, " of ",
                                                          summary->lines, " lines rejected")));
    }
    return 0;
  }
  if (query_command->parsed()) {
    const bool interactive = query.execute.empty() && isatty(STDIN_FILENO) != 0;
    return RunQueryCommand(query, stdin, interactive, stdout, stderr);
  }
  if (backup_command->parsed()) {
    if (absl::Status s = RunBackup(backup, stdout); !s.ok()) return Fail("backup", s);
    return 0;
  }
  if (restore_command->parsed()) {
    if (absl::Status s = RunRestore(restore, stdout); !s.ok()) return Fail("restore", s);
    return 0;
  }
  if (verify_command->parsed()) {
    absl::StatusOr<size_t> problems = RunVerify(verify, stdout);
    if (!problems.ok()) return Fail("verify", problems.status());
    return *problems == 0 ? 0 : 1;
  }
  if (import_command->parsed()) {
    if (absl::Status s = RunImport(import, stdout); !s.ok()) return Fail("import", s);
    return 0;
  }
  return 0;
}

}  // namespace
}  // namespace burnrate

int main(int argc, char** argv) { return burnrate::Main(argc, argv); }
