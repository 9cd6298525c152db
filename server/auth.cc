#include "server/auth.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "base/str_cat.h"

namespace burnrate {
namespace {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::vector<std::string_view> SplitWhitespace(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Strips a case-insensitive `scheme ` prefix; false when the header has another scheme.
bool StripScheme(std::string_view header, std::string_view scheme, std::string_view* rest) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return false;
  }
  std::string_view r = header.substr(scheme.size() + 1);
  while (!r.empty() && r.front() == ' ') r.remove_prefix(1);
  while (!r.empty() && r.back() == ' ') r.remove_suffix(1);
  *rest = r;
  return !r.empty();
}

}  // namespace

bool TokenGrant::Allows(Access access, std::string_view database) const {
  if (admin) return true;
  switch (access) {
    case Access::kRead:
      return read_all || write_all || Contains(read, database) || Contains(write, database);
    case Access::kWrite:
      return write_all || Contains(write, database);
    case Access::kAdmin:
      return false;
  }
  return false;
}

absl::StatusOr<std::shared_ptr<const TokenSet>> TokenSet::Parse(std::string_view text,
                                                                std::string_view source) {
  auto set = std::make_shared<TokenSet>();
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::vector<std::string_view> words = SplitWhitespace(line);
    if (words.empty() || words[0].front() == '#') continue;
    const auto error = [&](std::string_view reason) {
      return absl::InvalidArgumentError(StrCat(source, ":", line_no, ": ", reason));
    };
    if (words.size() < 2)
      return error("a token needs at least one scope (read:<db>, write:<db>, admin)");
    Entry entry;
    entry.token = std::string(words[0]);
    for (const Entry& e : set->entries_) {
      if (e.token == entry.token) return error("token given twice");
    }
    for (size_t i = 1; i < words.size(); ++i) {
      const std::string_view scope = words[i];
      if (scope.front() == '#') break;
      if (scope == "admin") {
        entry.grant.admin = true;
        continue;
      }
      const size_t colon = scope.find(':');
      const std::string_view kind = scope.substr(0, colon);
      const std::string_view db =
          colon == std::string_view::npos ? std::string_view() : scope.substr(colon + 1);
      if (db.empty() || (kind != "read" && kind != "write")) {
        return error(StrCat("unknown scope '", scope,
                            "' (use read:<db>, write:<db>, read:*, write:* or admin)"));
      }
      const bool all = db == "*";
      if (kind == "read") {
        if (all)
          entry.grant.read_all = true;
        else
          entry.grant.read.emplace_back(db);
      } else {
        if (all)
          entry.grant.write_all = true;
        else
          entry.grant.write.emplace_back(db);
      }
    }
    set->entries_.push_back(std::move(entry));
  }
  return std::shared_ptr<const TokenSet>(std::move(set));
}

const TokenGrant* TokenSet::Find(std::string_view token) const {
  const TokenGrant* found = nullptr;
  for (const Entry& e : entries_) {
    if (ConstantTimeEquals(e.token, token)) found = &e.grant;
  }
  return found;
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(
    const std::string& tokens_file) {
  std::unique_ptr<Authenticator> auth(new Authenticator(tokens_file));
  if (!tokens_file.empty()) {
    if (absl::Status s = auth->Reload(); !s.ok()) return s;
  }
  return auth;
}

absl::Status Authenticator::Reload() {
  if (path_.empty()) return absl::OkStatus();
  std::ifstream in(path_, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat(path_, ": cannot read the tokens file"));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(StrCat(path_, ": read error"));
  absl::StatusOr<std::shared_ptr<const TokenSet>> parsed = TokenSet::Parse(text.str(), path_);
  if (!parsed.ok()) return parsed.status();
  absl::MutexLock lock(&mu_);
  tokens_ = std::move(parsed).value();
  return absl::OkStatus();
}

std::shared_ptr<const TokenSet> Authenticator::Current() const {
  absl::MutexLock lock(&mu_);
  return tokens_;
}

std::vector<std::string> CandidateTokens(std::string_view authorization, std::string_view p_param) {
  std::vector<std::string> out;
  std::string_view rest;
  if (StripScheme(authorization, "token", &rest)) {
    out.emplace_back(rest);
    // InfluxDB 1.8 reads `Token user:password`.
    const size_t colon = rest.find(':');
    if (colon != std::string_view::npos) out.emplace_back(rest.substr(colon + 1));
  } else if (StripScheme(authorization, "bearer", &rest)) {
    out.emplace_back(rest);
  } else if (StripScheme(authorization, "basic", &rest)) {
    std::string decoded;
    if (absl::Base64Unescape(absl::string_view(rest.data(), rest.size()), &decoded)) {
      const size_t colon = decoded.find(':');
      if (colon != std::string::npos) out.push_back(decoded.substr(colon + 1));
    }
  }
  if (!p_param.empty()) out.emplace_back(p_param);
  return out;
}

}  // namespace burnrate
