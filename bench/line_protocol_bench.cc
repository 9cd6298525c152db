// Line-protocol parse throughput on typical cost telemetry: one line per resource-minute, eight
// tags, a money field, a float and an integer. Reports bytes/s and lines/s (items/s).
//
//   ParseOnly        LineProtocolParser over the body, touching every value.
//   ParseIntoBatch   ParseLineProtocolInto a fresh WriteBatch (one pass, money parsed exactly),
//                    series:10000 with every line its own series, series:500 with 20 minutes of
//                    the same resources in one body.
#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "burnrate/write_batch.h"
#include "ingest/line_protocol.h"

namespace burnrate {
namespace {

// `lines` lines over `resources` distinct series, minute by minute. Deterministic.
std::string TelemetryBody(int lines, int resources) {
  static constexpr const char* kFlows[] = {"TrainFlow", "EvalFlow", "SweepFlow", "ETLFlow"};
  static constexpr const char* kSteps[] = {"start", "train", "evaluate", "end"};
  static constexpr const char* kTypes[] = {"p3.8xlarge", "g5.12xlarge", "p4d.24xlarge",
                                           "m6i.2xlarge"};
  static constexpr double kHourly[] = {12.24, 5.672, 32.7726, 0.384};
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> util(0.0, 1.0);
  std::string body;
  body.reserve(static_cast<size_t>(lines) * 240);
  const int64_t t0 = 1793491200000000000;
  for (int i = 0; i < lines; ++i) {
    const int r = i % resources;
    const int minute = i / resources;
    const int kind = r % 4;
    const double cost = kHourly[kind] / 60.0 * (0.9 + 0.2 * util(rng));
    absl::StrAppendFormat(&body,
                          "cost,account=123456789012,cloud=aws,flow=%s,instance_type=%s,"
                          "resource=i-0abc%013x,run_id=%s/%d,step=%s "
                          "cost=%.10f,gpu_util=%.4f,gpu_count=%di %d\n",
                          kFlows[kind], kTypes[kind], 0x1000 + r, kFlows[kind], 1000 + r / 4,
                          kSteps[(r / 4) % 4], cost, util(rng), 1 << kind,
                          t0 + int64_t{minute} * 60'000'000'000);
  }
  return body;
}

void ParseOnly(benchmark::State& state) {
  const std::string body = TelemetryBody(10'000, 10'000);
  const int64_t lines = 10'000;
  LineProtocolOptions options;
  for (auto _ : state) {
    LineProtocolParser parser(body, options);
    LinePoint point;
    LineProtocolError error;
    uint64_t sum = 0;
    for (;;) {
      const auto step = parser.Next(&point, &error);
      if (step == LineProtocolParser::Step::kEnd) break;
      if (step == LineProtocolParser::Step::kError) {
        state.SkipWithError(error.ToString().c_str());
        return;
      }
      sum += static_cast<uint64_t>(point.time_ns) + point.tags.size();
      for (const LineField& f : point.fields) sum += f.bits;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.SetItemsProcessed(state.iterations() * lines);
}
BENCHMARK(ParseOnly);

void ParseIntoBatch(benchmark::State& state) {
  const int lines = 10'000;
  const std::string body = TelemetryBody(lines, static_cast<int>(state.range(0)));
  LineProtocolOptions options;
  for (auto _ : state) {
    WriteBatch batch("telemetry");
    ParseReport report;
    if (!ParseLineProtocolInto(body, options, &batch, &report).ok()) {
      state.SkipWithError("parse failed");
      return;
    }
    benchmark::DoNotOptimize(batch.point_count());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.SetItemsProcessed(state.iterations() * lines);
}
BENCHMARK(ParseIntoBatch)->Arg(10'000)->Arg(500)->ArgName("series");

}  // namespace
}  // namespace burnrate
