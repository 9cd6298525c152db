#include "ingest/line_protocol.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "base/str_cat.h"
#include "burnrate/money.h"

namespace burnrate {
namespace {

// Byte classes for the scanning loops: one table lookup tells whether a byte may continue the
// current token.
constexpr uint8_t kControl = 1 << 0;    // 0x00-0x1f and 0x7f: never part of a name
constexpr uint8_t kComma = 1 << 1;      // ','
constexpr uint8_t kSpace = 1 << 2;      // ' '
constexpr uint8_t kEquals = 1 << 3;     // '='
constexpr uint8_t kBackslash = 1 << 4;  // '\\'
constexpr uint8_t kHigh = 1 << 5;       // 0x80-0xff: part of a UTF-8 sequence to validate
constexpr uint8_t kValueEnd = 1 << 6;   // ',', ' ', '\r', '\n': end a number or boolean
constexpr uint8_t kDigit = 1 << 7;      // '0'-'9'

constexpr std::array<uint8_t, 256> kClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] |= kControl;
  t[0x7f] |= kControl;
  for (int c = 0x80; c < 0x100; ++c) t[c] |= kHigh;
  t[','] |= kComma | kValueEnd;
  t[' '] |= kSpace | kValueEnd;
  t['\r'] |= kValueEnd;
  t['\n'] |= kValueEnd;
  t['='] |= kEquals;
  t['\\'] |= kBackslash;
  for (int c = '0'; c <= '9'; ++c) t[c] |= kDigit;
  return t;
}();

// Bytes that end a measurement name, and a tag key, tag value or field key.
constexpr uint8_t kMeasurementEnd = kControl | kComma | kSpace;
constexpr uint8_t kKeyEnd = kControl | kComma | kSpace | kEquals;

// Bytes a quoted string value cannot skip over: its end, escapes, line counting, UTF-8.
constexpr std::array<bool, 256> kStringSpecial = [] {
  std::array<bool, 256> t{};
  t['"'] = t['\\'] = t['\n'] = true;
  for (int c = 0x80; c < 0x100; ++c) t[c] = true;
  return t;
}();

inline uint8_t ClassOf(char c) { return kClass[static_cast<unsigned char>(c)]; }
inline bool IsDigit(char c) { return (ClassOf(c) & kDigit) != 0; }

enum class NameKind { kMeasurement, kKey };

// The bytes a backslash escapes in a name; before any other byte it is literal.
template <NameKind kind>
inline bool IsNameEscape(char c) {
  if constexpr (kind == NameKind::kMeasurement) {
    return c == ',' || c == ' ';
  } else {
    return c == ',' || c == '=' || c == ' ';
  }
}

// A byte for an error message: 'c', or '\xNN' for bytes that do not print.
std::string QuoteByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return StrCat("'", std::string_view(&c, 1), "'");
  static constexpr char kHex[] = "0123456789abcdef";
  const char esc[] = {'\'', '\\', 'x', kHex[u >> 4], kHex[u & 15], '\''};
  return std::string(esc, sizeof esc);
}

// A name for an error message, cut so a huge name cannot flood a log.
std::string QuoteName(std::string_view name) {
  constexpr size_t kMax = 64;
  if (name.size() <= kMax) return StrCat("'", name, "'");
  return StrCat("'", name.substr(0, kMax), "...'");
}

// Go's utf8.Valid, which the reference decoder applies to every name and string: no
// overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c == 0xe0) {
      len = 3;
      lo = 0xa0;
    } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
      len = 3;
    } else if (c == 0xed) {
      len = 3;
      hi = 0x9f;
    } else if (c == 0xf0) {
      len = 4;
      lo = 0x90;
    } else if (c >= 0xf1 && c <= 0xf3) {
      len = 4;
    } else if (c == 0xf4) {
      len = 4;
      hi = 0x8f;
    } else {
      return false;
    }
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

enum class NumberResult { kOk, kSyntax, kRange };

// Unsigned decimal digits (at least one, nothing else) into a uint64.
NumberResult ParseDigits(const char* p, const char* end, uint64_t* out) {
  if (p == end) return NumberResult::kSyntax;
  uint64_t v = 0;
  bool overflow = false;
  for (; p < end; ++p) {
    const unsigned d = static_cast<unsigned char>(*p) - '0';
    if (d > 9) return NumberResult::kSyntax;
    overflow |= __builtin_mul_overflow(v, 10, &v);
    overflow |= __builtin_add_overflow(v, d, &v);
  }
  *out = v;
  return overflow ? NumberResult::kRange : NumberResult::kOk;
}

