// A randomized model test of the engine's semantics: long random sequences of writes,
// overwrites, late writes, replace-by-source imports, source drops, deletes, flushes,
// compactions and reopens, checked after every step against a simple in-memory model, for
// both raw scans and rollups. The seed is fixed per run and printed on failure.
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "burnrate/db.h"
#include "gtest/gtest.h"
#include "tests/engine/engine_test_util.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::TempDir;

constexpr TimestampNs kT0 = 1'793'491'200'000'000'000LL;  // a day boundary
constexpr int64_t kMinute = 60'000'000'000LL;
constexpr int kSeries = 6;
constexpr int kMinutes = 3 * 24 * 60;  // three day partitions

std::vector<Tag> SeriesTags(int s) {
  return {{"host", "h" + std::to_string(s % 2)}, {"run", "r" + std::to_string(s)}};
}

// Every write ever made, per cell; the visible value is the newest live one.
struct Model {
  struct Write {
    uint64_t seq;
    int64_t value;      // cost units, util in quarters, n
    std::string owner;  // source key and version, "" for ordinary writes
  };
  // (series, minute, field) -> writes
  std::map<std::tuple<int, int, int>, std::vector<Write>> cells;
  std::map<std::string, std::string> live_version;  // source key -> owner tag of live version
  uint64_t seq = 0;

  bool Live(const Write& w) const {
    if (w.owner.empty()) return true;
    const std::string key = w.owner.substr(0, w.owner.find('#'));
    auto it = live_version.find(key);
    return it != live_version.end() && it->second == w.owner;
  }
  std::optional<int64_t> Visible(const std::tuple<int, int, int>& cell) const {
    auto it = cells.find(cell);
    if (it == cells.end()) return std::nullopt;
    const Write* best = nullptr;
    for (const Write& w : it->second) {
      if (Live(w) && (!best || w.seq > best->seq)) best = &w;
    }
    if (!best) return std::nullopt;
    return best->value;
  }
};

void AddValue(WriteBatch* b, int f, int64_t v) {
  if (f == 0) b->AddMoney("cost", Money::FromUnits(v));
  if (f == 1) b->AddFloat("util", static_cast<double>(v) / 4);
  if (f == 2) b->AddInteger("n", v);
}

class ModelTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  Options Opts() {
    Options o;
    o.background_work = false;
    o.memtable_bytes = 4 << 10;  // frequent flushes
    o.info_log = [](std::string_view) {};
    return o;
  }
  void Open() {
    db_.reset();
    auto db = Db::Open(dir_.path(), Opts());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  // Raw scan and rollups against the model.
  void Check(const std::string& step) {
    // Expected cells.
    std::map<std::tuple<int, int, int>, int64_t> want;
    for (const auto& [cell, writes] : model_.cells) {
      if (auto v = model_.Visible(cell)) want[cell] = *v;
    }
    std::map<std::tuple<int, int, int>, int64_t> got;
    ScanRequest r;
    r.database = "db";
    r.measurement = "m";
    r.fields = {"cost", "util", "n"};
    ASSERT_TRUE(db_->Scan(r,
                          [&](const ScanBatch& b) {
                            const int s = std::stoi(std::string(b.tags[1].value.substr(1)));
                            for (size_t i = 0; i < b.rows(); ++i) {
                              const int minute = static_cast<int>((b.times[i] - kT0) / kMinute);
                              for (int f = 0; f < 3; ++f) {
                                const ScanColumn& c = b.columns[f];
                                if (!c.IsValid(i)) continue;
                                got[{s, minute, f}] =
                                    f == 1 ? static_cast<int64_t>(c.floats[i] * 4) : c.ints[i];
                              }
                            }
                            return absl::OkStatus();
                          })
                    .ok());
    ASSERT_EQ(got, want) << step;

    // Rollups over a random range, at both levels, against sums of the model.
    for (RollupLevel level : {RollupLevel::kHour, RollupLevel::kDay}) {
      const int64_t width = RollupWidthNs(level);
      const int a = static_cast<int>(rng_() % kMinutes);
      const int z = a + static_cast<int>(rng_() % (kMinutes - a));
      RollupRequest rr;
      rr.scan = r;
      rr.scan.min_time = kT0 + a * kMinute;
      rr.scan.max_time = kT0 + z * kMinute;
      rr.level = level;
      // (series, bucket, field) -> (count, sum, min, max)
      std::map<std::tuple<int, TimestampNs, int>, std::tuple<int64_t, int64_t, int64_t, int64_t>>
          expected, actual;
      for (const auto& [cell, v] : want) {
        const auto [s, minute, f] = cell;
        if (minute < a || minute > z) continue;
        const TimestampNs t = kT0 + minute * kMinute;
        auto& e = expected[{s, t - ((t % width) + width) % width, f}];
        auto& [cnt, sum, mn, mx] = e;
        mn = cnt == 0 ? v : std::min(mn, v);
        mx = cnt == 0 ? v : std::max(mx, v);
        ++cnt;
        sum += v;
      }
      RollupScanReport report;
      ASSERT_TRUE(db_->ScanRollups(
                         rr,
                         [&](const RollupBatch& b) {
                           const int s = std::stoi(std::string(b.tags[1].value.substr(1)));
                           for (size_t i = 0; i < b.bucket_starts.size(); ++i) {
                             for (int f = 0; f < 3; ++f) {
                               const RollupColumn& c = b.columns[f];
                               if (c.counts[i] == 0) continue;
                               auto& [cnt, sum, mn, mx] = actual[{s, b.bucket_starts[i], f}];
                               cnt = c.counts[i];
                               if (f == 1) {
                                 sum = static_cast<int64_t>(c.float_sums[i] * 4);
                                 mn = static_cast<int64_t>(c.float_mins[i] * 4);
                                 mx = static_cast<int64_t>(c.float_maxs[i] * 4);
                               } else {
                                 sum = static_cast<int64_t>(c.int_sums[i]);
                                 mn = c.int_mins[i];
                                 mx = c.int_maxs[i];
                               }
                             }
                           }
                           return absl::OkStatus();
                         },
                         &report)
                      .ok());
      ASSERT_EQ(actual, expected) << step << " rollup level " << static_cast<int>(level)
                                  << " range minutes " << a << ".." << z;
      rollup_buckets_ += report.rollup_buckets_read;
    }
  }

  TempDir dir_;
  std::unique_ptr<Db> db_;
  Model model_;
  std::mt19937_64 rng_;
  uint64_t rollup_buckets_ = 0;
};

