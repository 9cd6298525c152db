#include "query/aggregates.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "base/money_sum.h"
#include "query/value_ops.h"

namespace burnrate {
namespace {

// ---------------------------------------------------------------------------------------
// Column access by value type: double (kFloat), int64_t (kInteger, kMoney, kBoolean),
// uint64_t (kUnsigned), std::string (kString).

template <typename V>
struct Col;
template <>
struct Col<double> {
  static double Get(const ScanColumn& c, size_t i) { return c.floats[i]; }
};
template <>
struct Col<int64_t> {
  static int64_t Get(const ScanColumn& c, size_t i) { return c.ints[i]; }
};
template <>
struct Col<uint64_t> {
  static uint64_t Get(const ScanColumn& c, size_t i) { return static_cast<uint64_t>(c.ints[i]); }
};
template <>
struct Col<std::string> {
  static const std::string& Get(const ScanColumn& c, size_t i) { return c.strings[i]; }
};

template <typename V>
ResultValue ToResult(const V& v, FieldType type) {
  if constexpr (std::is_same_v<V, double>) {
    return ResultValue::Float(v);
  } else if constexpr (std::is_same_v<V, uint64_t>) {
    return ResultValue::Unsigned(v);
  } else if constexpr (std::is_same_v<V, std::string>) {
    return ResultValue::String(v);
  } else {
    switch (type) {
      case FieldType::kMoney:
        return ResultValue::Decimal(v);
      case FieldType::kBoolean:
        return ResultValue::Boolean(v != 0);
      default:
        return ResultValue::Integer(v);
    }
  }
}

// A 128-bit exact total as a result: money as a decimal, integers as int64 when they fit.
ResultValue WideResult(__int128 v, FieldType type) {
  if (type == FieldType::kMoney) return ResultValue::Decimal(v);
  if (type == FieldType::kUnsigned) {
    if (v >= 0 && v <= static_cast<__int128>(std::numeric_limits<uint64_t>::max())) {
      return ResultValue::Unsigned(static_cast<uint64_t>(v));
    }
    return ResultValue::Float(static_cast<double>(v));
  }
  if (v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max()) {
    return ResultValue::Integer(static_cast<int64_t>(v));
  }
  return ResultValue::Float(static_cast<double>(v));
}

double AsDouble(double v, FieldType) { return v; }
double AsDouble(int64_t v, FieldType type) {
  return type == FieldType::kMoney ? static_cast<double>(v) / 1e10 : static_cast<double>(v);
}
double AsDouble(uint64_t v, FieldType) { return static_cast<double>(v); }

size_t CountValid(const ScanColumn& col, size_t begin, size_t end) {
  if (col.valid.empty()) return end - begin;
  size_t n = 0;
  const uint8_t* v = col.valid.data();
  for (size_t i = begin; i < end; ++i) n += v[i] != 0;
  return n;
}

// A point considered by selectors.
template <typename V>
struct Point {
  V value{};
  TimestampNs time = 0;
  uint32_t sid = 0;
  uint64_t ref = kNoSeries;
};

// Strict "a is preferred to b" for equal values: earlier time, then lower series id.
template <typename V>
bool EarlierTie(const Point<V>& a, const Point<V>& b) {
  return a.time != b.time ? a.time < b.time : a.sid < b.sid;
}

// ---------------------------------------------------------------------------------------

class CountState final : public AggState {
 public:
  void Resize(size_t n) override { counts_.resize(n, 0); }
  void AddRows(uint32_t cell, const ScanColumn& col, const TimestampNs*, size_t begin, size_t end,
               const RowSource&) override {
    counts_[cell] += static_cast<int64_t>(CountValid(col, begin, end));
  }
  void AddRollup(uint32_t cell, const RollupColumn& col, size_t i, TimestampNs,
                 const RowSource&) override {
    counts_[cell] += col.counts[i];
  }
  void Merge(uint32_t cell, const AggState& other, uint32_t oc) override {
    counts_[cell] += static_cast<const CountState&>(other).counts_[oc];
  }
  void Emit(uint32_t cell, std::vector<AggPoint>* out) const override {
    AggPoint p;
    if (counts_[cell] > 0) p.value = ResultValue::Integer(counts_[cell]);
    out->push_back(std::move(p));
  }
  size_t Bytes() const override { return counts_.capacity() * sizeof(int64_t); }

