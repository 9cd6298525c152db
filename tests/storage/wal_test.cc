#include "storage/wal.h"

#include <xxhash.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fault_injection_file_system.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace burnrate {
namespace {

using ::burnrate::testing::FaultInjectionFileSystem;
using ::burnrate::testing::StatusIs;
using ::burnrate::testing::TempDir;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// What ReadWal delivered and returned.
struct ReadBack {
  absl::Status status;
  WalReadResult result;
  std::vector<std::string> payloads;
  std::vector<uint64_t> offsets;
};

ReadBack Read(FileSystem* fs, const std::string& path) {
  ReadBack back;
  back.status = ReadWal(
      fs, path,
      [&back](std::string_view payload, uint64_t offset) {
        back.payloads.emplace_back(payload);
        back.offsets.push_back(offset);
        return absl::OkStatus();
      },
      &back.result);
  return back;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Record start offsets of a WAL holding payloads, and its size, as docs/format/wal.md lays
// them out.
std::vector<uint64_t> RecordOffsets(const std::vector<std::string>& payloads, uint64_t* file_size) {
  std::vector<uint64_t> offsets;
  uint64_t pos = kWalFileHeaderSize;
  for (const std::string& p : payloads) {
    offsets.push_back(pos);
    pos += kWalRecordHeaderSize + p.size();
  }
  *file_size = pos;
  return offsets;
}

absl::Status WriteWal(FileSystem* fs, const std::string& path,
                      const std::vector<std::string>& payloads) {
  absl::StatusOr<std::unique_ptr<WalWriter>> writer = WalWriter::Create(fs, path);
  if (!writer.ok()) return writer.status();
  for (const std::string& p : payloads) {
    absl::Status s = (*writer)->AddRecord(p);
    if (!s.ok()) return s;
  }
  absl::Status s = (*writer)->Sync();
  if (!s.ok()) return s;
  return (*writer)->Close();
}

absl::Status WriteFile(FileSystem* fs, const std::string& path, std::string_view bytes) {
  absl::StatusOr<std::unique_ptr<WritableFile>> file = fs->NewWritableFile(path);
  if (!file.ok()) return file.status();
  absl::Status s = (*file)->Append(bytes);
  if (!s.ok()) return s;
  return (*file)->Close();
}

std::vector<std::string> Prefix(const std::vector<std::string>& v, size_t n) {
  return std::vector<std::string>(v.begin(), v.begin() + static_cast<ptrdiff_t>(n));
}

// Payloads of 1 to max_size random bytes, from a fixed seed.
std::vector<std::string> SmallPayloads(uint64_t seed, int count, size_t max_size) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> payloads;
  for (int i = 0; i < count; ++i) payloads.push_back(RandomBytes(rng, 1 + rng() % max_size));
  return payloads;
}

// The 16-byte file header, built independently of storage/wal.cc.
std::string FileHeader(uint32_t version) {
  std::string h = "BRWAL001";
  PutFixed32(&h, version);
  PutFixed32(&h, XXH32(h.data(), h.size(), 0));
  return h;
}

// One record, built independently of storage/wal.cc.
std::string EncodeRecord(std::string_view payload) {
  std::string r;
  PutFixed32(&r, static_cast<uint32_t>(payload.size()));
  std::string covered = r + std::string(payload);
  PutFixed64(&r, XXH3_64bits(covered.data(), covered.size()));
  r.append(payload);
  return r;
}

class WalTest : public ::testing::Test {
 protected:
  FileSystem* fs_ = FileSystem::Default();
  TempDir dir_;
  std::string path_ = dir_.Sub("000001.wal");
};

using WalWriterTest = WalTest;
using WalReaderTest = WalTest;

TEST_F(WalTest, RoundTripsRecordsOfRandomSizes) {
  std::mt19937_64 rng(20260101);
  std::vector<std::string> payloads;
  payloads.push_back(RandomBytes(rng, 1));
  payloads.push_back(RandomBytes(rng, 1 << 20));
  // Larger than one read chunk, so the reader must grow its buffer.
  payloads.push_back(RandomBytes(rng, (5 << 20) + 3));
  for (int i = 0; i < 600; ++i) {
    const uint64_t kind = rng() % 100;
    const size_t size = kind < 70   ? 1 + rng() % 200
                        : kind < 95 ? 200 + rng() % (16 << 10)
                                    : (16 << 10) + rng() % (256 << 10);
    payloads.push_back(RandomBytes(rng, size));
  }
  payloads.push_back(RandomBytes(rng, 1));
  payloads.push_back(RandomBytes(rng, 1 << 20));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WalWriter> writer, WalWriter::Create(fs_, path_));
  EXPECT_EQ(writer->size(), kWalFileHeaderSize);
  for (const std::string& p : payloads) ASSERT_OK(writer->AddRecord(p));
  ASSERT_OK(writer->Sync());
  uint64_t file_size = 0;
  const std::vector<uint64_t> offsets = RecordOffsets(payloads, &file_size);
  EXPECT_EQ(writer->size(), file_size);
  ASSERT_OK(writer->Close());

