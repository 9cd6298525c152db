#include "storage/segment.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fault_injection_file_system.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::FaultInjectionFileSystem;
using ::burnrate::testing::StatusIs;
using ::burnrate::testing::TempDir;
using ::testing::HasSubstr;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr TimestampNs kT0 = 1'700'000'000'000'000'000;
constexpr TimestampNs kMinute = 60'000'000'000;

struct Field {
  uint32_t id;
  std::string name;
  FieldType type;
};
const std::vector<Field>& Fields() {
  static const auto* fields = new std::vector<Field>{
      {1, "cost", FieldType::kMoney},        {2, "gpu_util", FieldType::kFloat},
      {3, "count", FieldType::kInteger},     {4, "bytes", FieldType::kUnsigned},
      {5, "preempted", FieldType::kBoolean}, {6, "note", FieldType::kString},
      {9, "list_cost", FieldType::kMoney},
  };
  return *fields;
}

struct TestSeries {
  uint32_t id = 0;
  std::vector<TimestampNs> times;
  std::vector<std::pair<Field, ScanColumn>> columns;

  const ScanColumn* Find(uint32_t field_id) const {
    for (const auto& [f, c] : columns) {
      if (f.id == field_id) return &c;
    }
    return nullptr;
  }
};

size_t Rows(const ScanColumn& c) {
  switch (c.type) {
    case FieldType::kFloat:
      return c.floats.size();
    case FieldType::kString:
      return c.strings.size();
    default:
      return c.ints.size();
  }
}

// A column of n rows of `type`, about null_fraction of them null, with extremes mixed in.
ScanColumn RandomColumn(FieldType type, size_t n, double null_fraction, std::mt19937_64* rng) {
  ScanColumn c;
  c.type = type;
  std::uniform_real_distribution<double> u(0, 1);
  int64_t walk = 2'500'000'000;
  for (size_t r = 0; r < n; ++r) {
    const uint64_t x = (*rng)();
    switch (type) {
      case FieldType::kMoney:
        walk += static_cast<int64_t>(x % 201) - 100;
        c.ints.push_back(x % 97 == 0 ? kMax : x % 89 == 0 ? kMin : walk);
        break;
      case FieldType::kInteger:
        c.ints.push_back(static_cast<int64_t>(x) >> (x % 64));
        break;
      case FieldType::kUnsigned:
        c.ints.push_back(static_cast<int64_t>(x % 5 == 0 ? ~uint64_t{0} - x % 3 : x % 1000));
        break;
      case FieldType::kBoolean:
        c.ints.push_back(static_cast<int64_t>(x % 2));
        break;
      case FieldType::kFloat:
        c.floats.push_back(x % 53 == 0   ? -0.0
                           : x % 59 == 0 ? std::numeric_limits<double>::quiet_NaN()
                           : x % 61 == 0 ? std::numeric_limits<double>::infinity()
                           : x % 2 == 0  ? static_cast<double>(x % 10001) / 1e4
                                         : std::bit_cast<double>(x >> 2));
        break;
      case FieldType::kString:
        c.strings.push_back(x % 3 == 0 ? std::string() : std::string(x % 40, 'a' + x % 26));
        break;
    }
  }
  if (null_fraction > 0) {
    c.valid.resize(n);
    for (auto& v : c.valid) v = u(*rng) < null_fraction ? 0 : 1;
  }
  return c;
}

