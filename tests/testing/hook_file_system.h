#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/file_system.h"

namespace burnrate::testing {

// Forwards every operation to another FileSystem and calls test hooks at chosen points, so
// a test can hold one engine thread inside a file operation while another thread runs:
// deterministic interleavings without sleeps.
//
// Set the hooks before the file system is used; they are called from whatever thread makes
// the call and must be thread-safe themselves. The base must outlive this object.
// Thread-safe.
class HookFileSystem final : public FileSystem {
 public:
  using Hook = std::function<void(const std::string& path)>;

  explicit HookFileSystem(Hook before_list_dir, Hook after_open_for_read,
                          FileSystem* base = FileSystem::Default())
      : base_(base),
        before_list_dir_(std::move(before_list_dir)),
        after_open_for_read_(std::move(after_open_for_read)) {}

  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override {
    return base_->NewWritableFile(path);
  }
  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    return base_->NewAppendableFile(path);
  }
  // Calls after_open_for_read (with path) once the file is open.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    auto file = base_->NewRandomAccessFile(path);
    if (file.ok() && after_open_for_read_) after_open_for_read_(path);
    return file;
  }
  [[nodiscard]] absl::Status ReadFileToString(const std::string& path, std::string* out) override {
    return base_->ReadFileToString(path, out);
  }
  [[nodiscard]] bool FileExists(const std::string& path) override {
    return base_->FileExists(path);
  }
  [[nodiscard]] absl::StatusOr<uint64_t> GetFileSize(const std::string& path) override {
    return base_->GetFileSize(path);
  }
  // Calls before_list_dir (with dir) before listing.
  [[nodiscard]] absl::Status ListDir(const std::string& dir,
                                     std::vector<std::string>* names) override {
    if (before_list_dir_) before_list_dir_(dir);
    return base_->ListDir(dir, names);
  }
  [[nodiscard]] absl::Status CreateDirs(const std::string& dir) override {
    return base_->CreateDirs(dir);
  }
  [[nodiscard]] absl::Status DeleteFile(const std::string& path) override {
    return base_->DeleteFile(path);
  }
  [[nodiscard]] absl::Status DeleteDir(const std::string& dir) override {
    return base_->DeleteDir(dir);
  }
  [[nodiscard]] absl::Status RenameFile(const std::string& from, const std::string& to) override {
    return base_->RenameFile(from, to);
  }
  [[nodiscard]] absl::Status LinkFile(const std::string& from, const std::string& to) override {
    return base_->LinkFile(from, to);
  }
  [[nodiscard]] absl::Status Truncate(const std::string& path, uint64_t size) override {
    return base_->Truncate(path, size);
  }
  [[nodiscard]] absl::Status SyncDir(const std::string& dir) override {
    return base_->SyncDir(dir);
  }
  [[nodiscard]] absl::StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& path) override {
    return base_->LockFile(path);
  }

 private:
  FileSystem* const base_;
  const Hook before_list_dir_;
  const Hook after_open_for_read_;
};

}  // namespace burnrate::testing
