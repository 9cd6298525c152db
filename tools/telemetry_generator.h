#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "burnrate/money.h"
#include "burnrate/types.h"
#include "burnrate/write_batch.h"

namespace burnrate {

// 2026-11-01T00:00:00Z.
inline constexpr TimestampNs kDefaultGeneratorStartNs = 1'793'491'200LL * 1'000'000'000;

struct GeneratorConfig {
  uint64_t seed = 42;
  TimestampNs start_ns = kDefaultGeneratorStartNs;
  // Length of the generated span; 1 to 3660.
  int days = 1;
  // Series active at every tick; 1 to 1,000,000.
  uint32_t series = 1000;
  // Spacing of the points of a series: whole seconds, 1 s to 3600 s.
  int64_t interval_ns = 60'000'000'000;
};

// kInvalidArgument naming the first setting out of range.
[[nodiscard]] absl::Status ValidateGeneratorConfig(const GeneratorConfig& config);

enum class InstanceClass : uint8_t { kCpu, kSmallGpu, kLargeGpu };

// A machine type of one cloud with its public on-demand list price.
struct InstanceType {
  std::string_view cloud;  // "aws", "gcp" or "azure"
  std::string_view name;
  int64_t usd_per_hour_micros;
  int64_t gpu_count;
  InstanceClass instance_class;
};

// The price table the generator draws from.
std::span<const InstanceType> GeneratorInstanceTypes();

// The spot-like multiplier applied to list prices stays within these bounds (parts per
// million of the on-demand price).
inline constexpr int64_t kMinPriceMultiplierPpm = 250'000;
inline constexpr int64_t kMaxPriceMultiplierPpm = 1'000'000;

// Cost of `interval_s` seconds of a machine listed at `usd_per_hour_micros`, scaled by
// `multiplier_ppm`, rounded half-even to Money's 10 decimals. Exact integer arithmetic, so
// the result is the same on every machine. Arguments are non-negative, the price at most
// $10,000/hour and the interval at most an hour.
Money CostPerInterval(int64_t usd_per_hour_micros, int64_t multiplier_ppm, int64_t interval_s);

// SplitMix64 with hand-written distributions. The standard library's distributions are
// implementation-defined and would make the output differ between standard libraries; these
// use only integer arithmetic, so a seed gives the same numbers everywhere.
// Not thread-safe; callers synchronise.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [lo, hi]; requires lo <= hi. Multiply-shift: one draw, bias below 2^-32 for
  // the ranges used here.
  int64_t UniformInt(int64_t lo, int64_t hi);

  // A draw from the exponential distribution with mean 1, as a Q32 fixed-point number
  // (value * 2^32), computed as -ln(U) with an integer logarithm. At most about 37.
  uint64_t ExponentialQ32();

 private:
  uint64_t state_;
};

// One generated point. Views point into the generator and stay valid until its next call.
struct GeneratedPoint {
  TimestampNs time_ns = 0;
  // Which of the N concurrently active series (0..N-1) produced the point; a slot passes
  // from one resource to the next when a step or run ends.
  uint32_t slot = 0;
  std::span<const Tag> tags;  // sorted by key
  // The escaped line protocol series key: "cost,account=...,cloud=...,...".
  std::string_view series_key;
  const InstanceType* instance = nullptr;
  int64_t multiplier_ppm = 0;
  Money cost;
  int64_t gpu_util_e4 = 0;  // GPU utilisation in units of 1e-4, 0..10000
  int64_t gpu_count = 0;

  double gpu_util() const { return static_cast<double>(gpu_util_e4) / 10000.0; }
};

// Appends `measurement,key=value,...` escaped per the InfluxDB line protocol: commas and
// spaces in the measurement, commas, spaces and equals signs in tag keys and values.
void AppendLineProtocolSeriesKey(std::string* out, std::string_view measurement,
                                 std::span<const Tag> tags);

// Appends one line: series key, `cost=<decimal>,gpu_util=<4 decimals>,gpu_count=<n>i`, the
// timestamp in ns and '\n'.
void AppendLineProtocolPoint(std::string* out, const GeneratedPoint& point);

// Deterministic minute cost telemetry of ML runs (Metaflow style), for demos, benchmarks
// and tests.
//
// N slots are active at every tick. A slot runs one step of a run on one resource
// (measurement `cost`, tags account, cloud, flow, instance_type, resource, run_id, step;
// fields cost (Money), gpu_util (float), gpu_count (integer)); when the step ends the next
// step of the run starts on a new resource, and when the run ends a new run starts. Step
// durations are 10 minutes plus an exponential draw with a per-step mean (20 minutes to 6
// hours). At tick 0 every slot is part-way through a step, as in a system already running.
//
// Points come in time order, the N slots of a tick in slot order. Exactly
// ticks() * N points are produced, ticks() = days * 86400 s / interval rounded down (with
// the default one-minute interval: days * 1440 * N). The same config gives byte-identical
// output on every run, machine and standard library.
//
// Not thread-safe; callers synchronise.
class TelemetryGenerator {
 public:
  static constexpr std::string_view kMeasurement = "cost";

  // kInvalidArgument for a config that ValidateGeneratorConfig rejects.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TelemetryGenerator>> Create(
      const GeneratorConfig& config);

  TelemetryGenerator(const TelemetryGenerator&) = delete;
  TelemetryGenerator& operator=(const TelemetryGenerator&) = delete;
  ~TelemetryGenerator();

  const GeneratorConfig& config() const { return config_; }
  int64_t ticks() const { return ticks_; }
  uint64_t total_points() const { return static_cast<uint64_t>(ticks_) * config_.series; }
  uint64_t points_generated() const { return points_generated_; }
  bool done() const { return points_generated_ == total_points(); }
  // Exclusive end of the generated time range.
  TimestampNs end_ns() const { return config_.start_ns + ticks_ * config_.interval_ns; }

  // Produces the next point into *point; false when every point has been produced.
  bool Next(GeneratedPoint* point);

  // Adds up to max_points next points to batch, calling AddSeries once per series per
  // call. Returns the number added; 0 when done.
  size_t FillBatch(WriteBatch* batch, size_t max_points);

  // Appends up to max_points next points as line protocol lines; returns the number added.
  size_t AppendLineProtocol(std::string* out, size_t max_points);

 private:
  struct Slot;

  explicit TelemetryGenerator(const GeneratorConfig& config);

  void StartRun(Slot& slot, int64_t tick, bool warm_start);
  void StartStep(Slot& slot, int64_t tick, bool warm_start);
  void Evolve(Slot& slot);
  std::string AccountFor(int cloud);
  std::string ResourceIdFor(const Slot& slot);

  GeneratorConfig config_;
  int64_t interval_s_;
  int64_t ticks_;
  SplitMix64 rng_;
  std::vector<std::vector<std::string>> accounts_;  // per cloud
  // Instance types per (cloud, class), indexed cloud * 3 + class.
  std::vector<std::vector<const InstanceType*>> candidates_;
  std::vector<int64_t> next_run_number_;  // per flow
  std::vector<Slot> slots_;

  int64_t tick_ = 0;
  uint32_t next_slot_ = 0;
  uint64_t points_generated_ = 0;
  // Bumped by each FillBatch call; a slot's cached SeriesRef is valid while its stamp matches.
  uint64_t batch_epoch_ = 0;
};

}  // namespace burnrate
