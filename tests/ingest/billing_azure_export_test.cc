// Azure Cost Management export deliveries: runs found through manifest.json, imported as one
// replace-by-source per partition (scope, dataset, month), the newest run winning.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/str_cat.h"
#include "burnrate/db.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/billing_import.h"
#include "ingest/billing_watch.h"
#include "tests/ingest/billing_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::billing_test::Amounts;
using ::burnrate::billing_test::DayTotalsFromDb;
using ::burnrate::billing_test::Deflate;
using ::burnrate::billing_test::ParseCsvSimple;
using ::burnrate::billing_test::ReadFileOrDie;
using ::burnrate::billing_test::WriteFileOrDie;
using ::testing::HasSubstr;
using Action = WatchDecision::Action;

constexpr char kScope[] = "/subscriptions/1CAAA5A3-2b66-438e-8ab4-bce37d518c5d";
constexpr char kScopeLower[] = "/subscriptions/1caaa5a3-2b66-438e-8ab4-bce37d518c5d";
constexpr char kRun1[] = "11111111-aaaa-4bbb-8ccc-000000000001";
constexpr char kRun2[] = "22222222-aaaa-4bbb-8ccc-000000000002";

std::string RealFile(const std::string& name) {
  return StrCat(BURNRATE_SHARED_DIR, "/data/real/azure-ea-finops-toolkit/", name);
}

// The header line and the row lines of a real sample (which has no quoted line breaks).
struct Sample {
  std::string header;
  std::vector<std::string> rows;
  int cost_column = -1;
};

Sample LoadSample(const std::string& name) {
  const std::string text = ReadFileOrDie(RealFile(name));
  Sample s;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start + 1);
    start = nl + 1;
    if (line.find_first_not_of("\r\n") == std::string::npos) continue;
    if (s.header.empty()) {
      s.header = line;
    } else {
      s.rows.push_back(line);
    }
  }
  EXPECT_EQ(ParseCsvSimple(text).size(), s.rows.size() + 1) << "a row spans lines";
  const std::vector<std::string> header = ParseCsvSimple(s.header)[0];
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "Cost" || header[i] == "CostInBillingCurrency") {
      s.cost_column = static_cast<int>(i);
    }
  }
  EXPECT_GE(s.cost_column, 0);
  return s;
}

// Sum of the cost column of rows [from, to), computed here, not by the importer.
__int128 CostOf(const Sample& s, size_t from, size_t to) {
  __int128 sum = 0;
  for (size_t i = from; i < to; ++i) {
    const std::vector<std::string> fields = ParseCsvSimple(s.rows[i])[0];
    sum += billing_test::DecimalUnits(fields[static_cast<size_t>(s.cost_column)]).value_or(0);
  }
  return sum;
}

std::string Csv(const Sample& s, size_t from, size_t to) {
  std::string csv = s.header;
  for (size_t i = from; i < to; ++i) csv += s.rows[i];
  return csv;
}

struct Blob {
  std::string name;
  std::string data;
  bool write = true;                // false: listed in the manifest but not (yet) written
  size_t written_bytes = SIZE_MAX;  // less than data.size(): a blob still being copied
};

// Writes one export run in Azure's layout,
// {root}/exports/{date-range}/{export}/{export-time}/{guid}/{blob} plus manifest.json,
// and returns the run folder.
std::string WriteRun(const std::string& root, const std::string& type, const std::string& run_id,
                     const std::string& submitted, const std::vector<Blob>& blobs,
                     bool write_manifest = true, std::string export_name = "") {
  if (export_name.empty()) export_name = "daily-" + type;
  const std::string export_time =
      StrCat(submitted.substr(0, 4), submitted.substr(5, 2), submitted.substr(8, 2),
             submitted.substr(11, 2), submitted.substr(14, 2));
  const std::string prefix =
      StrCat("exports/20230901-20230930/", export_name, "/", export_time, "/", run_id);
  const std::string dir = StrCat(root, "/", prefix);
  std::string list;
  for (const Blob& b : blobs) {
    if (b.write) {
      WriteFileOrDie(StrCat(dir, "/", b.name),
                     std::string_view(b.data).substr(0, std::min(b.written_bytes, b.data.size())));
    }
    StrAppend(&list, list.empty() ? "" : ",", "{\"blobName\": \"", prefix, "/", b.name,
              "\", \"byteCount\": ", b.data.size(), "}");
  }
  const bool parquet = !blobs.empty() && blobs[0].name.ends_with(".parquet");
  const std::string format = parquet ? "Parquet" : "Csv";
  if (write_manifest) {
    WriteFileOrDie(
        StrCat(dir, "/manifest.json"),
        StrCat(
            "{\"manifestVersion\": \"2024-04-01\", \"byteCount\": 0, \"blobCount\": ", blobs.size(),
            ", \"dataRowCount\": 0,\n \"exportConfig\": {\"exportName\": \"", export_name,
            "\", \"resourceId\": \"", kScope, "/providers/Microsoft.CostManagement/exports/",
            export_name,
            "\", \"dataVersion\": \"2021-10-01\", \"apiVersion\": \"2023-07-01-preview\", "
            "\"type\": \"",
            type,
            "\", \"timeFrame\": \"MonthToDate\", \"granularity\": \"Daily\"},\n"
            " \"deliveryConfig\": {\"partitionData\": true, \"dataOverwriteBehavior\": "
            "\"CreateNewReport\", \"fileFormat\": \"",
            format,
            "\", \"containerUri\": \"/x\", "
            "\"rootFolderPath\": \"exports\"},\n \"runInfo\": {\"executionType\": \"Scheduled\", "
            "\"submittedTime\": \"",
            submitted.substr(0, 19), ".1032074Z\", \"runId\": \"", run_id,
            "\", \"startDate\": \"2023-09-01T00:00:00\", \"endDate\": \"2023-09-30T00:00:00\"},\n"
            " \"blobs\": [",
            list, "]}\n"));
  }
  return dir;
}

class AzureExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.info_log = [](std::string_view) {};
    o.file_system = billing_test::NoSyncFileSystem::Get();  // fsync is not under test
    ASSERT_OK_AND_ASSIGN(db_, Db::Open(dir_.Sub("db"), o));
    std::filesystem::create_directories(inbox());
  }

  std::string inbox() const { return dir_.Sub("inbox"); }

  Amounts Totals() {
    Amounts sum;
    for (const auto& [key, a] : DayTotalsFromDb(db_.get(), "billing")) {
      sum.billed += a.billed;
      sum.effective += a.effective;
    }
    return sum;
  }

  std::vector<std::string> SourceKeys() {
    std::vector<std::string> keys;
    auto sources = db_->ListSources("billing");
    if (sources.ok()) {
      for (const SourceInfo& s : *sources) keys.push_back(s.key);
    }
    return keys;
  }

  testing::TempDir dir_;
  std::unique_ptr<Db> db_;
  const Sample actual_ = LoadSample("EA_ActualCost_Small.csv");
  const Sample amortized_ = LoadSample("EA_AmortizedCost_Small.csv");
};

std::string PartitionKey(const std::string& provider, const std::string& type) {
  // The scope is the export's resource id without its exports/<name> suffix, lowercased.
  return MakeBillingSourceKey(provider, kScopeLower, "2023-09",
                              type == "ActualCost" ? "actualcost" : "amortizedcost");
}

TEST_F(AzureExportTest, ImportsATwoBlobDeliveryAsOneSource) {
  const size_t n = actual_.rows.size();
  ASSERT_GE(n, 4u);
  WriteRun(inbox(), "ActualCost", kRun1, "2023-10-01T06:00:00Z",
           {{"part_0_0001.csv", Csv(actual_, 0, n / 2)},
            {"part_1_0001.csv.gz", Deflate(Csv(actual_, n / 2, n), true)}});

  ASSERT_OK_AND_ASSIGN(const std::vector<BillingDelivery> found, FindBillingDeliveries(inbox()));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, "exports/20230901-20230930/daily-ActualCost");
  EXPECT_TRUE(found[0].complete) << found[0].incomplete_reason;
  EXPECT_EQ(found[0].files.size(), 2u);

  ASSERT_OK_AND_ASSIGN(const ImportSummary s,
                       ImportBillingPath(db_.get(), "billing", inbox(), ImportOptions{}));
  EXPECT_EQ(s.rows_imported, n);
  ASSERT_EQ(s.sources.size(), 1u);
  EXPECT_EQ(s.sources[0].key, PartitionKey("azure-actual", "ActualCost"));
  EXPECT_THAT(SourceKeys(), ::testing::ElementsAre(PartitionKey("azure-actual", "ActualCost")));
  // The dataset comes from the manifest: actual cost is billed cost only.
  const Amounts totals = Totals();
  EXPECT_EQ(billing_test::UnitsText(totals.billed), billing_test::UnitsText(CostOf(actual_, 0, n)));
  EXPECT_EQ(totals.effective, 0);
}

