// The embedded calendar against the official notices as published by NateScarlet/holiday-cn
// (../shared/reference/holidays-cn/<year>.json): every day of 2024–2027.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>

#include <absl/time/civil_time.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "duban/calendar/working_calendar.h"

namespace duban::calendar {
namespace {

std::string ReferenceDir() {
  const char* env = std::getenv("DUBAN_SHARED_DIR");
  std::string shared = env != nullptr && *env != '\0' ? env : DUBAN_DEFAULT_SHARED_DIR;
  return shared + "/reference/holidays-cn";
}

struct RefDay {
  std::string name;
  bool off = false;
};

TEST(CalendarReference, EveryDayOf2024To2027MatchesTheOfficialNotices) {
  const std::string dir = ReferenceDir();
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "reference data not found at " << dir
                 << " (set DUBAN_SHARED_DIR to the directory holding reference/holidays-cn)";
  }
  auto cal = WorkingCalendar::Default();
  ASSERT_TRUE(cal.ok()) << cal.status();

  int days_checked = 0;
  for (int year = 2024; year <= 2027; ++year) {
    SCOPED_TRACE(year);
    std::ifstream in(dir + "/" + std::to_string(year) + ".json");
    ASSERT_TRUE(in) << "missing reference file for " << year;
    const nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(doc.is_discarded()) << "reference file for " << year << " is not JSON";
    ASSERT_EQ(doc.at("year").get<int>(), year);

    std::map<absl::CivilDay, RefDay> ref;
    for (const auto& d : doc.at("days")) {
      absl::CivilDay day;
      const std::string date = d.at("date").get<std::string>();
      ASSERT_TRUE(absl::ParseCivilTime(date, &day)) << date;
      ref[day] = RefDay{d.at("name").get<std::string>(), d.at("isOffDay").get<bool>()};
    }
    const bool published = !ref.empty();
    EXPECT_EQ(cal->IsYearPublished(year), published);

    for (absl::CivilDay day(year, 1, 1); day.year() == year; ++day) {
      SCOPED_TRACE(absl::FormatCivilTime(day));
      auto info = cal->GetDayInfo(day);
      ASSERT_TRUE(info.ok()) << info.status();
      EXPECT_EQ(info->provisional, !published);
      EXPECT_EQ(info->working(), cal->IsWorkingDay(day));
      const auto wd = absl::GetWeekday(day);
      const bool weekend = wd == absl::Weekday::saturday || wd == absl::Weekday::sunday;
      if (auto it = ref.find(day); it != ref.end()) {
        if (it->second.off) {
          EXPECT_FALSE(cal->IsWorkingDay(day));
          EXPECT_EQ(info->kind, DayKind::kHoliday);
        } else {
          EXPECT_TRUE(cal->IsWorkingDay(day));
          EXPECT_EQ(info->kind, DayKind::kMakeupWorkday);
        }
        EXPECT_EQ(info->name, it->second.name);
      } else {
        EXPECT_EQ(cal->IsWorkingDay(day), !weekend);
        EXPECT_EQ(info->kind, weekend ? DayKind::kWeekend : DayKind::kWorkday);
        EXPECT_EQ(info->name, "");
      }
      ++days_checked;
    }
  }
  EXPECT_EQ(days_checked, 366 + 365 + 365 + 365);
}

}  // namespace
}  // namespace duban::calendar
