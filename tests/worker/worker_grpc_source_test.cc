// --source=grpc end to end: the real duban-worker binary against fake ReminderService,
// UnitService and TaskService servers (in this process, 127.0.0.1:0) and a real redis-server.
// Checks one RPC per batch per service, suppression of stale and closed reminders, "no
// recipients" dead letters, locale-dependent text and the outcomes RecordDeliveries receives.
#include <signal.h>

#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "duban/queue/job_queue.h"
#include "duban/reminders/v1/reminders.grpc.pb.h"
#include "duban/tasks/v1/tasks.grpc.pb.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "redis_server.h"
#include "support/child_process.h"
#include "support/temp_dir.h"
#include "webhook_sink.h"

namespace duban::worker {
namespace {

namespace rv1 = ::duban::reminders::v1;
namespace tv1 = ::duban::tasks::v1;
namespace uv1 = ::duban::units::v1;

// Reminder ids say what the fakes answer: "stale-*" not sendable, "closed-*" assignment DONE,
// "nobody-*" a unit without contacts, anything else a normal reminder with two contacts
// (one Chinese, one English).
class FakeServices : public rv1::ReminderService::Service,
                     public uv1::UnitService::Service,
                     public tv1::TaskService::Service {
 public:
  grpc::Status BatchGetReminders(grpc::ServerContext*, const rv1::BatchGetRemindersRequest* req,
                                 rv1::BatchGetRemindersResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++reminder_calls;
    max_batch = std::max(max_batch, req->refs_size());
    for (const auto& ref : req->refs()) {
      auto* item = resp->add_items();
      *item->mutable_ref() = ref;
      item->set_sendable(!absl::StartsWith(ref.id(), "stale-"));
      if (!item->sendable()) item->set_reason("version 9 is current");
      rv1::Reminder* r = item->mutable_reminder();
      r->set_id(ref.id());
      r->set_version(ref.version());
      r->set_kind(rv1::REMINDER_KIND_OVERDUE);
      r->set_assignment_id("a-" + ref.id());
      // Digests list assignments instead of having one: one open and one closed, or only
      // closed ones.
      if (absl::StartsWith(ref.id(), "digest-") || absl::StartsWith(ref.id(), "digestdone-")) {
        r->set_kind(rv1::REMINDER_KIND_DIGEST);
        r->clear_assignment_id();
        if (absl::StartsWith(ref.id(), "digest-")) r->add_assignment_ids("a-ok-in-" + ref.id());
        r->add_assignment_ids("a-closed-in-" + ref.id());
      }
      r->set_unit_id(absl::StartsWith(ref.id(), "nobody-") ? "u-empty" : "u-1");
    }
    return grpc::Status::OK;
  }
  grpc::Status RecordDeliveries(grpc::ServerContext*, const rv1::RecordDeliveriesRequest* req,
                                rv1::RecordDeliveriesResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++record_calls;
    if (failing_record_calls > 0) {
      --failing_record_calls;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "ledger away (test)");
    }
    for (const auto& o : req->outcomes()) {
      outcomes[o.reminder_id()] = o;
      resp->add_results(rv1::RECORD_RESULT_RECORDED);
    }
    return grpc::Status::OK;
  }
  grpc::Status ResolveRecipients(grpc::ServerContext*, const uv1::ResolveRecipientsRequest* req,
                                 uv1::ResolveRecipientsResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++unit_calls;
    for (const auto& q : req->queries()) {
      auto* res = resp->add_resolutions();
      res->set_unit_id(q.unit_id());
      res->set_level(q.level());
      if (q.unit_id() == "u-empty") {
        res->set_reason("no liaison or deputy in effect");
        continue;
      }
      auto* zh = res->add_recipients();
      zh->set_contact_id("c-zh");
      zh->set_unit_id(q.unit_id());
      auto* en = res->add_recipients();
      en->set_contact_id("c-en");
      en->set_unit_id(q.unit_id());
      en->set_locale("en");
    }
    return grpc::Status::OK;
  }
  grpc::Status BatchGetAssignments(grpc::ServerContext*, const tv1::BatchGetAssignmentsRequest* req,
                                   tv1::BatchGetAssignmentsResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++task_calls;
    for (const auto& id : req->ids()) {
      auto* a = resp->add_assignments();
      a->set_id(id);
      a->set_task_id("t-1");
      a->set_plan_id("p-1");
      a->set_state(absl::StartsWith(id, "a-closed-") ? tv1::ASSIGNMENT_STATE_DONE
                                                     : tv1::ASSIGNMENT_STATE_IN_PROGRESS);
    }
    if (req->include_tasks()) {
      auto* t = resp->add_tasks();
      t->set_id("t-1");
      t->set_title("整改台账");
    }
    if (req->include_plans()) {
      auto* p = resp->add_plans();
      p->set_id("p-1");
      p->set_title("学习教育工作方案");
    }
    return grpc::Status::OK;
  }