TEST_F(AzureExportTest, NewerRunReplacesTheOlderOne) {
  const size_t n = amortized_.rows.size();
  ASSERT_GE(n, 6u);
  // The file names do not say "amortized": the manifest's exportConfig.type does.
  WriteRun(inbox(), "AmortizedCost", kRun1, "2023-10-01T06:00:00Z",
           {{"part_0_0001.csv", Csv(amortized_, 0, n / 2)},
            {"part_1_0001.csv", Csv(amortized_, n / 2, n)}});
  ASSERT_OK_AND_ASSIGN(ImportSummary s,
                       ImportBillingPath(db_.get(), "billing", inbox(), ImportOptions{}));
  EXPECT_EQ(Totals().effective, CostOf(amortized_, 0, n));
  EXPECT_EQ(Totals().billed, 0);

  // A later run of the same partition (CreateNewReport keeps the old folder) restates it
  // with fewer rows; a re-import reads the newest run only and replaces the source.
  WriteRun(inbox(), "AmortizedCost", kRun2, "2023-10-02T06:00:00Z",
           {{"part_0_0001.csv", Csv(amortized_, 2, n - 1)},
            {"part_1_0001.csv.gz", Deflate(Csv(amortized_, 0, 1), true)}});
  ASSERT_OK_AND_ASSIGN(s, ImportBillingPath(db_.get(), "billing", inbox(), ImportOptions{}));
  EXPECT_EQ(s.rows_imported, n - 3 + 1);
  ASSERT_EQ(s.sources.size(), 1u);
  EXPECT_TRUE(s.sources[0].replaced);
  EXPECT_THAT(SourceKeys(),
              ::testing::ElementsAre(PartitionKey("azure-amortized", "AmortizedCost")));
  const __int128 want = CostOf(amortized_, 2, n - 1) + CostOf(amortized_, 0, 1);
  EXPECT_EQ(billing_test::UnitsText(Totals().effective), billing_test::UnitsText(want));
  EXPECT_NE(want, CostOf(amortized_, 0, n));

  // A fresh database importing the folder with both runs gets the newer only.
  Options o;
  o.info_log = [](std::string_view) {};
  o.file_system = billing_test::NoSyncFileSystem::Get();
  ASSERT_OK_AND_ASSIGN(db_, Db::Open(dir_.Sub("db2"), o));
  ASSERT_OK_AND_ASSIGN(s, ImportBillingPath(db_.get(), "billing", inbox(), ImportOptions{}));
  EXPECT_EQ(Totals().effective, want);
  EXPECT_THAT(s.notes, ::testing::Contains(HasSubstr("1 older run of the same partition")));
}

TEST_F(AzureExportTest, AnotherExportOfThePartitionReplacesToo) {
  // Two exports of one scope, dataset and month would count every charge twice: the newest
  // run of either is the partition's data.
  const size_t n = actual_.rows.size();
  WriteRun(inbox(), "ActualCost", kRun1, "2023-10-01T06:00:00Z",
           {{"part_0_0001.csv", Csv(actual_, 0, n)}});
  WriteRun(inbox(), "ActualCost", kRun2, "2023-10-03T06:00:00Z",
           {{"part_0_0001.csv", Csv(actual_, 0, n - 2)}}, true, "monthly-close");
  ASSERT_OK_AND_ASSIGN(const std::vector<BillingDelivery> found, FindBillingDeliveries(inbox()));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, "exports/20230901-20230930/monthly-close");
  ASSERT_OK_AND_ASSIGN(const ImportSummary s,
                       ImportBillingPath(db_.get(), "billing", inbox(), ImportOptions{}));
  EXPECT_EQ(s.rows_imported, n - 2);
  EXPECT_EQ(Totals().billed, CostOf(actual_, 0, n - 2));
  EXPECT_THAT(SourceKeys(), ::testing::ElementsAre(PartitionKey("azure-actual", "ActualCost")));
}

