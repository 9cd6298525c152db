#include "ingest/billing_formats.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "base/str_cat.h"
#include "ingest/billing_time.h"

namespace burnrate {
namespace {

std::string_view Msg(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// Money minus money, or nullopt on overflow.
std::optional<Money> Subtract(Money a, Money b) {
  int64_t r;
  if (__builtin_sub_overflow(a.units(), b.units(), &r)) return std::nullopt;
  return Money::FromUnits(r);
}

std::optional<Money> Add(Money a, Money b) {
  int64_t r;
  if (__builtin_add_overflow(a.units(), b.units(), &r)) return std::nullopt;
  return Money::FromUnits(r);
}

// Maps a provider name to the cloud tag: aws, azure, gcp, oci, or a lowercased slug.
std::string NormaliseCloud(std::string_view provider) {
  const std::string p = Lower(TrimSpaces(provider));
  if (p.empty()) return "unknown";
  if (p == "aws" || p.starts_with("amazon")) return "aws";
  if (p == "microsoft" || p == "azure" || p.starts_with("microsoft ")) return "azure";
  if (p == "gcp" || p.starts_with("google")) return "gcp";
  if (p == "oci" || p.starts_with("oracle")) return "oci";
  std::string slug;
  for (const char c : p) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      slug.push_back(c);
    } else if (!slug.empty() && slug.back() != '-') {
      slug.push_back('-');
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug.empty() ? "unknown" : slug;
}

// The mapping common to every format: column lookup by loose name, cell access with
// trimming (and null literals), and typed cell parsing that fills a RowProblem. Column
// indexes are resolved once from the header. Not thread-safe.
class MapperBase : public BillingRowMapper {
 public:
  explicit MapperBase(std::span<const std::string_view> header) : width_(header.size()) {
    names_.reserve(header.size());
    for (size_t i = 0; i < header.size(); ++i) {
      names_.emplace_back(header[i]);
      index_.try_emplace(LooseColumnKey(header[i]), static_cast<int>(i));
    }
  }

 protected:
  // The index of the first column whose loose key is one of names, or -1.
  int Col(std::initializer_list<std::string_view> names) const {
    for (std::string_view n : names) {
      auto it = index_.find(std::string(n));
      if (it != index_.end()) return it->second;
    }
    return -1;
  }

  std::string_view Cell(std::span<const std::string_view> fields, int idx) const {
    if (idx < 0 || static_cast<size_t>(idx) >= fields.size()) return {};
    std::string_view v = TrimSpaces(fields[static_cast<size_t>(idx)]);
    if (null_literals_ && (v == "NULL" || v == "null" || v == "Null")) return {};
    return v;
  }

  bool Fail(int idx, std::string_view what, std::string_view why, RowProblem* problem) const {
    problem->column = idx < 0 ? 0 : static_cast<size_t>(idx) + 1;
    problem->message =
        idx < 0 ? StrCat(what, ": ", why) : StrCat(names_[static_cast<size_t>(idx)], ": ", why);
    return false;
  }

  bool CheckWidth(std::span<const std::string_view> fields, RowProblem* problem) const {
    if (fields.size() <= width_) return true;
    problem->column = width_ + 1;
    problem->message = StrCat("row has ", fields.size(), " fields, the header has ", width_);
    return false;
  }

  bool MoneyCell(std::span<const std::string_view> fields, int idx, std::optional<Money>* out,
                 RowProblem* problem) const {
    out->reset();
    const std::string_view v = Cell(fields, idx);
    if (v.empty()) return true;
    absl::StatusOr<Money> m = ParseMoneyCell(v);
    if (!m.ok()) return Fail(idx, "", Msg(m.status()), problem);
    *out = *m;
    return true;
  }

  bool TimeCell(std::span<const std::string_view> fields, int idx, TimestampNs* out, bool* present,
                RowProblem* problem) const {
    const std::string_view v = Cell(fields, idx);
    *present = !v.empty();
    if (v.empty()) return true;
    absl::StatusOr<TimestampNs> t = ParseBillingTime(v);
    if (!t.ok()) return Fail(idx, "", Msg(t.status()), problem);
    *out = *t;
    return true;
  }

  bool QuantityCell(std::span<const std::string_view> fields, int idx, std::optional<double>* out,
                    RowProblem* problem) const {
    out->reset();
    std::string_view v = Cell(fields, idx);
    if (v.empty()) return true;
    if (v.front() == '+') v.remove_prefix(1);
    double d = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
    if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(d)) {
      return Fail(idx, "", StrCat("invalid number \"", v.substr(0, 64), "\""), problem);
    }
    *out = d;
    return true;
  }

  // Fills start/end from two columns; a missing end means an instant (end = start).
  bool PeriodCells(std::span<const std::string_view> fields, int start_idx, int end_idx,
                   BillingRecord* r, RowProblem* problem) const {
    bool has_start = false, has_end = false;
    if (!TimeCell(fields, start_idx, &r->start, &has_start, problem)) return false;
    if (!TimeCell(fields, end_idx, &r->end, &has_end, problem)) return false;
    if (!has_start) {
      return Fail(start_idx, "charge period start", "missing", problem);
    }
    if (!has_end || r->end < r->start) r->end = r->start;
    return true;
  }

  static void Assign(std::string* out, std::string_view v) { out->assign(v.data(), v.size()); }

  bool null_literals_ = false;
  const size_t width_;
  std::vector<std::string> names_;

 private:
  absl::flat_hash_map<std::string, int> index_;
};

// ---------------------------------------------------------------------------------------
// AWS CUR, legacy and 2.0.

// AWS CUR, legacy and 2.0 (which share column names once loosened). Not thread-safe.
class CurMapper final : public MapperBase {
 public:
  CurMapper(std::span<const std::string_view> header, bool cur2) : MapperBase(header), cur2_(cur2) {
    unblended_ = Col({"lineitemunblendedcost"});
    net_unblended_ = Col({"lineitemnetunblendedcost"});
    line_item_type_ = Col({"lineitemlineitemtype"});
    usage_start_ = Col({"lineitemusagestartdate"});
    usage_end_ = Col({"lineitemusageenddate"});
    time_interval_ = Col({"identitytimeinterval"});
    line_item_id_ = Col({"identitylineitemid"});
    payer_ = Col({"billpayeraccountid"});
    billing_period_ = Col({"billbillingperiodstartdate"});
    usage_account_ = Col({"lineitemusageaccountid"});
    product_code_ = Col({"lineitemproductcode", "productservicecode"});
    usage_type_ = Col({"lineitemusagetype", "productusagetype", "productsku"});
    region_ = Col({"productregioncode", "productregion"});
    resource_ = Col({"lineitemresourceid"});
    currency_ = Col({"lineitemcurrencycode"});
    pricing_currency_ = Col({"pricingcurrency"});
    usage_amount_ = Col({"lineitemusageamount"});
    pricing_unit_ = Col({"pricingunit"});
    list_ = Col({"pricingpublicondemandcost"});
    sp_effective_ = Col({"savingsplansavingsplaneffectivecost"});
    sp_net_effective_ = Col({"savingsplannetsavingsplaneffectivecost"});
    sp_total_commitment_ = Col({"savingsplantotalcommitmenttodate"});
    sp_used_commitment_ = Col({"savingsplanusedcommitment"});
    ri_effective_ = Col({"reservationeffectivecost"});
    ri_net_effective_ = Col({"reservationneteffectivecost"});
    ri_unused_upfront_ = Col({"reservationunusedamortizedupfrontfeeforbillingperiod"});
    ri_net_unused_upfront_ = Col({"reservationnetunusedamortizedupfrontfeeforbillingperiod"});
    ri_unused_recurring_ = Col({"reservationunusedrecurringfee"});
    ri_net_unused_recurring_ = Col({"reservationnetunusedrecurringfee"});
    ri_arn_ = Col({"reservationreservationarn"});
    resource_tags_map_ = Col({"resourcetags"});
    cost_category_map_ = Col({"costcategory"});
    for (size_t i = 0; i < header.size(); ++i) {
      const std::string_view h = header[i];
      std::string key;
      if (StartsWithIgnoreCase(h, "resourceTags/")) {
        key = std::string(h.substr(13));
        if (StartsWithIgnoreCase(key, "user:")) key = key.substr(5);
      } else if (StartsWithIgnoreCase(h, "costCategory/")) {
        key = StrCat("cost_category:", h.substr(13));
      } else if (StartsWithIgnoreCase(h, "resource_tags_")) {
        key = std::string(h.substr(14));
        if (StartsWithIgnoreCase(key, "user_")) key = key.substr(5);
      } else if (StartsWithIgnoreCase(h, "cost_category_")) {
        key = StrCat("cost_category:", h.substr(14));
      } else {
        continue;
      }
      if (!key.empty()) tag_columns_.emplace_back(static_cast<int>(i), std::move(key));
    }
  }