  // Until `n` reminders have an outcome recorded, or `timeout`.
  void WaitForOutcomes(size_t n, absl::Duration timeout) {
    const absl::Time end = absl::Now() + timeout;
    while (absl::Now() < end) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (outcomes.size() >= n) return;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  std::mutex mu_;
  int reminder_calls = 0, unit_calls = 0, task_calls = 0, max_batch = 0;
  int record_calls = 0;
  int failing_record_calls = 0;  // RecordDeliveries answers UNAVAILABLE this many times
  std::map<std::string, rv1::DeliveryOutcome> outcomes;
};

// The fakes on 127.0.0.1:0, serving all three services.
std::unique_ptr<grpc::Server> StartFakes(FakeServices& fake, std::string* addr) {
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(static_cast<rv1::ReminderService::Service*>(&fake));
  builder.RegisterService(static_cast<uv1::UnitService::Service*>(&fake));
  builder.RegisterService(static_cast<tv1::TaskService::Service*>(&fake));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  *addr = absl::StrCat("127.0.0.1:", port);
  return server;
}

// Schedules `count` jobs "<prefix><i>" due now on queue "g".
void ScheduleDue(queue::JobQueue& q, const std::string& prefix, int count) {
  auto now = q.ServerTimeMs();
  ASSERT_TRUE(now.ok());
  std::vector<queue::ScheduleRequest> reqs;
  for (int i = 0; i < count; ++i) {
    queue::ScheduleRequest r;
    r.job_id = absl::StrCat(prefix, i);
    r.version = 1;
    r.due = absl::FromUnixMillis(*now);
    reqs.push_back(r);
  }
  ASSERT_TRUE(q.Schedule(reqs).ok());
}

// The worker with the log channel unless `channel_args` say otherwise.
std::unique_ptr<testing::ChildProcess> StartWorker(const testing::TempDir& dir,
                                                   const testing::RedisServer& redis,
                                                   const std::string& addr,
                                                   std::vector<std::string> channel_args = {}) {
  if (channel_args.empty())
    channel_args = {"--channel", "log", "--log-file", dir.File("out.jsonl")};
  std::vector<std::string> argv = {DUBAN_WORKER_BINARY,
                                   "--redis",
                                   redis.url(),
                                   "--queue",
                                   "g",
                                   "--worker-id",
                                   "gw",
                                   "--source",
                                   "grpc",
                                   "--reminders-addr",
                                   addr,
                                   "--units-addr",
                                   addr,
                                   "--tasks-addr",
                                   addr,
                                   "--consumers",
                                   "1",
                                   "--batch",
                                   "100"};
  argv.insert(argv.end(), channel_args.begin(), channel_args.end());
  auto w = std::make_unique<testing::ChildProcess>(argv, dir.File("gw.stderr"));
  EXPECT_EQ(w->WaitForLine("READY "), "gw");
  return w;
}

// The fakes on a free port, a private redis-server and queue "g" for each test.
class WorkerGrpcSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server = StartFakes(fake, &addr);
    ASSERT_NE(server, nullptr);
    queue::QueueOptions qo;
    qo.name = "g";
    auto created = queue::JobQueue::Create(redis.url(), qo);
    ASSERT_TRUE(created.ok());
    q = std::move(*created);
  }