// ['-'] digits into an int64, as Go's strconv.ParseInt(s, 10, 64) after the decoder has
// ruled out a leading '+'.
NumberResult ParseSigned(std::string_view s, int64_t* out) {
  const char* p = s.data();
  const char* const end = p + s.size();
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  uint64_t magnitude;
  const NumberResult r = ParseDigits(p, end, &magnitude);
  if (r != NumberResult::kOk) return r;
  constexpr uint64_t kMaxPositive = std::numeric_limits<int64_t>::max();
  if (magnitude > kMaxPositive + (negative ? 1 : 0)) return NumberResult::kRange;
  *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return NumberResult::kOk;
}

// The float grammar of tsdb-notes 1.2: ['-'] (digits ['.' [digits]] | '.' digits)
// [('e'|'E') ['+'|'-'] digits]. Hexadecimal floats, "NaN" and "Inf" are not in it. A value
// that underflows reads as zero (as in Go); one that overflows is out of range.
NumberResult ParseFloatText(std::string_view s, double* out) {
  const char* const begin = s.data();
  const char* const end = begin + s.size();
  const char* p = begin;
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  const char* const int_begin = p;
  while (p < end && IsDigit(*p)) ++p;
  const char* const int_end = p;
  const char* frac_begin = p;
  const char* frac_end = p;
  if (p < end && *p == '.') {
    frac_begin = ++p;
    while (p < end && IsDigit(*p)) ++p;
    frac_end = p;
  }
  if (int_begin == int_end && frac_begin == frac_end) return NumberResult::kSyntax;
  int64_t exponent = 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool exponent_negative = false;
    if (p < end && (*p == '+' || *p == '-')) exponent_negative = *p++ == '-';
    const char* const exp_begin = p;
    while (p < end && IsDigit(*p)) {
      if (exponent < (int64_t{1} << 40)) exponent = exponent * 10 + (*p - '0');
      ++p;
    }
    if (p == exp_begin) return NumberResult::kSyntax;
    if (exponent_negative) exponent = -exponent;
  }
  if (p != end) return NumberResult::kSyntax;

  const auto [ptr, ec] = std::from_chars(begin, end, *out);
  if (ec == std::errc() && ptr == end) return NumberResult::kOk;
  if (ec != std::errc::result_out_of_range || ptr != end) return NumberResult::kSyntax;
  // from_chars leaves the value alone when it is out of range either way; the decimal
  // order of magnitude of the first significant digit tells underflow from overflow.
  const char* q = int_begin;
  while (q < int_end && *q == '0') ++q;
  int64_t order;
  if (q < int_end) {
    order = (int_end - q) - 1 + exponent;
  } else {
    q = frac_begin;
    while (q < frac_end && *q == '0') ++q;
    order = -(q - frac_begin) - 1 + exponent;
  }
  if (order < 0) {
    *out = negative ? -0.0 : 0.0;
    return NumberResult::kOk;
  }
  return NumberResult::kRange;
}

// The ten spellings InfluxDB accepts.
bool ParseBoolText(std::string_view s, bool* out) {
  switch (s.size()) {
    case 1:
      if (s[0] == 't' || s[0] == 'T') return *out = true, true;
      if (s[0] == 'f' || s[0] == 'F') return *out = false, true;
      return false;
    case 4:
      if (s == "true" || s == "True" || s == "TRUE") return *out = true, true;
      return false;
    case 5:
      if (s == "false" || s == "False" || s == "FALSE") return *out = false, true;
      return false;
    default:
      return false;
  }
}

uint64_t DoubleBits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

// floor(t / unit) * unit, as Go's time.Truncate; truncates towards zero instead where the
// floor would leave the int64 range.
TimestampNs FloorTo(TimestampNs t, int64_t unit) {
  int64_t q = t / unit;
  if (t % unit != 0 && t < 0) --q;
  int64_t r;
  if (__builtin_mul_overflow(q, unit, &r)) return (t / unit) * unit;
  return r;
}

}  // namespace

absl::StatusOr<Precision> ParsePrecision(std::string_view name) {
  if (name.empty() || name == "n" || name == "ns") return Precision::kNanosecond;
  if (name == "u" || name == "us" || name == "µs") return Precision::kMicrosecond;
  if (name == "ms") return Precision::kMillisecond;
  if (name == "s") return Precision::kSecond;
  if (name == "m") return Precision::kMinute;
  if (name == "h") return Precision::kHour;
  return absl::InvalidArgumentError(
      StrCat("invalid precision ", QuoteName(name), " (use ns, us, ms, s, u, m or h)"));
}

int64_t NanosecondsPer(Precision precision) {
  switch (precision) {
    case Precision::kNanosecond:
      return 1;
    case Precision::kMicrosecond:
      return 1'000;
    case Precision::kMillisecond:
      return 1'000'000;
    case Precision::kSecond:
      return 1'000'000'000;
    case Precision::kMinute:
      return 60'000'000'000;
    case Precision::kHour:
      return 3'600'000'000'000;
  }
  return 1;
}

std::string LineProtocolError::ToString() const {
  return StrCat("line ", line, ", column ", column, ": ", reason);
}

