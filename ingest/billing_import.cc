#include "ingest/billing_import.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "base/json_string.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "ingest/billing_csv.h"
#include "ingest/billing_literal.h"
#include "ingest/billing_time.h"

namespace burnrate {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxTagValueBytes = 4096;
constexpr uint64_t kProgressEveryRows = 4096;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::string EscapeKeyPart(std::string_view part) {
  std::string out;
  out.reserve(part.size());
  for (const char c : part) {
    if (c == '%') {
      out += "%25";
    } else if (c == ':') {
      out += "%3A";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool HasControlByte(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f;
  });
}

// A tag value the engine accepts: control bytes become spaces, and very long values are cut
// (tags are dimensions, not documents).
std::string_view CleanTagValue(std::string_view v, std::string* scratch) {
  if (v.size() > kMaxTagValueBytes) {
    size_t cut = kMaxTagValueBytes;
    while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
    v = v.substr(0, cut);
  }
  if (!HasControlByte(v)) return v;
  scratch->assign(v.data(), v.size());
  for (char& c : *scratch) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f) c = ' ';
  }
  return *scratch;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool EndsWithLower(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) !=
        suffix[i]) {
      return false;
    }
  }
  return true;
}

bool IsDataFileName(std::string_view name) {
  for (std::string_view ext : {".csv", ".csv.gz", ".gz", ".zip", ".parquet"}) {
    if (EndsWithLower(name, ext)) return true;
  }
  return false;
}

// "yyyymmdd-yyyymmdd", the folder of one CUR billing period.
bool IsCurPeriodDirName(std::string_view name) {
  if (name.size() != 17 || name[8] != '-') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (i != 8 && !absl::ascii_isdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  return true;
}

// "BILLING_PERIOD=YYYY-MM", a Data Exports partition; *period gets YYYY-MM.
bool IsExportPeriodDirName(std::string_view name, std::string* period) {
  constexpr std::string_view kPrefix = "BILLING_PERIOD=";
  if (!name.starts_with(kPrefix)) return false;
  const std::string_view p = name.substr(kPrefix.size());
  if (p.size() != 7 || p[4] != '-') return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (i != 4 && !absl::ascii_isdigit(static_cast<unsigned char>(p[i]))) return false;
  }
  *period = std::string(p);
  return true;
}

struct FileStat {
  bool exists = false;
  uint64_t size = 0;
  TimestampNs mtime = 0;
};

FileStat StatFile(const std::string& path) {
  struct stat st;
  FileStat out;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return out;
  out.exists = true;
  out.size = static_cast<uint64_t>(st.st_size);
  out.mtime = static_cast<TimestampNs>(st.st_mtim.tv_sec) * kNanosPerSecond + st.st_mtim.tv_nsec;
  return out;
}

std::string Relative(const fs::path& p, const fs::path& root) {
  std::error_code ec;
  fs::path rel = fs::relative(p, root, ec);
  if (ec || rel.empty() || rel == ".") return p.filename().string();
  return rel.generic_string();
}

bool IsUnder(const fs::path& p, const fs::path& dir) {
  auto d = dir.begin();
  auto q = p.begin();
  for (; d != dir.end(); ++d, ++q) {
    if (q == p.end() || *d != *q) return false;
  }
  return true;
}

void AddFileFingerprint(const std::string& path, const fs::path& root, BillingDelivery* d) {
  const FileStat st = StatFile(path);
  StrAppend(&d->fingerprint, Relative(path, root), "=", st.size, "@", st.mtime, ";");
  d->newest_mtime = std::max(d->newest_mtime, st.mtime);
}

// A CUR manifest: the report keys of one assembly.
struct CurManifest {
  std::string assembly_id;
  std::string report_name;
  std::string account;
  std::string billing_period;
  std::vector<std::string> report_keys;
  std::vector<std::string> columns;
};

absl::StatusOr<CurManifest> ReadCurManifest(const std::string& path) {
  BR_ASSIGN_OR_RETURN(const std::string text, ReadSmallFile(path));
  absl::StatusOr<LooseValue> v = ParseLooseValue(text);
  if (!v.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", v.status().message()));
  if (v->kind != LooseValue::Kind::kObject) {
    return absl::InvalidArgumentError(StrCat(path, ": manifest is not a JSON object"));
  }
  CurManifest m;
  m.assembly_id = std::string(v->TextOf("assemblyId"));
  m.report_name = std::string(v->TextOf("reportName"));
  m.account = std::string(v->TextOf("account"));
  if (const LooseValue* period = v->Find("billingPeriod")) {
    const std::string_view start = period->TextOf("start");
    if (absl::StatusOr<TimestampNs> t = ParseBillingTime(start); t.ok()) {
      m.billing_period = MonthOf(*t);
    }
  }
  const LooseValue* keys = v->Find("reportKeys");
  if (keys == nullptr || keys->kind != LooseValue::Kind::kList) {
    return absl::InvalidArgumentError(StrCat(path, ": manifest has no reportKeys list"));
  }
  for (const LooseValue& k : keys->items) {
    if (k.kind == LooseValue::Kind::kString && !k.text.empty()) m.report_keys.push_back(k.text);
  }
  if (const LooseValue* cols = v->Find("columns"); cols != nullptr) {
    for (const LooseValue& c : cols->items) {
      const std::string_view category = c.TextOf("category");
      const std::string_view name = c.TextOf("name");
      if (!name.empty()) m.columns.push_back(StrCat(category, "/", name));
    }
  }
  return m;
}

// Resolves an S3 report key against the local period folder: the part of the key after
// the period folder's name, or else its last component under base.
std::string ResolveReportKey(std::string_view key, const fs::path& period_dir,
                             const fs::path& base) {
  const std::string period_name = period_dir.filename().string();
  std::vector<std::string_view> parts;
  for (size_t start = 0; start <= key.size();) {
    const size_t slash = key.find('/', start);
    const std::string_view part =
        key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == period_name && i + 1 < parts.size()) {
      fs::path p = period_dir;
      for (size_t j = i + 1; j < parts.size(); ++j) p /= std::string(parts[j]);
      return p.string();
    }
  }
  return (base / std::string(parts.empty() ? std::string_view(key) : parts.back())).string();
}

