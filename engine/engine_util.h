#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <regex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "base/str_cat.h"
#include "burnrate/scan.h"
#include "engine/catalog.h"
#include "engine/db_impl.h"

// Small helpers shared by the engine's translation units.

namespace burnrate {

inline TimestampNs PartitionEnd(TimestampNs start, int64_t duration) {
  TimestampNs end;
  if (__builtin_add_overflow(start, duration, &end)) return INT64_MAX;
  return end;
}

inline TimestampNs SafePartitionStart(TimestampNs t, int64_t duration) {
  TimestampNs q = t / duration;
  if ((t % duration) < 0) --q;
  TimestampNs start;
  if (__builtin_mul_overflow(q, duration, &start)) return INT64_MIN;
  return start;
}

// floor(start / duration): the partition's index (ScanBatch::partition).
inline int64_t PartitionIndex(TimestampNs start, int64_t duration) {
  int64_t q = start / duration;
  if (start % duration < 0) --q;
  return q;
}

inline bool SegmentOrder(const std::shared_ptr<SegmentHandle>& a,
                         const std::shared_ptr<SegmentHandle>& b) {
  if (a->meta.database_id != b->meta.database_id) {
    return a->meta.database_id < b->meta.database_id;
  }
  if (a->meta.partition_start != b->meta.partition_start) {
    return a->meta.partition_start < b->meta.partition_start;
  }
  return a->meta.seq < b->meta.seq;
}

// Evaluates tag matchers once per distinct tag value (regexes compiled once).
// Not thread-safe; one per scan, used with one catalog under its lock (string ids are
// resolved once).
class SeriesMatcher {
 public:
  static absl::StatusOr<SeriesMatcher> Create(const std::vector<TagMatcher>& matchers) {
    SeriesMatcher m;
    for (const TagMatcher& t : matchers) {
      Compiled c{t, std::nullopt, {}, -1};
      if (t.op == TagMatcher::Op::kRegexMatch || t.op == TagMatcher::Op::kRegexNoMatch) {
        try {
          c.re.emplace(t.value, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          return absl::InvalidArgumentError(
              StrCat("invalid regular expression /", t.value, "/: ", e.what()));
        }
      }
      m.matchers_.push_back(std::move(c));
    }
    return m;
  }

  bool Matches(const DatabaseCatalog& db, uint32_t series_id) {
    const auto& tags = db.series(series_id).tags;
    if (catalog_ != &db) {
      // The key's string id, found once per catalog: tags then compare by id.
      catalog_ = &db;
      for (Compiled& c : matchers_) c.key_id = db.FindString(c.m.key);
    }
    for (Compiled& c : matchers_) {
      // Value string id of the key in this series, or -1 (absent = empty value).
      int64_t value_id = -1;
      if (c.key_id >= 0) {
        for (auto [k, v] : tags) {
          if (k == c.key_id) {
            value_id = v;
            break;
          }
        }
      }
      // Verdicts by value string id + 1 (0: the absent tag): 0 unknown, 1 no, 2 yes.
      const size_t slot = static_cast<size_t>(value_id + 1);
      if (slot >= c.cache.size()) c.cache.resize(std::max(slot + 1, c.cache.size() * 2), 0);
      bool ok;
      if (c.cache[slot] != 0) {
        ok = c.cache[slot] == 2;
      } else {
        const std::string empty;
        const std::string& value = value_id < 0 ? empty : db.str(static_cast<uint32_t>(value_id));
        switch (c.m.op) {
          case TagMatcher::Op::kEqual:
            ok = value == c.m.value;
            break;
          case TagMatcher::Op::kNotEqual:
            ok = value != c.m.value;
            break;
          case TagMatcher::Op::kRegexMatch:
            ok = std::regex_search(value, *c.re);
            break;
          case TagMatcher::Op::kRegexNoMatch:
            ok = !std::regex_search(value, *c.re);
            break;
          default:
            ok = false;
        }
        c.cache[slot] = ok ? 2 : 1;
      }
      if (!ok) return false;
    }
    return true;
  }

 private:
  struct Compiled {
    TagMatcher m;
    std::optional<std::regex> re;
    std::vector<uint8_t> cache;  // dense: string ids are small and dense
    int64_t key_id;              // string id of m.key in catalog_, or -1
  };
  std::vector<Compiled> matchers_;
  const DatabaseCatalog* catalog_ = nullptr;
};

}  // namespace burnrate