// Series with ids 10, 20, ..., random lengths (including block-size multiples), random
// field subsets, and a mix of no/some/all nulls.
std::vector<TestSeries> RandomSeries(int count, uint32_t block_rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<TestSeries> out;
  const size_t lengths[] = {1, 2, block_rows - 1, block_rows, block_rows + 1, 3 * block_rows, 57};
  for (int i = 0; i < count; ++i) {
    TestSeries s;
    s.id = static_cast<uint32_t>(10 * (i + 1));
    const size_t n = lengths[rng() % std::size(lengths)] + (i == 0 ? 100 : 0);
    TimestampNs t = kT0 + static_cast<TimestampNs>(rng() % 1000) * kMinute;
    for (size_t r = 0; r < n; ++r) {
      s.times.push_back(t);
      t += rng() % 7 == 0 ? static_cast<TimestampNs>(1 + rng() % 100) * kMinute : kMinute;
    }
    for (const Field& f : Fields()) {
      if (rng() % 3 == 0) continue;
      const double nulls[] = {0, 0, 0.3, 1.0};
      s.columns.emplace_back(f, RandomColumn(f.type, n, nulls[rng() % 4], &rng));
    }
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<SegmentInfo> WriteSegment(FileSystem* fs, const std::string& path,
                                         const std::vector<TestSeries>& series,
                                         uint32_t block_rows) {
  SegmentMeta meta{"telemetry", kT0, kT0 + 86'400'000'000'000 * 30};
  SegmentWriterOptions opts;
  opts.block_rows = block_rows;
  auto writer = SegmentWriter::Create(fs, path, meta, opts);
  if (!writer.ok()) return writer.status();
  for (const TestSeries& s : series) {
    std::vector<SegmentColumnInput> inputs;
    for (const auto& [f, c] : s.columns) inputs.push_back({f.id, f.name, &c});
    absl::Status st = (*writer)->AddSeries(s.id, s.times, inputs);
    if (!st.ok()) return st;
  }
  return (*writer)->Finish();
}

std::string Cell(const ScanColumn& c, size_t r) {
  if (!c.IsValid(r)) return "null";
  switch (c.type) {
    case FieldType::kFloat:
      return absl::StrCat("f", std::bit_cast<uint64_t>(c.floats[r]));
    case FieldType::kString:
      return "s" + c.strings[r];
    default:
      return absl::StrCat("i", c.ints[r]);
  }
}

// Every cell of c, checking ScanColumn's shape conventions on the way.
std::vector<std::string> Cells(const ScanColumn& c, size_t rows) {
  EXPECT_EQ(Rows(c), rows);
  EXPECT_TRUE(c.valid.empty() || c.valid.size() == rows) << c.valid.size() << " vs " << rows;
  std::vector<std::string> out;
  for (size_t r = 0; r < std::min(rows, Rows(c)); ++r) out.push_back(Cell(c, r));
  return out;
}

// What ReadSeries must append for series s, [min_time, max_time] and fields.
void AppendExpected(const TestSeries& s, TimestampNs min_time, TimestampNs max_time,
                    const std::vector<int64_t>& fields, std::vector<TimestampNs>* times,
                    std::vector<std::vector<std::string>>* cells) {
  cells->resize(fields.size());
  for (size_t r = 0; r < s.times.size(); ++r) {
    if (s.times[r] < min_time || s.times[r] > max_time) continue;
    times->push_back(s.times[r]);
    for (size_t i = 0; i < fields.size(); ++i) {
      const ScanColumn* c = fields[i] < 0 ? nullptr : s.Find(static_cast<uint32_t>(fields[i]));
      (*cells)[i].push_back(c == nullptr ? "null" : Cell(*c, r));
    }
  }
}

ScanBatch EmptyBatch(const std::vector<int64_t>& fields) {
  ScanBatch b;
  for (int64_t id : fields) {
    ScanColumn c;
    for (const Field& f : Fields()) {
      if (static_cast<int64_t>(f.id) == id) c.type = f.type;
    }
    b.columns.push_back(c);
  }
  return b;
}

void ExpectBatch(const ScanBatch& got, const std::vector<TimestampNs>& times,
                 const std::vector<std::vector<std::string>>& cells) {
  ASSERT_EQ(got.times, times);
  ASSERT_EQ(got.columns.size(), cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(Cells(got.columns[i], times.size()), cells[i]);
  }
}

std::vector<int64_t> AllFieldIds() {
  std::vector<int64_t> ids;
  for (const Field& f : Fields()) ids.push_back(f.id);
  ids.push_back(-1);
  ids.push_back(1000);  // a field no series has
  return ids;
}

class SegmentTest : public ::testing::Test {
 protected:
  FileSystem* fs_ = FileSystem::Default();
  TempDir dir_;
};

TEST_F(SegmentTest, RoundTripsManySeriesWithNullsAndAllTypes) {
  for (uint32_t block_rows : {4u, 16u, 8192u}) {
    SCOPED_TRACE(block_rows);
    const std::string path = dir_.Sub(absl::StrCat("seg", block_rows));
    const auto series = RandomSeries(40, block_rows, block_rows);
    ASSERT_OK_AND_ASSIGN(SegmentInfo info, WriteSegment(fs_, path, series, block_rows));
    ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
    EXPECT_EQ(reader->info().file_size, info.file_size);
    EXPECT_EQ(reader->info().row_count, info.row_count);
    EXPECT_EQ(reader->info().series_count, series.size());
    EXPECT_EQ(reader->meta().database, "telemetry");
    EXPECT_EQ(reader->meta().partition_start, kT0);
    ASSERT_OK(reader->VerifyAll());

    const std::vector<int64_t> fields = AllFieldIds();
    uint64_t rows = 0;
    SegmentReadCache cache;
    for (size_t i = 0; i < series.size(); ++i) {
      SCOPED_TRACE(series[i].id);
      ASSERT_EQ(reader->FindSeries(series[i].id), static_cast<int>(i));
      const auto& entry = reader->series()[i];
      EXPECT_EQ(entry.row_count, series[i].times.size());
      EXPECT_EQ(entry.row_begin, rows);
      // Every block but the last is full, so the blocks of a series follow from its rows.
      EXPECT_EQ(entry.first_block, rows / block_rows);
      EXPECT_EQ(entry.first_block + entry.block_count - 1,
                (rows + entry.row_count - 1) / block_rows);
      rows += entry.row_count;
      std::vector<TimestampNs> times;
      std::vector<std::vector<std::string>> cells;
      AppendExpected(series[i], kMin, kMax, fields, &times, &cells);
      ScanBatch batch = EmptyBatch(fields);
      ASSERT_OK(reader->ReadSeries(i, kMin, kMax, fields, &batch));
      ExpectBatch(batch, times, cells);
      ScanBatch cached = EmptyBatch(fields);
      ASSERT_OK(reader->ReadSeries(i, kMin, kMax, fields, &cached, &cache));
      ExpectBatch(cached, times, cells);
    }
    EXPECT_EQ(rows, info.row_count);
    EXPECT_EQ(reader->blocks().size(), (rows + block_rows - 1) / block_rows);
    // Read in id order, each block was decoded once.
    EXPECT_EQ(cache.blocks_decoded(), reader->blocks().size());
    EXPECT_EQ(reader->FindSeries(11), -1);
    EXPECT_EQ(reader->FindColumn(1000), -1);
    EXPECT_GE(reader->FindColumn(1), 0);
  }
}

TEST_F(SegmentTest, AppendsToABatchKeepingTheValidityConvention) {
  const uint32_t block_rows = 5;
  std::vector<TestSeries> series(2);
  series[0].id = 1;
  series[1].id = 2;
  for (int r = 0; r < 12; ++r) {
    series[0].times.push_back(kT0 + r * kMinute);
    series[1].times.push_back(kT0 + r * kMinute);
  }
  std::mt19937_64 rng(1);
  // Series 1: field 1 all valid; series 2: field 1 with nulls, field 3 only here.
  series[0].columns.emplace_back(Fields()[0], RandomColumn(FieldType::kMoney, 12, 0, &rng));
  series[1].columns.emplace_back(Fields()[0], RandomColumn(FieldType::kMoney, 12, 0.5, &rng));
  series[1].columns.emplace_back(Fields()[2], RandomColumn(FieldType::kInteger, 12, 0, &rng));
  const std::string path = dir_.Sub("seg");
  ASSERT_OK(WriteSegment(fs_, path, series, block_rows));
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));

  const std::vector<int64_t> fields = {1, 3};
  ScanBatch batch = EmptyBatch(fields);
  std::vector<TimestampNs> times;
  std::vector<std::vector<std::string>> cells;
  // Valid rows first (valid stays empty), then nulls (materialised), then valid again.
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < 2; ++i) {
      ASSERT_OK(reader->ReadSeries(i, kT0 + 2 * kMinute, kT0 + 9 * kMinute, fields, &batch));
      AppendExpected(series[i], kT0 + 2 * kMinute, kT0 + 9 * kMinute, fields, &times, &cells);
      ExpectBatch(batch, times, cells);
    }
  }
  // A column that only ever saw valid rows keeps an empty validity vector.
  ScanBatch valid_only = EmptyBatch({1});
  ASSERT_OK(reader->ReadSeries(0, kMin, kMax, std::vector<int64_t>{1}, &valid_only));
  EXPECT_TRUE(valid_only.columns[0].valid.empty());
  EXPECT_EQ(valid_only.columns[0].ints.size(), 12u);
}