  ReadBack back = Read(fs_, path_);
  ASSERT_OK(back.status);
  EXPECT_EQ(back.result.records, payloads.size());
  EXPECT_EQ(back.result.valid_end, file_size);
  EXPECT_EQ(back.result.file_size, file_size);
  EXPECT_FALSE(back.result.torn_tail);
  EXPECT_FALSE(back.result.corrupt);
  EXPECT_THAT(back.offsets, ElementsAreArray(offsets));
  ASSERT_EQ(back.payloads.size(), payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    ASSERT_EQ(back.payloads[i], payloads[i]) << "record " << i;
  }
}

TEST_F(WalWriterTest, WritesTheDocumentedBytes) {
  ASSERT_OK(WriteWal(fs_, path_, {"a", "cost=14.23"}));
  std::string bytes;
  ASSERT_OK(fs_->ReadFileToString(path_, &bytes));
  EXPECT_EQ(bytes, FileHeader(1) + EncodeRecord("a") + EncodeRecord("cost=14.23"));
}

TEST_F(WalWriterTest, RejectsAnEmptyPayload) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WalWriter> writer, WalWriter::Create(fs_, path_));
  EXPECT_THAT(writer->AddRecord(""), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(writer->AddRecord("x"));
  ASSERT_OK(writer->Close());
  EXPECT_EQ(Read(fs_, path_).result.records, 1u);
}

