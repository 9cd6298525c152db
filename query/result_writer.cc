// The result model's values and its JSON and CSV writers (InfluxDB 1.x /query output).
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "base/json_string.h"
#include "base/str_cat.h"
#include "burnrate/money.h"
#include "burnrate/query_result.h"
#include "query/format.h"
#include "query/query_stream.h"
#include "query/result_util.h"

namespace burnrate {

// ---------------------------------------------------------------------------------------
// ResultValue

ResultValue ResultValue::Boolean(bool v) {
  ResultValue r;
  r.kind_ = Kind::kBoolean;
  r.i_ = v ? 1 : 0;
  return r;
}
ResultValue ResultValue::Integer(int64_t v) {
  ResultValue r;
  r.kind_ = Kind::kInteger;
  r.i_ = v;
  return r;
}
ResultValue ResultValue::Unsigned(uint64_t v) {
  ResultValue r;
  r.kind_ = Kind::kUnsigned;
  r.i_ = static_cast<__int128>(v);
  return r;
}
ResultValue ResultValue::Float(double v) {
  ResultValue r;
  r.kind_ = Kind::kFloat;
  r.f_ = v;
  return r;
}
ResultValue ResultValue::String(std::string v) {
  ResultValue r;
  r.kind_ = Kind::kString;
  r.s_ = std::move(v);
  return r;
}
ResultValue ResultValue::Decimal(__int128 units) {
  ResultValue r;
  r.kind_ = Kind::kDecimal;
  r.i_ = units;
  return r;
}
ResultValue ResultValue::Time(TimestampNs ns, int32_t utc_offset_s) {
  ResultValue r;
  r.kind_ = Kind::kTime;
  r.i_ = ns;
  r.offset_s_ = utc_offset_s;
  return r;
}

double ResultValue::ToDouble() const {
  switch (kind_) {
    case Kind::kBoolean:
    case Kind::kInteger:
    case Kind::kTime:
      return static_cast<double>(static_cast<int64_t>(i_));
    case Kind::kUnsigned:
      return static_cast<double>(static_cast<uint64_t>(i_));
    case Kind::kFloat:
      return f_;
    case Kind::kDecimal:
      return DecimalToDouble(i_);
    default:
      return 0;
  }
}

std::string ResultValue::ToString() const {
  switch (kind_) {
    case Kind::kNull:
      return "null";
    case Kind::kBoolean:
      return i_ != 0 ? "true" : "false";
    case Kind::kInteger:
      return StrCat(static_cast<int64_t>(i_));
    case Kind::kUnsigned:
      return StrCat(static_cast<uint64_t>(i_));
    case Kind::kFloat:
      return FormatFloatJson(f_);
    case Kind::kString:
      return s_;
    case Kind::kDecimal:
      return MoneyUnitsToString(i_);
    case Kind::kTime:
      return FormatRfc3339Nano(static_cast<TimestampNs>(i_), offset_s_);
  }
  return "";
}

bool operator==(const ResultValue& a, const ResultValue& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case ResultValue::Kind::kNull:
      return true;
    case ResultValue::Kind::kFloat:
      // Bit equality, so NaN == NaN and 0 != -0: tests compare exact results.
      return std::signbit(a.f_) == std::signbit(b.f_) &&
             (a.f_ == b.f_ || (std::isnan(a.f_) && std::isnan(b.f_)));
    case ResultValue::Kind::kString:
      return a.s_ == b.s_;
    case ResultValue::Kind::kTime:
      return a.i_ == b.i_ && a.offset_s_ == b.offset_s_;
    default:
      return a.i_ == b.i_;
  }
}

absl::StatusOr<EpochPrecision> ParseEpochPrecision(std::string_view text) {
  if (text.empty()) return EpochPrecision::kRfc3339;
  if (text == "ns" || text == "n") return EpochPrecision::kNanoseconds;
  if (text == "u" || text == "\xC2\xB5") return EpochPrecision::kMicroseconds;
  if (text == "ms") return EpochPrecision::kMilliseconds;
  if (text == "s") return EpochPrecision::kSeconds;
  if (text == "m") return EpochPrecision::kMinutes;
  if (text == "h") return EpochPrecision::kHours;
  return absl::InvalidArgumentError(
      StrCat("invalid epoch '", text, "' (expected ns, u, µ, ms, s, m or h)"));
}

