#include "storage/wal.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/status_macros.h"

// XXH3_state_t is only complete with XXH_STATIC_LINKING_ONLY; a stack state saves a malloc
// per record.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

// Byte layout and reader rules: docs/format/wal.md.

namespace burnrate {
namespace {

constexpr char kMagic[8] = {'B', 'R', 'W', 'A', 'L', '0', '0', '1'};
constexpr uint32_t kFormatVersion = 1;
// Reads of at most this size keep recovery to a few syscalls per chunk of records.
constexpr size_t kReadChunk = size_t{4} << 20;
// A larger record buffer is released after use rather than kept for the writer's lifetime.
constexpr size_t kKeptRecordBuffer = size_t{4} << 20;
// Bytes hashed by ClassifyOverlongTail, per byte of the tail with a floor, in its two
// passes.
constexpr uint64_t kChainedCandidateBudgetPerByte = 64;
constexpr uint64_t kChainedCandidateBudgetMin = uint64_t{1} << 30;
constexpr uint64_t kOtherCandidateBudgetPerByte = 4;
constexpr uint64_t kOtherCandidateBudgetMin = uint64_t{64} << 20;

std::string EncodeFileHeader() {
  std::string header(kMagic, sizeof(kMagic));
  PutFixed32(&header, kFormatVersion);
  PutFixed32(&header, XXH32(header.data(), header.size(), 0));
  return header;
}

// XXH3_64bits over the 4 length bytes followed by the payload.
uint64_t RecordChecksum(const char* length_bytes, const char* payload, size_t n) {
  XXH3_state_t state;
  XXH3_INITSTATE(&state);
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, length_bytes, 4);
  XXH3_64bits_update(&state, payload, n);
  return XXH3_64bits_digest(&state);
}

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// Sequential reads of one file through a buffer of at least kReadChunk bytes, so that a
// log of small records costs one read per chunk rather than one per record. Not
// thread-safe.
class ChunkedReader {
 public:
  ChunkedReader(const RandomAccessFile* file, const std::string& path, uint64_t file_size)
      : file_(file), path_(path), file_size_(file_size) {}

  // Points *out at the n bytes at offset (offset + n <= file size). *out is valid until the
  // next call.
  [[nodiscard]] absl::Status Get(uint64_t offset, size_t n, const char** out) {
    const uint64_t buffered_end = buf_offset_ + buf_len_;
    if (offset >= buf_offset_ && offset + n <= buffered_end) {
      *out = buf_.get() + (offset - buf_offset_);
      return absl::OkStatus();
    }
    size_t kept = 0;
    if (offset >= buf_offset_ && offset < buffered_end) {
      kept = static_cast<size_t>(buffered_end - offset);
    }
    const size_t want = std::max<size_t>(
        n, static_cast<size_t>(std::min<uint64_t>(kReadChunk, file_size_ - offset)));
    if (want > capacity_) {
      const size_t capacity = std::max(want, kReadChunk);
      std::unique_ptr<char[]> bigger(new char[capacity]);
      if (kept > 0) std::memcpy(bigger.get(), buf_.get() + (offset - buf_offset_), kept);
      buf_ = std::move(bigger);
      capacity_ = capacity;
    } else if (kept > 0) {
      std::memmove(buf_.get(), buf_.get() + (offset - buf_offset_), kept);
    }
    buf_offset_ = offset;
    buf_len_ = kept;
    while (buf_len_ < want) {
      char* dst = buf_.get() + buf_len_;
      const size_t len = want - buf_len_;
      std::string_view got;
      BR_RETURN_IF_ERROR(file_->Read(offset + buf_len_, len, dst, &got));
      if (got.empty()) {
        // Only another process truncating the file can cause this; it is not damage.
        return absl::AbortedError(absl::StrCat(path_, ": shrank below its size of ", file_size_,
                                               " bytes while being read"));
      }
      if (got.data() != dst) std::memmove(dst, got.data(), std::min(got.size(), len));
      buf_len_ += std::min(got.size(), len);
    }
    *out = buf_.get();
    return absl::OkStatus();
  }

