// Online backup (DbImpl::Backup), restore and verify. Layout of a backup and the order in
// which it is written: docs/format/backup.md.

#include "engine/backup.h"

#include <xxhash.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "base/coding.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "burnrate/backup.h"
#include "engine/catalog.h"
#include "engine/db_impl.h"
#include "storage/file_util.h"
#include "storage/manifest.h"
#include "storage/segment.h"
#include "storage/wal.h"

namespace burnrate {
namespace {

constexpr uint32_t kBackupManifestVersion = 1;
constexpr size_t kCopyBufferBytes = size_t{4} << 20;
// The catalog snapshot's frame magic (docs/format/catalog.md).
constexpr char kCatalogMagic[] = "BRCATLG1";
constexpr char kManifestName[] = "MANIFEST";
constexpr char kCatalogPrefix[] = "CATALOG-";
constexpr char kSegmentsDir[] = "segments";
constexpr char kWalDir[] = "wal";
constexpr char kLockName[] = "LOCK";
constexpr char kTmpSuffix[] = ".tmp";

std::string WithoutTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string ParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// "<digits>" between prefix and suffix (docs/format/README.md: file numbers are six or more
// decimal digits); false for any other name.
bool ParseNumberedName(std::string_view name, std::string_view prefix, std::string_view suffix,
                       uint64_t* number) {
  if (name.size() <= prefix.size() + suffix.size()) return false;
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return false;
  const std::string_view digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 19) return false;
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *number = n;
  return true;
}

// A relative path that stays inside the directory it is joined to.
bool IsSafeRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find('/', begin);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(begin, end - begin);
    if (part.empty() || part == "." || part == "..") return false;
    if (part.find('\0') != std::string_view::npos) return false;
    begin = end + 1;
  }
  return true;
}

// Directories (relative, without the root) that must exist for path to be created.
std::vector<std::string> ParentDirsOf(const std::string& rel) {
  std::vector<std::string> dirs;
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    dirs.push_back(rel.substr(0, slash));
  }
  return dirs;
}

std::string Hex(uint64_t v) { return absl::StrFormat("%016x", v); }

struct Xxh3StateDeleter {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};
using Xxh3State = std::unique_ptr<XXH3_state_t, Xxh3StateDeleter>;

Xxh3State NewXxh3State() {
  Xxh3State s(XXH3_createState());
  XXH3_64bits_reset(s.get());
  return s;
}

// XXH3_64bits of a byte stream fed in pieces of any size, whole and per chunk_bytes piece.
// Not thread-safe.
class FileDigest {
 public:
  explicit FileDigest(uint64_t chunk_bytes)
      : chunk_bytes_(chunk_bytes), whole_(NewXxh3State()), chunk_(NewXxh3State()) {}

  void Update(std::string_view data) {
    XXH3_64bits_update(whole_.get(), data.data(), data.size());
    size_ += data.size();
    while (!data.empty()) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), chunk_bytes_ - fill_));
      XXH3_64bits_update(chunk_.get(), data.data(), n);
      fill_ += n;
      data.remove_prefix(n);
      if (fill_ == chunk_bytes_) {
        chunks_.push_back(XXH3_64bits_digest(chunk_.get()));
        XXH3_64bits_reset(chunk_.get());
        fill_ = 0;
      }
    }
  }

  // The entry for the bytes fed so far. Call once, last.
  BackupFileEntry Finish(std::string path) {
    if (fill_ > 0) chunks_.push_back(XXH3_64bits_digest(chunk_.get()));
    BackupFileEntry e;
    e.path = std::move(path);
    e.size = size_;
    e.checksum = XXH3_64bits_digest(whole_.get());
    e.chunk_checksums = std::move(chunks_);
    return e;
  }

 private:
  const uint64_t chunk_bytes_;
  Xxh3State whole_;
  Xxh3State chunk_;
  uint64_t size_ = 0;
  uint64_t fill_ = 0;  // bytes in the current chunk
  std::vector<uint64_t> chunks_;
};

BackupFileEntry DigestBytes(std::string path, std::string_view bytes, uint64_t chunk_bytes) {
  FileDigest d(chunk_bytes);
  d.Update(bytes);
  return d.Finish(std::move(path));
}

// Reports bytes done of a known total: files finished plus the part of the current one.
// Not thread-safe.
class ProgressMeter {
 public:
  ProgressMeter(const ProgressCallback& callback, uint64_t total)
      : callback_(callback), total_(total) {}
  void AddTotal(uint64_t n) { total_ += n; }
  // Within the current file.
  void At(uint64_t offset) { Report(base_ + offset); }
  void FileDone(uint64_t size) {
    base_ += size;
    Report(base_);
  }

 private:
  void Report(uint64_t done) {
    if (callback_) callback_(std::min(done, total_), total_);
  }
  const ProgressCallback& callback_;
  uint64_t total_;
  uint64_t base_ = 0;
};

// Reads the file at src front to back in kCopyBufferBytes pieces, feeding digest and, when
// dst is not null, appending to dst. *buffer is scratch space kept across calls.
absl::Status StreamFile(FileSystem* fs, const std::string& src, WritableFile* dst,
                        FileDigest* digest, ProgressMeter* progress, std::string* buffer) {
  BR_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, fs->NewRandomAccessFile(src));
  buffer->resize(kCopyBufferBytes);
  uint64_t offset = 0;
  while (true) {
    std::string_view got;
    BR_RETURN_IF_ERROR(file->Read(offset, buffer->size(), buffer->data(), &got));
    if (got.empty()) break;
    digest->Update(got);
    if (dst != nullptr) BR_RETURN_IF_ERROR(dst->Append(got));
    offset += got.size();
    progress->At(offset);
    if (got.size() < buffer->size()) break;
  }
  return absl::OkStatus();
}

