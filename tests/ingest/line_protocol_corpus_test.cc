// Runs every decode case of the InfluxDB line-protocol conformance corpus
// (influxdata/line-protocol-corpus, shared/data/line-protocol-corpus/corpus.json) through
// LineProtocolParser, the way the reference harness (lpcodecs/lineprotocolv2.go) does: a case
// whose expected output is an error must fail somewhere, any other must give exactly the
// expected points, tags compared in key order. The cases listed in
// line_protocol_divergences.txt are skipped, and each must really differ from the corpus.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "base/str_cat.h"
#include "gtest/gtest.h"
#include "ingest/line_protocol.h"
#include "nlohmann/json.hpp"

namespace burnrate {
namespace {

using nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// RFC 4648 base64 with padding, as Go's encoding/json writes []byte. Returns false on a
// character outside the alphabet.
bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      break;
    } else {
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

// A corpus string: plain JSON text, or {"binary": base64} for bytes that are not UTF-8.
std::string CorpusBytes(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  std::string out;
  EXPECT_TRUE(DecodeBase64(j.at("binary").get<std::string>(), &out));
  return out;
}

Precision CorpusPrecision(const std::string& p) {
  if (p == "1ns") return Precision::kNanosecond;
  if (p == "1\xc2\xb5s") return Precision::kMicrosecond;
  if (p == "1ms") return Precision::kMillisecond;
  if (p == "1s") return Precision::kSecond;
  if (p == "1m") return Precision::kMinute;
  if (p == "1h") return Precision::kHour;
  ADD_FAILURE() << "unknown corpus precision " << p;
  return Precision::kNanosecond;
}

// Points with owned strings, in the corpus's shape.
struct Field {
  std::string key;
  FieldType type;
  std::string text;  // the string value
  uint64_t bits;     // the other values
};
struct Point {
  std::string name;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<Field> fields;
  int64_t time;
};

std::string Describe(const std::vector<Point>& points) {
  std::ostringstream s;
  for (const Point& p : points) {
    s << "{" << absl::CHexEscape(p.name);
    for (const auto& [k, v] : p.tags) s << "," << absl::CHexEscape(k) << "=" << absl::CHexEscape(v);
    s << " ";
    for (const Field& f : p.fields) {
      s << absl::CHexEscape(f.key) << "=" << FieldTypeName(f.type) << ":";
      switch (f.type) {
        case FieldType::kString:
          s << "\"" << absl::CHexEscape(f.text) << "\"";
          break;
        case FieldType::kFloat: {
          double d;
          std::memcpy(&d, &f.bits, sizeof d);
          s << d;
          break;
        }
        case FieldType::kInteger:
          s << static_cast<int64_t>(f.bits);
          break;
        default:
          s << f.bits;
      }
      s << " ";
    }
    s << p.time << "} ";
  }
  return s.str();
}

bool SamePoints(const std::vector<Point>& a, const std::vector<Point>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const Point& x = a[i];
    const Point& y = b[i];
    if (x.name != y.name || x.tags != y.tags || x.time != y.time ||
        x.fields.size() != y.fields.size()) {
      return false;
    }
    for (size_t k = 0; k < x.fields.size(); ++k) {
      const Field& f = x.fields[k];
      const Field& g = y.fields[k];
      if (f.key != g.key || f.type != g.type) return false;
      if (f.type == FieldType::kString) {
        if (f.text != g.text) return false;
      } else if (f.type == FieldType::kFloat) {
        double d, e;
        std::memcpy(&d, &f.bits, sizeof d);
        std::memcpy(&e, &g.bits, sizeof e);
        if (d != e) return false;  // 0.0 == -0.0, as JSON cannot tell them apart
      } else if (f.bits != g.bits) {
        return false;
      }
    }
  }
  return true;
}

std::vector<Point> ExpectedPoints(const json& result) {
  std::vector<Point> out;
  for (const json& jp : result) {
    Point p;
    p.name = CorpusBytes(jp.at("name"));
    p.time = jp.at("time").get<int64_t>();
    for (const json& jt : jp.at("tags")) {
      p.tags.emplace_back(CorpusBytes(jt.at("key")), CorpusBytes(jt.at("value")));
    }
    for (const json& jf : jp.at("fields")) {
      Field f{CorpusBytes(jf.at("key")), FieldType::kFloat, "", 0};
      const json& v = jf.at("value");
      if (v.contains("int")) {
        f.type = FieldType::kInteger;
        f.bits = static_cast<uint64_t>(v["int"].get<int64_t>());
      } else if (v.contains("uint")) {
        f.type = FieldType::kUnsigned;
        f.bits = v["uint"].get<uint64_t>();
      } else if (v.contains("float")) {
        const double d = v["float"].get<double>();
        std::memcpy(&f.bits, &d, sizeof d);
      } else if (v.contains("bool")) {
        f.type = FieldType::kBoolean;
        f.bits = v["bool"].get<bool>() ? 1 : 0;
      } else if (v.contains("string")) {
        f.type = FieldType::kString;
        f.text = v["string"].get<std::string>();
      } else if (v.contains("binary")) {
        f.type = FieldType::kString;
        f.text = CorpusBytes(v);
      } else {
        ADD_FAILURE() << "unknown corpus value " << v.dump();
      }
      p.fields.push_back(std::move(f));
    }
    out.push_back(std::move(p));
  }
  return out;
}

// Parses like the reference harness: the first invalid line makes the whole input an error.
bool ParseAll(const std::string& text, const LineProtocolOptions& options,
              std::vector<Point>* points, std::string* error) {
  LineProtocolParser parser(text, options);
  LinePoint lp;
  LineProtocolError e;
  for (;;) {
    switch (parser.Next(&lp, &e)) {
      case LineProtocolParser::Step::kEnd:
        return true;
      case LineProtocolParser::Step::kError:
        *error = e.ToString();
        return false;
      case LineProtocolParser::Step::kPoint:
        break;
    }
    Point p;
    p.name = std::string(lp.measurement);
    p.time = lp.time_ns;
    for (const LineTag& t : lp.tags) p.tags.emplace_back(t.key, t.value);
    std::sort(p.tags.begin(), p.tags.end());
    for (const LineField& f : lp.fields) {
      p.fields.push_back(Field{std::string(f.key), f.type,
                               f.type == FieldType::kString ? std::string(f.text) : "", f.bits});
    }
    points->push_back(std::move(p));
  }
}

// key -> reason, from line_protocol_divergences.txt ("<key> <reason>", '#' comments).
std::map<std::string, std::string> ReadDivergences() {
  std::map<std::string, std::string> out;
  std::istringstream in(ReadFile(BURNRATE_TEST_DATA_DIR "/line_protocol_divergences.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    EXPECT_NE(space, std::string::npos) << "divergence without a reason: " << line;
    if (space == std::string::npos) continue;
    out.emplace(line.substr(0, space), line.substr(space + 1));
  }
  return out;
}

TEST(LineProtocolCorpusTest, EveryDecodeCaseAgreesExceptTheListedDivergences) {
  const std::string path = BURNRATE_SHARED_DIR "/data/line-protocol-corpus/corpus.json";
  const std::string text = ReadFile(path);
  ASSERT_FALSE(text.empty()) << "cannot read " << path;
  const json corpus = json::parse(text);
  const json& decode = corpus.at("decode");
  const std::map<std::string, std::string> divergences = ReadDivergences();
  EXPECT_FALSE(divergences.empty());

  size_t agreed = 0;
  size_t mismatches = 0;
  size_t diverged = 0;
  for (const auto& [key, entry] : decode.items()) {
    const json& input = entry.at("input");
    const json& output = entry.at("output");
    const std::string body = CorpusBytes(input.at("text"));
    LineProtocolOptions options;
    options.precision = CorpusPrecision(input.at("precision").get<std::string>());
    options.default_time = input.at("defaultTime").get<int64_t>();

    std::vector<Point> got;
    std::string error;
    const bool ok = ParseAll(body, options, &got, &error);
    bool same;
    std::string expected_text;
    if (output.contains("error")) {
      same = !ok;
      expected_text = "error: " + output["error"].get<std::string>();
    } else {
      const std::vector<Point> want = ExpectedPoints(output.at("result"));
      same = ok && SamePoints(got, want);
      expected_text = Describe(want);
    }

    if (auto it = divergences.find(key); it != divergences.end()) {
      ++diverged;
      EXPECT_FALSE(same) << "case " << key << " is listed as a divergence (" << it->second
                         << ") but agrees with the corpus";
      continue;
    }
    if (same) {
      ++agreed;
      continue;
    }
    ++mismatches;
    ADD_FAILURE() << "case " << key << "\n  input:    \"" << absl::CHexEscape(body)
                  << "\"\n  expected: " << expected_text
                  << "\n  got:      " << (ok ? Describe(got) : "error: " + error);
  }
  for (const auto& [key, reason] : divergences) {
    EXPECT_TRUE(decode.contains(key)) << "divergence " << key << " is not a corpus case";
  }
  std::cout << "line-protocol corpus: " << agreed << " of " << decode.size()
            << " decode cases agree, " << diverged << " listed divergences, " << mismatches
            << " mismatches\n";
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(agreed + diverged, decode.size());
}

}  // namespace
}  // namespace burnrate
