#include "server/gzip.h"

#include <zlib.h>

#include <algorithm>

#include "base/str_cat.h"

namespace burnrate {
namespace {

// windowBits 15 with 16 added: gzip wrapper only (zlib's inflateInit2/deflateInit2 encoding).
constexpr int kGzipWindowBits = 15 + 16;

}  // namespace

absl::StatusOr<std::string> Gunzip(std::string_view compressed, size_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) {
    return absl::InternalError("gzip: inflateInit2 failed");
  }
  std::string out;
  out.resize(std::min<size_t>(std::max<size_t>(compressed.size() * 4, 4096), max_bytes + 1));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  size_t in_left = compressed.size();
  size_t produced = 0;
  absl::Status status;
  bool ended = false;
  while (true) {
    if (produced == out.size()) {
      if (out.size() > max_bytes) {
        status = absl::ResourceExhaustedError(
            StrCat("gzip body decompresses to more than ", max_bytes, " bytes"));
        break;
      }
      out.resize(std::min<size_t>(out.size() * 2, max_bytes + 1));
    }
    const uInt in_chunk = static_cast<uInt>(std::min<size_t>(in_left, 1u << 30));
    const uInt out_chunk = static_cast<uInt>(std::min<size_t>(out.size() - produced, 1u << 30));
    zs.avail_in = in_chunk;
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = out_chunk;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    produced += out_chunk - zs.avail_out;
    if (rc == Z_STREAM_END) {
      ended = true;
      if (in_left == 0) break;
      // Another member follows.
      if (inflateReset(&zs) != Z_OK) {
        status = absl::InternalError("gzip: inflateReset failed");
        break;
      }
      ended = false;
      continue;
    }
    if (rc == Z_BUF_ERROR && in_left == 0 && zs.avail_out != 0) break;  // truncated input
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = absl::InvalidArgumentError(
          StrCat("invalid gzip body: ", zs.msg != nullptr ? zs.msg : "corrupt stream"));
      break;
    }
  }
  inflateEnd(&zs);
  if (!status.ok()) return status;
  if (!ended) return absl::InvalidArgumentError("invalid gzip body: truncated stream");
  if (produced > max_bytes) {
    return absl::ResourceExhaustedError(
        StrCat("gzip body decompresses to more than ", max_bytes, " bytes"));
  }
  out.resize(produced);
  return out;
}

std::string Gzip(std::string_view data) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace burnrate
