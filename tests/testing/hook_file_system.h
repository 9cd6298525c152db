#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/testing/forwarding_file_system.h"

namespace burnrate::testing {

// Forwards every operation to another FileSystem and calls test hooks at chosen points, so
// a test can hold one engine thread inside a file operation while another thread runs:
// deterministic interleavings without sleeps.
//
// Set the hooks before the file system is used; they are called from whatever thread makes
// the call and must be thread-safe themselves. The base must outlive this object.
// Thread-safe.
class HookFileSystem final : public ForwardingFileSystem {
 public:
  using Hook = std::function<void(const std::string& path)>;

  explicit HookFileSystem(Hook before_list_dir, Hook after_open_for_read,
                          FileSystem* base = FileSystem::Default())
      : ForwardingFileSystem(base),
        before_list_dir_(std::move(before_list_dir)),
        after_open_for_read_(std::move(after_open_for_read)) {}

  // Calls after_open_for_read (with path) once the file is open.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    auto file = base()->NewRandomAccessFile(path);
    if (file.ok() && after_open_for_read_) after_open_for_read_(path);
    return file;
  }
  // Calls before_list_dir (with dir) before listing.
  [[nodiscard]] absl::Status ListDir(const std::string& dir,
                                     std::vector<std::string>* names) override {
    if (before_list_dir_) before_list_dir_(dir);
    return base()->ListDir(dir, names);
  }

 private:
  const Hook before_list_dir_;
  const Hook after_open_for_read_;
};

}  // namespace burnrate::testing