// Copies src to dst (created; the caller removed any file of that name), fsynced and
// closed, digesting what was read.
absl::Status CopyFile(FileSystem* fs, const std::string& src, const std::string& dst,
                      FileDigest* digest, ProgressMeter* progress, std::string* buffer) {
  BR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> out, fs->NewWritableFile(dst));
  BR_RETURN_IF_ERROR(StreamFile(fs, src, out.get(), digest, progress, buffer));
  BR_RETURN_IF_ERROR(out->Sync());
  return out->Close();
}

// Removes path if it exists. A target name may be a hard link to a live segment, so it is
// always unlinked before being written, never truncated in place.
absl::Status RemoveIfPresent(FileSystem* fs, const std::string& path) {
  if (!fs->FileExists(path)) return absl::OkStatus();
  absl::Status s = fs->DeleteFile(path);
  if (absl::IsNotFound(s)) return absl::OkStatus();
  return s;
}

// Writes bytes to dir/name.tmp, fsynced and closed; the caller renames it into place.
absl::Status WriteTempFile(FileSystem* fs, const std::string& dir, const std::string& name,
                           std::string_view bytes) {
  const std::string tmp = StrCat(dir, "/", name, kTmpSuffix);
  BR_RETURN_IF_ERROR(RemoveIfPresent(fs, tmp));
  BR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> out, fs->NewWritableFile(tmp));
  BR_RETURN_IF_ERROR(out->Append(bytes));
  BR_RETURN_IF_ERROR(out->Sync());
  return out->Close();
}

// kDataLoss "FILE at offset N: ..." when got (what was read from file) differs from want
// (BACKUP-MANIFEST's entry), naming the first differing chunk.
absl::Status CompareWithManifest(const std::string& file, const BackupFileEntry& want,
                                 const BackupFileEntry& got, uint64_t chunk_bytes) {
  if (got.size != want.size) {
    return absl::DataLossError(StrCat(file, " at offset ", std::min(got.size, want.size),
                                      ": file is ", got.size, " bytes, BACKUP-MANIFEST says ",
                                      want.size));
  }
  for (size_t i = 0; i < want.chunk_checksums.size() && i < got.chunk_checksums.size(); ++i) {
    if (want.chunk_checksums[i] != got.chunk_checksums[i]) {
      const uint64_t begin = i * chunk_bytes;
      const uint64_t end = std::min(begin + chunk_bytes, want.size);
      return absl::DataLossError(StrCat(file, " at offset ", begin,
                                        ": checksum mismatch in bytes [", begin, ", ", end,
                                        ") (BACKUP-MANIFEST has ", Hex(want.chunk_checksums[i]),
                                        ", the file ", Hex(got.chunk_checksums[i]), ")"));
    }
  }
  if (got.checksum != want.checksum || got.chunk_checksums.size() != want.chunk_checksums.size()) {
    return absl::DataLossError(StrCat(file, " at offset 0: whole-file checksum ", Hex(got.checksum),
                                      " does not match BACKUP-MANIFEST's ", Hex(want.checksum)));
  }
  return absl::OkStatus();
}

// Reads and decodes dir/BACKUP-MANIFEST. kFailedPrecondition when it is missing.
absl::StatusOr<BackupManifest> ReadBackupManifest(FileSystem* fs, const std::string& dir) {
  const std::string path = StrCat(dir, "/", kBackupManifestName);
  if (!fs->FileExists(path)) {
    return absl::FailedPreconditionError(
        StrCat(dir, ": no ", kBackupManifestName,
               ", so not a complete backup (a backup writes it last; an interrupted one lacks "
               "it)"));
  }
  std::string contents;
  BR_RETURN_IF_ERROR(fs->ReadFileToString(path, &contents));
  return DecodeBackupManifest(path, std::move(contents));
}

const BackupFileEntry* FindEntry(const BackupManifest& m, std::string_view path) {
  auto it =
      std::lower_bound(m.files.begin(), m.files.end(), path,
                       [](const BackupFileEntry& e, std::string_view p) { return e.path < p; });
  if (it == m.files.end() || it->path != path) return nullptr;
  return &*it;
}

bool IsSegmentPath(std::string_view rel, uint64_t* number) {
  const std::string_view prefix = "segments/";
  if (!rel.starts_with(prefix)) return false;
  return ParseNumberedName(rel.substr(prefix.size()), "", ".seg", number);
}

// Root entries a backup target may hold besides those the previous backup lists: what an
// interrupted backup leaves, and the lock.
bool IsBackupOwnedRootName(std::string_view name) {
  uint64_t n;
  std::string_view base = name;
  if (base.ends_with(kTmpSuffix)) base.remove_suffix(sizeof(kTmpSuffix) - 1);
  return name == kLockName || base == kBackupManifestName || base == kManifestName ||
         base == kSegmentsDir || ParseNumberedName(base, kCatalogPrefix, "", &n);
}

// Refuses a target that holds anything a backup would not have written, so that backing up
// into the wrong directory (a data directory, a home directory) never deletes a file there.
absl::Status CheckBackupTarget(FileSystem* fs, const std::string& target,
                               const std::optional<BackupManifest>& previous) {
  std::vector<std::string> names;
  BR_RETURN_IF_ERROR(fs->ListDir(target, &names));
  std::set<std::string> listed_roots;
  if (previous) {
    for (const BackupFileEntry& e : previous->files) {
      listed_roots.insert(e.path.substr(0, e.path.find('/')));
    }
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (name == kWalDir) {
      return absl::FailedPreconditionError(
          StrCat(target,
                 " holds wal/: it is a data directory (or a backup opened as one since), "
                 "not a backup target; back up into an empty directory"));
    }
    if (IsBackupOwnedRootName(name) || listed_roots.contains(name)) continue;
    return absl::FailedPreconditionError(
        StrCat(target, " holds ", name,
               ", which a backup does not write; back up into an empty directory or an earlier "
               "backup"));
  }
  return absl::OkStatus();
}

