#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "burnrate/file_system.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fault_injection_file_system.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::FaultInjectionFileSystem;
using ::burnrate::testing::FileOp;
using ::burnrate::testing::StatusIs;
using ::burnrate::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// Creates path with contents through fs, optionally synced.
void Write(FileSystem* fs, const std::string& path, std::string_view contents, bool sync) {
  ASSERT_OK_AND_ASSIGN(auto file, fs->NewWritableFile(path));
  ASSERT_OK(file->Append(contents));
  if (sync) {
    ASSERT_OK(file->Sync());
  }
  ASSERT_OK(file->Close());
}

std::string Read(FileSystem* fs, const std::string& path) {
  std::string out;
  absl::Status s = fs->ReadFileToString(path, &out);
  EXPECT_OK(s);
  return out;
}

class PosixFileSystemTest : public ::testing::Test {
 protected:
  FileSystem* fs_ = FileSystem::Default();
  TempDir dir_;
};

TEST_F(PosixFileSystemTest, DefaultIsOneInstance) {
  EXPECT_NE(FileSystem::Default(), nullptr);
  EXPECT_EQ(FileSystem::Default(), FileSystem::Default());
}

TEST_F(PosixFileSystemTest, AppendSyncAndReadBack) {
  const std::string path = dir_.Sub("data");
  ASSERT_OK_AND_ASSIGN(auto file, fs_->NewWritableFile(path));
  EXPECT_EQ(file->Size(), 0u);
  ASSERT_OK(file->Append("hello"));
  ASSERT_OK(file->Append(" world"));
  ASSERT_OK(file->Append(""));
  EXPECT_EQ(file->Size(), 11u);
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Close());
  ASSERT_OK(file->Close());
  EXPECT_THAT(file->Append("x"), StatusIs(absl::StatusCode::kFailedPrecondition));

  EXPECT_TRUE(fs_->FileExists(path));
  ASSERT_OK_AND_ASSIGN(uint64_t size, fs_->GetFileSize(path));
  EXPECT_EQ(size, 11u);
  EXPECT_EQ(Read(fs_, path), "hello world");

  ASSERT_OK_AND_ASSIGN(auto reader, fs_->NewRandomAccessFile(path));
  EXPECT_EQ(reader->Size(), 11u);
  char scratch[16];
  std::string_view got;
  ASSERT_OK(reader->Read(6, 5, scratch, &got));
  EXPECT_EQ(got, "world");
  ASSERT_OK(reader->Read(6, 16, scratch, &got));
  EXPECT_EQ(got, "world");  // Short read: end of file.
  ASSERT_OK(reader->Read(100, 4, scratch, &got));
  EXPECT_EQ(got, "");
}