 private:
  std::vector<int64_t> counts_;
};

// sum and mean: a count and a sum, exact (128-bit) for integers and money.
template <typename V>
class SumState final : public AggState {
  using Acc = std::conditional_t<std::is_same_v<V, double>, double, __int128>;

 public:
  SumState(FieldType type, bool mean) : type_(type), mean_(mean) {}
  void Resize(size_t n) override {
    sums_.resize(n, Acc{});
    counts_.resize(n, 0);
  }
  void AddRows(uint32_t cell, const ScanColumn& col, const TimestampNs*, size_t begin, size_t end,
               const RowSource&) override {
    if constexpr (std::is_same_v<V, int64_t>) {
      const std::span<const int64_t> units(col.ints.data() + begin, end - begin);
      const std::span<const uint8_t> valid =
          col.valid.empty() ? std::span<const uint8_t>()
                            : std::span<const uint8_t>(col.valid.data() + begin, end - begin);
      sums_[cell] += SumMoneyUnitsValid(units, valid).units();
      counts_[cell] += static_cast<int64_t>(CountValid(col, begin, end));
    } else {
      Acc s = sums_[cell];
      int64_t n = 0;
      for (size_t i = begin; i < end; ++i) {
        if (!col.IsValid(i)) continue;
        s += static_cast<Acc>(Col<V>::Get(col, i));
        ++n;
      }
      sums_[cell] = s;
      counts_[cell] += n;
    }
  }
  void AddRollup(uint32_t cell, const RollupColumn& col, size_t i, TimestampNs,
                 const RowSource&) override {
    if (col.counts[i] == 0) return;
    if constexpr (std::is_same_v<V, double>) {
      sums_[cell] += col.float_sums[i];
    } else {
      sums_[cell] += col.int_sums[i];
    }
    counts_[cell] += col.counts[i];
  }
  void Merge(uint32_t cell, const AggState& other, uint32_t oc) override {
    const auto& o = static_cast<const SumState&>(other);
    if (o.counts_[oc] == 0) return;
    sums_[cell] += o.sums_[oc];
    counts_[cell] += o.counts_[oc];
  }
  void Emit(uint32_t cell, std::vector<AggPoint>* out) const override {
    AggPoint p;
    const int64_t n = counts_[cell];
    if (n > 0) {
      if constexpr (std::is_same_v<V, double>) {
        p.value = ResultValue::Float(mean_ ? sums_[cell] / static_cast<double>(n) : sums_[cell]);
      } else {
        if (!mean_) {
          p.value = WideResult(sums_[cell], type_);
        } else if (type_ == FieldType::kMoney) {
          p.value = ResultValue::Decimal(DivRoundHalfEven(sums_[cell], n));
        } else {
          p.value = ResultValue::Float(static_cast<double>(sums_[cell]) / static_cast<double>(n));
        }
      }
    }
    out->push_back(std::move(p));
  }
  size_t Bytes() const override {
    return sums_.capacity() * sizeof(Acc) + counts_.capacity() * sizeof(int64_t);
  }

