#include "tools/write_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "base/str_cat.h"
#include "tools/http_client.h"
#include "tools/progress.h"

namespace burnrate {
namespace {

constexpr size_t kReadChunkBytes = 1 << 20;
// Rejected batches whose first error is printed; the rest are only counted.
constexpr int kMaxPrintedErrors = 20;

struct Batch {
  std::string body;
  uint64_t first_line = 0;  // 1-based line of the input where the batch starts
  uint64_t points = 0;      // point lines in it
};

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != stdin) std::fclose(f);
  }
};

// The value of "key" in a flat JSON object as our server and InfluxDB write them: a number,
// or a string with its escapes resolved. nullopt when absent.
std::optional<std::string> JsonMember(std::string_view json, std::string_view key) {
  const std::string needle = StrCat("\"", key, "\":");
  const size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  size_t i = at + needle.size();
  while (i < json.size() && json[i] == ' ') ++i;
  if (i >= json.size()) return std::nullopt;
  std::string out;
  if (json[i] != '"') {
    while (i < json.size() &&
           (std::isdigit(static_cast<unsigned char>(json[i])) != 0 || json[i] == '-')) {
      out.push_back(json[i++]);
    }
    return out;
  }
  for (++i; i < json.size() && json[i] != '"'; ++i) {
    if (json[i] != '\\' || i + 1 >= json.size()) {
      out.push_back(json[i]);
      continue;
    }
    const char e = json[++i];
    switch (e) {
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'u':
        // Control bytes and replacement characters: shown as '?'.
        out.push_back('?');
        i += 4;
        break;
      default:
        out.push_back(e);
    }
  }
  return out;
}

uint64_t ToCount(const std::optional<std::string>& v, uint64_t fallback) {
  if (!v || v->empty()) return fallback;
  return std::strtoull(v->c_str(), nullptr, 10);
}

// Sends batches and accounts for the answers. Thread-safe: connections share it.
class BatchSender {
 public:
  BatchSender(const WriteCommandOptions& options, HttpUrl url, std::FILE* out)
      : options_(options), url_(std::move(url)), out_(out) {
    target_ = StrCat("/write?db=", UrlEncode(options.database),
                     "&precision=", UrlEncode(options.precision), "&accept_partial=true");
    if (!options.token.empty()) headers_.emplace_back("Authorization", "Token " + options.token);
    headers_.emplace_back("Content-Type", "text/plain; charset=utf-8");
  }

  // Sends one batch on `client`, retrying on 429/503. Records the outcome; returns an
  // error only for failures that should stop the whole command.
  absl::Status Send(HttpClient* client, const Batch& batch) {
    for (int attempt = 0;; ++attempt) {
      absl::StatusOr<HttpClientResponse> r = client->Post(target_, batch.body, headers_);
      if (!r.ok()) return r.status();
      const int status = r->status;
      if ((status == 429 || status == 503) && attempt < options_.max_retries) {
        const int wait = std::max(1, std::atoi(r->Header("Retry-After").c_str()));
        std::this_thread::sleep_for(std::chrono::seconds(wait));
        continue;
      }
      const std::string message =
          JsonMember(r->body, "error").value_or(JsonMember(r->body, "message").value_or(r->body));
      absl::MutexLock lock(&mu_);
      ++summary_.batches;
      summary_.bytes += batch.body.size();
      if (status == 204 || status == 200) {
        summary_.points_written += batch.points;
        return absl::OkStatus();
      }
      if (status == 400) {
        const uint64_t written = ToCount(JsonMember(r->body, "written"), 0);
        const uint64_t rejected = ToCount(JsonMember(r->body, "rejected"),
                                          batch.points - std::min(batch.points, written));
        summary_.points_written += written;
        summary_.lines_rejected += rejected;
        if (printed_errors_++ < kMaxPrintedErrors) {
          const uint64_t line = ToCount(JsonMember(r->body, "line"), 0);
          if (line > 0) {
            absl::FPrintF(out_, "%s:%d: %s\n", InputName(), batch.first_line + line - 1, message);
          } else {
            absl::FPrintF(out_, "%s: batch at line %d: %s\n", InputName(), batch.first_line,
                          message);
          }
        }
        return absl::OkStatus();
      }
      summary_.lines_rejected += batch.points;
      std::string hint;
      if (status == 404) hint = " (create the database first, e.g. burnrated --create-database)";
      if (status == 413) hint = " (use a smaller --batch-lines)";
      if (status == 401 || status == 403) hint = " (check --token)";
      return absl::FailedPreconditionError(StrCat("the server answered ", status,
                                                  " to the batch at line ", batch.first_line, ": ",
                                                  message, hint));
    }
  }

