#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace burnrate {

// Output formats of `burnrate query`.
enum class QueryOutputFormat { kTable, kCsv, kJson };

// Parses "table", "csv" or "json"; kInvalidArgument otherwise.
[[nodiscard]] absl::StatusOr<QueryOutputFormat> ParseQueryOutputFormat(std::string_view text);

struct QueryCommandOptions {
  // The server; unused when data_dir is set.
  std::string url = "http://127.0.0.1:8086";
  // Sent as `Authorization: Token ...` when not empty.
  std::string token;
  // The database of statements that name none.
  std::string database;
  // Embedded mode: open this data directory directly (no server).
  std::string data_dir;
  // Statements to run once; empty: read commands from the input.
  std::string execute;
  std::string format = "table";
  // How times are shown: rfc3339, or an epoch unit h, m, s, ms, u, ns. CSV always shows
  // integers (ns for rfc3339), as InfluxDB's CSV does.
  std::string precision = "rfc3339";
  bool pretty = false;  // indented JSON
  // How long to wait for the server to answer a request (each of connecting, sending and
  // reading the response).
  double timeout_seconds = 600;
  // The interactive prompt's history; empty: $HOME/.burnrate_history.
  std::string history_file;
};

// Aligned text tables of query results, as the influx CLI prints them: per series a
// `name:` line, a `tags:` line when it has tags, the column names, dashes, and the rows,
// columns separated by one space and padded to their widest cell; a blank line between
// series.
struct TextSeries {
  std::string name;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  bool partial = false;
};
std::string RenderTable(const std::vector<TextSeries>& series);

// What running one piece of text produced: what goes to standard output, and the errors
// and notes (statement errors, messages, partial results) that go to standard error.
struct QueryOutput {
  std::string text;
  std::vector<std::string> errors;
  std::vector<std::string> notes;
};

// Reads InfluxDB 1.x /query JSON (a whole, non-chunked response): each series into
// *table (cells as text: strings unescaped, numbers exactly as written, null empty), each
// statement's error into out->errors, messages and partial results into out->notes.
// kInvalidArgument with the message of a top-level {"error":...}; kDataLoss naming the
// byte offset for text that is not JSON.
[[nodiscard]] absl::Status ReadQueryResponseJson(std::string_view body,
                                                 std::vector<TextSeries>* table, QueryOutput* out);

// Where statements run: a burnrated server over HTTP, or a data directory opened with the
// embedded API. Not thread-safe.
class QueryBackend {
 public:
  virtual ~QueryBackend() = default;
  // Runs `statements` against `database`. An error status when the query was refused as a
  // whole (parse error with line and column, HTTP error, 401/403, connection failure);
  // statement errors come back in QueryOutput::errors.
  [[nodiscard]] virtual absl::StatusOr<QueryOutput> Run(std::string_view statements,
                                                        const std::string& database,
                                                        QueryOutputFormat format,
                                                        const std::string& precision,
                                                        bool pretty) = 0;
  // A line describing the connection for the interactive prompt's greeting.
  virtual std::string Describe() = 0;
  // Flushes and closes (embedded mode); the backend is unusable afterwards.
  [[nodiscard]] virtual absl::Status Close() { return absl::OkStatus(); }
};

// The backend options select: embedded when data_dir is set (kFailedPrecondition naming
// the directory when a running server holds it, kNotFound when it is not a data
// directory), else HTTP (kInvalidArgument for a bad URL).
[[nodiscard]] absl::StatusOr<std::unique_ptr<QueryBackend>> OpenQueryBackend(
    const QueryCommandOptions& options);

// `burnrate query`. With options.execute, runs it once. Otherwise reads commands from `in`
// line by line: InfluxQL statements, `use <db>`, `format table|csv|json`,
// `precision <p>`, `pretty`, `help`, `exit`/`quit`; with `interactive`, through a line
// editor with a prompt and persistent history (in must then be stdin). Results go to out,
// errors to err ("ERR: ..."); errors do not stop the reading of commands. Returns the exit
// status: 0, or 1 when anything failed.
int RunQueryCommand(const QueryCommandOptions& options, std::FILE* in, bool interactive,
                    std::FILE* out, std::FILE* err);

// Reads one line with the line editor (prompt, editing, history); false at end of input.
// Implemented in query_repl.cc, the only file that sees libedit.
bool ReadEditedLine(const char* prompt, std::string* line);
// Loads the history file and remembers it; AddHistoryLine appends to both.
void LoadHistory(const std::string& path);
void AddHistoryLine(const std::string& line);

}  // namespace burnrate
