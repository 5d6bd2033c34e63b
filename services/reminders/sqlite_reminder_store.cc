#include "sqlite_reminder_store.h"

#include <absl/strings/str_cat.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "sqlite_static_stmt.h"

namespace duban::reminders {

const std::vector<sqlite::Migration>& SqliteReminderStore::Migrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE policies (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  calendar    TEXT NOT NULL,
  rules       TEXT NOT NULL,            -- JSON of the planning rules
  built_in    INTEGER NOT NULL DEFAULT 0,
  revision    INTEGER NOT NULL,
  create_us   INTEGER NOT NULL,
  update_us   INTEGER NOT NULL,
  request_id  TEXT UNIQUE
);
CREATE TABLE plan_defaults (
  plan_id      TEXT PRIMARY KEY,
  policy_id    TEXT NOT NULL DEFAULT '',
  plan_version INTEGER NOT NULL,
  update_us    INTEGER NOT NULL
);
CREATE INDEX plan_defaults_by_policy ON plan_defaults(policy_id);
-- The mirror of the tasks service's assignments (fed by its outbox only).
CREATE TABLE assignments (
  id             TEXT PRIMARY KEY,
  version        INTEGER NOT NULL,
  plan_id        TEXT NOT NULL DEFAULT '',
  task_id        TEXT NOT NULL DEFAULT '',
  unit_id        TEXT NOT NULL DEFAULT '',
  role           INTEGER NOT NULL DEFAULT 0,
  state          INTEGER NOT NULL,
  policy_id      TEXT NOT NULL DEFAULT '',
  create_us      INTEGER NOT NULL DEFAULT 0,
  ack_us         INTEGER,
  deadline_us    INTEGER NOT NULL DEFAULT 0,
  milestones     TEXT NOT NULL DEFAULT '[]',
  last_report_us INTEGER,
  change_us      INTEGER NOT NULL,
  timezone       TEXT NOT NULL DEFAULT '',
  unit_kind      INTEGER NOT NULL DEFAULT 0,
  update_us      INTEGER NOT NULL
);
-- Burden budgets: scope 0 = default, 1 = per unit kind, 2 = per unit.
CREATE TABLE burden_budgets (
  scope       INTEGER NOT NULL,
  unit_kind   INTEGER NOT NULL DEFAULT 0,
  unit_id     TEXT NOT NULL DEFAULT '',
  max_per_day INTEGER NOT NULL,
  update_us   INTEGER NOT NULL,
  PRIMARY KEY (scope, unit_kind, unit_id)
) WITHOUT ROWID;
CREATE INDEX assignments_by_plan ON assignments(plan_id, id);
CREATE INDEX assignments_by_unit ON assignments(unit_id, state);
CREATE INDEX assignments_by_policy ON assignments(policy_id, id);
CREATE INDEX assignments_open ON assignments(id) WHERE state NOT IN (5, 7);
-- The ledger: one row per planned reminder; never deleted.
CREATE TABLE reminders (
  id                 TEXT PRIMARY KEY,
  kind               INTEGER NOT NULL,
  state              INTEGER NOT NULL,
  assignment_id      TEXT NOT NULL DEFAULT '',
  slot               TEXT NOT NULL,
  plan_id            TEXT NOT NULL DEFAULT '',
  task_id            TEXT NOT NULL DEFAULT '',
  unit_id            TEXT NOT NULL DEFAULT '',
  milestone_id       TEXT NOT NULL DEFAULT '',
  escalation_level   INTEGER NOT NULL DEFAULT 0,
  escalation_trigger INTEGER NOT NULL DEFAULT 0,
  policy_id          TEXT NOT NULL DEFAULT '',
  planned_us         INTEGER NOT NULL,
  rule_us            INTEGER NOT NULL,
  send_by_us         INTEGER,
  version            INTEGER NOT NULL,
  assignment_version INTEGER NOT NULL DEFAULT 0,
  suppression        INTEGER NOT NULL DEFAULT 0,
  detail             TEXT NOT NULL DEFAULT '',
  attempts           INTEGER NOT NULL DEFAULT 0,
  last_error         TEXT NOT NULL DEFAULT '',
  next_attempt_us    INTEGER,
  delivery_id        TEXT NOT NULL DEFAULT '',
  recipients         TEXT NOT NULL DEFAULT '[]',
  sent_us            INTEGER,
  dead_us            INTEGER,
  digest_id          TEXT NOT NULL DEFAULT '',
  merged_ids         TEXT NOT NULL DEFAULT '[]',
  assignment_ids     TEXT NOT NULL DEFAULT '[]',
  roll_call_id       TEXT NOT NULL DEFAULT '',
  round_id           TEXT NOT NULL DEFAULT '',
  chase              INTEGER NOT NULL DEFAULT 0,
  provisional        INTEGER NOT NULL DEFAULT 0,
  create_us          INTEGER NOT NULL,
  update_us          INTEGER NOT NULL,
  seq                INTEGER NOT NULL      -- creation order within an assignment
);
CREATE INDEX reminders_by_assignment ON reminders(assignment_id, planned_us, id);
CREATE INDEX reminders_by_assignment_seq ON reminders(assignment_id, seq);
CREATE INDEX reminders_by_unit ON reminders(unit_id, planned_us, id);
CREATE INDEX reminders_by_plan ON reminders(plan_id, planned_us, id);
CREATE INDEX reminders_by_task ON reminders(task_id, planned_us, id);
CREATE INDEX reminders_by_roll_call ON reminders(roll_call_id, planned_us, id);
CREATE INDEX reminders_pending ON reminders(id) WHERE state IN (1, 3);
CREATE INDEX reminders_dead ON reminders(dead_us, id) WHERE state = 4;
CREATE INDEX reminders_by_state ON reminders(state);
CREATE INDEX reminders_digests ON reminders(unit_id, slot, planned_us) WHERE kind = 6;
CREATE TABLE attempts (
  reminder_id TEXT NOT NULL,
  version     INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  outcome     INTEGER NOT NULL,
  error       TEXT NOT NULL DEFAULT '',
  channel     INTEGER NOT NULL DEFAULT 0,
  time_us     INTEGER NOT NULL,
  stale       INTEGER NOT NULL DEFAULT 0,
  lateness_us INTEGER,
  PRIMARY KEY (reminder_id, version, attempt, outcome)
) WITHOUT ROWID;
CREATE INDEX attempts_by_time ON attempts(reminder_id, time_us);
CREATE INDEX attempts_lateness ON attempts(time_us, lateness_us) WHERE lateness_us IS NOT NULL;
)sql"},
      // Roll-calls (点名调度): schedules, rounds and the units called per round.
      {2, R"sql(
CREATE TABLE roll_calls (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  plan_id        TEXT NOT NULL,
  root_unit_id   TEXT NOT NULL,
  task_id        TEXT NOT NULL DEFAULT '',
  schedule_type  INTEGER NOT NULL,       -- 1 weekly, 2 every N working days
  weekdays       TEXT NOT NULL DEFAULT '[]',
  every_wd       INTEGER NOT NULL DEFAULT 0,
  start_date     TEXT NOT NULL DEFAULT '',
  time_s         INTEGER NOT NULL,       -- local time of day, seconds
  chase_after    INTEGER NOT NULL DEFAULT 0,
  max_chases     INTEGER NOT NULL DEFAULT 0,
  paused         INTEGER NOT NULL DEFAULT 0,
  deleted        INTEGER NOT NULL DEFAULT 0,
  timezone       TEXT NOT NULL DEFAULT '',
  next_round_us  INTEGER,
  last_round_id  TEXT NOT NULL DEFAULT '',
  revision       INTEGER NOT NULL,
  create_us      INTEGER NOT NULL,
  update_us      INTEGER NOT NULL,
  request_id     TEXT UNIQUE
);
CREATE INDEX roll_calls_due ON roll_calls(next_round_us) WHERE next_round_us IS NOT NULL;
CREATE TABLE rollcall_rounds (
  id             TEXT PRIMARY KEY,
  roll_call_id   TEXT NOT NULL,
  number         INTEGER NOT NULL,
  open           INTEGER NOT NULL,
  start_us       INTEGER NOT NULL,
  close_us       INTEGER,
  chases_done    INTEGER NOT NULL DEFAULT 0,
  next_chase_us  INTEGER,
  chase_after    INTEGER NOT NULL DEFAULT 0,
  max_chases     INTEGER NOT NULL DEFAULT 0,
  request_id     TEXT NOT NULL DEFAULT ''
);
-- One round per (roll-call, number): a scheduled round cannot start twice.
CREATE UNIQUE INDEX rollcall_rounds_number ON rollcall_rounds(roll_call_id, number);
CREATE INDEX rollcall_rounds_open ON rollcall_rounds(roll_call_id) WHERE open = 1;
CREATE INDEX rollcall_rounds_chase ON rollcall_rounds(next_chase_us)
  WHERE open = 1 AND next_chase_us IS NOT NULL;
CREATE TABLE rollcall_round_units (
  round_id       TEXT NOT NULL,
  unit_id        TEXT NOT NULL,
  assignment_ids TEXT NOT NULL DEFAULT '[]',
  reminder_id    TEXT NOT NULL DEFAULT '',
  chase_ids      TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (round_id, unit_id)
) WITHOUT ROWID;
-- One ROLLCALL row per (round, unit, chase number): a chase cannot go out twice.
CREATE UNIQUE INDEX reminders_rollcall_once ON reminders(round_id, unit_id, chase) WHERE kind = 5;
)sql"},
      // Cheaper inserts, the hot path of scheduling a cascaded task. Only roll-call reminders
      // have a roll_call_id: indexing the empty string of every other row cost one more B-tree
      // insert per reminder for nothing; queries by roll-call repeat the index's condition so
      // the planner can use it.
      {3, R"sql(
-- Creation order within an assignment is rowid order (rows are never deleted, so rowids only
-- grow): the per-row max(seq) lookup and its index cost a B-tree search and insert per reminder.
-- seq stays for rows written before; new rows store 0.
DROP INDEX reminders_by_assignment_seq;
DROP INDEX reminders_by_roll_call;
CREATE INDEX reminders_by_roll_call ON reminders(roll_call_id, planned_us, id)
  WHERE roll_call_id != '';
)sql"},
      // Roll-calls of a key task also call the units of the tasks cascaded from it.
      {4, R"sql(
ALTER TABLE assignments ADD COLUMN task_path TEXT NOT NULL DEFAULT '';
)sql"},
      // Scheduling a cascade inserts tens of thousands of rows per second through the one
      // writer, and each index is a B-tree insert per row. Three indexes served rare reads:
      // by_plan and by_task only ListReminders' plan and task filters, which now walk one
      // time index with a bounded number of rows per call (short pages); by_state only
      // QueueStats' counts, now a counter table kept in the same transactions.
      {5, R"sql(
CREATE TABLE reminder_state_counts (
  state INTEGER PRIMARY KEY,
  n     INTEGER NOT NULL
);
INSERT INTO reminder_state_counts (state, n) SELECT state, count(*) FROM reminders GROUP BY state;
CREATE INDEX reminders_by_time ON reminders(planned_us, id);
DROP INDEX reminders_by_plan;
DROP INDEX reminders_by_task;
DROP INDEX reminders_by_state;
-- Inserts are counted by the store (one upsert per state and transaction); a state change
-- moves one row between counters here, whatever path updates the row.
CREATE TRIGGER reminders_count_state AFTER UPDATE OF state ON reminders
  WHEN old.state != new.state
BEGIN
  -- Counters may be missing (a state never seen) or owed (rows this transaction inserted).
  INSERT OR IGNORE INTO reminder_state_counts (state, n) VALUES (old.state, 0), (new.state, 0);
  UPDATE reminder_state_counts SET n = n - 1 WHERE state = old.state;
  UPDATE reminder_state_counts SET n = n + 1 WHERE state = new.state;
END;
)sql"},
  };
  return kMigrations;
}

