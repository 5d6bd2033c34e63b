// The whole stack end to end: duban-units, duban-tasks, duban-reminders and duban-worker as
// separate processes with a real redis-server (deploy/redis.conf, AOF) and an in-test webhook
// receiver that checks every signature. Each test plans reminders a few seconds ahead through
// the public APIs only (units + contacts, a policy, a plan, a task), then breaks something —
// closes the assignment, kill -9s the worker mid-delivery, crashes Redis, stops the reminders
// service — and checks that every reminder in the ledger is accounted for: sent exactly to the
// receiver (same delivery id, valid signature), or canceled, or still scheduled for later.
//
// How reminders fall within seconds without a test clock: the policy "fast" sends a heads-up
// 1 hour before the deadline (the smallest offset) and a DUE reminder at each milestone, with a
// 00:00-23:59 send window on every day; tasks are due in 1 hour + a few seconds. Each unit's
// time zone is chosen so that its local time is near noon (ZoneNearNoon), so the window never
// closes during a test.
#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <set>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <gtest/gtest.h>

#include "stack.h"
#include "webhook_sink.h"

namespace duban::e2e {
namespace {

using testing::WebhookSink;

constexpr char kSecret[] = "e2e-secret-never-logged";
constexpr char kPolicy[] = "fast";

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

absl::Time FromTs(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

class StackTest : public ::testing::Test {
 protected:
  static Stack::Options StackOptions() {
    Stack::Options o;
    o.webhook_secret = kSecret;
    return o;
  }

  void SetUp() override {
    stack_.Start();
    ASSERT_TRUE(stack_.ok());
    zone_ = ZoneNearNoon();
  }

  void TearDown() override {
    stack_.Stop();
    // The secret is never written to a process log.
    for (const char* name : {"units", "tasks", "reminders", "worker"}) {
      EXPECT_EQ(stack_.LogTail(name, 1 << 30).find(kSecret), std::string::npos) << name;
    }
  }

  static grpc::ClientContext* Ctx(grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return &ctx;
  }

  void CreateUnit(const std::string& id, const std::string& parent = "") {
    grpc::ClientContext ctx;
    uv1::CreateUnitRequest req;
    req.mutable_unit()->set_id(id);
    req.mutable_unit()->set_name(absl::StrCat("单位 ", id));
    req.mutable_unit()->set_kind(parent.empty() ? uv1::UNIT_KIND_CITY : uv1::UNIT_KIND_DEPARTMENT);
    req.mutable_unit()->set_parent_id(parent);
    req.mutable_unit()->set_timezone(zone_);
    uv1::Unit unit;
    grpc::Status s = stack_.units().CreateUnit(Ctx(ctx), req, &unit);
    ASSERT_TRUE(s.ok()) << id << ": " << s.error_message();
  }

  // A liaison (level-0 recipient) whose webhook is the in-test receiver; returns the contact id.
  std::string AddLiaison(const std::string& unit_id, const std::string& url) {
    grpc::ClientContext ctx;
    uv1::AddContactRequest req;
    req.mutable_contact()->set_unit_id(unit_id);
    req.mutable_contact()->set_person_name("联络员");
    req.mutable_contact()->set_role(uv1::CONTACT_ROLE_LIAISON);
    req.mutable_contact()->set_webhook_url(url);
    *req.mutable_contact()->mutable_valid_from() = Ts(absl::Now() - absl::Minutes(1));
    uv1::Contact contact;
    grpc::Status s = stack_.units().AddContact(Ctx(ctx), req, &contact);
    EXPECT_TRUE(s.ok()) << unit_id << ": " << s.error_message();
    return contact.id();
  }

  // Units `root` and `root.<name>` for each name, each with a liaison at sink path
  // "/<mode>/<unit>"; then the policy and plan "p1" owned by root.
  std::map<std::string, std::string> SetUpOrganisation(const std::vector<std::string>& names,
                                                       const std::string& mode = "ok") {
    std::map<std::string, std::string> contacts;  // unit id -> contact id
    CreateUnit("e2e");
    for (const auto& n : names) {
      const std::string id = "e2e." + n;
      CreateUnit(id, "e2e");
      contacts[id] = AddLiaison(id, sink_.Url(absl::StrCat("/", mode, "/", id)));
    }
    CreatePolicy();
    CreatePlan("p1", "e2e");
    return contacts;
  }

  void CreatePolicy() {
    grpc::ClientContext ctx;
    rv1::CreatePolicyRequest req;
    rv1::ReminderPolicy* p = req.mutable_policy();
    p->set_id(kPolicy);
    p->set_name("端到端测试（1小时前、节点、截止）");
    p->add_before_deadline()->set_hours(1);
    p->set_at_deadline(true);
    p->set_at_milestones(true);
    p->mutable_send_window()->mutable_start()->set_hours(0);
    p->mutable_send_window()->mutable_end()->set_hours(23);
    p->mutable_send_window()->mutable_end()->set_minutes(59);
    p->set_send_on_non_working_days(true);
    rv1::ReminderPolicy out;
    grpc::Status s = stack_.reminders().CreatePolicy(Ctx(ctx), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // Creates the plan with kPolicy as its default and waits until the tasks outbox has told the
  // reminders service.
  void CreatePlan(const std::string& id, const std::string& owner) {
    grpc::ClientContext ctx;
    tv1::CreatePlanRequest req;
    tv1::Plan* p = req.mutable_plan();
    p->set_id(id);
    p->set_title("端到端督办方案");
    p->set_owner_unit_id(owner);
    const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    for (auto [d, date] : {std::pair{today - 1, p->mutable_start_date()},
                           std::pair{today + 60, p->mutable_end_date()}}) {
      date->set_year(static_cast<int32_t>(d.year()));
      date->set_month(d.month());
      date->set_day(d.day());
    }
    p->set_default_reminder_policy_id(kPolicy);
    req.mutable_actor()->set_id("user:e2e");
    tv1::Plan out;
    grpc::Status s = stack_.tasks().CreatePlan(Ctx(ctx), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_TRUE(WaitUntil([&] {
      grpc::ClientContext gctx;
      rv1::GetPlanDefaultPolicyRequest greq;
      greq.set_plan_id(id);
      rv1::PlanDefaultPolicy got;
      return stack_.reminders().GetPlanDefaultPolicy(Ctx(gctx), greq, &got).ok() &&
             got.policy_id() == kPolicy;
    })) << "the plan's default policy never reached duban-reminders";
  }

  // A task of plan p1 due at `deadline`, with milestones due at `milestones`.
  tv1::Task CreateTask(const std::string& id, const std::string& lead,
                       const std::vector<std::string>& cooperating, absl::Time deadline,
                       const std::vector<absl::Time>& milestones = {}) {
    grpc::ClientContext ctx;
    tv1::CreateTaskRequest req;
    tv1::Task* t = req.mutable_task();
    t->set_id(id);
    t->set_plan_id("p1");
    t->set_title(absl::StrCat("重点任务 ", id));
    t->set_lead_unit_id(lead);
    for (const auto& c : cooperating) t->add_cooperating_unit_ids(c);
    *t->mutable_deadline()->mutable_absolute_time() = Ts(deadline);
    for (size_t i = 0; i < milestones.size(); ++i) {
      tv1::Milestone* m = t->add_milestones();
      m->set_title(absl::StrCat("节点 ", i + 1));
      *m->mutable_due()->mutable_absolute_time() = Ts(milestones[i]);
    }
    req.mutable_actor()->set_id("user:e2e");
    tv1::Task out;
    grpc::Status s = stack_.tasks().CreateTask(Ctx(ctx), req, &out);
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    return out;
  }

  // Every ledger row of plan p1, by planned time (all pages).
  std::vector<rv1::Reminder> Ledger() {
    std::vector<rv1::Reminder> out;
    rv1::ListRemindersRequest req;
    req.set_plan_id("p1");
    req.set_page_size(1000);
    for (;;) {
      grpc::ClientContext ctx;
      rv1::ListRemindersResponse resp;
      grpc::Status s = stack_.reminders().ListReminders(Ctx(ctx), req, &resp);
      if (!s.ok()) {
        ADD_FAILURE() << "ListReminders: " << s.error_message();
        return out;
      }
      out.insert(out.end(), resp.reminders().begin(), resp.reminders().end());
      if (resp.next_page_token().empty()) return out;
      req.set_page_token(resp.next_page_token());
    }
  }

  // Ledger rows of one kind (and not of milestones) for tasks `task_ids`.
  std::vector<rv1::Reminder> Rows(rv1::ReminderKind kind, const std::set<std::string>& task_ids,
                                  bool milestones = false) {
    std::vector<rv1::Reminder> out;
    for (const auto& r : Ledger()) {
      if (r.kind() == kind && task_ids.count(r.task_id()) &&
          r.milestone_id().empty() != milestones) {
        out.push_back(r);
      }
    }
    return out;
  }

  bool AllIn(const std::vector<rv1::Reminder>& rows, rv1::ReminderState state, size_t n) {
    if (rows.size() != n) return false;
    for (const auto& r : rows) {
      if (r.state() != state) return false;
    }
    return true;
  }

  rv1::QueueStats QueueStats() {
    grpc::ClientContext ctx;
    rv1::QueueStats out;
    grpc::Status s = stack_.reminders().GetQueueStats(Ctx(ctx), rv1::GetQueueStatsRequest(), &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  grpc::Status Transition(grpc::Status (tv1::TaskService::Stub::*method)(
                              grpc::ClientContext*, const tv1::TransitionRequest&,
                              tv1::Assignment*),
                          const std::string& assignment_id, tv1::Assignment* out) {
    grpc::ClientContext ctx;
    tv1::TransitionRequest req;
    req.set_assignment_id(assignment_id);
    req.mutable_actor()->set_id("user:e2e");
    return (stack_.tasks().*method)(Ctx(ctx), req, out);
  }

  // For failure messages: the ledger rows, what the receiver got, and the end of a log.
  std::string Dump(const std::string& log) {
    std::string out = "ledger:\n";
    for (const auto& r : Ledger()) {
      absl::StrAppend(&out, "  ", r.id(), " ", rv1::ReminderKind_Name(r.kind()), " ",
                      rv1::ReminderState_Name(r.state()), " task=", r.task_id(),
                      " attempts=", r.attempts(), " ", r.last_error(), r.detail(), "\n");
    }
    absl::StrAppend(&out, "receiver:\n");
    for (const auto& req : sink_.Requests()) {
      absl::StrAppend(&out, "  ", req.reminder_id, " ", req.status, " ", req.path, "\n");
    }
    return absl::StrCat(out, log, ".log:\n", stack_.LogTail(log));
  }

  // The ledger and the receiver agree: no row FAILED or DEAD; every SENT row reached the
  // receiver with its delivery id and a valid signature, and every message the receiver
  // accepted belongs to a SENT row. Returns the number of SENT rows.
  size_t ExpectEveryReminderAccountedFor() {
    std::map<std::string, rv1::Reminder> sent;
    for (const auto& r : Ledger()) {
      EXPECT_NE(r.state(), rv1::REMINDER_STATE_FAILED) << r.ShortDebugString();
      EXPECT_NE(r.state(), rv1::REMINDER_STATE_DEAD) << r.ShortDebugString();
      EXPECT_NE(r.state(), rv1::REMINDER_STATE_UNSPECIFIED) << r.ShortDebugString();
      if (r.state() == rv1::REMINDER_STATE_SENT) sent[r.id()] = r;
    }
    std::set<std::string> received;
    for (const auto& req : sink_.Requests()) {
      EXPECT_TRUE(req.signature_ok) << req.path;
      EXPECT_EQ(req.status, 200) << req.path;
      auto it = sent.find(req.reminder_id);
      if (it == sent.end()) {
        ADD_FAILURE() << "received a reminder the ledger does not show as SENT: "
                      << req.reminder_id;
        continue;
      }
      // Retries and redeliveries carry the delivery id of the version that was sent.
      EXPECT_EQ(req.delivery_id, it->second.delivery_id()) << req.reminder_id;
      EXPECT_EQ(req.body["delivery_id"], it->second.delivery_id());
      received.insert(req.reminder_id);
    }
    for (const auto& [id, r] : sent) {
      EXPECT_TRUE(received.count(id)) << "SENT but never received: " << r.ShortDebugString();
      EXPECT_EQ(r.recipients_size(), 1) << r.ShortDebugString();
    }
    return sent.size();
  }

  // Declared first so that the stack (and its worker) stops before the receiver.
  WebhookSink sink_{kSecret};
  Stack stack_{StackOptions()};
  std::string zone_;
};

// A reminder reaches the liaison's webhook, signed, with the ledger's delivery id; closing the
// assignment cancels everything still planned for it, and nothing more arrives.
TEST_F(StackTest, DeliversSignedReminderAndClosingCancelsTheRest) {
  auto contacts = SetUpOrganisation({"a"});
  const absl::Time now = absl::Now();
  const absl::Time milestone = now + absl::Seconds(7);
  tv1::Task task =
      CreateTask("t1", "e2e.a", {}, now + absl::Hours(1) + absl::Seconds(2), {milestone});
  ASSERT_EQ(task.assignments_size(), 1);
  const std::string assignment = task.assignments(0).assignment_id();

  // Planned: the heads-up (in ~2 s), the milestone (in ~7 s), the deadline (in 1 h).
  ASSERT_TRUE(WaitUntil([&] { return Ledger().size() == 3; })) << Dump("tasks");
  ASSERT_TRUE(WaitUntil([&] { return sink_.Delivered().size() == 1; })) << Dump("worker");
  auto before = Rows(rv1::REMINDER_KIND_BEFORE_DUE, {"t1"});
  ASSERT_EQ(before.size(), 1u);
  const auto requests = sink_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& got = requests[0];
  EXPECT_TRUE(got.signature_ok);
  EXPECT_EQ(got.path, "/ok/e2e.a");
  EXPECT_EQ(got.reminder_id, before[0].id());
  EXPECT_EQ(got.delivery_id, before[0].delivery_id());
  EXPECT_EQ(got.body["kind"], "before_due") << got.body.dump();
  EXPECT_EQ(got.body["recipient"]["contact_id"], contacts["e2e.a"]);
  EXPECT_EQ(got.body["recipient"]["unit_id"], "e2e.a");
  EXPECT_GE(absl::Now(), FromTs(before[0].planned_time()));

  // The worker reports the outcome: SENT, to that contact, on the webhook channel.
  ASSERT_TRUE(WaitUntil([&] {
    return AllIn(Rows(rv1::REMINDER_KIND_BEFORE_DUE, {"t1"}), rv1::REMINDER_STATE_SENT, 1);
  })) << Ledger()[0].ShortDebugString();
  before = Rows(rv1::REMINDER_KIND_BEFORE_DUE, {"t1"});
  ASSERT_EQ(before[0].recipients_size(), 1);
  EXPECT_EQ(before[0].recipients(0).contact_id(), contacts["e2e.a"]);
  EXPECT_EQ(before[0].recipients(0).channel(), rv1::CHANNEL_WEBHOOK);

  // 签收 → 报送 → 办结: the milestone and deadline reminders are canceled.
  tv1::Assignment a;
  ASSERT_TRUE(Transition(&tv1::TaskService::Stub::AcknowledgeAssignment, assignment, &a).ok());
  ASSERT_TRUE(Transition(&tv1::TaskService::Stub::SubmitAssignment, assignment, &a).ok());
  grpc::Status approved = Transition(&tv1::TaskService::Stub::ApproveAssignment, assignment, &a);
  ASSERT_TRUE(approved.ok()) << approved.error_message();
  EXPECT_EQ(a.state(), tv1::ASSIGNMENT_STATE_DONE);
  ASSERT_LT(absl::Now(), milestone) << "too slow to close before the milestone";
  ASSERT_TRUE(WaitUntil([&] {
    return AllIn(Rows(rv1::REMINDER_KIND_DUE, {"t1"}, /*milestones=*/true),
                 rv1::REMINDER_STATE_CANCELED, 1) &&
           AllIn(Rows(rv1::REMINDER_KIND_DUE, {"t1"}), rv1::REMINDER_STATE_CANCELED, 1);
  }));
  // Nothing left in Redis either, and nothing arrives when the milestone passes.
  EXPECT_TRUE(WaitUntil([&] { return QueueStats().scheduled() == 0; }));
  absl::SleepFor(milestone + absl::Seconds(1) - absl::Now());
  EXPECT_EQ(sink_.Count(), 1u);
  EXPECT_EQ(ExpectEveryReminderAccountedFor(), 1u);
  rv1::QueueStats stats = QueueStats();
  EXPECT_EQ(stats.ledger_sent(), 1);
  EXPECT_EQ(stats.ledger_canceled(), 2);
  EXPECT_EQ(stats.ledger_scheduled(), 0);
  EXPECT_EQ(stats.in_flight(), 0);
}

// kill -9 of the worker while it is sending a batch: a new worker takes the unsettled entries
// over after the lease and every due reminder is delivered and recorded; a repeat (outcome
// unknown at the kill) carries the same delivery id.
TEST_F(StackTest, WorkerKilledMidDeliveryLosesNothing) {
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back(absl::StrCat("u", i));
  SetUpOrganisation(names, "slow/250");  // each webhook call takes 250 ms
  std::vector<std::string> coop;
  for (int i = 1; i < 10; ++i) coop.push_back(absl::StrCat("e2e.u", i));
  tv1::Task task =
      CreateTask("t1", "e2e.u0", coop, absl::Now() + absl::Hours(1) + absl::Seconds(2));
  ASSERT_EQ(task.assignments_size(), 10);

  ASSERT_TRUE(WaitUntil([&] { return sink_.Count() >= 2; })) << stack_.LogTail("worker");
  int status = stack_.KillWorker();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  const size_t sent_before_kill = sink_.Count();
  ASSERT_LT(sent_before_kill, 10u) << "the worker finished before it was killed";

  stack_.StartWorker("w2");
  ASSERT_TRUE(stack_.ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return AllIn(Rows(rv1::REMINDER_KIND_BEFORE_DUE, {"t1"}), rv1::REMINDER_STATE_SENT, 10);
      },
      absl::Seconds(30)))
      << Dump("worker");
  std::multiset<std::string> delivered = sink_.Delivered();
  std::set<std::string> unique(delivered.begin(), delivered.end());
  EXPECT_EQ(unique.size(), 10u);
  // Only what was in flight at the kill can go out twice.
  EXPECT_LE(delivered.size() - unique.size(), sent_before_kill);
  EXPECT_EQ(ExpectEveryReminderAccountedFor(), 10u);
  // The deadline reminders are still ahead, in the ledger and in Redis.
  EXPECT_TRUE(AllIn(Rows(rv1::REMINDER_KIND_DUE, {"t1"}), rv1::REMINDER_STATE_SCHEDULED, 10));
  EXPECT_TRUE(WaitUntil([&] {
    rv1::QueueStats s = QueueStats();
    return s.scheduled() == 10 && s.in_flight() == 0;
  }));
}

// Redis crashes (kill -9) and restarts from its append-only file: jobs it had acknowledged come
// back from the AOF, and a task created while it was down is put into the schedule by the
// reminders service's background Reconcile. All reminders are delivered once.
TEST_F(StackTest, RedisCrashAndRestartLosesNothing) {
  SetUpOrganisation({"a", "b", "c"});
  const absl::Time due = absl::Now() + absl::Hours(1) + absl::Seconds(4);
  CreateTask("t1", "e2e.a", {"e2e.b", "e2e.c"}, due);
  ASSERT_TRUE(WaitUntil([&] {
    return AllIn(Rows(rv1::REMINDER_KIND_BEFORE_DUE, {"t1"}), rv1::REMINDER_STATE_SCHEDULED, 3) &&
           QueueStats().scheduled() == 6;
  }));

  stack_.CrashRedis();
  CreateTask("t2", "e2e.a", {}, due);
  // The ledger accepts it without Redis.
  ASSERT_TRUE(WaitUntil([&] { return Rows(rv1::REMINDER_KIND_BEFORE_DUE, {"t2"}).size() == 1; }));
  stack_.StartRedis();
  ASSERT_TRUE(stack_.ok());

  ASSERT_TRUE(WaitUntil(
      [&] {
        return AllIn(Rows(rv1::REMINDER_KIND_BEFORE_DUE, {"t1", "t2"}), rv1::REMINDER_STATE_SENT,
                     4);
      },
      absl::Seconds(30)))
      << Dump("reminders");
  std::multiset<std::string> delivered = sink_.Delivered();
  EXPECT_EQ(std::set<std::string>(delivered.begin(), delivered.end()).size(), 4u);
  EXPECT_EQ(ExpectEveryReminderAccountedFor(), 4u);
  EXPECT_TRUE(AllIn(Rows(rv1::REMINDER_KIND_DUE, {"t1", "t2"}), rv1::REMINDER_STATE_SCHEDULED, 4));
  EXPECT_TRUE(WaitUntil([&] { return QueueStats().scheduled() == 4; }));
}

// duban-reminders is down while a task is created and while its first reminder falls due: the
// tasks outbox keeps the change, delivers it when the service is back, and the reminder still
// goes out (late, within the policy's catch-up grace), once.
TEST_F(StackTest, RemindersOutageDelaysButLosesNothing) {
  SetUpOrganisation({"a"});
  EXPECT_EQ(stack_.StopReminders(), 0);

  const absl::Time heads_up = absl::Now() + absl::Seconds(2);
  CreateTask("t1", "e2e.a", {}, heads_up + absl::Hours(1));
  // The outage lasts past the heads-up's planned time: nothing can be sent meanwhile.
  absl::SleepFor(heads_up + absl::Milliseconds(500) - absl::Now());
  EXPECT_EQ(sink_.Count(), 0u);

  const absl::Time back = absl::Now();
  stack_.StartReminders();
  ASSERT_TRUE(stack_.ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return AllIn(Rows(rv1::REMINDER_KIND_BEFORE_DUE, {"t1"}), rv1::REMINDER_STATE_SENT, 1);
      },
      absl::Seconds(30)))
      << Dump("tasks");
  auto before = Rows(rv1::REMINDER_KIND_BEFORE_DUE, {"t1"});
  EXPECT_GE(FromTs(before[0].sent_time()), back);
  EXPECT_EQ(sink_.Delivered().size(), 1u);
  EXPECT_EQ(ExpectEveryReminderAccountedFor(), 1u);
  EXPECT_TRUE(AllIn(Rows(rv1::REMINDER_KIND_DUE, {"t1"}), rv1::REMINDER_STATE_SCHEDULED, 1));
}

}  // namespace
}  // namespace duban::e2e
