#include "storage/segment.h"

#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "base/coding.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "storage/column_encoding.h"
#include "storage/file_util.h"
#include "storage/segment_footer_generated.h"

namespace burnrate {
namespace {

// File layout (docs/format/segment.md): header magic, chunks, footer, trailer.
constexpr std::string_view kMagic = "BRSEG001";
constexpr std::string_view kEndMagic = "BRSEGEND";
constexpr uint64_t kHeaderSize = 8;
constexpr uint64_t kTrailerSize = 4 + 8 + 8;  // footer size, footer checksum, end magic
constexpr uint32_t kFormatVersion = 2;

constexpr uint32_t kMaxBlockRows = 1u << 20;
// Largest chunk body (everything after the chunk header, before compression).
constexpr uint64_t kMaxChunkBody = 1u << 30;
// Smallest possible stored chunk: encoding byte, compression byte, one-byte varint.
constexpr uint32_t kMinChunkSize = 3;

constexpr uint8_t kCompressionNone = 0;
constexpr uint8_t kCompressionZstd = 1;
// Bodies shorter than this are stored uncompressed: a zstd frame header alone is ~10 bytes.
constexpr size_t kMinCompressBytes = 64;

constexpr size_t kWriteBufferBytes = 1 << 20;

bool IsFieldType(uint8_t t) {
  return t >= static_cast<uint8_t>(FieldType::kFloat) &&
         t <= static_cast<uint8_t>(FieldType::kMoney);
}

// Rows held by a column: the length of the value vector its type uses.
size_t ValueRows(const ScanColumn& c) {
  switch (c.type) {
    case FieldType::kFloat:
      return c.floats.size();
    case FieldType::kString:
      return c.strings.size();
    default:
      return c.ints.size();
  }
}

// Upper bound of a chunk body for `rows` rows of `type`: every int64/double encoding
// needs at most ~9.1 bytes per value, plus the validity bitmap.
uint64_t MaxBodySize(FieldType type, uint64_t rows) {
  if (type == FieldType::kString) return kMaxChunkBody;
  return 64 + rows * 10 + (rows + 7) / 8;
}

// Footer statistics of one chunk (see segment_footer.fbs, ChunkEntry).
struct Stats {
  uint64_t min_bits = 0;
  uint64_t max_bits = 0;
  uint64_t sum_lo = 0;
  int64_t sum_hi = 0;
  friend bool operator==(const Stats&, const Stats&) = default;
};

Stats FromInt128(uint64_t min_bits, uint64_t max_bits, __int128 sum) {
  Stats s;
  s.min_bits = min_bits;
  s.max_bits = max_bits;
  s.sum_lo = static_cast<uint64_t>(sum);
  s.sum_hi = static_cast<int64_t>(sum >> 64);
  return s;
}

// Statistics of the valid rows [begin, end) of c (which must hold at least one).
Stats ComputeStats(const ScanColumn& c, size_t begin, size_t end) {
  const bool all_valid = c.valid.empty();
  auto valid = [&](size_t r) { return all_valid || c.valid[r] != 0; };
  switch (c.type) {
    case FieldType::kFloat: {
      double min = std::numeric_limits<double>::infinity();
      double max = -min;
      double sum = 0;
      for (size_t r = begin; r < end; ++r) {
        const double v = c.floats[r];
        if (!valid(r) || std::isnan(v)) continue;
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v;
      }
      Stats s;
      s.min_bits = std::bit_cast<uint64_t>(min);
      s.max_bits = std::bit_cast<uint64_t>(max);
      s.sum_lo = std::bit_cast<uint64_t>(sum);
      return s;
    }
    case FieldType::kString:
      return Stats{};
    case FieldType::kUnsigned: {
      uint64_t min = std::numeric_limits<uint64_t>::max();
      uint64_t max = 0;
      unsigned __int128 sum = 0;
      for (size_t r = begin; r < end; ++r) {
        if (!valid(r)) continue;
        const auto v = static_cast<uint64_t>(c.ints[r]);
        min = std::min(min, v);
        max = std::max(max, v);
        sum += v;
      }
      return FromInt128(min, max, static_cast<__int128>(sum));
    }
    case FieldType::kBoolean: {
      int64_t ones = 0;
      int64_t count = 0;
      for (size_t r = begin; r < end; ++r) {
        if (!valid(r)) continue;
        ones += c.ints[r] != 0 ? 1 : 0;
        ++count;
      }
      return FromInt128(ones == count ? 1 : 0, ones > 0 ? 1 : 0, ones);
    }
    case FieldType::kInteger:
    case FieldType::kMoney: {
      int64_t min = std::numeric_limits<int64_t>::max();
      int64_t max = std::numeric_limits<int64_t>::min();
      __int128 sum = 0;
      for (size_t r = begin; r < end; ++r) {
        if (!valid(r)) continue;
        const int64_t v = c.ints[r];
        min = std::min(min, v);
        max = std::max(max, v);
        sum += v;
      }
      return FromInt128(static_cast<uint64_t>(min), static_cast<uint64_t>(max), sum);
    }
  }
  return Stats{};
}

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One decompression context per thread: creating one costs more than decompressing a
// typical chunk, and readers are shared between threads.
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter> dctx(ZSTD_createDCtx());
  return dctx.get();
}

// A grow-only byte buffer that does not zero what it hands out. Not thread-safe.
class ByteBuffer {
 public:
  char* Resize(size_t n) {
    if (n > capacity_) {
      data_.reset(new char[n]);
      capacity_ = n;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
};

// Extends c, whose validity is materialised, with nulls up to `rows` rows.
void PadWithNulls(ScanColumn* c, size_t rows) {
  const size_t have = c->valid.size();
  if (have >= rows) return;
  const size_t k = rows - have;
  c->valid.insert(c->valid.end(), k, 0);
  switch (c->type) {
    case FieldType::kFloat:
      c->floats.insert(c->floats.end(), k, 0.0);
      break;
    case FieldType::kString:
      c->strings.resize(c->strings.size() + k);
      break;
    default:
      c->ints.insert(c->ints.end(), k, 0);
      break;
  }
}

}  // namespace

// ===========================================================================================
// SegmentWriter

struct SegmentWriter::Impl {
  struct ColumnBuild {
    std::string name;
    FieldType type;
    std::vector<fb::ChunkEntry> chunks;  // one per block where the field has a value
    // The open block's values of this field, with validity always materialised. It covers
    // the block's first pending.valid.size() rows; the rows after those are null.
    ScanColumn pending;
    size_t pending_values = 0;  // valid rows in pending
  };
  enum class State { kOpen, kFailed, kFinished };

  std::string path;
  SegmentMeta meta;
  SegmentWriterOptions opts;
  std::unique_ptr<WritableFile> file;
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter> cctx;
  State state = State::kOpen;

  std::string buffer;   // bytes not yet handed to file
  uint64_t offset = 0;  // file offset of the next byte written

  std::vector<fb::SeriesEntry> series;
  std::vector<fb::BlockEntry> blocks;
  std::map<uint32_t, ColumnBuild> columns;
  std::vector<TimestampNs> pending_times;  // the open block's rows, fewer than block_rows
  bool has_series_id = false;
  uint32_t last_series_id = 0;
  uint64_t row_count = 0;
  TimestampNs min_time = 0;
  TimestampNs max_time = 0;

  // Scratch reused across chunks.
  std::string body;
  std::string chunk;
  std::string compressed;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  absl::Status Write(std::string_view data) {
    buffer.append(data.data(), data.size());
    offset += data.size();
    if (buffer.size() >= kWriteBufferBytes) return Flush();
    return absl::OkStatus();
  }
  absl::Status Flush() {
    if (buffer.empty()) return absl::OkStatus();
    absl::Status s = file->Append(buffer);
    buffer.clear();
    return s;
  }

