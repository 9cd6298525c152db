#include "query/lexer.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "base/str_cat.h"

namespace burnrate {
namespace {

// InfluxQL's reserved words (the 1.x specification), plus the operators and literals the
// specification spells as words. Sorted for binary search.
constexpr std::string_view kKeywords[] = {
    "ALL",
    "ALTER",
    "ANALYZE",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "BEGIN",
    "BY",
    "CARDINALITY",
    "CONTINUOUS",
    "CREATE",
    "DATABASE",
    "DATABASES",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DESTINATIONS",
    "DIAGNOSTICS",
    "DISTINCT",
    "DROP",
    "DURATION",
    "END",
    "EVERY",
    "EXACT",
    "EXPLAIN",
    "FALSE",
    "FIELD",
    "FOR",
    "FROM",
    "GRANT",
    "GRANTS",
    "GROUP",
    "GROUPS",
    "IN",
    "INF",
    "INSERT",
    "INTO",
    "KEY",
    "KEYS",
    "KILL",
    "LIMIT",
    "MEASUREMENT",
    "MEASUREMENTS",
    "NAME",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "PASSWORD",
    "POLICIES",
    "POLICY",
    "PRIVILEGES",
    "QUERIES",
    "QUERY",
    "READ",
    "REPLICATION",
    "RESAMPLE",
    "RETENTION",
    "REVOKE",
    "SELECT",
    "SERIES",
    "SET",
    "SHARD",
    "SHARDS",
    "SHOW",
    "SLIMIT",
    "SOFFSET",
    "STATS",
    "SUBSCRIPTION",
    "SUBSCRIPTIONS",
    "TAG",
    "TO",
    "TRUE",
    "USER",
    "USERS",
    "VALUES",
    "WHERE",
    "WITH",
    "WRITE",
};

bool IsLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Error messages quote user text; keep them short and on one line.
std::string Shorten(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string out;
  for (char c : text.substr(0, kMax)) out.push_back(c == '\n' ? ' ' : c);
  if (text.size() > kMax) out += "...";
  return out;
}

}  // namespace

bool IsKeyword(std::string_view word) {
  if (word.empty() || word.size() > 16) return false;
  const std::string upper = absl::AsciiStrToUpper(absl::string_view(word.data(), word.size()));
  return std::binary_search(std::begin(kKeywords), std::end(kKeywords), std::string_view(upper));
}

std::string TokenDescription(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEof:
      return "EOF";
    case TokenKind::kString:
      return StrCat("'", Shorten(token.text), "'");
    case TokenKind::kRegex:
      return StrCat("/", Shorten(token.text), "/");
    case TokenKind::kIdent:
      return token.quoted ? StrCat("\"", Shorten(token.text), "\"") : Shorten(token.text);
    default:
      return Shorten(token.text);
  }
}

absl::Status QueryParseError(Position pos, std::string_view message) {
  return absl::InvalidArgumentError(
      StrCat("error parsing query: ", message, " at line ", pos.line, ", char ", pos.column));
}

Lexer::Lexer(std::string_view text) : text_(text) {}

void Lexer::Advance() {
  if (AtEnd()) return;
  const unsigned char c = static_cast<unsigned char>(text_[offset_++]);
  if (c == '\n') {
    ++pos_.line;
    pos_.column = 1;
  } else if ((c & 0xC0) != 0x80) {
    ++pos_.column;
  }
}

