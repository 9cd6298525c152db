// Imports every file of shared/data/real into a fresh database and checks the stored
// billed and effective cost per (billing account, account, currency, day) against totals
// computed here from the files themselves, to the last digit (1e-10).

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "burnrate/db.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/billing_import.h"
#include "tests/ingest/billing_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::billing_test::AddRowToDays;
using ::burnrate::billing_test::Amounts;
using ::burnrate::billing_test::DayKey;
using ::burnrate::billing_test::DecimalUnits;
using ::burnrate::billing_test::DescribeDay;
using ::burnrate::billing_test::Gunzip;
using ::burnrate::billing_test::kDayNs;
using ::burnrate::billing_test::ParseCsvSimple;
using ::burnrate::billing_test::ParseTimeSimple;
using ::burnrate::billing_test::ReadFileOrDie;
using ::burnrate::testing::StatusIs;
using ::testing::HasSubstr;

const std::string kRealDir = std::string(BURNRATE_SHARED_DIR) + "/data/real";

// Columns of one file by name (exact header text).
class Table {
 public:
  explicit Table(std::vector<std::vector<std::string>> rows) : rows_(std::move(rows)) {
    for (size_t i = 0; i < rows_[0].size(); ++i) index_.emplace(rows_[0][i], i);
  }
  size_t size() const { return rows_.size() - 1; }
  bool Has(const std::string& column) const { return index_.count(column) > 0; }
  // The cell of data row r (0-based) in the first of columns the header has; "" if none.
  std::string Get(size_t r, std::initializer_list<std::string> columns) const {
    for (const std::string& c : columns) {
      auto it = index_.find(c);
      if (it == index_.end()) continue;
      const std::vector<std::string>& row = rows_[r + 1];
      std::string v = it->second < row.size() ? row[it->second] : "";
      while (!v.empty() && v.back() == ' ') v.pop_back();
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      if (v == "NULL" || v == "null") v.clear();
      return v;
    }
    return "";
  }

 private:
  std::vector<std::vector<std::string>> rows_;
  std::map<std::string, size_t> index_;
};

Table Load(const std::string& path) {
  std::string text = ReadFileOrDie(path);
  if (path.ends_with(".gz")) text = Gunzip(text);
  return Table(ParseCsvSimple(text));
}

std::optional<__int128> Money(const std::string& text) { return DecimalUnits(text); }

struct ExpectedRow {
  std::string billing_account, account, currency;
  std::optional<int64_t> start, end;
  std::optional<__int128> billed, effective;
};

// AWS CUR, legacy names or the Athena snake_case ones.
std::vector<ExpectedRow> CurRows(const Table& t) {
  std::vector<ExpectedRow> rows;
  for (size_t r = 0; r < t.size(); ++r) {
    ExpectedRow e;
    e.billing_account = t.Get(r, {"bill/PayerAccountId", "bill_payer_account_id"});
    e.account = t.Get(r, {"lineItem/UsageAccountId", "line_item_usage_account_id"});
    e.currency = t.Get(r, {"lineItem/CurrencyCode", "line_item_currency_code"});
    e.start = ParseTimeSimple(t.Get(r, {"lineItem/UsageStartDate", "line_item_usage_start_date"}));
    e.end = ParseTimeSimple(t.Get(r, {"lineItem/UsageEndDate", "line_item_usage_end_date"}));
    e.billed = Money(t.Get(r, {"lineItem/UnblendedCost", "line_item_unblended_cost"}));
    const std::string type = t.Get(r, {"lineItem/LineItemType", "line_item_line_item_type"});
    if (type == "SavingsPlanCoveredUsage") {
      e.effective = Money(t.Get(r, {"savingsPlan/SavingsPlanEffectiveCost"}));
    } else {
      EXPECT_TRUE(type == "Usage" || type == "Tax")
          << "line item type the test does not model: " << type;
      e.effective = e.billed;
    }
    rows.push_back(e);
  }
  return rows;
}

std::vector<ExpectedRow> FocusRows(const Table& t) {
  std::vector<ExpectedRow> rows;
  for (size_t r = 0; r < t.size(); ++r) {
    ExpectedRow e;
    e.billing_account = t.Get(r, {"BillingAccountId"});
    e.account = t.Get(r, {"SubAccountId"});
    e.currency = t.Get(r, {"BillingCurrency", "BilledCurrency"});
    if (e.currency.empty()) e.currency = "XXX";
    e.start = ParseTimeSimple(t.Get(r, {"ChargePeriodStart"}));
    const std::string end = t.Get(r, {"ChargePeriodEnd"});
    e.end = end.empty() ? e.start : ParseTimeSimple(end);
    e.billed = Money(t.Get(r, {"BilledCost"}));
    e.effective = Money(t.Get(r, {"EffectiveCost", "AmortizedCost"}));
    rows.push_back(e);
  }
  return rows;
}