// The scanner behind LineProtocolParser. p_ is the read position; line_ is always 1 + the
// newlines before p_. Confined to the thread of its LineProtocolParser.
class LineProtocolParser::Impl {
 public:
  Impl(std::string_view body, const LineProtocolOptions& options)
      : begin_(body.data()),
        end_(body.data() + body.size()),
        p_(begin_),
        line_start_(begin_),
        max_line_bytes_(options.max_line_bytes),
        max_fields_(options.max_fields),
        unit_(NanosecondsPer(options.precision)),
        default_time_(FloorTo(options.default_time, unit_)),
        scratch_cap_(std::min(options.max_line_bytes, body.size())) {}

  Step Next(LinePoint* point, LineProtocolError* error);
  LineProtocolError ErrorAt(size_t offset, std::string reason) const;

 private:
  bool ParsePoint(LinePoint* point);
  template <NameKind kind>
  bool ScanName(std::string_view* out);
  template <NameKind kind>
  bool ScanNameSlow(const char* start, const char* p, std::string_view* out);
  bool ScanValue(LineField* field);
  bool ScanString(LineField* field);
  bool ScanTimestamp(TimestampNs* out);
  bool CheckDuplicateTags();

  bool AtEol() const {
    return p_ == end_ || *p_ == '\n' || (*p_ == '\r' && (p_ + 1 == end_ || p_[1] == '\n'));
  }
  void ConsumeEol() {
    if (p_ == end_) return;
    if (*p_ == '\r') ++p_;
    if (p_ < end_ && *p_ == '\n') {
      ++p_;
      ++line_;
    }
  }
  void SkipSpaces() {
    while (p_ < end_ && *p_ == ' ') ++p_;
  }

  // Appends to the scratch buffer, which never reallocates once made, so views into it stay
  // valid for the whole point. Unescaped text is never longer than the raw bytes it came
  // from, so overflowing a buffer of max_line_bytes means the line is too long.
  bool AppendScratch(const char* data, size_t n, const char* at);

  // Records the first error of the line and returns false.
  bool Fail(const char* at, std::string reason) {
    error_at_ = at;
    error_reason_ = std::move(reason);
    return false;
  }
  Step ReportError(LineProtocolError* error);
  std::string LineTooLong() const {
    return StrCat("line is longer than ", max_line_bytes_, " bytes");
  }

  const char* const begin_;
  const char* const end_;
  const char* p_;
  size_t line_ = 1;
  // First byte of the current point's (first) line, and that line's number.
  const char* line_start_;
  size_t point_line_ = 1;

  const size_t max_line_bytes_;
  const size_t max_fields_;
  const int64_t unit_;
  const TimestampNs default_time_;

  std::vector<LineTag> tags_;
  std::vector<LineField> fields_;
  std::vector<std::string_view> sorted_keys_;  // for the duplicate tag check of long tag sets

  std::unique_ptr<char[]> scratch_;
  size_t scratch_size_ = 0;
  const size_t scratch_cap_;

  const char* error_at_ = nullptr;
  std::string error_reason_;
};

bool LineProtocolParser::Impl::AppendScratch(const char* data, size_t n, const char* at) {
  if (scratch_ == nullptr) scratch_ = std::make_unique<char[]>(scratch_cap_);
  if (n > scratch_cap_ - scratch_size_) {
    p_ = std::max(p_, at);
    return Fail(at, LineTooLong());
  }
  std::memcpy(scratch_.get() + scratch_size_, data, n);
  scratch_size_ += n;
  return true;
}

LineProtocolParser::Step LineProtocolParser::Impl::Next(LinePoint* point,
                                                        LineProtocolError* error) {
  for (;;) {
    line_start_ = p_;
    point_line_ = line_;
    SkipSpaces();
    if (p_ == end_) return Step::kEnd;
    const char c = *p_;
    if (c == '#') {
      ++p_;
      while (p_ < end_ && !(ClassOf(*p_) & kControl)) ++p_;
      if (!AtEol()) {
        Fail(p_, StrCat("invalid character ", QuoteByte(*p_), " in comment"));
        return ReportError(error);
      }
      ConsumeEol();
      continue;
    }
    if (AtEol()) {
      ConsumeEol();
      continue;
    }
    break;
  }
  scratch_size_ = 0;
  tags_.clear();
  fields_.clear();
  if (!ParsePoint(point)) return ReportError(error);
  return Step::kPoint;
}

LineProtocolParser::Step LineProtocolParser::Impl::ReportError(LineProtocolError* error) {
  *error = ErrorAt(static_cast<size_t>(error_at_ - begin_), std::move(error_reason_));
  // Resume after the next newline, as the reference decoder does: after a syntax error it
  // cannot know whether a quote opened a string.
  const void* nl = std::memchr(p_, '\n', static_cast<size_t>(end_ - p_));
  if (nl == nullptr) {
    p_ = end_;
  } else {
    p_ = static_cast<const char*>(nl) + 1;
    ++line_;
  }
  return Step::kError;
}

