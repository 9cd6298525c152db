// The byte-level readers of the billing importer: CSV, gzip, zip, timestamps, loose JSON
// and lenient money cells.

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/billing_csv.h"
#include "ingest/billing_formats.h"
#include "ingest/billing_input.h"
#include "ingest/billing_literal.h"
#include "ingest/billing_time.h"
#include "tests/ingest/billing_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// Hands out its data at most `chunk` bytes per Read, to exercise every buffer boundary.
class ChunkedStream final : public ByteStream {
 public:
  ChunkedStream(std::string data, size_t chunk) : data_(std::move(data)), chunk_(chunk) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    const size_t k = std::min({n, chunk_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  uint64_t source_bytes_consumed() const override { return pos_; }

 private:
  std::string data_;
  size_t chunk_;
  size_t pos_ = 0;
};

struct Record {
  uint64_t line;
  std::vector<std::string> fields;
  friend bool operator==(const Record&, const Record&) = default;
};

std::ostream& operator<<(std::ostream& os, const Record& r) {
  os << "line " << r.line << ":";
  for (const std::string& f : r.fields) os << " [" << f << "]";
  return os;
}

absl::StatusOr<std::vector<Record>> ReadAll(std::unique_ptr<ByteStream> in,
                                            size_t max_record = 64 << 20) {
  CsvReader reader(std::move(in), "test.csv", max_record);
  std::vector<Record> out;
  while (true) {
    absl::StatusOr<bool> more = reader.Next();
    if (!more.ok()) return more.status();
    if (!*more) return out;
    out.push_back(Record{reader.line(), {reader.fields().begin(), reader.fields().end()}});
  }
}

absl::StatusOr<std::vector<Record>> ReadCsv(const std::string& text, size_t chunk = 1 << 20) {
  return ReadAll(std::make_unique<ChunkedStream>(text, chunk));
}

TEST(CsvReaderTest, ReadsRfc4180WithEveryQuirkAtEveryChunkSize) {
  const std::string text =
      "\xEF\xBB\xBF"
      "a,b,c\r\n"
      "1,\"two, with comma\",3\r\n"
      "\r\n"
      "\"say \"\"hi\"\"\",\"multi\nline\r\nfield\",\n"
      ",,\n"
      "x\"y,\"\",z";
  const std::vector<Record> want = {
      {1, {"a", "b", "c"}},
      {2, {"1", "two, with comma", "3"}},
      {4, {"say \"hi\"", "multi\nline\r\nfield", ""}},
      {7, {"", "", ""}},
      {8, {"x\"y", "", "z"}},
  };
  for (size_t chunk : {1, 2, 3, 5, 7, 64, 1 << 20}) {
    SCOPED_TRACE(chunk);
    ASSERT_OK_AND_ASSIGN(std::vector<Record> got, ReadCsv(text, chunk));
    EXPECT_EQ(got, want);
  }
}

TEST(CsvReaderTest, RecordsLongerThanTheInitialBufferGrowIt) {
  const std::string big(3 << 20, 'x');
  ASSERT_OK_AND_ASSIGN(std::vector<Record> got, ReadCsv("h\n\"" + big + "\"\nshort\n", 1 << 16));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].fields[0].size(), big.size());
  EXPECT_EQ(got[2], (Record{3, {"short"}}));
}