  static bool Matches(std::span<const std::string_view> header) {
    bool cost = false, type = false;
    for (std::string_view h : header) {
      const std::string k = LooseColumnKey(h);
      cost |= k == "lineitemunblendedcost";
      type |= k == "lineitemlineitemtype" || k == "lineitemusagestartdate";
    }
    return cost && type;
  }

  // CUR 2.0 has map columns (resource_tags, cost_category, product, discount) and the
  // account name columns legacy reports lack.
  static bool IsCur2(std::span<const std::string_view> header) {
    for (std::string_view h : header) {
      if (h == "resource_tags" || h == "cost_category" || h == "product" || h == "discount" ||
          h == "bill_payer_account_name" || h == "line_item_usage_account_name") {
        return true;
      }
    }
    return false;
  }

  bool Map(std::span<const std::string_view> f, BillingRecord* r, RowProblem* problem) override {
    if (!CheckWidth(f, problem)) return false;
    r->cloud = "aws";
    Assign(&r->billing_account, Cell(f, payer_));
    Assign(&r->account, Cell(f, usage_account_));
    Assign(&r->resource, Cell(f, resource_));
    Assign(&r->service, Cell(f, product_code_));
    Assign(&r->sku, Cell(f, usage_type_));
    Assign(&r->region, Cell(f, region_));
    Assign(&r->line_item_id, Cell(f, line_item_id_));
    Assign(&r->usage_unit, Cell(f, pricing_unit_));
    std::string_view currency = Cell(f, currency_);
    if (currency.empty()) currency = Cell(f, pricing_currency_);
    if (currency.empty()) currency = "USD";  // CUR bills in USD unless it says otherwise
    Assign(&r->currency, currency);

    // Charge period: the usage dates, else the identity interval.
    bool has_start = false, has_end = false;
    if (!TimeCell(f, usage_start_, &r->start, &has_start, problem)) return false;
    if (!TimeCell(f, usage_end_, &r->end, &has_end, problem)) return false;
    if (!has_start) {
      const std::string_view interval = Cell(f, time_interval_);
      if (interval.empty())
        return Fail(usage_start_, "lineItem/UsageStartDate", "missing", problem);
      if (absl::Status s = ParseBillingInterval(interval, &r->start, &r->end); !s.ok()) {
        return Fail(time_interval_, "", Msg(s), problem);
      }
      has_end = true;
    }
    if (!has_end || r->end < r->start) r->end = r->start;

    TimestampNs period_start = 0;
    bool has_period = false;
    if (!TimeCell(f, billing_period_, &period_start, &has_period, problem)) return false;
    r->billing_period = MonthOf(has_period ? period_start : r->start);

    const std::string_view type = Cell(f, line_item_type_);
    Assign(&r->charge_type, type);
    r->charge_category = ChargeCategory(type);

    // Billed: NetUnblendedCost when the report has net pricing, else UnblendedCost.
    const bool net = net_unblended_ >= 0 && !Cell(f, net_unblended_).empty();
    if (!MoneyCell(f, net ? net_unblended_ : unblended_, &r->billed_cost, problem)) return false;
    if (!MoneyCell(f, list_, &r->list_cost, problem)) return false;
    if (!Effective(f, type, net, r, problem)) return false;

    if (!QuantityCell(f, usage_amount_, &r->usage_quantity, problem)) return false;

    for (const auto& [idx, key] : tag_columns_) {
      const std::string_view v = Cell(f, idx);
      if (!v.empty()) r->tags.emplace_back(key, std::string(v));
    }
    if (!MapTags(f, resource_tags_map_, "", r, problem)) return false;
    if (!MapTags(f, cost_category_map_, "cost_category:", r, problem)) return false;
    return true;
  }

