// Working-day arithmetic on the embedded China calendar: 春节, 国庆, make-up days (调休) and
// provisional years.
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include <absl/time/civil_time.h>
#include <gtest/gtest.h>

#include "duban/calendar/working_calendar.h"

namespace duban::calendar {
namespace {

using absl::CivilDay;

class CalendarTest : public ::testing::Test {
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

  static DayInfo Info(CivilDay day) {
    auto info = cal().GetDayInfo(day);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? *info : DayInfo{};
  }
  static WorkingDayResult Add(CivilDay day, int64_t n) {
    auto r = cal().AddWorkingDays(day, n);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : WorkingDayResult{};
  }
  static WorkingDayCount Count(CivilDay from, CivilDay to) {
    auto r = cal().CountWorkingDays(from, to);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : WorkingDayCount{};
  }

  static inline WorkingCalendar* cal_ = nullptr;
};

TEST_F(CalendarTest, DefaultDataDescribesChina) {
  EXPECT_EQ(cal().version(), "cn-2026.1");
  EXPECT_EQ(cal().region(), "CN");
  EXPECT_EQ(cal().default_timezone_name(), "Asia/Shanghai");
  EXPECT_EQ(cal().default_timezone().name(), "Asia/Shanghai");
  EXPECT_EQ(cal().PublishedYears(), (std::vector<int64_t>{2024, 2025, 2026}));
  EXPECT_FALSE(cal().IsYearPublished(2023));
  EXPECT_FALSE(cal().IsYearPublished(2027));
  EXPECT_FALSE(cal().IsYearPublished(2030));
}

TEST_F(CalendarTest, EmbeddedDataIsTheDataFile) {
  auto from_file = WorkingCalendar::FromFile(DUBAN_CALENDAR_DATA_FILE);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->version(), cal().version());
  auto a = from_file->SpecialDays(CivilDay(2000, 1, 1), CivilDay(2100, 12, 31));
  auto b = cal().SpecialDays(CivilDay(2000, 1, 1), CivilDay(2100, 12, 31));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].day, (*b)[i].day);
    EXPECT_EQ((*a)[i].kind, (*b)[i].kind);
    EXPECT_EQ((*a)[i].name, (*b)[i].name);
  }
}

TEST_F(CalendarTest, SpringFestival2025AndItsMakeupSundayAndSaturday) {
  // 1月28日（除夕）至2月4日放假调休，共8天。1月26日（周日）、2月8日（周六）上班。
  EXPECT_EQ(Info(CivilDay(2025, 1, 26)).kind, DayKind::kMakeupWorkday);
  EXPECT_EQ(Info(CivilDay(2025, 1, 26)).name, "春节");
  EXPECT_TRUE(cal().IsWorkingDay(CivilDay(2025, 1, 26)));
  EXPECT_TRUE(cal().IsWorkingDay(CivilDay(2025, 2, 8)));
  EXPECT_EQ(Info(CivilDay(2025, 2, 8)).kind, DayKind::kMakeupWorkday);
  EXPECT_TRUE(cal().IsWorkingDay(CivilDay(2025, 1, 27)));  // Monday between the two
  for (CivilDay d(2025, 1, 28); d <= CivilDay(2025, 2, 4); ++d) {
    SCOPED_TRACE(absl::FormatCivilTime(d));
    EXPECT_FALSE(cal().IsWorkingDay(d));
    EXPECT_EQ(Info(d).kind, DayKind::kHoliday);  // including Saturday 1 Feb and Sunday 2 Feb
    EXPECT_EQ(Info(d).name, "春节");
    EXPECT_FALSE(Info(d).provisional);
  }
  EXPECT_TRUE(cal().IsWorkingDay(CivilDay(2025, 2, 5)));
  EXPECT_EQ(Info(CivilDay(2025, 2, 9)).kind, DayKind::kWeekend);
  EXPECT_EQ(DayKindName(Info(CivilDay(2025, 2, 8)).kind), "MAKEUP_WORKDAY");
}

