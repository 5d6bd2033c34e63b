#include "task_grpc_service.h"

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

#include "duban/status.h"
#include "duban/time_util.h"
#include "task_proto_convert.h"

namespace duban::tasks {
namespace {

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

template <typename E, typename Repeated>
std::vector<E> Enums(const Repeated& in) {
  std::vector<E> out;
  for (int v : in) out.push_back(static_cast<E>(v));
  return out;
}

// ToGrpcStatus, plus a google.rpc.QuotaFailure naming each unit over budget when the domain
// refused a cascade for budgets.
grpc::Status ToGrpcStatusWithQuota(const absl::Status& status) {
  grpc::Status out = ToGrpcStatus(status);
  auto payload = status.GetPayload(kOverBudgetPayload);
  if (!payload) return out;
  google::rpc::QuotaFailure quota;
  const std::string text(*payload);
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, '\t');
    if (parts.size() != 3) continue;
    auto* v = quota.add_violations();
    v->set_subject("units/" + parts[0]);
    v->set_description(parts[1] + " open assignments; budget " + parts[2]);
  }
  google::rpc::Status rpc;
  if (!out.error_details().empty()) rpc.ParseFromString(out.error_details());
  rpc.set_code(static_cast<int>(out.error_code()));
  rpc.set_message(out.error_message());
  rpc.add_details()->PackFrom(quota);
  return grpc::Status(out.error_code(), out.error_message(), rpc.SerializeAsString());
}

AssignmentBudget BudgetFromProto(const pb::AssignmentBudget& in) {
  AssignmentBudget b;
  b.unit_id = in.unit_id();
  b.unit_kind = static_cast<UnitKind>(in.unit_kind());
  b.max_open_assignments = in.max_open_assignments();
  return b;
}

void ToProto(const AssignmentBudget& in, pb::AssignmentBudget* out) {
  out->set_unit_id(in.unit_id);
  out->set_unit_kind(static_cast<pb::UnitKind>(in.unit_kind));
  out->set_max_open_assignments(in.max_open_assignments);
  SetTimestampMicros(in.update_us, out->mutable_update_time());
}

void ToProto(const BoardGroup& in, pb::BoardGroup* out) {
  out->set_key(in.key);
  out->set_label(in.label);
  out->set_total(in.total);
  ToProto(in.states, out->mutable_state_counts());
  out->set_overdue(in.overdue);
  out->set_done_on_time(in.done_on_time);
  out->set_done_late(in.done_late);
  out->set_completion_rate(in.completion_rate);
  out->set_due_so_far(in.due_so_far);
  out->set_on_time_rate(in.on_time_rate);
  out->mutable_lights()->set_green(in.green);
  out->mutable_lights()->set_yellow(in.yellow);
  out->mutable_lights()->set_red(in.red);
  out->set_rank(in.rank);
}

}  // namespace

// ---- Plans ----

