// dubanctl reminders calendar ...: the working-day calendar reminders are planned with
// (weekends, official holidays, make-up working days 调休): check, add, info.
#include <cstdio>
#include <iostream>
#include <memory>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/time/civil_time.h>
#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "output.h"
#include "reminders_parts.h"

namespace duban::cli {

namespace rv1 = ::duban::reminders::v1;

namespace {

rv1::Date DateArg(const std::string& text) {
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) {
    throw UsageError{"bad date '" + text + "' (use YYYY-MM-DD, e.g. 2025-01-26)"};
  }
  rv1::Date d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

std::string DateText(const rv1::Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year(), d.month(), d.day());
  return buf;
}

std::string DayKindShort(rv1::DayKind k) {
  std::string s = rv1::DayKind_Name(k);
  if (absl::StartsWith(s, "DAY_KIND_")) s = s.substr(9);
  return absl::AsciiStrToLower(s);
}

struct CheckOptions {
  std::string date, calendar;
};

int Check(Context& ctx, const CheckOptions& o) {
  rv1::IsWorkingDayRequest req;
  req.set_calendar(o.calendar);
  *req.mutable_date() = DateArg(o.date);
  rv1::CalendarDay day;
  const grpc::Status s = ctx.reminders().IsWorkingDay(ctx.Call().get(), req, &day);
  if (!s.ok()) return ctx.Fail("IsWorkingDay", s);
  if (ctx.json()) {
    PrintJson(day);
    return kExitOk;
  }
  std::cout << DateText(day.date()) << ": "
            << Paint(day.working() ? "working day" : "not a working day",
                     day.working() ? Color::kGreen : Color::kYellow, ctx.color())
            << " (" << DayKindShort(day.kind());
  if (!day.holiday_name().empty()) std::cout << ", " << day.holiday_name();
  std::cout << ")";
  if (day.provisional()) std::cout << " — provisional: no published data for the year";
  std::cout << "\n";
  return kExitOk;
}

struct AddOptions {
  std::string date, calendar;
  int days = 0;
};

int AddDays(Context& ctx, const AddOptions& o) {
  rv1::AddWorkingDaysRequest req;
  req.set_calendar(o.calendar);
  *req.mutable_date() = DateArg(o.date);
  req.set_days(o.days);
  rv1::AddWorkingDaysResponse resp;
  const grpc::Status s = ctx.reminders().AddWorkingDays(ctx.Call().get(), req, &resp);
  if (!s.ok()) return ctx.Fail("AddWorkingDays", s);
  if (ctx.json()) {
    PrintJson(resp);
    return kExitOk;
  }
  std::cout << DateText(resp.date())
            << (resp.provisional() ? " (provisional: crosses a year without published data)" : "")
            << "\n";
  return kExitOk;
}

int Info(Context& ctx, const std::string& calendar) {
  rv1::GetCalendarInfoRequest req;
  req.set_calendar(calendar);
  rv1::CalendarInfo info;
  const grpc::Status s = ctx.reminders().GetCalendarInfo(ctx.Call().get(), req, &info);
  if (!s.ok()) return ctx.Fail("GetCalendarInfo", s);
  if (ctx.json()) {
    PrintJson(info);
    return kExitOk;
  }
  std::cout << "calendar " << info.calendar() << " (" << info.timezone() << "), data "
            << info.data_version() << "\n";
  Table table({"YEAR", "HOLIDAYS", "MAKE-UP WORKDAYS", "DATA"});
  for (const auto& y : info.years()) {
    table.AddRow({std::to_string(y.year()), std::to_string(y.holidays()),
                  std::to_string(y.makeup_workdays()),
                  y.provisional() ? "provisional (weekends only)" : "published"});
  }
  table.Print();
  return kExitOk;
}

}  // namespace

void AddCalendarCommands(CLI::App& reminders, Context& ctx) {
  CLI::App* cal = Group(reminders, "calendar",
                        "The working-day calendar (holidays, make-up working days 调休)");

  auto c = std::make_shared<CheckOptions>();
  CLI::App* check = Leaf(*cal, "check", "Is a date a working day? (IsWorkingDay)", ctx,
                         [&ctx, c] { return Check(ctx, *c); });
  check->add_option("date", c->date, "YYYY-MM-DD")->required();
  check->add_option("--calendar", c->calendar, "Calendar id (default cn)");

  auto a = std::make_shared<AddOptions>();
  CLI::App* add = Leaf(*cal, "add", "The date N working days after (negative: before) a date", ctx,
                       [&ctx, a] { return AddDays(ctx, *a); });
  add->add_option("date", a->date, "YYYY-MM-DD")->required();
  add->add_option("days", a->days, "Working days, -1000..1000 (0: the date or the next one)")
      ->required();
  add->add_option("--calendar", a->calendar, "Calendar id (default cn)");

  auto i = std::make_shared<std::string>();
  Leaf(*cal, "info", "Years the loaded calendar data covers", ctx, [&ctx, i] {
    return Info(ctx, *i);
  })->add_option("--calendar", *i, "Calendar id (default cn)");
}

}  // namespace duban::cli