TEST_F(CalendarTest, NationalDay2025And2026) {
  // 2025: 10月1日至8日放假调休，共8天。9月28日（周日）、10月11日（周六）上班。
  for (CivilDay d(2025, 10, 1); d <= CivilDay(2025, 10, 8); ++d) {
    EXPECT_EQ(Info(d).kind, DayKind::kHoliday) << d;
    EXPECT_EQ(Info(d).name, "国庆节、中秋节") << d;
  }
  EXPECT_TRUE(cal().IsWorkingDay(CivilDay(2025, 9, 28)));
  EXPECT_TRUE(cal().IsWorkingDay(CivilDay(2025, 10, 9)));
  EXPECT_TRUE(cal().IsWorkingDay(CivilDay(2025, 10, 11)));
  EXPECT_FALSE(cal().IsWorkingDay(CivilDay(2025, 10, 12)));
  // 2026: 10月1日至7日放假调休，共7天。9月20日（周日）、10月10日（周六）上班。中秋 9月25日–27日.
  for (CivilDay d(2026, 10, 1); d <= CivilDay(2026, 10, 7); ++d) {
    EXPECT_EQ(Info(d).kind, DayKind::kHoliday) << d;
    EXPECT_EQ(Info(d).name, "国庆节") << d;
  }
  EXPECT_EQ(Info(CivilDay(2026, 9, 20)).kind, DayKind::kMakeupWorkday);
  EXPECT_EQ(Info(CivilDay(2026, 10, 10)).kind, DayKind::kMakeupWorkday);
  EXPECT_EQ(Info(CivilDay(2026, 9, 25)).kind, DayKind::kHoliday);
  EXPECT_EQ(Info(CivilDay(2026, 9, 25)).name, "中秋节");
  EXPECT_TRUE(cal().IsWorkingDay(CivilDay(2026, 10, 8)));
}

TEST_F(CalendarTest, AddWorkingDaysAcrossSpringFestival2025) {
  const CivilDay fri(2025, 1, 24);
  EXPECT_EQ(Add(fri, 0).day, fri);
  EXPECT_EQ(Add(fri, 1).day, CivilDay(2025, 1, 26));  // make-up Sunday
  EXPECT_EQ(Add(fri, 2).day, CivilDay(2025, 1, 27));
  EXPECT_EQ(Add(fri, 3).day, CivilDay(2025, 2, 5));  // after the eight days off
  EXPECT_EQ(Add(fri, 5).day, CivilDay(2025, 2, 7));
  EXPECT_EQ(Add(fri, 6).day, CivilDay(2025, 2, 8));  // make-up Saturday
  EXPECT_EQ(Add(fri, 7).day, CivilDay(2025, 2, 10));
  EXPECT_FALSE(Add(fri, 7).provisional);
  EXPECT_EQ(Count(fri, CivilDay(2025, 2, 10)).count, 7);
  // Starting on a holiday: the start day is never counted.
  EXPECT_EQ(Add(CivilDay(2025, 1, 30), 1).day, CivilDay(2025, 2, 5));
  EXPECT_EQ(Add(CivilDay(2025, 1, 30), 0).day, CivilDay(2025, 1, 30));
  // Backwards.
  EXPECT_EQ(Add(CivilDay(2025, 2, 5), -1).day, CivilDay(2025, 1, 27));
  EXPECT_EQ(Add(CivilDay(2025, 2, 5), -2).day, CivilDay(2025, 1, 26));
  EXPECT_EQ(Add(CivilDay(2025, 2, 5), -3).day, CivilDay(2025, 1, 24));
}

