// Every (state, action) pair of AssignmentStateMachine: the legal ones and their target, and
// every illegal one is FAILED_PRECONDITION naming the current state.
#include "assignment_state_machine.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <utility>

namespace duban::tasks {
namespace {

using S = AssignmentState;
using A = AssignmentAction;

// The table from tasks.proto (AssignmentState); absent pairs are illegal.
const std::map<std::pair<S, A>, S>& Legal() {
  static const std::map<std::pair<S, A>, S> kLegal = {
      {{S::kAssigned, A::kAcknowledge}, S::kAcknowledged},
      {{S::kAcknowledged, A::kStart}, S::kInProgress},
      {{S::kReturned, A::kStart}, S::kInProgress},
      {{S::kAcknowledged, A::kReportProgress}, S::kInProgress},
      {{S::kReturned, A::kReportProgress}, S::kInProgress},
      {{S::kInProgress, A::kReportProgress}, S::kInProgress},
      {{S::kAcknowledged, A::kSubmit}, S::kSubmitted},
      {{S::kInProgress, A::kSubmit}, S::kSubmitted},
      {{S::kReturned, A::kSubmit}, S::kSubmitted},
      {{S::kSubmitted, A::kApprove}, S::kDone},
      {{S::kSubmitted, A::kReturn}, S::kReturned},
      {{S::kAssigned, A::kCancel}, S::kCanceled},
      {{S::kAcknowledged, A::kCancel}, S::kCanceled},
      {{S::kInProgress, A::kCancel}, S::kCanceled},
      {{S::kSubmitted, A::kCancel}, S::kCanceled},
      {{S::kReturned, A::kCancel}, S::kCanceled},
  };
  return kLegal;
}

TEST(AssignmentStateMachine, EveryPairFollowsTheTable) {
  int legal = 0;
  int illegal = 0;
  for (int s = 0; s <= kMaxAssignmentState; ++s) {
    const S from = static_cast<S>(s);
    for (A action : kAllAssignmentActions) {
      auto it = Legal().find({from, action});
      auto result = AssignmentStateMachine::Apply(from, action);
      SCOPED_TRACE(std::string(StateName(from)) + " " + ActionName(action));
      if (it != Legal().end()) {
        ++legal;
        ASSERT_TRUE(result.ok()) << result.status();
        EXPECT_EQ(*result, it->second);
        EXPECT_TRUE(AssignmentStateMachine::Allows(from, action));
      } else {
        ++illegal;
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
        EXPECT_NE(result.status().message().find(StateName(from)), absl::string_view::npos)
            << result.status();
        EXPECT_FALSE(AssignmentStateMachine::Allows(from, action));
      }
    }
  }
  EXPECT_EQ(legal, 16);
  EXPECT_EQ(illegal, 8 * 7 - 16);
}

TEST(AssignmentStateMachine, MessagesSayWhatIsNeeded) {
  auto ack = AssignmentStateMachine::Apply(S::kSubmitted, A::kAcknowledge);
  EXPECT_EQ(ack.status().message(), "assignment is SUBMITTED; Acknowledge needs ASSIGNED");
  auto report = AssignmentStateMachine::Apply(S::kAssigned, A::kReportProgress);
  EXPECT_NE(report.status().message().find("acknowledge it"), absl::string_view::npos);
  auto cancel = AssignmentStateMachine::Apply(S::kDone, A::kCancel);
  EXPECT_EQ(cancel.status().message(), "assignment is DONE; Cancel needs an open state");
}

TEST(AssignmentStateMachine, FinalStatesHaveNoWayOut) {
  for (S s : {S::kDone, S::kCanceled}) {
    EXPECT_FALSE(IsOpen(s));
    for (A action : kAllAssignmentActions) {
      EXPECT_FALSE(AssignmentStateMachine::Allows(s, action));
    }
  }
}

}  // namespace
}  // namespace duban::tasks
