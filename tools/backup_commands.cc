// `burnrate backup`, `burnrate restore` and `burnrate verify`.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "burnrate/backup.h"
#include "burnrate/db.h"
#include "tools/commands.h"
#include "tools/progress.h"

namespace burnrate {
namespace {

// The same status with `context: ` before its message.
absl::Status Annotate(const absl::Status& status, std::string_view context) {
  return absl::Status(status.code(), StrCat(context, ": ", status.message()));
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string Megabytes(uint64_t bytes) { return absl::StrFormat("%.1f MB", bytes / 1e6); }

std::string MegabytesPerSecond(uint64_t bytes, double seconds) {
  if (seconds <= 0) return "-";
  return absl::StrFormat("%.1f MB/s", bytes / 1e6 / seconds);
}

// A one-line "label: 12 / 200 MB (6%)" indicator on stderr, redrawn in place when the whole
// percentage changes. Silent unless stderr is a terminal. TerminalProgress counts points;
// backups count bytes. Not thread-safe; the backup, restore and verify calls report from
// the calling thread.
class ByteProgress {
 public:
  explicit ByteProgress(std::string label)
      : label_(std::move(label)), active_(isatty(STDERR_FILENO) == 1) {}
  ~ByteProgress() { Finish(); }
  ByteProgress(const ByteProgress&) = delete;
  ByteProgress& operator=(const ByteProgress&) = delete;

  ProgressCallback Callback() {
    return [this](uint64_t done, uint64_t total) { Update(done, total); };
  }

  void Update(uint64_t done, uint64_t total) {
    if (!active_ || total == 0) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (percent == last_percent_) return;
    last_percent_ = percent;
    std::fprintf(stderr, "\r%s: %s / %s MB (%d%%)\033[K", label_.c_str(),
                 WithThousands(done / 1'000'000).c_str(), WithThousands(total / 1'000'000).c_str(),
                 percent);
    std::fflush(stderr);
  }

  // Erases the line; also done by the destructor.
  void Finish() {
    if (!active_) return;
    if (last_percent_ >= 0) {
      std::fputs("\r\033[K", stderr);
      std::fflush(stderr);
    }
    active_ = false;
  }

 private:
  std::string label_;
  bool active_;
  int last_percent_ = -1;
};

}  // namespace

absl::Status RunBackup(const BackupCommandOptions& options, std::FILE* out) {
  Options db_options;
  db_options.create_if_missing = false;
  if (!options.verbose) db_options.info_log = [](std::string_view) {};
  absl::StatusOr<std::unique_ptr<Db>> opened = Db::Open(options.data_dir, db_options);
  if (!opened.ok()) return Annotate(opened.status(), StrCat("open ", options.data_dir));
  std::unique_ptr<Db> db = std::move(opened).value();

  ByteProgress progress("backing up");
  BackupOptions backup_options;
  backup_options.progress = progress.Callback();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<BackupReport> report = db->Backup(options.target, backup_options);
  progress.Finish();
  if (!report.ok()) return Annotate(report.status(), StrCat("back up into ", options.target));
  const double seconds = SecondsSince(start);
  if (absl::Status s = db->Close(); !s.ok()) return Annotate(s, "close");

  const uint64_t files = report->files_copied + report->files_linked + report->files_skipped;
  absl::FPrintF(out, "backed up %s into %s: %d files, %s\n", options.data_dir, options.target,
                files, Megabytes(report->bytes_total));
  absl::FPrintF(out, "  %d hard-linked, %d copied (%s), %d unchanged since the last backup\n",
                report->files_linked, report->files_copied, Megabytes(report->bytes_copied),
                report->files_skipped);
  absl::FPrintF(out, "  %.2f s (%s of files backed up)\n", seconds,
                MegabytesPerSecond(report->bytes_total, seconds));
  return absl::OkStatus();
}

absl::Status RunRestore(const RestoreCommandOptions& options, std::FILE* out) {
  ByteProgress progress("restoring");
  RestoreOptions restore_options;
  restore_options.progress = progress.Callback();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<RestoreReport> report =
      RestoreBackup(options.backup, options.target, restore_options);
  progress.Finish();
  if (!report.ok()) {
    return Annotate(report.status(), StrCat("restore ", options.backup, " into ", options.target));
  }
  const double seconds = SecondsSince(start);
  absl::FPrintF(out, "restored %d files (%s) into %s in %.2f s; every checksum verified\n",
                report->files_restored, Megabytes(report->bytes_restored), options.target, seconds);
  absl::FPrintF(
      out, "  backup taken %s\n",
      absl::FormatTime(absl::RFC3339_sec, absl::FromUnixNanos(report->backup_time_unix_ns),
                       absl::UTCTimeZone()));
  return absl::OkStatus();
}

absl::StatusOr<size_t> RunVerify(const VerifyCommandOptions& options, std::FILE* out) {
  ByteProgress progress("verifying");
  VerifyOptions verify_options;
  verify_options.progress = progress.Callback();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<VerifyReport> report = VerifyDirectory(options.dir, verify_options);
  progress.Finish();
  if (!report.ok()) return report.status();
  const double seconds = SecondsSince(start);
  for (const std::string& note : report->notes) absl::FPrintF(out, "note: %s\n", note);
  for (const std::string& problem : report->problems) absl::FPrintF(out, "problem: %s\n", problem);
  absl::FPrintF(out, "%s %s: %d files, %s checked in %.2f s; %s\n",
                report->is_backup ? "backup" : "data directory", options.dir, report->files_checked,
                Megabytes(report->bytes_checked), seconds,
                report->problems.empty()
                    ? std::string("no problems")
                    : StrCat(report->problems.size(),
                             report->problems.size() == 1 ? " problem" : " problems"));
  return report->problems.size();
}

}  // namespace burnrate
