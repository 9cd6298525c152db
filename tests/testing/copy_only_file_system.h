#pragma once

#include <string>

#include "absl/status/status.h"
#include "tests/testing/forwarding_file_system.h"

namespace burnrate::testing {

// Forwards every operation to another FileSystem except LinkFile, which reports
// kUnimplemented as a file system without hard links (or a target on another device) does,
// so that backups copy. The base must outlive this object. Thread-safe.
class CopyOnlyFileSystem final : public ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;

  [[nodiscard]] absl::Status LinkFile(const std::string& from, const std::string& to) override {
    return absl::UnimplementedError("link " + from + " to " + to + ": hard links disabled");
  }
};

}  // namespace burnrate::testing
