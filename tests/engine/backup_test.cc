// Online backup, restore and verify through the public API: consistency while writers
// run, incremental backups, damage to every kind of backed-up file, damaged WAL files, and
// file-system faults while backing up.
#include "burnrate/backup.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "burnrate/db.h"
#include "engine/backup.h"
#include "gtest/gtest.h"
#include "tests/crash/crash_workload.h"
#include "tests/engine/engine_test_util.h"
#include "tests/testing/copy_only_file_system.h"
#include "tests/testing/fault_injection_file_system.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::CellKey;
using ::burnrate::testing::CopyOnlyFileSystem;
using ::burnrate::testing::FaultInjectionFileSystem;
using ::burnrate::testing::FileOp;
using ::burnrate::testing::ScanAll;
using ::burnrate::testing::StatusIs;
using ::burnrate::testing::TempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Cells = std::map<CellKey, std::string>;

Options TestOptions(FileSystem* fs = nullptr) {
  Options o;
  o.background_work = false;
  o.file_system = fs;
  o.info_log = [](std::string_view) {};
  return o;
}

std::unique_ptr<Db> OpenDb(const std::string& path, const Options& o) {
  auto db = Db::Open(path, o);
  EXPECT_OK(db);
  return db.ok() ? std::move(*db) : nullptr;
}

// Database "db" with one-hour partitions: 100 batches of the workload span four of them, so
// a flush writes several segment files.
void CreateHourlyDb(Db* db) {
  DatabaseOptions o;
  o.partition_duration_ns = 3600LL * 1'000'000'000;
  ASSERT_OK(db->CreateDatabase("db", o));
}

void WriteBatches(Db* db, int64_t from, int64_t to) {
  for (int64_t k = from; k < to; ++k) {
    WriteBatch b("db");
    crash::FillBatch(k, &b);
    ASSERT_OK(db->Write(WriteOptions{}, b));
  }
}

Cells CellsOf(Db* db, const std::string& database = "db") {
  ScanRequest r;
  r.database = database;
  r.measurement = "cost";
  auto cells = ScanAll(db, r);
  EXPECT_OK(cells);
  return cells.ok() ? *cells : Cells{};
}

