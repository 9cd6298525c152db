// Garbage collection of obsolete files and file numbering: a file a manifest names is
// never deleted, and no file number is used twice, whatever runs concurrently and across
// reopens.
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "burnrate/db.h"
#include "burnrate/file_system.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"
#include "tests/testing/fault_injection_file_system.h"
#include "tests/testing/hook_file_system.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::FaultInjectionFileSystem;
using ::burnrate::testing::FileOp;
using ::burnrate::testing::HookFileSystem;
using ::burnrate::testing::TempDir;

constexpr TimestampNs kT0 = 1'793'491'200'000'000'000LL;
constexpr int64_t kHour = 3'600'000'000'000LL;

Options Opts(FileSystem* fs = nullptr) {
  Options o;
  o.file_system = fs;
  o.background_work = false;
  o.info_log = [](std::string_view) {};
  return o;
}

void Put(Db* db, int k, std::string_view source = "") {
  WriteBatch b("db");
  if (!source.empty()) b.set_source(source);
  std::vector<Tag> tags = {{"run_id", "r" + std::to_string(k % 3)}};
  b.AddPoint(b.AddSeries(source.empty() ? "cost" : "billing", tags), kT0 + k * kHour);
  b.AddMoney("cost", Money::FromUnits(k));
  ASSERT_OK(db->Write(WriteOptions{}, b));
}

// Points of measurement "cost", by time.
std::set<TimestampNs> CostTimes(Db* db) {
  std::set<TimestampNs> times;
  ScanRequest r;
  r.database = "db";
  r.measurement = "cost";
  EXPECT_OK(db->Scan(r, [&](const ScanBatch& b) {
    times.insert(b.times.begin(), b.times.end());
    return absl::OkStatus();
  }));
  return times;
}

constexpr char kSource[] = "aws-cur:123:2026-11";
constexpr int kSourcePoints = 3;

// Version v of source kSource: kSourcePoints points of "billing", each worth v units.
absl::Status PutSource(Db* db, int v) {
  WriteBatch b("db");
  b.set_source(kSource);
  for (int j = 0; j < kSourcePoints; ++j) {
    std::vector<Tag> tags = {{"row", std::to_string(j)}};
    b.AddPoint(b.AddSeries("billing", tags), kT0 + j * kHour);
    b.AddMoney("cost", Money::FromUnits(v));
  }
  return db->Write(WriteOptions{}, b);
}

// Source version -> points of it visible.
std::map<int64_t, int> SourceVersions(Db* db) {
  std::map<int64_t, int> versions;
  ScanRequest r;
  r.database = "db";
  r.measurement = "billing";
  EXPECT_OK(db->Scan(r, [&](const ScanBatch& b) {
    for (size_t i = 0; i < b.rows(); ++i) ++versions[b.columns[0].ints[i]];
    return absl::OkStatus();
  }));
  return versions;
}

// Numbers of the files named "<digits><suffix>" in dir.
std::set<uint64_t> FileNumbers(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> names;
  EXPECT_OK(FileSystem::Default()->ListDir(dir, &names));
  std::set<uint64_t> out;
  for (const std::string& n : names) {
    if (n.size() > suffix.size() && n.ends_with(suffix)) {
      out.insert(std::stoull(n.substr(0, n.size() - suffix.size())));
    }
  }
  return out;
}