namespace {

using nlohmann::json;
using sqlite::Connection;
using sqlite::Stmt;

// ---- JSON columns ----

// Most rows have no recipients, merged ids or milestones yet: "[]" without building a json.
constexpr char kEmptyArray[] = "[]";

std::string IdsJson(const std::vector<std::string>& ids) {
  return ids.empty() ? kEmptyArray : json(ids).dump();
}

std::vector<std::string> IdsFromJson(absl::string_view text) {
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string RecipientsJson(const std::vector<Recipient>& rs) {
  if (rs.empty()) return kEmptyArray;
  json j = json::array();
  for (const auto& r : rs) j.push_back({{"c", r.contact_id}, {"u", r.unit_id}, {"ch", r.channel}});
  return j.dump();
}

std::vector<Recipient> RecipientsFromJson(absl::string_view text) {
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  std::vector<Recipient> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    out.push_back({v.value("c", ""), v.value("u", ""), v.value("ch", 0)});
  }
  return out;
}

std::string MilestonesJson(const std::vector<MilestoneSnapshot>& ms) {
  if (ms.empty()) return kEmptyArray;
  json j = json::array();
  for (const auto& m : ms) {
    j.push_back({{"id", m.id}, {"title", m.title}, {"due", absl::ToUnixMicros(m.due)}});
  }
  return j.dump();
}

std::vector<MilestoneSnapshot> MilestonesFromJson(absl::string_view text) {
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  std::vector<MilestoneSnapshot> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    out.push_back({v.value("id", ""), v.value("title", ""),
                   absl::FromUnixMicros(v.value("due", int64_t{0}))});
  }
  return out;
}

json OffsetsJson(const std::vector<Offset>& os) {
  json j = json::array();
  for (const auto& o : os) {
    j.push_back({{"u", o.unit == Offset::Unit::kHours ? "h" : "wd"}, {"n", o.amount}});
  }
  return j;
}

std::vector<Offset> OffsetsFromJson(const json& j) {
  std::vector<Offset> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    out.push_back({v.value("u", "h") == "h" ? Offset::Unit::kHours : Offset::Unit::kWorkingDays,
                   v.value("n", 0)});
  }
  return out;
}

std::string RulesJson(const Policy& p) {
  json esc = json::array();
  for (const auto& s : p.escalation) {
    esc.push_back(
        {{"t", static_cast<int>(s.trigger)}, {"d", s.after_working_days}, {"l", s.level}});
  }
  json j = {{"before_deadline", OffsetsJson(p.before_deadline)},
            {"at_deadline", p.at_deadline},
            {"before_milestones", OffsetsJson(p.before_milestones)},
            {"at_milestones", p.at_milestones},
            {"overdue_every", p.overdue.every_working_days},
            {"overdue_max", p.overdue.max_repeats},
            {"escalation", esc},
            {"window_start_s", absl::ToInt64Seconds(p.window_start)},
            {"window_end_s", absl::ToInt64Seconds(p.window_end)},
            {"non_working_days", p.send_on_non_working_days},
            {"catch_up", static_cast<int>(p.catch_up)},
            {"grace_s", absl::ToInt64Seconds(p.catch_up_grace)}};
  return j.dump();
}

void RulesFromJson(absl::string_view text, Policy& p) {
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_object()) return;
  p.before_deadline = OffsetsFromJson(j.value("before_deadline", json::array()));
  p.at_deadline = j.value("at_deadline", false);
  p.before_milestones = OffsetsFromJson(j.value("before_milestones", json::array()));
  p.at_milestones = j.value("at_milestones", false);
  p.overdue.every_working_days = j.value("overdue_every", 0);
  p.overdue.max_repeats = j.value("overdue_max", 0);
  p.escalation.clear();
  for (const auto& s : j.value("escalation", json::array())) {
    p.escalation.push_back(
        {static_cast<EscalationTrigger>(s.value("t", 0)), s.value("d", 0), s.value("l", 0)});
  }
  p.window_start = absl::Seconds(j.value("window_start_s", int64_t{9 * 3600}));
  p.window_end = absl::Seconds(j.value("window_end_s", int64_t{18 * 3600}));
  p.send_on_non_working_days = j.value("non_working_days", false);
  p.catch_up = static_cast<CatchUpMode>(j.value("catch_up", 1));
  p.catch_up_grace = absl::Seconds(j.value("grace_s", int64_t{3600}));
}

// ---- row readers ----

using sqlite::Collect;
using sqlite::CollectOne;

constexpr char kPolicyColumns[] =
    "id, name, description, calendar, rules, built_in, revision, create_us, update_us, "
    "request_id";

