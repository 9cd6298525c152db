// Watch mode end to end: deliveries appear in a folder over several polling cycles.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/str_cat.h"
#include "burnrate/db.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/billing_watch.h"
#include "tests/ingest/billing_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::billing_test::Deflate;
using ::burnrate::billing_test::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Action = WatchDecision::Action;

std::string CurCsv(int rows, const std::string& cost) {
  std::string csv =
      "bill/PayerAccountId,lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,"
      "lineItem/UsageEndDate,lineItem/UnblendedCost,lineItem/CurrencyCode,lineItem/ResourceId\n";
  for (int i = 0; i < rows; ++i) {
    StrAppend(&csv, "111122223333,444455556666,Usage,2026-11-02T", i < 10 ? "0" : "", i,
              ":00:00Z,2026-11-02T", i + 1 < 10 ? "0" : "", i + 1, ":00:00Z,", cost, ",USD,i-", i,
              "\n");
  }
  return csv;
}

// Writes a report version whose period manifest names `parts` files, of which the first
// `present` exist.
void WriteVersion(const std::string& root, const std::string& assembly, int parts, int present,
                  const std::string& cost) {
  const std::string period = root + "/report/20261101-20261201";
  std::string keys;
  for (int i = 1; i <= parts; ++i) {
    StrAppend(&keys, i > 1 ? "," : "", "\"report/20261101-20261201/", assembly, "/report-", i,
              ".csv.gz\"");
    if (i <= present) {
      WriteFileOrDie(StrCat(period, "/", assembly, "/report-", i, ".csv.gz"),
                     Deflate(CurCsv(4, cost), true));
    }
  }
  WriteFileOrDie(period + "/report-Manifest.json",
                 StrCat("{\"assemblyId\": \"", assembly,
                        "\", \"account\": \"111122223333\", "
                        "\"reportName\": \"report\", \"billingPeriod\": {\"start\": "
                        "\"20261101T000000.000Z\"}, \"reportKeys\": [",
                        keys, "]}"));
}

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.info_log = [](std::string_view) {};
    o.file_system = billing_test::NoSyncFileSystem::Get();  // fsync is not under test
    ASSERT_OK_AND_ASSIGN(db_, Db::Open(dir_.Sub("db"), o));
    std::filesystem::create_directories(watched());
    StartWatcher();
  }

  std::string watched() const { return dir_.Sub("inbox"); }

  void StartWatcher() {
    WatchOptions options;
    options.state_path = dir_.Sub("watch.state");
    options.settle_ns = settle_ns_;
    options.now = [this] { return now_; };
    ASSERT_OK_AND_ASSIGN(watcher_, BillingWatcher::Open(db_.get(), "billing", watched(), options));
  }

  std::map<std::string, WatchDecision> Poll() {
    auto decisions = watcher_->PollOnce();
    EXPECT_TRUE(decisions.ok()) << decisions.status();
    std::map<std::string, WatchDecision> out;
    if (decisions.ok()) {
      for (WatchDecision& d : *decisions) out[d.delivery] = std::move(d);
    }
    return out;
  }

  std::map<std::string, SourceInfo> Sources() {
    std::map<std::string, SourceInfo> out;
    auto sources = db_->ListSources("billing");
    if (sources.ok()) {
      for (const SourceInfo& s : *sources) out[s.key] = s;
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<BillingWatcher> watcher_;
  int64_t settle_ns_ = 0;
  TimestampNs now_ = INT64_MAX / 2;
};

TEST_F(WatchTest, ImportsCompleteDeliveriesOnceAcrossRestarts) {
  const std::string cur_key = "aws-cur:111122223333:2026-11:report";
  EXPECT_THAT(Poll(), IsEmpty());

  // Version 1 is announced with two files, one still missing: it waits.
  WriteVersion(watched(), "asm-1", 2, 1, "1.5");
  auto d = Poll();
  ASSERT_EQ(d.size(), 1u);
  const std::string id = "report/20261101-20261201";
  EXPECT_EQ(d[id].action, Action::kIncomplete);
  EXPECT_THAT(d[id].message, HasSubstr("1 of 2 report files missing"));
  EXPECT_TRUE(Sources().empty());
  EXPECT_TRUE(Poll()[id].repeated);

  // The second file arrives: imported, both files' rows.
  WriteVersion(watched(), "asm-1", 2, 2, "1.5");
  d = Poll();
  EXPECT_EQ(d[id].action, Action::kImported);
  ASSERT_TRUE(d[id].summary.has_value());
  EXPECT_EQ(d[id].summary->rows_imported, 8u);
  ASSERT_EQ(Sources().count(cur_key), 1u);
  const TimestampNs v1_written = Sources()[cur_key].written_at;

  d = Poll();
  EXPECT_EQ(d[id].action, Action::kUnchanged);
  EXPECT_FALSE(d[id].repeated);
  EXPECT_TRUE(Poll()[id].repeated);

  // A plain file dropped beside it is a delivery of its own.
  WriteFileOrDie(watched() + "/extra/focus.csv",
                 "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,BillingAccountId\n"
                 "2,USD,2026-11-05T00:00:00Z,2026-11-05T01:00:00Z,acct\n");
  d = Poll();
  EXPECT_EQ(d["extra/focus.csv"].action, Action::kImported);
  EXPECT_EQ(d[id].action, Action::kUnchanged);

  // A restarted watcher remembers both and imports nothing again.
  watcher_.reset();
  StartWatcher();
  d = Poll();
  EXPECT_EQ(d[id].action, Action::kUnchanged);
  EXPECT_EQ(d["extra/focus.csv"].action, Action::kUnchanged);
  EXPECT_EQ(Sources()[cur_key].written_at, v1_written);

  // A newer report version replaces the first.
  WriteVersion(watched(), "asm-2", 1, 1, "2.25");
  d = Poll();
  EXPECT_EQ(d[id].action, Action::kImported);
  EXPECT_THAT(d[id].message, HasSubstr("replaced " + cur_key));
  EXPECT_EQ(d[id].summary->totals.at("USD").billed_cost.ToString(), "9");
  EXPECT_NE(Sources()[cur_key].written_at, v1_written);
  EXPECT_EQ(Sources()[cur_key].points, 4u);
}

TEST_F(WatchTest, BadDeliveryFailsOnceAndIsRetriedWhenItChanges) {
  const std::string path = watched() + "/bad.csv";
  WriteFileOrDie(path,
                 "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd\n"
                 "oops,USD,2026-11-05T00:00:00Z,2026-11-05T01:00:00Z\n");
  auto d = Poll();
  EXPECT_EQ(d["bad.csv"].action, Action::kFailed);
  EXPECT_THAT(d["bad.csv"].message, HasSubstr("bad.csv:2: column 1: BilledCost: invalid money"));
  EXPECT_EQ(Poll()["bad.csv"].action, Action::kStillFailed);
  watcher_.reset();
  StartWatcher();
  EXPECT_EQ(Poll()["bad.csv"].action, Action::kStillFailed) << "failures are remembered too";

  WriteFileOrDie(path,
                 "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd\n"
                 "3,USD,2026-11-05T00:00:00Z,2026-11-05T01:00:00Z\n");
  // The fingerprint holds size and mtime; the size differs even within one mtime tick.
  EXPECT_EQ(Poll()["bad.csv"].action, Action::kImported);
}

TEST_F(WatchTest, RecentlyChangedFilesSettleFirst) {
  settle_ns_ = 5'000'000'000;
  StartWatcher();
  WriteFileOrDie(watched() + "/new.csv",
                 "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd\n"
                 "1,USD,2026-11-05T00:00:00Z,2026-11-05T01:00:00Z\n");
  now_ = 0;  // long before the file was written: it cannot have settled
  EXPECT_EQ(Poll()["new.csv"].action, Action::kSettling);
  now_ = INT64_MAX / 2;
  EXPECT_EQ(Poll()["new.csv"].action, Action::kImported);
}

TEST_F(WatchTest, UnreadableStateIsDataLoss) {
  WriteFileOrDie(dir_.Sub("watch.state"), "# burnrate billing watch state v1\nnonsense\n");
  WatchOptions options;
  options.state_path = dir_.Sub("watch.state");
  EXPECT_THAT(BillingWatcher::Open(db_.get(), "billing", watched(), options),
              testing::StatusIs(absl::StatusCode::kDataLoss, HasSubstr("watch.state:2")));
}

}  // namespace
}  // namespace burnrate
