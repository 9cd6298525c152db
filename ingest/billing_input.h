#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Byte sources for billing files: plain files, gzip (one or several members), and the members
// of a zip archive (stored or deflate, zip64 aware), all read as forward-only streams with
// bounded memory. Parquet is recognised and refused with a clear message.

namespace burnrate {

// A forward-only stream of bytes. Not thread-safe; one reader at a time.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads up to n bytes into buf and returns how many; 0 only at the end of the stream.
  // Errors name the file (kInvalidArgument for corrupt compressed data, the errno-derived
  // code for I/O failures).
  [[nodiscard]] virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
  // Bytes consumed from the underlying (possibly compressed) source so far, for progress.
  virtual uint64_t source_bytes_consumed() const = 0;
};

// Bytes readable at any offset: a file or a buffer. Thread-compatible.
class RandomAccessBytes {
 public:
  virtual ~RandomAccessBytes() = default;
  // Reads up to n bytes at offset; fewer only at the end.
  [[nodiscard]] virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf,
                                                      size_t n) const = 0;
  virtual uint64_t size() const = 0;
  virtual const std::string& name() const = 0;
};

// Opens a file for reading at offsets. NotFound etc. from errno, naming the path. name, when
// given, is what name() and later messages call it (a spooled upload's client-side name).
[[nodiscard]] absl::StatusOr<std::shared_ptr<RandomAccessBytes>> OpenRandomAccessFile(
    const std::string& path, std::string name = "");
// A view of data, which must outlive the result.
std::shared_ptr<RandomAccessBytes> NewRandomAccessBuffer(std::string name, std::string_view data);

// Streams [offset, offset + length) of bytes.
std::unique_ptr<ByteStream> NewRangeStream(std::shared_ptr<RandomAccessBytes> bytes,
                                           uint64_t offset, uint64_t length);
// Decompresses a gzip stream (concatenated members are read one after another). name is
// used in error messages.
std::unique_ptr<ByteStream> NewGzipStream(std::unique_ptr<ByteStream> in, std::string name);
// Inflates raw deflate data (a zip member).
std::unique_ptr<ByteStream> NewRawInflateStream(std::unique_ptr<ByteStream> in, std::string name);

// How the bytes of an input are wrapped, judged by magic number (and .parquet by name).
enum class InputCompression : uint8_t { kNone, kGzip, kZip, kParquet };
InputCompression SniffCompression(std::string_view name, std::string_view first_bytes);

// One CSV document inside an input: a plain or gzip file, or one member of a zip.
struct CsvInput {
  // "path" or "path!member" for zip members; used in messages and as the export name stem.
  std::string name;
  // Size of the underlying (compressed) bytes, for progress.
  uint64_t source_bytes = 0;
  std::function<absl::StatusOr<std::unique_ptr<ByteStream>>()> open;
};

// The CSV documents of bytes named name: a plain or gzip file is one document; a zip holds
// one per member that is a file (directories and macOS resource forks are skipped).
// kInvalidArgument "Parquet input is not supported yet: NAME; export CSV" for Parquet, and
// for corrupt or encrypted zip archives.
[[nodiscard]] absl::StatusOr<std::vector<CsvInput>> ListCsvInputs(
    std::shared_ptr<RandomAccessBytes> bytes);

// Reads a whole (small) file, e.g. a manifest. Errors name the path.
[[nodiscard]] absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                                        size_t max_bytes = 64 << 20);

}  // namespace burnrate
