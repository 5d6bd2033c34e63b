// Time helpers: send windows (NextWorkingInstant) across weekends, holidays, make-up days,
// window edges and zones other than Asia/Shanghai; deadlines "N working days from a date".
#include <string>
#include <utility>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>
#include <gtest/gtest.h>

#include "duban/calendar/working_calendar.h"

namespace duban::calendar {
namespace {

using absl::CivilDay;
using absl::CivilSecond;

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(name, &tz)) << name;
  return tz;
}

class TimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cal = WorkingCalendar::Default();
    ASSERT_TRUE(cal.ok()) << cal.status();
    cal_ = new WorkingCalendar(*std::move(cal));
  }
  static void TearDownTestSuite() {
    delete cal_;
    cal_ = nullptr;
  }
  static const WorkingCalendar& cal() { return *cal_; }

  // The send window 09:00–18:00 in `tz`.
  static WorkingInstant Next(absl::Time t, absl::TimeZone tz) {
    auto r = cal().NextWorkingInstant(t, tz, absl::Hours(9), absl::Hours(18));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : WorkingInstant{};
  }
  static absl::Time Local(absl::TimeZone tz, CivilSecond cs) { return absl::FromCivil(cs, tz); }
  static absl::Time Utc(CivilSecond cs) { return absl::FromCivil(cs, absl::UTCTimeZone()); }

  const absl::TimeZone sh_ = Zone("Asia/Shanghai");
  static inline WorkingCalendar* cal_ = nullptr;
};

TEST_F(TimeTest, InsideBeforeAndAfterTheWindowOnAWorkingDay) {
  const absl::Time inside = Local(sh_, CivilSecond(2025, 3, 5, 10, 0, 0));  // Wednesday
  WorkingInstant r = Next(inside, sh_);
  EXPECT_EQ(r.time, inside);
  EXPECT_EQ(r.local_day, CivilDay(2025, 3, 5));
  EXPECT_FALSE(r.provisional);
  EXPECT_EQ(Next(Local(sh_, CivilSecond(2025, 3, 5, 7, 30, 0)), sh_).time,
            Local(sh_, CivilSecond(2025, 3, 5, 9, 0, 0)));
  r = Next(Local(sh_, CivilSecond(2025, 3, 5, 18, 30, 0)), sh_);
  EXPECT_EQ(r.time, Local(sh_, CivilSecond(2025, 3, 6, 9, 0, 0)));
  EXPECT_EQ(r.local_day, CivilDay(2025, 3, 6));
}

TEST_F(TimeTest, WindowEdgesAreInclusive) {
  const absl::Time open = Local(sh_, CivilSecond(2025, 3, 5, 9, 0, 0));
  const absl::Time close = Local(sh_, CivilSecond(2025, 3, 5, 18, 0, 0));
  EXPECT_EQ(Next(open, sh_).time, open);
  EXPECT_EQ(Next(close, sh_).time, close);
  EXPECT_EQ(Next(open - absl::Milliseconds(1), sh_).time, open);
  EXPECT_EQ(Next(close + absl::Microseconds(1), sh_).time,
            Local(sh_, CivilSecond(2025, 3, 6, 9, 0, 0)));
  EXPECT_EQ(Next(Local(sh_, CivilSecond(2025, 3, 5, 0, 0, 0)), sh_).time, open);
}

TEST_F(TimeTest, Weekend) {
  const absl::Time monday = Local(sh_, CivilSecond(2025, 3, 10, 9, 0, 0));
  EXPECT_EQ(Next(Local(sh_, CivilSecond(2025, 3, 7, 19, 0, 0)), sh_).time, monday);  // Fri
  EXPECT_EQ(Next(Local(sh_, CivilSecond(2025, 3, 8, 12, 0, 0)), sh_).time, monday);  // Sat
  EXPECT_EQ(Next(Local(sh_, CivilSecond(2025, 3, 9, 23, 59, 59)), sh_).time, monday);
}

TEST_F(TimeTest, Holidays) {
  // National Day 2025: off 1–8 October.
  const absl::Time after = Local(sh_, CivilSecond(2025, 10, 9, 9, 0, 0));
  EXPECT_EQ(Next(Local(sh_, CivilSecond(2025, 9, 30, 18, 30, 0)), sh_).time, after);
  EXPECT_EQ(Next(Local(sh_, CivilSecond(2025, 10, 3, 10, 0, 0)), sh_).time, after);
  // Spring Festival 2025: Monday evening 27 January → Wednesday 5 February.
  EXPECT_EQ(Next(Local(sh_, CivilSecond(2025, 1, 27, 20, 0, 0)), sh_).time,
            Local(sh_, CivilSecond(2025, 2, 5, 9, 0, 0)));
}

