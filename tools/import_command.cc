#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "burnrate/db.h"
#include "ingest/billing_import.h"
#include "ingest/billing_time.h"
#include "ingest/billing_watch.h"
#include "tools/commands.h"
#include "tools/progress.h"

namespace burnrate {
namespace {

// Set by SIGINT/SIGTERM; the import in progress is abandoned at its next batch.
std::atomic<bool> g_stop_requested{false};

extern "C" void OnStopSignal(int) { g_stop_requested.store(true); }

// Installs the stop handler for the lifetime of the object and restores the previous ones.
// Confined to the main thread.
class StopSignals {
 public:
  StopSignals() {
    g_stop_requested.store(false);
    struct sigaction sa = {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ = {};
  struct sigaction old_term_ = {};
};

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  return absl::Status(status.code(), StrCat(context, ": ", status.message()));
}

// "import: 12.5 / 40.0 MB (31%), 120,000 rows" on stderr, redrawn in place, only on a
// terminal. Not thread-safe.
class ImportProgress {
 public:
  ImportProgress() : active_(isatty(STDERR_FILENO) == 1) {}
  ~ImportProgress() { Clear(); }

  void Update(uint64_t done, uint64_t total, uint64_t rows) {
    if (!active_) return;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    const double mb = 1e6;
    if (total > 0) {
      std::fprintf(stderr, "\rimport: %.1f / %.1f MB (%d%%), %s rows\033[K", done / mb, total / mb,
                   static_cast<int>(done * 100 / total), WithThousands(rows).c_str());
    } else {
      std::fprintf(stderr, "\rimport: %s rows\033[K", WithThousands(rows).c_str());
    }
    std::fflush(stderr);
  }
  void Clear() {
    if (active_ && drawn_) {
      std::fputs("\r\033[K", stderr);
      std::fflush(stderr);
      drawn_ = false;
    }
  }

