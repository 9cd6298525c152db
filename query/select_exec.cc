#include "query/select_exec.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "query/aggregates.h"
#include "query/condition.h"
#include "query/eval.h"
#include "query/format.h"
#include "query/literals.h"
#include "query/select_plan.h"
#include "query/value_ops.h"
#include "query/window.h"

namespace burnrate {
namespace {

constexpr int kShards = 2;
constexpr TimestampNs kMinTime = std::numeric_limits<TimestampNs>::min();
constexpr TimestampNs kMaxTime = std::numeric_limits<TimestampNs>::max();
constexpr uint32_t kNoIndex = std::numeric_limits<uint32_t>::max();
constexpr int64_t kHourNs = 3'600'000'000'000;
constexpr int64_t kDayNs = 24 * kHourNs;
// Memory and deadline are checked every this many batches.
constexpr uint64_t kCheckEvery = 32;
// Series ids below this index a vector directly (at most 64 MiB of slots).
constexpr uint32_t kDenseSeriesIds = 16u << 20;

// Which half of the series a series belongs to: a hash of its tag values (their lengths
// and last eight bytes, where ids differ), a pure function of the tags, so the split is
// the same in every run whatever the thread count.
int ShardOf(std::span<const TagView> tags) {
  uint64_t h = 0x2545F4914F6CDD1DULL;
  for (const TagView& t : tags) {
    uint64_t tail = 0;
    const size_t n = std::min<size_t>(t.value.size(), 8);
    std::memcpy(&tail, t.value.data() + t.value.size() - n, n);
    h = (h ^ tail ^ (t.value.size() << 56)) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  return static_cast<int>(h >> 63);
}

// The value of tag `key`, or null when absent.
const std::string_view* FindTag(std::span<const TagView> tags, std::string_view key) {
  for (const TagView& t : tags) {
    if (t.key == key) return &t.value;
  }
  return nullptr;
}

const std::string* FindTag(std::span<const Tag> tags, std::string_view key) {
  for (const Tag& t : tags) {
    if (t.key == key) return &t.value;
  }
  return nullptr;
}

std::vector<TagView> ViewsOf(std::span<const Tag> tags) {
  std::vector<TagView> v;
  v.reserve(tags.size());
  for (const Tag& t : tags) v.push_back(TagView{t.key, t.value});
  return v;
}

std::string TimeText(TimestampNs t) {
  if (t == kMinTime) return "-inf";
  if (t == kMaxTime) return "+inf";
  return FormatRfc3339Nano(t);
}

// Storage class of a column type: which ScanColumn vector holds it.
int StorageClass(FieldType t) {
  switch (t) {
    case FieldType::kFloat:
      return 0;
    case FieldType::kString:
      return 3;
    case FieldType::kUnsigned:
      return 2;
    default:
      return 1;
  }
}

// ---------------------------------------------------------------------------------------
// Subquery results as a source.

// One series of a subquery's result: rows [begin, end) of its name's columns, in time
// order.
struct MemSeries {
  std::string name;
  std::vector<Tag> tags;
  std::vector<TagView> views;  // of `tags`
  size_t begin = 0;
  size_t end = 0;
};

// The rows of every series of one name, series after series.
struct MemColumns {
  std::vector<TimestampNs> times;
  std::vector<ScanColumn> columns;  // by field, in MemSource::fields[name] order
};

// A subquery's result read as a source: its columns are the fields, its tags the tags.
// Immutable once built; the scan threads read it concurrently.
struct MemSource {
  std::vector<MemSeries> series;
  std::map<std::string, std::vector<FieldInfo>> fields;  // per name, in column order
  std::map<std::string, MemColumns> data;                // per name
};

// Which kinds of values a subquery column holds, as bits of 1 << Kind.
uint32_t KindBit(const ResultValue& v) { return 1u << static_cast<int>(v.kind()); }

FieldType InferType(uint32_t kinds) {
  auto has = [&](ResultValue::Kind k) { return (kinds & (1u << static_cast<int>(k))) != 0; };
  const bool any_float = has(ResultValue::Kind::kFloat);
  const bool any_decimal = has(ResultValue::Kind::kDecimal);
  const bool any_int = has(ResultValue::Kind::kInteger) || has(ResultValue::Kind::kTime);
  const bool any_uint = has(ResultValue::Kind::kUnsigned);
  const bool any_string = has(ResultValue::Kind::kString);
  const bool any_bool = has(ResultValue::Kind::kBoolean);
  const bool number = any_float || any_decimal || any_int || any_uint;
  if (any_string && !number && !any_bool) return FieldType::kString;
  if (any_bool && !number && !any_string) return FieldType::kBoolean;
  if (any_float) return FieldType::kFloat;
  if (any_decimal) return FieldType::kMoney;
  if (any_uint && !any_int) return FieldType::kUnsigned;
  if (any_int) return FieldType::kInteger;
  if (any_string) return FieldType::kString;
  return FieldType::kFloat;
}

void PushValue(const ResultValue& v, ScanColumn* col) {
  bool valid = true;
  switch (col->type) {
    case FieldType::kFloat:
      valid = v.kind() != ResultValue::Kind::kNull && v.kind() != ResultValue::Kind::kString &&
              v.kind() != ResultValue::Kind::kBoolean;
      col->floats.push_back(valid ? v.ToDouble() : 0);
      break;
    case FieldType::kMoney: {
      __int128 u = 0;
      if (v.kind() == ResultValue::Kind::kDecimal) {
        u = v.decimal_units();
      } else if (v.kind() == ResultValue::Kind::kInteger) {
        u = static_cast<__int128>(v.integer()) * kDecimalScale;
      } else {
        valid = false;
      }
      if (u > std::numeric_limits<int64_t>::max() || u < std::numeric_limits<int64_t>::min()) {
        valid = false;  // an amount beyond one Money; the caller reports it
        u = 0;
      }
      col->ints.push_back(static_cast<int64_t>(u));
      break;
    }
    case FieldType::kInteger:
      valid = v.kind() == ResultValue::Kind::kInteger || v.kind() == ResultValue::Kind::kTime;
      col->ints.push_back(valid ? v.integer() : 0);
      break;
    case FieldType::kUnsigned:
      valid = v.kind() == ResultValue::Kind::kUnsigned;
      col->ints.push_back(valid ? static_cast<int64_t>(v.unsigned_value()) : 0);
      break;
    case FieldType::kBoolean:
      valid = v.kind() == ResultValue::Kind::kBoolean;
      col->ints.push_back(valid && v.boolean() ? 1 : 0);
      break;
    case FieldType::kString:
      valid = v.kind() == ResultValue::Kind::kString;
      col->strings.push_back(valid ? v.string() : std::string());
      break;
  }
  col->valid.push_back(valid ? 1 : 0);
}

absl::StatusOr<std::shared_ptr<const MemSource>> Materialize(std::vector<ResultSeries> inner) {
  auto mem = std::make_shared<MemSource>();
  // Columns per name: the first series' (InfluxDB gives every series of a source the same).
  std::map<std::string, std::vector<std::string>> columns;
  std::map<std::string, std::vector<uint32_t>> kinds;
  for (const ResultSeries& s : inner) {
    auto [it, inserted] = columns.try_emplace(s.name, s.columns);
    const auto& cols = it->second;
    auto& k = kinds[s.name];
    k.resize(cols.size(), 0);
    for (const auto& row : s.values) {
      for (size_t c = 1; c < cols.size() && c < row.size(); ++c) {
        if (!row[c].is_null()) k[c] |= KindBit(row[c]);
      }
    }
  }
  for (const auto& [name, cols] : columns) {
    std::vector<FieldInfo>& fields = mem->fields[name];
    MemColumns& data = mem->data[name];
    for (size_t c = 1; c < cols.size(); ++c) {
      fields.push_back(FieldInfo{cols[c], InferType(kinds[name][c])});
      ScanColumn col;
      col.name = cols[c];
      col.type = fields.back().type;
      data.columns.push_back(std::move(col));
    }
  }
  std::vector<size_t> order;
  const ResultValue null;
  for (ResultSeries& s : inner) {
    MemSeries m;
    m.name = s.name;
    m.tags = std::move(s.tags);
    const std::vector<FieldInfo>& fields = mem->fields[s.name];
    MemColumns& data = mem->data[s.name];
    order.resize(s.values.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto time_of = [&](size_t r) {
      return s.values[r].empty() ? TimestampNs{0} : s.values[r][0].time();
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return time_of(a) < time_of(b); });
    m.begin = data.times.size();
    for (size_t r : order) {
      const auto& row = s.values[r];
      data.times.push_back(time_of(r));
      for (size_t c = 0; c < fields.size(); ++c) {
        const ResultValue& v = c + 1 < row.size() ? row[c + 1] : null;
        PushValue(v, &data.columns[c]);
        if (fields[c].type == FieldType::kMoney && v.kind() == ResultValue::Kind::kDecimal &&
            data.columns[c].valid.back() == 0) {
          return absl::InvalidArgumentError(StrCat("subquery money value ", v.ToString(),
                                                   " in column \"", fields[c].name,
                                                   "\" is beyond the range of one amount"));
        }
      }
    }
    m.end = data.times.size();
    mem->series.push_back(std::move(m));
  }
  // Views last: the series (and their tag strings) no longer move.
  for (MemSeries& m : mem->series) m.views = ViewsOf(m.tags);
  return std::shared_ptr<const MemSource>(std::move(mem));
}

// Tag matchers evaluated in memory, with the engine's semantics (a missing tag has the
// empty value; regexes search, ECMAScript syntax). Immutable after Init; matching is safe
// from several threads.
class MemMatcher {
 public:
  [[nodiscard]] absl::Status Init(const std::vector<TagMatcher>& matchers) {
    matchers_ = matchers;
    for (const TagMatcher& m : matchers_) {
      std::optional<std::regex> re;
      if (m.op == TagMatcher::Op::kRegexMatch || m.op == TagMatcher::Op::kRegexNoMatch) {
        try {
          re.emplace(m.value, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          return absl::InvalidArgumentError(
              StrCat("invalid regular expression /", m.value, "/: ", e.what()));
        }
      }
      regexes_.push_back(std::move(re));
    }
    return absl::OkStatus();
  }
  bool Matches(std::span<const TagView> tags) const {
    for (size_t i = 0; i < matchers_.size(); ++i) {
      const TagMatcher& m = matchers_[i];
      const std::string_view* v = FindTag(tags, m.key);
      const std::string value = v == nullptr ? std::string() : std::string(*v);
      bool ok = false;
      switch (m.op) {
        case TagMatcher::Op::kEqual:
          ok = value == m.value;
          break;
        case TagMatcher::Op::kNotEqual:
          ok = value != m.value;
          break;
        case TagMatcher::Op::kRegexMatch:
          ok = std::regex_search(value, *regexes_[i]);
          break;
        case TagMatcher::Op::kRegexNoMatch:
          ok = !std::regex_search(value, *regexes_[i]);
          break;
      }
      if (!ok) return false;
    }
    return true;
  }

 private:
  std::vector<TagMatcher> matchers_;
  std::vector<std::optional<std::regex>> regexes_;
};

// ---------------------------------------------------------------------------------------
// Sources

// One FROM entry after resolution: a measurement of a database, or one measurement name of
// a subquery's result.
struct ResolvedSource {
  std::string database;
  std::string measurement;
  std::shared_ptr<const MemSource> mem;  // a subquery's result
  std::string name;                      // output series name
};

// Evaluation environments.

// Names are tags (strings; a missing tag is the empty string, as InfluxDB compares).
struct TagEnv {
  std::span<const TagView> tags;
  ResultValue Var(const Expr& e) const {
    const std::string_view* v = FindTag(tags, e.As<VarRef>()->name);
    return ResultValue::String(v == nullptr ? std::string() : std::string(*v));
  }
  ResultValue Call(const Expr&) const { return ResultValue(); }
};

// Names are fields of a scan batch row when the batch has them, else tags.
struct RowEnv {
  const ScanBatch* batch;
  size_t row;
  const absl::flat_hash_map<std::string, int>* field_index;
  std::span<const TagView> tags;
  ResultValue Var(const Expr& e) const {
    const VarRef& v = *e.As<VarRef>();
    if (v.type != VarType::kTag) {
      auto it = field_index->find(v.name);
      if (it != field_index->end()) return ColumnValue(batch->columns[it->second], row);
    }
    const std::string_view* t = FindTag(tags, v.name);
    return ResultValue::String(t == nullptr ? std::string() : std::string(*t));
  }
  ResultValue Call(const Expr&) const { return ResultValue(); }
};

// ---------------------------------------------------------------------------------------
// Per-shard state

// A series a shard has seen: its group, and its cell when there are no time buckets.
struct SeriesEntry {
  uint32_t sid = 0;
  uint32_t group = 0;
  uint32_t fixed_cell = kNoIndex;  // without GROUP BY time: the group's only cell
  // Kept when the plan reads them at output (batch tags live only during the sink call).
  // The views stay valid when the entry moves: they point into the vector's heap buffer.
  std::vector<Tag> tags;
  std::vector<TagView> views;  // of tags
};

// Append-only storage for group keys: one allocation per 64 KiB instead of one per group
// (queries grouping a million series by run or resource make that many groups).
// Views stay valid while the arena lives. Not thread-safe.
class KeyArena {
 public:
  std::string_view Save(std::string_view s) {
    if (s.size() > kBlock / 4) {
      big_.push_back(std::string(s));
      bytes_ += s.size();
      return big_.back();
    }
    if (blocks_.empty() || used_ + s.size() > kBlock) {
      blocks_.push_back(std::make_unique<char[]>(kBlock));
      used_ = 0;
      bytes_ += kBlock;
    }
    char* p = blocks_.back().get() + used_;
    std::copy(s.begin(), s.end(), p);
    used_ += s.size();
    return std::string_view(p, s.size());
  }
  size_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kBlock = 64 << 10;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::deque<std::string> big_;
  size_t used_ = 0;
  size_t bytes_ = 0;
};

// A group: its key is key\0value\0 per GROUP BY tag in key order (the tags are parsed
// back from it for the groups that are output).
struct GroupEntry {
  std::string_view key;  // in the shard's KeyArena
  std::string currency;  // the first currency seen, for the money rule
};

std::vector<Tag> TagsOfKey(std::string_view key) {
  std::vector<Tag> tags;
  size_t i = 0;
  while (i < key.size()) {
    const size_t k = key.find('\0', i);
    const size_t v = key.find('\0', k + 1);
    tags.push_back(
        Tag{std::string(key.substr(i, k - i)), std::string(key.substr(k + 1, v - k - 1))});
    i = v + 1;
  }
  return tags;
}

// A buffered raw row's field value: bits as FieldValue::bits(), strings by index.
struct RawCell {
  uint64_t bits = 0;
  FieldType type = FieldType::kFloat;
  uint8_t valid = 0;
};

// A buffered raw point: its cells are raw_cells[first_cell, first_cell + scan fields).
struct RawRow {
  TimestampNs time = 0;
  uint32_t sid = 0;
  uint32_t group = 0;
  uint64_t series_ref = 0;
  size_t first_cell = 0;
};

struct CellKey {
  uint32_t group;
  TimestampNs bucket;
  bool operator==(const CellKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const CellKey& k) {
    return H::combine(std::move(h), k.group, k.bucket);
  }
};

// The state of one half of the series: series seen, groups, (group, bucket) cells with
// their aggregate states, or buffered raw rows. Confined to the thread scanning that
// half until the scan ends; merged on the calling thread afterwards.
struct Shard {
  explicit Shard(QueryContext* ctx) : memory(ctx) {}
  std::vector<uint32_t> series_slot;  // by engine series id (below kDenseSeriesIds)
  absl::flat_hash_map<uint32_t, uint32_t> series_index;  // by larger ids
  std::vector<SeriesEntry> series;
  KeyArena keys;
  absl::flat_hash_map<std::string_view, uint32_t> group_index;
  std::vector<GroupEntry> groups;
  absl::flat_hash_map<CellKey, uint32_t> cell_index;
  std::vector<CellKey> cells;
  std::vector<uint32_t> group_cell;  // without GROUP BY time: each group's only cell
  std::vector<std::unique_ptr<AggState>> aggs;
  std::vector<RawRow> rows;
  std::vector<RawCell> raw_cells;
  std::vector<std::string> strings;
  absl::flat_hash_set<std::string> tag_keys;
  ScanBatch filtered;
  std::vector<TagView> scratch_tags;
  std::string scratch_key;
  // GROUP BY tags: groups by the addresses and sizes of the series' value strings. Values
  // come from the catalog's interned strings (or a subquery's), which do not change or
  // move during the scan, so the same address means the same value: most series find
  // their group without building and hashing the text key.
  absl::flat_hash_map<std::string, uint32_t> group_by_addr;
  std::string scratch_addr;
  absl::flat_hash_map<std::pair<const char*, size_t>, uint32_t> group_by_ptr;  // one key
  std::string last_addr;  // the last series' address key (or pointer) and its group
  std::pair<const char*, size_t> last_ptr{nullptr, 0};
  uint32_t last_group = kNoIndex;
  size_t fixed_bytes = 0;  // groups, strings and series tags held, counted as they come
  uint32_t last_sid = kNoIndex;
  uint32_t last_series = kNoIndex;
  uint64_t batches = 0;
  uint64_t rows_read = 0;
  RollupScanReport report;
  MemoryCharge memory;
};

uint64_t SeriesRef(int shard, uint32_t index) {
  return (static_cast<uint64_t>(shard) << 32) | index;
}

// Whether sort keys a come before b for ORDER BY: per key ascending or descending, nulls
// last.
bool SortKeysLess(const SelectPlan& plan, const std::vector<ResultValue>& a,
                  const std::vector<ResultValue>& b) {
  for (size_t k = 0; k < plan.order.size() && k < a.size() && k < b.size(); ++k) {
    const bool an = a[k].is_null(), bn = b[k].is_null();
    if (an != bn) return bn;
    const int c = OrderValues(a[k], b[k]);
    if (c != 0) return plan.order[k].ascending ? c < 0 : c > 0;
  }
  return false;
}

// One output series before ordering and limits.
struct OutSeries {
  ResultSeries series;
  std::vector<std::vector<ResultValue>> sort_values;  // per row, one per ORDER BY key
};

// ---------------------------------------------------------------------------------------

// Runs a SELECT over one source: scan (rollups or raw, one or two threads), merge the
// halves, build the output series. Borrows the context, source, plan and WHERE split, which
// must outlive it. Not thread-safe: Scan starts the threads it uses and joins them; every
// other method runs on the calling thread.
class SourceRun {
 public:
  SourceRun(QueryContext* ctx, const ResolvedSource& source, const SelectPlan& plan,
            const WhereSplit& where)
      : ctx_(ctx), source_(source), plan_(plan), where_(where) {
    for (int i = 0; i < kShards; ++i) shards_.push_back(std::make_unique<Shard>(ctx));
  }

  absl::Status Prepare() {
    const GroupingSpec& g = plan_.grouping;
    for (size_t i = 0; i < plan_.scan_fields.size(); ++i) {
      field_index_[plan_.scan_fields[i]] = static_cast<int>(i);
    }
    if (where_.series_condition) BR_RETURN_IF_ERROR(regexes_.Compile(*where_.series_condition));
    if (where_.row_condition) BR_RETURN_IF_ERROR(regexes_.Compile(*where_.row_condition));
    for (const SelectColumn& c : plan_.columns) {
      if (c.expr != nullptr) BR_RETURN_IF_ERROR(regexes_.Compile(*c.expr));
      if (c.kind == SelectColumn::Kind::kTag || c.kind == SelectColumn::Kind::kWildcardTags) {
        need_tags_ = true;
      }
      if (c.kind == SelectColumn::Kind::kWildcardTags) collect_keys_ = true;
      if (!plan_.aggregate && c.kind == SelectColumn::Kind::kExpr) need_tags_ = true;
    }
    for (const std::string& r : g.regexes) group_regexes_.emplace_back(r, std::regex::ECMAScript);
    sorted_keys_ = g.keys;
    std::sort(sorted_keys_.begin(), sorted_keys_.end());
    if (g.all_tags || !g.regexes.empty()) collect_keys_ = true;
    check_currency_ = plan_.aggregate && plan_.money_aggregate && !g.GroupsByTag("currency");
    fixed_time_ = where_.min_time == kMinTime ? 0 : where_.min_time;
    // Which scan fields the output reads: a raw row whose output fields are all null is
    // not a point of the result.
    output_fields_.assign(plan_.scan_fields.size(), 0);
    for (const SelectColumn& c : plan_.columns) {
      if (c.kind == SelectColumn::Kind::kField) output_fields_[c.index] = 1;
      if (c.expr == nullptr) continue;
      ForEachExpr(*c.expr, [&](const Expr& x) {
        const auto* v = x.As<VarRef>();
        if (v == nullptr || v->type == VarType::kTag) return;
        auto it = field_index_.find(v->name);
        if (it != field_index_.end()) output_fields_[it->second] = 1;
      });
    }
    if (!plan_.aggregate && ctx_->options().max_rows > 0) {
      trim_cap_ = ctx_->options().max_rows;
    }
    use_rollups_ = UseRollups(&path_reason_);
    // Both cores for large scans only: each half's engine scan walks the measurement's
    // catalog, which outweighs the aggregation of a short time range. The range stands
    // in for the size (points are about series x time).
    // An open upper bound is taken as now(): data from the future is rare.
    const TimestampNs end = where_.max_time == kMaxTime ? ctx_->now() : where_.max_time;
    const bool short_range =
        where_.min_time != kMinTime && static_cast<__int128>(end) - where_.min_time < kHourNs;
    threads_ = source_.mem || short_range ? 1 : ctx_->threads();
    if (source_.mem) BR_RETURN_IF_ERROR(mem_matcher_.Init(where_.tag_matchers));
    return absl::OkStatus();
  }

  bool uses_rollups() const { return use_rollups_; }

  // At most this many series can be returned (OFFSET + LIMIT of an ORDER BY over groups).
  void set_series_cap(size_t cap) { series_cap_ = cap; }
  // Rows are returned in the order they are built, so building may stop past this many.
  void set_row_cap(size_t cap) { row_cap_ = cap; }

  void set_limit_cap(size_t cap) {
    if (cap > 0 && (trim_cap_ == 0 || cap < trim_cap_)) trim_cap_ = cap;
  }

  absl::Status Scan() {
    const absl::Time start = absl::Now();
    for (auto& sh : shards_) {
      for (const AggSpec& a : plan_.aggs) sh->aggs.push_back(NewAggState(a));
    }
    std::atomic<bool> failed{false};
    absl::Status status[kShards];
    auto run = [&](int shard) {
      status[shard] = ScanShard(shard, &failed);
      if (!status[shard].ok()) failed = true;
    };
    if (threads_ >= 2) {
      std::thread t(run, 1);
      run(0);
      t.join();
    } else if (source_.mem) {
      for (int i = 0; i < kShards; ++i) run(i);
    } else {
      status[0] = ScanBothHalves();
    }
    scan_time_ = absl::Now() - start;
    // The first real error (a shard stopped by the other's failure reports kCancelled).
    for (const absl::Status& s : status) {
      if (!s.ok() && !absl::IsCancelled(s)) return s;
    }
    for (const absl::Status& s : status) BR_RETURN_IF_ERROR(s);
    return absl::OkStatus();
  }

  absl::Status Build(std::vector<OutSeries>* out) {
    BR_RETURN_IF_ERROR(MergeShards());
    return plan_.aggregate ? BuildAggregate(out) : BuildRaw(out);
  }

  void Explain(std::vector<std::string>* lines, bool analyzed);

 private:
  bool UseRollups(std::string* reason) const {
    auto no = [&](std::string why) {
      *reason = std::move(why);
      return false;
    };
    if (!plan_.aggregate) return no("raw points are selected");
    if (!ctx_->options().use_rollups) return no("QueryOptions::use_rollups is off");
    if (source_.mem) return no("the source is a subquery");
    if (where_.row_condition) return no("WHERE compares fields, so rows are filtered one by one");
    if (plan_.selector_time) return no("a lone selector returns its point's time");
    for (const AggSpec& a : plan_.aggs) {
      if (!IsRollupAnswerable(a.func)) {
        return no(StrCat(AggFuncName(a.func), "() needs every point"));
      }
      if (a.type != FieldType::kFloat && a.type != FieldType::kInteger &&
          a.type != FieldType::kMoney) {
        return no(StrCat("field ", a.field, " is ", FieldTypeName(a.type),
                         "; rollups hold float, integer and money fields"));
      }
    }
    const GroupingSpec& g = plan_.grouping;
    if (g.has_window) {
      if (!g.utc) return no("tz() buckets do not align with UTC rollups");
      if (g.interval_ns % kHourNs != 0 || g.offset_ns % kHourNs != 0) {
        return no("time() buckets are not whole hours");
      }
    }
    return true;
  }

  RollupLevel Level() const {
    const GroupingSpec& g = plan_.grouping;
    if (!g.has_window) return RollupLevel::kDay;
    return g.interval_ns % kDayNs == 0 && g.offset_ns % kDayNs == 0 ? RollupLevel::kDay
                                                                    : RollupLevel::kHour;
  }

  ScanRequest Request(int shard) {
    ScanRequest req;
    req.database = source_.database;
    req.measurement = source_.measurement;
    req.min_time = where_.min_time;
    req.max_time = where_.max_time;
    req.tag_matchers = where_.tag_matchers;
    req.fields = plan_.scan_fields;
    if (shard >= 0) {
      // Halves are alternate time partitions: the two threads read disjoint files, and
      // each series' tags are resolved only by the halves it has rows in.
      req.partition_stride = kShards;
      req.partition_phase = static_cast<uint32_t>(shard);
    }
    if (where_.series_condition) {
      req.series_filter = [this](std::span<const TagView> tags) { return SeriesMatches(tags); };
    }
    return req;
  }

  bool SeriesMatches(std::span<const TagView> tags) const {
    if (!where_.series_condition) return true;
    absl::StatusOr<ResultValue> v = Evaluate(*where_.series_condition, TagEnv{tags}, &regexes_);
    return v.ok() && Truthy(*v);
  }

  absl::Status ScanShard(int shard, std::atomic<bool>* failed) {
    Shard& sh = *shards_[shard];
    failed_ = failed;
    if (source_.mem) return ScanMem(shard);
    ScanRequest req = Request(shard);
    if (use_rollups_) {
      RollupRequest r;
      r.scan = std::move(req);
      r.level = Level();
      return ctx_->db()->ScanRollups(
          r, [&](const RollupBatch& b) { return AddRollupBatch(shard, b); }, &sh.report);
    }
    return ctx_->db()->Scan(req, [&](const ScanBatch& b) { return AddBatch(shard, b); });
  }

  // One thread: one engine call feeds both halves, each batch going to its half's state
  // by its partition. Each half still sees its batches in the order a call of its own
  // would give (series id order, per partition for rollups), so results equal those of
  // two threads.
  absl::Status ScanBothHalves() {
    ScanRequest req = Request(-1);
    // The half of a batch: its partition's, as a partition share of two would read it.
    auto shard_of = [](int64_t partition) {
      return InPartitionShare(partition, kShards, 0) ? 0 : 1;
    };
    if (use_rollups_) {
      RollupRequest r;
      r.scan = std::move(req);
      r.level = Level();
      return ctx_->db()->ScanRollups(
          r, [&](const RollupBatch& b) { return AddRollupBatch(shard_of(b.partition), b); },
          &shards_[0]->report);
    }
    return ctx_->db()->Scan(req,
                            [&](const ScanBatch& b) { return AddBatch(shard_of(b.partition), b); });
  }

  absl::Status ScanMem(int shard) {
    const std::vector<FieldInfo>& fields = source_.mem->fields.at(source_.name);
    const MemColumns& data = source_.mem->data.at(source_.name);
    // The source column of each scan field (-1: the source has none; all null).
    std::vector<int> column_of;
    ScanBatch batch;
    for (const std::string& f : plan_.scan_fields) {
      int c = -1;
      for (size_t i = 0; i < fields.size(); ++i) {
        if (fields[i].name == f) c = static_cast<int>(i);
      }
      column_of.push_back(c);
      ScanColumn col;
      col.name = f;
      col.type = c < 0 ? FieldType::kFloat : fields[c].type;
      batch.columns.push_back(std::move(col));
    }
    for (uint32_t id = 0; id < source_.mem->series.size(); ++id) {
      const MemSeries& m = source_.mem->series[id];
      if (m.name != source_.name) continue;
      if (ShardOf(m.views) != shard || !mem_matcher_.Matches(m.views) || !SeriesMatches(m.views)) {
        continue;
      }
      const auto first = data.times.begin() + static_cast<std::ptrdiff_t>(m.begin);
      const auto last = data.times.begin() + static_cast<std::ptrdiff_t>(m.end);
      const auto lo = std::lower_bound(first, last, where_.min_time);
      const auto hi = std::upper_bound(lo, last, where_.max_time);
      if (lo == hi) continue;
      const size_t b = lo - data.times.begin(), e = hi - data.times.begin();
      batch.series_id = id;
      batch.tags = m.views;
      batch.times.assign(lo, hi);
      for (size_t k = 0; k < batch.columns.size(); ++k) {
        ScanColumn& col = batch.columns[k];
        col.floats.clear();
        col.ints.clear();
        col.strings.clear();
        if (column_of[k] < 0) {
          col.floats.assign(e - b, 0);
          col.valid.assign(e - b, 0);
          continue;
        }
        const ScanColumn& src = data.columns[column_of[k]];
        if (!src.floats.empty()) col.floats.assign(src.floats.begin() + b, src.floats.begin() + e);
        if (!src.ints.empty()) col.ints.assign(src.ints.begin() + b, src.ints.begin() + e);
        if (!src.strings.empty()) {
          col.strings.assign(src.strings.begin() + b, src.strings.begin() + e);
        }
        col.valid.assign(src.valid.begin() + b, src.valid.begin() + e);
      }
      BR_RETURN_IF_ERROR(AddBatch(shard, batch));
    }
    return absl::OkStatus();
  }

  // Deadline, memory and cancellation, every few batches.
  absl::Status Tick(Shard& sh, size_t rows) {
    ++sh.batches;
    sh.rows_read += rows;
    if (sh.batches % kCheckEvery != 0) return absl::OkStatus();
    if (failed_ != nullptr && failed_->load()) return absl::CancelledError("stopped");
    BR_RETURN_IF_ERROR(ctx_->CheckDeadline());
    return sh.memory.Set(ShardBytes(sh));
  }

  size_t ShardBytes(const Shard& sh) const {
    size_t b = sh.fixed_bytes + sh.keys.bytes() + sh.series_slot.capacity() * sizeof(uint32_t) +
               sh.series.capacity() * sizeof(SeriesEntry) + sh.series_index.capacity() * 16 +
               sh.groups.capacity() * sizeof(GroupEntry) + sh.group_index.capacity() * 48 +
               sh.cells.capacity() * sizeof(CellKey) + sh.cell_index.capacity() * 24 +
               sh.rows.capacity() * sizeof(RawRow) + sh.raw_cells.capacity() * sizeof(RawCell) +
               sh.strings.capacity() * sizeof(std::string);
    for (const auto& a : sh.aggs) {
      if (a) b += a->Bytes();
    }
    return b;
  }

  absl::StatusOr<uint32_t> GroupFor(Shard& sh, std::span<const TagView> tags) {
    const GroupingSpec& g = plan_.grouping;
    // The group key: key\0value\0 per GROUP BY tag, in key order, built in a reused
    // buffer; the group's tags are materialised only when the group is new.
    std::string& key = sh.scratch_key;
    key.clear();
    auto append = [&key](std::string_view k, std::string_view v) {
      key.append(k);
      key.push_back('\0');
      key.append(v);
      key.push_back('\0');
    };
    std::vector<TagView>& gtags = sh.scratch_tags;
    const bool simple = !g.all_tags && group_regexes_.empty();
    std::string& addr = sh.scratch_addr;
    addr.clear();
    // One GROUP BY key (the usual case): the value's address and size, no allocation.
    const bool one_key = simple && sorted_keys_.size() == 1;
    std::pair<const char*, size_t> ptr{nullptr, 0};
    if (one_key) {
      const std::string_view* v = FindTag(tags, sorted_keys_[0]);
      if (v != nullptr) ptr = {v->data(), v->size()};
      if (sh.last_group != kNoIndex && ptr == sh.last_ptr) {
        return CheckCurrency(sh, sh.last_group, tags);
      }
      auto it = sh.group_by_ptr.find(ptr);
      if (it != sh.group_by_ptr.end()) {
        sh.last_ptr = ptr;
        sh.last_group = it->second;
        return CheckCurrency(sh, it->second, tags);
      }
    } else if (simple) {
      for (const std::string& k : sorted_keys_) {
        const std::string_view* v = FindTag(tags, k);
        const char* p = v == nullptr ? nullptr : v->data();
        const size_t n = v == nullptr ? 0 : v->size();
        addr.append(reinterpret_cast<const char*>(&p), sizeof p);
        addr.append(reinterpret_cast<const char*>(&n), sizeof n);
      }
      // Consecutive series often share their group (the steps of one run).
      if (sh.last_group != kNoIndex && addr == sh.last_addr) {
        return CheckCurrency(sh, sh.last_group, tags);
      }
      auto it = sh.group_by_addr.find(addr);
      if (it != sh.group_by_addr.end()) {
        sh.last_addr = addr;
        sh.last_group = it->second;
        return CheckCurrency(sh, it->second, tags);
      }
    }
    if (simple) {
      for (const std::string& k : sorted_keys_) {
        const std::string_view* v = FindTag(tags, k);
        append(k, v == nullptr ? std::string_view() : *v);
      }
    } else {
      gtags.clear();
      if (g.all_tags) {
        gtags.assign(tags.begin(), tags.end());
      } else {
        for (const std::string& k : g.keys) {
          const std::string_view* v = FindTag(tags, k);
          gtags.push_back(TagView{k, v == nullptr ? std::string_view() : *v});
        }
        for (const TagView& t : tags) {
          if (std::find(g.keys.begin(), g.keys.end(), t.key) != g.keys.end()) continue;
          for (const std::regex& re : group_regexes_) {
            if (std::regex_search(t.key.begin(), t.key.end(), re)) {
              gtags.push_back(t);
              break;
            }
          }
        }
        std::sort(gtags.begin(), gtags.end());
      }
      for (const TagView& t : gtags) append(t.key, t.value);
    }
    uint32_t gi;
    auto it = sh.group_index.find(key);
    if (it != sh.group_index.end()) {
      gi = it->second;
    } else {
      gi = static_cast<uint32_t>(sh.groups.size());
      const std::string_view saved = sh.keys.Save(key);
      sh.group_index.emplace(saved, gi);
      sh.groups.push_back(GroupEntry{saved, {}});
    }
    if (one_key) {
      sh.last_ptr = ptr;
      sh.last_group = gi;
      sh.group_by_ptr.emplace(ptr, gi);
      sh.fixed_bytes += 32;
    } else if (simple) {
      sh.last_addr = addr;
      sh.last_group = gi;
      sh.group_by_addr.emplace(addr, gi);
      sh.fixed_bytes += addr.size() + 48;
    }
    return CheckCurrency(sh, gi, tags);
  }

  absl::StatusOr<uint32_t> CheckCurrency(Shard& sh, uint32_t gi, std::span<const TagView> tags) {
    if (check_currency_) {
      const std::string_view* cur = FindTag(tags, "currency");
      if (cur != nullptr) BR_RETURN_IF_ERROR(NoteCurrency(&sh.groups[gi], std::string(*cur)));
    }
    return gi;
  }

  absl::Status NoteCurrency(GroupEntry* g, const std::string& currency) {
    if (currency.empty()) return absl::OkStatus();
    if (g->currency.empty()) {
      g->currency = currency;
      return absl::OkStatus();
    }
    if (g->currency == currency) return absl::OkStatus();
    const std::string& a = std::min(g->currency, currency);
    const std::string& b = std::max(g->currency, currency);
    return absl::InvalidArgumentError(StrCat(
        "cannot aggregate money in several currencies (", a, " and ", b, ") in one group of ",
        source_.name, ": add currency to GROUP BY, or select one with WHERE currency = '", a, "'"));
  }

  absl::StatusOr<uint32_t> SeriesFor(int shard, uint32_t sid, std::span<const TagView> tags) {
    Shard& sh = *shards_[shard];
    if (sh.last_sid == sid && sh.last_series != kNoIndex) return sh.last_series;
    // Engine series ids are small and dense: index a vector by them, a hash map beyond.
    uint32_t* slot;
    if (sid < kDenseSeriesIds) {
      if (sid >= sh.series_slot.size()) {
        sh.series_slot.resize(std::max<size_t>(sid + 1, sh.series_slot.size() * 2), kNoIndex);
      }
      slot = &sh.series_slot[sid];
    } else {
      slot = &sh.series_index.try_emplace(sid, kNoIndex).first->second;
    }
    if (*slot == kNoIndex) {
      SeriesEntry e;
      e.sid = sid;
      BR_ASSIGN_OR_RETURN(e.group, GroupFor(sh, tags));
      if (need_tags_) {
        for (const TagView& t : tags) {
          e.tags.push_back(Tag{std::string(t.key), std::string(t.value)});
          sh.fixed_bytes += sizeof(Tag) + sizeof(TagView) + t.key.size() + t.value.size();
        }
        e.views = ViewsOf(e.tags);
      }
      if (collect_keys_) {
        for (const TagView& t : tags) {
          sh.tag_keys.insert(std::string(t.key));
        }
      }
      *slot = static_cast<uint32_t>(sh.series.size());
      sh.series.push_back(std::move(e));
    }
    sh.last_sid = sid;
    sh.last_series = *slot;
    return *slot;
  }

  uint32_t CellFor(Shard& sh, uint32_t group, TimestampNs bucket) {
    auto [it, inserted] =
        sh.cell_index.try_emplace(CellKey{group, bucket}, static_cast<uint32_t>(sh.cells.size()));
    if (inserted) {
      sh.cells.push_back(CellKey{group, bucket});
      for (auto& a : sh.aggs) a->Resize(sh.cells.size());
    }
    return it->second;
  }

  // Without GROUP BY time a group has one cell: found through a vector, not the map.
  uint32_t GroupCell(Shard& sh, uint32_t group) {
    if (sh.group_cell.size() <= group) {
      sh.group_cell.resize(std::max<size_t>(group + 1, sh.groups.size()), kNoIndex);
    }
    uint32_t& c = sh.group_cell[group];
    if (c == kNoIndex) {
      c = static_cast<uint32_t>(sh.cells.size());
      sh.cells.push_back(CellKey{group, fixed_time_});
      for (auto& a : sh.aggs) a->Resize(sh.cells.size());
    }
    return c;
  }

  uint32_t FixedCell(Shard& sh, uint32_t series) {
    SeriesEntry& e = sh.series[series];
    if (e.fixed_cell == kNoIndex) e.fixed_cell = GroupCell(sh, e.group);
    return e.fixed_cell;
  }

  absl::Status FilterRows(const ScanBatch& in, std::span<const TagView> tags, ScanBatch* out) {
    std::vector<uint8_t> keep(in.rows(), 0);
    for (size_t r = 0; r < in.rows(); ++r) {
      BR_ASSIGN_OR_RETURN(ResultValue v, Evaluate(*where_.row_condition,
                                                  RowEnv{&in, r, &field_index_, tags}, &regexes_));
      keep[r] = Truthy(v) ? 1 : 0;
    }
    out->series_id = in.series_id;
    out->tags = tags;
    out->times.clear();
    out->columns.resize(in.columns.size());
    for (size_t r = 0; r < in.rows(); ++r) {
      if (keep[r]) out->times.push_back(in.times[r]);
    }
    for (size_t c = 0; c < in.columns.size(); ++c) {
      const ScanColumn& src = in.columns[c];
      ScanColumn& dst = out->columns[c];
      dst.name = src.name;
      dst.type = src.type;
      dst.ints.clear();
      dst.floats.clear();
      dst.strings.clear();
      dst.valid.clear();
      for (size_t r = 0; r < in.rows(); ++r) {
        if (!keep[r]) continue;
        if (!src.ints.empty()) dst.ints.push_back(src.ints[r]);
        if (!src.floats.empty()) dst.floats.push_back(src.floats[r]);
        if (!src.strings.empty()) dst.strings.push_back(src.strings[r]);
        if (!src.valid.empty()) dst.valid.push_back(src.valid[r]);
      }
    }
    return absl::OkStatus();
  }

  absl::Status AddBatch(int shard, const ScanBatch& b) {
    Shard& sh = *shards_[shard];
    BR_RETURN_IF_ERROR(Tick(sh, b.rows()));
    if (b.rows() == 0) return absl::OkStatus();
    const ScanBatch* batch = &b;
    if (where_.row_condition) {
      BR_RETURN_IF_ERROR(FilterRows(b, b.tags, &sh.filtered));
      batch = &sh.filtered;
      if (batch->rows() == 0) return absl::OkStatus();
    }
    BR_ASSIGN_OR_RETURN(const uint32_t si, SeriesFor(shard, b.series_id, b.tags));
    if (plan_.aggregate) {
      AggregateRows(shard, si, *batch);
    } else {
      BufferRows(shard, si, *batch);
    }
    return absl::OkStatus();
  }

  void AggregateRows(int shard, uint32_t si, const ScanBatch& b) {
    Shard& sh = *shards_[shard];
    const RowSource src{b.series_id, SeriesRef(shard, si), b.tags};
    const size_t n = b.rows();
    const TimestampNs* times = b.times.data();
    auto add = [&](uint32_t cell, size_t begin, size_t end) {
      for (size_t k = 0; k < plan_.aggs.size(); ++k) {
        const AggSpec& a = plan_.aggs[k];
        const ScanColumn& col = b.columns[a.field_index];
        if (StorageClass(col.type) != StorageClass(a.type)) continue;
        sh.aggs[k]->AddRows(cell, col, times, begin, end, src);
      }
    };
    if (!plan_.grouping.has_window) {
      add(FixedCell(sh, si), 0, n);
      return;
    }
    const uint32_t group = sh.series[si].group;
    size_t i = 0;
    while (i < n) {
      const TimeWindow w = WindowOf(plan_.grouping, times[i]);
      const size_t j = std::lower_bound(times + i + 1, times + n, w.end) - times;
      add(CellFor(sh, group, w.start), i, j);
      i = j;
    }
  }

  absl::Status AddRollupBatch(int shard, const RollupBatch& b) {
    Shard& sh = *shards_[shard];
    BR_RETURN_IF_ERROR(Tick(sh, b.bucket_starts.size()));
    BR_ASSIGN_OR_RETURN(const uint32_t si, SeriesFor(shard, b.series_id, b.tags));
    const RowSource src{b.series_id, SeriesRef(shard, si), b.tags};
    const uint32_t group = sh.series[si].group;
    for (size_t i = 0; i < b.bucket_starts.size(); ++i) {
      const uint32_t cell =
          plan_.grouping.has_window
              ? CellFor(sh, group, WindowOf(plan_.grouping, b.bucket_starts[i]).start)
              : FixedCell(sh, si);
      for (size_t k = 0; k < plan_.aggs.size(); ++k) {
        const RollupColumn& col = b.columns[plan_.aggs[k].field_index];
        if (StorageClass(col.type) != StorageClass(plan_.aggs[k].type)) continue;
        sh.aggs[k]->AddRollup(cell, col, i, b.bucket_starts[i], src);
      }
    }
    return absl::OkStatus();
  }

  void BufferRows(int shard, uint32_t si, const ScanBatch& b) {
    Shard& sh = *shards_[shard];
    const uint32_t group = sh.series[si].group;
    for (size_t r = 0; r < b.rows(); ++r) {
      bool any = false;
      for (size_t c = 0; c < b.columns.size(); ++c) {
        if (output_fields_[c] && b.columns[c].IsValid(r)) any = true;
      }
      if (!any) continue;
      RawRow row;
      row.time = b.times[r];
      row.sid = b.series_id;
      row.group = group;
      row.series_ref = SeriesRef(shard, si);
      row.first_cell = sh.raw_cells.size();
      for (const ScanColumn& col : b.columns) {
        RawCell cell;
        cell.type = col.type;
        cell.valid = col.IsValid(r) ? 1 : 0;
        if (cell.valid) {
          switch (StorageClass(col.type)) {
            case 0: {
              const double d = col.floats[r];
              __builtin_memcpy(&cell.bits, &d, sizeof d);
              break;
            }
            case 3:
              cell.bits = sh.strings.size();
              sh.strings.push_back(col.strings[r]);
              sh.fixed_bytes += sh.strings.back().capacity();
              break;
            default:
              cell.bits = static_cast<uint64_t>(col.ints[r]);
          }
        }
        sh.raw_cells.push_back(cell);
      }
      sh.rows.push_back(row);
    }
    if (trim_cap_ > 0 && sh.rows.size() > 2 * trim_cap_ + 4096) TrimRows(&sh);
  }

  // Keeps each group's first trim_cap_ rows in output order: rows past them can never be
  // returned (LIMIT or max_rows), so dropping them bounds memory on long raw scans.
  void TrimRows(Shard* sh) {
    trimmed_ = true;
    std::vector<size_t> idx(sh->rows.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    const bool desc = plan_.time_descending;
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      const RawRow& x = sh->rows[a];
      const RawRow& y = sh->rows[b];
      if (x.group != y.group) return x.group < y.group;
      if (x.time != y.time) return desc ? x.time > y.time : x.time < y.time;
      return x.sid < y.sid;
    });
    std::vector<RawRow> rows;
    std::vector<RawCell> cells;
    const size_t width = plan_.scan_fields.size();
    size_t in_group = 0;
    for (size_t k = 0; k < idx.size(); ++k) {
      const RawRow& r = sh->rows[idx[k]];
      in_group = (k > 0 && sh->rows[idx[k - 1]].group == r.group) ? in_group + 1 : 0;
      if (in_group >= trim_cap_) continue;
      RawRow copy = r;
      copy.first_cell = cells.size();
      cells.insert(cells.end(), sh->raw_cells.begin() + r.first_cell,
                   sh->raw_cells.begin() + r.first_cell + width);
      rows.push_back(copy);
    }
    sh->rows = std::move(rows);
    sh->raw_cells = std::move(cells);
  }

  // Folds shard 1 into shard 0: groups by key, cells by (group, bucket), aggregate states
  // merged in that fixed order; raw rows appended.
  absl::Status MergeShards() {
    Shard& m = *shards_[0];
    for (int s = 1; s < kShards; ++s) {
      Shard& o = *shards_[s];
      std::vector<uint32_t> group_map(o.groups.size());
      for (size_t g = 0; g < o.groups.size(); ++g) {
        auto it = m.group_index.find(o.groups[g].key);
        if (it == m.group_index.end()) {
          const std::string_view saved = m.keys.Save(o.groups[g].key);
          it = m.group_index.emplace(saved, static_cast<uint32_t>(m.groups.size())).first;
          m.groups.push_back(GroupEntry{saved, {}});
        }
        group_map[g] = it->second;
        if (check_currency_) {
          BR_RETURN_IF_ERROR(NoteCurrency(&m.groups[it->second], o.groups[g].currency));
        }
      }
      for (size_t c = 0; c < o.cells.size(); ++c) {
        const uint32_t mc = plan_.grouping.has_window
                                ? CellFor(m, group_map[o.cells[c].group], o.cells[c].bucket)
                                : GroupCell(m, group_map[o.cells[c].group]);
        for (size_t k = 0; k < m.aggs.size(); ++k) m.aggs[k]->Merge(mc, *o.aggs[k], c);
      }
      const size_t width = plan_.scan_fields.size();
      for (const RawRow& r : o.rows) {
        RawRow copy = r;
        copy.group = group_map[r.group];
        copy.first_cell = m.raw_cells.size();
        for (size_t c = 0; c < width; ++c) {
          RawCell cell = o.raw_cells[r.first_cell + c];
          if (cell.valid && cell.type == FieldType::kString) {
            const size_t idx = m.strings.size();
            m.strings.push_back(std::move(o.strings[cell.bits]));
            cell.bits = idx;
          }
          m.raw_cells.push_back(cell);
        }
        m.rows.push_back(copy);
      }
      for (const std::string& k : o.tag_keys) m.tag_keys.insert(k);
      for (auto& a : o.aggs) a.reset();
      o.rows.clear();
      o.raw_cells.clear();
    }
    BR_RETURN_IF_ERROR(m.memory.Set(ShardBytes(m)));
    return ctx_->CheckDeadline();
  }

  const SeriesEntry* SeriesOf(uint64_t ref) const {
    if (ref == kNoSeries) return nullptr;
    const Shard& sh = *shards_[ref >> 32];
    const uint32_t i = static_cast<uint32_t>(ref);
    return i < sh.series.size() ? &sh.series[i] : nullptr;
  }

  // Keys GROUP BY * or /re/ adds to every group (with "" where a group lacks one).
  void ComputeUnionKeys() {
    const GroupingSpec& g = plan_.grouping;
    union_keys_.clear();
    if (!g.all_tags && g.regexes.empty()) return;
    for (const std::string& k : shards_[0]->tag_keys) {
      if (g.GroupsByTag(k)) union_keys_.insert(k);
    }
  }

  // A group's output tags.
  std::vector<Tag> GroupTags(uint32_t gi) const {
    std::vector<Tag> t = TagsOfKey(shards_[0]->groups[gi].key);
    if (union_keys_.empty()) return t;
    for (const std::string& k : union_keys_) {
      if (FindTag(t, k) == nullptr) t.push_back(Tag{k, ""});
    }
    std::sort(t.begin(), t.end());
    return t;
  }

  // Groups in output order (by tags). With the same GROUP BY keys in every group, the
  // encoded keys order as the tags do.
  std::vector<uint32_t> GroupOrder() {
    ComputeUnionKeys();
    const Shard& m = *shards_[0];
    std::vector<uint32_t> order(m.groups.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
    if (union_keys_.empty()) {
      std::sort(order.begin(), order.end(),
                [&](uint32_t a, uint32_t b) { return m.groups[a].key < m.groups[b].key; });
      return order;
    }
    std::vector<std::vector<Tag>> tags(m.groups.size());
    for (size_t i = 0; i < tags.size(); ++i) tags[i] = GroupTags(static_cast<uint32_t>(i));
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return tags[a] < tags[b]; });
    return order;
  }

  int32_t OffsetAt(TimestampNs t) const {
    return plan_.grouping.utc ? 0 : UtcOffsetSeconds(plan_.grouping.tz, t);
  }

  struct AggEnv {
    std::span<const ResultValue> values;
    const SelectPlan* plan;
    std::span<const TagView> tags;
    ResultValue Call(const Expr& e) const {
      auto it = plan->agg_of_call.find(&e);
      return it == plan->agg_of_call.end() ? ResultValue() : values[it->second];
    }
    ResultValue Var(const Expr& e) const {
      const std::string_view* v = FindTag(tags, e.As<VarRef>()->name);
      return v == nullptr ? ResultValue() : ResultValue::String(std::string(*v));
    }
  };

  // One output row of an aggregate query from its aggregate values.
  absl::Status AggregateRow(TimestampNs time, std::span<const ResultValue> values,
                            const AggPoint* point, OutSeries* out) {
    const SeriesEntry* se = point == nullptr ? nullptr : SeriesOf(point->series_ref);
    const std::span<const TagView> tags = se == nullptr ? std::span<const TagView>() : se->views;
    const AggEnv env{values, &plan_, tags};
    std::vector<ResultValue> row;
    row.reserve(plan_.columns.size() + 1);
    row.push_back(ResultValue::Time(time, OffsetAt(time)));
    for (const SelectColumn& c : plan_.columns) {
      switch (c.kind) {
        case SelectColumn::Kind::kAgg:
          row.push_back(values[c.index]);
          break;
        case SelectColumn::Kind::kTagArg:
          row.push_back(point != nullptr && c.index < static_cast<int>(point->tag_values.size())
                            ? ResultValue::String(point->tag_values[c.index])
                            : ResultValue());
          break;
        case SelectColumn::Kind::kTag: {
          const std::string_view* v = FindTag(tags, c.key);
          row.push_back(v == nullptr ? ResultValue() : ResultValue::String(std::string(*v)));
          break;
        }
        default: {
          BR_ASSIGN_OR_RETURN(ResultValue v, Evaluate(*c.expr, env, &regexes_));
          row.push_back(std::move(v));
        }
      }
    }
    std::vector<ResultValue> keys;
    for (const SortKey& k : plan_.order) {
      if (k.time) {
        keys.push_back(row[0]);
      } else if (k.column >= 0) {
        keys.push_back(row[k.column + 1]);
      } else {
        BR_ASSIGN_OR_RETURN(ResultValue v, Evaluate(*k.expr, env, &regexes_));
        keys.push_back(std::move(v));
      }
    }
    out->series.values.push_back(std::move(row));
    out->sort_values.push_back(std::move(keys));
    return absl::OkStatus();
  }

  absl::Status BuildAggregate(std::vector<OutSeries>* out) {
    const GroupingSpec& g = plan_.grouping;
    if (!g.has_window && plan_.multi_row_agg < 0) return BuildOneRowPerGroup(out);
    const std::vector<uint32_t> order = GroupOrder();
    Shard& m = *shards_[0];
    std::vector<std::vector<std::pair<TimestampNs, uint32_t>>> by_group(m.groups.size());
    TimestampNs first_bucket = kMaxTime;
    for (size_t c = 0; c < m.cells.size(); ++c) {
      by_group[m.cells[c].group].emplace_back(m.cells[c].bucket, static_cast<uint32_t>(c));
      first_bucket = std::min(first_bucket, m.cells[c].bucket);
    }
    // The buckets every group lists (with fill): from the query's start (or the first
    // data) to its end.
    std::vector<TimestampNs> buckets;
    const bool dense = g.has_window && plan_.fill != FillMode::kNone && plan_.multi_row_agg < 0;
    MemoryCharge buckets_memory(ctx_);
    if (dense && !m.cells.empty()) {
      TimestampNs t =
          where_.min_time == kMinTime ? first_bucket : WindowOf(g, where_.min_time).start;
      const TimestampNs last = WindowOf(g, where_.max_time).start;
      const size_t cap = ctx_->options().max_rows > 0 ? ctx_->options().max_rows + 1 : 0;
      while (t <= last) {
        buckets.push_back(t);
        if (cap > 0 && buckets.size() >= cap) break;
        if (buckets.size() % 65536 == 0) {
          BR_RETURN_IF_ERROR(buckets_memory.Set(buckets.capacity() * sizeof(TimestampNs)));
          BR_RETURN_IF_ERROR(ctx_->CheckDeadline());
        }
        const TimestampNs next = WindowOf(g, t).end;
        if (next <= t) break;
        t = next;
      }
    }
    std::vector<AggPoint> points;
    size_t rows_built = 0;
    MemoryCharge rows_memory(ctx_);
    for (uint32_t gi : order) {
      auto& cells = by_group[gi];
      if (cells.empty()) continue;
      std::sort(cells.begin(), cells.end());
      OutSeries s;
      if (plan_.multi_row_agg >= 0) {
        for (const auto& [bucket, cell] : cells) {
          points.clear();
          m.aggs[plan_.multi_row_agg]->Emit(cell, &points);
          for (const AggPoint& p : points) {
            std::vector<ResultValue> values(plan_.aggs.size());
            values[plan_.multi_row_agg] = p.value;
            const TimestampNs t = plan_.selector_time && p.has_time ? p.time : bucket;
            BR_RETURN_IF_ERROR(AggregateRow(t, values, &p, &s));
          }
        }
      } else {
        BR_RETURN_IF_ERROR(SingleRowBuckets(m, cells, dense ? &buckets : nullptr, &s));
      }
      rows_built += s.series.values.size();
      BR_RETURN_IF_ERROR(
          rows_memory.Set(rows_built * (plan_.columns.size() + 1) * sizeof(ResultValue)));
      BR_RETURN_IF_ERROR(ctx_->CheckDeadline());
      if (s.series.values.empty()) continue;
      SetSeriesMetadata(gi, &s);
      out->push_back(std::move(s));
      // Past the row limit nothing more can be returned (rows keep this order): one row
      // over it is enough for the result to be marked partial.
      if (row_cap_ > 0 && rows_built > row_cap_) break;
    }
    result_rows_ = rows_built;
    return absl::OkStatus();
  }

  void SetSeriesMetadata(uint32_t gi, OutSeries* s) const {
    s->series.name = source_.name;
    s->series.tags = GroupTags(gi);
    s->series.columns.reserve(plan_.columns.size() + 1);
    s->series.columns.push_back("time");
    for (const SelectColumn& c : plan_.columns) s->series.columns.push_back(c.name);
  }

  // Without time buckets each group has one cell and at most one row. Ordered by a value
  // with a LIMIT, only the first groups of that order can be returned: they alone become
  // series (top-N over a million groups costs a selection, not a sort of all of them).
  absl::Status BuildOneRowPerGroup(std::vector<OutSeries>* out) {
    Shard& m = *shards_[0];
    const bool prune = series_cap_ > 0 && plan_.order_by_value;
    // Pruning needs no full sort of the groups: ties fall back to the group order.
    ComputeUnionKeys();
    std::vector<uint32_t> order;
    if (prune) {
      order.resize(m.groups.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
    } else {
      order = GroupOrder();
    }
    const size_t na = plan_.aggs.size();
    std::vector<uint32_t> cell_of(m.groups.size(), kNoIndex);
    for (size_t c = 0; c < m.cells.size(); ++c)
      cell_of[m.cells[c].group] = static_cast<uint32_t>(c);
    std::vector<ResultValue> values(na);
    std::vector<AggPoint> points;
    AggPoint sel;
    // Fills values (and sel) for group gi; false when its aggregates are all null.
    auto emit = [&](uint32_t gi) {
      const uint32_t cell = cell_of[gi];
      if (cell == kNoIndex) return false;
      bool any = false;
      for (size_t k = 0; k < na; ++k) {
        points.clear();
        m.aggs[k]->Emit(cell, &points);
        values[k] = points.empty() ? ResultValue() : std::move(points[0].value);
        any = any || !values[k].is_null();
        if (static_cast<int>(k) == plan_.selector_agg && !points.empty()) {
          sel = std::move(points[0]);
        }
      }
      return any;
    };
    auto row_time = [&] { return plan_.selector_time && sel.has_time ? sel.time : fixed_time_; };
    const AggPoint* selp = plan_.selector_agg >= 0 ? &sel : nullptr;
    std::vector<uint32_t> chosen;
    if (prune) {
      // Sort keys of every group, then the first series_cap_ by (keys, group order). A
      // key that is an aggregate's value is read directly; others are evaluated.
      std::vector<int> direct(plan_.order.size(), -1);
      bool all_direct = true;
      for (size_t k = 0; k < plan_.order.size(); ++k) {
        const SortKey& key = plan_.order[k];
        const Expr* e = key.expr;
        if (key.column >= 0) {
          const SelectColumn& c = plan_.columns[key.column];
          if (c.kind == SelectColumn::Kind::kAgg) direct[k] = c.index;
          if (c.kind == SelectColumn::Kind::kExpr) e = c.expr;
        }
        if (direct[k] < 0 && e != nullptr && e->Is<Call>()) {
          auto it = plan_.agg_of_call.find(e);
          if (it != plan_.agg_of_call.end()) direct[k] = it->second;
        }
        all_direct = all_direct && direct[k] >= 0 && !key.time;
      }
      std::vector<uint32_t> candidates;
      std::vector<std::vector<ResultValue>> keys;
      OutSeries scratch;
      for (uint32_t gi : order) {
        if (!emit(gi)) continue;
        candidates.push_back(gi);
        if (all_direct) {
          std::vector<ResultValue> kv;
          kv.reserve(direct.size());
          for (int d : direct) kv.push_back(values[d]);
          keys.push_back(std::move(kv));
        } else {
          scratch.series.values.clear();
          scratch.sort_values.clear();
          BR_RETURN_IF_ERROR(AggregateRow(row_time(), values, selp, &scratch));
          keys.push_back(std::move(scratch.sort_values[0]));
        }
        if (candidates.size() % 4096 == 0) BR_RETURN_IF_ERROR(ctx_->CheckDeadline());
      }
      std::vector<size_t> idx(candidates.size());
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      const size_t k = std::min(series_cap_, idx.size());
      auto group_less = [&](uint32_t a, uint32_t b) {
        if (union_keys_.empty()) return m.groups[a].key < m.groups[b].key;
        return GroupTags(a) < GroupTags(b);
      };
      std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                        [&](size_t a, size_t b) {
                          if (SortKeysLess(plan_, keys[a], keys[b])) return true;
                          if (SortKeysLess(plan_, keys[b], keys[a])) return false;
                          return group_less(candidates[a], candidates[b]);
                        });
      idx.resize(k);
      for (size_t i : idx) chosen.push_back(candidates[i]);
      std::sort(chosen.begin(), chosen.end(), group_less);
    } else {
      chosen = order;
    }
    MemoryCharge rows_memory(ctx_);
    size_t rows_built = 0;
    for (uint32_t gi : chosen) {
      if (!emit(gi)) continue;
      OutSeries s;
      BR_RETURN_IF_ERROR(AggregateRow(row_time(), values, selp, &s));
      SetSeriesMetadata(gi, &s);
      out->push_back(std::move(s));
      if (++rows_built % 4096 == 0) {
        BR_RETURN_IF_ERROR(
            rows_memory.Set(rows_built * (plan_.columns.size() + 8) * sizeof(ResultValue)));
        BR_RETURN_IF_ERROR(ctx_->CheckDeadline());
      }
    }
    result_rows_ = rows_built;
    return absl::OkStatus();
  }

  // Rows of one group for single-valued aggregates, with fill over `buckets` when dense.
  absl::Status SingleRowBuckets(Shard& m,
                                const std::vector<std::pair<TimestampNs, uint32_t>>& cells,
                                const std::vector<TimestampNs>* buckets, OutSeries* s) {
    const size_t na = plan_.aggs.size();
    std::vector<AggPoint> points;
    auto emit = [&](uint32_t cell, std::vector<ResultValue>* values, AggPoint* sel) {
      values->assign(na, ResultValue());
      for (size_t k = 0; k < na; ++k) {
        points.clear();
        m.aggs[k]->Emit(cell, &points);
        if (points.empty()) continue;
        (*values)[k] = points[0].value;
        if (static_cast<int>(k) == plan_.selector_agg) *sel = points[0];
      }
    };
    if (buckets == nullptr) {
      for (const auto& [bucket, cell] : cells) {
        std::vector<ResultValue> values;
        AggPoint sel;
        emit(cell, &values, &sel);
        // Without time buckets a group whose aggregates saw no value has no row (the
        // fields it asks for are absent there), as InfluxDB.
        if (!plan_.grouping.has_window &&
            std::all_of(values.begin(), values.end(),
                        [](const ResultValue& v) { return v.is_null(); })) {
          continue;
        }
        const TimestampNs t = plan_.selector_time && sel.has_time ? sel.time : bucket;
        BR_RETURN_IF_ERROR(AggregateRow(t, values, plan_.selector_agg >= 0 ? &sel : nullptr, s));
      }
      return absl::OkStatus();
    }
    // Present buckets' values, then fill the rest.
    const size_t nb = buckets->size();
    std::vector<std::vector<ResultValue>> values(nb);
    std::vector<uint8_t> present(nb, 0);
    std::vector<AggPoint> sels(nb);
    size_t ci = 0;
    for (size_t b = 0; b < nb; ++b) {
      while (ci < cells.size() && cells[ci].first < (*buckets)[b]) ++ci;
      if (ci < cells.size() && cells[ci].first == (*buckets)[b]) {
        emit(cells[ci].second, &values[b], &sels[b]);
        present[b] = 1;
      }
    }
    if (plan_.fill == FillMode::kLinear) {
      std::vector<ResultValue> none(na);
      for (size_t k = 0; k < na; ++k) {
        size_t prev = nb;
        for (size_t b = 0; b < nb; ++b) {
          if (present[b] && !values[b][k].is_null()) {
            if (prev != nb && b > prev + 1) {
              for (size_t x = prev + 1; x < b; ++x) {
                if (values[x].empty()) values[x] = none;
                values[x][k] = Interpolate(values[prev][k], values[b][k], (*buckets)[prev],
                                           (*buckets)[b], (*buckets)[x]);
              }
            }
            prev = b;
          }
        }
      }
    }
    std::vector<ResultValue> previous(na);
    for (size_t b = 0; b < nb; ++b) {
      std::vector<ResultValue>& v = values[b];
      if (!present[b]) {
        if (v.empty()) v.assign(na, ResultValue());
        for (size_t k = 0; k < na; ++k) {
          if (!v[k].is_null()) continue;
          switch (plan_.fill) {
            case FillMode::kValue:
              if (plan_.fill_value) v[k] = *plan_.fill_value;
              break;
            case FillMode::kPrevious:
              v[k] = previous[k];
              break;
            default:
              break;
          }
        }
      }
      for (size_t k = 0; k < na; ++k) {
        if (!v[k].is_null()) previous[k] = v[k];
      }
      BR_RETURN_IF_ERROR(
          AggregateRow((*buckets)[b], v, plan_.selector_agg >= 0 ? &sels[b] : nullptr, s));
    }
    return absl::OkStatus();
  }

  static ResultValue Interpolate(const ResultValue& a, const ResultValue& b, TimestampNs ta,
                                 TimestampNs tb, TimestampNs t) {
    if (a.kind() != b.kind()) return ResultValue();
    const __int128 num = static_cast<__int128>(t) - ta, den = static_cast<__int128>(tb) - ta;
    switch (a.kind()) {
      case ResultValue::Kind::kFloat:
        return ResultValue::Float(a.float_value() + (b.float_value() - a.float_value()) *
                                                        static_cast<double>(num) /
                                                        static_cast<double>(den));
      case ResultValue::Kind::kInteger: {
        const __int128 d = static_cast<__int128>(b.integer()) - a.integer();
        __int128 p;
        if (__builtin_mul_overflow(d, num, &p)) return ResultValue();
        return ResultValue::Integer(static_cast<int64_t>(a.integer() + p / den));
      }
      case ResultValue::Kind::kDecimal: {
        const __int128 d = b.decimal_units() - a.decimal_units();
        __int128 p;
        if (__builtin_mul_overflow(d, num, &p)) return ResultValue();
        return ResultValue::Decimal(a.decimal_units() + DivRoundHalfEven(p, den));
      }
      default:
        return ResultValue();
    }
  }

  struct RawEnv {
    const RawCell* cells;
    const std::vector<std::string>* strings;
    const absl::flat_hash_map<std::string, int>* field_index;
    std::span<const TagView> tags;
    ResultValue Var(const Expr& e) const {
      const VarRef& v = *e.As<VarRef>();
      if (v.type != VarType::kTag) {
        auto it = field_index->find(v.name);
        if (it != field_index->end()) return CellValue(cells[it->second], *strings);
      }
      const std::string_view* t = FindTag(tags, v.name);
      return t == nullptr ? ResultValue() : ResultValue::String(std::string(*t));
    }
    ResultValue Call(const Expr&) const { return ResultValue(); }
  };

  static ResultValue CellValue(const RawCell& c, const std::vector<std::string>& strings) {
    if (!c.valid) return ResultValue();
    switch (c.type) {
      case FieldType::kFloat: {
        double d;
        __builtin_memcpy(&d, &c.bits, sizeof d);
        return ResultValue::Float(d);
      }
      case FieldType::kInteger:
        return ResultValue::Integer(static_cast<int64_t>(c.bits));
      case FieldType::kUnsigned:
        return ResultValue::Unsigned(c.bits);
      case FieldType::kBoolean:
        return ResultValue::Boolean(c.bits != 0);
      case FieldType::kString:
        return ResultValue::String(strings[c.bits]);
      case FieldType::kMoney:
        return ResultValue::Decimal(static_cast<int64_t>(c.bits));
    }
    return ResultValue();
  }

  absl::Status BuildRaw(std::vector<OutSeries>* out) {
    Shard& m = *shards_[0];
    const std::vector<uint32_t> order = GroupOrder();
    // Columns: SELECT * expands to the fields and the tag keys (less GROUP BY keys),
    // sorted together by name, as InfluxDB lists them.
    struct Col {
      std::string name;
      const SelectColumn* column;
      std::string tag;  // a tag column
    };
    std::vector<Col> cols;
    std::vector<Col> block;
    auto flush_block = [&] {
      std::stable_sort(block.begin(), block.end(),
                       [](const Col& a, const Col& b) { return a.name < b.name; });
      cols.insert(cols.end(), block.begin(), block.end());
      block.clear();
    };
    std::set<std::string> keys(m.tag_keys.begin(), m.tag_keys.end());
    for (const SelectColumn& c : plan_.columns) {
      if (c.kind == SelectColumn::Kind::kWildcardTags) {
        for (const std::string& k : keys) {
          if (!plan_.grouping.GroupsByTag(k)) block.push_back(Col{k, nullptr, k});
        }
        continue;
      }
      const bool wildcard = c.kind == SelectColumn::Kind::kField && c.expr == nullptr && c.wildcard;
      if (wildcard) {
        block.push_back(Col{c.name, &c, {}});
        continue;
      }
      flush_block();
      cols.push_back(Col{c.name, &c, {}});
    }
    flush_block();
    std::vector<std::vector<size_t>> by_group(m.groups.size());
    for (size_t r = 0; r < m.rows.size(); ++r) by_group[m.rows[r].group].push_back(r);
    const bool desc = plan_.time_descending;
    MemoryCharge rows_memory(ctx_);
    size_t rows_built = 0;
    for (uint32_t gi : order) {
      auto& rows = by_group[gi];
      if (rows.empty()) continue;
      std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) {
        const RawRow& x = m.rows[a];
        const RawRow& y = m.rows[b];
        if (x.time != y.time) return desc ? x.time > y.time : x.time < y.time;
        return x.sid < y.sid;
      });
      OutSeries s;
      s.series.name = source_.name;
      s.series.tags = GroupTags(gi);
      s.series.columns.push_back("time");
      for (const Col& c : cols) s.series.columns.push_back(c.name);
      for (size_t r : rows) {
        const RawRow& raw = m.rows[r];
        const SeriesEntry* se = SeriesOf(raw.series_ref);
        const std::span<const TagView> tags =
            se == nullptr ? std::span<const TagView>() : se->views;
        const RawCell* cells = &m.raw_cells[raw.first_cell];
        std::vector<ResultValue> row;
        row.reserve(cols.size() + 1);
        row.push_back(ResultValue::Time(raw.time, OffsetAt(raw.time)));
        for (const Col& c : cols) {
          if (c.column == nullptr || c.column->kind == SelectColumn::Kind::kTag) {
            const std::string& key = c.column == nullptr ? c.tag : c.column->key;
            const std::string_view* v = FindTag(tags, key);
            row.push_back(v == nullptr ? ResultValue() : ResultValue::String(std::string(*v)));
          } else if (c.column->kind == SelectColumn::Kind::kField) {
            row.push_back(CellValue(cells[c.column->index], m.strings));
          } else {
            BR_ASSIGN_OR_RETURN(
                ResultValue v, Evaluate(*c.column->expr,
                                        RawEnv{cells, &m.strings, &field_index_, tags}, &regexes_));
            row.push_back(std::move(v));
          }
        }
        s.sort_values.push_back({row[0]});
        s.series.values.push_back(std::move(row));
        if (++rows_built % 4096 == 0) {
          BR_RETURN_IF_ERROR(rows_memory.Set(rows_built * (cols.size() + 1) * sizeof(ResultValue)));
          BR_RETURN_IF_ERROR(ctx_->CheckDeadline());
        }
      }
      out->push_back(std::move(s));
      if (row_cap_ > 0 && rows_built > row_cap_) break;
    }
    result_rows_ = rows_built;
    return absl::OkStatus();
  }

