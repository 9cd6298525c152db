// Unit tests of the server's parts that need no socket: tokens, credentials, gzip, JSON
// escaping, URL parameters, listen addresses.

#include <string>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth.h"
#include "server/gzip.h"
#include "server/server_options.h"
#include "server/url.h"
#include "tests/testing/status_matchers.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(TokenSetTest, ParsesScopesCommentsAndBlankLines) {
  ASSERT_OK_AND_ASSIGN(auto set, TokenSet::Parse("# header\n\n"
                                                 "  t1  write:db read:other  # trailing\n"
                                                 "t2\tread:*\r\n"
                                                 "t3 admin\n"
                                                 "t4 write:*\n",
                                                 "tokens"));
  EXPECT_EQ(set->size(), 4u);
  const TokenGrant* t1 = set->Find("t1");
  ASSERT_NE(t1, nullptr);
  EXPECT_TRUE(t1->Allows(Access::kWrite, "db"));
  EXPECT_TRUE(t1->Allows(Access::kRead, "db"));  // write implies read
  EXPECT_TRUE(t1->Allows(Access::kRead, "other"));
  EXPECT_FALSE(t1->Allows(Access::kWrite, "other"));
  EXPECT_FALSE(t1->Allows(Access::kAdmin, ""));
  const TokenGrant* t2 = set->Find("t2");
  ASSERT_NE(t2, nullptr);
  EXPECT_TRUE(t2->Allows(Access::kRead, "anything"));
  EXPECT_FALSE(t2->Allows(Access::kWrite, "anything"));
  EXPECT_TRUE(set->Find("t3")->Allows(Access::kAdmin, ""));
  EXPECT_TRUE(set->Find("t4")->Allows(Access::kWrite, "x"));
  EXPECT_FALSE(set->Find("t4")->Allows(Access::kAdmin, ""));
  EXPECT_EQ(set->Find("t5"), nullptr);
  EXPECT_EQ(set->Find(""), nullptr);
  EXPECT_EQ(set->Find("t"), nullptr);
}

TEST(TokenSetTest, RejectsMalformedLinesNamingThem) {
  EXPECT_THAT(TokenSet::Parse("ok admin\nlonely\n", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f:2: ")));
  EXPECT_THAT(TokenSet::Parse("t delete:db\n", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown scope 'delete:db'")));
  EXPECT_THAT(TokenSet::Parse("t read:\n", "f"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TokenSet::Parse("t admin\nt admin\n", "f"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("given twice")));
}

TEST(CandidateTokensTest, ReadsEveryClientForm) {
  EXPECT_THAT(CandidateTokens("Token abc", ""), ElementsAre("abc"));
  EXPECT_THAT(CandidateTokens("token  abc ", ""), ElementsAre("abc"));
  EXPECT_THAT(CandidateTokens("Token user:pw", ""), ElementsAre("user:pw", "pw"));
  EXPECT_THAT(CandidateTokens("Bearer abc", ""), ElementsAre("abc"));
  EXPECT_THAT(CandidateTokens("Basic " + absl::Base64Escape("me:secret:part"), ""),
              ElementsAre("secret:part"));
  EXPECT_THAT(CandidateTokens("", "pw"), ElementsAre("pw"));
  EXPECT_THAT(CandidateTokens("Token abc", "pw"), ElementsAre("abc", "pw"));
  EXPECT_THAT(CandidateTokens("Basic !!!notbase64", ""), ElementsAre());
  EXPECT_THAT(CandidateTokens("Digest abc", ""), ElementsAre());
  EXPECT_THAT(CandidateTokens("Token", ""), ElementsAre());
  EXPECT_THAT(CandidateTokens("", ""), ElementsAre());
}

TEST(GzipTest, RoundTripsAndConcatenatedMembers) {
  const std::string a(100'000, 'a');
  ASSERT_OK_AND_ASSIGN(std::string out, Gunzip(Gzip(a), 1'000'000));
  EXPECT_EQ(out, a);
  ASSERT_OK_AND_ASSIGN(std::string two, Gunzip(Gzip("first\n") + Gzip("second\n"), 100));
  EXPECT_EQ(two, "first\nsecond\n");
  ASSERT_OK_AND_ASSIGN(std::string empty, Gunzip(Gzip(""), 10));
  EXPECT_EQ(empty, "");
}

TEST(GzipTest, BoundsTheOutputAndRejectsBadStreams) {
  const std::string a(100'000, 'a');
  EXPECT_THAT(Gunzip(Gzip(a), 99'999), StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_OK(Gunzip(Gzip(a), 100'000));
  EXPECT_THAT(Gunzip("plain text", 100), StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string gz = Gzip(a);
  EXPECT_THAT(Gunzip(gz.substr(0, gz.size() - 10), 1'000'000),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Gunzip("", 100), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(UrlParamsTest, DecodesAndKeepsTheFirstValue) {
  UrlParams p = UrlParams::Parse("db=my%20db&q=SELECT+*+FROM+%22m%22&db=second&flag&bad=%zz%4");
  EXPECT_EQ(p.Get("db"), "my db");
  EXPECT_EQ(p.Get("q"), "SELECT * FROM \"m\"");
  EXPECT_TRUE(p.Has("flag"));
  EXPECT_EQ(p.Get("flag"), "");
  EXPECT_EQ(p.Get("bad"), "%zz%4");
  EXPECT_FALSE(p.Has("missing"));
  p.Append(UrlParams::Parse("db=third&rp=autogen"));
  EXPECT_EQ(p.Get("db"), "my db");
  EXPECT_EQ(p.Get("rp"), "autogen");
  std::string_view path, query;
  SplitTarget("/write?db=x", &path, &query);
  EXPECT_EQ(path, "/write");
  EXPECT_EQ(query, "db=x");
  SplitTarget("/ping", &path, &query);
  EXPECT_EQ(path, "/ping");
  EXPECT_EQ(query, "");
}

TEST(ParseHostPortTest, AcceptsTheDocumentedForms) {
  ASSERT_OK_AND_ASSIGN(HostPort a, ParseHostPort("127.0.0.1:8086"));
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8086);
  ASSERT_OK_AND_ASSIGN(HostPort b, ParseHostPort("[::1]:0"));
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 0);
  ASSERT_OK_AND_ASSIGN(HostPort c, ParseHostPort(":9000"));
  EXPECT_EQ(c.host, "0.0.0.0");
  ASSERT_OK_AND_ASSIGN(HostPort d, ParseHostPort("localhost:1"));
  EXPECT_EQ(d.host, "localhost");
  for (const char* bad : {"8086", "host:", "host:x", "host:70000", "::1:80", ""}) {
    EXPECT_THAT(ParseHostPort(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

}  // namespace
}  // namespace burnrate