// Deletes every file under target that `keep` does not list: files of the previous backup
// that the new one no longer needs, and leftovers of interrupted backups. Looks only at the
// root and at `dirs` (those the new and the previous backup use), and removes those of them
// that the new backup does not use. Best effort: the new backup is already complete, and
// whatever stays is removed by the next backup into target.
void SweepBackupTarget(FileSystem* fs, const std::string& target, const std::set<std::string>& keep,
                       const std::set<std::string>& dirs, const std::set<std::string>& new_dirs) {
  std::vector<std::string> names;
  // Deepest first, so that a directory is empty by the time it is looked at.
  for (auto dir = dirs.rbegin(); dir != dirs.rend(); ++dir) {
    const std::string full = StrCat(target, "/", *dir);
    if (!fs->ListDir(full, &names).ok()) continue;
    bool deleted = false;
    for (const std::string& name : names) {
      const std::string rel = StrCat(*dir, "/", name);
      if (keep.contains(rel) || dirs.contains(rel)) continue;
      deleted |= fs->DeleteFile(StrCat(full, "/", name)).ok();
    }
    if (!new_dirs.contains(*dir)) {
      deleted |= fs->DeleteDir(full).ok();
    } else if (deleted) {
      (void)fs->SyncDir(full);
    }
  }
  if (!fs->ListDir(target, &names).ok()) return;
  bool deleted = false;
  for (const std::string& name : names) {
    if (keep.contains(name) || dirs.contains(name) || name == kLockName ||
        name == kBackupManifestName) {
      continue;
    }
    deleted |= fs->DeleteFile(StrCat(target, "/", name)).ok();
  }
  if (deleted) (void)fs->SyncDir(target);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// BACKUP-MANIFEST

std::string EncodeBackupManifest(const BackupManifest& m) {
  std::string p;
  PutVarint32(&p, kBackupManifestVersion);
  PutVarint64(&p, ZigZagEncode(m.created_unix_ns));
  PutLengthPrefixed(&p, m.source_dir);
  PutVarint64(&p, m.chunk_bytes);
  PutVarint64(&p, m.files.size());
  for (const BackupFileEntry& f : m.files) {
    PutLengthPrefixed(&p, f.path);
    PutVarint64(&p, f.size);
    PutFixed64(&p, f.checksum);
    for (uint64_t c : f.chunk_checksums) PutFixed64(&p, c);
  }
  return FrameChecksummed(std::string_view(kBackupManifestMagic, 8), p);
}

absl::StatusOr<BackupManifest> DecodeBackupManifest(const std::string& path, std::string contents) {
  BR_ASSIGN_OR_RETURN(
      std::string payload,
      UnframeChecksummed(std::string_view(kBackupManifestMagic, 8), path, std::move(contents)));
  Decoder d(payload);
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(
        StrCat(path, " at offset ", 16 + d.offset(), ": malformed backup manifest (", what, ")"));
  };
  BackupManifest m;
  uint32_t version = 0;
  uint64_t created = 0;
  uint64_t count = 0;
  std::string_view source;
  if (!d.GetVarint32(&version) || version != kBackupManifestVersion) return bad("version");
  if (!d.GetVarint64(&created) || !d.GetLengthPrefixed(&source) || !d.GetVarint64(&m.chunk_bytes) ||
      !d.GetVarint64(&count)) {
    return bad("header");
  }
  if (m.chunk_bytes == 0) return bad("chunk size");
  m.created_unix_ns = ZigZagDecode(created);
  m.source_dir = std::string(source);
  if (count > d.remaining()) return bad("file count");
  m.files.resize(count);
  for (BackupFileEntry& f : m.files) {
    std::string_view name;
    if (!d.GetLengthPrefixed(&name)) return bad("file path");
    f.path = std::string(name);
    if (!IsSafeRelativePath(f.path)) return bad(StrCat("file path \"", f.path, "\""));
    if (!d.GetVarint64(&f.size) || !d.GetFixed64(&f.checksum)) return bad("file entry");
    const uint64_t chunks = f.size / m.chunk_bytes + (f.size % m.chunk_bytes != 0 ? 1 : 0);
    if (chunks > d.remaining() / 8) return bad("chunk checksums");
    f.chunk_checksums.resize(chunks);
    for (uint64_t& c : f.chunk_checksums) {
      if (!d.GetFixed64(&c)) return bad("chunk checksums");
    }
  }
  if (!d.done()) return bad("trailing bytes");
  for (size_t i = 1; i < m.files.size(); ++i) {
    if (!(m.files[i - 1].path < m.files[i].path)) return bad("files not sorted by path");
  }
  return m;
}

// ---------------------------------------------------------------------------------------
// Backup

