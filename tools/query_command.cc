#include "tools/query_command.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "burnrate/db.h"
#include "burnrate/options.h"
#include "burnrate/query_result.h"
#include "ingest/billing_literal.h"
#include "query/format.h"
#include "tools/http_client.h"

// Last: the function Query hides the query layer's syntax-tree type of that name.
#include "burnrate/query.h"

namespace burnrate {
namespace {

// ---------------------------------------------------------------------------------------
// /query responses, read with the loose JSON reader the billing importer uses: numbers keep
// their text, so exact decimals (money) print exactly as the server wrote them.

using Json = LooseValue;

absl::StatusOr<Json> ReadJson(std::string_view body) {
  absl::StatusOr<Json> doc = ParseLooseValue(body);
  if (!doc.ok()) {
    return absl::DataLossError(
        StrCat("cannot read the server's JSON response: ", doc.status().message()));
  }
  return doc;
}

bool IsTrue(const Json* v) {
  return v != nullptr && v->kind == Json::Kind::kBool && v->text == "true";
}

// The cell text of a value in a table: strings unquoted, null empty.
std::string Cell(const Json& v) {
  switch (v.kind) {
    case Json::Kind::kNull:
      return "";
    case Json::Kind::kBool:
    case Json::Kind::kNumber:
    case Json::Kind::kString:
      return v.text;
    default:
      return "(nested)";
  }
}

// ---------------------------------------------------------------------------------------
// Helpers (Debian's Abseil has its own string_view, so these stay in std::string_view)

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

std::string_view Strip(std::string_view text) {
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

absl::StatusOr<EpochPrecision> PrecisionToEpoch(const std::string& precision) {
  if (precision == "rfc3339" || precision.empty()) return EpochPrecision::kRfc3339;
  return ParseEpochPrecision(precision);
}

std::string EpochParam(const std::string& precision) {
  return precision == "rfc3339" ? std::string() : precision;
}

std::string CellText(const ResultValue& v, EpochPrecision epoch) {
  if (v.kind() == ResultValue::Kind::kNull) return "";
  if (v.kind() == ResultValue::Kind::kTime) {
    if (epoch == EpochPrecision::kRfc3339) return FormatRfc3339Nano(v.time(), v.utc_offset_s());
    return StrCat(v.time() / EpochDivisor(epoch));
  }
  return v.ToString();
}

void AddPartialNote(bool partial, int statement_id, std::vector<std::string>* notes) {
  if (partial) {
    notes->push_back(StrCat("statement ", statement_id,
                            ": partial result (rows cut off by the server's row limit)"));
  }
}

// One statement of a /query JSON response.
void ReadStatement(const Json& r, std::vector<TextSeries>* table, QueryOutput* out) {
  int id = 0;
  if (const Json* s = r.Find("statement_id")) id = std::atoi(s->text.c_str());
  if (const Json* series = r.Find("series")) {
    for (const Json& s : series->items) {
      TextSeries t;
      if (const Json* n = s.Find("name")) t.name = Cell(*n);
      if (const Json* tags = s.Find("tags")) {
        for (const auto& [k, v] : tags->members) t.tags.emplace_back(k, Cell(v));
      }
      if (const Json* cols = s.Find("columns")) {
        for (const Json& c : cols->items) t.columns.push_back(Cell(c));
      }
      if (const Json* values = s.Find("values")) {
        for (const Json& row : values->items) {
          std::vector<std::string> cells;
          cells.reserve(row.items.size());
          for (const Json& c : row.items) cells.push_back(Cell(c));
          t.rows.push_back(std::move(cells));
        }
      }
      if (const Json* p = s.Find("partial")) t.partial = IsTrue(p);
      table->push_back(std::move(t));
    }
  }
  if (const Json* messages = r.Find("messages")) {
    for (const Json& m : messages->items) {
      const Json* level = m.Find("level");
      const Json* text = m.Find("text");
      out->notes.push_back(StrCat(level ? Cell(*level) : "info", ": ", text ? Cell(*text) : ""));
    }
  }
  const Json* partial = r.Find("partial");
  AddPartialNote(IsTrue(partial), id, &out->notes);
  if (const Json* e = r.Find("error")) out->errors.push_back(Cell(*e));
}

// ---------------------------------------------------------------------------------------
// HTTP backend

// Statements as POST /query requests over one keep-alive connection; tables are built
// from the JSON response, CSV and JSON are the server's bytes. Not thread-safe.
class HttpBackend final : public QueryBackend {
 public:
  HttpBackend(std::string url_text, HttpUrl url, std::string token, absl::Duration timeout)
      : url_text_(std::move(url_text)),
        client_(std::move(url), timeout),
        token_(std::move(token)) {}

  absl::StatusOr<QueryOutput> Run(std::string_view statements, const std::string& database,
                                  QueryOutputFormat format, const std::string& precision,
                                  bool pretty) override {
    std::string body = StrCat("q=", UrlEncode(statements));
    if (!database.empty()) StrAppend(&body, "&db=", UrlEncode(database));
    if (const std::string epoch = EpochParam(precision); !epoch.empty()) {
      StrAppend(&body, "&epoch=", UrlEncode(epoch));
    }
    if (pretty && format == QueryOutputFormat::kJson) body.append("&pretty=true");
    HttpHeaders headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    if (!token_.empty()) headers.emplace_back("Authorization", StrCat("Token ", token_));
    if (format == QueryOutputFormat::kCsv) headers.emplace_back("Accept", "application/csv");
    // POST: InfluxDB refuses statements that change data over GET.
    absl::StatusOr<HttpClientResponse> response = client_.Post("/query", body, headers);
    if (!response.ok()) return response.status();
    if (response->status != 200) return HttpError(*response);

    QueryOutput out;
    if (format == QueryOutputFormat::kCsv) {
      out.text = response->body;
      CsvErrors(response->body, &out.errors);
      return out;
    }
    std::vector<TextSeries> table;
    BR_RETURN_IF_ERROR(ReadQueryResponseJson(response->body, &table, &out));
    if (format == QueryOutputFormat::kJson) {
      out.text = response->body;
    } else {
      out.text = RenderTable(table);
    }
    return out;
  }

  std::string Describe() override {
    absl::StatusOr<HttpClientResponse> ping = client_.Get("/ping");
    if (!ping.ok()) return StrCat("cannot reach ", url_text_, ": ", Message(ping.status()));
    std::string version = ping->Header("X-Influxdb-Version");
    std::string server = ping->Header("Server");
    return StrCat("Connected to ", url_text_, server.empty() ? "" : StrCat(" (", server, ")"),
                  version.empty() ? "" : StrCat(", InfluxDB API version ", version));
  }

 private:
  static absl::Status HttpError(const HttpClientResponse& response) {
    std::string message;
    if (absl::StatusOr<Json> doc = ReadJson(response.body); doc.ok()) {
      if (const Json* e = doc->Find("error")) message = Cell(*e);
      if (message.empty()) {
        if (const Json* e = doc->Find("message")) message = Cell(*e);
      }
    } else if (absl::StartsWith(response.body, "error\n")) {
      message = response.body.substr(6);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      if (message.size() >= 2 && message.front() == '"' && message.back() == '"') {
        message = message.substr(1, message.size() - 2);
      }
    } else {
      message = response.body.substr(0, 200);
    }
    const std::string what = StrCat("HTTP ", response.status, message.empty() ? "" : ": ", message);
    switch (response.status) {
      case 400:
        return absl::InvalidArgumentError(message.empty() ? what : message);
      case 401:
        return absl::UnauthenticatedError(
            StrCat(what, " (give a token with --token or $BURNRATE_TOKEN)"));
      case 403:
        return absl::PermissionDeniedError(what);
      case 404:
        return absl::NotFoundError(what);
      default:
        return absl::UnavailableError(what);
    }
  }

  // Statement errors in InfluxDB's CSV: a record "error" starting a block, then the message.
  static void CsvErrors(const std::string& csv, std::vector<std::string>* errors) {
    size_t at = 0;
    bool block_start = true;
    while (at < csv.size()) {
      size_t end = csv.find('\n', at);
      if (end == std::string::npos) end = csv.size();
      const std::string_view line(csv.data() + at, end - at);
      if (block_start && line == "error") {
        size_t next = std::min(csv.size(), end + 1);
        size_t next_end = csv.find('\n', next);
        if (next_end == std::string::npos) next_end = csv.size();
        std::string message = csv.substr(next, next_end - next);
        if (message.size() >= 2 && message.front() == '"' && message.back() == '"') {
          message = message.substr(1, message.size() - 2);
        }
        errors->push_back(std::move(message));
      }
      block_start = line.empty();
      at = end + 1;
    }
  }

  const std::string url_text_;
  HttpClient client_;
  const std::string token_;
};

// ---------------------------------------------------------------------------------------
// Embedded backend

// Statements run through burnrate::Query on a Db this backend owns (opened on a data
// directory no server holds); the embedded API's writers print CSV and JSON. Not
// thread-safe.
class EmbeddedBackend final : public QueryBackend {
 public:
  EmbeddedBackend(std::string dir, std::unique_ptr<Db> db)
      : dir_(std::move(dir)), db_(std::move(db)) {}
  ~EmbeddedBackend() override { (void)Close(); }

  absl::StatusOr<QueryOutput> Run(std::string_view statements, const std::string& database,
                                  QueryOutputFormat format, const std::string& precision,
                                  bool pretty) override {
    if (db_ == nullptr) return absl::FailedPreconditionError("the data directory is closed");
    QueryOptions qo;
    qo.database = database;
    absl::StatusOr<EpochPrecision> epoch = PrecisionToEpoch(precision);
    if (!epoch.ok()) return epoch.status();
    qo.epoch = *epoch;
    absl::StatusOr<QueryResult> result = Query(db_.get(), statements, qo);
    if (!result.ok()) return result.status();
    QueryOutput out;
    std::vector<TextSeries> table;
    for (const StatementResult& r : result->results) {
      for (const ResultMessage& m : r.messages) out.notes.push_back(StrCat(m.level, ": ", m.text));
      AddPartialNote(r.partial, r.statement_id, &out.notes);
      if (!r.status.ok()) out.errors.push_back(Message(r.status));
      if (format != QueryOutputFormat::kTable) continue;
      for (const ResultSeries& s : r.series) {
        TextSeries t;
        t.name = s.name;
        for (const Tag& tag : s.tags) t.tags.emplace_back(tag.key, tag.value);
        t.columns = s.columns;
        t.partial = s.partial;
        t.rows.reserve(s.values.size());
        for (const std::vector<ResultValue>& row : s.values) {
          std::vector<std::string> cells;
          cells.reserve(row.size());
          for (const ResultValue& v : row) cells.push_back(CellText(v, *epoch));
          t.rows.push_back(std::move(cells));
        }
        table.push_back(std::move(t));
      }
    }
    switch (format) {
      case QueryOutputFormat::kTable:
        out.text = RenderTable(table);
        break;
      case QueryOutputFormat::kCsv:
        out.text = QueryResultToCsv(*result);
        break;
      case QueryOutputFormat::kJson:
        out.text = QueryResultToJson(*result, ResultFormat{pretty});
        break;
    }
    return out;
  }

  std::string Describe() override { return StrCat("Opened data directory ", dir_, " (embedded)"); }

  absl::Status Close() override {
    if (db_ == nullptr) return absl::OkStatus();
    absl::Status s = db_->Close();
    db_.reset();
    return s;
  }

 private:
  const std::string dir_;
  std::unique_ptr<Db> db_;
};

// ---------------------------------------------------------------------------------------
// The command loop

constexpr char kHelp[] =
    "Statements: InfluxQL (SELECT, SHOW ..., CREATE DATABASE, DELETE ...), several separated\n"
    "by ';'. Commands:\n"
    "  use <db>                  run statements that name no database against <db>\n"
    "  format table|csv|json     how results are printed\n"
    "  precision rfc3339|h|m|s|ms|u|ns\n"
    "                            how times are printed\n"
    "  pretty                    toggle indented JSON\n"
    "  help                      this text\n"
    "  exit, quit, Ctrl-D        leave\n";

// The state of a `burnrate query` run: database, format, precision and pretty, which the
// commands change. Borrows the backend and the streams. Not thread-safe.
class Session {
 public:
  Session(const QueryCommandOptions& options, QueryBackend* backend, std::FILE* out, std::FILE* err)
      : backend_(backend),
        out_(out),
        err_(err),
        database_(options.database),
        precision_(options.precision),
        pretty_(options.pretty) {
    format_ = ParseQueryOutputFormat(options.format).value_or(QueryOutputFormat::kTable);
  }

  // Runs statements; false when anything failed.
  bool RunStatements(std::string_view text) {
    absl::StatusOr<QueryOutput> output =
        backend_->Run(text, database_, format_, precision_, pretty_);
    if (!output.ok()) {
      PrintError(Message(output.status()));
      return false;
    }
    std::fwrite(output->text.data(), 1, output->text.size(), out_);
    std::fflush(out_);
    for (const std::string& n : output->notes) std::fprintf(err_, "%s\n", n.c_str());
    for (const std::string& e : output->errors) PrintError(e);
    std::fflush(err_);
    return output->errors.empty();
  }

  // One line of input: a command or statements. Sets *exit for exit/quit. False when it
  // failed.
  bool RunLine(std::string_view line, bool* exit) {
    std::string_view text = Strip(line);
    if (text.empty() || text.starts_with("#") || text.starts_with("--")) return true;
    const size_t space = text.find_first_of(" \t");
    std::string word = Lower(text.substr(0, space));
    while (!word.empty() && word.back() == ';') word.pop_back();  // "exit;"
    std::string_view arg =
        space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    arg = Strip(arg);
    while (!arg.empty() && arg.back() == ';') arg.remove_suffix(1);
    if (word == "exit" || word == "quit") {
      *exit = true;
      return true;
    }
    if (word == "help") {
      std::fputs(kHelp, out_);
      std::fflush(out_);
      return true;
    }
    if (word == "use") {
      std::string db(arg);
      if (db.size() >= 2 && db.front() == '"' && db.back() == '"') db = db.substr(1, db.size() - 2);
      if (db.empty()) {
        PrintError("use: name a database (use <db>)");
        return false;
      }
      database_ = std::move(db);
      std::fprintf(out_, "Using database %s\n", database_.c_str());
      std::fflush(out_);
      return true;
    }
    if (word == "format") {
      absl::StatusOr<QueryOutputFormat> f = ParseQueryOutputFormat(arg);
      if (!f.ok()) {
        PrintError(Message(f.status()));
        return false;
      }
      format_ = *f;
      return true;
    }
    if (word == "precision") {
      const std::string p = Lower(arg);
      if (p != "rfc3339" && !PrecisionToEpoch(p).ok()) {
        PrintError(StrCat("precision: \"", arg, "\" is not one of rfc3339, h, m, s, ms, u, ns"));
        return false;
      }
      precision_ = p;
      return true;
    }
    if (word == "pretty") {
      pretty_ = !pretty_;
      std::fprintf(out_, "Pretty JSON %s\n", pretty_ ? "on" : "off");
      std::fflush(out_);
      return true;
    }
    return RunStatements(text);
  }

  const std::string& database() const { return database_; }

 private:
  void PrintError(std::string_view message) {
    std::fprintf(err_, "ERR: %.*s\n", static_cast<int>(message.size()), message.data());
    std::fflush(err_);
  }

  QueryBackend* const backend_;
  std::FILE* const out_;
  std::FILE* const err_;
  std::string database_;
  QueryOutputFormat format_ = QueryOutputFormat::kTable;
  std::string precision_;
  bool pretty_;
};

std::string DefaultHistoryFile() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return "";
  return StrCat(home, "/.burnrate_history");
}

// Reads a line of any length from a stream; false at end of input with nothing read.
bool ReadPlainLine(std::FILE* in, std::string* line) {
  line->clear();
  int c;
  bool any = false;
  while ((c = std::fgetc(in)) != EOF) {
    any = true;
    if (c == '\n') return true;
    line->push_back(static_cast<char>(c));
  }
  return any;
}

}  // namespace

absl::StatusOr<QueryOutputFormat> ParseQueryOutputFormat(std::string_view text) {
  const std::string f = Lower(text);
  if (f == "table" || f == "column") return QueryOutputFormat::kTable;
  if (f == "csv") return QueryOutputFormat::kCsv;
  if (f == "json") return QueryOutputFormat::kJson;
  return absl::InvalidArgumentError(StrCat("format \"", text, "\" is not one of table, csv, json"));
}

absl::Status ReadQueryResponseJson(std::string_view body, std::vector<TextSeries>* table,
                                   QueryOutput* out) {
  absl::StatusOr<Json> doc = ReadJson(body);
  if (!doc.ok()) return doc.status();
  if (const Json* e = doc->Find("error")) return absl::InvalidArgumentError(Cell(*e));
  if (const Json* results = doc->Find("results")) {
    for (const Json& r : results->items) ReadStatement(r, table, out);
  }
  return absl::OkStatus();
}

std::string RenderTable(const std::vector<TextSeries>& series) {
  std::string out;
  for (size_t i = 0; i < series.size(); ++i) {
    const TextSeries& s = series[i];
    if (i > 0) out.push_back('\n');
    if (!s.name.empty()) StrAppend(&out, "name: ", s.name, "\n");
    if (!s.tags.empty()) {
      out.append("tags: ");
      for (size_t t = 0; t < s.tags.size(); ++t) {
        if (t > 0) out.append(", ");
        StrAppend(&out, s.tags[t].first, "=", s.tags[t].second);
      }
      out.push_back('\n');
    }
    size_t ncols = s.columns.size();
    for (const auto& row : s.rows) ncols = std::max(ncols, row.size());
    if (ncols == 0) continue;
    std::vector<size_t> width(ncols, 0);
    auto measure = [&](const std::vector<std::string>& cells) {
      for (size_t c = 0; c < cells.size(); ++c) {
        // Display width: count UTF-8 lead bytes, not continuation bytes.
        size_t w = 0;
        for (unsigned char ch : cells[c]) w += (ch & 0xC0) != 0x80 ? 1 : 0;
        width[c] = std::max(width[c], w);
      }
    };
    measure(s.columns);
    for (const auto& row : s.rows) measure(row);
    auto line = [&](const std::vector<std::string>& cells) {
      std::string text;
      for (size_t c = 0; c < ncols; ++c) {
        const std::string empty;
        const std::string& cell = c < cells.size() ? cells[c] : empty;
        if (c > 0) text.push_back(' ');
        text.append(cell);
        if (c + 1 < ncols) {
          size_t w = 0;
          for (unsigned char ch : cell) w += (ch & 0xC0) != 0x80 ? 1 : 0;
          text.append(width[c] - w, ' ');
        }
      }
      while (!text.empty() && text.back() == ' ') text.pop_back();
      out.append(text);
      out.push_back('\n');
    };
    line(s.columns);
    std::vector<std::string> dashes;
    dashes.reserve(s.columns.size());
    for (const std::string& c : s.columns) {
      size_t w = 0;
      for (unsigned char ch : c) w += (ch & 0xC0) != 0x80 ? 1 : 0;
      dashes.emplace_back(w, '-');
    }
    line(dashes);
    for (const auto& row : s.rows) line(row);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<QueryBackend>> OpenQueryBackend(const QueryCommandOptions& options) {
  if (!options.data_dir.empty()) {
    Options o;
    o.create_if_missing = false;
    o.info_log = [](std::string_view) {};
    absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(options.data_dir, o);
    if (!db.ok()) {
      if (absl::IsFailedPrecondition(db.status()) &&
          absl::StrContains(db.status().message(), "lock")) {
        return absl::FailedPreconditionError(
            StrCat("data directory ", options.data_dir,
                   " is in use by another process (a running burnrated?); query the server "
                   "with --url instead, or stop it first (",
                   db.status().message(), ")"));
      }
      return absl::Status(
          db.status().code(),
          StrCat("cannot open data directory ", options.data_dir, ": ", db.status().message()));
    }
    return std::unique_ptr<QueryBackend>(
        new EmbeddedBackend(options.data_dir, std::move(db).value()));
  }
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(options.url);
  if (!url.ok()) return url.status();
  return std::unique_ptr<QueryBackend>(new HttpBackend(options.url, *std::move(url), options.token,
                                                       absl::Seconds(options.timeout_seconds)));
}

int RunQueryCommand(const QueryCommandOptions& options, std::FILE* in, bool interactive,
                    std::FILE* out, std::FILE* err) {
  if (absl::StatusOr<QueryOutputFormat> f = ParseQueryOutputFormat(options.format); !f.ok()) {
    std::fprintf(err, "burnrate query: %s\n", Message(f.status()).c_str());
    return 1;
  }
  if (options.precision != "rfc3339" && !PrecisionToEpoch(options.precision).ok()) {
    std::fprintf(err,
                 "burnrate query: precision \"%s\" is not one of rfc3339, h, m, s, ms, u, ns\n",
                 options.precision.c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<QueryBackend>> backend = OpenQueryBackend(options);
  if (!backend.ok()) {
    std::fprintf(err, "burnrate query: %s\n", Message(backend.status()).c_str());
    return 1;
  }
  Session session(options, backend->get(), out, err);
  bool ok = true;
  if (!options.execute.empty()) {
    ok = session.RunStatements(options.execute);
  } else if (interactive) {
    std::fprintf(out, "%s\nType help for help, exit or Ctrl-D to leave.\n",
                 (*backend)->Describe().c_str());
    std::fflush(out);
    LoadHistory(options.history_file.empty() ? DefaultHistoryFile() : options.history_file);
    std::string line;
    bool exit = false;
    while (!exit) {
      const std::string prompt =
          session.database().empty() ? "> " : StrCat(session.database(), "> ");
      if (!ReadEditedLine(prompt.c_str(), &line)) {
        std::fputc('\n', out);
        break;
      }
      if (!Strip(line).empty()) AddHistoryLine(line);
      session.RunLine(line, &exit);  // errors are shown; the prompt goes on
    }
  } else {
    std::string line;
    bool exit = false;
    while (!exit && ReadPlainLine(in, &line)) {
      if (!session.RunLine(line, &exit)) ok = false;
    }
  }
  if (absl::Status s = (*backend)->Close(); !s.ok()) {
    std::fprintf(err, "burnrate query: closing the data directory: %s\n", Message(s).c_str());
    ok = false;
  }
  // In the interactive prompt failures were shown as they happened; leaving is not one.
  return interactive && options.execute.empty() ? 0 : (ok ? 0 : 1);
}

}  // namespace burnrate