void AddCurDelivery(const CurManifest& m, const fs::path& manifest_path, const fs::path& period_dir,
                    const fs::path& base, const fs::path& root, std::vector<BillingDelivery>* out) {
  BillingDelivery d;
  d.id = Relative(base, root);
  d.provider = "aws-cur";
  d.billing_account = m.account;
  d.billing_period = m.billing_period;
  if (d.billing_period.empty()) {
    const std::string name = period_dir.filename().string();
    if (IsCurPeriodDirName(name))
      d.billing_period = StrCat(name.substr(0, 4), "-", name.substr(4, 2));
  }
  d.export_name =
      m.report_name.empty() ? period_dir.parent_path().filename().string() : m.report_name;
  d.manifest_columns = m.columns;
  d.fingerprint = StrCat("assembly=", m.assembly_id, ";");
  AddFileFingerprint(manifest_path.string(), root, &d);
  std::vector<std::string> missing;
  for (const std::string& key : m.report_keys) {
    const std::string file = ResolveReportKey(key, period_dir, base);
    if (!StatFile(file).exists) {
      missing.push_back(Relative(file, root));
      continue;
    }
    d.files.push_back(file);
    AddFileFingerprint(file, root, &d);
  }
  if (!missing.empty()) {
    d.complete = false;
    d.incomplete_reason =
        StrCat("assembly ", m.assembly_id, ": ", missing.size(), " of ", m.report_keys.size(),
               " report files missing (first: ", missing.front(), ")");
  }
  if (m.report_keys.empty()) d.notes.push_back("the manifest names no report files");
  out->push_back(std::move(d));
}

// "8-4-4-4-12" hexadecimal digits, the name of an Azure export run folder.
bool IsGuid(std::string_view name) {
  if (name.size() != 36) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? name[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(name[i]))) {
      return false;
    }
  }
  return true;
}

// An Azure Cost Management export manifest: one run of one export.
struct AzureManifest {
  fs::path path;
  std::string export_name;
  std::string type;         // exportConfig.type: ActualCost, AmortizedCost, FocusCost, ...
  std::string resource_id;  // the scope, e.g. /subscriptions/<id>, lowercased
  std::string run_id;
  std::string period;         // YYYY-MM of runInfo.startDate
  TimestampNs submitted = 0;  // runInfo.submittedTime; 0 when absent
  std::string file_format;    // deliveryConfig.fileFormat
  struct Blob {
    std::string name;
    std::optional<uint64_t> bytes;
  };
  std::vector<Blob> blobs;
};

// An Azure export manifest is "manifest.json" itself; AWS manifests are
// "<report>-Manifest.json".
bool IsAzureManifestName(std::string_view name) {
  return name.size() == 13 && EndsWithLower(name, "manifest.json");
}

absl::StatusOr<AzureManifest> ReadAzureManifest(const fs::path& path) {
  const std::string p = path.string();
  BR_ASSIGN_OR_RETURN(const std::string text, ReadSmallFile(p));
  absl::StatusOr<LooseValue> v = ParseLooseValue(text);
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        StrCat(p, ": malformed Azure export manifest: ", v.status().message()));
  }
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(StrCat(p, ": malformed Azure export manifest: ", what));
  };
  if (v->kind != LooseValue::Kind::kObject) return bad("not a JSON object");
  const LooseValue* config = v->Find("exportConfig");
  const LooseValue* run = v->Find("runInfo");
  const LooseValue* blobs = v->Find("blobs");
  if (config == nullptr || config->kind != LooseValue::Kind::kObject) {
    return bad("no exportConfig object");
  }
  if (run == nullptr || run->kind != LooseValue::Kind::kObject) return bad("no runInfo object");
  if (blobs == nullptr || blobs->kind != LooseValue::Kind::kList) return bad("no blobs list");
  AzureManifest m;
  m.path = path;
  m.export_name = std::string(config->TextOf("exportName"));
  m.type = std::string(config->TextOf("type"));
  // The scope is the export's resource id without its exports/<name> part, lowercased, as
  // Microsoft's FinOps hubs derive it.
  m.resource_id = absl::AsciiStrToLower(std::string(config->TextOf("resourceId")));
  if (const size_t at = m.resource_id.find("/providers/microsoft.costmanagement/exports/");
      at != std::string::npos) {
    m.resource_id.resize(at);
  }
  if (m.type.empty()) return bad("exportConfig.type is missing");
  if (m.resource_id.empty()) return bad("exportConfig.resourceId is missing");
  m.run_id = std::string(run->TextOf("runId"));
  const std::string_view start = run->TextOf("startDate");
  absl::StatusOr<TimestampNs> start_time = ParseBillingTime(start);
  if (!start_time.ok()) {
    return bad(StrCat("runInfo.startDate \"", start, "\" is not a date"));
  }
  m.period = MonthOf(*start_time);
  if (const std::string_view submitted = run->TextOf("submittedTime"); !submitted.empty()) {
    absl::StatusOr<TimestampNs> t = ParseBillingTime(submitted);
    if (!t.ok()) return bad(StrCat("runInfo.submittedTime \"", submitted, "\" is not a time"));
    m.submitted = *t;
  }
  if (const LooseValue* delivery = v->Find("deliveryConfig"); delivery != nullptr) {
    m.file_format = std::string(delivery->TextOf("fileFormat"));
  }
  for (const LooseValue& b : blobs->items) {
    AzureManifest::Blob blob;
    blob.name = std::string(b.TextOf("blobName"));
    if (blob.name.empty()) return bad("a blob without blobName");
    if (const std::string_view n = b.TextOf("byteCount"); !n.empty()) {
      uint64_t bytes = 0;
      for (const char c : n) {
        if (c < '0' || c > '9' || bytes > UINT64_MAX / 10) {
          return bad(StrCat("byteCount \"", n, "\" of ", blob.name, " is not a size"));
        }
        bytes = bytes * 10 + static_cast<uint64_t>(c - '0');
      }
      blob.bytes = bytes;
    }
    m.blobs.push_back(std::move(blob));
  }
  return m;
}

// The source key's provider part and the format of an Azure dataset type; false for
// datasets that are not cost line items (price sheets, reservation details, ...).
bool AzureDatasetOf(std::string_view type, std::string* provider, BillingFormat* format,
                    AzureDataset* dataset) {
  const std::string t = absl::AsciiStrToLower(std::string(type));
  if (t == "actualcost" || t == "usage") {
    *provider = "azure-actual";
    *format = BillingFormat::kAzure;
    *dataset = AzureDataset::kActual;
  } else if (t == "amortizedcost") {
    *provider = "azure-amortized";
    *format = BillingFormat::kAzure;
    *dataset = AzureDataset::kAmortized;
  } else if (t == "focuscost") {
    *provider = "focus-azure";
    *format = BillingFormat::kFocus;
    *dataset = AzureDataset::kAuto;
  } else {
    return false;
  }
  return true;
}

