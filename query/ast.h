#pragma once

// The InfluxQL syntax tree. Every node is a value type: copies are deep, and operator==
// compares meaning (positions are ignored), so `ParseQuery(ToString(q)) == q` holds. Nodes
// are thread-compatible: concurrent reads are safe, writes need the caller's lock.
// docs/query.md describes the language.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "burnrate/types.h"
#include "query/lexer.h"

namespace burnrate {

// Where a node starts in the query text, for error messages. Positions never take part in
// AST equality (differently laid-out text is the same query): any two NodePos compare
// equal. Compare line and column directly when they matter.
struct NodePos {
  int line = 0;  // 1-based; 0 for nodes built by code
  int column = 0;
  NodePos() = default;
  NodePos(Position p) : line(p.line), column(p.column) {}  // NOLINT(google-explicit-constructor)
  Position position() const { return Position{line, column}; }
  friend bool operator==(const NodePos&, const NodePos&) { return true; }
};

// QueryParseError at a node: "error parsing query: <message> at line L, char C".
inline absl::Status QueryParseError(NodePos pos, std::string_view message) {
  return QueryParseError(pos.position(), message);
}

// An owning pointer with value semantics for recursive nodes: copies are deep, equality
// compares the pointees. Never null except after being moved from.
// Thread-compatible.
template <typename T>
class Box {
 public:
  Box(T value) : ptr_(std::make_unique<T>(std::move(value))) {}  // NOLINT
  Box(const Box& other) : ptr_(other.ptr_ ? std::make_unique<T>(*other.ptr_) : nullptr) {}
  Box& operator=(const Box& other) {
    if (this != &other) ptr_ = other.ptr_ ? std::make_unique<T>(*other.ptr_) : nullptr;
    return *this;
  }
  Box(Box&&) noexcept = default;
  Box& operator=(Box&&) noexcept = default;
  ~Box() = default;

  T& operator*() { return *ptr_; }
  const T& operator*() const { return *ptr_; }
  T* operator->() { return ptr_.get(); }
  const T* operator->() const { return ptr_.get(); }
  T* get() { return ptr_.get(); }
  const T* get() const { return ptr_.get(); }

  friend bool operator==(const Box& a, const Box& b) {
    return a.ptr_ && b.ptr_ ? *a.ptr_ == *b.ptr_ : a.ptr_ == b.ptr_;
  }

 private:
  std::unique_ptr<T> ptr_;
};

struct Expr;

// ---------------------------------------------------------------------------------------
// Expressions

struct IntegerLiteral {
  int64_t value = 0;
  friend bool operator==(const IntegerLiteral&, const IntegerLiteral&) = default;
};

// A decimal literal (`0.1`, `-2.50`). `text` is exactly as written (sign included, trailing
// zeros kept): money comparisons use Money::Parse(text), never the rounded `value`.
struct NumberLiteral {
  double value = 0;
  std::string text;
  friend bool operator==(const NumberLiteral& a, const NumberLiteral& b) {
    return a.text == b.text;
  }
};

struct StringLiteral {
  std::string value;
  friend bool operator==(const StringLiteral&, const StringLiteral&) = default;
};

// `/pattern/`. The pattern is kept as written (with `\/` turned into `/`); it is compiled
// by whoever evaluates it (the engine uses ECMAScript syntax, close to InfluxDB's RE2 for
// the patterns people write).
struct RegexLiteral {
  std::string pattern;
  friend bool operator==(const RegexLiteral&, const RegexLiteral&) = default;
};

// `1h30m`, `-15m`, `1700000000000ms`. Compared with time, a duration is an offset from the
// Unix epoch (that is how Grafana writes absolute times).
struct DurationLiteral {
  int64_t ns = 0;
  friend bool operator==(const DurationLiteral&, const DurationLiteral&) = default;
};

// A string literal that stands in a comparison with `time` (or in +/- arithmetic there):
// the parser turns `time > '2026-11-01T00:00:00Z'` into a TimeLiteral after checking the
// format. Without an offset (`'2026-11-01'`, `'2026-11-01 08:00:00'`) the time is civil
// time in the statement's tz() zone: `ns` then holds that civil time read as UTC, and
// ResolveTime (query/literals.h) applies the zone.
struct TimeLiteral {
  std::string text;  // as written, without quotes
  TimestampNs ns = 0;
  bool has_zone = false;  // `Z` or `+hh:mm` given: ns is absolute
  friend bool operator==(const TimeLiteral& a, const TimeLiteral& b) { return a.text == b.text; }
};

struct BoolLiteral {
  bool value = false;
  friend bool operator==(const BoolLiteral&, const BoolLiteral&) = default;
};

enum class WildcardKind : uint8_t { kAll, kTags, kFields };

// `*`, `*::tag`, `*::field`: in SELECT fields and as a call argument (`count(*)`).
struct Wildcard {
  WildcardKind kind = WildcardKind::kAll;
  friend bool operator==(const Wildcard&, const Wildcard&) = default;
};

// The `::type` hint of a variable reference. kTag and kField say which kind of column a
// name means when a tag and a field share it; the others name a field's type.
enum class VarType : uint8_t {
  kAny,
  kTag,
  kField,
  kFloat,
  kInteger,
  kUnsigned,
  kString,
  kBoolean,
};

// A column name: a field, a tag, `time`, or (in an outer query or ORDER BY) an alias.
struct VarRef {
  std::string name;
  VarType type = VarType::kAny;
  friend bool operator==(const VarRef&, const VarRef&) = default;
};

// A function call. The name is lower-cased (InfluxQL function names are case-insensitive)
// and not checked: `foo(x)` parses, and the executor rejects unknown names at pos.
// `DISTINCT x` parses as distinct(x); `now()` is a call with no arguments.
struct Call {
  std::string name;
  std::vector<Expr> args;
  friend bool operator==(const Call&, const Call&) = default;
};

enum class BinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kEq,
  kNotEq,
  kLt,
  kLtEq,
  kGt,
  kGtEq,
  kEqRegex,     // rhs is always a RegexLiteral
  kNotEqRegex,  // rhs is always a RegexLiteral
  kAnd,
  kOr,
};

