#pragma once
// When a roll-call's rounds fall: pure working-day arithmetic on a schedule in the root unit's
// time zone (no store, no clock), so it can be tested against the official calendar alone.
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "duban/calendar/working_calendar.h"
#include "duban/status.h"
#include "rollcall_model.h"

namespace duban::reminders {

// Checks the schedule's fields; violations are named with `prefix` (e.g. "roll_call.").
void ValidateRollCallSchedule(const RollCallSchedule& s, const std::string& prefix,
                              FieldViolations& v);

// The first round instant strictly after `after`.
//  - weekly: every listed weekday at `time`; a slot on a non-working day moves to the next
//    working day at the same time, and slots that land on the same day are one round;
//  - every N working days: start_date (moved to the next working day), then every N working
//    days after it, at `time`.
// FAILED_PRECONDITION if no slot is found within a year (cannot happen with valid data).
absl::StatusOr<absl::Time> NextRoundTime(const RollCallSchedule& s, absl::TimeZone tz,
                                         const calendar::WorkingCalendar& cal, absl::Time after);

}  // namespace duban::reminders
