// duban-bench-reminders: benchmarks of duban-reminders (issue 5 item 9). It starts, in a
// temporary directory, its own redis-server (unix socket, AOF everysec as in deploy/), duban-units
// loaded with a city shaped like Zhaoqing (8,315 party branches) and duban-reminders pointed at
// both, then measures:
//   (a) schedule: the reminders of one assignment per party branch, sent the way the tasks
//       service's outbox sends them (BatchScheduleAssignments, 1,000 changes per call,
//       `--in-flight` calls at a time); wall time from the first call to the last response, per
//       round on fresh assignments; every reminder planned is checked to be in the ledger and in
//       Redis;
//   (b) end to end (unless --e2e-consumers=0): duban-tasks and duban-worker join, with a webhook
//       sink in this process; a liaison with a webhook for every branch; one task cascaded to
//       every branch with a deadline `--e2e-lead-s` out and a policy that reminds at the deadline
//       only; measured from the deadline to the last delivery arriving at the sink, then every
//       reminder is checked to be SENT in the ledger and received once;
//   (c) Reconcile: tops the ledger up to `--reconcile-reminders` pending reminders, then times
//       Reconcile with nothing drifted, and again after FLUSHALL emptied Redis (every pending
//       reminder must be restored, and the queue's count must match the ledger's).
// Bounded: every call has a deadline; the processes are stopped on every exit path (RAII and
// PR_SET_PDEATHSIG) and the temporary directory is removed.
#include <httplib.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "child_process.h"
#include "closed_loop.h"
#include "duban/queue/redis_client.h"
#include "duban/reminders/v1/reminders.grpc.pb.h"
#include "duban/tasks/v1/tasks.grpc.pb.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "grpc_client.h"
#include "tasks_helpers.h"
#include "unit_tree.h"

namespace duban::bench {
namespace {

namespace fs = std::filesystem;
namespace rpb = ::duban::reminders::v1;
namespace tpb = ::duban::tasks::v1;
namespace upb = ::duban::units::v1;
using std::chrono::milliseconds;
using WallClock = std::chrono::steady_clock;

struct Config {
  int rounds = 3;
  int64_t branches = 8315;
  int64_t reconcile_reminders = 1000000;
  int batch = 1000;
  int in_flight = 2;
  // "four": 3 and 1 working days before, at the deadline, one overdue reminder (the issue's
  // "about 4 each"); "default": the built-in policy (also escalations and 5 overdue repeats).
  std::string policy = "four";
  int handler_threads = 64;
  std::string sqlite_synchronous = "FULL";
  int e2e_consumers = 4;
  int e2e_batch = 100;
  int e2e_lead_s = 30;
  std::string units_bin, reminders_bin, tasks_bin, worker_bin, redis_bin = "/usr/bin/redis-server";
  std::string work_dir;
  bool keep_data = false;
};

// 17:00 Asia/Shanghai (09:00 UTC) on the first Monday-Friday at least `days` days out: a
// deadline as a plan would set it, so no two of a policy's rules meet in one slot.
google::protobuf::Timestamp WeekdayDeadline(int days) {
  const int64_t day_s = 24 * 3600;
  int64_t t = FromNow(std::chrono::hours(24 * days)).seconds() / day_s * day_s + 9 * 3600;
  // 1970-01-01 was a Thursday: (t / day_s + 4) % 7 is 0 on Sundays.
  while ((t / day_s + 4) % 7 == 0 || (t / day_s + 4) % 7 == 6) t += day_s;
  google::protobuf::Timestamp ts;
  ts.set_seconds(t);
  return ts;
}

double SecondsSince(WallClock::time_point start) {
  return std::chrono::duration<double>(WallClock::now() - start).count();
}

// One timed schedule run.
struct ScheduleRun {
  int64_t assignments = 0;
  int64_t reminders = 0;
  double seconds = 0;
  double server_cpu_s = 0;
  std::string load;
};

struct ReconcileRun {
  std::string name;
  rpb::ReconcileResponse response;
  double seconds = 0;
  double server_cpu_s = 0;
  std::string load;
};

struct EndToEndRun {
  int64_t expected = 0, received = 0, unique = 0, ledger_sent = 0;
  double due_to_first_s = 0, due_to_last_s = 0, first_to_last_s = 0;
  double cascade_s = 0;
  std::string load;
};

// Receives the worker's webhooks: counts them, remembers when each delivery id first came.
class WebhookSink {
 public:
  WebhookSink() {
    // Without TCP_NODELAY the sink's split response writes meet the client's delayed ACK.
    server_.set_tcp_nodelay(true);
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      const auto now = WallClock::now();
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++received_;
        if (ids_.insert(req.get_header_value("X-Duban-Delivery-Id")).second) {
          if (unique_ == 0) first_ = now;
          ++unique_;
          last_ = now;
        }
      }
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("webhook sink: cannot bind");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~WebhookSink() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  struct Counts {
    int64_t received = 0, unique = 0;
    WallClock::time_point first, last;
  };
  Counts counts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {received_, unique_, first_, last_};
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::set<std::string> ids_;
  int64_t received_ = 0, unique_ = 0;
  WallClock::time_point first_, last_;
};

class Bench {
 public:
  Bench(Config cfg, const fs::path& dir)
      : cfg_(std::move(cfg)), dir_(dir), tree_(GenerateCityTree(cfg_.branches)) {}