int64_t EpochDivisor(EpochPrecision epoch) {
  switch (epoch) {
    case EpochPrecision::kMicroseconds:
      return 1'000;
    case EpochPrecision::kMilliseconds:
      return 1'000'000;
    case EpochPrecision::kSeconds:
      return 1'000'000'000;
    case EpochPrecision::kMinutes:
      return 60'000'000'000;
    case EpochPrecision::kHours:
      return 3'600'000'000'000;
    default:
      return 1;
  }
}

absl::Status QueryResult::status() const {
  for (const StatementResult& r : results) {
    if (!r.status.ok()) return r.status;
  }
  return absl::OkStatus();
}

namespace {

// ---------------------------------------------------------------------------------------
// JSON

void AppendJsonValue(std::string* out, const ResultValue& v, EpochPrecision epoch) {
  switch (v.kind()) {
    case ResultValue::Kind::kNull:
      out->append("null");
      return;
    case ResultValue::Kind::kBoolean:
      out->append(v.boolean() ? "true" : "false");
      return;
    case ResultValue::Kind::kInteger:
      StrAppend(out, v.integer());
      return;
    case ResultValue::Kind::kUnsigned:
      StrAppend(out, v.unsigned_value());
      return;
    case ResultValue::Kind::kFloat:
      if (std::isnan(v.float_value()) || std::isinf(v.float_value())) {
        out->append("null");
      } else {
        out->append(FormatFloatJson(v.float_value()));
      }
      return;
    case ResultValue::Kind::kString:
      AppendJsonString(out, v.string());
      return;
    case ResultValue::Kind::kDecimal:
      out->append(MoneyUnitsToString(v.decimal_units()));
      return;
    case ResultValue::Kind::kTime:
      if (epoch == EpochPrecision::kRfc3339) {
        out->push_back('"');
        out->append(FormatRfc3339Nano(v.time(), v.utc_offset_s()));
        out->push_back('"');
      } else {
        StrAppend(out, v.time() / EpochDivisor(epoch));
      }
      return;
  }
}

void AppendStringArray(std::string* out, const std::vector<std::string>& items) {
  out->push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, items[i]);
  }
  out->push_back(']');
}

// One series with rows [begin, end), as Go marshals models.Row (empty parts omitted).
void AppendSeries(std::string* out, const ResultSeries& s, size_t begin, size_t end, bool partial,
                  EpochPrecision epoch) {
  out->push_back('{');
  bool first = true;
  auto key = [&](std::string_view k) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, k);
    out->push_back(':');
  };
  if (!s.name.empty()) {
    key("name");
    AppendJsonString(out, s.name);
  }
  if (!s.tags.empty()) {
    key("tags");
    out->push_back('{');
    for (size_t i = 0; i < s.tags.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(out, s.tags[i].key);
      out->push_back(':');
      AppendJsonString(out, s.tags[i].value);
    }
    out->push_back('}');
  }
  if (!s.columns.empty()) {
    key("columns");
    AppendStringArray(out, s.columns);
  }
  if (end > begin) {
    key("values");
    out->push_back('[');
    for (size_t r = begin; r < end; ++r) {
      if (r > begin) out->push_back(',');
      out->push_back('[');
      const std::vector<ResultValue>& row = s.values[r];
      for (size_t c = 0; c < row.size(); ++c) {
        if (c > 0) out->push_back(',');
        AppendJsonValue(out, row[c], epoch);
      }
      out->push_back(']');
    }
    out->push_back(']');
  }
  if (partial) {
    key("partial");
    out->append("true");
  }
  out->push_back('}');
}

