#include "tests/testing/fault_injection_file_system.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace burnrate::testing {
namespace {

std::string ParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string WithoutTrailingSlashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

absl::Status WriteWhole(FileSystem* fs, const std::string& path, std::string_view contents) {
  BR_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(path));
  BR_RETURN_IF_ERROR(file->Append(contents));
  BR_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

}  // namespace

absl::Status FlipByte(FileSystem* fs, const std::string& path, uint64_t offset, uint8_t mask) {
  std::string contents;
  BR_RETURN_IF_ERROR(fs->ReadFileToString(path, &contents));
  if (offset >= contents.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("flip byte ", offset, " of ", path, ": file has ", contents.size()));
  }
  contents[offset] = static_cast<char>(static_cast<uint8_t>(contents[offset]) ^ mask);
  return WriteWhole(fs, path, contents);
}

// A file of the base file system whose appends and syncs pass the armed faults and keep the
// crash model up to date. Not thread-safe; callers synchronise (as for every WritableFile).
class FaultInjectionFileSystem::File final : public WritableFile {
 public:
  File(FaultInjectionFileSystem* fs, std::unique_ptr<WritableFile> base,
       std::shared_ptr<Inode> inode, uint64_t generation)
      : fs_(fs), base_(std::move(base)), inode_(std::move(inode)), generation_(generation) {}

  [[nodiscard]] absl::Status Append(std::string_view data) override {
    return fs_->FileAppend(this, data);
  }
  [[nodiscard]] absl::Status Sync() override { return fs_->FileSync(this); }
  [[nodiscard]] absl::Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  friend class FaultInjectionFileSystem;
  FaultInjectionFileSystem* const fs_;
  const std::unique_ptr<WritableFile> base_;
  const std::shared_ptr<Inode> inode_;  // Guarded by fs_->mu_.
  const uint64_t generation_;
};

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem* base) : base_(base) {}
FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

void FaultInjectionFileSystem::FailNth(FileOp op, int n, absl::Status status) {
  absl::MutexLock l(&mu_);
  faults_[static_cast<int>(op)] = Fault{n, std::move(status)};
}

void FaultInjectionFileSystem::FailNthAppend(int n, absl::Status status, size_t written_prefix) {
  absl::MutexLock l(&mu_);
  faults_[static_cast<int>(FileOp::kAppend)] = Fault{n, std::move(status)};
  append_written_prefix_ = written_prefix;
}

void FaultInjectionFileSystem::FailAllWrites(absl::Status status) {
  absl::MutexLock l(&mu_);
  all_writes_status_ = std::move(status);
}

void FaultInjectionFileSystem::ClearFaults() {
  absl::MutexLock l(&mu_);
  for (Fault& f : faults_) f = Fault{};
  append_written_prefix_ = 0;
  all_writes_status_ = absl::OkStatus();
}

FaultInjectionFileSystem::Counters FaultInjectionFileSystem::counters() const {
  absl::MutexLock l(&mu_);
  return counters_;
}