// Batch id -> points found; *exact is cleared when a value is not the one written.
std::map<int64_t, int> BatchPoints(Db* db, bool* exact) {
  std::map<int64_t, int> seen;
  ScanRequest r;
  r.database = "db";
  r.measurement = "cost";
  r.fields = {"cost", "batch"};
  EXPECT_OK(db->Scan(r, [&](const ScanBatch& b) {
    for (size_t i = 0; i < b.rows(); ++i) {
      const int64_t k = b.columns[1].ints[i];
      const int64_t j = (b.times[i] - crash::kBaseTime) / crash::kStep - k * crash::kPointsPerBatch;
      if (j < 0 || j >= crash::kPointsPerBatch ||
          Money::FromUnits(b.columns[0].ints[i]).ToString() !=
              Money::Parse(crash::CostText(k, static_cast<int>(j)))->ToString()) {
        *exact = false;
      }
      ++seen[k];
    }
    return absl::OkStatus();
  }));
  return seen;
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  if (FileSystem::Default()->FileExists(dir)) {
    EXPECT_OK(FileSystem::Default()->ListDir(dir, &names));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string FirstWithPrefix(const std::string& dir, std::string_view prefix) {
  for (const std::string& n : Names(dir)) {
    if (n.starts_with(prefix)) return dir + "/" + n;
  }
  ADD_FAILURE() << "no " << prefix << "* in " << dir;
  return "";
}

uint64_t FileSize(const std::string& path) {
  auto size = FileSystem::Default()->GetFileSize(path);
  EXPECT_OK(size);
  return size.ok() ? *size : 0;
}

BackupManifest ReadBackupManifestOf(const std::string& dir) {
  std::string contents;
  EXPECT_OK(FileSystem::Default()->ReadFileToString(dir + "/BACKUP-MANIFEST", &contents));
  auto m = DecodeBackupManifest(dir + "/BACKUP-MANIFEST", contents);
  EXPECT_OK(m);
  return m.ok() ? *m : BackupManifest{};
}

// Restores backup into target and returns what a scan of the restored database shows.
Cells RestoreAndScan(const std::string& backup, const std::string& target) {
  auto restored = RestoreBackup(backup, target, RestoreOptions{});
  EXPECT_OK(restored);
  if (!restored.ok()) return {};
  std::unique_ptr<Db> db = OpenDb(target, TestOptions());
  return db ? CellsOf(db.get()) : Cells{};
}

TEST(BackupTest, BackupWhileTwoWritersRunHoldsExactlyAConsistentPrefix) {
  TempDir dir;
  Options o = TestOptions();
  o.background_work = true;
  o.memtable_bytes = 32 << 10;  // flushes run while the backups do
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), o);
  ASSERT_NE(db, nullptr);
  ASSERT_OK(db->CreateDatabase("db", DatabaseOptions{}));

  // Writer w writes batches w, w + 2, w + 4, ... in order, so every batch of its sequence up
  // to acked[w] has been acknowledged.
  constexpr int kWriters = 2;
  std::atomic<int64_t> acked[kWriters];
  for (auto& a : acked) a = -1;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int64_t k = w; !stop; k += kWriters) {
        WriteBatch b("db");
        crash::FillBatch(k, &b);
        absl::Status s = db->Write(WriteOptions{}, b);
        if (!s.ok()) {
          ADD_FAILURE() << "writer " << w << ": " << s;
          return;
        }
        acked[w] = k;
      }
    });
  }

  struct Taken {
    std::string dir;
    int64_t acked[kWriters];
  };
  std::vector<Taken> taken;
  for (int i = 0; i < 4; ++i) {
    // Let every writer acknowledge some more batches first.
    for (int w = 0; w < kWriters; ++w) {
      const int64_t want = acked[w] + 40 * kWriters;
      while (acked[w] < want && !::testing::Test::HasFailure()) std::this_thread::yield();
    }
    Taken t;
    t.dir = dir.Sub("backup" + std::to_string(i));
    for (int w = 0; w < kWriters; ++w) t.acked[w] = acked[w];
    auto report = db->Backup(t.dir, BackupOptions{});
    ASSERT_OK(report);
    EXPECT_GT(report->bytes_total, 0u);
    taken.push_back(t);
  }
  stop = true;
  for (std::thread& t : writers) t.join();
  ASSERT_OK(db->Close());

  for (size_t i = 0; i < taken.size(); ++i) {
    const std::string target = dir.Sub("restored" + std::to_string(i));
    ASSERT_OK(RestoreBackup(taken[i].dir, target, RestoreOptions{}));
    std::unique_ptr<Db> restored = OpenDb(target, TestOptions());
    ASSERT_NE(restored, nullptr);
    bool exact = true;
    const std::map<int64_t, int> seen = BatchPoints(restored.get(), &exact);
    EXPECT_TRUE(exact) << "backup " << i;
    for (const auto& [k, points] : seen) {
      EXPECT_EQ(points, crash::kPointsPerBatch)
          << "backup " << i << ": batch " << k << " is partial";
    }
    for (int w = 0; w < kWriters; ++w) {
      // Everything acknowledged before the call, and per writer a prefix of its sequence.
      int64_t last = -1;
      for (const auto& [k, points] : seen) {
        if (k % kWriters == w) last = k;
      }
      EXPECT_GE(last, taken[i].acked[w]) << "backup " << i << " lost acknowledged batches";
      for (int64_t k = w; k <= last; k += kWriters) {
        EXPECT_TRUE(seen.contains(k))
            << "backup " << i << ": batch " << k << " missing before " << last;
      }
    }
  }
}

