// TaskService through a real gRPC server on 127.0.0.1:0 with a real SQLite file, checking
// unit ids against a real in-process UnitService: the main flows, bad input on every
// implemented method (code + named field + nothing written), UNAVAILABLE when UnitService is
// away, and budgets refused with a google.rpc.QuotaFailure.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>

#include "db_dump.h"
#include "duban/calendar/working_calendar.h"
#include "duban/grpc_server.h"
#include "duban/tasks/v1/tasks.grpc.pb.h"
#include "duban/time_util.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "grpc_clients.h"
#include "sqlite_task_store.h"
#include "sqlite_unit_store.h"
#include "support/grpc_test_util.h"
#include "support/temp_dir.h"
#include "task_grpc_service.h"
#include "unit_directory.h"
#include "unit_grpc_service.h"
#include "unit_proto_convert.h"

namespace duban::tasks {
namespace {

namespace upb = ::duban::units::v1;
using duban::testing::ViolatedFields;
using grpc::StatusCode;

// A real duban.units.v1 server in this process.
class UnitsServer {
 public:
  explicit UnitsServer(const std::string& path) {
    sqlite::Options o;
    o.path = path;
    o.synchronous = "NORMAL";
    store_ = *units::SqliteUnitStore::Open(o);
    directory_ = std::make_unique<units::UnitDirectory>(*store_);
    service_ = std::make_unique<units::UnitGrpcService>(*directory_);
    ServerOptions so;
    // A watch stream holds one for as long as it lasts (UnitWatchTest).
    so.handler_threads = 8;
    so.shutdown_grace = std::chrono::milliseconds(200);
    so.log_rpcs = false;
    server_ = *GrpcServer::Start(so, {service_.get()});
  }
  void Add(const std::string& id, const std::string& parent, upb::UnitKind kind) {
    upb::Unit u;
    u.set_id(id);
    u.set_name("单位" + id);
    u.set_kind(kind);
    u.set_parent_id(parent);
    ASSERT_TRUE(directory_->CreateUnit(units::FromProto(u), "").ok()) << id;
  }
  const std::string& address() const { return server_->address(); }
  void Stop() {
    service_->EndWatches();
    server_->Shutdown();
  }

 private:
  std::unique_ptr<units::SqliteUnitStore> store_;
  std::unique_ptr<units::UnitDirectory> directory_;
  std::unique_ptr<units::UnitGrpcService> service_;
  std::unique_ptr<GrpcServer> server_;
};

class TaskGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    units_ = std::make_unique<UnitsServer>(dir_.File("units.db"));
    units_->Add("gd", "", upb::UNIT_KIND_PROVINCE);
    units_->Add("gd.zq", "gd", upb::UNIT_KIND_CITY);
    units_->Add("gd.zq.edu", "gd.zq", upb::UNIT_KIND_DEPARTMENT);
    units_->Add("gd.zq.fin", "gd.zq", upb::UNIT_KIND_DEPARTMENT);
    calendar_ = std::make_unique<calendar::WorkingCalendar>(*calendar::WorkingCalendar::Default());
    sqlite::Options o;
    o.path = dir_.File("tasks.db");
    o.synchronous = "NORMAL";
    store_ = *SqliteTaskStore::Open(o);
    unit_client_ =
        std::make_unique<GrpcUnitClient>(MakeChannel(units_->address()), std::chrono::seconds(2));
    // A fixed clock (2026-09-20 10:00 +08) keeps lights and defaults independent of the date.
    directory_ = std::make_unique<TaskDirectory>(*store_, *unit_client_, nullptr, *calendar_,
                                                 [] { return absl::FromUnixSeconds(1789869600); });
    service_ = std::make_unique<TaskGrpcService>(*directory_);
    ServerOptions so;
    so.handler_threads = 4;
    so.shutdown_grace = std::chrono::milliseconds(200);
    so.health_services = {"duban.tasks.v1.TaskService"};
    so.log_rpcs = false;
    server_ = *GrpcServer::Start(so, {service_.get()});
    channel_ = MakeChannel(server_->address());
    stub_ = pb::TaskService::NewStub(channel_);
  }

  void TearDown() override { server_->Shutdown(); }

  std::string Dump() { return tasks::testing::DumpDatabase(dir_.File("tasks.db")); }

  static void SetActor(pb::Actor* a) {
    a->set_id("user:1");
    a->set_name("李伟");
  }