// A flush creates and opens its segment while another thread's garbage collection (here
// after DropSource) is between deciding what is live and listing the segment directory.
// The collection must not delete the new segment, which the flush's manifest then names.
TEST(FileGcTest, SegmentCreatedWhileCollectionRunsIsNotDeleted) {
  TempDir dir;
  const std::string segments_dir = dir.path() + "/segments";
  std::atomic<bool> armed{false};
  std::atomic<bool> opened_seen{false};
  absl::Notification gc_listing, segment_opened;
  HookFileSystem fs(
      /*before_list_dir=*/
      [&](const std::string& d) {
        if (d != segments_dir || !armed.exchange(false)) return;
        gc_listing.Notify();
        segment_opened.WaitForNotification();
      },
      /*after_open_for_read=*/
      [&](const std::string& path) {
        if (path.starts_with(segments_dir + "/") && gc_listing.HasBeenNotified() &&
            !opened_seen.exchange(true)) {
          segment_opened.Notify();
        }
      });
  {
    auto db = Db::Open(dir.path(), Opts(&fs));
    ASSERT_OK(db);
    ASSERT_OK((*db)->CreateDatabase("db", DatabaseOptions{}));
    Put(db->get(), 0, "aws-cur:123:2026-11");
    for (int k = 1; k <= 5; ++k) Put(db->get(), k);

    armed = true;
    absl::Status drop_status;
    std::thread gc([&] { drop_status = (*db)->DropSource("db", "aws-cur:123:2026-11"); });
    gc_listing.WaitForNotification();
    // Writes the memtable to a new segment; commits once DropSource's collection is done.
    EXPECT_OK((*db)->Flush());
    gc.join();
    EXPECT_OK(drop_status);
    EXPECT_EQ(CostTimes(db->get()).size(), 5u);
  }
  auto db = Db::Open(dir.path(), Opts());
  ASSERT_OK(db);
  EXPECT_EQ(CostTimes(db->get()).size(), 5u);
}

// Files no manifest names (what a crash in the middle of a flush, compaction or catalog
// write leaves) may carry numbers past the manifest's counter. A reopened database numbers
// its new files past them.
TEST(FileGcTest, ReopenNumbersNewFilesPastUnreferencedFiles) {
  TempDir dir;
  std::set<uint64_t> before;
  {
    auto db = Db::Open(dir.path(), Opts());
    ASSERT_OK(db);
    ASSERT_OK((*db)->CreateDatabase("db", DatabaseOptions{}));
    Put(db->get(), 1);
    ASSERT_OK((*db)->Flush());
    before = FileNumbers(dir.Sub("segments"), ".seg");
    ASSERT_FALSE(before.empty());
    ASSERT_LT(*before.rbegin(), 900u);
  }
  FileSystem* const fs = FileSystem::Default();
  for (const std::string name : {"segments/000900.seg", "CATALOG-000950"}) {
    auto f = fs->NewWritableFile(dir.Sub(name));
    ASSERT_OK(f);
    ASSERT_OK((*f)->Append("left behind by a crash"));
    ASSERT_OK((*f)->Close());
  }

  auto db = Db::Open(dir.path(), Opts());
  ASSERT_OK(db);
  // Garbage goes at open.
  EXPECT_FALSE(fs->FileExists(dir.Sub("segments/000900.seg")));
  EXPECT_FALSE(fs->FileExists(dir.Sub("CATALOG-000950")));
  Put(db->get(), 2);
  ASSERT_OK((*db)->Flush());
  for (uint64_t n : FileNumbers(dir.Sub("segments"), ".seg")) {
    if (!before.contains(n)) {
      EXPECT_GT(n, 950u) << "segment " << n;
    }
  }
  for (uint64_t n : FileNumbers(dir.Sub("wal"), ".log")) EXPECT_GT(n, 950u) << "WAL " << n;
  EXPECT_EQ(CostTimes(db->get()).size(), 2u);
}

// A manifest write that fails after its rename (the directory fsync fails) may still have
// reached the disk. Nothing that manifest names may be deleted then: without any crash, the
// directory reopens with the old or the new version of the source, whole. Fails each
// directory fsync of a source replacement in turn.
TEST(FileGcTest, FailedManifestSyncDeletesNoFileTheNewManifestNames) {
  for (int n = 1; n <= 4; ++n) {
    SCOPED_TRACE(::testing::Message() << "failing directory fsync " << n);
    TempDir dir;
    FaultInjectionFileSystem fs;
    {
      auto db = Db::Open(dir.path(), Opts(&fs));
      ASSERT_OK(db);
      ASSERT_OK((*db)->CreateDatabase("db", DatabaseOptions{}));
      ASSERT_OK(PutSource(db->get(), 1));
      fs.FailNth(FileOp::kSyncDir, n, absl::InternalError("injected EIO"));
      (void)PutSource(db->get(), 2);
      fs.ClearFaults();
      ASSERT_OK((*db)->Close());
    }
    auto db = Db::Open(dir.path(), Opts());
    ASSERT_OK(db);
    const auto versions = SourceVersions(db->get());
    ASSERT_EQ(versions.size(), 1u);
    EXPECT_EQ(versions.begin()->second, kSourcePoints);
  }
}

}  // namespace
}  // namespace burnrate
