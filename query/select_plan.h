#pragma once

// Semantic analysis of a SELECT against one source's schema: which fields to read, which
// aggregates to compute, how rows are grouped and how output columns are made. Errors
// name what is wrong and where (line and char of the node).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "burnrate/db.h"
#include "burnrate/query_result.h"
#include "query/ast.h"

namespace burnrate {

enum class AggFunc : uint8_t {
  kCount,
  kCountDistinct,
  kSum,
  kMean,
  kMin,
  kMax,
  kFirst,
  kLast,
  kSpread,
  kMedian,
  kPercentile,
  kStddev,
  kDistinct,
  kTop,
  kBottom,
};

std::string_view AggFuncName(AggFunc f);
// Selectors pick one stored point (its time can stand for the row's time).
bool IsSelector(AggFunc f);
// Aggregates that produce several rows per bucket.
bool IsMultiRow(AggFunc f);
// Aggregates Db::ScanRollups can answer (count, sum, mean, min, max, spread).
bool IsRollupAnswerable(AggFunc f);

// One aggregate over one field, computed once however often the query names it.
struct AggSpec {
  AggFunc func = AggFunc::kCount;
  std::string field;
  int field_index = 0;  // into SelectPlan::scan_fields
  FieldType type = FieldType::kFloat;
  double percentile = 0;              // kPercentile
  int64_t n = 0;                      // kTop, kBottom
  std::vector<std::string> tag_args;  // kTop, kBottom: one point per distinct tag values
  NodePos pos;
  bool operator==(const AggSpec& o) const {
    return func == o.func && field == o.field && percentile == o.percentile && n == o.n &&
           tag_args == o.tag_args;
  }
};

// One output column (after `time`).
struct SelectColumn {
  enum class Kind : uint8_t {
    kExpr,         // evaluate expr (calls are aggregates, names are tags or fields)
    kAgg,          // aggregate `index` directly (wildcard expansion)
    kField,        // raw: scan field `index`
    kTag,          // the series' value of tag `name`
    kTagArg,       // top/bottom: tag argument `index` of the selected point
    kWildcardTags  // raw SELECT *: every tag key of the rows, placed at output
  };
  Kind kind = Kind::kExpr;
  std::string name;
  const Expr* expr = nullptr;
  int index = 0;
  std::string key;        // kTag: the tag key (the name may be an alias)
  bool wildcard = false;  // from SELECT *: sorted with the tag columns by name
};

// How series fall into groups and rows into time buckets.
struct GroupingSpec {
  std::vector<std::string> keys;     // GROUP BY tag keys, in the order written
  std::vector<std::string> regexes;  // GROUP BY /re/ (keys matching any)
  bool all_tags = false;             // GROUP BY *
  bool has_window = false;           // GROUP BY time(...)
  int64_t interval_ns = 0;
  int64_t offset_ns = 0;
  absl::TimeZone tz = absl::UTCTimeZone();
  bool utc = true;  // no tz() or tz('UTC')

  bool GroupsByTag(std::string_view key) const;
};

struct SortKey {
  bool time = false;  // ORDER BY time
  bool ascending = true;
  const Expr* expr = nullptr;  // extension: an aggregate expression
  int column = -1;             // or an output column (alias or identical expression)
};

// A SELECT analysed against one source. The plan borrows the statement's expressions: the
// statement must outlive it. Thread-compatible.
struct SelectPlan {
  bool aggregate = false;
  // A raw query naming no field of the source (only tags, or unknown names): it selects
  // no point, as in InfluxDB.
  bool reads_nothing = false;
  std::vector<std::string> scan_fields;
  std::vector<FieldType> scan_types;
  std::vector<AggSpec> aggs;
  absl::flat_hash_map<const Expr*, int> agg_of_call;
  std::vector<SelectColumn> columns;
  int multi_row_agg = -1;        // the top/bottom/distinct aggregate, when there is one
  bool selector_time = false;    // rows take the selected point's time
  int selector_agg = -1;         // the single selector whose point aux tag columns read
  bool money_aggregate = false;  // an aggregate other than count reads a money field
  GroupingSpec grouping;
  FillMode fill = FillMode::kNull;
  std::optional<ResultValue> fill_value;
  std::vector<SortKey> order;
  bool time_descending = false;
  bool order_by_value = false;  // an extension sort key exists
  // Field names WHERE conditions read per row (evaluated on scan_fields).
  std::vector<std::string> row_fields;
};

// Whether `name` is a field of the source (its type then in *type).
struct SourceSchema {
  std::string name;
  std::vector<FieldInfo> fields;  // sorted by name
  const FieldInfo* Find(std::string_view field) const;
};

// Analyses `s` against the schema. `row_condition` (WHERE conjuncts that read fields) adds
// the fields it reads to the scan. kInvalidArgument naming the node for an unknown
// function, a bad argument, an aggregate mixed with a raw column, a type mismatch (e.g.
// sum() of a string field), or an ORDER BY the executor cannot do.
[[nodiscard]] absl::StatusOr<SelectPlan> PlanSelect(const SelectStatement& s,
                                                    const SourceSchema& schema,
                                                    const Expr* row_condition);

// "<message> at line L, char C" as kInvalidArgument.
absl::Status SemanticError(NodePos pos, std::string_view message);

}  // namespace burnrate
