#include "ingest/billing_csv.h"

#include <bit>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/cord.h"
#include "base/status_macros.h"
#include "base/str_cat.h"

namespace burnrate {
namespace {

constexpr size_t kInitialBufferBytes = 1 << 20;

size_t CountNewlines(const char* p, size_t n) {
  size_t count = 0;
  const char* end = p + n;
  while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))) !=
         nullptr) {
    ++count;
    ++p;
  }
  return count;
}

// The payload of InputPositionError: "LINE\tCOLUMN\tFILE".
constexpr char kPositionPayloadUrl[] = "burnrate/billing-input-position";

// The offset of the first ',' or '\n' in buf[p, end), or end. Eight bytes at a time: a
// byte equal to c becomes zero in w ^ broadcast(c), and the classic zero-byte test marks
// it (its lowest mark is exact, which is the one taken).
size_t FindCommaOrNewline(const char* buf, size_t p, size_t end) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  constexpr uint64_t kCommas = kOnes * ',';
  constexpr uint64_t kNewlines = kOnes * '\n';
  while (p + 8 <= end) {
    uint64_t w;
    std::memcpy(&w, buf + p, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    const uint64_t a = w ^ kCommas;
    const uint64_t b = w ^ kNewlines;
    const uint64_t marks = (((a - kOnes) & ~a) | ((b - kOnes) & ~b)) & kHighs;
    if (marks != 0) return p + static_cast<size_t>(std::countr_zero(marks)) / 8;
    p += 8;
  }
  while (p < end && buf[p] != ',' && buf[p] != '\n') ++p;
  return p;
}

}  // namespace

absl::Status InputPositionError(const InputPosition& position, std::string_view message) {
  absl::Status status = absl::InvalidArgumentError(
      position.line == 0
          ? StrCat(position.file, ": ", message)
          : StrCat(position.file, ":", position.line, ": column ", position.column, ": ", message));
  status.SetPayload(kPositionPayloadUrl,
                    absl::Cord(StrCat(position.line, "\t", position.column, "\t", position.file)));
  return status;
}

std::optional<InputPosition> InputPositionOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kPositionPayloadUrl);
  if (!payload) return std::nullopt;
  const std::string text(*payload);
  const size_t tab1 = text.find('\t');
  const size_t tab2 = tab1 == std::string::npos ? tab1 : text.find('\t', tab1 + 1);
  if (tab2 == std::string::npos) return std::nullopt;
  InputPosition p;
  p.line = std::strtoull(text.substr(0, tab1).c_str(), nullptr, 10);
  p.column = std::strtoull(text.substr(tab1 + 1, tab2 - tab1 - 1).c_str(), nullptr, 10);
  p.file = text.substr(tab2 + 1);
  return p;
}

CsvReader::CsvReader(std::unique_ptr<ByteStream> in, std::string name, size_t max_record_bytes)
    : in_(std::move(in)), name_(std::move(name)), max_record_bytes_(max_record_bytes) {
  buf_.resize(std::min(kInitialBufferBytes, max_record_bytes_ + 4));
}

absl::Status CsvReader::Error(size_t column, std::string_view reason) const {
  return InputPositionError(InputPosition{name_, record_line_, column}, reason);
}

absl::Status CsvReader::Refill() {
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) {
    if (end_ > max_record_bytes_) {
      record_line_ = next_line_;
      return Error(1, StrCat("record longer than ", max_record_bytes_, " bytes"));
    }
    buf_.resize(std::min(buf_.size() * 2, max_record_bytes_ + 4));
  }
  BR_ASSIGN_OR_RETURN(const size_t got, in_->Read(buf_.data() + end_, buf_.size() - end_));
  if (got == 0) eof_ = true;
  end_ += got;
  if (!started_ && (end_ >= 3 || eof_)) {
    started_ = true;
    if (end_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) begin_ = 3;
  }
  return absl::OkStatus();
}

