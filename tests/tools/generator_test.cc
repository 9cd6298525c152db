#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "burnrate/money.h"
#include "burnrate/write_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tools/telemetry_generator.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kMinute = 60'000'000'000;

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

GeneratorConfig Config(uint64_t seed, int days, uint32_t series) {
  GeneratorConfig c;
  c.seed = seed;
  c.days = days;
  c.series = series;
  return c;
}

std::unique_ptr<TelemetryGenerator> MakeGenerator(const GeneratorConfig& config) {
  auto g = TelemetryGenerator::Create(config);
  EXPECT_TRUE(g.ok()) << g.status();
  return std::move(g).value();
}

std::string LineProtocol(const GeneratorConfig& config) {
  auto g = MakeGenerator(config);
  std::string out;
  while (g->AppendLineProtocol(&out, 4096) > 0) {
  }
  return out;
}

std::string TagValue(std::span<const Tag> tags, std::string_view key) {
  for (const Tag& t : tags) {
    if (t.key == key) return t.value;
  }
  return "";
}

TEST(TelemetryGeneratorTest, SameSeedGivesIdenticalLineProtocol) {
  const std::string a = LineProtocol(Config(7, 1, 50));
  const std::string b = LineProtocol(Config(7, 1, 50));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(Fnv1a(a), Fnv1a(b));
  EXPECT_EQ(a, b);
}

TEST(TelemetryGeneratorTest, DifferentSeedsGiveDifferentOutput) {
  EXPECT_NE(Fnv1a(LineProtocol(Config(7, 1, 50))), Fnv1a(LineProtocol(Config(8, 1, 50))));
}

// The bytes are pinned so that a change of platform, compiler or standard library that
// altered them fails here. A deliberate change of the generator updates these values.
TEST(TelemetryGeneratorTest, OutputIsPinnedOnEveryMachine) {
  const std::string lp = LineProtocol(Config(42, 1, 20));
  EXPECT_EQ(lp.substr(0, lp.find('\n') + 1),
            "cost,account=767408390894,cloud=aws,flow=EvalFlow,instance_type=g4dn.12xlarge,"
            "resource=i-0470ea7e37990e511,run_id=EvalFlow/2023,step=evaluate "
            "cost=0.0540455188,gpu_util=0.3870,gpu_count=4i 1793491200000000000\n");
  EXPECT_EQ(lp.size(), 6'725'173u);
  EXPECT_EQ(Fnv1a(lp), 7'432'961'856'330'293'500u);
}

