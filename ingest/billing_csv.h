#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ingest/billing_input.h"

namespace burnrate {

// Where in a billing file a problem is.
struct InputPosition {
  std::string file;
  uint64_t line = 0;  // 1-based physical line where the record starts; 0 for the file
  size_t column = 0;  // 1-based field number; 0 for the record as a whole
};

// kInvalidArgument "FILE:LINE: column C: message" (or "FILE: message" for line 0)
// carrying the position as a payload, so callers such as the HTTP import endpoint can
// report it without parsing the message.
absl::Status InputPositionError(const InputPosition& position, std::string_view message);

// The position an error of InputPositionError carries; nullopt for other errors.
std::optional<InputPosition> InputPositionOf(const absl::Status& status);

// Reads RFC 4180 CSV records from a stream with memory bounded by the longest record:
// comma-separated fields, optionally double-quoted; inside quotes a doubled quote is one
// quote and commas, CR and LF are data. Records end with LF or CRLF; the last may have no
// terminator. A UTF-8 byte order mark at the start is skipped, and blank lines are skipped
// (billing exports written by spreadsheets contain them). A quote inside an unquoted field
// is kept as data, as most exporters write it.
//
// Errors are kInvalidArgument "NAME:LINE: column C: reason" with the 1-based physical line
// where the record starts and the 1-based field number.
//
// Not thread-safe; one reader at a time.
class CsvReader {
 public:
  CsvReader(std::unique_ptr<ByteStream> in, std::string name, size_t max_record_bytes = 64 << 20);

  // Advances to the next record: true when there is one, false at the end of the input.
  [[nodiscard]] absl::StatusOr<bool> Next();

  // The current record's fields, unquoted; valid until the next call of Next().
  const std::vector<std::string_view>& fields() const { return fields_; }
  // The 1-based physical line where the current record starts.
  uint64_t line() const { return record_line_; }
  const std::string& name() const { return name_; }
  // Decompressed bytes parsed so far.
  uint64_t bytes_parsed() const { return bytes_parsed_; }
  // Bytes of the underlying (possibly compressed) source consumed so far.
  uint64_t source_bytes_consumed() const { return in_->source_bytes_consumed(); }

 private:
  enum class Parse : uint8_t { kRecord, kBlank, kNeedMore, kEnd, kError };
  struct Span {
    size_t begin;
    size_t length;
    bool escaped;  // holds doubled quotes to collapse
  };

  Parse ParseRecord(bool at_eof);
  void PushSpan(size_t begin, size_t length, bool escaped) {
    if (span_count_ == spans_.size()) spans_.resize(2 * spans_.size() + 64);
    spans_[span_count_++] = Span{begin, length, escaped};
  }
  [[nodiscard]] absl::Status Refill();
  absl::Status Error(size_t column, std::string_view reason) const;

  std::unique_ptr<ByteStream> in_;
  const std::string name_;
  const size_t max_record_bytes_;
  std::string buf_;
  size_t begin_ = 0;  // start of the unparsed data in buf_
  size_t end_ = 0;    // end of the valid data in buf_
  bool eof_ = false;
  bool started_ = false;
  uint64_t next_line_ = 1;
  uint64_t record_line_ = 0;
  uint64_t bytes_parsed_ = 0;
  std::vector<Span> spans_;  // the first span_count_ are the current record's
  size_t span_count_ = 0;
  std::vector<std::string_view> fields_;
  absl::Status error_;
};

}  // namespace burnrate
