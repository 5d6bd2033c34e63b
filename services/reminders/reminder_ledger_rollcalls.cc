// ReminderLedger: roll-calls (点名调度) — recurring rounds that send every unit with open
// assignments of a plan one ROLLCALL digest, then chase only the units whose listed
// assignments still have no report since the round began. Next-round arithmetic lives in
// rollcall_schedule.cc; this file holds the ledger side (rows, rounds, chases, queue upserts).
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

#include "duban/ids.h"
#include "duban/page_token.h"
#include "duban/queue/delivery_id.h"
#include "duban/status.h"
#include "duban/validation.h"
#include "reminder_ledger.h"
#include "rollcall_schedule.h"

namespace duban::reminders {
namespace {

// A digest lists at most this many assignments (as DIGEST rows do).
constexpr size_t kMaxListed = 1000;
constexpr int kOpenAssignmentPage = 500;
constexpr int kTickBatch = 100;

int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

const std::set<std::string>& MutableRollCallPaths() {
  static const std::set<std::string> kPaths = {
      "name", "task_id", "weekly", "every_working_days", "chase_after_working_days", "max_chases"};
  return kPaths;
}

// The fields a caller sets; plan, root and id only on create (they are immutable).
void ValidateRollCall(const RollCall& rc, bool create, FieldViolations& v) {
  if (create) {
    if (!rc.id.empty()) v.AddIfError("roll_call.id", ValidateId(rc.id));
    v.AddIfError("roll_call.plan_id", ValidateId(rc.plan_id));
    v.AddIfError("roll_call.root_unit_id", ValidateId(rc.root_unit_id));
  }
  v.AddIfError("roll_call.name", ValidateText(rc.name, 1, 100));
  if (!rc.task_id.empty()) v.AddIfError("roll_call.task_id", ValidateId(rc.task_id));
  ValidateRollCallSchedule(rc.schedule, "roll_call.", v);
  if (rc.chase_after_working_days < 0 || rc.chase_after_working_days > 10) {
    v.Add("roll_call.chase_after_working_days", "must be 0-10");
  }
  if (rc.max_chases < 0 || rc.max_chases > 5) {
    v.Add("roll_call.max_chases", "must be 0-5");
  } else if (rc.chase_after_working_days > 0 && rc.max_chases < 1) {
    v.Add("roll_call.max_chases", "must be >= 1 when chase_after_working_days is set");
  }
}

// An assignment has reported for a round when it got a progress report, a submission or a
// closure since the round began. The mirror's last_report_time covers reports and
// submissions; a closure may arrive as CancelAssignment, which carries no report time, so a
// closed assignment counts as reported (it was open when the round listed it). An assignment
// missing from the mirror cannot be chased either.
bool Reported(const AssignmentMirror* a, int64_t since_us) {
  if (a == nullptr || a->closed()) return true;
  return a->last_report_us && *a->last_report_us >= since_us;
}

std::string RollCallSlot(int64_t number, int chase) {
  return absl::StrCat("rollcall:", number, ":", chase);
}

absl::StatusOr<std::unordered_map<std::string, AssignmentMirror>> MirrorsOf(
    ReminderReader& r, const std::vector<RoundUnit>& units) {
  std::vector<std::string> ids;
  for (const auto& u : units)
    ids.insert(ids.end(), u.assignment_ids.begin(), u.assignment_ids.end());
  std::unordered_map<std::string, AssignmentMirror> out;
  for (size_t start = 0; start < ids.size(); start += kMaxListed) {
    std::vector<std::string> chunk(
        ids.begin() + static_cast<std::ptrdiff_t>(start),
        ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), start + kMaxListed)));
    auto found = r.FindAssignments(chunk);
    if (!found.ok()) return found.status();
    for (auto& a : *found) out.emplace(a.id, std::move(a));
  }
  return out;
}

int CountReported(const RoundUnit& u,
                  const std::unordered_map<std::string, AssignmentMirror>& mirrors,
                  int64_t since_us) {
  int n = 0;
  for (const auto& id : u.assignment_ids) {
    auto it = mirrors.find(id);
    if (Reported(it == mirrors.end() ? nullptr : &it->second, since_us)) ++n;
  }
  return n;
}