absl::Status Lexer::SkipSpaceAndComments() {
  while (!AtEnd()) {
    const char c = Peek();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      Advance();
    } else if (c == '-' && Peek(1) == '-') {
      while (!AtEnd() && Peek() != '\n') Advance();
    } else if (c == '/' && Peek(1) == '*') {
      const Position start = pos_;
      Advance();
      Advance();
      while (!(Peek() == '*' && Peek(1) == '/')) {
        if (AtEnd()) return QueryParseError(start, "unterminated comment");
        Advance();
      }
      Advance();
      Advance();
    } else {
      break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Lexer::ScanQuoted(char quote, Position start, std::string_view what) {
  Advance();  // the opening quote
  std::string out;
  while (true) {
    if (AtEnd() || Peek() == '\n') return QueryParseError(start, StrCat("unterminated ", what));
    const char c = Peek();
    if (c == quote) {
      Advance();
      return out;
    }
    if (c == '\\') {
      const Position escape_pos = pos_;
      Advance();
      const char e = Peek();
      if (e == 'n') {
        out.push_back('\n');
      } else if (e == '\\' || e == '\'' || e == '"') {
        out.push_back(e);
      } else if (AtEnd()) {
        return QueryParseError(start, StrCat("unterminated ", what));
      } else {
        return QueryParseError(
            escape_pos, StrCat("bad escape \\", std::string_view(&text_[offset_], 1), " in ", what,
                               " (use \\\\, \\', \\\" or \\n)"));
      }
      Advance();
      continue;
    }
    out.push_back(c);
    Advance();
  }
}

void Lexer::ScanNumber(Token* token) {
  const size_t begin = offset_;
  bool decimal = false;
  while (IsDigit(Peek())) Advance();
  if (Peek() == '.' && IsDigit(Peek(1))) {
    decimal = true;
    Advance();
    while (IsDigit(Peek())) Advance();
  }
  token->kind = decimal ? TokenKind::kNumber : TokenKind::kInteger;
  // As in InfluxDB, an integer immediately followed by a letter is a duration, and the
  // token runs on over letters and digits so that `1h30m` (and `1x`) is one token.
  if (!decimal && (IsLetter(Peek()) || IsMicroSign())) {
    token->kind = TokenKind::kDuration;
    while (IsLetter(Peek()) || IsDigit(Peek()) || IsMicroSign()) {
      if (IsMicroSign()) Advance();
      Advance();
    }
  }
  token->text = std::string(text_.substr(begin, offset_ - begin));
}

absl::StatusOr<Token> Lexer::Next() {
  if (absl::Status s = SkipSpaceAndComments(); !s.ok()) return s;
  Token token;
  token.pos = pos_;
  token.offset = offset_;
  if (AtEnd()) return token;

  const char c = Peek();
  if (IsLetter(c)) {
    const size_t begin = offset_;
    while (IsLetter(Peek()) || IsDigit(Peek())) Advance();
    token.text = std::string(text_.substr(begin, offset_ - begin));
    if (IsKeyword(token.text)) {
      token.kind = TokenKind::kKeyword;
      token.text = absl::AsciiStrToUpper(token.text);
    } else {
      token.kind = TokenKind::kIdent;
    }
    return token;
  }
  if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) {
    ScanNumber(&token);
    return token;
  }
  if (c == '"') {
    absl::StatusOr<std::string> text = ScanQuoted('"', token.pos, "quoted identifier");
    if (!text.ok()) return text.status();
    token.kind = TokenKind::kIdent;
    token.text = *std::move(text);
    token.quoted = true;
    return token;
  }
  if (c == '\'') {
    absl::StatusOr<std::string> text = ScanQuoted('\'', token.pos, "string");
    if (!text.ok()) return text.status();
    token.kind = TokenKind::kString;
    token.text = *std::move(text);
    return token;
  }

  struct Punct {
    std::string_view text;
    TokenKind kind;
  };
  // Longest first, so that `<=` wins over `<`.
  static constexpr Punct kPuncts[] = {
      {"::", TokenKind::kDoubleColon}, {"!=", TokenKind::kNotEq},    {"<>", TokenKind::kNotEq},
      {"<=", TokenKind::kLtEq},        {">=", TokenKind::kGtEq},     {"=~", TokenKind::kEqRegex},
      {"!~", TokenKind::kNotEqRegex},  {"(", TokenKind::kLParen},    {")", TokenKind::kRParen},
      {",", TokenKind::kComma},        {";", TokenKind::kSemicolon}, {".", TokenKind::kDot},
      {"+", TokenKind::kPlus},         {"-", TokenKind::kMinus},     {"*", TokenKind::kStar},
      {"/", TokenKind::kSlash},        {"=", TokenKind::kEq},        {"<", TokenKind::kLt},
      {">", TokenKind::kGt},
  };
  const std::string_view rest = text_.substr(offset_);
  for (const Punct& p : kPuncts) {
    if (rest.substr(0, p.text.size()) == p.text) {
      for (size_t i = 0; i < p.text.size(); ++i) Advance();
      token.kind = p.kind;
      token.text = std::string(p.text);
      return token;
    }
  }

  // Name the whole (possibly multi-byte) character.
  size_t len = 1;
  const unsigned char lead = static_cast<unsigned char>(c);
  if (lead >= 0xC0) {
    while (offset_ + len < text_.size() &&
           (static_cast<unsigned char>(text_[offset_ + len]) & 0xC0) == 0x80 && len < 4) {
      ++len;
    }
  }
  std::string shown(text_.substr(offset_, len));
  if (lead < 0x20 || lead == 0x7F) shown = StrCat("byte 0x", absl::Hex(lead, absl::kZeroPad2));
  return QueryParseError(token.pos, StrCat("unexpected character ", shown));
}

absl::StatusOr<Token> Lexer::ScanRegex(const Token& slash) {
  offset_ = slash.offset + 1;
  pos_ = Position{slash.pos.line, slash.pos.column + 1};
  Token token;
  token.kind = TokenKind::kRegex;
  token.pos = slash.pos;
  token.offset = slash.offset;
  while (true) {
    if (AtEnd()) return QueryParseError(slash.pos, "unterminated regex");
    const char c = Peek();
    if (c == '/') {
      Advance();
      return token;
    }
    if (c == '\\' && offset_ + 1 < text_.size()) {
      Advance();
      if (Peek() != '/') token.text.push_back('\\');
      token.text.push_back(Peek());
      Advance();
      continue;
    }
    token.text.push_back(c);
    Advance();
  }
}

}  // namespace burnrate