TEST_F(TimeTest, MakeupWorkdays) {
  // Saturday 27 Sep 2025 → make-up Sunday 28 Sep.
  WorkingInstant r = Next(Local(sh_, CivilSecond(2025, 9, 27, 10, 0, 0)), sh_);
  EXPECT_EQ(r.time, Local(sh_, CivilSecond(2025, 9, 28, 9, 0, 0)));
  EXPECT_EQ(r.local_day, CivilDay(2025, 9, 28));
  // Friday evening 10 Oct 2025 → make-up Saturday 11 Oct.
  EXPECT_EQ(Next(Local(sh_, CivilSecond(2025, 10, 10, 19, 0, 0)), sh_).time,
            Local(sh_, CivilSecond(2025, 10, 11, 9, 0, 0)));
  // Inside the window on a make-up Sunday: now.
  const absl::Time sunday = Local(sh_, CivilSecond(2025, 1, 26, 10, 0, 0));
  EXPECT_EQ(Next(sunday, sh_).time, sunday);
}

TEST_F(TimeTest, OtherZonesUseTheirOwnLocalDayAndWindow) {
  const absl::TimeZone urumqi = Zone("Asia/Urumqi");  // UTC+6, no DST
  const absl::Time t = Utc(CivilSecond(2025, 3, 5, 2, 30, 0));
  EXPECT_EQ(Next(t, sh_).time, t);                                         // 10:30 in Shanghai
  EXPECT_EQ(Next(t, urumqi).time, Utc(CivilSecond(2025, 3, 5, 3, 0, 0)));  // 08:30 → 09:00
  EXPECT_EQ(Next(Local(urumqi, CivilSecond(2025, 9, 30, 18, 30, 0)), urumqi).time,
            Utc(CivilSecond(2025, 10, 9, 3, 0, 0)));

  // 17:00 UTC on Monday 27 Jan 2025: 18:00 in Berlin (a working day, the window's last
  // second) but 01:00 on 28 Jan in Shanghai (春节).
  const absl::TimeZone berlin = Zone("Europe/Berlin");
  const absl::Time u = Utc(CivilSecond(2025, 1, 27, 17, 0, 0));
  EXPECT_EQ(LocalDay(u, berlin), CivilDay(2025, 1, 27));
  EXPECT_EQ(LocalDay(u, sh_), CivilDay(2025, 1, 28));
  WorkingInstant b = Next(u, berlin);
  EXPECT_EQ(b.time, u);
  EXPECT_EQ(b.local_day, CivilDay(2025, 1, 27));
  EXPECT_EQ(Next(u, sh_).time, Utc(CivilSecond(2025, 2, 5, 1, 0, 0)));

  // Across Berlin's switch to summer time (Sunday 30 March 2025): Friday 18:30 CET →
  // Monday 09:00 CEST.
  EXPECT_EQ(Next(Utc(CivilSecond(2025, 3, 28, 17, 30, 0)), berlin).time,
            Utc(CivilSecond(2025, 3, 31, 7, 0, 0)));
}

TEST_F(TimeTest, WindowsInsideDaylightSavingChanges) {
  const absl::TimeZone berlin = Zone("Europe/Berlin");
  // 02:30 does not exist on 30 March 2025 in Berlin: the window opens when the gap ends.
  auto r = cal().NextInstantInWindow(Local(berlin, CivilSecond(2025, 3, 30, 0, 0, 0)), berlin,
                                     DailyWindow{absl::Minutes(150), absl::Hours(4), false});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->time, Utc(CivilSecond(2025, 3, 30, 1, 0, 0)));
  // 02:15 happens twice on 26 October 2025; the second one is still inside [01:00, 02:30].
  const absl::Time second = Utc(CivilSecond(2025, 10, 26, 1, 15, 0));
  r = cal().NextInstantInWindow(second, berlin,
                                DailyWindow{absl::Hours(1), absl::Minutes(150), false});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->time, second);
}

TEST_F(TimeTest, ProvisionalYears) {
  WorkingInstant r = Next(Local(sh_, CivilSecond(2026, 12, 31, 19, 0, 0)), sh_);
  EXPECT_EQ(r.time, Local(sh_, CivilSecond(2027, 1, 1, 9, 0, 0)));
  EXPECT_TRUE(r.provisional);
  r = Next(Local(sh_, CivilSecond(2026, 12, 30, 19, 0, 0)), sh_);
  EXPECT_EQ(r.local_day, CivilDay(2026, 12, 31));
  EXPECT_FALSE(r.provisional);
  const absl::Time may_day_2030 = Local(sh_, CivilSecond(2030, 5, 1, 10, 0, 0));  // Wednesday
  r = Next(may_day_2030, sh_);
  EXPECT_EQ(r.time, may_day_2030);
  EXPECT_TRUE(r.provisional);
}

