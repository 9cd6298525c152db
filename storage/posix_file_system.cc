// The POSIX implementation of FileSystem, returned by FileSystem::Default().

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "burnrate/file_system.h"

namespace burnrate {
namespace {

// "op path: strerror", with a code chosen by errno.
absl::Status ErrnoStatus(const char* op, const std::string& path, int err) {
  std::string message = absl::StrCat(op, " ", path, ": ", std::generic_category().message(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case ENOTEMPTY:
      return absl::FailedPreconditionError(message);
    case EAGAIN:
    case EBUSY:
    case ETIMEDOUT:
      return absl::UnavailableError(message);
    default:
      // EIO and the like: the file system is failing. Not retryable (a failed fsync may have
      // dropped dirty pages), so not kUnavailable.
      return absl::InternalError(message);
  }
}

// open(2), retried on EINTR; -1 with errno set on failure.
int OpenRetrying(const std::string& path, int flags, mode_t mode = 0644) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// Writes all of data, retrying short writes and EINTR. Adds the bytes written to *written,
// also when it fails part way.
absl::Status WriteAll(int fd, const std::string& path, std::string_view data, uint64_t* written) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
    *written += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

// Reads up to n bytes at offset, stopping early only at end of file.
absl::Status PreadAll(int fd, const std::string& path, uint64_t offset, size_t n, char* dst,
                      size_t* read) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, dst + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  *read = done;
  return absl::OkStatus();
}

// A file descriptor opened for writing, owned and closed by this object. Appends go straight
// to the kernel (no user-space buffer), so a process crash loses nothing that Append
// accepted; only a machine crash loses what was not synced. Callers that append small pieces
// batch them first. Not thread-safe; callers synchronise.
class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  [[nodiscard]] absl::Status Append(std::string_view data) override {
    if (fd_ < 0) return Closed();
    return WriteAll(fd_, path_, data, &size_);
  }

  [[nodiscard]] absl::Status Sync() override {
    if (fd_ < 0) return Closed();
    if (!sync_error_.ok()) return sync_error_;
    int r;
    do {
      r = ::fdatasync(fd_);
    } while (r != 0 && errno == EINTR);
    if (r != 0) sync_error_ = ErrnoStatus("fdatasync", path_, errno);
    return sync_error_;
  }

  [[nodiscard]] absl::Status Close() override {
    if (fd_ < 0) return absl::OkStatus();
    // close(2) must not be retried on EINTR: the descriptor is released either way.
    int r = ::close(fd_);
    fd_ = -1;
    if (r != 0 && errno != EINTR) return ErrnoStatus("close", path_, errno);
    return absl::OkStatus();
  }

  uint64_t Size() const override { return size_; }

 private:
  [[nodiscard]] absl::Status Closed() const {
    return absl::FailedPreconditionError(absl::StrCat("write ", path_, ": file is closed"));
  }

  int fd_;  // -1 once closed.
  const std::string path_;
  uint64_t size_;  // Size at open plus every byte written since, also by a failed Append.
  // After a failed fdatasync the kernel may have dropped the dirty pages and a later
  // fdatasync can succeed without them, so the first failure sticks.
  absl::Status sync_error_;
};

// A file descriptor opened for reading, owned and closed by this object. Thread-safe: reads
// are pread(2), which keeps no file position.
class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  [[nodiscard]] absl::Status Read(uint64_t offset, size_t n, char* scratch,
                                  std::string_view* result) const override {
    size_t got = 0;
    absl::Status s = PreadAll(fd_, path_, offset, n, scratch, &got);
    *result = std::string_view(scratch, s.ok() ? got : 0);
    return s;
  }

  // The size when the file was opened.
  uint64_t Size() const override { return size_; }

 private:
  const int fd_;
  const std::string path_;
  const uint64_t size_;
};

// Paths locked by this process. flock(2) alone would already refuse a second lock taken
// through another open(2), but the set makes the rule independent of the lock flavour and
// gives a clearer message. Thread-safe.
class LockedPaths {
 public:
  bool Insert(const std::string& path) {
    absl::MutexLock l(&mu_);
    return paths_.insert(path).second;
  }
  void Erase(const std::string& path) {
    absl::MutexLock l(&mu_);
    paths_.erase(path);
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> paths_ ABSL_GUARDED_BY(mu_);
};

// Never destroyed: a lock released during static destruction must still find it.
LockedPaths& Locked() {
  static auto* locked = new LockedPaths;
  return *locked;
}

// Owns the locked descriptor; the flock(2) lock dies with it. Not thread-safe; it is only
// ever destroyed.
class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFileLock() override {
    // Close (releasing the flock) before forgetting the path, so a racing LockFile in this
    // process cannot pass the set and then fail on flock.
    ::close(fd_);
    Locked().Erase(path_);
  }

 private:
  const int fd_;
  const std::string path_;
};

