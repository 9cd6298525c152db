#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace burnrate {

// A place in query text: 1-based line and character (Unicode code point) within the line.
// Zero for nodes built by code rather than parsed.
struct Position {
  int line = 0;
  int column = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

enum class TokenKind : uint8_t {
  kEof,
  kIdent,     // unquoted non-keyword or double-quoted identifier; text is unescaped
  kKeyword,   // an InfluxQL keyword; text is upper case
  kString,    // single-quoted; text is unescaped
  kInteger,   // decimal digits as written
  kNumber,    // digits '.' digits (or '.' digits) as written
  kDuration,  // digits followed by unit letters (`1h30m`), as written; validated by the parser
  kRegex,     // /.../ from Lexer::ScanRegex; text is the pattern with `\/` unescaped
  kLParen,
  kRParen,
  kComma,
  kSemicolon,
  kDot,
  kDoubleColon,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kEq,
  kNotEq,  // `!=` or `<>`
  kLt,
  kLtEq,
  kGt,
  kGtEq,
  kEqRegex,     // `=~`
  kNotEqRegex,  // `!~`
};

struct Token {
  TokenKind kind = TokenKind::kEof;
  std::string text;
  Position pos;
  size_t offset = 0;    // byte offset of the first character
  bool quoted = false;  // kIdent only: written in double quotes
};

// How an error message names a token: "EOF", the keyword or identifier, a string in
// single quotes, a regex in slashes; long text is cut short.
std::string TokenDescription(const Token& token);

// True when `word` (any case) is an InfluxQL keyword, which must be double-quoted to be
// used as an identifier.
bool IsKeyword(std::string_view word);

// The message of s as a std::string_view (Debian's Abseil has its own string_view type).
inline std::string_view StatusMessage(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

// Formats the error every query-text failure returns: kInvalidArgument with
// "error parsing query: <message> at line L, char C" (InfluxDB's shape).
absl::Status QueryParseError(Position pos, std::string_view message);

// Splits InfluxQL text into tokens, skipping whitespace and comments (`-- ...` to end of
// line, `/* ... */`). A `/` is returned as kSlash; the parser, which knows where a regex
// may stand, asks for ScanRegex there.
//
// Borrows the text, which must outlive the lexer. Not thread-safe.
class Lexer {
 public:
  explicit Lexer(std::string_view text);

  // The next token, kEof at the end (repeatedly). kInvalidArgument (QueryParseError) for
  // an unterminated string, quoted identifier or comment, a bad escape, or a character
  // InfluxQL does not use.
  [[nodiscard]] absl::StatusOr<Token> Next();

  // Scans a regex literal whose opening `/` is `slash`, the token Next() just returned.
  // In the pattern `\/` stands for `/`; other escapes are kept as written for the regex
  // engine. kInvalidArgument for an unterminated regex.
  [[nodiscard]] absl::StatusOr<Token> ScanRegex(const Token& slash);

 private:
  bool AtEnd() const { return offset_ >= text_.size(); }
  char Peek(size_t ahead = 0) const {
    return offset_ + ahead < text_.size() ? text_[offset_ + ahead] : '\0';
  }
  // Consumes one byte, keeping line and column (in code points) current.
  void Advance();
  bool IsMicroSign() const { return Peek() == '\xC2' && Peek(1) == '\xB5'; }
  [[nodiscard]] absl::Status SkipSpaceAndComments();
  [[nodiscard]] absl::StatusOr<std::string> ScanQuoted(char quote, Position start,
                                                       std::string_view what);
  void ScanNumber(Token* token);

  std::string_view text_;
  size_t offset_ = 0;
  Position pos_{1, 1};
};

}  // namespace burnrate