TEST(BackupTest, RestoreShowsTheDataAScanSawAtBackupTime) {
  TempDir dir;
  Options o = TestOptions();
  o.memtable_bytes = 16 << 10;  // some batches in segments, the last ones in the memtable
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), o);
  ASSERT_OK(db->CreateDatabase("db", DatabaseOptions{}));
  ASSERT_OK(db->CreateDatabase("other", DatabaseOptions{}));
  WriteBatches(db.get(), 0, 200);
  const Cells before = CellsOf(db.get());
  ASSERT_EQ(before.size(), 200u * crash::kPointsPerBatch * 2);
  ASSERT_GT(db->GetStats().segment_files, 0u);
  ASSERT_GT(db->GetStats().memtable_points, 0u);

  ASSERT_OK(db->Backup(dir.Sub("backup"), BackupOptions{}));

  // Changes after the backup: new batches and a corrected value of an old one.
  WriteBatches(db.get(), 200, 260);
  WriteBatch fix("db");
  std::vector<Tag> tags = {{"run_id", "TrainFlow/0"}, {"resource", "i-1"}};
  fix.AddPoint(fix.AddSeries("cost", tags), crash::PointTime(0, 0));
  fix.AddDecimal("cost", "999.5");
  fix.AddInteger("batch", 0);
  ASSERT_OK(db->Write(WriteOptions{}, fix));
  ASSERT_NE(CellsOf(db.get()), before);

  EXPECT_EQ(RestoreAndScan(dir.Sub("backup"), dir.Sub("restored")), before);
  std::unique_ptr<Db> restored = OpenDb(dir.Sub("restored"), TestOptions());
  ASSERT_NE(restored, nullptr);
  auto databases = restored->ListDatabases();
  ASSERT_OK(databases);
  ASSERT_EQ(databases->size(), 2u);
  EXPECT_EQ((*databases)[0].name, "db");
  EXPECT_EQ((*databases)[1].name, "other");
}

TEST(BackupTest, RestoreKeepsSourcesAndDeletes) {
  TempDir dir;
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions());
  CreateHourlyDb(db.get());
  WriteBatches(db.get(), 0, 50);
  // Batches 100..109 as the source "bill"; then delete the first hour of ordinary batches.
  WriteBatch bill("db");
  bill.set_source("bill");
  for (int64_t k = 100; k < 110; ++k) crash::FillBatch(k, &bill);
  ASSERT_OK(db->Write(WriteOptions{}, bill));
  DeleteRequest del;
  del.database = "db";
  del.max_time = crash::kBaseTime + 3600LL * 1'000'000'000 - 1;
  ASSERT_OK(db->Delete(del));
  ASSERT_OK(db->Flush());
  const Cells cells = CellsOf(db.get());
  auto sources = db->ListSources("db");
  ASSERT_OK(sources);
  ASSERT_EQ(sources->size(), 1u);
  ASSERT_OK(db->Backup(dir.Sub("backup"), BackupOptions{}));

  EXPECT_EQ(RestoreAndScan(dir.Sub("backup"), dir.Sub("restored")), cells);
  std::unique_ptr<Db> restored = OpenDb(dir.Sub("restored"), TestOptions());
  ASSERT_NE(restored, nullptr);
  auto restored_sources = restored->ListSources("db");
  ASSERT_OK(restored_sources);
  ASSERT_EQ(restored_sources->size(), 1u);
  EXPECT_EQ((*restored_sources)[0].key, "bill");
  EXPECT_EQ((*restored_sources)[0].points, (*sources)[0].points);
  // The source still replaces as a whole: a new version with one batch leaves one batch.
  WriteBatch again("db");
  again.set_source("bill");
  crash::FillBatch(100, &again);
  ASSERT_OK(restored->Write(WriteOptions{}, again));
  bool exact = true;
  const std::map<int64_t, int> seen = BatchPoints(restored.get(), &exact);
  EXPECT_TRUE(seen.contains(100));
  EXPECT_FALSE(seen.contains(101));
}

TEST(BackupTest, SegmentsACompactionRetiresDuringABackupStayUntilItEnds) {
  TempDir dir;
  CopyOnlyFileSystem copy_only;  // the backup reads every segment by its path
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions(&copy_only));
  CreateHourlyDb(db.get());
  WriteBatches(db.get(), 0, 100);
  ASSERT_OK(db->Flush());
  const Cells cells = CellsOf(db.get());
  const std::vector<std::string> pinned = Names(dir.Sub("data") + "/segments");

  // Once the backup has pinned its segments, the same points are written again (the data
  // does not change) and every partition is compacted, retiring the pinned files.
  bool compacted = false;
  BackupOptions options;
  options.progress = [&](uint64_t, uint64_t) {
    if (compacted) return;
    compacted = true;
    WriteBatches(db.get(), 0, 100);
    EXPECT_OK(db->Flush());
    EXPECT_OK(db->CompactAll());
  };
  auto report = db->Backup(dir.Sub("backup"), options);
  ASSERT_OK(report);
  ASSERT_TRUE(compacted);
  const std::vector<std::string> now = Names(dir.Sub("data") + "/segments");
  ASSERT_TRUE(std::none_of(pinned.begin(), pinned.end(), [&](const std::string& n) {
    return std::find(now.begin(), now.end(), n) != now.end();
  })) << "the compaction retired no pinned segment";
  EXPECT_EQ(report->files_copied, pinned.size() + 2);
  EXPECT_EQ(RestoreAndScan(dir.Sub("backup"), dir.Sub("restored")), cells);

  // The next backup into the same target holds the compacted files and drops the others.
  ASSERT_OK(db->Backup(dir.Sub("backup"), BackupOptions{}));
  EXPECT_EQ(Names(dir.Sub("backup") + "/segments"), now);
  EXPECT_EQ(RestoreAndScan(dir.Sub("backup"), dir.Sub("restored2")), cells);
}

