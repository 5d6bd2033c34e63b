#include "reminder_proto_convert.h"

#include <absl/strings/str_cat.h>

#include "duban/status.h"
#include "duban/time_util.h"

namespace duban::reminders {
namespace {

// Validates a present timestamp; returns its micros.
std::optional<int64_t> Micros(bool has, const google::protobuf::Timestamp& ts,
                              const std::string& field, FieldViolations& v) {
  if (!has) return std::nullopt;
  if (auto s = ValidateTimestamp(ts); !s.ok()) {
    v.AddIfError(field, s);
    return std::nullopt;
  }
  return ProtoToMicros(ts);
}

std::vector<Offset> OffsetsFromProto(const google::protobuf::RepeatedPtrField<pb::Offset>& in,
                                     const std::string& field, FieldViolations& v) {
  std::vector<Offset> out;
  for (int i = 0; i < in.size(); ++i) {
    const auto& o = in.Get(i);
    if (o.amount_case() == pb::Offset::kHours) {
      out.push_back({Offset::Unit::kHours, o.hours()});
    } else if (o.amount_case() == pb::Offset::kWorkingDays) {
      out.push_back({Offset::Unit::kWorkingDays, o.working_days()});
    } else {
      v.Add(absl::StrCat(field, "[", i, "]"), "one of hours and working_days is required");
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (out[i] == out[j]) v.Add(absl::StrCat(field, "[", i, "]"), "duplicate offset");
    }
  }
  return out;
}

absl::Duration TimeOfDayFromProto(bool has, const pb::TimeOfDay& t, absl::Duration fallback,
                                  const std::string& field, FieldViolations& v) {
  if (!has) return fallback;
  if (t.hours() < 0 || t.hours() > 23 || t.minutes() < 0 || t.minutes() > 59) {
    v.Add(field, "hours 0-23 and minutes 0-59");
    return fallback;
  }
  return absl::Hours(t.hours()) + absl::Minutes(t.minutes());
}

void TimeOfDayToProto(absl::Duration d, pb::TimeOfDay* out) {
  const int64_t minutes = absl::ToInt64Minutes(d);
  out->set_hours(static_cast<int32_t>(minutes / 60));
  out->set_minutes(static_cast<int32_t>(minutes % 60));
}

}  // namespace

StoredPolicy PolicyFromProto(const pb::ReminderPolicy& in, const std::string& prefix,
                             FieldViolations& v) {
  StoredPolicy out;
  Policy& p = out.policy;
  p.id = in.id();
  p.name = in.name();
  out.description = in.description();
  out.calendar = in.calendar();
  p.before_deadline = OffsetsFromProto(in.before_deadline(), prefix + "before_deadline", v);
  p.at_deadline = in.at_deadline();
  p.before_milestones = OffsetsFromProto(in.before_milestones(), prefix + "before_milestones", v);
  p.at_milestones = in.at_milestones();
  p.overdue.every_working_days = in.overdue().every_working_days();
  p.overdue.max_repeats = in.overdue().max_repeats();
  for (const auto& s : in.escalation()) {
    p.escalation.push_back(
        {static_cast<EscalationTrigger>(s.trigger()), s.after_working_days(), s.level()});
  }
  p.window_start = TimeOfDayFromProto(in.send_window().has_start(), in.send_window().start(),
                                      absl::Hours(9), prefix + "send_window.start", v);
  p.window_end = TimeOfDayFromProto(in.send_window().has_end(), in.send_window().end(),
                                    absl::Hours(18), prefix + "send_window.end", v);
  p.send_on_non_working_days = in.send_on_non_working_days();
  switch (in.catch_up().mode()) {
    case pb::CATCH_UP_MODE_UNSPECIFIED:
    case pb::CATCH_UP_MODE_DIGEST:
      p.catch_up = CatchUpMode::kDigest;
      break;
    case pb::CATCH_UP_MODE_SEND_EACH:
      p.catch_up = CatchUpMode::kSendEach;
      break;
    case pb::CATCH_UP_MODE_SKIP:
      p.catch_up = CatchUpMode::kSkip;
      break;
    default:
      v.Add(prefix + "catch_up.mode", "unknown mode");
  }
  if (in.catch_up().has_grace()) {
    const auto& g = in.catch_up().grace();
    if (g.nanos() < 0 || g.nanos() >= 1000000000) {
      v.Add(prefix + "catch_up.grace", "must be 1 minute to 7 days");
    } else {
      p.catch_up_grace = absl::Seconds(g.seconds()) + absl::Nanoseconds(g.nanos());
    }
  }
  return out;
}

void ToProto(const StoredPolicy& sp, pb::ReminderPolicy* out) {
  const Policy& p = sp.policy;
  out->set_id(p.id);
  out->set_name(p.name);
  out->set_description(sp.description);
  for (const auto& o : p.before_deadline) {
    auto* x = out->add_before_deadline();
    if (o.unit == Offset::Unit::kHours) {
      x->set_hours(o.amount);
    } else {
      x->set_working_days(o.amount);
    }
  }
  out->set_at_deadline(p.at_deadline);
  for (const auto& o : p.before_milestones) {
    auto* x = out->add_before_milestones();
    if (o.unit == Offset::Unit::kHours) {
      x->set_hours(o.amount);
    } else {
      x->set_working_days(o.amount);
    }
  }
  out->set_at_milestones(p.at_milestones);
  out->mutable_overdue()->set_every_working_days(p.overdue.every_working_days);
  out->mutable_overdue()->set_max_repeats(p.overdue.max_repeats);
  for (const auto& s : p.escalation) {
    auto* x = out->add_escalation();
    x->set_trigger(static_cast<pb::EscalationTrigger>(s.trigger));
    x->set_after_working_days(s.after_working_days);
    x->set_level(s.level);
  }
  TimeOfDayToProto(p.window_start, out->mutable_send_window()->mutable_start());
  TimeOfDayToProto(p.window_end, out->mutable_send_window()->mutable_end());
  out->set_send_on_non_working_days(p.send_on_non_working_days);
  out->mutable_catch_up()->set_mode(static_cast<pb::CatchUpMode>(p.catch_up));
  out->mutable_catch_up()->mutable_grace()->set_seconds(absl::ToInt64Seconds(p.catch_up_grace));
  out->set_calendar(sp.calendar.empty() ? "cn" : sp.calendar);
  out->set_etag(PolicyEtag(sp));
  SetTimestampMicros(sp.create_us, out->mutable_create_time());
  SetTimestampMicros(sp.update_us, out->mutable_update_time());
  out->set_built_in(sp.built_in);
}

void ToProto(const PlanDefault& d, pb::PlanDefaultPolicy* out) {
  out->set_plan_id(d.plan_id);
  out->set_policy_id(d.policy_id);
  out->set_plan_version(d.plan_version);
  SetTimestampMicros(d.update_us, out->mutable_update_time());
}

absl::StatusOr<AssignmentChange> ScheduleChangeFromProto(const pb::AssignmentSnapshot& s,
                                                         const std::string& prefix) {
  FieldViolations v;
  AssignmentChange c;
  c.type = AssignmentChange::Type::kSchedule;
  c.field_prefix = prefix;
  AssignmentMirror& a = c.assignment;
  a.id = s.assignment_id();
  a.version = s.version();
  a.plan_id = s.plan_id();
  a.task_id = s.task_id();
  a.task_path = s.task_path();
  a.unit_id = s.unit_id();
  a.role = static_cast<int>(s.role());
  a.state = static_cast<AssignmentState>(s.state());
  a.policy_id = s.policy_id();
  a.create_us = Micros(s.has_create_time(), s.create_time(), prefix + "create_time", v).value_or(0);
  a.acknowledge_us =
      Micros(s.has_acknowledge_time(), s.acknowledge_time(), prefix + "acknowledge_time", v);
  auto deadline = Micros(s.has_deadline_time(), s.deadline_time(), prefix + "deadline_time", v);
  c.has_deadline = s.has_deadline_time();
  a.deadline_us = deadline.value_or(0);
  a.last_report_us =
      Micros(s.has_last_report_time(), s.last_report_time(), prefix + "last_report_time", v);
  auto change = Micros(s.has_change_time(), s.change_time(), prefix + "change_time", v);
  c.has_change_time = s.has_change_time();
  a.change_us = change.value_or(0);
  for (int i = 0; i < s.milestones_size(); ++i) {
    const auto& m = s.milestones(i);
    std::string f = absl::StrCat(prefix, "milestones[", i, "].due_time");
    MilestoneSnapshot ms;
    ms.id = m.id();
    ms.title = m.title();
    auto due = Micros(m.has_due_time(), m.due_time(), f, v);
    ms.due = due ? absl::FromUnixMicros(*due) : absl::UnixEpoch();
    a.milestones.push_back(std::move(ms));
  }
  if (!s.has_create_time()) a.create_us = a.change_us;
  if (!v.empty()) return v.ToStatus();
  return c;
}

absl::StatusOr<AssignmentChange> CancelChangeFromProto(const pb::CancelAssignmentRequest& r,
                                                       const std::string& prefix) {
  FieldViolations v;
  AssignmentChange c;
  c.type = AssignmentChange::Type::kCancel;
  c.field_prefix = prefix;
  c.assignment.id = r.assignment_id();
  c.assignment.version = r.version();
  c.assignment.state = static_cast<AssignmentState>(r.final_state());
  c.has_change_time = r.has_change_time();
  c.assignment.change_us =
      Micros(r.has_change_time(), r.change_time(), prefix + "change_time", v).value_or(0);
  if (!v.empty()) return v.ToStatus();
  return c;
}

void ToProto(const ReminderRow& r, pb::Reminder* out) {
  out->set_id(r.id);
  out->set_kind(static_cast<pb::ReminderKind>(r.kind));
  out->set_state(static_cast<pb::ReminderState>(r.state));
  out->set_assignment_id(r.assignment_id);
  out->set_plan_id(r.plan_id);
  out->set_task_id(r.task_id);
  out->set_unit_id(r.unit_id);
  out->set_milestone_id(r.milestone_id);
  out->set_escalation_level(r.escalation_level);
  out->set_escalation_trigger(static_cast<pb::EscalationTrigger>(r.escalation_trigger));
  out->set_policy_id(r.policy_id);
  SetTimestampMicros(r.planned_us, out->mutable_planned_time());
  SetTimestampMicros(r.rule_us, out->mutable_rule_time());
  if (r.send_by_us) SetTimestampMicros(*r.send_by_us, out->mutable_send_by());
  out->set_version(r.version);
  out->set_assignment_version(r.assignment_version);
  out->set_suppression_reason(static_cast<pb::SuppressionReason>(r.suppression));
  out->set_detail(r.detail);
  out->set_attempts(r.attempts);
  out->set_last_error(r.last_error);
  if (r.next_attempt_us) SetTimestampMicros(*r.next_attempt_us, out->mutable_next_attempt_time());
  out->set_delivery_id(r.delivery_id);
  for (const auto& rc : r.recipients) {
    auto* o = out->add_recipients();
    o->set_contact_id(rc.contact_id);
    o->set_unit_id(rc.unit_id);
    o->set_channel(static_cast<pb::Channel>(rc.channel));
  }
  if (r.sent_us) SetTimestampMicros(*r.sent_us, out->mutable_sent_time());
  out->set_digest_reminder_id(r.digest_id);
  for (const auto& id : r.merged_ids) out->add_merged_reminder_ids(id);
  for (const auto& id : r.assignment_ids) out->add_assignment_ids(id);
  out->set_roll_call_id(r.roll_call_id);
  out->set_round_id(r.round_id);
  out->set_chase(r.chase);
  SetTimestampMicros(r.create_us, out->mutable_create_time());
  SetTimestampMicros(r.update_us, out->mutable_update_time());
}

void ToProto(const AttemptRecord& a, pb::AttemptRecord* out) {
  out->set_version(a.version);
  out->set_attempt(a.attempt);
  out->set_outcome(static_cast<pb::DeliveryOutcomeKind>(a.outcome));
  out->set_error(a.error);
  out->set_channel(static_cast<pb::Channel>(a.channel));
  SetTimestampMicros(a.time_us, out->mutable_time());
  out->set_stale(a.stale);
}

DeliveryReport FromProto(const pb::DeliveryOutcome& o) {
  DeliveryReport d;
  d.reminder_id = o.reminder_id();
  d.version = o.version();
  d.outcome = static_cast<OutcomeKind>(o.outcome());
  d.attempt = o.attempt();
  d.delivery_id = o.delivery_id();
  d.error = o.error();
  d.channel = static_cast<int>(o.channel());
  if (o.has_sent_time() && ValidateTimestamp(o.sent_time()).ok()) {
    d.sent_us = ProtoToMicros(o.sent_time());
  }
  if (o.has_next_attempt_time() && ValidateTimestamp(o.next_attempt_time()).ok()) {
    d.next_attempt_us = ProtoToMicros(o.next_attempt_time());
  }
  d.suppression = static_cast<SuppressionReason>(o.suppression_reason());
  for (const auto& r : o.recipients()) {
    d.recipients.push_back({r.contact_id(), r.unit_id(), static_cast<int>(r.channel())});
  }
  d.worker_id = o.worker_id();
  return d;
}

// ---------------------------------------------------------------- roll-calls

namespace {

std::optional<absl::Duration> RoundTimeFromProto(bool has, const pb::TimeOfDay& t,
                                                 const std::string& field, FieldViolations& v) {
  if (!has) return std::nullopt;  // "required" is the ledger's violation
  if (t.hours() < 0 || t.hours() > 23 || t.minutes() < 0 || t.minutes() > 59) {
    v.Add(field, "hours 0-23 and minutes 0-59");
    return absl::ZeroDuration();
  }
  return absl::Hours(t.hours()) + absl::Minutes(t.minutes());
}

}  // namespace

RollCall RollCallFromProto(const pb::RollCall& in, const std::string& prefix, FieldViolations& v) {
  RollCall rc;
  rc.id = in.id();
  rc.name = in.name();
  rc.plan_id = in.plan_id();
  rc.root_unit_id = in.root_unit_id();
  rc.task_id = in.task_id();
  rc.chase_after_working_days = in.chase_after_working_days();
  rc.max_chases = in.max_chases();
  RollCallSchedule& s = rc.schedule;
  if (in.has_weekly()) {
    s.type = RollCallSchedule::Type::kWeekly;
    for (int d : in.weekly().days()) s.weekdays.push_back(d);
    s.time =
        RoundTimeFromProto(in.weekly().has_time(), in.weekly().time(), prefix + "weekly.time", v);
  } else if (in.has_every_working_days()) {
    const auto& e = in.every_working_days();
    s.type = RollCallSchedule::Type::kWorkingDays;
    s.every_working_days = e.every_working_days();
    s.time = RoundTimeFromProto(e.has_time(), e.time(), prefix + "every_working_days.time", v);
    if (e.has_start_date()) {
      const auto& d = e.start_date();
      absl::CivilDay day(d.year(), d.month(), d.day());
      if (d.year() < 1970 || d.year() > 9999 || day.year() != d.year() ||
          day.month() != d.month() || day.day() != d.day()) {
        v.Add(prefix + "every_working_days.start_date", "not a valid date in 1970-9999");
      } else {
        s.start_date = day;
      }
    }
  }
  return rc;
}

void ToProto(const RollCall& rc, pb::RollCall* out) {
  out->set_id(rc.id);
  out->set_name(rc.name);
  out->set_plan_id(rc.plan_id);
  out->set_root_unit_id(rc.root_unit_id);
  out->set_task_id(rc.task_id);
  const RollCallSchedule& s = rc.schedule;
  const absl::Duration time = s.time.value_or(absl::ZeroDuration());
  if (s.type == RollCallSchedule::Type::kWeekly) {
    auto* w = out->mutable_weekly();
    for (int d : s.weekdays) w->add_days(static_cast<pb::Weekday>(d));
    TimeOfDayToProto(time, w->mutable_time());
  } else if (s.type == RollCallSchedule::Type::kWorkingDays) {
    auto* e = out->mutable_every_working_days();
    e->set_every_working_days(s.every_working_days);
    if (s.start_date) {
      e->mutable_start_date()->set_year(static_cast<int32_t>(s.start_date->year()));
      e->mutable_start_date()->set_month(s.start_date->month());
      e->mutable_start_date()->set_day(s.start_date->day());
    }
    TimeOfDayToProto(time, e->mutable_time());
  }
  out->set_chase_after_working_days(rc.chase_after_working_days);
  out->set_max_chases(rc.max_chases);
  out->set_paused(rc.paused);
  if (rc.next_round_us) SetTimestampMicros(*rc.next_round_us, out->mutable_next_round_time());
  out->set_last_round_id(rc.last_round_id);
  out->set_etag(RollCallEtag(rc));
  SetTimestampMicros(rc.create_us, out->mutable_create_time());
  SetTimestampMicros(rc.update_us, out->mutable_update_time());
}

void ToProto(const RoundView& v, pb::RollCallRound* out) {
  const RollCallRound& r = v.round;
  out->set_id(r.id);
  out->set_roll_call_id(r.roll_call_id);
  out->set_number(r.number);
  out->set_state(r.open ? pb::ROUND_STATE_OPEN : pb::ROUND_STATE_CLOSED);
  SetTimestampMicros(r.start_us, out->mutable_start_time());
  if (r.close_us) SetTimestampMicros(*r.close_us, out->mutable_close_time());
  out->set_units_called(v.units_called);
  out->set_units_reported(v.units_reported);
  out->set_units_chased(v.units_chased);
  out->set_chases_sent(v.chases_sent);
  if (r.open && r.next_chase_us) {
    SetTimestampMicros(*r.next_chase_us, out->mutable_next_chase_time());
  }
}

void ToProto(const RoundUnitView& u, pb::RollCallRoundUnit* out) {
  out->set_unit_id(u.unit.unit_id);
  out->set_assignments_called(static_cast<int32_t>(u.unit.assignment_ids.size()));
  out->set_assignments_reported(u.assignments_reported);
  out->set_reported(u.reported);
  out->set_reminder_id(u.unit.reminder_id);
  for (const auto& id : u.unit.chase_reminder_ids) out->add_chase_reminder_ids(id);
}

}  // namespace duban::reminders