TEST_F(TimeTest, WholeDayAndEveryDayWindows) {
  const DailyWindow whole_day{absl::ZeroDuration(), absl::Hours(24), true};
  const absl::Time fri_late =
      Local(sh_, CivilSecond(2025, 3, 7, 23, 59, 59)) + absl::Milliseconds(500);
  auto r = cal().NextInstantInWindow(fri_late, sh_, whole_day);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->time, fri_late);
  const absl::Time sat_midnight = Local(sh_, CivilSecond(2025, 3, 8, 0, 0, 0));
  r = cal().NextInstantInWindow(sat_midnight, sh_, whole_day);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->time, sat_midnight);  // the end of Friday's window, inclusive
  EXPECT_EQ(r->local_day, CivilDay(2025, 3, 7));
  r = cal().NextInstantInWindow(sat_midnight + absl::Seconds(1), sh_, whole_day);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->time, Local(sh_, CivilSecond(2025, 3, 10, 0, 0, 0)));

  const DailyWindow every_day{absl::Hours(9), absl::Hours(18), false};
  r = cal().NextInstantInWindow(Local(sh_, CivilSecond(2025, 10, 3, 7, 0, 0)), sh_, every_day);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->time, Local(sh_, CivilSecond(2025, 10, 3, 9, 0, 0)));
  EXPECT_FALSE(r->provisional);
}

TEST_F(TimeTest, RejectsBadWindowsAndTimes) {
  const absl::Time t = Local(sh_, CivilSecond(2025, 3, 5, 10, 0, 0));
  auto code = [&](absl::Duration start, absl::Duration end) {
    return cal().NextWorkingInstant(t, sh_, start, end).status().code();
  };
  using absl::Hours;
  EXPECT_EQ(code(Hours(18), Hours(9)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Hours(9), Hours(9)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(-Hours(1), Hours(9)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Hours(9), Hours(25)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Hours(24), Hours(24)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Hours(9) + absl::Milliseconds(1), Hours(18)), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(WorkingCalendar::ValidateWindow(Hours(0), Hours(24)).ok());
  EXPECT_EQ(
      cal().NextWorkingInstant(absl::InfiniteFuture(), sh_, Hours(9), Hours(18)).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(TimeTest, DeadlineAfterWorkingDays) {
  // Three working days from Friday 24 Jan 2025: 26 Jan (make-up), 27 Jan, 5 Feb.
  auto d = cal().DeadlineAfterWorkingDays(CivilDay(2025, 1, 24), 3, sh_);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->local_day, CivilDay(2025, 2, 5));
  EXPECT_EQ(d->time, Utc(CivilSecond(2025, 2, 5, 15, 59, 59)));
  EXPECT_FALSE(d->provisional);
  d = cal().DeadlineAfterWorkingDays(CivilDay(2025, 1, 24), 3, sh_, absl::Hours(18));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->time, Utc(CivilSecond(2025, 2, 5, 10, 0, 0)));
  d = cal().DeadlineAfterWorkingDays(CivilDay(2025, 1, 24), 3, Zone("Asia/Urumqi"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->time, Utc(CivilSecond(2025, 2, 5, 17, 59, 59)));
  d = cal().DeadlineAfterWorkingDays(CivilDay(2026, 12, 25), 10, sh_);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->provisional);

  for (absl::Duration bad : {absl::ZeroDuration(), absl::Hours(25), absl::Milliseconds(1500)}) {
    EXPECT_EQ(cal().DeadlineAfterWorkingDays(CivilDay(2025, 1, 24), 3, sh_, bad).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  auto end = WorkingCalendar::EndOfDay(CivilDay(2025, 3, 5), sh_, absl::Hours(24));
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, Local(sh_, CivilSecond(2025, 3, 6, 0, 0, 0)));
}

TEST_F(TimeTest, ShiftByWorkingDaysKeepsTheWallClockTime) {
  const absl::Time t = Local(sh_, CivilSecond(2025, 9, 30, 17, 0, 0)) + absl::Milliseconds(250);
  auto r = cal().ShiftByWorkingDays(t, sh_, 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->time, Local(sh_, CivilSecond(2025, 10, 9, 17, 0, 0)) + absl::Milliseconds(250));
  EXPECT_EQ(r->local_day, CivilDay(2025, 10, 9));
  r = cal().ShiftByWorkingDays(Local(sh_, CivilSecond(2025, 10, 9, 17, 0, 0)), sh_, -1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->time, Local(sh_, CivilSecond(2025, 9, 30, 17, 0, 0)));
  r = cal().ShiftByWorkingDays(Local(sh_, CivilSecond(2025, 3, 8, 10, 0, 0)), sh_, 1);  // Sat
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->time, Local(sh_, CivilSecond(2025, 3, 10, 10, 0, 0)));
  EXPECT_EQ(cal().ShiftByWorkingDays(absl::InfinitePast(), sh_, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace duban::calendar
