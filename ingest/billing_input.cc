#include "ingest/billing_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "base/status_macros.h"
#include "base/str_cat.h"

namespace burnrate {
namespace {

constexpr size_t kInflateInputBytes = 256 * 1024;

absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  const std::string message = StrCat(what, " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EISDIR:
      return absl::InvalidArgumentError(message);
    default:
      return absl::UnavailableError(message);
  }
}

// A file read with pread; owns its descriptor. Thread-safe.
class FileBytes final : public RandomAccessBytes {
 public:
  FileBytes(int fd, uint64_t size, std::string name)
      : fd_(fd), size_(size), name_(std::move(name)) {}
  ~FileBytes() override { ::close(fd_); }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override {
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "read", name_);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  const int fd_;
  const uint64_t size_;
  const std::string name_;
};

// A borrowed buffer, which must outlive this object. Thread-safe.
class BufferBytes final : public RandomAccessBytes {
 public:
  BufferBytes(std::string name, std::string_view data) : name_(std::move(name)), data_(data) {}
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override {
    if (offset >= data_.size()) return 0;
    const size_t k = std::min<uint64_t>(n, data_.size() - offset);
    std::memcpy(buf, data_.data() + offset, k);
    return k;
  }
  uint64_t size() const override { return data_.size(); }
  const std::string& name() const override { return name_; }

 private:
  const std::string name_;
  const std::string_view data_;
};

// Streams a byte range of shared random-access bytes. Not thread-safe.
class RangeStream final : public ByteStream {
 public:
  RangeStream(std::shared_ptr<RandomAccessBytes> bytes, uint64_t offset, uint64_t length)
      : bytes_(std::move(bytes)), offset_(offset), remaining_(length) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
    if (want == 0) return 0;
    BR_ASSIGN_OR_RETURN(const size_t got, bytes_->ReadAt(offset_, buf, want));
    if (got == 0) {
      return absl::InvalidArgumentError(
          StrCat(bytes_->name(), ": unexpected end of file at byte ", offset_));
    }
    offset_ += got;
    remaining_ -= got;
    consumed_ += got;
    return got;
  }
  uint64_t source_bytes_consumed() const override { return consumed_; }

 private:
  std::shared_ptr<RandomAccessBytes> bytes_;
  uint64_t offset_;
  uint64_t remaining_;
  uint64_t consumed_ = 0;
};

// Inflates a gzip stream (windowBits 15 + 16) or raw deflate data (-15) read from the
// stream it owns. Not thread-safe.
class InflateStream final : public ByteStream {
 public:
  InflateStream(std::unique_ptr<ByteStream> in, std::string name, bool gzip)
      : in_(std::move(in)), name_(std::move(name)), gzip_(gzip), input_(kInflateInputBytes, '\0') {
    std::memset(&zs_, 0, sizeof zs_);
    init_status_ = inflateInit2(&zs_, gzip ? 15 + 16 : -15);
  }
  ~InflateStream() override {
    if (init_status_ == Z_OK) inflateEnd(&zs_);
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (init_status_ != Z_OK) return absl::InternalError("zlib inflateInit2 failed");
    if (done_ || n == 0) return 0;
    zs_.next_out = reinterpret_cast<Bytef*>(buf);
    zs_.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    while (zs_.avail_out > 0) {
      if (zs_.avail_in == 0) {
        BR_ASSIGN_OR_RETURN(const size_t got, in_->Read(input_.data(), input_.size()));
        if (got == 0) {
          if (member_started_) {
            return absl::InvalidArgumentError(
                StrCat(name_, ": truncated ", gzip_ ? "gzip" : "deflate", " data"));
          }
          done_ = true;
          break;
        }
        zs_.next_in = reinterpret_cast<Bytef*>(input_.data());
        zs_.avail_in = static_cast<uInt>(got);
      }
      if (!member_started_ && gzip_ && after_member_) {
        // Another gzip member follows, or trailing padding some tools append.
        if (zs_.next_in[0] != 0x1f) {
          done_ = true;
          break;
        }
        inflateReset(&zs_);
      }
      member_started_ = true;
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_started_ = false;
        after_member_ = true;
        if (!gzip_) {
          done_ = true;
          break;
        }
        continue;
      }
      if (rc == Z_BUF_ERROR && zs_.avail_in == 0) continue;
      if (rc != Z_OK) {
        return absl::InvalidArgumentError(StrCat(name_, ": corrupt ", gzip_ ? "gzip" : "deflate",
                                                 " data (", zs_.msg ? zs_.msg : "zlib error", ")"));
      }
    }
    return static_cast<size_t>(reinterpret_cast<char*>(zs_.next_out) - buf);
  }
  uint64_t source_bytes_consumed() const override { return in_->source_bytes_consumed(); }

 private:
  std::unique_ptr<ByteStream> in_;
  const std::string name_;
  const bool gzip_;
  std::string input_;
  z_stream zs_;
  int init_status_;
  bool member_started_ = false;
  bool after_member_ = false;
  bool done_ = false;
};