LineProtocolError LineProtocolParser::Impl::ErrorAt(size_t offset, std::string reason) const {
  LineProtocolError e;
  e.reason = std::move(reason);
  const char* at = begin_ + std::min(offset, static_cast<size_t>(end_ - begin_));
  const char* from = line_start_;
  size_t line = point_line_;
  if (at < from) {
    // Before the current point: count from the start of the body.
    from = begin_;
    line = 1;
  }
  const char* physical = from;
  for (const char* q = from; q < at;) {
    const void* nl = std::memchr(q, '\n', static_cast<size_t>(at - q));
    if (nl == nullptr) break;
    ++line;
    q = static_cast<const char*>(nl) + 1;
    physical = q;
  }
  e.line = line;
  e.column = static_cast<size_t>(at - physical) + 1;
  const char* text_end =
      static_cast<const char*>(std::memchr(physical, '\n', static_cast<size_t>(end_ - physical)));
  if (text_end == nullptr) text_end = end_;
  if (text_end > physical && text_end[-1] == '\r') --text_end;
  e.text.assign(physical, std::min(static_cast<size_t>(text_end - physical),
                                   LineProtocolError::kMaxTextBytes));
  return e;
}

template <NameKind kind>
inline bool LineProtocolParser::Impl::ScanName(std::string_view* out) {
  constexpr uint8_t kEnd = kind == NameKind::kMeasurement ? kMeasurementEnd : kKeyEnd;
  const char* const start = p_;
  const char* p = start;
  while (p < end_ && !(ClassOf(*p) & (kEnd | kBackslash | kHigh))) ++p;
  if (p == end_ || (ClassOf(*p) & kEnd)) {
    *out = std::string_view(start, static_cast<size_t>(p - start));
    p_ = p;
    return true;
  }
  return ScanNameSlow<kind>(start, p, out);
}

template <NameKind kind>
bool LineProtocolParser::Impl::ScanNameSlow(const char* start, const char* p,
                                            std::string_view* out) {
  constexpr uint8_t kEnd = kind == NameKind::kMeasurement ? kMeasurementEnd : kKeyEnd;
  bool high = false;
  bool escaped = false;
  const size_t out_begin = scratch_size_;
  const char* segment = start;
  while (p < end_) {
    const uint8_t cls = ClassOf(*p);
    if (cls & kBackslash) {
      if (p + 1 < end_ && IsNameEscape<kind>(p[1])) {
        escaped = true;
        if (!AppendScratch(segment, static_cast<size_t>(p - segment), p) ||
            !AppendScratch(p + 1, 1, p)) {
          return false;
        }
        p += 2;
        segment = p;
        continue;
      }
      ++p;  // a literal backslash
      continue;
    }
    if (cls & kEnd) break;
    high |= (cls & kHigh) != 0;
    ++p;
  }
  if (escaped) {
    if (!AppendScratch(segment, static_cast<size_t>(p - segment), p)) return false;
    *out = std::string_view(scratch_.get() + out_begin, scratch_size_ - out_begin);
  } else {
    *out = std::string_view(start, static_cast<size_t>(p - start));
  }
  p_ = p;
  if (high && !IsValidUtf8(*out)) return Fail(start, "invalid UTF-8 in name");
  return true;
}

bool LineProtocolParser::Impl::ScanString(LineField* field) {
  const char* const open = p_;
  const char* const start = open + 1;
  const char* p = start;
  const char* segment = start;
  const size_t out_begin = scratch_size_;
  bool escaped = false;
  bool high = false;
  size_t newlines = 0;
  for (;;) {
    while (p < end_ && !kStringSpecial[static_cast<unsigned char>(*p)]) ++p;
    if (p == end_) {
      p_ = p;
      line_ += newlines;
      return Fail(open, StrCat("missing closing quote of the string value of field ",
                               QuoteName(field->key)));
    }
    const char c = *p;
    if (c == '"') break;
    if (c == '\n') {
      ++newlines;
      ++p;
      continue;
    }
    if (c != '\\') {
      high = true;
      ++p;
      continue;
    }
    // InfluxDB servers unescape only \\ and \"; any other backslash is literal.
    if (p + 1 < end_ && (p[1] == '\\' || p[1] == '"')) {
      escaped = true;
      if (!AppendScratch(segment, static_cast<size_t>(p - segment), p) ||
          !AppendScratch(p + 1, 1, p)) {
        line_ += newlines;
        return false;
      }
      p += 2;
      segment = p;
      continue;
    }
    ++p;
  }
  if (escaped) {
    if (!AppendScratch(segment, static_cast<size_t>(p - segment), p)) {
      line_ += newlines;
      return false;
    }
    field->text = std::string_view(scratch_.get() + out_begin, scratch_size_ - out_begin);
  } else {
    field->text = std::string_view(start, static_cast<size_t>(p - start));
  }
  p_ = p + 1;
  line_ += newlines;
  field->type = FieldType::kString;
  if (high && !IsValidUtf8(field->text)) {
    return Fail(start,
                StrCat("invalid UTF-8 in the string value of field ", QuoteName(field->key)));
  }
  return true;
}

