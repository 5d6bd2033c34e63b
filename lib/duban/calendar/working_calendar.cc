#include "duban/calendar/working_calendar.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include <absl/strings/ascii.h>
#include <absl/strings/str_cat.h>
#include <nlohmann/json.hpp>

namespace duban::calendar {
namespace {

using Json = nlohmann::json;

constexpr absl::string_view kSchema = "duban.calendar/1";
constexpr absl::Duration kDay = absl::Hours(24);

absl::Status DataError(absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("calendar data: ", path, ": ", problem));
}

bool InRange(absl::CivilDay day) { return day >= kMinSupportedDay && day <= kMaxSupportedDay; }

absl::Status CheckDay(absl::CivilDay day, absl::string_view what) {
  if (InRange(day)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      what, " must be within 0001-01-01..9999-12-31, got ", absl::FormatCivilTime(day)));
}

absl::Status CheckTime(absl::Time t) {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
    return absl::InvalidArgumentError("time must be finite");
  }
  return absl::OkStatus();
}

bool WholeSeconds(absl::Duration d) { return d % absl::Seconds(1) == absl::ZeroDuration(); }

// The first instant whose local time is at or after `cs` (a DST gap moves to its end).
absl::Time FirstInstantAtOrAfter(absl::CivilSecond cs, absl::TimeZone tz) {
  return absl::FromCivil(cs, tz);  // SKIPPED → transition, REPEATED → earlier occurrence
}

// The last instant whose local time is at or before `cs` (a repeated hour: its later
// occurrence; a DST gap: just before the gap ends).
absl::Time LastInstantAtOrBefore(absl::CivilSecond cs, absl::TimeZone tz) {
  const absl::TimeZone::TimeInfo ti = tz.At(cs);
  switch (ti.kind) {
    case absl::TimeZone::TimeInfo::UNIQUE:
      return ti.pre;
    case absl::TimeZone::TimeInfo::REPEATED:
      return ti.post;
    case absl::TimeZone::TimeInfo::SKIPPED:
      return ti.trans - absl::Nanoseconds(1);
  }
  return ti.pre;
}

// "YYYY-MM-DD" exactly, a real date.
bool ParseDate(const std::string& s, absl::CivilDay* out) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  absl::CivilDay day;
  if (!absl::ParseCivilTime(s, &day)) return false;
  if (absl::FormatCivilTime(day) != s) return false;  // rejects 2025-02-30 (normalised)
  *out = day;
  return true;
}

bool ParseWeekday(std::string name, absl::Weekday* out) {
  static const std::pair<absl::string_view, absl::Weekday> kNames[] = {
      {"monday", absl::Weekday::monday},       {"tuesday", absl::Weekday::tuesday},
      {"wednesday", absl::Weekday::wednesday}, {"thursday", absl::Weekday::thursday},
      {"friday", absl::Weekday::friday},       {"saturday", absl::Weekday::saturday},
      {"sunday", absl::Weekday::sunday},
  };
  absl::AsciiStrToLower(&name);
  for (const auto& [n, w] : kNames) {
    if (n == name) {
      *out = w;
      return true;
    }
  }
  return false;
}