TEST_F(SegmentTest, TimeRangesTrimRowsAtEveryEdge) {
  const uint32_t block_rows = 7;
  const auto series = RandomSeries(6, block_rows, 99);
  const std::string path = dir_.Sub("seg");
  ASSERT_OK(WriteSegment(fs_, path, series, block_rows));
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
  const std::vector<int64_t> fields = AllFieldIds();
  SegmentReadCache cache;
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& t = series[i].times;
    std::vector<TimestampNs> bounds = {kMin, t.front() - 1, t.back() + 1, kMax};
    for (size_t r = 0; r < t.size(); r += 3) {
      bounds.push_back(t[r]);
      bounds.push_back(t[r] + 1);
      bounds.push_back(t[r] - 1);
    }
    for (TimestampNs lo : bounds) {
      for (TimestampNs hi : bounds) {
        std::vector<TimestampNs> times;
        std::vector<std::vector<std::string>> cells;
        AppendExpected(series[i], lo, hi, fields, &times, &cells);
        ScanBatch batch = EmptyBatch(fields);
        ASSERT_OK(reader->ReadSeries(i, lo, hi, fields, &batch));
        ExpectBatch(batch, times, cells);
        ScanBatch cached = EmptyBatch(fields);
        ASSERT_OK(reader->ReadSeries(i, lo, hi, fields, &cached, &cache));
        ExpectBatch(cached, times, cells);
      }
    }
  }
}

// Reads every series of reader whole and compares with `series`, with no cache, with
// `cache`, and with a cache too small to keep anything.
void ExpectAllSeries(const SegmentReader& reader, const std::vector<TestSeries>& series,
                     const std::vector<int64_t>& fields, SegmentReadCache* cache) {
  ASSERT_EQ(reader.series().size(), series.size());
  SegmentReadCache tiny(/*max_bytes=*/1);
  for (size_t i = 0; i < series.size(); ++i) {
    SCOPED_TRACE(series[i].id);
    std::vector<TimestampNs> times;
    std::vector<std::vector<std::string>> cells;
    AppendExpected(series[i], kMin, kMax, fields, &times, &cells);
    for (SegmentReadCache* c : {static_cast<SegmentReadCache*>(nullptr), cache, &tiny}) {
      ScanBatch batch = EmptyBatch(fields);
      ASSERT_OK(reader.ReadSeries(i, kMin, kMax, fields, &batch, c));
      ExpectBatch(batch, times, cells);
    }
  }
}

TEST_F(SegmentTest, ManyShortSeriesShareBlocks) {
  // Short-lived resources: 600 series of 1 to 20 minutes with the same three fields.
  std::mt19937_64 rng(12);
  std::vector<TestSeries> series(600);
  uint64_t total = 0;
  for (size_t i = 0; i < series.size(); ++i) {
    TestSeries& s = series[i];
    s.id = static_cast<uint32_t>(3 * i + 1);
    const size_t n = 1 + rng() % 20;
    const TimestampNs start = kT0 + static_cast<TimestampNs>(rng() % 1440) * kMinute;
    for (size_t r = 0; r < n; ++r) s.times.push_back(start + static_cast<TimestampNs>(r) * kMinute);
    s.columns.emplace_back(Fields()[0], RandomColumn(FieldType::kMoney, n, 0, &rng));
    s.columns.emplace_back(Fields()[1], RandomColumn(FieldType::kFloat, n, 0.1, &rng));
    s.columns.emplace_back(Fields()[2], RandomColumn(FieldType::kInteger, n, 0, &rng));
    total += n;
  }
  const uint32_t block_rows = 256;
  const std::string path = dir_.Sub("seg");
  ASSERT_OK_AND_ASSIGN(SegmentInfo info, WriteSegment(fs_, path, series, block_rows));
  EXPECT_EQ(info.row_count, total);
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
  ASSERT_OK(reader->VerifyAll());
  const size_t blocks = (total + block_rows - 1) / block_rows;
  ASSERT_EQ(reader->blocks().size(), blocks);
  // One chunk per field and block, not per series.
  for (uint32_t field : {1u, 2u, 3u}) {
    const int col = reader->FindColumn(field);
    ASSERT_GE(col, 0);
    for (size_t b = 0; b < blocks; ++b) EXPECT_TRUE(reader->GetChunkStats(col, b).has_value());
  }
  // The footer: 32 bytes per series, and little else.
  std::string bytes;
  ASSERT_OK(fs_->ReadFileToString(path, &bytes));
  const uint32_t footer_size = DecodeFixed32(bytes.data() + bytes.size() - 20);
  EXPECT_LT(footer_size, 32 * series.size() + 1024 + blocks * (40 + 3 * 64));

  SegmentReadCache cache;
  ExpectAllSeries(*reader, series, {1, 2, 3, -1}, &cache);
  EXPECT_EQ(cache.blocks_decoded(), blocks);
}

