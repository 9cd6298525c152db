#pragma once

// Helpers for the billing import tests. They deliberately share no code with ingest/: the
// CSV walk, decimal arithmetic and date handling here are independent reimplementations,
// so that a test comparing the importer's output with them checks the importer.

#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "burnrate/db.h"
#include "burnrate/file_system.h"
#include "burnrate/scan.h"
#include "gtest/gtest.h"
#include "tests/testing/forwarding_file_system.h"

namespace burnrate::billing_test {

inline constexpr int64_t kHourNs = 3600LL * 1'000'000'000;
inline constexpr int64_t kDayNs = 24 * kHourNs;

// Forwards to the default file system but never syncs: for tests that check what an import
// stores, not its durability, on machines where fsync is slow. Thread-safe.
class NoSyncFileSystem final : public testing::ForwardingFileSystem {
 public:
  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override {
    auto f = base()->NewWritableFile(path);
    if (!f.ok()) return f.status();
    return std::unique_ptr<WritableFile>(new NoSyncFile(std::move(*f)));
  }
  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    auto f = base()->NewAppendableFile(path);
    if (!f.ok()) return f.status();
    return std::unique_ptr<WritableFile>(new NoSyncFile(std::move(*f)));
  }
  [[nodiscard]] absl::Status SyncDir(const std::string&) override { return absl::OkStatus(); }

  // One instance for the whole test binary; never destroyed, as FileSystem::Default().
  static NoSyncFileSystem* Get() {
    static auto* fs = new NoSyncFileSystem;
    return fs;
  }

 private:
  class NoSyncFile final : public WritableFile {
   public:
    explicit NoSyncFile(std::unique_ptr<WritableFile> f) : f_(std::move(f)) {}
    [[nodiscard]] absl::Status Append(std::string_view data) override { return f_->Append(data); }
    [[nodiscard]] absl::Status Sync() override { return absl::OkStatus(); }
    [[nodiscard]] absl::Status Close() override { return f_->Close(); }
    uint64_t Size() const override { return f_->Size(); }

   private:
    std::unique_ptr<WritableFile> f_;
  };
};