StoredPolicy ReadPolicy(const Stmt& s) {
  StoredPolicy p;
  p.policy.id = s.Text(0);
  p.policy.name = s.Text(1);
  p.description = s.Text(2);
  p.calendar = s.Text(3);
  RulesFromJson(s.TextView(4), p.policy);
  p.built_in = s.Int(5) != 0;
  p.revision = s.Int(6);
  p.create_us = s.Int(7);
  p.update_us = s.Int(8);
  p.request_id = s.Text(9);
  return p;
}

constexpr char kAssignmentColumns[] =
    "id, version, plan_id, task_id, unit_id, role, state, policy_id, create_us, ack_us, "
    "deadline_us, milestones, last_report_us, change_us, timezone, update_us, unit_kind, "
    "task_path";

AssignmentMirror ReadAssignment(const Stmt& s) {
  AssignmentMirror a;
  a.id = s.Text(0);
  a.version = s.Int(1);
  a.plan_id = s.Text(2);
  a.task_id = s.Text(3);
  a.unit_id = s.Text(4);
  a.role = static_cast<int>(s.Int(5));
  a.state = static_cast<AssignmentState>(s.Int(6));
  a.policy_id = s.Text(7);
  a.create_us = s.Int(8);
  a.acknowledge_us = s.OptInt(9);
  a.deadline_us = s.Int(10);
  a.milestones = MilestonesFromJson(s.TextView(11));
  a.last_report_us = s.OptInt(12);
  a.change_us = s.Int(13);
  a.timezone = s.Text(14);
  a.update_us = s.Int(15);
  a.unit_kind = static_cast<int>(s.Int(16));
  a.task_path = s.Text(17);
  return a;
}

constexpr char kReminderColumns[] =
    "id, kind, state, assignment_id, slot, plan_id, task_id, unit_id, milestone_id, "
    "escalation_level, escalation_trigger, policy_id, planned_us, rule_us, send_by_us, version, "
    "assignment_version, suppression, detail, attempts, last_error, next_attempt_us, "
    "delivery_id, recipients, sent_us, dead_us, digest_id, merged_ids, assignment_ids, "
    "roll_call_id, round_id, chase, provisional, create_us, update_us";

ReminderRow ReadReminder(const Stmt& s) {
  ReminderRow r;
  r.id = s.Text(0);
  r.kind = static_cast<ReminderKind>(s.Int(1));
  r.state = static_cast<ReminderState>(s.Int(2));
  r.assignment_id = s.Text(3);
  r.slot = s.Text(4);
  r.plan_id = s.Text(5);
  r.task_id = s.Text(6);
  r.unit_id = s.Text(7);
  r.milestone_id = s.Text(8);
  r.escalation_level = static_cast<int>(s.Int(9));
  r.escalation_trigger = static_cast<EscalationTrigger>(s.Int(10));
  r.policy_id = s.Text(11);
  r.planned_us = s.Int(12);
  r.rule_us = s.Int(13);
  r.send_by_us = s.OptInt(14);
  r.version = s.Int(15);
  r.assignment_version = s.Int(16);
  r.suppression = static_cast<SuppressionReason>(s.Int(17));
  r.detail = s.Text(18);
  r.attempts = static_cast<int>(s.Int(19));
  r.last_error = s.Text(20);
  r.next_attempt_us = s.OptInt(21);
  r.delivery_id = s.Text(22);
  r.recipients = RecipientsFromJson(s.TextView(23));
  r.sent_us = s.OptInt(24);
  r.dead_us = s.OptInt(25);
  r.digest_id = s.Text(26);
  r.merged_ids = IdsFromJson(s.TextView(27));
  r.assignment_ids = IdsFromJson(s.TextView(28));
  r.roll_call_id = s.Text(29);
  r.round_id = s.Text(30);
  r.chase = static_cast<int>(s.Int(31));
  r.provisional = s.Int(32) != 0;
  r.create_us = s.Int(33);
  r.update_us = s.Int(34);
  return r;
}

// The JSON columns of a row, kept alive while a statement binds them without copies.
struct ReminderJson {
  explicit ReminderJson(const ReminderRow& r)
      : recipients(RecipientsJson(r.recipients)),
        merged_ids(IdsJson(r.merged_ids)),
        assignment_ids(IdsJson(r.assignment_ids)) {}
  std::string recipients;
  std::string merged_ids;
  std::string assignment_ids;
};

// Binds every column of `r` in kReminderColumns order at 1..35 (S: Stmt or StaticStmt; `j`
// must outlive the statement's run).
template <typename S>
void BindReminder(S& s, const ReminderRow& r, const ReminderJson& j) {
  s.Bind(1, r.id)
      .Bind(2, static_cast<int>(r.kind))
      .Bind(3, static_cast<int>(r.state))
      .Bind(4, r.assignment_id)
      .Bind(5, r.slot)
      .Bind(6, r.plan_id)
      .Bind(7, r.task_id)
      .Bind(8, r.unit_id)
      .Bind(9, r.milestone_id)
      .Bind(10, r.escalation_level)
      .Bind(11, static_cast<int>(r.escalation_trigger))
      .Bind(12, r.policy_id)
      .Bind(13, r.planned_us)
      .Bind(14, r.rule_us)
      .Bind(15, r.send_by_us)
      .Bind(16, r.version)
      .Bind(17, r.assignment_version)
      .Bind(18, static_cast<int>(r.suppression))
      .Bind(19, r.detail)
      .Bind(20, r.attempts)
      .Bind(21, r.last_error)
      .Bind(22, r.next_attempt_us)
      .Bind(23, r.delivery_id)
      .Bind(24, j.recipients)
      .Bind(25, r.sent_us)
      .Bind(26, r.dead_us)
      .Bind(27, r.digest_id)
      .Bind(28, j.merged_ids)
      .Bind(29, j.assignment_ids)
      .Bind(30, r.roll_call_id)
      .Bind(31, r.round_id)
      .Bind(32, r.chase)
      .Bind(33, r.provisional ? 1 : 0)
      .Bind(34, r.create_us)
      .Bind(35, r.update_us);
}

std::string EnumJson(const std::vector<int>& values) { return json(values).dump(); }

PendingRef ReadPending(const Stmt& s) {
  PendingRef p;
  p.id = s.Text(0);
  p.version = s.Int(1);
  p.due_us = s.Int(2);
  p.send_by_us = s.OptInt(3);
  return p;
}

constexpr char kPendingSelect[] =
    "SELECT id, version, CASE WHEN state = 3 AND next_attempt_us IS NOT NULL THEN "
    "next_attempt_us ELSE planned_us END, send_by_us FROM reminders ";

int BudgetScope(const std::string& unit_id, int unit_kind) {
  return !unit_id.empty() ? 2 : unit_kind != 0 ? 1 : 0;
}

BurdenBudget ReadBudget(const Stmt& s) {
  BurdenBudget b;
  b.unit_id = s.Text(0);
  b.unit_kind = static_cast<int>(s.Int(1));
  b.max_messages_per_working_day = static_cast<int>(s.Int(2));
  b.update_us = s.Int(3);
  return b;
}

constexpr char kRollCallColumns[] =
    "id, name, plan_id, root_unit_id, task_id, schedule_type, weekdays, every_wd, start_date, "
    "time_s, chase_after, max_chases, paused, deleted, timezone, next_round_us, last_round_id, "
    "revision, create_us, update_us, request_id";

RollCall ReadRollCall(const Stmt& s) {
  RollCall r;
  r.id = s.Text(0);
  r.name = s.Text(1);
  r.plan_id = s.Text(2);
  r.root_unit_id = s.Text(3);
  r.task_id = s.Text(4);
  r.schedule.type = static_cast<RollCallSchedule::Type>(s.Int(5));
  auto days = json::parse(s.TextView(6).begin(), s.TextView(6).end(), nullptr, false);
  if (days.is_array()) {
    for (const auto& d : days) {
      if (d.is_number_integer()) r.schedule.weekdays.push_back(d.get<int>());
    }
  }
  r.schedule.every_working_days = static_cast<int>(s.Int(7));
  absl::CivilDay start;
  if (!s.TextView(8).empty() && absl::ParseCivilTime(s.TextView(8), &start)) {
    r.schedule.start_date = start;
  }
  r.schedule.time = absl::Seconds(s.Int(9));
  r.chase_after_working_days = static_cast<int>(s.Int(10));
  r.max_chases = static_cast<int>(s.Int(11));
  r.paused = s.Int(12) != 0;
  r.deleted = s.Int(13) != 0;
  r.timezone = s.Text(14);
  r.next_round_us = s.OptInt(15);
  r.last_round_id = s.Text(16);
  r.revision = s.Int(17);
  r.create_us = s.Int(18);
  r.update_us = s.Int(19);
  r.request_id = s.Text(20);
  return r;
}