TEST_F(SegmentTest, ALongSeriesSpansBlocksAndOnlyThoseInRangeAreRead) {
  std::mt19937_64 rng(4);
  std::vector<TestSeries> series(3);
  const size_t lengths[] = {10, 1000, 5};
  for (size_t i = 0; i < 3; ++i) {
    series[i].id = static_cast<uint32_t>(i + 1);
    for (size_t r = 0; r < lengths[i]; ++r) {
      series[i].times.push_back(kT0 + static_cast<TimestampNs>(r) * kMinute);
    }
    series[i].columns.emplace_back(Fields()[0],
                                   RandomColumn(FieldType::kMoney, lengths[i], 0.2, &rng));
  }
  const std::string path = dir_.Sub("seg");
  ASSERT_OK(WriteSegment(fs_, path, series, 100));
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
  const auto& entry = reader->series()[1];
  EXPECT_EQ(entry.first_block, 0u);
  EXPECT_EQ(entry.block_count, 11u);  // rows 10 .. 1009
  const std::vector<int64_t> fields = {1};

  // Rows 450 .. 520 of the series are segment rows 460 .. 530: blocks 4 and 5.
  SegmentReadCache cache;
  ScanBatch batch = EmptyBatch(fields);
  ASSERT_OK(
      reader->ReadSeries(1, kT0 + 450 * kMinute, kT0 + 520 * kMinute, fields, &batch, &cache));
  std::vector<TimestampNs> times;
  std::vector<std::vector<std::string>> cells;
  AppendExpected(series[1], kT0 + 450 * kMinute, kT0 + 520 * kMinute, fields, &times, &cells);
  ExpectBatch(batch, times, cells);
  EXPECT_EQ(cache.blocks_decoded(), 2u);

  // A range missing the series, or its blocks, decodes nothing; a range between two rows
  // reads nothing.
  ScanBatch none = EmptyBatch(fields);
  ASSERT_OK(reader->ReadSeries(1, kT0 + 1000 * kMinute, kMax, fields, &none, &cache));
  ASSERT_OK(reader->ReadSeries(0, kT0 + 10 * kMinute, kMax, fields, &none, &cache));
  EXPECT_EQ(cache.blocks_decoded(), 2u);
  ASSERT_OK(reader->ReadSeries(1, kT0 + 450 * kMinute + 1, kT0 + 451 * kMinute - 1, fields, &none,
                               &cache));
  EXPECT_EQ(none.rows(), 0u);

  SegmentReadCache all;
  ExpectAllSeries(*reader, series, fields, &all);
  EXPECT_EQ(all.blocks_decoded(), reader->blocks().size());
}

TEST_F(SegmentTest, RandomSeriesLengthsRoundTripExactly) {
  std::mt19937_64 rng(2024);
  for (int trial = 0; trial < 12; ++trial) {
    const uint32_t block_rows_choices[] = {1, 3, 8, 64, 1000};
    const uint32_t block_rows = block_rows_choices[trial % 5];
    SCOPED_TRACE(absl::StrCat("trial ", trial, " block_rows ", block_rows));
    std::vector<TestSeries> series(1 + rng() % 60);
    uint32_t id = 0;
    for (TestSeries& s : series) {
      id += 1 + static_cast<uint32_t>(rng() % 5);
      s.id = id;
      const size_t n = rng() % 8 == 0 ? 1 + rng() % (4 * block_rows + 300) : 1 + rng() % 40;
      TimestampNs t = kT0 + static_cast<TimestampNs>(rng() % 5000) * kMinute;
      for (size_t r = 0; r < n; ++r) {
        s.times.push_back(t);
        t += rng() % 9 == 0 ? 1 + static_cast<TimestampNs>(rng() % 1000) : kMinute;
      }
      for (const Field& f : Fields()) {
        if (rng() % 2 == 0) continue;
        const double nulls[] = {0, 0, 0.5, 1.0};
        s.columns.emplace_back(f, RandomColumn(f.type, n, nulls[rng() % 4], &rng));
      }
    }
    const std::string path = dir_.Sub(absl::StrCat("seg", trial));
    ASSERT_OK(WriteSegment(fs_, path, series, block_rows));
    ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
    ASSERT_OK(reader->VerifyAll());
    const std::vector<int64_t> fields = AllFieldIds();
    SegmentReadCache cache;
    ExpectAllSeries(*reader, series, fields, &cache);
    // Random ranges of random series, out of id order, through the same cache.
    for (int k = 0; k < 50; ++k) {
      const size_t i = rng() % series.size();
      const auto& t = series[i].times;
      const TimestampNs lo = t[rng() % t.size()] - static_cast<TimestampNs>(rng() % 2);
      const TimestampNs hi = t[rng() % t.size()] + static_cast<TimestampNs>(rng() % 2);
      std::vector<TimestampNs> times;
      std::vector<std::vector<std::string>> cells;
      AppendExpected(series[i], lo, hi, fields, &times, &cells);
      ScanBatch batch = EmptyBatch(fields);
      ASSERT_OK(reader->ReadSeries(i, lo, hi, fields, &batch, &cache));
      ExpectBatch(batch, times, cells);
    }
  }
}