bool LineProtocolParser::Impl::ScanValue(LineField* field) {
  const char first = *p_;
  if (first == '"') return ScanString(field);
  const char* const v0 = p_;
  const char* p = v0;
  while (p < end_ && !(ClassOf(*p) & kValueEnd)) ++p;
  p_ = p;
  std::string_view text(v0, static_cast<size_t>(p - v0));
  switch (first) {
    case 't':
    case 'T':
    case 'f':
    case 'F': {
      bool b;
      if (!ParseBoolText(text, &b)) {
        return Fail(v0, StrCat("invalid boolean value for field ", QuoteName(field->key)));
      }
      field->type = FieldType::kBoolean;
      field->text = text;
      field->bits = b ? 1 : 0;
      return true;
    }
    case ' ':
    case ',':
      return Fail(v0, StrCat("missing value for field ", QuoteName(field->key)));
    default:
      if (first != '-' && first != '.' && !IsDigit(first)) {
        return Fail(v0,
                    StrCat("value of field ", QuoteName(field->key), " has an unrecognized type"));
      }
      break;
  }
  NumberResult r;
  const char last = text.back();
  if (last == 'i') {
    text.remove_suffix(1);
    int64_t v = 0;
    r = ParseSigned(text, &v);
    field->type = FieldType::kInteger;
    field->bits = static_cast<uint64_t>(v);
  } else if (last == 'u') {
    text.remove_suffix(1);
    uint64_t v = 0;
    r = ParseDigits(text.data(), text.data() + text.size(), &v);
    field->type = FieldType::kUnsigned;
    field->bits = v;
  } else {
    double d = 0;
    r = ParseFloatText(text, &d);
    field->type = FieldType::kFloat;
    field->bits = DoubleBits(d);
  }
  field->text = text;
  if (r == NumberResult::kSyntax) {
    return Fail(v0, StrCat("invalid ", FieldTypeName(field->type), " value for field ",
                           QuoteName(field->key)));
  }
  if (r == NumberResult::kRange) {
    return Fail(v0, StrCat(FieldTypeName(field->type), " value of field ", QuoteName(field->key),
                           " is out of range"));
  }
  return true;
}

bool LineProtocolParser::Impl::ScanTimestamp(TimestampNs* out) {
  const char* const t0 = p_;
  while (p_ < end_ && (IsDigit(*p_) || *p_ == '-')) ++p_;
  if (p_ == t0) return Fail(p_, StrCat("unexpected character ", QuoteByte(*p_), " after fields"));
  if (p_ < end_ && *p_ != ' ' && *p_ != '\r' && *p_ != '\n') {
    return Fail(t0, StrCat("invalid timestamp (unexpected character ", QuoteByte(*p_), ")"));
  }
  int64_t t;
  const NumberResult r = ParseSigned(std::string_view(t0, static_cast<size_t>(p_ - t0)), &t);
  if (r == NumberResult::kSyntax) return Fail(t0, "invalid timestamp");
  if (r == NumberResult::kRange || __builtin_mul_overflow(t, unit_, out)) {
    return Fail(t0, "timestamp is out of range");
  }
  SkipSpaces();
  if (!AtEol()) return Fail(p_, "unexpected text after the timestamp");
  return true;
}

bool LineProtocolParser::Impl::CheckDuplicateTags() {
  const size_t n = tags_.size();
  if (n < 2) return true;
  if (n <= 16) {
    for (size_t i = 1; i < n; ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (tags_[i].key == tags_[j].key) {
          return Fail(begin_ + tags_[i].key_offset,
                      StrCat("duplicate tag key ", QuoteName(tags_[i].key)));
        }
      }
    }
    return true;
  }
  sorted_keys_.clear();
  for (const LineTag& t : tags_) sorted_keys_.push_back(t.key);
  std::sort(sorted_keys_.begin(), sorted_keys_.end());
  const auto dup = std::adjacent_find(sorted_keys_.begin(), sorted_keys_.end());
  if (dup == sorted_keys_.end()) return true;
  // Report the second occurrence in line order.
  bool seen = false;
  for (const LineTag& t : tags_) {
    if (t.key != *dup) continue;
    if (seen) return Fail(begin_ + t.key_offset, StrCat("duplicate tag key ", QuoteName(t.key)));
    seen = true;
  }
  return Fail(line_start_, StrCat("duplicate tag key ", QuoteName(*dup)));
}

