#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/db.h"
#include "ingest/billing_import.h"

namespace burnrate {

struct WatchOptions {
  ImportOptions import;
  // Where the watcher remembers what it imported (a small text file, replaced atomically).
  // Required.
  std::string state_path;
  // A delivery whose newest file changed less than this long ago waits for the next poll,
  // so files still being copied are not read half-written.
  int64_t settle_ns = 0;
  // The wall clock, for settle_ns; null means the system clock.
  std::function<TimestampNs()> now;
};

// What one poll decided about one delivery.
struct WatchDecision {
  enum class Action : uint8_t {
    kImported,     // new or changed, imported
    kUnchanged,    // already imported in this version
    kIncomplete,   // a manifest names files that are not there yet
    kSettling,     // changed too recently
    kFailed,       // import failed; retried when the delivery changes
    kStillFailed,  // failed before in this version; not retried
  };
  std::string delivery;
  Action action = Action::kUnchanged;
  std::string message;
  // The same decision as the previous poll's for this delivery (callers log changes only).
  bool repeated = false;
  std::optional<ImportSummary> summary;  // kImported only
};

std::string_view WatchActionName(WatchDecision::Action action);

// Watches a directory for billing deliveries (see FindBillingDeliveries) and imports each
// complete one once per version. What was imported (delivery id and fingerprint) is kept in
// the state file, written after every import, so a restarted watcher does not import again.
// A crash between an import's commit and the state write only repeats that import, which
// replaces the source with the same rows.
// The Db must outlive the watcher. Not thread-safe; one thread polls.
class BillingWatcher {
 public:
  // Loads the state file (a missing file is an empty state). kDataLoss for a state file
  // that cannot be parsed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BillingWatcher>> Open(Db* db,
                                                                            std::string database,
                                                                            std::string dir,
                                                                            WatchOptions options);

  // One polling cycle: lists the deliveries, imports every complete one whose fingerprint
  // differs from the one recorded, records the outcome, and says what it decided about
  // each. Errors: the directory cannot be listed or the state file cannot be written.
  [[nodiscard]] absl::StatusOr<std::vector<WatchDecision>> PollOnce();

 private:
  struct Entry {
    bool ok = false;
    std::string fingerprint;
  };

  BillingWatcher(Db* db, std::string database, std::string dir, WatchOptions options)
      : db_(db),
        database_(std::move(database)),
        dir_(std::move(dir)),
        options_(std::move(options)) {}
  [[nodiscard]] absl::Status LoadState();
  [[nodiscard]] absl::Status SaveState() const;

  Db* const db_;
  const std::string database_;
  const std::string dir_;
  const WatchOptions options_;
  std::map<std::string, Entry> state_;  // by delivery id
  std::map<std::string, WatchDecision::Action> last_action_;
};

}  // namespace burnrate
