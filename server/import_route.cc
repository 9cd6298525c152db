#include "server/import_route.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "base/json_string.h"
#include "base/str_cat.h"
#include "ingest/billing_csv.h"
#include "ingest/billing_input.h"

namespace burnrate {
namespace {

constexpr std::string_view kDefaultDatabase = "billing";
constexpr std::string_view kDefaultName = "upload";

HttpResponse ImportError(int status, std::string_view message, std::string_view extra = {}) {
  HttpResponse r;
  r.status = status;
  r.body = StrCat("{\"error\":", JsonString(message), extra, "}");
  return r;
}

bool ParseBool(std::string_view text, bool* out) {
  if (text == "true" || text == "1") {
    *out = true;
  } else if (text == "false" || text == "0" || text.empty()) {
    *out = false;
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::string ImportDatabase(const UrlParams& params) {
  std::string db = params.Get("db");
  return db.empty() ? std::string(kDefaultDatabase) : db;
}

absl::StatusOr<ImportOptions> ParseImportParams(const UrlParams& params, HttpResponse* error) {
  const auto fail = [&](std::string message) {
    *error = ImportError(400, message);
    return absl::InvalidArgumentError(message);
  };
  ImportOptions o;
  if (const std::string* format = params.Find("format"); format != nullptr && !format->empty()) {
    absl::StatusOr<BillingFormat> f = ParseBillingFormat(*format);
    if (!f.ok()) return fail(std::string(f.status().message()));
    o.format = *f;
  }
  const std::string dataset = params.Get("azure_dataset");
  if (dataset == "actual") {
    o.azure_dataset = AzureDataset::kActual;
  } else if (dataset == "amortized") {
    o.azure_dataset = AzureDataset::kAmortized;
  } else if (!dataset.empty() && dataset != "auto") {
    return fail(StrCat("unknown azure_dataset \"", dataset, "\" (auto, actual, amortized)"));
  }
  if (!ParseBool(params.Get("skip_bad_rows"), &o.skip_bad_rows)) {
    return fail(
        StrCat("invalid skip_bad_rows \"", params.Get("skip_bad_rows"), "\" (true or false)"));
  }
  if (const std::string* n = params.Find("max_errors"); n != nullptr && !n->empty()) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(n->c_str(), &end, 10);
    if (end == n->c_str() || *end != '\0' || n->front() == '-') {
      return fail(StrCat("invalid max_errors \"", *n, "\" (a count)"));
    }
    o.max_reported_errors = static_cast<size_t>(v);
  }
  o.export_name = params.Get("export");
  return o;
}

HttpResponse HandleImport(Db* db, ImportRequest request) {
  const std::string name = request.name.empty() ? std::string(kDefaultName) : request.name;
  const std::string encoding = absl::AsciiStrToLower(request.content_encoding);
  const bool gzip = encoding == "gzip" || encoding == "x-gzip";
  if (!gzip && !encoding.empty() && encoding != "identity") {
    return ImportError(415, StrCat("unsupported Content-Encoding \"", request.content_encoding,
                                   "\" (use gzip or none)"));
  }
  std::shared_ptr<RandomAccessBytes> bytes;
  if (!request.body_file.empty()) {
    absl::StatusOr<std::shared_ptr<RandomAccessBytes>> file =
        OpenRandomAccessFile(request.body_file, name);
    if (!file.ok()) {
      return ImportError(500, StrCat("reading the spooled body: ", file.status().message()));
    }
    bytes = *std::move(file);
  } else {
    bytes = NewRandomAccessBuffer(name, request.body);
  }
  const uint64_t body_bytes = bytes->size();
  absl::StatusOr<ImportSummary> summary;
  if (gzip) {
    // Inflated as it is read: the decompressed body is never held whole.
    std::unique_ptr<ByteStream> body = NewGzipStream(NewRangeStream(bytes, 0, body_bytes), name);
    summary = ImportBillingStream(db, request.database, name, std::move(body), request.options);
  } else {
    summary = ImportBillingBytes(db, request.database, std::move(bytes), request.options);
  }
  if (summary.ok()) {
    // A stream does not know its size up front; the body is what was sent.
    if (summary->source_bytes == 0) summary->source_bytes = body_bytes;
    HttpResponse r;
    r.body = ImportSummaryToJson(*summary);
    return r;
  }
  const absl::Status& s = summary.status();
  const std::string message(s.message());
  std::string extra = ",\"imported\":false";
  if (std::optional<InputPosition> p = InputPositionOf(s)) {
    StrAppend(&extra, ",\"file\":", JsonString(p->file), ",\"line\":", p->line,
              ",\"column\":", p->column);
  }
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
      return ImportError(400, message, extra);
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable: {
      HttpResponse r = ImportError(503, message, extra);
      r.headers.emplace_back("Retry-After", StrCat(request.retry_after_seconds));
      return r;
    }
    default:
      return ImportError(500, message, extra);
  }
}

}  // namespace burnrate
