#include "ingest/billing_watch.h"

#include <filesystem>
#include <utility>

#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "burnrate/file_system.h"
#include "ingest/billing_input.h"

namespace burnrate {
namespace {

constexpr std::string_view kStateHeader = "# burnrate billing watch state v1";

std::string Escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '%':
        out += "%25";
        break;
      case '\t':
        out += "%09";
        break;
      case '\n':
        out += "%0A";
        break;
      case '\r':
        out += "%0D";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

bool Unescape(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const std::string_view hex = s.substr(i + 1, 2);
    if (hex == "25") {
      out->push_back('%');
    } else if (hex == "09") {
      out->push_back('\t');
    } else if (hex == "0A") {
      out->push_back('\n');
    } else if (hex == "0D") {
      out->push_back('\r');
    } else {
      return false;
    }
    i += 2;
  }
  return true;
}

}  // namespace

std::string_view WatchActionName(WatchDecision::Action action) {
  switch (action) {
    case WatchDecision::Action::kImported:
      return "imported";
    case WatchDecision::Action::kUnchanged:
      return "unchanged";
    case WatchDecision::Action::kIncomplete:
      return "incomplete";
    case WatchDecision::Action::kSettling:
      return "settling";
    case WatchDecision::Action::kFailed:
      return "failed";
    case WatchDecision::Action::kStillFailed:
      return "still-failed";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<BillingWatcher>> BillingWatcher::Open(Db* db, std::string database,
                                                                     std::string dir,
                                                                     WatchOptions options) {
  if (options.state_path.empty()) {
    return absl::InvalidArgumentError("the watch state file path is empty");
  }
  std::unique_ptr<BillingWatcher> w(
      new BillingWatcher(db, std::move(database), std::move(dir), std::move(options)));
  BR_RETURN_IF_ERROR(w->LoadState());
  return w;
}

absl::Status BillingWatcher::LoadState() {
  state_.clear();
  if (!FileSystem::Default()->FileExists(options_.state_path)) return absl::OkStatus();
  BR_ASSIGN_OR_RETURN(const std::string text, ReadSmallFile(options_.state_path));
  std::string_view rest = text;
  size_t line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    const size_t t1 = line.find('\t');
    const size_t t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    Entry e;
    std::string id;
    if (t2 == std::string_view::npos ||
        !Unescape(line.substr(t1 + 1, t2 - t1 - 1), &e.fingerprint) ||
        !Unescape(line.substr(t2 + 1), &id) ||
        (line.substr(0, t1) != "ok" && line.substr(0, t1) != "failed")) {
      return absl::DataLossError(
          StrCat(options_.state_path, ":", line_no, ": unreadable watch state line"));
    }
    e.ok = line.substr(0, t1) == "ok";
    state_[id] = std::move(e);
  }
  return absl::OkStatus();
}

absl::Status BillingWatcher::SaveState() const {
  std::string text = StrCat(kStateHeader, "\n");
  for (const auto& [id, e] : state_) {
    StrAppend(&text, e.ok ? "ok" : "failed", "\t", Escape(e.fingerprint), "\t", Escape(id), "\n");
  }
  FileSystem* fs = FileSystem::Default();
  const std::string tmp = options_.state_path + ".tmp";
  BR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, fs->NewWritableFile(tmp));
  BR_RETURN_IF_ERROR(f->Append(text));
  BR_RETURN_IF_ERROR(f->Sync());
  BR_RETURN_IF_ERROR(f->Close());
  BR_RETURN_IF_ERROR(fs->RenameFile(tmp, options_.state_path));
  std::string parent = std::filesystem::path(options_.state_path).parent_path().string();
  if (parent.empty()) parent = ".";
  return fs->SyncDir(parent);
}

absl::StatusOr<std::vector<WatchDecision>> BillingWatcher::PollOnce() {
  BR_ASSIGN_OR_RETURN(const std::vector<BillingDelivery> deliveries, FindBillingDeliveries(dir_));
  const TimestampNs now = options_.now ? options_.now() : absl::GetCurrentTimeNanos();
  std::vector<WatchDecision> decisions;
  for (const BillingDelivery& d : deliveries) {
    WatchDecision decision;
    decision.delivery = d.id;
    auto it = state_.find(d.id);
    const bool same_version = it != state_.end() && it->second.fingerprint == d.fingerprint;
    if (same_version && it->second.ok) {
      decision.action = WatchDecision::Action::kUnchanged;
      decision.message = "already imported";
    } else if (same_version) {
      decision.action = WatchDecision::Action::kStillFailed;
      decision.message = "failed before; waiting for a new version";
    } else if (!d.complete) {
      decision.action = WatchDecision::Action::kIncomplete;
      decision.message = d.incomplete_reason;
    } else if (options_.settle_ns > 0 && now - d.newest_mtime < options_.settle_ns) {
      decision.action = WatchDecision::Action::kSettling;
      decision.message = "changed moments ago; waiting for it to settle";
    } else {
      absl::StatusOr<ImportSummary> s = ImportBillingDelivery(db_, database_, d, options_.import);
      if (s.ok()) {
        decision.action = WatchDecision::Action::kImported;
        decision.message = StrCat(s->rows_imported, " rows, ", s->sources.size(), " source",
                                  s->sources.size() == 1 ? "" : "s");
        for (const SourceResult& src : s->sources) {
          StrAppend(&decision.message, src.replaced ? "; replaced " : "; new ", src.key);
        }
        if (s->rows_skipped > 0)
          StrAppend(&decision.message, "; ", s->rows_skipped, " rows skipped");
        decision.summary = std::move(*s);
        state_[d.id] = Entry{true, d.fingerprint};
      } else if (absl::IsUnavailable(s.status()) || absl::IsResourceExhausted(s.status()) ||
                 absl::IsFailedPrecondition(s.status()) || absl::IsCancelled(s.status())) {
        // The database or machine, not the delivery: try again on the next poll.
        decision.action = WatchDecision::Action::kFailed;
        decision.message = StrCat(s.status().message(), " (will retry)");
      } else {
        decision.action = WatchDecision::Action::kFailed;
        decision.message = std::string(s.status().message());
        state_[d.id] = Entry{false, d.fingerprint};
      }
      if (state_.count(d.id) > 0) BR_RETURN_IF_ERROR(SaveState());
    }
    auto last = last_action_.find(d.id);
    decision.repeated = last != last_action_.end() && last->second == decision.action &&
                        decision.action != WatchDecision::Action::kImported;
    last_action_[d.id] = decision.action;
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

}  // namespace burnrate
