#include "reminder_grpc_service.h"

#include <algorithm>

#include <absl/strings/str_cat.h>

#include "duban/page_token.h"
#include "duban/status.h"
#include "duban/time_util.h"
#include "reminder_proto_convert.h"

namespace duban::reminders {
namespace {

pb::ApplyOutcome ToProto(ApplyOutcome o) { return static_cast<pb::ApplyOutcome>(o); }

google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  out.set_seconds(ns / 1000000000);
  out.set_nanos(static_cast<int32_t>(ns % 1000000000));
  return out;
}

// An optional timestamp filter field: validated, converted to micros.
absl::Status OptionalTime(bool has, const google::protobuf::Timestamp& ts, const std::string& field,
                          std::optional<int64_t>& out, FieldViolations& v) {
  if (!has) return absl::OkStatus();
  if (auto s = ValidateTimestamp(ts); !s.ok()) {
    v.AddIfError(field, s);
  } else {
    out = ProtoToMicros(ts);
  }
  return absl::OkStatus();
}

DeadFilter DeadFilterFromProto(const pb::ListDeadLettersRequest& r, const std::string& prefix,
                               FieldViolations& v) {
  DeadFilter f;
  f.unit_id = r.unit_id();
  f.assignment_id = r.assignment_id();
  f.plan_id = r.plan_id();
  for (int k : r.kinds()) f.kinds.push_back(static_cast<ReminderKind>(k));
  (void)OptionalTime(r.has_since(), r.since(), prefix + "since", f.since_us, v);
  (void)OptionalTime(r.has_until(), r.until(), prefix + "until", f.until_us, v);
  return f;
}

// ---- calendar helpers ----

absl::Status CheckCalendar(const std::string& name) {
  if (name.empty() || name == "cn") return absl::OkStatus();
  return FieldError(absl::StatusCode::kNotFound, "calendar", "unknown calendar (only \"cn\")");
}

absl::StatusOr<absl::CivilDay> DateFromProto(bool has, const pb::Date& d,
                                             const std::string& field) {
  if (!has) return InvalidField(field, "required");
  if (d.year() < 1970 || d.year() > 9999 || d.month() < 1 || d.month() > 12 || d.day() < 1 ||
      d.day() > 31) {
    return InvalidField(field, "not a valid date in 1970-9999");
  }
  absl::CivilDay day(d.year(), d.month(), d.day());
  if (day.year() != d.year() || day.month() != d.month() || day.day() != d.day()) {
    return InvalidField(field, "not a valid date in 1970-9999");
  }
  return day;
}

void DateToProto(absl::CivilDay day, pb::Date* out) {
  out->set_year(static_cast<int32_t>(day.year()));
  out->set_month(day.month());
  out->set_day(day.day());
}

void DayToProto(const calendar::DayInfo& info, pb::CalendarDay* out) {
  DateToProto(info.day, out->mutable_date());
  out->set_kind(static_cast<pb::DayKind>(static_cast<int>(info.kind) + 1));
  out->set_working(info.working());
  out->set_holiday_name(info.name);
  out->set_provisional(info.provisional);
}

}  // namespace

// ---------------------------------------------------------------- policies

