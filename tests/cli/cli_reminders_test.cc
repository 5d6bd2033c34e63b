// dubanctl reminders ... against a real stack with reminders really fired by the worker.
//
// The suite plans reminders through the public APIs once (as tests/e2e/stack_e2e_test.cc
// does): units with liaisons whose webhooks are an in-test receiver, a policy with a heads-up
// 1 hour before the deadline, a plan and two tasks due in 1 hour + 2 s. The heads-ups fire
// within seconds: the one to /ok/ is SENT, the one to /bad/ (HTTP 400, a permanent error)
// goes DEAD — a real dead letter for `dead` and `retry`. The DUE reminders stay SCHEDULED.
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <gtest/gtest.h>

#include "cli_runner.h"
#include "webhook_sink.h"

namespace duban::cli_test {
namespace {

namespace rv1 = ::duban::reminders::v1;
namespace tv1 = ::duban::tasks::v1;
namespace uv1 = ::duban::units::v1;

constexpr char kPolicy[] = "cli-fast";

bool Has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

grpc::ClientContext* Ctx(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return &ctx;
}

class RemindersCliTest : public CliTest {
 protected:
  static void SetUpTestSuite() {
    CliTest::SetUpTestSuite();
    sink_ = std::make_unique<testing::WebhookSink>(e2e::Stack::Options{}.webhook_secret);
    if (!stack().ok()) return;
    const std::string zone = e2e::ZoneNearNoon();
    CreateUnit("r", "", zone);
    CreateUnit("r.ok", "r", zone);
    CreateUnit("r.bad", "r", zone);
    AddLiaison("r.ok", sink_->Url("/ok/r.ok"));
    AddLiaison("r.bad", sink_->Url("/bad/r.bad"));
    CreatePolicyAndPlan();
    const absl::Time due = absl::Now() + absl::Hours(1) + absl::Seconds(2);
    CreateTask("t.ok", "r.ok", due);
    CreateTask("t.bad", "r.bad", due);
    // Both heads-ups decided: SENT to /ok/, DEAD from /bad/.
    const bool fired = e2e::WaitUntil(
        [] {
          return StateOf("t.ok", rv1::REMINDER_KIND_BEFORE_DUE) == rv1::REMINDER_STATE_SENT &&
                 StateOf("t.bad", rv1::REMINDER_KIND_BEFORE_DUE) == rv1::REMINDER_STATE_DEAD;
        },
        absl::Seconds(30));
    EXPECT_TRUE(fired) << "the heads-ups were not delivered / dead in time\n"
                       << stack().LogTail("worker");
  }

  static void TearDownTestSuite() {
    CliTest::TearDownTestSuite();
    sink_.reset();
  }

  static void CreateUnit(const std::string& id, const std::string& parent,
                         const std::string& zone) {
    grpc::ClientContext ctx;
    uv1::CreateUnitRequest req;
    req.mutable_unit()->set_id(id);
    req.mutable_unit()->set_name(absl::StrCat("单位 ", id));
    req.mutable_unit()->set_kind(parent.empty() ? uv1::UNIT_KIND_CITY : uv1::UNIT_KIND_DEPARTMENT);
    req.mutable_unit()->set_parent_id(parent);
    req.mutable_unit()->set_timezone(zone);
    uv1::Unit unit;
    const grpc::Status s = stack().units().CreateUnit(Ctx(ctx), req, &unit);
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
  }

  static void AddLiaison(const std::string& unit_id, const std::string& url) {
    grpc::ClientContext ctx;
    uv1::AddContactRequest req;
    req.mutable_contact()->set_unit_id(unit_id);
    req.mutable_contact()->set_person_name("联络员");
    req.mutable_contact()->set_role(uv1::CONTACT_ROLE_LIAISON);
    req.mutable_contact()->set_webhook_url(url);
    *req.mutable_contact()->mutable_valid_from() = Ts(absl::Now() - absl::Minutes(1));
    uv1::Contact contact;
    const grpc::Status s = stack().units().AddContact(Ctx(ctx), req, &contact);
    EXPECT_TRUE(s.ok()) << unit_id << ": " << s.error_message();
  }