TEST_F(CalendarTest, AddWorkingDaysAcrossMakeupSaturdays) {
  EXPECT_EQ(Add(CivilDay(2025, 10, 10), 1).day, CivilDay(2025, 10, 11));  // Fri → make-up Sat
  EXPECT_EQ(Add(CivilDay(2025, 10, 10), 2).day, CivilDay(2025, 10, 13));
  EXPECT_EQ(Add(CivilDay(2024, 10, 11), 1).day, CivilDay(2024, 10, 12));
  EXPECT_EQ(Add(CivilDay(2025, 9, 26), 1).day, CivilDay(2025, 9, 28));  // Fri → make-up Sun
  EXPECT_EQ(Add(CivilDay(2025, 9, 26), 3).day, CivilDay(2025, 9, 30));
  EXPECT_EQ(Add(CivilDay(2025, 9, 26), 4).day, CivilDay(2025, 10, 9));  // across 国庆
  // An ordinary weekend.
  EXPECT_EQ(Add(CivilDay(2025, 3, 7), 1).day, CivilDay(2025, 3, 10));
  EXPECT_EQ(Add(CivilDay(2025, 3, 8), 1).day, CivilDay(2025, 3, 10));
}

TEST_F(CalendarTest, NextWorkingDay) {
  auto next = [&](CivilDay d) {
    auto r = cal().NextWorkingDay(d);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->day : CivilDay();
  };
  EXPECT_EQ(next(CivilDay(2025, 3, 5)), CivilDay(2025, 3, 5));
  EXPECT_EQ(next(CivilDay(2025, 3, 8)), CivilDay(2025, 3, 10));
  EXPECT_EQ(next(CivilDay(2025, 10, 1)), CivilDay(2025, 10, 9));
  EXPECT_EQ(next(CivilDay(2025, 9, 27)), CivilDay(2025, 9, 28));
  EXPECT_EQ(next(CivilDay(2026, 2, 14)), CivilDay(2026, 2, 14));  // make-up Saturday
  EXPECT_EQ(next(CivilDay(2026, 2, 15)), CivilDay(2026, 2, 24));
}

TEST_F(CalendarTest, CountWorkingDaysMatchesDayByDay) {
  // Working days per published year (Mon–Fri − weekday holidays + make-up days).
  EXPECT_EQ(Count(CivilDay(2023, 12, 31), CivilDay(2024, 12, 31)).count, 251);
  EXPECT_EQ(Count(CivilDay(2024, 12, 31), CivilDay(2025, 12, 31)).count, 248);
  EXPECT_EQ(Count(CivilDay(2025, 12, 31), CivilDay(2026, 12, 31)).count, 248);
  EXPECT_EQ(Count(CivilDay(2025, 3, 5), CivilDay(2025, 3, 5)).count, 0);
  EXPECT_EQ(Count(CivilDay(2025, 3, 6), CivilDay(2025, 3, 5)).count, 0);

  std::mt19937 rng(20250128);
  std::uniform_int_distribution<int> start(0, 6 * 366), len(0, 800);
  for (int i = 0; i < 300; ++i) {
    const CivilDay from = CivilDay(2022, 6, 1) + start(rng);
    const CivilDay to = from + len(rng);
    int64_t expected = 0;
    for (CivilDay d = from + 1; d <= to; ++d) expected += cal().IsWorkingDay(d) ? 1 : 0;
    ASSERT_EQ(Count(from, to).count, expected) << from << " " << to;
  }
}

TEST_F(CalendarTest, CountInvertsAdd) {
  for (CivilDay start : {CivilDay(2024, 2, 9), CivilDay(2025, 1, 25), CivilDay(2025, 9, 27),
                         CivilDay(2026, 12, 20)}) {
    for (int64_t n = 0; n <= 300; n += 7) {
      const WorkingDayResult r = Add(start, n);
      EXPECT_EQ(Count(start, r.day).count, n) << start << " +" << n;
      if (n > 0) {
        EXPECT_TRUE(cal().IsWorkingDay(r.day));
      }
    }
  }
}

