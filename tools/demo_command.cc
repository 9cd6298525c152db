#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "burnrate/db.h"
#include "burnrate/money.h"
#include "burnrate/scan.h"
#include "burnrate/write_batch.h"
#include "tools/commands.h"
#include "tools/progress.h"

namespace burnrate {
namespace {

constexpr size_t kTopRuns = 15;

// The same status with `context: ` before its message.
absl::Status Annotate(const absl::Status& status, std::string_view context) {
  return absl::Status(status.code(), absl::StrCat(absl::string_view(context.data(), context.size()),
                                                  ": ", status.message()));
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string PerSecond(uint64_t n, double seconds) {
  if (seconds <= 0) return "-";
  return WithThousands(static_cast<uint64_t>(static_cast<double>(n) / seconds));
}

struct RunTotal {
  uint64_t points = 0;
  MoneySum cost;
};

}  // namespace

absl::Status RunDemo(const DemoCommandOptions& options, std::FILE* out) {
  BR_ASSIGN_OR_RETURN(std::unique_ptr<TelemetryGenerator> generator,
                      TelemetryGenerator::Create(options.generator));
  const GeneratorConfig& config = generator->config();

  Options db_options;
  db_options.create_if_missing = true;
  if (!options.verbose) db_options.info_log = [](std::string_view) {};
  absl::StatusOr<std::unique_ptr<Db>> opened = Db::Open(options.data_dir, db_options);
  if (!opened.ok()) return Annotate(opened.status(), absl::StrCat("open ", options.data_dir));
  std::unique_ptr<Db> db = std::move(opened).value();

  const std::string database(kDemoDatabase);
  absl::Status created = db->CreateDatabase(database, DatabaseOptions());
  if (!created.ok() && !absl::IsAlreadyExists(created)) {
    return Annotate(created, absl::StrCat("create database ", database));
  }

  absl::FPrintF(
      out, "burnrate demo: %d day%s of minute cost telemetry, %s concurrent series, seed %d\n",
      config.days, config.days == 1 ? "" : "s", WithThousands(config.series), config.seed);
  if (!created.ok()) {
    absl::FPrintF(out,
                  "database %s exists: points of the same series and time are overwritten (last "
                  "write wins)\n",
                  database);
  }

  // Write.
  WriteBatch batch(database);
  MoneySum written_cost;
  uint64_t written = 0;
  {
    TerminalProgress progress("writing", generator->total_points());
    const auto start = std::chrono::steady_clock::now();
    while (true) {
      batch.Clear();
      const size_t n = generator->FillBatch(&batch, options.batch_points);
      if (n == 0) break;
      for (const WriteBatch::Field& field : batch.fields()) {
        if (field.type == FieldType::kMoney) {
          written_cost.AddUnits(static_cast<int64_t>(field.bits));
        }
      }
      if (absl::Status s = db->Write(WriteOptions(), batch); !s.ok()) {
        return Annotate(s, absl::StrCat("write points ", written, " to ", written + n - 1));
      }
      written += n;
      progress.Update(written);
    }
    progress.Finish();
    const double write_seconds = SecondsSince(start);
    const auto flush_start = std::chrono::steady_clock::now();
    if (absl::Status s = db->Flush(); !s.ok()) return Annotate(s, "flush");
    const double flush_seconds = SecondsSince(flush_start);
    absl::FPrintF(out, "wrote %s points in %.2f s (%s points/s), then flushed in %.2f s\n",
                  WithThousands(written), write_seconds, PerSecond(written, write_seconds),
                  flush_seconds);
  }

  // Read back the range just written, summing cost per run exactly.
  std::map<std::string, RunTotal> runs;
  MoneySum read_cost;
  uint64_t read = 0;
  {
    ScanRequest request;
    request.database = database;
    request.measurement = std::string(TelemetryGenerator::kMeasurement);
    request.min_time = config.start_ns;
    request.max_time = generator->end_ns() - 1;
    request.fields = {"cost"};
    const auto start = std::chrono::steady_clock::now();
    absl::Status s = db->Scan(request, [&](const ScanBatch& scan) -> absl::Status {
      if (scan.columns.size() != 1 || scan.columns[0].type != FieldType::kMoney) {
        return absl::InternalError("field cost was not returned as money");
      }
      std::string run_id = "(no run_id)";
      for (const TagView& tag : scan.tags) {
        if (tag.key == "run_id") run_id = std::string(tag.value);
      }
      RunTotal& run = runs[run_id];
      const ScanColumn& cost = scan.columns[0];
      for (size_t row = 0; row < scan.rows(); ++row) {
        if (!cost.IsValid(row)) continue;
        ++run.points;
        run.cost.AddUnits(cost.ints[row]);
        read_cost.AddUnits(cost.ints[row]);
        ++read;
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return Annotate(s, "scan");
    const double seconds = SecondsSince(start);
    absl::FPrintF(out, "read back %s points in %.2f s (%s points/s)\n", WithThousands(read),
                  seconds, PerSecond(read, seconds));
  }
  if (absl::Status s = db->Close(); !s.ok()) return Annotate(s, "close");

  if (read < written || (read == written && !(read_cost == written_cost))) {
    return absl::InternalError(absl::StrCat("read back ", read, " points costing ",
                                            read_cost.ToString(), " but wrote ", written,
                                            " costing ", written_cost.ToString()));
  }

  // Top runs by exact total cost; ties broken by run id for a stable listing.
  std::vector<std::pair<const std::string*, const RunTotal*>> ranked;
  ranked.reserve(runs.size());
  for (const auto& [run_id, total] : runs) ranked.emplace_back(&run_id, &total);
  const size_t shown = std::min(kTopRuns, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(shown),
                    ranked.end(), [](const auto& a, const auto& b) {
                      if (a.second->cost.units() != b.second->cost.units()) {
                        return a.second->cost.units() > b.second->cost.units();
                      }
                      return *a.first < *b.first;
                    });

  const double interval_hours = static_cast<double>(config.interval_ns) / 3600e9;
  const std::string all_label = absl::StrCat("all ", WithThousands(runs.size()), " runs");
  size_t id_width = all_label.size();
  for (size_t i = 0; i < shown; ++i) id_width = std::max(id_width, ranked[i].first->size());
  const int w = static_cast<int>(id_width);

  absl::FPrintF(out, "\ntop %d runs by cost\n", shown);
  absl::FPrintF(out, "%-*s %10s %20s %12s\n", w, "run_id", "points", "total cost ($)",
                "avg $/hour");
  for (size_t i = 0; i < shown; ++i) {
    const RunTotal& run = *ranked[i].second;
    const double hours = static_cast<double>(run.points) * interval_hours;
    absl::FPrintF(out, "%-*s %10s %20s %12.2f\n", w, *ranked[i].first, WithThousands(run.points),
                  run.cost.ToString(), hours > 0 ? run.cost.ToDouble() / hours : 0.0);
  }
  absl::FPrintF(out, "%-*s %10s %20s\n", w, all_label, WithThousands(read), read_cost.ToString());

  if (read == written) {
    absl::FPrintF(
        out, "\nthe total equals, to the last of 10 decimals, the cost of the %s points written\n",
        WithThousands(written));
  } else {
    absl::FPrintF(out,
                  "\nthe directory also holds %s points written by earlier demo runs with other "
                  "settings; they are included above\n",
                  WithThousands(read - written));
  }
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(options.data_dir, ec);
  absl::FPrintF(out, "data: %s (database \"%s\", measurement \"%s\")\n",
                ec ? options.data_dir : absolute.lexically_normal().string(), database,
                std::string(TelemetryGenerator::kMeasurement));
  return absl::OkStatus();
}

}  // namespace burnrate