TEST(BackupTest, BackupDirectoryOpensAsADataDirectory) {
  TempDir dir;
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions());
  ASSERT_OK(db->CreateDatabase("db", DatabaseOptions{}));
  WriteBatches(db.get(), 0, 30);
  const Cells cells = CellsOf(db.get());
  ASSERT_OK(db->Backup(dir.Sub("backup"), BackupOptions{}));
  std::unique_ptr<Db> opened = OpenDb(dir.Sub("backup"), TestOptions());
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(CellsOf(opened.get()), cells);
}

TEST(BackupTest, SegmentsAreHardLinkedOnOneFileSystem) {
  TempDir dir;
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions());
  CreateHourlyDb(db.get());
  WriteBatches(db.get(), 0, 100);
  ASSERT_OK(db->Flush());
  const DbStats stats = db->GetStats();
  ASSERT_GT(stats.segment_files, 1u);

  uint64_t last_done = 0, last_total = 0;
  bool monotonic = true;
  BackupOptions options;
  options.progress = [&](uint64_t done, uint64_t total) {
    monotonic &= done >= last_done && done <= total;
    last_done = done;
    last_total = total;
  };
  auto report = db->Backup(dir.Sub("backup"), options);
  ASSERT_OK(report);
  EXPECT_EQ(report->files_linked, stats.segment_files);
  EXPECT_EQ(report->files_copied, 2u);  // the catalog and the manifest, from memory
  EXPECT_EQ(report->files_skipped, 0u);
  const BackupManifest m = ReadBackupManifestOf(dir.Sub("backup"));
  uint64_t listed = 0;
  for (const BackupFileEntry& e : m.files) listed += e.size;
  EXPECT_EQ(report->bytes_total, listed);
  EXPECT_EQ(report->bytes_copied, listed - stats.segment_bytes);
  EXPECT_EQ(m.files.size(), stats.segment_files + 2);
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(last_done, report->bytes_total);
  EXPECT_EQ(last_total, report->bytes_total);

  auto verified = VerifyDirectory(dir.Sub("backup"), VerifyOptions{});
  ASSERT_OK(verified);
  EXPECT_TRUE(verified->is_backup);
  EXPECT_THAT(verified->problems, IsEmpty());
}