TEST_P(ModelTest, RandomOperationsMatchTheModel) {
  const uint64_t seed = GetParam();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  rng_.seed(seed);
  Open();
  ASSERT_TRUE(db_->CreateDatabase("db", DatabaseOptions{}).ok());
  std::map<std::string, int> source_versions;
  constexpr int kSteps = 220;
  for (int step = 0; step < kSteps; ++step) {
    const int op = static_cast<int>(rng_() % 100);
    std::string what;
    if (op < 45) {
      // Ordinary writes: new, late (old partitions), and overwrites of existing cells.
      WriteBatch b("db");
      const int n = 1 + static_cast<int>(rng_() % 30);
      const uint64_t seq = ++model_.seq;
      std::set<std::tuple<int, int, int>> in_batch;
      for (int i = 0; i < n; ++i) {
        const int s = static_cast<int>(rng_() % kSeries);
        const int minute = static_cast<int>(rng_() % kMinutes);
        auto tags = SeriesTags(s);
        b.AddPoint(b.AddSeries("m", tags), kT0 + minute * kMinute);
        const int nf = 1 + static_cast<int>(rng_() % 3);
        std::set<int> fields;
        for (int k = 0; k < nf; ++k) fields.insert(static_cast<int>(rng_() % 3));
        for (int f : fields) {
          const int64_t v = static_cast<int64_t>(rng_() % 2000) - 500;
          AddValue(&b, f, v);
          auto& writes = model_.cells[{s, minute, f}];
          // Within a batch a later point at the same cell wins: same seq, so replace.
          if (in_batch.contains({s, minute, f})) {
            writes.back().value = v;
          } else {
            writes.push_back({seq, v, ""});
          }
          in_batch.insert({s, minute, f});
        }
      }
      ASSERT_TRUE(db_->Write(WriteOptions{}, b).ok());
      what = "write";
    } else if (op < 60) {
      // A replace-by-source import of key A or B: a new version replacing the old.
      const std::string key = rng_() % 2 ? "A" : "B";
      const std::string owner = key + "#" + std::to_string(++source_versions[key]);
      WriteBatch b("db");
      b.set_source(key);
      const uint64_t seq = ++model_.seq;
      const int n = static_cast<int>(rng_() % 25);
      std::set<std::tuple<int, int, int>> in_batch;
      for (int i = 0; i < n; ++i) {
        const int s = static_cast<int>(rng_() % kSeries);
        const int minute = static_cast<int>(rng_() % kMinutes);
        auto tags = SeriesTags(s);
        b.AddPoint(b.AddSeries("m", tags), kT0 + minute * kMinute);
        const int64_t v = static_cast<int64_t>(rng_() % 1000);
        AddValue(&b, 0, v);
        auto& writes = model_.cells[{s, minute, 0}];
        if (in_batch.contains({s, minute, 0})) {
          writes.back().value = v;
        } else {
          writes.push_back({seq, v, owner});
        }
        in_batch.insert({s, minute, 0});
      }
      ASSERT_TRUE(db_->Write(WriteOptions{}, b).ok());
      model_.live_version[key] = owner;
      what = "source " + owner;
    } else if (op < 64) {
      const std::string key = rng_() % 2 ? "A" : "B";
      const absl::Status s = db_->DropSource("db", key);
      if (model_.live_version.erase(key)) {
        ASSERT_TRUE(s.ok()) << s;
      } else {
        ASSERT_TRUE(absl::IsNotFound(s)) << s;
      }
      what = "drop source " + key;
    } else if (op < 74) {
      // Delete a time range of one host's series (or of all).
      DeleteRequest d;
      d.database = "db";
      d.measurement = "m";
      const int a = static_cast<int>(rng_() % kMinutes);
      const int z = a + static_cast<int>(rng_() % 600);
      d.min_time = kT0 + a * kMinute;
      d.max_time = kT0 + z * kMinute;
      const int host = static_cast<int>(rng_() % 3);
      if (host < 2) d.tag_matchers = {{"host", TagMatcher::Op::kEqual, "h" + std::to_string(host)}};
      ASSERT_TRUE(db_->Delete(d).ok());
      ++model_.seq;
      for (auto& [cell, writes] : model_.cells) {
        const auto [s, minute, f] = cell;
        if (minute < a || minute > z || (host < 2 && s % 2 != host)) continue;
        writes.clear();  // everything written before the delete
      }
      what = "delete";
    } else if (op < 84) {
      ASSERT_TRUE(db_->Flush().ok());
      what = "flush";
    } else if (op < 92) {
      ASSERT_TRUE(db_->CompactAll().ok());
      what = "compact";
    } else {
      Open();
      what = "reopen";
    }
    Check(std::to_string(step) + " " + what);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(rollup_buckets_, 0u) << "rollups were never answered from storage";
}

INSTANTIATE_TEST_SUITE_P(Seeds, ModelTest, ::testing::Values(1, 2, 3, 20261125));

}  // namespace
}  // namespace burnrate
