#include "ingest/billing_literal.h"

#include "base/str_cat.h"

namespace burnrate {
namespace {

constexpr int kMaxDepth = 64;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Recursive descent over one text, which must outlive the parser. Not thread-safe.
class LooseParser {
 public:
  explicit LooseParser(std::string_view text) : s_(text) {}

  absl::StatusOr<LooseValue> ParseAll() {
    LooseValue v;
    if (!Value(&v, 0)) return Fail();
    SkipSpace();
    if (p_ != s_.size()) {
      error_ = "unexpected text after the value";
      return Fail();
    }
    return v;
  }

 private:
  absl::Status Fail() const {
    return absl::InvalidArgumentError(StrCat("malformed JSON at byte ", p_, ": ", error_));
  }

  void SkipSpace() {
    while (p_ < s_.size() && IsSpace(s_[p_])) ++p_;
  }

  bool Value(LooseValue* v, int depth) {
    if (depth > kMaxDepth) {
      error_ = "nested too deeply";
      return false;
    }
    SkipSpace();
    if (p_ >= s_.size()) {
      error_ = "unexpected end";
      return false;
    }
    const char c = s_[p_];
    if (c == '{') return Object(v, depth);
    if (c == '[') return List(v, depth);
    if (c == '"' || c == '\'') {
      v->kind = LooseValue::Kind::kString;
      return String(&v->text);
    }
    if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) return Number(v);
    return Word(v);
  }

  bool Object(LooseValue* v, int depth) {
    v->kind = LooseValue::Kind::kObject;
    ++p_;
    SkipSpace();
    if (p_ < s_.size() && s_[p_] == '}') {
      ++p_;
      return true;
    }
    while (true) {
      SkipSpace();
      std::string key;
      if (p_ >= s_.size() || (s_[p_] != '"' && s_[p_] != '\'')) {
        error_ = "expected a quoted member name";
        return false;
      }
      if (!String(&key)) return false;
      SkipSpace();
      if (p_ >= s_.size() || s_[p_] != ':') {
        error_ = "expected ':'";
        return false;
      }
      ++p_;
      LooseValue member;
      if (!Value(&member, depth + 1)) return false;
      v->members.push_back(LooseMember{std::move(key), std::move(member)});
      SkipSpace();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        SkipSpace();
        if (p_ < s_.size() && s_[p_] == '}') {  // a trailing comma, as Python allows
          ++p_;
          return true;
        }
        continue;
      }
      if (p_ < s_.size() && s_[p_] == '}') {
        ++p_;
        return true;
      }
      error_ = "expected ',' or '}'";
      return false;
    }
  }

  bool List(LooseValue* v, int depth) {
    v->kind = LooseValue::Kind::kList;
    ++p_;
    SkipSpace();
    if (p_ < s_.size() && s_[p_] == ']') {
      ++p_;
      return true;
    }
    while (true) {
      LooseValue item;
      if (!Value(&item, depth + 1)) return false;
      v->items.push_back(std::move(item));
      SkipSpace();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        SkipSpace();
        if (p_ < s_.size() && s_[p_] == ']') {
          ++p_;
          return true;
        }
        continue;
      }
      if (p_ < s_.size() && s_[p_] == ']') {
        ++p_;
        return true;
      }
      error_ = "expected ',' or ']'";
      return false;
    }
  }

  bool Hex4(uint32_t* out) {
    if (p_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[p_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    p_ += 4;
    *out = v;
    return true;
  }

  bool String(std::string* out) {
    const char quote = s_[p_++];
    while (p_ < s_.size()) {
      const char c = s_[p_++];
      if (c == quote) return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (p_ >= s_.size()) break;
      const char e = s_[p_++];
      switch (e) {
        case 'n':
          out->push_back('\n');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) {
            error_ = "bad \\u escape";
            return false;
          }
          if (cp >= 0xD800 && cp < 0xDC00 && p_ + 1 < s_.size() && s_[p_] == '\\' &&
              s_[p_ + 1] == 'u') {
            p_ += 2;
            uint32_t lo;
            if (!Hex4(&lo) || lo < 0xDC00 || lo >= 0xE000) {
              error_ = "bad surrogate pair";
              return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          out->push_back(e);  // \" \' \\ \/ and Python's other escapes as the character
      }
    }
    error_ = "unterminated string";
    return false;
  }

  bool Number(LooseValue* v) {
    const size_t start = p_;
    while (p_ < s_.size() && !IsSpace(s_[p_]) && s_[p_] != ',' && s_[p_] != '}' && s_[p_] != ']') {
      ++p_;
    }
    v->kind = LooseValue::Kind::kNumber;
    v->text = std::string(s_.substr(start, p_ - start));
    return true;
  }

  bool Word(LooseValue* v) {
    const size_t start = p_;
    while (p_ < s_.size() &&
           ((s_[p_] >= 'a' && s_[p_] <= 'z') || (s_[p_] >= 'A' && s_[p_] <= 'Z'))) {
      ++p_;
    }
    const std::string_view w = s_.substr(start, p_ - start);
    if (w == "null" || w == "None") {
      v->kind = LooseValue::Kind::kNull;
    } else if (w == "true" || w == "True") {
      v->kind = LooseValue::Kind::kBool;
      v->text = "true";
    } else if (w == "false" || w == "False") {
      v->kind = LooseValue::Kind::kBool;
      v->text = "false";
    } else {
      p_ = start;
      error_ = "unexpected character";
      return false;
    }
    return true;
  }

  std::string_view s_;
  size_t p_ = 0;
  std::string error_;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// JSON text of a nested value, for tags whose value is an object or list.
void AppendJson(const LooseValue& v, std::string* out) {
  switch (v.kind) {
    case LooseValue::Kind::kNull:
      out->append("null");
      return;
    case LooseValue::Kind::kBool:
    case LooseValue::Kind::kNumber:
      out->append(v.text);
      return;
    case LooseValue::Kind::kString:
      out->push_back('"');
      for (const char c : v.text) {
        if (c == '"' || c == '\\') out->push_back('\\');
        out->push_back(c);
      }
      out->push_back('"');
      return;
    case LooseValue::Kind::kList:
      out->push_back('[');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJson(v.items[i], out);
      }
      out->push_back(']');
      return;
    case LooseValue::Kind::kObject:
      out->push_back('{');
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i > 0) out->push_back(',');
        LooseValue key;
        key.kind = LooseValue::Kind::kString;
        key.text = v.members[i].key;
        AppendJson(key, out);
        out->push_back(':');
        AppendJson(v.members[i].value, out);
      }
      out->push_back('}');
      return;
  }
}

