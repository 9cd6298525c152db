#include "query/lexer.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace burnrate {
namespace {

using ::burnrate::testing::StatusIs;
using ::testing::HasSubstr;

// All tokens of text up to EOF (the EOF token excluded), or the first error.
absl::StatusOr<std::vector<Token>> Tokens(std::string_view text) {
  Lexer lexer(text);
  std::vector<Token> out;
  while (true) {
    absl::StatusOr<Token> t = lexer.Next();
    if (!t.ok()) return t.status();
    if (t->kind == TokenKind::kEof) return out;
    out.push_back(*std::move(t));
  }
}

std::vector<TokenKind> Kinds(const std::vector<Token>& tokens) {
  std::vector<TokenKind> kinds;
  for (const Token& t : tokens) kinds.push_back(t.kind);
  return kinds;
}

TEST(LexerTest, KeywordsAreCaseInsensitiveAndUpperCased) {
  ASSERT_OK_AND_ASSIGN(auto tokens, Tokens("select From wHeRe"));
  ASSERT_EQ(tokens.size(), 3u);
  for (const Token& t : tokens) EXPECT_EQ(t.kind, TokenKind::kKeyword);
  EXPECT_EQ(tokens[0].text, "SELECT");
  EXPECT_EQ(tokens[1].text, "FROM");
  EXPECT_EQ(tokens[2].text, "WHERE");
}

TEST(LexerTest, IdentifiersBareAndQuoted) {
  ASSERT_OK_AND_ASSIGN(auto tokens, Tokens(R"(cpu _x9 "my \"db\"" "select" "a\\b")"));
  ASSERT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens[0].text, "cpu");
  EXPECT_FALSE(tokens[0].quoted);
  EXPECT_EQ(tokens[1].text, "_x9");
  EXPECT_EQ(tokens[2].text, "my \"db\"");
  EXPECT_TRUE(tokens[2].quoted);
  // A quoted keyword is an identifier.
  EXPECT_EQ(tokens[3].kind, TokenKind::kIdent);
  EXPECT_EQ(tokens[3].text, "select");
  EXPECT_EQ(tokens[4].text, "a\\b");
}

TEST(LexerTest, StringsUnescape) {
  ASSERT_OK_AND_ASSIGN(auto tokens, Tokens(R"('it\'s' 'a\\b' 'q\"' 'l\nm' '')"));
  ASSERT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens[0].text, "it's");
  EXPECT_EQ(tokens[1].text, "a\\b");
  EXPECT_EQ(tokens[2].text, "q\"");
  EXPECT_EQ(tokens[3].text, "l\nm");
  EXPECT_EQ(tokens[4].text, "");
  for (const Token& t : tokens) EXPECT_EQ(t.kind, TokenKind::kString);
}

TEST(LexerTest, NumbersKeepTheirText) {
  ASSERT_OK_AND_ASSIGN(auto tokens, Tokens("42 0.1 .5 10.250 007"));
  EXPECT_THAT(Kinds(tokens),
              ::testing::ElementsAre(TokenKind::kInteger, TokenKind::kNumber, TokenKind::kNumber,
                                     TokenKind::kNumber, TokenKind::kInteger));
  EXPECT_EQ(tokens[1].text, "0.1");
  EXPECT_EQ(tokens[2].text, ".5");
  EXPECT_EQ(tokens[3].text, "10.250");
}

TEST(LexerTest, DurationsIncludingCombinedAndMicroSign) {
  ASSERT_OK_AND_ASSIGN(auto tokens, Tokens("1h30m 15m 10\xC2\xB5 1700000000000ms 1x"));
  EXPECT_THAT(Kinds(tokens), ::testing::Each(TokenKind::kDuration));
  EXPECT_EQ(tokens[0].text, "1h30m");
  EXPECT_EQ(tokens[2].text, "10\xC2\xB5");
  // Validation is the parser's job: `1x` is one (bad) duration token.
  EXPECT_EQ(tokens[4].text, "1x");
}