  std::string SourceProvider(const BillingRecord&) const override {
    return cur2_ ? "aws-cur2" : "aws-cur";
  }
  BillingFormat format() const override {
    return cur2_ ? BillingFormat::kCur2 : BillingFormat::kCur;
  }

 private:
  static std::string ChargeCategory(std::string_view type) {
    static const std::pair<std::string_view, std::string_view> kMap[] = {
        {"Usage", "usage"},
        {"DiscountedUsage", "usage"},
        {"SavingsPlanCoveredUsage", "usage"},
        {"SavingsPlanNegation", "usage"},
        {"BundledDiscount", "usage"},
        {"Discount", "usage"},
        {"PrivateRateDiscount", "usage"},
        {"EdpDiscount", "usage"},
        {"Fee", "purchase"},
        {"RIFee", "purchase"},
        {"SavingsPlanUpfrontFee", "purchase"},
        {"SavingsPlanRecurringFee", "purchase"},
        {"Tax", "tax"},
        {"Credit", "credit"},
        {"Refund", "refund"},
    };
    if (type.empty()) return "usage";
    for (const auto& [k, v] : kMap) {
      if (EqualsIgnoreCase(k, type)) return std::string(v);
    }
    return "other";
  }

  // Effective (amortised) cost per line-item type, as the FinOps Foundation converter
  // derives it (billing-formats.md section 1.4).
  bool Effective(std::span<const std::string_view> f, std::string_view type, bool net,
                 BillingRecord* r, RowProblem* problem) const {
    auto pick = [&](int net_idx, int gross_idx) {
      return net && net_idx >= 0 && !Cell(f, net_idx).empty() ? net_idx : gross_idx;
    };
    auto zero = [&] {
      r->effective_cost = Money();
      return true;
    };
    auto value = [&](int idx) {
      if (!MoneyCell(f, idx, &r->effective_cost, problem)) return false;
      if (!r->effective_cost) r->effective_cost = Money();
      return true;
    };
    if (EqualsIgnoreCase(type, "SavingsPlanCoveredUsage")) {
      return value(pick(sp_net_effective_, sp_effective_));
    }
    if (EqualsIgnoreCase(type, "SavingsPlanRecurringFee")) {
      std::optional<Money> total, used;
      if (!MoneyCell(f, sp_total_commitment_, &total, problem)) return false;
      if (!MoneyCell(f, sp_used_commitment_, &used, problem)) return false;
      r->effective_cost = Subtract(total.value_or(Money()), used.value_or(Money()));
      if (!r->effective_cost) return Fail(sp_total_commitment_, "", "money overflow", problem);
      return true;
    }
    if (EqualsIgnoreCase(type, "SavingsPlanNegation") ||
        EqualsIgnoreCase(type, "SavingsPlanUpfrontFee")) {
      return zero();
    }
    if (EqualsIgnoreCase(type, "DiscountedUsage")) {
      return value(pick(ri_net_effective_, ri_effective_));
    }
    if (EqualsIgnoreCase(type, "RIFee")) {
      std::optional<Money> upfront, recurring;
      if (!MoneyCell(f, pick(ri_net_unused_upfront_, ri_unused_upfront_), &upfront, problem)) {
        return false;
      }
      if (!MoneyCell(f, pick(ri_net_unused_recurring_, ri_unused_recurring_), &recurring,
                     problem)) {
        return false;
      }
      r->effective_cost = Add(upfront.value_or(Money()), recurring.value_or(Money()));
      if (!r->effective_cost) return Fail(ri_unused_upfront_, "", "money overflow", problem);
      return true;
    }
    if (EqualsIgnoreCase(type, "Fee") && !Cell(f, ri_arn_).empty()) return zero();
    r->effective_cost = r->billed_cost;
    return true;
  }

