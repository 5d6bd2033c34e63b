#pragma once
// The thin gRPC adapter of duban-reminders: proto <-> domain conversion and one status
// conversion. Methods not overridden here answer UNIMPLEMENTED.
#include "duban/calendar/working_calendar.h"
#include "duban/reminders/v1/reminders.grpc.pb.h"
#include "reminder_ledger.h"

namespace duban::reminders {

namespace pb = ::duban::reminders::v1;

class ReminderGrpcService final : public pb::ReminderService::Service {
 public:
  ReminderGrpcService(ReminderLedger& ledger, const calendar::WorkingCalendar& calendar)
      : ledger_(ledger), calendar_(calendar), load_time_(absl::Now()) {}

  // Policies.
  grpc::Status CreatePolicy(grpc::ServerContext*, const pb::CreatePolicyRequest*,
                            pb::ReminderPolicy*) override;
  grpc::Status GetPolicy(grpc::ServerContext*, const pb::GetPolicyRequest*,
                         pb::ReminderPolicy*) override;
  grpc::Status ListPolicies(grpc::ServerContext*, const pb::ListPoliciesRequest*,
                            pb::ListPoliciesResponse*) override;
  grpc::Status UpdatePolicy(grpc::ServerContext*, const pb::UpdatePolicyRequest*,
                            pb::ReminderPolicy*) override;
  grpc::Status DeletePolicy(grpc::ServerContext*, const pb::DeletePolicyRequest*,
                            pb::DeletePolicyResponse*) override;
  grpc::Status SetPlanDefaultPolicy(grpc::ServerContext*, const pb::SetPlanDefaultPolicyRequest*,
                                    pb::PlanDefaultPolicy*) override;
  grpc::Status GetPlanDefaultPolicy(grpc::ServerContext*, const pb::GetPlanDefaultPolicyRequest*,
                                    pb::PlanDefaultPolicy*) override;
  grpc::Status PreviewSchedule(grpc::ServerContext*, const pb::PreviewScheduleRequest*,
                               pb::PreviewScheduleResponse*) override;

  // Roll-calls.
  grpc::Status CreateRollCall(grpc::ServerContext*, const pb::CreateRollCallRequest*,
                              pb::RollCall*) override;
  grpc::Status GetRollCall(grpc::ServerContext*, const pb::GetRollCallRequest*,
                           pb::RollCall*) override;
  grpc::Status ListRollCalls(grpc::ServerContext*, const pb::ListRollCallsRequest*,
                             pb::ListRollCallsResponse*) override;
  grpc::Status UpdateRollCall(grpc::ServerContext*, const pb::UpdateRollCallRequest*,
                              pb::RollCall*) override;
  grpc::Status PauseRollCall(grpc::ServerContext*, const pb::PauseRollCallRequest*,
                             pb::RollCall*) override;
  grpc::Status ResumeRollCall(grpc::ServerContext*, const pb::ResumeRollCallRequest*,
                              pb::RollCall*) override;
  grpc::Status DeleteRollCall(grpc::ServerContext*, const pb::DeleteRollCallRequest*,
                              pb::DeleteRollCallResponse*) override;
  grpc::Status StartRollCallRound(grpc::ServerContext*, const pb::StartRollCallRoundRequest*,
                                  pb::RollCallRound*) override;
  grpc::Status ListRollCallRounds(grpc::ServerContext*, const pb::ListRollCallRoundsRequest*,
                                  pb::ListRollCallRoundsResponse*) override;
  grpc::Status ListRollCallRoundUnits(grpc::ServerContext*,
                                      const pb::ListRollCallRoundUnitsRequest*,
                                      pb::ListRollCallRoundUnitsResponse*) override;

  // Burden budget.
  grpc::Status SetBurdenBudget(grpc::ServerContext*, const pb::SetBurdenBudgetRequest*,
                               pb::BurdenBudget*) override;
  grpc::Status ListBurdenBudgets(grpc::ServerContext*, const pb::ListBurdenBudgetsRequest*,
                                 pb::ListBurdenBudgetsResponse*) override;
  grpc::Status DeleteBurdenBudget(grpc::ServerContext*, const pb::DeleteBurdenBudgetRequest*,
                                  pb::DeleteBurdenBudgetResponse*) override;
  grpc::Status GetBurdenUsage(grpc::ServerContext*, const pb::GetBurdenUsageRequest*,
                              pb::GetBurdenUsageResponse*) override;

  // Outbox calls.
  grpc::Status ScheduleAssignment(grpc::ServerContext*, const pb::ScheduleAssignmentRequest*,
                                  pb::ScheduleAssignmentResponse*) override;
  grpc::Status CancelAssignment(grpc::ServerContext*, const pb::CancelAssignmentRequest*,
                                pb::CancelAssignmentResponse*) override;
  grpc::Status BatchScheduleAssignments(grpc::ServerContext*,
                                        const pb::BatchScheduleAssignmentsRequest*,
                                        pb::BatchScheduleAssignmentsResponse*) override;

  // Ledger and operations.
  grpc::Status GetReminder(grpc::ServerContext*, const pb::GetReminderRequest*,
                           pb::Reminder*) override;
  grpc::Status BatchGetReminders(grpc::ServerContext*, const pb::BatchGetRemindersRequest*,
                                 pb::BatchGetRemindersResponse*) override;
  grpc::Status ListReminders(grpc::ServerContext*, const pb::ListRemindersRequest*,
                             pb::ListRemindersResponse*) override;
  grpc::Status ListDeadLetters(grpc::ServerContext*, const pb::ListDeadLettersRequest*,
                               pb::ListDeadLettersResponse*) override;
  grpc::Status RetryDeadLetters(grpc::ServerContext*, const pb::RetryDeadLettersRequest*,
                                pb::RetryDeadLettersResponse*) override;
  grpc::Status RecordDeliveries(grpc::ServerContext*, const pb::RecordDeliveriesRequest*,
                                pb::RecordDeliveriesResponse*) override;
  grpc::Status Reconcile(grpc::ServerContext*, const pb::ReconcileRequest*,
                         pb::ReconcileResponse*) override;
  grpc::Status GetQueueStats(grpc::ServerContext*, const pb::GetQueueStatsRequest*,
                             pb::QueueStats*) override;

  // Calendar.
  grpc::Status IsWorkingDay(grpc::ServerContext*, const pb::IsWorkingDayRequest*,
                            pb::CalendarDay*) override;
  grpc::Status AddWorkingDays(grpc::ServerContext*, const pb::AddWorkingDaysRequest*,
                              pb::AddWorkingDaysResponse*) override;
  grpc::Status ListCalendarDays(grpc::ServerContext*, const pb::ListCalendarDaysRequest*,
                                pb::ListCalendarDaysResponse*) override;
  grpc::Status GetCalendarInfo(grpc::ServerContext*, const pb::GetCalendarInfoRequest*,
                               pb::CalendarInfo*) override;

 private:
  ReminderLedger& ledger_;
  const calendar::WorkingCalendar& calendar_;
  const absl::Time load_time_;
};

}  // namespace duban::reminders
