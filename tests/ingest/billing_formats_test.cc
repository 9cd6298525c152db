// Row mapping per billing format, and attribution keys from every provider's tag encoding.

#include <memory>
#include <string>
#include <vector>

#include "base/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/billing_attribution.h"
#include "ingest/billing_csv.h"
#include "ingest/billing_formats.h"
#include "ingest/billing_input.h"
#include "tests/ingest/billing_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// Maps the data rows of a CSV document with the mapper its header gets.
struct Mapped {
  BillingFormat format = BillingFormat::kAuto;
  std::string provider;
  std::vector<BillingRecord> records;
  std::vector<RowProblem> problems;
};

absl::StatusOr<Mapped> MapCsv(const std::string& csv, BillingFormat format = BillingFormat::kAuto,
                              MapperOptions options = MapperOptions()) {
  absl::StatusOr<std::vector<CsvInput>> inputs = ListCsvInputs(NewRandomAccessBuffer("t.csv", csv));
  if (!inputs.ok()) return inputs.status();
  absl::StatusOr<std::unique_ptr<ByteStream>> s = (*inputs)[0].open();
  if (!s.ok()) return s.status();
  CsvReader reader(std::move(*s), "t.csv");
  absl::StatusOr<bool> more = reader.Next();
  if (!more.ok()) return more.status();
  std::vector<std::string> header(reader.fields().begin(), reader.fields().end());
  std::vector<std::string_view> views(header.begin(), header.end());
  if (options.file_name.empty()) options.file_name = "t.csv";
  absl::StatusOr<std::unique_ptr<BillingRowMapper>> mapper =
      NewBillingRowMapper(format, views, options);
  if (!mapper.ok()) return mapper.status();
  Mapped out;
  out.format = (*mapper)->format();
  while (true) {
    more = reader.Next();
    if (!more.ok()) return more.status();
    if (!*more) break;
    BillingRecord r;
    RowProblem p;
    if ((*mapper)->Map(reader.fields(), &r, &p)) {
      out.provider = (*mapper)->SourceProvider(r);
      out.records.push_back(r);
    } else {
      out.problems.push_back(p);
    }
  }
  return out;
}

Money M(std::string_view text) { return *Money::Parse(text); }

constexpr char kCurHeader[] =
    "identity/LineItemId,bill/PayerAccountId,bill/BillingPeriodStartDate,lineItem/UsageAccountId,"
    "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,"
    "lineItem/UsageType,lineItem/ResourceId,lineItem/UsageAmount,lineItem/CurrencyCode,"
    "lineItem/UnblendedCost,pricing/publicOnDemandCost,pricing/unit,product/regionCode,"
    "reservation/EffectiveCost,reservation/UnusedAmortizedUpfrontFeeForBillingPeriod,"
    "reservation/UnusedRecurringFee,reservation/ReservationARN,"
    "savingsPlan/SavingsPlanEffectiveCost,savingsPlan/TotalCommitmentToDate,"
    "savingsPlan/UsedCommitment,resourceTags/user:metaflow.run_id,resourceTags/aws:createdBy,"
    "costCategory/Team\n";

std::string CurRow(std::string_view type, std::string_view cost, std::string_view extra) {
  // extra: reservation effective, RI unused upfront, RI unused recurring, RI ARN, SP effective,
  // SP total commitment, SP used commitment, run id, created by, team.
  return StrCat("id1,111122223333,2026-11-01T00:00:00Z,444455556666,", type,
                ",2026-11-03T05:00:00Z,2026-11-03T06:00:00Z,AmazonEC2,USE1-BoxUsage:p3.8xlarge,"
                "i-0abc,1.0,USD,",
                cost, ",12.24,Hrs,us-east-1,", extra, "\n");
}

