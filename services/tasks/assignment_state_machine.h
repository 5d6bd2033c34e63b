#pragma once
// AssignmentStateMachine: the legal moves of an assignment, as a pure table (no I/O).
//
//   Acknowledge     ASSIGNED                            -> ACKNOWLEDGED
//   Start           ACKNOWLEDGED, RETURNED              -> IN_PROGRESS
//   ReportProgress  ACKNOWLEDGED, RETURNED              -> IN_PROGRESS
//                   IN_PROGRESS                         -> IN_PROGRESS (no transition)
//   Submit          ACKNOWLEDGED, IN_PROGRESS, RETURNED -> SUBMITTED
//   Approve         SUBMITTED                           -> DONE
//   Return          SUBMITTED                           -> RETURNED
//   Cancel          any open state                      -> CANCELED
//
// Anything else is FAILED_PRECONDITION with a message naming the current state, e.g.
// "assignment is SUBMITTED; Acknowledge needs ASSIGNED".
#include <vector>

#include <absl/status/statusor.h>

#include "task_model.h"

namespace duban::tasks {

enum class AssignmentAction {
  kAcknowledge,
  kStart,
  kReportProgress,
  kSubmit,
  kApprove,
  kReturn,
  kCancel,
};
inline constexpr AssignmentAction kAllAssignmentActions[] = {
    AssignmentAction::kAcknowledge, AssignmentAction::kStart,   AssignmentAction::kReportProgress,
    AssignmentAction::kSubmit,      AssignmentAction::kApprove, AssignmentAction::kReturn,
    AssignmentAction::kCancel,
};

// "Acknowledge", "Start", ...
const char* ActionName(AssignmentAction action);

class AssignmentStateMachine {
 public:
  // The states `action` is legal from.
  static std::vector<AssignmentState> SourcesOf(AssignmentAction action);
  static bool Allows(AssignmentState from, AssignmentAction action);
  // The state after `action`, or FAILED_PRECONDITION naming `from`.
  static absl::StatusOr<AssignmentState> Apply(AssignmentState from, AssignmentAction action);
};

}  // namespace duban::tasks