absl::Status CheckKeys(const Json& obj, absl::string_view path,
                       std::initializer_list<absl::string_view> allowed) {
  for (const auto& item : obj.items()) {
    const std::string& key = item.key();
    if (std::find(allowed.begin(), allowed.end(), absl::string_view(key)) == allowed.end()) {
      return DataError(path.empty() ? key : absl::StrCat(path, ".", key), "unknown key");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RequiredString(const Json& obj, absl::string_view key,
                                           absl::string_view path, bool allow_empty = false) {
  const std::string where = path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return DataError(where, "is required");
  if (!it->is_string()) return DataError(where, "must be a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty() && !allow_empty) return DataError(where, "must not be empty");
  return s;
}

}  // namespace

absl::string_view DayKindName(DayKind kind) {
  switch (kind) {
    case DayKind::kWorkday:
      return "WORKDAY";
    case DayKind::kWeekend:
      return "WEEKEND";
    case DayKind::kHoliday:
      return "HOLIDAY";
    case DayKind::kMakeupWorkday:
      return "MAKEUP_WORKDAY";
  }
  return "UNKNOWN";
}

// ---------------------------------------------------------------------------------------------
// Loading

absl::StatusOr<WorkingCalendar> WorkingCalendar::Default() {
  return FromJson(EmbeddedCalendarJson());
}

absl::StatusOr<WorkingCalendar> WorkingCalendar::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("calendar file cannot be read: ", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat("calendar file cannot be read: ", path));
  auto cal = FromJson(text.str());
  if (!cal.ok()) {
    return absl::Status(cal.status().code(), absl::StrCat(path, ": ", cal.status().message()));
  }
  return cal;
}

absl::StatusOr<WorkingCalendar> WorkingCalendar::FromJson(absl::string_view json) {
  Json doc;
  try {
    doc = Json::parse(json.begin(), json.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("calendar data: not valid JSON: ", e.what()));
  }
  // Everything below checks types before reading, so no nlohmann exception is expected; the
  // catch keeps the promise that none escapes.
  try {
    WorkingCalendar cal;
    if (!doc.is_object()) return DataError("(document)", "must be a JSON object");
    if (auto s = CheckKeys(
            doc, "", {"schema", "version", "region", "timezone", "weekend", "comment", "years"});
        !s.ok()) {
      return s;
    }
    if (auto it = doc.find("schema"); it != doc.end()) {
      if (!it->is_string() || it->get_ref<const std::string&>() != kSchema) {
        return DataError("schema", absl::StrCat("must be \"", kSchema, "\""));
      }
    }
    auto version = RequiredString(doc, "version", "");
    if (!version.ok()) return version.status();
    if (version->size() > 64) return DataError("version", "must be at most 64 characters");
    for (char c : *version) {
      if (c < 0x21 || c > 0x7e) return DataError("version", "must be printable ASCII, no spaces");
    }
    cal.version_ = *std::move(version);
    auto region = RequiredString(doc, "region", "");
    if (!region.ok()) return region.status();
    cal.region_ = *std::move(region);
    auto tz_name = RequiredString(doc, "timezone", "");
    if (!tz_name.ok()) return tz_name.status();
    if (!absl::LoadTimeZone(*tz_name, &cal.timezone_)) {
      return DataError("timezone", absl::StrCat("unknown time zone \"", *tz_name, "\""));
    }
    cal.timezone_name_ = *std::move(tz_name);

    if (auto it = doc.find("weekend"); it != doc.end()) {
      if (!it->is_array()) return DataError("weekend", "must be an array of weekday names");
      for (size_t i = 0; i < it->size(); ++i) {
        const Json& w = (*it)[i];
        absl::Weekday wd;
        if (!w.is_string() || !ParseWeekday(w.get<std::string>(), &wd)) {
          return DataError(absl::StrCat("weekend[", i, "]"),
                           "must be a weekday name (\"Saturday\")");
        }
        if (cal.weekend_[static_cast<int>(wd)]) {
          return DataError(absl::StrCat("weekend[", i, "]"), "is listed twice");
        }
        cal.weekend_[static_cast<int>(wd)] = true;
      }
      if (std::all_of(std::begin(cal.weekend_), std::end(cal.weekend_), [](bool b) { return b; })) {
        return DataError("weekend", "must leave at least one working weekday");
      }
    } else {
      cal.weekend_[static_cast<int>(absl::Weekday::saturday)] = true;
      cal.weekend_[static_cast<int>(absl::Weekday::sunday)] = true;
    }

    auto years = doc.find("years");
    if (years == doc.end()) return DataError("years", "is required");
    if (!years->is_array()) return DataError("years", "must be an array");
    for (size_t yi = 0; yi < years->size(); ++yi) {
      const Json& y = (*years)[yi];
      const std::string ypath = absl::StrCat("years[", yi, "]");
      if (!y.is_object()) return DataError(ypath, "must be an object");
      if (auto s = CheckKeys(
              y, ypath, {"year", "published", "source", "comment", "holidays", "makeup_workdays"});
          !s.ok()) {
        return s;
      }
      auto yit = y.find("year");
      if (yit == y.end()) return DataError(ypath + ".year", "is required");
      if (!yit->is_number_integer()) return DataError(ypath + ".year", "must be an integer");
      const int64_t year = yit->get<int64_t>();
      if (year < 1 || year > 9999) return DataError(ypath + ".year", "must be within 1..9999");
      if (cal.years_.count(year)) {
        return DataError(ypath + ".year", absl::StrCat(year, " is listed twice"));
      }
      auto pit = y.find("published");
      if (pit == y.end()) return DataError(ypath + ".published", "is required");
      if (!pit->is_boolean()) return DataError(ypath + ".published", "must be true or false");
      const bool published = pit->get<bool>();
      if (auto sit = y.find("source"); sit != y.end() && !sit->is_string()) {
        return DataError(ypath + ".source", "must be a string");
      }
      cal.years_[year] = published;

      for (absl::string_view list : {"holidays", "makeup_workdays"}) {
        const bool makeup = list == "makeup_workdays";
        const std::string lpath = absl::StrCat(ypath, ".", list);
        auto lit = y.find(std::string(list));
        if (lit == y.end()) {
          if (published) return DataError(lpath, "is required for a published year");
          continue;
        }
        if (!lit->is_array()) return DataError(lpath, "must be an array");
        if (!published && !lit->empty()) {
          return DataError(lpath, "must be empty when published is false");
        }
        for (size_t di = 0; di < lit->size(); ++di) {
          const Json& e = (*lit)[di];
          const std::string epath = absl::StrCat(lpath, "[", di, "]");
          if (!e.is_object()) return DataError(epath, "must be an object");
          if (auto s = CheckKeys(e, epath, {"date", "name"}); !s.ok()) return s;
          auto date = RequiredString(e, "date", epath);
          if (!date.ok()) return date.status();
          absl::CivilDay day;
          if (!ParseDate(*date, &day)) {
            return DataError(epath + ".date",
                             absl::StrCat("\"", *date, "\" is not a YYYY-MM-DD date"));
          }
          if (day.year() != year) {
            return DataError(epath + ".date", absl::StrCat(*date, " is not in ", year));
          }
          auto name = RequiredString(e, "name", epath);
          if (!name.ok()) return name.status();
          if (cal.holidays_.count(day) || cal.makeup_workdays_.count(day)) {
            return DataError(epath + ".date", absl::StrCat(*date, " is listed twice"));
          }
          if (makeup) {
            if (!cal.IsWeekendDay(day)) {
              return DataError(epath + ".date",
                               absl::StrCat(*date,
                                            " is not a weekend day, so it cannot be a make-up "
                                            "working day"));
            }
            cal.makeup_workdays_[day] = NamedDay{*std::move(name)};
          } else {
            cal.holidays_[day] = NamedDay{*std::move(name)};
          }
        }
      }
    }
    return cal;
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("calendar data: ", e.what()));
  }
}

// ---------------------------------------------------------------------------------------------
// Days

bool WorkingCalendar::IsWeekendDay(absl::CivilDay day) const {
  return weekend_[static_cast<int>(absl::GetWeekday(day))];
}

bool WorkingCalendar::IsYearPublished(int64_t year) const {
  auto it = years_.find(year);
  return it != years_.end() && it->second;
}

std::vector<int64_t> WorkingCalendar::PublishedYears() const {
  std::vector<int64_t> out;
  for (const auto& [year, published] : years_) {
    if (published) out.push_back(year);
  }
  return out;
}

bool WorkingCalendar::AnyUnpublished(absl::CivilDay from, absl::CivilDay to) const {
  for (int64_t y = from.year(); y <= to.year(); ++y) {
    if (!IsYearPublished(y)) return true;
  }
  return false;
}

bool WorkingCalendar::IsWorkingDay(absl::CivilDay day) const {
  if (!InRange(day)) return false;
  if (makeup_workdays_.count(day)) return true;
  if (holidays_.count(day)) return false;
  return !IsWeekendDay(day);
}

absl::StatusOr<DayInfo> WorkingCalendar::GetDayInfo(absl::CivilDay day) const {
  if (auto s = CheckDay(day, "day"); !s.ok()) return s;
  DayInfo info;
  info.day = day;
  info.provisional = !IsYearPublished(day.year());
  if (auto it = holidays_.find(day); it != holidays_.end()) {
    info.kind = DayKind::kHoliday;
    info.name = it->second.name;
  } else if (auto mit = makeup_workdays_.find(day); mit != makeup_workdays_.end()) {
    info.kind = DayKind::kMakeupWorkday;
    info.name = mit->second.name;
  } else {
    info.kind = IsWeekendDay(day) ? DayKind::kWeekend : DayKind::kWorkday;
  }
  return info;
}

absl::StatusOr<std::vector<DayInfo>> WorkingCalendar::SpecialDays(absl::CivilDay from,
                                                                  absl::CivilDay to) const {
  if (auto s = CheckDay(from, "from"); !s.ok()) return s;
  if (auto s = CheckDay(to, "to"); !s.ok()) return s;
  if (to < from) return absl::InvalidArgumentError("to must not be before from");
  std::vector<DayInfo> out;
  for (auto it = holidays_.lower_bound(from); it != holidays_.end() && it->first <= to; ++it) {
    out.push_back(DayInfo{it->first, DayKind::kHoliday, it->second.name, false});
  }
  for (auto it = makeup_workdays_.lower_bound(from);
       it != makeup_workdays_.end() && it->first <= to; ++it) {
    out.push_back(DayInfo{it->first, DayKind::kMakeupWorkday, it->second.name, false});
  }
  std::sort(out.begin(), out.end(),
            [](const DayInfo& a, const DayInfo& b) { return a.day < b.day; });
  return out;
}

absl::StatusOr<WorkingDayResult> WorkingCalendar::AddWorkingDays(absl::CivilDay day,
                                                                 int64_t n) const {
  if (auto s = CheckDay(day, "day"); !s.ok()) return s;
  if (n > kMaxWorkingDayOffset || n < -kMaxWorkingDayOffset) {
    return absl::InvalidArgumentError(
        absl::StrCat("working days must be within ±", kMaxWorkingDayOffset, ", got ", n));
  }
  if (n == 0) return WorkingDayResult{day, false};
  const int step = n > 0 ? 1 : -1;
  int64_t left = n > 0 ? n : -n;
  absl::CivilDay d = day;
  while (left > 0) {
    d += step;
    if (!InRange(d)) {
      return absl::OutOfRangeError("working-day arithmetic left the supported date range");
    }
    if (IsWorkingDay(d)) --left;
  }
  const bool provisional = n > 0 ? AnyUnpublished(day + 1, d) : AnyUnpublished(d, day - 1);
  return WorkingDayResult{d, provisional};
}

absl::StatusOr<WorkingDayResult> WorkingCalendar::NextWorkingDay(absl::CivilDay day) const {
  if (auto s = CheckDay(day, "day"); !s.ok()) return s;
  absl::CivilDay d = day;
  while (!IsWorkingDay(d)) {
    ++d;
    if (!InRange(d)) {
      return absl::OutOfRangeError("no working day before the end of the supported date range");
    }
  }
  return WorkingDayResult{d, AnyUnpublished(day, d)};
}

absl::StatusOr<WorkingDayCount> WorkingCalendar::CountWorkingDays(absl::CivilDay from,
                                                                  absl::CivilDay to) const {
  if (auto s = CheckDay(from, "from"); !s.ok()) return s;
  if (auto s = CheckDay(to, "to"); !s.ok()) return s;
  if (to <= from) return WorkingDayCount{0, false};
  // Weekdays by the weekend rule in (from, to], then the listed exceptions.
  const int64_t days = to - from;
  const int weekdays_per_week =
      7 - static_cast<int>(std::count(std::begin(weekend_), std::end(weekend_), true));
  int64_t count = (days / 7) * weekdays_per_week;
  for (absl::CivilDay d = from + (days / 7) * 7 + 1; d <= to; ++d) {
    if (!IsWeekendDay(d)) ++count;
  }
  for (auto it = holidays_.upper_bound(from); it != holidays_.end() && it->first <= to; ++it) {
    if (!IsWeekendDay(it->first)) --count;
  }
  for (auto it = makeup_workdays_.upper_bound(from);
       it != makeup_workdays_.end() && it->first <= to; ++it) {
    ++count;  // make-up days are weekend days (checked at load)
  }
  return WorkingDayCount{count, AnyUnpublished(from + 1, to)};
}

// ---------------------------------------------------------------------------------------------
// Time

absl::Status WorkingCalendar::ValidateWindow(absl::Duration start, absl::Duration end) {
  if (start < absl::ZeroDuration() || start >= kDay) {
    return absl::InvalidArgumentError("window start must be within [00:00, 24:00)");
  }
  if (end <= absl::ZeroDuration() || end > kDay) {
    return absl::InvalidArgumentError("window end must be within (00:00, 24:00]");
  }
  if (!WholeSeconds(start) || !WholeSeconds(end)) {
    return absl::InvalidArgumentError("window start and end must be whole seconds");
  }
  if (start >= end) return absl::InvalidArgumentError("window start must be before its end");
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> WorkingCalendar::EndOfDay(absl::CivilDay day, absl::TimeZone tz,
                                                     absl::Duration end_of_day) {
  if (auto s = CheckDay(day, "day"); !s.ok()) return s;
  if (end_of_day <= absl::ZeroDuration() || end_of_day > kDay || !WholeSeconds(end_of_day)) {
    return absl::InvalidArgumentError("end of day must be whole seconds within (00:00, 24:00]");
  }
  return LastInstantAtOrBefore(absl::CivilSecond(day) + end_of_day / absl::Seconds(1), tz);
}

absl::StatusOr<WorkingInstant> WorkingCalendar::DeadlineAfterWorkingDays(
    absl::CivilDay from, int64_t n, absl::TimeZone tz, absl::Duration end_of_day) const {
  auto day = AddWorkingDays(from, n);
  if (!day.ok()) return day.status();
  auto t = EndOfDay(day->day, tz, end_of_day);
  if (!t.ok()) return t.status();
  return WorkingInstant{*t, day->day, day->provisional};
}

absl::StatusOr<WorkingInstant> WorkingCalendar::ShiftByWorkingDays(absl::Time t, absl::TimeZone tz,
                                                                   int64_t n) const {
  if (auto s = CheckTime(t); !s.ok()) return s;
  const absl::CivilSecond cs = absl::ToCivilSecond(t, tz);
  const absl::CivilDay local = absl::CivilDay(cs);
  const absl::Duration fraction =
      (t - absl::UnixEpoch()) - absl::Floor(t - absl::UnixEpoch(), absl::Seconds(1));
  auto day = AddWorkingDays(local, n);
  if (!day.ok()) return day.status();
  const absl::Time shifted =
      FirstInstantAtOrAfter(absl::CivilSecond(day->day) + (cs - absl::CivilSecond(local)), tz) +
      fraction;
  return WorkingInstant{shifted, day->day, day->provisional};
}

absl::StatusOr<WorkingInstant> WorkingCalendar::NextWorkingInstant(
    absl::Time t, absl::TimeZone tz, absl::Duration window_start, absl::Duration window_end) const {
  return NextInstantInWindow(t, tz, DailyWindow{window_start, window_end, true});
}

absl::StatusOr<WorkingInstant> WorkingCalendar::NextInstantInWindow(
    absl::Time t, absl::TimeZone tz, const DailyWindow& window) const {
  if (auto s = ValidateWindow(window.start, window.end); !s.ok()) return s;
  if (auto s = CheckTime(t); !s.ok()) return s;
  const absl::CivilDay local = absl::ToCivilDay(t, tz);
  if (auto s = CheckDay(local, "local day of the time"); !s.ok()) return s;
  const int64_t start_s = window.start / absl::Seconds(1);
  const int64_t end_s = window.end / absl::Seconds(1);
  // The previous day's window may still be open at t when it ends at 24:00 or a DST change
  // stretches it, so the search starts one day early.
  for (absl::CivilDay d = std::max(local - 1, kMinSupportedDay);; ++d) {
    if (!InRange(d)) {
      return absl::OutOfRangeError("no window opens before the end of the supported date range");
    }
    if (window.working_days_only && !IsWorkingDay(d)) continue;
    const absl::Time close = LastInstantAtOrBefore(absl::CivilSecond(d) + end_s, tz);
    if (t > close) continue;
    const absl::Time open = FirstInstantAtOrAfter(absl::CivilSecond(d) + start_s, tz);
    const bool provisional = window.working_days_only && AnyUnpublished(std::min(local, d), d);
    return WorkingInstant{std::max(t, open), d, provisional};
  }
}

}  // namespace duban::calendar