TEST(CurMapperTest, EffectiveCostIsDerivedPerLineItemType) {
  struct Case {
    std::string type, cost, extra, want_effective, want_category;
  } cases[] = {
      {"Usage", "12.24", ",,,,,,,,,", "12.24", "usage"},
      {"Tax", "1.5", ",,,,,,,,,", "1.5", "tax"},
      {"DiscountedUsage", "0", "7.5,,,,,,,,,", "7.5", "usage"},
      {"RIFee", "300", ",10.25,20.5,arn:ri,,,,,,", "30.75", "purchase"},
      {"Fee", "900", ",,,arn:ri,,,,,,", "0", "purchase"},
      {"Fee", "25", ",,,,,,,,,", "25", "purchase"},
      {"SavingsPlanCoveredUsage", "12.24", ",,,,8.1,,,,,", "8.1", "usage"},
      {"SavingsPlanNegation", "-12.24", ",,,,,,,,,", "0", "usage"},
      {"SavingsPlanUpfrontFee", "1000", ",,,,,,,,,", "0", "purchase"},
      {"SavingsPlanRecurringFee", "100", ",,,,,100,85.5,,,", "14.5", "purchase"},
      {"Credit", "-5", ",,,,,,,,,", "-5", "credit"},
      {"Refund", "-2", ",,,,,,,,,", "-2", "refund"},
      {"BundledDiscount", "-1", ",,,,,,,,,", "-1", "usage"},
      {"SomethingNew", "3", ",,,,,,,,,", "3", "other"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.type);
    ASSERT_OK_AND_ASSIGN(Mapped m, MapCsv(kCurHeader + CurRow(c.type, c.cost, c.extra)));
    ASSERT_EQ(m.records.size(), 1u) << (m.problems.empty() ? "" : m.problems[0].message);
    const BillingRecord& r = m.records[0];
    EXPECT_EQ(r.billed_cost, M(c.cost));
    EXPECT_EQ(r.effective_cost, M(c.want_effective));
    EXPECT_EQ(r.charge_category, c.want_category);
    EXPECT_EQ(r.charge_type, c.type);
  }
}

TEST(CurMapperTest, MapsEveryNormalisedColumn) {
  ASSERT_OK_AND_ASSIGN(
      Mapped m, MapCsv(kCurHeader + CurRow("Usage", "1.81E-8", ",,,,,,,run-7,alice,ml-platform")));
  EXPECT_EQ(m.format, BillingFormat::kCur);
  EXPECT_EQ(m.provider, "aws-cur");
  ASSERT_EQ(m.records.size(), 1u);
  const BillingRecord& r = m.records[0];
  EXPECT_EQ(r.cloud, "aws");
  EXPECT_EQ(r.billing_account, "111122223333");
  EXPECT_EQ(r.account, "444455556666");
  EXPECT_EQ(r.resource, "i-0abc");
  EXPECT_EQ(r.service, "AmazonEC2");
  EXPECT_EQ(r.sku, "USE1-BoxUsage:p3.8xlarge");
  EXPECT_EQ(r.region, "us-east-1");
  EXPECT_EQ(r.currency, "USD");
  EXPECT_EQ(r.billing_period, "2026-11");
  EXPECT_EQ(r.line_item_id, "id1");
  EXPECT_EQ(r.usage_unit, "Hrs");
  EXPECT_EQ(r.usage_quantity, 1.0);
  EXPECT_EQ(r.billed_cost, Money::FromUnits(181));
  EXPECT_EQ(r.list_cost, M("12.24"));
  EXPECT_EQ(r.end - r.start, billing_test::kHourNs);
  EXPECT_THAT(r.tags, ElementsAre(Pair("metaflow.run_id", "run-7"), Pair("aws:createdBy", "alice"),
                                  Pair("cost_category:Team", "ml-platform")));
}

TEST(CurMapperTest, BadNumbersNameTheColumn) {
  ASSERT_OK_AND_ASSIGN(Mapped m, MapCsv(kCurHeader + CurRow("Usage", "12x", ",,,,,,,,,")));
  ASSERT_EQ(m.problems.size(), 1u);
  EXPECT_EQ(m.problems[0].column, 13u);
  EXPECT_THAT(m.problems[0].message, HasSubstr("lineItem/UnblendedCost: invalid money value"));
  ASSERT_OK_AND_ASSIGN(m, MapCsv(kCurHeader + CurRow("Usage", "1", ",,,,,,,,,,extra")));
  ASSERT_EQ(m.problems.size(), 1u);
  EXPECT_EQ(m.problems[0].column, 27u);
  EXPECT_THAT(m.problems[0].message, HasSubstr("row has 27 fields, the header has 26"));
}