grpc::Status TaskGrpcService::CreatePlan(Ctx*, const pb::CreatePlanRequest* req, pb::Plan* resp) {
  auto plan =
      directory_.CreatePlan(PlanFromProto(req->plan()), req->request_id(), FromProto(req->actor()));
  if (!plan.ok()) return ToGrpcStatus(plan.status());
  ToProto(*plan, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::GetPlan(Ctx*, const pb::GetPlanRequest* req, pb::Plan* resp) {
  auto plan = directory_.GetPlan(req->id());
  if (!plan.ok()) return ToGrpcStatus(plan.status());
  ToProto(*plan, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ListPlans(Ctx*, const pb::ListPlansRequest* req,
                                        pb::ListPlansResponse* resp) {
  ListPlansQuery q;
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  q.filter.owner_unit_id = req->owner_unit_id();
  if (req->has_active_on()) q.filter.active_on = FromProto(req->active_on());
  q.filter.include_archived = req->include_archived();
  auto page = directory_.ListPlans(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& p : page->plans) ToProto(p, resp->add_plans());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::UpdatePlan(Ctx*, const pb::UpdatePlanRequest* req, pb::Plan* resp) {
  auto plan = directory_.UpdatePlan(PlanFromProto(req->plan()), MaskPaths(req->update_mask()),
                                    req->etag(), FromProto(req->actor()));
  if (!plan.ok()) return ToGrpcStatus(plan.status());
  ToProto(*plan, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ArchivePlan(Ctx*, const pb::ArchivePlanRequest* req, pb::Plan* resp) {
  ArchivePlanInput in;
  in.id = req->id();
  in.cancel_open_assignments = req->cancel_open_assignments();
  in.actor = FromProto(req->actor());
  in.note = req->note();
  in.etag = req->etag();
  auto plan = directory_.ArchivePlan(in);
  if (!plan.ok()) return ToGrpcStatus(plan.status());
  ToProto(*plan, resp);
  return grpc::Status::OK;
}

// ---- Tasks ----

grpc::Status TaskGrpcService::CreateTask(Ctx*, const pb::CreateTaskRequest* req, pb::Task* resp) {
  FieldViolations v;
  Task task = TaskFromProto(req->task(), "task", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto out = directory_.CreateTask(std::move(task), req->request_id(), FromProto(req->actor()));
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::GetTask(Ctx*, const pb::GetTaskRequest* req, pb::Task* resp) {
  auto out = directory_.GetTask(req->id());
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ListTasks(Ctx*, const pb::ListTasksRequest* req,
                                        pb::ListTasksResponse* resp) {
  FieldViolations v;
  ListTasksQuery q;
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  q.plan_id = req->plan_id();
  q.parent_task_id = req->parent_task_id();
  q.descendants_of = req->descendants_of();
  q.top_level_only = req->top_level_only();
  q.unit_id = req->unit_id();
  q.role = static_cast<AssignmentRole>(req->role());
  q.unit_subtree_of = req->unit_subtree_of();
  q.states = Enums<TaskState>(req->states());
  q.tag = req->tag();
  q.due_after_us = OptionalTime(req->has_due_after(), req->due_after(), "due_after", v);
  q.due_before_us = OptionalTime(req->has_due_before(), req->due_before(), "due_before", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto page = directory_.ListTasks(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& t : page->tasks) ToProto(t, resp->add_tasks());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::UpdateTask(Ctx*, const pb::UpdateTaskRequest* req, pb::Task* resp) {
  FieldViolations v;
  Task patch = TaskFromProto(req->task(), "task", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto out = directory_.UpdateTask(patch, MaskPaths(req->update_mask()), req->etag(),
                                   FromProto(req->actor()), req->note());
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::CancelTask(Ctx*, const pb::CancelTaskRequest* req, pb::Task* resp) {
  CancelTaskInput in;
  in.id = req->id();
  in.actor = FromProto(req->actor());
  in.reason = req->reason();
  in.etag = req->etag();
  in.request_id = req->request_id();
  auto out = directory_.CancelTask(in);
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::CascadeTask(Ctx*, const pb::CascadeTaskRequest* req,
                                          pb::CascadeTaskResponse* resp) {
  FieldViolations v;
  CascadeInput in;
  in.task_id = req->task_id();
  in.root_unit_id = req->root_unit_id();
  in.unit_kinds = Enums<UnitKind>(req->unit_kinds());
  in.unit_tag = req->unit_tag();
  in.title = req->title();
  in.description = req->description();
  if (req->has_deadline()) {
    in.deadline = DeadlineFromProto(req->deadline(), "deadline", v);
    if (in.deadline.empty()) v.Add("deadline", "must set absolute_time or working_days");
  }
  for (int i = 0; i < req->milestones_size(); ++i) {
    const auto& m = req->milestones(i);
    Milestone ms;
    ms.title = m.title();
    ms.due = DeadlineFromProto(m.due(), absl::StrCat("milestones[", i, "].due"), v);
    ms.planned_percent = m.planned_percent();
    in.milestones.push_back(std::move(ms));
  }
  in.priority = static_cast<Priority>(req->priority());
  in.tags.assign(req->tags().begin(), req->tags().end());
  in.reminder_policy_id = req->reminder_policy_id();
  in.clamp_deadlines = req->clamp_deadlines();
  in.force = req->force();
  in.validate_only = req->validate_only();
  in.actor = FromProto(req->actor());
  in.note = req->note();
  in.request_id = req->request_id();
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto out = directory_.CascadeTask(in);
  if (!out.ok()) return ToGrpcStatusWithQuota(out.status());
  resp->set_applied(out->applied);
  resp->set_matched_units(out->matched_units);
  resp->set_created_tasks(out->created_tasks);
  resp->set_skipped_existing(out->skipped_existing);
  for (const auto& o : out->over_budget) {
    auto* u = resp->add_over_budget();
    u->set_unit_id(o.unit_id);
    u->set_unit_kind(static_cast<pb::UnitKind>(o.unit_kind));
    u->set_open_assignments(o.open_assignments);
    u->set_max_open_assignments(o.max_open_assignments);
  }
  resp->set_over_budget_count(out->over_budget_count);
  for (const auto& c : out->clamped) {
    auto* o = resp->add_clamped();
    o->set_unit_id(c.unit_id);
    o->set_milestone_title(c.milestone_title);
    SetTimestampMicros(c.requested_us, o->mutable_requested_time());
    SetTimestampMicros(c.applied_us, o->mutable_applied_time());
    o->set_reason(c.reason);
  }
  resp->set_clamped_count(out->clamped_count);
  resp->set_deadline_provisional(out->deadline_provisional);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ResolveDeadline(Ctx*, const pb::ResolveDeadlineRequest* req,
                                              pb::ResolveDeadlineResponse* resp) {
  FieldViolations v;
  DeadlineSpec spec = DeadlineFromProto(req->deadline(), "deadline", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto out = directory_.ResolveDeadline(spec, req->unit_id());
  if (!out.ok()) return ToGrpcStatus(out.status());
  SetTimestampMicros(out->time_us, resp->mutable_deadline_time());
  resp->set_provisional(out->provisional);
  resp->set_calendar_data_version(out->calendar_version);
  return grpc::Status::OK;
}

// ---- Assignments ----

grpc::Status TaskGrpcService::GetAssignment(Ctx*, const pb::GetAssignmentRequest* req,
                                            pb::Assignment* resp) {
  auto out = directory_.GetAssignment(req->id());
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::BatchGetAssignments(Ctx*, const pb::BatchGetAssignmentsRequest* req,
                                                  pb::BatchGetAssignmentsResponse* resp) {
  auto out = directory_.BatchGetAssignments({req->ids().begin(), req->ids().end()},
                                            req->include_tasks(), req->include_plans());
  if (!out.ok()) return ToGrpcStatus(out.status());
  for (const auto& a : out->assignments) ToProto(a, resp->add_assignments());
  for (const auto& id : out->missing_ids) resp->add_missing_ids(id);
  for (const auto& t : out->tasks) ToProto(t, resp->add_tasks());
  for (const auto& p : out->plans) ToProto(p, resp->add_plans());
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ListAssignments(Ctx*, const pb::ListAssignmentsRequest* req,
                                              pb::ListAssignmentsResponse* resp) {
  FieldViolations v;
  ListAssignmentsQuery q;
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  q.plan_id = req->plan_id();
  q.task_id = req->task_id();
  q.tasks_under = req->tasks_under();
  q.unit_id = req->unit_id();
  q.unit_subtree_of = req->unit_subtree_of();
  q.role = static_cast<AssignmentRole>(req->role());
  q.states = Enums<AssignmentState>(req->states());
  q.open_only = req->open_only();
  q.lights = Enums<TrafficLight>(req->lights());
  q.overdue_only = req->overdue_only();
  q.due_after_us = OptionalTime(req->has_due_after(), req->due_after(), "due_after", v);
  q.due_before_us = OptionalTime(req->has_due_before(), req->due_before(), "due_before", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto page = directory_.ListAssignments(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& a : page->assignments) ToProto(a, resp->add_assignments());
  resp->set_next_page_token(page->next_page_token);
  SetTimestampMicros(page->evaluate_us, resp->mutable_evaluate_time());
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::Transition(AssignmentAction action, const pb::TransitionRequest* req,
                                         pb::Assignment* resp) {
  TransitionInput in;
  in.assignment_id = req->assignment_id();
  in.actor = FromProto(req->actor());
  in.note = req->note();
  in.etag = req->etag();
  in.request_id = req->request_id();
  auto out = directory_.Transition(action, in);
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::AcknowledgeAssignment(Ctx*, const pb::TransitionRequest* req,
                                                    pb::Assignment* resp) {
  return Transition(AssignmentAction::kAcknowledge, req, resp);
}

grpc::Status TaskGrpcService::StartAssignment(Ctx*, const pb::TransitionRequest* req,
                                              pb::Assignment* resp) {
  return Transition(AssignmentAction::kStart, req, resp);
}

grpc::Status TaskGrpcService::SubmitAssignment(Ctx*, const pb::TransitionRequest* req,
                                               pb::Assignment* resp) {
  return Transition(AssignmentAction::kSubmit, req, resp);
}

grpc::Status TaskGrpcService::ApproveAssignment(Ctx*, const pb::TransitionRequest* req,
                                                pb::Assignment* resp) {
  return Transition(AssignmentAction::kApprove, req, resp);
}

grpc::Status TaskGrpcService::ReturnAssignment(Ctx*, const pb::ReturnAssignmentRequest* req,
                                               pb::Assignment* resp) {
  TransitionInput in;
  in.assignment_id = req->assignment_id();
  in.actor = FromProto(req->actor());
  in.note = req->reason();
  in.etag = req->etag();
  in.request_id = req->request_id();
  auto out = directory_.Transition(AssignmentAction::kReturn, in);
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::CancelAssignment(Ctx*, const pb::CancelAssignmentRequest* req,
                                               pb::Assignment* resp) {
  TransitionInput in;
  in.assignment_id = req->assignment_id();
  in.actor = FromProto(req->actor());
  in.note = req->reason();
  in.etag = req->etag();
  in.request_id = req->request_id();
  auto out = directory_.Transition(AssignmentAction::kCancel, in);
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ReportProgress(Ctx*, const pb::ReportProgressRequest* req,
                                             pb::ReportProgressResponse* resp) {
  ReportInput in;
  in.assignment_id = req->assignment_id();
  in.percent = req->percent();
  in.text = req->text();
  in.actor = FromProto(req->actor());
  in.etag = req->etag();
  in.request_id = req->request_id();
  auto out = directory_.ReportProgress(in);
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(out->report, resp->mutable_report());
  ToProto(out->assignment, resp->mutable_assignment());
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ListAuditEvents(Ctx*, const pb::ListAuditEventsRequest* req,
                                              pb::ListAuditEventsResponse* resp) {
  FieldViolations v;
  ListAuditQuery q;
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  q.filter.assignment_id = req->assignment_id();
  q.filter.task_id = req->task_id();
  q.filter.plan_id = req->plan_id();
  q.filter.kinds = Enums<AuditEventKind>(req->kinds());
  q.filter.since_us = OptionalTime(req->has_since(), req->since(), "since", v);
  q.filter.until_us = OptionalTime(req->has_until(), req->until(), "until", v);
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto page = directory_.ListAuditEvents(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& e : page->events) ToProto(e, resp->add_events());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ListProgressReports(Ctx*, const pb::ListProgressReportsRequest* req,
                                                  pb::ListProgressReportsResponse* resp) {
  auto page =
      directory_.ListProgressReports(req->assignment_id(), req->page_size(), req->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& r : page->reports) ToProto(r, resp->add_reports());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

// ---- Extension requests ----

grpc::Status TaskGrpcService::RequestExtension(Ctx*, const pb::RequestExtensionRequest* req,
                                               pb::ExtensionRequest* resp) {
  FieldViolations v;
  ExtensionInput in;
  in.assignment_id = req->assignment_id();
  in.requested_deadline = DeadlineFromProto(req->requested_deadline(), "requested_deadline", v);
  in.reason = req->reason();
  in.actor = FromProto(req->actor());
  in.request_id = req->request_id();
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto out = directory_.RequestExtension(in);
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::GetExtensionRequest(Ctx*, const pb::GetExtensionRequestRequest* req,
                                                  pb::ExtensionRequest* resp) {
  auto out = directory_.GetExtensionRequest(req->id());
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ListExtensionRequests(Ctx*,
                                                    const pb::ListExtensionRequestsRequest* req,
                                                    pb::ListExtensionRequestsResponse* resp) {
  ListExtensionsQuery q;
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  q.filter.plan_id = req->plan_id();
  q.filter.task_id = req->task_id();
  q.filter.assignment_id = req->assignment_id();
  q.filter.unit_id = req->unit_id();
  q.filter.states = Enums<ExtensionState>(req->states());
  auto page = directory_.ListExtensionRequests(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& e : page->requests) ToProto(e, resp->add_requests());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::Decide(bool approve, const pb::DecideExtensionRequest* req,
                                     pb::ExtensionRequest* resp) {
  FieldViolations v;
  DecideExtensionInput in;
  in.id = req->id();
  in.actor = FromProto(req->actor());
  in.note = req->note();
  if (req->has_granted_deadline()) {
    in.granted_deadline = DeadlineFromProto(req->granted_deadline(), "granted_deadline", v);
    if (in.granted_deadline.empty())
      v.Add("granted_deadline", "must set absolute_time or working_days");
  }
  in.etag = req->etag();
  in.request_id = req->request_id();
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto out = approve ? directory_.ApproveExtension(in) : directory_.RejectExtension(in);
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ApproveExtension(Ctx*, const pb::DecideExtensionRequest* req,
                                               pb::ExtensionRequest* resp) {
  return Decide(true, req, resp);
}

grpc::Status TaskGrpcService::RejectExtension(Ctx*, const pb::DecideExtensionRequest* req,
                                              pb::ExtensionRequest* resp) {
  return Decide(false, req, resp);
}

// ---- Battle map, coverage, burden ----

grpc::Status TaskGrpcService::GetBoard(Ctx*, const pb::GetBoardRequest* req,
                                       pb::GetBoardResponse* resp) {
  BoardQuery q;
  q.plan_id = req->plan_id();
  q.root_unit_id = req->root_unit_id();
  q.task_id = req->task_id();
  q.group_by = static_cast<BoardGrouping>(req->group_by());
  q.role = static_cast<AssignmentRole>(req->role());
  q.order_by = static_cast<BoardOrder>(req->order_by());
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  auto page = directory_.GetBoard(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& g : page->groups) ToProto(g, resp->add_groups());
  resp->set_next_page_token(page->next_page_token);
  ToProto(page->totals, resp->mutable_totals());
  resp->set_group_count(page->group_count);
  SetTimestampMicros(page->evaluate_us, resp->mutable_evaluate_time());
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::GetCoverage(Ctx*, const pb::GetCoverageRequest* req,
                                          pb::GetCoverageResponse* resp) {
  FieldViolations v;
  CoverageQuery q;
  q.task_id = req->task_id();
  q.unit_subtree_of = req->unit_subtree_of();
  q.gap = static_cast<CoverageGap>(req->gap());
  q.reported_since_us =
      OptionalTime(req->has_reported_since(), req->reported_since(), "reported_since", v);
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  if (!v.empty()) return ToGrpcStatus(v.ToStatus());
  auto page = directory_.GetCoverage(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  resp->set_total(page->total);
  ToProto(page->states, resp->mutable_state_counts());
  resp->set_not_acknowledged(page->not_acknowledged);
  resp->set_not_reported(page->not_reported);
  resp->set_overdue(page->overdue);
  for (const auto& e : page->units) {
    auto* o = resp->add_units();
    o->set_unit_id(e.unit_id);
    o->set_assignment_id(e.assignment_id);
    o->set_state(static_cast<pb::AssignmentState>(e.state));
    SetTimestampMicros(e.create_us, o->mutable_create_time());
    if (e.last_report_us) SetTimestampMicros(*e.last_report_us, o->mutable_last_report_time());
    SetTimestampMicros(e.deadline_us, o->mutable_deadline_time());
    o->set_overdue(e.overdue);
  }
  resp->set_next_page_token(page->next_page_token);
  SetTimestampMicros(page->evaluate_us, resp->mutable_evaluate_time());
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::GetBurden(Ctx*, const pb::GetBurdenRequest* req,
                                        pb::GetBurdenResponse* resp) {
  BurdenQuery q;
  q.root_unit_id = req->root_unit_id();
  q.plan_id = req->plan_id();
  q.unit_kinds = Enums<UnitKind>(req->unit_kinds());
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  auto page = directory_.GetBurden(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& u : page->units) {
    auto* o = resp->add_units();
    o->set_unit_id(u.unit_id);
    o->set_unit_kind(static_cast<pb::UnitKind>(u.unit_kind));
    o->set_open_assignments(u.open_assignments);
    o->set_due_this_week(u.due_this_week);
    o->set_overdue(u.overdue);
    o->set_max_open_assignments(u.max_open_assignments);
    o->set_over_budget(u.over_budget);
  }
  resp->set_next_page_token(page->next_page_token);
  SetTimestampMicros(page->evaluate_us, resp->mutable_evaluate_time());
  return grpc::Status::OK;
}

// ---- Assignment budgets ----

grpc::Status TaskGrpcService::SetAssignmentBudget(Ctx*, const pb::SetAssignmentBudgetRequest* req,
                                                  pb::AssignmentBudget* resp) {
  auto out =
      directory_.SetAssignmentBudget(BudgetFromProto(req->budget()), FromProto(req->actor()));
  if (!out.ok()) return ToGrpcStatus(out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::ListAssignmentBudgets(Ctx*,
                                                    const pb::ListAssignmentBudgetsRequest* req,
                                                    pb::ListAssignmentBudgetsResponse* resp) {
  auto page = directory_.ListAssignmentBudgets(req->page_size(), req->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& b : page->budgets) ToProto(b, resp->add_budgets());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status TaskGrpcService::DeleteAssignmentBudget(Ctx*,
                                                     const pb::DeleteAssignmentBudgetRequest* req,
                                                     pb::DeleteAssignmentBudgetResponse*) {
  AssignmentBudget scope;
  scope.unit_id = req->unit_id();
  scope.unit_kind = static_cast<UnitKind>(req->unit_kind());
  auto s = directory_.DeleteAssignmentBudget(scope, FromProto(req->actor()));
  return ToGrpcStatus(s);
}

}  // namespace duban::tasks