// lhs op rhs. Parentheses are not kept: the tree says the grouping. A unary minus on a
// literal folds into the literal; on anything else it is `-1 * operand`.
struct BinaryExpr {
  BinaryOp op = BinaryOp::kAdd;
  Box<Expr> lhs;
  Box<Expr> rhs;
  friend bool operator==(const BinaryExpr&, const BinaryExpr&) = default;
};

// One expression node and its position: where the node's text starts, except that a
// BinaryExpr is placed at its operator (where a type error is best pointed at).
// Thread-compatible.
struct Expr {
  using Node =
      std::variant<IntegerLiteral, NumberLiteral, StringLiteral, RegexLiteral, DurationLiteral,
                   TimeLiteral, BoolLiteral, Wildcard, VarRef, Call, BinaryExpr>;
  Node node;
  NodePos pos;

  template <typename T>
  bool Is() const {
    return std::holds_alternative<T>(node);
  }
  template <typename T>
  const T* As() const {
    return std::get_if<T>(&node);
  }
  template <typename T>
  T* As() {
    return std::get_if<T>(&node);
  }

  static Expr Integer(int64_t value, NodePos pos = {});
  // `text` must be a decimal literal (digits with an optional sign and point).
  static Expr Number(std::string_view text, NodePos pos = {});
  static Expr String(std::string value, NodePos pos = {});
  static Expr Regex(std::string pattern, NodePos pos = {});
  static Expr Duration(int64_t ns, NodePos pos = {});
  static Expr Bool(bool value, NodePos pos = {});
  static Expr Var(std::string name, VarType type = VarType::kAny, NodePos pos = {});
  static Expr Function(std::string name, std::vector<Expr> args, NodePos pos = {});
  static Expr Binary(BinaryOp op, Expr lhs, Expr rhs, NodePos pos = {});

  friend bool operator==(const Expr&, const Expr&) = default;
};

// Calls fn on e and every expression below it, parents before children.
void ForEachExpr(const Expr& e, const std::function<void(const Expr&)>& fn);

bool IsComparison(BinaryOp op);
// "+", "=~", "AND", ...
std::string_view BinaryOpText(BinaryOp op);
// Binding strength: OR 1, AND 2, comparisons 3, + - 4, * / 5.
int Precedence(BinaryOp op);
// A reference to the `time` column (any case, any type hint).
bool IsTimeRef(const Expr& e);
// True when e is a call to `name` (lower case).
bool IsCall(const Expr& e, std::string_view name);

// ---------------------------------------------------------------------------------------
// SELECT

// One output column: an expression and its optional alias (empty when none).
struct Field {
  Expr expr;
  std::string alias;
  friend bool operator==(const Field&, const Field&) = default;
};

