#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Debian's Abseil (20220623) has no public RETURN_IF_ERROR / ASSIGN_OR_RETURN.

#define BR_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status br_status_ = (expr);      \
    if (!br_status_.ok()) return br_status_; \
  } while (0)

#define BR_CONCAT_INNER_(a, b) a##b
#define BR_CONCAT_(a, b) BR_CONCAT_INNER_(a, b)

#define BR_ASSIGN_OR_RETURN(lhs, expr) \
  BR_ASSIGN_OR_RETURN_IMPL_(BR_CONCAT_(br_statusor_, __LINE__), lhs, expr)

#define BR_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)     \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
