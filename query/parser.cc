#include "query/parser.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "query/lexer.h"
#include "query/literals.h"

namespace burnrate {
namespace {

constexpr std::string_view kExpectedOperand = "identifier, string, number, bool";

// An expression and the height of its tree, tracked while parsing so that the height
// limit never needs a walk of the tree.
struct Parsed {
  Expr expr;
  int height = 1;
};

std::optional<BinaryOp> BinaryOpOf(const Token& t) {
  switch (t.kind) {
    case TokenKind::kPlus:
      return BinaryOp::kAdd;
    case TokenKind::kMinus:
      return BinaryOp::kSub;
    case TokenKind::kStar:
      return BinaryOp::kMul;
    case TokenKind::kSlash:
      return BinaryOp::kDiv;
    case TokenKind::kEq:
      return BinaryOp::kEq;
    case TokenKind::kNotEq:
      return BinaryOp::kNotEq;
    case TokenKind::kLt:
      return BinaryOp::kLt;
    case TokenKind::kLtEq:
      return BinaryOp::kLtEq;
    case TokenKind::kGt:
      return BinaryOp::kGt;
    case TokenKind::kGtEq:
      return BinaryOp::kGtEq;
    case TokenKind::kEqRegex:
      return BinaryOp::kEqRegex;
    case TokenKind::kNotEqRegex:
      return BinaryOp::kNotEqRegex;
    case TokenKind::kKeyword:
      if (t.text == "AND") return BinaryOp::kAnd;
      if (t.text == "OR") return BinaryOp::kOr;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<VarType> VarTypeOf(std::string_view word) {
  const std::string w = absl::AsciiStrToLower(absl::string_view(word.data(), word.size()));
  if (w == "tag") return VarType::kTag;
  if (w == "field") return VarType::kField;
  if (w == "float") return VarType::kFloat;
  if (w == "integer") return VarType::kInteger;
  if (w == "unsigned") return VarType::kUnsigned;
  if (w == "string") return VarType::kString;
  if (w == "boolean") return VarType::kBoolean;
  return std::nullopt;
}

// Recursive descent over the token stream, one token of lookahead (tok_). Regex literals
// are scanned on demand where the grammar allows one. Borrows the text, which must outlive
// the parser. Not thread-safe.
class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) {}

  [[nodiscard]] absl::Status Start() { return Advance(); }

  [[nodiscard]] absl::StatusOr<Query> ParseQueryText() {
    Query query;
    bool need_separator = false;
    while (tok_.kind != TokenKind::kEof) {
      if (tok_.kind == TokenKind::kSemicolon) {
        need_separator = false;
        BR_RETURN_IF_ERROR(Advance());
        continue;
      }
      if (need_separator) return Unexpected(";");
      BR_ASSIGN_OR_RETURN(Statement s, ParseStatementBody());
      query.statements.push_back(std::move(s));
      need_separator = true;
    }
    return query;
  }

  [[nodiscard]] absl::StatusOr<Statement> ParseSingleStatement() {
    BR_ASSIGN_OR_RETURN(Statement s, ParseStatementBody());
    if (tok_.kind == TokenKind::kSemicolon) BR_RETURN_IF_ERROR(Advance());
    if (tok_.kind != TokenKind::kEof) return Unexpected("EOF");
    return s;
  }

  [[nodiscard]] absl::StatusOr<Expr> ParseSingleExpr() {
    BR_ASSIGN_OR_RETURN(Parsed e, ParseExpression(1));
    if (tok_.kind != TokenKind::kEof) return Unexpected("EOF");
    return std::move(e.expr);
  }

 private:
  // Restores the nesting depth on scope exit. Not thread-safe.
  class Nesting {
   public:
    explicit Nesting(int* depth) : depth_(depth) {}
    ~Nesting() { --*depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    int* depth_;
  };

  [[nodiscard]] absl::Status Advance() {
    BR_ASSIGN_OR_RETURN(tok_, lexer_.Next());
    return absl::OkStatus();
  }

  // Enters one nesting level; the caller holds a Nesting for the level's lifetime.
  [[nodiscard]] absl::Status Enter() {
    if (depth_ >= kMaxQueryNesting) {
      return QueryParseError(
          tok_.pos, StrCat("query too deeply nested (more than ", kMaxQueryNesting, " levels)"));
    }
    ++depth_;
    return absl::OkStatus();
  }

  absl::Status Unexpected(std::string_view expected) const {
    return QueryParseError(tok_.pos,
                           StrCat("found ", TokenDescription(tok_), ", expected ", expected));
  }

  bool IsKw(std::string_view keyword) const {
    return tok_.kind == TokenKind::kKeyword && tok_.text == keyword;
  }

  // An unquoted identifier spelled `word` in any case (fill, tz, time, none...).
  bool IsWord(std::string_view word) const {
    return tok_.kind == TokenKind::kIdent && !tok_.quoted &&
           absl::EqualsIgnoreCase(tok_.text, absl::string_view(word.data(), word.size()));
  }

  [[nodiscard]] absl::Status ExpectKw(std::string_view keyword) {
    if (!IsKw(keyword)) return Unexpected(keyword);
    return Advance();
  }

  [[nodiscard]] absl::Status Expect(TokenKind kind, std::string_view what) {
    if (tok_.kind != kind) return Unexpected(what);
    return Advance();
  }

  [[nodiscard]] absl::StatusOr<std::string> ParseIdent(std::string_view what = "identifier") {
    if (tok_.kind != TokenKind::kIdent) return Unexpected(what);
    std::string name = std::move(tok_.text);
    BR_RETURN_IF_ERROR(Advance());
    return name;
  }

  // The regex literal whose `/` is the current token.
  [[nodiscard]] absl::StatusOr<std::string> ParseRegex() {
    if (tok_.kind != TokenKind::kSlash) return Unexpected("regex");
    BR_ASSIGN_OR_RETURN(Token re, lexer_.ScanRegex(tok_));
    BR_RETURN_IF_ERROR(Advance());
    return std::move(re.text);
  }

  // A non-negative integer (LIMIT, OFFSET, REPLICATION).
  [[nodiscard]] absl::StatusOr<int64_t> ParseCount() {
    if (tok_.kind != TokenKind::kInteger) return Unexpected("integer");
    int64_t n = 0;
    if (!absl::SimpleAtoi(tok_.text, &n)) {
      return QueryParseError(tok_.pos, StrCat("integer out of range: ", tok_.text));
    }
    BR_RETURN_IF_ERROR(Advance());
    return n;
  }

  // A duration literal, with an optional leading minus when `allow_negative`.
  [[nodiscard]] absl::StatusOr<int64_t> ParseDurationValue(bool allow_negative) {
    bool negative = false;
    if (allow_negative && tok_.kind == TokenKind::kMinus) {
      negative = true;
      BR_RETURN_IF_ERROR(Advance());
    }
    if (tok_.kind != TokenKind::kDuration) return Unexpected("duration");
    absl::StatusOr<int64_t> ns = ParseDuration(tok_.text, negative);
    if (!ns.ok()) return QueryParseError(tok_.pos, StatusMessage(ns.status()));
    BR_RETURN_IF_ERROR(Advance());
    return *ns;
  }

  // ---- statements ----

  [[nodiscard]] absl::StatusOr<Statement> ParseStatementBody() {
    if (IsKw("SELECT")) {
      BR_ASSIGN_OR_RETURN(SelectStatement s, ParseSelect());
      return Statement(std::move(s));
    }
    if (IsKw("EXPLAIN")) return ParseExplain();
    if (IsKw("SHOW")) return ParseShow();
    if (IsKw("CREATE")) return ParseCreate();
    if (IsKw("DROP")) return ParseDrop();
    if (IsKw("DELETE")) return ParseDelete();
    return Unexpected("SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN");
  }

  [[nodiscard]] absl::StatusOr<Statement> ParseExplain() {
    ExplainStatement s;
    s.pos = tok_.pos;
    BR_RETURN_IF_ERROR(Advance());
    if (IsKw("ANALYZE")) {
      s.analyze = true;
      BR_RETURN_IF_ERROR(Advance());
    }
    if (!IsKw("SELECT")) return Unexpected(s.analyze ? "SELECT" : "SELECT, ANALYZE");
    BR_ASSIGN_OR_RETURN(s.select, ParseSelect());
    return Statement(std::move(s));
  }

  [[nodiscard]] absl::StatusOr<SelectStatement> ParseSelect() {
    SelectStatement s;
    s.pos = tok_.pos;
    BR_RETURN_IF_ERROR(ExpectKw("SELECT"));
    do {
      if (!s.fields.empty()) BR_RETURN_IF_ERROR(Advance());
      BR_ASSIGN_OR_RETURN(Parsed e, ParseExpression(1));
      Field f;
      f.expr = std::move(e.expr);
      if (IsKw("AS")) {
        BR_RETURN_IF_ERROR(Advance());
        BR_ASSIGN_OR_RETURN(f.alias, ParseIdent("identifier"));
      }
      s.fields.push_back(std::move(f));
    } while (tok_.kind == TokenKind::kComma);
    if (IsKw("INTO")) return QueryParseError(tok_.pos, "SELECT ... INTO is not supported");
    BR_RETURN_IF_ERROR(ExpectKw("FROM"));
    BR_ASSIGN_OR_RETURN(s.sources, ParseSelectSources());
    if (IsKw("WHERE")) {
      BR_RETURN_IF_ERROR(Advance());
      BR_ASSIGN_OR_RETURN(Parsed cond, ParseExpression(1));
      s.condition = std::move(cond.expr);
    }
    if (IsKw("GROUP")) {
      BR_RETURN_IF_ERROR(Advance());
      BR_RETURN_IF_ERROR(ExpectKw("BY"));
      BR_RETURN_IF_ERROR(ParseDimensions(&s));
    }
    if (IsWord("fill")) BR_RETURN_IF_ERROR(ParseFill(&s));
    if (IsKw("ORDER")) {
      BR_RETURN_IF_ERROR(Advance());
      BR_RETURN_IF_ERROR(ExpectKw("BY"));
      do {
        if (!s.order_by.empty()) BR_RETURN_IF_ERROR(Advance());
        BR_ASSIGN_OR_RETURN(Parsed e, ParseExpression(1));
        SortField f;
        f.expr = std::move(e.expr);
        if (IsKw("ASC") || IsKw("DESC")) {
          f.ascending = IsKw("ASC");
          BR_RETURN_IF_ERROR(Advance());
        }
        s.order_by.push_back(std::move(f));
      } while (tok_.kind == TokenKind::kComma);
    }
    BR_RETURN_IF_ERROR(ParseOptionalCount("LIMIT", &s.limit));
    BR_RETURN_IF_ERROR(ParseOptionalCount("OFFSET", &s.offset));
    BR_RETURN_IF_ERROR(ParseOptionalCount("SLIMIT", &s.slimit));
    BR_RETURN_IF_ERROR(ParseOptionalCount("SOFFSET", &s.soffset));
    if (IsWord("tz")) {
      BR_RETURN_IF_ERROR(Advance());
      BR_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "("));
      if (tok_.kind != TokenKind::kString) return Unexpected("string");
      if (absl::StatusOr<absl::TimeZone> tz = LoadQueryTimeZone(tok_.text); !tz.ok()) {
        return QueryParseError(tok_.pos, StatusMessage(tz.status()));
      }
      s.tz = tok_.text == "UTC" ? "" : tok_.text;
      BR_RETURN_IF_ERROR(Advance());
      BR_RETURN_IF_ERROR(Expect(TokenKind::kRParen, ")"));
    }
    return s;
  }