TEST(CurMapperTest, AthenaSnakeCaseHeaderAndCur2MapColumns) {
  const std::string snake =
      "line_item_line_item_type,bill_payer_account_id,line_item_usage_start_date,"
      "line_item_usage_end_date,line_item_unblended_cost,line_item_currency_code,"
      "resource_tags_user_metaflow_run_id,resource_tags_aws_created_by\n"
      "Usage,999,2022-07-01 00:00:00.000,2022-07-01 01:00:00.000,0.5,USD,42,bob\n";
  ASSERT_OK_AND_ASSIGN(Mapped m, MapCsv(snake));
  EXPECT_EQ(m.format, BillingFormat::kCur);
  ASSERT_EQ(m.records.size(), 1u);
  EXPECT_THAT(m.records[0].tags,
              ElementsAre(Pair("metaflow_run_id", "42"), Pair("aws_created_by", "bob")));

  const std::string cur2 =
      "bill_payer_account_id,bill_payer_account_name,bill_billing_period_start_date,"
      "line_item_line_item_type,line_item_usage_start_date,line_item_usage_end_date,"
      "line_item_unblended_cost,line_item_net_unblended_cost,resource_tags,cost_category\n"
      "999,Org,2026-11-01T00:00:00Z,Usage,2026-11-02T00:00:00Z,2026-11-02T01:00:00Z,1.0,0.9,"
      "\"{\"\"user_metaflow_run_id\"\": \"\"77\"\", \"\"aws_createdBy\"\": \"\"x\"\"}\","
      "{team=ml}\n";
  ASSERT_OK_AND_ASSIGN(m, MapCsv(cur2));
  EXPECT_EQ(m.format, BillingFormat::kCur2);
  EXPECT_EQ(m.provider, "aws-cur2");
  ASSERT_EQ(m.records.size(), 1u) << m.problems[0].message;
  EXPECT_EQ(m.records[0].billed_cost, M("0.9"));  // net pricing wins
  EXPECT_EQ(m.records[0].currency, "USD");        // CUR bills in USD unless it says otherwise
  EXPECT_THAT(m.records[0].tags,
              ElementsAre(Pair("metaflow_run_id", "77"), Pair("aws_createdBy", "x"),
                          Pair("cost_category:team", "ml")));
}

TEST(FocusMapperTest, NullLiteralsTimestampsAndTags) {
  const std::string csv =
      "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingPeriodStart,ChargePeriodStart,"
      "ChargePeriodEnd,ProviderName,BillingAccountId,SubAccountId,ResourceId,ServiceName,SkuId,"
      "RegionId,RegionName,ChargeCategory,ChargeClass,ConsumedQuantity,ConsumedUnit,"
      "PricingQuantity,PricingUnit,Tags,x_Custom,Id\n"
      "0.00001605990,0.00000000000,NULL,USD,2024-09-01 00:00:00,2024-09-30 22:00:00,"
      "2024-09-30 23:00:00,AWS,123,456,arn:x,Elastic Load Balancing,SKU1,NULL,US West,Usage,NULL,"
      "NULL,NULL,2.5,Hours,\"{\"\"metaflow.run_id\"\": \"\"r1\"\", \"\" org\"\": \"\"a\"\"}\",z,"
      "11472\n"
      ",3,3,,5/1/25,4/1/25,4/1/26,Oracle,acct,,,,,,,Credit,Correction,,,,,,,\n";
  ASSERT_OK_AND_ASSIGN(Mapped m, MapCsv(csv));
  EXPECT_EQ(m.format, BillingFormat::kFocus);
  ASSERT_EQ(m.records.size(), 2u);
  const BillingRecord& a = m.records[0];
  EXPECT_EQ(a.cloud, "aws");
  EXPECT_EQ(a.billed_cost, M("0.0000160599"));
  EXPECT_EQ(a.effective_cost, Money());
  EXPECT_FALSE(a.list_cost.has_value());
  EXPECT_EQ(a.region, "US West");
  EXPECT_EQ(a.usage_quantity, 2.5);
  EXPECT_EQ(a.usage_unit, "Hours");
  EXPECT_EQ(a.line_item_id, "11472");
  EXPECT_EQ(a.billing_period, "2024-09");
  EXPECT_THAT(a.tags, ElementsAre(Pair("metaflow.run_id", "r1"), Pair(" org", "a")));
  const BillingRecord& b = m.records[1];
  EXPECT_EQ(b.cloud, "oci");
  EXPECT_FALSE(b.billed_cost.has_value());
  EXPECT_EQ(b.charge_category, "credit");
  EXPECT_EQ(b.charge_type, "Correction");
  EXPECT_EQ(b.billing_period, "2025-05");
  EXPECT_EQ(b.end - b.start, 365 * billing_test::kDayNs);
  EXPECT_EQ(b.currency, "");
}