absl::StatusOr<BackupReport> DbImpl::Backup(const std::string& target_dir,
                                            const BackupOptions& options) {
  if (target_dir.empty()) return absl::InvalidArgumentError("backup: empty target directory");
  FileSystem* const fs = file_system();
  const std::string target = WithoutTrailingSlashes(target_dir);

  const bool existed = fs->FileExists(target);
  std::optional<BackupManifest> previous;
  if (existed) {
    // An unreadable previous BACKUP-MANIFEST only means nothing can be reused.
    absl::StatusOr<BackupManifest> old = ReadBackupManifest(fs, target);
    if (old.ok()) previous = std::move(*old);
    BR_RETURN_IF_ERROR(CheckBackupTarget(fs, target, previous));
  }
  BR_RETURN_IF_ERROR(fs->CreateDirs(target));
  if (!existed) BR_RETURN_IF_ERROR(fs->SyncDir(ParentDir(target)));
  // Keeps a second backup into the same directory, and Db::Open of it, out meanwhile.
  BR_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> target_lock,
                      fs->LockFile(StrCat(target, "/", kLockName)));

  BR_ASSIGN_OR_RETURN(BackupSnapshot snap, PinSnapshot());
  const int64_t created_unix_ns = absl::GetCurrentTimeNanos();

  // What the backup holds: the pinned segments, then the catalog and the manifest, which
  // come from memory.
  struct Item {
    std::string rel;
    std::string source;      // a file of the data directory, or empty
    std::string_view bytes;  // when source is empty
    uint64_t size = 0;
  };
  std::vector<Item> items;
  const std::string prefix = path() + "/";
  for (const auto& h : snap.version->segments) {
    if (!h->path.starts_with(prefix)) {
      return absl::InternalError(StrCat("segment ", h->path, " is outside ", path()));
    }
    items.push_back(Item{h->path.substr(prefix.size()), h->path, {}, h->meta.file_size});
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.rel < b.rel; });
  if (!snap.catalog_name.empty()) {
    items.push_back(Item{snap.catalog_name, "", snap.catalog_bytes, snap.catalog_bytes.size()});
  }
  items.push_back(Item{kManifestName, "", snap.manifest_bytes, snap.manifest_bytes.size()});

  BackupReport report;
  std::set<std::string> dirs = {kSegmentsDir};
  for (const Item& item : items) {
    report.bytes_total += item.size;
    for (std::string& d : ParentDirsOf(item.rel)) dirs.insert(std::move(d));
  }
  for (const std::string& d : dirs) BR_RETURN_IF_ERROR(fs->CreateDirs(StrCat(target, "/", d)));

  ProgressMeter progress(options.progress, report.bytes_total);
  std::string buffer;
  bool links_possible = true;
  bool manifest_pending = false;
  BackupManifest manifest;
  manifest.created_unix_ns = created_unix_ns;
  manifest.source_dir = path();
  manifest.chunk_bytes = kBackupChunkBytes;

  for (const Item& item : items) {
    const std::string dst = StrCat(target, "/", item.rel);
    const BackupFileEntry* old = previous ? FindEntry(*previous, item.rel) : nullptr;
    bool reusable = false;
    if (old != nullptr && old->size == item.size) {
      absl::StatusOr<uint64_t> size = fs->GetFileSize(dst);
      reusable = size.ok() && *size == item.size;
    }
    std::optional<BackupFileEntry> entry;
    if (item.source.empty()) {
      entry = DigestBytes(item.rel, item.bytes, kBackupChunkBytes);
      if (reusable && *entry == *old) {
        ++report.files_skipped;
      } else if (item.rel == kManifestName) {
        // Renamed into place together with BACKUP-MANIFEST, so the previous backup stays
        // valid until the new one is complete.
        BR_RETURN_IF_ERROR(WriteTempFile(fs, target, kManifestName, item.bytes));
        manifest_pending = true;
        ++report.files_copied;
        report.bytes_copied += item.size;
      } else {
        const std::string dir = ParentDir(dst);
        const std::string name = dst.substr(dir.size() + 1);
        BR_RETURN_IF_ERROR(WriteTempFile(fs, dir, name, item.bytes));
        BR_RETURN_IF_ERROR(fs->RenameFile(StrCat(dst, kTmpSuffix), dst));
        ++report.files_copied;
        report.bytes_copied += item.size;
      }
      progress.FileDone(item.size);
    } else {
      if (reusable) {
        FileDigest digest(kBackupChunkBytes);
        BR_RETURN_IF_ERROR(StreamFile(fs, item.source, nullptr, &digest, &progress, &buffer));
        entry = digest.Finish(item.rel);
        if (*entry == *old) {
          ++report.files_skipped;
        } else {
          entry.reset();
        }
      }
      if (!entry) {
        BR_RETURN_IF_ERROR(RemoveIfPresent(fs, dst));
        FileDigest digest(kBackupChunkBytes);
        bool linked = false;
        if (links_possible) {
          absl::Status s = fs->LinkFile(item.source, dst);
          if (s.ok()) {
            linked = true;
          } else if (absl::IsUnimplemented(s)) {
            links_possible = false;
          } else {
            return s;
          }
        }
        if (linked) {
          // The checksum is of what the backup holds, read through the new name.
          BR_RETURN_IF_ERROR(StreamFile(fs, dst, nullptr, &digest, &progress, &buffer));
          ++report.files_linked;
        } else {
          BR_RETURN_IF_ERROR(CopyFile(fs, item.source, dst, &digest, &progress, &buffer));
          ++report.files_copied;
          report.bytes_copied += item.size;
        }
        entry = digest.Finish(item.rel);
      }
      if (entry->size != item.size) {
        return absl::DataLossError(StrCat(item.source, " at offset ",
                                          std::min(entry->size, item.size), ": file is ",
                                          entry->size, " bytes, MANIFEST says ", item.size));
      }
      progress.FileDone(item.size);
    }
    manifest.files.push_back(std::move(*entry));
  }

  // Commit: every file and name is durable, and MANIFEST.tmp and BACKUP-MANIFEST.tmp are
  // complete, before either is renamed into place; BACKUP-MANIFEST goes last.
  std::sort(manifest.files.begin(), manifest.files.end(),
            [](const BackupFileEntry& a, const BackupFileEntry& b) { return a.path < b.path; });
  BR_RETURN_IF_ERROR(
      WriteTempFile(fs, target, kBackupManifestName, EncodeBackupManifest(manifest)));
  for (auto dir = dirs.rbegin(); dir != dirs.rend(); ++dir) {
    BR_RETURN_IF_ERROR(fs->SyncDir(StrCat(target, "/", *dir)));
  }
  BR_RETURN_IF_ERROR(fs->SyncDir(target));
  if (manifest_pending) {
    BR_RETURN_IF_ERROR(fs->RenameFile(StrCat(target, "/", kManifestName, kTmpSuffix),
                                      StrCat(target, "/", kManifestName)));
  }
  BR_RETURN_IF_ERROR(fs->RenameFile(StrCat(target, "/", kBackupManifestName, kTmpSuffix),
                                    StrCat(target, "/", kBackupManifestName)));
  BR_RETURN_IF_ERROR(fs->SyncDir(target));

  std::set<std::string> keep;
  for (const BackupFileEntry& e : manifest.files) keep.insert(e.path);
  std::set<std::string> sweep_dirs = dirs;
  if (previous) {
    for (const BackupFileEntry& e : previous->files) {
      for (std::string& d : ParentDirsOf(e.path)) sweep_dirs.insert(std::move(d));
    }
  }
  SweepBackupTarget(fs, target, keep, sweep_dirs, dirs);
  return report;
}