constexpr char kRoundColumns[] =
    "id, roll_call_id, number, open, start_us, close_us, chases_done, next_chase_us, "
    "chase_after, max_chases, request_id";

RollCallRound ReadRound(const Stmt& s) {
  RollCallRound r;
  r.id = s.Text(0);
  r.roll_call_id = s.Text(1);
  r.number = s.Int(2);
  r.open = s.Int(3) != 0;
  r.start_us = s.Int(4);
  r.close_us = s.OptInt(5);
  r.chases_done = static_cast<int>(s.Int(6));
  r.next_chase_us = s.OptInt(7);
  r.chase_after_working_days = static_cast<int>(s.Int(8));
  r.max_chases = static_cast<int>(s.Int(9));
  r.request_id = s.Text(10);
  return r;
}

// The writer's prepared per-row statements (null in read transactions).
struct HotStatements {
  StaticStmt* insert_reminder = nullptr;
  StaticStmt* upsert_assignment = nullptr;
};

class SqliteReminderTx : public ReminderWriter {
 public:
  explicit SqliteReminderTx(Connection& c, HotStatements hot = {})
      : c_(c), insert_(hot.insert_reminder), upsert_assignment_(hot.upsert_assignment) {}

  // Adds this transaction's inserted rows to reminder_state_counts; called last, inside the
  // transaction, so the counters commit or roll back with the rows.
  absl::Status FlushStateCounts() {
    if (inserted_.empty()) return absl::OkStatus();
    auto s = c_.Prepare(
        "INSERT INTO reminder_state_counts (state, n) VALUES (?1, ?2) ON CONFLICT(state) DO "
        "UPDATE SET n = n + excluded.n");
    if (!s.ok()) return s.status();
    for (const auto& [state, n] : inserted_) {
      s->Bind(1, static_cast<int64_t>(state)).Bind(2, n);
      if (auto st = s->Run(); !st.ok()) return st;
    }
    inserted_.clear();
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<StoredPolicy>> FindPolicy(const std::string& id) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kPolicyColumns, " FROM policies WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<StoredPolicy>(*s, ReadPolicy);
  }