grpc::Status ReminderGrpcService::CreatePolicy(grpc::ServerContext*,
                                               const pb::CreatePolicyRequest* req,
                                               pb::ReminderPolicy* resp) {
  FieldViolations v;
  StoredPolicy p = PolicyFromProto(req->policy(), "policy.", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto created = ledger_.CreatePolicy(std::move(p), req->request_id());
  if (!created.ok()) return ToGrpcStatus(created.status());
  reminders::ToProto(*created, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::GetPolicy(grpc::ServerContext*, const pb::GetPolicyRequest* req,
                                            pb::ReminderPolicy* resp) {
  auto p = ledger_.GetPolicy(req->id());
  if (!p.ok()) return ToGrpcStatus(p.status());
  reminders::ToProto(*p, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::ListPolicies(grpc::ServerContext*,
                                               const pb::ListPoliciesRequest* req,
                                               pb::ListPoliciesResponse* resp) {
  auto page = ledger_.ListPolicies(req->page_size(), req->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& p : page->policies) reminders::ToProto(p, resp->add_policies());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::UpdatePolicy(grpc::ServerContext*,
                                               const pb::UpdatePolicyRequest* req,
                                               pb::ReminderPolicy* resp) {
  FieldViolations v;
  StoredPolicy p = PolicyFromProto(req->policy(), "policy.", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  std::vector<std::string> mask(req->update_mask().paths().begin(),
                                req->update_mask().paths().end());
  auto updated = ledger_.UpdatePolicy(p, mask, req->etag());
  if (!updated.ok()) return ToGrpcStatus(updated.status());
  reminders::ToProto(*updated, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::DeletePolicy(grpc::ServerContext*,
                                               const pb::DeletePolicyRequest* req,
                                               pb::DeletePolicyResponse*) {
  return ToGrpcStatus(ledger_.DeletePolicy(req->id(), req->etag()));
}

grpc::Status ReminderGrpcService::SetPlanDefaultPolicy(grpc::ServerContext*,
                                                       const pb::SetPlanDefaultPolicyRequest* req,
                                                       pb::PlanDefaultPolicy* resp) {
  PlanDefault d;
  d.plan_id = req->plan_id();
  d.policy_id = req->policy_id();
  d.plan_version = req->plan_version();
  auto set = ledger_.SetPlanDefaultPolicy(d);
  if (!set.ok()) return ToGrpcStatus(set.status());
  reminders::ToProto(*set, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::GetPlanDefaultPolicy(grpc::ServerContext*,
                                                       const pb::GetPlanDefaultPolicyRequest* req,
                                                       pb::PlanDefaultPolicy* resp) {
  auto d = ledger_.GetPlanDefaultPolicy(req->plan_id());
  if (!d.ok()) return ToGrpcStatus(d.status());
  reminders::ToProto(*d, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::PreviewSchedule(grpc::ServerContext*,
                                                  const pb::PreviewScheduleRequest* req,
                                                  pb::PreviewScheduleResponse* resp) {
  FieldViolations v;
  PreviewRequest p;
  if (req->has_policy()) {
    p.policy = PolicyFromProto(req->policy(), "policy.", v);
  } else {
    p.policy_id = req->policy_id();
  }
  auto change = ScheduleChangeFromProto(req->assignment(), "assignment.");
  if (!change.ok()) {
    for (const auto& fv : ViolationsOf(change.status())) v.Add(fv.field, fv.description);
  } else {
    p.assignment = change->assignment;
    p.has_deadline = change->has_deadline;
    if (!change->has_change_time) p.assignment.change_us = 0;
    if (!req->assignment().has_create_time()) p.assignment.create_us = 0;
  }
  if (req->has_now()) {
    if (auto s = ValidateTimestamp(req->now()); !s.ok()) {
      v.AddIfError("now", s);
    } else {
      p.now = FromProtoTimestamp(req->now());
    }
  }
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto preview = ledger_.PreviewSchedule(p);
  if (!preview.ok()) return ToGrpcStatus(preview.status());
  for (const auto& r : preview->reminders) {
    auto* out = resp->add_reminders();
    reminders::ToProto(r, out);
    out->clear_create_time();
    out->clear_update_time();
  }
  resp->set_timezone(preview->timezone);
  resp->set_provisional(preview->provisional);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------- roll-calls

grpc::Status ReminderGrpcService::CreateRollCall(grpc::ServerContext*,
                                                 const pb::CreateRollCallRequest* req,
                                                 pb::RollCall* resp) {
  FieldViolations v;
  RollCall rc = RollCallFromProto(req->roll_call(), "roll_call.", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto created = ledger_.CreateRollCall(std::move(rc), req->request_id());
  if (!created.ok()) return ToGrpcStatus(created.status());
  reminders::ToProto(*created, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::GetRollCall(grpc::ServerContext*,
                                              const pb::GetRollCallRequest* req,
                                              pb::RollCall* resp) {
  auto found = ledger_.GetRollCall(req->id());
  if (!found.ok()) return ToGrpcStatus(found.status());
  reminders::ToProto(*found, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::ListRollCalls(grpc::ServerContext*,
                                                const pb::ListRollCallsRequest* req,
                                                pb::ListRollCallsResponse* resp) {
  RollCallFilter f;
  f.plan_id = req->plan_id();
  f.root_unit_id = req->root_unit_id();
  f.include_paused = req->include_paused();
  auto page = ledger_.ListRollCalls(f, req->page_size(), req->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& rc : page->roll_calls) reminders::ToProto(rc, resp->add_roll_calls());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::UpdateRollCall(grpc::ServerContext*,
                                                 const pb::UpdateRollCallRequest* req,
                                                 pb::RollCall* resp) {
  FieldViolations v;
  RollCall rc = RollCallFromProto(req->roll_call(), "roll_call.", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  std::vector<std::string> mask(req->update_mask().paths().begin(),
                                req->update_mask().paths().end());
  auto updated = ledger_.UpdateRollCall(rc, mask, req->etag());
  if (!updated.ok()) return ToGrpcStatus(updated.status());
  reminders::ToProto(*updated, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::PauseRollCall(grpc::ServerContext*,
                                                const pb::PauseRollCallRequest* req,
                                                pb::RollCall* resp) {
  auto rc = ledger_.PauseRollCall(req->id(), req->etag());
  if (!rc.ok()) return ToGrpcStatus(rc.status());
  reminders::ToProto(*rc, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::ResumeRollCall(grpc::ServerContext*,
                                                 const pb::ResumeRollCallRequest* req,
                                                 pb::RollCall* resp) {
  auto rc = ledger_.ResumeRollCall(req->id(), req->etag());
  if (!rc.ok()) return ToGrpcStatus(rc.status());
  reminders::ToProto(*rc, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::DeleteRollCall(grpc::ServerContext*,
                                                 const pb::DeleteRollCallRequest* req,
                                                 pb::DeleteRollCallResponse*) {
  return ToGrpcStatus(ledger_.DeleteRollCall(req->id(), req->etag()));
}

grpc::Status ReminderGrpcService::StartRollCallRound(grpc::ServerContext*,
                                                     const pb::StartRollCallRoundRequest* req,
                                                     pb::RollCallRound* resp) {
  auto round = ledger_.StartRollCallRound(req->id(), req->request_id());
  if (!round.ok()) return ToGrpcStatus(round.status());
  reminders::ToProto(*round, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::ListRollCallRounds(grpc::ServerContext*,
                                                     const pb::ListRollCallRoundsRequest* req,
                                                     pb::ListRollCallRoundsResponse* resp) {
  auto page = ledger_.ListRollCallRounds(req->roll_call_id(), req->page_size(), req->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& r : page->rounds) reminders::ToProto(r, resp->add_rounds());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::ListRollCallRoundUnits(
    grpc::ServerContext*, const pb::ListRollCallRoundUnitsRequest* req,
    pb::ListRollCallRoundUnitsResponse* resp) {
  auto page = ledger_.ListRollCallRoundUnits(req->round_id(), req->not_reported_only(),
                                             req->page_size(), req->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& u : page->units) reminders::ToProto(u, resp->add_units());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------- burden budget

namespace {
void BudgetToProto(const BurdenBudget& b, pb::BurdenBudget* out) {
  out->set_unit_id(b.unit_id);
  out->set_unit_kind(static_cast<pb::UnitKind>(b.unit_kind));
  out->set_max_messages_per_working_day(b.max_messages_per_working_day);
  SetTimestampMicros(b.update_us, out->mutable_update_time());
}
}  // namespace

grpc::Status ReminderGrpcService::SetBurdenBudget(grpc::ServerContext*,
                                                  const pb::SetBurdenBudgetRequest* req,
                                                  pb::BurdenBudget* resp) {
  BurdenBudget b;
  b.unit_id = req->budget().unit_id();
  b.unit_kind = static_cast<int>(req->budget().unit_kind());
  b.max_messages_per_working_day = req->budget().max_messages_per_working_day();
  auto set = ledger_.SetBurdenBudget(b);
  if (!set.ok()) return ToGrpcStatus(set.status());
  BudgetToProto(*set, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::ListBurdenBudgets(grpc::ServerContext*,
                                                    const pb::ListBurdenBudgetsRequest* req,
                                                    pb::ListBurdenBudgetsResponse* resp) {
  auto page = ledger_.ListBurdenBudgets(req->page_size(), req->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& b : page->first) BudgetToProto(b, resp->add_budgets());
  resp->set_next_page_token(page->second);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::DeleteBurdenBudget(grpc::ServerContext*,
                                                     const pb::DeleteBurdenBudgetRequest* req,
                                                     pb::DeleteBurdenBudgetResponse*) {
  return ToGrpcStatus(
      ledger_.DeleteBurdenBudget(req->unit_id(), static_cast<int>(req->unit_kind())));
}

grpc::Status ReminderGrpcService::GetBurdenUsage(grpc::ServerContext*,
                                                 const pb::GetBurdenUsageRequest* req,
                                                 pb::GetBurdenUsageResponse* resp) {
  std::optional<absl::CivilDay> date;
  if (req->has_date()) {
    auto day = DateFromProto(true, req->date(), "date");
    if (!day.ok()) return ToGrpcStatus(day.status());
    date = *day;
  }
  auto usage = ledger_.GetBurdenUsage({req->unit_ids().begin(), req->unit_ids().end()}, date);
  if (!usage.ok()) return ToGrpcStatus(usage.status());
  for (const auto& u : *usage) {
    auto* out = resp->add_usages();
    out->set_unit_id(u.unit_id);
    out->set_max_messages_per_working_day(u.max_messages_per_working_day);
    out->set_counted(static_cast<int32_t>(u.counted));
    out->set_merged(static_cast<int32_t>(u.merged));
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------- outbox calls

grpc::Status ReminderGrpcService::ScheduleAssignment(grpc::ServerContext*,
                                                     const pb::ScheduleAssignmentRequest* req,
                                                     pb::ScheduleAssignmentResponse* resp) {
  auto change = ScheduleChangeFromProto(req->assignment(), "assignment.");
  if (!change.ok()) return ToGrpcStatus(change.status());
  auto result = ledger_.ScheduleAssignment(std::move(*change));
  if (!result.ok()) return ToGrpcStatus(result.status());
  resp->set_outcome(ToProto(result->outcome));
  resp->set_current_version(result->current_version);
  resp->set_added(result->added);
  resp->set_updated(result->updated);
  resp->set_canceled(result->canceled);
  resp->set_unchanged(result->unchanged);
  resp->set_policy_id(result->policy_id);
  resp->set_policy_fallback(result->policy_fallback);
  auto pending = ledger_.PendingOf(req->assignment().assignment_id());
  if (!pending.ok()) return ToGrpcStatus(pending.status());
  for (const auto& row : *pending) reminders::ToProto(row, resp->add_pending());
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::CancelAssignment(grpc::ServerContext*,
                                                   const pb::CancelAssignmentRequest* req,
                                                   pb::CancelAssignmentResponse* resp) {
  auto change = CancelChangeFromProto(*req, "");
  if (!change.ok()) return ToGrpcStatus(change.status());
  auto result = ledger_.CancelAssignment(std::move(*change));
  if (!result.ok()) return ToGrpcStatus(result.status());
  resp->set_outcome(ToProto(result->outcome));
  resp->set_current_version(result->current_version);
  resp->set_canceled(result->canceled);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::BatchScheduleAssignments(
    grpc::ServerContext*, const pb::BatchScheduleAssignmentsRequest* req,
    pb::BatchScheduleAssignmentsResponse* resp) {
  std::vector<AssignmentChange> changes;
  changes.reserve(req->changes_size());
  FieldViolations v;
  for (int i = 0; i < req->changes_size(); ++i) {
    const auto& c = req->changes(i);
    const std::string prefix = absl::StrCat("changes[", i, "].");
    absl::StatusOr<AssignmentChange> change;
    if (c.has_schedule()) {
      change = ScheduleChangeFromProto(c.schedule().assignment(), prefix + "schedule.assignment.");
    } else if (c.has_cancel()) {
      change = CancelChangeFromProto(c.cancel(), prefix + "cancel.");
    } else {
      v.Add(absl::StrCat("changes[", i, "]"), "one of schedule and cancel is required");
      continue;
    }
    if (!change.ok()) {
      for (const auto& fv : ViolationsOf(change.status())) v.Add(fv.field, fv.description);
      continue;
    }
    changes.push_back(std::move(*change));
  }
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto results = ledger_.ApplyChanges(std::move(changes));
  if (!results.ok()) return ToGrpcStatus(results.status());
  for (const auto& r : *results) {
    auto* out = resp->add_results();
    out->set_assignment_id(r.assignment_id);
    out->set_version(r.version);
    out->set_outcome(ToProto(r.outcome));
    out->set_added(r.added);
    out->set_updated(r.updated);
    out->set_canceled(r.canceled);
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------- ledger

grpc::Status ReminderGrpcService::GetReminder(grpc::ServerContext*,
                                              const pb::GetReminderRequest* req,
                                              pb::Reminder* resp) {
  auto found = ledger_.GetReminder(req->id());
  if (!found.ok()) return ToGrpcStatus(found.status());
  reminders::ToProto(found->first, resp);
  for (const auto& a : found->second) reminders::ToProto(a, resp->add_attempt_log());
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::BatchGetReminders(grpc::ServerContext*,
                                                    const pb::BatchGetRemindersRequest* req,
                                                    pb::BatchGetRemindersResponse* resp) {
  std::vector<std::pair<std::string, int64_t>> refs;
  for (const auto& r : req->refs()) refs.emplace_back(r.id(), r.version());
  auto checks = ledger_.BatchGetReminders(refs);
  if (!checks.ok()) return ToGrpcStatus(checks.status());
  for (const auto& c : *checks) {
    auto* item = resp->add_items();
    item->mutable_ref()->set_id(c.id);
    item->mutable_ref()->set_version(c.version);
    if (c.row) reminders::ToProto(*c.row, item->mutable_reminder());
    item->set_sendable(c.sendable);
    item->set_reason(c.reason);
  }
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::ListReminders(grpc::ServerContext*,
                                                const pb::ListRemindersRequest* req,
                                                pb::ListRemindersResponse* resp) {
  ListRemindersQuery q;
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  q.filter.assignment_id = req->assignment_id();
  q.filter.unit_id = req->unit_id();
  q.filter.plan_id = req->plan_id();
  q.filter.task_id = req->task_id();
  q.filter.roll_call_id = req->roll_call_id();
  q.filter.round_id = req->round_id();
  for (int s : req->states()) q.filter.states.push_back(static_cast<ReminderState>(s));
  for (int k : req->kinds()) q.filter.kinds.push_back(static_cast<ReminderKind>(k));
  FieldViolations v;
  (void)OptionalTime(req->has_planned_after(), req->planned_after(), "planned_after",
                     q.filter.planned_after_us, v);
  (void)OptionalTime(req->has_planned_before(), req->planned_before(), "planned_before",
                     q.filter.planned_before_us, v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto page = ledger_.ListReminders(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& r : page->reminders) reminders::ToProto(r, resp->add_reminders());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::ListDeadLetters(grpc::ServerContext*,
                                                  const pb::ListDeadLettersRequest* req,
                                                  pb::ListDeadLettersResponse* resp) {
  FieldViolations v;
  ListDeadQuery q;
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  q.filter = DeadFilterFromProto(*req, "", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto page = ledger_.ListDeadLetters(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& r : page->reminders) reminders::ToProto(r, resp->add_reminders());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::RetryDeadLetters(grpc::ServerContext*,
                                                   const pb::RetryDeadLettersRequest* req,
                                                   pb::RetryDeadLettersResponse* resp) {
  FieldViolations v;
  RetryDeadRequest r;
  r.reminder_ids.assign(req->reminder_ids().begin(), req->reminder_ids().end());
  if (req->has_filter()) r.filter = DeadFilterFromProto(req->filter(), "filter.", v);
  r.actor = req->actor();
  r.request_id = req->request_id();
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto result = ledger_.RetryDeadLetters(r);
  if (!result.ok()) return ToGrpcStatus(result.status());
  resp->set_retried(result->retried);
  for (const auto& id : result->skipped_ids) resp->add_skipped_ids(id);
  resp->set_skipped_count(result->skipped_count);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::RecordDeliveries(grpc::ServerContext*,
                                                   const pb::RecordDeliveriesRequest* req,
                                                   pb::RecordDeliveriesResponse* resp) {
  FieldViolations v;
  std::vector<DeliveryReport> reports;
  reports.reserve(req->outcomes_size());
  for (int i = 0; i < req->outcomes_size(); ++i) {
    const auto& o = req->outcomes(i);
    const std::string p = absl::StrCat("outcomes[", i, "].");
    if (o.has_sent_time()) v.AddIfError(p + "sent_time", ValidateTimestamp(o.sent_time()));
    if (o.has_next_attempt_time()) {
      v.AddIfError(p + "next_attempt_time", ValidateTimestamp(o.next_attempt_time()));
    }
    reports.push_back(FromProto(o));
  }
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto results = ledger_.RecordDeliveries(reports);
  if (!results.ok()) return ToGrpcStatus(results.status());
  for (auto r : *results) resp->add_results(static_cast<pb::RecordResult>(r));
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::Reconcile(grpc::ServerContext*, const pb::ReconcileRequest* req,
                                            pb::ReconcileResponse* resp) {
  auto report = ledger_.Reconcile(req->dry_run());
  if (!report.ok()) return ToGrpcStatus(report.status());
  resp->set_ledger_pending(report->ledger_pending);
  resp->set_redis_jobs(report->redis_jobs);
  resp->set_missing_in_redis(report->missing);
  resp->set_stale_in_redis(report->stale);
  resp->set_orphaned_in_redis(report->orphaned);
  for (const auto& d : report->samples) {
    auto* s = resp->add_samples();
    s->set_kind(static_cast<pb::DriftKind>(d.kind));
    s->set_reminder_id(d.reminder_id);
    s->set_detail(d.detail);
  }
  resp->set_applied(report->applied);
  *resp->mutable_start_time() = ToProtoTimestamp(report->start_time);
  *resp->mutable_duration() = ToProtoDuration(report->duration);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::GetQueueStats(grpc::ServerContext*,
                                                const pb::GetQueueStatsRequest* req,
                                                pb::QueueStats* resp) {
  absl::Duration window;
  if (req->has_window()) {
    const auto& w = req->window();
    if (w.nanos() < 0 || w.nanos() >= 1000000000 || w.seconds() < 0) {
      return ToGrpcStatus(InvalidField("window", "must be 1 minute - 24 hours"));
    }
    window = absl::Seconds(w.seconds()) + absl::Nanoseconds(w.nanos());
    if (window == absl::ZeroDuration()) {
      return ToGrpcStatus(InvalidField("window", "must be 1 minute - 24 hours"));
    }
  }
  auto stats = ledger_.QueueStats(window);
  if (!stats.ok()) return ToGrpcStatus(stats.status());
  const auto& r = stats->redis;
  resp->set_scheduled(r.due);
  resp->set_ready(r.undelivered);
  resp->set_in_flight(r.pending);
  resp->set_dead(r.dead);
  if (r.next_due_ms) {
    *resp->mutable_next_due_time() = ToProtoTimestamp(absl::FromUnixMillis(*r.next_due_ms));
  }
  resp->set_due_backlog(stats->due_backlog);
  if (stats->oldest_backlog_due_ms) {
    *resp->mutable_oldest_backlog_due_time() =
        ToProtoTimestamp(absl::FromUnixMillis(*stats->oldest_backlog_due_ms));
  }
  const auto& l = stats->lateness_us;
  auto* lat = resp->mutable_lateness();
  lat->set_count(static_cast<int64_t>(l.size()));
  if (!l.empty()) {
    auto pct = [&](double q) {
      size_t i = std::min(l.size() - 1, static_cast<size_t>(q * static_cast<double>(l.size())));
      return ToProtoDuration(absl::Microseconds(l[i]));
    };
    *lat->mutable_p50() = pct(0.5);
    *lat->mutable_p90() = pct(0.9);
    *lat->mutable_p99() = pct(0.99);
    *lat->mutable_max() = ToProtoDuration(absl::Microseconds(l.back()));
  }
  for (const auto& c : stats->ledger) {
    switch (c.state) {
      case ReminderState::kScheduled:
        resp->set_ledger_scheduled(c.count);
        break;
      case ReminderState::kSent:
        resp->set_ledger_sent(c.count);
        break;
      case ReminderState::kFailed:
        resp->set_ledger_failed(c.count);
        break;
      case ReminderState::kDead:
        resp->set_ledger_dead(c.count);
        break;
      case ReminderState::kCanceled:
        resp->set_ledger_canceled(c.count);
        break;
      case ReminderState::kSuppressed:
        resp->set_ledger_suppressed(c.count);
        break;
    }
  }
  *resp->mutable_evaluate_time() = ToProtoTimestamp(stats->evaluate_time);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------- calendar

grpc::Status ReminderGrpcService::IsWorkingDay(grpc::ServerContext*,
                                               const pb::IsWorkingDayRequest* req,
                                               pb::CalendarDay* resp) {
  if (auto s = CheckCalendar(req->calendar()); !s.ok()) return ToGrpcStatus(s);
  auto day = DateFromProto(req->has_date(), req->date(), "date");
  if (!day.ok()) return ToGrpcStatus(day.status());
  auto info = calendar_.GetDayInfo(*day);
  if (!info.ok()) return ToGrpcStatus(info.status());
  DayToProto(*info, resp);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::AddWorkingDays(grpc::ServerContext*,
                                                 const pb::AddWorkingDaysRequest* req,
                                                 pb::AddWorkingDaysResponse* resp) {
  if (auto s = CheckCalendar(req->calendar()); !s.ok()) return ToGrpcStatus(s);
  FieldViolations v;
  auto day = DateFromProto(req->has_date(), req->date(), "date");
  if (!day.ok()) v.AddIfError("date", day.status());
  if (req->days() < -1000 || req->days() > 1000) v.Add("days", "must be -1000..1000");
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto result = req->days() == 0 ? calendar_.NextWorkingDay(*day)
                                 : calendar_.AddWorkingDays(*day, req->days());
  if (!result.ok()) return ToGrpcStatus(result.status());
  DateToProto(result->day, resp->mutable_date());
  resp->set_provisional(result->provisional);
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::ListCalendarDays(grpc::ServerContext*,
                                                   const pb::ListCalendarDaysRequest* req,
                                                   pb::ListCalendarDaysResponse* resp) {
  if (auto s = CheckCalendar(req->calendar()); !s.ok()) return ToGrpcStatus(s);
  FieldViolations v;
  auto size = EffectivePageSize(req->page_size());
  if (!size.ok()) v.AddIfError("page_size", size.status());
  auto start = DateFromProto(req->has_start_date(), req->start_date(), "start_date");
  if (!start.ok()) v.AddIfError("start_date", start.status());
  auto end = DateFromProto(req->has_end_date(), req->end_date(), "end_date");
  if (!end.ok()) v.AddIfError("end_date", end.status());
  if (start.ok() && end.ok()) {
    if (*end < *start) {
      v.Add("end_date", "must not be before start_date");
    } else if (*end - *start > 365) {
      v.Add("end_date", "at most 366 days from start_date");
    }
  }
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  const uint64_t fp = FilterFingerprint(
      absl::StrCat("days|", req->calendar(), "|", absl::FormatCivilTime(*start), "|",
                   absl::FormatCivilTime(*end), "|", req->exceptions_only()));
  auto cursor = DecodePageToken(req->page_token(), fp);
  if (!cursor.ok()) return ToGrpcStatus(cursor.status());
  absl::CivilDay from = *start;
  if (!cursor->empty()) {
    int64_t offset = 0;
    if (!absl::SimpleAtoi(*cursor, &offset) || offset < 1 || offset > 366) {
      return ToGrpcStatus(InvalidField("page_token", "malformed page token"));
    }
    from = *start + offset;
  }
  std::vector<calendar::DayInfo> days;
  if (req->exceptions_only()) {
    if (from <= *end) {
      auto special = calendar_.SpecialDays(from, *end);
      if (!special.ok()) return ToGrpcStatus(special.status());
      days = std::move(*special);
    }
  } else {
    for (absl::CivilDay d = from; d <= *end; ++d) {
      auto info = calendar_.GetDayInfo(d);
      if (!info.ok()) return ToGrpcStatus(info.status());
      days.push_back(std::move(*info));
      if (days.size() > static_cast<size_t>(*size)) break;
    }
  }
  if (days.size() > static_cast<size_t>(*size)) {
    days.resize(*size);
    resp->set_next_page_token(EncodePageToken(fp, absl::StrCat((days.back().day + 1) - *start)));
  }
  for (const auto& d : days) DayToProto(d, resp->add_days());
  return grpc::Status::OK;
}

grpc::Status ReminderGrpcService::GetCalendarInfo(grpc::ServerContext*,
                                                  const pb::GetCalendarInfoRequest* req,
                                                  pb::CalendarInfo* resp) {
  if (auto s = CheckCalendar(req->calendar()); !s.ok()) return ToGrpcStatus(s);
  resp->set_calendar("cn");
  resp->set_timezone(calendar_.default_timezone_name());
  resp->set_data_version(calendar_.version());
  const auto published = calendar_.PublishedYears();
  const int64_t this_year = absl::ToCivilYear(absl::Now(), calendar_.default_timezone()).year();
  const int64_t first = published.empty() ? this_year : published.front();
  for (int64_t y = first; y <= this_year + 1; ++y) {
    auto* year = resp->add_years();
    year->set_year(static_cast<int32_t>(y));
    year->set_provisional(!calendar_.IsYearPublished(y));
    auto special = calendar_.SpecialDays(absl::CivilDay(y, 1, 1), absl::CivilDay(y, 12, 31));
    if (!special.ok()) return ToGrpcStatus(special.status());
    int32_t holidays = 0, makeup = 0;
    for (const auto& d : *special) {
      if (d.kind == calendar::DayKind::kHoliday) ++holidays;
      if (d.kind == calendar::DayKind::kMakeupWorkday) ++makeup;
    }
    year->set_holidays(holidays);
    year->set_makeup_workdays(makeup);
  }
  *resp->mutable_load_time() = ToProtoTimestamp(load_time_);
  return grpc::Status::OK;
}

}  // namespace duban::reminders
