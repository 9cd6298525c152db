// Importing billing deliveries: restatement (replace, abandon, crash), bad rows, exact
// period splitting, delivery layouts and the stream entry points.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/str_cat.h"
#include "burnrate/db.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/billing_import.h"
#include "ingest/billing_literal.h"
#include "ingest/billing_time.h"
#include "tests/engine/engine_test_util.h"
#include "tests/ingest/billing_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::billing_test::Amounts;
using ::burnrate::billing_test::DayKey;
using ::burnrate::billing_test::WriteFileOrDie;
using ::burnrate::testing::ScanAll;
using ::burnrate::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kCurHeader[] =
    "identity/LineItemId,identity/TimeInterval,bill/PayerAccountId,bill/BillingPeriodStartDate,"
    "lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,"
    "lineItem/ProductCode,lineItem/UsageType,lineItem/ResourceId,lineItem/UsageAmount,"
    "lineItem/CurrencyCode,lineItem/UnblendedCost,pricing/unit,product/region,"
    "resourceTags/user:metaflow.run_id,resourceTags/user:metaflow.flow_name\n";

// A synthetic CUR month of `rows` hourly rows (and one month-long tax row); `version`
// changes every cost, so restated versions differ in every cell.
std::string MakeCur(int rows, int version, const std::string& payer = "111122223333") {
  std::string csv = kCurHeader;
  std::mt19937_64 rng(static_cast<uint64_t>(version) * 7919 + static_cast<uint64_t>(rows));
  for (int i = 0; i < rows; ++i) {
    const int day = 1 + i % 28, hour = (i / 28) % 23;
    const std::string start =
        StrCat("2026-11-", day < 10 ? "0" : "", day, "T", hour < 10 ? "0" : "", hour, ":00:00Z");
    const std::string end = StrCat("2026-11-", day < 10 ? "0" : "", day, "T",
                                   hour + 1 < 10 ? "0" : "", hour + 1, ":00:00Z");
    const uint64_t micros = rng() % 50'000'000;
    StrAppend(&csv, "li", i, ",", start, "/", end, ",", payer, ",2026-11-01T00:00:00Z,",
              i % 3 == 0 ? "444455556666" : "777788889999", ",Usage,", start, ",", end,
              ",AmazonEC2,BoxUsage:p3.", i % 4, "xlarge,i-", i % 17, ",1,USD,", micros / 1'000'000,
              ".", micros % 1'000'000, "E-", 1 + i % 3, ",Hrs,us-east-1,run-", i % 5,
              ",TrainFlow\n");
  }
  StrAppend(&csv, "tax,,", payer, ",2026-11-01T00:00:00Z,444455556666,Tax,2026-11-01T00:00:00Z,",
            "2026-12-01T00:00:00Z,AWS,Tax,,,USD,", 10 + version, ".0000000007,,,,\n");
  return csv;
}

// Writes a CUR report version as AWS delivers it: gzip parts in an assembly folder, and
// the manifests (the period-level one last, unless write_period_manifest is false).
void WriteCurDelivery(const std::string& root, const std::string& assembly,
                      const std::vector<std::string>& parts, bool write_period_manifest = true,
                      size_t parts_present = SIZE_MAX) {
  const std::string period_dir = root + "/ml-report/20261101-20261201";
  std::string keys;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string name = StrCat("ml-report-", i + 1, ".csv.gz");
    StrAppend(&keys, i ? "," : "", "\"prefix/ml-report/20261101-20261201/", assembly, "/", name,
              "\"");
    if (i < parts_present) {
      WriteFileOrDie(StrCat(period_dir, "/", assembly, "/", name),
                     billing_test::Deflate(parts[i], true));
    }
  }
  const std::string manifest =
      StrCat("{\"assemblyId\": \"", assembly,
             "\", \"account\": \"111122223333\", \"reportName\": "
             "\"ml-report\", \"billingPeriod\": {\"start\": \"20261101T000000.000Z\", \"end\": "
             "\"20261201T000000.000Z\"}, \"compression\": \"GZIP\", \"reportKeys\": [",
             keys, "], \"columns\": [{\"category\": \"lineItem\", \"name\": \"UnblendedCost\"}]}");
  WriteFileOrDie(StrCat(period_dir, "/", assembly, "/ml-report-Manifest.json"), manifest);
  if (write_period_manifest) WriteFileOrDie(period_dir + "/ml-report-Manifest.json", manifest);
}

class BillingImportTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open(size_t memtable_bytes = 64 << 20) {
    db_.reset();
    Options o;
    o.info_log = [](std::string_view) {};
    o.file_system = billing_test::NoSyncFileSystem::Get();  // fsync is not under test
    o.memtable_bytes = memtable_bytes;
    auto db = Db::Open(dir_.Sub("db"), o);
    ASSERT_OK(db);
    db_ = std::move(*db);
  }

  // Everything stored in the billing measurement.
  std::map<testing::CellKey, std::string> Cells(Db* db = nullptr) {
    ScanRequest r;
    r.database = "billing";
    r.measurement = "billing";
    auto cells = ScanAll(db ? db : db_.get(), r);
    EXPECT_TRUE(cells.ok()) << cells.status();
    return cells.ok() ? *cells : std::map<testing::CellKey, std::string>();
  }

  // The cells a fresh database holds after importing only root.
  std::map<testing::CellKey, std::string> CellsOfFreshImport(const std::string& root) {
    testing::TempDir other;
    Options o;
    o.info_log = [](std::string_view) {};
    o.file_system = billing_test::NoSyncFileSystem::Get();  // fsync is not under test
    auto db = Db::Open(other.Sub("db"), o);
    EXPECT_TRUE(db.ok());
    EXPECT_OK(ImportBillingPath(db->get(), "billing", root, ImportOptions()));
    return Cells(db->get());
  }

  testing::TempDir dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(BillingImportTest, NewerDeliveryReplacesAndAnAbandonedOneLeavesNoTrace) {
  const std::string root = dir_.Sub("cur");
  WriteCurDelivery(root, "asm-1", {MakeCur(300, 1)});
  ASSERT_OK_AND_ASSIGN(ImportSummary v1,
                       ImportBillingPath(db_.get(), "billing", root, ImportOptions()));
  ASSERT_THAT(v1.sources, SizeIs(1));
  EXPECT_EQ(v1.sources[0].key, "aws-cur:111122223333:2026-11:ml-report");
  EXPECT_FALSE(v1.sources[0].replaced);
  EXPECT_EQ(v1.rows_imported, 301u);

  // Version 2: a new assembly with fewer rows and other costs, in two parts.
  const std::string v2_csv = MakeCur(250, 2);
  const size_t cut = v2_csv.find('\n', v2_csv.size() / 2) + 1;
  WriteCurDelivery(root, "asm-2", {v2_csv.substr(0, cut), kCurHeader + v2_csv.substr(cut)});
  ASSERT_OK_AND_ASSIGN(ImportSummary v2,
                       ImportBillingPath(db_.get(), "billing", root, ImportOptions()));
  ASSERT_THAT(v2.sources, SizeIs(1));
  EXPECT_TRUE(v2.sources[0].replaced);
  EXPECT_EQ(v2.rows_imported, 251u);
  const auto after_v2 = Cells();
  {
    testing::TempDir only_v2;
    WriteCurDelivery(only_v2.path(), "asm-2", {v2_csv});
    EXPECT_EQ(after_v2, CellsOfFreshImport(only_v2.path())) << "the result is exactly version 2";
  }

  // Version 3 is abandoned midway (as a failing disk or a cancelled import would).
  WriteCurDelivery(root, "asm-3", {MakeCur(400, 3)});
  ImportOptions abandon;
  abandon.batch_points = 50;
  int batches = 0;
  abandon.after_batch = [&](uint64_t) {
    return ++batches == 3 ? absl::CancelledError("stop here") : absl::OkStatus();
  };
  EXPECT_THAT(ImportBillingPath(db_.get(), "billing", root, abandon),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(batches, 3);
  EXPECT_EQ(Cells(), after_v2);
  ASSERT_OK_AND_ASSIGN(std::vector<SourceInfo> sources, db_->ListSources("billing"));
  ASSERT_THAT(sources, SizeIs(1));
  EXPECT_EQ(sources[0].points, v2.points_written);
  Open();
  EXPECT_EQ(Cells(), after_v2) << "after a restart too";
}

// A child process imports a third version and is killed (SIGKILL) midway, after some of the
// import has been spilled to segment files: the reopened database holds exactly version 2.
TEST_F(BillingImportTest, CrashMidImportKeepsThePreviousVersion) {
  const std::string root = dir_.Sub("cur");
  WriteCurDelivery(root, "asm-2", {MakeCur(500, 2)});
  ASSERT_OK(ImportBillingPath(db_.get(), "billing", root, ImportOptions()).status());
  const auto before = Cells();
  WriteCurDelivery(root, "asm-3", {MakeCur(12000, 3)});
  db_.reset();

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Options o;
    o.info_log = [](std::string_view) {};
    o.memtable_bytes = 64 << 10;  // spill to uncommitted segments early
    auto db = Db::Open(dir_.Sub("db"), o);
    if (!db.ok()) _exit(2);
    ImportOptions io;
    io.batch_points = 500;
    io.after_batch = [](uint64_t points) {
      if (points >= 8'000) kill(getpid(), SIGKILL);
      return absl::OkStatus();
    };
    (void)ImportBillingPath(db->get(), "billing", root, io);
    _exit(3);  // not reached: the import has more than 8,000 points
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

  Open();
  EXPECT_EQ(Cells(), before);
  // And the interrupted version imports cleanly afterwards.
  ASSERT_OK_AND_ASSIGN(ImportSummary v3,
                       ImportBillingPath(db_.get(), "billing", root, ImportOptions()));
  EXPECT_TRUE(v3.sources[0].replaced);
  testing::TempDir only_v3;
  WriteCurDelivery(only_v3.path(), "asm-3", {MakeCur(12000, 3)});
  EXPECT_EQ(Cells(), CellsOfFreshImport(only_v3.path()));
}

TEST_F(BillingImportTest, IncompleteDeliveryIsNotImported) {
  const std::string root = dir_.Sub("cur");
  WriteCurDelivery(root, "asm-1", {MakeCur(10, 1), MakeCur(10, 2)}, true, /*parts_present=*/1);
  ASSERT_OK_AND_ASSIGN(std::vector<BillingDelivery> d, FindBillingDeliveries(root));
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_FALSE(d[0].complete);
  EXPECT_THAT(d[0].incomplete_reason, HasSubstr("1 of 2 report files missing"));
  ASSERT_OK_AND_ASSIGN(ImportSummary s,
                       ImportBillingPath(db_.get(), "billing", root, ImportOptions()));
  EXPECT_EQ(s.rows_read, 0u);
  EXPECT_THAT(s.notes, ::testing::Contains(HasSubstr("skipped, incomplete")));
  EXPECT_THAT(ImportBillingDelivery(db_.get(), "billing", d[0], ImportOptions()),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  // Without the period-level manifest the assembly is still being delivered.
  testing::TempDir partial;
  WriteCurDelivery(partial.path(), "asm-1", {MakeCur(10, 1)}, /*write_period_manifest=*/false);
  ASSERT_OK_AND_ASSIGN(d, FindBillingDeliveries(partial.path()));
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_FALSE(d[0].complete);
  EXPECT_EQ(d[0].incomplete_reason, "no period-level manifest yet");
  // Pointing at the assembly folder itself imports it.
  ASSERT_OK_AND_ASSIGN(d, FindBillingDeliveries(partial.Sub("ml-report/20261101-20261201/asm-1")));
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_TRUE(d[0].complete);
}

TEST_F(BillingImportTest, BadRowRejectsTheDeliveryNamingFileLineAndColumn) {
  const std::string path = dir_.Sub("bills.csv");
  WriteFileOrDie(path, MakeCur(20, 1));
  ASSERT_OK(ImportBillingPath(db_.get(), "billing", path, ImportOptions()).status());
  const auto good = Cells();

  // Line 7 (the header is line 1) gets an unparsable cost in column 14.
  std::string bad = MakeCur(20, 2);
  size_t line_start = 0;
  for (int i = 0; i < 6; ++i) line_start = bad.find('\n', line_start) + 1;
  size_t col = line_start;
  for (int i = 0; i < 13; ++i) col = bad.find(',', col) + 1;
  bad.replace(col, bad.find(',', col) - col, "0.12.3");
  WriteFileOrDie(path, bad);
  EXPECT_THAT(ImportBillingPath(db_.get(), "billing", path, ImportOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(path + ":7: column 14: lineItem/UnblendedCost: invalid money "
                                        "value \"0.12.3\"")));
  EXPECT_EQ(Cells(), good) << "the previous version stays live";

  ImportOptions skip;
  skip.skip_bad_rows = true;
  ASSERT_OK_AND_ASSIGN(ImportSummary s, ImportBillingPath(db_.get(), "billing", path, skip));
  EXPECT_EQ(s.rows_read, 21u);
  EXPECT_EQ(s.rows_skipped, 1u);
  EXPECT_EQ(s.rows_imported, 20u);
  ASSERT_THAT(s.errors, SizeIs(1));
  EXPECT_EQ(s.errors[0].file, path);
  EXPECT_EQ(s.errors[0].line, 7u);
  EXPECT_EQ(s.errors[0].column, 14u);
  EXPECT_TRUE(s.sources[0].replaced);
  EXPECT_NE(Cells(), good);
}

TEST_F(BillingImportTest, SkipCountsEveryBadRowAndKeepsTheFirstErrors) {
  std::string csv = kCurHeader;
  const std::string good = MakeCur(3, 1).substr(std::string(kCurHeader).size());
  for (int i = 0; i < 30; ++i) {
    csv += good.substr(0, good.find('\n') + 1);
    csv += "x\n";                        // padded: no charge period
    csv += std::string(30, ',') + "\n";  // 31 fields for 18 columns
  }
  csv += "\"unterminated,\n";
  const std::string path = dir_.Sub("messy.csv");
  WriteFileOrDie(path, csv);
  ImportOptions skip;
  skip.skip_bad_rows = true;
  skip.max_reported_errors = 5;
  // A CSV structure error is not a row: the file is rejected even when skipping rows.
  EXPECT_THAT(ImportBillingPath(db_.get(), "billing", path, skip),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(":92: column 1: quoted field is not terminated")));
  csv.resize(csv.size() - std::string("\"unterminated,\n").size());
  WriteFileOrDie(path, csv);
  ASSERT_OK_AND_ASSIGN(ImportSummary s, ImportBillingPath(db_.get(), "billing", path, skip));
  EXPECT_EQ(s.rows_imported, 30u);
  EXPECT_EQ(s.rows_skipped, 60u);
  ASSERT_THAT(s.errors, SizeIs(5));
  EXPECT_EQ(s.errors[0].line, 3u);
  EXPECT_THAT(s.errors[0].message, HasSubstr("lineItem/UsageStartDate: missing"));
  EXPECT_EQ(s.errors[1].line, 4u);
  EXPECT_EQ(s.errors[1].column, 19u);
  EXPECT_THAT(s.errors[1].message, HasSubstr("row has 31 fields, the header has 18"));
}

TEST(SplitMoneyTest, PiecesSumExactlyAndStayWithinOneUnit) {
  std::mt19937_64 rng(42);
  std::vector<Money> pieces;
  for (int trial = 0; trial < 2000; ++trial) {
    int64_t amount = static_cast<int64_t>(rng()) >> (rng() % 63);
    if (trial % 7 == 0) amount = trial % 2 ? INT64_MAX : INT64_MIN + 1;
    const int n = 1 + static_cast<int>(rng() % 800);
    std::vector<int64_t> cum;
    int64_t total = 0;
    for (int i = 0; i < n; ++i) {
      total += static_cast<int64_t>(rng() % (3600LL * 1'000'000'000)) + (i == 0 ? 1 : 0);
      cum.push_back(total);
    }
    SplitMoneyExactly(Money::FromUnits(amount), cum, total, &pieces);
    ASSERT_EQ(pieces.size(), cum.size());
    __int128 sum = 0;
    for (size_t i = 0; i < pieces.size(); ++i) {
      sum += pieces[i].units();
      const __int128 share_num = static_cast<__int128>(amount) * (cum[i] - (i ? cum[i - 1] : 0));
      const __int128 diff = static_cast<__int128>(pieces[i].units()) * total - share_num;
      ASSERT_LE(diff < 0 ? -diff : diff, static_cast<__int128>(total)) << "piece " << i;
    }
    ASSERT_TRUE(sum == amount) << "trial " << trial;
  }
}

// A charge over 49.75 hours, not aligned to the hour, lands as one point per hour it overlaps;
// the pieces add up exactly, and the original row is recoverable from the row number and
// period fields.
TEST_F(BillingImportTest, LongChargesAreSplitIntoHoursExactly) {
  const std::string csv =
      "BilledCost,EffectiveCost,ListCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,"
      "BillingPeriodStart,ProviderName,BillingAccountId,ChargeCategory,ResourceId,"
      "ConsumedQuantity\n"
      "100.0000000001,-3,7,EUR,2026-11-03T05:30:00Z,2026-11-05T07:15:00Z,2026-11-01,AWS,acct,Usage,"
      "r1,50\n"
      "1,1,,EUR,2026-11-03T05:00:00Z,2026-11-03T06:00:00Z,2026-11-01,AWS,acct,Usage,r1,1\n";
  ASSERT_OK_AND_ASSIGN(ImportSummary s, ImportBillingBuffer(db_.get(), "billing", "split.csv", csv,
                                                            ImportOptions()));
  EXPECT_EQ(s.rows_imported, 2u);
  EXPECT_EQ(s.points_written, 52u);  // 05:00 on the 3rd to 08:00 on the 5th, plus one
  EXPECT_EQ(s.totals.at("EUR").billed_cost.ToString(), "101.0000000001");

  ScanRequest r;
  r.database = "billing";
  r.measurement = "billing";
  r.fields = {"billed_cost",  "effective_cost", "list_cost", "usage_quantity",
              "period_start", "period_end",     "row"};
  // Per row: (time, billed, effective, list, period_start or -1, period_end or -1).
  std::map<int64_t, std::vector<std::pair<TimestampNs, std::vector<int64_t>>>> by_row;
  double quantity = 0;
  ASSERT_OK(db_->Scan(r, [&](const ScanBatch& b) {
    for (size_t i = 0; i < b.rows(); ++i) {
      const auto cell = [&](size_t c) {
        return b.columns[c].IsValid(i) ? b.columns[c].ints[i] : -1;
      };
      by_row[b.columns[6].ints[i]].push_back(
          {b.times[i], {cell(0), cell(1), cell(2), cell(4), cell(5)}});
      if (b.columns[6].ints[i] == 0) quantity += b.columns[3].floats[i];
    }
    return absl::OkStatus();
  }));
  ASSERT_EQ(by_row.size(), 2u);
  const auto& pieces = by_row[0];
  ASSERT_EQ(pieces.size(), 51u);
  __int128 billed = 0, effective = 0, list = 0;
  ASSERT_OK_AND_ASSIGN(TimestampNs start, ParseBillingTime("2026-11-03T05:30:00Z"));
  ASSERT_OK_AND_ASSIGN(TimestampNs end, ParseBillingTime("2026-11-05T07:15:00Z"));
  for (size_t i = 0; i < pieces.size(); ++i) {
    EXPECT_EQ(pieces[i].first,
              start - 30 * 60 * 1'000'000'000LL + static_cast<int64_t>(i) * billing_test::kHourNs);
    billed += pieces[i].second[0];
    effective += pieces[i].second[1];
    list += pieces[i].second[2];
    // The original period is on the first piece; the others point to it through `row`.
    EXPECT_EQ(pieces[i].second[3], i == 0 ? start : -1);
    EXPECT_EQ(pieces[i].second[4], i == 0 ? end : -1);
  }
  EXPECT_TRUE(billed == 1'000'000'000'001LL);
  EXPECT_TRUE(effective == -30'000'000'000LL);
  EXPECT_TRUE(list == 70'000'000'000LL);
  EXPECT_NEAR(quantity, 50.0, 1e-9);
  // The first piece covers 30 of 2985 minutes.
  EXPECT_EQ(pieces[0].second[0], 1'000'000'000'001LL * 30 / 2985);
  // The second row shares the series and the first hour without overwriting it.
  ASSERT_EQ(by_row[1].size(), 1u);
  EXPECT_EQ(by_row[1][0].first, start - 30 * 60 * 1'000'000'000LL + 1);
}

TEST_F(BillingImportTest, ChargesLongerThanTheLimitAreBadRows) {
  const std::string csv =
      "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd\n"
      "1,USD,2020-01-01,2030-01-01\n";
  EXPECT_THAT(ImportBillingBuffer(db_.get(), "billing", "long.csv", csv, ImportOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("long.csv:2: column 0: charge period 2020-01-01T00:00:00Z to "
                                 "2030-01-01T00:00:00Z spans 87672 hours")));
}

TEST_F(BillingImportTest, StreamAndBufferEntryPointsTakeGzipAndZip) {
  const std::string csv = MakeCur(40, 1);
  class Chunked final : public ByteStream {
   public:
    explicit Chunked(std::string d) : d_(std::move(d)) {}
    absl::StatusOr<size_t> Read(char* buf, size_t n) override {
      const size_t k = std::min({n, size_t{333}, d_.size() - p_});
      std::memcpy(buf, d_.data() + p_, k);
      p_ += k;
      return k;
    }
    uint64_t source_bytes_consumed() const override { return p_; }

   private:
    std::string d_;
    size_t p_ = 0;
  };
  ASSERT_OK_AND_ASSIGN(
      ImportSummary gz,
      ImportBillingStream(db_.get(), "billing", "upload.csv.gz",
                          std::make_unique<Chunked>(billing_test::Deflate(csv, true)),
                          ImportOptions()));
  EXPECT_EQ(gz.rows_imported, 41u);
  EXPECT_EQ(gz.sources[0].key, "aws-cur:111122223333:2026-11:upload");
  const auto cells = Cells();

  // The same rows as a two-member zip replace that source (the export is the zip's name).
  const size_t cut = csv.find('\n', csv.size() / 2) + 1;
  const std::string zip = billing_test::MakeZip(
      {{"a.csv", csv.substr(0, cut), true}, {"b.csv", kCurHeader + csv.substr(cut), false}});
  ASSERT_OK_AND_ASSIGN(ImportSummary z, ImportBillingBuffer(db_.get(), "billing", "upload.zip", zip,
                                                            ImportOptions()));
  EXPECT_EQ(z.files, (std::vector<std::string>{"upload.zip!a.csv", "upload.zip!b.csv"}));
  EXPECT_TRUE(z.sources[0].replaced);
  EXPECT_EQ(Cells(), cells);

  EXPECT_THAT(ImportBillingStream(db_.get(), "billing", "x.zip", std::make_unique<Chunked>(zip),
                                  ImportOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot be streamed")));
  EXPECT_THAT(ImportBillingStream(db_.get(), "billing", "y", std::make_unique<Chunked>("PAR1xxxx"),
                                  ImportOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Parquet input")));

  // The summary as the import endpoint returns it.
  ASSERT_OK_AND_ASSIGN(LooseValue json, ParseLooseValue(ImportSummaryToJson(z)));
  EXPECT_EQ(json.TextOf("rows_imported"), "41");
  const LooseValue* totals = json.Find("totals");
  ASSERT_NE(totals, nullptr);
  EXPECT_EQ(totals->Find("USD")->TextOf("billed_cost"), z.totals.at("USD").billed_cost.ToString());
}

TEST_F(BillingImportTest, DataExportsPartitionsWaitForTheirManifest) {
  const std::string root = dir_.Sub("exports");
  const std::string data = root + "/ml-cur2/data/BILLING_PERIOD=2026-11/";
  const std::string header =
      "bill_payer_account_id,bill_payer_account_name,line_item_line_item_type,"
      "line_item_usage_start_date,line_item_usage_end_date,line_item_unblended_cost,"
      "line_item_currency_code,resource_tags\n";
  WriteFileOrDie(data + "ml-cur2-00001.csv.gz",
                 billing_test::Deflate(header + "999,Org,Usage,2026-11-02T00:00:00Z,"
                                                "2026-11-02T01:00:00Z,1.5,USD,"
                                                "\"{\"\"user_metaflow_run_id\"\":\"\"r9\"\"}\"\n",
                                       true));
  WriteFileOrDie(data + "ml-cur2-00002.csv.gz",
                 billing_test::Deflate(header + "999,Org,Usage,2026-11-03T00:00:00Z,"
                                                "2026-11-03T01:00:00Z,2.5,USD,{}\n",
                                       true));
  std::filesystem::create_directories(root + "/ml-cur2/metadata/BILLING_PERIOD=2026-11");
  ASSERT_OK_AND_ASSIGN(std::vector<BillingDelivery> d, FindBillingDeliveries(root));
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_FALSE(d[0].complete);
  WriteFileOrDie(
      root + "/ml-cur2/metadata/BILLING_PERIOD=2026-11/ml-cur2-Manifest.json",
      R"({"dataFiles": ["s3://b/ml-cur2/data/BILLING_PERIOD=2026-11/ml-cur2-00001.csv.gz",
                                   "s3://b/ml-cur2/data/BILLING_PERIOD=2026-11/ml-cur2-00002.csv.gz",
                                   "s3://b/ml-cur2/data/BILLING_PERIOD=2026-11/ml-cur2-00003.csv.gz"]})");
  ASSERT_OK_AND_ASSIGN(d, FindBillingDeliveries(root));
  EXPECT_FALSE(d[0].complete);
  EXPECT_THAT(d[0].incomplete_reason, HasSubstr("1 of 3 files the manifest lists are missing"));
  WriteFileOrDie(root + "/ml-cur2/metadata/BILLING_PERIOD=2026-11/ml-cur2-Manifest.json",
                 R"({"dataFiles": ["ml-cur2-00001.csv.gz", "ml-cur2-00002.csv.gz"]})");
  ASSERT_OK_AND_ASSIGN(ImportSummary s,
                       ImportBillingPath(db_.get(), "billing", root, ImportOptions()));
  ASSERT_THAT(s.sources, SizeIs(1));
  EXPECT_EQ(s.sources[0].key, "aws-cur2:999:2026-11:ml-cur2");
  EXPECT_EQ(s.rows_imported, 2u);
  EXPECT_EQ(s.totals.at("USD").billed_cost.ToString(), "4");
  ASSERT_OK_AND_ASSIGN(std::vector<SeriesInfo> series, db_->ListSeries("billing", "billing", {}));
  bool attributed = false;
  for (const SeriesInfo& si : series) {
    for (const Tag& t : si.tags) attributed |= t.key == "run_id" && t.value == "r9";
  }
  EXPECT_TRUE(attributed);
}

TEST_F(BillingImportTest, TagsAreNormalisedAndAttributed) {
  const std::string csv =
      "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ProviderName,"
      "BillingAccountId,SubAccountId,Tags\n"
      "1,USD,2026-11-03T05:00:00Z,2026-11-03T06:00:00Z,Microsoft,/providers/x:y,sub,"
      "\"{\"\"org\"\": \"\"a\"\", \"\" org\"\": \"\"b\"\", \"\"metaflow.run_id\"\": "
      "\"\"TrainFlow/17\"\", "
      "\"\"note\"\": \"\"line1\\nline2\"\"}\"\n";
  ASSERT_OK_AND_ASSIGN(ImportSummary s,
                       ImportBillingBuffer(db_.get(), "billing", "t.csv", csv, ImportOptions()));
  EXPECT_EQ(s.sources[0].key, "focus-azure:/providers/x%3Ay:2026-11:t");
  ASSERT_OK_AND_ASSIGN(std::vector<SeriesInfo> series, db_->ListSeries("billing", "billing", {}));
  ASSERT_THAT(series, SizeIs(1));
  std::map<std::string, std::string> tags;
  for (const Tag& t : series[0].tags) tags[t.key] = t.value;
  EXPECT_EQ(tags["cloud"], "azure");
  EXPECT_EQ(tags["tag_org"], "a");  // the first of near-duplicate keys wins
  EXPECT_EQ(tags["tag_metaflow.run_id"], "TrainFlow/17");
  EXPECT_EQ(tags["run_id"], "TrainFlow/17");
  EXPECT_EQ(tags["tag_note"], "line1 line2");
  EXPECT_EQ(tags["charge_category"], "usage");
  EXPECT_EQ(tags["source"], s.sources[0].key);
  EXPECT_EQ(tags.count("resource"), 0u);
}

TEST(BillingSourceKeyTest, PartsAreEscaped) {
  EXPECT_EQ(MakeBillingSourceKey("aws-cur", "1:2", "2026-11", "a%b"),
            "aws-cur:1%3A2:2026-11:a%25b");
  EXPECT_EQ(MakeBillingSourceKey("gcp", "", "2026-11", "x"), "gcp:unknown:2026-11:x");
  EXPECT_EQ(ExportNameOf("/a/b/koku-local-1.csv.gz"), "koku-local-1");
  EXPECT_EQ(ExportNameOf("r.zip!inner.csv"), "r");
  EXPECT_EQ(ExportNameOf("x.CSV.GZ"), "x");
}

}  // namespace
}  // namespace burnrate