TEST_F(SegmentTest, SparseFieldsRoundTrip) {
  // Field 6 (string) in two series, field 3 in three, field 1 in all of 200 short series.
  std::mt19937_64 rng(9);
  std::vector<TestSeries> series(200);
  for (size_t i = 0; i < series.size(); ++i) {
    TestSeries& s = series[i];
    s.id = static_cast<uint32_t>(i + 1);
    for (int r = 0; r < 10; ++r) s.times.push_back(kT0 + r * kMinute);
    s.columns.emplace_back(Fields()[0], RandomColumn(FieldType::kMoney, 10, 0, &rng));
    if (i == 50 || i == 150) {
      s.columns.emplace_back(Fields()[5], RandomColumn(FieldType::kString, 10, 0.3, &rng));
    }
    if (i == 7 || i == 8 || i == 199) {
      s.columns.emplace_back(Fields()[2], RandomColumn(FieldType::kInteger, 10, 0, &rng));
    }
  }
  const uint32_t block_rows = 64;
  const std::string path = dir_.Sub("seg");
  ASSERT_OK(WriteSegment(fs_, path, series, block_rows));
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
  ASSERT_OK(reader->VerifyAll());
  // Chunks only in the blocks holding rows of the series that have the field.
  auto blocks_with_chunks = [&](uint32_t field) {
    std::vector<size_t> out;
    const int col = reader->FindColumn(field);
    for (size_t b = 0; b < reader->blocks().size(); ++b) {
      if (reader->GetChunkStats(col, b).has_value()) out.push_back(b);
    }
    return out;
  };
  EXPECT_EQ(blocks_with_chunks(6), (std::vector<size_t>{500 / 64, 1500 / 64}));
  EXPECT_EQ(blocks_with_chunks(3), (std::vector<size_t>{70 / 64, 1990 / 64}));
  EXPECT_EQ(blocks_with_chunks(1).size(), reader->blocks().size());
  SegmentReadCache cache;
  ExpectAllSeries(*reader, series, {6, 3, 1}, &cache);
  ExpectAllSeries(*reader, series, {3}, &cache);
}

TEST_F(SegmentTest, OneCacheServesSeveralReadersAndFieldSets) {
  const uint32_t block_rows = 32;
  const auto a = RandomSeries(20, block_rows, 1);
  const auto b = RandomSeries(25, block_rows, 2);
  ASSERT_OK(WriteSegment(fs_, dir_.Sub("a"), a, block_rows));
  ASSERT_OK(WriteSegment(fs_, dir_.Sub("b"), b, block_rows));
  ASSERT_OK_AND_ASSIGN(auto ra, SegmentReader::Open(fs_, dir_.Sub("a")));
  ASSERT_OK_AND_ASSIGN(auto rb, SegmentReader::Open(fs_, dir_.Sub("b")));
  SegmentReadCache cache;
  const std::vector<std::vector<int64_t>> field_sets = {{1}, {2, 1}, AllFieldIds(), {6}};
  for (size_t i = 0; i < 25; ++i) {
    for (const auto& fields : field_sets) {
      for (const auto* pair : {&a, &b}) {
        const auto& series = *pair;
        const SegmentReader& reader = pair == &a ? *ra : *rb;
        if (i >= series.size()) continue;
        std::vector<TimestampNs> times;
        std::vector<std::vector<std::string>> cells;
        AppendExpected(series[i], kMin, kMax, fields, &times, &cells);
        ScanBatch batch = EmptyBatch(fields);
        ASSERT_OK(reader.ReadSeries(i, kMin, kMax, fields, &batch, &cache));
        ExpectBatch(batch, times, cells);
      }
    }
  }
  // Read in id order, every block is decoded at most once per field set.
  EXPECT_LE(cache.blocks_decoded(),
            field_sets.size() * (ra->blocks().size() + rb->blocks().size()));
}

