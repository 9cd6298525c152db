#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/query_handler.h"

// Tokens and what they may do. The tokens file (docs/http.md, "Authentication") holds one
// token per line followed by its scopes:
//
//   # token          scopes
//   telegraf-7f3a9c  write:telemetry
//   grafana-19bd     read:*
//   ops-0c41         admin
//
// Scopes: read:<db>, write:<db> (a database name, or * for every database) and admin
// (everything, including CREATE/DROP DATABASE). Blank lines and lines starting with '#'
// are ignored.

namespace burnrate {

// What one token may do. Value type; thread-compatible.
struct TokenGrant {
  bool admin = false;
  bool read_all = false;
  bool write_all = false;
  std::vector<std::string> read;   // databases
  std::vector<std::string> write;  // databases

  bool Allows(Access access, std::string_view database) const;
};

// The parsed tokens file. Immutable once built; thread-safe.
class TokenSet {
 public:
  // kInvalidArgument "<source>:<line>: reason" for a malformed line, an unknown scope or a
  // token given twice.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<const TokenSet>> Parse(
      std::string_view text, std::string_view source);

  // The grant of `token`, or null. Compares against every token in constant time per
  // token, so response times do not reveal how much of a guess matched.
  const TokenGrant* Find(std::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string token;
    TokenGrant grant;
  };
  std::vector<Entry> entries_;
};

// The server's view of authentication: off (no tokens file), or the current TokenSet,
// replaced whole by Reload so a request sees either the old file or the new one.
// Thread-safe.
class Authenticator {
 public:
  // With an empty path auth is off. Otherwise reads and parses the file: its error, prefixed
  // with the path, when it cannot be read or parsed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Authenticator>> Create(
      const std::string& tokens_file);

  bool enabled() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

  // Reads the tokens file again. On error the previous tokens stay in force and the error
  // is returned. OK and nothing done when auth is off.
  [[nodiscard]] absl::Status Reload();

  // The tokens in force; null when auth is off.
  std::shared_ptr<const TokenSet> Current() const;

 private:
  explicit Authenticator(std::string path) : path_(std::move(path)) {}

  const std::string path_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenSet> tokens_ ABSL_GUARDED_BY(mu_);
};

// The credentials a request carries, in the forms InfluxDB clients send them:
// `Authorization: Token <t>` (2.x; also 1.8's `Token user:password`), `Bearer <t>`,
// `Basic base64(user:password)` with the token as password, and the 1.x `u`/`p` query
// parameters with the token as `p`. Returns the candidate tokens, in that order; empty when
// the request carries none. A malformed Authorization header yields no candidate.
std::vector<std::string> CandidateTokens(std::string_view authorization, std::string_view p_param);

}  // namespace burnrate