TEST_F(PosixFileSystemTest, LargeFileReadsWhole) {
  const std::string path = dir_.Sub("large");
  std::string contents;
  for (int i = 0; i < 200'000; ++i) contents += static_cast<char>('a' + i % 26);
  Write(fs_, path, contents, /*sync=*/false);
  EXPECT_EQ(Read(fs_, path), contents);
}

TEST_F(PosixFileSystemTest, NewWritableFileTruncatesAndAppendableKeeps) {
  const std::string path = dir_.Sub("f");
  Write(fs_, path, "abcdef", /*sync=*/false);
  {
    ASSERT_OK_AND_ASSIGN(auto file, fs_->NewAppendableFile(path));
    EXPECT_EQ(file->Size(), 6u);
    ASSERT_OK(file->Append("gh"));
    EXPECT_EQ(file->Size(), 8u);
    ASSERT_OK(file->Close());
  }
  EXPECT_EQ(Read(fs_, path), "abcdefgh");
  Write(fs_, path, "z", /*sync=*/false);
  EXPECT_EQ(Read(fs_, path), "z");

  ASSERT_OK_AND_ASSIGN(auto fresh, fs_->NewAppendableFile(dir_.Sub("new")));
  EXPECT_EQ(fresh->Size(), 0u);
  EXPECT_TRUE(fs_->FileExists(dir_.Sub("new")));
}

TEST_F(PosixFileSystemTest, MissingFilesAreNotFoundAndNamed) {
  const std::string path = dir_.Sub("missing");
  EXPECT_FALSE(fs_->FileExists(path));
  EXPECT_THAT(fs_->NewRandomAccessFile(path),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
  std::string out;
  EXPECT_THAT(fs_->ReadFileToString(path, &out),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("No such file")));
  EXPECT_THAT(fs_->GetFileSize(path), StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
  EXPECT_THAT(fs_->DeleteFile(path), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(fs_->RenameFile(path, dir_.Sub("x")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(fs_->Truncate(path, 0), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(fs_->NewWritableFile(dir_.Sub("no/such/dir/file")),
              StatusIs(absl::StatusCode::kNotFound));
  std::vector<std::string> names;
  EXPECT_THAT(fs_->ListDir(path, &names), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(fs_->SyncDir(path), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(PosixFileSystemTest, DirectoriesCreateListAndDelete) {
  const std::string nested = dir_.Sub("a/b/c");
  ASSERT_OK(fs_->CreateDirs(nested));
  ASSERT_OK(fs_->CreateDirs(nested));  // Already there.
  ASSERT_OK(fs_->CreateDirs(nested + "/"));
  Write(fs_, nested + "/one", "1", /*sync=*/false);
  Write(fs_, nested + "/two", "2", /*sync=*/false);
  ASSERT_OK(fs_->SyncDir(nested));

  std::vector<std::string> names;
  ASSERT_OK(fs_->ListDir(nested, &names));
  EXPECT_THAT(names, UnorderedElementsAre("one", "two"));
  ASSERT_OK(fs_->ListDir(dir_.Sub("a"), &names));
  EXPECT_THAT(names, UnorderedElementsAre("b"));

  EXPECT_THAT(fs_->CreateDirs(nested + "/one"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(fs_->DeleteDir(nested), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(fs_->DeleteFile(nested + "/one"));
  ASSERT_OK(fs_->DeleteFile(nested + "/two"));
  ASSERT_OK(fs_->DeleteDir(nested));
  EXPECT_FALSE(fs_->FileExists(nested));
}

TEST_F(PosixFileSystemTest, RenameReplacesTheTarget) {
  Write(fs_, dir_.Sub("MANIFEST"), "old", /*sync=*/true);
  Write(fs_, dir_.Sub("MANIFEST.tmp"), "new", /*sync=*/true);
  ASSERT_OK(fs_->RenameFile(dir_.Sub("MANIFEST.tmp"), dir_.Sub("MANIFEST")));
  ASSERT_OK(fs_->SyncDir(dir_.path()));
  EXPECT_EQ(Read(fs_, dir_.Sub("MANIFEST")), "new");
  EXPECT_FALSE(fs_->FileExists(dir_.Sub("MANIFEST.tmp")));
}

TEST_F(PosixFileSystemTest, LinkSharesContents) {
  Write(fs_, dir_.Sub("segment"), "columns", /*sync=*/true);
  ASSERT_OK(fs_->CreateDirs(dir_.Sub("backup")));
  ASSERT_OK(fs_->LinkFile(dir_.Sub("segment"), dir_.Sub("backup/segment")));
  ASSERT_OK(fs_->DeleteFile(dir_.Sub("segment")));
  EXPECT_EQ(Read(fs_, dir_.Sub("backup/segment")), "columns");
  Write(fs_, dir_.Sub("other"), "x", /*sync=*/false);
  EXPECT_THAT(fs_->LinkFile(dir_.Sub("other"), dir_.Sub("backup/segment")),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(PosixFileSystemTest, TruncateShrinks) {
  const std::string path = dir_.Sub("wal");
  Write(fs_, path, "record1record2torn", /*sync=*/false);
  ASSERT_OK(fs_->Truncate(path, 14));
  EXPECT_EQ(Read(fs_, path), "record1record2");
  ASSERT_OK(fs_->Truncate(path, 0));
  EXPECT_EQ(Read(fs_, path), "");
}

TEST_F(PosixFileSystemTest, LockIsExclusiveWithinTheProcessToo) {
  const std::string path = dir_.Sub("LOCK");
  {
    ASSERT_OK_AND_ASSIGN(auto lock, fs_->LockFile(path));
    EXPECT_TRUE(fs_->FileExists(path));
    EXPECT_THAT(fs_->LockFile(path),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path)));
    // Another spelling of the same file passes the path set but not flock(2).
    EXPECT_THAT(fs_->LockFile(dir_.path() + "/./LOCK"),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    // A failed attempt must not release the lock held.
    EXPECT_THAT(fs_->LockFile(path), StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  ASSERT_OK_AND_ASSIGN(auto again, fs_->LockFile(path));
  EXPECT_THAT(fs_->LockFile(dir_.Sub("missing/LOCK")), StatusIs(absl::StatusCode::kNotFound));
}

class FaultInjectionFileSystemTest : public ::testing::Test {
 protected:
  TempDir dir_;
  FaultInjectionFileSystem fs_;
};

TEST_F(FaultInjectionFileSystemTest, NthAppendFailsOnce) {
  ASSERT_OK_AND_ASSIGN(auto file, fs_.NewWritableFile(dir_.Sub("wal")));
  ASSERT_OK(file->Append("before"));
  fs_.FailNthAppend(3, absl::ResourceExhaustedError("ENOSPC"));
  ASSERT_OK(file->Append("1"));
  ASSERT_OK(file->Append("2"));
  EXPECT_THAT(file->Append("3"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("ENOSPC")));
  ASSERT_OK(file->Append("4"));
  ASSERT_OK(file->Close());
  EXPECT_EQ(Read(&fs_, dir_.Sub("wal")), "before124");
  EXPECT_EQ(fs_.counters().appends, 4u);
  EXPECT_EQ(fs_.counters().bytes_appended, 9u);
}

TEST_F(FaultInjectionFileSystemTest, FailingAppendCanTearTheWrite) {
  ASSERT_OK_AND_ASSIGN(auto file, fs_.NewWritableFile(dir_.Sub("wal")));
  fs_.FailNthAppend(2, absl::InternalError("EIO"), /*written_prefix=*/3);
  ASSERT_OK(file->Append("head"));
  EXPECT_THAT(file->Append("record"), StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(file->Size(), 7u);
  ASSERT_OK(file->Close());
  EXPECT_EQ(Read(&fs_, dir_.Sub("wal")), "headrec");
}

TEST_F(FaultInjectionFileSystemTest, NthSyncFails) {
  ASSERT_OK_AND_ASSIGN(auto file, fs_.NewWritableFile(dir_.Sub("wal")));
  fs_.FailNthSync(2, absl::InternalError("injected EIO"));
  ASSERT_OK(file->Append("a"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Append("b"));
  EXPECT_THAT(file->Sync(), StatusIs(absl::StatusCode::kInternal, HasSubstr("injected EIO")));
  ASSERT_OK(file->Sync());
  EXPECT_EQ(fs_.counters().syncs, 2u);
}

TEST_F(FaultInjectionFileSystemTest, OtherOperationsFailOnRequest) {
  Write(&fs_, dir_.Sub("a"), "a", /*sync=*/true);
  fs_.FailNth(FileOp::kRename, 1, absl::InternalError("rename"));
  EXPECT_THAT(fs_.RenameFile(dir_.Sub("a"), dir_.Sub("b")), StatusIs(absl::StatusCode::kInternal));
  EXPECT_TRUE(fs_.FileExists(dir_.Sub("a")));
  fs_.FailNth(FileOp::kSyncDir, 1, absl::InternalError("syncdir"));
  EXPECT_THAT(fs_.SyncDir(dir_.path()), StatusIs(absl::StatusCode::kInternal));
  ASSERT_OK(fs_.SyncDir(dir_.path()));
  fs_.FailNth(FileOp::kCreate, 1, absl::ResourceExhaustedError("ENOSPC"));
  EXPECT_THAT(fs_.NewWritableFile(dir_.Sub("c")), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(fs_.FileExists(dir_.Sub("c")));
}

TEST_F(FaultInjectionFileSystemTest, DiskFullFailsEveryWriteUntilCleared) {
  ASSERT_OK_AND_ASSIGN(auto file, fs_.NewWritableFile(dir_.Sub("wal")));
  ASSERT_OK(file->Append("ok"));
  fs_.FailAllWrites();
  EXPECT_THAT(file->Append("x"), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(file->Sync(), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(fs_.NewWritableFile(dir_.Sub("other")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(fs_.RenameFile(dir_.Sub("wal"), dir_.Sub("w")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(fs_.CreateDirs(dir_.Sub("d")), StatusIs(absl::StatusCode::kResourceExhausted));
  // Reads still work.
  EXPECT_EQ(Read(&fs_, dir_.Sub("wal")), "ok");
  fs_.ClearFaults();
  ASSERT_OK(file->Append("!"));
  ASSERT_OK(file->Sync());
  EXPECT_EQ(Read(&fs_, dir_.Sub("wal")), "ok!");
}

TEST_F(FaultInjectionFileSystemTest, DropUnsyncedDataTruncatesToTheSyncedLength) {
  ASSERT_OK_AND_ASSIGN(auto wal, fs_.NewWritableFile(dir_.Sub("wal")));
  ASSERT_OK_AND_ASSIGN(auto never_synced, fs_.NewWritableFile(dir_.Sub("never")));
  ASSERT_OK(fs_.SyncDir(dir_.path()));
  ASSERT_OK(wal->Append("abc"));
  ASSERT_OK(wal->Sync());
  ASSERT_OK(wal->Append("def"));
  ASSERT_OK(never_synced->Append("lost"));
  EXPECT_EQ(Read(&fs_, dir_.Sub("wal")), "abcdef");

  ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Read(&fs_, dir_.Sub("wal")), "abc");
  EXPECT_EQ(Read(&fs_, dir_.Sub("never")), "");
  // Files opened before the crash are dead.
  EXPECT_THAT(wal->Append("x"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(wal->Sync(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Read(&fs_, dir_.Sub("wal")), "abc");
}

TEST_F(FaultInjectionFileSystemTest, FileWhoseDirectoryWasNotSyncedVanishes) {
  ASSERT_OK_AND_ASSIGN(auto file, fs_.NewWritableFile(dir_.Sub("wal")));
  ASSERT_OK(file->Append("synced"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_FALSE(fs_.FileExists(dir_.Sub("wal")));
}

TEST_F(FaultInjectionFileSystemTest, ExistingFileKeepsItsOldBytes) {
  Write(fs_.base(), dir_.Sub("wal"), "durable", /*sync=*/true);
  ASSERT_OK_AND_ASSIGN(auto file, fs_.NewAppendableFile(dir_.Sub("wal")));
  ASSERT_OK(file->Append("+unsynced"));
  ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Read(&fs_, dir_.Sub("wal")), "durable");

  // Rewriting it is not durable either until synced.
  ASSERT_OK_AND_ASSIGN(auto rewrite, fs_.NewWritableFile(dir_.Sub("wal")));
  ASSERT_OK(rewrite->Append("new"));
  ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_TRUE(fs_.FileExists(dir_.Sub("wal")));
  EXPECT_EQ(Read(&fs_, dir_.Sub("wal")), "");
}

TEST_F(FaultInjectionFileSystemTest, RenameWithoutDirectorySyncIsUndone) {
  const std::string manifest = dir_.Sub("MANIFEST");
  const std::string tmp = dir_.Sub("MANIFEST.tmp");
  Write(&fs_, manifest, "v1", /*sync=*/true);
  ASSERT_OK(fs_.SyncDir(dir_.path()));

  Write(&fs_, tmp, "v2", /*sync=*/true);
  ASSERT_OK(fs_.RenameFile(tmp, manifest));
  EXPECT_EQ(Read(&fs_, manifest), "v2");
  ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Read(&fs_, manifest), "v1");
  // The temp file was never made durable by a directory sync either.
  EXPECT_FALSE(fs_.FileExists(tmp));

  Write(&fs_, tmp, "v3", /*sync=*/true);
  ASSERT_OK(fs_.RenameFile(tmp, manifest));
  ASSERT_OK(fs_.SyncDir(dir_.path() + "/"));
  ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Read(&fs_, manifest), "v3");
  EXPECT_FALSE(fs_.FileExists(tmp));
}

TEST_F(FaultInjectionFileSystemTest, ChainedRenamesUnwindInOrder) {
  Write(&fs_, dir_.Sub("a"), "A", /*sync=*/true);
  Write(&fs_, dir_.Sub("c"), "C", /*sync=*/true);
  ASSERT_OK(fs_.SyncDir(dir_.path()));
  ASSERT_OK(fs_.RenameFile(dir_.Sub("a"), dir_.Sub("b")));
  ASSERT_OK(fs_.RenameFile(dir_.Sub("b"), dir_.Sub("c")));
  EXPECT_EQ(Read(&fs_, dir_.Sub("c")), "A");
  ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Read(&fs_, dir_.Sub("a")), "A");
  EXPECT_FALSE(fs_.FileExists(dir_.Sub("b")));
  EXPECT_EQ(Read(&fs_, dir_.Sub("c")), "C");
}

TEST_F(FaultInjectionFileSystemTest, UnsyncedLinkVanishes) {
  Write(&fs_, dir_.Sub("segment"), "data", /*sync=*/true);
  ASSERT_OK(fs_.SyncDir(dir_.path()));
  ASSERT_OK(fs_.LinkFile(dir_.Sub("segment"), dir_.Sub("linked")));
  ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_FALSE(fs_.FileExists(dir_.Sub("linked")));
  EXPECT_EQ(Read(&fs_, dir_.Sub("segment")), "data");
}

TEST_F(FaultInjectionFileSystemTest, FlipByteCorruptsOneByte) {
  Write(&fs_, dir_.Sub("seg"), "abcd", /*sync=*/true);
  ASSERT_OK(fs_.FlipByte(dir_.Sub("seg"), 2, 0x20));
  EXPECT_EQ(Read(&fs_, dir_.Sub("seg")), "abCd");
  EXPECT_THAT(fs_.FlipByte(dir_.Sub("seg"), 4), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_F(FaultInjectionFileSystemTest, ConcurrentWritersAreCounted) {
  constexpr int kAppends = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      auto file = fs_.NewWritableFile(dir_.Sub("f" + std::to_string(t)));
      ASSERT_OK(file);
      for (int i = 0; i < kAppends; ++i) ASSERT_OK((*file)->Append("xy"));
      ASSERT_OK((*file)->Sync());
    });
  }
  for (auto& t : threads) t.join();
  const FaultInjectionFileSystem::Counters c = fs_.counters();
  EXPECT_EQ(c.appends, 2u * kAppends);
  EXPECT_EQ(c.bytes_appended, 4u * kAppends);
  EXPECT_EQ(c.syncs, 2u);
  EXPECT_EQ(c.files_created, 2u);
}

}  // namespace
}  // namespace burnrate
