#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"

// Debian's Abseil (20220623) has its own absl::string_view, so absl::StrCat rejects
// std::string_view arguments. burnrate::StrCat accepts both, and numbers as absl::StrCat
// formats them.

namespace burnrate {
namespace str_cat_internal {

template <typename T>
void AppendPiece(std::string* out, const T& v) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out->append(std::string_view(v));
  } else if constexpr (std::is_same_v<T, absl::string_view>) {
    out->append(v.data(), v.size());
  } else {
    absl::StrAppend(out, v);
  }
}

}  // namespace str_cat_internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (str_cat_internal::AppendPiece(&out, args), ...);
  return out;
}

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  (str_cat_internal::AppendPiece(out, args), ...);
}

}  // namespace burnrate