// The delivery of the newest run of one partition; `older` are the partition's other runs.
BillingDelivery AzureDelivery(const AzureManifest& m, size_t older, const fs::path& root) {
  BillingDelivery d;
  const fs::path run_dir = m.path.parent_path();
  // {export-name}/{export-time}/{guid}: the export folder holds every run of the partition.
  const fs::path export_dir = run_dir.parent_path().parent_path();
  d.id = Relative(IsUnder(export_dir, root) && export_dir != root ? export_dir : run_dir, root);
  if (absl::AsciiStrToLower(m.file_format) == "parquet") {
    d.error = StrCat(m.path.string(), ": Parquet input is not supported yet: export ",
                     m.export_name, " delivers Parquet; export CSV");
  } else if (!AzureDatasetOf(m.type, &d.provider, &d.format, &d.azure_dataset)) {
    d.error = StrCat(m.path.string(), ": Azure export dataset ", m.type,
                     " is not cost details (ActualCost, AmortizedCost or FocusCost)");
  }
  d.billing_account = m.resource_id;
  d.billing_period = m.period;
  // The key names the partition, not the export: two exports of one scope, dataset and
  // month replace each other, as Microsoft's FinOps hubs do.
  d.export_name = absl::AsciiStrToLower(m.type);
  d.fingerprint = StrCat("run=", m.run_id, ";");
  AddFileFingerprint(m.path.string(), root, &d);
  d.notes.push_back(StrCat("Azure export ", m.export_name, " (", m.type, ", ", m.resource_id, ", ",
                           m.period, "), run ", m.run_id, " submitted ",
                           m.submitted == 0 ? std::string("?") : FormatBillingTime(m.submitted)));
  if (older > 0) {
    d.notes.push_back(StrCat(older, " older run", older == 1 ? "" : "s",
                             " of the same partition ignored (superseded)"));
  }
  size_t missing = 0;
  std::string first_problem;
  for (const AzureManifest::Blob& blob : m.blobs) {
    const std::string file = ResolveReportKey(blob.name, run_dir, run_dir);
    const FileStat st = StatFile(file);
    std::string problem;
    if (!st.exists) {
      problem = StrCat(Relative(file, root), " missing");
    } else if (blob.bytes && st.size != *blob.bytes) {
      problem = StrCat(Relative(file, root), " has ", st.size, " of ", *blob.bytes, " bytes");
    }
    if (!problem.empty()) {
      if (missing++ == 0) first_problem = std::move(problem);
      continue;
    }
    d.files.push_back(file);
    AddFileFingerprint(file, root, &d);
  }
  if (missing > 0) {
    d.complete = false;
    d.incomplete_reason = StrCat("run ", m.run_id, ": ", missing, " of ", m.blobs.size(),
                                 " blobs not there in full yet (first: ", first_problem, ")");
  }
  if (m.blobs.empty()) d.notes.push_back("the manifest names no blobs");
  return d;
}

// Finds the Azure export runs among files, adds one delivery per partition (its newest run)
// to *out, and the folders of every run to *claimed.
void FindAzureDeliveries(const std::vector<fs::path>& files, const fs::path& root,
                         std::vector<BillingDelivery>* out, std::vector<fs::path>* claimed) {
  // By partition: scope, dataset and month, case-insensitively.
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<AzureManifest>> runs;
  for (const fs::path& f : files) {
    if (!IsAzureManifestName(f.filename().string())) continue;
    const fs::path dir = f.parent_path();
    // AWS CUR keeps manifests in period folders (yyyymmdd-yyyymmdd) and their assemblies.
    if (IsCurPeriodDirName(dir.filename().string()) ||
        IsCurPeriodDirName(dir.parent_path().filename().string())) {
      continue;
    }
    claimed->push_back(dir);
    absl::StatusOr<AzureManifest> m = ReadAzureManifest(f);
    if (!m.ok()) {
      BillingDelivery bad;
      bad.id = Relative(dir, root);
      bad.error = std::string(m.status().message());
      AddFileFingerprint(f.string(), root, &bad);
      out->push_back(std::move(bad));
      continue;
    }
    runs[{m->resource_id, absl::AsciiStrToLower(m->type), m->period}].push_back(std::move(*m));
  }
  // Azure writes manifest.json after the blobs: a run folder (named by a GUID) holding data
  // but no manifest yet is still being delivered.
  std::set<fs::path> waiting;
  for (const fs::path& f : files) {
    const fs::path dir = f.parent_path();
    if (!IsDataFileName(f.filename().string()) || !IsGuid(dir.filename().string()) ||
        IsCurPeriodDirName(dir.parent_path().filename().string()) || dir == root ||
        std::find(claimed->begin(), claimed->end(), dir) != claimed->end() ||
        !waiting.insert(dir).second) {
      continue;
    }
    BillingDelivery d;
    d.id = Relative(dir, root);
    d.complete = false;
    d.incomplete_reason = "Azure export run folder without its manifest.json yet";
    AddFileFingerprint(f.string(), root, &d);
    out->push_back(std::move(d));
  }
  claimed->insert(claimed->end(), waiting.begin(), waiting.end());
  for (auto& [partition, list] : runs) {
    // Newest submission last; the run id and path only make the order total.
    std::sort(list.begin(), list.end(), [](const AzureManifest& a, const AzureManifest& b) {
      return std::tie(a.submitted, a.run_id, a.path) < std::tie(b.submitted, b.run_id, b.path);
    });
    out->push_back(AzureDelivery(list.back(), list.size() - 1, root));
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Summaries

std::string RowError::ToString() const {
  if (line == 0) return StrCat(file, ": ", message);
  return StrCat(file, ":", line, ": column ", column, ": ", message);
}

std::vector<std::string> ImportSummary::Periods() const {
  std::set<std::string> periods;
  for (const SourceResult& s : sources) periods.insert(s.billing_period);
  return {periods.begin(), periods.end()};
}

void ImportSummary::Merge(const ImportSummary& o) {
  deliveries.insert(deliveries.end(), o.deliveries.begin(), o.deliveries.end());
  files.insert(files.end(), o.files.begin(), o.files.end());
  formats.insert(formats.end(), o.formats.begin(), o.formats.end());
  source_bytes += o.source_bytes;
  csv_bytes += o.csv_bytes;
  rows_read += o.rows_read;
  rows_imported += o.rows_imported;
  rows_skipped += o.rows_skipped;
  points_written += o.points_written;
  errors.insert(errors.end(), o.errors.begin(), o.errors.end());
  sources.insert(sources.end(), o.sources.begin(), o.sources.end());
  for (const auto& [currency, t] : o.totals) {
    CurrencyTotals& mine = totals[currency];
    mine.billed_cost.Merge(t.billed_cost);
    mine.effective_cost.Merge(t.effective_cost);
    mine.list_cost.Merge(t.list_cost);
  }
  notes.insert(notes.end(), o.notes.begin(), o.notes.end());
}

namespace {

void AppendJsonStrings(const std::vector<std::string>& v, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, v[i]);
  }
  out->push_back(']');
}

void AppendJsonTotals(const std::map<std::string, CurrencyTotals>& totals, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& [currency, t] : totals) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, currency);
    out->append(":{\"billed_cost\":");
    AppendJsonString(out, t.billed_cost.ToString());
    out->append(",\"effective_cost\":");
    AppendJsonString(out, t.effective_cost.ToString());
    out->append(",\"list_cost\":");
    AppendJsonString(out, t.list_cost.ToString());
    out->push_back('}');
  }
  out->push_back('}');
}

}  // namespace