  // Whether every byte from offset to end of file is zero.
  [[nodiscard]] absl::Status IsZeroToEnd(uint64_t offset, bool* zero) {
    while (offset < file_size_) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, file_size_ - offset));
      const char* p;
      BR_RETURN_IF_ERROR(Get(offset, n, &p));
      if (!AllZero(p, n)) {
        *zero = false;
        return absl::OkStatus();
      }
      offset += n;
    }
    *zero = true;
    return absl::OkStatus();
  }

 private:
  const RandomAccessFile* file_;
  const std::string& path_;
  const uint64_t file_size_;
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  // buf_[0, buf_len_) holds the file's bytes [buf_offset_, buf_offset_ + buf_len_).
  uint64_t buf_offset_ = 0;
  size_t buf_len_ = 0;
};

enum class OverlongTail {
  kTorn,               // A crash cut the last append short.
  kGoodRecordFollows,  // The length is damaged: a good record starts after it.
  kUndecided,          // The hashing budget ran out before every candidate was checked.
};

// Classifies tail, the n bytes from the start of a record whose length runs past end of
// file to end of file. A crash only cuts the last append short and records are appended in
// order, so a complete record with a good checksum inside tail means the length is
// damaged. Any offset could start such a record; only a checksum settles it, and hashing
// every candidate costs up to n^2, so candidates are taken in two passes:
//   1. those whose chain of record lengths reaches end of file, a torn record header or a
//      zero-filled tail: the shape of the rest of the file when the length at 0 is the only
//      damage. Few offsets qualify. Running out of budget here is kUndecided.
//   2. the rest (damage in more than one place), while a smaller budget lasts; then kTorn.
OverlongTail ClassifyOverlongTail(const char* tail, size_t n) {
  size_t zero_from = n;
  while (zero_from > 0 && tail[zero_from - 1] == 0) --zero_from;
  auto fitting_length = [&](size_t p) -> uint32_t {
    if (n - p < kWalRecordHeaderSize || p >= zero_from) return 0;
    const uint32_t length = DecodeFixed32(tail + p);
    if (length == 0 || length > kWalMaxRecordPayload || length > n - p - kWalRecordHeaderSize) {
      return 0;
    }
    return length;
  };
  // ends_cleanly[p], for p in [0, n], computed from the end so each offset costs O(1).
  std::vector<bool> ends_cleanly(n + 1);
  for (size_t p = n + 1; p-- > 0;) {
    if (n - p < kWalRecordHeaderSize || p >= zero_from) {
      ends_cleanly[p] = true;
    } else if (const uint32_t length = fitting_length(p); length != 0) {
      ends_cleanly[p] = ends_cleanly[p + kWalRecordHeaderSize + length];
    }
  }
  auto good_record_at = [&](size_t p, uint32_t length) {
    return RecordChecksum(tail + p, tail + p + kWalRecordHeaderSize, length) ==
           DecodeFixed64(tail + p + 4);
  };
  // The next record starts after a header and at least one payload byte.
  constexpr size_t kFirstCandidate = kWalRecordHeaderSize + 1;
  uint64_t budget =
      std::max<uint64_t>(kChainedCandidateBudgetMin, kChainedCandidateBudgetPerByte * uint64_t{n});
  for (size_t p = kFirstCandidate; p < n; ++p) {
    const uint32_t length = fitting_length(p);
    if (length == 0 || !ends_cleanly[p]) continue;
    if (length > budget) return OverlongTail::kUndecided;
    budget -= length;
    if (good_record_at(p, length)) return OverlongTail::kGoodRecordFollows;
  }
  budget = std::max<uint64_t>(kOtherCandidateBudgetMin, kOtherCandidateBudgetPerByte * uint64_t{n});
  for (size_t p = kFirstCandidate; p < n; ++p) {
    const uint32_t length = fitting_length(p);
    if (length == 0 || ends_cleanly[p]) continue;
    if (length > budget) return OverlongTail::kTorn;
    budget -= length;
    if (good_record_at(p, length)) return OverlongTail::kGoodRecordFollows;
  }
  return OverlongTail::kTorn;
}

}  // namespace

