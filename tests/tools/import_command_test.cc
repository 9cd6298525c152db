// `burnrate import`: the summary it prints, restatement, and rejected deliveries.

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tools/commands.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kKokuDelivery =
    std::string(BURNRATE_SHARED_DIR) + "/data/real/aws-cur-legacy-koku-delivery";

// Runs the command and returns what it printed.
std::string RunAndCapture(const ImportCommandOptions& options, absl::Status* status) {
  std::FILE* out = std::tmpfile();
  *status = RunImport(options, out);
  std::string text;
  std::rewind(out);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) text.append(buf, n);
  std::fclose(out);
  return text;
}

TEST(ImportCommandTest, PrintsTheSummaryAndReplacesOnTheNextImport) {
  testing::TempDir dir;
  ImportCommandOptions options;
  options.path = kKokuDelivery;
  options.data_dir = dir.Sub("data");
  absl::Status status;
  const std::string first = RunAndCapture(options, &status);
  ASSERT_OK(status);
  EXPECT_THAT(first, HasSubstr("imported "));
  EXPECT_THAT(first, HasSubstr("billing periods: 2018-08\n"));
  EXPECT_THAT(first, HasSubstr("sources:\n  aws-cur:"));
  EXPECT_THAT(first, HasSubstr(" rows, new\n"));
  EXPECT_THAT(first, HasSubstr("totals:\n  USD  billed "));

  const std::string second = RunAndCapture(options, &status);
  ASSERT_OK(status);
  EXPECT_THAT(second, HasSubstr("rows, replaced the version of 20"));
  EXPECT_THAT(second, Not(HasSubstr(" rows, new\n")));
}

TEST(ImportCommandTest, BadRowRejectsTheFileNamingLineAndColumn) {
  testing::TempDir dir;
  const std::string csv = dir.Sub("bad.csv");
  std::ofstream(csv) << "BilledCost,ChargePeriodStart,ChargePeriodEnd,BillingCurrency\n"
                        "1.5,2026-11-01T00:00:00Z,2026-11-01T01:00:00Z,USD\n"
                        "nope,2026-11-01T00:00:00Z,2026-11-01T01:00:00Z,USD\n";
  ImportCommandOptions options;
  options.path = csv;
  options.data_dir = dir.Sub("data");
  absl::Status status;
  RunAndCapture(options, &status);
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.csv:3: column 1:")));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("rejected, previous versions stay live")));

  options.skip_bad_rows = true;
  const std::string text = RunAndCapture(options, &status);
  ASSERT_OK(status);
  EXPECT_THAT(text, HasSubstr("(1 skipped)"));
  EXPECT_THAT(text, HasSubstr("skipped rows (first 1 of 1):\n  "));
  EXPECT_THAT(text, HasSubstr("bad.csv:3: column 1:"));
}

}  // namespace
}  // namespace burnrate