inline std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFileOrDie(const std::string& path, std::string_view data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

// gzip (windowBits 15 + 16) or raw deflate (-15) of data.
inline std::string Deflate(std::string_view data, bool gzip) {
  z_stream zs = {};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, gzip ? 15 + 16 : -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline std::string Gunzip(std::string_view data) {
  z_stream zs = {};
  EXPECT_EQ(inflateInit2(&zs, 15 + 32), Z_OK);
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  char buf[1 << 16];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc == Z_OK);
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

// A zip archive of (name, data, deflate?) members, written the plain (non-zip64) way.
inline std::string MakeZip(const std::vector<std::tuple<std::string, std::string, bool>>& members) {
  auto le16 = [](std::string* s, uint16_t v) {
    s->push_back(static_cast<char>(v & 0xff));
    s->push_back(static_cast<char>(v >> 8));
  };
  auto le32 = [&](std::string* s, uint32_t v) {
    le16(s, static_cast<uint16_t>(v & 0xffff));
    le16(s, static_cast<uint16_t>(v >> 16));
  };
  std::string out, central;
  for (const auto& [name, data, deflate] : members) {
    const std::string body = deflate ? Deflate(data, /*gzip=*/false) : data;
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    le32(&out, 0x04034b50);
    le16(&out, 20);
    le16(&out, 0);
    le16(&out, deflate ? 8 : 0);
    le16(&out, 0);
    le16(&out, 0);
    le32(&out, crc);
    le32(&out, static_cast<uint32_t>(body.size()));
    le32(&out, static_cast<uint32_t>(data.size()));
    le16(&out, static_cast<uint16_t>(name.size()));
    le16(&out, 0);
    out += name;
    out += body;
    le32(&central, 0x02014b50);
    le16(&central, 20);
    le16(&central, 20);
    le16(&central, 0);
    le16(&central, deflate ? 8 : 0);
    le16(&central, 0);
    le16(&central, 0);
    le32(&central, crc);
    le32(&central, static_cast<uint32_t>(body.size()));
    le32(&central, static_cast<uint32_t>(data.size()));
    le16(&central, static_cast<uint16_t>(name.size()));
    le16(&central, 0);
    le16(&central, 0);
    le16(&central, 0);
    le16(&central, 0);
    le32(&central, 0);
    le32(&central, offset);
    central += name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  le32(&out, 0x06054b50);
  le16(&out, 0);
  le16(&out, 0);
  le16(&out, static_cast<uint16_t>(members.size()));
  le16(&out, static_cast<uint16_t>(members.size()));
  le32(&out, static_cast<uint32_t>(central.size()));
  le32(&out, cd_offset);
  le16(&out, 0);
  return out;
}

// A whole CSV document as rows of fields: quotes, doubled quotes, embedded newlines, CRLF,
// a leading BOM; blank lines dropped. Written for the tests only.
inline std::vector<std::vector<std::string>> ParseCsvSimple(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool in_quotes = false, quoted = false;
  auto end_row = [&] {
    row.push_back(field);
    if (!(row.size() == 1 && row[0].empty() && !quoted)) rows.push_back(row);
    row.clear();
    field.clear();
    quoted = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      in_quotes = true;
      quoted = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
    } else if (c == '\n') {
      if (!field.empty() && field.back() == '\r') field.pop_back();
      end_row();
    } else {
      field.push_back(c);
    }
  }
  if (!field.empty() || !row.empty()) end_row();
  return rows;
}

// Decimal text to units of 1e-10 with round-half-even, accepting "$1,234.5", spaces and
// E notation. nullopt for empty (or NULL) text; fails the test for anything else.
inline std::optional<__int128> DecimalUnits(std::string text) {
  std::string t;
  for (char c : text) {
    if (c != ' ' && c != '$' && c != ',') t.push_back(c);
  }
  if (t.empty() || t == "NULL" || t == "null") return std::nullopt;
  size_t i = 0;
  bool neg = false;
  if (t[i] == '-' || t[i] == '+') neg = t[i++] == '-';
  std::string digits;
  int64_t exp10 = 0;
  bool seen_point = false;
  for (; i < t.size() && t[i] != 'e' && t[i] != 'E'; ++i) {
    if (t[i] == '.') {
      seen_point = true;
    } else {
      EXPECT_TRUE(t[i] >= '0' && t[i] <= '9') << text;
      digits.push_back(t[i]);
      if (seen_point) --exp10;
    }
  }
  if (i < t.size()) exp10 += std::stoll(t.substr(i + 1));
  // value = digits * 10^exp10; units = digits * 10^(exp10 + 10).
  const int64_t shift = exp10 + 10;
  __int128 units = 0;
  if (shift >= 0) {
    for (char d : digits) units = units * 10 + (d - '0');
    for (int64_t k = 0; k < shift; ++k) units *= 10;
  } else {
    const size_t drop = static_cast<size_t>(-shift);
    const size_t keep = digits.size() > drop ? digits.size() - drop : 0;
    for (size_t k = 0; k < keep; ++k) units = units * 10 + (digits[k] - '0');
    // Dropped digits decide the rounding: compare them with one half.
    const std::string dropped = digits.size() >= drop
                                    ? digits.substr(keep)
                                    : std::string(drop - digits.size(), '0') + digits;
    const std::string half = "5" + std::string(dropped.size() - 1, '0');
    const int cmp = dropped.compare(half);
    if (cmp > 0 || (cmp == 0 && (units % 2) == 1)) ++units;
  }
  return neg ? -units : units;
}

inline std::string UnitsText(__int128 u) {
  const bool neg = u < 0;
  if (neg) u = -u;
  std::string whole;
  __int128 w = u / 10'000'000'000LL;
  do {
    whole.insert(whole.begin(), static_cast<char>('0' + static_cast<int>(w % 10)));
    w /= 10;
  } while (w != 0);
  std::string frac = std::to_string(static_cast<int64_t>(u % 10'000'000'000LL));
  frac = std::string(10 - frac.size(), '0') + frac;
  return (neg ? "-" : "") + whole + "." + frac;
}

// Times as the sample files write them, parsed with std::chrono; nullopt when invalid.
inline std::optional<int64_t> ParseTimeSimple(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.find('/') != std::string::npos) {
    if (std::sscanf(s.c_str(), "%d/%d/%d", &mo, &d, &y) != 3) return std::nullopt;
    if (y < 100) y += 2000;
  } else if (s.size() >= 10 && s[4] == '-') {
    y = std::stoi(s.substr(0, 4));
    mo = std::stoi(s.substr(5, 2));
    d = std::stoi(s.substr(8, 2));
    if (s.size() >= 16) {
      h = std::stoi(s.substr(11, 2));
      mi = std::stoi(s.substr(14, 2));
      if (s.size() >= 19 && s[16] == ':') sec = std::stoi(s.substr(17, 2));
    }
  } else {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const int64_t days = sys_days(ymd).time_since_epoch().count();
  return ((days * 24 + h) * 60 + mi) * 60 * 1'000'000'000LL + sec * 1'000'000'000LL;
}

// (billing_account, account, currency, day index)
using DayKey = std::tuple<std::string, std::string, std::string, int64_t>;
struct Amounts {
  __int128 billed = 0;
  __int128 effective = 0;
  friend bool operator==(const Amounts&, const Amounts&) = default;
};

inline int64_t FloorDivTest(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Adds one row's amounts to the days its charge period overlaps: the part of day d is
// trunc(C * (min(end, d_end) - start) / T) - trunc(C * (max(start, d_start) - start) / T),
// the day-level telescoping of the hourly split the importer documents.
inline void AddRowToDays(const std::string& billing_account, const std::string& account,
                         const std::string& currency, int64_t start, int64_t end,
                         std::optional<__int128> billed, std::optional<__int128> effective,
                         std::map<DayKey, Amounts>* out) {
  const int64_t first_hour = FloorDivTest(start, kHourNs) * kHourNs;
  if (end <= first_hour + kHourNs) {
    Amounts& a =
        (*out)[DayKey{billing_account, account, currency, FloorDivTest(first_hour, kDayNs)}];
    a.billed += billed.value_or(0);
    a.effective += effective.value_or(0);
    return;
  }
  const int64_t total = end - start;
  for (int64_t day = FloorDivTest(start, kDayNs); day * kDayNs < end; ++day) {
    const int64_t lo = std::max(start, day * kDayNs) - start;
    const int64_t hi = std::min(end, (day + 1) * kDayNs) - start;
    Amounts& a = (*out)[DayKey{billing_account, account, currency, day}];
    if (billed) a.billed += *billed * hi / total - *billed * lo / total;
    if (effective) a.effective += *effective * hi / total - *effective * lo / total;
  }
}

// The same sums read back from the database's billing measurement.
inline std::map<DayKey, Amounts> DayTotalsFromDb(Db* db, const std::string& database) {
  std::map<DayKey, Amounts> out;
  ScanRequest req;
  req.database = database;
  req.measurement = "billing";
  req.fields = {"billed_cost", "effective_cost"};
  const absl::Status s = db->Scan(req, [&](const ScanBatch& b) -> absl::Status {
    std::string billing_account, account, currency;
    for (const TagView& t : b.tags) {
      if (t.key == "billing_account") billing_account = t.value;
      if (t.key == "account") account = t.value;
      if (t.key == "currency") currency = t.value;
    }
    for (size_t r = 0; r < b.rows(); ++r) {
      Amounts& a =
          out[DayKey{billing_account, account, currency, FloorDivTest(b.times[r], kDayNs)}];
      if (b.columns[0].IsValid(r)) a.billed += b.columns[0].ints[r];
      if (b.columns[1].IsValid(r)) a.effective += b.columns[1].ints[r];
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

inline std::string DescribeDay(const DayKey& k, const Amounts& a) {
  return std::get<0>(k) + " / " + std::get<1>(k) + " / " + std::get<2>(k) + " / day " +
         std::to_string(std::get<3>(k)) + ": billed " + UnitsText(a.billed) + ", effective " +
         UnitsText(a.effective);
}

}  // namespace burnrate::billing_test