std::string ImportSummaryToJson(const ImportSummary& s) {
  std::string out = "{\"deliveries\":";
  AppendJsonStrings(s.deliveries, &out);
  out += ",\"files\":";
  AppendJsonStrings(s.files, &out);
  out += ",\"formats\":";
  AppendJsonStrings(s.formats, &out);
  StrAppend(&out, ",\"source_bytes\":", s.source_bytes, ",\"csv_bytes\":", s.csv_bytes,
            ",\"rows_read\":", s.rows_read, ",\"rows_imported\":", s.rows_imported,
            ",\"rows_skipped\":", s.rows_skipped, ",\"points_written\":", s.points_written);
  out += ",\"errors\":[";
  for (size_t i = 0; i < s.errors.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += "{\"file\":";
    AppendJsonString(&out, s.errors[i].file);
    StrAppend(&out, ",\"line\":", s.errors[i].line, ",\"column\":", s.errors[i].column,
              ",\"message\":");
    AppendJsonString(&out, s.errors[i].message);
    out.push_back('}');
  }
  out += "],\"periods\":";
  AppendJsonStrings(s.Periods(), &out);
  out += ",\"sources\":[";
  for (size_t i = 0; i < s.sources.size(); ++i) {
    const SourceResult& src = s.sources[i];
    if (i > 0) out.push_back(',');
    out += "{\"key\":";
    AppendJsonString(&out, src.key);
    out += ",\"billing_period\":";
    AppendJsonString(&out, src.billing_period);
    StrAppend(&out, ",\"rows\":", src.rows, ",\"points\":", src.points,
              ",\"replaced\":", src.replaced ? "true" : "false");
    if (src.replaced) {
      out += ",\"replaced_written_at\":";
      AppendJsonString(&out, FormatBillingTime(src.replaced_written_at));
    }
    out += ",\"totals\":";
    AppendJsonTotals(src.totals, &out);
    out.push_back('}');
  }
  out += "],\"totals\":";
  AppendJsonTotals(s.totals, &out);
  out += ",\"notes\":";
  AppendJsonStrings(s.notes, &out);
  out.push_back('}');
  return out;
}

std::string MakeBillingSourceKey(std::string_view provider, std::string_view billing_account,
                                 std::string_view billing_period, std::string_view export_name) {
  return StrCat(EscapeKeyPart(provider), ":",
                billing_account.empty() ? std::string("unknown") : EscapeKeyPart(billing_account),
                ":", EscapeKeyPart(billing_period), ":", EscapeKeyPart(export_name));
}

std::string ExportNameOf(std::string_view path) {
  // A zip member is exported under its archive's name.
  path = path.substr(0, path.find('!'));
  const size_t slash = path.find_last_of('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (std::string_view ext : {".gz", ".zip", ".csv", ".parquet", ".txt"}) {
      if (name.size() > ext.size() && EndsWithLower(name, ext)) {
        name.remove_suffix(ext.size());
        stripped = true;
      }
    }
  }
  return name.empty() ? std::string("billing") : std::string(name);
}

void SplitMoneyExactly(Money amount, std::span<const int64_t> cumulative, int64_t total,
                       std::vector<Money>* pieces) {
  pieces->clear();
  const __int128 a = amount.units();
  __int128 previous = 0;
  for (const int64_t c : cumulative) {
    // Truncation toward zero keeps the split symmetric for negative amounts.
    const __int128 f = a * c / total;
    pieces->push_back(Money::FromUnits(static_cast<int64_t>(f - previous)));
    previous = f;
  }
}

// ---------------------------------------------------------------------------------------
// Finding deliveries

