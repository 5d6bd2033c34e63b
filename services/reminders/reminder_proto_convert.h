#pragma once
// Conversions between duban.reminders.v1 messages and the domain structs.
#include <string>

#include <absl/status/statusor.h>

#include "duban/reminders/v1/reminders.pb.h"
#include "reminder_ledger.h"

namespace duban::reminders {

namespace pb = ::duban::reminders::v1;

// A snapshot as a schedule change; INVALID_ARGUMENT naming `prefix` + the field for a
// timestamp that is out of range (the rest is validated by ReminderLedger).
absl::StatusOr<AssignmentChange> ScheduleChangeFromProto(const pb::AssignmentSnapshot& s,
                                                         const std::string& prefix);
absl::StatusOr<AssignmentChange> CancelChangeFromProto(const pb::CancelAssignmentRequest& c,
                                                       const std::string& prefix);

// A policy as sent by a caller; violations (time values, unset oneofs) are named with `prefix`
// (e.g. "policy."). Range checks are ReminderLedger's.
StoredPolicy PolicyFromProto(const pb::ReminderPolicy& p, const std::string& prefix,
                             FieldViolations& v);
void ToProto(const StoredPolicy& p, pb::ReminderPolicy* out);
void ToProto(const PlanDefault& d, pb::PlanDefaultPolicy* out);

void ToProto(const ReminderRow& row, pb::Reminder* out);
void ToProto(const AttemptRecord& a, pb::AttemptRecord* out);
DeliveryReport FromProto(const pb::DeliveryOutcome& o);

// A roll-call as sent by a caller; malformed times and dates are named with `prefix` (e.g.
// "roll_call."). Ranges and required fields are ReminderLedger's.
RollCall RollCallFromProto(const pb::RollCall& in, const std::string& prefix, FieldViolations& v);
void ToProto(const RollCall& rc, pb::RollCall* out);
void ToProto(const RoundView& r, pb::RollCallRound* out);
void ToProto(const RoundUnitView& u, pb::RollCallRoundUnit* out);

}  // namespace duban::reminders
