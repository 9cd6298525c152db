#include "query/meta_exec.h"

#include <algorithm>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "burnrate/db.h"
#include "query/condition.h"
#include "query/eval.h"
#include "query/format.h"
#include "query/select_exec.h"
#include "query/select_plan.h"

namespace burnrate {
namespace {

constexpr TimestampNs kMinTime = std::numeric_limits<TimestampNs>::min();
constexpr TimestampNs kMaxTime = std::numeric_limits<TimestampNs>::max();

// A WHERE of a meta statement: every name is a tag.
struct MetaWhere {
  WhereSplit split;
  RegexSet regexes;
};

absl::StatusOr<std::unique_ptr<MetaWhere>> SplitMetaWhere(QueryContext* ctx,
                                                          const std::optional<Expr>& cond,
                                                          std::string_view statement) {
  auto w = std::make_unique<MetaWhere>();
  WhereContext wc;
  wc.now = ctx->now();
  wc.is_tag = [](std::string_view) { return true; };
  BR_ASSIGN_OR_RETURN(w->split, SplitWhere(cond ? &*cond : nullptr, wc));
  if (w->split.row_condition) {
    return SemanticError(w->split.row_condition->pos,
                         StrCat(statement, " supports only tag conditions in WHERE"));
  }
  if (w->split.series_condition) BR_RETURN_IF_ERROR(w->regexes.Compile(*w->split.series_condition));
  return w;
}

struct TagsEnv {
  const std::vector<Tag>* tags;
  ResultValue Var(const Expr& e) const {
    for (const Tag& t : *tags) {
      if (t.key == e.As<VarRef>()->name) return ResultValue::String(t.value);
    }
    return ResultValue::String("");
  }
  ResultValue Call(const Expr&) const { return ResultValue(); }
};

bool SeriesMatches(const MetaWhere& w, const std::vector<Tag>& tags) {
  if (!w.split.series_condition) return true;
  absl::StatusOr<ResultValue> v = Evaluate(*w.split.series_condition, TagsEnv{&tags}, &w.regexes);
  return v.ok() && Truthy(*v);
}

// The measurements a FROM list names (all of the database's when empty), sorted.
absl::StatusOr<std::vector<std::string>> Measurements(QueryContext* ctx, const std::string& db,
                                                      const std::vector<Measurement>& sources) {
  BR_ASSIGN_OR_RETURN(std::vector<std::string> all, ctx->db()->ListMeasurements(db));
  if (sources.empty()) {
    std::sort(all.begin(), all.end());
    return all;
  }
  std::set<std::string> out;
  for (const Measurement& m : sources) {
    if (!m.regex) {
      if (std::find(all.begin(), all.end(), m.name) != all.end()) out.insert(m.name);
      continue;
    }
    std::regex re;
    try {
      re = std::regex(*m.regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return SemanticError(m.pos,
                           StrCat("invalid regular expression /", *m.regex, "/: ", e.what()));
    }
    for (const std::string& n : all) {
      if (std::regex_search(n, re)) out.insert(n);
    }
  }
  return std::vector<std::string>(out.begin(), out.end());
}

// The database of a meta statement: its ON clause, or the database its FROM names, or the
// query's default.
absl::StatusOr<std::string> MetaDatabase(QueryContext* ctx, const std::string& on,
                                         const std::vector<Measurement>& sources) {
  std::string named = on;
  for (const Measurement& m : sources) {
    if (named.empty() && !m.database.empty()) named = m.database;
  }
  return ResolveDatabase(ctx, named);
}

template <typename T>
void ApplyLimit(std::vector<T>* v, int64_t limit, int64_t offset) {
  const size_t off = std::min(v->size(), static_cast<size_t>(offset));
  v->erase(v->begin(), v->begin() + off);
  if (limit > 0 && v->size() > static_cast<size_t>(limit)) v->resize(limit);
}

// "measurement,k=v,k=v" with line-protocol escaping.
std::string SeriesKey(const std::string& measurement, const std::vector<Tag>& tags) {
  std::string out;
  for (char c : measurement) {
    if (c == ',' || c == ' ') out.push_back('\\');
    out.push_back(c);
  }
  auto escape = [&](const std::string& s) {
    for (char c : s) {
      if (c == ',' || c == ' ' || c == '=') out.push_back('\\');
      out.push_back(c);
    }
  };
  for (const Tag& t : tags) {
    out.push_back(',');
    escape(t.key);
    out.push_back('=');
    escape(t.value);
  }
  return out;
}

ResultSeries NamesSeries(std::string name, std::string column, const std::vector<std::string>& v) {
  ResultSeries s;
  s.name = std::move(name);
  s.columns = {std::move(column)};
  for (const std::string& x : v) s.values.push_back({ResultValue::String(x)});
  return s;
}

absl::StatusOr<std::vector<ResultSeries>> ShowDatabases(QueryContext* ctx) {
  BR_ASSIGN_OR_RETURN(std::vector<DatabaseInfo> dbs, ctx->db()->ListDatabases());
  std::vector<std::string> names;
  const auto& auth = ctx->options().authorize;
  const bool admin = !auth || auth(QueryAccess::kAdmin, "").ok();
  for (const DatabaseInfo& d : dbs) {
    if (admin || auth(QueryAccess::kRead, d.name).ok()) names.push_back(d.name);
  }
  std::sort(names.begin(), names.end());
  return std::vector<ResultSeries>{NamesSeries("databases", "name", names)};
}

absl::StatusOr<std::vector<ResultSeries>> ShowMeasurements(QueryContext* ctx,
                                                           const ShowMeasurementsStatement& s) {
  BR_ASSIGN_OR_RETURN(std::string db, ResolveDatabase(ctx, s.database));
  std::vector<Measurement> from;
  if (s.with_measurement) from.push_back(*s.with_measurement);
  BR_ASSIGN_OR_RETURN(std::vector<std::string> names, Measurements(ctx, db, from));
  if (s.condition) {
    BR_ASSIGN_OR_RETURN(std::unique_ptr<MetaWhere> w,
                        SplitMetaWhere(ctx, s.condition, "SHOW MEASUREMENTS"));
    std::vector<std::string> kept;
    for (const std::string& m : names) {
      BR_ASSIGN_OR_RETURN(std::vector<SeriesInfo> series,
                          ctx->db()->ListSeries(db, m, w->split.tag_matchers));
      for (const SeriesInfo& si : series) {
        if (SeriesMatches(*w, si.tags)) {
          kept.push_back(m);
          break;
        }
      }
    }
    names = std::move(kept);
  }
  ApplyLimit(&names, s.limit, s.offset);
  if (names.empty()) return std::vector<ResultSeries>{};
  return std::vector<ResultSeries>{NamesSeries("measurements", "name", names)};
}

// Series of each measurement of `sources` that pass WHERE.
absl::StatusOr<std::map<std::string, std::vector<SeriesInfo>>> SelectedSeries(
    QueryContext* ctx, const std::string& db, const std::vector<Measurement>& sources,
    const std::optional<Expr>& condition, std::string_view statement) {
  BR_ASSIGN_OR_RETURN(std::unique_ptr<MetaWhere> w, SplitMetaWhere(ctx, condition, statement));
  BR_ASSIGN_OR_RETURN(std::vector<std::string> names, Measurements(ctx, db, sources));
  std::map<std::string, std::vector<SeriesInfo>> out;
  for (const std::string& m : names) {
    BR_ASSIGN_OR_RETURN(std::vector<SeriesInfo> series,
                        ctx->db()->ListSeries(db, m, w->split.tag_matchers));
    std::vector<SeriesInfo>& kept = out[m];
    for (SeriesInfo& si : series) {
      if (SeriesMatches(*w, si.tags)) kept.push_back(std::move(si));
    }
    BR_RETURN_IF_ERROR(ctx->CheckDeadline());
  }
  return out;
}

absl::StatusOr<std::vector<ResultSeries>> ShowTagKeys(QueryContext* ctx,
                                                      const ShowTagKeysStatement& s) {
  BR_ASSIGN_OR_RETURN(std::string db, MetaDatabase(ctx, s.database, s.sources));
  BR_ASSIGN_OR_RETURN(auto by_measurement,
                      SelectedSeries(ctx, db, s.sources, s.condition, "SHOW TAG KEYS"));
  std::vector<ResultSeries> out;
  for (const auto& [m, series] : by_measurement) {
    std::set<std::string> keys;
    for (const SeriesInfo& si : series) {
      for (const Tag& t : si.tags) keys.insert(t.key);
    }
    std::vector<std::string> v(keys.begin(), keys.end());
    ApplyLimit(&v, s.limit, s.offset);
    if (!v.empty()) out.push_back(NamesSeries(m, "tagKey", v));
  }
  return out;
}

absl::StatusOr<std::vector<ResultSeries>> ShowTagValues(QueryContext* ctx,
                                                        const ShowTagValuesStatement& s) {
  BR_ASSIGN_OR_RETURN(std::string db, MetaDatabase(ctx, s.database, s.sources));
  std::optional<std::regex> key_re;
  if (s.key_op == ShowTagValuesStatement::KeyOp::kEqRegex ||
      s.key_op == ShowTagValuesStatement::KeyOp::kNotEqRegex) {
    try {
      key_re.emplace(s.key_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return SemanticError(s.pos,
                           StrCat("invalid regular expression /", s.key_regex, "/: ", e.what()));
    }
  }
  auto key_selected = [&](const std::string& key) {
    switch (s.key_op) {
      case ShowTagValuesStatement::KeyOp::kEq:
      case ShowTagValuesStatement::KeyOp::kIn:
        return std::find(s.keys.begin(), s.keys.end(), key) != s.keys.end();
      case ShowTagValuesStatement::KeyOp::kNotEq:
        return std::find(s.keys.begin(), s.keys.end(), key) == s.keys.end();
      case ShowTagValuesStatement::KeyOp::kEqRegex:
        return std::regex_search(key, *key_re);
      case ShowTagValuesStatement::KeyOp::kNotEqRegex:
        return !std::regex_search(key, *key_re);
    }
    return false;
  };
  BR_ASSIGN_OR_RETURN(auto by_measurement,
                      SelectedSeries(ctx, db, s.sources, s.condition, "SHOW TAG VALUES"));
  std::vector<ResultSeries> out;
  for (const auto& [m, series] : by_measurement) {
    std::set<std::pair<std::string, std::string>> pairs;
    for (const SeriesInfo& si : series) {
      for (const Tag& t : si.tags) {
        if (key_selected(t.key)) pairs.emplace(t.key, t.value);
      }
    }
    std::vector<std::pair<std::string, std::string>> v(pairs.begin(), pairs.end());
    ApplyLimit(&v, s.limit, s.offset);
    if (v.empty()) continue;
    ResultSeries r;
    r.name = m;
    r.columns = {"key", "value"};
    for (auto& [k, val] : v) r.values.push_back({ResultValue::String(k), ResultValue::String(val)});
    out.push_back(std::move(r));
  }
  return out;
}

// InfluxDB has no money type: clients know float, integer, unsigned, string and boolean,
// so money fields are reported as float (their values print as exact decimals).
std::string_view InfluxFieldType(FieldType t) {
  return t == FieldType::kMoney ? "float" : FieldTypeName(t);
}

absl::StatusOr<std::vector<ResultSeries>> ShowFieldKeys(QueryContext* ctx,
                                                        const ShowFieldKeysStatement& s) {
  BR_ASSIGN_OR_RETURN(std::string db, MetaDatabase(ctx, s.database, s.sources));
  BR_ASSIGN_OR_RETURN(std::vector<std::string> names, Measurements(ctx, db, s.sources));
  std::vector<ResultSeries> out;
  for (const std::string& m : names) {
    BR_ASSIGN_OR_RETURN(std::vector<FieldInfo> fields, ctx->db()->ListFields(db, m));
    ApplyLimit(&fields, s.limit, s.offset);
    if (fields.empty()) continue;
    ResultSeries r;
    r.name = m;
    r.columns = {"fieldKey", "fieldType"};
    for (const FieldInfo& f : fields) {
      r.values.push_back(
          {ResultValue::String(f.name), ResultValue::String(std::string(InfluxFieldType(f.type)))});
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<ResultSeries>> ShowSeries(QueryContext* ctx,
                                                     const ShowSeriesStatement& s) {
  BR_ASSIGN_OR_RETURN(std::string db, MetaDatabase(ctx, s.database, s.sources));
  BR_ASSIGN_OR_RETURN(auto by_measurement,
                      SelectedSeries(ctx, db, s.sources, s.condition, "SHOW SERIES"));
  std::vector<std::string> keys;
  for (const auto& [m, series] : by_measurement) {
    for (const SeriesInfo& si : series) keys.push_back(SeriesKey(m, si.tags));
  }
  std::sort(keys.begin(), keys.end());
  ApplyLimit(&keys, s.limit, s.offset);
  if (keys.empty()) return std::vector<ResultSeries>{};
  return std::vector<ResultSeries>{NamesSeries("", "key", keys)};
}

absl::StatusOr<std::vector<ResultSeries>> ShowRetentionPolicies(
    QueryContext* ctx, const ShowRetentionPoliciesStatement& s) {
  BR_ASSIGN_OR_RETURN(std::string db, ResolveDatabase(ctx, s.database));
  BR_ASSIGN_OR_RETURN(std::vector<DatabaseInfo> dbs, ctx->db()->ListDatabases());
  ResultSeries r;
  r.columns = {"name", "duration", "shardGroupDuration", "replicaN", "default"};
  for (const DatabaseInfo& d : dbs) {
    if (d.name != db) continue;
    r.values.push_back({ResultValue::String("autogen"),
                        ResultValue::String(FormatGoDuration(d.options.retention_ns)),
                        ResultValue::String(FormatGoDuration(d.options.partition_duration_ns)),
                        ResultValue::Integer(1), ResultValue::Boolean(true)});
  }
  return std::vector<ResultSeries>{std::move(r)};
}

absl::Status CreateDatabase(QueryContext* ctx, const CreateDatabaseStatement& s) {
  DatabaseOptions options;
  if (s.duration_ns) options.retention_ns = *s.duration_ns;
  if (s.shard_duration_ns) options.partition_duration_ns = *s.shard_duration_ns;
  if (s.replication && *s.replication != 1) {
    return SemanticError(s.pos, "burnrate keeps one replica: REPLICATION must be 1");
  }
  if (s.retention_policy_name && *s.retention_policy_name != "autogen") {
    return SemanticError(s.pos, "burnrate has one retention policy per database, named autogen");
  }
  absl::Status st = ctx->db()->CreateDatabase(s.name, options);
  // As InfluxDB, creating an existing database succeeds.
  if (absl::IsAlreadyExists(st)) return absl::OkStatus();
  return st;
}

// Deletes [min, max] of the series that pass `w` in the measurements named (or all of the
// database's). A residual tag condition (OR, ...) deletes series by series, each matched
// exactly (its tags equal, every other key of its measurement absent).
absl::Status DeleteWhere(QueryContext* ctx, const std::string& db,
                         const std::vector<Measurement>& sources, const MetaWhere& w,
                         TimestampNs min_time, TimestampNs max_time) {
  BR_ASSIGN_OR_RETURN(std::vector<std::string> names, Measurements(ctx, db, sources));
  if (sources.empty()) names = {""};
  for (const std::string& m : names) {
    DeleteRequest req;
    req.database = db;
    req.measurement = m;
    req.min_time = min_time;
    req.max_time = max_time;
    req.tag_matchers = w.split.tag_matchers;
    if (!w.split.series_condition) {
      BR_RETURN_IF_ERROR(ctx->db()->Delete(req));
      continue;
    }
    BR_ASSIGN_OR_RETURN(std::vector<SeriesInfo> series,
                        ctx->db()->ListSeries(db, m, w.split.tag_matchers));
    std::map<std::string, std::set<std::string>> keys_of;
    for (const SeriesInfo& si : series) {
      for (const Tag& t : si.tags) keys_of[si.measurement].insert(t.key);
    }
    for (const SeriesInfo& si : series) {
      if (!SeriesMatches(w, si.tags)) continue;
      DeleteRequest one = req;
      one.measurement = si.measurement;
      one.tag_matchers.clear();
      std::set<std::string> absent = keys_of[si.measurement];
      for (const Tag& t : si.tags) {
        one.tag_matchers.push_back(TagMatcher{t.key, TagMatcher::Op::kEqual, t.value});
        absent.erase(t.key);
      }
      for (const std::string& k : absent) {
        one.tag_matchers.push_back(TagMatcher{k, TagMatcher::Op::kEqual, ""});
      }
      BR_RETURN_IF_ERROR(ctx->db()->Delete(one));
    }
  }
  return absl::OkStatus();
}

absl::Status DropSeriesOrDelete(QueryContext* ctx, const std::vector<Measurement>& sources,
                                const std::optional<Expr>& condition, bool drop_series) {
  const std::string_view what = drop_series ? "DROP SERIES" : "DELETE";
  BR_ASSIGN_OR_RETURN(std::string db, MetaDatabase(ctx, "", sources));
  // Names of fields of the measurements concerned: conditions on them are refused (a
  // delete removes whole series or time ranges).
  std::set<std::string, std::less<>> fields;
  BR_ASSIGN_OR_RETURN(std::vector<std::string> names, Measurements(ctx, db, sources));
  for (const std::string& m : names) {
    BR_ASSIGN_OR_RETURN(std::vector<FieldInfo> f, ctx->db()->ListFields(db, m));
    for (const FieldInfo& fi : f) fields.insert(fi.name);
  }
  auto w = std::make_unique<MetaWhere>();
  WhereContext wc;
  wc.now = ctx->now();
  wc.is_tag = [&fields](std::string_view name) { return !fields.contains(name); };
  BR_ASSIGN_OR_RETURN(w->split, SplitWhere(condition ? &*condition : nullptr, wc));
  if (w->split.row_condition) {
    return SemanticError(w->split.row_condition->pos,
                         StrCat(what, " supports only tag conditions and a time range in WHERE"));
  }
  if (drop_series && (w->split.min_time != kMinTime || w->split.max_time != kMaxTime)) {
    return SemanticError(condition->pos, "DROP SERIES doesn't support time in WHERE clause");
  }
  if (w->split.series_condition) BR_RETURN_IF_ERROR(w->regexes.Compile(*w->split.series_condition));
  if (w->split.EmptyTimeRange()) return absl::OkStatus();
  return DeleteWhere(ctx, db, sources, *w, w->split.min_time, w->split.max_time);
}

}  // namespace

absl::StatusOr<std::vector<ResultSeries>> ExecuteMeta(QueryContext* ctx,
                                                      const Statement& statement) {
  if (std::holds_alternative<ShowDatabasesStatement>(statement)) return ShowDatabases(ctx);
  if (const auto* s = std::get_if<ShowMeasurementsStatement>(&statement)) {
    return ShowMeasurements(ctx, *s);
  }
  if (const auto* s = std::get_if<ShowTagKeysStatement>(&statement)) return ShowTagKeys(ctx, *s);
  if (const auto* s = std::get_if<ShowTagValuesStatement>(&statement)) {
    return ShowTagValues(ctx, *s);
  }
  if (const auto* s = std::get_if<ShowFieldKeysStatement>(&statement)) {
    return ShowFieldKeys(ctx, *s);
  }
  if (const auto* s = std::get_if<ShowSeriesStatement>(&statement)) return ShowSeries(ctx, *s);
  if (const auto* s = std::get_if<ShowRetentionPoliciesStatement>(&statement)) {
    return ShowRetentionPolicies(ctx, *s);
  }
  std::vector<ResultSeries> none;
  if (const auto* s = std::get_if<CreateDatabaseStatement>(&statement)) {
    BR_RETURN_IF_ERROR(CreateDatabase(ctx, *s));
    return none;
  }
  if (const auto* s = std::get_if<DropDatabaseStatement>(&statement)) {
    absl::Status st = ctx->db()->DropDatabase(s->name);
    if (!st.ok() && !absl::IsNotFound(st)) return st;
    return none;
  }
  if (const auto* s = std::get_if<DropMeasurementStatement>(&statement)) {
    BR_ASSIGN_OR_RETURN(std::string db, ResolveDatabase(ctx, ""));
    DeleteRequest req;
    req.database = db;
    req.measurement = s->name;
    BR_RETURN_IF_ERROR(ctx->db()->Delete(req));
    return none;
  }
  if (const auto* s = std::get_if<DropSeriesStatement>(&statement)) {
    BR_RETURN_IF_ERROR(DropSeriesOrDelete(ctx, s->sources, s->condition, true));
    return none;
  }
  if (const auto* s = std::get_if<DeleteStatement>(&statement)) {
    BR_RETURN_IF_ERROR(DropSeriesOrDelete(ctx, s->sources, s->condition, false));
    return none;
  }
  return absl::InternalError("statement kind not handled");
}

}  // namespace burnrate