absl::StatusOr<std::vector<BillingDelivery>> FindBillingDeliveries(const std::string& root_path) {
  std::error_code ec;
  fs::path root = fs::absolute(fs::path(root_path), ec).lexically_normal();
  if (ec) return absl::InvalidArgumentError(StrCat(root_path, ": ", ec.message()));
  if (root.filename().empty()) root = root.parent_path();
  const fs::file_status root_status = fs::status(root, ec);
  if (ec || !fs::exists(root_status)) {
    return absl::NotFoundError(StrCat(root_path, ": no such file or directory"));
  }
  std::vector<BillingDelivery> out;
  if (!fs::is_directory(root_status)) {
    // A file keeps the spelling it was given, for messages.
    BillingDelivery d;
    d.id = root.filename().string();
    d.files.push_back(root_path);
    AddFileFingerprint(root_path, root.parent_path(), &d);
    out.push_back(std::move(d));
    return out;
  }

  std::vector<fs::path> files;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) files.push_back(it->path().lexically_normal());
  }
  if (ec) return absl::UnavailableError(StrCat("list ", root_path, ": ", ec.message()));
  std::sort(files.begin(), files.end());

  // Folders whose files belong to a delivery found through a manifest or partition.
  std::vector<fs::path> claimed;
  auto is_claimed = [&](const fs::path& p) {
    return std::any_of(claimed.begin(), claimed.end(),
                       [&](const fs::path& dir) { return IsUnder(p, dir); });
  };

  // Azure Cost Management export runs.
  FindAzureDeliveries(files, root, &out, &claimed);

  // AWS CUR report versions.
  for (const fs::path& f : files) {
    const std::string name = f.filename().string();
    if (!EndsWithLower(name, "manifest.json") || is_claimed(f)) continue;
    const fs::path dir = f.parent_path();
    const bool period_level = IsCurPeriodDirName(dir.filename().string());
    const bool assembly_level =
        !period_level && IsCurPeriodDirName(dir.parent_path().filename().string());
    if (!period_level && !assembly_level) continue;
    if (assembly_level && IsUnder(dir.parent_path(), root)) {
      // Inside a period folder the period-level manifest says which assembly is current.
      continue;
    }
    absl::StatusOr<CurManifest> m = ReadCurManifest(f.string());
    BillingDelivery bad;
    if (!m.ok()) {
      bad.id = Relative(dir, root);
      bad.complete = false;
      bad.incomplete_reason = std::string(m.status().message());
      AddFileFingerprint(f.string(), root, &bad);
      out.push_back(std::move(bad));
      claimed.push_back(dir);
      continue;
    }
    const fs::path period_dir = period_level ? dir : dir.parent_path();
    AddCurDelivery(*m, f, period_dir, dir, root, &out);
    claimed.push_back(dir);
  }
  // A period folder without a period-level manifest is still being delivered.
  for (const fs::path& f : files) {
    const fs::path dir = f.parent_path();
    if (is_claimed(f) || !EndsWithLower(f.filename().string(), "manifest.json")) continue;
    if (!IsCurPeriodDirName(dir.parent_path().filename().string())) continue;
    BillingDelivery d;
    d.id = Relative(dir.parent_path(), root);
    d.complete = false;
    d.incomplete_reason = "no period-level manifest yet";
    AddFileFingerprint(f.string(), root, &d);
    out.push_back(std::move(d));
    claimed.push_back(dir.parent_path());
  }

  // AWS Data Exports partitions.
  struct Partition {
    BillingDelivery delivery;
    std::vector<std::string> listed;  // file names the metadata manifest lists
  };
  std::map<fs::path, Partition> partitions;
  for (const fs::path& f : files) {
    if (is_claimed(f) || !IsDataFileName(f.filename().string())) continue;
    for (fs::path dir = f.parent_path(); IsUnder(dir, root); dir = dir.parent_path()) {
      std::string period;
      if (IsExportPeriodDirName(dir.filename().string(), &period)) {
        auto [it, inserted] = partitions.try_emplace(dir);
        BillingDelivery& d = it->second.delivery;
        if (inserted) {
          d.id = Relative(dir, root);
          d.billing_period = period;
          const fs::path parent = dir.parent_path();
          const fs::path export_dir = parent.filename() == "data" ? parent.parent_path() : parent;
          d.export_name = export_dir.filename().string();
          const fs::path metadata = export_dir / "metadata";
          if (fs::is_directory(metadata, ec)) {
            // The manifest is written after the data: it marks the partition complete.
            std::vector<fs::path> manifests;
            for (fs::directory_iterator mi(metadata / dir.filename(), ec), mend; !ec && mi != mend;
                 mi.increment(ec)) {
              if (EndsWithLower(mi->path().filename().string(), "manifest.json")) {
                manifests.push_back(mi->path());
              }
            }
            ec.clear();
            if (manifests.empty()) {
              d.complete = false;
              d.incomplete_reason = "no manifest in metadata/ yet";
            } else {
              std::sort(manifests.begin(), manifests.end());
              AddFileFingerprint(manifests.back().string(), root, &d);
              absl::StatusOr<std::string> text = ReadSmallFile(manifests.back().string());
              if (!text.ok()) {
                d.complete = false;
                d.incomplete_reason = std::string(text.status().message());
              } else if (absl::StatusOr<LooseValue> v = ParseLooseValue(*text); !v.ok()) {
                d.complete = false;
                d.incomplete_reason = StrCat("manifest: ", v.status().message());
              } else {
                for (std::string_view list_name : {"dataFiles", "reportKeys", "files"}) {
                  const LooseValue* list = v->Find(list_name);
                  if (list == nullptr) continue;
                  for (const LooseValue& item : list->items) {
                    if (item.kind == LooseValue::Kind::kString) {
                      it->second.listed.push_back(fs::path(item.text).filename().string());
                    }
                  }
                }
              }
            }
          }
        }
        d.files.push_back(f.string());
        AddFileFingerprint(f.string(), root, &d);
        break;
      }
      if (dir == root) break;
    }
  }
  for (auto& [dir, partition] : partitions) {
    BillingDelivery& d = partition.delivery;
    // Every file the manifest lists must be there.
    size_t missing = 0;
    std::string first_missing;
    for (const std::string& want : partition.listed) {
      const bool present = std::any_of(d.files.begin(), d.files.end(), [&](const std::string& f) {
        return fs::path(f).filename().string() == want;
      });
      if (!present && missing++ == 0) first_missing = want;
    }
    if (missing > 0 && d.complete) {
      d.complete = false;
      d.incomplete_reason =
          StrCat(missing, " of ", partition.listed.size(),
                 " files the manifest lists are missing (first: ", first_missing, ")");
    }
    claimed.push_back(dir);
    out.push_back(std::move(d));
  }

  // Every other data file is a delivery of its own.
  for (const fs::path& f : files) {
    if (is_claimed(f) || !IsDataFileName(f.filename().string())) continue;
    BillingDelivery d;
    d.id = Relative(f, root);
    d.files.push_back(f.string());
    AddFileFingerprint(f.string(), root, &d);
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(),
            [](const BillingDelivery& a, const BillingDelivery& b) { return a.id < b.id; });
  return out;
}

// ---------------------------------------------------------------------------------------
// Importing

namespace {

// One delivery being imported: a SourceImport per source key, fed in batches, committed at
// the end. Destroying it without Commit abandons every import.
// Not thread-safe.
class DeliveryImporter {
 public:
  DeliveryImporter(Db* db, std::string database, const ImportOptions& options,
                   const BillingDelivery& delivery)
      : db_(db), database_(std::move(database)), options_(options), delivery_(delivery) {}

  absl::Status Begin() {
    if (options_.create_database) {
      absl::Status s = db_->CreateDatabase(database_, options_.new_database_options);
      if (!s.ok() && !absl::IsAlreadyExists(s)) return s;
    }
    BR_ASSIGN_OR_RETURN(const std::vector<SourceInfo> existing, db_->ListSources(database_));
    for (const SourceInfo& s : existing) existing_[s.key] = s.written_at;
    summary_.deliveries.push_back(delivery_.id);
    for (const std::string& n : delivery_.notes) Note(StrCat(delivery_.id, ": ", n));
    // A delivery that fixes its whole key replaces the source even when it has no rows.
    if (!delivery_.provider.empty() && !delivery_.billing_period.empty() &&
        !delivery_.billing_account.empty()) {
      const std::string key = MakeBillingSourceKey(delivery_.provider, delivery_.billing_account,
                                                   delivery_.billing_period, ExportName(""));
      BR_RETURN_IF_ERROR(SourceFor(key, delivery_.billing_period).status());
    }
    return absl::OkStatus();
  }

  absl::Status ImportInputs(const std::vector<CsvInput>& inputs) {
    uint64_t total = 0;
    for (const CsvInput& in : inputs) total += in.source_bytes;
    uint64_t before = 0;
    for (const CsvInput& in : inputs) {
      BR_RETURN_IF_ERROR(ImportCsv(in, before, total));
      before += in.source_bytes;
      summary_.source_bytes += in.source_bytes;
    }
    return absl::OkStatus();
  }