  QueryContext* ctx_;
  const ResolvedSource& source_;
  const SelectPlan& plan_;
  const WhereSplit& where_;
  std::vector<std::unique_ptr<Shard>> shards_;
  absl::flat_hash_map<std::string, int> field_index_;
  RegexSet regexes_;
  std::vector<std::regex> group_regexes_;
  std::vector<std::string> sorted_keys_;
  std::set<std::string> union_keys_;
  MemMatcher mem_matcher_;
  std::vector<uint8_t> output_fields_;
  bool need_tags_ = false;

  bool collect_keys_ = false;
  bool check_currency_ = false;
  bool use_rollups_ = false;
  int threads_ = 1;
  bool trimmed_ = false;
  std::string path_reason_;
  TimestampNs fixed_time_ = 0;
  size_t trim_cap_ = 0;
  size_t series_cap_ = 0;
  size_t row_cap_ = 0;
  size_t result_rows_ = 0;
  std::atomic<bool>* failed_ = nullptr;
  absl::Duration scan_time_;
};

std::string MatcherText(const TagMatcher& m) {
  switch (m.op) {
    case TagMatcher::Op::kEqual:
      return StrCat(QuoteIdent(m.key), " = ", QuoteString(m.value));
    case TagMatcher::Op::kNotEqual:
      return StrCat(QuoteIdent(m.key), " != ", QuoteString(m.value));
    case TagMatcher::Op::kRegexMatch:
      return StrCat(QuoteIdent(m.key), " =~ /", m.value, "/");
    case TagMatcher::Op::kRegexNoMatch:
      return StrCat(QuoteIdent(m.key), " !~ /", m.value, "/");
  }
  return "";
}