TEST(TelemetryGeneratorTest, TotalPointsIsTicksTimesSeries) {
  auto g = MakeGenerator(Config(1, 2, 30));
  EXPECT_EQ(g->ticks(), 2 * 1440);
  EXPECT_EQ(g->total_points(), 2u * 1440 * 30);
  EXPECT_EQ(g->end_ns(), kDefaultGeneratorStartNs + 2 * 1440 * kMinute);
  GeneratedPoint p;
  uint64_t n = 0;
  while (g->Next(&p)) ++n;
  EXPECT_EQ(n, g->total_points());
  EXPECT_TRUE(g->done());
  EXPECT_FALSE(g->Next(&p));

  GeneratorConfig five_minutes = Config(1, 1, 10);
  five_minutes.interval_ns = 5 * kMinute;
  EXPECT_EQ(MakeGenerator(five_minutes)->total_points(), 288u * 10);
  GeneratorConfig seven_seconds = Config(1, 1, 10);
  seven_seconds.interval_ns = 7'000'000'000;
  EXPECT_EQ(MakeGenerator(seven_seconds)->ticks(), 86'400 / 7);
}

TEST(TelemetryGeneratorTest, EveryTickHasExactlyNActiveSeries) {
  constexpr uint32_t kSeries = 40;
  auto g = MakeGenerator(Config(3, 1, kSeries));
  GeneratedPoint p;
  std::map<int64_t, std::set<std::string>> keys_per_tick;
  std::map<int64_t, std::set<uint32_t>> slots_per_tick;
  int64_t last_time = kDefaultGeneratorStartNs;
  while (g->Next(&p)) {
    ASSERT_GE(p.time_ns, last_time);
    last_time = p.time_ns;
    keys_per_tick[p.time_ns].insert(std::string(p.series_key));
    slots_per_tick[p.time_ns].insert(p.slot);
  }
  ASSERT_EQ(keys_per_tick.size(), 1440u);
  for (const auto& [time, keys] : keys_per_tick) {
    ASSERT_EQ(keys.size(), kSeries) << "at " << time;
    ASSERT_EQ(slots_per_tick[time].size(), kSeries) << "at " << time;
  }
  EXPECT_EQ(keys_per_tick.begin()->first, kDefaultGeneratorStartNs);
  EXPECT_EQ(keys_per_tick.rbegin()->first, kDefaultGeneratorStartNs + 1439 * kMinute);
}

TEST(TelemetryGeneratorTest, SeriesComeAndGoAcrossDays) {
  constexpr uint32_t kSeries = 100;
  auto g = MakeGenerator(Config(5, 3, kSeries));
  GeneratedPoint p;
  std::set<std::string> run_ids, resources;
  std::map<std::string, std::pair<int64_t, int64_t>> span;  // series key -> first, last
  while (g->Next(&p)) {
    run_ids.insert(TagValue(p.tags, "run_id"));
    resources.insert(TagValue(p.tags, "resource"));
    auto [it, inserted] = span.try_emplace(std::string(p.series_key), p.time_ns, p.time_ns);
    if (!inserted) it->second.second = p.time_ns;
  }
  EXPECT_GT(run_ids.size(), 3 * kSeries);
  EXPECT_GT(resources.size(), run_ids.size());
  EXPECT_EQ(resources.size(), span.size());
  int started_later = 0, ended_early = 0;
  for (const auto& [key, first_last] : span) {
    if (first_last.first > g->config().start_ns) ++started_later;
    if (first_last.second < g->end_ns() - kMinute) ++ended_early;
  }
  EXPECT_GT(started_later, 0);
  EXPECT_GT(ended_early, 0);
}

TEST(TelemetryGeneratorTest, StepsLastTensOfMinutesToManyHours) {
  auto g = MakeGenerator(Config(11, 7, 200));
  GeneratedPoint p;
  std::map<std::string, std::pair<int64_t, int64_t>> span;
  while (g->Next(&p)) {
    auto [it, inserted] = span.try_emplace(std::string(p.series_key), p.time_ns, p.time_ns);
    if (!inserted) it->second.second = p.time_ns;
  }
  int64_t shortest = INT64_MAX, longest = 0, complete = 0, sum = 0;
  for (const auto& [key, first_last] : span) {
    // Only series that both started and ended inside the range show their whole duration.
    if (first_last.first == g->config().start_ns || first_last.second == g->end_ns() - kMinute) {
      continue;
    }
    const int64_t minutes = (first_last.second - first_last.first) / kMinute + 1;
    shortest = std::min(shortest, minutes);
    longest = std::max(longest, minutes);
    sum += minutes;
    ++complete;
  }
  ASSERT_GT(complete, 1000);
  EXPECT_GE(shortest, 10);
  EXPECT_LT(shortest, 15);
  EXPECT_GT(longest, 12 * 60);
  const double mean = static_cast<double>(sum) / static_cast<double>(complete);
  EXPECT_GT(mean, 30);
  EXPECT_LT(mean, 6 * 60);
}

TEST(TelemetryGeneratorTest, CostIsListPricePerMinuteTimesMultiplier) {
  auto g = MakeGenerator(Config(9, 1, 100));
  GeneratedPoint p;
  std::string line;
  while (g->Next(&p)) {
    ASSERT_NE(p.instance, nullptr);
    ASSERT_GE(p.multiplier_ppm, kMinPriceMultiplierPpm);
    ASSERT_LE(p.multiplier_ppm, kMaxPriceMultiplierPpm);
    const double price_per_minute = static_cast<double>(p.instance->usd_per_hour_micros) / 60e6;
    const double expected = price_per_minute * static_cast<double>(p.multiplier_ppm) / 1e6;
    ASSERT_NEAR(p.cost.ToDouble(), expected, 1e-9);
    ASSERT_GE(p.cost.ToDouble(), price_per_minute * 0.25 - 1e-10);
    ASSERT_LE(p.cost.ToDouble(), price_per_minute + 1e-10);
    ASSERT_EQ(p.cost, CostPerInterval(p.instance->usd_per_hour_micros, p.multiplier_ppm,
                                      /*interval_s=*/60));

    line.clear();
    AppendLineProtocolPoint(&line, p);
    const size_t begin = line.find(" cost=") + 6;
    const std::string text = line.substr(begin, line.find(',', begin) - begin);
    const size_t dot = text.find('.');
    ASSERT_NE(dot, std::string::npos) << text;
    ASSERT_LE(text.size() - dot - 1, 10u) << text;
    auto parsed = Money::Parse(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    ASSERT_EQ(*parsed, p.cost) << text;
  }
}

TEST(TelemetryGeneratorTest, CostAndGpuUtilisationMoveMinuteToMinute) {
  auto g = MakeGenerator(Config(13, 1, 50));
  GeneratedPoint p;
  std::map<std::string, GeneratedPoint> previous;
  std::map<std::string, int64_t> gpu_count;
  int64_t pairs = 0, cost_changed = 0, gpu_pairs = 0, util_step_sum = 0;
  while (g->Next(&p)) {
    ASSERT_GE(p.gpu_util_e4, 0);
    ASSERT_LE(p.gpu_util_e4, 10'000);
    ASSERT_EQ(p.gpu_count, p.instance->gpu_count);
    if (p.gpu_count == 0) {
      ASSERT_EQ(p.gpu_util_e4, 0);
    }
    const std::string key(p.series_key);
    auto it = previous.find(key);
    if (it != previous.end()) {
      ++pairs;
      if (it->second.cost != p.cost) ++cost_changed;
      ASSERT_LE(std::abs(it->second.multiplier_ppm - p.multiplier_ppm), 1'000);
      if (p.gpu_count > 0) {
        ++gpu_pairs;
        util_step_sum += std::abs(it->second.gpu_util_e4 - p.gpu_util_e4);
      }
    }
    previous[key] = p;
  }
  ASSERT_GT(pairs, 50'000);
  EXPECT_GT(cost_changed, pairs * 95 / 100);
  // Autocorrelated: a typical minute-to-minute change is a few percent points, not a
  // fresh draw over 0..1.
  ASSERT_GT(gpu_pairs, 10'000);
  const double mean_step = static_cast<double>(util_step_sum) / static_cast<double>(gpu_pairs);
  EXPECT_GT(mean_step, 20);
  EXPECT_LT(mean_step, 400);
}

TEST(TelemetryGeneratorTest, TagsAreTheCostKeyInMetaflowStyle) {
  auto g = MakeGenerator(Config(17, 1, 300));
  GeneratedPoint p;
  std::map<std::string, int> clouds;
  std::set<std::string> accounts;
  while (g->Next(&p)) {
    std::vector<std::string> keys;
    for (const Tag& t : p.tags) keys.push_back(t.key);
    ASSERT_THAT(keys, ElementsAre("account", "cloud", "flow", "instance_type", "resource", "run_id",
                                  "step"));
    const std::string cloud = TagValue(p.tags, "cloud");
    const std::string flow = TagValue(p.tags, "flow");
    const std::string run_id = TagValue(p.tags, "run_id");
    const std::string resource = TagValue(p.tags, "resource");
    const std::string account = TagValue(p.tags, "account");
    ++clouds[cloud];
    accounts.insert(account);
    ASSERT_EQ(cloud, p.instance->cloud);
    ASSERT_EQ(TagValue(p.tags, "instance_type"), p.instance->name);
    ASSERT_TRUE(run_id.starts_with(flow + "/")) << run_id;
    ASSERT_TRUE(std::all_of(run_id.begin() + flow.size() + 1, run_id.end(), [](char c) {
      return c >= '0' && c <= '9';
    })) << run_id;
    if (cloud == "aws") {
      ASSERT_EQ(resource.size(), 19u) << resource;
      ASSERT_TRUE(resource.starts_with("i-0")) << resource;
      ASSERT_EQ(account.size(), 12u);
    } else if (cloud == "gcp") {
      ASSERT_EQ(resource.size(), 19u) << resource;
      ASSERT_EQ(account.size(), 12u);
    } else {
      ASSERT_EQ(cloud, "azure");
      ASSERT_TRUE(resource.starts_with("/subscriptions/" + account + "/resourcegroups/"))
          << resource;
      ASSERT_EQ(account.size(), 36u);
    }
    const std::string step = TagValue(p.tags, "step");
    if (p.instance->instance_class == InstanceClass::kCpu) {
      ASSERT_TRUE(step == "preprocess" || step == "featurize") << step;
    }
  }
  EXPECT_EQ(clouds.size(), 3u);
  EXPECT_GT(clouds["aws"], clouds["gcp"]);
  EXPECT_GT(clouds["gcp"], clouds["azure"]);
  EXPECT_EQ(accounts.size(), 7u);
}

TEST(TelemetryGeneratorTest, PricesAreRealOnDemandListPrices) {
  std::map<std::string_view, int64_t> price;
  for (const InstanceType& t : GeneratorInstanceTypes()) price[t.name] = t.usd_per_hour_micros;
  EXPECT_EQ(price["p3.2xlarge"], 3'060'000);
  EXPECT_EQ(price["p3.8xlarge"], 12'240'000);
  EXPECT_EQ(price["p4d.24xlarge"], 32'772'600);
  EXPECT_EQ(price["g5.xlarge"], 1'006'000);
  EXPECT_EQ(price["m5.xlarge"], 192'000);
  EXPECT_EQ(price["a2-highgpu-1g"], 3'673'385);
  EXPECT_EQ(price["Standard_NC6s_v3"], 3'060'000);
  EXPECT_EQ(CostPerInterval(3'060'000, 1'000'000, 60), Money::FromUnits(510'000'000));
  // 0.0326666666666... rounds up at the tenth decimal.
  EXPECT_EQ(CostPerInterval(1'960'000, 1'000'000, 60), Money::FromUnits(326'666'667));
  // Exactly half a unit rounds to even.
  EXPECT_EQ(CostPerInterval(3, 1'000, 60), Money::FromUnits(0));
  EXPECT_EQ(CostPerInterval(9, 1'000, 60), Money::FromUnits(2));
}

TEST(LineProtocolTest, EscapesMeasurementTagKeysAndValues) {
  const std::vector<Tag> tags = {{"run id", "Train,Flow/1"}, {"k=v", "a=b c"}};
  std::string out;
  AppendLineProtocolSeriesKey(&out, "my cost,x", tags);
  EXPECT_EQ(out, R"(my\ cost\,x,run\ id=Train\,Flow/1,k\=v=a\=b\ c)");

  out.clear();
  AppendLineProtocolSeriesKey(&out, "a=b", {});
  EXPECT_EQ(out, "a=b");
}

TEST(LineProtocolTest, WritesMoneyAsPlainDecimalAndCountAsInteger) {
  std::string key;
  const std::vector<Tag> tags = {{"run_id", "TrainFlow/1234"}};
  AppendLineProtocolSeriesKey(&key, "cost", tags);
  GeneratedPoint p;
  p.series_key = key;
  p.time_ns = kDefaultGeneratorStartNs;
  p.cost = Money::FromUnits(512'345'678);
  p.gpu_util_e4 = 8'120;
  p.gpu_count = 8;
  std::string line;
  AppendLineProtocolPoint(&line, p);
  EXPECT_EQ(line,
            "cost,run_id=TrainFlow/1234 cost=0.0512345678,gpu_util=0.8120,gpu_count=8i "
            "1793491200000000000\n");

  p.cost = Money::FromUnits(123'4567890123LL);
  p.gpu_util_e4 = 10'000;
  p.gpu_count = 0;
  line.clear();
  AppendLineProtocolPoint(&line, p);
  EXPECT_THAT(line, HasSubstr(" cost=123.4567890123,gpu_util=1.0000,gpu_count=0i "));
}

TEST(TelemetryGeneratorTest, FillBatchMatchesNextAndAddsEachSeriesOnce) {
  const GeneratorConfig config = Config(21, 1, 120);
  auto batched = MakeGenerator(config);
  auto single = MakeGenerator(config);
  WriteBatch batch("burnrate");
  uint64_t total = 0;
  while (true) {
    batch.Clear();
    const size_t n = batched->FillBatch(&batch, 10'000);
    if (n == 0) break;
    ASSERT_EQ(batch.point_count(), n);
    ASSERT_OK(batch.Validate());
    std::set<std::string> keys;
    for (size_t i = 0; i < n; ++i) {
      GeneratedPoint p;
      ASSERT_TRUE(single->Next(&p));
      keys.insert(std::string(p.series_key));
      const WriteBatch::Point& bp = batch.points()[i];
      ASSERT_EQ(bp.time_ns, p.time_ns);
      const WriteBatch::Series& s = batch.series()[bp.series];
      ASSERT_EQ(s.measurement, "cost");
      ASSERT_TRUE(std::equal(s.tags.begin(), s.tags.end(), p.tags.begin(), p.tags.end()));
      ASSERT_EQ(bp.field_end - bp.field_begin, 3u);
      std::map<std::string, FieldValue> fields;
      for (uint32_t f = bp.field_begin; f < bp.field_end; ++f) {
        const WriteBatch::Field& field = batch.fields()[f];
        fields[batch.field_names()[field.name]] = batch.ValueOf(field);
      }
      ASSERT_EQ(fields["cost"], FieldValue::OfMoney(p.cost));
      ASSERT_EQ(fields["gpu_util"], FieldValue::Float(p.gpu_util()));
      ASSERT_EQ(fields["gpu_count"], FieldValue::Integer(p.gpu_count));
    }
    ASSERT_EQ(batch.series_count(), keys.size());
    total += n;
  }
  EXPECT_EQ(total, batched->total_points());
  GeneratedPoint p;
  EXPECT_FALSE(single->Next(&p));
}

TEST(TelemetryGeneratorTest, RejectsConfigsOutOfRange) {
  EXPECT_THAT(TelemetryGenerator::Create(Config(1, 0, 10)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("days")));
  EXPECT_THAT(TelemetryGenerator::Create(Config(1, 1, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("series")));
  GeneratorConfig c = Config(1, 1, 10);
  c.interval_ns = 1'500'000'000;
  EXPECT_THAT(TelemetryGenerator::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("interval")));
  c = Config(1, 1, 10);
  c.start_ns = INT64_MAX - 1000;
  EXPECT_THAT(TelemetryGenerator::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start")));
}

TEST(SplitMix64Test, UniformIntCoversItsRangeOnly) {
  SplitMix64 rng(1);
  std::vector<int> seen(7, 0);
  for (int i = 0; i < 70'000; ++i) {
    const int64_t v = rng.UniformInt(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    ++seen[static_cast<size_t>(v + 3)];
  }
  for (int count : seen) EXPECT_NEAR(count, 10'000, 500);
}

TEST(SplitMix64Test, ExponentialHasMeanAndTailOfExpOne) {
  SplitMix64 rng(2);
  constexpr int kDraws = 200'000;
  double sum = 0;
  int above_three = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double e = static_cast<double>(rng.ExponentialQ32()) / 4294967296.0;
    sum += e;
    if (e > 3) ++above_three;
  }
  EXPECT_NEAR(sum / kDraws, 1.0, 0.01);
  // P(E > 3) = e^-3.
  EXPECT_NEAR(static_cast<double>(above_three) / kDraws, std::exp(-3.0), 0.002);
}

}  // namespace
}  // namespace burnrate
