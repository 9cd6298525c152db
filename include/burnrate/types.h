#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "burnrate/money.h"

namespace burnrate {

// Field value types. The numeric values are persisted (WAL, catalog, segments): never
// renumber.
enum class FieldType : uint8_t {
  kFloat = 1,
  kInteger = 2,
  kUnsigned = 3,
  kBoolean = 4,
  kString = 5,
  kMoney = 6,
};

std::string_view FieldTypeName(FieldType type);

// A tag: key and value, both non-empty strings.
struct Tag {
  std::string key;
  std::string value;
  friend bool operator==(const Tag&, const Tag&) = default;
  friend auto operator<=>(const Tag&, const Tag&) = default;
};

// A tag borrowed from the catalog: views into its interned strings. Scans and
// Db::ResolveSeries hand these out instead of copies; each says how long they stay valid.
struct TagView {
  std::string_view key;
  std::string_view value;
  friend bool operator==(const TagView&, const TagView&) = default;
  friend auto operator<=>(const TagView&, const TagView&) = default;
};

// A typed field value. Value type; thread-compatible.
class FieldValue {
 public:
  FieldValue() = default;
  static FieldValue Float(double v) { return FieldValue(FieldType::kFloat, Bits(v)); }
  static FieldValue Integer(int64_t v) {
    return FieldValue(FieldType::kInteger, static_cast<uint64_t>(v));
  }
  static FieldValue Unsigned(uint64_t v) { return FieldValue(FieldType::kUnsigned, v); }
  static FieldValue Boolean(bool v) { return FieldValue(FieldType::kBoolean, v ? 1 : 0); }
  static FieldValue OfMoney(Money v) {
    return FieldValue(FieldType::kMoney, static_cast<uint64_t>(v.units()));
  }
  static FieldValue String(std::string v) {
    FieldValue f(FieldType::kString, 0);
    f.str_ = std::move(v);
    return f;
  }

  FieldType type() const { return type_; }
  double as_float() const {
    double d;
    __builtin_memcpy(&d, &bits_, sizeof d);
    return d;
  }
  int64_t as_integer() const { return static_cast<int64_t>(bits_); }
  uint64_t as_unsigned() const { return bits_; }
  bool as_boolean() const { return bits_ != 0; }
  Money as_money() const { return Money::FromUnits(static_cast<int64_t>(bits_)); }
  const std::string& as_string() const { return str_; }
  // The raw 64 bits (double bits, integer, money units, 0/1); 0 for strings.
  uint64_t bits() const { return bits_; }

  // "1.5", "3i", "7u", "true", "\"text\"", money as exact decimal text.
  std::string DebugString() const;

  friend bool operator==(const FieldValue& a, const FieldValue& b) {
    return a.type_ == b.type_ && a.bits_ == b.bits_ && a.str_ == b.str_;
  }

 private:
  FieldValue(FieldType t, uint64_t bits) : type_(t), bits_(bits) {}
  static uint64_t Bits(double v) {
    uint64_t b;
    __builtin_memcpy(&b, &v, sizeof b);
    return b;
  }
  FieldType type_ = FieldType::kFloat;
  uint64_t bits_ = 0;
  std::string str_;
};

// Nanoseconds since the Unix epoch, UTC.
using TimestampNs = int64_t;

}  // namespace burnrate