TEST(LexerTest, Operators) {
  ASSERT_OK_AND_ASSIGN(auto tokens, Tokens("= != <> < <= > >= =~ !~ + - * / ( ) , ; . ::"));
  EXPECT_THAT(Kinds(tokens),
              ::testing::ElementsAre(
                  TokenKind::kEq, TokenKind::kNotEq, TokenKind::kNotEq, TokenKind::kLt,
                  TokenKind::kLtEq, TokenKind::kGt, TokenKind::kGtEq, TokenKind::kEqRegex,
                  TokenKind::kNotEqRegex, TokenKind::kPlus, TokenKind::kMinus, TokenKind::kStar,
                  TokenKind::kSlash, TokenKind::kLParen, TokenKind::kRParen, TokenKind::kComma,
                  TokenKind::kSemicolon, TokenKind::kDot, TokenKind::kDoubleColon));
}

TEST(LexerTest, CommentsAreSkipped) {
  ASSERT_OK_AND_ASSIGN(auto tokens, Tokens("a -- to end of line\n/* block\n comment */ b"));
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[1].text, "b");
  EXPECT_EQ(tokens[1].pos.line, 3);
  EXPECT_EQ(tokens[1].pos.column, 13);
}

TEST(LexerTest, PositionsAreOneBasedAndCountCodePoints) {
  ASSERT_OK_AND_ASSIGN(auto tokens, Tokens("SELECT\n  'é' x"));
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0].pos, (Position{1, 1}));
  EXPECT_EQ(tokens[1].pos, (Position{2, 3}));
  EXPECT_EQ(tokens[2].pos, (Position{2, 7}));
}

TEST(LexerTest, RegexIsScannedOnRequest) {
  Lexer lexer(R"(/^Train\/Flow\d+/ x)");
  ASSERT_OK_AND_ASSIGN(Token slash, lexer.Next());
  ASSERT_EQ(slash.kind, TokenKind::kSlash);
  ASSERT_OK_AND_ASSIGN(Token re, lexer.ScanRegex(slash));
  EXPECT_EQ(re.kind, TokenKind::kRegex);
  EXPECT_EQ(re.text, R"(^Train/Flow\d+)");
  ASSERT_OK_AND_ASSIGN(Token next, lexer.Next());
  EXPECT_EQ(next.text, "x");
  EXPECT_EQ(next.pos.column, 19);
}

TEST(LexerTest, UnterminatedStringNamesItsStart) {
  EXPECT_THAT(Tokens("a = 'abc"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "error parsing query: unterminated string at line 1, char 5"));
  // A raw newline ends a string literal.
  EXPECT_THAT(Tokens("'abc\n'"), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("unterminated string at line 1, char 1")));
}

TEST(LexerTest, UnterminatedQuotedIdentifier) {
  EXPECT_THAT(Tokens("\n  \"cpu"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "error parsing query: unterminated quoted identifier at line 2, char 3"));
}

TEST(LexerTest, UnterminatedRegex) {
  Lexer lexer("/abc\\/");
  ASSERT_OK_AND_ASSIGN(Token slash, lexer.Next());
  EXPECT_THAT(lexer.ScanRegex(slash),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "error parsing query: unterminated regex at line 1, char 1"));
}

TEST(LexerTest, UnterminatedBlockComment) {
  EXPECT_THAT(Tokens("a /* b"), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("unterminated comment at line 1, char 3")));
}

TEST(LexerTest, BadEscape) {
  EXPECT_THAT(Tokens(R"('a\qb')"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad escape \\q in string")));
}

TEST(LexerTest, UnexpectedCharacters) {
  EXPECT_THAT(Tokens("a $b"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "error parsing query: unexpected character $ at line 1, char 3"));
  EXPECT_THAT(Tokens(std::string_view("a\0", 2)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("byte 0x00")));
  EXPECT_THAT(Tokens("a ! b"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Tokens("a : b"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LexerTest, IsKeywordAnyCase) {
  EXPECT_TRUE(IsKeyword("select"));
  EXPECT_TRUE(IsKeyword("Measurement"));
  EXPECT_TRUE(IsKeyword("true"));
  EXPECT_FALSE(IsKeyword("time"));
  EXPECT_FALSE(IsKeyword("fill"));
  EXPECT_FALSE(IsKeyword("cost"));
}

}  // namespace
}  // namespace burnrate