TEST_F(SegmentTest, BlocksOutsideTheRangeAreNotRead) {
  std::vector<TestSeries> series(1);
  series[0].id = 7;
  for (int r = 0; r < 100; ++r) series[0].times.push_back(kT0 + r * kMinute);
  std::mt19937_64 rng(2);
  series[0].columns.emplace_back(Fields()[0], RandomColumn(FieldType::kMoney, 100, 0, &rng));
  const std::string path = dir_.Sub("seg");
  ASSERT_OK(WriteSegment(fs_, path, series, 10));
  {
    ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
    ASSERT_EQ(reader->blocks().size(), 10u);
  }
  // Corrupt the first block's time chunk (it follows the 8-byte magic).
  ASSERT_OK(testing::FlipByte(fs_, path, 9));
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
  const std::vector<int64_t> fields = {1};
  ScanBatch batch = EmptyBatch(fields);
  ASSERT_OK(reader->ReadSeries(0, kT0 + 35 * kMinute, kT0 + 64 * kMinute, fields, &batch));
  EXPECT_EQ(batch.rows(), 30u);
  EXPECT_EQ(batch.times.front(), kT0 + 35 * kMinute);
  // Reading the corrupt block fails and leaves the batch as it was.
  EXPECT_THAT(reader->ReadSeries(0, kMin, kMax, fields, &batch),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
  EXPECT_EQ(batch.rows(), 30u);
  EXPECT_EQ(batch.columns[0].ints.size(), 30u);
  EXPECT_THAT(reader->VerifyAll(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("block 0")));
}

// Brute-force statistics of rows [begin, end) of c, as ChunkStats documents them.
ChunkStats BruteForceStats(const ScanColumn& c, size_t begin, size_t end) {
  ChunkStats s;
  s.row_count = static_cast<uint32_t>(end - begin);
  bool first = true;
  double fmin = std::numeric_limits<double>::infinity(), fmax = -fmin, fsum = 0;
  for (size_t r = begin; r < end; ++r) {
    if (!c.IsValid(r)) {
      ++s.null_count;
      continue;
    }
    if (c.type == FieldType::kFloat) {
      const double v = c.floats[r];
      if (std::isnan(v)) continue;
      fmin = std::min(fmin, v);
      fmax = std::max(fmax, v);
      fsum += v;
    } else if (c.type == FieldType::kUnsigned) {
      const auto v = static_cast<uint64_t>(c.ints[r]);
      s.min_int = static_cast<int64_t>(first ? v : std::min(v, static_cast<uint64_t>(s.min_int)));
      s.max_int = static_cast<int64_t>(first ? v : std::max(v, static_cast<uint64_t>(s.max_int)));
      s.sum_int += static_cast<__int128>(v);
    } else if (c.type != FieldType::kString) {
      const int64_t v = c.type == FieldType::kBoolean ? (c.ints[r] != 0) : c.ints[r];
      s.min_int = first ? v : std::min(v, s.min_int);
      s.max_int = first ? v : std::max(v, s.max_int);
      s.sum_int += v;
    }
    first = false;
  }
  if (c.type == FieldType::kFloat) {
    s.min_float = fmin;
    s.max_float = fmax;
    s.sum_float = fsum;
  }
  return s;
}

// Field f over the rows of every series back to back (the segment's row order), null
// where a series lacks it.
ScanColumn SegmentRows(const std::vector<TestSeries>& series, const Field& f) {
  ScanColumn out;
  out.type = f.type;
  for (const TestSeries& s : series) {
    const ScanColumn* c = s.Find(f.id);
    for (size_t r = 0; r < s.times.size(); ++r) {
      const bool valid = c != nullptr && c->IsValid(r);
      out.valid.push_back(valid ? 1 : 0);
      switch (f.type) {
        case FieldType::kFloat:
          out.floats.push_back(valid ? c->floats[r] : 0.0);
          break;
        case FieldType::kString:
          out.strings.push_back(valid ? c->strings[r] : std::string());
          break;
        default:
          out.ints.push_back(valid ? c->ints[r] : 0);
          break;
      }
    }
  }
  return out;
}

TEST_F(SegmentTest, ChunkStatisticsMatchBruteForce) {
  const uint32_t block_rows = 16;
  const auto series = RandomSeries(30, block_rows, 5);
  const std::string path = dir_.Sub("seg");
  ASSERT_OK_AND_ASSIGN(SegmentInfo info, WriteSegment(fs_, path, series, block_rows));
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
  ASSERT_EQ(reader->blocks().size(), (info.row_count + block_rows - 1) / block_rows);
  int checked = 0;
  for (const Field& f : Fields()) {
    SCOPED_TRACE(f.name);
    const int col = reader->FindColumn(f.id);
    const ScanColumn rows = SegmentRows(series, f);
    for (size_t b = 0; b < reader->blocks().size(); ++b) {
      const size_t begin = b * block_rows;
      const size_t end = std::min<size_t>(info.row_count, begin + block_rows);
      EXPECT_EQ(reader->blocks()[b].row_begin, begin);
      EXPECT_EQ(reader->blocks()[b].row_count, end - begin);
      std::optional<ChunkStats> got = col < 0 ? std::nullopt : reader->GetChunkStats(col, b);
      const ChunkStats want = BruteForceStats(rows, begin, end);
      if (want.null_count == end - begin) {
        EXPECT_FALSE(got.has_value());
        continue;
      }
      ASSERT_TRUE(got.has_value());
      ++checked;
      EXPECT_EQ(got->row_count, want.row_count);
      EXPECT_EQ(got->null_count, want.null_count);
      EXPECT_EQ(got->min_int, want.min_int);
      EXPECT_EQ(got->max_int, want.max_int);
      EXPECT_TRUE(got->sum_int == want.sum_int);
      EXPECT_EQ(std::bit_cast<uint64_t>(got->min_float), std::bit_cast<uint64_t>(want.min_float));
      EXPECT_EQ(std::bit_cast<uint64_t>(got->max_float), std::bit_cast<uint64_t>(want.max_float));
      EXPECT_EQ(std::bit_cast<uint64_t>(got->sum_float), std::bit_cast<uint64_t>(want.sum_float));
    }
  }
  EXPECT_GT(checked, 100);
  EXPECT_FALSE(reader->GetChunkStats(reader->columns().size(), 0).has_value());
  EXPECT_FALSE(reader->GetChunkStats(0, reader->blocks().size()).has_value());
}

TEST_F(SegmentTest, MoneyExtremesSumExactlyIn128Bits) {
  std::vector<TestSeries> series(1);
  series[0].id = 1;
  ScanColumn money;
  money.type = FieldType::kMoney;
  for (int r = 0; r < 1000; ++r) {
    series[0].times.push_back(kT0 + r);
    money.ints.push_back(r % 3 == 2 ? kMin : kMax);
  }
  series[0].columns.emplace_back(Fields()[0], money);
  const std::string path = dir_.Sub("seg");
  ASSERT_OK(WriteSegment(fs_, path, series, 8192));
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
  ASSERT_OK(reader->VerifyAll());
  auto stats = reader->GetChunkStats(reader->FindColumn(1), 0);
  ASSERT_TRUE(stats.has_value());
  __int128 want = 0;
  for (int64_t v : money.ints) want += v;
  EXPECT_TRUE(stats->sum_int == want);
  EXPECT_GT(stats->sum_int, static_cast<__int128>(kMax));
  EXPECT_EQ(stats->min_int, kMin);
  EXPECT_EQ(stats->max_int, kMax);
  ScanBatch batch = EmptyBatch({1});
  ASSERT_OK(reader->ReadSeries(0, kMin, kMax, std::vector<int64_t>{1}, &batch));
  EXPECT_EQ(batch.columns[0].ints, money.ints);
}

TEST_F(SegmentTest, EmptySegmentRoundTrips) {
  const std::string path = dir_.Sub("seg");
  ASSERT_OK_AND_ASSIGN(SegmentInfo info, WriteSegment(fs_, path, {}, 8192));
  EXPECT_EQ(info.row_count, 0u);
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
  EXPECT_TRUE(reader->series().empty());
  EXPECT_TRUE(reader->blocks().empty());
  EXPECT_TRUE(reader->columns().empty());
  EXPECT_OK(reader->VerifyAll());
}

TEST_F(SegmentTest, CompressibleColumnsRoundTrip) {
  std::vector<TestSeries> series(1);
  series[0].id = 3;
  ScanColumn note;
  note.type = FieldType::kString;
  ScanColumn util;
  util.type = FieldType::kFloat;
  std::mt19937_64 rng(8);
  for (int r = 0; r < 5000; ++r) {
    series[0].times.push_back(kT0 + r * kMinute);
    note.strings.push_back(r % 10 == 0 ? "spot instance reclaimed" : "running on p4d.24xlarge");
    util.floats.push_back(std::bit_cast<double>(rng() % 4 == 0 ? rng() : 0x4059000000000000));
  }
  series[0].columns.emplace_back(Fields()[1], util);
  series[0].columns.emplace_back(Fields()[5], note);
  const std::string path = dir_.Sub("seg");
  ASSERT_OK_AND_ASSIGN(SegmentInfo info, WriteSegment(fs_, path, series, 8192));
  EXPECT_LT(info.file_size, 5000u * 8);  // the strings alone are 115 KB uncompressed
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, path));
  ASSERT_OK(reader->VerifyAll());
  const std::vector<int64_t> fields = {2, 6};
  ScanBatch batch = EmptyBatch(fields);
  ASSERT_OK(reader->ReadSeries(0, kMin, kMax, fields, &batch));
  std::vector<TimestampNs> times;
  std::vector<std::vector<std::string>> cells;
  AppendExpected(series[0], kMin, kMax, fields, &times, &cells);
  ExpectBatch(batch, times, cells);
}