  // Frames body as a chunk (compressing it when that saves an eighth or more), writes it,
  // and returns where it went.
  absl::Status WriteChunk(ColumnEncoding encoding, uint64_t* chunk_offset, uint32_t* chunk_size,
                          uint64_t* checksum) {
    if (body.size() > kMaxChunkBody) {
      return absl::InvalidArgumentError(
          StrCat(path, ": a block's column exceeds ", kMaxChunkBody, " bytes"));
    }
    chunk.clear();
    chunk.push_back(static_cast<char>(encoding));
    uint8_t compression = kCompressionNone;
    if (body.size() >= kMinCompressBytes) {
      compressed.resize(ZSTD_compressBound(body.size()));
      const size_t n = ZSTD_compressCCtx(cctx.get(), compressed.data(), compressed.size(),
                                         body.data(), body.size(), opts.zstd_level);
      if (!ZSTD_isError(n) && n <= body.size() - body.size() / 8) {
        compressed.resize(n);
        compression = kCompressionZstd;
      }
    }
    chunk.push_back(static_cast<char>(compression));
    PutVarint64(&chunk, body.size());
    chunk.append(compression == kCompressionZstd ? compressed : body);
    *chunk_offset = offset;
    *chunk_size = static_cast<uint32_t>(chunk.size());
    *checksum = Checksum64(chunk);
    return Write(chunk);
  }

  // Writes the chunk of the open block's `rows` rows of *col (at least one of them valid)
  // as block block_index.
  absl::Status WriteColumnChunk(ColumnBuild* col, size_t rows, uint32_t block_index) {
    const ScanColumn& c = col->pending;
    size_t nulls = 0;
    for (size_t r = 0; r < rows; ++r) nulls += c.valid[r] == 0 ? 1 : 0;
    body.clear();
    if (nulls > 0) EncodeBitmap(std::span<const uint8_t>(c.valid.data(), rows), &body);
    auto is_valid = [&](size_t r) { return c.valid[r] != 0; };
    ColumnEncoding encoding;
    switch (c.type) {
      case FieldType::kFloat: {
        std::span<const double> values(c.floats.data(), rows);
        if (nulls > 0) {
          floats.clear();
          for (size_t r = 0; r < rows; ++r) {
            if (is_valid(r)) floats.push_back(c.floats[r]);
          }
          values = floats;
        }
        encoding = EncodeFloats(values, &body);
        break;
      }
      case FieldType::kString: {
        std::span<const std::string> values(c.strings.data(), rows);
        if (nulls > 0) {
          strings.clear();
          for (size_t r = 0; r < rows; ++r) {
            if (is_valid(r)) strings.push_back(c.strings[r]);
          }
          values = strings;
        }
        EncodeStrings(values, &body);
        encoding = ColumnEncoding::kStringPlain;
        break;
      }
      default: {
        std::span<const int64_t> values(c.ints.data(), rows);
        if (nulls > 0) {
          ints.clear();
          for (size_t r = 0; r < rows; ++r) {
            if (is_valid(r)) ints.push_back(c.ints[r]);
          }
          values = ints;
        }
        if (c.type == FieldType::kBoolean) {
          EncodeBools(values, &body);
          encoding = ColumnEncoding::kBoolBitmap;
        } else {
          EncodeInts(values, &body);
          encoding = ColumnEncoding::kIntDelta;
        }
        break;
      }
    }
    const Stats stats = ComputeStats(c, 0, rows);
    uint64_t chunk_offset, checksum;
    uint32_t chunk_size;
    BR_RETURN_IF_ERROR(WriteChunk(encoding, &chunk_offset, &chunk_size, &checksum));
    col->chunks.emplace_back(chunk_offset, chunk_size, block_index, checksum,
                             static_cast<uint32_t>(nulls), stats.min_bits, stats.max_bits,
                             stats.sum_lo, stats.sum_hi);
    return absl::OkStatus();
  }

  absl::Status Validate(uint32_t series_id, std::span<const TimestampNs> times,
                        std::span<const SegmentColumnInput> inputs) const {
    if (has_series_id && series_id <= last_series_id) {
      return absl::InvalidArgumentError(StrCat(path, ": series ", series_id, " added after series ",
                                               last_series_id, "; ids must increase"));
    }
    const size_t n = times.size();
    if (n > std::numeric_limits<uint32_t>::max()) {
      return absl::InvalidArgumentError(
          StrCat(path, ": series ", series_id, " has too many rows (", n, ")"));
    }
    for (size_t i = 1; i < n; ++i) {
      if (times[i] <= times[i - 1]) {
        return absl::InvalidArgumentError(
            StrCat(path, ": series ", series_id, ": times not strictly increasing at row ", i));
      }
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      const SegmentColumnInput& in = inputs[i];
      const std::string where = StrCat(path, ": series ", series_id, " field ", in.field_id);
      if (in.data == nullptr) return absl::InvalidArgumentError(where + ": no data");
      const ScanColumn& c = *in.data;
      if (!IsFieldType(static_cast<uint8_t>(c.type))) {
        return absl::InvalidArgumentError(where + ": bad type");
      }
      if (ValueRows(c) != n || (!c.valid.empty() && c.valid.size() != n)) {
        return absl::InvalidArgumentError(
            StrCat(where, ": ", ValueRows(c), " values for ", n, " times"));
      }
      for (size_t j = 0; j < i; ++j) {
        if (inputs[j].field_id == in.field_id) {
          return absl::InvalidArgumentError(where + ": given twice");
        }
      }
      auto it = columns.find(in.field_id);
      if (it != columns.end()) {
        if (it->second.type != c.type) {
          return absl::InvalidArgumentError(StrCat(where, " is ", FieldTypeName(c.type),
                                                   " but was ", FieldTypeName(it->second.type),
                                                   " earlier in this segment"));
        }
        if (it->second.name != in.name) {
          return absl::InvalidArgumentError(
              StrCat(where, " is named '", in.name, "' but was '", it->second.name, "'"));
        }
      }
    }
    return absl::OkStatus();
  }

  // Appends rows [begin, end) of a series to the open block.
  void AppendRows(std::span<const TimestampNs> times, std::span<const SegmentColumnInput> inputs,
                  size_t begin, size_t end) {
    const size_t at = pending_times.size();
    const size_t k = end - begin;
    pending_times.insert(pending_times.end(), times.begin() + static_cast<ptrdiff_t>(begin),
                         times.begin() + static_cast<ptrdiff_t>(end));
    for (const SegmentColumnInput& in : inputs) {
      const ScanColumn& src = *in.data;
      ColumnBuild& col = columns.find(in.field_id)->second;
      ScanColumn& dst = col.pending;
      PadWithNulls(&dst, at);
      switch (src.type) {
        case FieldType::kFloat:
          dst.floats.insert(dst.floats.end(), src.floats.begin() + static_cast<ptrdiff_t>(begin),
                            src.floats.begin() + static_cast<ptrdiff_t>(end));
          break;
        case FieldType::kString:
          dst.strings.insert(dst.strings.end(), src.strings.begin() + static_cast<ptrdiff_t>(begin),
                             src.strings.begin() + static_cast<ptrdiff_t>(end));
          break;
        default:
          dst.ints.insert(dst.ints.end(), src.ints.begin() + static_cast<ptrdiff_t>(begin),
                          src.ints.begin() + static_cast<ptrdiff_t>(end));
          break;
      }
      if (src.valid.empty()) {
        dst.valid.insert(dst.valid.end(), k, 1);
        col.pending_values += k;
      } else {
        const uint8_t* flags = src.valid.data() + begin;
        dst.valid.insert(dst.valid.end(), flags, flags + k);
        col.pending_values += k - static_cast<size_t>(std::count(flags, flags + k, 0));
      }
    }
  }

