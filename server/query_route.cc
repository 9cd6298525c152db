#include "server/query_route.h"

#include <utility>

namespace burnrate {

QueryHandler MakeQueryHandler(Db* db, const QueryHttpOptions& options) {
  return [db, options](const QueryRequestParams& p) {
    QueryHttpRequest r;
    r.is_post = p.is_post;
    r.db = p.db;
    r.rp = p.rp;
    r.q = p.q;
    r.epoch = p.epoch;
    r.pretty = p.pretty;
    r.chunked = p.chunked;
    r.chunk_size = p.chunk_size;
    r.params = p.params;
    r.csv = p.format == QueryFormat::kCsv;
    r.now_ns = p.now_ns;
    if (p.allowed) {
      r.allowed = [allowed = p.allowed](QueryAccess access, std::string_view database) {
        switch (access) {
          case QueryAccess::kRead:
            return allowed(Access::kRead, database);
          case QueryAccess::kWrite:
            return allowed(Access::kWrite, database);
          case QueryAccess::kAdmin:
            return allowed(Access::kAdmin, database);
        }
        return false;
      };
    }
    QueryHttpResponse out = RunQueryRequest(db, r, options);
    HttpResponse response;
    response.status = out.status;
    response.content_type = std::move(out.content_type);
    response.body = std::move(out.body);
    return response;
  };
}

}  // namespace burnrate