  bool MapTags(std::span<const std::string_view> f, int idx, std::string_view prefix,
               BillingRecord* r, RowProblem* problem) const {
    const std::string_view v = Cell(f, idx);
    if (v.empty()) return true;
    const size_t first = r->tags.size();
    if (absl::Status s = ParseTagObject(v, &r->tags); !s.ok()) {
      return Fail(idx, "", Msg(s), problem);
    }
    for (size_t i = first; i < r->tags.size(); ++i) {
      std::string& key = r->tags[i].first;
      if (prefix.empty() && StartsWithIgnoreCase(key, "user_")) {
        key.erase(0, 5);
      } else if (!prefix.empty()) {
        key.insert(0, prefix);
      }
    }
    return true;
  }

  const bool cur2_;
  int unblended_, net_unblended_, line_item_type_, usage_start_, usage_end_, time_interval_,
      line_item_id_, payer_, billing_period_, usage_account_, product_code_, usage_type_, region_,
      resource_, currency_, pricing_currency_, usage_amount_, pricing_unit_, list_, sp_effective_,
      sp_net_effective_, sp_total_commitment_, sp_used_commitment_, ri_effective_,
      ri_net_effective_, ri_unused_upfront_, ri_net_unused_upfront_, ri_unused_recurring_,
      ri_net_unused_recurring_, ri_arn_, resource_tags_map_, cost_category_map_;
  std::vector<std::pair<int, std::string>> tag_columns_;
};

// ---------------------------------------------------------------------------------------
// FOCUS 0.5 to 1.2.

// FOCUS 0.5 to 1.2; NULL literals are nulls. Not thread-safe.
class FocusMapper final : public MapperBase {
 public:
  explicit FocusMapper(std::span<const std::string_view> header) : MapperBase(header) {
    null_literals_ = true;
    billed_ = Col({"billedcost"});
    effective_ = Col({"effectivecost", "amortizedcost"});
    list_ = Col({"listcost"});
    currency_ = Col({"billingcurrency", "billedcurrency"});
    start_ = Col({"chargeperiodstart"});
    end_ = Col({"chargeperiodend"});
    billing_period_ = Col({"billingperiodstart"});
    provider_ = Col({"providername", "serviceprovidername", "provider"});
    billing_account_ = Col({"billingaccountid"});
    sub_account_ = Col({"subaccountid"});
    resource_ = Col({"resourceid"});
    service_ = Col({"servicename"});
    sku_ = Col({"skuid"});
    sku_price_ = Col({"skupriceid"});
    region_ = Col({"regionid", "region"});
    region_name_ = Col({"regionname"});
    category_ = Col({"chargecategory", "chargetype"});
    charge_class_ = Col({"chargeclass"});
    consumed_quantity_ = Col({"consumedquantity"});
    consumed_unit_ = Col({"consumedunit"});
    pricing_quantity_ = Col({"pricingquantity"});
    pricing_unit_ = Col({"pricingunit"});
    tags_ = Col({"tags"});
    id_ = Col({"id"});
  }

  static bool Matches(std::span<const std::string_view> header) {
    bool billed = false, period = false;
    for (std::string_view h : header) {
      const std::string k = LooseColumnKey(h);
      billed |= k == "billedcost";
      period |= k == "chargeperiodstart";
    }
    return billed && period;
  }

  bool Map(std::span<const std::string_view> f, BillingRecord* r, RowProblem* problem) override {
    if (!CheckWidth(f, problem)) return false;
    r->cloud = NormaliseCloud(Cell(f, provider_));
    Assign(&r->billing_account, Cell(f, billing_account_));
    Assign(&r->account, Cell(f, sub_account_));
    Assign(&r->resource, Cell(f, resource_));
    Assign(&r->service, Cell(f, service_));
    // Oracle leaves RegionId null and fills RegionName.
    Assign(&r->sku, Cell(f, Cell(f, sku_).empty() ? sku_price_ : sku_));
    Assign(&r->region, Cell(f, Cell(f, region_).empty() ? region_name_ : region_));
    Assign(&r->line_item_id, Cell(f, id_));
    Assign(&r->currency, Cell(f, currency_));
    const std::string_view category = Cell(f, category_);
    r->charge_category = category.empty() ? "usage" : Lower(category);
    Assign(&r->charge_type, Cell(f, charge_class_));
    if (!PeriodCells(f, start_, end_, r, problem)) return false;
    TimestampNs period_start = 0;
    bool has_period = false;
    if (!TimeCell(f, billing_period_, &period_start, &has_period, problem)) return false;
    r->billing_period = MonthOf(has_period ? period_start : r->start);
    if (!MoneyCell(f, billed_, &r->billed_cost, problem)) return false;
    if (!MoneyCell(f, effective_, &r->effective_cost, problem)) return false;
    if (!MoneyCell(f, list_, &r->list_cost, problem)) return false;
    const bool consumed = !Cell(f, consumed_quantity_).empty();
    if (!QuantityCell(f, consumed ? consumed_quantity_ : pricing_quantity_, &r->usage_quantity,
                      problem)) {
      return false;
    }
    Assign(&r->usage_unit, Cell(f, consumed ? consumed_unit_ : pricing_unit_));
    if (const std::string_view tags = Cell(f, tags_); !tags.empty()) {
      if (absl::Status s = ParseTagObject(tags, &r->tags); !s.ok()) {
        return Fail(tags_, "", Msg(s), problem);
      }
    }
    return true;
  }

