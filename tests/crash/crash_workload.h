#pragma once

#include <string>

#include "base/str_cat.h"
#include "burnrate/write_batch.h"

// The deterministic workload shared by the crash writer (child) and the checker (parent):
// batch k holds kPointsPerBatch points of series run (k % 13) at times unique to k, with
// money and float values derived from k, so a reader can tell exactly which batches are
// present and whether any is partial.

namespace burnrate::crash {

inline constexpr int kPointsPerBatch = 20;
inline constexpr int64_t kBaseTime = 1'793'491'200'000'000'000LL;
inline constexpr int64_t kStep = 7'000'000'000LL;  // 7 s

inline int64_t PointTime(int64_t batch, int j) {
  // Spreads batches over many hours so flushes write several partitions.
  return kBaseTime + (batch * kPointsPerBatch + j) * kStep;
}

inline std::string CostText(int64_t batch, int j) { return StrCat(batch, ".", j, "000000001"); }

inline void FillBatch(int64_t batch, WriteBatch* b) {
  for (int j = 0; j < kPointsPerBatch; ++j) {
    std::vector<Tag> tags = {{"run_id", StrCat("TrainFlow/", batch % 13)}, {"resource", "i-1"}};
    b->AddPoint(b->AddSeries("cost", tags), PointTime(batch, j));
    b->AddDecimal("cost", CostText(batch, j));
    b->AddInteger("batch", batch);
  }
}

// Source version v: 10 + v % 7 points of measurement "billing", every value v, at times
// that do not depend on v, so versions overlap and a mix would show.
inline int SourcePoints(int64_t version) { return 10 + static_cast<int>(version % 7); }
inline void FillSource(int64_t version, WriteBatch* b) {
  b->set_source("aws-cur:123:2026-11");
  for (int j = 0; j < SourcePoints(version); ++j) {
    std::vector<Tag> tags = {{"account", "123"}, {"row", StrCat(j % 3)}};
    b->AddPoint(b->AddSeries("billing", tags), kBaseTime + j * 3'600'000'000'000LL);
    b->AddMoney("cost", Money::FromUnits(version));
  }
}

}  // namespace burnrate::crash