  int Run() {
    const OtherCpuMeter other_cpu;
    load_start_ = LoadAverage();
    const std::string socket = (dir_ / "redis.sock").string();
    fs::create_directories(dir_ / "redis");
    ChildProcess redis = ChildProcess::StartUnwatched({cfg_.redis_bin,
                                                       "--port",
                                                       "0",
                                                       "--unixsocket",
                                                       socket,
                                                       "--unixsocketperm",
                                                       "700",
                                                       "--dir",
                                                       (dir_ / "redis").string(),
                                                       "--logfile",
                                                       (dir_ / "redis.log").string(),
                                                       "--save",
                                                       "",
                                                       "--appendonly",
                                                       "yes",
                                                       "--appendfsync",
                                                       "everysec",
                                                       "--maxmemory-policy",
                                                       "noeviction",
                                                       "--hash-max-listpack-entries",
                                                       "256"},
                                                      (dir_ / "redis.stderr").string());
    redis_url_ = "unix://" + socket;
    WaitForRedis();
    ChildProcess units(
        {cfg_.units_bin, "--listen=127.0.0.1:0", "--data-dir=" + (dir_ / "units").string(),
         "--log-level=warn", "--handler-threads=" + std::to_string(cfg_.handler_threads),
         "--sqlite-synchronous=" + cfg_.sqlite_synchronous, "--shutdown-grace-ms=2000"},
        (dir_ / "units.stderr").string(), milliseconds(30000));
    units_stub_ = Connect<upb::UnitService>(units.address());
    ImportUnitTree(*units_stub_, tree_);
    ChildProcess reminders(
        {cfg_.reminders_bin, "--listen=127.0.0.1:0", "--data-dir=" + (dir_ / "reminders").string(),
         "--redis=" + redis_url_, "--units-addr=" + units.address(), "--log-level=warn",
         "--handler-threads=" + std::to_string(cfg_.handler_threads),
         "--sqlite-synchronous=" + cfg_.sqlite_synchronous, "--shutdown-grace-ms=5000"},
        (dir_ / "reminders.stderr").string(), milliseconds(30000));
    reminders_pid_ = reminders.pid();
    stub_ = Connect<rpb::ReminderService>(reminders.address());

    CreatePolicy();
    for (int r = 1; r <= cfg_.rounds; ++r) {
      schedule_.push_back(ScheduleRound(r));
      VerifyCounts("schedule round " + std::to_string(r));
    }
    if (cfg_.e2e_consumers > 0) {
      e2e_ = EndToEnd(units.address(), reminders.address());
      VerifyCounts("after the end-to-end run");
    }
    if (cfg_.reconcile_reminders > 0) {
      TopUp();
      reconcile_.push_back(TimedReconcile("Reconcile, nothing drifted"));
      FlushRedis();
      reconcile_.push_back(TimedReconcile("Reconcile after FLUSHALL"));
      const auto& after = reconcile_.back().response;
      if (after.missing_in_redis() != after.ledger_pending()) {
        throw std::runtime_error("after FLUSHALL, Reconcile restored " +
                                 std::to_string(after.missing_in_redis()) + " of " +
                                 std::to_string(after.ledger_pending()) + " pending reminders");
      }
      VerifyCounts("after Reconcile");
    }
    other_cpu_percent_ = other_cpu.Percent({redis.pid(), units.pid(), reminders.pid()});
    load_end_ = LoadAverage();
    PrintSummary();
    return 0;
  }