TEST_F(WalWriterTest, CallsAfterCloseFail) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WalWriter> writer, WalWriter::Create(fs_, path_));
  ASSERT_OK(writer->Close());
  EXPECT_THAT(writer->AddRecord("x"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(writer->Sync(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(writer->Close(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(WalWriterTest, FailedAppendLeavesATornTailAndRefusesLaterRecords) {
  FaultInjectionFileSystem faulty(fs_);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WalWriter> writer, WalWriter::Create(&faulty, path_));
  ASSERT_OK(writer->AddRecord("first"));
  ASSERT_OK(writer->AddRecord("second"));
  const uint64_t good_end = writer->size();
  faulty.FailNthAppend(1, absl::ResourceExhaustedError("injected ENOSPC"), 20);
  EXPECT_THAT(writer->AddRecord(std::string(100, 'x')),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // Appending after the partial record would turn it into corruption in mid-file.
  EXPECT_THAT(writer->AddRecord("third"), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(writer->Sync(), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_OK(writer->Close());

  ReadBack back = Read(fs_, path_);
  ASSERT_OK(back.status);
  EXPECT_THAT(back.payloads, ElementsAreArray({"first", "second"}));
  EXPECT_TRUE(back.result.torn_tail);
  EXPECT_EQ(back.result.valid_end, good_end);
  EXPECT_EQ(back.result.file_size, good_end + 20);
}

TEST_F(WalWriterTest, FailedSyncRefusesLaterRecords) {
  FaultInjectionFileSystem faulty(fs_);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WalWriter> writer, WalWriter::Create(&faulty, path_));
  ASSERT_OK(writer->AddRecord("first"));
  faulty.FailNthSync(1, absl::InternalError("injected EIO"));
  EXPECT_THAT(writer->Sync(), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(writer->AddRecord("second"), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(writer->Sync(), StatusIs(absl::StatusCode::kInternal));
}

TEST_F(WalWriterTest, SyncedRecordsSurviveACrash) {
  FaultInjectionFileSystem faulty(fs_);
  ASSERT_OK(faulty.CreateDirs(dir_.path()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WalWriter> writer, WalWriter::Create(&faulty, path_));
  ASSERT_OK(faulty.SyncDir(dir_.path()));
  const std::vector<std::string> payloads = SmallPayloads(7, 30, 500);
  for (size_t i = 0; i < 20; ++i) ASSERT_OK(writer->AddRecord(payloads[i]));
  ASSERT_OK(writer->Sync());
  for (size_t i = 20; i < payloads.size(); ++i) ASSERT_OK(writer->AddRecord(payloads[i]));
  ASSERT_OK(faulty.DropUnsyncedData());
  writer.reset();

  ReadBack back = Read(fs_, path_);
  ASSERT_OK(back.status);
  EXPECT_THAT(back.payloads, ElementsAreArray(Prefix(payloads, 20)));
  EXPECT_FALSE(back.result.torn_tail);
}

TEST_F(WalReaderTest, EmptyFileIsAnEmptyLog) {
  ASSERT_OK(WriteFile(fs_, path_, ""));
  ReadBack back = Read(fs_, path_);
  ASSERT_OK(back.status);
  EXPECT_EQ(back.result.records, 0u);
  EXPECT_EQ(back.result.valid_end, 0u);
  EXPECT_EQ(back.result.file_size, 0u);
  EXPECT_FALSE(back.result.torn_tail);
  EXPECT_FALSE(back.result.corrupt);
}

TEST_F(WalReaderTest, HeaderOnlyFileHasNoRecords) {
  ASSERT_OK(WriteWal(fs_, path_, {}));
  ReadBack back = Read(fs_, path_);
  ASSERT_OK(back.status);
  EXPECT_EQ(back.result.records, 0u);
  EXPECT_EQ(back.result.valid_end, kWalFileHeaderSize);
  EXPECT_FALSE(back.result.torn_tail);
}

TEST_F(WalReaderTest, MissingFileIsNotFound) {
  WalReadResult result;
  EXPECT_THAT(ReadWal(
                  fs_, dir_.Sub("absent.wal"),
                  [](std::string_view, uint64_t) { return absl::OkStatus(); }, &result),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(WalReaderTest, TornHeaderIsCleanEndOfLog) {
  const std::string header = FileHeader(1);
  for (size_t n = 1; n < kWalFileHeaderSize; ++n) {
    SCOPED_TRACE(n);
    ASSERT_OK(WriteFile(fs_, path_, header.substr(0, n)));
    ReadBack back = Read(fs_, path_);
    ASSERT_OK(back.status);
    EXPECT_TRUE(back.result.torn_tail);
    EXPECT_EQ(back.result.valid_end, 0u);
    EXPECT_EQ(back.result.records, 0u);
  }
}

TEST_F(WalReaderTest, ZeroFilledFileIsCleanEndOfLog) {
  for (size_t n : {size_t{5}, size_t{16}, size_t{4096}}) {
    SCOPED_TRACE(n);
    ASSERT_OK(WriteFile(fs_, path_, std::string(n, '\0')));
    ReadBack back = Read(fs_, path_);
    ASSERT_OK(back.status);
    EXPECT_TRUE(back.result.torn_tail);
    EXPECT_EQ(back.result.valid_end, 0u);
  }
}

TEST_F(WalReaderTest, TornTailIsCleanEndOfLog) {
  std::vector<std::string> payloads = SmallPayloads(11, 20, 300);
  std::mt19937_64 rng(12);
  payloads.push_back(RandomBytes(rng, 700));
  ASSERT_OK(WriteWal(fs_, path_, payloads));
  uint64_t file_size = 0;
  const std::vector<uint64_t> offsets = RecordOffsets(payloads, &file_size);
  const uint64_t last_start = offsets.back();
  const std::vector<std::string> earlier = Prefix(payloads, payloads.size() - 1);

  // Truncating downwards visits every length that cuts the last record short.
  for (uint64_t size = file_size - 1; size > last_start; --size) {
    SCOPED_TRACE(size);
    ASSERT_OK(fs_->Truncate(path_, size));
    ReadBack back = Read(fs_, path_);
    ASSERT_OK(back.status);
    EXPECT_TRUE(back.result.torn_tail);
    EXPECT_FALSE(back.result.corrupt);
    EXPECT_EQ(back.result.valid_end, last_start);
    EXPECT_EQ(back.result.file_size, size);
    ASSERT_THAT(back.payloads, ElementsAreArray(earlier));
  }
  ASSERT_OK(fs_->Truncate(path_, last_start));
  ReadBack back = Read(fs_, path_);
  ASSERT_OK(back.status);
  EXPECT_FALSE(back.result.torn_tail);
  EXPECT_EQ(back.result.valid_end, last_start);
  EXPECT_THAT(back.payloads, ElementsAreArray(earlier));
}

TEST_F(WalReaderTest, ZeroFilledTailIsCleanEndOfLog) {
  const std::vector<std::string> payloads = SmallPayloads(13, 10, 200);
  ASSERT_OK(WriteWal(fs_, path_, payloads));
  std::string log;
  ASSERT_OK(fs_->ReadFileToString(path_, &log));
  for (size_t zeros :
       {size_t{1}, size_t{11}, size_t{12}, size_t{13}, size_t{4096}, size_t{(4 << 20) + 5}}) {
    SCOPED_TRACE(zeros);
    ASSERT_OK(WriteFile(fs_, path_, log + std::string(zeros, '\0')));
    ReadBack back = Read(fs_, path_);
    ASSERT_OK(back.status);
    EXPECT_TRUE(back.result.torn_tail);
    EXPECT_EQ(back.result.valid_end, log.size());
    EXPECT_THAT(back.payloads, ElementsAreArray(payloads));
  }
}

TEST_F(WalReaderTest, TornRecordFollowedByZerosIsCleanEndOfLog) {
  // The length reached the disk; the rest of the extended file did not.
  const std::vector<std::string> payloads = SmallPayloads(14, 5, 200);
  ASSERT_OK(WriteWal(fs_, path_, payloads));
  std::string log;
  ASSERT_OK(fs_->ReadFileToString(path_, &log));
  std::string torn = log + EncodeRecord(std::string(5000, 'p')).substr(0, 4);
  torn.append(3000, '\0');
  ASSERT_OK(WriteFile(fs_, path_, torn));
  ReadBack back = Read(fs_, path_);
  ASSERT_OK(back.status);
  EXPECT_TRUE(back.result.torn_tail);
  EXPECT_EQ(back.result.valid_end, log.size());
  EXPECT_THAT(back.payloads, ElementsAreArray(payloads));
}

TEST_F(WalReaderTest, ChecksumMismatchIsDataLossNamingFileAndOffset) {
  const std::vector<std::string> payloads = {"one", "two", "three", "four"};
  ASSERT_OK(WriteWal(fs_, path_, payloads));
  uint64_t file_size = 0;
  const std::vector<uint64_t> offsets = RecordOffsets(payloads, &file_size);
  ASSERT_OK(testing::FlipByte(fs_, path_, offsets[2] + kWalRecordHeaderSize + 1));

  ReadBack back = Read(fs_, path_);
  EXPECT_THAT(back.status, StatusIs(absl::StatusCode::kDataLoss,
                                    absl::StrCat(path_, " at offset ", offsets[2],
                                                 ": checksum mismatch in WAL record")));
  EXPECT_THAT(back.payloads, ElementsAreArray({"one", "two"}));
  EXPECT_TRUE(back.result.corrupt);
  EXPECT_FALSE(back.result.torn_tail);
  EXPECT_EQ(back.result.corrupt_offset, offsets[2]);
  EXPECT_EQ(back.result.valid_end, offsets[2]);
  EXPECT_EQ(back.result.records, 2u);
}

TEST_F(WalReaderTest, ZeroedPayloadOfACompleteRecordIsDataLoss) {
  const std::vector<std::string> payloads = {"one", std::string(100, 'z')};
  ASSERT_OK(WriteWal(fs_, path_, payloads));
  uint64_t file_size = 0;
  const std::vector<uint64_t> offsets = RecordOffsets(payloads, &file_size);
  std::string log;
  ASSERT_OK(fs_->ReadFileToString(path_, &log));
  const size_t payload_start = offsets[1] + kWalRecordHeaderSize;
  log.replace(payload_start, log.size() - payload_start, log.size() - payload_start, '\0');
  ASSERT_OK(WriteFile(fs_, path_, log));
  ReadBack back = Read(fs_, path_);
  EXPECT_THAT(back.status, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checksum mismatch")));
  EXPECT_EQ(back.result.corrupt_offset, offsets[1]);
}

TEST_F(WalReaderTest, ZeroLengthFollowedByDataIsDataLoss) {
  const std::string log =
      FileHeader(1) + EncodeRecord("one") + std::string(4, '\0') + EncodeRecord("two");
  ASSERT_OK(WriteFile(fs_, path_, log));
  ReadBack back = Read(fs_, path_);
  const uint64_t offset = kWalFileHeaderSize + kWalRecordHeaderSize + 3;
  EXPECT_THAT(back.status, StatusIs(absl::StatusCode::kDataLoss,
                                    HasSubstr(absl::StrCat(path_, " at offset ", offset, ": "))));
  EXPECT_EQ(back.result.corrupt_offset, offset);
  EXPECT_THAT(back.payloads, ElementsAreArray({"one"}));
}

TEST_F(WalReaderTest, LengthAboveTheLimitIsDataLoss) {
  std::string record = EncodeRecord("two");
  const std::string length = [] {
    std::string s;
    PutFixed32(&s, kWalMaxRecordPayload + 1);
    return s;
  }();
  record.replace(0, 4, length);
  ASSERT_OK(WriteFile(fs_, path_, FileHeader(1) + EncodeRecord("one") + record));
  ReadBack back = Read(fs_, path_);
  EXPECT_THAT(back.status, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("exceeds the limit")));
  EXPECT_EQ(back.result.corrupt_offset, kWalFileHeaderSize + kWalRecordHeaderSize + 3);
  EXPECT_THAT(back.payloads, ElementsAreArray({"one"}));
}

TEST_F(WalReaderTest, LengthRunningPastEndOfFileInMidLogIsDataLoss) {
  // A torn append can only be the last record, so good records after a length that runs
  // past end of file mean that length is damaged.
  const std::vector<std::string> payloads = SmallPayloads(15, 8, 300);
  ASSERT_OK(WriteWal(fs_, path_, payloads));
  uint64_t file_size = 0;
  const std::vector<uint64_t> offsets = RecordOffsets(payloads, &file_size);
  ASSERT_OK(testing::FlipByte(fs_, path_, offsets[3] + 2, 0x10));  // length += 1 MiB

  ReadBack back = Read(fs_, path_);
  EXPECT_THAT(back.status, StatusIs(absl::StatusCode::kDataLoss,
                                    HasSubstr(absl::StrCat(" at offset ", offsets[3], ": "))));
  EXPECT_FALSE(back.result.torn_tail);
  EXPECT_EQ(back.result.corrupt_offset, offsets[3]);
  EXPECT_THAT(back.payloads, ElementsAreArray(Prefix(payloads, 3)));
}

TEST_F(WalReaderTest, BadHeaderIsDataLossAtOffsetZero) {
  std::string bad_magic = FileHeader(1);
  bad_magic[2] = 'X';
  std::string bad_checksum = FileHeader(1);
  bad_checksum[13] ^= 1;
  struct Case {
    std::string bytes;
    std::string reason;
  } cases[] = {
      {bad_magic + EncodeRecord("one"), "bad WAL magic"},
      {bad_checksum + EncodeRecord("one"), "WAL header checksum mismatch"},
      {FileHeader(2) + EncodeRecord("one"), "unsupported WAL format version 2"},
      {"BRWAX", "file of 5 bytes is shorter than a WAL header"},
      {"not a wal at all, just text", "bad WAL magic"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reason);
    ASSERT_OK(WriteFile(fs_, path_, c.bytes));
    ReadBack back = Read(fs_, path_);
    EXPECT_THAT(back.status, StatusIs(absl::StatusCode::kDataLoss,
                                      absl::StrCat(path_, " at offset 0: ", c.reason)));
    EXPECT_TRUE(back.result.corrupt);
    EXPECT_EQ(back.result.corrupt_offset, 0u);
    EXPECT_EQ(back.result.valid_end, 0u);
    EXPECT_EQ(back.result.records, 0u);
  }
}

TEST_F(WalReaderTest, CallbackErrorStopsTheReadAndIsReturned) {
  ASSERT_OK(WriteWal(fs_, path_, {"a", "b", "c"}));
  std::vector<std::string> seen;
  WalReadResult result;
  absl::Status s = ReadWal(
      fs_, path_,
      [&seen](std::string_view payload, uint64_t) {
        seen.emplace_back(payload);
        if (payload == "b") return absl::CancelledError("enough");
        return absl::OkStatus();
      },
      &result);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kCancelled, "enough"));
  EXPECT_THAT(seen, ElementsAreArray({"a", "b"}));
  EXPECT_EQ(result.records, 1u);
  EXPECT_EQ(result.valid_end, kWalFileHeaderSize + kWalRecordHeaderSize + 1);
}

// Flips the byte at every offset given and checks that the reader reports exactly the
// damage: kDataLoss at the start of the record holding it (0 for the file header), with the
// clean prefix delivered; or, only when the flip makes the last record's length run past
// end of file, a torn tail at that record.
void ExpectEveryFlipIsDetected(FileSystem* fs, const std::string& path,
                               const std::vector<std::string>& payloads,
                               const std::vector<uint64_t>& flip_offsets, uint8_t mask) {
  ASSERT_OK(WriteWal(fs, path, payloads));
  std::string log;
  ASSERT_OK(fs->ReadFileToString(path, &log));
  uint64_t file_size = 0;
  const std::vector<uint64_t> offsets = RecordOffsets(payloads, &file_size);
  ASSERT_EQ(log.size(), file_size);
  for (uint64_t flip : flip_offsets) {
    SCOPED_TRACE(absl::StrCat("flip at ", flip, " mask ", mask));
    std::string damaged = log;
    damaged[flip] = static_cast<char>(damaged[flip] ^ mask);
    // A new file each time: ext4 flushes a file truncated by rewriting it on close.
    const std::string damaged_path = absl::StrCat(path, ".flip", flip);
    ASSERT_OK(WriteFile(fs, damaged_path, damaged));
    // The record holding the flipped byte, if any.
    size_t record = payloads.size();
    for (size_t i = 0; i < offsets.size(); ++i) {
      if (offsets[i] <= flip) record = i;
    }
    const bool in_header = flip < kWalFileHeaderSize;
    bool expect_torn = false;
    if (!in_header && record == payloads.size() - 1 && flip < offsets[record] + 4) {
      std::string length_bytes = log.substr(offsets[record], 4);
      length_bytes[flip - offsets[record]] ^= static_cast<char>(mask);
      const uint32_t length = DecodeFixed32(length_bytes.data());
      expect_torn = length != 0 && length <= kWalMaxRecordPayload &&
                    offsets[record] + kWalRecordHeaderSize + length > file_size;
    }
    const uint64_t bad_offset = in_header ? 0 : offsets[record];
    const size_t good_records = in_header ? 0 : record;

    ReadBack back = Read(fs, damaged_path);
    ASSERT_OK(fs->DeleteFile(damaged_path));
    if (expect_torn) {
      EXPECT_OK(back.status);
      EXPECT_TRUE(back.result.torn_tail);
      EXPECT_FALSE(back.result.corrupt);
    } else {
      EXPECT_THAT(back.status,
                  StatusIs(absl::StatusCode::kDataLoss,
                           HasSubstr(absl::StrCat(damaged_path, " at offset ", bad_offset, ": "))));
      EXPECT_TRUE(back.result.corrupt);
      EXPECT_FALSE(back.result.torn_tail);
      EXPECT_EQ(back.result.corrupt_offset, bad_offset);
    }
    EXPECT_EQ(back.result.valid_end, bad_offset);
    EXPECT_EQ(back.result.records, good_records);
    ASSERT_THAT(back.payloads, ElementsAreArray(Prefix(payloads, good_records)));
  }
}

TEST_F(WalReaderTest, FlippedByteAnywhereInASmallLogIsDetected) {
  std::vector<std::string> payloads = SmallPayloads(17, 8, 40);
  payloads.insert(payloads.begin() + 3, "x");
  uint64_t file_size = 0;
  RecordOffsets(payloads, &file_size);
  std::vector<uint64_t> every_offset;
  for (uint64_t i = 0; i < file_size; ++i) every_offset.push_back(i);
  for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x40}, uint8_t{0xff}}) {
    ExpectEveryFlipIsDetected(fs_, path_, payloads, every_offset, mask);
  }
}

TEST_F(WalReaderTest, FlippedByteInALargeLogIsDetected) {
  std::mt19937_64 rng(19);
  std::vector<std::string> payloads = SmallPayloads(18, 200, 4000);
  payloads.push_back(RandomBytes(rng, 1 << 20));
  payloads.push_back(RandomBytes(rng, 30000));
  uint64_t file_size = 0;
  const std::vector<uint64_t> offsets = RecordOffsets(payloads, &file_size);
  std::vector<uint64_t> sample;
  for (int i = 0; i < 300; ++i) sample.push_back(rng() % file_size);
  // Every byte of the header and of each length field of the last two records.
  for (uint64_t i = 0; i < kWalFileHeaderSize; ++i) sample.push_back(i);
  for (size_t r = payloads.size() - 2; r < payloads.size(); ++r) {
    for (uint64_t i = 0; i < kWalRecordHeaderSize; ++i) sample.push_back(offsets[r] + i);
  }
  ExpectEveryFlipIsDetected(fs_, path_, payloads, sample, 0x04);
  ExpectEveryFlipIsDetected(fs_, path_, payloads, sample, 0xff);
}

TEST_F(WalWriterTest, OpenForAppendAfterTruncatingATornTailReadsBackEverything) {
  const std::vector<std::string> first = SmallPayloads(21, 12, 400);
  ASSERT_OK(WriteWal(fs_, path_, first));
  uint64_t file_size = 0;
  const std::vector<uint64_t> offsets = RecordOffsets(first, &file_size);
  ASSERT_OK(fs_->Truncate(path_, offsets.back() + 7));

  ReadBack recovered = Read(fs_, path_);
  ASSERT_OK(recovered.status);
  ASSERT_TRUE(recovered.result.torn_tail);
  ASSERT_OK(fs_->Truncate(path_, recovered.result.valid_end));

  const std::vector<std::string> second = SmallPayloads(22, 9, 400);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WalWriter> writer, WalWriter::OpenForAppend(fs_, path_));
  EXPECT_EQ(writer->size(), recovered.result.valid_end);
  for (const std::string& p : second) ASSERT_OK(writer->AddRecord(p));
  ASSERT_OK(writer->Sync());
  ASSERT_OK(writer->Close());

  std::vector<std::string> all = Prefix(first, first.size() - 1);
  all.insert(all.end(), second.begin(), second.end());
  ReadBack back = Read(fs_, path_);
  ASSERT_OK(back.status);
  EXPECT_FALSE(back.result.torn_tail);
  EXPECT_EQ(back.result.valid_end, back.result.file_size);
  EXPECT_THAT(back.payloads, ElementsAreArray(all));
}

TEST_F(WalWriterTest, OpenForAppendWritesTheHeaderIntoAnEmptyFile) {
  ASSERT_OK(WriteFile(fs_, path_, ""));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WalWriter> writer, WalWriter::OpenForAppend(fs_, path_));
  ASSERT_OK(writer->AddRecord("after a crash during creation"));
  ASSERT_OK(writer->Close());
  EXPECT_THAT(Read(fs_, path_).payloads, ElementsAreArray({"after a crash during creation"}));

  const std::string missing = dir_.Sub("000002.wal");
  ASSERT_OK_AND_ASSIGN(writer, WalWriter::OpenForAppend(fs_, missing));
  ASSERT_OK(writer->AddRecord("new"));
  ASSERT_OK(writer->Close());
  EXPECT_THAT(Read(fs_, missing).payloads, ElementsAreArray({"new"}));
}

TEST_F(WalWriterTest, OpenForAppendRefusesABadOrTornHeader) {
  ASSERT_OK(WriteFile(fs_, path_, "BRWAL002" + std::string(8, 'x')));
  EXPECT_THAT(WalWriter::OpenForAppend(fs_, path_),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path_ + " at offset 0: ")));
  ASSERT_OK(WriteFile(fs_, path_, FileHeader(1).substr(0, 9)));
  EXPECT_THAT(WalWriter::OpenForAppend(fs_, path_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path_)));
}

}  // namespace
}  // namespace burnrate
