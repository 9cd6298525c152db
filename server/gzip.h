#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace burnrate {

// Decompresses a gzip body (one member or several concatenated, as `cat a.gz b.gz` gives).
// kInvalidArgument for a stream that is not gzip, corrupt or truncated; kResourceExhausted
// as soon as the output would exceed max_bytes, so a small body cannot expand into
// gigabytes (a "zip bomb").
[[nodiscard]] absl::StatusOr<std::string> Gunzip(std::string_view compressed, size_t max_bytes);

// Compresses data as one gzip member. For tests and clients.
std::string Gzip(std::string_view data);

}  // namespace burnrate