TEST(AzureMapperTest, ActualAndAmortizedFeedDifferentMeasures) {
  const std::string csv =
      "\xEF\xBB\xBF"
      "BillingAccountId,BillingPeriodStartDate,SubscriptionId,Date,MeterCategory,MeterName,"
      "Quantity,Cost,BillingCurrency,ResourceLocation,ResourceId,Tags,ChargeType,UnitOfMeasure\n"
      "8611537,09/01/2023,sub-1,09/21/2023,Virtual Machines,B1s,24,3.25,USD,uksouth,/subs/vm1,"
      "\"\"\"CostCenter\"\": \"\"1234\"\",\"\"metaflow_flow_name\"\": \"\"TrainFlow\"\"\",Usage,1 "
      "Hour\n";
  ASSERT_OK_AND_ASSIGN(Mapped actual, MapCsv(csv));
  EXPECT_EQ(actual.format, BillingFormat::kAzure);
  EXPECT_EQ(actual.provider, "azure-actual");
  ASSERT_EQ(actual.records.size(), 1u);
  const BillingRecord& r = actual.records[0];
  EXPECT_EQ(r.billed_cost, M("3.25"));
  EXPECT_FALSE(r.effective_cost.has_value());
  EXPECT_EQ(r.end - r.start, billing_test::kDayNs);
  EXPECT_EQ(r.billing_account, "8611537");
  EXPECT_EQ(r.account, "sub-1");
  EXPECT_EQ(r.sku, "B1s");
  EXPECT_THAT(r.tags,
              ElementsAre(Pair("CostCenter", "1234"), Pair("metaflow_flow_name", "TrainFlow")));

  MapperOptions by_name;
  by_name.file_name = "EA_AmortizedCost_Small.csv";
  ASSERT_OK_AND_ASSIGN(Mapped amortized, MapCsv(csv, BillingFormat::kAuto, by_name));
  EXPECT_EQ(amortized.provider, "azure-amortized");
  EXPECT_FALSE(amortized.records[0].billed_cost.has_value());
  EXPECT_EQ(amortized.records[0].effective_cost, M("3.25"));
}

TEST(GcpMapperTest, NetCostAddsNestedCreditsOnce) {
  const std::string csv =
      "billing_account_id,service.description,sku.description,usage_start_time,usage_end_time,"
      "project.id,labels,project.labels,system_labels,location.region,cost,currency,usage.amount,"
      "usage.unit,credits,invoice.month,cost_type\n"
      "0000-AA,Compute Engine,N1 core,2020-11-09 23:00:00+00:00,2020-11-10 00:00:00+00:00,proj-1,"
      "\"[{'key': 'metaflow_run_id', 'value': '99'}]\",\"[{'key': 'team', 'value': 'ml'}]\",[],"
      "us-central1,0.5,USD,3600,seconds,"
      "\"[{'name': 'FreeTrial', 'amount': -0.2, 'type': 'PROMOTION'}, {'name': 'CUD', "
      "'amount': -1e-1, 'type': 'COMMITTED_USAGE_DISCOUNT'}]\",202011,regular\n";
  ASSERT_OK_AND_ASSIGN(Mapped m, MapCsv(csv));
  EXPECT_EQ(m.format, BillingFormat::kGcp);
  ASSERT_EQ(m.records.size(), 1u) << m.problems[0].message;
  const BillingRecord& r = m.records[0];
  EXPECT_EQ(r.gross_cost, M("0.5"));
  EXPECT_EQ(r.billed_cost, M("0.2"));
  EXPECT_EQ(r.effective_cost, M("0.2"));
  EXPECT_EQ(r.billing_period, "2020-11");
  EXPECT_EQ(r.account, "proj-1");
  EXPECT_THAT(r.tags, ElementsAre(Pair("metaflow_run_id", "99"), Pair("team", "ml")));
}

TEST(OciMapperTest, TagColumnsAndCorrections) {
  const std::string csv =
      "lineItem/referenceNo,lineItem/tenantId,lineItem/intervalUsageStart,"
      "lineItem/intervalUsageEnd,product/service,product/compartmentId,product/region,"
      "product/resourceId,usage/billedQuantity,cost/myCost,cost/currencyCode,"
      "cost/skuUnitDescription,lineItem/isCorrection,tags/metaflow.run_id,tags/"
      "Oracle-Tags.CreatedBy\n"
      "ref1,ocid1.tenancy,2023-11-13T10:00Z,2023-11-13T11:00:00Z,DATABASE,ocid1.compartment,"
      "us-sanjose-1,ocid1.db,0.08,2.323760000E-9,USD,Hours,true,55,someone\n";
  ASSERT_OK_AND_ASSIGN(Mapped m, MapCsv(csv));
  EXPECT_EQ(m.format, BillingFormat::kOci);
  ASSERT_EQ(m.records.size(), 1u);
  EXPECT_EQ(m.records[0].billed_cost, Money::FromUnits(23));
  EXPECT_EQ(m.records[0].charge_category, "adjustment");
  EXPECT_THAT(m.records[0].tags,
              ElementsAre(Pair("metaflow.run_id", "55"), Pair("Oracle-Tags.CreatedBy", "someone")));
}

