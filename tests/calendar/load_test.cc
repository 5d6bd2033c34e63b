// Loading calendar files: another region's file from a path, and every kind of bad data is
// refused with INVALID_ARGUMENT naming the JSON path.
#include <fstream>
#include <string>

#include <absl/strings/str_replace.h>
#include <absl/time/civil_time.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "duban/calendar/working_calendar.h"
#include "support/temp_dir.h"

namespace duban::calendar {
namespace {

using absl::CivilDay;
using ::testing::HasSubstr;

// A small valid file; tests break it one piece at a time.
constexpr char kSmall[] = R"({
  "schema": "duban.calendar/1",
  "version": "test-1",
  "region": "XX",
  "timezone": "Europe/Berlin",
  "years": [
    {"year": 2025, "published": true, "source": "test",
     "holidays": [{"date": "2025-12-25", "name": "Christmas"},
                  {"date": "2025-12-27", "name": "Weekend holiday"}],
     "makeup_workdays": [{"date": "2025-12-20", "name": "Christmas"}]},
    {"year": 2026, "published": false, "holidays": [], "makeup_workdays": []}
  ]
})";

absl::Status Load(const std::string& json) { return WorkingCalendar::FromJson(json).status(); }

void ExpectInvalid(const std::string& json, const std::string& path_in_message) {
  absl::Status s = Load(json);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(path_in_message)) << json;
}

std::string Replace(absl::string_view from, absl::string_view to) {
  std::string out = absl::StrReplaceAll(kSmall, {{from, to}});
  EXPECT_NE(out, kSmall) << "replacement did not apply: " << from;
  return out;
}

TEST(CalendarLoad, SmallFileFromAPath) {
  testing::TempDir dir;
  {
    std::ofstream out(dir.File("xx.json"));
    out << kSmall;
  }
  auto cal = WorkingCalendar::FromFile(dir.File("xx.json"));
  ASSERT_TRUE(cal.ok()) << cal.status();
  EXPECT_EQ(cal->version(), "test-1");
  EXPECT_EQ(cal->region(), "XX");
  EXPECT_EQ(cal->default_timezone_name(), "Europe/Berlin");
  EXPECT_TRUE(cal->IsYearPublished(2025));
  EXPECT_FALSE(cal->IsYearPublished(2026));
  EXPECT_FALSE(cal->IsWorkingDay(CivilDay(2025, 12, 25)));
  EXPECT_TRUE(cal->IsWorkingDay(CivilDay(2025, 12, 20)));  // a Saturday
  EXPECT_EQ(cal->GetDayInfo(CivilDay(2025, 12, 27))->kind, DayKind::kHoliday);
  EXPECT_TRUE(cal->GetDayInfo(CivilDay(2026, 12, 25))->provisional);
  EXPECT_TRUE(cal->IsWorkingDay(CivilDay(2026, 12, 25)));  // no data: weekend rule only

  auto missing = WorkingCalendar::FromFile(dir.File("nope.json"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  {
    std::ofstream out(dir.File("bad.json"));
    out << "{";
  }
  auto bad = WorkingCalendar::FromFile(dir.File("bad.json"));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("bad.json"));
}

TEST(CalendarLoad, OtherWeekendRules) {
  // Friday and Saturday off.
  auto cal = WorkingCalendar::FromJson(R"({"version": "fs-1", "region": "YY",
      "timezone": "Asia/Urumqi", "weekend": ["Friday", "saturday"],
      "years": [{"year": 2025, "published": true, "holidays": [],
                 "makeup_workdays": [{"date": "2025-03-07", "name": "swap"}]}]})");
  ASSERT_TRUE(cal.ok()) << cal.status();
  EXPECT_TRUE(cal->IsWorkingDay(CivilDay(2025, 3, 9)));    // Sunday
  EXPECT_FALSE(cal->IsWorkingDay(CivilDay(2025, 3, 8)));   // Saturday
  EXPECT_TRUE(cal->IsWorkingDay(CivilDay(2025, 3, 7)));    // make-up Friday
  EXPECT_FALSE(cal->IsWorkingDay(CivilDay(2025, 3, 14)));  // Friday
  auto n = cal->CountWorkingDays(CivilDay(2025, 3, 1), CivilDay(2025, 3, 15));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->count, 14 - 4 + 1);
  auto add = cal->AddWorkingDays(CivilDay(2025, 3, 13), 1);  // Thursday → Sunday
  ASSERT_TRUE(add.ok());
  EXPECT_EQ(add->day, CivilDay(2025, 3, 16));
}

TEST(CalendarLoad, RejectsBadData) {
  ExpectInvalid("{", "not valid JSON");
  ExpectInvalid("[]", "must be a JSON object");
  ExpectInvalid(Replace(R"("version": "test-1",)", ""), "version: is required");
  ExpectInvalid(Replace(R"("test-1")", R"("")"), "version: must not be empty");
  ExpectInvalid(Replace(R"("test-1")", R"("a b")"), "version");
  ExpectInvalid(Replace(R"("Europe/Berlin")", R"("Mars/Olympus")"), "timezone");
  ExpectInvalid(Replace(R"("schema": "duban.calendar/1")", R"("schema": "v9")"), "schema");
  ExpectInvalid(Replace(R"("region")", R"("regoin")"), "regoin: unknown key");
  ExpectInvalid(Replace(R"("makeup_workdays": [{)", R"("makeup_days": [{)"),
                "years[0].makeup_days: unknown key");
  ExpectInvalid(Replace("2025-12-25", "2025-02-30"), "years[0].holidays[0].date");
  ExpectInvalid(Replace("2025-12-25", "2025-12-5"), "years[0].holidays[0].date");
  ExpectInvalid(Replace("2025-12-25", "2024-12-25"),
                "years[0].holidays[0].date: 2024-12-25 is not in 2025");
  ExpectInvalid(Replace("2025-12-27", "2025-12-25"),
                "years[0].holidays[1].date: 2025-12-25 is listed twice");
  ExpectInvalid(Replace("2025-12-20", "2025-12-25"), "years[0].makeup_workdays[0].date");
  ExpectInvalid(Replace("2025-12-20", "2025-12-22"), "is not a weekend day");  // a Monday
  ExpectInvalid(Replace(R"("name": "Christmas"})", R"("name": ""})"), "years[0].holidays[0].name");
  ExpectInvalid(Replace(R"("year": 2026)", R"("year": 2025)"),
                "years[1].year: 2025 is listed twice");
  ExpectInvalid(Replace(R"("year": 2026)", R"("year": "2026")"),
                "years[1].year: must be an integer");
  ExpectInvalid(Replace(R"("published": true)", R"("published": "yes")"), "years[0].published");
  ExpectInvalid(Replace(R"("published": false, "holidays": [])",
                        R"("published": false, "holidays": [{"date": "2026-01-01", "name": "x"}])"),
                "years[1].holidays: must be empty when published is false");
  ExpectInvalid(
      Replace(R"("Europe/Berlin",)", R"("Europe/Berlin", "weekend": ["Saturday", "Caturday"],)"),
      "weekend[1]");
  ExpectInvalid(Replace(R"("Europe/Berlin",)", R"("Europe/Berlin", "weekend": "Sunday",)"),
                "weekend");
  ExpectInvalid(Replace(R"({"year": 2025, "published": true, "source": "test",)",
                        R"({"year": 2025, "published": true, "source": 7,)"),
                "years[0].source");
}

}  // namespace
}  // namespace duban::calendar
