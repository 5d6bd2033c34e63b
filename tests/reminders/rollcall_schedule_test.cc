// Next-round computation of roll-calls against the official calendar: weekly slots move off
// holidays (and stay on 调休 make-up Saturdays), slots landing on one day are one round, and
// "every N working days" counts make-up days and skips holidays.
#include <gtest/gtest.h>

#include "duban/calendar/working_calendar.h"
#include "rollcall_schedule.h"

namespace duban::reminders {
namespace {

absl::TimeZone Shanghai() {
  absl::TimeZone tz;
  absl::LoadTimeZone("Asia/Shanghai", &tz);
  return tz;
}

absl::Time Sh(int y, int mo, int d, int h = 0, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), Shanghai());
}

class RollCallScheduleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cal = calendar::WorkingCalendar::Default();
    ASSERT_TRUE(cal.ok()) << cal.status();
    cal_ = std::make_unique<calendar::WorkingCalendar>(std::move(*cal));
  }
  absl::Time Next(const RollCallSchedule& s, absl::Time after) {
    auto t = NextRoundTime(s, Shanghai(), *cal_, after);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : absl::InfinitePast();
  }
  static RollCallSchedule Weekly(std::vector<int> days, int hour = 9) {
    RollCallSchedule s;
    s.type = RollCallSchedule::Type::kWeekly;
    s.weekdays = std::move(days);
    s.time = absl::Hours(hour);
    return s;
  }
  static RollCallSchedule EveryWorkingDays(int n, absl::CivilDay start) {
    RollCallSchedule s;
    s.type = RollCallSchedule::Type::kWorkingDays;
    s.every_working_days = n;
    s.start_date = start;
    s.time = absl::Hours(9);
    return s;
  }
  std::unique_ptr<calendar::WorkingCalendar> cal_;
};

TEST_F(RollCallScheduleTest, WeeklyMondayIsTheNextMondayAtNine) {
  const auto s = Weekly({1});
  EXPECT_EQ(Next(s, Sh(2025, 5, 26, 8)), Sh(2025, 5, 26, 9));  // same day, before nine
  EXPECT_EQ(Next(s, Sh(2025, 5, 26, 9)), Sh(2025, 6, 3, 9));   // strictly after; 6-2 is 端午
  EXPECT_EQ(Next(s, Sh(2025, 6, 3, 9)), Sh(2025, 6, 9, 9));
}

TEST_F(RollCallScheduleTest, WeeklySlotOnAHolidayMovesToTheNextWorkingDay) {
  // 国庆 2025: Wednesday 10-1 and 10-8 are both holidays; both slots land on Thursday 10-9,
  // which is one round.
  const auto s = Weekly({3});
  EXPECT_EQ(Next(s, Sh(2025, 9, 30, 10)), Sh(2025, 10, 9, 9));
  // Looking from inside the holiday still finds the moved slot.
  EXPECT_EQ(Next(s, Sh(2025, 10, 5, 12)), Sh(2025, 10, 9, 9));
  EXPECT_EQ(Next(s, Sh(2025, 10, 9, 9)), Sh(2025, 10, 15, 9));
}

TEST_F(RollCallScheduleTest, WeekendSlotsMergeWithMondayButMakeUpSaturdaysStay) {
  const auto s = Weekly({1, 6});
  // Saturday 5-24 is a plain weekend: it moves to Monday 5-26, the same round as Monday's.
  EXPECT_EQ(Next(s, Sh(2025, 5, 23, 10)), Sh(2025, 5, 26, 9));
  EXPECT_EQ(Next(s, Sh(2025, 5, 26, 9)), Sh(2025, 6, 3, 9));  // 5-31..6-2 端午
  EXPECT_EQ(Next(s, Sh(2025, 6, 3, 9)), Sh(2025, 6, 9, 9));
  // Saturday 10-11 is a make-up working day (调休): the slot stays on it.
  EXPECT_EQ(Next(Weekly({6}), Sh(2025, 10, 10, 10)), Sh(2025, 10, 11, 9));
}

TEST_F(RollCallScheduleTest, EveryNWorkingDaysCountsMakeUpDaysAndSkipsHolidays) {
  // From Thursday 4-24, every 5 working days: 4-25, Sunday 4-27 (调休), 4-28, 4-29, 4-30 →
  // 4-30; then 劳动节 5-1..5-5 is skipped: 5-6, 5-7, 5-8, 5-9, 5-12 → 5-12.
  const auto s = EveryWorkingDays(5, absl::CivilDay(2025, 4, 24));
  EXPECT_EQ(Next(s, Sh(2025, 4, 20)), Sh(2025, 4, 24, 9));
  EXPECT_EQ(Next(s, Sh(2025, 4, 24, 9)), Sh(2025, 4, 30, 9));
  EXPECT_EQ(Next(s, Sh(2025, 5, 1, 12)), Sh(2025, 5, 12, 9));
  EXPECT_EQ(Next(s, Sh(2025, 4, 30, 8)), Sh(2025, 4, 30, 9));
}

TEST_F(RollCallScheduleTest, StartDateOnAHolidayMovesToTheNextWorkingDay) {
  const auto s = EveryWorkingDays(2, absl::CivilDay(2025, 5, 3));
  EXPECT_EQ(Next(s, Sh(2025, 5, 1)), Sh(2025, 5, 6, 9));
  EXPECT_EQ(Next(s, Sh(2025, 5, 6, 9)), Sh(2025, 5, 8, 9));
}

TEST_F(RollCallScheduleTest, ValidationNamesEachBadField) {
  FieldViolations v;
  RollCallSchedule none;
  ValidateRollCallSchedule(none, "roll_call.", v);
  RollCallSchedule weekly = Weekly({1, 1, 9});
  weekly.time.reset();
  ValidateRollCallSchedule(weekly, "roll_call.", v);
  RollCallSchedule wd = EveryWorkingDays(61, absl::CivilDay(2025, 1, 2));
  ValidateRollCallSchedule(wd, "roll_call.", v);
  std::vector<std::string> fields;
  for (const auto& i : v.items()) fields.push_back(i.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"roll_call.schedule", "roll_call.weekly.days[1]",
                                              "roll_call.weekly.days[2]", "roll_call.weekly.time",
                                              "roll_call.every_working_days.every_working_days"}));
}

}  // namespace
}  // namespace duban::reminders
