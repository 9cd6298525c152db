#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/file_system.h"

namespace burnrate::testing {

// Forwards every operation to another FileSystem; test file systems derive from it and
// override only what they change. The base must outlive this object. Thread-safe if the
// base is.
class ForwardingFileSystem : public FileSystem {
 public:
  explicit ForwardingFileSystem(FileSystem* base = FileSystem::Default()) : base_(base) {}

  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override {
    return base_->NewWritableFile(path);
  }
  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    return base_->NewAppendableFile(path);
  }
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    return base_->NewRandomAccessFile(path);
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
  [[nodiscard]] absl::Status ListDir(const std::string& dir,
                                     std::vector<std::string>* names) override {
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

 protected:
  FileSystem* base() const { return base_; }

 private:
  FileSystem* const base_;
};

}  // namespace burnrate::testing
