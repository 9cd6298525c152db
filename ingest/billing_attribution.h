#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/types.h"
#include "ingest/billing_literal.h"

namespace burnrate {

// Derives the attribution tags cost is keyed by (run_id, flow, step, user, project,
// model_version, variant) from a row's resource tags.
//
// Each target has aliases in priority order; the value of the highest-priority alias a row
// carries becomes the target's value. Keys are compared folded: ASCII letters and digits
// only, lowercased, so metaflow.run_id, metaflow_run_id, metaflow/run_id and Metaflow-Run-Id
// are one alias, whatever encoding the provider used (tag keys reach this class already
// stripped of the provider's column prefix, e.g. resourceTags/user: or user_).
//
// A value type. Thread-compatible: Apply may run concurrently on a const object.
class AttributionMapping {
 public:
  // Metaflow's own tag names first, then the generic ones; see docs/billing.md.
  static AttributionMapping Default();
  // No rules.
  AttributionMapping() = default;

  // Sets the aliases of target, replacing any it had; an empty list removes the target.
  // kInvalidArgument for a target that is empty, starts with "tag_" or is a tag the
  // importer writes itself (cloud, account, currency, ...).
  [[nodiscard]] absl::Status Set(std::string_view target, std::vector<std::string> aliases);

  const std::vector<std::pair<std::string, std::vector<std::string>>>& rules() const {
    return rules_;
  }

  // Appends one Tag per target that tags give a non-empty value.
  void Apply(const TagList& tags, std::vector<Tag>* out) const;

 private:
  void Rebuild();

  std::vector<std::pair<std::string, std::vector<std::string>>> rules_;
  // folded alias -> (rule index, priority; lower wins)
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>> index_;
};

// Starts from AttributionMapping::Default() and applies a small config: either JSON
// ({"run_id": ["metaflow.run_id", "my_run"], "team": "squad"}) or key=value lines
// ("run_id = metaflow.run_id, my_run"; '#' starts a comment). Each target named replaces
// that target's aliases; an empty list removes it. kInvalidArgument naming the line or byte.
[[nodiscard]] absl::StatusOr<AttributionMapping> ParseAttributionMapping(std::string_view text);
// As ParseAttributionMapping on a file's contents; errors name the file.
[[nodiscard]] absl::StatusOr<AttributionMapping> LoadAttributionMapping(const std::string& path);

// The folded form attribution matching compares.
std::string FoldTagKey(std::string_view key);

}  // namespace burnrate