TEST(CsvReaderTest, RecordBeyondTheLimitIsAnError) {
  EXPECT_THAT(ReadAll(std::make_unique<ChunkedStream>("a\n" + std::string(5000, 'y') + "\n", 100),
                      /*max_record=*/1000),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than 1000 bytes")));
}

TEST(CsvReaderTest, UnterminatedQuoteNamesTheLineAndColumn) {
  EXPECT_THAT(ReadCsv("a,b\n1,2\n3,\"never closed\n4,5\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("test.csv:3: column 2: quoted field is not terminated")));
  // The position also travels as a payload, for callers that report it structurally.
  const auto position = InputPositionOf(ReadCsv("a,b\n1,2\n3,\"never closed\n").status());
  ASSERT_TRUE(position.has_value());
  EXPECT_EQ(position->file, "test.csv");
  EXPECT_EQ(position->line, 3u);
  EXPECT_EQ(position->column, 2u);
  EXPECT_FALSE(InputPositionOf(absl::InvalidArgumentError("test.csv:3: column 2: x")));
}

TEST(CsvReaderTest, TextAfterAClosingQuoteNamesTheLineAndColumn) {
  EXPECT_THAT(ReadCsv("a,b,c\n1,\"2\"x,3\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("test.csv:2: column 2: unexpected character 'x' after a closing "
                                 "quote")));
}

TEST(CsvReaderTest, EmptyInputHasNoRecords) {
  ASSERT_OK_AND_ASSIGN(std::vector<Record> got, ReadCsv(""));
  EXPECT_TRUE(got.empty());
  ASSERT_OK_AND_ASSIGN(got, ReadCsv("\xEF\xBB\xBF"));
  EXPECT_TRUE(got.empty());
}

TEST(ByteInputTest, GzipWithSeveralMembersIsOneStream) {
  const std::string a = "h1,h2\n1,2\n", b = "3,4\n";
  const std::string gz = billing_test::Deflate(a, true) + billing_test::Deflate(b, true);
  ASSERT_OK_AND_ASSIGN(std::vector<CsvInput> inputs,
                       ListCsvInputs(NewRandomAccessBuffer("x.csv.gz", gz)));
  ASSERT_EQ(inputs.size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteStream> s, inputs[0].open());
  ASSERT_OK_AND_ASSIGN(std::vector<Record> got, ReadAll(std::move(s)));
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2], (Record{3, {"3", "4"}}));
}

TEST(ByteInputTest, TruncatedGzipIsAnError) {
  std::string gz = billing_test::Deflate(std::string(100000, 'a') + "\n", true);
  gz.resize(gz.size() / 2);
  ASSERT_OK_AND_ASSIGN(std::vector<CsvInput> inputs,
                       ListCsvInputs(NewRandomAccessBuffer("t.csv.gz", gz)));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteStream> s, inputs[0].open());
  EXPECT_THAT(ReadAll(std::move(s)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t.csv.gz: truncated gzip")));
}

TEST(ByteInputTest, ZipMembersStoredAndDeflatedAreEachADocument) {
  const std::string zip = billing_test::MakeZip({
      {"dir/", "", false},
      {"part-1.csv", "a,b\n1,2\n", true},
      {"part-2.csv", "a,b\n3,4\n", false},
      {"__MACOSX/._part-1.csv", "junk", false},
  });
  ASSERT_OK_AND_ASSIGN(std::vector<CsvInput> inputs,
                       ListCsvInputs(NewRandomAccessBuffer("r.zip", zip)));
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].name, "r.zip!part-1.csv");
  EXPECT_EQ(inputs[1].name, "r.zip!part-2.csv");
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteStream> s, inputs[i].open());
    ASSERT_OK_AND_ASSIGN(std::vector<Record> got, ReadAll(std::move(s)));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[1].fields[0], i == 0 ? "1" : "3");
  }
}

TEST(ByteInputTest, ZipMemberWithAFlippedByteFailsItsCrc) {
  std::string zip = billing_test::MakeZip({{"a.csv", "a,b\n1,2\n3,4\n", false}});
  zip[30 + 5 + 4] ^= 0x01;  // inside the stored data of the only member
  ASSERT_OK_AND_ASSIGN(std::vector<CsvInput> inputs,
                       ListCsvInputs(NewRandomAccessBuffer("c.zip", zip)));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ByteStream> s, inputs[0].open());
  EXPECT_THAT(ReadAll(std::move(s)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("zip member is corrupt")));
}

