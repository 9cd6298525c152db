// Query(): parse, authorise, then run each statement in order.
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "burnrate/db.h"
#include "query/exec_context.h"
#include "query/meta_exec.h"
#include "query/parser.h"
#include "query/query_stream.h"
#include "query/select_exec.h"

// Last: the function Query hides the syntax tree's type of that name (see the header).
#include "burnrate/query.h"

namespace burnrate {
namespace {

struct Need {
  QueryAccess access;
  std::string database;
};

void SelectNeeds(const SelectStatement& s, const std::string& default_db, std::vector<Need>* out) {
  for (const Source& src : s.sources) {
    if (const auto* sub = std::get_if<Subquery>(&src)) {
      SelectNeeds(*sub->select, default_db, out);
    } else {
      const Measurement& m = std::get<Measurement>(src);
      out->push_back(Need{QueryAccess::kRead, m.database.empty() ? default_db : m.database});
    }
  }
}

std::string OnOrDefault(const std::string& on, const std::vector<Measurement>& sources,
                        const std::string& default_db) {
  if (!on.empty()) return on;
  for (const Measurement& m : sources) {
    if (!m.database.empty()) return m.database;
  }
  return default_db;
}

// What a statement needs, and whether it changes data (refused by read_only).
std::vector<Need> Needs(const Statement& st, const std::string& db, bool* writes) {
  std::vector<Need> out;
  *writes = false;
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, SelectStatement>) {
          SelectNeeds(s, db, &out);
        } else if constexpr (std::is_same_v<T, ExplainStatement>) {
          SelectNeeds(s.select, db, &out);
        } else if constexpr (std::is_same_v<T, ShowDatabasesStatement>) {
          // Filtered per database while listing.
        } else if constexpr (std::is_same_v<T, ShowMeasurementsStatement> ||
                             std::is_same_v<T, ShowRetentionPoliciesStatement>) {
          out.push_back(Need{QueryAccess::kRead, s.database.empty() ? db : s.database});
        } else if constexpr (std::is_same_v<T, ShowTagKeysStatement> ||
                             std::is_same_v<T, ShowTagValuesStatement> ||
                             std::is_same_v<T, ShowFieldKeysStatement> ||
                             std::is_same_v<T, ShowSeriesStatement>) {
          out.push_back(Need{QueryAccess::kRead, OnOrDefault(s.database, s.sources, db)});
        } else if constexpr (std::is_same_v<T, CreateDatabaseStatement> ||
                             std::is_same_v<T, DropDatabaseStatement>) {
          *writes = true;
          out.push_back(Need{QueryAccess::kAdmin, s.name});
        } else if constexpr (std::is_same_v<T, DropMeasurementStatement>) {
          *writes = true;
          out.push_back(Need{QueryAccess::kWrite, db});
        } else {
          *writes = true;
          out.push_back(Need{QueryAccess::kWrite, OnOrDefault("", s.sources, db)});
        }
      },
      st);
  return out;
}

std::string StatementKind(const Statement& st) {
  const std::string text = ToString(st);
  // The leading keywords ("CREATE DATABASE", "DROP SERIES", "DELETE").
  size_t end = text.find(' ');
  if (end != std::string::npos && !text.starts_with("DELETE")) end = text.find(' ', end + 1);
  return text.substr(0, end);
}

StatementResult RunStatement(QueryContext* ctx, const Statement& st, int id) {
  StatementResult r;
  r.statement_id = id;
  ctx->ResetMemory();
  absl::Status status;
  if (const auto* s = std::get_if<SelectStatement>(&st)) {
    absl::StatusOr<SelectOutput> out = ExecuteSelect(ctx, *s);
    if (out.ok()) {
      r.series = std::move(out->series);
      r.messages = std::move(out->messages);
      r.partial = out->partial;
    }
    status = out.status();
  } else if (const auto* e = std::get_if<ExplainStatement>(&st)) {
    absl::StatusOr<SelectOutput> out =
        ExecuteSelect(ctx, e->select, e->analyze ? ExplainMode::kAnalyze : ExplainMode::kExplain);
    if (out.ok()) r.series = std::move(out->series);
    status = out.status();
  } else {
    absl::StatusOr<std::vector<ResultSeries>> out = ExecuteMeta(ctx, st);
    if (out.ok()) r.series = std::move(*out);
    status = out.status();
  }
  if (!status.ok()) {
    r.series.clear();
    r.partial = false;
    r.status = std::move(status);
  }
  return r;
}

}  // namespace

absl::Status QueryStatements(
    Db* db, std::string_view text, const QueryOptions& options,
    const std::function<absl::Status(StatementResult&& result)>& on_statement) {
  if (db == nullptr) return absl::InvalidArgumentError("Query: no database handle");
  auto parsed = ParseQuery(text);
  if (!parsed.ok()) return parsed.status();
  for (const Statement& st : parsed->statements) {
    bool writes = false;
    const std::vector<Need> needs = Needs(st, options.database, &writes);
    if (writes && options.read_only) {
      return absl::PermissionDeniedError(
          StrCat(StatementKind(st), " changes data and is not allowed in a read-only query ",
                 "(send it with POST)"));
    }
    if (options.authorize) {
      for (const Need& n : needs) BR_RETURN_IF_ERROR(options.authorize(n.access, n.database));
    }
  }
  const TimestampNs now = options.now ? *options.now : absl::ToUnixNanos(absl::Now());
  QueryContext ctx(db, options, now);
  for (size_t i = 0; i < parsed->statements.size(); ++i) {
    StatementResult r = RunStatement(&ctx, parsed->statements[i], static_cast<int>(i));
    const bool failed = !r.status.ok();
    BR_RETURN_IF_ERROR(on_statement(std::move(r)));
    if (failed) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<QueryResult> Query(Db* db, std::string_view text, const QueryOptions& options) {
  QueryResult result;
  result.epoch = options.epoch;
  BR_RETURN_IF_ERROR(QueryStatements(db, text, options, [&](StatementResult&& r) {
    result.results.push_back(std::move(r));
    return absl::OkStatus();
  }));
  return result;
}

}  // namespace burnrate