 private:
  void WaitForRedis() {
    auto ep = queue::RedisEndpoint::Parse(redis_url_);
    if (!ep.ok()) throw std::runtime_error(std::string(ep.status().message()));
    const auto deadline = WallClock::now() + std::chrono::seconds(10);
    for (;;) {
      queue::RedisConnection c(*ep, queue::RedisConnectionOptions());
      auto reply = c.Command({"PING"});
      if (reply.ok()) return;
      if (WallClock::now() > deadline) {
        throw std::runtime_error("redis-server did not answer PING within 10 s: " +
                                 std::string(reply.status().message()));
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }

  // ---- (b) end to end ----

  // A liaison with the sink's webhook for the city and every party branch, 8 calls in flight.
  void AddContacts(const std::string& url) {
    std::vector<std::string> ids = {kCityTreeRoot};
    for (size_t i : tree_.branches) ids.push_back(tree_.units[i].id());
    std::atomic<size_t> next{0};
    std::vector<std::future<void>> calls;
    for (int t = 0; t < 8; ++t) {
      calls.push_back(std::async(std::launch::async, [&] {
        for (size_t i; (i = next.fetch_add(1)) < ids.size();) {
          upb::AddContactRequest req;
          upb::Contact* c = req.mutable_contact();
          c->set_unit_id(ids[i]);
          c->set_person_name(PersonName(i));
          c->set_role(upb::CONTACT_ROLE_LIAISON);
          c->set_webhook_url(url);
          upb::Contact out;
          auto ctx = Context(std::chrono::seconds(30));
          Check(units_stub_->AddContact(ctx.get(), req, &out), "AddContact");
        }
      }));
    }
    for (auto& f : calls) f.get();
  }

  EndToEndRun EndToEnd(const std::string& units_addr, const std::string& reminders_addr) {
    ThrowIfInterrupted();
    EndToEndRun run;
    WebhookSink sink;
    AddContacts(sink.url());
    std::printf("end to end: %zu liaisons with the sink's webhook added\n",
                tree_.branches.size() + 1);
    std::fflush(stdout);
    ChildProcess tasks(
        {cfg_.tasks_bin, "--listen=127.0.0.1:0", "--data-dir=" + (dir_ / "tasks").string(),
         "--units-addr=" + units_addr, "--reminders-addr=" + reminders_addr, "--log-level=warn",
         "--handler-threads=" + std::to_string(cfg_.handler_threads),
         "--sqlite-synchronous=" + cfg_.sqlite_synchronous, "--shutdown-grace-ms=5000"},
        (dir_ / "tasks.stderr").string(), milliseconds(30000));
    auto tasks_stub = Connect<tpb::TaskService>(tasks.address());
    const std::string secret_file = (dir_ / "webhook.secret").string();
    std::ofstream(secret_file) << "bench-webhook-secret-0123456789abcdef\n";
    fs::permissions(secret_file, fs::perms::owner_read | fs::perms::owner_write);
    ChildProcess worker = ChildProcess::StartUnwatched(
        {cfg_.worker_bin, "--source=grpc", "--redis=" + redis_url_,
         "--reminders-addr=" + reminders_addr, "--units-addr=" + units_addr,
         "--tasks-addr=" + tasks.address(), "--channel=webhook",
         "--webhook-secret-file=" + secret_file,
         "--consumers=" + std::to_string(cfg_.e2e_consumers),
         "--batch=" + std::to_string(cfg_.e2e_batch), "--log-level=warn"},
        (dir_ / "worker.stderr").string());

    // A policy that reminds at the deadline only, at any hour of any day: the whole cascade
    // falls due at one instant.
    rpb::CreatePolicyRequest preq;
    rpb::ReminderPolicy* p = preq.mutable_policy();
    p->set_id("bench-e2e");
    p->set_name("压测：到期即提醒");
    p->set_at_deadline(true);
    p->set_send_on_non_working_days(true);
    p->mutable_send_window()->mutable_start()->set_hours(0);
    p->mutable_send_window()->mutable_end()->set_hours(23);
    p->mutable_send_window()->mutable_end()->set_minutes(59);
    rpb::ReminderPolicy pout;
    auto pctx = Context(std::chrono::seconds(10));
    Check(stub_->CreatePolicy(pctx.get(), preq, &pout), "CreatePolicy bench-e2e");

    tpb::CreatePlanRequest plan_req;
    tpb::Plan* plan = plan_req.mutable_plan();
    plan->set_id("bench-e2e");
    plan->set_title("压测：端到端");
    plan->set_owner_unit_id(kCityTreeRoot);
    plan->set_default_reminder_policy_id("bench-e2e");
    SetDate(plan->mutable_start_date(), std::chrono::hours(-24));
    SetDate(plan->mutable_end_date(), std::chrono::hours(24 * 30));
    *plan_req.mutable_actor() = BenchActor();
    tpb::Plan plan_out;
    auto plctx = Context(std::chrono::seconds(10));
    Check(tasks_stub->CreatePlan(plctx.get(), plan_req, &plan_out), "CreatePlan");

    // Whole seconds: the deadline as stored; `due` is the same instant on the steady clock.
    const auto sys_now = std::chrono::system_clock::now();
    const auto due_wall = std::chrono::time_point_cast<std::chrono::seconds>(
        sys_now + std::chrono::seconds(cfg_.e2e_lead_s));
    const auto due = WallClock::now() + (due_wall - sys_now);
    tpb::CreateTaskRequest treq;
    tpb::Task* t = treq.mutable_task();
    t->set_id("bench-e2e-task");
    t->set_plan_id("bench-e2e");
    t->set_title("端到端压测任务");
    t->set_lead_unit_id(kCityTreeRoot);
    google::protobuf::Timestamp due_ts;
    due_ts.set_seconds(
        std::chrono::duration_cast<std::chrono::seconds>(due_wall.time_since_epoch()).count());
    *t->mutable_deadline()->mutable_absolute_time() = due_ts;
    *treq.mutable_actor() = BenchActor();
    tpb::Task tout;
    auto tctx = Context(std::chrono::seconds(10));
    Check(tasks_stub->CreateTask(tctx.get(), treq, &tout), "CreateTask");
    tpb::CascadeTaskRequest creq;
    creq.set_task_id("bench-e2e-task");
    creq.set_root_unit_id(kCityTreeRoot);
    creq.add_unit_kinds(tpb::UNIT_KIND_PARTY_BRANCH);
    *creq.mutable_actor() = BenchActor();
    tpb::CascadeTaskResponse cresp;
    const auto cascade_start = WallClock::now();
    auto cctx = Context(std::chrono::seconds(120));
    Check(tasks_stub->CascadeTask(cctx.get(), creq, &cresp), "CascadeTask");
    run.cascade_s = SecondsSince(cascade_start);
    // The lead's own assignment of the parent task, and one per branch.
    run.expected = static_cast<int64_t>(tree_.branches.size()) + 1;
    std::printf("end to end: task cascaded to %zu branches in %.2f s; due in %.1f s\n",
                tree_.branches.size(), run.cascade_s,
                std::chrono::duration<double>(due - WallClock::now()).count());
    std::fflush(stdout);
    if (WallClock::now() >= due) {
      throw std::runtime_error("the cascade took longer than --e2e-lead-s; raise it");
    }
    run.load = LoadAverage();

    const auto give_up = due + std::chrono::seconds(300);
    WebhookSink::Counts c;
    for (;;) {
      ThrowIfInterrupted();
      c = sink.counts();
      if (c.unique >= run.expected || WallClock::now() > give_up) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
    run.received = c.received;
    run.unique = c.unique;
    auto secs = [](WallClock::time_point a, WallClock::time_point b) {
      return std::chrono::duration<double>(b - a).count();
    };
    run.due_to_first_s = secs(due, c.first);
    run.due_to_last_s = secs(due, c.last);
    run.first_to_last_s = secs(c.first, c.last);
    // Every outcome reaches the ledger (RecordDeliveries) shortly after the send.
    const auto ledger_give_up = WallClock::now() + std::chrono::seconds(60);
    for (;;) {
      rpb::GetQueueStatsRequest req;
      rpb::QueueStats stats;
      auto ctx = Context(std::chrono::seconds(30));
      Check(stub_->GetQueueStats(ctx.get(), req, &stats), "GetQueueStats");
      run.ledger_sent = stats.ledger_sent();
      if (run.ledger_sent >= run.expected || WallClock::now() > ledger_give_up) break;
      std::this_thread::sleep_for(milliseconds(100));
    }
    rows_ += run.expected;  // SENT now, no longer pending: VerifyCounts counts SCHEDULED only
    sent_ += run.ledger_sent;
    std::printf(
        "end to end: %s of %s reminders received (%s deliveries), first %.2f s and last "
        "%.2f s after the deadline; %s SENT in the ledger\n",
        Rate(static_cast<double>(run.unique)).c_str(),
        Rate(static_cast<double>(run.expected)).c_str(),
        Rate(static_cast<double>(run.received)).c_str(), run.due_to_first_s, run.due_to_last_s,
        Rate(static_cast<double>(run.ledger_sent)).c_str());
    std::fflush(stdout);
    worker.Stop();
    tasks.Stop();
    if (run.unique < run.expected || run.ledger_sent < run.expected) {
      throw std::runtime_error("end to end: not every reminder was delivered and recorded");
    }
    return run;
  }

  void CreatePolicy() {
    if (cfg_.policy == "default") return;
    rpb::CreatePolicyRequest req;
    rpb::ReminderPolicy* p = req.mutable_policy();
    p->set_id(cfg_.policy);
    p->set_name("压测：四次提醒");
    p->add_before_deadline()->set_working_days(3);
    p->add_before_deadline()->set_working_days(1);
    p->set_at_deadline(true);
    p->mutable_overdue()->set_every_working_days(1);
    p->mutable_overdue()->set_max_repeats(1);
    rpb::ReminderPolicy out;
    auto ctx = Context(std::chrono::seconds(10));
    Check(stub_->CreatePolicy(ctx.get(), req, &out), "CreatePolicy");
  }

  void FlushRedis() {
    auto ep = queue::RedisEndpoint::Parse(redis_url_);
    queue::RedisConnection c(*ep, queue::RedisConnectionOptions());
    auto reply = c.Command({"FLUSHALL"});
    if (!reply.ok()) throw std::runtime_error("FLUSHALL: " + std::string(reply.status().message()));
    std::printf("FLUSHALL: Redis emptied\n");
    std::fflush(stdout);
  }

  // One assignment per party branch of task `task_id`, as the tasks service's outbox sends a
  // cascaded task: version 1, ASSIGNED, the --policy, a deadline about 30 days out.
  std::vector<rpb::AssignmentChange> Changes(const std::string& task_id) const {
    std::vector<rpb::AssignmentChange> out;
    out.reserve(tree_.branches.size());
    const auto now = FromNow(std::chrono::hours(0));
    const auto deadline = WeekdayDeadline(30);
    for (size_t i = 0; i < tree_.branches.size(); ++i) {
      rpb::AssignmentChange c;
      rpb::AssignmentSnapshot* a = c.mutable_schedule()->mutable_assignment();
      a->set_assignment_id(task_id + "-a" + std::to_string(i));
      a->set_version(1);
      a->set_plan_id("bench-plan");
      a->set_task_id(task_id);
      a->set_unit_id(tree_.units[tree_.branches[i]].id());
      a->set_role(rpb::ASSIGNMENT_ROLE_LEAD);
      a->set_state(rpb::ASSIGNMENT_STATE_ASSIGNED);
      if (cfg_.policy != "default") a->set_policy_id(cfg_.policy);
      *a->mutable_create_time() = now;
      *a->mutable_deadline_time() = deadline;
      *a->mutable_change_time() = now;
      out.push_back(std::move(c));
    }
    return out;
  }

  // Sends `changes` in batches, `in_flight` calls at a time; returns the reminders added.
  int64_t Send(const std::vector<rpb::AssignmentChange>& changes) {
    std::vector<std::future<int64_t>> calls;
    std::atomic<size_t> next{0};
    for (int t = 0; t < std::max(1, cfg_.in_flight); ++t) {
      calls.push_back(std::async(std::launch::async, [&] {
        int64_t added = 0;
        for (;;) {
          const size_t start = next.fetch_add(static_cast<size_t>(cfg_.batch));
          if (start >= changes.size()) return added;
          rpb::BatchScheduleAssignmentsRequest req;
          const size_t end = std::min(changes.size(), start + static_cast<size_t>(cfg_.batch));
          for (size_t i = start; i < end; ++i) *req.add_changes() = changes[i];
          rpb::BatchScheduleAssignmentsResponse resp;
          auto ctx = Context(std::chrono::seconds(60));
          Check(stub_->BatchScheduleAssignments(ctx.get(), req, &resp), "BatchScheduleAssignments");
          for (const auto& r : resp.results()) {
            if (r.outcome() != rpb::APPLY_OUTCOME_APPLIED) {
              throw std::runtime_error("assignment " + r.assignment_id() + " not applied");
            }
            added += r.added();
          }
        }
      }));
    }
    int64_t added = 0;
    for (auto& f : calls) added += f.get();  // rethrows a call's failure
    return added;
  }

  ScheduleRun ScheduleRound(int round) {
    ThrowIfInterrupted();
    const auto changes = Changes("bench-s" + std::to_string(round));
    ScheduleRun run;
    run.load = LoadAverage();
    const double cpu0 = ProcessCpuSeconds(reminders_pid_);
    const auto start = WallClock::now();
    run.reminders = Send(changes);
    run.seconds = SecondsSince(start);
    run.server_cpu_s = ProcessCpuSeconds(reminders_pid_) - cpu0;
    run.assignments = static_cast<int64_t>(changes.size());
    rows_ += run.reminders;
    std::printf(
        "schedule round %d: %s assignments, %s reminders in %.3f s, server CPU %.2f s "
        "(load %s)\n",
        round, Rate(static_cast<double>(run.assignments)).c_str(),
        Rate(static_cast<double>(run.reminders)).c_str(), run.seconds, run.server_cpu_s,
        run.load.c_str());
    std::fflush(stdout);
    return run;
  }

  // More cascaded tasks' worth of assignments until the ledger holds the reminders to reconcile.
  void TopUp() {
    const auto start = WallClock::now();
    int task = 0;
    while (pending_ < cfg_.reconcile_reminders) {
      ThrowIfInterrupted();
      rows_ += Send(Changes("bench-r" + std::to_string(++task)));
      VerifyCounts("top-up task " + std::to_string(task));
    }
    std::printf("topped up to %s pending reminders in %.1f s\n",
                Rate(static_cast<double>(pending_)).c_str(), SecondsSince(start));
    std::fflush(stdout);
  }

  ReconcileRun TimedReconcile(const std::string& name) {
    ThrowIfInterrupted();
    ReconcileRun run;
    run.name = name;
    run.load = LoadAverage();
    const double cpu0 = ProcessCpuSeconds(reminders_pid_);
    const auto start = WallClock::now();
    rpb::ReconcileRequest req;
    // Retried while the start-up reconcile still runs (ABORTED).
    for (;;) {
      auto ctx = Context(std::chrono::seconds(600));
      grpc::Status s = stub_->Reconcile(ctx.get(), req, &run.response);
      if (s.error_code() == grpc::StatusCode::ABORTED) {
        std::this_thread::sleep_for(milliseconds(100));
        continue;
      }
      Check(s, "Reconcile");
      break;
    }
    run.seconds = SecondsSince(start);
    run.server_cpu_s = ProcessCpuSeconds(reminders_pid_) - cpu0;
    std::printf("%s: %.2f s, %s pending, %s missing restored, %s stale, %s orphaned\n",
                name.c_str(), run.seconds,
                Rate(static_cast<double>(run.response.ledger_pending())).c_str(),
                Rate(static_cast<double>(run.response.missing_in_redis())).c_str(),
                Rate(static_cast<double>(run.response.stale_in_redis())).c_str(),
                Rate(static_cast<double>(run.response.orphaned_in_redis())).c_str());
    std::fflush(stdout);
    return run;
  }

  // Every row the benchmark added is in the ledger (SCHEDULED, or SUPPRESSED where two rules
  // met in one slot), and Redis holds exactly the SCHEDULED ones.
  void VerifyCounts(const std::string& when) {
    rpb::GetQueueStatsRequest req;
    rpb::QueueStats stats;
    auto ctx = Context(std::chrono::seconds(60));
    Check(stub_->GetQueueStats(ctx.get(), req, &stats), "GetQueueStats");
    if (stats.ledger_scheduled() + stats.ledger_suppressed() + stats.ledger_sent() != rows_ ||
        stats.scheduled() != stats.ledger_scheduled()) {
      throw std::runtime_error(when + ": " + std::to_string(rows_) + " rows added; ledger has " +
                               std::to_string(stats.ledger_scheduled()) + " SCHEDULED and " +
                               std::to_string(stats.ledger_suppressed()) + " SUPPRESSED and " +
                               std::to_string(stats.ledger_sent()) + " SENT, Redis " +
                               std::to_string(stats.scheduled()) + " scheduled");
    }
    pending_ = stats.ledger_scheduled();
    std::printf("checked %s: %s rows; ledger SCHEDULED = Redis scheduled = %s\n", when.c_str(),
                Rate(static_cast<double>(rows_)).c_str(),
                Rate(static_cast<double>(pending_)).c_str());
    std::fflush(stdout);
  }

  void PrintSummary() const {
    std::printf(
        "\n## duban-reminders, %s party branches (load %s at start, %s at end; other "
        "processes used %.0f%% of the machine)\n\n",
        Rate(static_cast<double>(tree_.branches.size())).c_str(), load_start_.c_str(),
        load_end_.c_str(), other_cpu_percent_);
    std::printf(
        "| run | assignments | reminders | seconds | reminders/s | server CPU s | load |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---|\n");
    std::vector<double> secs;
    for (size_t i = 0; i < schedule_.size(); ++i) {
      const auto& r = schedule_[i];
      secs.push_back(r.seconds);
      std::printf("| schedule round %zu | %s | %s | %s | %s | %s | %s |\n", i + 1,
                  Rate(static_cast<double>(r.assignments)).c_str(),
                  Rate(static_cast<double>(r.reminders)).c_str(), Fixed(r.seconds, 3).c_str(),
                  Rate(static_cast<double>(r.reminders) / r.seconds).c_str(),
                  Fixed(r.server_cpu_s, 2).c_str(), r.load.c_str());
    }
    for (const auto& r : reconcile_) {
      std::printf("| %s | — | %s | %s | %s | %s | %s |\n", r.name.c_str(),
                  Rate(static_cast<double>(r.response.ledger_pending())).c_str(),
                  Fixed(r.seconds, 2).c_str(),
                  Rate(static_cast<double>(r.response.ledger_pending()) / r.seconds).c_str(),
                  Fixed(r.server_cpu_s, 2).c_str(), r.load.c_str());
    }
    if (e2e_) {
      const auto& e = *e2e_;
      const double rate = static_cast<double>(e.unique) / e.due_to_last_s;
      std::printf(
          "\nend to end, %d worker consumers x batch %d: %s reminders, cascade %.2f s; "
          "deadline → first delivery %.2f s, → last %.2f s (%s/s from the deadline, "
          "%s/s first to last); %s deliveries for %s reminders; %s SENT in the ledger "
          "(load %s)\n",
          cfg_.e2e_consumers, cfg_.e2e_batch, Rate(static_cast<double>(e.expected)).c_str(),
          e.cascade_s, e.due_to_first_s, e.due_to_last_s, Rate(rate).c_str(),
          Rate(static_cast<double>(e.unique) / e.first_to_last_s).c_str(),
          Rate(static_cast<double>(e.received)).c_str(),
          Rate(static_cast<double>(e.unique)).c_str(),
          Rate(static_cast<double>(e.ledger_sent)).c_str(), e.load.c_str());
    }
    std::printf("\n## Targets (issue 5)\n\n| target | measured | met |\n|---|---:|---|\n");
    if (e2e_) {
      const double rate = static_cast<double>(e2e_->unique) / e2e_->due_to_last_s;
      std::printf(
          "| end to end >= 2,000 delivered reminders/s (deadline → last delivery) | %s/s "
          "| %s |\n",
          Rate(rate).c_str(), rate >= 2000 ? "yes" : "NO");
    }
    if (!secs.empty()) {
      const double med = Median(secs);
      std::printf(
          "| schedule the reminders of %s assignments <= 1 s | median %s s (max %s) "
          "| %s |\n",
          Rate(static_cast<double>(tree_.branches.size())).c_str(), Fixed(med, 3).c_str(),
          Fixed(*std::max_element(secs.begin(), secs.end()), 3).c_str(), med <= 1.0 ? "yes" : "NO");
    }
    if (reconcile_.size() == 2) {
      const auto& r = reconcile_.back();
      std::printf("| Reconcile of %s pending reminders <= 30 s (after FLUSHALL) | %s s | %s |\n",
                  Rate(static_cast<double>(r.response.ledger_pending())).c_str(),
                  Fixed(r.seconds, 2).c_str(), r.seconds <= 30.0 ? "yes" : "NO");
    }
  }

  Config cfg_;
  fs::path dir_;
  UnitTree tree_;
  std::string redis_url_;
  pid_t reminders_pid_ = -1;
  std::unique_ptr<upb::UnitService::Stub> units_stub_;
  std::unique_ptr<rpb::ReminderService::Stub> stub_;
  int64_t rows_ = 0;     // ledger rows the benchmark's calls added
  int64_t pending_ = 0;  // SCHEDULED rows at the last check
  int64_t sent_ = 0;
  std::optional<EndToEndRun> e2e_;
  std::vector<ScheduleRun> schedule_;
  std::vector<ReconcileRun> reconcile_;
  std::string load_start_, load_end_;
  double other_cpu_percent_ = 0;
};

int Main(int argc, char** argv) {
  Config cfg;
  CLI::App app{
      "duban-bench-reminders: schedule and Reconcile benchmarks of duban-reminders (issue 5)"};
  app.add_option("--rounds", cfg.rounds, "schedule rounds (fresh assignments each)")
      ->check(CLI::Range(1, 20));
  app.add_option("--branches", cfg.branches, "party branches in the city (one assignment each)")
      ->check(CLI::Range(int64_t{100}, int64_t{100000}));
  app.add_option("--reconcile-reminders", cfg.reconcile_reminders,
                 "pending reminders to reconcile (0 skips the Reconcile benchmark)")
      ->check(CLI::Range(int64_t{0}, int64_t{10000000}));
  app.add_option("--batch", cfg.batch, "changes per BatchScheduleAssignments call")
      ->check(CLI::Range(1, 1000));
  app.add_option("--in-flight", cfg.in_flight, "BatchScheduleAssignments calls in flight")
      ->check(CLI::Range(1, 16));
  app.add_option("--policy", cfg.policy,
                 "four: 4 reminders per assignment; default: the built-in policy (11)")
      ->check(CLI::IsMember({"four", "default"}));
  app.add_option("--handler-threads", cfg.handler_threads)->check(CLI::Range(1, 1024));
  app.add_option("--sqlite-synchronous", cfg.sqlite_synchronous)
      ->check(CLI::IsMember({"OFF", "NORMAL", "FULL", "EXTRA"}));
  app.add_option("--e2e-consumers", cfg.e2e_consumers,
                 "worker consumer threads for the end-to-end run (0 skips it)")
      ->check(CLI::Range(0, 64));
  app.add_option("--e2e-batch", cfg.e2e_batch, "worker batch size")->check(CLI::Range(1, 1000));
  app.add_option("--e2e-lead-s", cfg.e2e_lead_s, "seconds from the cascade to the deadline")
      ->check(CLI::Range(5, 600));
  app.add_option("--units-bin", cfg.units_bin, "default: the build tree next to this program");
  app.add_option("--tasks-bin", cfg.tasks_bin);
  app.add_option("--worker-bin", cfg.worker_bin);
  app.add_option("--reminders-bin", cfg.reminders_bin);
  app.add_option("--redis-bin", cfg.redis_bin);
  app.add_option("--work-dir", cfg.work_dir, "parent of the temporary directory");
  app.add_flag("--keep-data", cfg.keep_data, "keep the temporary directory");
  CLI11_PARSE(app, argc, argv);
  const std::string self = SelfDir();
  if (cfg.units_bin.empty()) cfg.units_bin = self + "/../services/units/duban-units";
  if (cfg.reminders_bin.empty()) {
    cfg.reminders_bin = self + "/../services/reminders/duban-reminders";
  }
  if (cfg.tasks_bin.empty()) cfg.tasks_bin = self + "/../services/tasks/duban-tasks";
  if (cfg.worker_bin.empty()) cfg.worker_bin = self + "/../worker/duban-worker";
  if (cfg.work_dir.empty()) cfg.work_dir = DefaultWorkDir();
  InstallStopHandlers();
  TempDir dir(cfg.work_dir, cfg.keep_data);
  std::printf("work directory %s\n", dir.path().c_str());
  Bench bench(cfg, dir.path());
  return bench.Run();
}

}  // namespace
}  // namespace duban::bench

int main(int argc, char** argv) {
  try {
    return duban::bench::Main(argc, argv);
  } catch (const duban::bench::Interrupted&) {
    std::fprintf(stderr, "duban-bench-reminders: interrupted\n");
    return 130;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "duban-bench-reminders: %s\n", e.what());
    return 1;
  }
}