  absl::StatusOr<std::optional<StoredPolicy>> FindPolicyByRequestId(
      const std::string& request_id) override {
    auto s =
        c_.Prepare(absl::StrCat("SELECT ", kPolicyColumns, " FROM policies WHERE request_id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, request_id);
    return CollectOne<StoredPolicy>(*s, ReadPolicy);
  }

  absl::StatusOr<std::vector<StoredPolicy>> ListPolicies(const std::string& after_id,
                                                         int limit) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kPolicyColumns,
                                     " FROM policies WHERE id > ?1 ORDER BY id LIMIT ?2"));
    if (!s.ok()) return s.status();
    s->Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
    return Collect<StoredPolicy>(*s, ReadPolicy);
  }

  absl::StatusOr<int64_t> CountPlanDefaultsUsing(const std::string& policy_id) override {
    auto s = c_.Prepare("SELECT count(*) FROM plan_defaults WHERE policy_id = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, policy_id);
    auto row = s->Step();
    if (!row.ok()) return row.status();
    return s->Int(0);
  }

  absl::StatusOr<int64_t> CountOpenAssignmentsUsing(const std::string& policy_id) override {
    auto s =
        c_.Prepare("SELECT count(*) FROM assignments WHERE policy_id = ?1 AND state NOT IN (5, 7)");
    if (!s.ok()) return s.status();
    s->Bind(1, policy_id);
    auto row = s->Step();
    if (!row.ok()) return row.status();
    return s->Int(0);
  }

  absl::StatusOr<std::vector<std::string>> PlansDefaultingTo(
      const std::string& policy_id) override {
    auto s = c_.Prepare("SELECT plan_id FROM plan_defaults WHERE policy_id = ?1 ORDER BY plan_id");
    if (!s.ok()) return s.status();
    s->Bind(1, policy_id);
    return Collect<std::string>(*s, [](const Stmt& st) { return st.Text(0); });
  }

  absl::StatusOr<std::vector<AssignmentMirror>> OpenAssignments(const OpenAssignmentQuery& q,
                                                                const std::string& after_id,
                                                                int limit) override {
    std::string sql = absl::StrCat("SELECT ", kAssignmentColumns, " FROM assignments WHERE ");
    if (!q.policy_id.empty()) {
      sql += "policy_id = ?1 AND";
    } else if (!q.plan_id.empty()) {
      sql += "plan_id = ?2 AND";
    }
    sql += " state NOT IN (5, 7) AND id > ?3 ORDER BY id LIMIT ?4";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    if (!q.policy_id.empty()) s->Bind(1, q.policy_id);
    if (q.policy_id.empty() && !q.plan_id.empty()) s->Bind(2, q.plan_id);
    s->Bind(3, after_id).Bind(4, static_cast<int64_t>(limit));
    return Collect<AssignmentMirror>(*s, ReadAssignment);
  }

  absl::StatusOr<std::optional<PlanDefault>> FindPlanDefault(const std::string& plan_id) override {
    auto s = c_.Prepare(
        "SELECT plan_id, policy_id, plan_version, update_us FROM plan_defaults WHERE plan_id = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, plan_id);
    return CollectOne<PlanDefault>(*s, [](const Stmt& st) {
      return PlanDefault{st.Text(0), st.Text(1), st.Int(2), st.Int(3)};
    });
  }

  absl::StatusOr<std::optional<AssignmentMirror>> FindAssignment(const std::string& id) override {
    // Once per assignment of a batch: the SQL is built once, not per call.
    static const std::string kSql =
        absl::StrCat("SELECT ", kAssignmentColumns, " FROM assignments WHERE id = ?1");
    auto s = c_.Prepare(kSql);
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<AssignmentMirror>(*s, ReadAssignment);
  }

  absl::StatusOr<std::optional<BurdenBudget>> FindBudget(const std::string& unit_id,
                                                         int unit_kind) override {
    // Asked up to three times per planned reminder (unit, kind, default) while a cascade's
    // thousands of reminders are planned in one transaction; the few budgets are read once.
    // Most ledgers set no budget at all: one query per transaction then answers every lookup.
    if (!any_budget_) {
      auto any = c_.Prepare("SELECT EXISTS (SELECT 1 FROM burden_budgets)");
      if (!any.ok()) return any.status();
      auto row = any->Step();
      if (!row.ok()) return row.status();
      any_budget_ = *row && any->Int(0) != 0;
    }
    if (!*any_budget_) return std::optional<BurdenBudget>();
    auto key = std::make_pair(unit_id, unit_kind);
    if (auto it = budget_cache_.find(key); it != budget_cache_.end()) return it->second;
    auto s = c_.Prepare(
        "SELECT unit_id, unit_kind, max_per_day, update_us FROM burden_budgets WHERE scope = ?1 "
        "AND unit_kind = ?2 AND unit_id = ?3");
    if (!s.ok()) return s.status();
    s->Bind(1, BudgetScope(unit_id, unit_kind)).Bind(2, unit_kind).Bind(3, unit_id);
    auto found = CollectOne<BurdenBudget>(*s, ReadBudget);
    if (found.ok()) budget_cache_.emplace(std::move(key), *found);
    return found;
  }

  absl::StatusOr<std::vector<BurdenBudget>> ListBudgets() override {
    auto s = c_.Prepare(
        "SELECT unit_id, unit_kind, max_per_day, update_us FROM burden_budgets "
        "ORDER BY scope, unit_kind, unit_id");
    if (!s.ok()) return s.status();
    return Collect<BurdenBudget>(*s, ReadBudget);
  }

  absl::StatusOr<int64_t> CountBudgeted(const std::string& unit_id, int64_t from_us, int64_t to_us,
                                        const std::string& except_id) override {
    auto s = c_.Prepare(
        "SELECT count(*) FROM reminders WHERE unit_id = ?1 AND planned_us >= ?2 AND "
        "planned_us < ?3 AND state IN (1, 2) AND kind != 4 AND id != ?4");
    if (!s.ok()) return s.status();
    s->Bind(1, unit_id).Bind(2, from_us).Bind(3, to_us).Bind(4, except_id);
    auto row = s->Step();
    if (!row.ok()) return row.status();
    return s->Int(0);
  }

  absl::StatusOr<int64_t> CountOverBudget(const std::string& unit_id, int64_t from_us,
                                          int64_t to_us) override {
    auto s = c_.Prepare(
        "SELECT count(*) FROM reminders WHERE unit_id = ?1 AND planned_us >= ?2 AND "
        "planned_us < ?3 AND state = 6 AND suppression = 4");
    if (!s.ok()) return s.status();
    s->Bind(1, unit_id).Bind(2, from_us).Bind(3, to_us);
    auto row = s->Step();
    if (!row.ok()) return row.status();
    return s->Int(0);
  }

  absl::StatusOr<std::optional<ReminderRow>> FindReminder(const std::string& id) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kReminderColumns, " FROM reminders WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<ReminderRow>(*s, ReadReminder);
  }

  absl::StatusOr<std::vector<ReminderRow>> FindReminders(
      const std::vector<std::string>& ids) override {
    auto s =
        c_.Prepare(absl::StrCat("SELECT ", kReminderColumns,
                                " FROM reminders WHERE id IN (SELECT value FROM json_each(?1))"));
    if (!s.ok()) return s.status();
    s->Bind(1, IdsJson(ids));
    return Collect<ReminderRow>(*s, ReadReminder);
  }

  absl::StatusOr<std::vector<ReminderRow>> AssignmentReminders(
      const std::string& assignment_id) override {
    static const std::string kSql = absl::StrCat(
        "SELECT ", kReminderColumns, " FROM reminders WHERE assignment_id = ?1 ORDER BY rowid");
    auto s = c_.Prepare(kSql);
    if (!s.ok()) return s.status();
    s->Bind(1, assignment_id);
    return Collect<ReminderRow>(*s, ReadReminder);
  }

  absl::StatusOr<std::optional<ReminderRow>> FindPendingDigest(const std::string& unit_id,
                                                               const std::string& slot,
                                                               int64_t planned_us) override {
    auto s = c_.Prepare(absl::StrCat(
        "SELECT ", kReminderColumns,
        " FROM reminders WHERE kind = 6 AND unit_id = ?1 AND slot = ?2 AND planned_us = ?3 "
        "AND state = 1 LIMIT 1"));
    if (!s.ok()) return s.status();
    s->Bind(1, unit_id).Bind(2, slot).Bind(3, planned_us);
    return CollectOne<ReminderRow>(*s, ReadReminder);
  }

  absl::StatusOr<ReminderListing> ListReminders(const ReminderFilter& f,
                                                const std::optional<TimeIdCursor>& after, int limit,
                                                int max_scanned) override {
    ReminderListing out;
    if (f.assignment_id.empty() && f.unit_id.empty() && f.roll_call_id.empty()) {
      // Plan or task only: no index of their own (each cost a B-tree insert per scheduled
      // reminder). Walk the time index, at most max_scanned entries per call: find where such
      // a walk ends, then read the matching rows up to there.
      auto end = TimeScanEnd(f, after, max_scanned);
      if (!end.ok()) return end.status();
      auto rows = ListRows(f, after, *end, limit);
      if (!rows.ok()) return rows.status();
      out.rows = std::move(*rows);
      if (*end && out.rows.size() < static_cast<size_t>(limit)) out.scanned_to = **end;
      return out;
    }
    auto rows = ListRows(f, after, std::nullopt, limit);
    if (!rows.ok()) return rows.status();
    out.rows = std::move(*rows);
    return out;
  }

  absl::StatusOr<std::vector<ReminderRow>> ListDead(const DeadFilter& f,
                                                    const std::optional<TimeIdCursor>& before,
                                                    int limit) override {
    std::string sql = absl::StrCat("SELECT ", kReminderColumns, " FROM reminders WHERE state = 4");
    if (!f.unit_id.empty()) sql += " AND unit_id = ?1";
    if (!f.assignment_id.empty()) sql += " AND assignment_id = ?2";
    if (!f.plan_id.empty()) sql += " AND plan_id = ?3";
    if (!f.kinds.empty()) sql += " AND kind IN (SELECT value FROM json_each(?4))";
    if (f.since_us) sql += " AND dead_us >= ?5";
    if (f.until_us) sql += " AND dead_us < ?6";
    if (before) sql += " AND (dead_us, id) < (?7, ?8)";
    sql += " ORDER BY dead_us DESC, id DESC LIMIT ?9";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    if (!f.unit_id.empty()) s->Bind(1, f.unit_id);
    if (!f.assignment_id.empty()) s->Bind(2, f.assignment_id);
    if (!f.plan_id.empty()) s->Bind(3, f.plan_id);
    if (!f.kinds.empty()) {
      std::vector<int> v;
      for (auto k : f.kinds) v.push_back(static_cast<int>(k));
      s->Bind(4, EnumJson(v));
    }
    if (f.since_us) s->Bind(5, *f.since_us);
    if (f.until_us) s->Bind(6, *f.until_us);
    if (before) s->Bind(7, before->time_us).Bind(8, before->id);
    s->Bind(9, static_cast<int64_t>(limit));
    return Collect<ReminderRow>(*s, ReadReminder);
  }

  absl::StatusOr<std::vector<PendingRef>> ListPending(const std::string& after_id,
                                                      int limit) override {
    // INDEXED BY: without statistics SQLite prefers reminders_by_state for "state IN (1, 3)"
    // and then sorts every pending row by id for each page — quadratic over a reconcile of a
    // million reminders (minutes instead of seconds). The partial index is the pending set in
    // id order, so a page is one range read.
    auto s =
        c_.Prepare(absl::StrCat(kPendingSelect,
                                "INDEXED BY reminders_pending WHERE state IN (1, 3) AND id > ?1 "
                                "ORDER BY id LIMIT ?2"));
    if (!s.ok()) return s.status();
    s->Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
    return Collect<PendingRef>(*s, ReadPending);
  }

  absl::StatusOr<std::vector<PendingRef>> ListPendingRange(const std::string& after_id,
                                                           const std::string& last_id) override {
    auto s =
        c_.Prepare(absl::StrCat(kPendingSelect,
                                "INDEXED BY reminders_pending WHERE state IN (1, 3) AND id > ?1 "
                                "AND id <= ?2 ORDER BY id"));
    if (!s.ok()) return s.status();
    s->Bind(1, after_id).Bind(2, last_id);
    return Collect<PendingRef>(*s, ReadPending);
  }

  absl::StatusOr<std::vector<PendingRef>> FindPending(
      const std::vector<std::string>& ids) override {
    auto s = c_.Prepare(absl::StrCat(
        // "+state": the ids pick the rows through the primary key; left to itself SQLite walks
        // reminders_by_state over every pending row instead (seconds per call at 1,000,000).
        kPendingSelect, "WHERE id IN (SELECT value FROM json_each(?1)) AND +state IN (1, 3)"));
    if (!s.ok()) return s.status();
    s->Bind(1, IdsJson(ids));
    return Collect<PendingRef>(*s, ReadPending);
  }

  absl::StatusOr<std::vector<StateCount>> CountByState() override {
    // The counters (migration 5), plus rows this transaction inserted and has not counted yet.
    auto s = c_.Prepare("SELECT state, n FROM reminder_state_counts ORDER BY state");
    if (!s.ok()) return s.status();
    auto rows = Collect<std::pair<int, int64_t>>(
        *s, [](const Stmt& st) { return std::make_pair(static_cast<int>(st.Int(0)), st.Int(1)); });
    if (!rows.ok()) return rows.status();
    std::map<int, int64_t> counts(rows->begin(), rows->end());
    for (const auto& [state, n] : inserted_) counts[state] += n;
    std::vector<StateCount> out;
    for (const auto& [state, n] : counts) {
      if (n != 0) out.push_back({static_cast<ReminderState>(state), n});
    }
    return out;
  }

  absl::StatusOr<std::vector<AttemptRecord>> AttemptLog(const std::string& reminder_id,
                                                        int limit) override {
    auto s = c_.Prepare(
        "SELECT reminder_id, version, attempt, outcome, error, channel, time_us, stale, "
        "lateness_us FROM (SELECT * FROM attempts WHERE reminder_id = ?1 "
        "ORDER BY time_us DESC, version DESC, attempt DESC LIMIT ?2) "
        "ORDER BY time_us, version, attempt");
    if (!s.ok()) return s.status();
    s->Bind(1, reminder_id).Bind(2, static_cast<int64_t>(limit));
    return Collect<AttemptRecord>(*s, [](const Stmt& st) {
      AttemptRecord a;
      a.reminder_id = st.Text(0);
      a.version = st.Int(1);
      a.attempt = static_cast<int>(st.Int(2));
      a.outcome = static_cast<OutcomeKind>(st.Int(3));
      a.error = st.Text(4);
      a.channel = static_cast<int>(st.Int(5));
      a.time_us = st.Int(6);
      a.stale = st.Int(7) != 0;
      a.lateness_us = st.OptInt(8);
      return a;
    });
  }

  absl::StatusOr<bool> AttemptExists(const std::string& reminder_id, int64_t version, int attempt,
                                     OutcomeKind outcome) override {
    auto s = c_.Prepare(
        "SELECT 1 FROM attempts WHERE reminder_id = ?1 AND version = ?2 AND attempt = ?3 AND "
        "outcome = ?4");
    if (!s.ok()) return s.status();
    s->Bind(1, reminder_id).Bind(2, version).Bind(3, attempt).Bind(4, static_cast<int>(outcome));
    return s->Step();
  }

  absl::StatusOr<std::vector<int64_t>> LatenessSince(int64_t since_us) override {
    auto s = c_.Prepare(
        "SELECT lateness_us FROM attempts WHERE time_us >= ?1 AND lateness_us IS NOT NULL "
        "ORDER BY lateness_us");
    if (!s.ok()) return s.status();
    s->Bind(1, since_us);
    return Collect<int64_t>(*s, [](const Stmt& st) { return st.Int(0); });
  }

  absl::Status UpsertPolicy(const StoredPolicy& p) override {
    auto s = c_.Prepare(absl::StrCat(
        "INSERT INTO policies (", kPolicyColumns,
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO UPDATE SET "
        "name = excluded.name, description = excluded.description, calendar = "
        "excluded.calendar, rules = excluded.rules, built_in = excluded.built_in, revision = "
        "excluded.revision, update_us = excluded.update_us"));
    if (!s.ok()) return s.status();
    s->Bind(1, p.policy.id)
        .Bind(2, p.policy.name)
        .Bind(3, p.description)
        .Bind(4, p.calendar)
        .Bind(5, RulesJson(p.policy))
        .Bind(6, p.built_in ? 1 : 0)
        .Bind(7, p.revision)
        .Bind(8, p.create_us)
        .Bind(9, p.update_us)
        .BindTextOrNull(10, p.request_id);
    return s->Run();
  }

  absl::Status UpsertBudget(const BurdenBudget& b) override {
    budget_cache_.clear();
    any_budget_.reset();
    auto s = c_.Prepare(
        "INSERT OR REPLACE INTO burden_budgets (scope, unit_kind, unit_id, max_per_day, "
        "update_us) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s.ok()) return s.status();
    s->Bind(1, BudgetScope(b.unit_id, b.unit_kind))
        .Bind(2, b.unit_kind)
        .Bind(3, b.unit_id)
        .Bind(4, b.max_messages_per_working_day)
        .Bind(5, b.update_us);
    return s->Run();
  }

  absl::StatusOr<bool> DeleteBudget(const std::string& unit_id, int unit_kind) override {
    budget_cache_.clear();
    any_budget_.reset();
    auto s = c_.Prepare(
        "DELETE FROM burden_budgets WHERE scope = ?1 AND unit_kind = ?2 AND unit_id = ?3");
    if (!s.ok()) return s.status();
    s->Bind(1, BudgetScope(unit_id, unit_kind)).Bind(2, unit_kind).Bind(3, unit_id);
    if (auto st = s->Run(); !st.ok()) return st;
    return s->Changes() > 0;
  }

  absl::Status DeletePolicy(const std::string& id) override {
    auto s = c_.Prepare("DELETE FROM policies WHERE id = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return s->Run();
  }

  absl::Status UpsertPlanDefault(const PlanDefault& d) override {
    auto s = c_.Prepare(
        "INSERT OR REPLACE INTO plan_defaults (plan_id, policy_id, plan_version, update_us) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!s.ok()) return s.status();
    s->Bind(1, d.plan_id).Bind(2, d.policy_id).Bind(3, d.plan_version).Bind(4, d.update_us);
    return s->Run();
  }

  absl::Status UpsertAssignment(const AssignmentMirror& a) override {
    // Once per assignment of a batch: prepared once, strings bound without copies.
    if (upsert_assignment_ == nullptr)
      return absl::InternalError("UpsertAssignment outside a write");
    static const std::string kSql = absl::StrCat(
        "INSERT OR REPLACE INTO assignments (", kAssignmentColumns,
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
        "?18)");
    StaticStmt* s = upsert_assignment_;
    if (auto st = s->PrepareOn(c_.raw(), kSql); !st.ok()) return st;
    const std::string milestones = MilestonesJson(a.milestones);
    s->Bind(1, a.id)
        .Bind(2, a.version)
        .Bind(3, a.plan_id)
        .Bind(4, a.task_id)
        .Bind(5, a.unit_id)
        .Bind(6, a.role)
        .Bind(7, static_cast<int>(a.state))
        .Bind(8, a.policy_id)
        .Bind(9, a.create_us)
        .Bind(10, a.acknowledge_us)
        .Bind(11, a.deadline_us)
        .Bind(12, milestones)
        .Bind(13, a.last_report_us)
        .Bind(14, a.change_us)
        .Bind(15, a.timezone)
        .Bind(16, a.update_us)
        .Bind(17, a.unit_kind)
        .Bind(18, a.task_path);
    return s->Run();
  }

  absl::Status InsertReminder(const ReminderRow& r) override {
    if (insert_ == nullptr) return absl::InternalError("InsertReminder outside a write");
    static const std::string kSql = absl::StrCat(
        "INSERT INTO reminders (", kReminderColumns,
        ", seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
        "?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, "
        "?34, ?35, 0)");
    if (auto s = insert_->PrepareOn(c_.raw(), kSql); !s.ok()) return s;
    const ReminderJson json_columns(r);
    BindReminder(*insert_, r, json_columns);
    if (auto s = insert_->Run(); !s.ok()) return s;
    ++inserted_[static_cast<int>(r.state)];
    return absl::OkStatus();
  }

  absl::Status UpdateReminder(const ReminderRow& r) override {
    auto s = c_.Prepare(
        "UPDATE reminders SET kind = ?2, state = ?3, assignment_id = ?4, slot = ?5, plan_id = "
        "?6, task_id = ?7, unit_id = ?8, milestone_id = ?9, escalation_level = ?10, "
        "escalation_trigger = ?11, policy_id = ?12, planned_us = ?13, rule_us = ?14, "
        "send_by_us = ?15, version = ?16, assignment_version = ?17, suppression = ?18, detail = "
        "?19, attempts = ?20, last_error = ?21, next_attempt_us = ?22, delivery_id = ?23, "
        "recipients = ?24, sent_us = ?25, dead_us = ?26, digest_id = ?27, merged_ids = ?28, "
        "assignment_ids = ?29, roll_call_id = ?30, round_id = ?31, chase = ?32, provisional = "
        "?33, create_us = ?34, update_us = ?35 WHERE id = ?1");
    if (!s.ok()) return s.status();
    const ReminderJson json_columns(r);
    BindReminder(*s, r, json_columns);
    if (auto st = s->Run(); !st.ok()) return st;
    if (s->Changes() != 1) return absl::InternalError(absl::StrCat("no reminder row ", r.id));
    return absl::OkStatus();
  }

  absl::Status InsertAttempt(const AttemptRecord& a) override {
    auto s = c_.Prepare(
        "INSERT OR IGNORE INTO attempts (reminder_id, version, attempt, outcome, error, channel, "
        "time_us, stale, lateness_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!s.ok()) return s.status();
    s->Bind(1, a.reminder_id)
        .Bind(2, a.version)
        .Bind(3, a.attempt)
        .Bind(4, static_cast<int>(a.outcome))
        .Bind(5, a.error)
        .Bind(6, a.channel)
        .Bind(7, a.time_us)
        .Bind(8, a.stale ? 1 : 0)
        .Bind(9, a.lateness_us);
    return s->Run();
  }

  // ---- roll-calls ----

  absl::StatusOr<std::vector<AssignmentMirror>> FindAssignments(
      const std::vector<std::string>& ids) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kAssignmentColumns,
                                     " FROM assignments WHERE id IN (SELECT value FROM "
                                     "json_each(?1))"));
    if (!s.ok()) return s.status();
    s->Bind(1, IdsJson(ids));
    return Collect<AssignmentMirror>(*s, ReadAssignment);
  }

  absl::StatusOr<std::optional<RollCall>> FindRollCall(const std::string& id) override {
    auto s =
        c_.Prepare(absl::StrCat("SELECT ", kRollCallColumns, " FROM roll_calls WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<RollCall>(*s, ReadRollCall);
  }

  absl::StatusOr<std::optional<RollCall>> FindRollCallByRequestId(
      const std::string& request_id) override {
    auto s = c_.Prepare(
        absl::StrCat("SELECT ", kRollCallColumns, " FROM roll_calls WHERE request_id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, request_id);
    return CollectOne<RollCall>(*s, ReadRollCall);
  }

  absl::StatusOr<std::vector<RollCall>> ListRollCalls(const RollCallFilter& f,
                                                      const std::string& after_id,
                                                      int limit) override {
    std::string sql =
        absl::StrCat("SELECT ", kRollCallColumns, " FROM roll_calls WHERE deleted = 0 AND id > ?1");
    if (!f.plan_id.empty()) sql += " AND plan_id = ?2";
    if (!f.root_unit_id.empty()) sql += " AND root_unit_id = ?3";
    if (!f.include_paused) sql += " AND paused = 0";
    sql += " ORDER BY id LIMIT ?4";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    s->Bind(1, after_id);
    if (!f.plan_id.empty()) s->Bind(2, f.plan_id);
    if (!f.root_unit_id.empty()) s->Bind(3, f.root_unit_id);
    s->Bind(4, static_cast<int64_t>(limit));
    return Collect<RollCall>(*s, ReadRollCall);
  }

  absl::StatusOr<std::vector<RollCall>> DueRollCalls(int64_t now_us, int limit) override {
    auto s = c_.Prepare(absl::StrCat(
        "SELECT ", kRollCallColumns,
        " FROM roll_calls WHERE next_round_us IS NOT NULL AND next_round_us <= ?1 AND paused = 0 "
        "AND deleted = 0 ORDER BY next_round_us, id LIMIT ?2"));
    if (!s.ok()) return s.status();
    s->Bind(1, now_us).Bind(2, static_cast<int64_t>(limit));
    return Collect<RollCall>(*s, ReadRollCall);
  }

  absl::StatusOr<std::optional<RollCallRound>> FindRound(const std::string& id) override {
    auto s =
        c_.Prepare(absl::StrCat("SELECT ", kRoundColumns, " FROM rollcall_rounds WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<RollCallRound>(*s, ReadRound);
  }

  absl::StatusOr<std::optional<RollCallRound>> FindRoundByRequestId(
      const std::string& roll_call_id, const std::string& request_id) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kRoundColumns,
                                     " FROM rollcall_rounds WHERE roll_call_id = ?1 AND "
                                     "request_id = ?2 LIMIT 1"));
    if (!s.ok()) return s.status();
    s->Bind(1, roll_call_id).Bind(2, request_id);
    return CollectOne<RollCallRound>(*s, ReadRound);
  }

  absl::StatusOr<std::optional<RollCallRound>> OpenRound(const std::string& roll_call_id) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kRoundColumns,
                                     " FROM rollcall_rounds WHERE roll_call_id = ?1 AND open = 1 "
                                     "ORDER BY number DESC LIMIT 1"));
    if (!s.ok()) return s.status();
    s->Bind(1, roll_call_id);
    return CollectOne<RollCallRound>(*s, ReadRound);
  }

  absl::StatusOr<int64_t> LastRoundNumber(const std::string& roll_call_id) override {
    auto s =
        c_.Prepare("SELECT coalesce(max(number), 0) FROM rollcall_rounds WHERE roll_call_id = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, roll_call_id);
    auto row = s->Step();
    if (!row.ok()) return row.status();
    return s->Int(0);
  }

  absl::StatusOr<std::vector<RollCallRound>> ListRounds(const std::string& roll_call_id,
                                                        int64_t before_number, int limit) override {
    auto s = c_.Prepare(
        absl::StrCat("SELECT ", kRoundColumns,
                     " FROM rollcall_rounds WHERE roll_call_id = ?1 AND (?2 = 0 OR number < ?2) "
                     "ORDER BY number DESC LIMIT ?3"));
    if (!s.ok()) return s.status();
    s->Bind(1, roll_call_id).Bind(2, before_number).Bind(3, static_cast<int64_t>(limit));
    return Collect<RollCallRound>(*s, ReadRound);
  }

  absl::StatusOr<std::vector<RollCallRound>> DueChases(int64_t now_us, int limit) override {
    auto s = c_.Prepare(
        absl::StrCat("SELECT ", kRoundColumns,
                     " FROM rollcall_rounds WHERE open = 1 AND next_chase_us IS NOT NULL AND "
                     "next_chase_us <= ?1 ORDER BY next_chase_us, id LIMIT ?2"));
    if (!s.ok()) return s.status();
    s->Bind(1, now_us).Bind(2, static_cast<int64_t>(limit));
    return Collect<RollCallRound>(*s, ReadRound);
  }

  absl::StatusOr<std::vector<RoundUnit>> RoundUnits(const std::string& round_id) override {
    auto s = c_.Prepare(
        "SELECT round_id, unit_id, assignment_ids, reminder_id, chase_ids FROM "
        "rollcall_round_units WHERE round_id = ?1 ORDER BY unit_id");
    if (!s.ok()) return s.status();
    s->Bind(1, round_id);
    return Collect<RoundUnit>(*s, [](const Stmt& st) {
      RoundUnit u;
      u.round_id = st.Text(0);
      u.unit_id = st.Text(1);
      u.assignment_ids = IdsFromJson(st.TextView(2));
      u.reminder_id = st.Text(3);
      u.chase_reminder_ids = IdsFromJson(st.TextView(4));
      return u;
    });
  }

  absl::Status UpsertRollCall(const RollCall& r) override {
    auto s = c_.Prepare(absl::StrCat(
        "INSERT OR REPLACE INTO roll_calls (", kRollCallColumns,
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
        "?18, ?19, ?20, ?21)"));
    if (!s.ok()) return s.status();
    s->Bind(1, r.id)
        .Bind(2, r.name)
        .Bind(3, r.plan_id)
        .Bind(4, r.root_unit_id)
        .Bind(5, r.task_id)
        .Bind(6, static_cast<int>(r.schedule.type))
        .Bind(7, json(r.schedule.weekdays).dump())
        .Bind(8, r.schedule.every_working_days)
        .Bind(9,
              r.schedule.start_date ? absl::FormatCivilTime(*r.schedule.start_date) : std::string())
        .Bind(10, absl::ToInt64Seconds(r.schedule.time.value_or(absl::ZeroDuration())))
        .Bind(11, r.chase_after_working_days)
        .Bind(12, r.max_chases)
        .Bind(13, r.paused ? 1 : 0)
        .Bind(14, r.deleted ? 1 : 0)
        .Bind(15, r.timezone)
        .Bind(16, r.next_round_us)
        .Bind(17, r.last_round_id)
        .Bind(18, r.revision)
        .Bind(19, r.create_us)
        .Bind(20, r.update_us)
        .BindTextOrNull(21, r.request_id);
    return s->Run();
  }

  absl::Status UpsertRound(const RollCallRound& r) override {
    auto s = c_.Prepare(absl::StrCat(
        "INSERT INTO rollcall_rounds (", kRoundColumns,
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT(id) DO UPDATE SET "
        "open = excluded.open, close_us = excluded.close_us, chases_done = "
        "excluded.chases_done, next_chase_us = excluded.next_chase_us"));
    if (!s.ok()) return s.status();
    s->Bind(1, r.id)
        .Bind(2, r.roll_call_id)
        .Bind(3, r.number)
        .Bind(4, r.open ? 1 : 0)
        .Bind(5, r.start_us)
        .Bind(6, r.close_us)
        .Bind(7, r.chases_done)
        .Bind(8, r.next_chase_us)
        .Bind(9, r.chase_after_working_days)
        .Bind(10, r.max_chases)
        .Bind(11, r.request_id);
    return s->Run();
  }

  absl::Status UpsertRoundUnit(const RoundUnit& u) override {
    auto s = c_.Prepare(
        "INSERT OR REPLACE INTO rollcall_round_units (round_id, unit_id, assignment_ids, "
        "reminder_id, chase_ids) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s.ok()) return s.status();
    s->Bind(1, u.round_id)
        .Bind(2, u.unit_id)
        .Bind(3, IdsJson(u.assignment_ids))
        .Bind(4, u.reminder_id)
        .Bind(5, IdsJson(u.chase_reminder_ids));
    return s->Run();
  }

 private:
  // The equality and set conditions of `f` as " AND ..." (parameters ?1-?8).
  static std::string FilterConditions(const ReminderFilter& f) {
    std::string sql;
    if (!f.assignment_id.empty()) sql += " AND assignment_id = ?1";
    if (!f.unit_id.empty()) sql += " AND unit_id = ?2";
    if (!f.plan_id.empty()) sql += " AND plan_id = ?3";
    if (!f.task_id.empty()) sql += " AND task_id = ?4";
    if (!f.roll_call_id.empty()) sql += " AND roll_call_id = ?5";
    if (!f.round_id.empty()) sql += " AND round_id = ?6";
    if (!f.states.empty()) sql += " AND state IN (SELECT value FROM json_each(?7))";
    if (!f.kinds.empty()) sql += " AND kind IN (SELECT value FROM json_each(?8))";
    return sql;
  }

  // The (planned_us, id) range of a read: at most one lower and one upper bound, so that
  // SQLite takes both as the range of the index walk. Given two lower bounds (planned_after and
  // a page cursor) it seeks by one and only filters by the other, which from the start of the
  // time index is a walk over the whole ledger.
  struct TimeRange {
    TimeRange(const ReminderFilter& f, const std::optional<TimeIdCursor>& after,
              const std::optional<TimeIdCursor>& until) {
      if (after && (!f.planned_after_us || after->time_us >= *f.planned_after_us)) {
        lower = *after;
      } else if (f.planned_after_us) {
        planned_after_us = f.planned_after_us;
      }
      // `until` was found below planned_before.
      if (until) {
        upper = *until;
      } else {
        planned_before_us = f.planned_before_us;
      }
    }
    std::string Sql() const {
      std::string sql;
      if (lower) sql += " AND (planned_us, id) > (?11, ?12)";
      if (planned_after_us) sql += " AND planned_us >= ?9";
      if (upper) sql += " AND (planned_us, id) <= (?14, ?15)";
      if (planned_before_us) sql += " AND planned_us < ?10";
      return sql;
    }
    void Bind(Stmt& s) const {
      if (lower) s.Bind(11, lower->time_us).Bind(12, lower->id);
      if (planned_after_us) s.Bind(9, *planned_after_us);
      if (upper) s.Bind(14, upper->time_us).Bind(15, upper->id);
      if (planned_before_us) s.Bind(10, *planned_before_us);
    }
    std::optional<TimeIdCursor> lower, upper;
    std::optional<int64_t> planned_after_us, planned_before_us;
  };

  static void BindFilter(Stmt& s, const ReminderFilter& f) {
    if (!f.assignment_id.empty()) s.Bind(1, f.assignment_id);
    if (!f.unit_id.empty()) s.Bind(2, f.unit_id);
    if (!f.plan_id.empty()) s.Bind(3, f.plan_id);
    if (!f.task_id.empty()) s.Bind(4, f.task_id);
    if (!f.roll_call_id.empty()) s.Bind(5, f.roll_call_id);
    if (!f.round_id.empty()) s.Bind(6, f.round_id);
    if (!f.states.empty()) {
      std::vector<int> v;
      for (auto st : f.states) v.push_back(static_cast<int>(st));
      s.Bind(7, EnumJson(v));
    }
    if (!f.kinds.empty()) {
      std::vector<int> v;
      for (auto k : f.kinds) v.push_back(static_cast<int>(k));
      s.Bind(8, EnumJson(v));
    }
  }

  // The position of the max_scanned-th row after `after` in the time window of `f`, or none
  // when fewer rows are left. An index-only walk: no row is read.
  absl::StatusOr<std::optional<TimeIdCursor>> TimeScanEnd(const ReminderFilter& f,
                                                          const std::optional<TimeIdCursor>& after,
                                                          int max_scanned) {
    const TimeRange range(f, after, std::nullopt);
    auto s = c_.Prepare(
        absl::StrCat("SELECT planned_us, id FROM reminders INDEXED BY reminders_by_time WHERE 1",
                     range.Sql(), " ORDER BY planned_us, id LIMIT 1 OFFSET ?13"));
    if (!s.ok()) return s.status();
    range.Bind(*s);
    s->Bind(13, static_cast<int64_t>(std::max(1, max_scanned) - 1));
    return CollectOne<TimeIdCursor>(*s, [](const Stmt& st) {
      return TimeIdCursor{st.Int(0), st.Text(1)};
    });
  }

  // Rows matching `f` after `after` and up to `until` (inclusive) in (planned_us, id) order.
  // The leading equality picks the index (column, planned_us, id); without one, the time index.
  absl::StatusOr<std::vector<ReminderRow>> ListRows(const ReminderFilter& f,
                                                    const std::optional<TimeIdCursor>& after,
                                                    const std::optional<TimeIdCursor>& until,
                                                    int limit) {
    std::string lead;
    if (!f.assignment_id.empty()) {
      lead = "WHERE assignment_id = ?1";
    } else if (!f.unit_id.empty()) {
      lead = "WHERE unit_id = ?2";
    } else if (!f.roll_call_id.empty()) {
      lead = "WHERE roll_call_id = ?5 AND roll_call_id != ''";
    } else {
      lead = "INDEXED BY reminders_by_time WHERE 1";
    }
    const TimeRange range(f, after, until);
    auto s = c_.Prepare(absl::StrCat("SELECT ", kReminderColumns, " FROM reminders ", lead,
                                     FilterConditions(f), range.Sql(),
                                     " ORDER BY planned_us, id LIMIT ?13"));
    if (!s.ok()) return s.status();
    BindFilter(*s, f);
    range.Bind(*s);
    s->Bind(13, static_cast<int64_t>(limit));
    return Collect<ReminderRow>(*s, ReadReminder);
  }

  Connection& c_;
  StaticStmt* insert_;
  StaticStmt* upsert_assignment_;
  // Rows inserted per state, not yet added to reminder_state_counts.
  std::map<int, int64_t> inserted_;
  // FindBudget's answers in this transaction; cleared by any budget write.
  std::optional<bool> any_budget_;
  std::map<std::pair<std::string, int>, std::optional<BurdenBudget>> budget_cache_;
};

}  // namespace

SqliteReminderStore::SqliteReminderStore(std::unique_ptr<sqlite::Database> db)
    : db_(std::move(db)),
      insert_reminder_(std::make_unique<StaticStmt>()),
      upsert_assignment_(std::make_unique<StaticStmt>()) {}

SqliteReminderStore::~SqliteReminderStore() = default;

absl::StatusOr<std::unique_ptr<SqliteReminderStore>> SqliteReminderStore::Open(
    const sqlite::Options& options) {
  auto db = sqlite::Database::Open(options, Migrations());
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqliteReminderStore>(new SqliteReminderStore(std::move(*db)));
}

absl::Status SqliteReminderStore::Read(const std::function<absl::Status(ReminderReader&)>& fn) {
  return db_->Read([&](Connection& c) {
    SqliteReminderTx tx(c);
    return fn(tx);
  });
}

absl::Status SqliteReminderStore::Write(const std::function<absl::Status(ReminderWriter&)>& fn) {
  return db_->Write([&](Connection& c) {
    SqliteReminderTx tx(c, {insert_reminder_.get(), upsert_assignment_.get()});
    if (auto s = fn(tx); !s.ok()) return s;
    return tx.FlushStateCounts();
  });
}

}  // namespace duban::reminders