std::string RangesText(const std::vector<std::pair<TimestampNs, TimestampNs>>& ranges) {
  if (ranges.empty()) return "none";
  std::string out;
  const size_t shown = std::min<size_t>(ranges.size(), 8);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    out += StrCat("[", TimeText(ranges[i].first), ", ", TimeText(ranges[i].second), "]");
  }
  if (ranges.size() > shown) out += StrCat(" and ", ranges.size() - shown, " more");
  return out;
}

void SourceRun::Explain(std::vector<std::string>* lines, bool analyzed) {
  const GroupingSpec& g = plan_.grouping;
  auto add = [&](std::string s) { lines->push_back(std::move(s)); };
  if (source_.mem) {
    add(StrCat("SOURCE: subquery result, series named ", QuoteIdent(source_.name)));
  } else {
    add(StrCat("SOURCE: ", QuoteIdent(source_.database), ".autogen.",
               QuoteIdent(source_.measurement)));
  }
  add(StrCat("TIME RANGE: [", TimeText(where_.min_time), ", ", TimeText(where_.max_time), "]"));
  std::string matchers;
  for (const TagMatcher& m : where_.tag_matchers) {
    if (!matchers.empty()) matchers += " AND ";
    matchers += MatcherText(m);
  }
  add(StrCat("TAG MATCHERS (catalog, once per distinct tag value): ",
             matchers.empty() ? "none" : matchers));
  add(StrCat("SERIES CONDITION (once per series): ",
             where_.series_condition ? ToString(*where_.series_condition) : "none"));
  add(StrCat("ROW CONDITION (per row): ",
             where_.row_condition ? ToString(*where_.row_condition) : "none"));
  if (!source_.mem) {
    absl::StatusOr<std::vector<SeriesInfo>> series =
        ctx_->db()->ListSeries(source_.database, source_.measurement, where_.tag_matchers);
    if (series.ok()) {
      size_t selected = 0;
      for (const SeriesInfo& s : *series) {
        if (SeriesMatches(ViewsOf(s.tags))) ++selected;
      }
      add(StrCat("SERIES SELECTED: ", selected));
    }
    absl::StatusOr<std::vector<DatabaseInfo>> dbs = ctx_->db()->ListDatabases();
    if (dbs.ok()) {
      for (const DatabaseInfo& d : *dbs) {
        if (d.name != source_.database) continue;
        const int64_t p = d.options.partition_duration_ns;
        if (where_.min_time == kMinTime || where_.max_time == kMaxTime) {
          add(StrCat("PARTITIONS: every partition of ", FormatGoDuration(p),
                     " holding data (no bound on one side of the time range)"));
        } else if (where_.min_time <= where_.max_time) {
          const __int128 first =
              (static_cast<__int128>(where_.min_time) - (((where_.min_time % p) + p) % p)) / p;
          const __int128 last =
              (static_cast<__int128>(where_.max_time) - (((where_.max_time % p) + p) % p)) / p;
          add(StrCat("PARTITIONS: ", static_cast<int64_t>(last - first + 1), " of ",
                     FormatGoDuration(p),
                     " overlap the time range; segments outside it are pruned by their "
                     "min/max time"));
        }
      }
    }
  }
  std::string aggs;
  for (const AggSpec& a : plan_.aggs) {
    if (!aggs.empty()) aggs += ", ";
    aggs += StrCat(AggFuncName(a.func), a.func == AggFunc::kCountDistinct ? "(distinct " : "(",
                   QuoteIdent(a.field), ")");
  }
  add(StrCat("AGGREGATES: ", aggs.empty() ? "none (raw points)" : aggs));
  std::string grouping;
  for (const std::string& k : g.keys)
    grouping += StrCat(grouping.empty() ? "" : ", ", QuoteIdent(k));
  for (const std::string& r : g.regexes) grouping += StrCat(grouping.empty() ? "/" : ", /", r, "/");
  if (g.all_tags) grouping += grouping.empty() ? "*" : ", *";
  if (g.has_window) {
    grouping += StrCat(grouping.empty() ? "" : ", ", "time(", FormatDuration(g.interval_ns),
                       g.offset_ns != 0 ? StrCat(", ", FormatDuration(g.offset_ns)) : "", ")");
  }
  add(StrCat("GROUP BY: ", grouping.empty() ? "none" : grouping,
             " (series mapped to groups once per series)"));
  if (use_rollups_) {
    add(StrCat("PATH: Db::ScanRollups at ", Level() == RollupLevel::kDay ? "1d" : "1h",
               " level (stored rollups where exact, raw rows for ragged edges and overlapping "
               "files)"));
  } else {
    add(StrCat("PATH: Db::Scan of raw rows (", path_reason_, ")"));
  }
  add(StrCat("THREADS: ", threads_, " (series split in ", kShards,
             " halves by tag hash; per-half state merged in a fixed order)"));
  if (use_rollups_) {
    RollupScanReport r;
    for (const auto& sh : shards_) {
      r.rollup_buckets_read += sh->report.rollup_buckets_read;
      r.raw_rows_read += sh->report.raw_rows_read;
      r.from_rollups.insert(r.from_rollups.end(), sh->report.from_rollups.begin(),
                            sh->report.from_rollups.end());
      r.from_raw.insert(r.from_raw.end(), sh->report.from_raw.begin(), sh->report.from_raw.end());
    }
    auto normalize = [](std::vector<std::pair<TimestampNs, TimestampNs>> v) {
      std::sort(v.begin(), v.end());
      std::vector<std::pair<TimestampNs, TimestampNs>> out;
      for (const auto& x : v) {
        if (!out.empty() && (out.back().second == kMaxTime || x.first <= out.back().second + 1)) {
          out.back().second = std::max(out.back().second, x.second);
        } else {
          out.push_back(x);
        }
      }
      return out;
    };
    add(StrCat("FROM ROLLUPS: ", RangesText(normalize(r.from_rollups))));
    add(StrCat("FROM RAW ROWS: ", RangesText(normalize(r.from_raw))));
    add(StrCat("ROLLUP BUCKETS READ: ", r.rollup_buckets_read,
               ", RAW ROWS READ: ", r.raw_rows_read));
  }
  if (analyzed) {
    uint64_t batches = 0, rows = 0, series = 0;
    for (const auto& sh : shards_) {
      batches += sh->batches;
      rows += sh->rows_read;
      series += sh->series.size();
    }
    add(StrCat("EXECUTED: ", series, " series, ", batches, " batches, ", rows,
               use_rollups_ ? " buckets" : " rows", " read in ", absl::FormatDuration(scan_time_),
               "; ", shards_[0]->groups.size(), " groups, ", shards_[0]->cells.size(), " cells, ",
               result_rows_, " result rows", trimmed_ ? " (buffer trimmed)" : ""));
  }
}