// ---------------------------------------------------------------------------------------
// Restore

namespace {

// Checks a catalog snapshot's frame and content; kDataLoss naming path.
absl::Status CheckCatalogBytes(const std::string& path, std::string bytes) {
  BR_ASSIGN_OR_RETURN(std::string payload, UnframeChecksummed(std::string_view(kCatalogMagic, 8),
                                                              path, std::move(bytes)));
  Catalog catalog;
  return catalog.Decode(path, payload);
}

// Opens the segment at path and checks every chunk. Errors name display_path instead.
absl::Status VerifySegmentFile(FileSystem* fs, const std::string& path,
                               const std::string& display_path) {
  absl::StatusOr<std::unique_ptr<SegmentReader>> reader = SegmentReader::Open(fs, path);
  absl::Status s = reader.ok() ? (*reader)->VerifyAll() : reader.status();
  if (s.ok() || path == display_path) return s;
  return absl::Status(s.code(), absl::StrReplaceAll(s.message(), {{path, display_path}}));
}

// The restore proper; RestoreBackup undoes what it wrote when it fails.
class Restorer {
 public:
  Restorer(FileSystem* fs, std::string backup, std::string target, const RestoreOptions& options)
      : fs_(fs), backup_(std::move(backup)), target_(std::move(target)), options_(options) {}

  absl::StatusOr<RestoreReport> Run(const BackupManifest& bm) {
    // MANIFEST first: it says which files must be there, so a backup missing one fails
    // before anything is copied.
    const BackupFileEntry* manifest_entry = FindEntry(bm, kManifestName);
    if (manifest_entry == nullptr) {
      return absl::DataLossError(
          StrCat(backup_, "/", kBackupManifestName, ": lists no ", kManifestName));
    }
    const std::string manifest_path = StrCat(backup_, "/", kManifestName);
    std::string manifest_bytes;
    BR_RETURN_IF_ERROR(fs_->ReadFileToString(manifest_path, &manifest_bytes));
    BR_RETURN_IF_ERROR(CompareWithManifest(
        manifest_path, *manifest_entry, DigestBytes(kManifestName, manifest_bytes, bm.chunk_bytes),
        bm.chunk_bytes));
    BR_ASSIGN_OR_RETURN(Manifest manifest, DecodeManifest(manifest_path, manifest_bytes));

    std::map<uint64_t, const BackupFileEntry*> segment_files;
    for (const BackupFileEntry& e : bm.files) {
      uint64_t n;
      if (IsSegmentPath(e.path, &n)) segment_files[n] = &e;
    }
    for (const ManifestSegment& seg : manifest.segments) {
      auto it = segment_files.find(seg.file_number);
      if (it == segment_files.end()) {
        return absl::DataLossError(StrCat(manifest_path, ": names segment ", seg.file_number,
                                          ", which ", kBackupManifestName, " does not list"));
      }
      if (it->second->size != seg.file_size) {
        return absl::DataLossError(StrCat(backup_, "/", it->second->path, ": ", kBackupManifestName,
                                          " says ", it->second->size, " bytes, MANIFEST says ",
                                          seg.file_size));
      }
    }
    std::string catalog_rel;
    if (manifest.catalog_file_number != 0) {
      for (const BackupFileEntry& e : bm.files) {
        uint64_t n;
        if (ParseNumberedName(e.path, kCatalogPrefix, "", &n) &&
            n == manifest.catalog_file_number) {
          catalog_rel = e.path;
        }
      }
      if (catalog_rel.empty()) {
        return absl::DataLossError(StrCat(manifest_path, ": names catalog ",
                                          manifest.catalog_file_number, ", which ",
                                          kBackupManifestName, " does not list"));
      }
    }

    uint64_t total = 0;
    std::set<std::string> dirs = {kSegmentsDir};
    for (const BackupFileEntry& e : bm.files) {
      total += e.size;
      for (std::string& d : ParentDirsOf(e.path)) dirs.insert(std::move(d));
    }
    for (const std::string& d : dirs) {
      const std::string full = StrCat(target_, "/", d);
      BR_RETURN_IF_ERROR(fs_->CreateDirs(full));
      created_dirs_.push_back(full);
    }

    ProgressMeter progress(options_.progress, total);
    std::string buffer;
    // Files in subdirectories (segments) first, then the root's, MANIFEST last of all.
    std::vector<const BackupFileEntry*> order;
    for (const BackupFileEntry& e : bm.files) {
      if (e.path.find('/') != std::string::npos) order.push_back(&e);
    }
    for (const BackupFileEntry& e : bm.files) {
      if (e.path.find('/') == std::string::npos && e.path != kManifestName) order.push_back(&e);
    }
    RestoreReport report;
    report.backup_time_unix_ns = bm.created_unix_ns;
    for (const BackupFileEntry* e : order) {
      const std::string src = StrCat(backup_, "/", e->path);
      const std::string dst = StrCat(target_, "/", e->path);
      FileDigest digest(bm.chunk_bytes);
      if (e->path == catalog_rel) {
        std::string bytes;
        BR_RETURN_IF_ERROR(fs_->ReadFileToString(src, &bytes));
        digest.Update(bytes);
        BR_RETURN_IF_ERROR(CompareWithManifest(src, *e, digest.Finish(e->path), bm.chunk_bytes));
        BR_RETURN_IF_ERROR(CheckCatalogBytes(src, bytes));
        written_.push_back(dst);
        BR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> out, fs_->NewWritableFile(dst));
        BR_RETURN_IF_ERROR(out->Append(bytes));
        BR_RETURN_IF_ERROR(out->Sync());
        BR_RETURN_IF_ERROR(out->Close());
      } else {
        written_.push_back(dst);
        BR_RETURN_IF_ERROR(CopyFile(fs_, src, dst, &digest, &progress, &buffer));
        BR_RETURN_IF_ERROR(CompareWithManifest(src, *e, digest.Finish(e->path), bm.chunk_bytes));
        uint64_t n;
        if (IsSegmentPath(e->path, &n)) {
          // The copy is what the restored database will read, so it is what gets checked.
          BR_RETURN_IF_ERROR(VerifySegmentFile(fs_, dst, src));
        }
      }
      progress.FileDone(e->size);
      ++report.files_restored;
      report.bytes_restored += e->size;
    }
    for (const std::string& d : dirs) BR_RETURN_IF_ERROR(fs_->SyncDir(StrCat(target_, "/", d)));
    BR_RETURN_IF_ERROR(fs_->SyncDir(target_));