 private:
  FieldType type_;
  bool mean_;
  std::vector<Acc> sums_;
  std::vector<int64_t> counts_;
};

// min and max: the extreme point; on equal values the earliest (then lowest series id).
template <typename V, bool kMax>
class MinMaxState final : public AggState {
 public:
  explicit MinMaxState(FieldType type) : type_(type) {}
  void Resize(size_t n) override {
    points_.resize(n);
    has_.resize(n, 0);
  }
  void AddRows(uint32_t cell, const ScanColumn& col, const TimestampNs* times, size_t begin,
               size_t end, const RowSource& src) override {
    size_t best = end;
    for (size_t i = begin; i < end; ++i) {
      if (!col.IsValid(i)) continue;
      // Times ascend within a run: the first of equal values is the earliest.
      if (best == end || Better(Col<V>::Get(col, i), Col<V>::Get(col, best))) best = i;
    }
    if (best == end) return;
    Offer(cell, Point<V>{Col<V>::Get(col, best), times[best], src.sid, src.series_ref});
  }
  void AddRollup(uint32_t cell, const RollupColumn& col, size_t i, TimestampNs time,
                 const RowSource& src) override {
    if (col.counts[i] == 0) return;
    V v;
    if constexpr (std::is_same_v<V, double>) {
      v = kMax ? col.float_maxs[i] : col.float_mins[i];
    } else {
      v = static_cast<V>(kMax ? col.int_maxs[i] : col.int_mins[i]);
    }
    Offer(cell, Point<V>{v, time, src.sid, src.series_ref});
  }
  void Merge(uint32_t cell, const AggState& other, uint32_t oc) override {
    const auto& o = static_cast<const MinMaxState&>(other);
    if (o.has_[oc]) Offer(cell, o.points_[oc]);
  }
  void Emit(uint32_t cell, std::vector<AggPoint>* out) const override {
    AggPoint p;
    if (has_[cell]) {
      p.value = ToResult(points_[cell].value, type_);
      p.has_time = true;
      p.time = points_[cell].time;
      p.series_ref = points_[cell].ref;
    }
    out->push_back(std::move(p));
  }
  size_t Bytes() const override { return points_.capacity() * sizeof(Point<V>) + has_.capacity(); }

 private:
  static bool Better(const V& a, const V& b) { return kMax ? a > b : a < b; }
  void Offer(uint32_t cell, const Point<V>& p) {
    Point<V>& cur = points_[cell];
    if (!has_[cell] || Better(p.value, cur.value) || (p.value == cur.value && EarlierTie(p, cur))) {
      cur = p;
      has_[cell] = 1;
    }
  }
  FieldType type_;
  std::vector<Point<V>> points_;
  std::vector<uint8_t> has_;
};

// first and last: the earliest (latest) point; on equal times the larger value (as
// InfluxDB), then the lower series id.
template <typename V, bool kLast>
class FirstLastState final : public AggState {
 public:
  explicit FirstLastState(FieldType type) : type_(type) {}
  void Resize(size_t n) override {
    points_.resize(n);
    has_.resize(n, 0);
  }
  void AddRows(uint32_t cell, const ScanColumn& col, const TimestampNs* times, size_t begin,
               size_t end, const RowSource& src) override {
    if (kLast) {
      for (size_t i = end; i > begin; --i) {
        if (!col.IsValid(i - 1)) continue;
        Offer(cell, Point<V>{Col<V>::Get(col, i - 1), times[i - 1], src.sid, src.series_ref});
        return;
      }
    } else {
      for (size_t i = begin; i < end; ++i) {
        if (!col.IsValid(i)) continue;
        Offer(cell, Point<V>{Col<V>::Get(col, i), times[i], src.sid, src.series_ref});
        return;
      }
    }
  }
  void Merge(uint32_t cell, const AggState& other, uint32_t oc) override {
    const auto& o = static_cast<const FirstLastState&>(other);
    if (o.has_[oc]) Offer(cell, o.points_[oc]);
  }
  void Emit(uint32_t cell, std::vector<AggPoint>* out) const override {
    AggPoint p;
    if (has_[cell]) {
      p.value = ToResult(points_[cell].value, type_);
      p.has_time = true;
      p.time = points_[cell].time;
      p.series_ref = points_[cell].ref;
    }
    out->push_back(std::move(p));
  }
  size_t Bytes() const override {
    return points_.capacity() * sizeof(Point<V>) + has_.capacity() + string_bytes_;
  }

