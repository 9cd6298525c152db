#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "tools/commands.h"
#include "tools/progress.h"

namespace burnrate {
namespace {

// Output is handed to stdio in chunks of about this size.
constexpr size_t kChunkBytes = 1 << 20;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

absl::StatusOr<TimestampNs> ParseRfc3339(std::string_view text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, absl::string_view(text.data(), text.size()), &t,
                       &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", absl::string_view(text.data(), text.size()),
                     "' is not an RFC 3339 time such as 2026-11-01T00:00:00Z: ", error));
  }
  return absl::ToUnixNanos(t);
}

absl::Status RunGen(const GenCommandOptions& options) {
  BR_ASSIGN_OR_RETURN(std::unique_ptr<TelemetryGenerator> generator,
                      TelemetryGenerator::Create(options.generator));
  const bool to_stdout = options.out == "-";
  const std::string name = to_stdout ? "standard output" : options.out;
  std::unique_ptr<std::FILE, FileCloser> owned;
  std::FILE* out = stdout;
  if (!to_stdout) {
    owned.reset(std::fopen(options.out.c_str(), "wb"));
    if (owned == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("create ", name));
    out = owned.get();
  }

  TerminalProgress progress("generating", generator->total_points(),
                            /*enabled=*/isatty(fileno(out)) == 0);
  std::string chunk;
  chunk.reserve(kChunkBytes + 64 * 1024);
  while (true) {
    const size_t added = generator->AppendLineProtocol(&chunk, 1024);
    if (chunk.size() >= kChunkBytes || (added == 0 && !chunk.empty())) {
      if (std::fwrite(chunk.data(), 1, chunk.size(), out) != chunk.size()) {
        return absl::ErrnoToStatus(errno, absl::StrCat("write ", name));
      }
      chunk.clear();
      progress.Update(generator->points_generated());
    }
    if (added == 0) break;
  }
  progress.Finish();
  if (std::fflush(out) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("write ", name));
  if (owned != nullptr && std::fclose(owned.release()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("close ", name));
  }
  return absl::OkStatus();
}

}  // namespace burnrate
