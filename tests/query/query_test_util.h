#pragma once

// Shared helpers of the executor tests: a fresh data directory with database "db", and
// queries run with a fixed now().

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "burnrate/db.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

#include "burnrate/query.h"

namespace burnrate::testing {

inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int64_t kMinute = 60 * kSecond;
inline constexpr int64_t kHour = 60 * kMinute;
inline constexpr int64_t kDay = 24 * kHour;
inline constexpr TimestampNs kT0 = 1'793'491'200LL * kSecond;  // 2026-11-01T00:00:00Z

inline Options QuietOptions() {
  Options o;
  o.background_work = false;
  o.info_log = [](std::string_view) {};
  return o;
}

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Db::Open(dir_.path(), QuietOptions());
    ASSERT_OK(db);
    db_ = std::move(*db);
    ASSERT_OK(db_->CreateDatabase("db", DatabaseOptions{}));
  }

  QueryOptions Opts() const {
    QueryOptions o;
    o.database = "db";
    o.now = kT0 + 30 * kDay;
    return o;
  }

  absl::StatusOr<QueryResult> Run(std::string_view q) { return Query(db_.get(), q, Opts()); }
  absl::StatusOr<QueryResult> Run(std::string_view q, const QueryOptions& o) {
    return Query(db_.get(), q, o);
  }

  // The JSON of the query, or "error: <status>" when the whole query fails.
  std::string Json(std::string_view q) { return Json(q, Opts()); }
  std::string Json(std::string_view q, const QueryOptions& o) {
    absl::StatusOr<QueryResult> r = Query(db_.get(), q, o);
    if (!r.ok()) return "error: " + std::string(r.status().message());
    std::string s = QueryResultToJson(*r);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  void Write(const WriteBatch& b) { ASSERT_OK(db_->Write(WriteOptions{}, b)); }

  TempDir dir_;
  std::unique_ptr<Db> db_;
};

}  // namespace burnrate::testing