TEST(ByteInputTest, TruncatedZipIsAnError) {
  std::string zip = billing_test::MakeZip({{"a.csv", "a,b\n1,2\n", true}});
  zip.resize(zip.size() - 10);
  EXPECT_THAT(ListCsvInputs(NewRandomAccessBuffer("t.zip", zip)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t.zip: not a valid zip")));
}

TEST(ByteInputTest, ParquetIsRecognisedByMagicAndByName) {
  EXPECT_THAT(ListCsvInputs(NewRandomAccessBuffer("data.bin", std::string("PAR1\0\0\0", 7))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Parquet input is not supported yet: data.bin; export CSV"));
  EXPECT_THAT(ListCsvInputs(NewRandomAccessBuffer("x.parquet", "abc")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Parquet input")));
  const std::string zip = billing_test::MakeZip({{"inner.parquet", "PAR1", false}});
  EXPECT_THAT(ListCsvInputs(NewRandomAccessBuffer("y.zip", zip)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Parquet input is not supported yet: y.zip!inner.parquet")));
}

TEST(BillingTimeTest, ParsesTheFormatsExportsWrite) {
  const TimestampNs kNov1 = 1698796800LL * 1'000'000'000;  // 2023-11-01T00:00:00Z
  const TimestampNs kHour = 3600LL * 1'000'000'000;
  struct Case {
    std::string text;
    TimestampNs want;
  } cases[] = {
      {"2023-11-01T00:00:00.000Z", kNov1},
      {"2023-11-01T00:00:00Z", kNov1},
      {"2023-11-01 00:00:00", kNov1},
      {"2023-11-01", kNov1},
      {"2023-11-01T05:00Z", kNov1 + 5 * kHour},
      {"2023-11-01 05:00:00+00:00", kNov1 + 5 * kHour},
      {"2023-11-01 07:00:00+02:00", kNov1 + 5 * kHour},
      {"2023-11-01T05:00:00.5Z", kNov1 + 5 * kHour + 500'000'000},
      {"20231101T050000.000Z", kNov1 + 5 * kHour},
      {"11/01/2023", kNov1},
      {"11/1/2023", kNov1},
      {"11/1/23", kNov1},
      {"11/1/2023 5:00:00 AM", kNov1 + 5 * kHour},
      {"11/1/2023 12:00 AM", kNov1},
      {"11/1/2023 1:00 PM", kNov1 + 13 * kHour},
      {" 2023-11-01 ", kNov1},
  };
  for (const Case& c : cases) {
    ASSERT_OK_AND_ASSIGN(TimestampNs t, ParseBillingTime(c.text));
    EXPECT_EQ(t, c.want) << c.text;
  }
  for (std::string_view bad : {"", "2023-02-01T30:00:00Z", "2023-02-29", "2023-13-01", "13/1/2023",
                               "2023-11-01T00:00:00Q", "yesterday", "2023-11-01T00:61"}) {
    EXPECT_THAT(ParseBillingTime(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
  TimestampNs a, b;
  ASSERT_OK(ParseBillingInterval("2023-11-07T00:00:00Z/2023-11-08T00:00:00Z", &a, &b));
  EXPECT_EQ(b - a, 24 * kHour);
  EXPECT_EQ(MonthOf(kNov1 - 1), "2023-10");
  EXPECT_EQ(FormatBillingTime(kNov1 + 5 * kHour), "2023-11-01T05:00:00Z");
}

TEST(LooseLiteralTest, TagObjectsInEveryEncoding) {
  TagList tags;
  ASSERT_OK(ParseTagObject(
      R"({"application": "BrightLens", "n": 12.5, "flag": true, "gone": null})", &tags));
  EXPECT_THAT(tags, ElementsAre(Pair("application", "BrightLens"), Pair("n", "12.5"),
                                Pair("flag", "true")));
  tags.clear();
  // Azure cost details drop the outer braces.
  ASSERT_OK(ParseTagObject(R"("CostCenter": "1234","env": "prod","empty": "")", &tags));
  EXPECT_THAT(tags, ElementsAre(Pair("CostCenter", "1234"), Pair("env", "prod")));
  tags.clear();
  // Python literals, as some flatteners write them.
  ASSERT_OK(ParseTagObject("{'team': 'ml', 'owner': None}", &tags));
  EXPECT_THAT(tags, ElementsAre(Pair("team", "ml")));
  tags.clear();
  // Hive/Athena map text.
  ASSERT_OK(ParseTagObject("{user_project=alpha, user_team=ml, ops}", &tags));
  EXPECT_THAT(tags, ElementsAre(Pair("user_project", "alpha"), Pair("user_team", "ml, ops")));
  tags.clear();
  ASSERT_OK(ParseTagObject(R"({"k": "caf\u00e9 \ud83d\ude00"})", &tags));
  EXPECT_THAT(tags, ElementsAre(Pair("k", "caf\xC3\xA9 \xF0\x9F\x98\x80")));
  EXPECT_THAT(ParseTagObject(R"({"a": "unterminated)", &tags),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LooseLiteralTest, GcpLabelRecords) {
  TagList tags;
  ASSERT_OK(
      ParseKeyValueRecords("[{'key': 'goog-resource-type', 'value': 'bigquery_dataset'}]", &tags));
  ASSERT_OK(
      ParseKeyValueRecords(R"([{"key":"metaflow_run_id","value":"1234"},{"key":"x"}])", &tags));
  ASSERT_OK(ParseKeyValueRecords("[]", &tags));
  EXPECT_THAT(tags, ElementsAre(Pair("goog-resource-type", "bigquery_dataset"),
                                Pair("metaflow_run_id", "1234")));
}

TEST(LooseLiteralTest, NestingIsBounded) {
  EXPECT_THAT(ParseLooseValue(std::string(100, '[') + std::string(100, ']')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested too deeply")));
}

TEST(MoneyCellTest, AcceptsSpreadsheetFormattingButNotAmbiguity) {
  const auto units = [](std::string_view text) -> int64_t {
    absl::StatusOr<Money> m = ParseMoneyCell(text);
    EXPECT_TRUE(m.ok()) << text << ": " << m.status();
    return m.ok() ? m->units() : 0;
  };
  EXPECT_EQ(units("$10,000.00 "), 100'000'000'000'000);
  EXPECT_EQ(units("-$1,234,567.5"), -12'345'675'000'000'000);
  EXPECT_EQ(units("5.64902E-05"), 564'902);
  EXPECT_EQ(units("0.0000000072922557592391990000"), 73);  // Azure amortized, 28 decimals
  EXPECT_EQ(units("0.00000000725"), 72);                   // half to even
  EXPECT_EQ(units("0.00000000735"), 74);
  EXPECT_EQ(units("0.00000000005"), 0);  // half to even
  EXPECT_EQ(units("0.00000000015"), 2);
  for (std::string_view bad : {"1,23.00", "1,2345", ",100", "$", "12$", "1.2.3", "abc"}) {
    EXPECT_FALSE(ParseMoneyCell(bad).ok()) << bad;
  }
}

TEST(LooseColumnKeyTest, LegacyAndSnakeCaseMeetAtOneKey) {
  EXPECT_EQ(LooseColumnKey("lineItem/UnblendedCost"), "lineitemunblendedcost");
  EXPECT_EQ(LooseColumnKey("line_item_unblended_cost"), "lineitemunblendedcost");
  EXPECT_EQ(LooseColumnKey("savings_plan_savings_plan_a_r_n"), "savingsplansavingsplanarn");
  EXPECT_EQ(LooseColumnKey("usage.amount_in_pricing_units"), "usageamountinpricingunits");
}

}  // namespace
}  // namespace burnrate