    // The commit point: until MANIFEST exists, Db::Open does not take the directory for a
    // database (it rejects segment files without a MANIFEST).
    written_.push_back(StrCat(target_, "/", kManifestName, kTmpSuffix));
    written_.push_back(StrCat(target_, "/", kManifestName));
    BR_RETURN_IF_ERROR(WriteFileAtomically(fs_, target_, kManifestName, manifest_bytes));
    written_.clear();
    progress.FileDone(manifest_bytes.size());
    ++report.files_restored;
    report.bytes_restored += manifest_bytes.size();
    return report;
  }

  // Removes what Run wrote (best effort: the first error is already being returned).
  void Undo() {
    for (auto it = written_.rbegin(); it != written_.rend(); ++it) {
      if (fs_->FileExists(*it)) (void)fs_->DeleteFile(*it);
    }
    for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) {
      (void)fs_->DeleteDir(*it);
    }
    (void)fs_->SyncDir(target_);
  }

 private:
  FileSystem* const fs_;
  const std::string backup_;
  const std::string target_;
  const RestoreOptions& options_;
  std::vector<std::string> written_;
  std::vector<std::string> created_dirs_;
};

}  // namespace

absl::StatusOr<RestoreReport> RestoreBackup(const std::string& backup_dir,
                                            const std::string& target_dir,
                                            const RestoreOptions& options) {
  FileSystem* const fs = options.file_system ? options.file_system : FileSystem::Default();
  if (backup_dir.empty() || target_dir.empty()) {
    return absl::InvalidArgumentError("restore: empty backup or target directory");
  }
  const std::string backup = WithoutTrailingSlashes(backup_dir);
  const std::string target = WithoutTrailingSlashes(target_dir);
  if (!fs->FileExists(backup)) {
    return absl::NotFoundError(StrCat(backup, ": no such backup directory"));
  }
  BR_ASSIGN_OR_RETURN(BackupManifest bm, ReadBackupManifest(fs, backup));

  const bool existed = fs->FileExists(target);
  if (existed) {
    std::vector<std::string> names;
    BR_RETURN_IF_ERROR(fs->ListDir(target, &names));
    if (!names.empty()) {
      return absl::FailedPreconditionError(
          StrCat(target, " is not empty; restore only into an empty or absent directory"));
    }
  } else {
    BR_RETURN_IF_ERROR(fs->CreateDirs(target));
  }
  const std::string lock_path = StrCat(target, "/", kLockName);
  absl::StatusOr<RestoreReport> result;
  {
    absl::StatusOr<std::unique_ptr<FileLock>> lock = fs->LockFile(lock_path);
    if (!lock.ok()) return lock.status();
    Restorer restorer(fs, backup, target, options);
    result = restorer.Run(bm);
    if (!result.ok()) restorer.Undo();
  }
  if (!result.ok()) {
    // Leave the directory as it was found: gone if it was created here, else empty.
    (void)fs->DeleteFile(lock_path);
    if (!existed) (void)fs->DeleteDir(target);
    return result.status();
  }
  if (!existed) BR_RETURN_IF_ERROR(fs->SyncDir(ParentDir(target)));
  return result;
}

// ---------------------------------------------------------------------------------------
// Verify

namespace {

// One pass over a data directory or backup, filling a VerifyReport. Not thread-safe.
class Verifier {
 public:
  Verifier(FileSystem* fs, std::string dir, const VerifyOptions& options, VerifyReport* report)
      : fs_(fs), dir_(std::move(dir)), options_(options), report_(report) {}

