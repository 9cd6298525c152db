#include "query/http_query.h"

#include <string>
#include <utility>

#include "base/str_cat.h"
#include "query/query_stream.h"
#include "query/result_util.h"

// Last: the function Query hides the syntax tree's type of that name.
#include "burnrate/query.h"

namespace burnrate {
namespace {

QueryHttpResponse Error(const QueryHttpRequest& request, int status, const absl::Status& error) {
  QueryHttpResponse r;
  r.status = status;
  if (request.csv) {
    r.content_type = "text/csv";
    r.body = QueryErrorToCsv(error);
  } else {
    r.body = QueryErrorToJson(error, ResultFormat{request.pretty});
  }
  return r;
}

bool IsEmptyParams(std::string_view p) {
  for (char c : p) {
    if (c != ' ' && c != '{' && c != '}' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

// The answer to a query refused as a whole (nothing ran).
QueryHttpResponse Refused(const QueryHttpRequest& request, const absl::Status& status,
                          bool forbidden) {
  if (forbidden) return Error(request, 403, status);
  if (absl::IsPermissionDenied(status)) return Error(request, 405, status);
  return Error(request, 400, status);
}

// Chunked JSON sent while the query runs: the response starts with the first statement's
// result, so a refusal (parse error, authorisation) still gets its 4xx.
QueryHttpResponse RunStreamed(Db* db, const QueryHttpRequest& request, const QueryOptions& qo,
                              const bool* forbidden) {
  QueryResponseStream* stream = request.stream;
  const ResultFormat format{request.pretty};
  bool started = false;
  const absl::Status status =
      QueryStatements(db, request.q, qo, [&](StatementResult&& r) -> absl::Status {
        if (!started) {
          started = true;
          if (!stream->Start(200, "application/json")) {
            return absl::CancelledError("client went away");
          }
        }
        if (!StatementToJsonChunks(r, qo.epoch, request.chunk_size, format, [&](std::string doc) {
              return stream->Write(std::move(doc));
            })) {
          return absl::CancelledError("client went away");
        }
        return absl::OkStatus();
      });
  if (!started) {
    if (!status.ok()) return Refused(request, status, *forbidden);
    // No statement ran (empty text): an empty result, as InfluxDB answers.
    QueryHttpResponse r;
    r.body = "{\"results\":[]}\n";
    return r;
  }
  QueryHttpResponse r;
  r.streamed = true;
  return r;
}

}  // namespace

QueryHttpResponse RunQueryRequest(Db* db, const QueryHttpRequest& request,
                                  const QueryHttpOptions& options) {
  if (request.q.empty()) {
    return Error(request, 400, absl::InvalidArgumentError("missing required parameter \"q\""));
  }
  if (!IsEmptyParams(request.params)) {
    return Error(request, 400,
                 absl::InvalidArgumentError("bound parameters (params) are not supported"));
  }
  absl::StatusOr<EpochPrecision> epoch = ParseEpochPrecision(request.epoch);
  if (!epoch.ok()) return Error(request, 400, epoch.status());
  if (!request.rp.empty() && request.rp != "autogen") {
    return Error(request, 400,
                 absl::NotFoundError(StrCat("retention policy not found: ", request.rp)));
  }

  QueryOptions qo;
  qo.database = request.db;
  qo.now = request.now_ns;
  qo.epoch = *epoch;
  qo.max_memory_bytes = options.max_memory_bytes;
  qo.timeout = options.timeout;
  qo.max_rows = options.max_rows;
  qo.threads = options.threads;
  qo.read_only = !request.is_post;
  bool forbidden = false;
  if (request.allowed) {
    qo.authorize = [&](QueryAccess access, std::string_view database) {
      if (request.allowed(access, database)) return absl::OkStatus();
      forbidden = true;
      const char* need = access == QueryAccess::kRead    ? "READ"
                         : access == QueryAccess::kWrite ? "WRITE"
                                                         : "ADMIN";
      return absl::PermissionDeniedError(
          database.empty() || access == QueryAccess::kAdmin
              ? StrCat("error authorizing query: requires ", need, " privileges")
              : StrCat("error authorizing query: requires ", need, " on ", database));
    };
  }
  if (request.chunked && !request.csv && request.stream != nullptr) {
    return RunStreamed(db, request, qo, &forbidden);
  }
  absl::StatusOr<QueryResult> result = Query(db, request.q, qo);
  if (!result.ok()) return Refused(request, result.status(), forbidden);
  QueryHttpResponse r;
  if (request.csv) {
    r.content_type = "text/csv";
    r.body = QueryResultToCsv(*result);
  } else if (request.chunked) {
    r.body = QueryResultToJsonChunked(*result, request.chunk_size, ResultFormat{request.pretty});
  } else {
    r.body = QueryResultToJson(*result, ResultFormat{request.pretty});
  }
  return r;
}

}  // namespace burnrate