// Stateless apart from the process-wide set of locked paths. Thread-safe.
class PosixFileSystem final : public FileSystem {
 public:
  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override {
    int fd = OpenRetrying(path, O_WRONLY | O_CREAT | O_TRUNC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    return std::make_unique<PosixWritableFile>(fd, path, 0);
  }

  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    int fd = OpenRetrying(path, O_WRONLY | O_CREAT | O_APPEND);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      absl::Status s = ErrnoStatus("fstat", path, errno);
      ::close(fd);
      return s;
    }
    return std::make_unique<PosixWritableFile>(fd, path, static_cast<uint64_t>(st.st_size));
  }

  [[nodiscard]] absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    int fd = OpenRetrying(path, O_RDONLY);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      absl::Status s = ErrnoStatus("fstat", path, errno);
      ::close(fd);
      return s;
    }
    return std::make_unique<PosixRandomAccessFile>(fd, path, static_cast<uint64_t>(st.st_size));
  }

  [[nodiscard]] absl::Status ReadFileToString(const std::string& path, std::string* out) override {
    out->clear();
    int fd = OpenRetrying(path, O_RDONLY);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    absl::Status s;
    constexpr size_t kChunk = 64 << 10;
    for (;;) {
      const size_t old = out->size();
      out->resize(old + kChunk);
      size_t got = 0;
      s = PreadAll(fd, path, old, kChunk, out->data() + old, &got);
      out->resize(old + (s.ok() ? got : 0));
      if (!s.ok() || got < kChunk) break;
    }
    ::close(fd);
    return s;
  }

  [[nodiscard]] bool FileExists(const std::string& path) override {
    return ::access(path.c_str(), F_OK) == 0;
  }

  [[nodiscard]] absl::StatusOr<uint64_t> GetFileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  [[nodiscard]] absl::Status ListDir(const std::string& dir,
                                     std::vector<std::string>* names) override {
    names->clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoStatus("opendir", dir, errno);
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(d);
      if (e == nullptr) {
        int err = errno;
        ::closedir(d);
        if (err != 0) return ErrnoStatus("readdir", dir, err);
        return absl::OkStatus();
      }
      std::string_view name(e->d_name);
      if (name != "." && name != "..") names->emplace_back(name);
    }
  }

  [[nodiscard]] absl::Status CreateDirs(const std::string& dir) override {
    if (dir.empty()) return absl::InvalidArgumentError("mkdir: empty path");
    // Every prefix ending before a '/', then dir itself.
    for (size_t i = 1; i <= dir.size(); ++i) {
      if (i < dir.size() && dir[i] != '/') continue;
      std::string prefix = dir.substr(0, i);
      if (::mkdir(prefix.c_str(), 0755) == 0) continue;
      int err = errno;
      struct stat st;
      if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) continue;
        return absl::AlreadyExistsError(
            absl::StrCat("mkdir ", prefix, ": exists and is not a directory"));
      }
      return ErrnoStatus("mkdir", prefix, err);
    }
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status DeleteDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return ErrnoStatus("rmdir", dir, errno);
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus("rename", absl::StrCat(from, " to ", to), errno);
    }
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status LinkFile(const std::string& from, const std::string& to) override {
    if (::link(from.c_str(), to.c_str()) == 0) return absl::OkStatus();
    const int err = errno;
    const std::string what = absl::StrCat(from, " to ", to);
    // Across file systems, or on one without hard links: the caller copies instead.
    if (err == EXDEV || err == EPERM || err == EMLINK || err == EOPNOTSUPP) {
      return absl::UnimplementedError(
          absl::StrCat("link ", what, ": ", std::generic_category().message(err)));
    }
    return ErrnoStatus("link", what, err);
  }

  [[nodiscard]] absl::Status Truncate(const std::string& path, uint64_t size) override {
    int r;
    do {
      r = ::truncate(path.c_str(), static_cast<off_t>(size));
    } while (r != 0 && errno == EINTR);
    if (r != 0) return ErrnoStatus("truncate", path, errno);
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status SyncDir(const std::string& dir) override {
    int fd = OpenRetrying(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return ErrnoStatus("open", dir, errno);
    int r;
    do {
      r = ::fsync(fd);
    } while (r != 0 && errno == EINTR);
    absl::Status s = r == 0 ? absl::OkStatus() : ErrnoStatus("fsync", dir, errno);
    ::close(fd);
    return s;
  }

  [[nodiscard]] absl::StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& path) override {
    if (!Locked().Insert(path)) {
      return absl::FailedPreconditionError(
          absl::StrCat("lock ", path, ": already held by this process"));
    }
    int fd = OpenRetrying(path, O_RDWR | O_CREAT);
    if (fd < 0) {
      absl::Status s = ErrnoStatus("open", path, errno);
      Locked().Erase(path);
      return s;
    }
    int r;
    do {
      r = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (r != 0 && errno == EINTR);
    if (r != 0) {
      const int err = errno;
      ::close(fd);
      Locked().Erase(path);
      if (err == EWOULDBLOCK) {
        return absl::FailedPreconditionError(absl::StrCat(
            "lock ", path, ": held by another process, or by this one under another path"));
      }
      return ErrnoStatus("flock", path, err);
    }
    return std::make_unique<PosixFileLock>(fd, path);
  }
};

}  // namespace

// Never destroyed, so code running during static destruction can still use it.
FileSystem* FileSystem::Default() {
  static FileSystem* fs = new PosixFileSystem;
  return fs;
}

}  // namespace burnrate
