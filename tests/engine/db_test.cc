#include "burnrate/db.h"

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::CellKey;
using ::burnrate::testing::ScanAll;
using ::burnrate::testing::StatusIs;
using ::burnrate::testing::TempDir;
using ::testing::HasSubstr;

constexpr int64_t kMinute = 60'000'000'000LL;
constexpr int64_t kDay = 24 * 60 * kMinute;
constexpr TimestampNs kT0 = 1'793'491'200'000'000'000LL;  // 2026-11-01T00:00:00Z

Options TestOptions() {
  Options o;
  o.background_work = false;
  o.info_log = [](std::string_view) {};
  return o;
}

ScanRequest CostScan() {
  ScanRequest r;
  r.database = "db";
  r.measurement = "cost";
  return r;
}

std::vector<Tag> RunTags(int run) {
  return {{"cloud", "aws"}, {"run_id", "TrainFlow/" + std::to_string(run)}, {"resource", "i-1"}};
}

void AddCostPoint(WriteBatch* b, int run, TimestampNs t, std::string_view cost, double util) {
  auto tags = RunTags(run);
  auto s = b->AddSeries("cost", tags);
  b->AddPoint(s, t);
  b->AddDecimal("cost", cost);
  b->AddFloat("gpu_util", util);
}

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(Options o = TestOptions()) {
    db_.reset();
    auto db = Db::Open(dir_.path(), o);
    ASSERT_OK(db);
    db_ = std::move(*db);
    if (!db_->ListDatabases()->empty()) return;
    ASSERT_OK(db_->CreateDatabase("db", DatabaseOptions{}));
  }

  std::map<CellKey, std::string> Cells(ScanRequest r = CostScan()) {
    auto cells = ScanAll(db_.get(), r);
    EXPECT_OK(cells);
    return cells.ok() ? *cells : std::map<CellKey, std::string>{};
  }

  TempDir dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(DbTest, WrittenPointsReadBackExactly) {
  WriteBatch b("db");
  AddCostPoint(&b, 1, kT0, "0.0512345678", 0.8734);
  AddCostPoint(&b, 1, kT0 + kMinute, "1.81E-8", 0.5);
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  auto cells = Cells();
  ASSERT_EQ(cells.size(), 4u);
  const std::string tags = "cloud=aws,resource=i-1,run_id=TrainFlow/1";
  EXPECT_EQ((cells.at({tags, kT0, "cost"})), "0.0512345678");
  EXPECT_EQ((cells.at({tags, kT0 + kMinute, "cost"})), "0.0000000181");
  EXPECT_EQ((cells.at({tags, kT0, "gpu_util"})), "0.8734");
}

TEST_F(DbTest, InvalidPointRejectsWholeBatch) {
  WriteBatch b("db");
  AddCostPoint(&b, 1, kT0, "1.5", 0.1);
  AddCostPoint(&b, 2, kT0, "not-a-number", 0.1);
  EXPECT_THAT(db_->Write(WriteOptions{}, b),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("point 1")));
  EXPECT_TRUE(Cells().empty());
}

TEST_F(DbTest, FloatForMoneyFieldIsRejected) {
  WriteBatch b("db");
  auto tags = RunTags(1);
  b.AddPoint(b.AddSeries("cost", tags), kT0);
  b.AddFloat("cost", 1.5);
  EXPECT_THAT(db_->Write(WriteOptions{}, b),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("money")));
}

TEST_F(DbTest, FieldTypeConflictRejectsBatchAndKeepsFirstType) {
  WriteBatch a("db");
  auto tags = RunTags(1);
  a.AddPoint(a.AddSeries("cost", tags), kT0);
  a.AddFloat("gpu_util", 0.5);
  ASSERT_OK(db_->Write(WriteOptions{}, a));

  WriteBatch b("db");
  b.AddPoint(b.AddSeries("cost", tags), kT0 + kMinute);
  b.AddFloat("gpu_util", 0.25);
  b.AddPoint(b.AddSeries("cost", tags), kT0 + 2 * kMinute);
  b.AddInteger("gpu_util", 3);
  EXPECT_THAT(db_->Write(WriteOptions{}, b),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("point 1: field 'gpu_util' of measurement 'cost' is integer")));
  EXPECT_EQ(Cells().size(), 1u);

  // A conflict inside one batch is caught too, before anything is created.
  WriteBatch c("db");
  c.AddPoint(c.AddSeries("other", tags), kT0);
  c.AddBoolean("x", true);
  c.AddPoint(c.AddSeries("other", tags), kT0 + 1);
  c.AddString("x", "s");
  EXPECT_THAT(db_->Write(WriteOptions{}, c), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(db_->ListFields("db", "other")->empty());
}

