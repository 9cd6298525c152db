#include "server/write_endpoint.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "base/json_string.h"
#include "base/str_cat.h"
#include "burnrate/write_batch.h"
#include "ingest/line_protocol.h"
#include "server/gzip.h"

namespace burnrate {
namespace {

std::string_view V2Code(int status) {
  switch (status) {
    case 400:
      return "invalid";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 413:
      return "request too large";
    case 415:
      return "unsupported media type";
    case 422:
      return "unprocessable entity";
    case 429:
      return "too many requests";
    case 503:
      return "unavailable";
    default:
      return "internal error";
  }
}

// The 1.x precision names (`us` is refused, as InfluxDB 1.x does) or the 2.x ones.
bool ParseWritePrecision(WriteApi api, std::string_view name, Precision* precision,
                         std::string* error) {
  bool allowed;
  if (api == WriteApi::kV1) {
    allowed = name.empty() || name == "n" || name == "ns" || name == "u" || name == "ms" ||
              name == "s" || name == "m" || name == "h";
    if (!allowed) *error = StrCat("invalid precision \"", name, "\" (use n, u, ms, s, m or h)");
  } else {
    allowed = name.empty() || name == "ns" || name == "us" || name == "ms" || name == "s";
    if (!allowed) *error = StrCat("invalid precision \"", name, "\" (use ns, us, ms or s)");
  }
  if (!allowed) return false;
  absl::StatusOr<Precision> p = ParsePrecision(name);
  if (!p.ok()) {
    *error = std::string(p.status().message());
    return false;
  }
  *precision = *p;
  return true;
}

// "unable to parse '<line>': line N, column C: reason", as InfluxDB words it (with the
// position added).
std::string DescribeLineError(const LineProtocolError& e) {
  return StrCat("unable to parse '", e.text, "': ", e.ToString());
}

std::string DescribeInvalidLines(const ParseReport& report) {
  std::string message = DescribeLineError(report.errors.front());
  if (report.invalid_lines > 1) {
    StrAppend(&message, " (and ", report.invalid_lines - 1, " more invalid line",
              report.invalid_lines == 2 ? "" : "s", ")");
  }
  return message;
}

// burnrate's additions to a 400 body: where the first error is, and what was done.
std::string LineErrorMembers(const ParseReport& report, size_t written) {
  std::string out;
  if (!report.errors.empty()) StrAppend(&out, ",\"line\":", report.errors.front().line);
  StrAppend(&out, ",\"written\":", written, ",\"rejected\":", report.invalid_lines);
  return out;
}

std::string_view MessageOf(const absl::Status& status) {
  return std::string_view(status.message().data(), status.message().size());
}

HttpResponse Unavailable(WriteApi api, std::string_view message, int retry_after) {
  HttpResponse r = WriteErrorResponse(api, 503, message);
  r.headers.emplace_back("Retry-After", StrCat(retry_after));
  return r;
}

HttpResponse DatabaseNotFound(WriteApi api, std::string_view database) {
  return WriteErrorResponse(api, 404,
                            api == WriteApi::kV1 ? StrCat("database not found: \"", database, "\"")
                                                 : StrCat("bucket \"", database, "\" not found"));
}

}  // namespace

HttpResponse WriteErrorResponse(WriteApi api, int status, std::string_view message,
                                std::string_view extra_members) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  if (api == WriteApi::kV1) {
    r.body = StrCat("{\"error\":", JsonString(message), extra_members, "}");
  } else {
    r.body = StrCat("{\"code\":", JsonString(V2Code(status)), ",\"message\":", JsonString(message),
                    extra_members, "}");
  }
  return r;
}

absl::StatusOr<WriteTarget> ResolveWriteTarget(WriteApi api, const UrlParams& params,
                                               HttpResponse* error) {
  WriteTarget target;
  if (api == WriteApi::kV1) {
    target.database = params.Get("db");
    target.retention_policy = params.Get("rp");
    if (target.database.empty()) {
      *error = WriteErrorResponse(api, 400, "database is required");
      return absl::InvalidArgumentError("database is required");
    }
  } else {
    const std::string bucket = params.Get("bucket");
    if (bucket.empty()) {
      *error = WriteErrorResponse(api, 400, "bucket is required");
      return absl::InvalidArgumentError("bucket is required");
    }
    const size_t slash = bucket.find('/');
    target.database = bucket.substr(0, slash);
    if (slash != std::string::npos) target.retention_policy = bucket.substr(slash + 1);
    if (target.database.empty()) {
      *error = WriteErrorResponse(api, 400, "bucket is required");
      return absl::InvalidArgumentError("bucket is required");
    }
  }
  if (!target.retention_policy.empty() && target.retention_policy != "autogen") {
    const std::string message =
        StrCat("retention policy not found: ", target.retention_policy,
               " (burnrate has one retention policy per database, \"autogen\")");
    *error = WriteErrorResponse(api, 404, message);
    return absl::NotFoundError(message);
  }
  return target;
}