  absl::Status Run() {
    report_->is_backup = fs_->FileExists(StrCat(dir_, "/", kBackupManifestName));
    if (report_->is_backup) {
      absl::StatusOr<BackupManifest> bm = ReadBackupManifest(fs_, dir_);
      if (bm.ok()) {
        backup_ = std::move(*bm);
      } else {
        Problem(bm.status());
      }
      ++report_->files_checked;
    }

    std::vector<std::string> root_names, segment_names, wal_names;
    BR_RETURN_IF_ERROR(fs_->ListDir(dir_, &root_names));
    BR_RETURN_IF_ERROR(ListIfPresent(kSegmentsDir, &segment_names));
    BR_RETURN_IF_ERROR(ListIfPresent(kWalDir, &wal_names));

    // Relative paths to check, by kind. MANIFEST decides which segments and catalog are
    // live; without a readable one, every file that looks like one of ours is checked.
    const std::optional<Manifest> manifest = ReadManifest(/*report=*/true);
    std::vector<std::string> catalogs, wals, others;
    std::vector<std::pair<std::string, uint64_t>> segments;  // with their file number
    std::set<std::string> named = {kManifestName};
    for (const std::string& name : segment_names) {
      uint64_t n;
      if (!ParseNumberedName(name, "", ".seg", &n)) continue;
      if (manifest && std::none_of(manifest->segments.begin(), manifest->segments.end(),
                                   [&](const ManifestSegment& s) { return s.file_number == n; })) {
        continue;
      }
      segments.emplace_back(StrCat(kSegmentsDir, "/", name), n);
      named.insert(segments.back().first);
    }
    if (manifest) {
      for (const ManifestSegment& s : manifest->segments) {
        if (std::none_of(segments.begin(), segments.end(),
                         [&](const auto& p) { return p.second == s.file_number; })) {
          MissingSegment(s.file_number);
        }
      }
    }
    for (const std::string& name : root_names) {
      uint64_t n;
      if (ParseNumberedName(name, kCatalogPrefix, "", &n) &&
          (!manifest || n == manifest->catalog_file_number)) {
        catalogs.push_back(name);
        named.insert(name);
      }
    }
    if (manifest && manifest->catalog_file_number != 0 && catalogs.empty()) {
      Problem(StrCat(dir_, "/", kManifestName, ": names catalog ", manifest->catalog_file_number,
                     ", which is missing"));
    }
    for (const std::string& name : wal_names) {
      uint64_t n;
      if (ParseNumberedName(name, "", ".log", &n)) wals.push_back(StrCat(kWalDir, "/", name));
    }
    if (backup_) {
      // Files the backup lists beyond those are checked against their checksums only; those
      // already reported missing are not reported twice.
      for (const BackupFileEntry& e : backup_->files) {
        uint64_t n;
        if (named.contains(e.path) || (IsSegmentPath(e.path, &n) && missing_.contains(n))) {
          continue;
        }
        others.push_back(e.path);
        named.insert(e.path);
      }
    }
    for (const std::string& name : segment_names) {
      const std::string rel = StrCat(kSegmentsDir, "/", name);
      if (named.contains(rel)) continue;
      Note(StrCat(dir_, "/", rel, ": not named by ",
                  backup_ ? "BACKUP-MANIFEST; not part of the backup"
                          : "MANIFEST; left by an interrupted write, deleted on the next open"));
    }

    uint64_t total = 0;
    auto add_size = [&](const std::string& rel) {
      absl::StatusOr<uint64_t> size = fs_->GetFileSize(StrCat(dir_, "/", rel));
      if (size.ok()) total += *size;
    };
    add_size(kManifestName);
    for (const auto& [rel, n] : segments) add_size(rel);
    for (const auto* group : {&catalogs, &wals, &others}) {
      for (const std::string& rel : *group) add_size(rel);
    }
    progress_.emplace(options_.progress, total);

    CheckManifestFile();
    for (const std::string& rel : catalogs) CheckCatalog(rel);
    for (const auto& [rel, n] : segments) CheckSegment(rel, n, manifest);
    for (const std::string& rel : wals) CheckWal(rel, manifest ? manifest->log_number : 0);
    for (const std::string& rel : others) {
      const std::optional<uint64_t> size = CheckAgainstBackup(rel);
      if (size) Checked(*size);
    }
    return absl::OkStatus();
  }

 private:
  void Problem(const absl::Status& s) { report_->problems.emplace_back(s.message()); }
  void Problem(std::string text) { report_->problems.push_back(std::move(text)); }
  void Note(std::string text) { report_->notes.push_back(std::move(text)); }
  void Checked(uint64_t size) {
    ++report_->files_checked;
    report_->bytes_checked += size;
    progress_->FileDone(size);
  }

  absl::Status ListIfPresent(const std::string& sub, std::vector<std::string>* names) {
    names->clear();
    const std::string path = StrCat(dir_, "/", sub);
    if (!fs_->FileExists(path)) return absl::OkStatus();
    BR_RETURN_IF_ERROR(fs_->ListDir(path, names));
    std::sort(names->begin(), names->end());
    return absl::OkStatus();
  }

  // MANIFEST, decoded; nullopt (with a problem when report is set) when unreadable.
  std::optional<Manifest> ReadManifest(bool report) {
    const std::string path = StrCat(dir_, "/", kManifestName);
    std::string contents;
    absl::Status s = fs_->ReadFileToString(path, &contents);
    if (s.ok()) {
      absl::StatusOr<Manifest> m = DecodeManifest(path, std::move(contents));
      if (m.ok()) return std::move(*m);
      s = m.status();
    }
    if (report) Problem(s);
    return std::nullopt;
  }