  [[nodiscard]] absl::Status ParseOptionalCount(std::string_view keyword, int64_t* out) {
    if (!IsKw(keyword)) return absl::OkStatus();
    BR_RETURN_IF_ERROR(Advance());
    BR_ASSIGN_OR_RETURN(*out, ParseCount());
    return absl::OkStatus();
  }

  [[nodiscard]] absl::StatusOr<std::vector<Source>> ParseSelectSources() {
    std::vector<Source> sources;
    do {
      if (!sources.empty()) BR_RETURN_IF_ERROR(Advance());
      if (tok_.kind == TokenKind::kLParen) {
        BR_RETURN_IF_ERROR(Enter());
        Nesting nesting(&depth_);
        Subquery sub{SelectStatement{}, tok_.pos};
        BR_RETURN_IF_ERROR(Advance());
        if (!IsKw("SELECT")) return Unexpected("SELECT");
        BR_ASSIGN_OR_RETURN(*sub.select, ParseSelect());
        BR_RETURN_IF_ERROR(Expect(TokenKind::kRParen, ")"));
        sources.emplace_back(std::move(sub));
      } else {
        BR_ASSIGN_OR_RETURN(Measurement m, ParseMeasurement());
        sources.emplace_back(std::move(m));
      }
    } while (tok_.kind == TokenKind::kComma);
    return sources;
  }