TEST_F(AzureExportTest, WatchWaitsForEveryBlobInFull) {
  WatchOptions options;
  options.state_path = dir_.Sub("watch.state");
  options.now = [] { return INT64_MAX / 2; };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<BillingWatcher> watcher,
                       BillingWatcher::Open(db_.get(), "billing", inbox(), options));
  auto poll = [&] {
    std::map<std::string, WatchDecision> out;
    auto decisions = watcher->PollOnce();
    EXPECT_TRUE(decisions.ok()) << decisions.status();
    if (decisions.ok()) {
      for (WatchDecision& d : *decisions) out[d.delivery] = std::move(d);
    }
    return out;
  };
  const size_t n = actual_.rows.size();
  const std::string id = "exports/20230901-20230930/daily-ActualCost";
  const Blob first{"part_0_0001.csv", Csv(actual_, 0, n / 2)};
  const Blob second{"part_1_0001.csv", Csv(actual_, n / 2, n)};

  // Blobs arrive before the manifest: the run folder waits.
  const std::string run_dir =
      WriteRun(inbox(), "ActualCost", kRun1, "2023-10-01T06:00:00Z", {first}, false);
  auto d = poll();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.begin()->second.action, Action::kIncomplete);
  EXPECT_THAT(d.begin()->second.message, HasSubstr("without its manifest.json"));

  // The manifest names a blob that is missing, then one that is short.
  Blob missing = second;
  missing.write = false;
  WriteRun(inbox(), "ActualCost", kRun1, "2023-10-01T06:00:00Z", {first, missing});
  d = poll();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[id].action, Action::kIncomplete);
  EXPECT_THAT(d[id].message, HasSubstr("1 of 2 blobs not there in full yet"));
  EXPECT_THAT(d[id].message, HasSubstr("part_1_0001.csv missing"));
  Blob short_blob = second;
  short_blob.written_bytes = second.data.size() / 2;
  WriteRun(inbox(), "ActualCost", kRun1, "2023-10-01T06:00:00Z", {first, short_blob});
  d = poll();
  EXPECT_EQ(d[id].action, Action::kIncomplete);
  EXPECT_THAT(d[id].message, HasSubstr(StrCat("has ", second.data.size() / 2, " of ",
                                              second.data.size(), " bytes")));
  EXPECT_TRUE(SourceKeys().empty());

  // Complete: imported once, both blobs together.
  WriteRun(inbox(), "ActualCost", kRun1, "2023-10-01T06:00:00Z", {first, second});
  d = poll();
  EXPECT_EQ(d[id].action, Action::kImported) << d[id].message;
  ASSERT_TRUE(d[id].summary.has_value());
  EXPECT_EQ(d[id].summary->rows_imported, n);
  EXPECT_EQ(Totals().billed, CostOf(actual_, 0, n));
  EXPECT_EQ(poll()[id].action, Action::kUnchanged);

  // A newer run is a new version of the same delivery.
  WriteRun(inbox(), "ActualCost", kRun2, "2023-10-02T06:00:00Z",
           {{"part_0_0001.csv", Csv(actual_, 1, n)}});
  d = poll();
  EXPECT_EQ(d[id].action, Action::kImported) << d[id].message;
  EXPECT_EQ(Totals().billed, CostOf(actual_, 1, n));
  EXPECT_THAT(SourceKeys(), ::testing::ElementsAre(PartitionKey("azure-actual", "ActualCost")));
}

TEST_F(AzureExportTest, MalformedManifestIsAnErrorNamingTheFile) {
  const std::string run_dir = WriteRun(inbox(), "ActualCost", kRun1, "2023-10-01T06:00:00Z",
                                       {{"part_0_0001.csv", Csv(actual_, 0, 2)}});
  WriteFileOrDie(run_dir + "/manifest.json", "{\"exportConfig\": {\"type\": \"ActualCost\",");
  auto s = ImportBillingPath(db_.get(), "billing", inbox(), ImportOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr(run_dir + "/manifest.json"));
  EXPECT_THAT(s.status().message(), HasSubstr("malformed Azure export manifest"));
  EXPECT_TRUE(SourceKeys().empty());  // its blobs are not imported on their own either

  WriteFileOrDie(run_dir + "/manifest.json",
                 "{\"exportConfig\": {\"type\": \"ActualCost\"}, \"runInfo\": {}, \"blobs\": []}");
  s = ImportBillingPath(db_.get(), "billing", inbox(), ImportOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("exportConfig.resourceId is missing"));
}

TEST_F(AzureExportTest, ParquetAndNonCostDatasetsAreClearErrors) {
  WriteRun(inbox(), "ActualCost", kRun1, "2023-10-01T06:00:00Z",
           {{"part_0_0001.snappy.parquet", "PAR1 not really parquet PAR1"}});
  auto s = ImportBillingPath(db_.get(), "billing", inbox(), ImportOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("Parquet input is not supported"));
  EXPECT_THAT(s.status().message(), HasSubstr("manifest.json"));

  std::filesystem::remove_all(inbox());
  WriteRun(inbox(), "PriceSheet", kRun1, "2023-10-01T06:00:00Z",
           {{"part_0_0001.csv", "a,b\n1,2\n"}});
  s = ImportBillingPath(db_.get(), "billing", inbox(), ImportOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("PriceSheet is not cost details"));
  EXPECT_TRUE(SourceKeys().empty());
}

}  // namespace
}  // namespace burnrate