// ---------------------------------------------------------------------------------------

absl::StatusOr<std::vector<ResolvedSource>> ResolveSources(QueryContext* ctx,
                                                           const SelectStatement& s) {
  std::vector<ResolvedSource> out;
  for (const Source& src : s.sources) {
    if (const auto* sub = std::get_if<Subquery>(&src)) {
      BR_ASSIGN_OR_RETURN(SelectOutput inner, ExecuteSelect(ctx, *sub->select));
      BR_ASSIGN_OR_RETURN(std::shared_ptr<const MemSource> mem,
                          Materialize(std::move(inner.series)));
      for (const auto& [name, fields] : mem->fields) {
        ResolvedSource r;
        r.mem = mem;
        r.name = name;
        out.push_back(std::move(r));
      }
      continue;
    }
    const Measurement& m = std::get<Measurement>(src);
    BR_ASSIGN_OR_RETURN(std::string db, ResolveDatabase(ctx, m.database));
    if (!m.retention_policy.empty() && m.retention_policy != "autogen") {
      return absl::NotFoundError(StrCat("retention policy not found: ", m.retention_policy));
    }
    if (m.regex) {
      std::regex re;
      try {
        re = std::regex(*m.regex, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return SemanticError(m.pos,
                             StrCat("invalid regular expression /", *m.regex, "/: ", e.what()));
      }
      BR_ASSIGN_OR_RETURN(std::vector<std::string> names, ctx->db()->ListMeasurements(db));
      for (const std::string& n : names) {
        if (std::regex_search(n, re)) out.push_back(ResolvedSource{db, n, nullptr, n});
      }
      continue;
    }
    out.push_back(ResolvedSource{db, m.name, nullptr, m.name});
  }
  return out;
}

// Orders rows (or, when every series has at most one row and the query orders by a value,
// the series), then applies OFFSET/LIMIT, SOFFSET/SLIMIT and max_rows.
SelectOutput Finalize(const SelectStatement& s, const SelectPlan& plan, std::vector<OutSeries> all,
                      size_t max_rows) {
  SelectOutput out;
  {
    std::vector<size_t> idx(all.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      if (all[a].series.name != all[b].series.name) return all[a].series.name < all[b].series.name;
      return all[a].series.tags < all[b].series.tags;
    });
    std::vector<OutSeries> sorted;
    sorted.reserve(all.size());
    for (size_t i : idx) sorted.push_back(std::move(all[i]));
    all = std::move(sorted);
  }
  auto less_keys = [&](const std::vector<ResultValue>& a, const std::vector<ResultValue>& b) {
    return SortKeysLess(plan, a, b);
  };
  bool series_mode = false;
  if (plan.order_by_value) {
    series_mode = true;
    for (const OutSeries& o : all) {
      if (o.series.values.size() > 1) series_mode = false;
    }
  }
  auto limit_rows = [&](OutSeries* o) {
    const size_t n = o->series.values.size();
    const size_t off = std::min<size_t>(n, static_cast<size_t>(s.offset));
    size_t end = n;
    if (s.limit > 0) end = std::min(n, off + static_cast<size_t>(s.limit));
    o->series.values.erase(o->series.values.begin() + end, o->series.values.end());
    o->series.values.erase(o->series.values.begin(), o->series.values.begin() + off);
  };
  if (series_mode) {
    std::vector<size_t> idx(all.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      if (all[a].sort_values.empty() || all[b].sort_values.empty()) {
        return !all[a].sort_values.empty() && all[b].sort_values.empty();
      }
      return less_keys(all[a].sort_values[0], all[b].sort_values[0]);
    });
    std::vector<OutSeries> sorted;
    sorted.reserve(all.size());
    for (size_t i : idx) sorted.push_back(std::move(all[i]));
    all = std::move(sorted);
    const size_t n = all.size();
    const size_t off = std::min<size_t>(n, static_cast<size_t>(s.offset));
    size_t end = n;
    if (s.limit > 0) end = std::min(n, off + static_cast<size_t>(s.limit));
    all.erase(all.begin() + end, all.end());
    all.erase(all.begin(), all.begin() + off);
  } else {
    for (OutSeries& o : all) {
      if (plan.order_by_value || (plan.aggregate && plan.time_descending)) {
        std::vector<size_t> idx(o.series.values.size());
        for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
        if (plan.order_by_value) {
          std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
            return less_keys(o.sort_values[a], o.sort_values[b]);
          });
        } else {
          std::reverse(idx.begin(), idx.end());
        }
        std::vector<std::vector<ResultValue>> rows;
        rows.reserve(idx.size());
        for (size_t i : idx) rows.push_back(std::move(o.series.values[i]));
        o.series.values = std::move(rows);
      }
      limit_rows(&o);
    }
  }
  // SOFFSET / SLIMIT.
  const size_t n = all.size();
  const size_t soff = std::min<size_t>(n, static_cast<size_t>(s.soffset));
  size_t send = n;
  if (s.slimit > 0) send = std::min(n, soff + static_cast<size_t>(s.slimit));
  size_t rows = 0;
  for (size_t i = soff; i < send; ++i) {
    ResultSeries& series = all[i].series;
    if (series.values.empty()) continue;
    if (max_rows > 0 && rows + series.values.size() > max_rows) {
      series.values.resize(max_rows - rows);
      series.partial = true;
      out.partial = true;
      rows = max_rows;
      if (!series.values.empty()) out.series.push_back(std::move(series));
      break;
    }
    rows += series.values.size();
    out.series.push_back(std::move(series));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> ResolveDatabase(QueryContext* ctx, const std::string& named) {
  const std::string& name = named.empty() ? ctx->options().database : named;
  if (name.empty()) return absl::InvalidArgumentError("database name required");
  BR_ASSIGN_OR_RETURN(std::vector<DatabaseInfo> dbs, ctx->db()->ListDatabases());
  for (const DatabaseInfo& d : dbs) {
    if (d.name == name) return name;
  }
  return absl::NotFoundError(StrCat("database not found: ", name));
}

absl::StatusOr<SelectOutput> ExecuteSelect(QueryContext* ctx, const SelectStatement& s,
                                           ExplainMode mode) {
  BR_ASSIGN_OR_RETURN(std::vector<ResolvedSource> sources, ResolveSources(ctx, s));
  // Subquery results are held while the statement runs.
  MemoryCharge subquery_memory(ctx);
  {
    size_t bytes = 0;
    const MemSource* last = nullptr;
    for (const ResolvedSource& src : sources) {
      if (!src.mem || src.mem.get() == last) continue;
      last = src.mem.get();
      for (const MemSeries& m : src.mem->series) bytes += sizeof(MemSeries) + m.tags.size() * 64;
      for (const auto& [name, data] : src.mem->data) {
        bytes += data.times.size() * (sizeof(TimestampNs) + 9 * data.columns.size());
      }
    }
    BR_RETURN_IF_ERROR(subquery_memory.Set(bytes));
  }
  absl::TimeZone tz = absl::UTCTimeZone();
  if (!s.tz.empty()) {
    absl::StatusOr<absl::TimeZone> z = LoadQueryTimeZone(s.tz);
    if (!z.ok()) return SemanticError(s.pos, StatusMessage(z.status()));
    tz = *z;
  }
  std::vector<OutSeries> all;
  std::vector<std::string> explain;
  std::optional<SelectPlan> last_plan;
  if (sources.empty()) {
    // Still check the statement, so that an unknown function is reported even when the
    // measurement does not exist.
    SourceSchema empty;
    BR_ASSIGN_OR_RETURN(SelectPlan plan, PlanSelect(s, empty, nullptr));
    last_plan = std::move(plan);
  }
  for (const ResolvedSource& src : sources) {
    SourceSchema schema;
    schema.name = src.name;
    if (src.mem) {
      schema.fields = src.mem->fields.at(src.name);
      std::sort(schema.fields.begin(), schema.fields.end(),
                [](const FieldInfo& a, const FieldInfo& b) { return a.name < b.name; });
    } else {
      BR_ASSIGN_OR_RETURN(schema.fields, ctx->db()->ListFields(src.database, src.measurement));
    }
    WhereContext wc;
    wc.now = ctx->now();
    wc.tz = tz;
    wc.is_tag = [&schema](std::string_view name) { return schema.Find(name) == nullptr; };
    BR_ASSIGN_OR_RETURN(WhereSplit where, SplitWhere(s.condition ? &*s.condition : nullptr, wc));
    BR_ASSIGN_OR_RETURN(
        SelectPlan plan,
        PlanSelect(s, schema, where.row_condition ? &*where.row_condition : nullptr));
    // GROUP BY time() without an upper bound ends at now(), as InfluxDB.
    if (plan.grouping.has_window && where.max_time == kMaxTime) where.max_time = ctx->now();
    SourceRun run(ctx, src, plan, where);
    BR_RETURN_IF_ERROR(run.Prepare());
    if (!plan.aggregate && !plan.order_by_value && s.limit > 0) {
      run.set_limit_cap(static_cast<size_t>(s.limit + s.offset));
    }
    if (plan.order_by_value && s.limit > 0) {
      run.set_series_cap(static_cast<size_t>(s.limit + s.offset));
    }
    if (sources.size() == 1 && !plan.order_by_value && !plan.time_descending && s.limit == 0 &&
        s.offset == 0 && s.soffset == 0) {
      run.set_row_cap(ctx->options().max_rows);
    }
    if (!where.EmptyTimeRange() && !plan.reads_nothing) {
      if (mode != ExplainMode::kExplain) {
        BR_RETURN_IF_ERROR(run.Scan());
        BR_RETURN_IF_ERROR(run.Build(&all));
      } else if (run.uses_rollups()) {
        // EXPLAIN shows where a rollup scan's answers come from, which only the scan
        // knows: it runs that scan but builds no rows.
        BR_RETURN_IF_ERROR(run.Scan());
      }
    }
    if (mode != ExplainMode::kNone) {
      if (!explain.empty()) explain.push_back("");
      run.Explain(&explain, mode == ExplainMode::kAnalyze);
    }
    last_plan = std::move(plan);
  }
  if (mode != ExplainMode::kNone) {
    SelectOutput out;
    ResultSeries plan_series;
    plan_series.columns = {"QUERY PLAN"};
    plan_series.values.push_back({ResultValue::String(ToString(s))});
    for (std::string& line : explain)
      plan_series.values.push_back({ResultValue::String(std::move(line))});
    out.series.push_back(std::move(plan_series));
    return out;
  }
  return Finalize(s, *last_plan, std::move(all), ctx->options().max_rows);
}

}  // namespace burnrate