  WriteSummary summary() {
    absl::MutexLock lock(&mu_);
    return summary_;
  }

  std::string InputName() const { return options_.input == "-" ? "stdin" : options_.input; }
  const HttpUrl& url() const { return url_; }

 private:
  const WriteCommandOptions& options_;
  const HttpUrl url_;
  std::FILE* const out_;
  std::string target_;
  HttpHeaders headers_;
  absl::Mutex mu_;
  WriteSummary summary_ ABSL_GUARDED_BY(mu_);
  int printed_errors_ ABSL_GUARDED_BY(mu_) = 0;
};

// A bounded queue between the reader and the connections. Thread-safe.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}

  // False when the queue was closed by a failing consumer.
  bool Push(Batch batch) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](BatchQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) {
          return q->failed_ || q->items_.size() < q->capacity_;
        },
        this));
    if (failed_) return false;
    items_.push_back(std::move(batch));
    return true;
  }

  std::optional<Batch> Pop() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](BatchQueue* q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(q->mu_) {
          return q->failed_ || q->done_ || !q->items_.empty();
        },
        this));
    if (failed_ || items_.empty()) return std::nullopt;
    Batch b = std::move(items_.front());
    items_.pop_front();
    return b;
  }

  void Finish() {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }

  void Fail(absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (!failed_) error_ = std::move(status);
    failed_ = true;
  }

  absl::Status error() {
    absl::MutexLock lock(&mu_);
    return error_;
  }

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  std::deque<Batch> items_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

size_t LineSplitter::Consume(std::string_view data, bool* line_ended) {
  *line_ended = false;
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (state_ == State::kString) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        state_ = State::kFields;
      } else if (c == '\n') {
        ++newlines_pending_;
      }
      continue;
    }
    if (c == '\n') {
      ++newlines_pending_;
      EndLine();
      *line_ended = true;
      return i + 1;
    }
    switch (state_) {
      case State::kStart:
        if (c == ' ' || c == '\t' || c == '\r') break;
        if (c == '#') {
          state_ = State::kComment;
          break;
        }
        has_point_ = true;
        state_ = State::kSeries;
        escape_ = c == '\\';
        break;
      case State::kComment:
      case State::kTail:
        break;
      case State::kSeries:
        if (escape_) {
          escape_ = false;
        } else if (c == '\\') {
          escape_ = true;
        } else if (c == ' ') {
          state_ = State::kFields;
          field_started_ = false;
          after_equals_ = false;
        }
        break;
      case State::kFields:
        if (escape_) {
          escape_ = false;
          after_equals_ = false;
        } else if (c == '\\') {
          escape_ = true;
          field_started_ = true;
        } else if (c == ' ') {
          if (field_started_) state_ = State::kTail;
        } else if (c == '"' && after_equals_) {
          state_ = State::kString;
        } else {
          field_started_ = true;
          after_equals_ = c == '=';
        }
        break;
      case State::kString:
        break;
    }
  }
  return data.size();
}

void LineSplitter::EndLine() {
  is_point_ = has_point_;
  newlines_ = newlines_pending_;
  state_ = State::kStart;
  escape_ = false;
  after_equals_ = false;
  field_started_ = false;
  has_point_ = false;
  newlines_pending_ = 0;
}

bool LineSplitter::FinishLastLine() {
  EndLine();
  return is_point_;
}

