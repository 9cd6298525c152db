#include "storage/manifest.h"

#include "base/coding.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "storage/file_util.h"

namespace burnrate {
namespace {
constexpr uint32_t kManifestVersion = 1;
}  // namespace

std::string EncodeManifest(const Manifest& m) {
  std::string p;
  PutVarint32(&p, kManifestVersion);
  PutVarint64(&p, m.next_file_number);
  PutVarint64(&p, m.log_number);
  PutVarint64(&p, m.catalog_file_number);
  PutVarint64(&p, m.segments.size());
  for (const ManifestSegment& s : m.segments) {
    PutVarint64(&p, s.file_number);
    PutVarint32(&p, s.database_id);
    PutVarint64(&p, ZigZagEncode(s.partition_start));
    PutVarint64(&p, ZigZagEncode(s.partition_end));
    PutVarint64(&p, ZigZagEncode(s.min_time));
    PutVarint64(&p, ZigZagEncode(s.max_time));
    PutVarint64(&p, s.file_size);
    PutVarint64(&p, s.row_count);
    PutVarint32(&p, s.series_count);
    PutVarint64(&p, s.seq);
    PutVarint64(&p, s.source_id);
  }
  PutVarint64(&p, m.next_source_id);
  PutVarint64(&p, m.sources.size());
  for (const ManifestSource& s : m.sources) {
    PutVarint64(&p, s.id);
    PutVarint32(&p, s.database_id);
    PutLengthPrefixed(&p, s.key);
    PutVarint64(&p, s.points);
    PutVarint64(&p, ZigZagEncode(s.min_time));
    PutVarint64(&p, ZigZagEncode(s.max_time));
    PutVarint64(&p, ZigZagEncode(s.written_at));
  }
  return FrameChecksummed(std::string_view(kManifestMagic, 8), p);
}

absl::StatusOr<Manifest> DecodeManifest(const std::string& path, std::string contents) {
  BR_ASSIGN_OR_RETURN(std::string payload, UnframeChecksummed(std::string_view(kManifestMagic, 8),
                                                              path, std::move(contents)));
  Decoder d(payload);
  Manifest m;
  uint32_t version = 0;
  uint64_t n = 0;
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(
        StrCat(path, " at offset ", 16 + d.offset(), ": malformed manifest (", what, ")"));
  };
  if (!d.GetVarint32(&version) || version != kManifestVersion) return bad("version");
  if (!d.GetVarint64(&m.next_file_number) || !d.GetVarint64(&m.log_number) ||
      !d.GetVarint64(&m.catalog_file_number) || !d.GetVarint64(&n)) {
    return bad("header");
  }
  if (n > payload.size()) return bad("segment count");
  m.segments.resize(n);
  for (ManifestSegment& s : m.segments) {
    uint64_t ps, pe, mn, mx;
    if (!d.GetVarint64(&s.file_number) || !d.GetVarint32(&s.database_id) || !d.GetVarint64(&ps) ||
        !d.GetVarint64(&pe) || !d.GetVarint64(&mn) || !d.GetVarint64(&mx) ||
        !d.GetVarint64(&s.file_size) || !d.GetVarint64(&s.row_count) ||
        !d.GetVarint32(&s.series_count) || !d.GetVarint64(&s.seq) || !d.GetVarint64(&s.source_id)) {
      return bad("segment entry");
    }
    s.partition_start = ZigZagDecode(ps);
    s.partition_end = ZigZagDecode(pe);
    s.min_time = ZigZagDecode(mn);
    s.max_time = ZigZagDecode(mx);
    if (s.file_number >= m.next_file_number) return bad("segment file number");
  }
  if (!d.GetVarint64(&m.next_source_id) || !d.GetVarint64(&n) || n > payload.size()) {
    return bad("source count");
  }
  m.sources.resize(n);
  for (ManifestSource& s : m.sources) {
    std::string_view key;
    uint64_t mn, mx, at;
    if (!d.GetVarint64(&s.id) || !d.GetVarint32(&s.database_id) || !d.GetLengthPrefixed(&key) ||
        !d.GetVarint64(&s.points) || !d.GetVarint64(&mn) || !d.GetVarint64(&mx) ||
        !d.GetVarint64(&at) || s.id >= m.next_source_id) {
      return bad("source entry");
    }
    s.key = std::string(key);
    s.min_time = ZigZagDecode(mn);
    s.max_time = ZigZagDecode(mx);
    s.written_at = ZigZagDecode(at);
  }
  if (!d.done()) return bad("trailing bytes");
  return m;
}

}  // namespace burnrate