bool LineProtocolParser::Impl::ParsePoint(LinePoint* point) {
  const char* const start = p_;
  std::string_view measurement;
  if (!ScanName<NameKind::kMeasurement>(&measurement)) return false;
  if (measurement.empty()) {
    return Fail(p_, StrCat("invalid character ", QuoteByte(*p_), " at start of measurement"));
  }
  while (p_ < end_ && *p_ == ',') {
    ++p_;
    if (p_ == end_) return Fail(p_, "expected a tag key after ',', found end of input");
    if (*p_ == ' ' || *p_ == '\r' || *p_ == '\n') {
      return Fail(p_, "expected a tag key after ',', found white space");
    }
    if (static_cast<size_t>(p_ - line_start_) > max_line_bytes_) return Fail(p_, LineTooLong());
    LineTag tag;
    tag.key_offset = static_cast<size_t>(p_ - begin_);
    if (!ScanName<NameKind::kKey>(&tag.key)) return false;
    if (tag.key.empty()) {
      if (*p_ == '=') return Fail(p_, "empty tag key");
      return Fail(p_, StrCat("invalid character ", QuoteByte(*p_), " at start of tag key"));
    }
    if (p_ == end_ || *p_ != '=') {
      return Fail(p_,
                  StrCat("expected '=' after tag key ", QuoteName(tag.key),
                         p_ == end_ ? ", found end of input" : StrCat(", found ", QuoteByte(*p_))));
    }
    ++p_;
    if (!ScanName<NameKind::kKey>(&tag.value)) return false;
    if (tag.value.empty()) return Fail(p_, StrCat("tag ", QuoteName(tag.key), " has no value"));
    tags_.push_back(tag);
  }
  const char* const series_end = p_;
  if (p_ == end_) return Fail(p_, "expected fields, found end of input");
  if (*p_ != ' ') {
    return Fail(p_, StrCat("unexpected character ", QuoteByte(*p_), " after ",
                           tags_.empty() ? "the measurement" : "the tag set"));
  }
  SkipSpaces();

  for (;;) {
    LineField field;
    field.key_offset = static_cast<size_t>(p_ - begin_);
    const char* const key_at = p_;
    if (!ScanName<NameKind::kKey>(&field.key)) return false;
    if (field.key.empty()) {
      if (p_ == end_) return Fail(p_, "expected a field key, found end of input");
      return Fail(p_, StrCat("invalid character ", QuoteByte(*p_), " at start of field key"));
    }
    if (p_ == end_ || *p_ != '=') {
      return Fail(p_,
                  StrCat("expected '=' after field key ", QuoteName(field.key),
                         p_ == end_ ? ", found end of input" : StrCat(", found ", QuoteByte(*p_))));
    }
    ++p_;
    if (p_ == end_) {
      return Fail(
          p_, StrCat("expected a value for field ", QuoteName(field.key), ", found end of input"));
    }
    if (fields_.size() == max_fields_) {
      return Fail(key_at, StrCat("more than ", max_fields_, " fields"));
    }
    field.value_offset = static_cast<size_t>(p_ - begin_);
    if (!ScanValue(&field)) return false;
    fields_.push_back(field);
    if (p_ == end_) break;
    const char c = *p_;
    if (c == ',') {
      ++p_;
      continue;
    }
    if (c != ' ' && c != '\r' && c != '\n') {
      return Fail(
          p_, StrCat("unexpected character ", QuoteByte(c), " after field ", QuoteName(field.key)));
    }
    break;
  }
  SkipSpaces();
  point->has_timestamp = !AtEol();
  if (point->has_timestamp) {
    if (!ScanTimestamp(&point->time_ns)) return false;
  } else {
    point->time_ns = default_time_;
  }
  if (static_cast<size_t>(p_ - line_start_) > max_line_bytes_) {
    return Fail(line_start_ + max_line_bytes_, LineTooLong());
  }
  if (!CheckDuplicateTags()) return false;
  ConsumeEol();

  point->measurement = measurement;
  point->tags = tags_;
  point->fields = fields_;
  point->series_text = std::string_view(start, static_cast<size_t>(series_end - start));
  point->line = point_line_;
  point->offset = static_cast<size_t>(line_start_ - begin_);
  return true;
}

LineProtocolParser::LineProtocolParser(std::string_view body, const LineProtocolOptions& options)
    : impl_(std::make_unique<Impl>(body, options)) {}

LineProtocolParser::~LineProtocolParser() = default;

LineProtocolParser::Step LineProtocolParser::Next(LinePoint* point, LineProtocolError* error) {
  return impl_->Next(point, error);
}

LineProtocolError LineProtocolParser::ErrorAt(size_t offset, std::string reason) const {
  return impl_->ErrorAt(offset, std::move(reason));
}

