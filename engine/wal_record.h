#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "burnrate/write_batch.h"

// Payloads of WAL records (the framing is storage/wal.h). Layout: docs/format/wal.md,
// section "Payloads".

namespace burnrate {

enum class WalRecordType : uint8_t {
  kWriteBatch = 1,
};

// Appends the record for `batch`, written to database id `database_id`, to *out.
void EncodeWriteBatchRecord(uint32_t database_id, const WriteBatch& batch, std::string* out);

struct DecodedWriteBatch {
  uint32_t database_id = 0;
  WriteBatch batch{""};
};

// Decodes a record payload; kDataLoss (with the reason; the caller adds file and offset)
// when malformed.
[[nodiscard]] absl::StatusOr<DecodedWriteBatch> DecodeWriteBatchRecord(std::string_view payload);

}  // namespace burnrate