  testing::TempDir dir;
  testing::RedisServer redis;
  FakeServices fake;
  std::string addr;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<queue::JobQueue> q;
};

TEST_F(WorkerGrpcSourceTest, ResolvesThroughTheServicesAndRecordsOutcomes) {
  for (const std::string prefix : {"ok-", "stale-", "closed-", "nobody-"}) {
    ScheduleDue(*q, prefix, prefix == "ok-" ? 60 : 5);
  }
  auto w = StartWorker(dir, redis, addr);
  fake.WaitForOutcomes(75, absl::Seconds(20));
  EXPECT_EQ(w->Signal(SIGTERM), 0);
  server->Shutdown();

  std::lock_guard<std::mutex> lock(fake.mu_);
  ASSERT_EQ(fake.outcomes.size(), 75u);
  for (const auto& [id, o] : fake.outcomes) {
    EXPECT_EQ(o.worker_id(), "gw");
    EXPECT_EQ(o.attempt(), 1);
    EXPECT_EQ(o.delivery_id().size(), 32u);
    if (absl::StartsWith(id, "ok-")) {
      EXPECT_EQ(o.outcome(), rv1::DELIVERY_OUTCOME_KIND_SENT) << id;
      EXPECT_EQ(o.recipients_size(), 2);
      EXPECT_EQ(o.channel(), rv1::CHANNEL_LOG);
    } else if (absl::StartsWith(id, "nobody-")) {
      EXPECT_EQ(o.outcome(), rv1::DELIVERY_OUTCOME_KIND_DEAD) << id;
      EXPECT_EQ(o.error(), "no recipients");
    } else {
      EXPECT_EQ(o.outcome(), rv1::DELIVERY_OUTCOME_KIND_SUPPRESSED) << id;
      if (absl::StartsWith(id, "closed-")) {
        EXPECT_EQ(o.suppression_reason(), rv1::SUPPRESSION_REASON_ASSIGNMENT_CLOSED);
      }
    }
  }
  // Batched: 75 reminders in at most a few batches, one call per service per batch.
  EXPECT_LE(fake.reminder_calls, 4);
  EXPECT_LE(fake.task_calls, fake.reminder_calls);
  EXPECT_LE(fake.unit_calls, fake.reminder_calls);
  EXPECT_GE(fake.max_batch, 20);

  // 60 reminders x 2 contacts, rendered per locale with the task and plan titles.
  std::ifstream in(dir.File("out.jsonl"));
  std::string line;
  int zh = 0, en = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    std::string text = j["text"];
    if (j["locale"] == "en") {
      ++en;
      EXPECT_NE(text.find("Task: 整改台账"), std::string::npos);
    } else {
      ++zh;
      EXPECT_NE(text.find("方案：学习教育工作方案"), std::string::npos);
    }
  }
  EXPECT_EQ(zh, 60);
  EXPECT_EQ(en, 60);
}

