// TaskDirectory: extension requests (延期申请).
#include <algorithm>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>

#include "duban/ids.h"
#include "duban/page_token.h"
#include "duban/validation.h"
#include "task_directory.h"
#include "task_rules.h"

namespace duban::tasks {

using namespace rules;  // NOLINT(build/namespaces): internal helpers of this service

namespace {

const char* ExtensionStateName(ExtensionState s) {
  switch (s) {
    case ExtensionState::kPending:
      return "PENDING";
    case ExtensionState::kApproved:
      return "APPROVED";
    case ExtensionState::kRejected:
      return "REJECTED";
    case ExtensionState::kWithdrawn:
      return "WITHDRAWN";
    case ExtensionState::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

std::string SpecKey(const DeadlineSpec& s) {
  if (s.absolute_us) return absl::StrCat("abs:", *s.absolute_us);
  if (s.working_days) {
    const auto& w = *s.working_days;
    return absl::StrCat("wd:", w.count, ":", w.from_date ? DateText(*w.from_date) : "", ":",
                        w.time_of_day_minutes.value_or(-1), ":", w.timezone);
  }
  return "";
}

}  // namespace

absl::StatusOr<ExtensionRequest> TaskDirectory::RequestExtension(const ExtensionInput& in) {
  FieldViolations v;
  if (in.assignment_id.empty()) {
    v.Add("assignment_id", "is required");
  } else {
    v.AddIfError("assignment_id", ValidateId(in.assignment_id));
  }
  DeadlineResolver::Check(in.requested_deadline, "requested_deadline", /*required=*/true, v);
  v.AddIfError("reason", ValidateText(in.reason, 1, kMaxNoteChars, /*allow_newlines=*/true));
  CheckActor(in.actor, "actor", /*required=*/true, v);
  CheckRequestId(in.request_id, v);
  if (!v.empty()) return v.ToStatus();
  if (!in.actor.unit_id.empty()) {
    if (auto u = CheckUnits({{"actor.unit_id", in.actor.unit_id}}); !u.ok()) return u.status();
  }
  const std::string fp = Fingerprint(
      absl::StrCat(in.assignment_id, "|", SpecKey(in.requested_deadline), "|", in.reason));
  const int64_t now = NowMicros();
  ExtensionRequest out;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto prior = Replay(tx, in.request_id, "RequestExtension", fp);
    if (!prior.ok()) return prior.status();
    if (*prior) {
      auto found = tx.FindExtension(**prior);
      if (!found.ok()) return found.status();
      if (!*found) return absl::InternalError("replayed extension request missing");
      out = **found;
      return absl::OkStatus();
    }
    auto found = tx.FindAssignment(in.assignment_id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("assignment_id", "assignment", in.assignment_id);
    Assignment a = **found;
    auto plan = tx.FindPlan(a.plan_id);
    if (!plan.ok()) return plan.status();
    if (*plan && (*plan)->archived) return Precondition("assignment_id", "plan is archived");
    if (!IsOpen(a.state) || a.state == AssignmentState::kSubmitted) {
      return Precondition("assignment_id",
                          absl::StrCat("assignment is ", StateName(a.state),
                                       "; an extension needs an open, unsubmitted assignment"));
    }
    if (!a.pending_extension_id.empty()) {
      return Precondition("assignment_id", absl::StrCat("assignment already has a pending "
                                                        "extension request \"",
                                                        a.pending_extension_id, "\""));
    }
    auto r = resolver_.Resolve(in.requested_deadline, a.unit_timezone, now, "requested_deadline");
    if (!r.ok()) return r.status();
    if (r->time_us <= a.deadline_us) {
      return InvalidField("requested_deadline",
                          "must be later than the assignment's current working deadline");
    }
    auto task = tx.FindTask(a.task_id);
    if (!task.ok()) return task.status();
    if (!*task) return absl::InternalError("assignment without task");
    Mutation m(tx, now, in.actor);
    ExtensionRequest e;
    e.id = NewSortableId("x");
    e.assignment_id = a.id;
    e.task_id = a.task_id;
    e.plan_id = a.plan_id;
    e.unit_id = a.unit_id;
    e.state = ExtensionState::kPending;
    e.requested_deadline = r->filled;
    e.requested_deadline_us = r->time_us;
    e.previous_deadline_us = a.deadline_us;
    e.reason = in.reason;
    e.requested_by = in.actor;
    e.create_us = now;
    e.revision = 1;
    if (auto s = tx.InsertExtension(e); !s.ok()) return s;
    AuditEvent ev;
    ev.kind = AuditEventKind::kExtensionRequested;
    ev.plan_id = a.plan_id;
    ev.task_id = a.task_id;
    ev.assignment_id = a.id;
    ev.unit_id = a.unit_id;
    ev.old_deadline_us = a.deadline_us;
    ev.new_deadline_us = e.requested_deadline_us;
    ev.note = in.reason;
    ev.summary = absl::StrCat("extension request ", e.id);
    if (auto s = m.Audit(std::move(ev)); !s.ok()) return s;
    a.pending_extension_id = e.id;
    if (auto s = m.SaveAssignment(a, **task, /*tell_reminders=*/false); !s.ok()) return s;
    if (auto s = Remember(tx, in.request_id, "RequestExtension", fp, e.id, now); !s.ok()) {
      return s;
    }
    wrote_outbox = m.wrote_outbox();
    out = e;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<ExtensionRequest> TaskDirectory::GetExtensionRequest(const std::string& id) {
  if (id.empty()) return InvalidField("id", "is required");
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  ExtensionRequest out;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto found = tx.FindExtension(id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "extension request", id);
    out = **found;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<ExtensionPage> TaskDirectory::ListExtensionRequests(const ListExtensionsQuery& q) {
  FieldViolations v;
  auto page_size = EffectivePageSize(q.page_size);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  const ExtensionFilter& f = q.filter;
  if (f.plan_id.empty() && f.task_id.empty() && f.assignment_id.empty() && f.unit_id.empty()) {
    v.Add("plan_id", "one of plan_id, task_id, assignment_id and unit_id is required");
  }
  CheckOptionalId(f.plan_id, "plan_id", v);
  CheckOptionalId(f.task_id, "task_id", v);
  CheckOptionalId(f.assignment_id, "assignment_id", v);
  CheckOptionalId(f.unit_id, "unit_id", v);
  std::vector<int> states;
  for (size_t i = 0; i < f.states.size(); ++i) {
    int s = static_cast<int>(f.states[i]);
    if (s < 1 || s > kMaxExtensionState) {
      v.Add(absl::StrCat("states[", i, "]"), "must be a known extension state");
    }
    states.push_back(s);
  }
  if (!v.empty()) return v.ToStatus();
  std::sort(states.begin(), states.end());
  uint64_t fp = FilterFingerprint(absl::StrCat("extensions|p=", f.plan_id, "|t=", f.task_id,
                                               "|a=", f.assignment_id, "|u=", f.unit_id,
                                               "|s=", absl::StrJoin(states, ",")));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  std::optional<TimeCursor> before;
  if (!cursor_text->empty()) {
    std::vector<std::string> parts = absl::StrSplit(*cursor_text, '|');
    TimeCursor c;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &c.us)) {
      return InvalidField("page_token", "is not a token this service issued");
    }
    c.id = parts[1];
    before = c;
  }
  ExtensionPage page;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto rows = tx.ListExtensions(f, before, *page_size + 1);
    if (!rows.ok()) return rows.status();
    if (rows->size() > static_cast<size_t>(*page_size)) {
      rows->resize(*page_size);
      page.next_page_token =
          EncodePageToken(fp, absl::StrCat(rows->back().create_us, "|", rows->back().id));
    }
    page.requests = std::move(*rows);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<ExtensionRequest> TaskDirectory::ApproveExtension(const DecideExtensionInput& in) {
  return DecideExtension(in, /*approve=*/true);
}

absl::StatusOr<ExtensionRequest> TaskDirectory::RejectExtension(const DecideExtensionInput& in) {
  return DecideExtension(in, /*approve=*/false);
}

absl::StatusOr<ExtensionRequest> TaskDirectory::DecideExtension(const DecideExtensionInput& in,
                                                                bool approve) {
  FieldViolations v;
  if (in.id.empty()) {
    v.Add("id", "is required");
  } else {
    v.AddIfError("id", ValidateId(in.id));
  }
  CheckActor(in.actor, "actor", /*required=*/true, v);
  if (approve) {
    CheckLongText(in.note, kMaxNoteChars, "note", v);
    DeadlineResolver::Check(in.granted_deadline, "granted_deadline", /*required=*/false, v);
  } else {
    v.AddIfError("note", ValidateText(in.note, 1, kMaxNoteChars, /*allow_newlines=*/true));
    if (!in.granted_deadline.empty()) {
      v.Add("granted_deadline", "must be unset when rejecting");
    }
  }
  CheckRequestId(in.request_id, v);
  if (!v.empty()) return v.ToStatus();
  if (!in.actor.unit_id.empty()) {
    if (auto u = CheckUnits({{"actor.unit_id", in.actor.unit_id}}); !u.ok()) return u.status();
  }
  const std::string method = approve ? "ApproveExtension" : "RejectExtension";
  const std::string fp =
      Fingerprint(absl::StrCat(in.id, "|", in.note, "|", SpecKey(in.granted_deadline)));
  const int64_t now = NowMicros();
  ExtensionRequest out;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto prior = Replay(tx, in.request_id, method, fp);
    if (!prior.ok()) return prior.status();
    auto found = tx.FindExtension(in.id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "extension request", in.id);
    if (*prior) {
      out = **found;
      return absl::OkStatus();
    }
    ExtensionRequest e = **found;
    if (auto s = CheckEtag(in.etag, e.revision); !s.ok()) return s;
    if (e.state != ExtensionState::kPending) {
      return Precondition("id", absl::StrCat("extension request is ", ExtensionStateName(e.state),
                                             "; only a PENDING request can be decided"));
    }
    auto fa = tx.FindAssignment(e.assignment_id);
    if (!fa.ok()) return fa.status();
    if (!*fa) return absl::InternalError("extension request without assignment");
    Assignment a = **fa;
    if (!IsOpen(a.state)) {
      return Precondition("id", absl::StrCat("assignment is ", StateName(a.state)));
    }
    auto plan = tx.FindPlan(a.plan_id);
    if (!plan.ok()) return plan.status();
    if (*plan && (*plan)->archived) return Precondition("id", "plan is archived");
    auto task = tx.FindTask(a.task_id);
    if (!task.ok()) return task.status();
    if (!*task) return absl::InternalError("assignment without task");
    Mutation m(tx, now, in.actor);
    e.decided_by = in.actor;
    e.decision_note = in.note;
    e.decide_us = now;
    e.revision += 1;
    AuditEvent ev;
    ev.plan_id = a.plan_id;
    ev.task_id = a.task_id;
    ev.assignment_id = a.id;
    ev.unit_id = a.unit_id;
    ev.note = in.note;
    ev.old_deadline_us = a.deadline_us;
    a.pending_extension_id.clear();
    bool tell = false;
    if (approve) {
      int64_t granted = e.requested_deadline_us;
      if (!in.granted_deadline.empty()) {
        auto r = resolver_.Resolve(in.granted_deadline, a.unit_timezone, now, "granted_deadline");
        if (!r.ok()) return r.status();
        granted = r->time_us;
        if (granted > e.requested_deadline_us) {
          return InvalidField("granted_deadline", "must not be later than the requested deadline");
        }
      }
      if (granted <= a.deadline_us) {
        return InvalidField(in.granted_deadline.empty() ? "id" : "granted_deadline",
                            "must be later than the assignment's current working deadline");
      }
      e.state = ExtensionState::kApproved;
      e.granted_deadline_us = granted;
      a.extended_deadline_us = granted;
      a.deadline_us = std::max(a.baseline_deadline_us, granted);
      ev.kind = AuditEventKind::kExtensionApproved;
      ev.summary = absl::StrCat("extension request ", e.id, " approved");
      tell = true;
    } else {
      e.state = ExtensionState::kRejected;
      ev.kind = AuditEventKind::kExtensionRejected;
      ev.summary = absl::StrCat("extension request ", e.id, " rejected");
    }
    ev.new_deadline_us = a.deadline_us;
    if (auto s = tx.UpdateExtension(e); !s.ok()) return s;
    if (auto s = m.Audit(std::move(ev)); !s.ok()) return s;
    if (auto s = m.SaveAssignment(a, **task, tell); !s.ok()) return s;
    if (auto s = Remember(tx, in.request_id, method, fp, e.id, now); !s.ok()) return s;
    wrote_outbox = m.wrote_outbox();
    out = e;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace duban::tasks