  // Writes the open block: its time chunk, then the chunk of every field with a value in
  // it, in field id order.
  absl::Status FinishBlock() {
    const size_t rows = pending_times.size();
    if (rows == 0) return absl::OkStatus();
    const auto block_index = static_cast<uint32_t>(blocks.size());
    body.clear();
    EncodeTimes(pending_times, &body);
    uint64_t chunk_offset, checksum;
    uint32_t chunk_size;
    BR_RETURN_IF_ERROR(
        WriteChunk(ColumnEncoding::kTimeScaledDelta, &chunk_offset, &chunk_size, &checksum));
    blocks.emplace_back(static_cast<uint32_t>(rows), chunk_size, chunk_offset, checksum,
                        pending_times.front(), pending_times.back());
    for (auto& [field_id, col] : columns) {
      if (col.pending_values > 0) {
        PadWithNulls(&col.pending, rows);
        BR_RETURN_IF_ERROR(WriteColumnChunk(&col, rows, block_index));
      }
      col.pending.ints.clear();
      col.pending.floats.clear();
      col.pending.strings.clear();
      col.pending.valid.clear();
      col.pending_values = 0;
    }
    pending_times.clear();
    return absl::OkStatus();
  }

  absl::Status WriteSeries(uint32_t series_id, std::span<const TimestampNs> times,
                           std::span<const SegmentColumnInput> inputs) {
    const size_t n = times.size();
    series.emplace_back(series_id, static_cast<uint32_t>(n), row_count, times.front(),
                        times.back());
    if (row_count == 0) {
      min_time = times.front();
      max_time = times.back();
    } else {
      min_time = std::min(min_time, times.front());
      max_time = std::max(max_time, times.back());
    }
    row_count += n;
    for (size_t begin = 0; begin < n;) {
      const size_t end = std::min<size_t>(n, begin + (opts.block_rows - pending_times.size()));
      AppendRows(times, inputs, begin, end);
      begin = end;
      if (pending_times.size() == opts.block_rows) BR_RETURN_IF_ERROR(FinishBlock());
    }
    return absl::OkStatus();
  }

  std::string BuildFooter() const {
    size_t chunk_entries = 0;
    for (const auto& [field_id, col] : columns) chunk_entries += col.chunks.size();
    flatbuffers::FlatBufferBuilder fbb(1024 + series.size() * sizeof(fb::SeriesEntry) +
                                       blocks.size() * sizeof(fb::BlockEntry) +
                                       chunk_entries * sizeof(fb::ChunkEntry));
    std::vector<flatbuffers::Offset<fb::Column>> column_offsets;
    column_offsets.reserve(columns.size());
    for (const auto& [field_id, col] : columns) {
      const auto name = fbb.CreateString(col.name);
      const auto chunks = fbb.CreateVectorOfStructs(col.chunks);
      column_offsets.push_back(
          fb::CreateColumn(fbb, field_id, name, static_cast<uint8_t>(col.type), chunks));
    }
    const auto database = fbb.CreateString(meta.database);
    const auto series_vec = fbb.CreateVectorOfStructs(series);
    const auto blocks_vec = fbb.CreateVectorOfStructs(blocks);
    const auto columns_vec = fbb.CreateVector(column_offsets);
    fbb.Finish(fb::CreateFooter(fbb, kFormatVersion, database, meta.partition_start,
                                meta.partition_end, min_time, max_time, row_count, opts.block_rows,
                                series_vec, blocks_vec, columns_vec));
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  }

