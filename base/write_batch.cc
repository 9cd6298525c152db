#include "burnrate/write_batch.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/numbers.h"
#include "base/str_cat.h"

namespace burnrate {
namespace {

constexpr size_t kMaxNameBytes = 64 * 1024;
constexpr size_t kMaxStringFieldBytes = 64 * 1024;

// Characters InfluxDB rejects in names: control bytes, which line protocol cannot carry.
bool HasControlByte(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f;
  });
}

std::string CheckName(std::string_view what, std::string_view name) {
  if (name.empty()) return StrCat(what, " is empty");
  if (name.size() > kMaxNameBytes) return StrCat(what, " is longer than 64 KiB");
  if (HasControlByte(name)) return StrCat(what, " '", name, "' contains a control byte");
  return "";
}

}  // namespace

WriteBatch::WriteBatch(std::string_view database) : database_(database) {}

WriteBatch::SeriesRef WriteBatch::AddSeries(std::string_view measurement,
                                            std::span<const Tag> tags) {
  // Callers that give tags sorted by key without repeats (the billing importer does) skip
  // the sort, and a series already in the batch is found without copying its tags.
  const bool canonical =
      std::adjacent_find(tags.begin(), tags.end(),
                         [](const Tag& a, const Tag& b) { return !(a.key < b.key); }) == tags.end();
  if (canonical) {
    thread_local std::string key;
    key.assign(measurement.data(), measurement.size());
    for (const Tag& t : tags) {
      key.push_back('\0');
      key += t.key;
      key.push_back('\0');
      key += t.value;
    }
    if (auto it = series_index_.find(key); it != series_index_.end()) return it->second;
    Series s;
    s.measurement = std::string(measurement);
    s.tags.assign(tags.begin(), tags.end());
    const auto ref = static_cast<SeriesRef>(series_.size());
    series_index_.emplace(key, ref);
    series_.push_back(std::move(s));
    return ref;
  }

  Series s;
  s.measurement = std::string(measurement);
  s.tags.assign(tags.begin(), tags.end());
  std::stable_sort(s.tags.begin(), s.tags.end(),
                   [](const Tag& a, const Tag& b) { return a.key < b.key; });
  // A repeated key keeps its last value, as line protocol does.
  std::vector<Tag> unique;
  unique.reserve(s.tags.size());
  for (auto& t : s.tags) {
    if (!unique.empty() && unique.back().key == t.key) {
      unique.back().value = std::move(t.value);
    } else {
      unique.push_back(std::move(t));
    }
  }
  s.tags = std::move(unique);

  std::string key = s.measurement;
  for (const Tag& t : s.tags) {
    key.push_back('\0');
    key += t.key;
    key.push_back('\0');
    key += t.value;
  }
  auto [it, inserted] = series_index_.try_emplace(std::move(key), series_.size());
  if (inserted) series_.push_back(std::move(s));
  return it->second;
}

void WriteBatch::AddPoint(SeriesRef series, TimestampNs time_ns) {
  const auto n = static_cast<uint32_t>(fields_.size());
  points_.push_back(Point{series, time_ns, n, n});
  if (series >= series_.size()) {
    RecordError(StrCat("unknown series handle ", series));
  }
}

uint32_t WriteBatch::InternFieldName(std::string_view name) {
  // Batches carry a handful of field names: comparing them beats hashing (and allocating)
  // a key for every field of every point.
  if (field_names_.size() <= 16) {
    for (size_t i = 0; i < field_names_.size(); ++i) {
      if (field_names_[i] == name) return static_cast<uint32_t>(i);
    }
  }
  // Debian's Abseil hashes absl::string_view, which std::string_view does not convert to.
  const absl::string_view key(name.data(), name.size());
  if (auto it = field_name_index_.find(key); it != field_name_index_.end()) return it->second;
  const auto id = static_cast<uint32_t>(field_names_.size());
  field_name_index_.emplace(std::string(name), id);
  field_names_.emplace_back(name);
  return id;
}

void WriteBatch::RecordError(std::string message) {
  if (first_error_.empty()) {
    first_error_ = StrCat("point ", points_.empty() ? 0 : points_.size() - 1, ": ", message);
  }
}