  // A segment MANIFEST names is missing. In a live directory the database may have just
  // replaced it (flush, compaction): then a fresh MANIFEST no longer names it.
  void MissingSegment(uint64_t number) {
    const std::string what =
        StrCat(dir_, "/", kManifestName, ": names segment ", number, ", which is missing");
    if (!report_->is_backup) {
      std::optional<Manifest> now = ReadManifest(/*report=*/false);
      if (now && std::none_of(now->segments.begin(), now->segments.end(),
                              [&](const ManifestSegment& s) { return s.file_number == number; })) {
        Note(StrCat(what, "; the running database has removed it since"));
        return;
      }
    }
    missing_.insert(number);
    Problem(what);
  }

  // For a backup, checks rel's size and checksum against BACKUP-MANIFEST (a problem when
  // they differ) and returns the bytes read; nullopt when the file could not be read. For a
  // data directory, returns 0 without reading.
  std::optional<uint64_t> CheckAgainstBackup(const std::string& rel) {
    if (!backup_) return 0;
    const std::string path = StrCat(dir_, "/", rel);
    const BackupFileEntry* want = FindEntry(*backup_, rel);
    if (want == nullptr) {
      Problem(StrCat(path, ": not listed in ", kBackupManifestName));
      return 0;
    }
    FileDigest digest(backup_->chunk_bytes);
    absl::Status s = StreamFile(fs_, path, nullptr, &digest, &*progress_, &buffer_);
    if (absl::IsNotFound(s)) {
      Problem(StrCat(path, ": missing (", kBackupManifestName, " lists it)"));
      return std::nullopt;
    }
    if (!s.ok()) {
      Problem(s);
      return std::nullopt;
    }
    const BackupFileEntry got = digest.Finish(rel);
    s = CompareWithManifest(path, *want, got, backup_->chunk_bytes);
    if (!s.ok()) Problem(s);
    return got.size;
  }

  void CheckManifestFile() {
    const std::optional<uint64_t> read = CheckAgainstBackup(kManifestName);
    absl::StatusOr<uint64_t> size = fs_->GetFileSize(StrCat(dir_, "/", kManifestName));
    if (read && size.ok()) Checked(*size);
  }

  void CheckCatalog(const std::string& rel) {
    const std::string path = StrCat(dir_, "/", rel);
    if (!CheckAgainstBackup(rel)) return;
    std::string bytes;
    absl::Status s = fs_->ReadFileToString(path, &bytes);
    const uint64_t size = bytes.size();
    if (s.ok()) s = CheckCatalogBytes(path, std::move(bytes));
    if (!s.ok()) Problem(s);
    Checked(size);
  }

  void CheckSegment(const std::string& rel, uint64_t number, const std::optional<Manifest>& m) {
    const std::string path = StrCat(dir_, "/", rel);
    if (!CheckAgainstBackup(rel)) return;
    absl::StatusOr<uint64_t> size = fs_->GetFileSize(path);
    absl::Status s = size.status();
    if (s.ok()) s = VerifySegmentFile(fs_, path, path);
    if (absl::IsNotFound(s)) {
      MissingSegment(number);
      return;
    }
    if (!s.ok()) {
      Problem(s);
    } else if (m) {
      for (const ManifestSegment& seg : m->segments) {
        if (seg.file_number == number && seg.file_size != *size) {
          Problem(StrCat(path, " at offset ", std::min(seg.file_size, *size), ": file is ", *size,
                         " bytes, MANIFEST says ", seg.file_size));
        }
      }
    }
    Checked(size.ok() ? *size : 0);
  }

  void CheckWal(const std::string& rel, uint64_t log_number) {
    const std::string path = StrCat(dir_, "/", rel);
    uint64_t number = 0;
    (void)ParseNumberedName(rel.substr(sizeof(kWalDir)), "", ".log", &number);
    WalReadResult result;
    absl::Status s = ReadWal(
        fs_, path, [](std::string_view, uint64_t) { return absl::OkStatus(); }, &result);
    if (absl::IsNotFound(s)) {
      Note(StrCat(path, ": removed by the running database while being checked"));
      return;
    }
    Checked(result.file_size);
    if (result.torn_tail) {
      Note(StrCat(path, " at offset ", result.valid_end, ": torn tail (",
                  result.file_size - result.valid_end,
                  " bytes after the last whole record, from an interrupted or ongoing append; "
                  "recovery truncates it)"));
    }
    if (s.ok()) return;
    if (result.corrupt && number < log_number) {
      Note(StrCat(s.message(),
                  " (MANIFEST no longer needs this WAL file; it is deleted on the "
                  "next open)"));
      return;
    }
    Problem(s);
  }

  FileSystem* const fs_;
  const std::string dir_;
  const VerifyOptions& options_;
  VerifyReport* const report_;
  std::optional<BackupManifest> backup_;
  std::set<uint64_t> missing_;  // segments MANIFEST names that are not there
  std::optional<ProgressMeter> progress_;
  std::string buffer_;
};

}  // namespace

absl::StatusOr<VerifyReport> VerifyDirectory(const std::string& dir, const VerifyOptions& options) {
  FileSystem* const fs = options.file_system ? options.file_system : FileSystem::Default();
  if (dir.empty()) return absl::InvalidArgumentError("verify: empty directory name");
  const std::string d = WithoutTrailingSlashes(dir);
  if (!fs->FileExists(d)) return absl::NotFoundError(StrCat(d, ": no such directory"));
  if (!fs->FileExists(StrCat(d, "/", kBackupManifestName)) &&
      !fs->FileExists(StrCat(d, "/", kManifestName))) {
    return absl::NotFoundError(StrCat(d, ": neither a data directory (no ", kManifestName,
                                      ") nor a backup (no ", kBackupManifestName, ")"));
  }
  VerifyReport report;
  Verifier verifier(fs, d, options, &report);
  BR_RETURN_IF_ERROR(verifier.Run());
  return report;
}

}  // namespace burnrate