TEST(BackupTest, IncrementalBackupCopiesOnlyNewFilesAndDeletesUnneededOnes) {
  TempDir dir;
  CopyOnlyFileSystem copy_only;
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions(&copy_only));
  CreateHourlyDb(db.get());
  ASSERT_OK(db->CreateDatabase("db2", DatabaseOptions{}));
  WriteBatches(db.get(), 0, 100);
  WriteBatch b2("db2");
  crash::FillBatch(0, &b2);
  ASSERT_OK(db->Write(WriteOptions{}, b2));
  ASSERT_OK(db->Flush());
  const std::string target = dir.Sub("backup");
  const uint64_t segments1 = db->GetStats().segment_files;

  auto first = db->Backup(target, BackupOptions{});
  ASSERT_OK(first);
  EXPECT_EQ(first->files_copied, segments1 + 2);
  EXPECT_EQ(first->files_linked, 0u);
  EXPECT_EQ(first->files_skipped, 0u);
  EXPECT_EQ(first->bytes_copied, first->bytes_total);

  auto unchanged = db->Backup(target, BackupOptions{});
  ASSERT_OK(unchanged);
  EXPECT_EQ(unchanged->files_copied, 0u);
  EXPECT_EQ(unchanged->files_skipped, segments1 + 2);
  EXPECT_EQ(unchanged->bytes_copied, 0u);

  // New segments. Compared by name with the previous BACKUP-MANIFEST, only what it lacks
  // is copied.
  WriteBatches(db.get(), 100, 200);
  ASSERT_OK(db->Flush());
  std::set<std::string> before;
  for (const BackupFileEntry& e : ReadBackupManifestOf(target).files) before.insert(e.path);
  const std::string catalog_before = FirstWithPrefix(target, "CATALOG-");
  auto grown = db->Backup(target, BackupOptions{});
  ASSERT_OK(grown);
  const BackupManifest after = ReadBackupManifestOf(target);
  uint64_t fresh = 0;
  for (const BackupFileEntry& e : after.files) fresh += before.contains(e.path) ? 0 : 1;
  EXPECT_GT(fresh, 0u);
  EXPECT_EQ(grown->files_copied, fresh + 1);  // and the manifest
  EXPECT_EQ(grown->files_skipped, after.files.size() - fresh - 1);
  const uint64_t segments2 = db->GetStats().segment_files;

  // Dropping db2 retires its segments and the catalog: the backup deletes its copies.
  ASSERT_OK(db->DropDatabase("db2"));
  const uint64_t segments3 = db->GetStats().segment_files;
  ASSERT_LT(segments3, segments2);
  auto shrunk = db->Backup(target, BackupOptions{});
  ASSERT_OK(shrunk);
  EXPECT_EQ(shrunk->files_copied, 2u);
  EXPECT_EQ(shrunk->files_skipped, segments3);
  std::vector<std::string> listed;
  for (const BackupFileEntry& e : ReadBackupManifestOf(target).files) listed.push_back(e.path);
  std::vector<std::string> present;
  for (const std::string& n : Names(target)) {
    if (n != "segments" && n != "LOCK" && n != "BACKUP-MANIFEST") present.push_back(n);
  }
  for (const std::string& n : Names(target + "/segments")) present.push_back("segments/" + n);
  std::sort(present.begin(), present.end());
  EXPECT_EQ(present, listed);
  EXPECT_EQ(Names(target + "/segments"), Names(dir.Sub("data") + "/segments"));
  EXPECT_NE(FirstWithPrefix(target, "CATALOG-"), catalog_before);

  auto verified = VerifyDirectory(target, VerifyOptions{});
  ASSERT_OK(verified);
  EXPECT_THAT(verified->problems, IsEmpty());
  EXPECT_EQ(RestoreAndScan(target, dir.Sub("restored")), CellsOf(db.get()));
}

