// POST /api/v1/import through HTTP: summaries, restatement, bad rows, auth, formats.

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "base/str_cat.h"
#include "burnrate/money.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/billing_import.h"
#include "nlohmann/json.hpp"
#include "server/gzip.h"
#include "tests/server/server_test_util.h"

namespace burnrate {
namespace {

using ::burnrate::testing::ServerTest;
using ::burnrate::testing::TestServerOptions;
using ::testing::HasSubstr;
using Json = nlohmann::json;

const std::string kRealDir = std::string(BURNRATE_SHARED_DIR) + "/data/real";

constexpr char kCurHeader[] =
    "identity/LineItemId,identity/TimeInterval,bill/PayerAccountId,bill/BillingPeriodStartDate,"
    "lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,"
    "lineItem/ProductCode,lineItem/UsageType,lineItem/ResourceId,lineItem/UsageAmount,"
    "lineItem/CurrencyCode,lineItem/UnblendedCost\n";

// A CUR file of November 2026 with `rows` hourly rows costing `cost` each.
std::string MakeCur(int rows, std::string_view cost) {
  std::string csv = kCurHeader;
  for (int i = 0; i < rows; ++i) {
    const int hour = i % 24;
    const std::string h0 = StrCat(hour < 10 ? "0" : "", hour);
    const std::string h1 = StrCat(hour + 1 < 10 ? "0" : "", hour + 1 == 24 ? 23 : hour + 1);
    const std::string start = StrCat("2026-11-02T", h0, ":00:00Z");
    const std::string end = StrCat("2026-11-02T", h1, hour + 1 == 24 ? ":59:59Z" : ":00:00Z");
    StrAppend(&csv, "li", i, ",", start, "/", end, ",111122223333,2026-11-01T00:00:00Z,",
              "444455556666,Usage,", start, ",", end, ",AmazonEC2,BoxUsage,i-", i, ",1,USD,", cost,
              "\n");
  }
  return csv;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ImportEndpointTest : public ServerTest {
 protected:
  // The sum of billed_cost stored in database "billing", as exact decimal text.
  std::string StoredBilledCost() {
    ScanRequest r;
    r.database = "billing";
    r.measurement = "billing";
    r.fields = {"billed_cost"};
    MoneySum sum;
    absl::Status s = db_->Scan(r, [&](const ScanBatch& b) {
      for (size_t i = 0; i < b.rows(); ++i) {
        if (b.columns[0].IsValid(i)) sum.Add(Money::FromUnits(b.columns[0].ints[i]));
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok() || absl::IsNotFound(s)) << s;
    return sum.ToString();
  }

  std::map<std::string, TimestampNs> Sources() {
    std::map<std::string, TimestampNs> out;
    auto sources = db_->ListSources("billing");
    EXPECT_TRUE(sources.ok() || absl::IsNotFound(sources.status())) << sources.status();
    if (sources.ok()) {
      for (const SourceInfo& s : *sources) out[s.key] = s.written_at;
    }
    return out;
  }
};

TEST_F(ImportEndpointTest, ImportsAFileAndAnswersTheSummary) {
  StartServer();
  ASSERT_OK_AND_ASSIGN(auto r, Client()->Post("/api/v1/import?name=nov.csv", MakeCur(24, "0.125")));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.Header("Content-Type"), HasSubstr("application/json"));
  const Json j = Json::parse(r.body);
  EXPECT_EQ(j["rows_imported"], 24);
  EXPECT_EQ(j["rows_skipped"], 0);
  EXPECT_EQ(j["formats"], Json::array({"cur"}));
  EXPECT_EQ(j["periods"], Json::array({"2026-11"}));
  EXPECT_EQ(j["totals"]["USD"]["billed_cost"], "3");
  ASSERT_EQ(j["sources"].size(), 1u);
  EXPECT_EQ(j["sources"][0]["key"], "aws-cur:111122223333:2026-11:nov");
  EXPECT_EQ(j["sources"][0]["replaced"], false);
  EXPECT_EQ(StoredBilledCost(), "3");
}

TEST_F(ImportEndpointTest, RealFilesPlainGzipAndContentEncodingMatchALocalImport) {
  const std::string cur = kRealDir +
                          "/aws-cur-legacy-focus-converters/"
                          "sample-anonymous-aws-export-dataset.csv";
  const std::string body = ReadFile(cur);
  ASSERT_FALSE(body.empty()) << cur;
  // The same bytes imported without HTTP, into a database of their own.
  ASSERT_OK_AND_ASSIGN(ImportSummary local,
                       ImportBillingBuffer(db_.get(), "local", "aws.csv", body, ImportOptions()));
  const Json expected = Json::parse(ImportSummaryToJson(local));

  StartServer();
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto plain, client->Post("/api/v1/import?name=aws.csv", body));
  ASSERT_EQ(plain.status, 200) << plain.body;
  const Json a = Json::parse(plain.body);
  EXPECT_EQ(a["rows_imported"], expected["rows_imported"]);
  EXPECT_EQ(a["totals"], expected["totals"]);
  EXPECT_EQ(a["periods"], expected["periods"]);

  // A .csv.gz file as the body, and the CSV sent with Content-Encoding: gzip, restate it.
  ASSERT_OK_AND_ASSIGN(auto gz, client->Post("/api/v1/import?name=aws.csv", Gzip(body)));
  ASSERT_EQ(gz.status, 200) << gz.body;
  EXPECT_EQ(Json::parse(gz.body)["totals"], expected["totals"]);
  ASSERT_OK_AND_ASSIGN(auto encoded, client->Post("/api/v1/import?name=aws.csv", Gzip(body),
                                                  {{"Content-Encoding", "gzip"}}));
  ASSERT_EQ(encoded.status, 200) << encoded.body;
  const Json c = Json::parse(encoded.body);
  EXPECT_EQ(c["totals"], expected["totals"]);
  EXPECT_EQ(c["source_bytes"], Gzip(body).size());
  EXPECT_EQ(c["csv_bytes"], body.size());
  for (const Json& s : c["sources"]) EXPECT_EQ(s["replaced"], true) << s;

  // The CUR delivery of the koku sample, a gzip part sent as it is stored.
  const std::string part = ReadFile(kRealDir +
                                    "/aws-cur-legacy-koku-delivery/koku-local/20180801-20180901/"
                                    "16e57707-f9e3-49be-8be6-b84e684b5194/koku-local-1.csv.gz");
  ASSERT_OK_AND_ASSIGN(auto koku, client->Post("/api/v1/import?name=koku-local-1.csv.gz", part));
  ASSERT_EQ(koku.status, 200) << koku.body;
  EXPECT_GT(Json::parse(koku.body)["rows_imported"].get<int>(), 0);
}

TEST_F(ImportEndpointTest, NewerDeliveryReplacesThePreviousVersion) {
  StartServer();
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(
      auto first, client->Post("/api/v1/import?name=nov.csv&db=billing", MakeCur(24, "0.125")));
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_OK_AND_ASSIGN(auto second,
                       client->Post("/api/v1/import?name=nov.csv", MakeCur(10, "0.5")));
  ASSERT_EQ(second.status, 200) << second.body;
  const Json j = Json::parse(second.body);
  ASSERT_EQ(j["sources"].size(), 1u);
  EXPECT_EQ(j["sources"][0]["replaced"], true);
  EXPECT_TRUE(j["sources"][0].contains("replaced_written_at"));
  EXPECT_EQ(StoredBilledCost(), "5");
  EXPECT_EQ(Sources().size(), 1u);
}

TEST_F(ImportEndpointTest, BadRowIs400WithLineAndColumnAndThePreviousVersionStaysLive) {
  StartServer();
  auto client = Client();
  ASSERT_OK_AND_ASSIGN(auto good, client->Post("/api/v1/import?name=nov.csv", MakeCur(24, "1")));
  ASSERT_EQ(good.status, 200) << good.body;
  const auto before = Sources();

  std::string bad = MakeCur(5, "2");
  const size_t pos = bad.find(",2\n", bad.find("li2,"));
  bad.replace(pos, 3, ",2x\n");  // row li2 is on line 4; UnblendedCost is column 14
  ASSERT_OK_AND_ASSIGN(auto r, client->Post("/api/v1/import?name=nov.csv", bad));
  EXPECT_EQ(r.status, 400) << r.body;
  const Json j = Json::parse(r.body);
  EXPECT_EQ(j["line"], 4);
  EXPECT_EQ(j["column"], 14);
  EXPECT_EQ(j["file"], "nov.csv");
  EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("nov.csv:4: column 14:"));
  EXPECT_EQ(StoredBilledCost(), "24");
  EXPECT_EQ(Sources(), before);

  // With skip_bad_rows the other rows are imported and the bad one reported.
  ASSERT_OK_AND_ASSIGN(auto skipped,
                       client->Post("/api/v1/import?name=nov.csv&skip_bad_rows=true", bad));
  ASSERT_EQ(skipped.status, 200) << skipped.body;
  const Json s = Json::parse(skipped.body);
  EXPECT_EQ(s["rows_skipped"], 1);
  EXPECT_EQ(s["errors"][0]["line"], 4);
  EXPECT_EQ(StoredBilledCost(), "8");
}

TEST_F(ImportEndpointTest, BrokenCsvStructureNamesLineAndColumn) {
  StartServer();
  std::string csv = MakeCur(3, "1");
  csv += "\"unterminated,quote\n";
  ASSERT_OK_AND_ASSIGN(auto r, Client()->Post("/api/v1/import?name=x.csv", csv));
  EXPECT_EQ(r.status, 400) << r.body;
  const Json j = Json::parse(r.body);
  EXPECT_EQ(j["line"], 5);
  EXPECT_EQ(j["column"], 1);
}

TEST_F(ImportEndpointTest, ParametersAndBodiesThatCannotBeImported) {
  ServerOptions options = TestServerOptions();
  options.max_import_body_bytes = 4096;
  StartServer(options);
  auto client = Client();

  ASSERT_OK_AND_ASSIGN(auto format, client->Post("/api/v1/import?format=xls", MakeCur(1, "1")));
  EXPECT_EQ(format.status, 400);
  EXPECT_THAT(format.body, HasSubstr("xls"));

  ASSERT_OK_AND_ASSIGN(auto wrong, client->Post("/api/v1/import?format=gcp", MakeCur(1, "1")));
  EXPECT_EQ(wrong.status, 400) << wrong.body;

  ASSERT_OK_AND_ASSIGN(auto parquet,
                       client->Post("/api/v1/import?name=focus.parquet", "PAR1\x15\x04PAR1"));
  EXPECT_EQ(parquet.status, 400);
  EXPECT_THAT(Json::parse(parquet.body)["error"].get<std::string>(),
              HasSubstr("Parquet input is not supported yet: focus.parquet; export CSV"));
  ASSERT_OK_AND_ASSIGN(auto magic, client->Post("/api/v1/import?name=data", "PAR1\x15\x04PAR1"));
  EXPECT_EQ(magic.status, 400);
  EXPECT_THAT(magic.body, HasSubstr("Parquet input is not supported yet"));

  ASSERT_OK_AND_ASSIGN(
      auto encoding, client->Post("/api/v1/import", MakeCur(1, "1"), {{"Content-Encoding", "br"}}));
  EXPECT_EQ(encoding.status, 415);

  ASSERT_OK_AND_ASSIGN(auto big, Client()->Post("/api/v1/import", MakeCur(100, "1")));
  EXPECT_EQ(big.status, 413);
  EXPECT_THAT(big.body, HasSubstr("4096"));

  ASSERT_OK_AND_ASSIGN(auto get, Client()->Get("/api/v1/import"));
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.Header("Allow"), "POST");
  EXPECT_TRUE(Sources().empty());
}

TEST_F(ImportEndpointTest, BodiesAreSpooledToFilesThatAreRemovedAfterwards) {
  ServerOptions options = TestServerOptions();
  options.import_spool_dir = dir_.Sub("spool");
  std::filesystem::create_directories(options.import_spool_dir);
  options.max_body_bytes = 1000;  // the limit of writes, not of imports
  StartServer(options);
  auto client = Client();
  const std::string body = MakeCur(50, "1");
  ASSERT_GT(body.size(), 1000u);
  ASSERT_OK_AND_ASSIGN(auto ok, client->Post("/api/v1/import?name=nov.csv", body));
  EXPECT_EQ(ok.status, 200) << ok.body;
  ASSERT_OK_AND_ASSIGN(auto bad, client->Post("/api/v1/import?name=nov.csv", "x\n"));
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_TRUE(std::filesystem::is_empty(options.import_spool_dir));

  // A spool directory that cannot be written to: 503, nothing imported.
  options.import_spool_dir = dir_.Sub("missing");
  StartServer(options);
  ASSERT_OK_AND_ASSIGN(auto unavailable,
                       Client()->Post("/api/v1/import?name=dec.csv", MakeCur(1, "1")));
  EXPECT_EQ(unavailable.status, 503) << unavailable.body;
  EXPECT_EQ(unavailable.Header("Retry-After"), "1");
  EXPECT_EQ(Sources().size(), 1u);
}

TEST_F(ImportEndpointTest, NeedsWriteAccessToTheDatabase) {
  std::ofstream(dir_.Sub("tokens")) << "importer write:billing\nreader read:billing\n"
                                       "other write:db\n";
  ServerOptions options = TestServerOptions();
  options.tokens_file = dir_.Sub("tokens");
  StartServer(options);
  const std::string body = MakeCur(2, "1");
  ASSERT_OK_AND_ASSIGN(auto none, Client()->Post("/api/v1/import", body));
  EXPECT_EQ(none.status, 401);
  ASSERT_OK_AND_ASSIGN(auto bad,
                       Client()->Post("/api/v1/import", body, {{"Authorization", "Token nope"}}));
  EXPECT_EQ(bad.status, 401);
  ASSERT_OK_AND_ASSIGN(auto reader,
                       Client()->Post("/api/v1/import", body, {{"Authorization", "Token reader"}}));
  EXPECT_EQ(reader.status, 403);
  ASSERT_OK_AND_ASSIGN(auto other, Client()->Post("/api/v1/import?db=billing", body,
                                                  {{"Authorization", "Token other"}}));
  EXPECT_EQ(other.status, 403);
  EXPECT_TRUE(Sources().empty());
  ASSERT_OK_AND_ASSIGN(
      auto ok, Client()->Post("/api/v1/import", body, {{"Authorization", "Token importer"}}));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Sources().size(), 1u);
}

}  // namespace
}  // namespace burnrate