TEST(FormatDetectionTest, UnknownHeaderAndWrongForcedFormat) {
  EXPECT_THAT(
      MapCsv("UnitOfMeasure,AccountTypes\n1,EA\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot tell the billing format")));
  EXPECT_THAT(MapCsv(std::string(kCurHeader), BillingFormat::kFocus),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the header is not focus (it looks like cur)")));
  EXPECT_THAT(ParseBillingFormat("parquet"), StatusIs(absl::StatusCode::kInvalidArgument));
}

// The default mapping finds Metaflow's names in each provider's encoding (after the mapper
// has removed the column prefix: resourceTags/user:, resource_tags_user_, user_, tags/).
TEST(AttributionTest, DefaultKnowsMetaflowInEveryEncoding) {
  const AttributionMapping m = AttributionMapping::Default();
  const std::vector<TagList> encodings = {
      {{"metaflow.run_id", "R"}, {"metaflow.flow_name", "F"}, {"metaflow.step_name", "S"}},  // CUR
      {{"metaflow_run_id", "R"},
       {"metaflow_flow_name", "F"},
       {"metaflow_step_name", "S"}},  // CUR 2.0, Athena, GCP
      {{"metaflow/run_id", "R"},
       {"metaflow/flow_name", "F"},
       {"metaflow/step_name", "S"}},                                       // k8s labels
      {{"Metaflow-Run-Id", "R"}, {"flow_name", "F"}, {"step_name", "S"}},  // Azure, FOCUS
  };
  for (const TagList& tags : encodings) {
    std::vector<Tag> out;
    m.Apply(tags, &out);
    EXPECT_THAT(out, UnorderedElementsAre(Tag{"run_id", "R"}, Tag{"flow", "F"}, Tag{"step", "S"}));
  }
  // Metaflow's own name wins over a generic one, whatever the order.
  std::vector<Tag> out;
  m.Apply({{"user", "generic"},
           {"project", "p"},
           {"metaflow.user", "mf"},
           {"model_version", "v3"},
           {"variant", "B"}},
          &out);
  EXPECT_THAT(out, UnorderedElementsAre(Tag{"user", "mf"}, Tag{"project", "p"},
                                        Tag{"model_version", "v3"}, Tag{"variant", "B"}));
}

TEST(AttributionTest, ConfigFromJsonOrKeyValue) {
  ASSERT_OK_AND_ASSIGN(
      AttributionMapping json,
      ParseAttributionMapping(R"({"run_id": ["job"], "team": "squad", "variant": []})"));
  std::vector<Tag> out;
  json.Apply({{"JOB", "j1"},
              {"metaflow.run_id", "ignored now"},
              {"squad", "ml"},
              {"variant", "A"},
              {"flow_name", "F"}},
             &out);
  EXPECT_THAT(out, UnorderedElementsAre(Tag{"run_id", "j1"}, Tag{"flow", "F"}, Tag{"team", "ml"}));

  ASSERT_OK_AND_ASSIGN(AttributionMapping kv,
                       ParseAttributionMapping("# comment\nexperiment = exp, experiment_id\n\n"));
  out.clear();
  kv.Apply({{"experiment_id", "e9"}, {"metaflow_run_id", "r"}}, &out);
  EXPECT_THAT(out, UnorderedElementsAre(Tag{"experiment", "e9"}, Tag{"run_id", "r"}));

  EXPECT_THAT(ParseAttributionMapping("no equals sign"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1")));
  EXPECT_THAT(ParseAttributionMapping("currency = x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("importer writes itself")));
  EXPECT_THAT(ParseAttributionMapping(R"({"tag_x": ["y"]})"),
              StatusIs(absl::StatusCode::kInvalidArgument));

  testing::TempDir dir;
  billing_test::WriteFileOrDie(dir.Sub("map.json"), R"({"run_id": "my_run"})");
  ASSERT_OK_AND_ASSIGN(AttributionMapping loaded, LoadAttributionMapping(dir.Sub("map.json")));
  out.clear();
  loaded.Apply({{"my-run", "m"}}, &out);
  EXPECT_THAT(out, ElementsAre(Tag{"run_id", "m"}));
  EXPECT_THAT(LoadAttributionMapping(dir.Sub("missing.json")),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace burnrate