// Checks a zip member's CRC-32 and size once its data ends. Not thread-safe.
class CrcCheckingStream final : public ByteStream {
 public:
  CrcCheckingStream(std::unique_ptr<ByteStream> in, std::string name, uint32_t crc, uint64_t size)
      : in_(std::move(in)), name_(std::move(name)), expected_crc_(crc), expected_size_(size) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    BR_ASSIGN_OR_RETURN(const size_t got, in_->Read(buf, n));
    if (got > 0) {
      crc_ = crc32_z(crc_, reinterpret_cast<const Bytef*>(buf), got);
      size_ += got;
      return got;
    }
    if (size_ != expected_size_ || crc_ != expected_crc_) {
      return absl::InvalidArgumentError(
          StrCat(name_, ": zip member is corrupt (", size_, " bytes with CRC ", crc_, ", expected ",
                 expected_size_, " bytes with CRC ", expected_crc_, ")"));
    }
    return 0;
  }
  uint64_t source_bytes_consumed() const override { return in_->source_bytes_consumed(); }

 private:
  std::unique_ptr<ByteStream> in_;
  const std::string name_;
  const uint32_t expected_crc_;
  const uint64_t expected_size_;
  uint32_t crc_ = 0;
  uint64_t size_ = 0;
};

uint16_t Le16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | static_cast<uint8_t>(p[1]) << 8);
}
uint32_t Le32(const char* p) {
  return static_cast<uint32_t>(Le16(p)) | static_cast<uint32_t>(Le16(p + 2)) << 16;
}
uint64_t Le64(const char* p) {
  return static_cast<uint64_t>(Le32(p)) | static_cast<uint64_t>(Le32(p + 4)) << 32;
}

absl::Status ZipError(const RandomAccessBytes& bytes, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(bytes.name(), ": not a valid zip archive (", what, ")"));
}

absl::StatusOr<std::string> ReadExactly(const RandomAccessBytes& bytes, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  BR_ASSIGN_OR_RETURN(const size_t got, bytes.ReadAt(offset, out.data(), n));
  if (got != n) return ZipError(bytes, StrCat("truncated at byte ", offset + got));
  return out;
}

struct ZipMember {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0;
  uint64_t uncompressed = 0;
  uint64_t local_offset = 0;
};