  static void CreatePolicyAndPlan() {
    {
      grpc::ClientContext ctx;
      rv1::CreatePolicyRequest req;
      rv1::ReminderPolicy* p = req.mutable_policy();
      p->set_id(kPolicy);
      p->set_name("CLI 测试（1小时前、截止）");
      p->add_before_deadline()->set_hours(1);
      p->set_at_deadline(true);
      p->mutable_send_window()->mutable_start()->set_hours(0);
      p->mutable_send_window()->mutable_end()->set_hours(23);
      p->mutable_send_window()->mutable_end()->set_minutes(59);
      p->set_send_on_non_working_days(true);
      rv1::ReminderPolicy out;
      const grpc::Status s = stack().reminders().CreatePolicy(Ctx(ctx), req, &out);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    grpc::ClientContext ctx;
    tv1::CreatePlanRequest req;
    tv1::Plan* p = req.mutable_plan();
    p->set_id("p1");
    p->set_title("CLI 督办方案");
    p->set_owner_unit_id("r");
    const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    for (auto [d, date] : {std::pair{today - 1, p->mutable_start_date()},
                           std::pair{today + 60, p->mutable_end_date()}}) {
      date->set_year(static_cast<int32_t>(d.year()));
      date->set_month(d.month());
      date->set_day(d.day());
    }
    p->set_default_reminder_policy_id(kPolicy);
    req.mutable_actor()->set_id("user:cli-test");
    tv1::Plan out;
    const grpc::Status s = stack().tasks().CreatePlan(Ctx(ctx), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(e2e::WaitUntil([] {
      grpc::ClientContext gctx;
      rv1::GetPlanDefaultPolicyRequest greq;
      greq.set_plan_id("p1");
      rv1::PlanDefaultPolicy got;
      return stack().reminders().GetPlanDefaultPolicy(Ctx(gctx), greq, &got).ok() &&
             got.policy_id() == kPolicy;
    })) << "the plan's default policy never reached duban-reminders";
  }

  static void CreateTask(const std::string& id, const std::string& lead, absl::Time deadline) {
    grpc::ClientContext ctx;
    tv1::CreateTaskRequest req;
    tv1::Task* t = req.mutable_task();
    t->set_id(id);
    t->set_plan_id("p1");
    t->set_title(absl::StrCat("重点任务 ", id));
    t->set_lead_unit_id(lead);
    *t->mutable_deadline()->mutable_absolute_time() = Ts(deadline);
    req.mutable_actor()->set_id("user:cli-test");
    tv1::Task out;
    const grpc::Status s = stack().tasks().CreateTask(Ctx(ctx), req, &out);
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
  }

  // The task's reminders (one assignment each here).
  static std::vector<rv1::Reminder> RemindersOf(const std::string& task) {
    grpc::ClientContext ctx;
    rv1::ListRemindersRequest req;
    req.set_task_id(task);
    req.set_page_size(1000);
    rv1::ListRemindersResponse resp;
    if (!stack().reminders().ListReminders(Ctx(ctx), req, &resp).ok()) return {};
    return {resp.reminders().begin(), resp.reminders().end()};
  }

  static rv1::ReminderState StateOf(const std::string& task, rv1::ReminderKind kind) {
    for (const auto& r : RemindersOf(task)) {
      if (r.kind() == kind) return r.state();
    }
    return rv1::REMINDER_STATE_UNSPECIFIED;
  }

  static rv1::Reminder ReminderOf(const std::string& task, rv1::ReminderKind kind) {
    for (const auto& r : RemindersOf(task)) {
      if (r.kind() == kind) return r;
    }
    ADD_FAILURE() << "no " << rv1::ReminderKind_Name(kind) << " reminder for " << task;
    return {};
  }

  static std::unique_ptr<testing::WebhookSink> sink_;
};

std::unique_ptr<testing::WebhookSink> RemindersCliTest::sink_;

TEST_F(RemindersCliTest, HelpOnEverySubcommand) {
  for (const char* sub : {"list", "ledger", "show", "dead", "retry", "stats", "reconcile"}) {
    const CliResult r = RunCtl({"reminders", sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub << "\n" << Describe(r);
    EXPECT_TRUE(Has(r.out, "Usage")) << Describe(r);
  }
  EXPECT_EQ(RunCtl({"reminders", "ledger"}).exit_code, 2);
  EXPECT_EQ(RunCtl({"reminders", "show"}).exit_code, 2);
}

TEST_F(RemindersCliTest, ListFiltersByTaskUnitStateAndTime) {
  const auto all = CtlJson({"reminders", "list", "--plan", "p1"});
  ASSERT_EQ(all["reminders"].size(), 4u) << all.dump();
  const auto dead = CtlJson({"reminders", "list", "--unit", "r.bad", "--state", "dead"});
  ASSERT_EQ(dead["reminders"].size(), 1u) << dead.dump();
  EXPECT_EQ(dead["reminders"][0]["kind"], "REMINDER_KIND_BEFORE_DUE");
  const auto later = CtlJson({"reminders", "list", "--plan", "p1", "--from", "+30m"});
  ASSERT_EQ(later["reminders"].size(), 2u) << later.dump();
  EXPECT_EQ(later["reminders"][0]["kind"], "REMINDER_KIND_DUE");
  const auto pending =
      CtlJson({"reminders", "list", "--task", "t.ok", "--state", "scheduled", "--state", "sent"});
  EXPECT_EQ(pending["reminders"].size(), 2u) << pending.dump();
  EXPECT_EQ(CtlJson({"reminders", "list", "--plan", "p1", "--limit", "3"})["reminders"].size(), 3u);

  const CliResult text = Ctl({"reminders", "list", "--task", "t.bad"});
  ASSERT_EQ(text.exit_code, 0) << Describe(text);
  EXPECT_TRUE(Has(text.out, "before_due")) << Describe(text);
  EXPECT_TRUE(Has(text.out, "dead")) << Describe(text);
  EXPECT_TRUE(Has(text.out, "scheduled")) << Describe(text);
  EXPECT_TRUE(Has(text.out, "2 reminder(s)")) << Describe(text);

  // Local errors: no scope, unknown state, bad time.
  EXPECT_EQ(Ctl({"reminders", "list"}).exit_code, 2);
  EXPECT_EQ(Ctl({"reminders", "list", "--plan", "p1", "--state", "lost"}).exit_code, 2);
  EXPECT_EQ(Ctl({"reminders", "list", "--plan", "p1", "--from", "yesterday"}).exit_code, 2);
}

TEST_F(RemindersCliTest, LedgerOfOneAssignmentInFireTimeOrder) {
  const rv1::Reminder sent = ReminderOf("t.ok", rv1::REMINDER_KIND_BEFORE_DUE);
  const std::string assignment = sent.assignment_id();
  ASSERT_FALSE(assignment.empty());
  const CliResult r = Ctl({"reminders", "ledger", assignment});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::vector<std::string> lines = [&] {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nl; (nl = r.out.find('\n', start)) != std::string::npos; start = nl + 1) {
      out.push_back(r.out.substr(start, nl - start));
    }
    return out;
  }();
  ASSERT_EQ(lines.size(), 4u) << r.out;  // title, header, heads-up, deadline
  EXPECT_TRUE(Has(lines[0], "2 reminder(s)")) << r.out;
  EXPECT_TRUE(Has(lines[1], "FIRE TIME")) << r.out;
  EXPECT_TRUE(Has(lines[1], "LAST ERROR")) << r.out;
  EXPECT_TRUE(Has(lines[2], "before_due")) << r.out;
  EXPECT_TRUE(Has(lines[2], "sent")) << r.out;
  EXPECT_TRUE(Has(lines[2], sent.id())) << r.out;
  EXPECT_TRUE(Has(lines[3], "due")) << r.out;
  EXPECT_TRUE(Has(lines[3], "scheduled")) << r.out;

  const auto json = CtlJson({"reminders", "ledger", assignment});
  ASSERT_EQ(json["reminders"].size(), 2u);
  EXPECT_EQ(json["reminders"][0]["state"], "REMINDER_STATE_SENT");
  EXPECT_TRUE(json["reminders"][0].contains("sentTime"));
  EXPECT_LT(json["reminders"][0]["plannedTime"].get<std::string>(),
            json["reminders"][1]["plannedTime"].get<std::string>());

  const rv1::Reminder dead = ReminderOf("t.bad", rv1::REMINDER_KIND_BEFORE_DUE);
  const CliResult bad = Ctl({"reminders", "ledger", dead.assignment_id()});
  ASSERT_EQ(bad.exit_code, 0) << Describe(bad);
  EXPECT_TRUE(Has(bad.out, "dead")) << Describe(bad);
  if (!dead.last_error().empty()) {
    EXPECT_TRUE(Has(bad.out, dead.last_error().substr(0, 20))) << Describe(bad);
  }
  const CliResult none = Ctl({"reminders", "ledger", "no-such-assignment"});
  EXPECT_EQ(none.exit_code, 0) << Describe(none);
  EXPECT_TRUE(Has(none.out, "no reminders")) << Describe(none);
}

TEST_F(RemindersCliTest, ShowWithAttemptLog) {
  const rv1::Reminder sent = ReminderOf("t.ok", rv1::REMINDER_KIND_BEFORE_DUE);
  const CliResult r = Ctl({"reminders", "show", sent.id()});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Has(r.out, "state:           sent")) << Describe(r);
  EXPECT_TRUE(Has(r.out, "recipients:")) << Describe(r);
  EXPECT_TRUE(Has(r.out, "(webhook)")) << Describe(r);
  EXPECT_TRUE(Has(r.out, "attempt log")) << Describe(r);
  const auto json = CtlJson({"reminders", "show", sent.id()});
  EXPECT_EQ(json["id"], sent.id());
  EXPECT_FALSE(json["attemptLog"].empty());
  const CliResult missing = Ctl({"reminders", "show", "no-such-reminder"});
  EXPECT_EQ(missing.exit_code, 4) << Describe(missing);
}

TEST_F(RemindersCliTest, DeadLettersAndRetry) {
  const rv1::Reminder dead = ReminderOf("t.bad", rv1::REMINDER_KIND_BEFORE_DUE);
  ASSERT_EQ(dead.state(), rv1::REMINDER_STATE_DEAD);
  const auto list = CtlJson({"reminders", "dead"});
  ASSERT_EQ(list["reminders"].size(), 1u) << list.dump();
  EXPECT_EQ(list["reminders"][0]["id"], dead.id());
  const CliResult text = Ctl({"reminders", "dead", "--limit", "5"});
  ASSERT_EQ(text.exit_code, 0) << Describe(text);
  EXPECT_TRUE(Has(text.out, dead.id())) << Describe(text);
  EXPECT_TRUE(Has(text.out, "r.bad")) << Describe(text);
  EXPECT_EQ(CtlJson({"reminders", "dead", "--unit", "r.ok"})["reminders"].size(), 0u);

  // Usage and server-side field errors.
  EXPECT_EQ(Ctl({"reminders", "retry"}).exit_code, 2);
  EXPECT_EQ(Ctl({"reminders", "retry", dead.id(), "--all"}).exit_code, 2);
  // (RunCtl: Ctl passes its own --actor.)
  const CliResult actor = RunCtl({"--reminders-addr", stack().reminders_addr(), "--actor",
                                  std::string(200, 'a'), "reminders", "retry", dead.id()});
  EXPECT_EQ(actor.exit_code, 3) << Describe(actor);
  EXPECT_TRUE(Has(actor.err, "actor:")) << Describe(actor);

  const CliResult retry = Ctl({"reminders", "retry", dead.id(), "no-such-reminder"});
  ASSERT_EQ(retry.exit_code, 0) << Describe(retry);
  EXPECT_TRUE(Has(retry.out, "requeued 1 reminder(s)")) << Describe(retry);
  EXPECT_TRUE(Has(retry.out, "skipped 1")) << Describe(retry);
  EXPECT_TRUE(Has(retry.out, "no-such-reminder")) << Describe(retry);
  // Retried: a new version; the /bad/ webhook kills it again.
  EXPECT_TRUE(e2e::WaitUntil(
      [&] {
        const rv1::Reminder now = ReminderOf("t.bad", rv1::REMINDER_KIND_BEFORE_DUE);
        return now.version() > dead.version() && now.state() == rv1::REMINDER_STATE_DEAD;
      },
      absl::Seconds(30)));
  const auto all = CtlJson({"reminders", "retry", "--all", "--plan", "p1"});
  EXPECT_EQ(all["retried"], "1") << all.dump();
  EXPECT_TRUE(e2e::WaitUntil(
      [&] { return StateOf("t.bad", rv1::REMINDER_KIND_BEFORE_DUE) == rv1::REMINDER_STATE_DEAD; }));
  const auto none = CtlJson({"reminders", "retry", "--all", "--unit", "r.ok"});
  EXPECT_FALSE(none.contains("retried")) << "nothing dead under r.ok: " << none.dump();
}

TEST_F(RemindersCliTest, StatsAndReconcile) {
  const CliResult stats = Ctl({"reminders", "stats"});
  ASSERT_EQ(stats.exit_code, 0) << Describe(stats);
  EXPECT_TRUE(Has(stats.out, "ledger (reminders per state):")) << Describe(stats);
  EXPECT_TRUE(Has(stats.out, "lateness")) << Describe(stats);
  const auto json = CtlJson({"reminders", "stats", "--window", "1h"});
  EXPECT_GE(std::stoi(json.value("ledgerSent", "0")), 1) << json.dump();
  EXPECT_GE(std::stoi(json.value("ledgerScheduled", "0")), 2) << json.dump();
  EXPECT_EQ(Ctl({"reminders", "stats", "--window", "soon"}).exit_code, 2);

  const CliResult dry = Ctl({"reminders", "reconcile", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << Describe(dry);
  EXPECT_TRUE(Has(dry.out, "dry run: compared")) << Describe(dry);
  const auto rec = CtlJson({"reminders", "reconcile"});
  EXPECT_EQ(rec["applied"], true) << rec.dump();
  EXPECT_GE(std::stoi(rec.value("ledgerPending", "0")), 2) << rec.dump();
}

TEST_F(RemindersCliTest, CalendarCheckAddInfo) {
  // 2025-01-26 was a Sunday worked for 春节 (调休); 2025-01-29 the first day of 春节.
  const CliResult makeup = Ctl({"reminders", "calendar", "check", "2025-01-26"});
  ASSERT_EQ(makeup.exit_code, 0) << Describe(makeup);
  EXPECT_TRUE(Has(makeup.out, "2025-01-26: working day (makeup_workday, 春节)")) << makeup.out;
  const auto holiday = CtlJson({"reminders", "calendar", "check", "2025-01-29"});
  EXPECT_EQ(holiday["kind"], "DAY_KIND_HOLIDAY") << holiday.dump();
  EXPECT_FALSE(holiday.value("working", false));
  // Friday 24th + 1 working day: the Saturday is off, the Sunday is worked.
  const CliResult add = Ctl({"reminders", "calendar", "add", "2025-01-24", "1"});
  EXPECT_EQ(add.out, "2025-01-26\n") << Describe(add);
  const CliResult back = Ctl({"reminders", "calendar", "add", "2025-01-27", "-1"});
  EXPECT_EQ(back.out, "2025-01-26\n") << Describe(back);
  const CliResult info = Ctl({"reminders", "calendar", "info"});
  EXPECT_EQ(info.exit_code, 0) << Describe(info);
  EXPECT_TRUE(Has(info.out, "2025")) << info.out;

  EXPECT_EQ(Ctl({"reminders", "calendar", "check", "26/01/2025"}).exit_code, 2);
  EXPECT_EQ(Ctl({"reminders", "calendar", "check", "2025-01-26", "--calendar", "mars"}).exit_code,
            4);
  const CliResult far = Ctl({"reminders", "calendar", "add", "2025-01-24", "5000"});
  EXPECT_EQ(far.exit_code, 3) << Describe(far);
  EXPECT_TRUE(Has(far.err, "days:")) << Describe(far);
  for (const char* sub : {"check", "add", "info"}) {
    EXPECT_EQ(RunCtl({"reminders", "calendar", sub, "--help"}).exit_code, 0) << sub;
  }
}

}  // namespace
}  // namespace duban::cli_test
