// Engine semantics through the public API: compaction, replace-by-source, deletes,
// retention and rollups.
#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "burnrate/db.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::ScanAll;
using ::burnrate::testing::StatusIs;
using ::burnrate::testing::TempDir;

constexpr int64_t kMinute = 60'000'000'000LL;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr TimestampNs kT0 = 1'793'491'200'000'000'000LL;  // 2026-11-01T00:00:00Z

std::pair<int64_t, int64_t> Pair(int64_t a, int64_t b) { return {a, b}; }

class SemanticsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  Options Opts() {
    Options o;
    o.background_work = false;
    o.info_log = [](std::string_view) {};
    return o;
  }
  void Open(DatabaseOptions dbo = DatabaseOptions{}) {
    db_.reset();
    auto db = Db::Open(dir_.path(), Opts());
    ASSERT_OK(db);
    db_ = std::move(*db);
    auto s = db_->CreateDatabase("db", dbo);
    ASSERT_TRUE(s.ok() || absl::IsAlreadyExists(s)) << s;
  }
  void Put(int run, TimestampNs t, int64_t cost_units, std::string_view source = "") {
    WriteBatch b("db");
    if (!source.empty()) b.set_source(source);
    std::vector<Tag> tags = {{"run_id", "r" + std::to_string(run)}};
    b.AddPoint(b.AddSeries("cost", tags), t);
    b.AddMoney("cost", Money::FromUnits(cost_units));
    WriteOptions wo;
    wo.fsync = FsyncPolicy::kNone;  // durability is not under test here; speed is welcome
    ASSERT_OK(db_->Write(wo, b));
  }
  // Sum of cost units and row count over everything.
  std::pair<int64_t, int64_t> Totals(const std::string& measurement = "cost") {
    int64_t sum = 0, rows = 0;
    ScanRequest r;
    r.database = "db";
    r.measurement = measurement;
    r.fields = {"cost"};
    EXPECT_OK(db_->Scan(r, [&](const ScanBatch& b) {
      for (size_t i = 0; i < b.rows(); ++i) {
        if (b.columns[0].IsValid(i)) sum += b.columns[0].ints[i];
      }
      rows += b.rows();
      return absl::OkStatus();
    }));
    return {sum, rows};
  }

  TempDir dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(SemanticsTest, LastWriteWinsSurvivesCompaction) {
  for (int round = 0; round < 5; ++round) {
    for (int m = 0; m < 10; ++m) Put(1, kT0 + m * kMinute, round * 100 + m);
    ASSERT_OK(db_->Flush());
  }
  ASSERT_OK(db_->CompactAll());
  EXPECT_EQ(db_->GetStats().segment_files, 1u);
  EXPECT_EQ(Totals(), Pair(4 * 100 * 10 + 45, 10));
  Open();
  EXPECT_EQ(Totals(), Pair(4 * 100 * 10 + 45, 10));
}

TEST_F(SemanticsTest, LateWritesIntoCompactedPartitionsAreExact) {
  for (int m = 0; m < 100; ++m) Put(1, kT0 + m * kMinute, 1);
  ASSERT_OK(db_->CompactAll());
  Put(1, kT0 + 5 * kMinute, 1000);     // overwrite, late
  Put(1, kT0 + 100 * kMinute + 1, 7);  // new point, late
  Put(1, kT0 - 3 * kDay, 9);           // an even older partition
  EXPECT_EQ(Totals(), Pair(99 + 1000 + 7 + 9, 102));
  ASSERT_OK(db_->CompactAll());
  EXPECT_EQ(Totals(), Pair(99 + 1000 + 7 + 9, 102));
}

