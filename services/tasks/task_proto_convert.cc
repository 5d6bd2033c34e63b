#include "task_proto_convert.h"

#include <absl/strings/str_cat.h>

#include "duban/time_util.h"

namespace duban::tasks {

Date FromProto(const pb::Date& in) { return Date{in.year(), in.month(), in.day()}; }

void ToProto(const Date& in, pb::Date* out) {
  out->set_year(in.year);
  out->set_month(in.month);
  out->set_day(in.day);
}

Actor FromProto(const pb::Actor& in) { return Actor{in.id(), in.name(), in.unit_id()}; }

void ToProto(const Actor& in, pb::Actor* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_unit_id(in.unit_id);
}

std::optional<int64_t> OptionalTime(bool has, const google::protobuf::Timestamp& ts,
                                    const std::string& field, FieldViolations& v) {
  if (!has) return std::nullopt;
  if (auto s = ValidateTimestamp(ts); !s.ok()) {
    v.Add(field, std::string(s.message()));
    return std::nullopt;
  }
  return ProtoToMicros(ts);
}

DeadlineSpec DeadlineFromProto(const pb::Deadline& in, const std::string& field,
                               FieldViolations& v) {
  DeadlineSpec out;
  switch (in.kind_case()) {
    case pb::Deadline::kAbsoluteTime: {
      auto t = OptionalTime(true, in.absolute_time(), field + ".absolute_time", v);
      out.absolute_us = t.value_or(0);
      break;
    }
    case pb::Deadline::kWorkingDays: {
      const auto& w = in.working_days();
      WorkingDaysSpec s;
      s.count = w.count();
      if (w.has_from_date()) s.from_date = FromProto(w.from_date());
      if (w.has_time_of_day()) {
        const auto& t = w.time_of_day();
        bool ok = t.hours() >= 0 && t.hours() <= 23 && t.minutes() >= 0 && t.minutes() <= 59;
        s.time_of_day_minutes = ok ? t.hours() * 60 + t.minutes() : -1;
      }
      s.timezone = w.timezone();
      out.working_days = s;
      break;
    }
    case pb::Deadline::KIND_NOT_SET:
      break;
  }
  return out;
}

void ToProto(const DeadlineSpec& in, pb::Deadline* out) {
  if (in.absolute_us) {
    SetTimestampMicros(*in.absolute_us, out->mutable_absolute_time());
  } else if (in.working_days) {
    const auto& w = *in.working_days;
    auto* o = out->mutable_working_days();
    o->set_count(w.count);
    if (w.from_date) ToProto(*w.from_date, o->mutable_from_date());
    if (w.time_of_day_minutes) {
      o->mutable_time_of_day()->set_hours(*w.time_of_day_minutes / 60);
      o->mutable_time_of_day()->set_minutes(*w.time_of_day_minutes % 60);
    }
    o->set_timezone(w.timezone);
  }
}

Plan PlanFromProto(const pb::Plan& in) {
  Plan p;
  p.id = in.id();
  p.title = in.title();
  p.description = in.description();
  p.owner_unit_id = in.owner_unit_id();
  p.start_date = FromProto(in.start_date());
  p.end_date = FromProto(in.end_date());
  p.cascade_margin_working_days = in.cascade_margin_working_days();
  p.default_reminder_policy_id = in.default_reminder_policy_id();
  return p;
}

void ToProto(const StateCounts& in, pb::StateCounts* out) {
  out->set_assigned(in[AssignmentState::kAssigned]);
  out->set_acknowledged(in[AssignmentState::kAcknowledged]);
  out->set_in_progress(in[AssignmentState::kInProgress]);
  out->set_submitted(in[AssignmentState::kSubmitted]);
  out->set_done(in[AssignmentState::kDone]);
  out->set_returned(in[AssignmentState::kReturned]);
  out->set_canceled(in[AssignmentState::kCanceled]);
}

void ToProto(const Plan& in, pb::Plan* out) {
  out->set_id(in.id);
  out->set_title(in.title);
  out->set_description(in.description);
  out->set_owner_unit_id(in.owner_unit_id);
  ToProto(in.start_date, out->mutable_start_date());
  ToProto(in.end_date, out->mutable_end_date());
  out->set_cascade_margin_working_days(in.cascade_margin_working_days);
  out->set_default_reminder_policy_id(in.default_reminder_policy_id);
  out->set_archived(in.archived);
  out->set_etag(EtagOf(in.revision));
  SetTimestampMicros(in.create_us, out->mutable_create_time());
  SetTimestampMicros(in.update_us, out->mutable_update_time());
  if (in.archived) SetTimestampMicros(in.archive_us, out->mutable_archive_time());
}

void ToProto(const PlanView& in, pb::Plan* out) {
  ToProto(in.plan, out);
  out->set_task_count(in.stats.task_count);
  ToProto(in.stats.assignments, out->mutable_assignment_counts());
}

Task TaskFromProto(const pb::Task& in, const std::string& field, FieldViolations& v) {
  Task t;
  t.id = in.id();
  t.plan_id = in.plan_id();
  t.parent_task_id = in.parent_task_id();
  t.title = in.title();
  t.description = in.description();
  t.lead_unit_id = in.lead_unit_id();
  t.cooperating_unit_ids.assign(in.cooperating_unit_ids().begin(), in.cooperating_unit_ids().end());
  t.deadline = DeadlineFromProto(in.deadline(), field + ".deadline", v);
  for (int i = 0; i < in.milestones_size(); ++i) {
    const auto& m = in.milestones(i);
    Milestone ms;
    ms.title = m.title();
    ms.due = DeadlineFromProto(m.due(), absl::StrCat(field, ".milestones[", i, "].due"), v);
    ms.planned_percent = m.planned_percent();
    t.milestones.push_back(std::move(ms));
  }
  t.priority = static_cast<Priority>(in.priority());
  t.tags.assign(in.tags().begin(), in.tags().end());
  t.reminder_policy_id = in.reminder_policy_id();
  return t;
}

void ToProto(const Task& in, pb::Task* out) {
  out->set_id(in.id);
  out->set_plan_id(in.plan_id);
  out->set_parent_task_id(in.parent_task_id);
  out->set_title(in.title);
  out->set_description(in.description);
  out->set_lead_unit_id(in.lead_unit_id);
  for (const auto& u : in.cooperating_unit_ids) out->add_cooperating_unit_ids(u);
  ToProto(in.deadline, out->mutable_deadline());
  SetTimestampMicros(in.deadline_us, out->mutable_deadline_time());
  out->set_deadline_provisional(in.deadline_provisional);
  for (const auto& m : in.milestones) {
    auto* o = out->add_milestones();
    o->set_id(m.id);
    o->set_title(m.title);
    ToProto(m.due, o->mutable_due());
    SetTimestampMicros(m.due_us, o->mutable_due_time());
    o->set_planned_percent(m.planned_percent);
  }
  out->set_priority(static_cast<pb::Priority>(in.priority));
  for (const auto& t : in.tags) out->add_tags(t);
  out->set_reminder_policy_id(in.reminder_policy_id);
  out->set_state(static_cast<pb::TaskState>(in.state));
  out->set_cascaded(in.cascaded);
  out->set_depth(in.depth);
  out->set_child_count(in.child_count);
  for (const auto& s : in.assignments) {
    auto* o = out->add_assignments();
    o->set_assignment_id(s.assignment_id);
    o->set_unit_id(s.unit_id);
    o->set_role(static_cast<pb::AssignmentRole>(s.role));
    o->set_state(static_cast<pb::AssignmentState>(s.state));
  }
  out->set_etag(EtagOf(in.revision));
  SetTimestampMicros(in.create_us, out->mutable_create_time());
  SetTimestampMicros(in.update_us, out->mutable_update_time());
}

void ToProto(const ProgressReport& in, pb::ProgressReport* out) {
  out->set_id(in.id);
  out->set_assignment_id(in.assignment_id);
  out->set_percent(in.percent);
  out->set_text(in.text);
  ToProto(in.actor, out->mutable_actor());
  SetTimestampMicros(in.create_us, out->mutable_create_time());
}

void ToProto(const AssignmentView& in, pb::Assignment* out) {
  const Assignment& a = in.assignment;
  out->set_id(a.id);
  out->set_task_id(a.task_id);
  out->set_plan_id(a.plan_id);
  out->set_unit_id(a.unit_id);
  out->set_role(static_cast<pb::AssignmentRole>(a.role));
  out->set_state(static_cast<pb::AssignmentState>(a.state));
  SetTimestampMicros(a.state_us, out->mutable_state_time());
  SetTimestampMicros(a.baseline_deadline_us, out->mutable_baseline_deadline_time());
  SetTimestampMicros(a.deadline_us, out->mutable_deadline_time());
  out->set_deadline_provisional(a.deadline_provisional);
  out->set_overdue(in.overdue);
  auto* light = out->mutable_light();
  light->set_light(static_cast<pb::TrafficLight>(in.light.light));
  light->set_reason(in.light.reason);
  light->set_planned_percent(in.light.planned_percent);
  light->set_reported_percent(in.light.reported_percent);
  light->set_elapsed_share(in.light.elapsed_share);
  SetTimestampMicros(in.light.evaluate_us, light->mutable_evaluate_time());
  if (in.last_report) ToProto(*in.last_report, out->mutable_last_report());
  SetTimestampMicros(a.create_us, out->mutable_create_time());
  if (a.acknowledge_us) SetTimestampMicros(*a.acknowledge_us, out->mutable_acknowledge_time());
  if (a.submit_us) SetTimestampMicros(*a.submit_us, out->mutable_submit_time());
  if (a.done_us) SetTimestampMicros(*a.done_us, out->mutable_done_time());
  out->set_done_on_time(a.done_on_time());
  out->set_return_count(a.return_count);
  out->set_return_reason(a.return_reason);
  out->set_pending_extension_id(a.pending_extension_id);
  out->set_reminder_policy_id(in.effective_policy_id);
  out->set_version(a.version);
  out->set_etag(EtagOf(a.revision));
  SetTimestampMicros(a.update_us, out->mutable_update_time());
}

void ToProto(const AuditEvent& in, pb::AuditEvent* out) {
  out->set_sequence(in.sequence);
  out->set_kind(static_cast<pb::AuditEventKind>(in.kind));
  out->set_plan_id(in.plan_id);
  out->set_task_id(in.task_id);
  out->set_assignment_id(in.assignment_id);
  out->set_unit_id(in.unit_id);
  out->set_from_state(static_cast<pb::AssignmentState>(in.from_state));
  out->set_to_state(static_cast<pb::AssignmentState>(in.to_state));
  if (in.old_deadline_us) SetTimestampMicros(*in.old_deadline_us, out->mutable_old_deadline_time());
  if (in.new_deadline_us) SetTimestampMicros(*in.new_deadline_us, out->mutable_new_deadline_time());
  ToProto(in.actor, out->mutable_actor());
  out->set_note(in.note);
  out->set_summary(in.summary);
  SetTimestampMicros(in.time_us, out->mutable_time());
}

void ToProto(const ExtensionRequest& in, pb::ExtensionRequest* out) {
  out->set_id(in.id);
  out->set_assignment_id(in.assignment_id);
  out->set_task_id(in.task_id);
  out->set_plan_id(in.plan_id);
  out->set_unit_id(in.unit_id);
  out->set_state(static_cast<pb::ExtensionState>(in.state));
  ToProto(in.requested_deadline, out->mutable_requested_deadline());
  SetTimestampMicros(in.requested_deadline_us, out->mutable_requested_deadline_time());
  SetTimestampMicros(in.previous_deadline_us, out->mutable_previous_deadline_time());
  if (in.granted_deadline_us) {
    SetTimestampMicros(*in.granted_deadline_us, out->mutable_granted_deadline_time());
  }
  out->set_reason(in.reason);
  ToProto(in.requested_by, out->mutable_requested_by());
  if (!in.decided_by.id.empty()) ToProto(in.decided_by, out->mutable_decided_by());
  out->set_decision_note(in.decision_note);
  SetTimestampMicros(in.create_us, out->mutable_create_time());
  if (in.decide_us) SetTimestampMicros(*in.decide_us, out->mutable_decide_time());
  out->set_etag(EtagOf(in.revision));
}

}  // namespace duban::tasks
