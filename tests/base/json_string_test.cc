#include "base/json_string.h"

#include <string>

#include "gtest/gtest.h"

namespace burnrate {
namespace {

TEST(JsonStringTest, EscapesAsGoEncodingJson) {
  std::string out;
  AppendJsonString(&out, "a\"b\\c\n\t<x>&\x01 \xE2\x80\xA8 \xFF \xC3\xA9");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\t\\u003cx\\u003e\\u0026\\u0001 \\u2028 \\ufffd \xC3\xA9\"");
}

TEST(JsonStringTest, AnyInputGivesValidJson) {
  EXPECT_EQ(JsonString("plain"), "\"plain\"");
  EXPECT_EQ(JsonString("caf\xc3\xa9 \xe2\x82\xac"), "\"caf\xc3\xa9 \xe2\x82\xac\"");
  EXPECT_EQ(JsonString("bad\xff\xc3"), "\"bad\\ufffd\\ufffd\"");
  EXPECT_EQ(JsonString(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
  // An encoded surrogate is invalid UTF-8: each of its bytes is replaced.
  EXPECT_EQ(JsonString("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
}

}  // namespace
}  // namespace burnrate
