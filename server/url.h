#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace burnrate {

// Decodes %XX escapes and '+' (a space, in query strings and form bodies). A '%' not
// followed by two hex digits is kept as is, as Go's lenient clients expect.
std::string PercentDecode(std::string_view text);

// The decoded parameters of a query string or an application/x-www-form-urlencoded body.
// Value type; thread-compatible.
class UrlParams {
 public:
  UrlParams() = default;
  static UrlParams Parse(std::string_view query);

  // The first value given for key, or null.
  const std::string* Find(std::string_view key) const;
  // The first value given for key, or "".
  std::string Get(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  // Adds other's parameters after this one's, so values already here win.
  void Append(const UrlParams& other);

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// Splits a request target into its path and its query string (without '?').
void SplitTarget(std::string_view target, std::string_view* path, std::string_view* query);

}  // namespace burnrate