 private:
  const bool active_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

std::string LocalTimeNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

void PrintSummary(const ImportSummary& s, double seconds, std::FILE* out) {
  const double mb = static_cast<double>(s.csv_bytes) / 1e6;
  absl::FPrintF(out, "imported %s rows (%s skipped) as %s points from %d file%s, %.1f MB of CSV",
                WithThousands(s.rows_imported), WithThousands(s.rows_skipped),
                WithThousands(s.points_written), s.files.size(), s.files.size() == 1 ? "" : "s",
                mb);
  if (seconds > 0) absl::FPrintF(out, " in %.2f s (%.1f MB/s)", seconds, mb / seconds);
  absl::FPrintF(out, "\n");
  std::string periods;
  for (const std::string& p : s.Periods()) StrAppend(&periods, periods.empty() ? "" : ", ", p);
  if (!periods.empty()) absl::FPrintF(out, "billing periods: %s\n", periods);
  if (!s.sources.empty()) absl::FPrintF(out, "sources:\n");
  for (const SourceResult& src : s.sources) {
    absl::FPrintF(out, "  %s: %s rows, %s\n", src.key, WithThousands(src.rows),
                  src.replaced ? StrCat("replaced the version of ",
                                        FormatBillingTime(src.replaced_written_at))
                               : std::string("new"));
  }
  if (!s.totals.empty()) absl::FPrintF(out, "totals:\n");
  for (const auto& [currency, t] : s.totals) {
    absl::FPrintF(out, "  %s  billed %s  effective %s", currency, t.billed_cost.ToString(),
                  t.effective_cost.ToString());
    if (t.list_cost.units() != 0) absl::FPrintF(out, "  list %s", t.list_cost.ToString());
    absl::FPrintF(out, "\n");
  }
  for (const std::string& n : s.notes) absl::FPrintF(out, "note: %s\n", n);
  if (!s.errors.empty()) {
    absl::FPrintF(out, "skipped rows (first %d of %s):\n", s.errors.size(),
                  WithThousands(s.rows_skipped));
  }
  for (const RowError& e : s.errors) absl::FPrintF(out, "  %s\n", e.ToString());
}

absl::StatusOr<ImportOptions> MakeImportOptions(const ImportCommandOptions& options) {
  ImportOptions io;
  BR_ASSIGN_OR_RETURN(io.format, ParseBillingFormat(options.format));
  if (options.azure_dataset == "actual") {
    io.azure_dataset = AzureDataset::kActual;
  } else if (options.azure_dataset == "amortized") {
    io.azure_dataset = AzureDataset::kAmortized;
  } else if (options.azure_dataset != "auto") {
    return absl::InvalidArgumentError(
        StrCat("unknown Azure dataset \"", options.azure_dataset, "\" (auto, actual, amortized)"));
  }
  io.skip_bad_rows = options.skip_bad_rows;
  io.max_reported_errors = options.max_errors;
  io.export_name = options.export_name;
  if (!options.attribution_file.empty()) {
    BR_ASSIGN_OR_RETURN(io.attribution, LoadAttributionMapping(options.attribution_file));
  }
  io.after_batch = [](uint64_t) {
    if (g_stop_requested.load()) return absl::CancelledError("interrupted");
    return absl::OkStatus();
  };
  return io;
}

absl::Status RunOnce(Db* db, const ImportCommandOptions& options, ImportOptions io,
                     std::FILE* out) {
  ImportProgress progress;
  io.progress = [&](uint64_t done, uint64_t total, uint64_t rows) {
    progress.Update(done, total, rows);
  };
  if (options.verbose) {
    io.log = [&](std::string_view line) {
      progress.Clear();
      std::fprintf(stderr, "burnrate import: %.*s\n", static_cast<int>(line.size()), line.data());
    };
  }
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ImportSummary> summary = ImportBillingPath(db, options.database, options.path, io);
  progress.Clear();
  if (!summary.ok()) {
    if (absl::IsCancelled(summary.status())) {
      return absl::CancelledError("interrupted; the delivery in progress was not imported");
    }
    return Annotate(summary.status(), "rejected, previous versions stay live");
  }
  PrintSummary(*summary,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
               out);
  return absl::OkStatus();
}

absl::Status RunWatch(Db* db, const ImportCommandOptions& options, ImportOptions io,
                      std::FILE* out) {
  WatchOptions wo;
  wo.state_path = options.state_file.empty() ? options.watch_dir + "/.burnrate-import-state"
                                             : options.state_file;
  wo.settle_ns = static_cast<int64_t>(options.settle_seconds * 1e9);
  auto log = [](std::string_view line) {
    std::fprintf(stderr, "%s burnrate import: %.*s\n", LocalTimeNow().c_str(),
                 static_cast<int>(line.size()), line.data());
  };
  if (options.verbose) io.log = log;
  wo.import = std::move(io);
  BR_ASSIGN_OR_RETURN(std::unique_ptr<BillingWatcher> watcher,
                      BillingWatcher::Open(db, options.database, options.watch_dir, wo));
  log(StrCat("watching ", options.watch_dir, " every ", options.interval_seconds, " s (state in ",
             wo.state_path, ")"));
  while (!g_stop_requested.load()) {
    absl::StatusOr<std::vector<WatchDecision>> decisions = watcher->PollOnce();
    if (!decisions.ok()) {
      if (options.once) return decisions.status();
      log(StrCat("poll failed: ", decisions.status().message()));
    } else {
      for (const WatchDecision& d : *decisions) {
        if (d.repeated) continue;
        log(StrCat(d.delivery, ": ", WatchActionName(d.action), ": ", d.message));
        if (d.summary && options.verbose) PrintSummary(*d.summary, 0, out);
      }
    }
    if (options.once) break;
    const auto until =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(options.interval_seconds * 1000));
    while (!g_stop_requested.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (g_stop_requested.load()) log("stopped");
  return absl::OkStatus();
}

}  // namespace

absl::Status RunImport(const ImportCommandOptions& options, std::FILE* out) {
  if (options.path.empty() == options.watch_dir.empty()) {
    return absl::InvalidArgumentError("give either a FILE or DIR to import, or --watch DIR");
  }
  if (options.data_dir.empty()) return absl::InvalidArgumentError("--data-dir is required");
  BR_ASSIGN_OR_RETURN(ImportOptions io, MakeImportOptions(options));
  Options db_options;
  if (!options.verbose) db_options.info_log = [](std::string_view) {};
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(options.data_dir, db_options);
  if (!db.ok()) return Annotate(db.status(), StrCat("open ", options.data_dir));
  StopSignals signals;
  absl::Status s = options.watch_dir.empty() ? RunOnce(db->get(), options, std::move(io), out)
                                             : RunWatch(db->get(), options, std::move(io), out);
  absl::Status closed = (*db)->Close();
  if (!s.ok()) return s;
  return closed;
}

}  // namespace burnrate