TEST(BackupTest, RestoreRefusesANonEmptyTarget) {
  TempDir dir;
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions());
  ASSERT_OK(db->CreateDatabase("db", DatabaseOptions{}));
  WriteBatches(db.get(), 0, 10);
  ASSERT_OK(db->Backup(dir.Sub("backup"), BackupOptions{}));

  const std::string target = dir.Sub("target");
  ASSERT_OK(FileSystem::Default()->CreateDirs(target));
  {
    auto f = FileSystem::Default()->NewWritableFile(target + "/keep.txt");
    ASSERT_OK(f);
    ASSERT_OK((*f)->Append("mine"));
    ASSERT_OK((*f)->Close());
  }
  EXPECT_THAT(RestoreBackup(dir.Sub("backup"), target, RestoreOptions{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not empty")));
  EXPECT_EQ(Names(target), std::vector<std::string>{"keep.txt"});

  // An existing empty directory is fine.
  ASSERT_OK(FileSystem::Default()->CreateDirs(dir.Sub("empty")));
  EXPECT_OK(RestoreBackup(dir.Sub("backup"), dir.Sub("empty"), RestoreOptions{}));
}

TEST(BackupTest, RestoreRefusesABackupWithoutBackupManifest) {
  TempDir dir;
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions());
  ASSERT_OK(db->CreateDatabase("db", DatabaseOptions{}));
  WriteBatches(db.get(), 0, 10);
  ASSERT_OK(db->Backup(dir.Sub("backup"), BackupOptions{}));
  ASSERT_OK(FileSystem::Default()->DeleteFile(dir.Sub("backup") + "/BACKUP-MANIFEST"));
  EXPECT_THAT(RestoreBackup(dir.Sub("backup"), dir.Sub("target"), RestoreOptions{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("BACKUP-MANIFEST")));
  EXPECT_FALSE(FileSystem::Default()->FileExists(dir.Sub("target")));
  EXPECT_THAT(RestoreBackup(dir.Sub("nothing"), dir.Sub("target"), RestoreOptions{}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(BackupTest, BackupRefusesTargetsHoldingOtherFiles) {
  TempDir dir;
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions());
  ASSERT_OK(db->CreateDatabase("db", DatabaseOptions{}));
  WriteBatches(db.get(), 0, 10);

  const std::string home = dir.Sub("home");
  ASSERT_OK(FileSystem::Default()->CreateDirs(home));
  {
    auto f = FileSystem::Default()->NewWritableFile(home + "/notes.txt");
    ASSERT_OK(f);
    ASSERT_OK((*f)->Close());
  }
  EXPECT_THAT(db->Backup(home, BackupOptions{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("notes.txt")));
  EXPECT_EQ(Names(home), std::vector<std::string>{"notes.txt"});

  EXPECT_THAT(db->Backup(dir.Sub("data"), BackupOptions{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("wal")));

  // A backup that was opened as a database since is no longer a backup target.
  ASSERT_OK(db->Backup(dir.Sub("backup"), BackupOptions{}));
  ASSERT_NE(OpenDb(dir.Sub("backup"), TestOptions()), nullptr);
  EXPECT_THAT(db->Backup(dir.Sub("backup"), BackupOptions{}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("wal")));
}

// A byte flipped in each kind of file of a backup, at several offsets: restore fails with
// kDataLoss naming the file and leaves no MANIFEST behind.
class BackupCorruptionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BackupCorruptionTest, FlippedByteFailsRestoreWithDataLossNamingTheFile) {
  TempDir dir;
  CopyOnlyFileSystem copy_only;  // so that damaging the backup leaves the source alone
  {
    std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions(&copy_only));
    CreateHourlyDb(db.get());
    WriteBatches(db.get(), 0, 60);
    ASSERT_OK(db->Backup(dir.Sub("backup"), BackupOptions{}));
  }
  const std::string backup = dir.Sub("backup");
  std::string file;
  if (GetParam() == "segment") {
    file = FirstWithPrefix(backup + "/segments", "");
  } else if (GetParam() == "catalog") {
    file = FirstWithPrefix(backup, "CATALOG-");
  } else {
    file = backup + "/" + GetParam();
  }
  const uint64_t size = FileSize(file);
  ASSERT_GT(size, 24u);
  int attempt = 0;
  for (uint64_t offset : {uint64_t{0}, uint64_t{9}, size / 2, size - 9, size - 1}) {
    SCOPED_TRACE(file + " offset " + std::to_string(offset));
    ASSERT_OK(testing::FlipByte(FileSystem::Default(), file, offset, 0x20));
    const std::string target = dir.Sub("restored" + std::to_string(attempt++));
    EXPECT_THAT(RestoreBackup(backup, target, RestoreOptions{}),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr(file)));
    EXPECT_FALSE(FileSystem::Default()->FileExists(target + "/MANIFEST"));
    EXPECT_THAT(Names(target), IsEmpty());

    auto verified = VerifyDirectory(backup, VerifyOptions{});
    ASSERT_OK(verified);
    ASSERT_FALSE(verified->problems.empty());
    EXPECT_THAT(verified->problems[0], HasSubstr(file));
    ASSERT_OK(testing::FlipByte(FileSystem::Default(), file, offset, 0x20));
  }
  EXPECT_OK(RestoreBackup(backup, dir.Sub("restored"), RestoreOptions{}));
}

INSTANTIATE_TEST_SUITE_P(EveryFileKind, BackupCorruptionTest,
                         ::testing::Values("segment", "catalog", "MANIFEST", "BACKUP-MANIFEST"));

TEST(BackupTest, RestoreChecksEverySegmentBlockNotOnlyTheListedChecksums) {
  TempDir dir;
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions());
  CreateHourlyDb(db.get());
  WriteBatches(db.get(), 0, 60);
  ASSERT_OK(db->Flush());
  // Damage a chunk of a live segment: its footer was read at flush, so the backup copies the
  // bad bytes and checksums them as they are.
  const std::string segment = FirstWithPrefix(dir.Sub("data") + "/segments", "");
  ASSERT_OK(testing::FlipByte(FileSystem::Default(), segment, 12));
  ASSERT_OK(db->Backup(dir.Sub("backup"), BackupOptions{}));

  const std::string name = segment.substr(segment.rfind('/') + 1);
  const std::string in_backup = dir.Sub("backup") + "/segments/" + name;
  EXPECT_THAT(
      RestoreBackup(dir.Sub("backup"), dir.Sub("target"), RestoreOptions{}),
      StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(in_backup), HasSubstr("offset"))));
  EXPECT_FALSE(FileSystem::Default()->FileExists(dir.Sub("target")));

  auto verified = VerifyDirectory(dir.Sub("data"), VerifyOptions{});
  ASSERT_OK(verified);
  ASSERT_EQ(verified->problems.size(), 1u);
  EXPECT_THAT(verified->problems[0], AllOf(HasSubstr(segment), HasSubstr("offset")));
}