  [[nodiscard]] absl::StatusOr<std::vector<Measurement>> ParseMeasurements() {
    std::vector<Measurement> out;
    do {
      if (!out.empty()) BR_RETURN_IF_ERROR(Advance());
      BR_ASSIGN_OR_RETURN(Measurement m, ParseMeasurement());
      out.push_back(std::move(m));
    } while (tok_.kind == TokenKind::kComma);
    return out;
  }

  // name | rp.name | db.rp.name | db..name, where the name may be a /regex/.
  [[nodiscard]] absl::StatusOr<Measurement> ParseMeasurement() {
    Measurement m;
    m.pos = tok_.pos;
    std::vector<std::string> parts;
    auto segment = [&]() -> absl::Status {
      if (tok_.kind == TokenKind::kSlash) {
        BR_ASSIGN_OR_RETURN(m.regex, ParseRegex());
        return absl::OkStatus();
      }
      if (tok_.kind != TokenKind::kIdent) return Unexpected("identifier, regex");
      parts.push_back(std::move(tok_.text));
      return Advance();
    };
    BR_RETURN_IF_ERROR(segment());
    while (!m.regex && tok_.kind == TokenKind::kDot && parts.size() < 3) {
      BR_RETURN_IF_ERROR(Advance());
      if (tok_.kind == TokenKind::kDot && parts.size() == 1) {
        parts.emplace_back();  // db..m: the default retention policy
        continue;
      }
      BR_RETURN_IF_ERROR(segment());
    }
    if (!m.regex) {
      m.name = std::move(parts.back());
      parts.pop_back();
    }
    if (parts.size() == 2) {
      m.database = std::move(parts[0]);
      m.retention_policy = std::move(parts[1]);
    } else if (parts.size() == 1) {
      m.retention_policy = std::move(parts[0]);
    }
    return m;
  }