namespace {

// As WriteBatch::Validate.
constexpr size_t kMaxNameBytes = 64 * 1024;
constexpr size_t kMaxStringBytes = 64 * 1024;

// A field as it will be stored: money resolved, repeated keys reduced to the last value.
struct StoredField {
  std::string_view key;
  FieldType type;
  uint64_t bits;
  std::string_view str;
  size_t key_offset;
};

// Applies the storage rules to parsed points and appends them to a batch. Holds views into
// the body, which must outlive it. Not thread-safe.
class PointWriter {
 public:
  // Checks `point`; on success fills fields_ for Append.
  bool Check(const LineProtocolParser& parser, const LinePoint& point, LineProtocolError* error);
  // Appends the point last checked. series_text must point into the body.
  void Append(const LinePoint& point, WriteBatch* batch);

 private:
  bool Fail(const LineProtocolParser& parser, size_t offset, std::string reason,
            LineProtocolError* error) {
    *error = parser.ErrorAt(offset, std::move(reason));
    return false;
  }
  bool DropRepeatedFields(const LineProtocolParser& parser, LineProtocolError* error);

  std::vector<StoredField> fields_;
  std::vector<uint32_t> order_;
  std::vector<Tag> tags_;
  absl::flat_hash_map<std::string_view, WriteBatch::SeriesRef> series_;
};

bool PointWriter::Check(const LineProtocolParser& parser, const LinePoint& point,
                        LineProtocolError* error) {
  if (point.measurement.size() > kMaxNameBytes) {
    return Fail(parser, point.offset, "measurement name is longer than 64 KiB", error);
  }
  for (const LineTag& t : point.tags) {
    if (t.key == "time") return Fail(parser, t.key_offset, "tag key 'time' is reserved", error);
    if (t.key.size() > kMaxNameBytes || t.value.size() > kMaxNameBytes) {
      return Fail(parser, t.key_offset,
                  StrCat("tag ", QuoteName(t.key), " has a key or value longer than 64 KiB"),
                  error);
    }
  }
  fields_.clear();
  for (const LineField& f : point.fields) {
    StoredField s{f.key, f.type, f.bits, {}, f.key_offset};
    if (f.key == "time") return Fail(parser, f.key_offset, "field key 'time' is reserved", error);
    if (f.key.size() > kMaxNameBytes) {
      return Fail(parser, f.key_offset, "field key is longer than 64 KiB", error);
    }
    if (IsMoneyFieldName(f.key)) {
      if (f.type == FieldType::kFloat) {
        absl::StatusOr<Money> m = Money::Parse(f.text);
        if (!m.ok()) {
          return Fail(parser, f.value_offset,
                      StrCat("field ", QuoteName(f.key), ": ", m.status().message()), error);
        }
        s.type = FieldType::kMoney;
        s.bits = static_cast<uint64_t>(m->units());
      } else if (f.type == FieldType::kInteger) {
        absl::StatusOr<Money> m = Money::FromWhole(f.as_integer());
        if (!m.ok()) {
          return Fail(parser, f.value_offset,
                      StrCat("field ", QuoteName(f.key), ": ", m.status().message()), error);
        }
        s.type = FieldType::kMoney;
        s.bits = static_cast<uint64_t>(m->units());
      } else {
        return Fail(parser, f.value_offset,
                    StrCat("field ", QuoteName(f.key),
                           " holds money: write a decimal number (1.25) or an integer (3i), not ",
                           f.type == FieldType::kUnsigned ? "an unsigned integer"
                                                          : StrCat("a ", FieldTypeName(f.type))),
                    error);
      }
    } else if (f.type == FieldType::kString) {
      if (f.text.size() > kMaxStringBytes) {
        return Fail(parser, f.value_offset,
                    StrCat("string value of field ", QuoteName(f.key), " is longer than 64 KiB"),
                    error);
      }
      s.str = f.text;
    }
    fields_.push_back(s);
  }
  return DropRepeatedFields(parser, error);
}

// InfluxDB stores the last of repeated fields of one line, and rejects the line when their
// types differ (a field type conflict within the point).
bool PointWriter::DropRepeatedFields(const LineProtocolParser& parser, LineProtocolError* error) {
  const size_t n = fields_.size();
  if (n < 2) return true;
  bool any = false;
  std::vector<bool> drop;
  if (n <= 16) {
    for (size_t i = 1; i < n; ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (fields_[i].key != fields_[j].key) continue;
        if (fields_[i].type != fields_[j].type) {
          return Fail(
              parser, fields_[i].key_offset,
              StrCat("field ", QuoteName(fields_[i].key), " given as ",
                     FieldTypeName(fields_[j].type), " and as ", FieldTypeName(fields_[i].type)),
              error);
        }
        if (!any) drop.assign(n, false);
        any = true;
        drop[j] = true;
      }
    }
  } else {
    order_.resize(n);
    for (uint32_t i = 0; i < n; ++i) order_[i] = i;
    std::stable_sort(order_.begin(), order_.end(),
                     [&](uint32_t a, uint32_t b) { return fields_[a].key < fields_[b].key; });
    for (size_t k = 1; k < n; ++k) {
      const StoredField& prev = fields_[order_[k - 1]];
      const StoredField& cur = fields_[order_[k]];
      if (prev.key != cur.key) continue;
      if (prev.type != cur.type) {
        return Fail(parser, cur.key_offset,
                    StrCat("field ", QuoteName(cur.key), " given as ", FieldTypeName(prev.type),
                           " and as ", FieldTypeName(cur.type)),
                    error);
      }
      if (!any) drop.assign(n, false);
      any = true;
      drop[order_[k - 1]] = true;
    }
  }
  if (any) {
    size_t out = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!drop[i]) fields_[out++] = fields_[i];
    }
    fields_.resize(out);
  }
  return true;
}

