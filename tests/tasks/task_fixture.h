#pragma once
// A TaskDirectory on a real SQLite file in a temp directory, with fake UnitService and
// ReminderService policy checks and a settable clock.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include "db_dump.h"
#include "duban/calendar/working_calendar.h"
#include "duban/status.h"
#include "duban/time_util.h"
#include "fake_units.h"
#include "sqlite_task_store.h"
#include "support/temp_dir.h"
#include "task_directory.h"

namespace duban::tasks::testing {

inline absl::TimeZone Shanghai() {
  absl::TimeZone tz;
  absl::LoadTimeZone("Asia/Shanghai", &tz);
  return tz;
}

// Microseconds of a local time in Asia/Shanghai.
inline int64_t LocalUs(int y, int mo, int d, int h = 0, int mi = 0) {
  return ToMicros(absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), Shanghai()));
}

inline std::string FirstField(const absl::Status& s) {
  auto v = ViolationsOf(s);
  return v.empty() ? "" : v[0].field;
}

inline DeadlineSpec At(int64_t us) {
  DeadlineSpec d;
  d.absolute_us = us;
  return d;
}

inline DeadlineSpec WorkingDays(int count, Date from, std::optional<int> minutes = std::nullopt) {
  DeadlineSpec d;
  WorkingDaysSpec w;
  w.count = count;
  w.from_date = from;
  w.time_of_day_minutes = minutes;
  d.working_days = w;
  return d;
}

class TaskFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cal = calendar::WorkingCalendar::Default();
    ASSERT_TRUE(cal.ok()) << cal.status();
    calendar_ = std::make_unique<calendar::WorkingCalendar>(std::move(*cal));
    sqlite::Options o;
    o.path = dir_.File("tasks.db");
    o.synchronous = "NORMAL";
    auto store = SqliteTaskStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    units_.Add("gd", "", UnitKind::kProvince);
    units_.Add("gd.zq", "gd", UnitKind::kCity);
    units_.Add("gd.zq.dz", "gd.zq", UnitKind::kDistrict, {"五区"});
    units_.Add("gd.zq.dz.b1", "gd.zq.dz", UnitKind::kPartyBranch, {"五区"});
    units_.Add("gd.zq.dz.b2", "gd.zq.dz", UnitKind::kPartyBranch, {"五区", "国企"});
    units_.Add("gd.zq.edu", "gd.zq", UnitKind::kDepartment, {"市直单位"});
    units_.Add("gd.zq.fin", "gd.zq", UnitKind::kDepartment, {"市直单位"});
    units_.Add("gd.zq.old", "gd.zq", UnitKind::kDepartment);
    units_.Archive("gd.zq.old");
    units_.Add("gd.fs", "gd", UnitKind::kCity);
    now_ = absl::FromCivil(absl::CivilSecond(2025, 9, 26, 10, 0, 0), Shanghai());
    directory_ = std::make_unique<TaskDirectory>(*store_, units_, &policies_, *calendar_,
                                                 [this] { return now_; });
  }

  std::string Dump() { return DumpDatabase(dir_.File("tasks.db")); }

  Actor Who() { return Actor{"user:1", "李伟", ""}; }

  Plan MakePlan(const std::string& id = "p1", int margin = 0) {
    Plan p;
    p.id = id;
    p.title = "学习教育工作方案";
    p.owner_unit_id = "gd.zq";
    p.start_date = {2025, 9, 1};
    p.end_date = {2025, 12, 31};
    p.cascade_margin_working_days = margin;
    return p;
  }

  PlanView CreatePlan(const std::string& id = "p1", int margin = 0) {
    auto p = directory_->CreatePlan(MakePlan(id, margin), "", Who());
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : PlanView{};
  }

  Task MakeTask(const std::string& id, int64_t deadline_us, const std::string& plan = "p1",
                const std::string& lead = "gd.zq.edu", std::vector<std::string> coop = {}) {
    Task t;
    t.id = id;
    t.plan_id = plan;
    t.title = "重点任务" + id;
    t.lead_unit_id = lead;
    t.cooperating_unit_ids = std::move(coop);
    t.deadline = At(deadline_us);
    return t;
  }

  Task CreateTask(const std::string& id, int64_t deadline_us, std::vector<std::string> coop = {},
                  const std::string& lead = "gd.zq.edu", const std::string& parent = "") {
    Task t = MakeTask(id, deadline_us, "p1", lead, std::move(coop));
    t.parent_task_id = parent;
    auto out = directory_->CreateTask(t, "", Who());
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : Task{};
  }

  // The id of the assignment of `task` for `unit` (open or not, newest).
  std::string AssignmentOf(const Task& task, const std::string& unit) {
    auto t = directory_->GetTask(task.id);
    EXPECT_TRUE(t.ok());
    std::string id;
    for (const auto& a : t->assignments) {
      if (a.unit_id == unit && a.state != AssignmentState::kCanceled) id = a.assignment_id;
    }
    return id;
  }

  absl::StatusOr<AssignmentView> Do(AssignmentAction action, const std::string& id,
                                    const std::string& note = "") {
    TransitionInput in;
    in.assignment_id = id;
    in.actor = Who();
    in.note = note;
    return directory_->Transition(action, in);
  }

  absl::StatusOr<ReportResult> Report(const std::string& id, int percent) {
    ReportInput in;
    in.assignment_id = id;
    in.percent = percent;
    in.text = "进展";
    in.actor = Who();
    return directory_->ReportProgress(in);
  }

  std::vector<OutboxMessage> Outbox() {
    std::vector<OutboxMessage> out;
    EXPECT_TRUE(store_
                    ->Read([&](TaskReader& tx) -> absl::Status {
                      auto rows = tx.ReadOutbox(100000);
                      if (!rows.ok()) return rows.status();
                      out = std::move(*rows);
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }

  std::vector<AuditEvent> Audit(const std::string& assignment_id) {
    ListAuditQuery q;
    q.page_size = 1000;
    q.filter.assignment_id = assignment_id;
    auto page = directory_->ListAuditEvents(q);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->events : std::vector<AuditEvent>{};
  }

  duban::testing::TempDir dir_;
  std::unique_ptr<calendar::WorkingCalendar> calendar_;
  std::unique_ptr<SqliteTaskStore> store_;
  FakeUnits units_;
  FakePolicies policies_;
  absl::Time now_;
  std::unique_ptr<TaskDirectory> directory_;
};

}  // namespace duban::tasks::testing