  [[nodiscard]] absl::Status ParseDimensions(SelectStatement* s) {
    do {
      if (!s->dimensions.empty()) BR_RETURN_IF_ERROR(Advance());
      Dimension d;
      d.pos = tok_.pos;
      if (tok_.kind == TokenKind::kStar) {
        d.kind = Dimension::Kind::kWildcard;
        BR_RETURN_IF_ERROR(Advance());
      } else if (tok_.kind == TokenKind::kSlash) {
        d.kind = Dimension::Kind::kRegex;
        BR_ASSIGN_OR_RETURN(d.name, ParseRegex());
      } else if (tok_.kind == TokenKind::kIdent) {
        const bool is_time = absl::EqualsIgnoreCase(tok_.text, "time");
        d.name = std::move(tok_.text);
        BR_RETURN_IF_ERROR(Advance());
        if (is_time) {
          BR_RETURN_IF_ERROR(ParseTimeDimension(&d));
          if (s->TimeDimension() != nullptr) {
            return QueryParseError(d.pos, "multiple time dimensions in GROUP BY");
          }
        } else if (tok_.kind == TokenKind::kLParen) {
          return QueryParseError(d.pos, "only time() calls are allowed in GROUP BY");
        } else if (tok_.kind == TokenKind::kDoubleColon) {
          // Grafana writes `GROUP BY "host"::tag`; a dimension is always a tag.
          BR_RETURN_IF_ERROR(Advance());
          if (!IsKw("TAG")) return Unexpected("tag");
          BR_RETURN_IF_ERROR(Advance());
        }
      } else {
        return Unexpected("identifier, regex, *, time()");
      }
      s->dimensions.push_back(std::move(d));
    } while (tok_.kind == TokenKind::kComma);
    return absl::OkStatus();
  }

  // After `time`: (interval[, offset]).
  [[nodiscard]] absl::Status ParseTimeDimension(Dimension* d) {
    if (tok_.kind != TokenKind::kLParen) {
      return QueryParseError(d->pos, "GROUP BY time needs an interval, as in time(1h)");
    }
    BR_RETURN_IF_ERROR(Advance());
    d->kind = Dimension::Kind::kTime;
    d->name.clear();
    const Position interval_pos = tok_.pos;
    BR_ASSIGN_OR_RETURN(d->interval_ns, ParseDurationValue(false));
    if (d->interval_ns <= 0) {
      return QueryParseError(interval_pos, "GROUP BY time() interval must be positive");
    }
    if (tok_.kind == TokenKind::kComma) {
      BR_RETURN_IF_ERROR(Advance());
      BR_ASSIGN_OR_RETURN(d->offset_ns, ParseDurationValue(true));
    }
    return Expect(TokenKind::kRParen, ")");
  }

