#include "assignment_state_machine.h"

#include <algorithm>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>

namespace duban::tasks {

const char* ActionName(AssignmentAction action) {
  switch (action) {
    case AssignmentAction::kAcknowledge:
      return "Acknowledge";
    case AssignmentAction::kStart:
      return "Start";
    case AssignmentAction::kReportProgress:
      return "ReportProgress";
    case AssignmentAction::kSubmit:
      return "Submit";
    case AssignmentAction::kApprove:
      return "Approve";
    case AssignmentAction::kReturn:
      return "Return";
    case AssignmentAction::kCancel:
      return "Cancel";
  }
  return "?";
}

std::vector<AssignmentState> AssignmentStateMachine::SourcesOf(AssignmentAction action) {
  using S = AssignmentState;
  switch (action) {
    case AssignmentAction::kAcknowledge:
      return {S::kAssigned};
    case AssignmentAction::kStart:
      return {S::kAcknowledged, S::kReturned};
    case AssignmentAction::kReportProgress:
      return {S::kAcknowledged, S::kInProgress, S::kReturned};
    case AssignmentAction::kSubmit:
      return {S::kAcknowledged, S::kInProgress, S::kReturned};
    case AssignmentAction::kApprove:
      return {S::kSubmitted};
    case AssignmentAction::kReturn:
      return {S::kSubmitted};
    case AssignmentAction::kCancel:
      return {S::kAssigned, S::kAcknowledged, S::kInProgress, S::kSubmitted, S::kReturned};
  }
  return {};
}

bool AssignmentStateMachine::Allows(AssignmentState from, AssignmentAction action) {
  auto sources = SourcesOf(action);
  return std::find(sources.begin(), sources.end(), from) != sources.end();
}

absl::StatusOr<AssignmentState> AssignmentStateMachine::Apply(AssignmentState from,
                                                              AssignmentAction action) {
  if (!Allows(from, action)) {
    std::string needs;
    if (action == AssignmentAction::kCancel) {
      needs = "an open state";
    } else if (action == AssignmentAction::kReportProgress && from == AssignmentState::kAssigned) {
      return absl::FailedPreconditionError(
          "assignment is ASSIGNED; acknowledge it before reporting progress");
    } else {
      std::vector<std::string> names;
      for (AssignmentState s : SourcesOf(action)) names.push_back(StateName(s));
      needs = absl::StrJoin(names, " or ");
    }
    return absl::FailedPreconditionError(absl::StrCat("assignment is ", StateName(from), "; ",
                                                      ActionName(action), " needs ", needs));
  }
  switch (action) {
    case AssignmentAction::kAcknowledge:
      return AssignmentState::kAcknowledged;
    case AssignmentAction::kStart:
    case AssignmentAction::kReportProgress:
      return AssignmentState::kInProgress;
    case AssignmentAction::kSubmit:
      return AssignmentState::kSubmitted;
    case AssignmentAction::kApprove:
      return AssignmentState::kDone;
    case AssignmentAction::kReturn:
      return AssignmentState::kReturned;
    case AssignmentAction::kCancel:
      return AssignmentState::kCanceled;
  }
  return absl::InternalError("unknown action");
}

}  // namespace duban::tasks
