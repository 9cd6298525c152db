#include "engine/wal_record.h"

#include <cstring>

#include "base/coding.h"
#include "base/str_cat.h"

namespace burnrate {

void EncodeWriteBatchRecord(uint32_t database_id, const WriteBatch& batch, std::string* out) {
  out->push_back(static_cast<char>(WalRecordType::kWriteBatch));
  PutVarint32(out, database_id);
  PutLengthPrefixed(out, batch.database());
  PutLengthPrefixed(out, batch.source());
  PutVarint64(out, batch.series().size());
  for (const WriteBatch::Series& s : batch.series()) {
    PutLengthPrefixed(out, s.measurement);
    PutVarint64(out, s.tags.size());
    for (const Tag& t : s.tags) {
      PutLengthPrefixed(out, t.key);
      PutLengthPrefixed(out, t.value);
    }
  }
  PutVarint64(out, batch.field_names().size());
  for (const std::string& n : batch.field_names()) PutLengthPrefixed(out, n);
  PutVarint64(out, batch.strings().size());
  for (const std::string& s : batch.strings()) PutLengthPrefixed(out, s);
  PutVarint64(out, batch.points().size());
  int64_t prev_time = 0;
  for (const WriteBatch::Point& p : batch.points()) {
    PutVarint32(out, p.series);
    PutVarint64(out, ZigZagEncode(static_cast<int64_t>(static_cast<uint64_t>(p.time_ns) -
                                                       static_cast<uint64_t>(prev_time))));
    prev_time = p.time_ns;
    PutVarint32(out, p.field_end - p.field_begin);
    for (uint32_t f = p.field_begin; f < p.field_end; ++f) {
      const WriteBatch::Field& field = batch.fields()[f];
      PutVarint32(out, field.name);
      out->push_back(static_cast<char>(field.type));
      switch (field.type) {
        case FieldType::kFloat:
          PutFixed64(out, field.bits);
          break;
        case FieldType::kInteger:
        case FieldType::kMoney:
          PutVarint64(out, ZigZagEncode(static_cast<int64_t>(field.bits)));
          break;
        case FieldType::kUnsigned:
        case FieldType::kBoolean:
          PutVarint64(out, field.bits);
          break;
        case FieldType::kString:
          PutVarint32(out, field.str);
          break;
      }
    }
  }
}

absl::StatusOr<DecodedWriteBatch> DecodeWriteBatchRecord(std::string_view payload) {
  Decoder d(payload);
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(
        StrCat("malformed write batch record (", what, ") at payload byte ", d.offset()));
  };
  uint8_t type;
  if (!d.GetByte(&type) || type != static_cast<uint8_t>(WalRecordType::kWriteBatch)) {
    return bad("record type");
  }
  DecodedWriteBatch out;
  std::string_view db, source;
  if (!d.GetVarint32(&out.database_id) || !d.GetLengthPrefixed(&db) ||
      !d.GetLengthPrefixed(&source)) {
    return bad("header");
  }
  out.batch = WriteBatch(db);
  if (!source.empty()) out.batch.set_source(source);
  uint64_t n;
  if (!d.GetVarint64(&n) || n > payload.size()) return bad("series count");
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view m;
    uint64_t tag_count;
    if (!d.GetLengthPrefixed(&m) || !d.GetVarint64(&tag_count) || tag_count > payload.size()) {
      return bad("series");
    }
    std::vector<Tag> tags(tag_count);
    for (Tag& t : tags) {
      std::string_view k, v;
      if (!d.GetLengthPrefixed(&k) || !d.GetLengthPrefixed(&v)) return bad("tag");
      t.key = std::string(k);
      t.value = std::string(v);
    }
    if (out.batch.AddSeries(m, tags) != i) return bad("duplicate series");
  }
  std::vector<std::string_view> names;
  if (!d.GetVarint64(&n) || n > payload.size()) return bad("field name count");
  names.resize(n);
  for (auto& name : names) {
    if (!d.GetLengthPrefixed(&name)) return bad("field name");
  }
  std::vector<std::string_view> strings;
  if (!d.GetVarint64(&n) || n > payload.size()) return bad("string count");
  strings.resize(n);
  for (auto& s : strings) {
    if (!d.GetLengthPrefixed(&s)) return bad("string");
  }
  if (!d.GetVarint64(&n) || n > payload.size()) return bad("point count");
  int64_t time = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t series, field_count;
    uint64_t delta;
    if (!d.GetVarint32(&series) || series >= out.batch.series_count() || !d.GetVarint64(&delta) ||
        !d.GetVarint32(&field_count) || field_count > d.remaining()) {
      return bad("point");
    }
    time = static_cast<int64_t>(static_cast<uint64_t>(time) +
                                static_cast<uint64_t>(ZigZagDecode(delta)));
    out.batch.AddPoint(series, time);
    for (uint32_t f = 0; f < field_count; ++f) {
      uint32_t name;
      uint8_t ftype;
      if (!d.GetVarint32(&name) || name >= names.size() || !d.GetByte(&ftype)) {
        return bad("field");
      }
      const std::string_view fname = names[name];
      uint64_t v = 0;
      switch (static_cast<FieldType>(ftype)) {
        case FieldType::kFloat: {
          if (!d.GetFixed64(&v)) return bad("float");
          double dv;
          std::memcpy(&dv, &v, sizeof dv);
          out.batch.AddField(fname, FieldValue::Float(dv));
          break;
        }
        case FieldType::kInteger:
          if (!d.GetVarint64(&v)) return bad("integer");
          out.batch.AddField(fname, FieldValue::Integer(ZigZagDecode(v)));
          break;
        case FieldType::kMoney:
          if (!d.GetVarint64(&v)) return bad("money");
          out.batch.AddMoney(fname, Money::FromUnits(ZigZagDecode(v)));
          break;
        case FieldType::kUnsigned:
          if (!d.GetVarint64(&v)) return bad("unsigned");
          out.batch.AddField(fname, FieldValue::Unsigned(v));
          break;
        case FieldType::kBoolean:
          if (!d.GetVarint64(&v) || v > 1) return bad("boolean");
          out.batch.AddBoolean(fname, v != 0);
          break;
        case FieldType::kString: {
          uint32_t s;
          if (!d.GetVarint32(&s) || s >= strings.size()) return bad("string");
          out.batch.AddString(fname, strings[s]);
          break;
        }
        default:
          return bad("field type");
      }
    }
  }
  if (!d.done()) return bad("trailing bytes");
  return out;
}

}  // namespace burnrate