void WriteBatch::AddRawField(std::string_view name, FieldType type, uint64_t bits, uint32_t str) {
  if (points_.empty()) {
    RecordError(StrCat("field '", name, "' added before any point"));
    return;
  }
  fields_.push_back(Field{InternFieldName(name), type, bits, str});
  points_.back().field_end = static_cast<uint32_t>(fields_.size());
}

void WriteBatch::AddFloat(std::string_view field, double v) {
  if (IsMoneyFieldName(field)) {
    RecordError(
        StrCat("field '", field, "' holds money; give it as decimal text or Money, not a float"));
  }
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  AddRawField(field, FieldType::kFloat, bits, 0);
}

void WriteBatch::AddInteger(std::string_view field, int64_t v) {
  if (IsMoneyFieldName(field)) {
    auto m = Money::FromWhole(v);
    if (!m.ok()) {
      RecordError(StrCat("field '", field, "': ", m.status().message()));
      return;
    }
    AddMoney(field, *m);
    return;
  }
  AddRawField(field, FieldType::kInteger, static_cast<uint64_t>(v), 0);
}

void WriteBatch::AddUnsigned(std::string_view field, uint64_t v) {
  if (IsMoneyFieldName(field)) {
    if (v > static_cast<uint64_t>(INT64_MAX)) {
      RecordError(StrCat("field '", field, "': money value out of range"));
      return;
    }
    AddInteger(field, static_cast<int64_t>(v));
    return;
  }
  AddRawField(field, FieldType::kUnsigned, v, 0);
}

void WriteBatch::AddBoolean(std::string_view field, bool v) {
  AddRawField(field, FieldType::kBoolean, v ? 1 : 0, 0);
}

void WriteBatch::AddString(std::string_view field, std::string_view v) {
  strings_.emplace_back(v);
  AddRawField(field, FieldType::kString, 0, static_cast<uint32_t>(strings_.size() - 1));
}

void WriteBatch::AddMoney(std::string_view field, Money v) {
  AddRawField(field, FieldType::kMoney, static_cast<uint64_t>(v.units()), 0);
}

void WriteBatch::AddDecimal(std::string_view field, std::string_view text) {
  if (IsMoneyFieldName(field)) {
    auto m = Money::Parse(text);
    if (!m.ok()) {
      RecordError(StrCat("field '", field, "': ", m.status().message()));
      AddRawField(field, FieldType::kMoney, 0, 0);
      return;
    }
    AddMoney(field, *m);
    return;
  }
  double d;
  if (!absl::SimpleAtod(absl::string_view(text.data(), text.size()), &d) || !std::isfinite(d)) {
    RecordError(StrCat("field '", field, "': '", text, "' is not a finite number"));
    d = 0;
  }
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  AddRawField(field, FieldType::kFloat, bits, 0);
}

void WriteBatch::AddField(std::string_view field, const FieldValue& v) {
  switch (v.type()) {
    case FieldType::kFloat:
      AddFloat(field, v.as_float());
      return;
    case FieldType::kInteger:
      AddInteger(field, v.as_integer());
      return;
    case FieldType::kUnsigned:
      AddUnsigned(field, v.as_unsigned());
      return;
    case FieldType::kBoolean:
      AddBoolean(field, v.as_boolean());
      return;
    case FieldType::kString:
      AddString(field, v.as_string());
      return;
    case FieldType::kMoney:
      AddMoney(field, v.as_money());
      return;
  }
}

FieldValue WriteBatch::ValueOf(const Field& f) const {
  switch (f.type) {
    case FieldType::kFloat: {
      double d;
      std::memcpy(&d, &f.bits, sizeof d);
      return FieldValue::Float(d);
    }
    case FieldType::kInteger:
      return FieldValue::Integer(static_cast<int64_t>(f.bits));
    case FieldType::kUnsigned:
      return FieldValue::Unsigned(f.bits);
    case FieldType::kBoolean:
      return FieldValue::Boolean(f.bits != 0);
    case FieldType::kString:
      return FieldValue::String(strings_[f.str]);
    case FieldType::kMoney:
      return FieldValue::OfMoney(Money::FromUnits(static_cast<int64_t>(f.bits)));
  }
  return FieldValue();
}