// A FROM source naming stored data: `m`, `rp.m`, `db.rp.m`, `db..m`, `/re/`, `db.rp./re/`.
struct Measurement {
  std::string database;              // empty: the query's default database
  std::string retention_policy;      // empty: the database's default
  std::string name;                  // empty when regex is set
  std::optional<std::string> regex;  // every measurement whose name the pattern matches
  NodePos pos;
  friend bool operator==(const Measurement&, const Measurement&) = default;
};

struct SelectStatement;

// FROM (SELECT ...).
struct Subquery {
  Box<SelectStatement> select;
  NodePos pos;
  friend bool operator==(const Subquery&, const Subquery&) = default;
};

using Source = std::variant<Measurement, Subquery>;

// One GROUP BY item, kept in the order written.
struct Dimension {
  enum class Kind : uint8_t { kTag, kRegex, kWildcard, kTime };
  Kind kind = Kind::kTag;
  std::string name;         // kTag: the tag key; kRegex: the pattern
  int64_t interval_ns = 0;  // kTime: time(interval, offset); the interval is > 0
  int64_t offset_ns = 0;    // kTime; may be negative
  NodePos pos;
  friend bool operator==(const Dimension&, const Dimension&) = default;
};

enum class FillMode : uint8_t { kNull, kNone, kValue, kPrevious, kLinear };

// One ORDER BY item. InfluxQL allows only `time`; burnrate's extension allows an
// aggregate or an alias (`ORDER BY sum(cost) DESC`, `ORDER BY total DESC`) to order groups.
struct SortField {
  Expr expr;
  bool ascending = true;
  friend bool operator==(const SortField&, const SortField&) = default;
};

struct SelectStatement {
  std::vector<Field> fields;
  std::vector<Source> sources;
  std::optional<Expr> condition;      // WHERE
  std::vector<Dimension> dimensions;  // GROUP BY; at most one kTime
  FillMode fill = FillMode::kNull;    // fill(null) is the default and is not printed
  std::optional<Expr> fill_value;     // an IntegerLiteral or NumberLiteral iff kValue
  std::vector<SortField> order_by;
  int64_t limit = 0;  // 0: none (LIMIT 0 means no limit, as in InfluxDB)
  int64_t offset = 0;
  int64_t slimit = 0;
  int64_t soffset = 0;
  std::string tz;  // tz('Europe/Paris'); empty means UTC. The parser checked it loads.
  NodePos pos;

  // The time(...) dimension, or null.
  const Dimension* TimeDimension() const;
  friend bool operator==(const SelectStatement&, const SelectStatement&) = default;
};

// EXPLAIN [ANALYZE] SELECT ...
struct ExplainStatement {
  SelectStatement select;
  bool analyze = false;
  NodePos pos;
  friend bool operator==(const ExplainStatement&, const ExplainStatement&) = default;
};

// ---------------------------------------------------------------------------------------
// Meta statements. `database` is the ON clause (empty: the query's default database).

struct ShowDatabasesStatement {
  NodePos pos;
  friend bool operator==(const ShowDatabasesStatement&, const ShowDatabasesStatement&) = default;
};

// SHOW MEASUREMENTS [ON db] [WITH MEASUREMENT = m | =~ /re/] [WHERE ...] [LIMIT] [OFFSET]
struct ShowMeasurementsStatement {
  std::string database;
  std::optional<Measurement> with_measurement;  // name (=) or regex (=~); no db or rp
  std::optional<Expr> condition;
  int64_t limit = 0;
  int64_t offset = 0;
  NodePos pos;
  friend bool operator==(const ShowMeasurementsStatement&,
                         const ShowMeasurementsStatement&) = default;
};

// SHOW TAG KEYS [ON db] [FROM ...] [WHERE ...] [LIMIT] [OFFSET]
struct ShowTagKeysStatement {
  std::string database;
  std::vector<Measurement> sources;
  std::optional<Expr> condition;
  int64_t limit = 0;
  int64_t offset = 0;
  NodePos pos;
  friend bool operator==(const ShowTagKeysStatement&, const ShowTagKeysStatement&) = default;
};

// SHOW TAG VALUES [ON db] [FROM ...] WITH KEY (= k | != k | =~ /re/ | !~ /re/ | IN (k, ...))
// [WHERE ...] [LIMIT] [OFFSET]
struct ShowTagValuesStatement {
  enum class KeyOp : uint8_t { kEq, kNotEq, kEqRegex, kNotEqRegex, kIn };
  std::string database;
  std::vector<Measurement> sources;
  KeyOp key_op = KeyOp::kEq;
  std::vector<std::string> keys;  // one for kEq/kNotEq, one or more for kIn
  std::string key_regex;          // kEqRegex/kNotEqRegex
  std::optional<Expr> condition;
  int64_t limit = 0;
  int64_t offset = 0;
  NodePos pos;
  friend bool operator==(const ShowTagValuesStatement&, const ShowTagValuesStatement&) = default;
};