WalWriter::WalWriter(std::unique_ptr<WritableFile> file) : file_(std::move(file)) {}

WalWriter::~WalWriter() {
  if (!closed_) file_->Close().IgnoreError();
}

absl::StatusOr<std::unique_ptr<WalWriter>> WalWriter::Create(FileSystem* fs,
                                                             const std::string& path) {
  BR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs->NewWritableFile(path));
  std::unique_ptr<WalWriter> writer(new WalWriter(std::move(file)));
  BR_RETURN_IF_ERROR(writer->Append(EncodeFileHeader()));
  return writer;
}

absl::StatusOr<std::unique_ptr<WalWriter>> WalWriter::OpenForAppend(FileSystem* fs,
                                                                    const std::string& path) {
  BR_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs->NewAppendableFile(path));
  const uint64_t size = file->Size();
  if (size > 0 && size < kWalFileHeaderSize) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": holds ", size, " bytes, part of a WAL header; truncate it to 0 ",
                     "before appending"));
  }
  if (size >= kWalFileHeaderSize) {
    BR_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> reader, fs->NewRandomAccessFile(path));
    char scratch[kWalFileHeaderSize];
    std::string_view header;
    BR_RETURN_IF_ERROR(reader->Read(0, kWalFileHeaderSize, scratch, &header));
    if (header != EncodeFileHeader()) {
      return absl::DataLossError(absl::StrCat(path, " at offset 0: bad WAL file header"));
    }
  }
  std::unique_ptr<WalWriter> writer(new WalWriter(std::move(file)));
  if (size == 0) BR_RETURN_IF_ERROR(writer->Append(EncodeFileHeader()));
  return writer;
}

absl::Status WalWriter::Append(std::string_view bytes) {
  if (closed_) return absl::FailedPreconditionError("WAL writer is closed");
  if (!status_.ok()) return status_;
  status_ = file_->Append(bytes);
  return status_;
}

absl::Status WalWriter::AddRecord(std::string_view payload) {
  if (payload.empty()) return absl::InvalidArgumentError("empty WAL record payload");
  if (payload.size() > kWalMaxRecordPayload) {
    return absl::ResourceExhaustedError(absl::StrCat("WAL record payload of ", payload.size(),
                                                     " bytes exceeds the limit of ",
                                                     kWalMaxRecordPayload));
  }
  record_.clear();
  PutFixed32(&record_, static_cast<uint32_t>(payload.size()));
  PutFixed64(&record_, RecordChecksum(record_.data(), payload.data(), payload.size()));
  record_.append(payload.data(), payload.size());
  absl::Status s = Append(record_);
  if (record_.capacity() > kKeptRecordBuffer) std::string().swap(record_);
  return s;
}

absl::Status WalWriter::Sync() {
  if (closed_) return absl::FailedPreconditionError("WAL writer is closed");
  if (!status_.ok()) return status_;
  status_ = file_->Sync();
  return status_;
}

absl::Status WalWriter::Close() {
  if (closed_) return absl::FailedPreconditionError("WAL writer is closed");
  closed_ = true;
  return file_->Close();
}

uint64_t WalWriter::size() const { return file_->Size(); }