  absl::Status ImportCsv(const CsvInput& input, uint64_t bytes_before, uint64_t bytes_total) {
    BR_ASSIGN_OR_RETURN(std::unique_ptr<ByteStream> stream, input.open());
    CsvReader reader(std::move(stream), input.name);
    BR_ASSIGN_OR_RETURN(const bool has_header, reader.Next());
    summary_.files.push_back(input.name);
    if (!has_header) {
      summary_.formats.push_back("empty");
      Note(StrCat(input.name, ": empty file"));
      return absl::OkStatus();
    }
    std::vector<std::string> header(reader.fields().begin(), reader.fields().end());
    std::vector<std::string_view> header_views(header.begin(), header.end());
    MapperOptions mapper_options;
    mapper_options.file_name = input.name;
    mapper_options.azure_dataset = options_.azure_dataset != AzureDataset::kAuto
                                       ? options_.azure_dataset
                                       : delivery_.azure_dataset;
    const BillingFormat format =
        options_.format != BillingFormat::kAuto ? options_.format : delivery_.format;
    BR_ASSIGN_OR_RETURN(std::unique_ptr<BillingRowMapper> mapper,
                        NewBillingRowMapper(format, header_views, mapper_options));
    summary_.formats.push_back(std::string(BillingFormatName(mapper->format())));
    Log(StrCat(input.name, ": ", BillingFormatName(mapper->format()), ", ", header.size(),
               " columns"));
    if (!delivery_.manifest_columns.empty()) {
      std::set<std::string_view> have(header_views.begin(), header_views.end());
      size_t missing = 0;
      std::string first;
      for (const std::string& c : delivery_.manifest_columns) {
        if (have.count(c) == 0 && missing++ == 0) first = c;
      }
      if (missing > 0) {
        Note(StrCat(input.name, ": lacks ", missing, " of the ", delivery_.manifest_columns.size(),
                    " columns its manifest lists (first: ", first,
                    "); the file's own header is used"));
      }
    }

    BillingRecord record;
    RowProblem problem;
    uint64_t rows = 0;
    while (true) {
      BR_ASSIGN_OR_RETURN(const bool more, reader.Next());
      if (!more) break;
      ++summary_.rows_read;
      if (++rows % kProgressEveryRows == 0 && options_.progress) {
        options_.progress(bytes_before + reader.source_bytes_consumed(), bytes_total,
                          summary_.rows_read);
      }
      record.Clear();
      if (!mapper->Map(reader.fields(), &record, &problem)) {
        BR_RETURN_IF_ERROR(BadRow(
            RowError{input.name, reader.line(), problem.column, std::move(problem.message)}));
        continue;
      }
      BR_RETURN_IF_ERROR(WriteRecord(*mapper, record, input.name, reader.line()));
    }
    summary_.csv_bytes += reader.bytes_parsed();
    if (options_.progress) {
      options_.progress(bytes_before + input.source_bytes, bytes_total, summary_.rows_read);
    }
    return absl::OkStatus();
  }

  // Hands the last batches over and commits every source, in key order.
  absl::Status Commit() {
    for (auto& [key, source] : sources_) BR_RETURN_IF_ERROR(Flush(source.get()));
    for (auto& [key, source] : sources_) {
      BR_RETURN_IF_ERROR(source->import->Commit());
      SourceResult& r = source->result;
      auto it = existing_.find(key);
      r.replaced = it != existing_.end();
      if (r.replaced) r.replaced_written_at = it->second;
      Log(StrCat("source ", key, ": ", r.rows, " rows, ", r.points, " points",
                 r.replaced ? StrCat(", replaced the version written ",
                                     FormatBillingTime(r.replaced_written_at))
                            : std::string(", new")));
      for (const auto& [currency, t] : r.totals) {
        CurrencyTotals& all = summary_.totals[currency];
        all.billed_cost.Merge(t.billed_cost);
        all.effective_cost.Merge(t.effective_cost);
        all.list_cost.Merge(t.list_cost);
      }
      summary_.sources.push_back(r);
    }
    return absl::OkStatus();
  }

  ImportSummary& summary() { return summary_; }

 private:
  struct Source {
    Source(std::string_view database, std::string k) : batch(database) {
      batch.set_source(k);
      result.key = std::move(k);
    }
    std::unique_ptr<SourceImport> import;
    WriteBatch batch;
    SourceResult result;
    uint64_t ordinal = 0;
  };

  void Log(std::string_view line) const {
    if (options_.log) options_.log(line);
  }
  void Note(std::string line) {
    Log(line);
    summary_.notes.push_back(std::move(line));
  }

  std::string ExportName(std::string_view file) const {
    if (!options_.export_name.empty()) return options_.export_name;
    if (!delivery_.export_name.empty()) return delivery_.export_name;
    return ExportNameOf(file);
  }

