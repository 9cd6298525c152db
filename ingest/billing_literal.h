#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace burnrate {

using TagList = std::vector<std::pair<std::string, std::string>>;

struct LooseMember;

// A value in the loose JSON that billing exports put inside CSV cells for tags, labels,
// credits and manifests: JSON, plus the Python literals some flatteners write ('single
// quoted' strings, None, True, False). Numbers keep their text so amounts stay exact.
// A value type. Thread-compatible.
struct LooseValue {
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kList, kObject };
  Kind kind = Kind::kNull;
  std::string text;  // the string, the number as written, or "true" / "false"
  std::vector<LooseValue> items;
  std::vector<LooseMember> members;

  // The first member named key, or null.
  const LooseValue* Find(std::string_view key) const;
  // The member's text when it is a string, number or bool; empty otherwise.
  std::string_view TextOf(std::string_view key) const;
};

// One member of a LooseValue object. A value type. Thread-compatible.
struct LooseMember {
  std::string key;
  LooseValue value;
};

// Parses one value (the whole text, surrounding whitespace allowed). kInvalidArgument
// naming the byte offset of the problem.
[[nodiscard]] absl::StatusOr<LooseValue> ParseLooseValue(std::string_view text);

// Appends the members of a tag object to *tags: a JSON or Python object with or without its
// outer braces (Azure cost exports drop them), or Hive/Athena map text ({k=v, k2=v2}).
// Scalars become text (true, 12.5); null members and empty values are skipped; nested
// values keep their JSON text. Empty or "[]"/"{}" text adds nothing.
[[nodiscard]] absl::Status ParseTagObject(std::string_view text, TagList* tags);

// Appends GCP label records, a list of {"key": k, "value": v} objects (JSON or Python), to
// *tags; records without a key or with an empty value are skipped.
[[nodiscard]] absl::Status ParseKeyValueRecords(std::string_view text, TagList* tags);

}  // namespace burnrate