// A statement's result object: statement_id, series, messages, partial, error (Go's
// field order, empty ones omitted). `series` holds pre-rendered series objects.
void AppendStatement(std::string* out, const StatementResult& r,
                     const std::vector<std::string>& series, bool messages, bool partial) {
  StrAppend(out, "{\"statement_id\":", r.statement_id);
  if (!series.empty()) {
    out->append(",\"series\":[");
    for (size_t i = 0; i < series.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append(series[i]);
    }
    out->push_back(']');
  }
  if (messages && !r.messages.empty()) {
    out->append(",\"messages\":[");
    for (size_t i = 0; i < r.messages.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append("{\"level\":");
      AppendJsonString(out, r.messages[i].level);
      out->append(",\"text\":");
      AppendJsonString(out, r.messages[i].text);
      out->push_back('}');
    }
    out->push_back(']');
  }
  if (partial) out->append(",\"partial\":true");
  if (!r.status.ok()) {
    out->append(",\"error\":");
    AppendJsonString(out, StatusText(r.status));
  }
  out->push_back('}');
}

// Go's json.Indent(dst, src, "", "    ") over compact JSON.
std::string Indent(std::string_view compact) {
  std::string out;
  out.reserve(compact.size() * 2);
  int depth = 0;
  bool in_string = false;
  auto newline = [&] {
    out.push_back('\n');
    for (int i = 0; i < depth; ++i) out.append("    ");
  };
  for (size_t i = 0; i < compact.size(); ++i) {
    const char c = compact[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\') {
        out.push_back(compact[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out.push_back(c);
        break;
      case '{':
      case '[':
        out.push_back(c);
        if (i + 1 < compact.size() && (compact[i + 1] == '}' || compact[i + 1] == ']')) {
          out.push_back(compact[++i]);
        } else {
          ++depth;
          newline();
        }
        break;
      case '}':
      case ']':
        --depth;
        newline();
        out.push_back(c);
        break;
      case ',':
        out.push_back(c);
        newline();
        break;
      case ':':
        out.append(": ");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Finish(std::string compact, const ResultFormat& format) {
  if (format.pretty) compact = Indent(compact);
  compact.push_back('\n');
  return compact;
}

// ---------------------------------------------------------------------------------------
// CSV

// Go's encoding/csv quoting: fields with a comma, quote, CR or LF, a leading space, or
// exactly `\.` are quoted with inner quotes doubled.
void AppendCsvField(std::string* out, std::string_view f) {
  bool quote = f == "\\.";
  if (!f.empty()) {
    const char c0 = f[0];
    if (c0 == ' ' || c0 == '\t' || c0 == '\n' || c0 == '\v' || c0 == '\f' || c0 == '\r') {
      quote = true;
    }
    if (f.size() >= 2 && static_cast<unsigned char>(f[0]) == 0xC2 &&
        (static_cast<unsigned char>(f[1]) == 0x85 || static_cast<unsigned char>(f[1]) == 0xA0)) {
      quote = true;
    }
  }
  for (char c : f) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') quote = true;
  }
  if (!quote) {
    out->append(f);
    return;
  }
  out->push_back('"');
  for (char c : f) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendCsvRecord(std::string* out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendCsvField(out, fields[i]);
  }
  out->push_back('\n');
}

// Tags as InfluxDB's hash key without its leading comma: k=v,k=v with line-protocol
// escaping of commas, equals signs and spaces; empty values left out.
std::string CsvTags(const std::vector<Tag>& tags) {
  std::string out;
  auto escape = [&](std::string_view s) {
    for (char c : s) {
      if (c == ',' || c == '=' || c == ' ') out.push_back('\\');
      out.push_back(c);
    }
  };
  for (const Tag& t : tags) {
    if (t.value.empty()) continue;
    if (!out.empty()) out.push_back(',');
    escape(t.key);
    out.push_back('=');
    escape(t.value);
  }
  return out;
}

std::string CsvValue(const ResultValue& v, EpochPrecision epoch) {
  switch (v.kind()) {
    case ResultValue::Kind::kNull:
      return "";
    case ResultValue::Kind::kFloat:
      return FormatFloatFixed(v.float_value());
    case ResultValue::Kind::kTime:
      return StrCat(v.time() / EpochDivisor(epoch));
    default:
      return v.ToString();
  }
}

}  // namespace

std::string QueryResultToJson(const QueryResult& result, const ResultFormat& format) {
  std::string out = "{\"results\":[";
  for (size_t i = 0; i < result.results.size(); ++i) {
    const StatementResult& r = result.results[i];
    std::vector<std::string> series;
    series.reserve(r.series.size());
    for (const ResultSeries& s : r.series) {
      std::string one;
      AppendSeries(&one, s, 0, s.values.size(), s.partial, result.epoch);
      series.push_back(std::move(one));
    }
    if (i > 0) out.push_back(',');
    AppendStatement(&out, r, series, true, r.partial);
  }
  out.append("]}");
  return Finish(std::move(out), format);
}

bool StatementToJsonChunks(const StatementResult& r, EpochPrecision epoch, size_t chunk_size,
                           const ResultFormat& format,
                           const std::function<bool(std::string document)>& emit) {
  if (chunk_size == 0) chunk_size = 10'000;
  auto document = [&](const StatementResult& st, const std::vector<std::string>& series,
                      bool messages, bool partial) {
    std::string doc = "{\"results\":[";
    AppendStatement(&doc, st, series, messages, partial);
    doc.append("]}");
    return emit(Finish(std::move(doc), format));
  };
  if (r.series.empty() || !r.status.ok()) return document(r, {}, true, r.partial);
  bool first = true;
  StatementResult head;  // the statement without its error, for the series documents
  head.statement_id = r.statement_id;
  head.messages = r.messages;
  for (const ResultSeries& s : r.series) {
    size_t begin = 0;
    do {
      const size_t end = std::min(s.values.size(), begin + chunk_size);
      const bool more = end < s.values.size();
      std::string one;
      AppendSeries(&one, s, begin, end, more || s.partial, epoch);
      if (!document(head, {one}, first, more || s.partial)) return false;
      first = false;
      begin = end;
    } while (begin < s.values.size());
  }
  return true;
}

std::string QueryResultToJsonChunked(const QueryResult& result, size_t chunk_size,
                                     const ResultFormat& format) {
  std::string out;
  for (const StatementResult& r : result.results) {
    StatementToJsonChunks(r, result.epoch, chunk_size, format, [&](std::string doc) {
      out.append(doc);
      return true;
    });
  }
  return out;
}

std::string QueryResultToCsv(const QueryResult& result) {
  std::string out;
  int last_statement = -1;
  std::vector<std::string> header;
  for (const StatementResult& r : result.results) {
    if (!r.status.ok()) {
      if (last_statement >= 0) out.push_back('\n');
      AppendCsvRecord(&out, {"error"});
      AppendCsvRecord(&out, {StatusText(r.status)});
      last_statement = r.statement_id;
      header.clear();
      continue;
    }
    if (r.series.empty()) continue;
    for (size_t i = 0; i < r.series.size(); ++i) {
      const ResultSeries& s = r.series[i];
      const bool new_statement = r.statement_id != last_statement;
      const bool new_columns = i > 0 && r.series[i - 1].columns != s.columns;
      if (new_statement || new_columns) {
        if (last_statement >= 0) out.push_back('\n');
        last_statement = r.statement_id;
        header = {"name", "tags"};
        header.insert(header.end(), s.columns.begin(), s.columns.end());
        AppendCsvRecord(&out, header);
      }
      std::vector<std::string> fields(2 + s.columns.size());
      fields[0] = s.name;
      fields[1] = CsvTags(s.tags);
      for (const std::vector<ResultValue>& row : s.values) {
        for (size_t c = 0; c < row.size() && c + 2 < fields.size(); ++c) {
          fields[c + 2] = CsvValue(row[c], result.epoch);
        }
        AppendCsvRecord(&out, fields);
      }
    }
  }
  return out;
}

std::string QueryErrorToJson(const absl::Status& status, const ResultFormat& format) {
  std::string out = "{\"error\":";
  AppendJsonString(&out, StatusText(status));
  out.push_back('}');
  return Finish(std::move(out), format);
}

std::string QueryErrorToCsv(const absl::Status& status) {
  std::string out;
  AppendCsvRecord(&out, {"error"});
  AppendCsvRecord(&out, {StatusText(status)});
  return out;
}

}  // namespace burnrate
