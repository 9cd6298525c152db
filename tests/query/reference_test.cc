// Random queries from a small grammar, checked against a brute-force reference evaluator
// that reads the points from a model of what was written (last write wins per field) and
// computes every answer with plain loops. Each query also runs with 1 and 2 threads and
// with rollups on and off: all must agree exactly, money totals included. Floats in the
// data are multiples of 1/64, so float sums are exact in any order.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "base/str_cat.h"
#include "gtest/gtest.h"
#include "query/format.h"
#include "tests/query/query_test_util.h"

namespace burnrate::testing {
namespace {

using Tags = std::vector<Tag>;

// ---------------------------------------------------------------------------------------
// The model of the data.

struct Value {
  enum Kind { kMoney, kFloat, kInt, kString };
  explicit Value(Kind k = kInt) : kind(k) {}
  Kind kind;
  int64_t i = 0;  // money units or integer
  double f = 0;
  std::string s;
};

struct ModelPoint {
  const Tags* tags;
  uint32_t sid;
  TimestampNs time;
  std::map<std::string, Value> fields;
};

const char* kFieldKinds[] = {"cost", "util", "n", "label"};

Value::Kind KindOf(const std::string& field) {
  if (field == "cost") return Value::kMoney;
  if (field == "util") return Value::kFloat;
  if (field == "n") return Value::kInt;
  return Value::kString;
}

ResultValue ToResult(const Value& v) {
  switch (v.kind) {
    case Value::kMoney:
      return ResultValue::Decimal(v.i);
    case Value::kFloat:
      return ResultValue::Float(v.f);
    case Value::kInt:
      return ResultValue::Integer(v.i);
    case Value::kString:
      return ResultValue::String(v.s);
  }
  return ResultValue();
}

// ---------------------------------------------------------------------------------------
// Random queries.

struct AggItem {
  std::string func;
  std::string field;
  int pct = 0;
  int n = 0;
  std::string top_tag;
  std::string arith;  // "", "* 60", "+ 1"
};

struct RandomQuery {
  bool raw = false;
  std::vector<std::string> raw_fields;
  bool raw_tag = false;
  std::vector<AggItem> aggs;
  std::optional<TimestampNs> tmin, tmax;
  std::string filter;  // "", "eq", "neq", "re", "or", "row"
  std::vector<std::string> group_tags;
  bool group_all = false;
  int64_t interval = 0;
  int64_t offset = 0;
  std::string fill;
  bool desc = false;
  int limit = 0, offset_n = 0, slimit = 0;
  bool order_value = false;  // ORDER BY c0 DESC (extension)
};

std::string Text(const RandomQuery& q) {
  std::vector<std::string> fields;
  if (q.raw) {
    for (const std::string& f : q.raw_fields) fields.push_back(f);
    if (q.raw_tag) fields.push_back("run_id");
  } else {
    for (size_t i = 0; i < q.aggs.size(); ++i) {
      const AggItem& a = q.aggs[i];
      std::string call;
      if (a.func == "percentile") {
        call = StrCat("percentile(", a.field, ", ", a.pct, ")");
      } else if (a.func == "top" || a.func == "bottom") {
        call =
            StrCat(a.func, "(", a.field, a.top_tag.empty() ? "" : ", " + a.top_tag, ", ", a.n, ")");
      } else {
        call = StrCat(a.func, "(", a.field, ")");
      }
      if (!a.arith.empty()) call += " " + a.arith;
      fields.push_back(StrCat(call, " AS c", i));
    }
  }
  std::string s = "SELECT " + absl::StrJoin(fields, ", ") + " FROM cost";
  std::vector<std::string> where;
  if (q.tmin) where.push_back("time >= " + StrCat(*q.tmin));
  if (q.tmax) where.push_back("time <= " + StrCat(*q.tmax));
  if (q.filter == "eq") where.push_back("cloud = 'aws'");
  if (q.filter == "neq") where.push_back("cloud != 'gcp'");
  if (q.filter == "re") where.push_back("run_id =~ /r[1-3]/");
  if (q.filter == "or") where.push_back("(cloud = 'gcp' OR run_id = 'r4')");
  if (q.filter == "row") where.push_back("(cost > 0.5 OR util >= 1)");
  if (!where.empty()) s += " WHERE " + absl::StrJoin(where, " AND ");
  std::vector<std::string> dims;
  if (q.group_all) dims.push_back("*");
  for (const std::string& t : q.group_tags) dims.push_back(t);
  if (q.interval > 0) {
    dims.push_back(q.offset == 0
                       ? StrCat("time(", q.interval / kMinute, "m)")
                       : StrCat("time(", q.interval / kMinute, "m, ", q.offset / kMinute, "m)"));
  }
  if (!dims.empty()) s += " GROUP BY " + absl::StrJoin(dims, ", ");
  if (!q.fill.empty()) s += " fill(" + q.fill + ")";
  if (q.order_value) {
    s += " ORDER BY c0 DESC";
  } else if (q.desc) {
    s += " ORDER BY time DESC";
  }
  if (q.limit > 0) s += StrCat(" LIMIT ", q.limit);
  if (q.offset_n > 0) s += StrCat(" OFFSET ", q.offset_n);
  if (q.slimit > 0) s += StrCat(" SLIMIT ", q.slimit);
  return s;
}

bool IsSelectorFunc(const std::string& f) {
  return f == "min" || f == "max" || f == "first" || f == "last" || f == "percentile" ||
         f == "top" || f == "bottom";
}

RandomQuery Generate(std::mt19937_64& rng, TimestampNs t0) {
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  RandomQuery q;
  q.raw = pick(5) == 0;
  if (q.raw) {
    const int nf = 1 + pick(2);
    std::vector<std::string> all = {"cost", "util", "n", "label"};
    std::shuffle(all.begin(), all.end(), rng);
    q.raw_fields.assign(all.begin(), all.begin() + nf);
    q.raw_tag = pick(2) == 0;
  } else if (pick(8) == 0) {
    AggItem a;
    a.func = pick(2) == 0 ? "top" : "bottom";
    a.field = pick(2) == 0 ? "cost" : "n";
    a.n = 1 + pick(4);
    if (pick(2) == 0) a.top_tag = "run_id";
    q.aggs.push_back(a);
  } else {
    const int na = 1 + pick(3);
    static const char* kFuncs[] = {"count", "sum",    "mean",   "min",        "max",   "first",
                                   "last",  "spread", "median", "percentile", "stddev"};
    for (int i = 0; i < na; ++i) {
      AggItem a;
      a.func = kFuncs[pick(11)];
      const bool any_type = a.func == "count" || a.func == "first" || a.func == "last";
      a.field = kFieldKinds[pick(any_type ? 4 : 3)];
      if (a.func == "percentile") a.pct = 1 + pick(100);
      const int ar = pick(6);
      if (ar == 0 && KindOf(a.field) != Value::kString) a.arith = "* 60";
      if (ar == 1 && KindOf(a.field) != Value::kString) a.arith = "+ 1";
      q.aggs.push_back(a);
    }
  }
  const int range = pick(4);
  if (range >= 1) q.tmin = t0 + pick(3 * 24 * 60) * kMinute + (pick(2) ? pick(59) * kSecond : 0);
  if (range >= 2) q.tmax = *q.tmin + (1 + pick(2 * 24 * 60)) * kMinute + (pick(2) ? 1 : 0);
  if (range == 3 && pick(2)) q.tmin.reset();
  static const char* kFilters[] = {"", "", "eq", "neq", "re", "or", "row"};
  q.filter = kFilters[pick(7)];
  if (!q.raw) {
    const int g = pick(6);
    if (g == 1) q.group_tags = {"cloud"};
    if (g == 2) q.group_tags = {"run_id"};
    if (g == 3) q.group_tags = {"cloud", "step"};
    if (g == 4) q.group_all = true;
    const bool multi_row = q.aggs[0].func == "top" || q.aggs[0].func == "bottom";
    if (pick(2) == 0) {
      static const int64_t kIntervals[] = {30 * kMinute, kHour, 2 * kHour, kDay, 90 * kMinute};
      q.interval = kIntervals[pick(5)];
      if (pick(4) == 0) q.offset = (pick(2) ? 1 : -1) * 60 * kMinute;
      // Keep the fill range bounded: a lower bound near the data.
      if (!q.tmin) q.tmin = t0 + pick(24 * 60) * kMinute;
      if (!q.tmax) q.tmax = *q.tmin + (1 + pick(24 * 60)) * kMinute;
      if (!multi_row) {
        static const char* kFills[] = {"", "none", "0", "previous", "linear", "null"};
        q.fill = kFills[pick(6)];
      }
    }
    if (!multi_row && pick(5) == 0 && q.interval == 0) q.order_value = true;
  }
  if (!q.order_value && pick(4) == 0) q.desc = true;
  if (pick(4) == 0) q.limit = 1 + pick(5);
  if (pick(6) == 0) q.offset_n = pick(3);
  if (pick(6) == 0) q.slimit = 1 + pick(3);
  return q;
}

// ---------------------------------------------------------------------------------------
// The reference evaluator.

std::string TagOr(const Tags& tags, const std::string& key) {
  for (const Tag& t : tags) {
    if (t.key == key) return t.value;
  }
  return "";
}

bool SeriesPasses(const RandomQuery& q, const Tags& tags) {
  const std::string cloud = TagOr(tags, "cloud"), run = TagOr(tags, "run_id");
  if (q.filter == "eq") return cloud == "aws";
  if (q.filter == "neq") return cloud != "gcp";
  if (q.filter == "re") return run.find_first_of("123") != std::string::npos && run.size() == 2;
  if (q.filter == "or") return cloud == "gcp" || run == "r4";
  return true;
}

bool RowPasses(const RandomQuery& q, const ModelPoint& p) {
  if (q.filter != "row") return true;
  auto c = p.fields.find("cost");
  auto u = p.fields.find("util");
  const bool a = c != p.fields.end() && c->second.i > Money::kUnitsPerWhole / 2;
  const bool b = u != p.fields.end() && u->second.f >= 1;
  return a || b;
}

struct RefPoint {
  Value v;
  TimestampNs time;
  uint32_t sid;
  std::string tag;  // top's tag argument value
};

__int128 DivHalfEven(__int128 num, __int128 den) {
  __int128 q = num / den, r = num % den;
  if (r != 0) {
    const __int128 twice = (r < 0 ? -r : r) * 2;
    if (twice > den || (twice == den && q % 2 != 0)) q += num < 0 ? -1 : 1;
  }
  return q;
}

double AsDouble(const Value& v) {
  switch (v.kind) {
    case Value::kMoney:
      return static_cast<double>(v.i) / 1e10;
    case Value::kInt:
      return static_cast<double>(v.i);
    default:
      return v.f;
  }
}

bool Less(const Value& a, const Value& b) {
  switch (a.kind) {
    case Value::kFloat:
      return a.f < b.f;
    case Value::kString:
      return a.s < b.s;
    default:
      return a.i < b.i;
  }
}
bool Equal(const Value& a, const Value& b) { return !Less(a, b) && !Less(b, a); }

// One aggregate over the points of a cell: its value and, for selectors, the point.
struct AggOut {
  ResultValue value;
  std::optional<RefPoint> point;
};

AggOut Aggregate(const AggItem& a, std::vector<RefPoint> pts) {
  AggOut out;
  if (pts.empty()) return out;
  const Value::Kind kind = pts[0].v.kind;
  const size_t n = pts.size();
  if (a.func == "count") {
    out.value = ResultValue::Integer(static_cast<int64_t>(n));
  } else if (a.func == "sum" || a.func == "mean") {
    if (kind == Value::kFloat) {
      double s = 0;
      for (const RefPoint& p : pts) s += p.v.f;
      out.value = ResultValue::Float(a.func == "sum" ? s : s / static_cast<double>(n));
    } else {
      __int128 s = 0;
      for (const RefPoint& p : pts) s += p.v.i;
      if (a.func == "sum") {
        out.value = kind == Value::kMoney ? ResultValue::Decimal(s)
                                          : ResultValue::Integer(static_cast<int64_t>(s));
      } else {
        out.value = kind == Value::kMoney
                        ? ResultValue::Decimal(DivHalfEven(s, static_cast<__int128>(n)))
                        : ResultValue::Float(static_cast<double>(s) / static_cast<double>(n));
      }
    }
  } else if (a.func == "min" || a.func == "max") {
    const bool mx = a.func == "max";
    const RefPoint* best = nullptr;
    for (const RefPoint& p : pts) {
      if (best == nullptr) {
        best = &p;
        continue;
      }
      const bool better = mx ? Less(best->v, p.v) : Less(p.v, best->v);
      const bool tie = Equal(p.v, best->v) &&
                       (p.time < best->time || (p.time == best->time && p.sid < best->sid));
      if (better || tie) best = &p;
    }
    out.value = ToResult(best->v);
    out.point = *best;
  } else if (a.func == "first" || a.func == "last") {
    const bool last = a.func == "last";
    const RefPoint* best = nullptr;
    for (const RefPoint& p : pts) {
      if (best == nullptr) {
        best = &p;
        continue;
      }
      bool take;
      if (p.time != best->time) {
        take = last ? p.time > best->time : p.time < best->time;
      } else if (!Equal(p.v, best->v)) {
        take = Less(best->v, p.v);
      } else {
        take = p.sid < best->sid;
      }
      if (take) best = &p;
    }
    out.value = ToResult(best->v);
    out.point = *best;
  } else if (a.func == "spread") {
    Value lo = pts[0].v, hi = pts[0].v;
    for (const RefPoint& p : pts) {
      if (Less(p.v, lo)) lo = p.v;
      if (Less(hi, p.v)) hi = p.v;
    }
    if (kind == Value::kFloat) {
      out.value = ResultValue::Float(hi.f - lo.f);
    } else {
      out.value = kind == Value::kMoney ? ResultValue::Decimal(static_cast<__int128>(hi.i) - lo.i)
                                        : ResultValue::Integer(hi.i - lo.i);
    }
  } else if (a.func == "median") {
    std::sort(pts.begin(), pts.end(),
              [](const RefPoint& x, const RefPoint& y) { return Less(x.v, y.v); });
    if (n % 2 == 1) {
      const Value& m = pts[n / 2].v;
      out.value = kind == Value::kInt ? ResultValue::Float(static_cast<double>(m.i)) : ToResult(m);
    } else {
      const Value& lo = pts[n / 2 - 1].v;
      const Value& hi = pts[n / 2].v;
      if (kind == Value::kMoney) {
        out.value = ResultValue::Decimal(DivHalfEven(static_cast<__int128>(lo.i) + hi.i, 2));
      } else if (kind == Value::kFloat) {
        out.value = ResultValue::Float(lo.f + (hi.f - lo.f) / 2);
      } else {
        out.value =
            ResultValue::Float(static_cast<double>(lo.i) + static_cast<double>(hi.i - lo.i) / 2);
      }
    }
  } else if (a.func == "percentile") {
    std::sort(pts.begin(), pts.end(), [](const RefPoint& x, const RefPoint& y) {
      if (!Equal(x.v, y.v)) return Less(x.v, y.v);
      return x.time != y.time ? x.time < y.time : x.sid < y.sid;
    });
    const int64_t i =
        static_cast<int64_t>(std::floor(static_cast<double>(n) * a.pct / 100.0 + 0.5)) - 1;
    if (i >= 0 && i < static_cast<int64_t>(n)) {
      out.value = ToResult(pts[i].v);
      out.point = pts[i];
    }
  } else if (a.func == "stddev") {
    if (n >= 2) {
      std::vector<double> v;
      for (const RefPoint& p : pts) v.push_back(AsDouble(p.v));
      std::sort(pts.begin(), pts.end(),
                [](const RefPoint& x, const RefPoint& y) { return Less(x.v, y.v); });
      v.clear();
      for (const RefPoint& p : pts) v.push_back(AsDouble(p.v));
      double mean = 0;
      int64_t count = 0;
      for (double x : v) {
        ++count;
        mean += (x - mean) / static_cast<double>(count);
      }
      double var = 0;
      for (double x : v) var += (x - mean) * (x - mean);
      out.value = ResultValue::Float(std::sqrt(var / static_cast<double>(count - 1)));
    }
  }
  return out;
}

ResultValue ApplyArith(const std::string& arith, const ResultValue& v) {
  if (arith.empty() || v.is_null()) return v;
  const int64_t k = arith == "* 60" ? 60 : 1;
  const bool mul = arith == "* 60";
  switch (v.kind()) {
    case ResultValue::Kind::kDecimal:
      return ResultValue::Decimal(mul ? v.decimal_units() * k
                                      : v.decimal_units() + k * Money::kUnitsPerWhole);
    case ResultValue::Kind::kInteger:
      return ResultValue::Integer(mul ? v.integer() * k : v.integer() + k);
    case ResultValue::Kind::kFloat:
      return ResultValue::Float(mul ? v.float_value() * 60 : v.float_value() + 1);
    default:
      return v;
  }
}

// Window start of t (UTC).
TimestampNs WindowStart(TimestampNs t, int64_t interval, int64_t offset) {
  int64_t m = (t - offset) % interval;
  if (m < 0) m += interval;
  return t - m;
}

struct RefRow {
  std::vector<ResultValue> values;
  ResultValue sort;
};

QueryResult Reference(const RandomQuery& q, const std::vector<ModelPoint>& points, TimestampNs now,
                      size_t max_rows) {
  const TimestampNs lo = q.tmin.value_or(std::numeric_limits<TimestampNs>::min());
  TimestampNs hi = q.tmax.value_or(std::numeric_limits<TimestampNs>::max());
  if (q.interval > 0 && !q.tmax) hi = now;
  // Points that pass, by group.
  std::vector<const ModelPoint*> sel;
  for (const ModelPoint& p : points) {
    if (p.time < lo || p.time > hi || !SeriesPasses(q, *p.tags) || !RowPasses(q, p)) continue;
    sel.push_back(&p);
  }
  std::set<std::string> union_keys;
  if (q.group_all) {
    for (const ModelPoint* p : sel) {
      bool any = false;
      for (const auto& [k, v] : p->fields) {
        (void)v;
        for (const AggItem& a : q.aggs) any = any || a.field == k;
      }
      (void)any;
      for (const Tag& t : *p->tags) union_keys.insert(t.key);
    }
  }
  auto group_of = [&](const Tags& tags) {
    Tags g;
    if (q.group_all) {
      for (const std::string& k : union_keys) g.push_back(Tag{k, TagOr(tags, k)});
    } else {
      for (const std::string& k : q.group_tags) g.push_back(Tag{k, TagOr(tags, k)});
    }
    std::sort(g.begin(), g.end());
    return g;
  };
  std::map<Tags, std::vector<const ModelPoint*>> groups;
  for (const ModelPoint* p : sel) groups[group_of(*p->tags)].push_back(p);

  QueryResult result;
  StatementResult sr;
  std::vector<ResultSeries> series;
  std::vector<std::vector<RefRow>> rows_of;
  const bool multi_row = !q.raw && (q.aggs[0].func == "top" || q.aggs[0].func == "bottom");
  const bool selector_time = !q.raw && !multi_row && q.aggs.size() == 1 &&
                             IsSelectorFunc(q.aggs[0].func) && q.interval == 0;

  if (q.raw) {
    for (auto& [gtags, pts] : groups) {
      std::vector<const ModelPoint*> kept;
      for (const ModelPoint* p : pts) {
        bool any = false;
        for (const std::string& f : q.raw_fields) any = any || p->fields.count(f) > 0;
        if (any) kept.push_back(p);
      }
      if (kept.empty()) continue;
      std::sort(kept.begin(), kept.end(), [&](const ModelPoint* a, const ModelPoint* b) {
        if (a->time != b->time) return q.desc ? a->time > b->time : a->time < b->time;
        return a->sid < b->sid;
      });
      ResultSeries s;
      s.name = "cost";
      s.tags = gtags;
      s.columns.push_back("time");
      for (const std::string& f : q.raw_fields) s.columns.push_back(f);
      if (q.raw_tag) s.columns.push_back("run_id");
      std::vector<RefRow> rows;
      for (const ModelPoint* p : kept) {
        RefRow r;
        r.values.push_back(ResultValue::Time(p->time));
        for (const std::string& f : q.raw_fields) {
          auto it = p->fields.find(f);
          r.values.push_back(it == p->fields.end() ? ResultValue() : ToResult(it->second));
        }
        if (q.raw_tag) {
          const std::string v = TagOr(*p->tags, "run_id");
          r.values.push_back(v.empty() ? ResultValue() : ResultValue::String(v));
        }
        rows.push_back(std::move(r));
      }
      series.push_back(s);
      rows_of.push_back(std::move(rows));
    }
  } else {
    // Buckets.
    TimestampNs first_bucket = std::numeric_limits<TimestampNs>::max();
    for (const ModelPoint* p : sel) {
      if (q.interval > 0)
        first_bucket = std::min(first_bucket, WindowStart(p->time, q.interval, q.offset));
    }
    for (auto& [gtags, pts] : groups) {
      std::map<TimestampNs, std::vector<const ModelPoint*>> cells;
      const TimestampNs fixed = q.tmin ? *q.tmin : 0;
      for (const ModelPoint* p : pts) {
        cells[q.interval > 0 ? WindowStart(p->time, q.interval, q.offset) : fixed].push_back(p);
      }
      ResultSeries s;
      s.name = "cost";
      s.tags = gtags;
      s.columns.push_back("time");
      std::vector<RefRow> rows;
      if (multi_row) {
        const AggItem& a = q.aggs[0];
        s.columns.push_back("c0");
        if (!a.top_tag.empty()) s.columns.push_back(a.top_tag);
        for (auto& [bucket, cpts] : cells) {
          std::vector<RefPoint> cand;
          std::map<std::string, RefPoint> best_by_tag;
          auto before = [&](const RefPoint& x, const RefPoint& y) {
            if (!Equal(x.v, y.v)) return a.func == "top" ? Less(y.v, x.v) : Less(x.v, y.v);
            return x.time != y.time ? x.time < y.time : x.sid < y.sid;
          };
          for (const ModelPoint* p : cpts) {
            auto it = p->fields.find(a.field);
            if (it == p->fields.end()) continue;
            RefPoint rp{it->second, p->time, p->sid, TagOr(*p->tags, a.top_tag)};
            if (a.top_tag.empty()) {
              cand.push_back(rp);
            } else {
              auto [bt, inserted] = best_by_tag.try_emplace(rp.tag, rp);
              if (!inserted && before(rp, bt->second)) bt->second = rp;
            }
          }
          for (auto& [t, rp] : best_by_tag) cand.push_back(rp);
          std::sort(cand.begin(), cand.end(), before);
          if (cand.size() > static_cast<size_t>(a.n)) cand.resize(a.n);
          std::sort(cand.begin(), cand.end(), [&](const RefPoint& x, const RefPoint& y) {
            if (x.time != y.time) return x.time < y.time;
            return before(x, y);
          });
          for (const RefPoint& rp : cand) {
            RefRow r;
            r.values.push_back(ResultValue::Time(rp.time));
            r.values.push_back(ToResult(rp.v));
            if (!a.top_tag.empty()) r.values.push_back(ResultValue::String(rp.tag));
            rows.push_back(std::move(r));
          }
        }
      } else {
        for (size_t i = 0; i < q.aggs.size(); ++i) s.columns.push_back(StrCat("c", i));
        std::vector<TimestampNs> buckets;
        const bool dense = q.interval > 0 && q.fill != "none";
        if (dense) {
          TimestampNs t = q.tmin ? WindowStart(*q.tmin, q.interval, q.offset) : first_bucket;
          const TimestampNs last = WindowStart(hi, q.interval, q.offset);
          for (; t <= last; t += q.interval) buckets.push_back(t);
        } else {
          for (auto& [b, c] : cells) buckets.push_back(b);
        }
        // Aggregate values per bucket (null where empty), then fill.
        std::vector<std::vector<ResultValue>> vals;
        std::vector<std::optional<RefPoint>> sel_points;
        std::vector<bool> present;
        for (TimestampNs b : buckets) {
          auto it = cells.find(b);
          std::vector<ResultValue> v(q.aggs.size());
          std::optional<RefPoint> sp;
          if (it != cells.end()) {
            for (size_t k = 0; k < q.aggs.size(); ++k) {
              std::vector<RefPoint> pts_k;
              for (const ModelPoint* p : it->second) {
                auto f = p->fields.find(q.aggs[k].field);
                if (f != p->fields.end()) pts_k.push_back(RefPoint{f->second, p->time, p->sid, ""});
              }
              AggOut o = Aggregate(q.aggs[k], pts_k);
              v[k] = o.value;
              if (k == 0) sp = o.point;
            }
          }
          vals.push_back(v);
          sel_points.push_back(sp);
          present.push_back(it != cells.end());
        }
        if (q.fill == "linear") {
          for (size_t k = 0; k < q.aggs.size(); ++k) {
            size_t prev = buckets.size();
            for (size_t b = 0; b < buckets.size(); ++b) {
              if (!present[b] || vals[b][k].is_null()) continue;
              if (prev != buckets.size() && b > prev + 1) {
                for (size_t x = prev + 1; x < b; ++x) {
                  const ResultValue& va = vals[prev][k];
                  const ResultValue& vb = vals[b][k];
                  const __int128 num = buckets[x] - buckets[prev], den = buckets[b] - buckets[prev];
                  if (va.kind() == ResultValue::Kind::kFloat) {
                    vals[x][k] = ResultValue::Float(
                        va.float_value() + (vb.float_value() - va.float_value()) *
                                               static_cast<double>(num) / static_cast<double>(den));
                  } else if (va.kind() == ResultValue::Kind::kInteger) {
                    vals[x][k] = ResultValue::Integer(static_cast<int64_t>(
                        va.integer() +
                        (static_cast<__int128>(vb.integer()) - va.integer()) * num / den));
                  } else if (va.kind() == ResultValue::Kind::kDecimal) {
                    vals[x][k] = ResultValue::Decimal(
                        va.decimal_units() +
                        DivHalfEven((vb.decimal_units() - va.decimal_units()) * num, den));
                  }
                }
              }
              prev = b;
            }
          }
        }
        std::vector<ResultValue> previous(q.aggs.size());
        for (size_t b = 0; b < buckets.size(); ++b) {
          std::vector<ResultValue>& v = vals[b];
          if (!present[b]) {
            for (size_t k = 0; k < v.size(); ++k) {
              if (!v[k].is_null()) continue;
              if (q.fill == "0") v[k] = ResultValue::Integer(0);
              if (q.fill == "previous") v[k] = previous[k];
            }
          }
          for (size_t k = 0; k < v.size(); ++k) {
            if (!v[k].is_null()) previous[k] = v[k];
          }
          if (q.interval == 0 &&
              std::all_of(v.begin(), v.end(), [](const ResultValue& x) { return x.is_null(); })) {
            continue;
          }
          RefRow r;
          const TimestampNs t = selector_time && sel_points[b] ? sel_points[b]->time : buckets[b];
          r.values.push_back(ResultValue::Time(t));
          for (size_t k = 0; k < v.size(); ++k)
            r.values.push_back(ApplyArith(q.aggs[k].arith, v[k]));
          r.sort = r.values[1];
          rows.push_back(std::move(r));
        }
      }
      if (rows.empty()) continue;
      series.push_back(s);
      rows_of.push_back(std::move(rows));
    }
  }
  // Ordering and limits.
  std::vector<size_t> order(series.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  bool series_mode = q.order_value;
  for (const auto& rows : rows_of) series_mode = series_mode && rows.size() <= 1;
  // Descending, nulls last.
  auto value_less = [](const ResultValue& a, const ResultValue& b) {
    if (a.is_null() != b.is_null()) return b.is_null();
    if (a.is_null()) return false;
    if (a.kind() == ResultValue::Kind::kString) return a.string() > b.string();
    return a.ToDouble() > b.ToDouble();
  };
  if (series_mode) {
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const ResultValue& x = rows_of[a][0].sort;
      const ResultValue& y = rows_of[b][0].sort;
      if (x.kind() == ResultValue::Kind::kDecimal && y.kind() == ResultValue::Kind::kDecimal) {
        return x.decimal_units() > y.decimal_units();
      }
      return value_less(x, y);
    });
    const size_t off = std::min<size_t>(order.size(), q.offset_n);
    order.erase(order.begin(), order.begin() + off);
    if (q.limit > 0 && order.size() > static_cast<size_t>(q.limit)) order.resize(q.limit);
  } else {
    for (size_t i = 0; i < series.size(); ++i) {
      auto& rows = rows_of[i];
      if (q.order_value) {
        std::stable_sort(rows.begin(), rows.end(), [&](const RefRow& a, const RefRow& b) {
          if (a.sort.kind() == ResultValue::Kind::kDecimal &&
              b.sort.kind() == ResultValue::Kind::kDecimal) {
            return a.sort.decimal_units() > b.sort.decimal_units();
          }
          return value_less(a.sort, b.sort);
        });
      } else if (q.desc && !q.raw) {
        std::reverse(rows.begin(), rows.end());
      }
      const size_t off = std::min<size_t>(rows.size(), q.offset_n);
      rows.erase(rows.begin(), rows.begin() + off);
      if (q.limit > 0 && rows.size() > static_cast<size_t>(q.limit)) rows.resize(q.limit);
    }
  }
  if (q.slimit > 0 && order.size() > static_cast<size_t>(q.slimit)) order.resize(q.slimit);
  size_t total = 0;
  for (size_t i : order) {
    ResultSeries s = series[i];
    for (RefRow& r : rows_of[i]) s.values.push_back(std::move(r.values));
    if (s.values.empty()) continue;
    if (max_rows > 0 && total + s.values.size() > max_rows) {
      s.values.resize(max_rows - total);
      s.partial = true;
      sr.partial = true;
      if (!s.values.empty()) sr.series.push_back(std::move(s));
      break;
    }
    total += s.values.size();
    sr.series.push_back(std::move(s));
  }
  result.results.push_back(std::move(sr));
  return result;
}

// ---------------------------------------------------------------------------------------

class ReferenceTest : public QueryTest {
 protected:
  // Random data: 3 days, series over clouds, runs and steps (some without a step tag),
  // fields sometimes missing, rewrites of some points; written in three parts with
  // flushes and a compaction between, so that segments with rollups, overlapping files
  // and the memtable all hold data.
  // With compact_everything the last part is flushed and compacted too, so that rollups
  // answer most buckets.
  void WriteData(uint64_t seed, bool compact_everything = false) {
    std::mt19937_64 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    static const char* kClouds[] = {"aws", "gcp", "azure"};
    for (int s = 0; s < 24; ++s) {
      Tags t = {{"cloud", kClouds[pick(3)]},
                {"run_id", StrCat("r", pick(6))},
                {"resource", StrCat("i-", s)}};
      if (pick(3) != 0) t.push_back(Tag{"step", StrCat("s", pick(3))});
      std::sort(t.begin(), t.end());
      series_tags_.push_back(t);
    }
    std::map<std::pair<int, TimestampNs>, std::map<std::string, Value>> model;
    for (int part = 0; part < 3; ++part) {
      WriteBatch b("db");
      const int points = 1500;
      for (int k = 0; k < points; ++k) {
        const int s = pick(static_cast<int>(series_tags_.size()));
        const TimestampNs t =
            kT0 + pick(3 * 24 * 60) * kMinute + (pick(4) == 0 ? pick(60) * kSecond : 0);
        auto ref = b.AddSeries("cost", series_tags_[s]);
        b.AddPoint(ref, t);
        auto& m = model[{s, t}];
        if (pick(10) != 0) {
          Value v(Value::kMoney);
          v.i = static_cast<int64_t>(rng() % 30'000'000'000ULL) - 2'000'000'000;
          b.AddMoney("cost", Money::FromUnits(v.i));
          m["cost"] = v;
        }
        if (pick(5) != 0) {
          Value v(Value::kFloat);
          v.f = static_cast<double>(pick(200)) / 64.0;
          b.AddFloat("util", v.f);
          m["util"] = v;
        }
        if (pick(3) != 0) {
          Value v(Value::kInt);
          v.i = pick(1000) - 200;
          b.AddInteger("n", v.i);
          m["n"] = v;
        }
        if (pick(2) == 0) {
          Value v(Value::kString);
          v.s = std::string(1, static_cast<char>('a' + pick(3)));
          b.AddString("label", v.s);
          m["label"] = v;
        }
        if (b.fields().empty() || b.points().back().field_begin == b.points().back().field_end) {
          Value v(Value::kInt);
          v.i = 7;
          b.AddInteger("n", v.i);
          m["n"] = v;
        }
      }
      Write(b);
      if (part < 2 || compact_everything) {
        ASSERT_OK(db_->Flush());
      }
      if (part == 1 || compact_everything) {
        ASSERT_OK(db_->CompactAll());
      }
    }
    // Series ids as the engine numbered them.
    auto listed = db_->ListSeries("db", "cost", {});
    ASSERT_OK(listed);
    std::map<Tags, uint32_t> sid;
    for (const SeriesInfo& si : *listed) sid[si.tags] = si.id;
    for (const auto& [key, fields] : model) {
      ModelPoint p;
      p.tags = &series_tags_[key.first];
      p.sid = sid.at(series_tags_[key.first]);
      p.time = key.second;
      p.fields = fields;
      points_.push_back(std::move(p));
    }
  }

  std::string ResultJson(const QueryResult& r) {
    std::string s = QueryResultToJson(r);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  void CheckRandomQueries(uint64_t seed, int count) {
    std::mt19937_64 rng(seed * 7919 + 1);
    for (int i = 0; i < count; ++i) {
      const RandomQuery q = Generate(rng, kT0);
      const std::string text = Text(q);
      const QueryResult expected = Reference(q, points_, *Opts().now, Opts().max_rows);
      const std::string want = ResultJson(expected);
      for (int threads : {1, 2}) {
        for (bool rollups : {true, false}) {
          QueryOptions o = Opts();
          o.threads = threads;
          o.use_rollups = rollups;
          absl::StatusOr<QueryResult> got = Run(text, o);
          ASSERT_OK(got) << text;
          ASSERT_OK(got->status()) << "seed " << seed << " query " << i << ": " << text;
          ASSERT_EQ(ResultJson(*got), want) << "seed " << seed << " query " << i << " threads "
                                            << threads << " rollups " << rollups << ":\n  " << text;
        }
      }
    }
  }

  std::vector<Tags> series_tags_;
  std::vector<ModelPoint> points_;
};

TEST_F(ReferenceTest, RandomQueriesMatchTheReferenceSeed1) {
  WriteData(1);
  CheckRandomQueries(1, 150);
}

TEST_F(ReferenceTest, RandomQueriesMatchTheReferenceSeed2) {
  WriteData(2);
  CheckRandomQueries(2, 150);
}

TEST_F(ReferenceTest, RandomQueriesMatchTheReferenceSeed3) {
  WriteData(3);
  CheckRandomQueries(3, 150);
}

TEST_F(ReferenceTest, RandomQueriesMatchTheReferenceSeed4) {
  WriteData(4);
  CheckRandomQueries(4, 300);
}

TEST_F(ReferenceTest, RandomQueriesOverCompactedDataMatchTheReference) {
  WriteData(5, /*compact_everything=*/true);
  CheckRandomQueries(5, 300);
}

}  // namespace
}  // namespace burnrate::testing