TEST_F(SegmentTest, TypeConflictWithinASegmentIsInvalidArgument) {
  ASSERT_OK_AND_ASSIGN(auto writer,
                       SegmentWriter::Create(fs_, dir_.Sub("seg"), SegmentMeta{"db"}, {}));
  const std::vector<TimestampNs> times = {kT0, kT0 + 1};
  ScanColumn money;
  money.type = FieldType::kMoney;
  money.ints = {1, 2};
  ScanColumn floats;
  floats.type = FieldType::kFloat;
  floats.floats = {1, 2};
  const SegmentColumnInput as_money[] = {{4, "cost", &money}};
  const SegmentColumnInput as_float[] = {{4, "cost", &floats}};
  ASSERT_OK(writer->AddSeries(1, times, as_money));
  EXPECT_THAT(writer->AddSeries(2, times, as_float),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("money")));
  // A rejected series leaves the writer usable.
  ASSERT_OK(writer->AddSeries(2, times, as_money));
  ASSERT_OK(writer->Finish());
  ASSERT_OK_AND_ASSIGN(auto reader, SegmentReader::Open(fs_, dir_.Sub("seg")));
  EXPECT_EQ(reader->series().size(), 2u);
  EXPECT_EQ(reader->columns().size(), 1u);
  EXPECT_EQ(reader->columns()[0].type, FieldType::kMoney);
  EXPECT_EQ(reader->columns()[0].name, "cost");

  ScanBatch wrong;
  wrong.columns.resize(1);
  wrong.columns[0].type = FieldType::kFloat;
  EXPECT_THAT(reader->ReadSeries(0, kMin, kMax, std::vector<int64_t>{4}, &wrong),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader->ReadSeries(0, kMin, kMax, std::vector<int64_t>{4, 5}, &wrong),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader->ReadSeries(2, kMin, kMax, {}, &wrong),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SegmentTest, BadWriterInputIsRejected) {
  ASSERT_OK_AND_ASSIGN(auto writer,
                       SegmentWriter::Create(fs_, dir_.Sub("seg"), SegmentMeta{"db"}, {}));
  const std::vector<TimestampNs> times = {kT0, kT0 + 1};
  ASSERT_OK(writer->AddSeries(5, times, {}));
  EXPECT_THAT(writer->AddSeries(5, times, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(writer->AddSeries(4, times, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  const std::vector<TimestampNs> unsorted = {kT0, kT0};
  EXPECT_THAT(writer->AddSeries(6, unsorted, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  ScanColumn short_column;
  short_column.type = FieldType::kInteger;
  short_column.ints = {1};
  const SegmentColumnInput bad[] = {{1, "x", &short_column}};
  EXPECT_THAT(writer->AddSeries(7, times, bad), StatusIs(absl::StatusCode::kInvalidArgument));
  ScanColumn ok_column = short_column;
  ok_column.ints = {1, 2};
  const SegmentColumnInput twice[] = {{1, "x", &ok_column}, {1, "x", &ok_column}};
  EXPECT_THAT(writer->AddSeries(8, times, twice), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(writer->Finish());
  EXPECT_THAT(writer->AddSeries(9, times, {}), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(writer->Finish(), StatusIs(absl::StatusCode::kFailedPrecondition));

  SegmentWriterOptions opts;
  opts.block_rows = 0;
  EXPECT_THAT(SegmentWriter::Create(fs_, dir_.Sub("x"), SegmentMeta{}, opts),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SegmentTest, WriteFailuresAreReportedAndStick) {
  FaultInjectionFileSystem faulty(fs_);
  ASSERT_OK_AND_ASSIGN(auto writer,
                       SegmentWriter::Create(&faulty, dir_.Sub("seg"), SegmentMeta{"db"}, {}));
  const std::vector<TimestampNs> times = {kT0, kT0 + 1};
  ASSERT_OK(writer->AddSeries(1, times, {}));
  faulty.FailNthSync(1, absl::ResourceExhaustedError("injected"));
  EXPECT_THAT(writer->Finish(), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(writer->AddSeries(2, times, {}), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// A small segment with every kind of chunk: two series, nulls, absent chunks, zstd.
std::vector<TestSeries> SmallSeries() {
  std::mt19937_64 rng(77);
  std::vector<TestSeries> series(2);
  for (int i = 0; i < 2; ++i) {
    series[i].id = static_cast<uint32_t>(i + 1);
    for (int r = 0; r < 6; ++r) series[i].times.push_back(kT0 + r * kMinute + i);
  }
  series[0].columns.emplace_back(Fields()[0], RandomColumn(FieldType::kMoney, 6, 0, &rng));
  series[0].columns.emplace_back(Fields()[1], RandomColumn(FieldType::kFloat, 6, 0.3, &rng));
  series[1].columns.emplace_back(Fields()[0], RandomColumn(FieldType::kMoney, 6, 0.5, &rng));
  ScanColumn note;
  note.type = FieldType::kString;
  note.strings.assign(6, std::string(40, 'z'));  // compresses
  series[1].columns.emplace_back(Fields()[5], note);
  series[1].columns.emplace_back(Fields()[4], RandomColumn(FieldType::kBoolean, 6, 0, &rng));
  return series;
}

TEST_F(SegmentTest, EveryFlippedByteIsDataLossNeverWrongData) {
  const std::string good_path = dir_.Sub("good");
  const auto series = SmallSeries();
  ASSERT_OK(WriteSegment(fs_, good_path, series, 4));
  std::string good;
  ASSERT_OK(fs_->ReadFileToString(good_path, &good));
  ASSERT_LT(good.size(), 4096u);
  const std::vector<int64_t> fields = AllFieldIds();
  const std::string path = dir_.Sub("bad");
  for (size_t offset = 0; offset < good.size(); ++offset) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0xff}}) {
      SCOPED_TRACE(absl::StrCat("offset ", offset, " mask ", mask));
      std::string bad = good;
      bad[offset] = static_cast<char>(bad[offset] ^ mask);
      {
        ASSERT_OK_AND_ASSIGN(auto f, fs_->NewWritableFile(path));
        ASSERT_OK(f->Append(bad));
        ASSERT_OK(f->Close());
      }
      auto reader = SegmentReader::Open(fs_, path);
      if (!reader.ok()) {
        EXPECT_THAT(reader, StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
        continue;
      }
      EXPECT_THAT((*reader)->VerifyAll(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
      SegmentReadCache cache;
      for (SegmentReadCache* c : {static_cast<SegmentReadCache*>(nullptr), &cache}) {
        for (size_t i = 0; i < series.size(); ++i) {
          ScanBatch batch = EmptyBatch(fields);
          absl::Status s = (*reader)->ReadSeries(i, kMin, kMax, fields, &batch, c);
          if (!s.ok()) {
            EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
            EXPECT_EQ(batch.rows(), 0u);
            continue;
          }
          std::vector<TimestampNs> times;
          std::vector<std::vector<std::string>> cells;
          AppendExpected(series[i], kMin, kMax, fields, &times, &cells);
          ExpectBatch(batch, times, cells);
        }
      }
    }
  }
}

TEST_F(SegmentTest, EveryTruncationIsDataLoss) {
  const std::string good_path = dir_.Sub("good");
  ASSERT_OK(WriteSegment(fs_, good_path, SmallSeries(), 4));
  std::string good;
  ASSERT_OK(fs_->ReadFileToString(good_path, &good));
  const std::string path = dir_.Sub("short");
  for (size_t len = 0; len < good.size(); ++len) {
    {
      ASSERT_OK_AND_ASSIGN(auto f, fs_->NewWritableFile(path));
      ASSERT_OK(f->Append(std::string_view(good).substr(0, len)));
      ASSERT_OK(f->Close());
    }
    EXPECT_THAT(SegmentReader::Open(fs_, path),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)))
        << len;
  }
}

TEST_F(SegmentTest, MissingFileIsNotDataLoss) {
  EXPECT_THAT(SegmentReader::Open(fs_, dir_.Sub("absent")), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace burnrate
