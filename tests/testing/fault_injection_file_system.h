#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "burnrate/file_system.h"

namespace burnrate::testing {

// The operations a fault can be armed for.
enum class FileOp {
  kAppend,      // WritableFile::Append
  kSync,        // WritableFile::Sync
  kSyncDir,     // FileSystem::SyncDir
  kCreate,      // NewWritableFile, NewAppendableFile
  kRename,      // RenameFile
  kLink,        // LinkFile
  kDelete,      // DeleteFile, DeleteDir
  kTruncate,    // Truncate
  kCreateDirs,  // CreateDirs
};

// Flips bits of the byte at offset of path (XOR with mask), rewriting the file through fs.
// kOutOfRange when offset is past the end. Pass the underlying file system, not a
// FaultInjectionFileSystem, so the corruption counts as already on disk.
[[nodiscard]] absl::Status FlipByte(FileSystem* fs, const std::string& path, uint64_t offset,
                                    uint8_t mask = 0x01);

// A FileSystem that forwards to another one and injects faults:
//
// - Fail the Nth call of one operation, counting from when the fault is armed, with a given
//   status (FailNthAppend(3, ResourceExhausted) = the third Append from now fails). The
//   fault fires once. A failing Append may first write a prefix of its data (a torn write).
// - FailAllWrites: every mutating operation (the FileOp list) fails until ClearFaults, as on
//   a full disk, or to freeze the disk at a simulated crash while the code under test
//   shuts down.
// - DropUnsyncedData: a simulated machine crash, with the pessimistic POSIX model:
//     * A file written through this object keeps only the bytes of its last successful
//       Sync (0 if never synced). Truncating an existing file by NewWritableFile is not
//       durable either: it also keeps only what was synced since.
//     * A file that did not exist when it was created through this object, or a name made
//       by LinkFile, disappears unless SyncDir of its parent followed the creation (a Sync
//       of the file alone does not make its name durable).
//     * A rename not followed by SyncDir of the target's parent is undone: the file goes
//       back to its old name and the replaced target (if any) comes back with the content
//       it had at the rename.
//   Simplifications: deletions, new directories and Truncate of a file this object never
//   wrote are durable at once; SyncDir of the target's directory alone commits a rename
//   (keeping a copy of a replaced target in memory until then); synced bytes are never
//   torn; paths are compared as written, so use one spelling per file. Files opened before
//   the crash fail every later Append and Sync with kFailedPrecondition.
//
// Counters report the operations that reached the underlying file system successfully.
//
// The base file system must outlive this object, and this object every file it opened.
// Thread-safe; mutating operations are serialised by one mutex.
class FaultInjectionFileSystem final : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem* base = FileSystem::Default());
  ~FaultInjectionFileSystem() override;

  FileSystem* base() const { return base_; }

  // The nth (1-based) call of op from now fails with status. Replaces a fault armed earlier
  // for the same op.
  void FailNth(FileOp op, int n, absl::Status status);
  // Like FailNth(kAppend, ...); the failing Append first writes min(written_prefix, size)
  // bytes of its data.
  void FailNthAppend(int n, absl::Status status, size_t written_prefix = 0);
  void FailNthSync(int n, absl::Status status) { FailNth(FileOp::kSync, n, std::move(status)); }
  // Every mutating operation fails with status until ClearFaults. The default is what a
  // full disk returns.
  void FailAllWrites(absl::Status status = absl::ResourceExhaustedError("injected ENOSPC"));
  // Disarms every fault.
  void ClearFaults();

  // Simulates a crash (see the class comment), then treats what remains as durable.
  [[nodiscard]] absl::Status DropUnsyncedData();

  // FlipByte through the underlying file system.
  [[nodiscard]] absl::Status FlipByte(const std::string& path, uint64_t offset,
                                      uint8_t mask = 0x01) {
    return testing::FlipByte(base_, path, offset, mask);
  }

  struct Counters {
    uint64_t appends = 0;
    uint64_t bytes_appended = 0;
    uint64_t syncs = 0;
    uint64_t dir_syncs = 0;
    uint64_t renames = 0;
    uint64_t files_created = 0;
  };
  Counters counters() const;

  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override;
  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override;
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override;
  [[nodiscard]] absl::Status ReadFileToString(const std::string& path, std::string* out) override;
  [[nodiscard]] bool FileExists(const std::string& path) override;
  [[nodiscard]] absl::StatusOr<uint64_t> GetFileSize(const std::string& path) override;
  [[nodiscard]] absl::Status ListDir(const std::string& dir,
                                     std::vector<std::string>* names) override;
  [[nodiscard]] absl::Status CreateDirs(const std::string& dir) override;
  [[nodiscard]] absl::Status DeleteFile(const std::string& path) override;
  [[nodiscard]] absl::Status DeleteDir(const std::string& dir) override;
  [[nodiscard]] absl::Status RenameFile(const std::string& from, const std::string& to) override;
  [[nodiscard]] absl::Status LinkFile(const std::string& from, const std::string& to) override;
  [[nodiscard]] absl::Status Truncate(const std::string& path, uint64_t size) override;
  [[nodiscard]] absl::Status SyncDir(const std::string& dir) override;
  [[nodiscard]] absl::StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& path) override;

 private:
  class File;

  // The data of one file written through this object, shared by its names (hard links)
  // and its open WritableFiles.
  struct Inode {
    uint64_t synced_size = 0;
  };
  // One name. inode is null for a file this object never wrote (its data counts as
  // durable); durable is false while the name itself would vanish in a crash.
  struct Entry {
    std::shared_ptr<Inode> inode;
    bool durable = true;
  };
  struct PendingRename {
    std::string from;
    std::string to;
    // The file `to` replaced: its content and entry at the rename, to bring back on undo.
    std::optional<std::string> replaced_content;
    std::optional<Entry> replaced_entry;
  };
  struct Fault {
    int countdown = 0;  // 0: disarmed.
    absl::Status status;
  };

  // The status the current call of op must fail with, or OK (advancing the countdown).
  [[nodiscard]] absl::Status InjectedFault(FileOp op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> OpenForWrite(const std::string& path,
                                                                           bool truncate);
  [[nodiscard]] absl::Status FileAppend(File* file, std::string_view data);
  [[nodiscard]] absl::Status FileSync(File* file);

  FileSystem* const base_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<PendingRename> pending_renames_ ABSL_GUARDED_BY(mu_);
  Fault faults_[static_cast<int>(FileOp::kCreateDirs) + 1] ABSL_GUARDED_BY(mu_);
  size_t append_written_prefix_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status all_writes_status_ ABSL_GUARDED_BY(mu_);
  // Bumped by DropUnsyncedData; files opened in an earlier generation are dead.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  Counters counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace burnrate::testing
