#include "burnrate/types.h"

#include <charconv>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "burnrate/options.h"

namespace burnrate {

std::string_view FieldTypeName(FieldType type) {
  // The first five are InfluxDB's names (SHOW FIELD KEYS).
  switch (type) {
    case FieldType::kFloat:
      return "float";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kUnsigned:
      return "unsigned";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kString:
      return "string";
    case FieldType::kMoney:
      return "money";
  }
  return "unknown";
}

std::string FieldValue::DebugString() const {
  switch (type_) {
    case FieldType::kFloat: {
      char buf[32];
      // Shortest text that reads back as the same double.
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, as_float());
      return ec == std::errc() ? std::string(buf, end) : std::string("?");
    }
    case FieldType::kInteger:
      return absl::StrCat(as_integer(), "i");
    case FieldType::kUnsigned:
      return absl::StrCat(as_unsigned(), "u");
    case FieldType::kBoolean:
      return as_boolean() ? "true" : "false";
    case FieldType::kString: {
      // Quoted and escaped as a line protocol string field.
      std::string out = "\"";
      for (char c : str_) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
      return out;
    }
    case FieldType::kMoney:
      return as_money().ToString();
  }
  return absl::StrCat("<field type ", static_cast<int>(type_), ">");
}

std::string_view FsyncPolicyName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kInterval:
      return "interval";
    case FsyncPolicy::kNone:
      return "none";
  }
  return "unknown";
}

}  // namespace burnrate