TEST_F(DbTest, UnknownDatabaseIsNotFound) {
  WriteBatch b("nope");
  AddCostPoint(&b, 1, kT0, "1", 0.1);
  EXPECT_THAT(db_->Write(WriteOptions{}, b), StatusIs(absl::StatusCode::kNotFound));
  ScanRequest r = CostScan();
  r.database = "nope";
  EXPECT_THAT(db_->Scan(r, [](const ScanBatch&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DbTest, SecondOpenOfSameDirectoryFails) {
  EXPECT_THAT(Db::Open(dir_.path(), TestOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(DbTest, DataSurvivesReopenFromWalAndFromSegments) {
  WriteBatch b("db");
  for (int i = 0; i < 100; ++i) AddCostPoint(&b, i % 7, kT0 + i * kMinute, "0.25", i / 100.0);
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  auto before = Cells();
  ASSERT_EQ(before.size(), 200u);
  // Drop without Close: the destructor closes, so simulate a crash by reopening from a
  // copy of the WAL state: here we check the ordinary path first.
  Reopen();
  EXPECT_EQ(Cells(), before);
  ASSERT_OK(db_->Flush());
  EXPECT_GT(db_->GetStats().segment_files, 0u);
  Reopen();
  EXPECT_EQ(Cells(), before);
}

TEST_F(DbTest, LastWriteWinsAcrossMemtableAndSegments) {
  WriteBatch a("db");
  AddCostPoint(&a, 1, kT0, "1.00", 0.5);
  AddCostPoint(&a, 1, kT0 + kMinute, "2.00", 0.5);
  ASSERT_OK(db_->Write(WriteOptions{}, a));
  ASSERT_OK(db_->Flush());

  WriteBatch b("db");
  auto tags = RunTags(1);
  b.AddPoint(b.AddSeries("cost", tags), kT0);
  b.AddDecimal("cost", "3.00");  // gpu_util of that row stays
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  const std::string k = "cloud=aws,resource=i-1,run_id=TrainFlow/1";
  auto cells = Cells();
  EXPECT_EQ((cells.at({k, kT0, "cost"})), "3");
  EXPECT_EQ((cells.at({k, kT0, "gpu_util"})), "0.5");
  EXPECT_EQ((cells.at({k, kT0 + kMinute, "cost"})), "2");

  // Same within the memtable, written out of order, and re-sending is idempotent.
  WriteBatch c("db");
  c.AddPoint(c.AddSeries("cost", tags), kT0 + kMinute);
  c.AddDecimal("cost", "4");
  c.AddPoint(c.AddSeries("cost", tags), kT0 - kMinute);
  c.AddDecimal("cost", "5");
  c.AddPoint(c.AddSeries("cost", tags), kT0 + kMinute);
  c.AddDecimal("cost", "6");
  ASSERT_OK(db_->Write(WriteOptions{}, c));
  ASSERT_OK(db_->Write(WriteOptions{}, c));
  cells = Cells();
  EXPECT_EQ((cells.at({k, kT0 + kMinute, "cost"})), "6");
  EXPECT_EQ((cells.at({k, kT0 - kMinute, "cost"})), "5");
  ASSERT_OK(db_->Flush());
  EXPECT_EQ(Cells(), cells);
  Reopen();
  EXPECT_EQ(Cells(), cells);
}

TEST_F(DbTest, PartitionsSplitSegmentsByDay) {
  WriteBatch b("db");
  for (int d = 0; d < 3; ++d) AddCostPoint(&b, 1, kT0 + d * kDay + 5 * kMinute, "1", 0.1);
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  ASSERT_OK(db_->Flush());
  EXPECT_EQ(db_->GetStats().segment_files, 3u);
  ScanRequest r = CostScan();
  r.min_time = kT0 + kDay;
  r.max_time = kT0 + 2 * kDay - 1;
  EXPECT_EQ(Cells(r).size(), 2u);
}

TEST_F(DbTest, TagMatchersSelectSeries) {
  WriteBatch b("db");
  for (int run = 0; run < 20; ++run) AddCostPoint(&b, run, kT0, "1", 0.1);
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  ScanRequest r = CostScan();
  r.fields = {"cost"};
  r.tag_matchers = {{"run_id", TagMatcher::Op::kRegexMatch, "^TrainFlow/1[0-9]$"}};
  EXPECT_EQ(Cells(r).size(), 10u);
  r.tag_matchers = {{"run_id", TagMatcher::Op::kEqual, "TrainFlow/3"}};
  EXPECT_EQ(Cells(r).size(), 1u);
  r.tag_matchers = {{"run_id", TagMatcher::Op::kNotEqual, "TrainFlow/3"}};
  EXPECT_EQ(Cells(r).size(), 19u);
  r.tag_matchers = {{"missing", TagMatcher::Op::kEqual, ""}};
  EXPECT_EQ(Cells(r).size(), 20u);
  r.tag_matchers = {{"run_id", TagMatcher::Op::kRegexMatch, "("}};
  EXPECT_THAT(db_->Scan(r, [](const ScanBatch&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto series = db_->ListSeries("db", "cost", {{"run_id", TagMatcher::Op::kEqual, "TrainFlow/4"}});
  ASSERT_OK(series);
  ASSERT_EQ(series->size(), 1u);
  EXPECT_EQ((*series)[0].tags[2].value, "TrainFlow/4");
}

TEST_F(DbTest, ResolveSeriesThenScanSubsetsById) {
  WriteBatch b("db");
  for (int run = 0; run < 20; ++run) AddCostPoint(&b, run, kT0, "1", 0.1);
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  ASSERT_OK(db_->Flush());
  auto set = db_->ResolveSeries("db", "cost",
                                {{"run_id", TagMatcher::Op::kRegexMatch, "^TrainFlow/1[0-9]$"}});
  ASSERT_OK(set);
  ASSERT_EQ(set->size(), 10u);
  std::vector<uint32_t> even;
  for (size_t i = 0; i < set->size(); ++i) {
    const auto tags = set->tags(i);
    ASSERT_EQ(tags.size(), 3u);
    EXPECT_EQ(tags[2].key, "run_id");
    EXPECT_TRUE(tags[2].value.starts_with("TrainFlow/1"));
    if (i % 2 == 0) even.push_back(set->ids[i]);
  }
  // The views stay valid while the set lives, even after the database is gone.
  const std::string_view first = set->tags(0)[2].value;
  ScanRequest r = CostScan();
  r.fields = {"cost"};
  r.series_ids = even;
  std::vector<uint32_t> seen;
  ASSERT_OK(db_->Scan(r, [&](const ScanBatch& batch) {
    seen.push_back(batch.series_id);
    return absl::OkStatus();
  }));
  EXPECT_EQ(seen, even);
  r.series_ids = std::vector<uint32_t>{};
  EXPECT_TRUE(Cells(r).empty());
  EXPECT_THAT(db_->ResolveSeries("nope", "cost", {}), StatusIs(absl::StatusCode::kNotFound));
  auto none = db_->ResolveSeries("db", "nothing", {});
  ASSERT_OK(none);
  EXPECT_EQ(none->size(), 0u);
  ASSERT_OK(db_->DropDatabase("db"));
  EXPECT_TRUE(first.starts_with("TrainFlow/1"));
}

TEST_F(DbTest, DropDatabaseRemovesDataForGood) {
  WriteBatch b("db");
  AddCostPoint(&b, 1, kT0, "1", 0.1);
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  ASSERT_OK(db_->Flush());
  WriteBatch c("db");
  AddCostPoint(&c, 2, kT0, "1", 0.1);
  ASSERT_OK(db_->Write(WriteOptions{}, c));  // only in the WAL
  ASSERT_OK(db_->DropDatabase("db"));
  EXPECT_THAT(db_->DropDatabase("db"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(db_->CreateDatabase("db", DatabaseOptions{}));
  EXPECT_TRUE(Cells().empty());
  Reopen();
  EXPECT_TRUE(Cells().empty());
  EXPECT_EQ(db_->GetStats().segment_files, 0u);
}

TEST_F(DbTest, DatabasesAreListedAndNamesValidated) {
  EXPECT_THAT(db_->CreateDatabase("db", DatabaseOptions{}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(db_->CreateDatabase("", DatabaseOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(db_->CreateDatabase("a/b", DatabaseOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  DatabaseOptions o;
  o.fsync = FsyncPolicy::kNone;
  ASSERT_OK(db_->CreateDatabase("fast", o));
  Reopen();
  auto dbs = db_->ListDatabases();
  ASSERT_OK(dbs);
  ASSERT_EQ(dbs->size(), 2u);
  EXPECT_EQ((*dbs)[1].name, "fast");
  EXPECT_EQ((*dbs)[1].options.fsync, FsyncPolicy::kNone);
}

TEST_F(DbTest, ConcurrentWritersAndReaders) {
  Options o = TestOptions();
  o.background_work = true;
  o.memtable_bytes = 64 << 10;  // several flushes during the test
  Reopen(o);
  constexpr int kThreads = 4;
  constexpr int kBatches = 40;
  constexpr int kPoints = 50;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      auto cells = ScanAll(db_.get(), CostScan());
      EXPECT_OK(cells);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kBatches; ++i) {
        WriteBatch b("db");
        for (int p = 0; p < kPoints; ++p) {
          AddCostPoint(&b, t, kT0 + (i * kPoints + p) * kMinute, "0.01", 0.5);
        }
        WriteOptions wo;
        if (i % 2) wo.fsync = FsyncPolicy::kNone;
        EXPECT_OK(db_->Write(wo, b));
      }
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  reader.join();
  EXPECT_EQ(Cells().size(), static_cast<size_t>(kThreads * kBatches * kPoints * 2));
  EXPECT_GT(db_->GetStats().flushes, 0u);
  Reopen(o);
  EXPECT_EQ(Cells().size(), static_cast<size_t>(kThreads * kBatches * kPoints * 2));
}

TEST_F(DbTest, OldMemtableIsFlushedByAge) {
  Options o = TestOptions();
  o.background_work = true;
  o.memtable_max_age_ms = 20;
  Reopen(o);
  WriteBatch b("db");
  AddCostPoint(&b, 1, kT0, "1", 0.5);
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  // The background thread flushes on its own; wait for that event, bounded.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (db_->GetStats().flushes == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GT(db_->GetStats().flushes, 0u);
  EXPECT_EQ(db_->GetStats().memtable_points, 0u);
  EXPECT_EQ(Cells().size(), 2u);
}

TEST_F(DbTest, AllFieldTypesRoundTripThroughSegments) {
  WriteBatch b("db");
  auto tags = RunTags(1);
  auto s = b.AddSeries("m", tags);
  b.AddPoint(s, kT0);
  b.AddFloat("f", -0.0);
  b.AddInteger("i", INT64_MIN);
  b.AddUnsigned("u", UINT64_MAX);
  b.AddBoolean("b", true);
  b.AddString("s", "hello \"world\"");
  b.AddMoney("x_cost", Money::FromUnits(INT64_MAX));
  b.AddPoint(s, kT0 + 1);
  b.AddInteger("i", 7);
  ASSERT_OK(db_->Write(WriteOptions{}, b));
  ScanRequest r = CostScan();
  r.measurement = "m";
  auto before = Cells(r);
  EXPECT_EQ(before.size(), 7u);
  ASSERT_OK(db_->Flush());
  Reopen();
  EXPECT_EQ(Cells(r), before);
  auto fields = db_->ListFields("db", "m");
  ASSERT_OK(fields);
  EXPECT_EQ(fields->size(), 6u);
}

}  // namespace
}  // namespace burnrate