  absl::Status BadRow(RowError error) {
    if (!options_.skip_bad_rows) {
      return InputPositionError(InputPosition{error.file, error.line, error.column}, error.message);
    }
    ++summary_.rows_skipped;
    if (summary_.errors.size() < options_.max_reported_errors) {
      Log(StrCat("skipped ", error.ToString()));
      summary_.errors.push_back(std::move(error));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Source*> SourceFor(const std::string& key, std::string_view period) {
    if (last_source_ != nullptr && last_source_->result.key == key) return last_source_;
    auto it = sources_.find(key);
    if (it == sources_.end()) {
      if (sources_.size() >= options_.max_sources_per_delivery) {
        return absl::ResourceExhaustedError(
            StrCat(delivery_.id, ": spans more than ", options_.max_sources_per_delivery,
                   " billing sources (provider, account, period, export)"));
      }
      auto source = std::make_unique<Source>(database_, key);
      source->result.billing_period = std::string(period);
      BR_ASSIGN_OR_RETURN(source->import, db_->BeginSourceImport(database_, key));
      it = sources_.emplace(key, std::move(source)).first;
    }
    last_source_ = it->second.get();
    return last_source_;
  }

  absl::Status Flush(Source* s) {
    if (s->batch.empty()) return absl::OkStatus();
    if (absl::Status st = s->import->Add(s->batch); !st.ok()) {
      return absl::Status(st.code(), StrCat("source ", s->result.key, ": ", st.message()));
    }
    points_added_ += s->batch.point_count();
    s->batch.Clear();
    s->batch.set_source(s->result.key);
    if (options_.after_batch) BR_RETURN_IF_ERROR(options_.after_batch(points_added_));
    return absl::OkStatus();
  }

  void SetTag(std::string_view key, std::string_view value) {
    if (value.empty()) return;
    std::string scratch;
    value = CleanTagValue(value, &scratch);
    if (TrimSpaces(value).empty()) return;
    if (tag_count_ == tags_.size()) tags_.emplace_back();
    Tag& t = tags_[tag_count_++];
    t.key.assign(key.data(), key.size());
    t.value.assign(value.data(), value.size());
  }

  absl::Status WriteRecord(const BillingRowMapper& mapper, const BillingRecord& r,
                           const std::string& file, uint64_t line) {
    // Hours the charge covers.
    const TimestampNs first_hour = FloorDiv(r.start, kNanosPerHour) * kNanosPerHour;
    int64_t hours = 1;
    if (r.end > first_hour + kNanosPerHour) {
      hours = FloorDiv(r.end - first_hour + kNanosPerHour - 1, kNanosPerHour);
      if (hours > options_.max_split_hours) {
        return BadRow(RowError{
            file, line, 0,
            StrCat("charge period ", FormatBillingTime(r.start), " to ", FormatBillingTime(r.end),
                   " spans ", hours, " hours, more than the limit of ", options_.max_split_hours)});
      }
    }

    const std::string provider =
        delivery_.provider.empty() ? mapper.SourceProvider(r) : delivery_.provider;
    const std::string& account =
        delivery_.billing_account.empty() ? r.billing_account : delivery_.billing_account;
    const std::string& period =
        delivery_.billing_period.empty() ? r.billing_period : delivery_.billing_period;
    // Rows of one file mostly share their source: the key is built again only when a part
    // changes.
    if (key_scratch_.empty() || provider != key_provider_ || account != key_account_ ||
        period != key_period_ || file != key_file_) {
      key_provider_ = provider;
      key_account_ = account;
      key_period_ = period;
      key_file_ = file;
      key_scratch_ = MakeBillingSourceKey(provider, account, period, ExportName(file));
    }
    BR_ASSIGN_OR_RETURN(Source * s, SourceFor(key_scratch_, period));

    tag_count_ = 0;
    SetTag("cloud", r.cloud);
    SetTag("source", s->result.key);
    SetTag("billing_period", period);
    SetTag("billing_account", r.billing_account);
    SetTag("account", r.account);
    SetTag("resource", r.resource);
    SetTag("service", r.service);
    SetTag("sku", r.sku);
    SetTag("region", r.region);
    SetTag("charge_category", r.charge_category);
    SetTag("charge_type", r.charge_type);
    SetTag("currency", r.currency.empty() ? std::string_view("XXX") : std::string_view(r.currency));
    seen_keys_.clear();
    for (const auto& [raw_key, value] : r.tags) {
      const std::string_view key = TrimSpaces(raw_key);
      if (key.empty() || value.empty() || HasControlByte(key)) continue;
      if (!seen_keys_.insert(key).second) continue;  // the first of near-duplicate keys wins
      tag_key_scratch_ = StrCat("tag_", key);
      SetTag(tag_key_scratch_, value);
    }
    attribution_.clear();
    options_.attribution.Apply(r.tags, &attribution_);
    for (const Tag& t : attribution_) SetTag(t.key, t.value);
    // Sorted by key (keys are unique: attribution targets cannot be the importer's own tags
    // or tag_*), AddSeries takes them without sorting a copy.
    std::sort(tags_.begin(), tags_.begin() + static_cast<ptrdiff_t>(tag_count_),
              [](const Tag& a, const Tag& b) { return a.key < b.key; });
    const WriteBatch::SeriesRef series =
        s->batch.AddSeries(kBillingMeasurement, std::span<const Tag>(tags_.data(), tag_count_));

    // Pieces: one per overlapped hour, money split exactly by cumulative overlap.
    const int64_t total = r.end - r.start;
    cumulative_.clear();
    if (hours > 1) {
      for (int64_t h = 0; h < hours; ++h) {
        const TimestampNs hour_end = first_hour + (h + 1) * kNanosPerHour;
        cumulative_.push_back(std::min(r.end, hour_end) - r.start);
      }
    }
    auto split = [&](const std::optional<Money>& m, std::vector<Money>* out) {
      out->clear();
      if (!m || hours == 1) return;
      SplitMoneyExactly(*m, cumulative_, total, out);
    };
    split(r.billed_cost, &billed_pieces_);
    split(r.effective_cost, &effective_pieces_);
    split(r.list_cost, &list_pieces_);
    split(r.gross_cost, &gross_pieces_);

    const uint64_t ordinal = s->ordinal++;
    const int64_t offset = static_cast<int64_t>(ordinal % static_cast<uint64_t>(kNanosPerHour));
    WriteBatch& b = s->batch;
    for (int64_t h = 0; h < hours; ++h) {
      const size_t i = static_cast<size_t>(h);
      b.AddPoint(series, first_hour + h * kNanosPerHour + offset);
      if (r.billed_cost) b.AddMoney("billed_cost", hours == 1 ? *r.billed_cost : billed_pieces_[i]);
      if (r.effective_cost) {
        b.AddMoney("effective_cost", hours == 1 ? *r.effective_cost : effective_pieces_[i]);
      }
      if (r.list_cost) b.AddMoney("list_cost", hours == 1 ? *r.list_cost : list_pieces_[i]);
      if (r.gross_cost) b.AddMoney("gross_cost", hours == 1 ? *r.gross_cost : gross_pieces_[i]);
      if (r.usage_quantity) {
        double q = *r.usage_quantity;
        if (hours > 1) {
          const int64_t from = i == 0 ? 0 : cumulative_[i - 1];
          q = q * static_cast<double>(cumulative_[i] - from) / static_cast<double>(total);
        }
        b.AddFloat("usage_quantity", q);
      }
      b.AddInteger("row", static_cast<int64_t>(ordinal));
      // The row's own description goes on its first piece only: the other pieces point to
      // it through `row`, which keeps long charges (a month is 720 pieces) cheap to store.
      if (h == 0) {
        if (!r.usage_unit.empty()) b.AddString("usage_unit", r.usage_unit);
        b.AddInteger("period_start", r.start);
        b.AddInteger("period_end", r.end);
        if (!r.line_item_id.empty()) b.AddString("line_item_id", r.line_item_id);
      }
    }

    SourceResult& res = s->result;
    if (res.rows == 0 || r.start < res.min_time) res.min_time = r.start;
    if (res.rows == 0 || r.end > res.max_time) res.max_time = r.end;
    ++res.rows;
    res.points += static_cast<uint64_t>(hours);
    ++summary_.rows_imported;
    summary_.points_written += static_cast<uint64_t>(hours);
    CurrencyTotals& t = res.totals[r.currency.empty() ? std::string("XXX") : r.currency];
    if (r.billed_cost) t.billed_cost.Add(*r.billed_cost);
    if (r.effective_cost) t.effective_cost.Add(*r.effective_cost);
    if (r.list_cost) t.list_cost.Add(*r.list_cost);
    if (b.point_count() >= options_.batch_points) BR_RETURN_IF_ERROR(Flush(s));
    return absl::OkStatus();
  }

  Db* const db_;
  const std::string database_;
  const ImportOptions& options_;
  const BillingDelivery& delivery_;
  std::map<std::string, TimestampNs> existing_;  // live sources before this import
  std::map<std::string, std::unique_ptr<Source>> sources_;
  Source* last_source_ = nullptr;
  uint64_t points_added_ = 0;
  ImportSummary summary_;

  // Per-row scratch, kept to reuse allocations.
  std::vector<Tag> tags_;
  size_t tag_count_ = 0;
  std::vector<Tag> attribution_;
  absl::flat_hash_set<std::string_view> seen_keys_;
  std::string key_scratch_;  // the source key of key_provider_ ... key_file_
  std::string key_provider_, key_account_, key_period_, key_file_;
  std::string tag_key_scratch_;
  std::vector<int64_t> cumulative_;
  std::vector<Money> billed_pieces_, effective_pieces_, list_pieces_, gross_pieces_;
};

absl::StatusOr<ImportSummary> ImportInputs(Db* db, const std::string& database,
                                           const BillingDelivery& delivery,
                                           const std::vector<CsvInput>& inputs,
                                           const ImportOptions& options) {
  DeliveryImporter importer(db, database, options, delivery);
  BR_RETURN_IF_ERROR(importer.Begin());
  BR_RETURN_IF_ERROR(importer.ImportInputs(inputs));
  BR_RETURN_IF_ERROR(importer.Commit());
  return std::move(importer.summary());
}

// Replays the first bytes read (to sniff compression) before the rest of a stream it
// owns. Not thread-safe.
class PrefixedStream final : public ByteStream {
 public:
  PrefixedStream(std::string prefix, std::unique_ptr<ByteStream> rest)
      : prefix_(std::move(prefix)), rest_(std::move(rest)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ < prefix_.size()) {
      const size_t k = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    return rest_->Read(buf, n);
  }
  uint64_t source_bytes_consumed() const override { return rest_->source_bytes_consumed(); }

 private:
  std::string prefix_;
  size_t pos_ = 0;
  std::unique_ptr<ByteStream> rest_;
};

}  // namespace

absl::StatusOr<ImportSummary> ImportBillingDelivery(Db* db, const std::string& database,
                                                    const BillingDelivery& delivery,
                                                    const ImportOptions& options) {
  if (!delivery.complete) {
    return absl::FailedPreconditionError(
        StrCat(delivery.id, " is incomplete: ", delivery.incomplete_reason));
  }
  if (!delivery.error.empty()) return absl::InvalidArgumentError(delivery.error);
  std::vector<CsvInput> inputs;
  for (const std::string& file : delivery.files) {
    BR_ASSIGN_OR_RETURN(std::shared_ptr<RandomAccessBytes> bytes, OpenRandomAccessFile(file));
    BR_ASSIGN_OR_RETURN(std::vector<CsvInput> file_inputs, ListCsvInputs(std::move(bytes)));
    inputs.insert(inputs.end(), file_inputs.begin(), file_inputs.end());
  }
  return ImportInputs(db, database, delivery, inputs, options);
}

absl::StatusOr<ImportSummary> ImportBillingPath(Db* db, const std::string& database,
                                                const std::string& path,
                                                const ImportOptions& options) {
  BR_ASSIGN_OR_RETURN(const std::vector<BillingDelivery> deliveries, FindBillingDeliveries(path));
  ImportSummary total;
  absl::Status first_error;
  std::string first_failed;
  size_t failed = 0;
  for (const BillingDelivery& d : deliveries) {
    if (!d.complete) {
      const std::string note = StrCat(d.id, ": skipped, incomplete: ", d.incomplete_reason);
      if (options.log) options.log(note);
      total.notes.push_back(note);
      continue;
    }
    absl::StatusOr<ImportSummary> s = ImportBillingDelivery(db, database, d, options);
    if (!s.ok()) {
      if (options.log) options.log(StrCat(d.id, ": rejected: ", s.status().message()));
      if (failed++ == 0) {
        first_error = s.status();
        first_failed = d.id;
      }
      continue;
    }
    total.Merge(*s);
  }
  if (failed > 0) {
    std::string message(first_error.message());
    if (deliveries.size() > 1) {
      StrAppend(&message, " (delivery ", first_failed, "; ", failed, " of ", deliveries.size(),
                " deliveries failed, the others were imported)");
    }
    return absl::Status(first_error.code(), message);
  }
  if (deliveries.empty()) {
    total.notes.push_back(StrCat(path, ": no billing files found"));
  }
  return total;
}

absl::StatusOr<ImportSummary> ImportBillingStream(Db* db, const std::string& database,
                                                  std::string_view name,
                                                  std::unique_ptr<ByteStream> body,
                                                  const ImportOptions& options) {
  std::string head(4, '\0');
  size_t got = 0;
  while (got < head.size()) {
    BR_ASSIGN_OR_RETURN(const size_t n, body->Read(head.data() + got, head.size() - got));
    if (n == 0) break;
    got += n;
  }
  head.resize(got);
  const InputCompression compression = SniffCompression(name, head);
  const std::string file(name);
  if (compression == InputCompression::kParquet) {
    return absl::InvalidArgumentError(
        StrCat("Parquet input is not supported yet: ", name, "; export CSV"));
  }
  if (compression == InputCompression::kZip) {
    return absl::InvalidArgumentError(
        StrCat(name, ": a zip archive cannot be streamed; send it whole or as CSV or gzip"));
  }
  auto shared_body = std::make_shared<std::unique_ptr<ByteStream>>(
      std::make_unique<PrefixedStream>(std::move(head), std::move(body)));
  CsvInput input;
  input.name = file;
  input.open = [shared_body, compression, file]() -> absl::StatusOr<std::unique_ptr<ByteStream>> {
    if (*shared_body == nullptr) return absl::FailedPreconditionError("stream already read");
    std::unique_ptr<ByteStream> s = std::move(*shared_body);
    if (compression == InputCompression::kGzip) return NewGzipStream(std::move(s), file);
    return s;
  };
  BillingDelivery delivery;
  delivery.id = file;
  delivery.files.push_back(file);
  return ImportInputs(db, database, delivery, {input}, options);
}

absl::StatusOr<ImportSummary> ImportBillingBuffer(Db* db, const std::string& database,
                                                  std::string_view name, std::string_view body,
                                                  const ImportOptions& options) {
  return ImportBillingBytes(db, database, NewRandomAccessBuffer(std::string(name), body), options);
}

absl::StatusOr<ImportSummary> ImportBillingBytes(Db* db, const std::string& database,
                                                 std::shared_ptr<RandomAccessBytes> bytes,
                                                 const ImportOptions& options) {
  const std::string name = bytes->name();
  BR_ASSIGN_OR_RETURN(std::vector<CsvInput> inputs, ListCsvInputs(std::move(bytes)));
  BillingDelivery delivery;
  delivery.id = name;
  delivery.files.push_back(name);
  return ImportInputs(db, database, delivery, inputs, options);
}

}  // namespace burnrate