  std::string SourceProvider(const BillingRecord& r) const override {
    return StrCat("focus-", r.cloud);
  }
  BillingFormat format() const override { return BillingFormat::kFocus; }

 private:
  int billed_, effective_, list_, currency_, start_, end_, billing_period_, provider_,
      billing_account_, sub_account_, resource_, service_, sku_, sku_price_, region_, region_name_,
      category_, charge_class_, consumed_quantity_, consumed_unit_, pricing_quantity_,
      pricing_unit_, tags_, id_;
};

// ---------------------------------------------------------------------------------------
// Azure cost details: EA (PascalCase), MCA (camelCase) and the older usage schema.

// Azure cost details; one dataset (actual or amortized) per file. Not thread-safe.
class AzureMapper final : public MapperBase {
 public:
  AzureMapper(std::span<const std::string_view> header, const MapperOptions& options)
      : MapperBase(header) {
    amortized_ = options.azure_dataset == AzureDataset::kAmortized ||
                 (options.azure_dataset == AzureDataset::kAuto &&
                  Lower(options.file_name).find("amortized") != std::string::npos);
    cost_ = Col({"costinbillingcurrency", "cost", "pretaxcost"});
    currency_ = Col({"billingcurrency", "billingcurrencycode", "currency"});
    date_ = Col({"date", "usagedatetime", "usagedate"});
    const bool mca = Col({"costinpricingcurrency", "exchangeratepricingtobilling"}) >= 0;
    billing_account_ = mca ? Col({"billingprofileid", "billingaccountid"})
                           : Col({"billingaccountid", "billingprofileid"});
    subscription_ = Col({"subscriptionid", "subscriptionguid"});
    resource_ = Col({"resourceid", "instanceid", "instancename"});
    service_ = Col({"metercategory", "servicename", "consumedservice"});
    sku_ = Col({"metername", "meterid"});
    region_ = Col({"resourcelocation", "location", "meterregion"});
    charge_type_ = Col({"chargetype"});
    quantity_ = Col({"quantity", "usagequantity"});
    unit_ = Col({"unitofmeasure"});
    billing_period_ = Col({"billingperiodstartdate"});
    list_ = Col({"paygcostinbillingcurrency"});
    tags_ = Col({"tags"});
  }

  static bool Matches(std::span<const std::string_view> header) {
    bool meter = false, cost = false;
    for (std::string_view h : header) {
      const std::string k = LooseColumnKey(h);
      meter |= k == "metercategory" || k == "meterid";
      cost |= k == "cost" || k == "costinbillingcurrency" || k == "pretaxcost";
    }
    return meter && cost;
  }

  bool Map(std::span<const std::string_view> f, BillingRecord* r, RowProblem* problem) override {
    if (!CheckWidth(f, problem)) return false;
    r->cloud = "azure";
    std::string_view account = Cell(f, billing_account_);
    if (account.empty()) account = Cell(f, subscription_);
    Assign(&r->billing_account, account);
    Assign(&r->account, Cell(f, subscription_));
    Assign(&r->resource, Cell(f, resource_));
    Assign(&r->service, Cell(f, service_));
    Assign(&r->sku, Cell(f, sku_));
    Assign(&r->region, Cell(f, region_));
    Assign(&r->currency, Cell(f, currency_));
    Assign(&r->usage_unit, Cell(f, unit_));
    const std::string_view type = Cell(f, charge_type_);
    Assign(&r->charge_type, type);
    r->charge_category = ChargeCategory(type);
    // Cost details rows are daily.
    bool has_date = false;
    if (!TimeCell(f, date_, &r->start, &has_date, problem)) return false;
    if (!has_date) return Fail(date_, "Date", "missing", problem);
    r->end = r->start + kNanosPerDay;
    TimestampNs period_start = 0;
    bool has_period = false;
    if (!TimeCell(f, billing_period_, &period_start, &has_period, problem)) return false;
    r->billing_period = MonthOf(has_period ? period_start : r->start);
    std::optional<Money> cost;
    if (!MoneyCell(f, cost_, &cost, problem)) return false;
    (amortized_ ? r->effective_cost : r->billed_cost) = cost;
    if (!MoneyCell(f, list_, &r->list_cost, problem)) return false;
    if (!QuantityCell(f, quantity_, &r->usage_quantity, problem)) return false;
    if (const std::string_view tags = Cell(f, tags_); !tags.empty()) {
      if (absl::Status s = ParseTagObject(tags, &r->tags); !s.ok()) {
        return Fail(tags_, "", Msg(s), problem);
      }
    }
    return true;
  }

  std::string SourceProvider(const BillingRecord&) const override {
    return amortized_ ? "azure-amortized" : "azure-actual";
  }
  BillingFormat format() const override { return BillingFormat::kAzure; }