 private:
  void Offer(uint32_t cell, const Point<V>& p) {
    Point<V>& cur = points_[cell];
    bool take = !has_[cell];
    if (!take) {
      if (p.time != cur.time) {
        take = kLast ? p.time > cur.time : p.time < cur.time;
      } else if (p.value != cur.value) {
        take = p.value > cur.value;
      } else {
        take = p.sid < cur.sid;
      }
    }
    if (take) {
      if constexpr (std::is_same_v<V, std::string>) {
        string_bytes_ += p.value.size();
        string_bytes_ -= std::min(string_bytes_, cur.value.size());
      }
      cur = p;
      has_[cell] = 1;
    }
  }
  FieldType type_;
  std::vector<Point<V>> points_;
  std::vector<uint8_t> has_;
  size_t string_bytes_ = 0;
};

// spread: max - min.
template <typename V>
class SpreadState final : public AggState {
 public:
  explicit SpreadState(FieldType type) : type_(type) {}
  void Resize(size_t n) override {
    mins_.resize(n);
    maxs_.resize(n);
    has_.resize(n, 0);
  }
  void AddRows(uint32_t cell, const ScanColumn& col, const TimestampNs*, size_t begin, size_t end,
               const RowSource&) override {
    for (size_t i = begin; i < end; ++i) {
      if (col.IsValid(i)) Offer(cell, Col<V>::Get(col, i), Col<V>::Get(col, i));
    }
  }
  void AddRollup(uint32_t cell, const RollupColumn& col, size_t i, TimestampNs,
                 const RowSource&) override {
    if (col.counts[i] == 0) return;
    if constexpr (std::is_same_v<V, double>) {
      Offer(cell, col.float_mins[i], col.float_maxs[i]);
    } else {
      Offer(cell, static_cast<V>(col.int_mins[i]), static_cast<V>(col.int_maxs[i]));
    }
  }
  void Merge(uint32_t cell, const AggState& other, uint32_t oc) override {
    const auto& o = static_cast<const SpreadState&>(other);
    if (o.has_[oc]) Offer(cell, o.mins_[oc], o.maxs_[oc]);
  }
  void Emit(uint32_t cell, std::vector<AggPoint>* out) const override {
    AggPoint p;
    if (has_[cell]) {
      if constexpr (std::is_same_v<V, double>) {
        p.value = ResultValue::Float(maxs_[cell] - mins_[cell]);
      } else {
        p.value = WideResult(
            static_cast<__int128>(maxs_[cell]) - static_cast<__int128>(mins_[cell]), type_);
      }
    }
    out->push_back(std::move(p));
  }
  size_t Bytes() const override { return (mins_.capacity() + maxs_.capacity()) * sizeof(V); }