absl::StatusOr<WriteSummary> RunWrite(const WriteCommandOptions& options, std::FILE* out) {
  if (options.batch_lines == 0) return absl::InvalidArgumentError("--batch-lines must be positive");
  if (options.connections < 1 || options.connections > 64) {
    return absl::InvalidArgumentError("--connections must be 1 to 64");
  }
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(options.url);
  if (!url.ok()) return url.status();

  std::unique_ptr<std::FILE, FileCloser> in;
  uint64_t total_bytes = 0;
  if (options.input == "-") {
    in.reset(stdin);
  } else {
    in.reset(std::fopen(options.input.c_str(), "rb"));
    if (!in) {
      return absl::NotFoundError(StrCat(options.input, ": ", std::strerror(errno)));
    }
    struct stat st;
    if (fstat(fileno(in.get()), &st) == 0 && S_ISREG(st.st_mode)) {
      total_bytes = static_cast<uint64_t>(st.st_size);
    }
  }

  BatchSender sender(options, *url, out);
  BatchQueue queue(static_cast<size_t>(options.connections) * 2);
  std::vector<std::thread> connections;
  for (int i = 0; i < options.connections; ++i) {
    connections.emplace_back([&] {
      HttpClient client(sender.url());
      while (std::optional<Batch> batch = queue.Pop()) {
        if (absl::Status s = sender.Send(&client, *batch); !s.ok()) {
          queue.Fail(std::move(s));
          return;
        }
      }
    });
  }

  const auto start = std::chrono::steady_clock::now();
  const bool show_progress = isatty(STDERR_FILENO) == 1;
  int last_percent = -1;
  LineSplitter splitter;
  Batch batch;
  batch.first_line = 1;
  uint64_t line = 1;  // input line where the current line starts
  uint64_t lines = 0;
  uint64_t read_bytes = 0;
  std::string chunk(kReadChunkBytes, '\0');
  absl::Status read_status;
  const auto push = [&]() -> bool {
    if (batch.points == 0) {
      batch.body.clear();
      batch.first_line = line;
      return true;
    }
    Batch full = std::move(batch);
    batch = Batch();
    batch.first_line = line;
    return queue.Push(std::move(full));
  };
  bool stopped = false;
  while (!stopped) {
    const size_t n = std::fread(chunk.data(), 1, chunk.size(), in.get());
    if (n == 0) {
      if (std::ferror(in.get())) {
        read_status = absl::DataLossError(StrCat(sender.InputName(), ": read error"));
      }
      break;
    }
    read_bytes += n;
    std::string_view data(chunk.data(), n);
    while (!data.empty()) {
      bool ended = false;
      const size_t used = splitter.Consume(data, &ended);
      batch.body.append(data.substr(0, used));
      data.remove_prefix(used);
      if (!ended) break;
      line += splitter.line_newlines();
      if (splitter.line_is_point()) {
        ++batch.points;
        ++lines;
      }
      if (batch.points >= options.batch_lines && !push()) {
        stopped = true;
        break;
      }
    }
    if (show_progress && total_bytes > 0) {
      const int percent = static_cast<int>(read_bytes * 100 / total_bytes);
      if (percent != last_percent) {
        last_percent = percent;
        absl::FPrintF(stderr, "\rburnrate write: %s lines (%d%%)\033[K", WithThousands(lines),
                      percent);
      }
    }
  }
  if (!stopped && splitter.in_line() && splitter.FinishLastLine()) {
    ++batch.points;
    ++lines;
  }
  if (!stopped) push();
  queue.Finish();
  for (std::thread& t : connections) t.join();
  if (show_progress && last_percent >= 0) std::fputs("\r\033[K", stderr);

  WriteSummary summary = sender.summary();
  summary.lines = lines;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (absl::Status s = queue.error(); !s.ok()) return s;
  if (!read_status.ok()) return read_status;
  absl::FPrintF(out,
                "burnrate write: %s points written from %s lines in %s batches (%.2f s, %s "
                "points/s); %s lines rejected\n",
                WithThousands(summary.points_written), WithThousands(summary.lines),
                WithThousands(summary.batches), summary.seconds,
                WithThousands(summary.seconds > 0
                                  ? static_cast<uint64_t>(summary.points_written / summary.seconds)
                                  : 0),
                WithThousands(summary.lines_rejected));
  return summary;
}

}  // namespace burnrate