TEST(BackupTest, VerifyReportsEachDamagedFileWithItsOffset) {
  TempDir dir;
  {
    std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions());
    CreateHourlyDb(db.get());
    WriteBatches(db.get(), 0, 100);
  }
  auto clean = VerifyDirectory(dir.Sub("data"), VerifyOptions{});
  ASSERT_OK(clean);
  EXPECT_FALSE(clean->is_backup);
  EXPECT_THAT(clean->problems, IsEmpty());
  const std::vector<std::string> segments = Names(dir.Sub("data") + "/segments");
  ASSERT_GE(segments.size(), 2u);
  EXPECT_GE(clean->files_checked, segments.size() + 2);
  EXPECT_GT(clean->bytes_checked, 0u);

  const std::string a = dir.Sub("data") + "/segments/" + segments[0];
  const std::string b = dir.Sub("data") + "/segments/" + segments[1];
  ASSERT_OK(testing::FlipByte(FileSystem::Default(), a, 10));
  ASSERT_OK(testing::FlipByte(FileSystem::Default(), b, FileSize(b) - 30));
  auto damaged = VerifyDirectory(dir.Sub("data"), VerifyOptions{});
  ASSERT_OK(damaged);
  ASSERT_EQ(damaged->problems.size(), 2u);
  EXPECT_THAT(damaged->problems[0], AllOf(HasSubstr(a), HasSubstr("offset")));
  EXPECT_THAT(damaged->problems[1], AllOf(HasSubstr(b), HasSubstr("offset")));
}

TEST(BackupTest, VerifyTellsATornWalTailFromACorruptRecord) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  Options o = TestOptions();
  std::unique_ptr<Db> db = OpenDb(data, o);
  ASSERT_OK(db->CreateDatabase("db", DatabaseOptions{}));
  WriteBatches(db.get(), 0, 5);  // in the WAL and the memtable only
  std::string wal;
  for (const std::string& n : Names(data + "/wal")) {
    if (FileSize(data + "/wal/" + n) > 16) wal = data + "/wal/" + n;
  }
  ASSERT_FALSE(wal.empty());

  // The directory is in use: verify only reads it.
  ASSERT_OK(FileSystem::Default()->Truncate(wal, FileSize(wal) - 5));
  auto torn = VerifyDirectory(data, VerifyOptions{});
  ASSERT_OK(torn);
  EXPECT_THAT(torn->problems, IsEmpty());
  ASSERT_EQ(torn->notes.size(), 1u);
  EXPECT_THAT(torn->notes[0], AllOf(HasSubstr(wal), HasSubstr("at offset"), HasSubstr("torn")));

  // A damaged payload byte of the first record (header 16 bytes, record header 12).
  ASSERT_OK(testing::FlipByte(FileSystem::Default(), wal, 16 + 12 + 3));
  auto corrupt = VerifyDirectory(data, VerifyOptions{});
  ASSERT_OK(corrupt);
  ASSERT_EQ(corrupt->problems.size(), 1u);
  EXPECT_THAT(corrupt->problems[0], HasSubstr(wal + " at offset 16"));
}