 private:
  static std::string ChargeCategory(std::string_view type) {
    if (type.empty() || EqualsIgnoreCase(type, "Usage") ||
        EqualsIgnoreCase(type, "UnusedReservation") ||
        EqualsIgnoreCase(type, "UnusedSavingsPlan")) {
      return "usage";
    }
    if (EqualsIgnoreCase(type, "Purchase")) return "purchase";
    if (EqualsIgnoreCase(type, "Refund")) return "refund";
    if (EqualsIgnoreCase(type, "Tax")) return "tax";
    if (EqualsIgnoreCase(type, "Credit")) return "credit";
    if (EqualsIgnoreCase(type, "RoundingAdjustment") || EqualsIgnoreCase(type, "Adjustment")) {
      return "adjustment";
    }
    return "other";
  }

  bool amortized_;
  int cost_, currency_, date_, billing_account_, subscription_, resource_, service_, sku_, region_,
      charge_type_, quantity_, unit_, billing_period_, list_, tags_;
};

// ---------------------------------------------------------------------------------------
// Google Cloud BigQuery export, nested records flattened with dots.

// The GCP BigQuery export with records flattened to dotted columns. Not thread-safe.
class GcpMapper final : public MapperBase {
 public:
  explicit GcpMapper(std::span<const std::string_view> header) : MapperBase(header) {
    billing_account_ = Col({"billingaccountid"});
    service_ = Col({"servicedescription", "serviceid"});
    sku_ = Col({"skudescription", "skuid"});
    start_ = Col({"usagestarttime"});
    end_ = Col({"usageendtime"});
    project_ = Col({"projectid"});
    resource_ = Col({"resourcename", "resourceglobalname"});
    region_ = Col({"locationregion", "locationlocation"});
    cost_ = Col({"cost"});
    list_ = Col({"costatlist"});
    currency_ = Col({"currency"});
    amount_ = Col({"usageamount"});
    unit_ = Col({"usageunit"});
    credits_ = Col({"credits"});
    invoice_month_ = Col({"invoicemonth"});
    cost_type_ = Col({"costtype"});
    labels_ = Col({"labels"});
    system_labels_ = Col({"systemlabels"});
    project_labels_ = Col({"projectlabels"});
    gcp_tags_ = Col({"tags"});
  }

  static bool Matches(std::span<const std::string_view> header) {
    bool account = false, service = false, start = false, cost = false;
    for (std::string_view h : header) {
      const std::string k = LooseColumnKey(h);
      account |= k == "billingaccountid";
      service |= k == "servicedescription" || k == "serviceid";
      start |= k == "usagestarttime";
      cost |= k == "cost";
    }
    return account && service && start && cost;
  }

  bool Map(std::span<const std::string_view> f, BillingRecord* r, RowProblem* problem) override {
    if (!CheckWidth(f, problem)) return false;
    r->cloud = "gcp";
    Assign(&r->billing_account, Cell(f, billing_account_));
    Assign(&r->account, Cell(f, project_));
    Assign(&r->resource, Cell(f, resource_));
    Assign(&r->service, Cell(f, service_));
    Assign(&r->sku, Cell(f, sku_));
    Assign(&r->region, Cell(f, region_));
    Assign(&r->currency, Cell(f, currency_));
    Assign(&r->usage_unit, Cell(f, unit_));
    const std::string_view type = Cell(f, cost_type_);
    Assign(&r->charge_type, type);
    if (type.empty() || EqualsIgnoreCase(type, "regular")) {
      r->charge_category = "usage";
    } else if (EqualsIgnoreCase(type, "tax")) {
      r->charge_category = "tax";
    } else if (EqualsIgnoreCase(type, "adjustment") || EqualsIgnoreCase(type, "rounding_error")) {
      r->charge_category = "adjustment";
    } else {
      r->charge_category = "other";
    }
    if (!PeriodCells(f, start_, end_, r, problem)) return false;
    const std::string_view month = Cell(f, invoice_month_);
    if (month.size() == 6 && std::all_of(month.begin(), month.end(), absl::ascii_isdigit)) {
      r->billing_period = StrCat(month.substr(0, 4), "-", month.substr(4, 2));
    } else if (month.empty()) {
      r->billing_period = MonthOf(r->start);
    } else {
      return Fail(invoice_month_, "", StrCat("invalid invoice month \"", month, "\""), problem);
    }
    std::optional<Money> cost;
    if (!MoneyCell(f, cost_, &cost, problem)) return false;
    // Net cost = cost + the credits nested in the row; credits are never rows of their own.
    Money net = cost.value_or(Money());
    if (const std::string_view credits = Cell(f, credits_); !credits.empty() && credits != "[]") {
      absl::StatusOr<LooseValue> list = ParseLooseValue(credits);
      if (!list.ok() || list->kind != LooseValue::Kind::kList) {
        return Fail(credits_, "", "credits are not a list of records", problem);
      }
      for (const LooseValue& credit : list->items) {
        const std::string_view amount = credit.TextOf("amount");
        if (amount.empty()) continue;
        absl::StatusOr<Money> m = Money::Parse(amount);
        if (!m.ok()) return Fail(credits_, "", StrCat("credit amount: ", Msg(m.status())), problem);
        std::optional<Money> sum = Add(net, *m);
        if (!sum) return Fail(credits_, "", "money overflow", problem);
        net = *sum;
      }
    }
    if (cost) {
      r->gross_cost = cost;
      r->billed_cost = net;
      r->effective_cost = net;
    }
    if (!MoneyCell(f, list_, &r->list_cost, problem)) return false;
    if (!QuantityCell(f, amount_, &r->usage_quantity, problem)) return false;
    // Resource labels win over system labels, which win over project labels.
    for (const int idx : {labels_, system_labels_, project_labels_, gcp_tags_}) {
      const std::string_view v = Cell(f, idx);
      if (v.empty()) continue;
      if (absl::Status s = ParseKeyValueRecords(v, &r->tags); !s.ok()) {
        return Fail(idx, "", Msg(s), problem);
      }
    }
    return true;
  }