 private:
  void Offer(uint32_t cell, V lo, V hi) {
    if (!has_[cell]) {
      mins_[cell] = lo;
      maxs_[cell] = hi;
      has_[cell] = 1;
      return;
    }
    mins_[cell] = std::min(mins_[cell], lo);
    maxs_[cell] = std::max(maxs_[cell], hi);
  }
  FieldType type_;
  std::vector<V> mins_, maxs_;
  std::vector<uint8_t> has_;
};

// median, stddev, distinct and count(distinct): every value of the cell, sorted before use
// so that the result does not depend on arrival order.
template <typename V>
class ValuesState final : public AggState {
 public:
  ValuesState(AggFunc func, FieldType type) : func_(func), type_(type) {}
  void Resize(size_t n) override { values_.resize(n); }
  void AddRows(uint32_t cell, const ScanColumn& col, const TimestampNs*, size_t begin, size_t end,
               const RowSource&) override {
    std::vector<V>& v = values_[cell];
    const size_t before = v.capacity();
    for (size_t i = begin; i < end; ++i) {
      if (!col.IsValid(i)) continue;
      v.push_back(Col<V>::Get(col, i));
      if constexpr (std::is_same_v<V, std::string>) bytes_ += v.back().capacity();
    }
    bytes_ += (v.capacity() - before) * sizeof(V);
  }
  void Merge(uint32_t cell, const AggState& other, uint32_t oc) override {
    const auto& o = static_cast<const ValuesState&>(other);
    std::vector<V>& v = values_[cell];
    const size_t before = v.capacity();
    v.insert(v.end(), o.values_[oc].begin(), o.values_[oc].end());
    bytes_ += (v.capacity() - before) * sizeof(V);
  }
  void Emit(uint32_t cell, std::vector<AggPoint>* out) const override {
    std::vector<V> v = values_[cell];
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    if (func_ == AggFunc::kDistinct || func_ == AggFunc::kCountDistinct) {
      v.erase(std::unique(v.begin(), v.end()), v.end());
      if (func_ == AggFunc::kCountDistinct) {
        AggPoint p;
        if (!v.empty()) p.value = ResultValue::Integer(static_cast<int64_t>(v.size()));
        out->push_back(std::move(p));
        return;
      }
      for (const V& x : v) {
        AggPoint p;
        p.value = ToResult(x, type_);
        out->push_back(std::move(p));
      }
      return;
    }
    AggPoint p;
    if constexpr (!std::is_same_v<V, std::string>) {
      if (func_ == AggFunc::kMedian && n > 0) {
        if (n % 2 == 1) {
          p.value = type_ == FieldType::kMoney || type_ == FieldType::kFloat
                        ? ToResult(v[n / 2], type_)
                        : ResultValue::Float(AsDouble(v[n / 2], type_));
        } else {
          const V lo = v[n / 2 - 1], hi = v[n / 2];
          if (type_ == FieldType::kMoney) {
            p.value = ResultValue::Decimal(
                DivRoundHalfEven(static_cast<__int128>(lo) + static_cast<__int128>(hi), 2));
          } else if constexpr (std::is_same_v<V, double>) {
            p.value = ResultValue::Float(lo + (hi - lo) / 2);
          } else {
            p.value =
                ResultValue::Float(static_cast<double>(lo) + static_cast<double>(hi - lo) / 2);
          }
        }
      } else if (func_ == AggFunc::kStddev && n >= 2) {
        // InfluxDB's two passes: a running mean, then the sample variance.
        double mean = 0;
        int64_t count = 0;
        for (const V& x : v) {
          ++count;
          mean += (AsDouble(x, type_) - mean) / static_cast<double>(count);
        }
        double variance = 0;
        for (const V& x : v) {
          const double d = AsDouble(x, type_) - mean;
          variance += d * d;
        }
        p.value = ResultValue::Float(std::sqrt(variance / static_cast<double>(count - 1)));
      }
    }
    out->push_back(std::move(p));
  }
  size_t Bytes() const override { return values_.capacity() * sizeof(std::vector<V>) + bytes_; }

 private:
  AggFunc func_;
  FieldType type_;
  std::vector<std::vector<V>> values_;
  size_t bytes_ = 0;
};

// percentile: every point of the cell; the result is the point at the nearest rank.
template <typename V>
class PercentileState final : public AggState {
 public:
  PercentileState(double percentile, FieldType type) : percentile_(percentile), type_(type) {}
  void Resize(size_t n) override { points_.resize(n); }
  void AddRows(uint32_t cell, const ScanColumn& col, const TimestampNs* times, size_t begin,
               size_t end, const RowSource& src) override {
    auto& v = points_[cell];
    const size_t before = v.capacity();
    for (size_t i = begin; i < end; ++i) {
      if (col.IsValid(i))
        v.push_back(Point<V>{Col<V>::Get(col, i), times[i], src.sid, src.series_ref});
    }
    bytes_ += (v.capacity() - before) * sizeof(Point<V>);
  }
  void Merge(uint32_t cell, const AggState& other, uint32_t oc) override {
    const auto& o = static_cast<const PercentileState&>(other);
    auto& v = points_[cell];
    const size_t before = v.capacity();
    v.insert(v.end(), o.points_[oc].begin(), o.points_[oc].end());
    bytes_ += (v.capacity() - before) * sizeof(Point<V>);
  }
  void Emit(uint32_t cell, std::vector<AggPoint>* out) const override {
    std::vector<Point<V>> v = points_[cell];
    std::sort(v.begin(), v.end(), [](const Point<V>& a, const Point<V>& b) {
      return a.value != b.value ? a.value < b.value : EarlierTie(a, b);
    });
    AggPoint p;
    const int64_t i = static_cast<int64_t>(
                          std::floor(static_cast<double>(v.size()) * percentile_ / 100.0 + 0.5)) -
                      1;
    if (i >= 0 && i < static_cast<int64_t>(v.size())) {
      p.value = ToResult(v[i].value, type_);
      p.has_time = true;
      p.time = v[i].time;
      p.series_ref = v[i].ref;
    }
    out->push_back(std::move(p));
  }
  size_t Bytes() const override {
    return points_.capacity() * sizeof(std::vector<Point<V>>) + bytes_;
  }