HttpResponse HandleWrite(Db* db, WriteRequest request, const WriteEndpointOptions& options,
                         int retry_after_seconds, ServerMetrics* metrics) {
  const WriteApi api = request.api;
  const UrlParams& params = request.params;

  LineProtocolOptions lp;
  std::string precision_error;
  if (!ParseWritePrecision(api, params.Get("precision"), &lp.precision, &precision_error)) {
    return WriteErrorResponse(api, 400, precision_error);
  }
  bool partial = options.partial_writes;
  if (const std::string* p = params.Find("accept_partial")) {
    if (*p == "true" || *p == "1") {
      partial = true;
    } else if (*p == "false" || *p == "0") {
      partial = false;
    } else {
      return WriteErrorResponse(api, 400,
                                StrCat("invalid accept_partial \"", *p, "\" (use true or false)"));
    }
  }
  lp.on_error = partial ? LineErrorPolicy::kSkipInvalidLines : LineErrorPolicy::kRejectBatch;
  lp.default_time = request.now_ns;
  lp.max_line_bytes = options.max_line_bytes;

  std::string inflated;
  std::string_view body = request.body;
  const std::string encoding = absl::AsciiStrToLower(
      absl::string_view(request.content_encoding.data(), request.content_encoding.size()));
  if (encoding == "gzip" || encoding == "x-gzip") {
    absl::StatusOr<std::string> out = Gunzip(request.body, options.max_decompressed_bytes);
    if (!out.ok()) {
      const int status = absl::IsResourceExhausted(out.status()) ? 413 : 400;
      return WriteErrorResponse(api, status, MessageOf(out.status()));
    }
    inflated = std::move(out).value();
    body = inflated;
  } else if (!encoding.empty() && encoding != "identity") {
    return WriteErrorResponse(
        api, 415, StrCat("unsupported Content-Encoding \"", encoding, "\" (use gzip or identity)"));
  }

  WriteBatch batch(request.target.database);
  ParseReport report;
  const absl::Status parsed = ParseLineProtocolInto(body, lp, &batch, &report);
  metrics->write_rejected_lines.fetch_add(report.invalid_lines, std::memory_order_relaxed);
  if (!parsed.ok() && report.errors.empty()) {
    return WriteErrorResponse(api, 400, MessageOf(parsed));
  }
  if (!parsed.ok() && (!partial || batch.empty())) {
    return WriteErrorResponse(api, 400, DescribeInvalidLines(report), LineErrorMembers(report, 0));
  }

  if (!batch.empty()) {
    const absl::Status written = db->Write(WriteOptions(), batch);
    if (!written.ok()) {
      switch (written.code()) {
        case absl::StatusCode::kInvalidArgument:
          return WriteErrorResponse(api, 400, MessageOf(written));
        case absl::StatusCode::kNotFound:
          return DatabaseNotFound(api, request.target.database);
        case absl::StatusCode::kResourceExhausted:
        case absl::StatusCode::kUnavailable:
        case absl::StatusCode::kFailedPrecondition:
          return Unavailable(api, MessageOf(written), retry_after_seconds);
        default:
          return WriteErrorResponse(api, 500, MessageOf(written));
      }
    }
    metrics->write_points.fetch_add(batch.point_count(), std::memory_order_relaxed);
  }

  if (batch.empty()) {
    // Nothing to apply, but an unknown database is still an error, as in InfluxDB.
    absl::StatusOr<std::vector<DatabaseInfo>> dbs = db->ListDatabases();
    if (dbs.ok()) {
      bool found = false;
      for (const DatabaseInfo& d : *dbs) found = found || d.name == request.target.database;
      if (!found) {
        return DatabaseNotFound(api, request.target.database);
      }
    }
  }
  if (!parsed.ok()) {
    return WriteErrorResponse(api, 400, StrCat("partial write: ", DescribeInvalidLines(report)),
                              LineErrorMembers(report, batch.point_count()));
  }
  HttpResponse ok;
  ok.status = 204;
  ok.content_type.clear();
  return ok;
}

}  // namespace burnrate