  std::string SourceProvider(const BillingRecord&) const override { return "gcp"; }
  BillingFormat format() const override { return BillingFormat::kGcp; }

 private:
  int billing_account_, service_, sku_, start_, end_, project_, resource_, region_, cost_, list_,
      currency_, amount_, unit_, credits_, invoice_month_, cost_type_, labels_, system_labels_,
      project_labels_, gcp_tags_;
};

// ---------------------------------------------------------------------------------------
// Oracle Cloud cost reports.

// OCI cost reports, tags one column each. Not thread-safe.
class OciMapper final : public MapperBase {
 public:
  explicit OciMapper(std::span<const std::string_view> header) : MapperBase(header) {
    start_ = Col({"lineitemintervalusagestart"});
    end_ = Col({"lineitemintervalusageend"});
    cost_ = Col({"costmycost"});
    currency_ = Col({"costcurrencycode"});
    tenant_ = Col({"lineitemtenantid"});
    compartment_ = Col({"productcompartmentid"});
    resource_ = Col({"productresourceid"});
    service_ = Col({"productservice"});
    sku_ = Col({"costproductsku"});
    region_ = Col({"productregion"});
    quantity_ = Col({"usagebilledquantity"});
    unit_ = Col({"costskuunitdescription"});
    correction_ = Col({"lineitemiscorrection"});
    reference_ = Col({"lineitemreferenceno"});
    for (size_t i = 0; i < header.size(); ++i) {
      if (StartsWithIgnoreCase(header[i], "tags/") && header[i].size() > 5) {
        tag_columns_.emplace_back(static_cast<int>(i), std::string(header[i].substr(5)));
      }
    }
  }

  static bool Matches(std::span<const std::string_view> header) {
    for (std::string_view h : header) {
      const std::string k = LooseColumnKey(h);
      if (k == "costmycost" || k == "lineitemtenantid") return true;
    }
    return false;
  }

  bool Map(std::span<const std::string_view> f, BillingRecord* r, RowProblem* problem) override {
    if (!CheckWidth(f, problem)) return false;
    r->cloud = "oci";
    Assign(&r->billing_account, Cell(f, tenant_));
    Assign(&r->account, Cell(f, compartment_));
    Assign(&r->resource, Cell(f, resource_));
    Assign(&r->service, Cell(f, service_));
    Assign(&r->sku, Cell(f, sku_));
    Assign(&r->region, Cell(f, region_));
    Assign(&r->currency, Cell(f, currency_));
    Assign(&r->usage_unit, Cell(f, unit_));
    Assign(&r->line_item_id, Cell(f, reference_));
    const bool correction = EqualsIgnoreCase(Cell(f, correction_), "true");
    r->charge_category = correction ? "adjustment" : "usage";
    r->charge_type = correction ? "correction" : "";
    if (!PeriodCells(f, start_, end_, r, problem)) return false;
    r->billing_period = MonthOf(r->start);
    if (!MoneyCell(f, cost_, &r->billed_cost, problem)) return false;
    r->effective_cost = r->billed_cost;
    if (!QuantityCell(f, quantity_, &r->usage_quantity, problem)) return false;
    for (const auto& [idx, key] : tag_columns_) {
      const std::string_view v = Cell(f, idx);
      if (!v.empty()) r->tags.emplace_back(key, std::string(v));
    }
    return true;
  }

  std::string SourceProvider(const BillingRecord&) const override { return "oci"; }
  BillingFormat format() const override { return BillingFormat::kOci; }