TEST_F(CalendarTest, UnpublishedYearsAreProvisionalNeverAuthoritative) {
  // 2027: no notice yet. 1 January 2027 is a Friday: a working day by the weekend rule, flagged.
  DayInfo ny = Info(CivilDay(2027, 1, 1));
  EXPECT_EQ(ny.kind, DayKind::kWorkday);
  EXPECT_TRUE(ny.provisional);
  EXPECT_TRUE(Info(CivilDay(2027, 10, 1)).provisional);
  EXPECT_EQ(Info(CivilDay(2027, 10, 2)).kind, DayKind::kWeekend);
  EXPECT_TRUE(Info(CivilDay(2030, 10, 1)).provisional);
  EXPECT_TRUE(Info(CivilDay(2023, 5, 1)).provisional);  // before the data
  EXPECT_FALSE(Info(CivilDay(2026, 12, 31)).provisional);

  EXPECT_FALSE(Add(CivilDay(2026, 12, 30), 1).provisional);  // → Thu 31 Dec 2026
  WorkingDayResult into_2027 = Add(CivilDay(2026, 12, 31), 1);
  EXPECT_EQ(into_2027.day, CivilDay(2027, 1, 1));
  EXPECT_TRUE(into_2027.provisional);
  EXPECT_TRUE(Add(CivilDay(2027, 3, 1), -60).provisional);
  EXPECT_FALSE(Add(CivilDay(2027, 1, 4), 0).provisional);  // nothing was looked up
  EXPECT_TRUE(Add(CivilDay(2030, 1, 1), 5).provisional);
  EXPECT_FALSE(Add(CivilDay(2026, 6, 1), 100).provisional);

  EXPECT_TRUE(Count(CivilDay(2026, 12, 1), CivilDay(2027, 1, 5)).provisional);
  EXPECT_FALSE(Count(CivilDay(2026, 12, 1), CivilDay(2026, 12, 31)).provisional);

  auto next = cal().NextWorkingDay(CivilDay(2030, 6, 1));  // Saturday
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->day, CivilDay(2030, 6, 3));
  EXPECT_TRUE(next->provisional);
  auto now = cal().NextWorkingDay(CivilDay(2026, 10, 8));
  ASSERT_TRUE(now.ok());
  EXPECT_FALSE(now->provisional);
}

TEST_F(CalendarTest, SpecialDaysListsHolidaysAndMakeupDaysInOrder) {
  auto days = cal().SpecialDays(CivilDay(2025, 1, 1), CivilDay(2025, 2, 28));
  ASSERT_TRUE(days.ok()) << days.status();
  ASSERT_EQ(days->size(), 1u + 1u + 8u + 1u);
  EXPECT_EQ((*days)[0].day, CivilDay(2025, 1, 1));
  EXPECT_EQ((*days)[0].name, "元旦");
  EXPECT_EQ((*days)[1].day, CivilDay(2025, 1, 26));
  EXPECT_EQ((*days)[1].kind, DayKind::kMakeupWorkday);
  EXPECT_EQ(days->back().day, CivilDay(2025, 2, 8));
  EXPECT_EQ(cal().SpecialDays(CivilDay(2025, 2, 1), CivilDay(2025, 1, 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CalendarTest, RejectsBadArguments) {
  EXPECT_EQ(cal().AddWorkingDays(CivilDay(2025, 1, 1), kMaxWorkingDayOffset + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cal().AddWorkingDays(CivilDay(2025, 1, 1), -kMaxWorkingDayOffset - 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(cal().AddWorkingDays(CivilDay(2025, 1, 1), kMaxWorkingDayOffset).ok());
  EXPECT_EQ(cal().AddWorkingDays(CivilDay(10000, 1, 1), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cal().GetDayInfo(CivilDay(0, 12, 31)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cal().CountWorkingDays(CivilDay(2025, 1, 1), CivilDay(12000, 1, 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cal().AddWorkingDays(CivilDay(9999, 12, 30), 5).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(cal().AddWorkingDays(CivilDay(1, 1, 2), -5).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(cal().IsWorkingDay(CivilDay(10000, 1, 3)));
}

}  // namespace
}  // namespace duban::calendar