absl::Status FaultInjectionFileSystem::InjectedFault(FileOp op) {
  if (!all_writes_status_.ok()) return all_writes_status_;
  Fault& f = faults_[static_cast<int>(op)];
  if (f.countdown > 0 && --f.countdown == 0) return f.status;
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::FileAppend(File* file, std::string_view data) {
  absl::MutexLock l(&mu_);
  if (file->generation_ != generation_) {
    return absl::FailedPreconditionError("append: file opened before a simulated crash");
  }
  if (!all_writes_status_.ok()) return all_writes_status_;
  absl::Status fault = InjectedFault(FileOp::kAppend);
  if (!fault.ok()) {
    const size_t prefix = std::min(append_written_prefix_, data.size());
    if (prefix > 0) BR_RETURN_IF_ERROR(file->base_->Append(data.substr(0, prefix)));
    return fault;
  }
  BR_RETURN_IF_ERROR(file->base_->Append(data));
  ++counters_.appends;
  counters_.bytes_appended += data.size();
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::FileSync(File* file) {
  absl::MutexLock l(&mu_);
  if (file->generation_ != generation_) {
    return absl::FailedPreconditionError("sync: file opened before a simulated crash");
  }
  BR_RETURN_IF_ERROR(InjectedFault(FileOp::kSync));
  BR_RETURN_IF_ERROR(file->base_->Sync());
  file->inode_->synced_size = file->base_->Size();
  ++counters_.syncs;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::OpenForWrite(
    const std::string& path, bool truncate) {
  absl::MutexLock l(&mu_);
  BR_RETURN_IF_ERROR(InjectedFault(FileOp::kCreate));
  const bool existed = base_->FileExists(path);
  BR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                      truncate ? base_->NewWritableFile(path) : base_->NewAppendableFile(path));
  Entry& entry = entries_[path];
  if (!existed) entry.durable = false;
  if (entry.inode == nullptr) {
    // Whatever the file held before this object wrote to it counts as durable.
    entry.inode = std::make_shared<Inode>();
    entry.inode->synced_size = file->Size();
  } else if (truncate) {
    entry.inode->synced_size = 0;
  }
  ++counters_.files_created;
  return std::make_unique<File>(this, std::move(file), entry.inode, generation_);
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path) {
  return OpenForWrite(path, /*truncate=*/true);
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewAppendableFile(
    const std::string& path) {
  return OpenForWrite(path, /*truncate=*/false);
}

absl::StatusOr<std::unique_ptr<RandomAccessFile>> FaultInjectionFileSystem::NewRandomAccessFile(
    const std::string& path) {
  return base_->NewRandomAccessFile(path);
}

absl::Status FaultInjectionFileSystem::ReadFileToString(const std::string& path, std::string* out) {
  return base_->ReadFileToString(path, out);
}

bool FaultInjectionFileSystem::FileExists(const std::string& path) {
  return base_->FileExists(path);
}

absl::StatusOr<uint64_t> FaultInjectionFileSystem::GetFileSize(const std::string& path) {
  return base_->GetFileSize(path);
}

absl::Status FaultInjectionFileSystem::ListDir(const std::string& dir,
                                               std::vector<std::string>* names) {
  return base_->ListDir(dir, names);
}

absl::Status FaultInjectionFileSystem::CreateDirs(const std::string& dir) {
  absl::MutexLock l(&mu_);
  BR_RETURN_IF_ERROR(InjectedFault(FileOp::kCreateDirs));
  return base_->CreateDirs(dir);
}

absl::Status FaultInjectionFileSystem::DeleteFile(const std::string& path) {
  absl::MutexLock l(&mu_);
  BR_RETURN_IF_ERROR(InjectedFault(FileOp::kDelete));
  BR_RETURN_IF_ERROR(base_->DeleteFile(path));
  entries_.erase(path);
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::DeleteDir(const std::string& dir) {
  absl::MutexLock l(&mu_);
  BR_RETURN_IF_ERROR(InjectedFault(FileOp::kDelete));
  return base_->DeleteDir(dir);
}

absl::Status FaultInjectionFileSystem::RenameFile(const std::string& from, const std::string& to) {
  absl::MutexLock l(&mu_);
  BR_RETURN_IF_ERROR(InjectedFault(FileOp::kRename));
  if (from == to) return base_->RenameFile(from, to);
  PendingRename undo{from, to, std::nullopt, std::nullopt};
  if (base_->FileExists(to)) {
    std::string replaced;
    BR_RETURN_IF_ERROR(base_->ReadFileToString(to, &replaced));
    undo.replaced_content = std::move(replaced);
    if (auto it = entries_.find(to); it != entries_.end()) undo.replaced_entry = it->second;
  }
  BR_RETURN_IF_ERROR(base_->RenameFile(from, to));
  Entry moved;
  if (auto node = entries_.extract(from); !node.empty()) moved = std::move(node.mapped());
  entries_[to] = std::move(moved);
  pending_renames_.push_back(std::move(undo));
  ++counters_.renames;
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::LinkFile(const std::string& from, const std::string& to) {
  absl::MutexLock l(&mu_);
  BR_RETURN_IF_ERROR(InjectedFault(FileOp::kLink));
  BR_RETURN_IF_ERROR(base_->LinkFile(from, to));
  Entry link;
  link.durable = false;
  if (auto it = entries_.find(from); it != entries_.end()) link.inode = it->second.inode;
  entries_[to] = std::move(link);
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::Truncate(const std::string& path, uint64_t size) {
  absl::MutexLock l(&mu_);
  BR_RETURN_IF_ERROR(InjectedFault(FileOp::kTruncate));
  BR_RETURN_IF_ERROR(base_->Truncate(path, size));
  if (auto it = entries_.find(path); it != entries_.end() && it->second.inode != nullptr) {
    it->second.inode->synced_size = std::min(it->second.inode->synced_size, size);
  }
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  absl::MutexLock l(&mu_);
  BR_RETURN_IF_ERROR(InjectedFault(FileOp::kSyncDir));
  BR_RETURN_IF_ERROR(base_->SyncDir(dir));
  const std::string synced = WithoutTrailingSlashes(dir);
  for (auto& [path, entry] : entries_) {
    if (ParentDir(path) == synced) entry.durable = true;
  }
  std::erase_if(pending_renames_,
                [&](const PendingRename& r) { return ParentDir(r.to) == synced; });
  ++counters_.dir_syncs;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectionFileSystem::LockFile(
    const std::string& path) {
  return base_->LockFile(path);
}

absl::Status FaultInjectionFileSystem::DropUnsyncedData() {
  absl::MutexLock l(&mu_);
  // Undo renames newest first, so that chains (a -> b, b -> c) unwind in order.
  for (auto r = pending_renames_.rbegin(); r != pending_renames_.rend(); ++r) {
    if (base_->FileExists(r->to)) BR_RETURN_IF_ERROR(base_->RenameFile(r->to, r->from));
    if (auto node = entries_.extract(r->to); !node.empty()) {
      entries_[r->from] = std::move(node.mapped());
    }
    if (r->replaced_content.has_value()) {
      BR_RETURN_IF_ERROR(WriteWhole(base_, r->to, *r->replaced_content));
      entries_[r->to] = r->replaced_entry.value_or(Entry{});
    }
  }
  for (const auto& [path, entry] : entries_) {
    if (!entry.durable) {
      if (base_->FileExists(path)) BR_RETURN_IF_ERROR(base_->DeleteFile(path));
      continue;
    }
    if (entry.inode == nullptr) continue;
    auto size = base_->GetFileSize(path);
    if (!size.ok()) {
      // Deleted behind our back (through the base file system): nothing to drop.
      if (absl::IsNotFound(size.status())) continue;
      return size.status();
    }
    // Only ever shrink: a name linked to an already truncated inode must not grow it.
    if (*size > entry.inode->synced_size) {
      BR_RETURN_IF_ERROR(base_->Truncate(path, entry.inode->synced_size));
    }
  }
  entries_.clear();
  pending_renames_.clear();
  ++generation_;
  return absl::OkStatus();
}

}  // namespace burnrate::testing