std::vector<ExpectedRow> AzureRows(const Table& t, bool amortized) {
  const bool mca = t.Has("costInPricingCurrency");
  std::vector<ExpectedRow> rows;
  for (size_t r = 0; r < t.size(); ++r) {
    ExpectedRow e;
    e.billing_account =
        mca ? t.Get(r, {"billingProfileId"}) : t.Get(r, {"BillingAccountId", "SubscriptionGuid"});
    e.account = t.Get(r, {"SubscriptionId", "subscriptionId", "SubscriptionGuid"});
    e.currency =
        t.Get(r, {"BillingCurrency", "BillingCurrencyCode", "billingCurrency", "Currency"});
    e.start = ParseTimeSimple(t.Get(r, {"Date", "date", "UsageDateTime"}));
    if (e.start) e.end = *e.start + kDayNs;
    const std::optional<__int128> cost =
        Money(t.Get(r, {"Cost", "CostInBillingCurrency", "costInBillingCurrency", "PreTaxCost"}));
    (amortized ? e.effective : e.billed) = cost;
    rows.push_back(e);
  }
  return rows;
}

std::vector<ExpectedRow> GcpRows(const Table& t) {
  const std::regex amount_re("'amount': (-?[0-9.eE+-]+)");
  std::vector<ExpectedRow> rows;
  for (size_t r = 0; r < t.size(); ++r) {
    ExpectedRow e;
    e.billing_account = t.Get(r, {"billing_account_id"});
    e.account = t.Get(r, {"project.id"});
    e.currency = t.Get(r, {"currency"});
    e.start = ParseTimeSimple(t.Get(r, {"usage_start_time"}));
    e.end = ParseTimeSimple(t.Get(r, {"usage_end_time"}));
    __int128 net = Money(t.Get(r, {"cost"})).value();
    const std::string credits = t.Get(r, {"credits"});
    for (std::sregex_iterator it(credits.begin(), credits.end(), amount_re), end; it != end; ++it) {
      net += Money((*it)[1].str()).value();
    }
    e.billed = e.effective = net;
    rows.push_back(e);
  }
  return rows;
}

std::vector<ExpectedRow> OciRows(const Table& t) {
  std::vector<ExpectedRow> rows;
  for (size_t r = 0; r < t.size(); ++r) {
    ExpectedRow e;
    e.billing_account = t.Get(r, {"lineItem/tenantId"});
    e.account = t.Get(r, {"product/compartmentId"});
    e.currency = t.Get(r, {"cost/currencyCode"});
    e.start = ParseTimeSimple(t.Get(r, {"lineItem/intervalUsageStart"}));
    e.end = ParseTimeSimple(t.Get(r, {"lineItem/intervalUsageEnd"}));
    e.billed = e.effective = Money(t.Get(r, {"cost/myCost"}));
    rows.push_back(e);
  }
  return rows;
}

struct RealFile {
  std::string path;  // relative to kRealDir
  std::function<std::vector<ExpectedRow>(const Table&)> rows;
};