// SHOW FIELD KEYS [ON db] [FROM ...] [LIMIT] [OFFSET]
struct ShowFieldKeysStatement {
  std::string database;
  std::vector<Measurement> sources;
  int64_t limit = 0;
  int64_t offset = 0;
  NodePos pos;
  friend bool operator==(const ShowFieldKeysStatement&, const ShowFieldKeysStatement&) = default;
};

// SHOW SERIES [ON db] [FROM ...] [WHERE ...] [LIMIT] [OFFSET]
struct ShowSeriesStatement {
  std::string database;
  std::vector<Measurement> sources;
  std::optional<Expr> condition;
  int64_t limit = 0;
  int64_t offset = 0;
  NodePos pos;
  friend bool operator==(const ShowSeriesStatement&, const ShowSeriesStatement&) = default;
};

// SHOW RETENTION POLICIES [ON db]
struct ShowRetentionPoliciesStatement {
  std::string database;
  NodePos pos;
  friend bool operator==(const ShowRetentionPoliciesStatement&,
                         const ShowRetentionPoliciesStatement&) = default;
};

// CREATE DATABASE name [WITH [DURATION d|INF] [REPLICATION n] [SHARD DURATION d] [NAME rp]]
// The options are recorded as given; what burnrate honours is the executor's business.
struct CreateDatabaseStatement {
  std::string name;
  std::optional<int64_t> duration_ns;  // 0 for INF
  std::optional<int64_t> replication;
  std::optional<int64_t> shard_duration_ns;
  std::optional<std::string> retention_policy_name;
  NodePos pos;
  friend bool operator==(const CreateDatabaseStatement&, const CreateDatabaseStatement&) = default;
};

struct DropDatabaseStatement {
  std::string name;
  NodePos pos;
  friend bool operator==(const DropDatabaseStatement&, const DropDatabaseStatement&) = default;
};

struct DropMeasurementStatement {
  std::string name;
  NodePos pos;
  friend bool operator==(const DropMeasurementStatement&,
                         const DropMeasurementStatement&) = default;
};

// DROP SERIES [FROM ...] [WHERE ...]: at least one of the two.
struct DropSeriesStatement {
  std::vector<Measurement> sources;
  std::optional<Expr> condition;
  NodePos pos;
  friend bool operator==(const DropSeriesStatement&, const DropSeriesStatement&) = default;
};

// DELETE [FROM ...] [WHERE ...]: at least one of the two.
struct DeleteStatement {
  std::vector<Measurement> sources;
  std::optional<Expr> condition;
  NodePos pos;
  friend bool operator==(const DeleteStatement&, const DeleteStatement&) = default;
};

using Statement =
    std::variant<SelectStatement, ExplainStatement, ShowDatabasesStatement,
                 ShowMeasurementsStatement, ShowTagKeysStatement, ShowTagValuesStatement,
                 ShowFieldKeysStatement, ShowSeriesStatement, ShowRetentionPoliciesStatement,
                 CreateDatabaseStatement, DropDatabaseStatement, DropMeasurementStatement,
                 DropSeriesStatement, DeleteStatement>;

// Statements separated by `;`, in order.
struct Query {
  std::vector<Statement> statements;
  friend bool operator==(const Query&, const Query&) = default;
};

// The position of any statement.
NodePos StatementPos(const Statement& statement);

// ---------------------------------------------------------------------------------------
// Printing as canonical InfluxQL: keywords in upper case, identifiers quoted only when
// needed, minimal parentheses, durations in their largest exact unit, one space between
// tokens. The printed text parses back to an equal tree.

std::string ToString(const Expr& e);
std::string ToString(const Measurement& m);
std::string ToString(const SelectStatement& s);
std::string ToString(const Statement& s);
// Statements joined by "; ".
std::string ToString(const Query& q);

// `name` as an identifier: bare when it is [A-Za-z_][A-Za-z0-9_]* and not a keyword,
// otherwise double-quoted with `"`, `\` and newline escaped.
std::string QuoteIdent(std::string_view name);
// `value` as a single-quoted string literal.
std::string QuoteString(std::string_view value);

}  // namespace burnrate