  pb::Plan CreatePlan() {
    grpc::ClientContext ctx;
    pb::CreatePlanRequest req;
    req.mutable_plan()->set_id("p1");
    req.mutable_plan()->set_title("工作方案");
    req.mutable_plan()->set_owner_unit_id("gd.zq");
    *req.mutable_plan()->mutable_start_date() = Date(2026, 1, 1);
    *req.mutable_plan()->mutable_end_date() = Date(2026, 12, 31);
    pb::Plan resp;
    auto s = stub_->CreatePlan(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  static pb::Date Date(int y, int m, int d) {
    pb::Date out;
    out.set_year(y);
    out.set_month(m);
    out.set_day(d);
    return out;
  }

  pb::Task CreateTask(const std::string& id) {
    grpc::ClientContext ctx;
    pb::CreateTaskRequest req;
    auto* t = req.mutable_task();
    t->set_id(id);
    t->set_plan_id("p1");
    t->set_title("重点任务");
    t->set_lead_unit_id("gd.zq.edu");
    t->add_cooperating_unit_ids("gd.zq.fin");
    auto* wd = t->mutable_deadline()->mutable_working_days();
    wd->set_count(3);
    *wd->mutable_from_date() = Date(2026, 9, 30);  // National Day 2026: 10-01..10-07
    SetActor(req.mutable_actor());
    pb::Task resp;
    auto s = stub_->CreateTask(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  duban::testing::TempDir dir_;
  std::unique_ptr<UnitsServer> units_;
  std::unique_ptr<calendar::WorkingCalendar> calendar_;
  std::unique_ptr<SqliteTaskStore> store_;
  std::unique_ptr<GrpcUnitClient> unit_client_;
  std::unique_ptr<TaskDirectory> directory_;
  std::unique_ptr<TaskGrpcService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::TaskService::Stub> stub_;
};

TEST_F(TaskGrpcTest, HealthAndMainFlow) {
  EXPECT_TRUE(duban::testing::WaitForServing(channel_, "duban.tasks.v1.TaskService"));
  CreatePlan();
  pb::Task task = CreateTask("t1");
  // 2026-09-30 + 3 working days: 10-08 (Thu), 10-09 (Fri), 10-10 (Sat, 调休) at 18:00 +08.
  EXPECT_EQ(task.deadline_time().seconds(), 1791626400);
  EXPECT_EQ(task.state(), pb::TASK_STATE_OPEN);
  ASSERT_EQ(task.assignments_size(), 2);
  EXPECT_EQ(task.assignments(0).role(), pb::ASSIGNMENT_ROLE_LEAD);
  EXPECT_EQ(task.deadline().working_days().time_of_day().hours(), 18);
  const std::string lead = task.assignments(0).assignment_id();

  pb::TransitionRequest ack;
  ack.set_assignment_id(lead);
  SetActor(ack.mutable_actor());
  ack.set_etag("1");
  pb::Assignment a;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->AcknowledgeAssignment(&ctx, ack, &a).ok());
  }
  EXPECT_EQ(a.state(), pb::ASSIGNMENT_STATE_ACKNOWLEDGED);
  EXPECT_EQ(a.etag(), "2");
  EXPECT_EQ(a.version(), 2);
  EXPECT_EQ(a.light().light(), pb::TRAFFIC_LIGHT_GREEN);
  EXPECT_FALSE(a.light().reason().empty());
  {
    grpc::ClientContext ctx;
    pb::ReportProgressRequest req;
    req.set_assignment_id(lead);
    req.set_percent(30);
    req.set_text("已部署");
    SetActor(req.mutable_actor());
    pb::ReportProgressResponse resp;
    ASSERT_TRUE(stub_->ReportProgress(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.assignment().state(), pb::ASSIGNMENT_STATE_IN_PROGRESS);
    EXPECT_EQ(resp.assignment().last_report().percent(), 30);
    EXPECT_EQ(resp.report().actor().name(), "李伟");
  }
  {
    grpc::ClientContext ctx;
    pb::TransitionRequest req = ack;
    req.set_etag("");
    auto s = stub_->AcknowledgeAssignment(&ctx, req, &a);
    EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(s.error_message(), "assignment is IN_PROGRESS; Acknowledge needs ASSIGNED");
  }
  {
    grpc::ClientContext ctx;
    pb::BatchGetAssignmentsRequest req;
    req.add_ids(lead);
    req.add_ids("a-missing");
    req.set_include_tasks(true);
    req.set_include_plans(true);
    pb::BatchGetAssignmentsResponse resp;
    ASSERT_TRUE(stub_->BatchGetAssignments(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.assignments_size(), 1);
    EXPECT_EQ(resp.missing_ids(0), "a-missing");
    EXPECT_EQ(resp.tasks(0).title(), "重点任务");
    EXPECT_EQ(resp.plans(0).title(), "工作方案");
  }
  {
    grpc::ClientContext ctx;
    pb::RequestExtensionRequest req;
    req.set_assignment_id(lead);
    req.mutable_requested_deadline()->mutable_working_days()->set_count(2);
    *req.mutable_requested_deadline()->mutable_working_days()->mutable_from_date() =
        Date(2026, 10, 10);
    req.set_reason("需要更多时间");
    SetActor(req.mutable_actor());
    pb::ExtensionRequest resp;
    ASSERT_TRUE(stub_->RequestExtension(&ctx, req, &resp).ok());
    grpc::ClientContext actx;
    pb::DecideExtensionRequest dec;
    dec.set_id(resp.id());
    SetActor(dec.mutable_actor());
    pb::ExtensionRequest approved;
    ASSERT_TRUE(stub_->ApproveExtension(&actx, dec, &approved).ok());
    EXPECT_EQ(approved.state(), pb::EXTENSION_STATE_APPROVED);
    // 10-12 (Mon), 10-13 (Tue).
    EXPECT_EQ(approved.granted_deadline_time().seconds(), 1791626400 + 3 * 86400);
  }
  {
    grpc::ClientContext ctx;
    pb::GetAssignmentRequest req;
    req.set_id(lead);
    ASSERT_TRUE(stub_->GetAssignment(&ctx, req, &a).ok());
    EXPECT_EQ(a.baseline_deadline_time().seconds(), 1791626400);
    EXPECT_EQ(a.deadline_time().seconds(), 1791626400 + 3 * 86400);
  }
  {
    grpc::ClientContext ctx;
    pb::ListAuditEventsRequest req;
    req.set_assignment_id(lead);
    pb::ListAuditEventsResponse resp;
    ASSERT_TRUE(stub_->ListAuditEvents(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.events_size(), 6);  // created, ack, ->in progress, report, requested, approved
    EXPECT_EQ(resp.events(0).kind(), pb::AUDIT_EVENT_KIND_CREATED);
    EXPECT_EQ(resp.events(5).kind(), pb::AUDIT_EVENT_KIND_EXTENSION_APPROVED);
  }
  {
    grpc::ClientContext ctx;
    pb::ListAssignmentsRequest req;
    req.set_plan_id("p1");
    req.set_page_size(1);
    pb::ListAssignmentsResponse resp;
    ASSERT_TRUE(stub_->ListAssignments(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.assignments_size(), 1);
    EXPECT_FALSE(resp.next_page_token().empty());
    EXPECT_GT(resp.evaluate_time().seconds(), 0);
  }
  {
    grpc::ClientContext ctx;
    pb::ResolveDeadlineRequest req;
    req.mutable_deadline()->mutable_working_days()->set_count(1);
    *req.mutable_deadline()->mutable_working_days()->mutable_from_date() = Date(2027, 3, 1);
    req.set_unit_id("gd.zq");
    pb::ResolveDeadlineResponse resp;
    ASSERT_TRUE(stub_->ResolveDeadline(&ctx, req, &resp).ok());
    EXPECT_TRUE(resp.provisional());
    EXPECT_FALSE(resp.calendar_data_version().empty());
  }
}

// One row per implemented method: a bad request, the code and the first field named.
struct BadCall {
  std::string name;
  std::function<grpc::Status(pb::TaskService::Stub&, grpc::ClientContext&)> call;
  StatusCode code;
  std::string field;
};

TEST_F(TaskGrpcTest, BadInputOnEveryMethodNamesTheFieldAndWritesNothing) {
  CreatePlan();
  pb::Task task = CreateTask("t1");
  const std::string lead = task.assignments(0).assignment_id();
  std::string ext_id;
  {
    grpc::ClientContext ctx;
    pb::RequestExtensionRequest req;
    req.set_assignment_id(task.assignments(1).assignment_id());
    req.mutable_requested_deadline()->mutable_absolute_time()->set_seconds(1893456000);  // 2030
    req.set_reason("r");
    SetActor(req.mutable_actor());
    pb::ExtensionRequest resp;
    ASSERT_TRUE(stub_->RequestExtension(&ctx, req, &resp).ok());
    ext_id = resp.id();
  }
  const std::string before = Dump();
  auto actor = [](auto* req) { SetActor(req->mutable_actor()); };
  std::vector<BadCall> calls = {
      {"CreatePlan",
       [](auto& s, auto& c) {
         pb::CreatePlanRequest r;
         r.mutable_plan()->set_title("x");
         r.mutable_plan()->set_owner_unit_id("gd.none");
         *r.mutable_plan()->mutable_start_date() = Date(2026, 1, 1);
         *r.mutable_plan()->mutable_end_date() = Date(2026, 1, 2);
         pb::Plan o;
         return s.CreatePlan(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "plan.owner_unit_id"},
      {"GetPlan",
       [](auto& s, auto& c) {
         pb::GetPlanRequest r;
         r.set_id("p404");
         pb::Plan o;
         return s.GetPlan(&c, r, &o);
       },
       StatusCode::NOT_FOUND, "id"},
      {"ListPlans",
       [](auto& s, auto& c) {
         pb::ListPlansRequest r;
         r.set_page_size(-1);
         pb::ListPlansResponse o;
         return s.ListPlans(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "page_size"},
      {"UpdatePlan",
       [](auto& s, auto& c) {
         pb::UpdatePlanRequest r;
         r.mutable_plan()->set_id("p1");
         r.mutable_update_mask()->add_paths("owner_unit_id");
         pb::Plan o;
         return s.UpdatePlan(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "update_mask"},
      {"ArchivePlan",
       [&](auto& s, auto& c) {
         pb::ArchivePlanRequest r;
         r.set_id("p1");
         actor(&r);
         pb::Plan o;
         return s.ArchivePlan(&c, r, &o);
       },
       StatusCode::FAILED_PRECONDITION, "cancel_open_assignments"},
      {"CreateTask",
       [&](auto& s, auto& c) {
         pb::CreateTaskRequest r;
         r.mutable_task()->set_plan_id("p1");
         r.mutable_task()->set_title("x");
         r.mutable_task()->set_lead_unit_id("gd.zq.edu");
         r.mutable_task()->add_cooperating_unit_ids("gd.nowhere");
         r.mutable_task()->mutable_deadline()->mutable_absolute_time()->set_seconds(1893456000);
         actor(&r);
         pb::Task o;
         return s.CreateTask(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "task.cooperating_unit_ids[0]"},
      {"CreateTask timestamp",
       [&](auto& s, auto& c) {
         pb::CreateTaskRequest r;
         r.mutable_task()->set_plan_id("p1");
         r.mutable_task()->set_title("x");
         r.mutable_task()->set_lead_unit_id("gd.zq.edu");
         r.mutable_task()->mutable_deadline()->mutable_absolute_time()->set_nanos(-1);
         actor(&r);
         pb::Task o;
         return s.CreateTask(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "task.deadline.absolute_time"},
      {"CreateTask time of day",
       [&](auto& s, auto& c) {
         pb::CreateTaskRequest r;
         r.mutable_task()->set_plan_id("p1");
         r.mutable_task()->set_title("x");
         r.mutable_task()->set_lead_unit_id("gd.zq.edu");
         auto* wd = r.mutable_task()->mutable_deadline()->mutable_working_days();
         wd->set_count(1);
         wd->mutable_time_of_day()->set_hours(1);
         wd->mutable_time_of_day()->set_minutes(75);
         actor(&r);
         pb::Task o;
         return s.CreateTask(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "task.deadline.working_days.time_of_day"},
      {"GetTask",
       [](auto& s, auto& c) {
         pb::GetTaskRequest r;
         r.set_id("t404");
         pb::Task o;
         return s.GetTask(&c, r, &o);
       },
       StatusCode::NOT_FOUND, "id"},
      {"ListTasks",
       [](auto& s, auto& c) {
         pb::ListTasksRequest r;
         pb::ListTasksResponse o;
         return s.ListTasks(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "plan_id"},
      {"ListTasks subtree",
       [](auto& s, auto& c) {
         pb::ListTasksRequest r;
         r.set_unit_subtree_of("gd.none");
         pb::ListTasksResponse o;
         return s.ListTasks(&c, r, &o);
       },
       StatusCode::NOT_FOUND, "unit_subtree_of"},
      {"UpdateTask",
       [&](auto& s, auto& c) {
         pb::UpdateTaskRequest r;
         r.mutable_task()->set_id("t1");
         r.mutable_task()->set_lead_unit_id("gd.none");
         r.mutable_update_mask()->add_paths("lead_unit_id");
         actor(&r);
         pb::Task o;
         return s.UpdateTask(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "task.lead_unit_id"},
      {"UpdateTask etag",
       [&](auto& s, auto& c) {
         pb::UpdateTaskRequest r;
         r.mutable_task()->set_id("t1");
         r.mutable_task()->set_title("y");
         r.mutable_update_mask()->add_paths("title");
         r.set_etag("42");
         actor(&r);
         pb::Task o;
         return s.UpdateTask(&c, r, &o);
       },
       StatusCode::ABORTED, "etag"},
      {"CancelTask",
       [&](auto& s, auto& c) {
         pb::CancelTaskRequest r;
         r.set_id("t1");
         actor(&r);
         pb::Task o;
         return s.CancelTask(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "reason"},
      {"ResolveDeadline",
       [](auto& s, auto& c) {
         pb::ResolveDeadlineRequest r;
         r.mutable_deadline()->mutable_working_days()->set_count(1001);
         pb::ResolveDeadlineResponse o;
         return s.ResolveDeadline(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "deadline.working_days.count"},
      {"GetAssignment",
       [](auto& s, auto& c) {
         pb::GetAssignmentRequest r;
         r.set_id("a-404");
         pb::Assignment o;
         return s.GetAssignment(&c, r, &o);
       },
       StatusCode::NOT_FOUND, "id"},
      {"BatchGetAssignments",
       [](auto& s, auto& c) {
         pb::BatchGetAssignmentsRequest r;
         r.add_ids("ok");
         r.add_ids("NOT OK");
         pb::BatchGetAssignmentsResponse o;
         return s.BatchGetAssignments(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "ids[1]"},
      {"ListAssignments",
       [](auto& s, auto& c) {
         pb::ListAssignmentsRequest r;
         r.set_plan_id("p1");
         r.mutable_due_after()->set_seconds(-99999999999);
         pb::ListAssignmentsResponse o;
         return s.ListAssignments(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "due_after"},
      {"AcknowledgeAssignment",
       [&](auto& s, auto& c) {
         pb::TransitionRequest r;
         r.set_assignment_id(lead);
         pb::Assignment o;
         return s.AcknowledgeAssignment(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "actor.id"},
      {"StartAssignment",
       [&](auto& s, auto& c) {
         pb::TransitionRequest r;
         r.set_assignment_id(lead);
         actor(&r);
         pb::Assignment o;
         return s.StartAssignment(&c, r, &o);
       },
       StatusCode::FAILED_PRECONDITION, ""},
      {"ReportProgress",
       [&](auto& s, auto& c) {
         pb::ReportProgressRequest r;
         r.set_assignment_id(lead);
         r.set_percent(120);
         actor(&r);
         pb::ReportProgressResponse o;
         return s.ReportProgress(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "percent"},
      {"SubmitAssignment",
       [&](auto& s, auto& c) {
         pb::TransitionRequest r;
         r.set_assignment_id(lead);
         r.set_request_id(std::string(200, 'x'));
         actor(&r);
         pb::Assignment o;
         return s.SubmitAssignment(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "request_id"},
      {"ApproveAssignment",
       [&](auto& s, auto& c) {
         pb::TransitionRequest r;
         r.set_assignment_id("a-404");
         actor(&r);
         pb::Assignment o;
         return s.ApproveAssignment(&c, r, &o);
       },
       StatusCode::NOT_FOUND, "assignment_id"},
      {"ReturnAssignment",
       [&](auto& s, auto& c) {
         pb::ReturnAssignmentRequest r;
         r.set_assignment_id(lead);
         actor(&r);
         pb::Assignment o;
         return s.ReturnAssignment(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "reason"},
      {"CancelAssignment",
       [&](auto& s, auto& c) {
         pb::CancelAssignmentRequest r;
         r.set_assignment_id(lead);
         r.set_reason("why");
         r.set_etag("9");
         actor(&r);
         pb::Assignment o;
         return s.CancelAssignment(&c, r, &o);
       },
       StatusCode::ABORTED, "etag"},
      {"ListAuditEvents",
       [](auto& s, auto& c) {
         pb::ListAuditEventsRequest r;
         r.set_task_id("t1");
         r.set_page_token("forged");
         pb::ListAuditEventsResponse o;
         return s.ListAuditEvents(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "page_token"},
      {"ListProgressReports",
       [](auto& s, auto& c) {
         pb::ListProgressReportsRequest r;
         pb::ListProgressReportsResponse o;
         return s.ListProgressReports(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "assignment_id"},
      {"RequestExtension",
       [&](auto& s, auto& c) {
         pb::RequestExtensionRequest r;
         r.set_assignment_id(lead);
         r.set_reason("r");
         actor(&r);
         pb::ExtensionRequest o;
         return s.RequestExtension(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "requested_deadline"},
      {"GetExtensionRequest",
       [](auto& s, auto& c) {
         pb::GetExtensionRequestRequest r;
         r.set_id("x-404");
         pb::ExtensionRequest o;
         return s.GetExtensionRequest(&c, r, &o);
       },
       StatusCode::NOT_FOUND, "id"},
      {"ListExtensionRequests",
       [](auto& s, auto& c) {
         pb::ListExtensionRequestsRequest r;
         r.set_plan_id("p1");
         r.add_states(static_cast<pb::ExtensionState>(42));
         pb::ListExtensionRequestsResponse o;
         return s.ListExtensionRequests(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "states[0]"},
      {"ApproveExtension",
       [&](auto& s, auto& c) {
         pb::DecideExtensionRequest r;
         r.set_id(ext_id);
         actor(&r);
         r.mutable_granted_deadline();  // set but empty
         pb::ExtensionRequest o;
         return s.ApproveExtension(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "granted_deadline"},
      {"CascadeTask",
       [&](auto& s, auto& c) {
         pb::CascadeTaskRequest r;
         r.set_task_id("t1");
         r.set_root_unit_id("gd.zq");
         r.add_unit_kinds(pb::UNIT_KIND_PARTY_BRANCH);  // none in this tree
         actor(&r);
         pb::CascadeTaskResponse o;
         return s.CascadeTask(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "root_unit_id"},
      {"CascadeTask deadline",
       [&](auto& s, auto& c) {
         pb::CascadeTaskRequest r;
         r.set_task_id("t1");
         r.set_root_unit_id("gd.zq");
         r.mutable_deadline();  // set but empty
         actor(&r);
         pb::CascadeTaskResponse o;
         return s.CascadeTask(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "deadline"},
      {"GetBoard",
       [](auto& s, auto& c) {
         pb::GetBoardRequest r;
         r.set_plan_id("p1");
         r.set_group_by(pb::BOARD_GROUPING_CHILD_OF_ROOT);
         pb::GetBoardResponse o;
         return s.GetBoard(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "root_unit_id"},
      {"GetCoverage",
       [](auto& s, auto& c) {
         pb::GetCoverageRequest r;
         r.set_task_id("t1");
         r.mutable_reported_since()->set_nanos(2000000000);
         r.set_gap(pb::COVERAGE_GAP_NOT_REPORTED);
         pb::GetCoverageResponse o;
         return s.GetCoverage(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "reported_since"},
      {"GetBurden",
       [](auto& s, auto& c) {
         pb::GetBurdenRequest r;
         r.set_root_unit_id("gd.nowhere");
         pb::GetBurdenResponse o;
         return s.GetBurden(&c, r, &o);
       },
       StatusCode::NOT_FOUND, "root_unit_id"},
      {"SetAssignmentBudget",
       [&](auto& s, auto& c) {
         pb::SetAssignmentBudgetRequest r;
         r.mutable_budget()->set_unit_id("gd.nowhere");
         r.mutable_budget()->set_max_open_assignments(3);
         actor(&r);
         pb::AssignmentBudget o;
         return s.SetAssignmentBudget(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "budget.unit_id"},
      {"ListAssignmentBudgets",
       [](auto& s, auto& c) {
         pb::ListAssignmentBudgetsRequest r;
         r.set_page_size(-3);
         pb::ListAssignmentBudgetsResponse o;
         return s.ListAssignmentBudgets(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "page_size"},
      {"DeleteAssignmentBudget",
       [&](auto& s, auto& c) {
         pb::DeleteAssignmentBudgetRequest r;
         r.set_unit_kind(pb::UNIT_KIND_CITY);
         actor(&r);
         pb::DeleteAssignmentBudgetResponse o;
         return s.DeleteAssignmentBudget(&c, r, &o);
       },
       StatusCode::NOT_FOUND, "unit_kind"},
      {"RejectExtension",
       [&](auto& s, auto& c) {
         pb::DecideExtensionRequest r;
         r.set_id(ext_id);
         actor(&r);
         pb::ExtensionRequest o;
         return s.RejectExtension(&c, r, &o);
       },
       StatusCode::INVALID_ARGUMENT, "note"},
  };
  for (const auto& bc : calls) {
    grpc::ClientContext ctx;
    grpc::Status s = bc.call(*stub_, ctx);
    EXPECT_EQ(s.error_code(), bc.code) << bc.name << ": " << s.error_message();
    auto fields = ViolatedFields(s);
    if (bc.field.empty()) {
      EXPECT_TRUE(fields.empty()) << bc.name;
    } else {
      ASSERT_FALSE(fields.empty()) << bc.name << ": " << s.error_message();
      EXPECT_EQ(fields[0], bc.field) << bc.name;
    }
  }
  EXPECT_EQ(Dump(), before);
}

TEST_F(TaskGrpcTest, UnitServiceAwayIsUnavailableAndWritesNothing) {
  CreatePlan();
  const std::string before = Dump();
  units_->Stop();
  grpc::ClientContext ctx;
  pb::CreateTaskRequest req;
  req.mutable_task()->set_plan_id("p1");
  req.mutable_task()->set_title("x");
  req.mutable_task()->set_lead_unit_id("gd.zq.edu");
  req.mutable_task()->mutable_deadline()->mutable_absolute_time()->set_seconds(1893456000);
  SetActor(req.mutable_actor());
  pb::Task out;
  auto s = stub_->CreateTask(&ctx, req, &out);
  EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(Dump(), before);
}

TEST_F(TaskGrpcTest, BoardCoverageAndBurden) {
  CreatePlan();
  pb::Task task = CreateTask("t1");
  {
    grpc::ClientContext ctx;
    pb::CascadeTaskRequest req;
    req.set_task_id("t1");
    req.set_root_unit_id("gd.zq");
    req.add_unit_kinds(pb::UNIT_KIND_DEPARTMENT);
    SetActor(req.mutable_actor());
    pb::CascadeTaskResponse resp;
    ASSERT_TRUE(stub_->CascadeTask(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.created_tasks(), 2);
  }
  {
    grpc::ClientContext ctx;
    pb::GetBoardRequest req;
    req.set_plan_id("p1");
    req.set_group_by(pb::BOARD_GROUPING_CHILD_OF_ROOT);
    req.set_root_unit_id("gd.zq");
    pb::GetBoardResponse resp;
    ASSERT_TRUE(stub_->GetBoard(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.group_count(), 2);
    EXPECT_EQ(resp.totals().total(), 4);
    EXPECT_EQ(resp.totals().state_counts().assigned(), 4);
    EXPECT_EQ(resp.groups(0).label(), "单位" + resp.groups(0).key());
    EXPECT_EQ(resp.totals().lights().green(), 4);
  }
  {
    grpc::ClientContext ctx;
    pb::GetCoverageRequest req;
    req.set_task_id("t1");
    req.set_gap(pb::COVERAGE_GAP_NOT_ACKNOWLEDGED);
    pb::GetCoverageResponse resp;
    ASSERT_TRUE(stub_->GetCoverage(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.total(), 2);
    ASSERT_EQ(resp.units_size(), 2);
    EXPECT_EQ(resp.units(0).unit_id(), "gd.zq.edu");
  }
  {
    grpc::ClientContext ctx;
    pb::GetBurdenRequest req;
    req.set_root_unit_id("gd");
    pb::GetBurdenResponse resp;
    ASSERT_TRUE(stub_->GetBurden(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.units_size(), 2);
    EXPECT_EQ(resp.units(0).open_assignments(), 2);
    EXPECT_EQ(resp.units(0).unit_kind(), pb::UNIT_KIND_DEPARTMENT);
  }
}

TEST_F(TaskGrpcTest, CascadeOverBudgetCarriesAQuotaFailure) {
  CreatePlan();
  pb::Task task = CreateTask("t1");  // gd.zq.edu leads, gd.zq.fin cooperates
  {
    grpc::ClientContext ctx;
    pb::SetAssignmentBudgetRequest req;
    req.mutable_budget()->set_unit_kind(pb::UNIT_KIND_DEPARTMENT);
    req.mutable_budget()->set_max_open_assignments(1);
    SetActor(req.mutable_actor());
    pb::AssignmentBudget resp;
    ASSERT_TRUE(stub_->SetAssignmentBudget(&ctx, req, &resp).ok());
  }
  pb::CascadeTaskRequest req;
  req.set_task_id("t1");
  req.set_root_unit_id("gd.zq");
  req.add_unit_kinds(pb::UNIT_KIND_DEPARTMENT);
  SetActor(req.mutable_actor());
  const std::string before = Dump();
  {
    grpc::ClientContext ctx;
    pb::CascadeTaskResponse resp;
    grpc::Status s = stub_->CascadeTask(&ctx, req, &resp);
    ASSERT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    google::rpc::Status details;
    ASSERT_TRUE(details.ParseFromString(s.error_details()));
    google::rpc::QuotaFailure quota;
    bool found = false;
    for (const auto& any : details.details()) found |= any.UnpackTo(&quota);
    ASSERT_TRUE(found);
    ASSERT_EQ(quota.violations_size(), 2);
    EXPECT_EQ(quota.violations(0).subject(), "units/gd.zq.edu");
    EXPECT_EQ(quota.violations(1).subject(), "units/gd.zq.fin");
  }
  EXPECT_EQ(Dump(), before);
  req.set_force(true);
  grpc::ClientContext ctx;
  pb::CascadeTaskResponse resp;
  ASSERT_TRUE(stub_->CascadeTask(&ctx, req, &resp).ok());
  EXPECT_TRUE(resp.applied());
  EXPECT_EQ(resp.created_tasks(), 2);
  EXPECT_EQ(resp.over_budget_count(), 2);
  EXPECT_EQ(resp.over_budget(0).unit_kind(), pb::UNIT_KIND_DEPARTMENT);
  grpc::ClientContext lctx;
  pb::ListAssignmentBudgetsRequest lreq;
  pb::ListAssignmentBudgetsResponse lresp;
  ASSERT_TRUE(stub_->ListAssignmentBudgets(&lctx, lreq, &lresp).ok());
  ASSERT_EQ(lresp.budgets_size(), 1);
  EXPECT_EQ(lresp.budgets(0).max_open_assignments(), 1);
}

// duban-tasks' unit cache against a real UnitService: what ArchiveUnit or RestoreUnit changed
// is seen by the very next check after they return, even while other checks keep the cache
// busy; and without the watch the cache is not used.
TEST(UnitWatchTest, TheNextCheckAfterAUnitWriteReturnsSeesTheWrite) {
  duban::testing::TempDir dir;
  UnitsServer units(dir.File("units.db"));
  units.Add("gd", "", upb::UNIT_KIND_PROVINCE);
  units.Add("gd.zq", "gd", upb::UNIT_KIND_CITY);
  units.Add("gd.zq.edu", "gd.zq", upb::UNIT_KIND_DEPARTMENT);
  auto channel = MakeChannel(units.address());
  auto stub = upb::UnitService::NewStub(channel);
  GrpcUnitClient grpc_units(channel, std::chrono::seconds(2));
  const std::chrono::milliseconds heartbeat(100);
  WatchedUnitCache cache(grpc_units, 3 * heartbeat);
  UnitWatch watch(channel, cache, heartbeat);
  watch.Start();
  for (int i = 0; i < 500 && !cache.live(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(cache.live());

  auto archived = [&](const std::string& id) {
    auto r = cache.BatchGetUnits({id});
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r.ok() ? r->size() : 0u, 1u);
    return r.ok() && r->size() == 1 && (*r)[0].archived;
  };
  EXPECT_FALSE(archived("gd.zq.edu"));
  EXPECT_FALSE(archived("gd.zq.edu"));
  EXPECT_EQ(cache.hits(), 1);

  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop) (void)cache.BatchGetUnits({"gd.zq.edu", "gd.zq"});
  });
  auto set_archived = [&](bool archive) {
    grpc::ClientContext ctx;
    upb::Unit resp;
    if (archive) {
      upb::ArchiveUnitRequest req;
      req.set_id("gd.zq.edu");
      return stub->ArchiveUnit(&ctx, req, &resp);
    }
    upb::RestoreUnitRequest req;
    req.set_id("gd.zq.edu");
    return stub->RestoreUnit(&ctx, req, &resp);
  };
  for (int i = 0; i < 40; ++i) {
    const bool archive = i % 2 == 0;
    grpc::Status s = set_archived(archive);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(archived("gd.zq.edu"), archive) << "round " << i;
  }
  stop = true;
  busy.join();
  EXPECT_GT(cache.hits(), 1);

  // UnitService goes away: the watch ends, the cache empties and checks fail as before.
  units.Stop();
  for (int i = 0; i < 500 && cache.live(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(cache.live());
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.BatchGetUnits({"gd.zq"}).status().code(), absl::StatusCode::kUnavailable);
  watch.Stop();
}

}  // namespace
}  // namespace duban::tasks
