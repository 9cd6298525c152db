// The engine under injected file-system faults: failed writes and fsyncs, a full disk, and
// crashes that drop unsynced data. Nothing acknowledged may be lost, no batch may be half
// visible, and the directory must always reopen.
#include <map>
#include <random>
#include <set>

#include "burnrate/db.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"
#include "tests/testing/fault_injection_file_system.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::FaultInjectionFileSystem;
using ::burnrate::testing::FileOp;
using ::burnrate::testing::StatusIs;
using ::burnrate::testing::TempDir;

constexpr TimestampNs kT0 = 1'793'491'200'000'000'000LL;
constexpr int64_t kMinute = 60'000'000'000LL;
constexpr int kPoints = 10;

void FillBatch(int k, WriteBatch* b) {
  for (int j = 0; j < kPoints; ++j) {
    std::vector<Tag> tags = {{"run_id", "r" + std::to_string(k % 5)}};
    // Spread over several days so flushes write several partitions.
    b->AddPoint(b->AddSeries("cost", tags), kT0 + (k * kPoints + j) * 37 * kMinute);
    b->AddMoney("cost", Money::FromUnits(k * 1000 + j));
    b->AddInteger("batch", k);
  }
}

// batch id -> points visible
std::map<int64_t, int> Visible(Db* db) {
  std::map<int64_t, int> seen;
  ScanRequest r;
  r.database = "db";
  r.measurement = "cost";
  r.fields = {"cost", "batch"};
  EXPECT_OK(db->Scan(r, [&](const ScanBatch& b) {
    for (size_t i = 0; i < b.rows(); ++i) {
      const int64_t k = b.columns[1].ints[i];
      const int64_t j = (b.times[i] - kT0) / (37 * kMinute) - k * kPoints;
      EXPECT_EQ(b.columns[0].ints[i], k * 1000 + j) << "batch " << k;
      ++seen[k];
    }
    return absl::OkStatus();
  }));
  return seen;
}

class FaultTest : public ::testing::Test {
 protected:
  Options Opts() {
    Options o;
    o.file_system = &fs_;
    o.background_work = false;
    o.memtable_bytes = 16 << 10;
    o.info_log = [](std::string_view) {};
    return o;
  }

  void Open() {
    auto db = Db::Open(dir_.path(), Opts());
    ASSERT_OK(db);
    db_ = std::move(*db);
    auto s = db_->CreateDatabase("db", DatabaseOptions{});
    ASSERT_TRUE(s.ok() || absl::IsAlreadyExists(s)) << s;
  }

  // A machine crash: the disk freezes, the process dies, unsynced data is gone.
  void CrashAndReopen() {
    fs_.FailAllWrites(absl::UnavailableError("crashed"));
    db_.reset();
    ASSERT_OK(fs_.DropUnsyncedData());
    fs_.ClearFaults();
    Open();
  }

  void CheckAcknowledged() {
    auto seen = Visible(db_.get());
    for (int k : acked_) EXPECT_EQ(seen[k], kPoints) << "acknowledged batch " << k << " lost";
    for (auto [k, n] : seen) EXPECT_EQ(n, kPoints) << "batch " << k << " partially visible";
  }

  absl::Status WriteBatchNumber(int k) {
    WriteBatch b("db");
    FillBatch(k, &b);
    absl::Status s = db_->Write(WriteOptions{}, b);
    if (s.ok()) acked_.insert(k);
    return s;
  }

  TempDir dir_;
  FaultInjectionFileSystem fs_;
  std::unique_ptr<Db> db_;
  std::set<int> acked_;
};

TEST_F(FaultTest, FailedWalSyncFailsOnlyThatWrite) {
  Open();
  for (int k = 0; k < 10; ++k) ASSERT_OK(WriteBatchNumber(k));
  fs_.FailNthSync(1, absl::InternalError("injected EIO"));
  EXPECT_THAT(WriteBatchNumber(10), StatusIs(absl::StatusCode::kInternal));
  for (int k = 11; k < 20; ++k) ASSERT_OK(WriteBatchNumber(k));
  CheckAcknowledged();
  CrashAndReopen();
  CheckAcknowledged();
}

TEST_F(FaultTest, TornWalAppendIsTruncatedOnRecovery) {
  Open();
  for (int k = 0; k < 5; ++k) ASSERT_OK(WriteBatchNumber(k));
  fs_.FailNthAppend(1, absl::ResourceExhaustedError("injected ENOSPC"), /*written_prefix=*/7);
  EXPECT_THAT(WriteBatchNumber(5), StatusIs(absl::StatusCode::kResourceExhausted));
  for (int k = 6; k < 12; ++k) ASSERT_OK(WriteBatchNumber(k));
  CrashAndReopen();
  CheckAcknowledged();
  EXPECT_TRUE(db_->recovery_report().dropped.empty());
}

TEST_F(FaultTest, DiskFullDuringFlushKeepsEverythingReadable) {
  Open();
  for (int k = 0; k < 5; ++k) ASSERT_OK(WriteBatchNumber(k));
  fs_.FailAllWrites();
  EXPECT_THAT(db_->Flush(), StatusIs(absl::StatusCode::kResourceExhausted));
  CheckAcknowledged();
  fs_.ClearFaults();
  ASSERT_OK(db_->Flush());
  for (int k = 5; k < 8; ++k) ASSERT_OK(WriteBatchNumber(k));
  CrashAndReopen();
  CheckAcknowledged();
}

// Fails the Nth call of each kind of operation, for many N, under a workload of writes and
// flushes, then crashes: every acknowledged batch must be there, whole.
TEST_F(FaultTest, EveryInjectedFailureKeepsAcknowledgedWrites) {
  const FileOp ops[] = {FileOp::kAppend, FileOp::kSync,    FileOp::kCreate,
                        FileOp::kRename, FileOp::kSyncDir, FileOp::kTruncate};
  int case_number = 0;
  for (FileOp op : ops) {
    for (int n = 1; n <= 12; ++n, ++case_number) {
      SCOPED_TRACE(::testing::Message() << "op " << static_cast<int>(op) << " n " << n);
      TempDir dir;
      FaultInjectionFileSystem fs;
      acked_.clear();
      Options o = Opts();
      o.file_system = &fs;
      {
        auto db = Db::Open(dir.path(), o);
        ASSERT_OK(db);
        db_ = std::move(*db);
      }
      ASSERT_OK(db_->CreateDatabase("db", DatabaseOptions{}));
      fs.FailNth(op, n, absl::InternalError("injected"));
      int errors = 0;
      for (int k = 0; k < 40; ++k) {
        if (!WriteBatchNumber(k).ok()) ++errors;
        if (k % 9 == 8 && !db_->Flush().ok()) ++errors;
      }
      EXPECT_LE(errors, 2);
      fs.FailAllWrites(absl::UnavailableError("crashed"));
      db_.reset();
      ASSERT_OK(fs.DropUnsyncedData());
      fs.ClearFaults();
      auto db = Db::Open(dir.path(), o);
      ASSERT_OK(db);
      db_ = std::move(*db);
      CheckAcknowledged();
      EXPECT_GE(acked_.size(), 38u);
      db_.reset();
    }
  }
  EXPECT_EQ(case_number, 72);
}

}  // namespace
}  // namespace burnrate