absl::StatusOr<std::vector<ZipMember>> ReadZipDirectory(const RandomAccessBytes& bytes) {
  constexpr uint32_t kEocdSig = 0x06054b50;
  constexpr uint32_t kEocd64LocatorSig = 0x07064b50;
  constexpr uint32_t kEocd64Sig = 0x06064b50;
  constexpr uint32_t kCentralSig = 0x02014b50;
  const uint64_t size = bytes.size();
  if (size < 22) return ZipError(bytes, "too short");
  const uint64_t tail_len = std::min<uint64_t>(size, 22 + 65535);
  BR_ASSIGN_OR_RETURN(const std::string tail, ReadExactly(bytes, size - tail_len, tail_len));
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail_len) - 22; i >= 0; --i) {
    if (Le32(&tail[i]) == kEocdSig) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return ZipError(bytes, "no end of central directory record");
  const char* e = &tail[eocd];
  uint64_t entries = Le16(e + 10);
  uint64_t cd_size = Le32(e + 12);
  uint64_t cd_offset = Le32(e + 16);
  const uint64_t eocd_pos = size - tail_len + static_cast<uint64_t>(eocd);
  if ((entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) && eocd_pos >= 20) {
    BR_ASSIGN_OR_RETURN(const std::string loc, ReadExactly(bytes, eocd_pos - 20, 20));
    if (Le32(loc.data()) == kEocd64LocatorSig) {
      const uint64_t eocd64_pos = Le64(loc.data() + 8);
      BR_ASSIGN_OR_RETURN(const std::string e64, ReadExactly(bytes, eocd64_pos, 56));
      if (Le32(e64.data()) != kEocd64Sig) return ZipError(bytes, "bad zip64 end record");
      entries = Le64(e64.data() + 32);
      cd_size = Le64(e64.data() + 40);
      cd_offset = Le64(e64.data() + 48);
    }
  }
  if (cd_offset > size || cd_size > size - cd_offset) {
    return ZipError(bytes, "central directory out of range");
  }
  if (cd_size > (256u << 20)) return ZipError(bytes, "central directory larger than 256 MiB");
  BR_ASSIGN_OR_RETURN(const std::string cd, ReadExactly(bytes, cd_offset, cd_size));
  std::vector<ZipMember> members;
  size_t p = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    if (p + 46 > cd.size() || Le32(&cd[p]) != kCentralSig) {
      return ZipError(bytes, StrCat("bad central directory entry ", i));
    }
    ZipMember m;
    m.flags = Le16(&cd[p + 8]);
    m.method = Le16(&cd[p + 10]);
    m.crc = Le32(&cd[p + 16]);
    m.compressed = Le32(&cd[p + 20]);
    m.uncompressed = Le32(&cd[p + 24]);
    const size_t name_len = Le16(&cd[p + 28]);
    const size_t extra_len = Le16(&cd[p + 30]);
    const size_t comment_len = Le16(&cd[p + 32]);
    m.local_offset = Le32(&cd[p + 42]);
    if (p + 46 + name_len + extra_len + comment_len > cd.size()) {
      return ZipError(bytes, StrCat("central directory entry ", i, " overruns"));
    }
    m.name = cd.substr(p + 46, name_len);
    // Zip64 extended information: the 64-bit values of the fields saturated above, in order.
    size_t x = p + 46 + name_len;
    const size_t x_end = x + extra_len;
    while (x + 4 <= x_end) {
      const uint16_t id = Le16(&cd[x]);
      const size_t len = Le16(&cd[x + 2]);
      if (x + 4 + len > x_end) break;
      if (id == 0x0001) {
        size_t q = x + 4;
        const size_t q_end = q + len;
        auto take = [&](uint64_t* v) {
          if (*v == 0xFFFFFFFF && q + 8 <= q_end) {
            *v = Le64(&cd[q]);
            q += 8;
          }
        };
        take(&m.uncompressed);
        take(&m.compressed);
        take(&m.local_offset);
      }
      x += 4 + len;
    }
    p += 46 + name_len + extra_len + comment_len;
    members.push_back(std::move(m));
  }
  return members;
}

bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         absl::EqualsIgnoreCase(
             absl::string_view(s.data() + s.size() - suffix.size(), suffix.size()),
             absl::string_view(suffix.data(), suffix.size()));
}

absl::Status ParquetError(std::string_view name) {
  return absl::InvalidArgumentError(
      StrCat("Parquet input is not supported yet: ", name, "; export CSV"));
}

}  // namespace

absl::StatusOr<std::shared_ptr<RandomAccessBytes>> OpenRandomAccessFile(const std::string& path,
                                                                        std::string name) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "stat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(StrCat(path, " is a directory"));
  }
  return std::make_shared<FileBytes>(fd, static_cast<uint64_t>(st.st_size),
                                     name.empty() ? path : std::move(name));
}

std::shared_ptr<RandomAccessBytes> NewRandomAccessBuffer(std::string name, std::string_view data) {
  return std::make_shared<BufferBytes>(std::move(name), data);
}

std::unique_ptr<ByteStream> NewRangeStream(std::shared_ptr<RandomAccessBytes> bytes,
                                           uint64_t offset, uint64_t length) {
  return std::make_unique<RangeStream>(std::move(bytes), offset, length);
}

std::unique_ptr<ByteStream> NewGzipStream(std::unique_ptr<ByteStream> in, std::string name) {
  return std::make_unique<InflateStream>(std::move(in), std::move(name), /*gzip=*/true);
}

std::unique_ptr<ByteStream> NewRawInflateStream(std::unique_ptr<ByteStream> in, std::string name) {
  return std::make_unique<InflateStream>(std::move(in), std::move(name), /*gzip=*/false);
}

