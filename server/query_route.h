#pragma once

#include "burnrate/db.h"
#include "query/http_query.h"
#include "server/query_handler.h"

namespace burnrate {

// The /query handler: runs each request on db through the query layer
// (query/http_query.h) with the given limits. The Db must outlive the handler.
// The handler is thread-safe.
QueryHandler MakeQueryHandler(Db* db, const QueryHttpOptions& options = {});

}  // namespace burnrate
