#include "ingest/line_protocol.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "burnrate/money.h"
#include "burnrate/write_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// A parsed point with owned strings.
struct Field {
  std::string key;
  FieldType type;
  std::string text;
  uint64_t bits;
  double as_float() const {
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
};
struct Point {
  std::string measurement;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<Field> fields;
  TimestampNs time = 0;
  bool has_timestamp = false;
  std::string series_text;
  size_t line = 0;
};

struct Parsed {
  std::vector<Point> points;
  std::vector<LineProtocolError> errors;
};

Parsed Parse(std::string_view body, const LineProtocolOptions& options = {}) {
  Parsed out;
  LineProtocolParser parser(body, options);
  LinePoint lp;
  LineProtocolError error;
  for (;;) {
    const auto step = parser.Next(&lp, &error);
    if (step == LineProtocolParser::Step::kEnd) break;
    if (step == LineProtocolParser::Step::kError) {
      out.errors.push_back(error);
      continue;
    }
    Point p;
    p.measurement = std::string(lp.measurement);
    for (const LineTag& t : lp.tags) p.tags.emplace_back(t.key, t.value);
    for (const LineField& f : lp.fields) {
      p.fields.push_back(Field{std::string(f.key), f.type, std::string(f.text), f.bits});
    }
    p.time = lp.time_ns;
    p.has_timestamp = lp.has_timestamp;
    p.series_text = std::string(lp.series_text);
    p.line = lp.line;
    out.points.push_back(std::move(p));
  }
  return out;
}

// The single point of a body that must parse cleanly.
Point ParseOne(std::string_view body, const LineProtocolOptions& options = {}) {
  Parsed p = Parse(body, options);
  EXPECT_TRUE(p.errors.empty()) << p.errors.front().ToString();
  EXPECT_EQ(p.points.size(), 1u) << body;
  return p.points.empty() ? Point() : p.points.front();
}

// The first error of a body that must fail.
LineProtocolError ParseError(std::string_view body, const LineProtocolOptions& options = {}) {
  Parsed p = Parse(body, options);
  EXPECT_FALSE(p.errors.empty()) << "no error for: " << body;
  return p.errors.empty() ? LineProtocolError() : p.errors.front();
}

TEST(LineProtocolTest, ParsesMeasurementTagsFieldsAndTimestamp) {
  const Point p = ParseOne("cpu,host=a,region=eu value=1.5,n=3i 1700000000000000000");
  EXPECT_EQ(p.measurement, "cpu");
  EXPECT_THAT(p.tags, ElementsAre(Pair("host", "a"), Pair("region", "eu")));
  ASSERT_EQ(p.fields.size(), 2u);
  EXPECT_EQ(p.fields[0].key, "value");
  EXPECT_EQ(p.fields[0].type, FieldType::kFloat);
  EXPECT_EQ(p.fields[0].as_float(), 1.5);
  EXPECT_EQ(p.fields[0].text, "1.5");
  EXPECT_EQ(p.fields[1].type, FieldType::kInteger);
  EXPECT_EQ(p.fields[1].bits, 3u);
  EXPECT_EQ(p.fields[1].text, "3");
  EXPECT_TRUE(p.has_timestamp);
  EXPECT_EQ(p.time, 1700000000000000000);
  EXPECT_EQ(p.series_text, "cpu,host=a,region=eu");
}

TEST(LineProtocolTest, KeepsTagsInTheOrderWritten) {
  const Point p = ParseOne("m,z=1,a=2 f=1");
  EXPECT_THAT(p.tags, ElementsAre(Pair("z", "1"), Pair("a", "2")));
}

TEST(LineProtocolTest, UnescapesNames) {
  Point p = ParseOne(R"(c\,pu\ load,ho\=st\ name=two\ words\,x\=y fi\ eld\=k=1)");
  EXPECT_EQ(p.measurement, "c,pu load");
  EXPECT_THAT(p.tags, ElementsAre(Pair("ho=st name", "two words,x=y")));
  EXPECT_EQ(p.fields[0].key, "fi eld=k");
  EXPECT_EQ(p.series_text, R"(c\,pu\ load,ho\=st\ name=two\ words\,x\=y)");

  // '=' needs no escape in a measurement, and a backslash before any other byte is literal.
  p = ParseOne(R"(a=b\=c,k=\\\ x\t f=1)");
  EXPECT_EQ(p.measurement, R"(a=b\=c)");
  EXPECT_THAT(p.tags, ElementsAre(Pair("k", R"(\\ x\t)")));
}

TEST(LineProtocolTest, UnescapesOnlyBackslashAndQuoteInStrings) {
  const Point p = ParseOne(R"(m a="say \"hi\"",b="c:\\dir",c="\n\t\r\x",d="")");
  ASSERT_EQ(p.fields.size(), 4u);
  EXPECT_EQ(p.fields[0].type, FieldType::kString);
  EXPECT_EQ(p.fields[0].text, R"(say "hi")");
  EXPECT_EQ(p.fields[1].text, R"(c:\dir)");
  EXPECT_EQ(p.fields[2].text, R"(\n\t\r\x)");
  EXPECT_EQ(p.fields[3].text, "");
}

TEST(LineProtocolTest, StringsMayHoldSeparatorsAndRawNewlines) {
  const Parsed p = Parse("m s=\"a, b=c\nd\" 5\nm s=\"x\" 6\n");
  ASSERT_TRUE(p.errors.empty()) << p.errors.front().ToString();
  ASSERT_EQ(p.points.size(), 2u);
  EXPECT_EQ(p.points[0].fields[0].text, "a, b=c\nd");
  EXPECT_EQ(p.points[0].time, 5);
  EXPECT_EQ(p.points[1].line, 3u);
}

TEST(LineProtocolTest, ParsesEveryFieldType) {
  const Point p = ParseOne(
      "m f=-1.25e-3,g=.5,h=7.,i=-9223372036854775808i,j=9223372036854775807i,"
      "u=18446744073709551615u,z=0u,s=\"x\",b=t");
  ASSERT_EQ(p.fields.size(), 9u);
  EXPECT_EQ(p.fields[0].as_float(), -1.25e-3);
  EXPECT_EQ(p.fields[1].as_float(), 0.5);
  EXPECT_EQ(p.fields[2].as_float(), 7.0);
  EXPECT_EQ(p.fields[3].type, FieldType::kInteger);
  EXPECT_EQ(static_cast<int64_t>(p.fields[3].bits), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(static_cast<int64_t>(p.fields[4].bits), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(p.fields[5].type, FieldType::kUnsigned);
  EXPECT_EQ(p.fields[5].bits, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(p.fields[6].bits, 0u);
  EXPECT_EQ(p.fields[7].type, FieldType::kString);
  EXPECT_EQ(p.fields[8].type, FieldType::kBoolean);
}

TEST(LineProtocolTest, AcceptsTheTenBooleanSpellings) {
  const Point p = ParseOne("m a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE");
  ASSERT_EQ(p.fields.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(p.fields[i].type, FieldType::kBoolean);
    EXPECT_EQ(p.fields[i].bits, i < 5 ? 1u : 0u) << p.fields[i].key;
  }
  ParseError("m a=tRUE");
  ParseError("m a=yes");
}

TEST(LineProtocolTest, RejectsMalformedNumbers) {
  for (const char* body : {"m f=NaN", "m f=-Inf", "m f=inf", "m f=-nan", "m f=0x10", "m f=1e",
                           "m f=1.2.3", "m f=-", "m f=.", "m f=1_000", "m f=+1", "m f=1.5i",
                           "m f=-1u", "m f=1ii", "m f=i", "m f=1e5i", "m f=--1"}) {
    ParseError(body);
  }
}

TEST(LineProtocolTest, RejectsOutOfRangeNumbers) {
  EXPECT_THAT(ParseError("m f=9223372036854775808i").reason, HasSubstr("out of range"));
  EXPECT_THAT(ParseError("m f=-9223372036854775809i").reason, HasSubstr("out of range"));
  EXPECT_THAT(ParseError("m f=18446744073709551616u").reason, HasSubstr("out of range"));
  EXPECT_THAT(ParseError("m f=1e309").reason, HasSubstr("out of range"));
  EXPECT_THAT(ParseError("m f=-1e309").reason, HasSubstr("out of range"));
  // Underflow reads as zero, as in Go's strconv.ParseFloat.
  EXPECT_EQ(ParseOne("m f=1e-400").fields[0].as_float(), 0.0);
  EXPECT_EQ(ParseOne("m f=1.7976931348623157e308").fields[0].as_float(),
            std::numeric_limits<double>::max());
}

TEST(LineProtocolTest, ScalesTimestampsByPrecision) {
  struct Case {
    const char* name;
    int64_t want;
  };
  for (const Case& c : {Case{"ns", 7}, Case{"n", 7}, Case{"", 7}, Case{"us", 7'000},
                        Case{"u", 7'000}, Case{"ms", 7'000'000}, Case{"s", 7'000'000'000},
                        Case{"m", 420'000'000'000}, Case{"h", 25'200'000'000'000}}) {
    LineProtocolOptions options;
    ASSERT_OK_AND_ASSIGN(options.precision, ParsePrecision(c.name));
    EXPECT_EQ(ParseOne("m f=1 7", options).time, c.want) << c.name;
    EXPECT_EQ(ParseOne("m f=1 -7", options).time, -c.want) << c.name;
  }
  EXPECT_THAT(ParsePrecision("d"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePrecision("NS"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LineProtocolTest, FloorsTheDefaultTimeToThePrecision) {
  LineProtocolOptions options;
  options.default_time = 946730096789012345;
  options.precision = Precision::kSecond;
  Point p = ParseOne("m f=1", options);
  EXPECT_FALSE(p.has_timestamp);
  EXPECT_EQ(p.time, 946730096000000000);
  options.precision = Precision::kMillisecond;
  EXPECT_EQ(ParseOne("m f=1", options).time, 946730096789000000);
  options.precision = Precision::kHour;
  EXPECT_EQ(ParseOne("m f=1", options).time, 946728000000000000);
  options.precision = Precision::kSecond;
  options.default_time = -1'500'000'000;
  EXPECT_EQ(ParseOne("m f=1", options).time, -2'000'000'000);
}

TEST(LineProtocolTest, TimestampOverflowIsAnError) {
  EXPECT_EQ(ParseOne("m f=1 9223372036854775807").time, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseOne("m f=1 -9223372036854775808").time, std::numeric_limits<int64_t>::min());
  EXPECT_THAT(ParseError("m f=1 9223372036854775808").reason, HasSubstr("out of range"));
  LineProtocolOptions options;
  options.precision = Precision::kMillisecond;
  EXPECT_EQ(ParseOne("m f=1 9223372036854", options).time, 9223372036854000000);
  EXPECT_THAT(ParseError("m f=1 9223372036855", options).reason, HasSubstr("out of range"));
  options.precision = Precision::kHour;
  EXPECT_THAT(ParseError("m f=1 2562048", options).reason, HasSubstr("out of range"));
  EXPECT_THAT(ParseError("m f=1 1-2").reason, HasSubstr("invalid timestamp"));
  EXPECT_THAT(ParseError("m f=1 12a").reason, HasSubstr("invalid timestamp"));
  ParseError("m f=1 1 2");
  ParseError("m f=1 -");
}

TEST(LineProtocolTest, SkipsBlankAndCommentLinesAndAcceptsCrLf) {
  const Parsed p = Parse("# a comment\r\n\n   \n  # indented comment\nm f=1 1\r\n\r\nm f=2   \r\n");
  ASSERT_TRUE(p.errors.empty()) << p.errors.front().ToString();
  ASSERT_EQ(p.points.size(), 2u);
  EXPECT_EQ(p.points[0].line, 5u);
  EXPECT_EQ(p.points[0].time, 1);
  EXPECT_EQ(p.points[1].line, 7u);
  EXPECT_EQ(p.points[1].fields[0].as_float(), 2.0);
  EXPECT_TRUE(Parse("").points.empty());
  EXPECT_TRUE(Parse("\n\n# only comments").points.empty());
  EXPECT_TRUE(Parse("m f=1\r").errors.empty());
  // A carriage return that ends no line is an error.
  ParseError("m f=1\rm f=2");
  ParseError("m f=1 5\r x");
}

TEST(LineProtocolTest, RejectsStructuralErrors) {
  for (const char* body : {"m",
                           "m ",
                           "m,",
                           "m, f=1",
                           "m,k f=1",
                           "m,k= f=1",
                           "m,=v f=1",
                           "m,k=v",
                           "m,k=v,",
                           "m f",
                           "m f=",
                           "m f=1,",
                           "m f=1,,g=2",
                           "m =1",
                           "m f=1x",
                           "m f=\"unterminated",
                           "m f=\"a\"b",
                           ",k=v f=1",
                           " ,m f=1",
                           "m\tf=1",
                           "m,k=v\tx f=1",
                           "m f=1 1 # trailing"}) {
    ParseError(body);
  }
}

TEST(LineProtocolTest, RejectsControlBytesInNamesAndEmptyTagValues) {
  ParseError(std::string("m\x01x f=1"));
  ParseError(std::string("m,k\x7f=v f=1"));
  ParseError(std::string("m,k=x\x01y f=1"));
  ParseError(std::string("m f\x1f=1"));
  ParseError(std::string("m,k=\\\x01 f=1"));
  EXPECT_THAT(ParseError("m,k= f=1").reason, HasSubstr("no value"));
  // A string value may hold any byte but an unescaped quote.
  EXPECT_EQ(ParseOne(std::string("m s=\"\x01\t\x7f\"")).fields[0].text, std::string("\x01\t\x7f"));
}

TEST(LineProtocolTest, RejectsInvalidUtf8) {
  EXPECT_EQ(ParseOne("m\xc3\xa9,k=\xe2\x82\xac f=\"\xf0\x9f\x94\xa5\"").measurement, "m\xc3\xa9");
  ParseError("m\xc3 f=1");
  ParseError("m,k=\xed\xa0\x80 f=1");  // a surrogate
  ParseError("m f=\"\xc0\xaf\"");      // overlong
  ParseError("m \xf4\x90\x80\x80=1");  // above U+10FFFF
}

TEST(LineProtocolTest, DuplicateTagKeysAreAnError) {
  EXPECT_THAT(ParseError("m,a=1,b=2,a=3 f=1").reason, HasSubstr("duplicate tag key 'a'"));
  std::string many = "m";
  for (int i = 0; i < 40; ++i) many += ",k" + std::to_string(i) + "=v";
  EXPECT_EQ(ParseOne(many + " f=1").tags.size(), 40u);
  EXPECT_THAT(ParseError(many + ",k17=w f=1").reason, HasSubstr("duplicate tag key 'k17'"));
}

TEST(LineProtocolTest, RepeatedFieldKeysAreReportedAsWritten) {
  const Point p = ParseOne("m f=1,f=2i");
  ASSERT_EQ(p.fields.size(), 2u);
  EXPECT_EQ(p.fields[0].type, FieldType::kFloat);
  EXPECT_EQ(p.fields[1].type, FieldType::kInteger);
}

TEST(LineProtocolTest, ErrorsNameLineColumnAndText) {
  const Parsed p = Parse("m f=1\n\nm,host=a f=1,g=oops 5\nm f=\"two\nlines\" x\nm f=2\n");
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0].line, 3u);
  EXPECT_EQ(p.errors[0].column, 16u);
  EXPECT_EQ(p.errors[0].text, "m,host=a f=1,g=oops 5");
  EXPECT_EQ(p.errors[0].ToString(),
            "line 3, column 16: value of field 'g' has an unrecognized type");
  EXPECT_EQ(p.errors[1].line, 5u);
  EXPECT_EQ(p.errors[1].column, 8u);
  EXPECT_EQ(p.errors[1].text, "lines\" x");
  // Parsing resumes after the line of the error.
  ASSERT_EQ(p.points.size(), 2u);
  EXPECT_EQ(p.points[1].line, 6u);

  const LineProtocolError crlf = ParseError("m f=1\r\nm f=x\r\n");
  EXPECT_EQ(crlf.line, 2u);
  EXPECT_EQ(crlf.column, 5u);
  EXPECT_EQ(crlf.text, "m f=x");

  const std::string long_line = "m,k=" + std::string(300, 'v') + " f=bad";
  const LineProtocolError cut = ParseError(long_line);
  EXPECT_EQ(cut.text.size(), LineProtocolError::kMaxTextBytes);
  EXPECT_EQ(cut.column, 308u);
}

TEST(LineProtocolTest, EnforcesTheLineLengthLimit) {
  LineProtocolOptions options;
  options.max_line_bytes = 64;
  const std::string fits = "m,k=" + std::string(56, 'v') + " f=1";
  ASSERT_EQ(fits.size(), 64u);
  EXPECT_EQ(ParseOne(fits, options).tags.size(), 1u);
  const std::string too_long = "m,k=" + std::string(57, 'v') + " f=1";
  const Parsed p = Parse(too_long + "\nm f=2\n", options);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_THAT(p.errors[0].reason, HasSubstr("longer than 64 bytes"));
  ASSERT_EQ(p.points.size(), 1u);
  // Escaped names, long strings and many tags hit the same limit.
  EXPECT_THAT(ParseError("m,k=" + std::string(70, 'v') + "\\ x f=1", options).reason,
              HasSubstr("longer than"));
  EXPECT_THAT(ParseError("m s=\"" + std::string(100, 'x') + "\"", options).reason,
              HasSubstr("longer than"));
  std::string tags = "m";
  for (int i = 0; i < 30; ++i) tags += ",k" + std::to_string(i) + "=v";
  EXPECT_THAT(ParseError(tags + " f=1", options).reason, HasSubstr("longer than"));
}

TEST(LineProtocolTest, EnforcesTheFieldCountLimit) {
  LineProtocolOptions options;
  options.max_fields = 3;
  EXPECT_EQ(ParseOne("m a=1,b=2,c=3", options).fields.size(), 3u);
  const LineProtocolError e = ParseError("m a=1,b=2,c=3,d=4", options);
  EXPECT_THAT(e.reason, HasSubstr("more than 3 fields"));
  EXPECT_EQ(e.column, 15u);
}

// Into a batch.

FieldValue ValueOf(const WriteBatch& batch, size_t point, std::string_view field) {
  const WriteBatch::Point& p = batch.points()[point];
  for (uint32_t f = p.field_begin; f < p.field_end; ++f) {
    if (batch.field_names()[batch.fields()[f].name] == field) {
      return batch.ValueOf(batch.fields()[f]);
    }
  }
  ADD_FAILURE() << "no field " << field;
  return FieldValue();
}

TEST(ParseLineProtocolIntoTest, AppendsPointsToTheBatch) {
  WriteBatch batch("db");
  ParseReport report;
  ASSERT_OK(ParseLineProtocolInto(
      "cost,run_id=r1,cloud=aws cost=0.204,gpu_util=0.87,gpu_count=4i,ok=true,note=\"x\" 60\n"
      "cost,cloud=aws,run_id=r1 cost=0.1 120\n"
      "cost,run_id=r2,cloud=aws cost=0.3,n=5u\n",
      LineProtocolOptions(), &batch, &report));
  EXPECT_EQ(report.points_added, 3u);
  EXPECT_EQ(report.invalid_lines, 0u);
  ASSERT_OK(batch.Validate());
  ASSERT_EQ(batch.point_count(), 3u);
  EXPECT_EQ(batch.series_count(), 2u);  // tag order does not make a new series
  EXPECT_EQ(batch.points()[0].series, batch.points()[1].series);
  EXPECT_EQ(batch.series()[0].measurement, "cost");
  EXPECT_EQ(batch.series()[0].tags, (std::vector<Tag>{{"cloud", "aws"}, {"run_id", "r1"}}));
  EXPECT_EQ(batch.points()[1].time_ns, 120);
  EXPECT_EQ(batch.points()[2].time_ns, 0);
  EXPECT_EQ(ValueOf(batch, 0, "cost"), FieldValue::OfMoney(Money::FromUnits(2'040'000'000)));
  EXPECT_EQ(ValueOf(batch, 0, "gpu_util"), FieldValue::Float(0.87));
  EXPECT_EQ(ValueOf(batch, 0, "gpu_count"), FieldValue::Integer(4));
  EXPECT_EQ(ValueOf(batch, 0, "ok"), FieldValue::Boolean(true));
  EXPECT_EQ(ValueOf(batch, 0, "note"), FieldValue::String("x"));
  EXPECT_EQ(ValueOf(batch, 2, "n"), FieldValue::Unsigned(5));
}

TEST(ParseLineProtocolIntoTest, ParsesMoneyExactlyFromTheDecimalText) {
  WriteBatch batch("db");
  ASSERT_OK(ParseLineProtocolInto(
      "c cost=1.81E-8,gpu_cost=3i,egress_cost=0.1,total_cost=-12.3456789012,x_cost=1e2 1",
      LineProtocolOptions(), &batch, nullptr));
  ASSERT_OK(batch.Validate());
  EXPECT_EQ(ValueOf(batch, 0, "cost").as_money().ToString(), "0.0000000181");
  EXPECT_EQ(ValueOf(batch, 0, "cost").as_money(), Money::FromUnits(181));
  EXPECT_EQ(ValueOf(batch, 0, "gpu_cost").as_money().ToString(), "3");
  // 0.1 has no exact double; the money value is exactly one tenth.
  EXPECT_EQ(ValueOf(batch, 0, "egress_cost").as_money(), Money::FromUnits(1'000'000'000));
  EXPECT_EQ(ValueOf(batch, 0, "total_cost").as_money().ToString(), "-12.3456789012");
  EXPECT_EQ(ValueOf(batch, 0, "x_cost").as_money().ToString(), "100");
}

TEST(ParseLineProtocolIntoTest, MoneyFieldsOfOtherTypesAreLineErrors) {
  for (const char* body : {"c cost=5u", "c cost=\"x\"", "c cost=true", "c cost=F", "c cost=1e12",
                           "c cost=1000000000i"}) {
    WriteBatch batch("db");
    ParseReport report;
    const absl::Status s = ParseLineProtocolInto(body, LineProtocolOptions(), &batch, &report);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 1, column 8")))
        << body;
    EXPECT_TRUE(batch.empty());
    ASSERT_EQ(report.errors.size(), 1u);
    EXPECT_EQ(report.errors[0].text, body);
  }
  WriteBatch batch("db");
  EXPECT_THAT(ParseLineProtocolInto("c cost=5u", LineProtocolOptions(), &batch, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unsigned")));
}

TEST(ParseLineProtocolIntoTest, RejectedBatchLeavesTheBatchUntouched) {
  const std::string body = "m,k=v f=1 1\nm,k=v f=2 2\nm,k=v f=oops 3\nm,k=w f=4 4\n";

  // A batch that already holds points.
  WriteBatch batch("db");
  batch.set_source("src");
  const Tag tag{"k", "old"};
  batch.AddPoint(batch.AddSeries("old", std::span<const Tag>(&tag, 1)), 9);
  batch.AddFloat("f", 1.0);
  ParseReport report;
  EXPECT_THAT(ParseLineProtocolInto(body, LineProtocolOptions(), &batch, &report),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "line 3, column 9: value of field 'f' has an unrecognized type"));
  EXPECT_EQ(report.points_added, 0u);
  EXPECT_EQ(report.invalid_lines, 1u);
  EXPECT_EQ(batch.point_count(), 1u);
  EXPECT_EQ(batch.series_count(), 1u);
  EXPECT_EQ(batch.fields().size(), 1u);
  EXPECT_EQ(batch.field_names().size(), 1u);
  EXPECT_EQ(batch.source(), "src");
  EXPECT_OK(batch.Validate());

  // An empty batch, filled in one pass and emptied again.
  WriteBatch empty("db");
  empty.set_source("src");
  EXPECT_THAT(ParseLineProtocolInto(body, LineProtocolOptions(), &empty, &report),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3, column 9")));
  EXPECT_EQ(report.points_added, 0u);
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.series_count(), 0u);
  EXPECT_TRUE(empty.field_names().empty());
  EXPECT_EQ(empty.source(), "src");
  EXPECT_EQ(empty.database(), "db");
  EXPECT_OK(empty.Validate());

  // A money error found only after the syntax check, in both modes.
  WriteBatch money("db");
  EXPECT_FALSE(
      ParseLineProtocolInto("m cost=1 1\nm cost=1u 2\n", LineProtocolOptions(), &money, nullptr)
          .ok());
  EXPECT_TRUE(money.empty());
  EXPECT_FALSE(
      ParseLineProtocolInto("m cost=1 1\nm cost=1u 2\n", LineProtocolOptions(), &batch, nullptr)
          .ok());
  EXPECT_EQ(batch.point_count(), 1u);
}

TEST(ParseLineProtocolIntoTest, SkipModeAppliesValidLinesAndReportsEveryError) {
  LineProtocolOptions options;
  options.on_error = LineErrorPolicy::kSkipInvalidLines;
  options.max_reported_errors = 2;
  WriteBatch batch("db");
  ParseReport report;
  const absl::Status s = ParseLineProtocolInto(
      "m f=1 1\nm f= 2\nm f=3 3\nm,time=x f=4 4\nm cost=1u 5\nm f=6 6\n", options, &batch, &report);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          "line 2, column 5: missing value for field 'f' (and 2 more invalid "
                          "lines)"));
  EXPECT_EQ(report.points_added, 3u);
  EXPECT_EQ(report.invalid_lines, 3u);
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_EQ(report.errors[1].line, 4u);
  EXPECT_EQ(report.errors[1].ToString(), "line 4, column 3: tag key 'time' is reserved");
  ASSERT_OK(batch.Validate());
  ASSERT_EQ(batch.point_count(), 3u);
  EXPECT_EQ(batch.points()[2].time_ns, 6);
}

TEST(ParseLineProtocolIntoTest, RepeatedFieldsKeepTheLastValue) {
  WriteBatch batch("db");
  ASSERT_OK(ParseLineProtocolInto("m f=1,g=2,f=3,cost=1,cost=2i", LineProtocolOptions(), &batch,
                                  nullptr));
  ASSERT_OK(batch.Validate());
  const WriteBatch::Point& p = batch.points()[0];
  EXPECT_EQ(p.field_end - p.field_begin, 3u);
  EXPECT_EQ(ValueOf(batch, 0, "f"), FieldValue::Float(3));
  EXPECT_EQ(ValueOf(batch, 0, "cost").as_money().ToString(), "2");

  std::string many = "m";
  for (int i = 0; i < 40; ++i)
    many += (i ? ",f" : " f") + std::to_string(i % 20) + "=" + std::to_string(i);
  WriteBatch wide("db");
  ASSERT_OK(ParseLineProtocolInto(many, LineProtocolOptions(), &wide, nullptr));
  ASSERT_OK(wide.Validate());
  EXPECT_EQ(wide.fields().size(), 20u);
  EXPECT_EQ(ValueOf(wide, 0, "f7"), FieldValue::Float(27));

  WriteBatch conflict("db");
  EXPECT_THAT(ParseLineProtocolInto("m f=1,f=\"x\"", LineProtocolOptions(), &conflict, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "line 1, column 7: field 'f' given as float and as string"));
}

TEST(ParseLineProtocolIntoTest, RejectsWhatTheBatchWouldReject) {
  for (const char* body : {"m,time=1 f=1", "m time=1", "m f=1,time=2i"}) {
    WriteBatch batch("db");
    EXPECT_THAT(ParseLineProtocolInto(body, LineProtocolOptions(), &batch, nullptr),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reserved")))
        << body;
  }
  WriteBatch batch("db");
  EXPECT_THAT(ParseLineProtocolInto("m s=\"" + std::string(64 * 1024 + 1, 'x') + "\"",
                                    LineProtocolOptions(), &batch, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than 64 KiB")));
}

}  // namespace
}  // namespace burnrate
