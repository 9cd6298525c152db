#include "ingest/billing_attribution.h"

#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "ingest/billing_input.h"

namespace burnrate {
namespace {

// Tags the importer writes itself; a target may not shadow them.
constexpr std::string_view kReservedTags[] = {
    "cloud",   "source", "billing_period", "billing_account", "account",     "resource",
    "service", "sku",    "region",         "charge_category", "charge_type", "currency",
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string FoldTagKey(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (const char c : key) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

AttributionMapping AttributionMapping::Default() {
  AttributionMapping m;
  m.rules_ = {
      {"run_id", {"metaflow.run_id", "metaflow_run_id", "metaflow/run_id", "run_id"}},
      {"flow",
       {"metaflow.flow_name", "metaflow_flow_name", "metaflow/flow_name", "flow_name", "flow"}},
      {"step",
       {"metaflow.step_name", "metaflow_step_name", "metaflow/step_name", "step_name", "step"}},
      {"user",
       {"metaflow.user", "metaflow_user", "metaflow/user", "metaflow.owner", "metaflow.username",
        "user", "username", "owner"}},
      {"project",
       {"metaflow.project_name", "metaflow_project_name", "metaflow/project_name",
        "metaflow.project", "project_name", "project"}},
      {"model_version", {"metaflow.model_version", "model_version", "model-version"}},
      {"variant", {"metaflow.variant", "variant", "experiment_variant", "ab_variant"}},
  };
  m.Rebuild();
  return m;
}

absl::Status AttributionMapping::Set(std::string_view target, std::vector<std::string> aliases) {
  target = Trim(target);
  if (target.empty()) return absl::InvalidArgumentError("attribution target is empty");
  if (target.starts_with("tag_")) {
    return absl::InvalidArgumentError(
        StrCat("attribution target \"", target, "\" may not start with tag_"));
  }
  for (std::string_view reserved : kReservedTags) {
    if (target == reserved) {
      return absl::InvalidArgumentError(
          StrCat("attribution target \"", target, "\" is a tag the importer writes itself"));
    }
  }
  for (const std::string& a : aliases) {
    if (FoldTagKey(a).empty()) {
      return absl::InvalidArgumentError(
          StrCat("attribution alias \"", a, "\" of ", target, " has no letters or digits"));
    }
  }
  auto it =
      std::find_if(rules_.begin(), rules_.end(), [&](const auto& r) { return r.first == target; });
  if (aliases.empty()) {
    if (it != rules_.end()) rules_.erase(it);
  } else if (it != rules_.end()) {
    it->second = std::move(aliases);
  } else {
    rules_.emplace_back(std::string(target), std::move(aliases));
  }
  Rebuild();
  return absl::OkStatus();
}

void AttributionMapping::Rebuild() {
  index_.clear();
  for (uint32_t r = 0; r < rules_.size(); ++r) {
    for (uint32_t p = 0; p < rules_[r].second.size(); ++p) {
      // An alias feeds the first target that names it.
      index_.try_emplace(FoldTagKey(rules_[r].second[p]), r, p);
    }
  }
}

void AttributionMapping::Apply(const TagList& tags, std::vector<Tag>* out) const {
  if (index_.empty() || tags.empty()) return;
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  // Few targets: a small array of (priority, tag index) per rule.
  std::vector<std::pair<uint32_t, size_t>> best(rules_.size(), {kNone, 0});
  std::string folded;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (tags[i].second.empty()) continue;
    folded.clear();
    for (const char c : tags[i].first) {
      if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
        folded.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
      }
    }
    auto it = index_.find(folded);
    if (it == index_.end()) continue;
    const auto [rule, priority] = it->second;
    if (priority < best[rule].first) best[rule] = {priority, i};
  }
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (best[r].first != kNone) out->push_back(Tag{rules_[r].first, tags[best[r].second].second});
  }
}

absl::StatusOr<AttributionMapping> ParseAttributionMapping(std::string_view text) {
  AttributionMapping m = AttributionMapping::Default();
  const std::string_view trimmed = Trim(text);
  if (trimmed.starts_with("{")) {
    BR_ASSIGN_OR_RETURN(LooseValue v, ParseLooseValue(trimmed));
    for (const auto& [target, value] : v.members) {
      std::vector<std::string> aliases;
      if (value.kind == LooseValue::Kind::kString) {
        aliases.push_back(value.text);
      } else if (value.kind == LooseValue::Kind::kList) {
        for (const LooseValue& a : value.items) {
          if (a.kind != LooseValue::Kind::kString) {
            return absl::InvalidArgumentError(
                StrCat("attribution target \"", target, "\": aliases must be strings"));
          }
          aliases.push_back(a.text);
        }
      } else if (value.kind != LooseValue::Kind::kNull) {
        return absl::InvalidArgumentError(
            StrCat("attribution target \"", target, "\": expected a string or a list"));
      }
      BR_RETURN_IF_ERROR(m.Set(target, std::move(aliases)));
    }
    return m;
  }
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(
          StrCat("line ", line_no, ": expected target = alias, alias, ..."));
    }
    std::vector<std::string> aliases;
    std::string_view rest = line.substr(eq + 1);
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view a = Trim(rest.substr(0, comma));
      if (!a.empty()) aliases.emplace_back(a);
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    }
    if (absl::Status s = m.Set(line.substr(0, eq), std::move(aliases)); !s.ok()) {
      return absl::InvalidArgumentError(StrCat("line ", line_no, ": ", s.message()));
    }
  }
  return m;
}

absl::StatusOr<AttributionMapping> LoadAttributionMapping(const std::string& path) {
  BR_ASSIGN_OR_RETURN(const std::string text, ReadSmallFile(path, 1 << 20));
  absl::StatusOr<AttributionMapping> m = ParseAttributionMapping(text);
  if (!m.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", m.status().message()));
  return m;
}

}  // namespace burnrate