absl::Status NotFound(const std::string& field, const std::string& what) {
  return FieldError(absl::StatusCode::kNotFound, field, "no such " + what);
}

absl::Status CheckEtag(const std::string& etag, const RollCall& rc) {
  if (!etag.empty() && etag != RollCallEtag(rc)) {
    return FieldError(absl::StatusCode::kAborted, "etag", "the roll-call changed; read it again");
  }
  return absl::OkStatus();
}

}  // namespace

std::string RollCallEtag(const RollCall& rc) { return absl::StrCat(rc.revision); }

// ---------------------------------------------------------------- resource methods

absl::StatusOr<RollCall> ReminderLedger::CreateRollCall(RollCall rc,
                                                        const std::string& request_id) {
  FieldViolations v;
  ValidateRollCall(rc, /*create=*/true, v);
  if (!request_id.empty()) v.AddIfError("request_id", ValidateRequestId(request_id));
  if (!v.empty()) return v.ToStatus();
  auto units = units_.BatchGetUnits({rc.root_unit_id});
  if (!units.ok()) return units.status();
  if (units->empty()) return InvalidField("roll_call.root_unit_id", "no such unit");
  rc.timezone = units->front().timezone;
  auto tz = Zone(rc.timezone);
  if (!tz.ok()) return tz.status();
  const absl::Time now = clock_();
  if (rc.schedule.type == RollCallSchedule::Type::kWorkingDays && !rc.schedule.start_date) {
    // Fixed now so the rhythm does not shift with each update or restart.
    auto next = calendar_.AddWorkingDays(absl::ToCivilDay(now, *tz), 1);
    if (!next.ok()) return next.status();
    rc.schedule.start_date = next->day;
  }
  auto next_round = NextRoundTime(rc.schedule, *tz, calendar_, now);
  if (!next_round.ok()) return next_round.status();
  const bool generated = rc.id.empty();
  if (generated) rc.id = NewId("rc");
  RollCall out;
  auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    if (!request_id.empty()) {
      auto prior = w.FindRollCallByRequestId(request_id);
      if (!prior.ok()) return prior.status();
      if (*prior) {
        if ((!generated && (*prior)->id != rc.id) || (*prior)->name != rc.name ||
            (*prior)->plan_id != rc.plan_id || (*prior)->root_unit_id != rc.root_unit_id) {
          return InvalidField("request_id", "was used for a different request");
        }
        out = std::move(**prior);
        return absl::OkStatus();
      }
    }
    auto taken = w.FindRollCall(rc.id);
    if (!taken.ok()) return taken.status();
    if (*taken) {
      // Ids of deleted roll-calls stay taken: their rounds and ledger rows still name them.
      return FieldError(absl::StatusCode::kAlreadyExists, "roll_call.id", "roll-call id is taken");
    }
    rc.paused = false;
    rc.deleted = false;
    rc.last_round_id.clear();
    rc.revision = 1;
    rc.create_us = rc.update_us = Us(now);
    rc.request_id = request_id;
    rc.next_round_us = Us(*next_round);
    if (auto s = w.UpsertRollCall(rc); !s.ok()) return s;
    out = rc;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<RollCall> ReminderLedger::GetRollCall(const std::string& id) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  RollCall out;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto rc = r.FindRollCall(id);
    if (!rc.ok()) return rc.status();
    if (!*rc || (*rc)->deleted) return NotFound("id", "roll-call");
    out = std::move(**rc);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<RollCallPage> ReminderLedger::ListRollCalls(const RollCallFilter& f,
                                                           int32_t page_size,
                                                           const std::string& page_token) {
  FieldViolations v;
  auto size = EffectivePageSize(page_size);
  if (!size.ok()) v.AddIfError("page_size", size.status());
  if (!f.plan_id.empty()) v.AddIfError("plan_id", ValidateId(f.plan_id));
  if (!f.root_unit_id.empty()) v.AddIfError("root_unit_id", ValidateId(f.root_unit_id));
  if (!v.empty()) return v.ToStatus();
  const uint64_t fp = FilterFingerprint(
      absl::StrCat("rollcalls|", f.plan_id, "|", f.root_unit_id, "|", f.include_paused ? 1 : 0));
  auto after = DecodePageToken(page_token, fp);
  if (!after.ok()) return after.status();
  RollCallPage page;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto rows = r.ListRollCalls(f, *after, *size + 1);
    if (!rows.ok()) return rows.status();
    page.roll_calls = std::move(*rows);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (page.roll_calls.size() > static_cast<size_t>(*size)) {
    page.roll_calls.resize(*size);
    page.next_page_token = EncodePageToken(fp, page.roll_calls.back().id);
  }
  return page;
}

absl::StatusOr<RollCall> ReminderLedger::UpdateRollCall(const RollCall& in,
                                                        const std::vector<std::string>& mask,
                                                        const std::string& etag) {
  FieldViolations v;
  v.AddIfError("roll_call.id", ValidateId(in.id));
  if (mask.empty()) v.Add("update_mask", "required: the fields to change");
  std::set<std::string> paths;
  for (const auto& path : mask) {
    if (MutableRollCallPaths().count(path) == 0) {
      v.Add("update_mask", absl::StrCat("unknown or immutable path \"", path, "\""));
    }
    paths.insert(path);
  }
  if (paths.count("weekly") && paths.count("every_working_days")) {
    v.Add("update_mask", "at most one of weekly and every_working_days");
  }
  if (paths.count("weekly") && in.schedule.type != RollCallSchedule::Type::kWeekly) {
    v.Add("roll_call.weekly", "required by the update mask");
  }
  if (paths.count("every_working_days") &&
      in.schedule.type != RollCallSchedule::Type::kWorkingDays) {
    v.Add("roll_call.every_working_days", "required by the update mask");
  }
  if (!v.empty()) return v.ToStatus();
  const absl::Time now = clock_();
  RollCall out;
  auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    auto found = w.FindRollCall(in.id);
    if (!found.ok()) return found.status();
    if (!*found || (*found)->deleted) return NotFound("roll_call.id", "roll-call");
    RollCall rc = std::move(**found);
    if (auto s = CheckEtag(etag, rc); !s.ok()) return s;
    auto tz = Zone(rc.timezone);
    if (!tz.ok()) return tz.status();
    for (const auto& path : paths) {
      if (path == "name") rc.name = in.name;
      if (path == "task_id") rc.task_id = in.task_id;
      if (path == "weekly" || path == "every_working_days") rc.schedule = in.schedule;
      if (path == "chase_after_working_days") {
        rc.chase_after_working_days = in.chase_after_working_days;
      }
      if (path == "max_chases") rc.max_chases = in.max_chases;
    }
    FieldViolations pv;
    ValidateRollCall(rc, /*create=*/false, pv);
    if (!pv.empty()) return pv.ToStatus();
    if (rc.schedule.type == RollCallSchedule::Type::kWorkingDays && !rc.schedule.start_date) {
      auto next = calendar_.AddWorkingDays(absl::ToCivilDay(now, *tz), 1);
      if (!next.ok()) return next.status();
      rc.schedule.start_date = next->day;
    }
    if (!rc.paused) {
      // The open round keeps its own chase plan (copied at its start); only the future moves.
      auto next_round = NextRoundTime(rc.schedule, *tz, calendar_, now);
      if (!next_round.ok()) return next_round.status();
      rc.next_round_us = Us(*next_round);
    }
    rc.revision += 1;
    rc.update_us = Us(now);
    if (auto s = w.UpsertRollCall(rc); !s.ok()) return s;
    out = std::move(rc);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<RollCall> ReminderLedger::PauseRollCall(const std::string& id,
                                                       const std::string& etag) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  const absl::Time now = clock_();
  RollCall out;
  QueueOps ops;
  auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    ops.ops.clear();
    auto found = w.FindRollCall(id);
    if (!found.ok()) return found.status();
    if (!*found || (*found)->deleted) return NotFound("id", "roll-call");
    RollCall rc = std::move(**found);
    if (auto s = CheckEtag(etag, rc); !s.ok()) return s;
    if (rc.paused) {
      return FieldError(absl::StatusCode::kFailedPrecondition, "id", "already paused");
    }
    auto open = w.OpenRound(rc.id);
    if (!open.ok()) return open.status();
    if (*open) {
      if (auto s = CloseRound(w, **open, "roll-call paused", now, ops); !s.ok()) return s;
    }
    // A round closes once its last chase is planned, before that chase is sent: stopping the
    // roll-call must stop those messages too.
    if (auto s = CancelRollCallPending(w, rc.id, "", "roll-call paused", now, ops); !s.ok()) {
      return s;
    }
    rc.paused = true;
    rc.next_round_us.reset();
    rc.revision += 1;
    rc.update_us = Us(now);
    if (auto s = w.UpsertRollCall(rc); !s.ok()) return s;
    out = std::move(rc);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  Push(ops);
  return out;
}

absl::StatusOr<RollCall> ReminderLedger::ResumeRollCall(const std::string& id,
                                                        const std::string& etag) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  const absl::Time now = clock_();
  RollCall out;
  auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    auto found = w.FindRollCall(id);
    if (!found.ok()) return found.status();
    if (!*found || (*found)->deleted) return NotFound("id", "roll-call");
    RollCall rc = std::move(**found);
    if (auto s = CheckEtag(etag, rc); !s.ok()) return s;
    if (!rc.paused) return FieldError(absl::StatusCode::kFailedPrecondition, "id", "not paused");
    auto tz = Zone(rc.timezone);
    if (!tz.ok()) return tz.status();
    // The next scheduled slot after now: rounds missed while paused are not made up.
    auto next_round = NextRoundTime(rc.schedule, *tz, calendar_, now);
    if (!next_round.ok()) return next_round.status();
    rc.paused = false;
    rc.next_round_us = Us(*next_round);
    rc.revision += 1;
    rc.update_us = Us(now);
    if (auto s = w.UpsertRollCall(rc); !s.ok()) return s;
    out = std::move(rc);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::Status ReminderLedger::DeleteRollCall(const std::string& id, const std::string& etag) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  const absl::Time now = clock_();
  QueueOps ops;
  auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    ops.ops.clear();
    auto found = w.FindRollCall(id);
    if (!found.ok()) return found.status();
    if (!*found || (*found)->deleted) return NotFound("id", "roll-call");
    RollCall rc = std::move(**found);
    if (auto s = CheckEtag(etag, rc); !s.ok()) return s;
    auto open = w.OpenRound(rc.id);
    if (!open.ok()) return open.status();
    if (*open) {
      if (auto s = CloseRound(w, **open, "roll-call deleted", now, ops); !s.ok()) return s;
    }
    // A round closes once its last chase is planned, before that chase is sent: stopping the
    // roll-call must stop those messages too.
    if (auto s = CancelRollCallPending(w, rc.id, "", "roll-call deleted", now, ops); !s.ok()) {
      return s;
    }
    rc.deleted = true;
    rc.next_round_us.reset();
    rc.revision += 1;
    rc.update_us = Us(now);
    return w.UpsertRollCall(rc);
  });
  if (!st.ok()) return st;
  Push(ops);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- rounds