TEST(BackupTest, VerifyChecksABackupAgainstItsManifest) {
  TempDir dir;
  CopyOnlyFileSystem copy_only;
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions(&copy_only));
  CreateHourlyDb(db.get());
  WriteBatches(db.get(), 0, 100);
  const std::string backup = dir.Sub("backup");
  ASSERT_OK(db->Backup(backup, BackupOptions{}));
  const std::vector<std::string> segments = Names(backup + "/segments");
  ASSERT_GE(segments.size(), 2u);

  const std::string damaged = backup + "/segments/" + segments[0];
  ASSERT_OK(testing::FlipByte(FileSystem::Default(), damaged, FileSize(damaged) / 2));
  ASSERT_OK(FileSystem::Default()->DeleteFile(backup + "/segments/" + segments[1]));
  auto verified = VerifyDirectory(backup, VerifyOptions{});
  ASSERT_OK(verified);
  EXPECT_TRUE(verified->is_backup);
  ASSERT_GE(verified->problems.size(), 2u);
  std::string all;
  for (const std::string& p : verified->problems) all += p + "\n";
  EXPECT_THAT(all, HasSubstr(damaged + " at offset 0: checksum mismatch in bytes [0, "));
  EXPECT_THAT(all, HasSubstr("names segment"));
  EXPECT_THAT(all, HasSubstr("missing"));
}

TEST(BackupTest, FailedFileOperationFailsTheBackupAndALaterBackupSucceeds) {
  TempDir dir;
  FaultInjectionFileSystem faults;
  CopyOnlyFileSystem copy_only(&faults);  // copies append and sync through the faults
  std::unique_ptr<Db> db = OpenDb(dir.Sub("data"), TestOptions(&copy_only));
  ASSERT_OK(db->CreateDatabase("db", DatabaseOptions{}));
  WriteBatches(db.get(), 0, 60);
  ASSERT_OK(db->Flush());  // so that the backup's own flush has nothing to write
  const Cells cells = CellsOf(db.get());
  int attempt = 0;
  for (FileOp op : {FileOp::kCreateDirs, FileOp::kCreate, FileOp::kAppend, FileOp::kSync,
                    FileOp::kSyncDir, FileOp::kRename}) {
    int failures = 0;
    for (int n = 1;; ++n) {
      SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + " call " + std::to_string(n));
      // A fresh target each time, so that every file of a full backup meets the fault; the
      // retry goes into the same target, over what the failed attempt left.
      const std::string target = dir.Sub("backup" + std::to_string(++attempt));
      if (op == FileOp::kAppend) {
        faults.FailNthAppend(n, absl::InternalError("injected EIO"), /*written_prefix=*/7);
      } else {
        faults.FailNth(op, n, absl::InternalError("injected EIO"));
      }
      auto report = db->Backup(target, BackupOptions{});
      faults.ClearFaults();
      if (report.ok()) break;  // past the last such call before the commit
      ++failures;
      EXPECT_THAT(report, StatusIs(absl::StatusCode::kInternal, HasSubstr("injected")));
      ASSERT_OK(db->Backup(target, BackupOptions{}));
      auto verified = VerifyDirectory(target, VerifyOptions{});
      ASSERT_OK(verified);
      EXPECT_THAT(verified->problems, IsEmpty());
      EXPECT_EQ(RestoreAndScan(target, target + "-restored"), cells);
    }
    EXPECT_GT(failures, 0) << "op " << static_cast<int>(op);
  }

  // A failing hard link is an error too (only kUnimplemented means "copy instead").
  std::unique_ptr<Db> linking;
  db.reset();
  linking = OpenDb(dir.Sub("data"), TestOptions(&faults));
  faults.FailNth(FileOp::kLink, 1, absl::InternalError("injected link failure"));
  EXPECT_THAT(linking->Backup(dir.Sub("linked"), BackupOptions{}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("injected link failure")));
  faults.ClearFaults();
  ASSERT_OK(linking->Backup(dir.Sub("linked"), BackupOptions{}));
  EXPECT_EQ(RestoreAndScan(dir.Sub("linked"), dir.Sub("restored-linked")), cells);
}

}  // namespace
}  // namespace burnrate
