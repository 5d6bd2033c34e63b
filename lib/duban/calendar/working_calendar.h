#pragma once
// WorkingCalendar: which days are working days in one region — weekends, official holidays and
// make-up working days (调休) per year — and the working-day arithmetic the tasks service
// (deadlines "N working days from a date") and the reminders service (overdue repeats, send
// windows) share.
//
// The data comes from the project's own JSON file (data/cn.json, embedded at build time; see
// Default()) or from another file with the same schema (FromFile()). A year the file does not
// mark as published — a year whose official notice is not out yet, or any year the file does
// not list — is *provisional*: only weekends apply, and every result that depends on such a
// year says so through its `provisional` flag. Callers must surface that flag (store it, show
// it) rather than treat the result as authoritative.
//
// Dates are absl::CivilDay in the supported range 0001-01-01..9999-12-31; arguments outside it
// are INVALID_ARGUMENT, results past it OUT_OF_RANGE. No exceptions escape.
//
// Thread-safe: a WorkingCalendar is immutable once loaded; share it by const reference or
// std::shared_ptr<const WorkingCalendar>.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/civil_time.h>
#include <absl/time/time.h>

namespace duban::calendar {

enum class DayKind {
  kWorkday,        // Monday–Friday (by the calendar's weekend rule) and not a holiday
  kWeekend,        // a weekend day that is neither a holiday nor a make-up working day
  kHoliday,        // an official day off (may fall on a weekend: 春节 on a Saturday)
  kMakeupWorkday,  // 调休: a weekend day that is a working day
};

// "WORKDAY", "WEEKEND", "HOLIDAY", "MAKEUP_WORKDAY".
absl::string_view DayKindName(DayKind kind);

struct DayInfo {
  absl::CivilDay day;
  DayKind kind = DayKind::kWorkday;
  // The holiday's name for kHoliday, and the holiday a make-up day belongs to for
  // kMakeupWorkday (e.g. "春节"); empty otherwise.
  std::string name;
  // The day's year has no published data: the kind follows the weekend rule only.
  bool provisional = false;

  bool working() const { return kind == DayKind::kWorkday || kind == DayKind::kMakeupWorkday; }
};

// A day computed by working-day arithmetic. `provisional` is true when any day the result
// depends on lies in a year without published data.
struct WorkingDayResult {
  absl::CivilDay day;
  bool provisional = false;
};

struct WorkingDayCount {
  int64_t count = 0;
  bool provisional = false;
};

// An instant computed by working-day arithmetic, with the local day it falls on.
struct WorkingInstant {
  absl::Time time;
  absl::CivilDay local_day;
  bool provisional = false;
};

// A daily window in local time: [start, end] measured from local midnight, both inclusive,
// 0 <= start < end <= 24h, whole seconds. E.g. {absl::Hours(9), absl::Hours(18)}.
struct DailyWindow {
  absl::Duration start;
  absl::Duration end;
  // Only working days open the window (the usual case); false = every day.
  bool working_days_only = true;
};

// The default end of a working day for deadlines: 23:59:59 local time.
inline constexpr absl::Duration kDefaultEndOfDay = absl::Seconds(23 * 3600 + 59 * 60 + 59);

// Working days handed to AddWorkingDays() are capped to this many (about 400 years).
inline constexpr int64_t kMaxWorkingDayOffset = 100000;

class WorkingCalendar {
 public:
  // The calendar embedded at build time from lib/duban/calendar/data/cn.json (China,
  // Asia/Shanghai). Parses the embedded text on each call; keep the result.
  static absl::StatusOr<WorkingCalendar> Default();
  // A calendar file with the schema of data/cn.json. NOT_FOUND if it cannot be read;
  // INVALID_ARGUMENT naming the JSON path of the first problem.
  static absl::StatusOr<WorkingCalendar> FromFile(const std::string& path);
  static absl::StatusOr<WorkingCalendar> FromJson(absl::string_view json);

  // The data file's "version", e.g. "cn-2026.1". Record it next to computed deadlines.
  const std::string& version() const { return version_; }
  // "CN".
  const std::string& region() const { return region_; }
  // The zone used when a unit has none: "Asia/Shanghai" for CN.
  const std::string& default_timezone_name() const { return timezone_name_; }
  absl::TimeZone default_timezone() const { return timezone_; }

  // True when the file holds the year's official data (holidays and make-up days).
  bool IsYearPublished(int64_t year) const;
  // The published years, ascending.
  std::vector<int64_t> PublishedYears() const;