void PointWriter::Append(const LinePoint& point, WriteBatch* batch) {
  WriteBatch::SeriesRef ref;
  auto it = series_.find(point.series_text);
  if (it != series_.end()) {
    ref = it->second;
  } else {
    tags_.resize(point.tags.size());
    for (size_t i = 0; i < point.tags.size(); ++i) {
      tags_[i].key.assign(point.tags[i].key);
      tags_[i].value.assign(point.tags[i].value);
    }
    ref = batch->AddSeries(point.measurement, tags_);
    series_.emplace(point.series_text, ref);
  }
  batch->AddPoint(ref, point.time_ns);
  for (const StoredField& f : fields_) {
    switch (f.type) {
      case FieldType::kFloat: {
        double d;
        std::memcpy(&d, &f.bits, sizeof d);
        batch->AddFloat(f.key, d);
        break;
      }
      case FieldType::kInteger:
        batch->AddInteger(f.key, static_cast<int64_t>(f.bits));
        break;
      case FieldType::kUnsigned:
        batch->AddUnsigned(f.key, f.bits);
        break;
      case FieldType::kBoolean:
        batch->AddBoolean(f.key, f.bits != 0);
        break;
      case FieldType::kString:
        batch->AddString(f.key, f.str);
        break;
      case FieldType::kMoney:
        batch->AddMoney(f.key, Money::FromUnits(static_cast<int64_t>(f.bits)));
        break;
    }
  }
}

absl::Status ErrorStatus(const ParseReport& report) {
  std::string message = report.errors.front().ToString();
  if (report.invalid_lines > 1) {
    StrAppend(&message, " (and ", report.invalid_lines - 1, " more invalid line",
              report.invalid_lines > 2 ? "s" : "", ")");
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace

absl::Status ParseLineProtocolInto(std::string_view body, const LineProtocolOptions& options,
                                   WriteBatch* batch, ParseReport* report) {
  ParseReport local;
  if (report == nullptr) report = &local;
  *report = ParseReport();
  const auto record = [&](LineProtocolError&& e) {
    ++report->invalid_lines;
    if (report->errors.size() < std::max<size_t>(options.max_reported_errors, 1)) {
      report->errors.push_back(std::move(e));
    }
  };

  PointWriter writer;
  LinePoint point;
  LineProtocolError error;

  if (options.on_error == LineErrorPolicy::kSkipInvalidLines) {
    LineProtocolParser parser(body, options);
    for (;;) {
      const auto step = parser.Next(&point, &error);
      if (step == LineProtocolParser::Step::kEnd) break;
      if (step == LineProtocolParser::Step::kError || !writer.Check(parser, point, &error)) {
        record(std::move(error));
        continue;
      }
      writer.Append(point, batch);
      ++report->points_added;
    }
    return report->invalid_lines == 0 ? absl::OkStatus() : ErrorStatus(*report);
  }

  // kRejectBatch. A batch that holds nothing yet is filled in one pass and emptied again on
  // an error: Clear() restores every observable part of it but the source key, which is put
  // back. Any other batch is only touched once a first pass has found every line valid.
  const bool one_pass = batch->empty() && batch->series_count() == 0 && batch->Validate().ok();
  const std::string source = one_pass ? batch->source() : std::string();
  if (!one_pass) {
    LineProtocolParser parser(body, options);
    for (;;) {
      const auto step = parser.Next(&point, &error);
      if (step == LineProtocolParser::Step::kEnd) break;
      if (step == LineProtocolParser::Step::kError || !writer.Check(parser, point, &error)) {
        record(std::move(error));
        return ErrorStatus(*report);
      }
    }
  }
  LineProtocolParser parser(body, options);
  for (;;) {
    const auto step = parser.Next(&point, &error);
    if (step == LineProtocolParser::Step::kEnd) break;
    if (step == LineProtocolParser::Step::kError || !writer.Check(parser, point, &error)) {
      // Only reachable in one pass mode: the two-pass mode checked these very lines.
      batch->Clear();
      batch->set_source(source);
      report->points_added = 0;
      record(std::move(error));
      return ErrorStatus(*report);
    }
    writer.Append(point, batch);
    ++report->points_added;
  }
  return absl::OkStatus();
}

}  // namespace burnrate