 private:
  double percentile_;
  FieldType type_;
  std::vector<std::vector<Point<V>>> points_;
  size_t bytes_ = 0;
};

// top and bottom: the n best points, or with tag arguments the best point of each
// distinct combination of those tags' values and then the n best of those.
template <typename V, bool kTop>
class TopState final : public AggState {
  struct Entry {
    Point<V> point;
    std::vector<std::string> tags;
  };

 public:
  TopState(const AggSpec& spec)
      : n_(static_cast<size_t>(spec.n)), tag_args_(spec.tag_args), type_(spec.type) {}
  void Resize(size_t n) override {
    plain_.resize(n);
    by_tags_.resize(n);
  }
  void AddRows(uint32_t cell, const ScanColumn& col, const TimestampNs* times, size_t begin,
               size_t end, const RowSource& src) override {
    if (tag_args_.empty()) {
      auto& v = plain_[cell];
      for (size_t i = begin; i < end; ++i) {
        if (!col.IsValid(i)) continue;
        v.push_back(Entry{Point<V>{Col<V>::Get(col, i), times[i], src.sid, src.series_ref}, {}});
        ++entries_;
        if (v.size() >= 2 * n_ + 64) Trim(&v);
      }
      return;
    }
    std::vector<std::string> tags;
    std::string key;
    for (const std::string& k : tag_args_) {
      std::string value;
      for (const TagView& t : src.tags) {
        if (t.key == k) value = std::string(t.value);
      }
      key += value;
      key.push_back('\0');
      tags.push_back(std::move(value));
    }
    for (size_t i = begin; i < end; ++i) {
      if (!col.IsValid(i)) continue;
      Offer(cell, key,
            Entry{Point<V>{Col<V>::Get(col, i), times[i], src.sid, src.series_ref}, tags});
    }
  }
  void Merge(uint32_t cell, const AggState& other, uint32_t oc) override {
    const auto& o = static_cast<const TopState&>(other);
    auto& v = plain_[cell];
    v.insert(v.end(), o.plain_[oc].begin(), o.plain_[oc].end());
    entries_ += o.plain_[oc].size();
    Trim(&v);
    for (const auto& [key, e] : o.by_tags_[oc]) Offer(cell, key, e);
  }
  void Emit(uint32_t cell, std::vector<AggPoint>* out) const override {
    std::vector<Entry> v = plain_[cell];
    for (const auto& [key, e] : by_tags_[cell]) v.push_back(e);
    TrimTo(&v, n_);
    std::sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) {
      if (a.point.time != b.point.time) return a.point.time < b.point.time;
      return Before(a, b);
    });
    for (const Entry& e : v) {
      AggPoint p;
      p.value = ToResult(e.point.value, type_);
      p.has_time = true;
      p.time = e.point.time;
      p.series_ref = e.point.ref;
      p.tag_values = e.tags;
      out->push_back(std::move(p));
    }
  }
  size_t Bytes() const override {
    return plain_.capacity() * sizeof(std::vector<Entry>) +
           by_tags_.capacity() * sizeof(absl::flat_hash_map<std::string, Entry>) +
           entries_ * (sizeof(Entry) + 32 * (tag_args_.size() + 1));
  }