std::vector<RealFile> RealFiles() {
  std::vector<RealFile> files = {
      {"aws-cur-legacy-focus-converters/sample-anonymous-aws-export-dataset.csv", CurRows},
      {"aws-cur-legacy-koku/test_cur.csv", CurRows},
      {"aws-cur-legacy-koku/2023-06-01.csv", CurRows},
      {"aws-cur-legacy-koku/2022-07-01-alt-columns.csv", CurRows},
      {"aws-cur-legacy-koku-delivery/koku-local/20180801-20180901/"
       "16e57707-f9e3-49be-8be6-b84e684b5194/koku-local-1.csv.gz",
       CurRows},
      {"azure-ea-finops-toolkit/EA_ActualCost_Small.csv",
       [](const Table& t) { return AzureRows(t, false); }},
      {"azure-ea-finops-toolkit/EA_AmortizedCost_Small.csv",
       [](const Table& t) { return AzureRows(t, true); }},
      {"azure-ea-focus-converters/sample-anonymous-ea-export-dataset.csv",
       [](const Table& t) { return AzureRows(t, false); }},
      {"azure-koku/azure_version_2.csv", [](const Table& t) { return AzureRows(t, false); }},
      {"azure-koku/camel_azure_version_2.csv", [](const Table& t) { return AzureRows(t, false); }},
      {"azure-koku/costreport_a243c6f2-199f-4074-9a2c-40e671cf1584.csv",
       [](const Table& t) { return AzureRows(t, false); }},
      {"focus-sample-data/focus_sample.csv", FocusRows},
      {"focus-validator/all_pass_0.5.csv", FocusRows},
      {"gcp-koku/202011_30c31bca571d9b7f3b2c8459dd8bc34a_2020-11-08_2020-11-11.csv", GcpRows},
      {"gcp-koku/2022-08-01_5.csv", GcpRows},
      {"oci-focus-converters/reports_cost-csv_0000000030000269.csv", OciRows},
  };
  std::vector<std::string> spec;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(kRealDir + "/focus-spec-examples")) {
    if (e.is_regular_file() && e.path().extension() == ".csv") {
      spec.push_back(std::filesystem::relative(e.path(), kRealDir).string());
    }
  }
  std::sort(spec.begin(), spec.end());
  EXPECT_EQ(spec.size(), 26u);
  for (const std::string& p : spec) files.push_back({p, FocusRows});
  return files;
}

class RealDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::is_directory(kRealDir)) << kRealDir;
    Options o;
    o.info_log = [](std::string_view) {};
    o.file_system = billing_test::NoSyncFileSystem::Get();  // fsync is not under test
    ASSERT_OK_AND_ASSIGN(db_, Db::Open(dir_.Sub("db"), o));
  }

  testing::TempDir dir_;
  std::unique_ptr<Db> db_;
};

// Every real billing file is accounted for: imported and checked below, or refused
// on purpose.
TEST_F(RealDataTest, EveryFileIsCovered) {
  std::set<std::string> covered;
  for (const RealFile& f : RealFiles()) covered.insert(f.path);
  covered.insert("focus-validator/sample.parquet");
  covered.insert("azure-ea-finops-toolkit/open-data_PricingUnits.csv");
  covered.insert("SOURCES.md");
  // The CUR delivery's two manifests are read as part of its delivery.
  covered.insert(
      "aws-cur-legacy-koku-delivery/koku-local/20180801-20180901/koku-local-Manifest.json");
  covered.insert(
      "aws-cur-legacy-koku-delivery/koku-local/20180801-20180901/"
      "16e57707-f9e3-49be-8be6-b84e684b5194/koku-local-Manifest.json");
  for (const auto& e : std::filesystem::recursive_directory_iterator(kRealDir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = std::filesystem::relative(e.path(), kRealDir).string();
    EXPECT_TRUE(covered.count(rel) == 1) << "not covered by the test: " << rel;
  }
}

TEST_F(RealDataTest, ParquetIsRefusedWithAClearMessage) {
  EXPECT_THAT(ImportBillingPath(db_.get(), "billing", kRealDir + "/focus-validator/sample.parquet",
                                ImportOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Parquet input is not supported yet: " + kRealDir +
                                 "/focus-validator/sample.parquet; export CSV")));
}

