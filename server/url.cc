#include "server/url.h"

namespace burnrate {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

UrlParams UrlParams::Parse(std::string_view query) {
  UrlParams params;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(pos, end - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos) {
        params.params_.emplace_back(PercentDecode(pair), std::string());
      } else {
        params.params_.emplace_back(PercentDecode(pair.substr(0, eq)),
                                    PercentDecode(pair.substr(eq + 1)));
      }
    }
    pos = end + 1;
  }
  return params;
}

const std::string* UrlParams::Find(std::string_view key) const {
  for (const auto& [k, v] : params_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string UrlParams::Get(std::string_view key) const {
  const std::string* v = Find(key);
  return v == nullptr ? std::string() : *v;
}

void UrlParams::Append(const UrlParams& other) {
  params_.insert(params_.end(), other.params_.begin(), other.params_.end());
}

void SplitTarget(std::string_view target, std::string_view* path, std::string_view* query) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) {
    *path = target;
    *query = std::string_view();
  } else {
    *path = target.substr(0, q);
    *query = target.substr(q + 1);
  }
}

}  // namespace burnrate