 private:
  // a ranks before b: the better value, then the earlier point.
  static bool Before(const Entry& a, const Entry& b) {
    if (a.point.value != b.point.value) {
      return kTop ? a.point.value > b.point.value : a.point.value < b.point.value;
    }
    return EarlierTie(a.point, b.point);
  }
  static void TrimTo(std::vector<Entry>* v, size_t n) {
    if (v->size() <= n) return;
    std::nth_element(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(n), v->end(), Before);
    v->resize(n);
  }
  void Trim(std::vector<Entry>* v) {
    const size_t before = v->size();
    TrimTo(v, n_);
    entries_ -= before - v->size();
  }
  void Offer(uint32_t cell, const std::string& key, const Entry& e) {
    auto [it, inserted] = by_tags_[cell].try_emplace(key, e);
    if (inserted) {
      ++entries_;
    } else if (Before(e, it->second)) {
      it->second = e;
    }
  }

  size_t n_;
  std::vector<std::string> tag_args_;
  FieldType type_;
  size_t entries_ = 0;
  std::vector<std::vector<Entry>> plain_;
  std::vector<absl::flat_hash_map<std::string, Entry>> by_tags_;
};

template <typename V>
std::unique_ptr<AggState> MakeTyped(const AggSpec& spec) {
  const FieldType t = spec.type;
  switch (spec.func) {
    case AggFunc::kCount:
      return std::make_unique<CountState>();
    case AggFunc::kFirst:
      return std::make_unique<FirstLastState<V, false>>(t);
    case AggFunc::kLast:
      return std::make_unique<FirstLastState<V, true>>(t);
    case AggFunc::kDistinct:
    case AggFunc::kCountDistinct:
      return std::make_unique<ValuesState<V>>(spec.func, t);
    default:
      break;
  }
  if constexpr (std::is_same_v<V, std::string>) {
    return nullptr;
  } else {
    switch (spec.func) {
      case AggFunc::kSum:
        return std::make_unique<SumState<V>>(t, false);
      case AggFunc::kMean:
        return std::make_unique<SumState<V>>(t, true);
      case AggFunc::kMin:
        return std::make_unique<MinMaxState<V, false>>(t);
      case AggFunc::kMax:
        return std::make_unique<MinMaxState<V, true>>(t);
      case AggFunc::kSpread:
        return std::make_unique<SpreadState<V>>(t);
      case AggFunc::kMedian:
      case AggFunc::kStddev:
        return std::make_unique<ValuesState<V>>(spec.func, t);
      case AggFunc::kPercentile:
        return std::make_unique<PercentileState<V>>(spec.percentile, t);
      case AggFunc::kTop:
        return std::make_unique<TopState<V, true>>(spec);
      case AggFunc::kBottom:
        return std::make_unique<TopState<V, false>>(spec);
      default:
        return nullptr;
    }
  }
}

}  // namespace

void AggState::AddRollup(uint32_t, const RollupColumn&, size_t, TimestampNs, const RowSource&) {}

std::unique_ptr<AggState> NewAggState(const AggSpec& spec) {
  switch (spec.type) {
    case FieldType::kFloat:
      return MakeTyped<double>(spec);
    case FieldType::kInteger:
    case FieldType::kMoney:
    case FieldType::kBoolean:
      return MakeTyped<int64_t>(spec);
    case FieldType::kUnsigned:
      return MakeTyped<uint64_t>(spec);
    case FieldType::kString:
      return MakeTyped<std::string>(spec);
  }
  return nullptr;
}

ResultValue ColumnValue(const ScanColumn& col, size_t i) {
  if (!col.IsValid(i)) return ResultValue();
  switch (col.type) {
    case FieldType::kFloat:
      return ResultValue::Float(col.floats[i]);
    case FieldType::kInteger:
      return ResultValue::Integer(col.ints[i]);
    case FieldType::kUnsigned:
      return ResultValue::Unsigned(static_cast<uint64_t>(col.ints[i]));
    case FieldType::kBoolean:
      return ResultValue::Boolean(col.ints[i] != 0);
    case FieldType::kString:
      return ResultValue::String(col.strings[i]);
    case FieldType::kMoney:
      return ResultValue::Decimal(col.ints[i]);
  }
  return ResultValue();
}

}  // namespace burnrate
