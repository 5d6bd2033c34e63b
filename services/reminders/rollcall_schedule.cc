#include "rollcall_schedule.h"

#include <algorithm>
#include <set>

#include <absl/strings/str_cat.h>

namespace duban::reminders {
namespace {

// Weekday as 1 (Monday) .. 7 (Sunday).
int WeekdayNumber(absl::CivilDay d) {
  switch (absl::GetWeekday(d)) {
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
    case absl::Weekday::sunday:
      return 7;
  }
  return 0;
}

absl::Time At(absl::CivilDay d, absl::Duration time, absl::TimeZone tz) {
  return absl::FromCivil(absl::CivilSecond(d) + absl::ToInt64Seconds(time), tz);
}

// Long official holidays (国庆, 春节) move a slot by up to ~9 days, so a slot on a day well
// before `after` may still land after it: look back this far.
constexpr int kLookBackDays = 21;
constexpr int kSearchDays = 400;

}  // namespace

void ValidateRollCallSchedule(const RollCallSchedule& s, const std::string& prefix,
                              FieldViolations& v) {
  switch (s.type) {
    case RollCallSchedule::Type::kNone:
      v.Add(prefix + "schedule", "required: one of weekly and every_working_days");
      return;
    case RollCallSchedule::Type::kWeekly: {
      if (s.weekdays.empty() || s.weekdays.size() > 7) {
        v.Add(prefix + "weekly.days", "1-7 distinct days required");
      }
      std::set<int> seen;
      for (size_t i = 0; i < s.weekdays.size(); ++i) {
        const std::string f = absl::StrCat(prefix, "weekly.days[", i, "]");
        if (s.weekdays[i] < 1 || s.weekdays[i] > 7) {
          v.Add(f, "must be a weekday");
        } else if (!seen.insert(s.weekdays[i]).second) {
          v.Add(f, "duplicate day");
        }
      }
      if (!s.time) v.Add(prefix + "weekly.time", "required");
      return;
    }
    case RollCallSchedule::Type::kWorkingDays:
      if (s.every_working_days < 1 || s.every_working_days > 60) {
        v.Add(prefix + "every_working_days.every_working_days", "must be 1-60");
      }
      if (!s.time) v.Add(prefix + "every_working_days.time", "required");
      return;
  }
}

absl::StatusOr<absl::Time> NextRoundTime(const RollCallSchedule& s, absl::TimeZone tz,
                                         const calendar::WorkingCalendar& cal, absl::Time after) {
  if (!s.time) return absl::InvalidArgumentError("schedule without a time of day");
  const absl::Duration time = *s.time;
  const absl::CivilDay today = absl::ToCivilDay(after, tz);
  if (s.type == RollCallSchedule::Type::kWeekly) {
    // Moved days never decrease as the original day increases, so the first original day
    // whose moved instant is after `after` gives the earliest round.
    for (absl::CivilDay d = today - kLookBackDays; d <= today + kSearchDays; ++d) {
      if (std::find(s.weekdays.begin(), s.weekdays.end(), WeekdayNumber(d)) == s.weekdays.end()) {
        continue;
      }
      auto moved = cal.NextWorkingDay(d);
      if (!moved.ok()) return moved.status();
      const absl::Time t = At(moved->day, time, tz);
      if (t > after) return t;
    }
    return absl::FailedPreconditionError("no weekly slot within a year");
  }
  if (s.type == RollCallSchedule::Type::kWorkingDays) {
    if (s.every_working_days < 1 || !s.start_date) {
      return absl::InvalidArgumentError("incomplete working-day schedule");
    }
    auto first = cal.NextWorkingDay(*s.start_date);
    if (!first.ok()) return first.status();
    absl::CivilDay day = first->day;
    if (At(day, time, tz) <= after) {
      // Jump close to `after` in whole periods, then step: rounds stay on the start's rhythm.
      auto counted = cal.CountWorkingDays(day, today);
      if (!counted.ok()) return counted.status();
      const int64_t periods = counted->count / s.every_working_days;
      if (periods > 0) {
        auto jumped = cal.AddWorkingDays(day, periods * s.every_working_days);
        if (!jumped.ok()) return jumped.status();
        day = jumped->day;
      }
      for (int i = 0; At(day, time, tz) <= after; ++i) {
        if (i > kSearchDays) return absl::FailedPreconditionError("no slot within a year");
        auto next = cal.AddWorkingDays(day, s.every_working_days);
        if (!next.ok()) return next.status();
        day = next->day;
      }
    }
    return At(day, time, tz);
  }
  return absl::InvalidArgumentError("schedule required");
}

}  // namespace duban::reminders