TEST_F(SemanticsTest, TrickleOfSmallFlushesKeepsFileCountBounded) {
  // Times near now: a partition that is still being written (not yet "cold").
  const TimestampNs now = absl::GetCurrentTimeNanos();
  const TimestampNs base = now - now % kDay + kHour;
  for (int i = 0; i < 120; ++i) {
    Put(i % 7, base + i * kMinute, i);
    ASSERT_OK(db_->Flush());
    ASSERT_LE(db_->GetStats().max_files_per_partition, 13u) << "after flush " << i;
  }
  const DbStats stats = db_->GetStats();
  EXPECT_GT(stats.compactions, 10u);
  EXPECT_GT(stats.write_amplification, 1.0);
  EXPECT_LT(stats.write_amplification, 12.0);
  EXPECT_EQ(Totals().second, 120);
}

TEST_F(SemanticsTest, SourceImportReplacesThePreviousVersionWhole) {
  for (int m = 0; m < 50; ++m) Put(1, kT0 + m * kMinute, 5);  // ordinary data, kept
  WriteBatch v1("db");
  v1.set_source("aws-cur:123:2026-11");
  for (int m = 0; m < 30; ++m) {
    std::vector<Tag> tags = {{"account", "123"}};
    v1.AddPoint(v1.AddSeries("billing", tags), kT0 + m * kHour);
    v1.AddMoney("cost", Money::FromUnits(10));
  }
  ASSERT_OK(db_->Write(WriteOptions{}, v1));
  EXPECT_EQ(Totals("billing"), Pair(300, 30));

  WriteBatch v2("db");
  v2.set_source("aws-cur:123:2026-11");
  for (int m = 10; m < 20; ++m) {
    std::vector<Tag> tags = {{"account", "123"}};
    v2.AddPoint(v2.AddSeries("billing", tags), kT0 + m * kHour);
    v2.AddMoney("cost", Money::FromUnits(20));
  }
  ASSERT_OK(db_->Write(WriteOptions{}, v2));
  EXPECT_EQ(Totals("billing"), Pair(200, 10));
  EXPECT_EQ(Totals("cost"), Pair(250, 50));

  auto sources = db_->ListSources("db");
  ASSERT_OK(sources);
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ((*sources)[0].key, "aws-cur:123:2026-11");
  EXPECT_EQ((*sources)[0].points, 10u);
  EXPECT_EQ((*sources)[0].min_time, kT0 + 10 * kHour);
  EXPECT_EQ((*sources)[0].max_time, kT0 + 19 * kHour);
  EXPECT_GT((*sources)[0].written_at, 0);

  Open();
  EXPECT_EQ(Totals("billing"), Pair(200, 10));
  ASSERT_OK(db_->DropSource("db", "aws-cur:123:2026-11"));
  EXPECT_THAT(db_->DropSource("db", "aws-cur:123:2026-11"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Totals("billing").second, 0);
  Open();
  EXPECT_EQ(Totals("billing").second, 0);
  EXPECT_TRUE(db_->ListSources("")->empty());
}

TEST_F(SemanticsTest, StreamingSourceImportSpillsAndCommitsAtomically) {
  Options o = Opts();
  o.memtable_bytes = 8 << 10;  // force many spills
  db_.reset();
  auto reopened = Db::Open(dir_.path(), o);
  ASSERT_OK(reopened);
  db_ = std::move(*reopened);
  auto fill = [&](SourceImport* import, int64_t value, int batches) {
    for (int k = 0; k < batches; ++k) {
      WriteBatch b("db");
      for (int m = 0; m < 100; ++m) {
        std::vector<Tag> tags = {{"line", std::to_string(m % 4)}};
        b.AddPoint(b.AddSeries("billing", tags), kT0 + (k * 100 + m) * kMinute);
        b.AddMoney("cost", Money::FromUnits(value));
      }
      ASSERT_OK(import->Add(b));
    }
  };
  {
    auto import = db_->BeginSourceImport("db", "k");
    ASSERT_OK(import);
    fill(import->get(), 1, 20);
    EXPECT_EQ(Totals("billing").second, 0);  // nothing visible before Commit
    ASSERT_OK((*import)->Commit());
    EXPECT_THAT((*import)->Commit(), StatusIs(absl::StatusCode::kFailedPrecondition));
  }
  EXPECT_EQ(Totals("billing"), Pair(2000, 2000));
  {
    // Abandoned: the old version stays, the spilled files go.
    auto import = db_->BeginSourceImport("db", "k");
    ASSERT_OK(import);
    fill(import->get(), 5, 10);
    WriteBatch wrong("db");
    wrong.set_source("other");
    EXPECT_THAT((*import)->Add(wrong), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_EQ(Totals("billing"), Pair(2000, 2000));
  Open();
  EXPECT_EQ(Totals("billing"), Pair(2000, 2000));
  EXPECT_EQ((*db_->ListSources("db"))[0].points, 2000u);
}

TEST_F(SemanticsTest, ReadersSeeWholeSourceVersionsOnly) {
  constexpr int kPoints = 200;
  auto version = [&](int v) {
    WriteBatch b("db");
    b.set_source("src");
    for (int m = 0; m < kPoints + v % 3; ++m) {
      std::vector<Tag> tags = {{"run_id", "r" + std::to_string(m % 5)}};
      b.AddPoint(b.AddSeries("billing", tags), kT0 + m * kMinute);
      b.AddMoney("cost", Money::FromUnits(v));
    }
    return b;
  };
  ASSERT_OK(db_->Write(WriteOptions{}, version(1)));
  std::atomic<bool> stop{false};
  std::atomic<int> scans{0};
  std::thread reader([&] {
    while (!stop) {
      std::set<int64_t> values;
      int64_t rows = 0;
      ScanRequest r;
      r.database = "db";
      r.measurement = "billing";
      EXPECT_OK(db_->Scan(r, [&](const ScanBatch& b) {
        for (size_t i = 0; i < b.rows(); ++i) values.insert(b.columns[0].ints[i]);
        rows += b.rows();
        return absl::OkStatus();
      }));
      ASSERT_EQ(values.size(), 1u) << "a scan saw two versions";
      EXPECT_EQ(rows, kPoints + *values.begin() % 3);
      ++scans;
    }
  });
  for (int v = 2; v < 40; ++v) ASSERT_OK(db_->Write(WriteOptions{}, version(v)));
  stop = true;
  reader.join();
  EXPECT_GT(scans.load(), 0);
}

TEST_F(SemanticsTest, DeletedPointsNeverReappear) {
  for (int run = 0; run < 4; ++run) {
    for (int m = 0; m < 3 * 24 * 6; ++m) Put(run, kT0 + m * 10 * kMinute, 1);
    ASSERT_OK(db_->Flush());
  }
  Put(2, kT0 + 5, 1);  // still in the memtable at the delete
  DeleteRequest d;
  d.database = "db";
  d.measurement = "cost";
  d.min_time = kT0 + kDay;
  d.max_time = kT0 + 2 * kDay - 1;
  d.tag_matchers = {{"run_id", TagMatcher::Op::kRegexMatch, "^r[12]$"}};
  ASSERT_OK(db_->Delete(d));
  const int64_t want = 4 * 432 + 1 - 2 * 144;
  EXPECT_EQ(Totals().second, want);
  ASSERT_OK(db_->CompactAll());
  EXPECT_EQ(Totals().second, want);
  Open();
  EXPECT_EQ(Totals().second, want);
  // A whole measurement.
  DeleteRequest all;
  all.database = "db";
  all.measurement = "cost";
  ASSERT_OK(db_->Delete(all));
  EXPECT_EQ(Totals().second, 0);
  Open();
  EXPECT_EQ(Totals().second, 0);
}

TEST_F(SemanticsTest, RetentionDropsWholeExpiredPartitions) {
  DatabaseOptions dbo;
  dbo.retention_ns = 2 * kDay;
  ASSERT_OK(db_->CreateDatabase("short", dbo));
  const TimestampNs now = absl::GetCurrentTimeNanos();
  WriteBatch b("short");
  std::vector<Tag> tags = {{"run_id", "r"}};
  for (int d = 0; d < 6; ++d) {
    b.AddPoint(b.AddSeries("cost", tags), now - d * kDay);
    b.AddMoney("cost", Money::FromUnits(1));
  }
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  ASSERT_OK(db_->Flush());
  ASSERT_OK(db_->EnforceRetention());
  int64_t rows = 0;
  ScanRequest r;
  r.database = "short";
  r.measurement = "cost";
  ASSERT_OK(db_->Scan(r, [&](const ScanBatch& batch) {
    for (TimestampNs t : batch.times) EXPECT_GT(t, now - 3 * kDay - kDay);
    rows += batch.rows();
    return absl::OkStatus();
  }));
  EXPECT_GE(rows, 2);
  EXPECT_LE(rows, 3);
  EXPECT_GE(db_->GetStats().partitions_dropped_by_retention, 3u);
}

TEST_F(SemanticsTest, RollupsAnswerWholeBucketsAndRawRowsTheEdges) {
  for (int m = 0; m < 3 * 24 * 60; ++m) Put(m % 3, kT0 + m * kMinute, m);
  ASSERT_OK(db_->CompactAll());
  RollupRequest rr;
  rr.scan.database = "db";
  rr.scan.measurement = "cost";
  rr.scan.fields = {"cost"};
  rr.scan.min_time = kT0 + 30 * kMinute;             // a ragged start
  rr.scan.max_time = kT0 + 2 * kDay + 90 * kMinute;  // and end
  rr.level = RollupLevel::kHour;
  RollupScanReport report;
  __int128 total = 0;
  int64_t count = 0;
  ASSERT_OK(db_->ScanRollups(
      rr,
      [&](const RollupBatch& b) {
        for (size_t i = 0; i < b.bucket_starts.size(); ++i) {
          total += b.columns[0].int_sums[i];
          count += b.columns[0].counts[i];
        }
        return absl::OkStatus();
      },
      &report));
  int64_t want_total = 0, want_count = 0;
  for (int m = 30; m <= 2 * 24 * 60 + 90; ++m) {
    want_total += m;
    ++want_count;
  }
  EXPECT_EQ(count, want_count);
  EXPECT_EQ(static_cast<int64_t>(total), want_total);
  ASSERT_FALSE(report.from_rollups.empty());
  EXPECT_EQ(report.from_rollups.front().first, kT0 + kHour);
  EXPECT_EQ(report.from_rollups.back().second, kT0 + 2 * kDay + kHour - 1);
  ASSERT_EQ(report.from_raw.size(), 2u);
  EXPECT_EQ(report.from_raw[0], std::make_pair(kT0 + 30 * kMinute, kT0 + kHour - 1));
  EXPECT_EQ(report.from_raw[1],
            std::make_pair(kT0 + 2 * kDay + kHour, kT0 + 2 * kDay + 90 * kMinute));
  EXPECT_GT(report.rollup_buckets_read, 0u);

  // A later overwrite in one partition: that partition's series now has two files, so its
  // answer comes from raw rows, and the numbers stay exact.
  Put(0, kT0 + kDay + 3 * kMinute, 1'000'000);
  ASSERT_OK(db_->Flush());
  total = 0;
  ASSERT_OK(db_->ScanRollups(
      rr,
      [&](const RollupBatch& b) {
        for (size_t i = 0; i < b.bucket_starts.size(); ++i) total += b.columns[0].int_sums[i];
        return absl::OkStatus();
      },
      &report));
  EXPECT_EQ(static_cast<int64_t>(total), want_total - (24 * 60 + 3) + 1'000'000);
}

TEST_F(SemanticsTest, RollupsRejectNonNumericFields) {
  WriteBatch b("db");
  std::vector<Tag> tags = {{"run_id", "r"}};
  b.AddPoint(b.AddSeries("cost", tags), kT0);
  b.AddString("note", "x");
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  RollupRequest rr;
  rr.scan.database = "db";
  rr.scan.measurement = "cost";
  rr.scan.fields = {"note"};
  EXPECT_THAT(db_->ScanRollups(
                  rr, [](const RollupBatch&) { return absl::OkStatus(); }, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace burnrate