// While RecordDeliveries fails, sends stay unsettled in Redis and the worker keeps reporting
// them; once the ledger answers, every send is recorded, and none was sent twice.
TEST_F(WorkerGrpcSourceTest, SendsAreRecordedAfterTheLedgerComesBack) {
  fake.failing_record_calls = 4;  // before the worker starts: no call can race it
  ScheduleDue(*q, "ok-", 30);
  auto w = StartWorker(dir, redis, addr);

  fake.WaitForOutcomes(30, absl::Seconds(30));
  // The settle follows the successful report; give it a moment, then Redis holds nothing.
  absl::Time end = absl::Now() + absl::Seconds(10);
  while (absl::Now() < end) {
    auto stats = q->Stats();
    ASSERT_TRUE(stats.ok());
    if (stats->ready == 0 && stats->due == 0) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(w->Signal(SIGTERM), 0);
  server->Shutdown();

  std::lock_guard<std::mutex> lock(fake.mu_);
  EXPECT_GE(fake.record_calls, 5);  // the 4 refused, then the one that was recorded
  ASSERT_EQ(fake.outcomes.size(), 30u);
  for (const auto& [id, o] : fake.outcomes) {
    EXPECT_EQ(o.outcome(), rv1::DELIVERY_OUTCOME_KIND_SENT) << id;
  }
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->ready, 0);
  EXPECT_EQ(stats->due, 0);
  // 30 reminders x 2 contacts, each written once.
  std::ifstream in(dir.File("out.jsonl"));
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, 60);
}

// The fakes' contacts have no webhook_url: with --webhook-url they are reached there.
TEST_F(WorkerGrpcSourceTest, WebhookUrlFlagReachesContactsWithoutOne) {
  ScheduleDue(*q, "ok-", 10);
  const std::string secret = "grpc-source-test-secret-0123456789";
  testing::WebhookSink sink(secret);
  {
    std::ofstream out(dir.File("secret"));
    out << secret << "\n";
  }
  auto w = StartWorker(dir, redis, addr,
                       {"--channel", "webhook", "--webhook-url", sink.Url("/ok/default"),
                        "--webhook-secret-file", dir.File("secret")});
  fake.WaitForOutcomes(10, absl::Seconds(20));
  EXPECT_EQ(w->Signal(SIGTERM), 0);
  server->Shutdown();

  std::lock_guard<std::mutex> lock(fake.mu_);
  ASSERT_EQ(fake.outcomes.size(), 10u);
  for (const auto& [id, o] : fake.outcomes) {
    EXPECT_EQ(o.outcome(), rv1::DELIVERY_OUTCOME_KIND_SENT) << id << ": " << o.error();
  }
  auto requests = sink.Requests();
  EXPECT_EQ(requests.size(), 20u);  // two contacts per reminder
  for (const auto& r : requests) {
    EXPECT_TRUE(r.signature_ok);
    EXPECT_EQ(r.path, "/ok/default");
  }
}

// A digest lists its open assignments (one BatchGetAssignments with the batch's others); one
// whose every assignment closed is not sent.
TEST_F(WorkerGrpcSourceTest, DigestsListTheirOpenAssignments) {
  ScheduleDue(*q, "digest-", 3);
  ScheduleDue(*q, "digestdone-", 2);
  ScheduleDue(*q, "ok-", 3);
  auto w = StartWorker(dir, redis, addr);
  fake.WaitForOutcomes(8, absl::Seconds(20));
  EXPECT_EQ(w->Signal(SIGTERM), 0);
  server->Shutdown();

  std::lock_guard<std::mutex> lock(fake.mu_);
  ASSERT_EQ(fake.outcomes.size(), 8u);
  for (const auto& [id, o] : fake.outcomes) {
    EXPECT_EQ(o.outcome(), absl::StartsWith(id, "digestdone-")
                               ? rv1::DELIVERY_OUTCOME_KIND_SUPPRESSED
                               : rv1::DELIVERY_OUTCOME_KIND_SENT)
        << id;
  }
  EXPECT_LE(fake.task_calls, fake.reminder_calls);
  std::ifstream in(dir.File("out.jsonl"));
  std::string line;
  int digests = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["kind"] != "digest") continue;
    ++digests;
    const std::string text = j["text"];
    EXPECT_NE(text.find("1. 整改台账"), std::string::npos) << text;  // the open one
    EXPECT_EQ(text.find("2. "), std::string::npos) << text;          // not the closed one
  }
  EXPECT_EQ(digests, 6);  // 3 digests x 2 contacts
}

}  // namespace
}  // namespace duban::worker