void AddTag(std::string key, const LooseValue& v, TagList* tags) {
  if (v.kind == LooseValue::Kind::kNull) return;
  std::string value;
  if (v.kind == LooseValue::Kind::kList || v.kind == LooseValue::Kind::kObject) {
    AppendJson(v, &value);
  } else {
    value = v.text;
  }
  if (value.empty() || key.empty()) return;
  tags->emplace_back(std::move(key), std::move(value));
}

// Hive/Athena map text: {k=v, k2=v2}. Values run to the next ", " followed by a key and '='.
bool ParseHiveMap(std::string_view text, TagList* tags) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return false;
  std::string_view body = text.substr(1, text.size() - 2);
  if (Trim(body).empty()) return true;
  TagList parsed;
  while (!body.empty()) {
    const size_t eq = body.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view key = Trim(body.substr(0, eq));
    body.remove_prefix(eq + 1);
    // The value ends at the ", " that precedes the next "key=".
    size_t end = body.size();
    for (size_t k = body.find(", "); k != std::string_view::npos; k = body.find(", ", k + 1)) {
      const size_t next_eq = body.find('=', k + 2);
      const size_t next_sep = body.find(", ", k + 2);
      if (next_eq != std::string_view::npos &&
          (next_sep == std::string_view::npos || next_eq < next_sep)) {
        end = k;
        break;
      }
    }
    const std::string_view value = body.substr(0, end);
    if (!key.empty() && !value.empty()) parsed.emplace_back(std::string(key), std::string(value));
    body.remove_prefix(std::min(body.size(), end + 2));
  }
  tags->insert(tags->end(), parsed.begin(), parsed.end());
  return true;
}

}  // namespace

const LooseValue* LooseValue::Find(std::string_view key) const {
  for (const auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string_view LooseValue::TextOf(std::string_view key) const {
  const LooseValue* v = Find(key);
  if (v == nullptr || v->kind == Kind::kNull || v->kind == Kind::kList ||
      v->kind == Kind::kObject) {
    return {};
  }
  return v->text;
}

absl::StatusOr<LooseValue> ParseLooseValue(std::string_view text) {
  return LooseParser(text).ParseAll();
}

absl::Status ParseTagObject(std::string_view text, TagList* tags) {
  text = Trim(text);
  if (text.empty() || text == "[]" || text == "{}") return absl::OkStatus();
  std::string wrapped;
  std::string_view json = text;
  if (text.front() != '{') {
    wrapped = StrCat("{", text, "}");
    json = wrapped;
  }
  absl::StatusOr<LooseValue> v = ParseLooseValue(json);
  if (!v.ok() || v->kind != LooseValue::Kind::kObject) {
    if (text.front() == '{' && ParseHiveMap(text, tags)) return absl::OkStatus();
    if (!v.ok()) return v.status();
    return absl::InvalidArgumentError("tags are not a JSON object");
  }
  for (auto& [key, value] : v->members) AddTag(key, value, tags);
  return absl::OkStatus();
}

absl::Status ParseKeyValueRecords(std::string_view text, TagList* tags) {
  text = Trim(text);
  if (text.empty() || text == "[]") return absl::OkStatus();
  absl::StatusOr<LooseValue> v = ParseLooseValue(text);
  if (!v.ok()) return v.status();
  if (v->kind == LooseValue::Kind::kObject) {
    // A map rather than records.
    for (auto& [key, value] : v->members) AddTag(key, value, tags);
    return absl::OkStatus();
  }
  if (v->kind != LooseValue::Kind::kList) {
    return absl::InvalidArgumentError("labels are not a list of {key, value} records");
  }
  for (const LooseValue& item : v->items) {
    if (item.kind != LooseValue::Kind::kObject) {
      return absl::InvalidArgumentError("labels are not a list of {key, value} records");
    }
    const LooseValue* value = item.Find("value");
    if (value == nullptr) continue;
    AddTag(std::string(item.TextOf("key")), *value, tags);
  }
  return absl::OkStatus();
}

}  // namespace burnrate
