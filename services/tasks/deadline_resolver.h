#pragma once
// DeadlineResolver: turns a DeadlineSpec (absolute, or "N working days after a date") into an
// instant with the shared working-day calendar (weekends, official holidays, 调休), and does
// the other local-date arithmetic the tasks service needs. Pure computation, no I/O.
#include <cstdint>
#include <string>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "duban/calendar/working_calendar.h"
#include "duban/status.h"
#include "task_model.h"

namespace duban::tasks {

// Default local time of a working-days deadline: 18:00.
inline constexpr int kDefaultDeadlineMinutes = 18 * 60;
inline constexpr int kMaxWorkingDaysCount = 1000;

struct ResolvedDeadline {
  int64_t time_us = 0;
  bool provisional = false;
  // The spec with every default filled in (from_date, time of day, time zone), so that it
  // resolves to the same instant later.
  DeadlineSpec filled;
};

class DeadlineResolver {
 public:
  explicit DeadlineResolver(const calendar::WorkingCalendar& calendar) : calendar_(calendar) {}

  // Shape checks of a spec; `field` is the proto path of the Deadline ("task.deadline").
  static void Check(const DeadlineSpec& spec, const std::string& field, bool required,
                    FieldViolations& v);

  // Resolves a checked spec. `unit_timezone` applies when the spec names none (empty: the
  // calendar's default zone); `now_us` gives the default from_date. INVALID_ARGUMENT naming
  // `field` if the result is out of range.
  absl::StatusOr<ResolvedDeadline> Resolve(const DeadlineSpec& spec,
                                           const std::string& unit_timezone, int64_t now_us,
                                           const std::string& field) const;

  // The instant `days` working days before `time_us` at the same local wall-clock time.
  absl::StatusOr<int64_t> WorkingDaysBefore(int64_t time_us, const std::string& timezone,
                                            int days) const;
  // Working days d with local_date(from) < d <= local_date(to) (0 if to <= from).
  int64_t WorkingDaysBetween(int64_t from_us, int64_t to_us, const std::string& timezone) const;

  absl::TimeZone Zone(const std::string& timezone) const;
  const calendar::WorkingCalendar& calendar() const { return calendar_; }

 private:
  const calendar::WorkingCalendar& calendar_;
};

// A civil date with year 1970-9999 that exists.
bool IsValidDate(const Date& d);

}  // namespace duban::tasks