InputCompression SniffCompression(std::string_view name, std::string_view first_bytes) {
  if (first_bytes.size() >= 4 && first_bytes.substr(0, 4) == "PAR1") {
    return InputCompression::kParquet;
  }
  if (first_bytes.size() >= 2 && static_cast<uint8_t>(first_bytes[0]) == 0x1f &&
      static_cast<uint8_t>(first_bytes[1]) == 0x8b) {
    return InputCompression::kGzip;
  }
  if (first_bytes.size() >= 4 && first_bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
    return InputCompression::kZip;
  }
  if (first_bytes.size() >= 4 && first_bytes.substr(0, 4) == std::string_view("PK\x05\x06", 4)) {
    return InputCompression::kZip;  // an empty archive
  }
  if (EndsWithIgnoreCase(name, ".parquet") || EndsWithIgnoreCase(name, ".snappy.parquet")) {
    return InputCompression::kParquet;
  }
  return InputCompression::kNone;
}

absl::StatusOr<std::vector<CsvInput>> ListCsvInputs(std::shared_ptr<RandomAccessBytes> bytes) {
  char head[4] = {0, 0, 0, 0};
  BR_ASSIGN_OR_RETURN(const size_t n, bytes->ReadAt(0, head, sizeof head));
  const std::string name = bytes->name();
  const uint64_t size = bytes->size();
  std::vector<CsvInput> inputs;
  switch (SniffCompression(name, std::string_view(head, n))) {
    case InputCompression::kParquet:
      return ParquetError(name);
    case InputCompression::kNone:
      inputs.push_back(
          CsvInput{name, size, [bytes, size]() -> absl::StatusOr<std::unique_ptr<ByteStream>> {
                     return NewRangeStream(bytes, 0, size);
                   }});
      return inputs;
    case InputCompression::kGzip:
      inputs.push_back(CsvInput{
          name, size, [bytes, size, name]() -> absl::StatusOr<std::unique_ptr<ByteStream>> {
            return NewGzipStream(NewRangeStream(bytes, 0, size), name);
          }});
      return inputs;
    case InputCompression::kZip:
      break;
  }
  BR_ASSIGN_OR_RETURN(std::vector<ZipMember> members, ReadZipDirectory(*bytes));
  for (ZipMember& m : members) {
    if (m.name.empty() || m.name.back() == '/' || m.name.starts_with("__MACOSX/")) continue;
    const std::string member_name = StrCat(name, "!", m.name);
    if (EndsWithIgnoreCase(m.name, ".parquet")) return ParquetError(member_name);
    if ((m.flags & 1) != 0) {
      return absl::InvalidArgumentError(
          StrCat(member_name, ": encrypted zip members are not supported"));
    }
    if (m.method != 0 && m.method != 8) {
      return absl::InvalidArgumentError(StrCat(member_name, ": zip compression method ", m.method,
                                               " is not supported (stored and deflate are)"));
    }
    BR_ASSIGN_OR_RETURN(const std::string local, ReadExactly(*bytes, m.local_offset, 30));
    if (Le32(local.data()) != 0x04034b50) {
      return ZipError(*bytes, StrCat("bad local header for ", m.name));
    }
    const uint64_t data_offset = m.local_offset + 30 + Le16(&local[26]) + Le16(&local[28]);
    if (data_offset > size || m.compressed > size - data_offset) {
      return ZipError(*bytes, StrCat("member ", m.name, " out of range"));
    }
    const ZipMember member = m;
    inputs.push_back(CsvInput{
        member_name, m.compressed,
        [bytes, member, data_offset, member_name]() -> absl::StatusOr<std::unique_ptr<ByteStream>> {
          std::unique_ptr<ByteStream> raw = NewRangeStream(bytes, data_offset, member.compressed);
          if (member.method == 8) raw = NewRawInflateStream(std::move(raw), member_name);
          return std::unique_ptr<ByteStream>(std::make_unique<CrcCheckingStream>(
              std::move(raw), member_name, member.crc, member.uncompressed));
        }});
  }
  return inputs;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  BR_ASSIGN_OR_RETURN(std::shared_ptr<RandomAccessBytes> bytes, OpenRandomAccessFile(path));
  if (bytes->size() > max_bytes) {
    return absl::ResourceExhaustedError(StrCat(path, " is larger than ", max_bytes, " bytes"));
  }
  std::string out(bytes->size(), '\0');
  BR_ASSIGN_OR_RETURN(const size_t got, bytes->ReadAt(0, out.data(), out.size()));
  out.resize(got);
  return out;
}

}  // namespace burnrate
