#pragma once
// The thin gRPC adapter of duban-tasks: proto <-> domain conversion and one status conversion.
#include "duban/tasks/v1/tasks.grpc.pb.h"
#include "task_directory.h"

namespace duban::tasks {

namespace pb = ::duban::tasks::v1;

class TaskGrpcService final : public pb::TaskService::Service {
 public:
  explicit TaskGrpcService(TaskDirectory& directory) : directory_(directory) {}

  using Ctx = grpc::ServerContext;
  grpc::Status CreatePlan(Ctx*, const pb::CreatePlanRequest*, pb::Plan*) override;
  grpc::Status GetPlan(Ctx*, const pb::GetPlanRequest*, pb::Plan*) override;
  grpc::Status ListPlans(Ctx*, const pb::ListPlansRequest*, pb::ListPlansResponse*) override;
  grpc::Status UpdatePlan(Ctx*, const pb::UpdatePlanRequest*, pb::Plan*) override;
  grpc::Status ArchivePlan(Ctx*, const pb::ArchivePlanRequest*, pb::Plan*) override;

  grpc::Status CreateTask(Ctx*, const pb::CreateTaskRequest*, pb::Task*) override;
  grpc::Status GetTask(Ctx*, const pb::GetTaskRequest*, pb::Task*) override;
  grpc::Status ListTasks(Ctx*, const pb::ListTasksRequest*, pb::ListTasksResponse*) override;
  grpc::Status UpdateTask(Ctx*, const pb::UpdateTaskRequest*, pb::Task*) override;
  grpc::Status CancelTask(Ctx*, const pb::CancelTaskRequest*, pb::Task*) override;
  grpc::Status CascadeTask(Ctx*, const pb::CascadeTaskRequest*, pb::CascadeTaskResponse*) override;
  grpc::Status ResolveDeadline(Ctx*, const pb::ResolveDeadlineRequest*,
                               pb::ResolveDeadlineResponse*) override;

  grpc::Status GetAssignment(Ctx*, const pb::GetAssignmentRequest*, pb::Assignment*) override;
  grpc::Status BatchGetAssignments(Ctx*, const pb::BatchGetAssignmentsRequest*,
                                   pb::BatchGetAssignmentsResponse*) override;
  grpc::Status ListAssignments(Ctx*, const pb::ListAssignmentsRequest*,
                               pb::ListAssignmentsResponse*) override;
  grpc::Status AcknowledgeAssignment(Ctx*, const pb::TransitionRequest*, pb::Assignment*) override;
  grpc::Status StartAssignment(Ctx*, const pb::TransitionRequest*, pb::Assignment*) override;
  grpc::Status ReportProgress(Ctx*, const pb::ReportProgressRequest*,
                              pb::ReportProgressResponse*) override;
  grpc::Status SubmitAssignment(Ctx*, const pb::TransitionRequest*, pb::Assignment*) override;
  grpc::Status ApproveAssignment(Ctx*, const pb::TransitionRequest*, pb::Assignment*) override;
  grpc::Status ReturnAssignment(Ctx*, const pb::ReturnAssignmentRequest*, pb::Assignment*) override;
  grpc::Status CancelAssignment(Ctx*, const pb::CancelAssignmentRequest*, pb::Assignment*) override;
  grpc::Status ListAuditEvents(Ctx*, const pb::ListAuditEventsRequest*,
                               pb::ListAuditEventsResponse*) override;
  grpc::Status ListProgressReports(Ctx*, const pb::ListProgressReportsRequest*,
                                   pb::ListProgressReportsResponse*) override;

  grpc::Status RequestExtension(Ctx*, const pb::RequestExtensionRequest*,
                                pb::ExtensionRequest*) override;
  grpc::Status GetExtensionRequest(Ctx*, const pb::GetExtensionRequestRequest*,
                                   pb::ExtensionRequest*) override;
  grpc::Status ListExtensionRequests(Ctx*, const pb::ListExtensionRequestsRequest*,
                                     pb::ListExtensionRequestsResponse*) override;
  grpc::Status ApproveExtension(Ctx*, const pb::DecideExtensionRequest*,
                                pb::ExtensionRequest*) override;
  grpc::Status RejectExtension(Ctx*, const pb::DecideExtensionRequest*,
                               pb::ExtensionRequest*) override;

  grpc::Status GetBoard(Ctx*, const pb::GetBoardRequest*, pb::GetBoardResponse*) override;
  grpc::Status GetCoverage(Ctx*, const pb::GetCoverageRequest*, pb::GetCoverageResponse*) override;
  grpc::Status GetBurden(Ctx*, const pb::GetBurdenRequest*, pb::GetBurdenResponse*) override;

  grpc::Status SetAssignmentBudget(Ctx*, const pb::SetAssignmentBudgetRequest*,
                                   pb::AssignmentBudget*) override;
  grpc::Status ListAssignmentBudgets(Ctx*, const pb::ListAssignmentBudgetsRequest*,
                                     pb::ListAssignmentBudgetsResponse*) override;
  grpc::Status DeleteAssignmentBudget(Ctx*, const pb::DeleteAssignmentBudgetRequest*,
                                      pb::DeleteAssignmentBudgetResponse*) override;

 private:
  grpc::Status Transition(AssignmentAction action, const pb::TransitionRequest* req,
                          pb::Assignment* resp);
  grpc::Status Decide(bool approve, const pb::DecideExtensionRequest* req,
                      pb::ExtensionRequest* resp);

  TaskDirectory& directory_;
};

}  // namespace duban::tasks
