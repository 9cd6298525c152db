#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "burnrate/money.h"
#include "burnrate/types.h"
#include "ingest/billing_literal.h"

// Readers that map one CSV row of a cloud billing export to one normalised billing record.
// Which column feeds which part of the record, per format, is documented in docs/billing.md.

namespace burnrate {

enum class BillingFormat : uint8_t {
  kAuto,
  kCur,    // AWS Cost and Usage Report, legacy (category/Name or Athena snake_case headers)
  kCur2,   // AWS Data Exports, CUR 2.0 (snake_case with map columns)
  kFocus,  // FOCUS 0.5 to 1.2, any provider
  kAzure,  // Azure cost details (EA and MCA, actual or amortized)
  kGcp,    // Google Cloud BigQuery billing export flattened to CSV (standard or detailed)
  kOci,    // Oracle Cloud cost reports
};

// "auto", "cur", "cur2", "focus", "azure", "gcp", "oci".
std::string_view BillingFormatName(BillingFormat format);
// The inverse of BillingFormatName; kInvalidArgument listing the names otherwise.
[[nodiscard]] absl::StatusOr<BillingFormat> ParseBillingFormat(std::string_view name);

// Which Azure cost dataset a file holds: actual cost feeds billed_cost only, amortized cost
// feeds effective_cost only (see docs/billing.md).
enum class AzureDataset : uint8_t { kAuto, kActual, kAmortized };

// The format a header names, or kAuto when it matches none.
BillingFormat DetectBillingFormat(std::span<const std::string_view> header);

// One row of any format, normalised. Strings are empty when the row has no value.
// A value type, reused across rows to keep their allocations. Thread-compatible.
struct BillingRecord {
  std::string cloud;            // aws, azure, gcp, oci, or the FOCUS provider name, lowercased
  std::string billing_account;  // payer / billing account / billing profile / tenancy
  std::string account;          // linked account / subscription / project / compartment
  std::string resource;
  std::string service;
  std::string sku;
  std::string region;
  std::string charge_category;  // usage, purchase, tax, credit, adjustment, refund, other
  std::string charge_type;      // the source's own finer type (CUR LineItemType, ...)
  std::string currency;
  std::string billing_period;  // YYYY-MM
  std::string line_item_id;    // the source's row identity, when it has one
  std::string usage_unit;
  std::optional<Money> billed_cost;
  std::optional<Money> effective_cost;
  std::optional<Money> list_cost;
  std::optional<Money> gross_cost;  // GCP: cost before credits
  std::optional<double> usage_quantity;
  TimestampNs start = 0;  // charge period, [start, end)
  TimestampNs end = 0;
  TagList tags;  // resource tags, keys without the provider's encoding

  void Clear();
};

// Why a row could not be mapped: the 1-based column (0 for the row as a whole) and why.
struct RowProblem {
  size_t column = 0;
  std::string message;
};

struct MapperOptions {
  // Used to guess the Azure dataset when kAuto: a name containing "amortized" is amortized.
  std::string file_name;
  AzureDataset azure_dataset = AzureDataset::kAuto;
};

// Maps rows of one CSV header. Not thread-safe; one per file.
class BillingRowMapper {
 public:
  virtual ~BillingRowMapper() = default;

  // Fills *record from fields (a row shorter than the header has empty trailing fields).
  // Returns false and fills *problem for a bad value or a row longer than the header.
  virtual bool Map(std::span<const std::string_view> fields, BillingRecord* record,
                   RowProblem* problem) = 0;

  // The provider part of a source key for a mapped record: aws-cur, aws-cur2,
  // focus-<cloud>, azure-actual, azure-amortized, gcp, oci.
  virtual std::string SourceProvider(const BillingRecord& record) const = 0;

  virtual BillingFormat format() const = 0;
};

// A mapper for header in format (kAuto detects it). kInvalidArgument when the header does
// not match the format, or matches none ("cannot tell the billing format of ...").
[[nodiscard]] absl::StatusOr<std::unique_ptr<BillingRowMapper>> NewBillingRowMapper(
    BillingFormat format, std::span<const std::string_view> header, const MapperOptions& options);

// Parses a money cell leniently: surrounding spaces, a leading '$' and thousands separators
// in groups of three ("$10,100.00 ") are accepted besides what Money::Parse takes.
[[nodiscard]] absl::StatusOr<Money> ParseMoneyCell(std::string_view text);

// A header name reduced for matching across spellings: ASCII letters and digits only,
// lowercased ("lineItem/UnblendedCost" and "line_item_unblended_cost" are both
// "lineitemunblendedcost").
std::string LooseColumnKey(std::string_view name);

}  // namespace burnrate