  [[nodiscard]] absl::Status ParseFill(SelectStatement* s) {
    BR_RETURN_IF_ERROR(Advance());
    BR_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "("));
    constexpr std::string_view kFillExpected = "null, none, previous, linear, number";
    if (IsWord("null")) {
      s->fill = FillMode::kNull;
    } else if (IsWord("none")) {
      s->fill = FillMode::kNone;
    } else if (IsWord("previous")) {
      s->fill = FillMode::kPrevious;
    } else if (IsWord("linear")) {
      s->fill = FillMode::kLinear;
    } else if (tok_.kind == TokenKind::kMinus || tok_.kind == TokenKind::kInteger ||
               tok_.kind == TokenKind::kNumber) {
      const Position pos = tok_.pos;
      bool negative = false;
      if (tok_.kind == TokenKind::kMinus) {
        negative = true;
        BR_RETURN_IF_ERROR(Advance());
        if (tok_.kind != TokenKind::kInteger && tok_.kind != TokenKind::kNumber) {
          return Unexpected("number");
        }
      }
      BR_ASSIGN_OR_RETURN(Expr value, NumericLiteral(negative, pos));
      s->fill = FillMode::kValue;
      s->fill_value = std::move(value);
      return Expect(TokenKind::kRParen, ")");
    } else {
      return Unexpected(kFillExpected);
    }
    BR_RETURN_IF_ERROR(Advance());
    return Expect(TokenKind::kRParen, ")");
  }

  [[nodiscard]] absl::StatusOr<Statement> ParseShow() {
    const Position pos = tok_.pos;
    BR_RETURN_IF_ERROR(Advance());
    if (IsKw("DATABASES")) {
      BR_RETURN_IF_ERROR(Advance());
      ShowDatabasesStatement s;
      s.pos = pos;
      return Statement(s);
    }
    if (IsKw("MEASUREMENTS")) {
      BR_RETURN_IF_ERROR(Advance());
      ShowMeasurementsStatement s;
      s.pos = pos;
      BR_RETURN_IF_ERROR(ParseOn(&s.database));
      if (IsKw("WITH")) {
        BR_RETURN_IF_ERROR(Advance());
        BR_RETURN_IF_ERROR(ExpectKw("MEASUREMENT"));
        if (tok_.kind == TokenKind::kEq) {
          BR_RETURN_IF_ERROR(Advance());
          BR_ASSIGN_OR_RETURN(s.with_measurement, ParseMeasurement());
        } else if (tok_.kind == TokenKind::kEqRegex) {
          BR_RETURN_IF_ERROR(Advance());
          Measurement m;
          m.pos = tok_.pos;
          BR_ASSIGN_OR_RETURN(m.regex, ParseRegex());
          s.with_measurement = std::move(m);
        } else {
          return Unexpected("=, =~");
        }
      }
      BR_RETURN_IF_ERROR(ParseOptionalWhere(&s.condition));
      BR_RETURN_IF_ERROR(ParseOptionalCount("LIMIT", &s.limit));
      BR_RETURN_IF_ERROR(ParseOptionalCount("OFFSET", &s.offset));
      return Statement(std::move(s));
    }
    if (IsKw("TAG")) {
      BR_RETURN_IF_ERROR(Advance());
      if (IsKw("KEYS")) {
        BR_RETURN_IF_ERROR(Advance());
        ShowTagKeysStatement s;
        s.pos = pos;
        BR_RETURN_IF_ERROR(ParseOn(&s.database));
        BR_RETURN_IF_ERROR(ParseOptionalFrom(&s.sources));
        BR_RETURN_IF_ERROR(ParseOptionalWhere(&s.condition));
        BR_RETURN_IF_ERROR(ParseOptionalCount("LIMIT", &s.limit));
        BR_RETURN_IF_ERROR(ParseOptionalCount("OFFSET", &s.offset));
        return Statement(std::move(s));
      }
      if (IsKw("VALUES")) {
        BR_RETURN_IF_ERROR(Advance());
        return ParseShowTagValues(pos);
      }
      return Unexpected("KEYS, VALUES");
    }
    if (IsKw("FIELD")) {
      BR_RETURN_IF_ERROR(Advance());
      BR_RETURN_IF_ERROR(ExpectKw("KEYS"));
      ShowFieldKeysStatement s;
      s.pos = pos;
      BR_RETURN_IF_ERROR(ParseOn(&s.database));
      BR_RETURN_IF_ERROR(ParseOptionalFrom(&s.sources));
      BR_RETURN_IF_ERROR(ParseOptionalCount("LIMIT", &s.limit));
      BR_RETURN_IF_ERROR(ParseOptionalCount("OFFSET", &s.offset));
      return Statement(std::move(s));
    }
    if (IsKw("SERIES")) {
      BR_RETURN_IF_ERROR(Advance());
      ShowSeriesStatement s;
      s.pos = pos;
      BR_RETURN_IF_ERROR(ParseOn(&s.database));
      BR_RETURN_IF_ERROR(ParseOptionalFrom(&s.sources));
      BR_RETURN_IF_ERROR(ParseOptionalWhere(&s.condition));
      BR_RETURN_IF_ERROR(ParseOptionalCount("LIMIT", &s.limit));
      BR_RETURN_IF_ERROR(ParseOptionalCount("OFFSET", &s.offset));
      return Statement(std::move(s));
    }
    if (IsKw("RETENTION")) {
      BR_RETURN_IF_ERROR(Advance());
      BR_RETURN_IF_ERROR(ExpectKw("POLICIES"));
      ShowRetentionPoliciesStatement s;
      s.pos = pos;
      BR_RETURN_IF_ERROR(ParseOn(&s.database));
      return Statement(std::move(s));
    }
    return Unexpected("DATABASES, MEASUREMENTS, TAG, FIELD, SERIES, RETENTION");
  }

  [[nodiscard]] absl::StatusOr<Statement> ParseShowTagValues(Position pos) {
    ShowTagValuesStatement s;
    s.pos = pos;
    BR_RETURN_IF_ERROR(ParseOn(&s.database));
    BR_RETURN_IF_ERROR(ParseOptionalFrom(&s.sources));
    BR_RETURN_IF_ERROR(ExpectKw("WITH"));
    BR_RETURN_IF_ERROR(ExpectKw("KEY"));
    using KeyOp = ShowTagValuesStatement::KeyOp;
    if (tok_.kind == TokenKind::kEq || tok_.kind == TokenKind::kNotEq) {
      s.key_op = tok_.kind == TokenKind::kEq ? KeyOp::kEq : KeyOp::kNotEq;
      BR_RETURN_IF_ERROR(Advance());
      BR_ASSIGN_OR_RETURN(std::string key, ParseKeyName());
      s.keys.push_back(std::move(key));
    } else if (tok_.kind == TokenKind::kEqRegex || tok_.kind == TokenKind::kNotEqRegex) {
      s.key_op = tok_.kind == TokenKind::kEqRegex ? KeyOp::kEqRegex : KeyOp::kNotEqRegex;
      BR_RETURN_IF_ERROR(Advance());
      BR_ASSIGN_OR_RETURN(s.key_regex, ParseRegex());
    } else if (IsKw("IN")) {
      s.key_op = KeyOp::kIn;
      BR_RETURN_IF_ERROR(Advance());
      BR_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "("));
      do {
        if (!s.keys.empty()) BR_RETURN_IF_ERROR(Advance());
        BR_ASSIGN_OR_RETURN(std::string key, ParseKeyName());
        s.keys.push_back(std::move(key));
      } while (tok_.kind == TokenKind::kComma);
      BR_RETURN_IF_ERROR(Expect(TokenKind::kRParen, ")"));
    } else {
      return Unexpected("=, !=, =~, !~, IN");
    }
    BR_RETURN_IF_ERROR(ParseOptionalWhere(&s.condition));
    BR_RETURN_IF_ERROR(ParseOptionalCount("LIMIT", &s.limit));
    BR_RETURN_IF_ERROR(ParseOptionalCount("OFFSET", &s.offset));
    return Statement(std::move(s));
  }

  // A tag key in WITH KEY: an identifier, or (leniently) a string literal.
  [[nodiscard]] absl::StatusOr<std::string> ParseKeyName() {
    if (tok_.kind == TokenKind::kString) {
      std::string key = std::move(tok_.text);
      BR_RETURN_IF_ERROR(Advance());
      return key;
    }
    return ParseIdent("identifier, string");
  }

  [[nodiscard]] absl::Status ParseOn(std::string* database) {
    if (!IsKw("ON")) return absl::OkStatus();
    BR_RETURN_IF_ERROR(Advance());
    BR_ASSIGN_OR_RETURN(*database, ParseIdent());
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status ParseOptionalFrom(std::vector<Measurement>* sources) {
    if (!IsKw("FROM")) return absl::OkStatus();
    BR_RETURN_IF_ERROR(Advance());
    BR_ASSIGN_OR_RETURN(*sources, ParseMeasurements());
    return absl::OkStatus();
  }

  [[nodiscard]] absl::Status ParseOptionalWhere(std::optional<Expr>* condition) {
    if (!IsKw("WHERE")) return absl::OkStatus();
    BR_RETURN_IF_ERROR(Advance());
    BR_ASSIGN_OR_RETURN(Parsed e, ParseExpression(1));
    *condition = std::move(e.expr);
    return absl::OkStatus();
  }

  [[nodiscard]] absl::StatusOr<Statement> ParseCreate() {
    const Position pos = tok_.pos;
    BR_RETURN_IF_ERROR(Advance());
    BR_RETURN_IF_ERROR(ExpectKw("DATABASE"));
    CreateDatabaseStatement s;
    s.pos = pos;
    BR_ASSIGN_OR_RETURN(s.name, ParseIdent());
    if (!IsKw("WITH")) return Statement(std::move(s));
    BR_RETURN_IF_ERROR(Advance());
    bool any = false;
    if (IsKw("DURATION")) {
      any = true;
      BR_RETURN_IF_ERROR(Advance());
      if (IsKw("INF")) {
        s.duration_ns = 0;
        BR_RETURN_IF_ERROR(Advance());
      } else {
        BR_ASSIGN_OR_RETURN(s.duration_ns, ParseDurationValue(false));
      }
    }
    if (IsKw("REPLICATION")) {
      any = true;
      BR_RETURN_IF_ERROR(Advance());
      BR_ASSIGN_OR_RETURN(s.replication, ParseCount());
    }
    if (IsKw("SHARD")) {
      any = true;
      BR_RETURN_IF_ERROR(Advance());
      BR_RETURN_IF_ERROR(ExpectKw("DURATION"));
      BR_ASSIGN_OR_RETURN(s.shard_duration_ns, ParseDurationValue(false));
    }
    if (IsKw("NAME")) {
      any = true;
      BR_RETURN_IF_ERROR(Advance());
      BR_ASSIGN_OR_RETURN(s.retention_policy_name, ParseIdent());
    }
    if (!any) return Unexpected("DURATION, REPLICATION, SHARD, NAME");
    return Statement(std::move(s));
  }

  [[nodiscard]] absl::StatusOr<Statement> ParseDrop() {
    const Position pos = tok_.pos;
    BR_RETURN_IF_ERROR(Advance());
    if (IsKw("DATABASE")) {
      BR_RETURN_IF_ERROR(Advance());
      DropDatabaseStatement s;
      s.pos = pos;
      BR_ASSIGN_OR_RETURN(s.name, ParseIdent());
      return Statement(std::move(s));
    }
    if (IsKw("MEASUREMENT")) {
      BR_RETURN_IF_ERROR(Advance());
      DropMeasurementStatement s;
      s.pos = pos;
      BR_ASSIGN_OR_RETURN(s.name, ParseIdent());
      return Statement(std::move(s));
    }
    if (IsKw("SERIES")) {
      BR_RETURN_IF_ERROR(Advance());
      DropSeriesStatement s;
      s.pos = pos;
      if (!IsKw("FROM") && !IsKw("WHERE")) return Unexpected("FROM, WHERE");
      BR_RETURN_IF_ERROR(ParseOptionalFrom(&s.sources));
      BR_RETURN_IF_ERROR(ParseOptionalWhere(&s.condition));
      return Statement(std::move(s));
    }
    return Unexpected("DATABASE, MEASUREMENT, SERIES");
  }

  [[nodiscard]] absl::StatusOr<Statement> ParseDelete() {
    DeleteStatement s;
    s.pos = tok_.pos;
    BR_RETURN_IF_ERROR(Advance());
    if (!IsKw("FROM") && !IsKw("WHERE")) return Unexpected("FROM, WHERE");
    BR_RETURN_IF_ERROR(ParseOptionalFrom(&s.sources));
    BR_RETURN_IF_ERROR(ParseOptionalWhere(&s.condition));
    return Statement(std::move(s));
  }

  // ---- expressions ----

  // Precedence climbing: binary operators of precedence >= min_precedence, left to right.
  [[nodiscard]] absl::StatusOr<Parsed> ParseExpression(int min_precedence) {
    BR_ASSIGN_OR_RETURN(Parsed lhs, ParseUnary());
    while (true) {
      const std::optional<BinaryOp> op = BinaryOpOf(tok_);
      if (!op || Precedence(*op) < min_precedence) return lhs;
      const Position op_pos = tok_.pos;
      BR_RETURN_IF_ERROR(Advance());
      Parsed rhs;
      if (*op == BinaryOp::kEqRegex || *op == BinaryOp::kNotEqRegex) {
        rhs.expr.pos = tok_.pos;
        BR_ASSIGN_OR_RETURN(std::string pattern, ParseRegex());
        rhs.expr.node = RegexLiteral{std::move(pattern)};
      } else {
        BR_ASSIGN_OR_RETURN(rhs, ParseExpression(Precedence(*op) + 1));
      }
      if (IsComparison(*op)) {
        if (IsTimeRef(lhs.expr)) BR_RETURN_IF_ERROR(ToTimeLiterals(&rhs.expr));
        if (IsTimeRef(rhs.expr)) BR_RETURN_IF_ERROR(ToTimeLiterals(&lhs.expr));
      }
      const int height = std::max(lhs.height, rhs.height) + 1;
      if (height > kMaxExpressionHeight) {
        return QueryParseError(op_pos, StrCat("expression too deeply nested (more than ",
                                              kMaxExpressionHeight, " levels)"));
      }
      lhs.expr = Expr::Binary(*op, std::move(lhs.expr), std::move(rhs.expr), op_pos);
      lhs.height = height;
    }
  }

  // Beside `time` in a comparison, string literals (also inside + and -) are times.
  [[nodiscard]] absl::Status ToTimeLiterals(Expr* e) {
    if (const auto* s = e->As<StringLiteral>()) {
      absl::StatusOr<TimeLiteral> t = ParseTimeString(s->value);
      if (!t.ok()) return QueryParseError(e->pos, StatusMessage(t.status()));
      e->node = *std::move(t);
      return absl::OkStatus();
    }
    if (auto* b = e->As<BinaryExpr>();
        b != nullptr && (b->op == BinaryOp::kAdd || b->op == BinaryOp::kSub)) {
      BR_RETURN_IF_ERROR(ToTimeLiterals(b->lhs.get()));
      BR_RETURN_IF_ERROR(ToTimeLiterals(b->rhs.get()));
    }
    return absl::OkStatus();
  }

  // The integer or decimal token at tok_ (its minus sign, if any, already consumed).
  [[nodiscard]] absl::StatusOr<Expr> NumericLiteral(bool negative, Position pos) {
    const std::string text = StrCat(negative ? "-" : "", tok_.text);
    Expr e;
    e.pos = pos;
    if (tok_.kind == TokenKind::kInteger) {
      int64_t v = 0;
      if (!absl::SimpleAtoi(text, &v)) {
        return QueryParseError(pos, StrCat("integer out of range: ", text));
      }
      e.node = IntegerLiteral{v};
    } else if (tok_.kind == TokenKind::kNumber) {
      e = Expr::Number(text, pos);
    } else {
      absl::StatusOr<int64_t> ns = ParseDuration(tok_.text, negative);
      if (!ns.ok()) return QueryParseError(tok_.pos, StatusMessage(ns.status()));
      e.node = DurationLiteral{*ns};
    }
    BR_RETURN_IF_ERROR(Advance());
    return e;
  }

  // `-operand` for a non-literal operand: -1 * operand.
  [[nodiscard]] absl::StatusOr<Parsed> Negate(Parsed p, Position pos) {
    if (auto* i = p.expr.As<IntegerLiteral>()) {
      if (i->value == INT64_MIN) return QueryParseError(pos, "integer out of range");
      i->value = -i->value;
    } else if (auto* n = p.expr.As<NumberLiteral>()) {
      n->text = n->text[0] == '-' ? n->text.substr(1) : StrCat("-", n->text);
      n->value = -n->value;
    } else if (auto* d = p.expr.As<DurationLiteral>()) {
      if (d->ns == INT64_MIN) return QueryParseError(pos, "duration out of range");
      d->ns = -d->ns;
    } else {
      if (p.height + 1 > kMaxExpressionHeight) {
        return QueryParseError(pos, StrCat("expression too deeply nested (more than ",
                                           kMaxExpressionHeight, " levels)"));
      }
      p.expr = Expr::Binary(BinaryOp::kMul, Expr::Integer(-1, pos), std::move(p.expr), pos);
      ++p.height;
      return p;
    }
    p.expr.pos = pos;
    return p;
  }

  [[nodiscard]] absl::StatusOr<Parsed> ParseUnary() {
    const Position pos = tok_.pos;
    switch (tok_.kind) {
      case TokenKind::kLParen: {
        BR_RETURN_IF_ERROR(Enter());
        Nesting nesting(&depth_);
        BR_RETURN_IF_ERROR(Advance());
        BR_ASSIGN_OR_RETURN(Parsed inner, ParseExpression(1));
        BR_RETURN_IF_ERROR(Expect(TokenKind::kRParen, ")"));
        return inner;
      }
      case TokenKind::kMinus:
      case TokenKind::kPlus: {
        const bool negative = tok_.kind == TokenKind::kMinus;
        BR_RETURN_IF_ERROR(Enter());
        Nesting nesting(&depth_);
        BR_RETURN_IF_ERROR(Advance());
        if (tok_.kind == TokenKind::kInteger || tok_.kind == TokenKind::kNumber ||
            tok_.kind == TokenKind::kDuration) {
          BR_ASSIGN_OR_RETURN(Expr e, NumericLiteral(negative, pos));
          return Parsed{std::move(e), 1};
        }
        BR_ASSIGN_OR_RETURN(Parsed operand, ParseUnary());
        if (!negative) return operand;
        return Negate(std::move(operand), pos);
      }
      case TokenKind::kInteger:
      case TokenKind::kNumber:
      case TokenKind::kDuration: {
        BR_ASSIGN_OR_RETURN(Expr e, NumericLiteral(false, pos));
        return Parsed{std::move(e), 1};
      }
      case TokenKind::kString: {
        Expr e = Expr::String(std::move(tok_.text), pos);
        BR_RETURN_IF_ERROR(Advance());
        return Parsed{std::move(e), 1};
      }
      case TokenKind::kSlash: {
        BR_ASSIGN_OR_RETURN(std::string pattern, ParseRegex());
        return Parsed{Expr::Regex(std::move(pattern), pos), 1};
      }
      case TokenKind::kStar: {
        BR_RETURN_IF_ERROR(Advance());
        Wildcard w;
        if (tok_.kind == TokenKind::kDoubleColon) {
          BR_RETURN_IF_ERROR(Advance());
          if (IsKw("TAG")) {
            w.kind = WildcardKind::kTags;
          } else if (IsKw("FIELD")) {
            w.kind = WildcardKind::kFields;
          } else {
            return Unexpected("tag, field");
          }
          BR_RETURN_IF_ERROR(Advance());
        }
        return Parsed{Expr{w, pos}, 1};
      }
      case TokenKind::kKeyword:
        if (IsKw("TRUE") || IsKw("FALSE")) {
          Expr e = Expr::Bool(IsKw("TRUE"), pos);
          BR_RETURN_IF_ERROR(Advance());
          return Parsed{std::move(e), 1};
        }
        if (IsKw("DISTINCT")) {
          BR_RETURN_IF_ERROR(Advance());
          if (tok_.kind == TokenKind::kLParen) return ParseCallArgs("distinct", pos);
          BR_RETURN_IF_ERROR(Enter());
          Nesting nesting(&depth_);
          BR_ASSIGN_OR_RETURN(Parsed operand, ParseUnary());
          std::vector<Expr> args;
          args.push_back(std::move(operand.expr));
          return Parsed{Expr::Function("distinct", std::move(args), pos), operand.height + 1};
        }
        return Unexpected(kExpectedOperand);
      case TokenKind::kIdent: {
        std::string name = std::move(tok_.text);
        BR_RETURN_IF_ERROR(Advance());
        if (tok_.kind == TokenKind::kLParen) {
          return ParseCallArgs(absl::AsciiStrToLower(name), pos);
        }
        VarType type = VarType::kAny;
        if (tok_.kind == TokenKind::kDoubleColon) {
          BR_RETURN_IF_ERROR(Advance());
          std::optional<VarType> t;
          if (tok_.kind == TokenKind::kIdent || tok_.kind == TokenKind::kKeyword) {
            t = VarTypeOf(tok_.text);
          }
          if (!t) return Unexpected("tag, field, float, integer, unsigned, string, boolean");
          type = *t;
          BR_RETURN_IF_ERROR(Advance());
        }
        return Parsed{Expr::Var(std::move(name), type, pos), 1};
      }
      default:
        return Unexpected(kExpectedOperand);
    }
  }

  // At `(` after a function name: the argument list and `)`.
  [[nodiscard]] absl::StatusOr<Parsed> ParseCallArgs(std::string name, Position pos) {
    BR_RETURN_IF_ERROR(Enter());
    Nesting nesting(&depth_);
    BR_RETURN_IF_ERROR(Advance());
    std::vector<Expr> args;
    int height = 1;
    if (tok_.kind != TokenKind::kRParen) {
      while (true) {
        BR_ASSIGN_OR_RETURN(Parsed arg, ParseExpression(1));
        height = std::max(height, arg.height + 1);
        args.push_back(std::move(arg.expr));
        if (tok_.kind != TokenKind::kComma) break;
        BR_RETURN_IF_ERROR(Advance());
      }
    }
    if (tok_.kind != TokenKind::kRParen) return Unexpected(args.empty() ? ")" : "',', ')'");
    BR_RETURN_IF_ERROR(Advance());
    if (height > kMaxExpressionHeight) {
      return QueryParseError(pos, StrCat("expression too deeply nested (more than ",
                                         kMaxExpressionHeight, " levels)"));
    }
    return Parsed{Expr::Function(std::move(name), std::move(args), pos), height};
  }

  Lexer lexer_;
  Token tok_;
  int depth_ = 0;
};

}  // namespace

absl::StatusOr<Query> ParseQuery(std::string_view text) {
  Parser parser(text);
  BR_RETURN_IF_ERROR(parser.Start());
  return parser.ParseQueryText();
}

absl::StatusOr<Statement> ParseStatement(std::string_view text) {
  Parser parser(text);
  BR_RETURN_IF_ERROR(parser.Start());
  return parser.ParseSingleStatement();
}

absl::StatusOr<Expr> ParseExpr(std::string_view text) {
  Parser parser(text);
  BR_RETURN_IF_ERROR(parser.Start());
  return parser.ParseSingleExpr();
}

}  // namespace burnrate