size_t WriteBatch::ApproximateBytes() const {
  size_t n = database_.size() + source_.size() + points_.size() * sizeof(Point) +
             fields_.size() * sizeof(Field);
  for (const Series& s : series_) {
    n += s.measurement.size() + 32;
    for (const Tag& t : s.tags) n += t.key.size() + t.value.size() + 16;
  }
  for (const std::string& s : strings_) n += s.size() + 8;
  for (const std::string& s : field_names_) n += s.size() + 8;
  return n;
}

absl::Status WriteBatch::Validate() const {
  if (!first_error_.empty()) return absl::InvalidArgumentError(first_error_);
  if (std::string e = CheckName("database name", database_); !e.empty()) {
    return absl::InvalidArgumentError(e);
  }
  std::vector<uint8_t> series_ok(series_.size(), 2);  // 2 = not checked yet
  std::vector<std::string> series_error(series_.size());
  std::vector<uint8_t> seen(field_names_.size(), 0);
  // What depends on a field's name alone is checked once per name, not once per point.
  struct NameInfo {
    std::string error;  // CheckName's, then "reserved"; empty when the name is fine
    bool money = false;
  };
  std::vector<NameInfo> name_info(field_names_.size());
  for (size_t n = 0; n < field_names_.size(); ++n) {
    const std::string& name = field_names_[n];
    name_info[n].error = CheckName("field key", name);
    if (name_info[n].error.empty() && name == "time") {
      name_info[n].error = "field key 'time' is reserved";
    }
    name_info[n].money = IsMoneyFieldName(name);
  }
  for (size_t i = 0; i < points_.size(); ++i) {
    const Point& p = points_[i];
    if (series_ok[p.series] == 2) {
      const Series& s = series_[p.series];
      std::string e = CheckName("measurement name", s.measurement);
      for (const Tag& t : s.tags) {
        if (!e.empty()) break;
        e = CheckName("tag key", t.key);
        if (e.empty() && t.key == "time") e = "tag key 'time' is reserved";
        if (e.empty() && t.value.empty()) e = StrCat("tag '", t.key, "' has an empty value");
        if (e.empty() && t.value.size() > kMaxNameBytes) {
          e = StrCat("tag '", t.key, "' value is longer than 64 KiB");
        }
      }
      series_ok[p.series] = e.empty();
      series_error[p.series] = std::move(e);
    }
    if (!series_ok[p.series]) {
      return absl::InvalidArgumentError(StrCat("point ", i, ": ", series_error[p.series]));
    }
    if (p.field_begin == p.field_end) {
      return absl::InvalidArgumentError(StrCat("point ", i, ": no fields"));
    }
    for (uint32_t f = p.field_begin; f < p.field_end; ++f) {
      const Field& field = fields_[f];
      const std::string& name = field_names_[field.name];
      const NameInfo& info = name_info[field.name];
      if (seen[field.name]) {
        return absl::InvalidArgumentError(StrCat("point ", i, ": field '", name, "' given twice"));
      }
      seen[field.name] = 1;
      if (!info.error.empty()) {
        return absl::InvalidArgumentError(StrCat("point ", i, ": ", info.error));
      }
      if (field.type == FieldType::kFloat) {
        double d;
        std::memcpy(&d, &field.bits, sizeof d);
        if (!std::isfinite(d)) {
          return absl::InvalidArgumentError(
              StrCat("point ", i, ": field '", name, "' is not a finite number"));
        }
      }
      if (field.type == FieldType::kString && strings_[field.str].size() > kMaxStringFieldBytes) {
        return absl::InvalidArgumentError(
            StrCat("point ", i, ": string field '", name, "' is longer than 64 KiB"));
      }
      if (info.money && field.type != FieldType::kMoney) {
        return absl::InvalidArgumentError(StrCat("point ", i, ": field '", name,
                                                 "' holds money but was given as ",
                                                 FieldTypeName(field.type)));
      }
    }
    for (uint32_t f = p.field_begin; f < p.field_end; ++f) seen[fields_[f].name] = 0;
  }
  return absl::OkStatus();
}

void WriteBatch::Clear() {
  source_.clear();
  series_.clear();
  series_index_.clear();
  points_.clear();
  fields_.clear();
  field_names_.clear();
  field_name_index_.clear();
  strings_.clear();
  first_error_.clear();
}

}  // namespace burnrate
