#include "engine/column_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace burnrate {
namespace {

// One column of the expected result: for each time, the last value written (or none).
using Expected = std::map<int64_t, std::optional<std::string>>;

std::string ValueText(const ScanColumn& c, size_t row) {
  switch (c.type) {
    case FieldType::kFloat:
      return std::to_string(c.floats[row]);
    case FieldType::kString:
      return c.strings[row];
    default:
      return std::to_string(c.ints[row]);
  }
}

TEST(SortAndDedupRowsTest, LastWriteWinsPerFieldAgainstAModel) {
  std::mt19937 rng(20261125);
  const FieldType types[] = {FieldType::kInteger, FieldType::kFloat, FieldType::kString,
                             FieldType::kMoney};
  for (int round = 0; round < 300; ++round) {
    const size_t n = 1 + rng() % 60;
    const int64_t time_range = 1 + static_cast<int64_t>(rng() % (2 * n));
    const bool sorted_input = round % 4 == 0;
    ScanBatch b;
    b.series_id = 7;
    b.columns.resize(4);
    std::vector<Expected> expected(4);
    std::map<int64_t, bool> times;
    for (size_t c = 0; c < 4; ++c) {
      b.columns[c].name = "f" + std::to_string(c);
      b.columns[c].type = types[c];
    }
    // Column 0 always has a value (no validity vector); the others have gaps.
    for (size_t r = 0; r < n; ++r) {
      int64_t t = static_cast<int64_t>(rng() % time_range) - time_range / 2;
      if (sorted_input) t = static_cast<int64_t>(r / 2);
      b.times.push_back(t);
      times[t] = true;
      for (size_t c = 0; c < 4; ++c) {
        ScanColumn& col = b.columns[c];
        const bool valid = c == 0 || rng() % 3 != 0;
        if (c != 0) col.valid.push_back(valid ? 1 : 0);
        const int64_t v = valid ? static_cast<int64_t>(rng() % 1000) : 0;
        switch (col.type) {
          case FieldType::kFloat:
            col.floats.push_back(static_cast<double>(v) + 0.5);
            break;
          case FieldType::kString:
            col.strings.push_back(valid ? "s" + std::to_string(v) : std::string());
            break;
          default:
            col.ints.push_back(v);
        }
        auto& slot = expected[c][t];
        if (valid) {
          slot = ValueText(col, r);
        }
      }
    }

    const bool left_alone = StrictlyIncreasing(b.times);
    SortAndDedupRows(&b);

    ASSERT_EQ(b.series_id, 7u);
    ASSERT_EQ(b.times.size(), times.size()) << "round " << round;
    size_t row = 0;
    for (const auto& [t, unused] : times) {
      ASSERT_EQ(b.times[row], t);
      for (size_t c = 0; c < 4; ++c) {
        const ScanColumn& col = b.columns[c];
        ASSERT_EQ(col.name, "f" + std::to_string(c));
        ASSERT_EQ(ColumnRows(col), times.size());
        const auto& want = expected[c][t];
        ASSERT_EQ(col.IsValid(row), want.has_value()) << "round " << round << " col " << c;
        if (want.has_value()) {
          EXPECT_EQ(ValueText(col, row), *want);
        }
      }
      ++row;
    }
    for (const ScanColumn& col : b.columns) {
      // Validity is dropped when every row is valid (input already in order is left as is).
      if (!left_alone && !col.valid.empty()) {
        EXPECT_TRUE(
            std::any_of(col.valid.begin(), col.valid.end(), [](uint8_t v) { return v == 0; }));
      }
    }
  }
}

TEST(SortAndDedupRowsTest, StrictlyIncreasingInputIsLeftAlone) {
  ScanBatch b;
  b.times = {1, 2, 3};
  b.columns.resize(1);
  b.columns[0].type = FieldType::kInteger;
  b.columns[0].ints = {10, 20, 30};
  b.columns[0].valid = {1, 1, 1};
  SortAndDedupRows(&b);
  EXPECT_EQ(b.times, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(b.columns[0].ints, (std::vector<int64_t>{10, 20, 30}));
}

}  // namespace
}  // namespace burnrate