absl::StatusOr<RoundView> ReminderLedger::StartRollCallRound(const std::string& id,
                                                             const std::string& request_id) {
  FieldViolations v;
  v.AddIfError("id", ValidateId(id));
  if (!request_id.empty()) v.AddIfError("request_id", ValidateRequestId(request_id));
  if (!v.empty()) return v.ToStatus();
  // Read the roll-call first: the subtree comes from UnitService, outside the transaction.
  RollCall rc;
  std::optional<RollCallRound> prior;
  auto check = [&](ReminderReader& r) -> absl::Status {
    auto found = r.FindRollCall(id);
    if (!found.ok()) return found.status();
    if (!*found || (*found)->deleted) return NotFound("id", "roll-call");
    rc = std::move(**found);
    if (!request_id.empty()) {
      auto p = r.FindRoundByRequestId(rc.id, request_id);
      if (!p.ok()) return p.status();
      prior = std::move(*p);
      if (prior) return absl::OkStatus();  // a retry answers with the first result
    }
    if (rc.paused) return FieldError(absl::StatusCode::kFailedPrecondition, "id", "paused");
    return absl::OkStatus();
  };
  if (auto s = store_.Read(check); !s.ok()) return s;
  RoundView out;
  if (!prior) {
    auto subtree = units_.ListSubtree(rc.root_unit_id);
    if (!subtree.ok()) {
      if (subtree.status().code() == absl::StatusCode::kNotFound) {
        return FieldError(absl::StatusCode::kFailedPrecondition, "id",
                          "the roll-call's root unit no longer exists");
      }
      return subtree.status();
    }
    const absl::Time now = clock_();
    QueueOps ops;
    auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
      ops.ops.clear();
      prior.reset();
      if (auto s = check(w); !s.ok()) return s;
      if (prior) return absl::OkStatus();
      auto round = OpenRound(w, rc, *subtree, now, request_id, now, ops);
      if (!round.ok()) return round.status();
      if (auto s = w.UpsertRollCall(rc); !s.ok()) return s;
      prior = std::move(*round);
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    Push(ops);
  }
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto view = ViewRound(r, *prior);
    if (!view.ok()) return view.status();
    out = std::move(*view);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<RollCallRound> ReminderLedger::OpenRound(ReminderWriter& w, RollCall& rc,
                                                        const std::vector<UnitInfo>& subtree,
                                                        absl::Time start,
                                                        const std::string& request_id,
                                                        absl::Time now, QueueOps& ops) {
  auto previous = w.OpenRound(rc.id);
  if (!previous.ok()) return previous.status();
  if (*previous) {
    if (auto s = CloseRound(w, **previous, "next round began", now, ops); !s.ok()) return s;
  }
  auto last = w.LastRoundNumber(rc.id);
  if (!last.ok()) return last.status();
  auto tz = Zone(rc.timezone);
  if (!tz.ok()) return tz.status();

  RollCallRound round;
  round.id = NewId("rnd");
  round.roll_call_id = rc.id;
  round.number = *last + 1;
  round.open = true;
  round.start_us = Us(start);
  round.chase_after_working_days = rc.chase_after_working_days;
  round.max_chases = rc.max_chases;
  round.request_id = request_id;

  // Open assignments of the plan (and task) held by units of the subtree, per unit.
  std::unordered_set<std::string> in_subtree;
  for (const auto& u : subtree) in_subtree.insert(u.id);
  std::map<std::string, std::vector<std::string>> by_unit;
  OpenAssignmentQuery q;
  q.plan_id = rc.plan_id;
  std::string after;
  for (;;) {
    auto page = w.OpenAssignments(q, after, kOpenAssignmentPage);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    after = page->back().id;
    for (const AssignmentMirror& a : *page) {
      if (in_subtree.count(a.unit_id) == 0) continue;
      if (!rc.task_id.empty() && !a.InTaskSubtree(rc.task_id)) continue;
      by_unit[a.unit_id].push_back(a.id);
    }
  }

  const std::string& queue_name = queue_.options().name;
  for (auto& [unit_id, ids] : by_unit) {
    if (ids.size() > kMaxListed) ids.resize(kMaxListed);
    ReminderRow row;
    row.id = NewId("r");
    row.kind = ReminderKind::kRollcall;
    row.state = ReminderState::kScheduled;
    row.slot = RollCallSlot(round.number, 0);
    row.plan_id = rc.plan_id;
    row.task_id = rc.task_id;
    row.unit_id = unit_id;
    row.planned_us = row.rule_us = round.start_us;
    row.version = 1;
    row.delivery_id = queue::DeliveryId(queue_name, row.id, row.version);
    row.assignment_ids = ids;
    row.roll_call_id = rc.id;
    row.round_id = round.id;
    row.chase = 0;
    row.detail =
        absl::StrCat("roll-call round ", round.number, ": ", ids.size(), " open assignment(s)");
    row.create_us = row.update_us = Us(now);
    // Counted against the unit's budget like any message, but never merged: a roll-call is
    // the one message a unit must answer (see ApplyBudget).
    if (auto s = w.InsertReminder(row); !s.ok()) return s;
    ops.Schedule(row);
    RoundUnit unit;
    unit.round_id = round.id;
    unit.unit_id = unit_id;
    unit.assignment_ids = ids;
    unit.reminder_id = row.id;
    if (auto s = w.UpsertRoundUnit(unit); !s.ok()) return s;
  }

  if (round.chase_after_working_days > 0 && round.max_chases > 0 && !by_unit.empty()) {
    auto at = calendar_.ShiftByWorkingDays(start, *tz, round.chase_after_working_days);
    if (!at.ok()) return at.status();
    round.next_chase_us = Us(at->time);
  } else {
    round.open = false;  // nothing will be chased: the round is complete once sent
    round.close_us = round.start_us;
  }
  if (auto s = w.UpsertRound(round); !s.ok()) return s;
  rc.last_round_id = round.id;
  return round;
}

absl::Status ReminderLedger::CancelRollCallPending(ReminderWriter& w,
                                                   const std::string& roll_call_id,
                                                   const std::string& round_id,
                                                   const std::string& detail, absl::Time now,
                                                   QueueOps& ops) {
  ReminderFilter f;
  f.roll_call_id = roll_call_id;
  f.round_id = round_id;
  f.states = {ReminderState::kScheduled, ReminderState::kFailed};
  for (;;) {
    // Canceled rows leave the filter, so each batch starts from the beginning again.
    // By roll-call: an index read, never cut short by the scan budget.
    auto listing = w.ListReminders(f, std::nullopt, kTickBatch, kTickBatch);
    if (!listing.ok()) return listing.status();
    if (listing->rows.empty()) return absl::OkStatus();
    for (ReminderRow& row : listing->rows) {
      row.state = ReminderState::kCanceled;
      row.detail = detail;
      row.next_attempt_us.reset();
      row.update_us = Us(now);
      if (auto s = w.UpdateReminder(row); !s.ok()) return s;
      ops.Cancel(row);
    }
  }
}

absl::Status ReminderLedger::CloseRound(ReminderWriter& w, RollCallRound& round,
                                        const std::string& detail, absl::Time now, QueueOps& ops) {
  if (auto s = CancelRollCallPending(w, round.roll_call_id, round.id, detail, now, ops); !s.ok()) {
    return s;
  }
  round.open = false;
  round.close_us = Us(now);
  round.next_chase_us.reset();
  return w.UpsertRound(round);
}

absl::StatusOr<int> ReminderLedger::ChaseRound(ReminderWriter& w, RollCallRound& round,
                                               absl::Time now, QueueOps& ops) {
  auto rc = w.FindRollCall(round.roll_call_id);
  if (!rc.ok()) return rc.status();
  if (!*rc) return absl::InternalError("round without roll-call");
  auto tz = Zone((*rc)->timezone);
  if (!tz.ok()) return tz.status();
  auto units = w.RoundUnits(round.id);
  if (!units.ok()) return units.status();
  auto mirrors = MirrorsOf(w, *units);
  if (!mirrors.ok()) return mirrors.status();

  const int chase = round.chases_done + 1;
  const int64_t at_us = round.next_chase_us.value_or(Us(now));
  const std::string& queue_name = queue_.options().name;
  int sent = 0;
  for (RoundUnit& unit : *units) {
    std::vector<std::string> missing;
    for (const auto& id : unit.assignment_ids) {
      auto it = mirrors->find(id);
      if (!Reported(it == mirrors->end() ? nullptr : &it->second, round.start_us)) {
        missing.push_back(id);
      }
    }
    if (missing.empty()) continue;  // reported: never chased
    ReminderRow row;
    row.id = NewId("r");
    row.kind = ReminderKind::kRollcall;
    row.state = ReminderState::kScheduled;
    row.slot = RollCallSlot(round.number, chase);
    row.plan_id = (*rc)->plan_id;
    row.task_id = (*rc)->task_id;
    row.unit_id = unit.unit_id;
    row.planned_us = row.rule_us = at_us;
    row.version = 1;
    row.delivery_id = queue::DeliveryId(queue_name, row.id, row.version);
    row.assignment_ids = missing;
    row.roll_call_id = round.roll_call_id;
    row.round_id = round.id;
    row.chase = chase;
    row.detail = absl::StrCat("roll-call round ", round.number, " chase ", chase, ": ",
                              missing.size(), " assignment(s) without a report");
    row.create_us = row.update_us = Us(now);
    if (auto s = w.InsertReminder(row); !s.ok()) return s;
    ops.Schedule(row);
    unit.chase_reminder_ids.push_back(row.id);
    if (auto s = w.UpsertRoundUnit(unit); !s.ok()) return s;
    ++sent;
  }
  round.chases_done = chase;
  if (sent == 0 || chase >= round.max_chases) {
    // Everyone reported, or chases exhausted. The chases just planned stay scheduled.
    round.open = false;
    round.close_us = Us(now);
    round.next_chase_us.reset();
  } else {
    // Step on the round's rhythm past now: after an outage one chase goes out, not a burst of
    // the missed ones.
    absl::Time next = absl::FromUnixMicros(at_us);
    do {
      auto shifted = calendar_.ShiftByWorkingDays(next, *tz, round.chase_after_working_days);
      if (!shifted.ok()) return shifted.status();
      next = shifted->time;
    } while (next <= now);
    round.next_chase_us = Us(next);
  }
  if (auto s = w.UpsertRound(round); !s.ok()) return s;
  return sent;
}

absl::StatusOr<RollCallTickReport> ReminderLedger::RunDueRollCalls() {
  RollCallTickReport report;
  const absl::Time now = clock_();
  const int64_t now_us = Us(now);
  // Scheduled rounds.
  for (;;) {
    std::vector<RollCall> due;
    auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
      auto rows = r.DueRollCalls(now_us, kTickBatch);
      if (!rows.ok()) return rows.status();
      due = std::move(*rows);
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    int started = 0;
    for (const RollCall& seen : due) {
      auto subtree = units_.ListSubtree(seen.root_unit_id);
      if (!subtree.ok()) {
        // Try again at the next tick; a deleted root leaves nobody to call this time.
        spdlog::warn("roll-call {}: cannot read the subtree of {}: {}", seen.id, seen.root_unit_id,
                     std::string(subtree.status().message()));
        if (subtree.status().code() != absl::StatusCode::kNotFound) continue;
        subtree = std::vector<UnitInfo>();
      }
      QueueOps ops;
      bool did = false;
      st = store_.Write([&](ReminderWriter& w) -> absl::Status {
        ops.ops.clear();
        did = false;
        auto found = w.FindRollCall(seen.id);
        if (!found.ok()) return found.status();
        // Someone else (another replica, a previous run) already moved the schedule on.
        if (!*found || (*found)->deleted || (*found)->paused ||
            (*found)->next_round_us != seen.next_round_us) {
          return absl::OkStatus();
        }
        RollCall rc = std::move(**found);
        auto tz = Zone(rc.timezone);
        if (!tz.ok()) return tz.status();
        auto round = OpenRound(w, rc, *subtree, now, "", now, ops);
        if (!round.ok()) return round.status();
        // After a long outage start one round, not one per missed slot.
        const absl::Time slot = absl::FromUnixMicros(*seen.next_round_us);
        auto next = NextRoundTime(rc.schedule, *tz, calendar_, std::max(now, slot));
        if (!next.ok()) return next.status();
        rc.next_round_us = Us(*next);
        if (auto s = w.UpsertRollCall(rc); !s.ok()) return s;
        did = true;
        return absl::OkStatus();
      });
      if (!st.ok()) return st;
      Push(ops);
      if (did) {
        ++report.rounds_started;
        ++started;
      }
    }
    if (due.size() < static_cast<size_t>(kTickBatch) || started == 0) break;
  }
  // Chases.
  for (;;) {
    std::vector<RollCallRound> due;
    auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
      auto rows = r.DueChases(now_us, kTickBatch);
      if (!rows.ok()) return rows.status();
      due = std::move(*rows);
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    int waves = 0;
    for (const RollCallRound& seen : due) {
      QueueOps ops;
      int sent = -1;
      st = store_.Write([&](ReminderWriter& w) -> absl::Status {
        ops.ops.clear();
        sent = -1;
        auto found = w.FindRound(seen.id);
        if (!found.ok()) return found.status();
        if (!*found || !(*found)->open || (*found)->chases_done != seen.chases_done) {
          return absl::OkStatus();
        }
        auto n = ChaseRound(w, **found, now, ops);
        if (!n.ok()) return n.status();
        sent = *n;
        return absl::OkStatus();
      });
      if (!st.ok()) return st;
      Push(ops);
      if (sent >= 0) {
        ++report.chase_waves;
        ++waves;
        report.chases_sent += sent;
      }
    }
    if (due.size() < static_cast<size_t>(kTickBatch) || waves == 0) break;
  }
  return report;
}

// ---------------------------------------------------------------- round reads

absl::StatusOr<RoundView> ReminderLedger::ViewRound(ReminderReader& r, const RollCallRound& round) {
  RoundView view;
  view.round = round;
  auto units = r.RoundUnits(round.id);
  if (!units.ok()) return units.status();
  auto mirrors = MirrorsOf(r, *units);
  if (!mirrors.ok()) return mirrors.status();
  for (const auto& u : *units) {
    ++view.units_called;
    if (CountReported(u, *mirrors, round.start_us) == static_cast<int>(u.assignment_ids.size())) {
      ++view.units_reported;
    }
    if (!u.chase_reminder_ids.empty()) ++view.units_chased;
    view.chases_sent += static_cast<int64_t>(u.chase_reminder_ids.size());
  }
  return view;
}

absl::StatusOr<RoundPage> ReminderLedger::ListRollCallRounds(const std::string& roll_call_id,
                                                             int32_t page_size,
                                                             const std::string& page_token) {
  FieldViolations v;
  v.AddIfError("roll_call_id", ValidateId(roll_call_id));
  auto size = EffectivePageSize(page_size);
  if (!size.ok()) v.AddIfError("page_size", size.status());
  if (!v.empty()) return v.ToStatus();
  const uint64_t fp = FilterFingerprint(absl::StrCat("rounds|", roll_call_id));
  auto cursor = DecodePageToken(page_token, fp);
  if (!cursor.ok()) return cursor.status();
  int64_t before = 0;
  if (!cursor->empty() && (!absl::SimpleAtoi(*cursor, &before) || before < 1)) {
    return InvalidField("page_token", "malformed page token");
  }
  RoundPage page;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto rc = r.FindRollCall(roll_call_id);
    if (!rc.ok()) return rc.status();
    if (!*rc) return NotFound("roll_call_id", "roll-call");
    auto rows = r.ListRounds(roll_call_id, before, *size + 1);
    if (!rows.ok()) return rows.status();
    if (rows->size() > static_cast<size_t>(*size)) {
      rows->resize(*size);
      page.next_page_token = EncodePageToken(fp, absl::StrCat(rows->back().number));
    }
    for (const auto& round : *rows) {
      auto view = ViewRound(r, round);
      if (!view.ok()) return view.status();
      page.rounds.push_back(std::move(*view));
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return page;
}

absl::StatusOr<RoundUnitPage> ReminderLedger::ListRollCallRoundUnits(
    const std::string& round_id, bool not_reported_only, int32_t page_size,
    const std::string& page_token) {
  FieldViolations v;
  v.AddIfError("round_id", ValidateId(round_id));
  auto size = EffectivePageSize(page_size);
  if (!size.ok()) v.AddIfError("page_size", size.status());
  if (!v.empty()) return v.ToStatus();
  const uint64_t fp =
      FilterFingerprint(absl::StrCat("round-units|", round_id, "|", not_reported_only ? 1 : 0));
  auto after = DecodePageToken(page_token, fp);
  if (!after.ok()) return after.status();
  RoundUnitPage page;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto round = r.FindRound(round_id);
    if (!round.ok()) return round.status();
    if (!*round) return NotFound("round_id", "round");
    auto units = r.RoundUnits(round_id);
    if (!units.ok()) return units.status();
    auto mirrors = MirrorsOf(r, *units);
    if (!mirrors.ok()) return mirrors.status();
    for (auto& u : *units) {
      if (!after->empty() && u.unit_id <= *after) continue;
      RoundUnitView view;
      view.assignments_reported = CountReported(u, *mirrors, (*round)->start_us);
      view.reported = view.assignments_reported == static_cast<int>(u.assignment_ids.size());
      if (not_reported_only && view.reported) continue;
      if (page.units.size() == static_cast<size_t>(*size)) {
        page.next_page_token = EncodePageToken(fp, page.units.back().unit.unit_id);
        break;
      }
      view.unit = std::move(u);
      page.units.push_back(std::move(view));
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return page;
}

}  // namespace duban::reminders
