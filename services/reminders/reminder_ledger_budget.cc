// ReminderLedger: the burden budget (减轻基层负担) — at most N reminder messages per unit and
// working day; over it, reminders merge into the unit's next digest and the ledger says why.
#include <unordered_map>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include "duban/page_token.h"
#include "duban/status.h"
#include "duban/validation.h"
#include "reminder_ledger.h"

namespace duban::reminders {
namespace {

constexpr char kBudgetDigestSlot[] = "digest:budget";

int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

// The budget that applies to a unit: its own, else its kind's, else the default.
absl::StatusOr<std::optional<BurdenBudget>> ApplicableBudget(ReminderReader& r,
                                                             const std::string& unit_id,
                                                             int unit_kind) {
  auto own = r.FindBudget(unit_id, 0);
  if (!own.ok() || *own) return own;
  if (unit_kind != 0) {
    auto kind = r.FindBudget("", unit_kind);
    if (!kind.ok() || *kind) return kind;
  }
  return r.FindBudget("", 0);
}

void ValidateScope(const std::string& unit_id, int unit_kind, const std::string& prefix,
                   FieldViolations& v) {
  if (!unit_id.empty()) v.AddIfError(prefix + "unit_id", ValidateId(unit_id));
  if (unit_kind < 0 || unit_kind > 9) v.Add(prefix + "unit_kind", "unknown unit kind");
  if (!unit_id.empty() && unit_kind != 0) {
    v.Add(prefix + "unit_kind", "at most one of unit_id and unit_kind");
  }
}

}  // namespace

absl::Status ReminderLedger::ApplyBudget(ReminderWriter& w, const AssignmentMirror& a,
                                         absl::TimeZone tz, const Policy& policy, absl::Time now,
                                         ReminderRow& row, QueueOps& ops) {
  if (row.kind == ReminderKind::kEscalation || row.kind == ReminderKind::kDigest ||
      row.kind == ReminderKind::kRollcall) {
    return absl::OkStatus();  // escalations go to higher levels; digests are never merged
  }
  auto budget = ApplicableBudget(w, a.unit_id, a.unit_kind);
  if (!budget.ok()) return budget.status();
  if (!*budget) return absl::OkStatus();
  const absl::CivilDay day = absl::ToCivilDay(absl::FromUnixMicros(row.planned_us), tz);
  const int64_t from = Us(absl::FromCivil(day, tz));
  const int64_t to = Us(absl::FromCivil(day + 1, tz));
  auto counted = w.CountBudgeted(a.unit_id, from, to, row.id);
  if (!counted.ok()) return counted.status();
  const int max = (*budget)->max_messages_per_working_day;
  if (*counted < max) return absl::OkStatus();
  // Over budget: into the digest at the next working day's window opening.
  auto next = calendar_.AddWorkingDays(day, 1);
  if (!next.ok()) return next.status();
  const absl::Time at =
      absl::FromCivil(absl::CivilSecond(next->day) + absl::ToInt64Seconds(policy.window_start), tz);
  row.state = ReminderState::kSuppressed;
  row.suppression = SuppressionReason::kOverBudget;
  row.detail = absl::StrCat("over budget ", *counted, "/", max, " on ", absl::FormatCivilTime(day));
  auto digest = MergeIntoDigest(w, row, at, now, ops, kBudgetDigestSlot);
  if (!digest.ok()) return digest.status();
  row.digest_id = *digest;
  return absl::OkStatus();
}

absl::StatusOr<BurdenBudget> ReminderLedger::SetBurdenBudget(const BurdenBudget& b) {
  FieldViolations v;
  ValidateScope(b.unit_id, b.unit_kind, "budget.", v);
  if (b.max_messages_per_working_day < 1 || b.max_messages_per_working_day > 1000) {
    v.Add("budget.max_messages_per_working_day", "must be 1-1000");
  }
  if (!v.empty()) return v.ToStatus();
  if (!b.unit_id.empty()) {
    auto units = units_.BatchGetUnits({b.unit_id});
    if (!units.ok()) return units.status();
    if (units->empty()) return InvalidField("budget.unit_id", "no such unit");
  }
  BurdenBudget out = b;
  out.update_us = Us(clock_());
  auto st = store_.Write([&](ReminderWriter& w) { return w.UpsertBudget(out); });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<std::pair<std::vector<BurdenBudget>, std::string>> ReminderLedger::ListBurdenBudgets(
    int32_t page_size, const std::string& page_token) {
  auto size = EffectivePageSize(page_size);
  if (!size.ok()) return size.status();
  const uint64_t fp = FilterFingerprint("budgets");
  auto cursor = DecodePageToken(page_token, fp);
  if (!cursor.ok()) return cursor.status();
  size_t offset = 0;
  if (!cursor->empty() && !absl::SimpleAtoi(*cursor, &offset)) {
    return InvalidField("page_token", "malformed page token");
  }
  std::vector<BurdenBudget> all;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto rows = r.ListBudgets();
    if (!rows.ok()) return rows.status();
    all = std::move(*rows);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  std::vector<BurdenBudget> page;
  for (size_t i = offset; i < all.size() && page.size() < static_cast<size_t>(*size); ++i) {
    page.push_back(all[i]);
  }
  std::string next;
  if (offset + page.size() < all.size()) {
    next = EncodePageToken(fp, absl::StrCat(offset + page.size()));
  }
  return std::make_pair(std::move(page), std::move(next));
}

absl::Status ReminderLedger::DeleteBurdenBudget(const std::string& unit_id, int unit_kind) {
  FieldViolations v;
  ValidateScope(unit_id, unit_kind, "", v);
  if (!v.empty()) return v.ToStatus();
  return store_.Write([&](ReminderWriter& w) -> absl::Status {
    auto removed = w.DeleteBudget(unit_id, unit_kind);
    if (!removed.ok()) return removed.status();
    if (!*removed) {
      return FieldError(absl::StatusCode::kNotFound, unit_id.empty() ? "unit_kind" : "unit_id",
                        "no budget is set for the scope");
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<BurdenUsage>> ReminderLedger::GetBurdenUsage(
    const std::vector<std::string>& ids, std::optional<absl::CivilDay> date) {
  FieldViolations v;
  if (ids.empty() || ids.size() > 1000) v.Add("unit_ids", "1-1000 unit ids required");
  for (size_t i = 0; i < ids.size() && i < 1000; ++i) {
    v.AddIfError(absl::StrCat("unit_ids[", i, "]"), ValidateId(ids[i]));
  }
  if (!v.empty()) return v.ToStatus();
  auto units = units_.BatchGetUnits(ids);
  if (!units.ok()) return units.status();
  std::unordered_map<std::string, UnitInfo> known;
  for (const auto& u : *units) known[u.id] = u;
  const absl::Time now = clock_();
  std::vector<BurdenUsage> out;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    for (const auto& id : ids) {
      BurdenUsage u;
      u.unit_id = id;
      auto it = known.find(id);
      if (it == known.end()) {
        out.push_back(u);  // unknown: zero counts, no budget
        continue;
      }
      auto tz = Zone(it->second.timezone);
      if (!tz.ok()) return tz.status();
      const absl::CivilDay day = date.value_or(absl::ToCivilDay(now, *tz));
      const int64_t from = Us(absl::FromCivil(day, *tz));
      const int64_t to = Us(absl::FromCivil(day + 1, *tz));
      auto budget = ApplicableBudget(r, id, it->second.kind);
      if (!budget.ok()) return budget.status();
      if (*budget) u.max_messages_per_working_day = (*budget)->max_messages_per_working_day;
      auto counted = r.CountBudgeted(id, from, to, "");
      if (!counted.ok()) return counted.status();
      u.counted = *counted;
      auto merged = r.CountOverBudget(id, from, to);
      if (!merged.ok()) return merged.status();
      u.merged = *merged;
      out.push_back(u);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace duban::reminders
