#pragma once
// Roll-calls (点名调度) as the domain and the store see them: the recurring schedule, its
// rounds, and the units called in each round. Times are int64 microseconds since the Unix
// epoch, as stored. No protobuf.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

namespace duban::reminders {

struct RollCallSchedule {
  enum class Type { kNone = 0, kWeekly = 1, kWorkingDays = 2 };
  Type type = Type::kNone;
  // kWeekly: 1 (Monday) .. 7 (Sunday), as duban.reminders.v1.Weekday.
  std::vector<int> weekdays;
  // kWorkingDays.
  int every_working_days = 0;
  // kWorkingDays: the first round's date; resolved on create when the caller leaves it unset,
  // so the rhythm does not drift with later updates or restarts.
  std::optional<absl::CivilDay> start_date;
  // Local time of day of every round; unset = the caller did not give one (a violation).
  std::optional<absl::Duration> time;
};

struct RollCall {
  std::string id;
  std::string name;
  std::string plan_id;
  std::string root_unit_id;
  std::string task_id;
  RollCallSchedule schedule;
  int chase_after_working_days = 0;
  int max_chases = 0;
  bool paused = false;
  // Deleted roll-calls keep their row so their rounds and ledger rows stay listable.
  bool deleted = false;
  // The root unit's zone, read from UnitService on create (rounds are local times there).
  std::string timezone;
  std::optional<int64_t> next_round_us;
  std::string last_round_id;
  int64_t revision = 1;
  int64_t create_us = 0;
  int64_t update_us = 0;
  std::string request_id;
};

struct RollCallRound {
  std::string id;
  std::string roll_call_id;
  int64_t number = 0;
  bool open = true;
  int64_t start_us = 0;
  std::optional<int64_t> close_us;
  // Chase waves already sent (0..max_chases) and when the next one is due.
  int chases_done = 0;
  std::optional<int64_t> next_chase_us;
  // The roll-call's chase settings when the round began: an open round keeps its plan.
  int chase_after_working_days = 0;
  int max_chases = 0;
  std::string request_id;  // StartRollCallRound's, empty for scheduled rounds
};

// One unit called in a round: the open assignments listed at the start and the messages sent.
struct RoundUnit {
  std::string round_id;
  std::string unit_id;
  std::vector<std::string> assignment_ids;
  std::string reminder_id;
  std::vector<std::string> chase_reminder_ids;
};

struct RollCallFilter {
  std::string plan_id;
  std::string root_unit_id;
  bool include_paused = false;
};

}  // namespace duban::reminders
