#include "tools/write_command.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace burnrate {
namespace {

using ::burnrate::testing::ServerTest;
using ::burnrate::testing::StatusIs;
using ::testing::HasSubstr;

struct Split {
  std::vector<std::string> lines;
  std::vector<bool> points;
  std::vector<size_t> newlines;
};

// Feeds `input` to a LineSplitter in pieces of `piece` bytes.
Split SplitInPieces(std::string_view input, size_t piece) {
  Split out;
  LineSplitter splitter;
  std::string current;
  for (size_t at = 0; at < input.size(); at += piece) {
    std::string_view data = input.substr(at, piece);
    while (!data.empty()) {
      bool ended = false;
      const size_t used = splitter.Consume(data, &ended);
      current.append(data.substr(0, used));
      data.remove_prefix(used);
      if (ended) {
        out.lines.push_back(current);
        out.points.push_back(splitter.line_is_point());
        out.newlines.push_back(splitter.line_newlines());
        current.clear();
      }
    }
  }
  if (splitter.in_line()) {
    out.points.push_back(splitter.FinishLastLine());
    out.lines.push_back(current);
    out.newlines.push_back(0);
  }
  return out;
}

TEST(LineSplitterTest, NewlinesInsideQuotedStringsDoNotEndALine) {
  const std::string input =
      "# comment with \"quote\n"
      "m,tag=\"x v=1\n"  // a quote in a tag is literal
      "m s=\"two\nlines\",v=1 5\n"
      "\n"
      "m s=\"esc \\\" still\ninside\" 6\n"
      "m\\ x,t=a\\ b f=\"\" 7\n"
      "m v=1";  // no final newline
  for (size_t piece : {1, 2, 3, 7, 1000}) {
    Split s = SplitInPieces(input, piece);
    ASSERT_EQ(s.lines.size(), 7u) << piece;
    EXPECT_EQ(s.lines[0], "# comment with \"quote\n");
    EXPECT_FALSE(s.points[0]);
    EXPECT_EQ(s.lines[1], "m,tag=\"x v=1\n");
    EXPECT_TRUE(s.points[1]);
    EXPECT_EQ(s.lines[2], "m s=\"two\nlines\",v=1 5\n");
    EXPECT_EQ(s.newlines[2], 2u);
    EXPECT_FALSE(s.points[3]);
    EXPECT_EQ(s.lines[4], "m s=\"esc \\\" still\ninside\" 6\n");
    EXPECT_EQ(s.lines[5], "m\\ x,t=a\\ b f=\"\" 7\n");
    EXPECT_EQ(s.lines[6], "m v=1");
    EXPECT_TRUE(s.points[6]);
  }
}

class WriteCommandTest : public ServerTest {
 protected:
  std::string WriteInput(const std::string& text) {
    const std::string path = dir_.Sub("input.lp");
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  WriteCommandOptions Options(const std::string& input) {
    WriteCommandOptions o;
    o.input = input;
    o.url = StrCat("http://127.0.0.1:", server_->port());
    o.database = "db";
    return o;
  }
  std::string RunCapturing(const WriteCommandOptions& o, absl::StatusOr<WriteSummary>* result) {
    std::FILE* out = std::tmpfile();
    *result = RunWrite(o, out);
    std::rewind(out);
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, out)) > 0) text.append(buf, n);
    std::fclose(out);
    return text;
  }
};

std::string Lines(int first, int count) {
  std::string out;
  for (int i = first; i < first + count; ++i) {
    StrAppend(&out, "cost,run_id=r", i % 7, ",resource=i-", i, " cost=0.", i % 9 + 1, " ",
              1793491200000000000LL + int64_t{i} * 60'000'000'000LL, "\n");
  }
  return out;
}

TEST_F(WriteCommandTest, SendsEveryLineInBatchesAndSummarises) {
  StartServer();
  WriteCommandOptions o = Options(WriteInput(Lines(0, 12'345)));
  o.batch_lines = 1000;
  o.connections = 3;
  absl::StatusOr<WriteSummary> summary;
  const std::string printed = RunCapturing(o, &summary);
  ASSERT_OK(summary);
  EXPECT_EQ(summary->lines, 12'345u);
  EXPECT_EQ(summary->points_written, 12'345u);
  EXPECT_EQ(summary->lines_rejected, 0u);
  EXPECT_EQ(summary->batches, 13u);
  EXPECT_THAT(printed, HasSubstr("12,345 points written from 12,345 lines in 13 batches"));
  EXPECT_EQ(CountPoints(), 12'345u);
}

TEST_F(WriteCommandTest, ReportsInvalidLinesWithTheirLineInTheInput) {
  StartServer();
  // Lines 5-6 hold one point whose string spans two lines, so the invalid one is on line 10.
  const std::string input = StrCat(Lines(0, 4), "note s=\"a\nb\" 1\n", Lines(4, 3),
                                   "cost,run_id=x cost=oops 1\n", Lines(7, 3));
  WriteCommandOptions o = Options(WriteInput(input));
  o.batch_lines = 4;
  absl::StatusOr<WriteSummary> summary;
  const std::string printed = RunCapturing(o, &summary);
  ASSERT_OK(summary);
  EXPECT_EQ(summary->lines, 12u);
  EXPECT_EQ(summary->points_written, 11u);
  EXPECT_EQ(summary->lines_rejected, 1u);
  EXPECT_THAT(printed, HasSubstr("input.lp:10: partial write: unable to parse "
                                 "'cost,run_id=x cost=oops 1'"));
  EXPECT_THAT(printed, HasSubstr("1 lines rejected"));
  EXPECT_EQ(CountPoints(), 10u);
  EXPECT_EQ(CountPoints("note", "s"), 1u);
}

TEST_F(WriteCommandTest, StopsWhenTheServerRefusesTheDatabaseOrTheToken) {
  StartServer();
  WriteCommandOptions o = Options(WriteInput(Lines(0, 10)));
  o.database = "nope";
  absl::StatusOr<WriteSummary> summary;
  RunCapturing(o, &summary);
  EXPECT_THAT(summary, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("answered 404")));
  WriteCommandOptions unreachable = Options(WriteInput(Lines(0, 10)));
  unreachable.url = "http://127.0.0.1:1";
  RunCapturing(unreachable, &summary);
  EXPECT_THAT(summary, StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace burnrate