// PricingUnits.csv maps Azure units of measure to FOCUS pricing units: reference data with
// no charges, periods or costs, so it is not a billing file and must be refused as such.
TEST_F(RealDataTest, ReferenceDataIsNotABillingFile) {
  EXPECT_THAT(
      ImportBillingPath(db_.get(), "billing",
                        kRealDir + "/azure-ea-finops-toolkit/open-data_PricingUnits.csv",
                        ImportOptions()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot tell the billing format")));
}

// Two FOCUS spec examples carry the invalid time 2023-02-01T30:00:00Z: by default the file is
// rejected naming the cell; with skip_bad_rows the other rows import.
TEST_F(RealDataTest, InvalidHourInSpecExampleIsReportedWithLineAndColumn) {
  const std::string path = kRealDir +
                           "/focus-spec-examples/commitment_discount_scenarios/"
                           "commitment_discount_purchase_scenario_2.csv";
  EXPECT_THAT(ImportBillingPath(db_.get(), "billing", path, ImportOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(path + ":4: column 4: ChargePeriodEnd: invalid timestamp "
                                        "\"2023-02-01T30:00:00Z\": hour out of range")));
  ImportOptions skip;
  skip.skip_bad_rows = true;
  ASSERT_OK_AND_ASSIGN(ImportSummary s, ImportBillingPath(db_.get(), "billing", path, skip));
  EXPECT_EQ(s.rows_read, 3u);
  EXPECT_EQ(s.rows_imported, 2u);
  EXPECT_EQ(s.rows_skipped, 1u);
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_EQ(s.errors[0].line, 4u);
  EXPECT_EQ(s.errors[0].column, 4u);
}

TEST_F(RealDataTest, DailyTotalsMatchTheFilesToTheLastDigit) {
  std::map<DayKey, Amounts> expected;
  size_t files = 0, rows = 0, skipped_rows = 0;
  std::map<std::string, std::pair<__int128, __int128>> per_currency;
  for (const RealFile& f : RealFiles()) {
    SCOPED_TRACE(f.path);
    const std::string path = kRealDir + "/" + f.path;
    ImportOptions options;
    options.skip_bad_rows = true;  // only the two invalid spec-example rows are bad
    ASSERT_OK_AND_ASSIGN(ImportSummary s, ImportBillingPath(db_.get(), "billing", path, options));
    const std::vector<ExpectedRow> expected_rows = f.rows(Load(path));
    size_t invalid = 0;
    for (const ExpectedRow& e : expected_rows) {
      if (!e.start || !e.end) {
        ++invalid;
        continue;
      }
      AddRowToDays(e.billing_account, e.account, e.currency, *e.start, std::max(*e.start, *e.end),
                   e.billed, e.effective, &expected);
      per_currency[e.currency].first += e.billed.value_or(0);
      per_currency[e.currency].second += e.effective.value_or(0);
    }
    EXPECT_EQ(s.rows_read, expected_rows.size());
    EXPECT_EQ(s.rows_skipped, invalid);
    EXPECT_EQ(s.rows_imported, expected_rows.size() - invalid);
    ++files;
    rows += s.rows_imported;
    skipped_rows += s.rows_skipped;
  }
  EXPECT_EQ(files, 42u);
  EXPECT_EQ(skipped_rows, 2u);

  const std::map<DayKey, Amounts> actual = billing_test::DayTotalsFromDb(db_.get(), "billing");
  EXPECT_EQ(actual.size(), expected.size());
  size_t mismatches = 0;
  for (const auto& [key, want] : expected) {
    auto it = actual.find(key);
    if (it == actual.end() || !(it->second == want)) {
      if (++mismatches <= 10) {
        ADD_FAILURE() << "want " << DescribeDay(key, want) << "\n got "
                      << (it == actual.end() ? std::string("nothing")
                                             : DescribeDay(key, it->second));
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
  for (const auto& [key, got] : actual) {
    if (expected.count(key) == 0) ADD_FAILURE() << "unexpected " << DescribeDay(key, got);
  }
  // Printed for the record (the closing note quotes them).
  std::printf("imported %zu rows of %zu files; per currency (billed / effective):\n", rows, files);
  for (const auto& [currency, t] : per_currency) {
    std::printf("  %s %s / %s\n", currency.c_str(), billing_test::UnitsText(t.first).c_str(),
                billing_test::UnitsText(t.second).c_str());
  }
}

// The S3 delivery folder imports as one source keyed by the manifest's account, period and
// report name, and a second import of the same delivery replaces it.
TEST_F(RealDataTest, CurDeliveryFolderIsOneSource) {
  const std::string root = kRealDir + "/aws-cur-legacy-koku-delivery";
  ASSERT_OK_AND_ASSIGN(std::vector<BillingDelivery> deliveries, FindBillingDeliveries(root));
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_TRUE(deliveries[0].complete);
  EXPECT_EQ(deliveries[0].id, "koku-local/20180801-20180901");
  ASSERT_EQ(deliveries[0].files.size(), 1u);
  ASSERT_OK_AND_ASSIGN(ImportSummary first,
                       ImportBillingPath(db_.get(), "billing", root, ImportOptions()));
  ASSERT_EQ(first.sources.size(), 1u);
  EXPECT_EQ(first.sources[0].key, "aws-cur:6568388779672:2018-08:koku-local");
  EXPECT_FALSE(first.sources[0].replaced);
  EXPECT_EQ(first.rows_imported, 13380u);
  ASSERT_OK_AND_ASSIGN(ImportSummary second,
                       ImportBillingPath(db_.get(), "billing", root, ImportOptions()));
  EXPECT_TRUE(second.sources[0].replaced);
  ASSERT_OK_AND_ASSIGN(std::vector<SourceInfo> sources, db_->ListSources("billing"));
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].points, 13380u);
  EXPECT_EQ(first.totals.at("USD").billed_cost, second.totals.at("USD").billed_cost);
}

}  // namespace
}  // namespace burnrate