CsvReader::Parse CsvReader::ParseRecord(bool at_eof) {
  span_count_ = 0;
  const char* const buf = buf_.data();
  size_t p = begin_;
  if (p == end_) return at_eof ? Parse::kEnd : Parse::kNeedMore;
  size_t newlines = 0;
  bool any_quoted = false;
  while (true) {
    if (p < end_ && buf[p] == '"') {
      // Quoted field: runs to the quote not followed by another quote.
      any_quoted = true;
      size_t q = p + 1;
      bool escaped = false;
      size_t close;
      while (true) {
        const void* found = q < end_ ? std::memchr(buf + q, '"', end_ - q) : nullptr;
        if (found == nullptr) {
          if (!at_eof) return Parse::kNeedMore;
          record_line_ = next_line_;
          error_ =
              Error(span_count_ + 1, "quoted field is not terminated before the end of the file");
          return Parse::kError;
        }
        close = static_cast<size_t>(static_cast<const char*>(found) - buf);
        if (close + 1 < end_ && buf[close + 1] == '"') {
          escaped = true;
          q = close + 2;
          continue;
        }
        if (close + 1 == end_ && !at_eof) return Parse::kNeedMore;
        break;
      }
      newlines += CountNewlines(buf + p + 1, close - p - 1);
      PushSpan(p + 1, close - p - 1, escaped);
      p = close + 1;
      if (p == end_) break;  // at_eof: the last record has no terminator
      if (buf[p] == ',') {
        ++p;
        continue;
      }
      if (buf[p] == '\n') {
        ++p;
        ++newlines;
        break;
      }
      if (buf[p] == '\r') {
        if (p + 1 == end_) {
          if (!at_eof) return Parse::kNeedMore;
          ++p;
          break;
        }
        if (buf[p + 1] == '\n') {
          p += 2;
          ++newlines;
          break;
        }
      }
      record_line_ = next_line_;
      error_ = Error(span_count_, StrCat("unexpected character '", std::string_view(buf + p, 1),
                                         "' after a closing quote"));
      return Parse::kError;
    }
    // Unquoted field: runs to a comma or the end of the line.
    const size_t start = p;
    p = FindCommaOrNewline(buf, p, end_);
    if (p == end_ && !at_eof) return Parse::kNeedMore;
    if (p < end_ && buf[p] == ',') {
      PushSpan(start, p - start, false);
      ++p;
      continue;
    }
    size_t len = p - start;
    if (len > 0 && buf[start + len - 1] == '\r') --len;
    PushSpan(start, len, false);
    if (p < end_) {
      ++p;
      ++newlines;
    }
    break;
  }
  bytes_parsed_ += p - begin_;
  record_line_ = next_line_;
  next_line_ += newlines;
  begin_ = p;
  if (span_count_ == 1 && !any_quoted && spans_[0].length == 0) return Parse::kBlank;
  return Parse::kRecord;
}

absl::StatusOr<bool> CsvReader::Next() {
  fields_.clear();
  while (true) {
    if (!started_) BR_RETURN_IF_ERROR(Refill());
    const Parse r = ParseRecord(eof_);
    switch (r) {
      case Parse::kEnd:
        return false;
      case Parse::kBlank:
        continue;
      case Parse::kError:
        return error_;
      case Parse::kNeedMore:
        if (end_ - begin_ > max_record_bytes_) {
          record_line_ = next_line_;
          return Error(span_count_ + 1, StrCat("record longer than ", max_record_bytes_, " bytes"));
        }
        BR_RETURN_IF_ERROR(Refill());
        continue;
      case Parse::kRecord:
        break;
    }
    char* const buf = buf_.data();
    fields_.reserve(span_count_);
    for (size_t i = 0; i < span_count_; ++i) {
      const Span& s = spans_[i];
      size_t len = s.length;
      if (s.escaped) {
        // Collapse doubled quotes in place; the raw bytes are not needed again.
        char* out = buf + s.begin;
        const char* in = out;
        const char* const in_end = in + s.length;
        while (in < in_end) {
          *out++ = *in;
          in += (*in == '"') ? 2 : 1;
        }
        len = static_cast<size_t>(out - (buf + s.begin));
      }
      fields_.emplace_back(buf + s.begin, len);
    }
    return true;
  }
}

}  // namespace burnrate
