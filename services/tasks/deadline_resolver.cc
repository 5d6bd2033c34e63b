#include "deadline_resolver.h"

#include <absl/strings/str_cat.h>
#include <absl/time/civil_time.h>

#include "duban/time_util.h"
#include "duban/validation.h"

namespace duban::tasks {

bool IsValidDate(const Date& d) {
  if (d.year < 1970 || d.year > 9999 || d.month < 1 || d.month > 12 || d.day < 1) return false;
  absl::CivilDay day(d.year, d.month, d.day);
  return day.year() == d.year && day.month() == d.month && day.day() == d.day;
}

void DeadlineResolver::Check(const DeadlineSpec& spec, const std::string& field, bool required,
                             FieldViolations& v) {
  if (spec.empty()) {
    if (required) v.Add(field, "is required: absolute_time or working_days");
    return;
  }
  if (spec.absolute_us) {
    // 1970-01-01 .. 9999-12-31.
    if (*spec.absolute_us < 0 || *spec.absolute_us > 253402300799999999LL) {
      v.Add(field + ".absolute_time", "must be between 1970 and 9999");
    }
    return;
  }
  const WorkingDaysSpec& w = *spec.working_days;
  const std::string prefix = field + ".working_days.";
  if (w.count < 1 || w.count > kMaxWorkingDaysCount) {
    v.Add(prefix + "count", absl::StrCat("must be 1-", kMaxWorkingDaysCount));
  }
  if (w.from_date && !IsValidDate(*w.from_date)) {
    v.Add(prefix + "from_date", "must be a valid date with year 1970-9999");
  }
  if (w.time_of_day_minutes && (*w.time_of_day_minutes < 0 || *w.time_of_day_minutes >= 24 * 60)) {
    v.Add(prefix + "time_of_day", "hours must be 0-23 and minutes 0-59");
  }
  if (!w.timezone.empty()) v.AddIfError(prefix + "timezone", ValidateTimezone(w.timezone));
}

absl::TimeZone DeadlineResolver::Zone(const std::string& timezone) const {
  absl::TimeZone tz;
  if (!timezone.empty() && absl::LoadTimeZone(timezone, &tz)) return tz;
  return calendar_.default_timezone();
}

absl::StatusOr<ResolvedDeadline> DeadlineResolver::Resolve(const DeadlineSpec& spec,
                                                           const std::string& unit_timezone,
                                                           int64_t now_us,
                                                           const std::string& field) const {
  ResolvedDeadline out;
  if (spec.absolute_us) {
    out.time_us = *spec.absolute_us;
    out.filled = spec;
    return out;
  }
  if (!spec.working_days) return InvalidField(field, "is required");
  WorkingDaysSpec w = *spec.working_days;
  if (w.timezone.empty()) {
    w.timezone = unit_timezone.empty() ? calendar_.default_timezone_name() : unit_timezone;
  }
  absl::TimeZone tz = Zone(w.timezone);
  if (!w.from_date) {
    absl::CivilDay today = absl::ToCivilDay(FromMicros(now_us), tz);
    w.from_date = Date{static_cast<int>(today.year()), today.month(), today.day()};
  }
  if (!w.time_of_day_minutes) w.time_of_day_minutes = kDefaultDeadlineMinutes;
  absl::CivilDay from(w.from_date->year, w.from_date->month, w.from_date->day);
  auto day = calendar_.AddWorkingDays(from, w.count);
  if (!day.ok()) return InvalidField(field + ".working_days", "is out of the calendar's range");
  absl::CivilSecond local = absl::CivilSecond(day->day) + int64_t{*w.time_of_day_minutes} * 60;
  absl::Time t = absl::FromCivil(local, tz);
  out.time_us = ToMicros(t);
  if (out.time_us > 253402300799999999LL) {
    return InvalidField(field + ".working_days", "resolves past year 9999");
  }
  out.provisional = day->provisional;
  out.filled.working_days = w;
  return out;
}

absl::StatusOr<int64_t> DeadlineResolver::WorkingDaysBefore(int64_t time_us,
                                                            const std::string& timezone,
                                                            int days) const {
  if (days == 0) return time_us;
  auto shifted = calendar_.ShiftByWorkingDays(FromMicros(time_us), Zone(timezone), -days);
  if (!shifted.ok()) return shifted.status();
  return ToMicros(shifted->time);
}

int64_t DeadlineResolver::WorkingDaysBetween(int64_t from_us, int64_t to_us,
                                             const std::string& timezone) const {
  if (to_us <= from_us) return 0;
  absl::TimeZone tz = Zone(timezone);
  auto n = calendar_.CountWorkingDays(absl::ToCivilDay(FromMicros(from_us), tz),
                                      absl::ToCivilDay(FromMicros(to_us), tz));
  return n.ok() ? n->count : 0;
}

}  // namespace duban::tasks