  // Classifies one day. INVALID_ARGUMENT outside the supported range.
  absl::StatusOr<DayInfo> GetDayInfo(absl::CivilDay day) const;
  // Weekday (by the weekend rule) and not a holiday, or a make-up working day. Days outside
  // the supported range are not working days. Ignores provisionality: use GetDayInfo() when
  // the caller needs to know.
  bool IsWorkingDay(absl::CivilDay day) const;

  // Holidays and make-up working days in [from, to], ascending (for listings and checks).
  absl::StatusOr<std::vector<DayInfo>> SpecialDays(absl::CivilDay from, absl::CivilDay to) const;

  // The n-th working day after `day` (the start day is not counted) for n > 0; the n-th
  // working day before it for n < 0; `day` itself for n == 0. |n| <= kMaxWorkingDayOffset.
  // Provisional if any day between the start (exclusive) and the result (inclusive) lies in
  // an unpublished year. Invariant: CountWorkingDays(day, AddWorkingDays(day, n).day) == n
  // for n >= 0.
  absl::StatusOr<WorkingDayResult> AddWorkingDays(absl::CivilDay day, int64_t n) const;
  // The first working day on or after `day`.
  absl::StatusOr<WorkingDayResult> NextWorkingDay(absl::CivilDay day) const;
  // The number of working days d with from < d <= to (0 when to <= from). Provisional if any
  // day of that range lies in an unpublished year.
  absl::StatusOr<WorkingDayCount> CountWorkingDays(absl::CivilDay from, absl::CivilDay to) const;

  // --- Time helpers. The zone is the recipient's or unit's (see default_timezone()). ---

  // The end of working day `day` in `tz`: local midnight + end_of_day (0 < end_of_day <= 24h,
  // whole seconds). Does not check that `day` is a working day.
  static absl::StatusOr<absl::Time> EndOfDay(absl::CivilDay day, absl::TimeZone tz,
                                             absl::Duration end_of_day = kDefaultEndOfDay);

  // Deadline "n working days from date `from`": the end of day AddWorkingDays(from, n) in
  // `tz`, at local time `end_of_day` (default 23:59:59).
  absl::StatusOr<WorkingInstant> DeadlineAfterWorkingDays(
      absl::CivilDay from, int64_t n, absl::TimeZone tz,
      absl::Duration end_of_day = kDefaultEndOfDay) const;

  // The same local wall-clock time as `t`, n working days later (n < 0: earlier) — for
  // "every N working days" repeats. The local day of `t` need not be a working day. If that
  // wall-clock time does not exist on the target day (a DST gap) the instant after the gap.
  absl::StatusOr<WorkingInstant> ShiftByWorkingDays(absl::Time t, absl::TimeZone tz,
                                                    int64_t n) const;

  // The first instant >= t inside [window_start, window_end] local time on a working day in
  // `tz` (t itself when it already is). For the reminders send window.
  absl::StatusOr<WorkingInstant> NextWorkingInstant(absl::Time t, absl::TimeZone tz,
                                                    absl::Duration window_start,
                                                    absl::Duration window_end) const;
  // The same with a DailyWindow (which may also open on non-working days).
  absl::StatusOr<WorkingInstant> NextInstantInWindow(absl::Time t, absl::TimeZone tz,
                                                     const DailyWindow& window) const;

  // Checks a window: INVALID_ARGUMENT unless 0 <= start < end <= 24h in whole seconds.
  static absl::Status ValidateWindow(absl::Duration start, absl::Duration end);

 private:
  struct NamedDay {
    std::string name;
  };

  WorkingCalendar() = default;

  // Weekend rule only.
  bool IsWeekendDay(absl::CivilDay day) const;
  // Any day of [from, to] in an unpublished year (from <= to).
  bool AnyUnpublished(absl::CivilDay from, absl::CivilDay to) const;

  std::string version_;
  std::string region_;
  std::string timezone_name_;
  absl::TimeZone timezone_;
  bool weekend_[7] = {};           // indexed by absl::Weekday as int (Monday = 0)
  std::map<int64_t, bool> years_;  // listed years → published
  std::map<absl::CivilDay, NamedDay> holidays_;
  std::map<absl::CivilDay, NamedDay> makeup_workdays_;
};

// Supported day range of every function.
inline constexpr absl::CivilDay kMinSupportedDay = absl::CivilDay(1, 1, 1);
inline constexpr absl::CivilDay kMaxSupportedDay = absl::CivilDay(9999, 12, 31);

// The local civil day of `t` in `tz`.
inline absl::CivilDay LocalDay(absl::Time t, absl::TimeZone tz) { return absl::ToCivilDay(t, tz); }

// The text of data/cn.json as embedded at build time.
absl::string_view EmbeddedCalendarJson();

}  // namespace duban::calendar
