// The line-protocol parser on arbitrary bytes. It must not crash, and what it reports must be
// consistent (the checks below abort on a violation):
// - every point has a measurement, non-empty tag values, unique tag keys, at most max_fields
//   fields, and names free of control bytes;
// - a point written back as line protocol parses to the same point;
// - ParseLineProtocolInto leaves a batch that passes WriteBatch::Validate, and a rejected
//   body leaves the batch empty.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "burnrate/write_batch.h"
#include "ingest/line_protocol.h"

namespace {

using burnrate::FieldType;
using burnrate::LineField;
using burnrate::LinePoint;
using burnrate::LineProtocolError;
using burnrate::LineProtocolOptions;
using burnrate::LineProtocolParser;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "line_protocol_fuzzer: %s\n", what);
  std::abort();
}

bool HasControlByte(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

void AppendEscaped(std::string* out, std::string_view name, std::string_view specials) {
  for (char c : name) {
    if (specials.find(c) != std::string_view::npos) out->push_back('\\');
    out->push_back(c);
  }
}

// Line protocol for `p`, or "" when the text would be ambiguous: a name ending in a
// backslash would escape the separator that follows it.
std::string Encode(const LinePoint& p) {
  const auto ends_in_backslash = [](std::string_view s) { return !s.empty() && s.back() == '\\'; };
  std::string out;
  if (ends_in_backslash(p.measurement)) return "";
  AppendEscaped(&out, p.measurement, ", ");
  for (const auto& t : p.tags) {
    if (ends_in_backslash(t.key) || ends_in_backslash(t.value)) return "";
    out.push_back(',');
    AppendEscaped(&out, t.key, ",= ");
    out.push_back('=');
    AppendEscaped(&out, t.value, ",= ");
  }
  char sep = ' ';
  for (const LineField& f : p.fields) {
    if (ends_in_backslash(f.key)) return "";
    out.push_back(sep);
    sep = ',';
    AppendEscaped(&out, f.key, ",= ");
    out.push_back('=');
    char buf[32];
    switch (f.type) {
      case FieldType::kFloat: {
        const auto r = std::to_chars(buf, buf + sizeof buf, f.as_float());
        out.append(buf, r.ptr);
        break;
      }
      case FieldType::kInteger:
        out += std::to_string(f.as_integer()) + "i";
        break;
      case FieldType::kUnsigned:
        out += std::to_string(f.as_unsigned()) + "u";
        break;
      case FieldType::kBoolean:
        out += f.as_boolean() ? "true" : "false";
        break;
      case FieldType::kString:
        out.push_back('"');
        AppendEscaped(&out, f.text, "\\\"");
        out.push_back('"');
        break;
      case FieldType::kMoney:
        Fail("the parser produced a money field");
    }
  }
  out += " " + std::to_string(p.time_ns);
  return out;
}

void CheckPoint(const LinePoint& p, const LineProtocolOptions& options) {
  if (p.measurement.empty()) Fail("empty measurement");
  if (HasControlByte(p.measurement)) Fail("control byte in measurement");
  if (p.fields.empty() || p.fields.size() > options.max_fields) Fail("bad field count");
  for (size_t i = 0; i < p.tags.size(); ++i) {
    if (p.tags[i].key.empty() || p.tags[i].value.empty()) Fail("empty tag key or value");
    if (HasControlByte(p.tags[i].key) || HasControlByte(p.tags[i].value)) {
      Fail("control byte in tag");
    }
    for (size_t j = 0; j < i; ++j) {
      if (p.tags[i].key == p.tags[j].key) Fail("duplicate tag key");
    }
  }
  for (const LineField& f : p.fields) {
    if (f.key.empty() || HasControlByte(f.key)) Fail("bad field key");
    if (f.type == FieldType::kFloat && !__builtin_isfinite(f.as_float())) Fail("non-finite");
  }
}

bool SameFields(const LineField& a, const LineField& b) {
  if (a.key != b.key || a.type != b.type) return false;
  if (a.type == FieldType::kString) return a.text == b.text;
  if (a.type == FieldType::kFloat) return a.as_float() == b.as_float();
  return a.bits == b.bits;
}

void CheckRoundTrip(const LinePoint& p) {
  const std::string text = Encode(p);
  if (text.empty()) return;
  LineProtocolOptions options;
  options.max_line_bytes = text.size() + 1;
  LineProtocolParser parser(text, options);
  LinePoint q;
  LineProtocolError error;
  if (parser.Next(&q, &error) != LineProtocolParser::Step::kPoint) {
    Fail("a point written back does not parse");
  }
  if (q.measurement != p.measurement || q.tags.size() != p.tags.size() ||
      q.fields.size() != p.fields.size() || q.time_ns != p.time_ns) {
    Fail("a point written back parses differently");
  }
  for (size_t i = 0; i < p.tags.size(); ++i) {
    if (q.tags[i].key != p.tags[i].key || q.tags[i].value != p.tags[i].value) {
      Fail("a tag written back parses differently");
    }
  }
  for (size_t i = 0; i < p.fields.size(); ++i) {
    if (!SameFields(p.fields[i], q.fields[i])) Fail("a field written back parses differently");
  }
  if (parser.Next(&q, &error) != LineProtocolParser::Step::kEnd) Fail("extra output");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  LineProtocolOptions options;
  options.max_line_bytes = 4096;
  options.max_fields = 16;
  // The first byte picks a precision, so that scaling and default times are covered.
  options.precision = static_cast<burnrate::Precision>(size == 0 ? 0 : data[0] % 6);
  options.default_time = 1'700'000'000'123'456'789;

  size_t points = 0;
  {
    LineProtocolParser parser(body, options);
    LinePoint point;
    LineProtocolError error;
    size_t steps = 0;
    for (;;) {
      const auto step = parser.Next(&point, &error);
      if (step == LineProtocolParser::Step::kEnd) break;
      if (++steps > size + 1) Fail("more steps than bytes");
      if (step == LineProtocolParser::Step::kError) {
        if (error.line == 0 || error.column == 0 || error.reason.empty()) Fail("bad error");
        if (error.text.size() > LineProtocolError::kMaxTextBytes) Fail("error text too long");
        continue;
      }
      ++points;
      CheckPoint(point, options);
      CheckRoundTrip(point);
    }
  }

  for (const auto policy :
       {burnrate::LineErrorPolicy::kRejectBatch, burnrate::LineErrorPolicy::kSkipInvalidLines}) {
    options.on_error = policy;
    burnrate::WriteBatch batch("db");
    burnrate::ParseReport report;
    const absl::Status status = burnrate::ParseLineProtocolInto(body, options, &batch, &report);
    if (!batch.Validate().ok()) Fail("ParseLineProtocolInto left an invalid batch");
    if (report.points_added != batch.point_count()) Fail("points_added disagrees");
    if (report.points_added > points) Fail("more points stored than parsed");
    if (status.ok() != (report.invalid_lines == 0)) Fail("status disagrees with the report");
    if (!status.ok() && policy == burnrate::LineErrorPolicy::kRejectBatch && !batch.empty()) {
      Fail("a rejected body left points behind");
    }
  }
  return 0;
}
