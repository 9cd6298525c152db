#include "server/query_route.h"

#include <optional>
#include <string>
#include <utility>

namespace burnrate {
namespace {

// The query layer's view of the server's response stream.
class StreamAdapter final : public QueryResponseStream {
 public:
  explicit StreamAdapter(ResponseStream* stream) : stream_(stream) {}
  bool Start(int status, const std::string& content_type) override {
    return stream_->Start(status, content_type);
  }
  bool Write(std::string data) override { return stream_->Write(std::move(data)); }

 private:
  ResponseStream* const stream_;
};

}  // namespace

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
    std::optional<StreamAdapter> stream;
    if (p.stream != nullptr) r.stream = &stream.emplace(p.stream);
    QueryHttpResponse out = RunQueryRequest(db, r, options);
    HttpResponse response;
    response.streamed = out.streamed;
    response.status = out.status;
    response.content_type = std::move(out.content_type);
    response.body = std::move(out.body);
    return response;
  };
}

}  // namespace burnrate