 private:
  int start_, end_, cost_, currency_, tenant_, compartment_, resource_, service_, sku_, region_,
      quantity_, unit_, correction_, reference_;
  std::vector<std::pair<int, std::string>> tag_columns_;
};

}  // namespace

std::string_view BillingFormatName(BillingFormat format) {
  switch (format) {
    case BillingFormat::kAuto:
      return "auto";
    case BillingFormat::kCur:
      return "cur";
    case BillingFormat::kCur2:
      return "cur2";
    case BillingFormat::kFocus:
      return "focus";
    case BillingFormat::kAzure:
      return "azure";
    case BillingFormat::kGcp:
      return "gcp";
    case BillingFormat::kOci:
      return "oci";
  }
  return "?";
}

absl::StatusOr<BillingFormat> ParseBillingFormat(std::string_view name) {
  for (BillingFormat f :
       {BillingFormat::kAuto, BillingFormat::kCur, BillingFormat::kCur2, BillingFormat::kFocus,
        BillingFormat::kAzure, BillingFormat::kGcp, BillingFormat::kOci}) {
    if (EqualsIgnoreCase(name, BillingFormatName(f))) return f;
  }
  return absl::InvalidArgumentError(
      StrCat("unknown billing format \"", name, "\" (auto, cur, cur2, focus, azure, gcp, oci)"));
}

void BillingRecord::Clear() {
  cloud.clear();
  billing_account.clear();
  account.clear();
  resource.clear();
  service.clear();
  sku.clear();
  region.clear();
  charge_category.clear();
  charge_type.clear();
  currency.clear();
  billing_period.clear();
  line_item_id.clear();
  usage_unit.clear();
  billed_cost.reset();
  effective_cost.reset();
  list_cost.reset();
  gross_cost.reset();
  usage_quantity.reset();
  start = end = 0;
  tags.clear();
}

BillingFormat DetectBillingFormat(std::span<const std::string_view> header) {
  // OCI reports also use category/Name headers, so they are told apart first.
  if (OciMapper::Matches(header)) return BillingFormat::kOci;
  if (CurMapper::Matches(header)) {
    return CurMapper::IsCur2(header) ? BillingFormat::kCur2 : BillingFormat::kCur;
  }
  if (FocusMapper::Matches(header)) return BillingFormat::kFocus;
  if (GcpMapper::Matches(header)) return BillingFormat::kGcp;
  if (AzureMapper::Matches(header)) return BillingFormat::kAzure;
  return BillingFormat::kAuto;
}

absl::StatusOr<std::unique_ptr<BillingRowMapper>> NewBillingRowMapper(
    BillingFormat format, std::span<const std::string_view> header, const MapperOptions& options) {
  const BillingFormat detected = DetectBillingFormat(header);
  if (format == BillingFormat::kAuto) {
    if (detected == BillingFormat::kAuto) {
      return absl::InvalidArgumentError(StrCat(
          "cannot tell the billing format of ", options.file_name,
          " from its header (expected AWS CUR, CUR 2.0, FOCUS, Azure cost details, GCP or OCI "
          "columns)"));
    }
    format = detected;
  }
  bool ok = false;
  switch (format) {
    case BillingFormat::kCur:
    case BillingFormat::kCur2:
      ok = CurMapper::Matches(header);
      break;
    case BillingFormat::kFocus:
      ok = FocusMapper::Matches(header);
      break;
    case BillingFormat::kAzure:
      ok = AzureMapper::Matches(header);
      break;
    case BillingFormat::kGcp:
      ok = GcpMapper::Matches(header);
      break;
    case BillingFormat::kOci:
      ok = OciMapper::Matches(header);
      break;
    case BillingFormat::kAuto:
      break;
  }
  if (!ok) {
    return absl::InvalidArgumentError(StrCat(options.file_name, ": the header is not ",
                                             BillingFormatName(format), " (it looks like ",
                                             BillingFormatName(detected), ")"));
  }
  switch (format) {
    case BillingFormat::kCur:
      return std::unique_ptr<BillingRowMapper>(new CurMapper(header, /*cur2=*/false));
    case BillingFormat::kCur2:
      return std::unique_ptr<BillingRowMapper>(new CurMapper(header, /*cur2=*/true));
    case BillingFormat::kFocus:
      return std::unique_ptr<BillingRowMapper>(new FocusMapper(header));
    case BillingFormat::kAzure:
      return std::unique_ptr<BillingRowMapper>(new AzureMapper(header, options));
    case BillingFormat::kGcp:
      return std::unique_ptr<BillingRowMapper>(new GcpMapper(header));
    case BillingFormat::kOci:
      return std::unique_ptr<BillingRowMapper>(new OciMapper(header));
    case BillingFormat::kAuto:
      break;
  }
  return absl::InternalError("unreachable billing format");
}

absl::StatusOr<Money> ParseMoneyCell(std::string_view text) {
  text = TrimSpaces(text);
  // Spreadsheet-formatted amounts: [-]$1,234.56.
  const bool has_dollar = text.find('$') != std::string_view::npos;
  const bool has_comma = text.find(',') != std::string_view::npos;
  if (!has_dollar && !has_comma) return Money::Parse(text);
  std::string plain;
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) plain.push_back(text[i++]);
  if (i < text.size() && text[i] == '$') ++i;
  if (plain.empty() && i < text.size() && (text[i] == '-' || text[i] == '+')) {
    plain.push_back(text[i++]);
  }
  const size_t int_begin = i;
  while (i < text.size() &&
         (absl::ascii_isdigit(static_cast<unsigned char>(text[i])) || text[i] == ',')) {
    ++i;
  }
  const std::string_view int_part = text.substr(int_begin, i - int_begin);
  if (int_part.find(',') != std::string_view::npos) {
    // The first group has one to three digits, every later group exactly three.
    size_t start = 0;
    for (bool first = true;; first = false) {
      const size_t comma = int_part.find(',', start);
      const std::string_view group = int_part.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (group.empty() || group.size() > 3 || (!first && group.size() != 3) ||
          group.find(',') != std::string_view::npos) {
        return Money::Parse(text);
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  for (const char c : int_part) {
    if (c != ',') plain.push_back(c);
  }
  plain.append(text.substr(i));
  absl::StatusOr<Money> m = Money::Parse(plain);
  if (!m.ok()) return Money::Parse(text);  // report against the original text
  return m;
}

std::string LooseColumnKey(std::string_view name) {
  std::string key;
  key.reserve(name.size());
  for (const char c : name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      key.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  return key;
}

}  // namespace burnrate
