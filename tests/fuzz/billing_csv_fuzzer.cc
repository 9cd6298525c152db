// The billing file decoders on arbitrary bytes: compression sniffing (gzip, zip), the CSV
// reader, format detection and every row mapper, tag and time parsing, and the exact split
// of a row's cost over the hours it covers. They must not crash, and (checks below abort on
// a violation):
// - a mapped row's charge period is not inverted, and a bad row names a column within it;
// - the hourly pieces of every amount add up to the amount exactly.
// The first byte picks the format (auto, cur, cur2, focus, azure, gcp, oci) and whether the
// file name says "amortized"; the rest is the file.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/billing_csv.h"
#include "ingest/billing_formats.h"
#include "ingest/billing_import.h"
#include "ingest/billing_input.h"
#include "ingest/billing_literal.h"
#include "ingest/billing_time.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "billing_csv_fuzzer: %s\n", what);
  std::abort();
}

void CheckSplit(const burnrate::BillingRecord& r) {
  using burnrate::kNanosPerHour;
  const int64_t total = r.end - r.start;
  if (total <= 0 || total > 1000 * kNanosPerHour) return;
  const int64_t first_hour = r.start - ((r.start % kNanosPerHour) + kNanosPerHour) % kNanosPerHour;
  std::vector<int64_t> cumulative;
  for (int64_t h = first_hour + kNanosPerHour;; h += kNanosPerHour) {
    cumulative.push_back(std::min(h, r.end) - r.start);
    if (h >= r.end) break;
  }
  std::vector<burnrate::Money> pieces;
  for (const auto& m : {r.billed_cost, r.effective_cost, r.list_cost}) {
    if (!m) continue;
    burnrate::SplitMoneyExactly(*m, cumulative, total, &pieces);
    __int128 sum = 0;
    for (const burnrate::Money& p : pieces) sum += p.units();
    if (sum != m->units()) Fail("hourly pieces do not add up to the amount");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr burnrate::BillingFormat kFormats[] = {
      burnrate::BillingFormat::kAuto,  burnrate::BillingFormat::kCur,
      burnrate::BillingFormat::kCur2,  burnrate::BillingFormat::kFocus,
      burnrate::BillingFormat::kAzure, burnrate::BillingFormat::kGcp,
      burnrate::BillingFormat::kOci};
  const burnrate::BillingFormat format = kFormats[data[0] % 7];
  const std::string name = (data[0] & 0x80) != 0 ? "AmortizedCost.csv" : "fuzz.csv";
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto inputs = burnrate::ListCsvInputs(burnrate::NewRandomAccessBuffer(name, body));
  if (!inputs.ok()) return 0;
  for (const burnrate::CsvInput& input : *inputs) {
    auto stream = input.open();
    if (!stream.ok()) continue;
    burnrate::CsvReader reader(std::move(*stream), input.name, 1 << 20);
    auto more = reader.Next();
    if (!more.ok() || !*more) continue;
    std::vector<std::string> header(reader.fields().begin(), reader.fields().end());
    std::vector<std::string_view> views(header.begin(), header.end());
    burnrate::MapperOptions options;
    options.file_name = name;
    auto mapper = burnrate::NewBillingRowMapper(format, views, options);
    burnrate::BillingRecord record;
    burnrate::RowProblem problem;
    burnrate::TagList tags;
    while (true) {
      more = reader.Next();
      if (!more.ok() || !*more) break;
      for (std::string_view field : reader.fields()) {
        tags.clear();
        (void)burnrate::ParseTagObject(field, &tags);
        (void)burnrate::ParseKeyValueRecords(field, &tags);
        (void)burnrate::ParseBillingTime(field);
        (void)burnrate::ParseMoneyCell(field);
      }
      if (!mapper.ok()) continue;
      record.Clear();
      if ((*mapper)->Map(reader.fields(), &record, &problem)) {
        if (record.end < record.start) Fail("charge period ends before it starts");
        (void)(*mapper)->SourceProvider(record);
        CheckSplit(record);
      } else if (problem.column > reader.fields().size() + 1 && problem.column > header.size()) {
        Fail("a bad row names a column beyond the row");
      }
    }
  }
  return 0;
}