  absl::StatusOr<SegmentInfo> WriteFooterAndClose() {
    BR_RETURN_IF_ERROR(FinishBlock());
    const std::string footer = BuildFooter();
    if (footer.size() > std::numeric_limits<uint32_t>::max()) {
      return absl::InvalidArgumentError(StrCat(path, ": footer too large"));
    }
    std::string trailer;
    PutFixed32(&trailer, static_cast<uint32_t>(footer.size()));
    PutFixed64(&trailer, Checksum64(footer));
    trailer.append(kEndMagic);
    BR_RETURN_IF_ERROR(Write(footer));
    BR_RETURN_IF_ERROR(Write(trailer));
    BR_RETURN_IF_ERROR(Flush());
    BR_RETURN_IF_ERROR(file->Sync());
    BR_RETURN_IF_ERROR(file->Close());
    SegmentInfo info;
    info.file_size = offset;
    info.row_count = row_count;
    info.series_count = static_cast<uint32_t>(series.size());
    info.min_time = min_time;
    info.max_time = max_time;
    return info;
  }
};

SegmentWriter::SegmentWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SegmentWriter::~SegmentWriter() = default;

absl::StatusOr<std::unique_ptr<SegmentWriter>> SegmentWriter::Create(
    FileSystem* fs, const std::string& path, const SegmentMeta& meta,
    const SegmentWriterOptions& opts) {
  if (opts.block_rows == 0 || opts.block_rows > kMaxBlockRows) {
    return absl::InvalidArgumentError(
        StrCat(path, ": block_rows must be in [1, ", kMaxBlockRows, "], got ", opts.block_rows));
  }
  if (opts.zstd_level < ZSTD_minCLevel() || opts.zstd_level > ZSTD_maxCLevel()) {
    return absl::InvalidArgumentError(
        StrCat(path, ": zstd_level ", opts.zstd_level, " out of range"));
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->meta = meta;
  impl->opts = opts;
  impl->cctx.reset(ZSTD_createCCtx());
  if (impl->cctx == nullptr) {
    return absl::ResourceExhaustedError(StrCat(path, ": cannot create a zstd context"));
  }
  BR_ASSIGN_OR_RETURN(impl->file, fs->NewWritableFile(path));
  BR_RETURN_IF_ERROR(impl->Write(kMagic));
  return std::unique_ptr<SegmentWriter>(new SegmentWriter(std::move(impl)));
}

absl::Status SegmentWriter::AddSeries(uint32_t series_id, std::span<const TimestampNs> times,
                                      std::span<const SegmentColumnInput> columns) {
  Impl& w = *impl_;
  if (w.state != Impl::State::kOpen) {
    return absl::FailedPreconditionError(StrCat(w.path, w.state == Impl::State::kFinished
                                                            ? ": writer finished"
                                                            : ": writer failed earlier"));
  }
  BR_RETURN_IF_ERROR(w.Validate(series_id, times, columns));
  w.has_series_id = true;
  w.last_series_id = series_id;
  if (times.empty()) return absl::OkStatus();
  for (const SegmentColumnInput& in : columns) {
    auto [it, inserted] = w.columns.try_emplace(in.field_id);
    if (inserted) {
      it->second.name = std::string(in.name);
      it->second.type = in.data->type;
      it->second.pending.type = in.data->type;
    }
  }
  absl::Status s = w.WriteSeries(series_id, times, columns);
  if (!s.ok()) w.state = Impl::State::kFailed;
  return s;
}

absl::StatusOr<SegmentInfo> SegmentWriter::Finish() {
  Impl& w = *impl_;
  if (w.state != Impl::State::kOpen) {
    return absl::FailedPreconditionError(StrCat(w.path, w.state == Impl::State::kFinished
                                                            ? ": writer finished"
                                                            : ": writer failed earlier"));
  }
  absl::StatusOr<SegmentInfo> info = w.WriteFooterAndClose();
  w.state = info.ok() ? Impl::State::kFinished : Impl::State::kFailed;
  return info;
}

// ===========================================================================================
// SegmentReader

namespace {

// Scratch space for decoding chunks, reused across blocks.
struct ReadScratch {
  ByteBuffer raw;
  ByteBuffer inflated;
  std::vector<uint32_t> breaks;
  std::vector<uint8_t> valid;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
};

// Appends validity for k rows about to be appended to c: flags[0, k) (0/1), or all valid
// when flags is null. Keeps ScanColumn's convention that an empty `valid` means all valid.
void AppendValidity(ScanColumn* c, const uint8_t* flags, size_t k) {
  bool all = flags == nullptr;
  if (!all) all = std::find(flags, flags + k, 0) == flags + k;
  if (all) {
    if (!c->valid.empty()) c->valid.insert(c->valid.end(), k, 1);
    return;
  }
  if (c->valid.empty()) c->valid.assign(ValueRows(*c), 1);
  c->valid.insert(c->valid.end(), flags, flags + k);
}

void AppendNulls(ScanColumn* c, size_t k) {
  if (k == 0) return;
  if (c->valid.empty()) c->valid.assign(ValueRows(*c), 1);
  PadWithNulls(c, c->valid.size() + k);
}

// Appends rows [lo, hi) of c (a decoded block column) to *out, of the same type.
void AppendColumnSlice(const ScanColumn& c, size_t lo, size_t hi, ScanColumn* out) {
  AppendValidity(out, c.valid.empty() ? nullptr : c.valid.data() + lo, hi - lo);
  const auto b = static_cast<ptrdiff_t>(lo);
  const auto e = static_cast<ptrdiff_t>(hi);
  switch (c.type) {
    case FieldType::kFloat:
      out->floats.insert(out->floats.end(), c.floats.begin() + b, c.floats.begin() + e);
      break;
    case FieldType::kString:
      out->strings.insert(out->strings.end(), c.strings.begin() + b, c.strings.begin() + e);
      break;
    default:
      out->ints.insert(out->ints.end(), c.ints.begin() + b, c.ints.begin() + e);
      break;
  }
}

bool EncodingHolds(ColumnEncoding e, FieldType t) {
  switch (t) {
    case FieldType::kFloat:
      return e == ColumnEncoding::kFloatDecimal || e == ColumnEncoding::kFloatXor;
    case FieldType::kString:
      return e == ColumnEncoding::kStringPlain;
    case FieldType::kBoolean:
      return e == ColumnEncoding::kBoolBitmap;
    default:
      return e == ColumnEncoding::kIntDelta;
  }
}

// Keeps rows [lo, hi) of the `rows` rows appended after position old of v.
template <typename T>
void TrimAppended(std::vector<T>* v, size_t old, size_t rows, size_t lo, size_t hi) {
  if (lo == 0 && hi == rows) return;
  v->erase(v->begin() + static_cast<ptrdiff_t>(old + hi), v->end());
  v->erase(v->begin() + static_cast<ptrdiff_t>(old), v->begin() + static_cast<ptrdiff_t>(old + lo));
}

// Decodes `count` values and appends them to the vector of *c that its type uses.
absl::Status AppendDecoded(ColumnEncoding encoding, std::string_view values, size_t count,
                           ScanColumn* c) {
  switch (c->type) {
    case FieldType::kFloat: {
      const size_t old = c->floats.size();
      c->floats.resize(old + count);
      return DecodeDoubles(encoding, values, count, c->floats.data() + old);
    }
    case FieldType::kString:
      return DecodeStrings(encoding, values, count, &c->strings);
    default: {
      const size_t old = c->ints.size();
      c->ints.resize(old + count);
      return DecodeInt64s(encoding, values, count, c->ints.data() + old);
    }
  }
}

// Appends rows [lo, hi) of a chunk body of a block of `rows` rows with null_count nulls to
// *c, keeping its validity convention. Errors are kDataLoss without file context.
absl::Status DecodeColumnChunk(ColumnEncoding encoding, std::string_view body, size_t rows,
                               size_t null_count, size_t lo, size_t hi, ReadScratch* s,
                               ScanColumn* c) {
  if (!EncodingHolds(encoding, c->type)) {
    return absl::DataLossError(StrCat("encoding ", static_cast<int>(encoding), " cannot hold a ",
                                      FieldTypeName(c->type), " column"));
  }
  if (null_count == 0) {
    const size_t old = ValueRows(*c);
    AppendValidity(c, nullptr, hi - lo);
    BR_RETURN_IF_ERROR(AppendDecoded(encoding, body, rows, c));
    switch (c->type) {
      case FieldType::kFloat:
        TrimAppended(&c->floats, old, rows, lo, hi);
        break;
      case FieldType::kString:
        TrimAppended(&c->strings, old, rows, lo, hi);
        break;
      default:
        TrimAppended(&c->ints, old, rows, lo, hi);
        break;
    }
    return absl::OkStatus();
  }

  const size_t bitmap_size = (rows + 7) / 8;
  if (body.size() < bitmap_size) return absl::DataLossError("validity bitmap truncated");
  s->valid.resize(rows);
  size_t ones = 0;
  BR_RETURN_IF_ERROR(DecodeBitmap(body.substr(0, bitmap_size), rows, s->valid.data(), &ones));
  if (ones != rows - null_count) {
    return absl::DataLossError(
        StrCat("validity bitmap has ", ones, " valid rows, footer says ", rows - null_count));
  }
  const std::string_view values = body.substr(bitmap_size);
  const uint8_t* valid = s->valid.data();
  size_t j = static_cast<size_t>(std::count(valid, valid + lo, 1));
  AppendValidity(c, valid + lo, hi - lo);
  switch (c->type) {
    case FieldType::kFloat:
      s->floats.resize(ones);
      BR_RETURN_IF_ERROR(DecodeDoubles(encoding, values, ones, s->floats.data()));
      c->floats.reserve(c->floats.size() + (hi - lo));
      for (size_t r = lo; r < hi; ++r) c->floats.push_back(valid[r] ? s->floats[j++] : 0.0);
      break;
    case FieldType::kString:
      s->strings.clear();
      BR_RETURN_IF_ERROR(DecodeStrings(encoding, values, ones, &s->strings));
      c->strings.reserve(c->strings.size() + (hi - lo));
      for (size_t r = lo; r < hi; ++r) {
        if (valid[r]) {
          c->strings.push_back(std::move(s->strings[j++]));
        } else {
          c->strings.emplace_back();
        }
      }
      break;
    default:
      s->ints.resize(ones);
      BR_RETURN_IF_ERROR(DecodeInt64s(encoding, values, ones, s->ints.data()));
      c->ints.reserve(c->ints.size() + (hi - lo));
      for (size_t r = lo; r < hi; ++r) c->ints.push_back(valid[r] ? s->ints[j++] : 0);
      break;
  }
  return absl::OkStatus();
}

// Memory held by a decoded column, for the cache's budget.
size_t DecodedBytes(const ScanColumn& c) {
  size_t n = c.ints.size() * sizeof(int64_t) + c.floats.size() * sizeof(double) + c.valid.size();
  for (const std::string& s : c.strings) n += sizeof(std::string) + s.size();
  return n;
}

// One decoded column of a cached block.
struct DecodedColumn {
  size_t column = 0;     // index into the reader's columns
  bool present = false;  // false: no chunk, every row null
  ScanColumn data;       // all rows of the block when present
};

// A block decoded by one reader: its times, and the columns requested so far.
struct DecodedBlock {
  size_t block = 0;
  uint64_t last_use = 0;
  size_t bytes = 0;
  std::vector<TimestampNs> times;
  std::vector<std::unique_ptr<DecodedColumn>> columns;
};

// Gives every reader an id for SegmentReadCache; never reused within a process.
std::atomic<uint64_t> next_reader_id{1};

}  // namespace

struct SegmentReadCache::Impl {
  // Blocks kept per reader: a series that starts in the block where the previous one ended
  // hits, and so does alternating between two places (a rollup table and data rows).
  static constexpr size_t kBlocksPerReader = 2;

  size_t max_bytes = 0;
  size_t bytes = 0;    // held by all blocks
  uint64_t clock = 0;  // advances on every use of a block
  uint64_t blocks_decoded = 0;
  ReadScratch scratch;
  std::unordered_map<uint64_t, std::vector<std::unique_ptr<DecodedBlock>>> readers;

  // Drops least recently used blocks other than `keep` while over budget.
  void Shrink(const DecodedBlock* keep) {
    while (bytes > max_bytes) {
      std::vector<std::unique_ptr<DecodedBlock>>* victim_list = nullptr;
      size_t victim = 0;
      uint64_t oldest = std::numeric_limits<uint64_t>::max();
      for (auto& [id, list] : readers) {
        for (size_t i = 0; i < list.size(); ++i) {
          if (list[i].get() != keep && list[i]->last_use < oldest) {
            oldest = list[i]->last_use;
            victim_list = &list;
            victim = i;
          }
        }
      }
      if (victim_list == nullptr) return;
      bytes -= (*victim_list)[victim]->bytes;
      victim_list->erase(victim_list->begin() + static_cast<ptrdiff_t>(victim));
    }
  }
};

SegmentReadCache::SegmentReadCache(size_t max_bytes) : impl_(std::make_unique<Impl>()) {
  impl_->max_bytes = max_bytes;
}
SegmentReadCache::~SegmentReadCache() = default;
uint64_t SegmentReadCache::blocks_decoded() const { return impl_->blocks_decoded; }

struct SegmentReader::Impl {
  std::string path;
  SegmentMeta meta;
  SegmentInfo info;
  uint64_t id = 0;  // keys this reader's blocks in a SegmentReadCache
  std::unique_ptr<RandomAccessFile> file;
  // The footer, 8-byte aligned as the FlatBuffers accessors require.
  std::unique_ptr<uint64_t[]> footer_storage;
  uint64_t footer_offset = 0;
  std::vector<SeriesEntry> series;
  std::vector<BlockEntry> blocks;
  std::vector<ColumnEntry> columns;
  // Point into footer_storage: blocks.size() entries.
  const fb::BlockEntry* fb_blocks = nullptr;
  // Per column, its chunks by increasing block.
  std::vector<std::span<const fb::ChunkEntry>> column_chunks;

  absl::Status Corrupt(std::string_view what, uint64_t offset) const {
    return absl::DataLossError(StrCat(path, ": ", what, " (offset ", offset, ")"));
  }
  absl::Status Corrupt(std::string_view what, size_t block, uint64_t offset) const {
    return absl::DataLossError(
        StrCat(path, ": ", what, " (block ", block, " / offset ", offset, ")"));
  }

  absl::Status ReadExact(uint64_t offset, size_t n, char* scratch, std::string_view* out) const {
    BR_RETURN_IF_ERROR(file->Read(offset, n, scratch, out));
    if (out->size() != n) return Corrupt("unexpected end of file", offset + out->size());
    return absl::OkStatus();
  }

  absl::Status Parse(const fb::Footer& f, uint64_t file_size);
  absl::Status ParseSeries(const fb::Footer& f);

  bool ChunkInRange(uint64_t offset, uint32_t size) const {
    return size >= kMinChunkSize && offset >= kHeaderSize && offset <= footer_offset &&
           size <= footer_offset - offset;
  }

  // The chunk of `column` in `block`, or null when the column has no value there.
  const fb::ChunkEntry* FindChunk(size_t column, size_t block) const {
    const std::span<const fb::ChunkEntry> chunks = column_chunks[column];
    auto it = std::lower_bound(
        chunks.begin(), chunks.end(), block,
        [](const fb::ChunkEntry& e, size_t b) { return static_cast<size_t>(e.block()) < b; });
    if (it == chunks.end() || it->block() != block) return nullptr;
    return &*it;
  }

  // Reads, checks and decompresses a chunk; *body points into s's buffers.
  absl::Status LoadChunk(uint64_t offset, uint32_t size, uint64_t checksum, uint64_t max_body,
                         size_t block, ReadScratch* s, ColumnEncoding* encoding,
                         std::string_view* body) const {
    std::string_view stored;
    BR_RETURN_IF_ERROR(ReadExact(offset, size, s->raw.Resize(size), &stored));
    if (Checksum64(stored) != checksum) return Corrupt("chunk checksum mismatch", block, offset);
    Decoder d(stored);
    uint8_t encoding_id, compression;
    uint64_t body_size;
    if (!d.GetByte(&encoding_id) || !d.GetByte(&compression) || !d.GetVarint64(&body_size)) {
      return Corrupt("bad chunk header", block, offset);
    }
    if (!IsColumnEncoding(encoding_id)) return Corrupt("unknown chunk encoding", block, offset);
    *encoding = static_cast<ColumnEncoding>(encoding_id);
    if (body_size > max_body) return Corrupt("chunk body size too large", block, offset);
    std::string_view payload = stored.substr(d.offset());
    if (compression == kCompressionNone) {
      if (payload.size() != body_size) return Corrupt("chunk body size mismatch", block, offset);
      *body = payload;
      return absl::OkStatus();
    }
    if (compression != kCompressionZstd) return Corrupt("unknown chunk compression", block, offset);
    if (ZSTD_getFrameContentSize(payload.data(), payload.size()) != body_size) {
      return Corrupt("chunk zstd frame size mismatch", block, offset);
    }
    ZSTD_DCtx* dctx = ThreadDCtx();
    if (dctx == nullptr) {
      return absl::ResourceExhaustedError(StrCat(path, ": cannot create a zstd context"));
    }
    char* out = s->inflated.Resize(body_size);
    const size_t n = ZSTD_decompressDCtx(dctx, out, body_size, payload.data(), payload.size());
    if (ZSTD_isError(n) || n != body_size) {
      return Corrupt("chunk zstd decompression failed", block, offset);
    }
    *body = std::string_view(out, body_size);
    return absl::OkStatus();
  }

  // Decodes the block's times into t[0, rows) and checks them: the block's first and last time
  // as the footer says, and within each series' rows strictly increasing, from the series'
  // min time where its rows start to its max time where they end.
  absl::Status DecodeTimes(size_t block, ReadScratch* s, TimestampNs* t) const {
    const fb::BlockEntry& b = fb_blocks[block];
    const size_t rows = b.row_count();
    const uint64_t at = b.time_chunk_offset();
    ColumnEncoding encoding;
    std::string_view body;
    BR_RETURN_IF_ERROR(LoadChunk(at, b.time_chunk_size(), b.time_chunk_checksum(),
                                 MaxBodySize(FieldType::kInteger, rows), block, s, &encoding,
                                 &body));
    if (encoding != ColumnEncoding::kTimeScaledDelta) {
      return Corrupt("time chunk has a non-time encoding", block, at);
    }
    // The series with rows in this block; the rows where each but the first begins may step
    // back in time.
    const uint64_t block_begin = blocks[block].row_begin;
    const uint64_t block_end = block_begin + rows;
    const size_t first_series = SeriesAtRow(block_begin);
    s->breaks.clear();
    size_t end_series = first_series + 1;
    for (; end_series < series.size() && series[end_series].row_begin < block_end; ++end_series) {
      s->breaks.push_back(static_cast<uint32_t>(series[end_series].row_begin - block_begin));
    }
    absl::Status st = DecodeIncreasingTimes(body, rows, s->breaks, t);
    if (!st.ok()) {
      return Corrupt(std::string_view(st.message().data(), st.message().size()), block, at);
    }
    if (t[0] != b.first_time() || t[rows - 1] != b.last_time()) {
      return Corrupt("times disagree with the footer", block, at);
    }
    for (size_t i = first_series; i < end_series; ++i) {
      const SeriesEntry& se = series[i];
      const uint64_t series_end = se.row_begin + se.row_count;
      if ((se.row_begin >= block_begin && t[se.row_begin - block_begin] != se.min_time) ||
          (series_end <= block_end && t[series_end - 1 - block_begin] != se.max_time)) {
        return Corrupt(StrCat("times of series ", se.series_id, " disagree with the footer"), block,
                       at);
      }
    }
    return absl::OkStatus();
  }

  // Appends rows [lo, hi) of `chunk` (of `column`, in `block`) to *c.
  absl::Status DecodeColumn(size_t column, const fb::ChunkEntry& chunk, size_t block, size_t lo,
                            size_t hi, ReadScratch* s, ScanColumn* c) const {
    const size_t rows = fb_blocks[block].row_count();
    ColumnEncoding encoding;
    std::string_view body;
    BR_RETURN_IF_ERROR(LoadChunk(chunk.offset(), chunk.size(), chunk.checksum(),
                                 MaxBodySize(columns[column].type, rows), block, s, &encoding,
                                 &body));
    absl::Status st = DecodeColumnChunk(encoding, body, rows, chunk.null_count(), lo, hi, s, c);
    if (!st.ok()) {
      return Corrupt(StrCat("field ", columns[column].field_id, ": ", st.message()), block,
                     chunk.offset());
    }
    return absl::OkStatus();
  }

  // Appends the rows of `block`, which holds rows of one series only, in [min_time,
  // max_time] to *out, decoding straight into it: no other series needs the block, so
  // caching it would only cost a copy. [lo_time, hi_time] is the block's time range.
  absl::Status ReadOwnedBlock(size_t block, TimestampNs lo_time, TimestampNs hi_time,
                              TimestampNs min_time, TimestampNs max_time,
                              std::span<const int> column_of, ReadScratch* s,
                              ScanBatch* out) const {
    const size_t rows = blocks[block].row_count;
    const size_t begin = out->times.size();
    out->times.resize(begin + rows);
    BR_RETURN_IF_ERROR(DecodeTimes(block, s, out->times.data() + begin));
    const TimestampNs* t = out->times.data() + begin;
    size_t lo = 0, hi = rows;
    if (lo_time < min_time) lo = std::lower_bound(t, t + rows, min_time) - t;
    if (hi_time > max_time) hi = std::upper_bound(t + lo, t + rows, max_time) - t;
    TrimAppended(&out->times, begin, rows, lo, hi);
    if (lo >= hi) return absl::OkStatus();
    for (size_t i = 0; i < column_of.size(); ++i) {
      ScanColumn* c = &out->columns[i];
      const fb::ChunkEntry* chunk =
          column_of[i] < 0 ? nullptr : FindChunk(static_cast<size_t>(column_of[i]), block);
      if (chunk == nullptr) {
        AppendNulls(c, hi - lo);
        continue;
      }
      BR_RETURN_IF_ERROR(
          DecodeColumn(static_cast<size_t>(column_of[i]), *chunk, block, lo, hi, s, c));
    }
    return absl::OkStatus();
  }

  // Index of the series holding segment row `row` (< the segment's row count).
  size_t SeriesAtRow(uint64_t row) const {
    auto it = std::upper_bound(series.begin(), series.end(), row,
                               [](uint64_t r, const SeriesEntry& e) { return r < e.row_begin; });
    return static_cast<size_t>(it - series.begin()) - 1;
  }

  // The cached decoded `block`, decoding its times first when it is not in the cache.
  absl::Status GetBlock(size_t block, SegmentReadCache::Impl* cache, DecodedBlock** out) const {
    auto& list = cache->readers[id];
    for (auto& b : list) {
      if (b->block == block) {
        b->last_use = ++cache->clock;
        *out = b.get();
        return absl::OkStatus();
      }
    }
    auto fresh = std::make_unique<DecodedBlock>();
    fresh->block = block;
    fresh->times.resize(blocks[block].row_count);
    BR_RETURN_IF_ERROR(DecodeTimes(block, &cache->scratch, fresh->times.data()));
    ++cache->blocks_decoded;
    fresh->bytes = fresh->times.size() * sizeof(TimestampNs);
    fresh->last_use = ++cache->clock;
    if (list.size() >= SegmentReadCache::Impl::kBlocksPerReader) {
      auto oldest = std::min_element(list.begin(), list.end(), [](const auto& x, const auto& y) {
        return x->last_use < y->last_use;
      });
      cache->bytes -= (*oldest)->bytes;
      list.erase(oldest);
    }
    cache->bytes += fresh->bytes;
    list.push_back(std::move(fresh));
    *out = list.back().get();
    cache->Shrink(*out);
    return absl::OkStatus();
  }

  // Column `column` of a cached block, decoding it when it is not there yet.
  absl::Status GetColumn(DecodedBlock* block, size_t column, SegmentReadCache::Impl* cache,
                         const DecodedColumn** out) const {
    for (const auto& c : block->columns) {
      if (c->column == column) {
        *out = c.get();
        return absl::OkStatus();
      }
    }
    auto fresh = std::make_unique<DecodedColumn>();
    fresh->column = column;
    fresh->data.type = columns[column].type;
    const fb::ChunkEntry* chunk = FindChunk(column, block->block);
    if (chunk != nullptr) {
      BR_RETURN_IF_ERROR(DecodeColumn(column, *chunk, block->block, 0, block->times.size(),
                                      &cache->scratch, &fresh->data));
      fresh->present = true;
    }
    const size_t bytes = DecodedBytes(fresh->data);
    block->bytes += bytes;
    cache->bytes += bytes;
    block->columns.push_back(std::move(fresh));
    *out = block->columns.back().get();
    return absl::OkStatus();
  }
};

absl::Status SegmentReader::Impl::Parse(const fb::Footer& f, uint64_t file_size) {
  const uint64_t at = footer_offset;
  if (f.format_version() != kFormatVersion) return Corrupt("unsupported format version", at);
  if (f.database() == nullptr || f.series() == nullptr || f.blocks() == nullptr ||
      f.columns() == nullptr) {
    return Corrupt("footer lacks a required field", at);
  }
  // The verifier checks only 4-byte alignment; the structs need 8.
  static_assert(alignof(fb::SeriesEntry) == 8 && alignof(fb::BlockEntry) == 8 &&
                alignof(fb::ChunkEntry) == 8);
  auto aligned = [](const auto* v) {
    return v->size() == 0 || reinterpret_cast<uintptr_t>(v->Data()) % 8 == 0;
  };
  if (!aligned(f.series()) || !aligned(f.blocks())) {
    return Corrupt("misaligned footer vector", at);
  }
  const uint32_t block_rows = f.block_rows();
  if (block_rows == 0 || block_rows > kMaxBlockRows) return Corrupt("bad block_rows", at);
  meta.database = f.database()->str();
  meta.partition_start = f.partition_start();
  meta.partition_end = f.partition_end();

  const auto& fbl = *f.blocks();
  fb_blocks = fbl.size() == 0 ? nullptr : fbl.Get(0);
  blocks.reserve(fbl.size());
  uint64_t rows_in_blocks = 0;
  for (size_t b = 0; b < fbl.size(); ++b) {
    const fb::BlockEntry& e = fb_blocks[b];
    const uint32_t rows = e.row_count();
    if (rows == 0 || rows > block_rows || (rows == 1 && e.first_time() != e.last_time()) ||
        !ChunkInRange(e.time_chunk_offset(), e.time_chunk_size())) {
      return Corrupt(StrCat("bad block entry ", b), b, at);
    }
    blocks.push_back(BlockEntry{rows_in_blocks, rows, e.first_time(), e.last_time()});
    rows_in_blocks += rows;
  }
  BR_RETURN_IF_ERROR(ParseSeries(f));
  const uint64_t rows_in_series =
      series.empty() ? 0 : series.back().row_begin + series.back().row_count;
  if (rows_in_series != rows_in_blocks || rows_in_series != f.row_count()) {
    return Corrupt("row counts of the footer, its series and its blocks disagree", at);
  }

  const auto& fcols = *f.columns();
  columns.reserve(fcols.size());
  column_chunks.reserve(fcols.size());
  for (size_t i = 0; i < fcols.size(); ++i) {
    const fb::Column& col = *fcols.Get(static_cast<flatbuffers::uoffset_t>(i));
    const std::string what = StrCat("bad column entry ", i);
    if (i > 0 && col.field_id() <= columns.back().field_id) return Corrupt(what + ": order", at);
    if (col.name() == nullptr || !IsFieldType(col.type()) || col.chunks() == nullptr ||
        !aligned(col.chunks())) {
      return Corrupt(what, at);
    }
    const std::span<const fb::ChunkEntry> chunks(
        col.chunks()->size() == 0 ? nullptr : col.chunks()->Get(0), col.chunks()->size());
    for (size_t k = 0; k < chunks.size(); ++k) {
      const fb::ChunkEntry& c = chunks[k];
      const size_t b = c.block();
      const bool ok = b < blocks.size() && (k == 0 || b > chunks[k - 1].block()) &&
                      c.null_count() < blocks[b].row_count && ChunkInRange(c.offset(), c.size());
      if (!ok) return Corrupt(StrCat(what, ": bad chunk entry ", k), at);
    }
    columns.push_back(
        ColumnEntry{col.field_id(), col.name()->str(), static_cast<FieldType>(col.type())});
    column_chunks.push_back(chunks);
  }

  info.file_size = file_size;
  info.row_count = f.row_count();
  info.series_count = static_cast<uint32_t>(series.size());
  info.min_time = f.min_time();
  info.max_time = f.max_time();
  return absl::OkStatus();
}

// Series tile the rows in order, and their times agree with the blocks holding them: a
// block starting (ending) with a series' first (last) row starts (ends) at its min (max)
// time, and a series continuing into the next block continues later in time. ReadSeries
// relies on this to skip blocks by time without reading them.
absl::Status SegmentReader::Impl::ParseSeries(const fb::Footer& f) {
  const uint64_t at = footer_offset;
  const auto& fse = *f.series();
  series.reserve(fse.size());
  const fb::SeriesEntry* entries = fse.size() == 0 ? nullptr : fse.Get(0);
  uint64_t next_row = 0;
  size_t block = 0;  // the block holding next_row
  TimestampNs min_time = 0, max_time = 0;
  for (size_t i = 0; i < fse.size(); ++i) {
    const fb::SeriesEntry& e = entries[i];
    const std::string what = StrCat("bad series entry ", i);
    if (i > 0 && e.series_id() <= series.back().series_id) return Corrupt(what + ": order", at);
    if (e.row_begin() != next_row) return Corrupt(what + ": row_begin", at);
    const uint32_t rows = e.row_count();
    if (rows == 0 || e.min_time() > e.max_time() || (rows == 1) != (e.min_time() == e.max_time()) ||
        static_cast<uint64_t>(e.max_time()) - static_cast<uint64_t>(e.min_time()) < rows - 1) {
      return Corrupt(what + ": bad row count or time range", at);
    }
    const uint64_t end = next_row + rows;
    while (block < blocks.size() && blocks[block].row_begin + blocks[block].row_count <= next_row) {
      ++block;
    }
    size_t last = block;
    while (last < blocks.size() && blocks[last].row_begin + blocks[last].row_count < end) ++last;
    if (last >= blocks.size()) return Corrupt(what + ": rows beyond the last block", at);
    const BlockEntry& first_b = blocks[block];
    const BlockEntry& last_b = blocks[last];
    bool ok = (first_b.row_begin != next_row || first_b.first_time == e.min_time()) &&
              (last_b.row_begin + last_b.row_count != end || last_b.last_time == e.max_time());
    if (last > block) {
      ok = ok && e.min_time() <= first_b.last_time && last_b.first_time <= e.max_time();
      for (size_t b = block; b < last; ++b)
        ok = ok && blocks[b].last_time < blocks[b + 1].first_time;
    }
    if (!ok) return Corrupt(what + ": time range disagrees with its blocks", block, at);
    series.push_back(SeriesEntry{e.series_id(), rows, next_row, static_cast<uint32_t>(block),
                                 static_cast<uint32_t>(last - block + 1), e.min_time(),
                                 e.max_time()});
    min_time = i == 0 ? e.min_time() : std::min(min_time, e.min_time());
    max_time = i == 0 ? e.max_time() : std::max(max_time, e.max_time());
    next_row = end;
  }
  if (f.min_time() != min_time || f.max_time() != max_time) {
    return Corrupt("footer time range disagrees with its series", at);
  }
  return absl::OkStatus();
}

SegmentReader::SegmentReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SegmentReader::~SegmentReader() = default;

absl::StatusOr<std::unique_ptr<SegmentReader>> SegmentReader::Open(FileSystem* fs,
                                                                   const std::string& path) {
  auto impl = std::make_unique<Impl>();
  Impl& r = *impl;
  r.path = path;
  r.id = next_reader_id.fetch_add(1, std::memory_order_relaxed);
  BR_ASSIGN_OR_RETURN(r.file, fs->NewRandomAccessFile(path));
  const uint64_t file_size = r.file->Size();
  if (file_size < kHeaderSize + kTrailerSize) {
    return r.Corrupt(StrCat("too short for a segment (", file_size, " bytes)"), 0);
  }
  char head[kHeaderSize];
  std::string_view got;
  BR_RETURN_IF_ERROR(r.ReadExact(0, kHeaderSize, head, &got));
  if (got != kMagic) return r.Corrupt("not a segment file (bad magic)", 0);

  char trailer[kTrailerSize];
  const uint64_t trailer_offset = file_size - kTrailerSize;
  BR_RETURN_IF_ERROR(r.ReadExact(trailer_offset, kTrailerSize, trailer, &got));
  if (got.substr(12) != kEndMagic) return r.Corrupt("bad end magic", trailer_offset + 12);
  const uint32_t footer_size = DecodeFixed32(got.data());
  const uint64_t footer_checksum = DecodeFixed64(got.data() + 4);
  if (footer_size == 0 || footer_size > trailer_offset - kHeaderSize) {
    return r.Corrupt("bad footer size", trailer_offset);
  }
  r.footer_offset = trailer_offset - footer_size;
  r.footer_storage.reset(new uint64_t[(footer_size + 7) / 8]);
  char* footer_bytes = reinterpret_cast<char*>(r.footer_storage.get());
  BR_RETURN_IF_ERROR(r.ReadExact(r.footer_offset, footer_size, footer_bytes, &got));
  if (got.data() != footer_bytes) std::memmove(footer_bytes, got.data(), footer_size);
  if (Checksum64(std::string_view(footer_bytes, footer_size)) != footer_checksum) {
    return r.Corrupt("footer checksum mismatch", r.footer_offset);
  }
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(footer_bytes), footer_size);
  if (!fb::VerifyFooterBuffer(verifier)) {
    return r.Corrupt("footer fails FlatBuffers verification", r.footer_offset);
  }
  BR_RETURN_IF_ERROR(r.Parse(*fb::GetFooter(footer_bytes), file_size));
  return std::unique_ptr<SegmentReader>(new SegmentReader(std::move(impl)));
}

const std::string& SegmentReader::path() const { return impl_->path; }
const SegmentMeta& SegmentReader::meta() const { return impl_->meta; }
const SegmentInfo& SegmentReader::info() const { return impl_->info; }
const std::vector<SegmentReader::SeriesEntry>& SegmentReader::series() const {
  return impl_->series;
}
const std::vector<SegmentReader::BlockEntry>& SegmentReader::blocks() const {
  return impl_->blocks;
}
const std::vector<SegmentReader::ColumnEntry>& SegmentReader::columns() const {
  return impl_->columns;
}

int SegmentReader::FindSeries(uint32_t series_id) const {
  const auto& s = impl_->series;
  auto it = std::lower_bound(s.begin(), s.end(), series_id,
                             [](const SeriesEntry& e, uint32_t id) { return e.series_id < id; });
  if (it == s.end() || it->series_id != series_id) return -1;
  return static_cast<int>(it - s.begin());
}

int SegmentReader::FindColumn(uint32_t field_id) const {
  const auto& c = impl_->columns;
  auto it = std::lower_bound(c.begin(), c.end(), field_id,
                             [](const ColumnEntry& e, uint32_t id) { return e.field_id < id; });
  if (it == c.end() || it->field_id != field_id) return -1;
  return static_cast<int>(it - c.begin());
}

std::optional<ChunkStats> SegmentReader::GetChunkStats(size_t column, size_t block) const {
  const Impl& r = *impl_;
  if (column >= r.columns.size() || block >= r.blocks.size()) return std::nullopt;
  const fb::ChunkEntry* e = r.FindChunk(column, block);
  if (e == nullptr) return std::nullopt;
  ChunkStats s;
  s.row_count = r.blocks[block].row_count;
  s.null_count = e->null_count();
  switch (r.columns[column].type) {
    case FieldType::kFloat:
      s.min_float = std::bit_cast<double>(e->min_bits());
      s.max_float = std::bit_cast<double>(e->max_bits());
      s.sum_float = std::bit_cast<double>(e->sum_lo());
      break;
    case FieldType::kString:
      break;
    default:
      s.min_int = static_cast<int64_t>(e->min_bits());
      s.max_int = static_cast<int64_t>(e->max_bits());
      s.sum_int =
          static_cast<__int128>(static_cast<unsigned __int128>(e->sum_hi()) << 64 | e->sum_lo());
      break;
  }
  return s;
}

absl::Status SegmentReader::ReadSeries(size_t series_index, TimestampNs min_time,
                                       TimestampNs max_time, std::span<const int64_t> field_ids,
                                       ScanBatch* out, SegmentReadCache* cache) const {
  const Impl& r = *impl_;
  if (series_index >= r.series.size()) {
    return absl::InvalidArgumentError(
        StrCat(r.path, ": no series index ", series_index, " (", r.series.size(), ")"));
  }
  if (out->columns.size() != field_ids.size()) {
    return absl::InvalidArgumentError(StrCat(r.path, ": ", field_ids.size(), " field ids for ",
                                             out->columns.size(), " output columns"));
  }
  std::vector<int> column_of(field_ids.size());
  for (size_t i = 0; i < field_ids.size(); ++i) {
    const int64_t id = field_ids[i];
    column_of[i] = id < 0 || id > std::numeric_limits<uint32_t>::max()
                       ? -1
                       : FindColumn(static_cast<uint32_t>(id));
    if (column_of[i] >= 0 && r.columns[column_of[i]].type != out->columns[i].type) {
      return absl::InvalidArgumentError(
          StrCat(r.path, ": field ", id, " is ", FieldTypeName(r.columns[column_of[i]].type),
                 " here but was requested as ", FieldTypeName(out->columns[i].type)));
    }
  }

  const SeriesEntry& se = r.series[series_index];
  if (min_time > max_time || se.max_time < min_time || se.min_time > max_time) {
    return absl::OkStatus();
  }

  // On error *out is restored to what it held on entry.
  struct Sizes {
    size_t ints, floats, strings, valid;
  };
  const size_t old_times = out->times.size();
  std::vector<Sizes> old(out->columns.size());
  for (size_t i = 0; i < old.size(); ++i) {
    const ScanColumn& c = out->columns[i];
    old[i] = Sizes{c.ints.size(), c.floats.size(), c.strings.size(), c.valid.size()};
  }
  auto restore = [&](absl::Status s) {
    out->times.resize(old_times);
    for (size_t i = 0; i < old.size(); ++i) {
      ScanColumn& c = out->columns[i];
      c.ints.resize(old[i].ints);
      c.floats.resize(old[i].floats);
      c.strings.resize(old[i].strings);
      c.valid.resize(old[i].valid);
    }
    return s;
  };

  std::optional<SegmentReadCache> local;
  if (cache == nullptr) cache = &local.emplace();
  SegmentReadCache::Impl* c = cache->impl_.get();
  const uint64_t series_end = se.row_begin + se.row_count;
  const size_t last_block = se.first_block + se.block_count - 1;
  for (size_t b = se.first_block; b <= last_block; ++b) {
    const BlockEntry& block = r.blocks[b];
    // The times of the series' rows in this block span [lo_time, hi_time].
    const TimestampNs lo_time = b == se.first_block ? se.min_time : block.first_time;
    const TimestampNs hi_time = b == last_block ? se.max_time : block.last_time;
    if (hi_time < min_time) continue;
    if (lo_time > max_time) break;
    if (block.row_begin >= se.row_begin && block.row_begin + block.row_count <= series_end) {
      absl::Status s =
          r.ReadOwnedBlock(b, lo_time, hi_time, min_time, max_time, column_of, &c->scratch, out);
      if (!s.ok()) return restore(std::move(s));
      ++c->blocks_decoded;
      continue;
    }
    DecodedBlock* decoded = nullptr;
    absl::Status s = r.GetBlock(b, c, &decoded);
    if (!s.ok()) return restore(std::move(s));
    const TimestampNs* t = decoded->times.data();
    size_t lo = std::max(se.row_begin, block.row_begin) - block.row_begin;
    size_t hi = std::min(series_end, block.row_begin + block.row_count) - block.row_begin;
    if (lo_time < min_time) lo = std::lower_bound(t + lo, t + hi, min_time) - t;
    if (hi_time > max_time) hi = std::upper_bound(t + lo, t + hi, max_time) - t;
    if (lo >= hi) continue;
    out->times.insert(out->times.end(), t + lo, t + hi);
    for (size_t i = 0; i < field_ids.size(); ++i) {
      ScanColumn* col = &out->columns[i];
      if (column_of[i] < 0) {
        AppendNulls(col, hi - lo);
        continue;
      }
      const DecodedColumn* dc = nullptr;
      s = r.GetColumn(decoded, static_cast<size_t>(column_of[i]), c, &dc);
      if (!s.ok()) return restore(std::move(s));
      if (dc->present) {
        AppendColumnSlice(dc->data, lo, hi, col);
      } else {
        AppendNulls(col, hi - lo);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status SegmentReader::VerifyAll() const {
  const Impl& r = *impl_;
  ReadScratch scratch;
  std::vector<TimestampNs> times;
  std::vector<size_t> next_chunk(r.columns.size(), 0);
  for (size_t b = 0; b < r.blocks.size(); ++b) {
    const size_t rows = r.blocks[b].row_count;
    times.resize(rows);
    BR_RETURN_IF_ERROR(r.DecodeTimes(b, &scratch, times.data()));
    for (size_t ci = 0; ci < r.columns.size(); ++ci) {
      const std::span<const fb::ChunkEntry> chunks = r.column_chunks[ci];
      if (next_chunk[ci] == chunks.size() || chunks[next_chunk[ci]].block() != b) continue;
      const fb::ChunkEntry& e = chunks[next_chunk[ci]++];
      ScanColumn c;
      c.type = r.columns[ci].type;
      BR_RETURN_IF_ERROR(r.DecodeColumn(ci, e, b, 0, rows, &scratch, &c));
      const Stats want{e.min_bits(), e.max_bits(), e.sum_lo(), e.sum_hi()};
      if (ComputeStats(c, 0, rows) != want) {
        return r.Corrupt(
            StrCat("field ", r.columns[ci].field_id, ": statistics disagree with the chunk"), b,
            e.offset());
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace burnrate