absl::Status ReadWal(
    FileSystem* fs, const std::string& path,
    const std::function<absl::Status(std::string_view payload, uint64_t offset)>& on_record,
    WalReadResult* result) {
  *result = WalReadResult();
  BR_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, fs->NewRandomAccessFile(path));
  const uint64_t file_size = file->Size();
  result->file_size = file_size;
  auto corrupt = [&](uint64_t offset, const std::string& reason) {
    result->corrupt = true;
    result->corrupt_offset = offset;
    result->valid_end = offset;
    return absl::DataLossError(absl::StrCat(path, " at offset ", offset, ": ", reason));
  };
  auto torn = [&](uint64_t offset) {
    result->torn_tail = true;
    result->valid_end = offset;
    return absl::OkStatus();
  };
  if (file_size == 0) return absl::OkStatus();

  ChunkedReader reader(file.get(), path, file_size);
  const std::string expected_header = EncodeFileHeader();
  const char* p;
  if (file_size < kWalFileHeaderSize) {
    const size_t n = static_cast<size_t>(file_size);
    BR_RETURN_IF_ERROR(reader.Get(0, n, &p));
    if (std::memcmp(p, expected_header.data(), n) == 0 || AllZero(p, n)) return torn(0);
    return corrupt(0, absl::StrCat("file of ", n, " bytes is shorter than a WAL header"));
  }
  BR_RETURN_IF_ERROR(reader.Get(0, kWalFileHeaderSize, &p));
  if (std::memcmp(p, expected_header.data(), kWalFileHeaderSize) != 0) {
    bool zero = false;
    BR_RETURN_IF_ERROR(reader.IsZeroToEnd(0, &zero));
    if (zero) return torn(0);
    if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) return corrupt(0, "bad WAL magic");
    if (DecodeFixed32(p + 12) != XXH32(p, 12, 0)) {
      return corrupt(0, "WAL header checksum mismatch");
    }
    return corrupt(0, absl::StrCat("unsupported WAL format version ", DecodeFixed32(p + 8)));
  }

  uint64_t pos = kWalFileHeaderSize;
  result->valid_end = pos;
  while (pos < file_size) {
    const uint64_t remaining = file_size - pos;
    if (remaining < kWalRecordHeaderSize) return torn(pos);
    BR_RETURN_IF_ERROR(reader.Get(pos, kWalRecordHeaderSize, &p));
    const uint32_t length = DecodeFixed32(p);
    const uint64_t checksum = DecodeFixed64(p + 4);
    if (length == 0) {
      bool zero = false;
      BR_RETURN_IF_ERROR(reader.IsZeroToEnd(pos, &zero));
      if (zero) return torn(pos);
      return corrupt(pos, "WAL record of length 0 followed by non-zero bytes");
    }
    if (length > kWalMaxRecordPayload) {
      return corrupt(pos, absl::StrCat("WAL record length ", length, " exceeds the limit of ",
                                       kWalMaxRecordPayload));
    }
    if (kWalRecordHeaderSize + length > remaining) {
      // remaining < 12 + 2^30, so the whole tail fits in memory.
      const size_t n = static_cast<size_t>(remaining);
      BR_RETURN_IF_ERROR(reader.Get(pos, n, &p));
      switch (ClassifyOverlongTail(p, n)) {
        case OverlongTail::kTorn:
          break;
        case OverlongTail::kGoodRecordFollows:
          return corrupt(pos, "WAL record length runs past end of file, but good records follow");
        case OverlongTail::kUndecided:
          return corrupt(pos,
                         "WAL record length runs past end of file, and the bytes after it could "
                         "not be ruled out as records");
      }
      return torn(pos);
    }
    const size_t record_size = static_cast<size_t>(kWalRecordHeaderSize + length);
    BR_RETURN_IF_ERROR(reader.Get(pos, record_size, &p));
    const char* payload = p + kWalRecordHeaderSize;
    if (RecordChecksum(p, payload, length) != checksum) {
      return corrupt(pos, "checksum mismatch in WAL record");
    }
    BR_RETURN_IF_ERROR(on_record(std::string_view(payload, length), pos));
    pos += record_size;
    ++result->records;
    result->valid_end = pos;
  }
  return absl::OkStatus();
}

}  // namespace burnrate
