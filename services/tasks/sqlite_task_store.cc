#include "sqlite_task_store.h"

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace duban::tasks {
namespace {

using Json = nlohmann::json;
using sqlite::Connection;
using sqlite::Stmt;

const std::vector<sqlite::Migration>& Migrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
      {1, R"sql(
-- Idempotent requests (request_id): method, content fingerprint and the resource produced.
CREATE TABLE requests (
  request_id  TEXT PRIMARY KEY,
  method      TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  create_us   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE plans (
  id                TEXT PRIMARY KEY,
  title             TEXT NOT NULL,
  description       TEXT NOT NULL,
  owner_unit_id     TEXT NOT NULL,
  start_date        TEXT NOT NULL,  -- YYYY-MM-DD
  end_date          TEXT NOT NULL,
  cascade_margin    INTEGER NOT NULL,
  default_policy_id TEXT NOT NULL,
  policy_version    INTEGER NOT NULL,
  archived          INTEGER NOT NULL,
  revision          INTEGER NOT NULL,
  create_us         INTEGER NOT NULL,
  update_us         INTEGER NOT NULL,
  archive_us        INTEGER NOT NULL
);
CREATE INDEX plans_by_start ON plans(start_date, id);
CREATE INDEX plans_by_owner ON plans(owner_unit_id, start_date, id);

CREATE TABLE tasks (
  id                   TEXT PRIMARY KEY,
  plan_id              TEXT NOT NULL REFERENCES plans(id),
  parent_task_id       TEXT REFERENCES tasks(id),
  -- materialized path "/top/child/id/": a subtree is the index range (path, path-'/'+'0')
  path                 TEXT NOT NULL,
  depth                INTEGER NOT NULL,
  title                TEXT NOT NULL,
  description          TEXT NOT NULL,
  lead_unit_id         TEXT NOT NULL,
  cooperating          TEXT NOT NULL,  -- unit ids joined by U+001F, in order
  deadline_spec        TEXT NOT NULL,  -- JSON
  deadline_us          INTEGER NOT NULL,
  deadline_provisional INTEGER NOT NULL,
  milestones           TEXT NOT NULL,  -- JSON array
  priority             INTEGER NOT NULL,
  tags                 TEXT NOT NULL,  -- sorted, joined by U+001F
  policy_id            TEXT NOT NULL,
  state                INTEGER NOT NULL,
  canceled             INTEGER NOT NULL,
  cascaded             INTEGER NOT NULL,
  cascade_unit_id      TEXT,
  child_count          INTEGER NOT NULL,
  revision             INTEGER NOT NULL,
  create_us            INTEGER NOT NULL,
  update_us            INTEGER NOT NULL
);
CREATE INDEX tasks_by_plan ON tasks(plan_id, deadline_us, id);
CREATE INDEX tasks_by_parent ON tasks(parent_task_id, state, deadline_us, id);
CREATE UNIQUE INDEX tasks_by_path ON tasks(path);
CREATE UNIQUE INDEX tasks_by_cascade ON tasks(parent_task_id, cascade_unit_id)
  WHERE cascade_unit_id IS NOT NULL;
CREATE TABLE task_tags (
  task_id TEXT NOT NULL REFERENCES tasks(id),
  tag     TEXT NOT NULL,
  PRIMARY KEY (task_id, tag)
) WITHOUT ROWID;
CREATE INDEX task_tags_by_tag ON task_tags(tag, task_id);

CREATE TABLE assignments (
  id             TEXT PRIMARY KEY,
  task_id        TEXT NOT NULL REFERENCES tasks(id),
  plan_id        TEXT NOT NULL,
  unit_id        TEXT NOT NULL,
  unit_kind      INTEGER NOT NULL,  -- denormalized from UnitService at creation
  unit_tags      TEXT NOT NULL,
  unit_tz        TEXT NOT NULL,
  role           INTEGER NOT NULL,
  position       INTEGER NOT NULL,
  state          INTEGER NOT NULL,
  state_us       INTEGER NOT NULL,
  baseline_us    INTEGER NOT NULL,
  extended_us    INTEGER,
  deadline_us    INTEGER NOT NULL,
  provisional    INTEGER NOT NULL,
  create_us      INTEGER NOT NULL,
  ack_us         INTEGER,
  submit_us      INTEGER,
  done_us        INTEGER,
  return_count   INTEGER NOT NULL,
  return_reason  TEXT NOT NULL,
  pending_ext_id TEXT NOT NULL,
  last_report_id TEXT NOT NULL,
  last_percent   INTEGER NOT NULL,
  last_report_us INTEGER,
  policy_id      TEXT NOT NULL,
  version        INTEGER NOT NULL,
  revision       INTEGER NOT NULL,
  update_us      INTEGER NOT NULL
);
CREATE INDEX assignments_by_task ON assignments(task_id, position);
CREATE INDEX assignments_by_plan ON assignments(plan_id, deadline_us, id);
CREATE INDEX assignments_by_unit ON assignments(unit_id, deadline_us, id);
CREATE INDEX assignments_by_plan_state ON assignments(plan_id, state);

CREATE TABLE progress_reports (
  id            TEXT PRIMARY KEY,
  assignment_id TEXT NOT NULL REFERENCES assignments(id),
  percent       INTEGER NOT NULL,
  text          TEXT NOT NULL,
  actor_id      TEXT NOT NULL,
  actor_name    TEXT NOT NULL,
  actor_unit    TEXT NOT NULL,
  create_us     INTEGER NOT NULL
);
CREATE INDEX reports_by_assignment ON progress_reports(assignment_id, create_us, id);

CREATE TABLE audit_events (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  kind            INTEGER NOT NULL,
  plan_id         TEXT NOT NULL,
  task_id         TEXT NOT NULL,
  assignment_id   TEXT NOT NULL,
  unit_id         TEXT NOT NULL,
  from_state      INTEGER NOT NULL,
  to_state        INTEGER NOT NULL,
  old_deadline_us INTEGER,
  new_deadline_us INTEGER,
  actor_id        TEXT NOT NULL,
  actor_name      TEXT NOT NULL,
  actor_unit      TEXT NOT NULL,
  note            TEXT NOT NULL,
  summary         TEXT NOT NULL,
  time_us         INTEGER NOT NULL
);
CREATE INDEX audit_by_assignment ON audit_events(assignment_id, time_us, seq);
CREATE INDEX audit_by_task ON audit_events(task_id, time_us, seq);
CREATE INDEX audit_by_plan ON audit_events(plan_id, time_us, seq);

CREATE TABLE extension_requests (
  id             TEXT PRIMARY KEY,
  assignment_id  TEXT NOT NULL REFERENCES assignments(id),
  task_id        TEXT NOT NULL,
  plan_id        TEXT NOT NULL,
  unit_id        TEXT NOT NULL,
  state          INTEGER NOT NULL,
  requested_spec TEXT NOT NULL,  -- JSON
  requested_us   INTEGER NOT NULL,
  previous_us    INTEGER NOT NULL,
  granted_us     INTEGER,
  reason         TEXT NOT NULL,
  requested_by   TEXT NOT NULL,  -- JSON actor
  decided_by     TEXT NOT NULL,  -- JSON actor
  decision_note  TEXT NOT NULL,
  create_us      INTEGER NOT NULL,
  decide_us      INTEGER,
  revision       INTEGER NOT NULL
);
CREATE INDEX extensions_by_assignment ON extension_requests(assignment_id, create_us, id);
CREATE INDEX extensions_by_task ON extension_requests(task_id, create_us, id);
CREATE INDEX extensions_by_plan ON extension_requests(plan_id, create_us, id);
CREATE INDEX extensions_by_unit ON extension_requests(unit_id, create_us, id);

-- Changes for the reminders service, written in the same transaction as the change and
-- delivered in sequence order (so in order per assignment) by the outbox dispatcher.
CREATE TABLE outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  kind       INTEGER NOT NULL,
  key        TEXT NOT NULL,  -- assignment id or plan id
  payload    TEXT NOT NULL,  -- compact text, see OutboxPayload
  attempts   INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  create_us  INTEGER NOT NULL
);
-- Rows the reminders service rejected for good; kept for operators, never dropped.
CREATE TABLE outbox_dead (
  seq        INTEGER PRIMARY KEY,
  kind       INTEGER NOT NULL,
  key        TEXT NOT NULL,
  payload    TEXT NOT NULL,
  attempts   INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  create_us  INTEGER NOT NULL,
  dead_us    INTEGER NOT NULL
);
)sql"},
      {2, R"sql(
-- Covers open assignments per unit (budgets, burden).
CREATE INDEX assignments_by_unit_open ON assignments(unit_id, state, deadline_us, plan_id,
  unit_tz);
CREATE TABLE assignment_budgets (
  scope_key TEXT PRIMARY KEY,  -- "0" default, "1:<kind>" kind, "2:<unit id>" unit
  unit_id   TEXT NOT NULL,
  unit_kind INTEGER NOT NULL,
  max_open  INTEGER NOT NULL,
  update_us INTEGER NOT NULL
) WITHOUT ROWID;
)sql"},
      {3, R"sql(
-- Boards read assignments only: the task's path and its milestones' planned points are kept
-- on each assignment.
ALTER TABLE assignments ADD COLUMN task_path TEXT NOT NULL DEFAULT '';
ALTER TABLE assignments ADD COLUMN plan_points TEXT NOT NULL DEFAULT '';
UPDATE assignments SET
  task_path = (SELECT path FROM tasks WHERE tasks.id = assignments.task_id),
  plan_points = coalesce((SELECT group_concat(json_extract(m.value, '$.due_us') || ':' ||
                                              json_extract(m.value, '$.pp'), ',')
                          FROM tasks t, json_each(t.milestones) m
                          WHERE t.id = assignments.task_id), '');
-- Covers a plan's board (optionally one task subtree) without touching the table.
-- Service bookkeeping (e.g. the calendar data version deadlines were last resolved with).
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX tasks_provisional ON tasks(id) WHERE deadline_provisional = 1;
-- Children of a task in deadline order (ListTasks by parent) without sorting them all.
CREATE INDEX tasks_by_parent_deadline ON tasks(parent_task_id, deadline_us, id);
CREATE INDEX assignments_board ON assignments(plan_id, task_path, unit_id, unit_kind, role,
  state, create_us, deadline_us, baseline_us, submit_us, last_percent, plan_points, unit_tz,
  unit_tags);
)sql"},
  };
  return kMigrations;
}

constexpr char kSep = '\x1f';

std::string Join(const std::vector<std::string>& items) {
  return absl::StrJoin(items, std::string(1, kSep));
}

std::vector<std::string> Split(absl::string_view text) {
  if (text.empty()) return {};
  return absl::StrSplit(text, kSep);
}

std::string PathUpperBound(const std::string& path) {
  // path ends with '/', and '0' is the character after '/'.
  return path.substr(0, path.size() - 1) + "0";
}

std::string JsonArray(const std::vector<std::string>& items) { return Json(items).dump(); }

template <typename E>
std::string JsonEnumArray(const std::vector<E>& items) {
  Json out = Json::array();
  for (E e : items) out.push_back(static_cast<int>(e));
  return out.dump();
}

// ---- JSON codecs for nested values (our own data; a decode failure is logged) ----

Json SpecToJson(const DeadlineSpec& spec) {
  if (spec.absolute_us) return Json{{"abs", *spec.absolute_us}};
  if (spec.working_days) {
    const auto& w = *spec.working_days;
    Json j{{"n", w.count}, {"tz", w.timezone}};
    if (w.from_date) j["from"] = DateText(*w.from_date);
    if (w.time_of_day_minutes) j["min"] = *w.time_of_day_minutes;
    return Json{{"wd", j}};
  }
  return Json::object();
}

DeadlineSpec SpecFromJson(const Json& j) {
  DeadlineSpec spec;
  if (!j.is_object()) return spec;
  if (j.contains("abs")) {
    spec.absolute_us = j["abs"].get<int64_t>();
  } else if (j.contains("wd")) {
    const Json& w = j["wd"];
    WorkingDaysSpec s;
    s.count = w.value("n", 0);
    s.timezone = w.value("tz", std::string());
    if (w.contains("from")) s.from_date = ParseDateText(w["from"].get<std::string>());
    if (w.contains("min")) s.time_of_day_minutes = w["min"].get<int>();
    spec.working_days = s;
  }
  return spec;
}

Json ParseJson(absl::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) spdlog::error("tasks store: undecodable JSON column");
  return j;
}

std::string SpecText(const DeadlineSpec& spec) { return SpecToJson(spec).dump(); }

DeadlineSpec SpecFromText(absl::string_view text) {
  try {
    return SpecFromJson(ParseJson(text));
  } catch (const std::exception& e) {
    spdlog::error("tasks store: bad deadline spec: {}", e.what());
    return {};
  }
}

std::string MilestonesText(const std::vector<Milestone>& ms) {
  Json out = Json::array();
  for (const auto& m : ms) {
    out.push_back(Json{{"id", m.id},
                       {"title", m.title},
                       {"due", SpecToJson(m.due)},
                       {"due_us", m.due_us},
                       {"pp", m.planned_percent},
                       {"prov", m.provisional}});
  }
  return out.dump();
}

std::vector<Milestone> MilestonesFromText(absl::string_view text) {
  std::vector<Milestone> out;
  try {
    Json j = ParseJson(text);
    if (!j.is_array()) return out;
    for (const auto& e : j) {
      Milestone m;
      m.id = e.value("id", std::string());
      m.title = e.value("title", std::string());
      if (e.contains("due")) m.due = SpecFromJson(e["due"]);
      m.due_us = e.value("due_us", int64_t{0});
      m.planned_percent = e.value("pp", 0);
      m.provisional = e.value("prov", false);
      out.push_back(std::move(m));
    }
  } catch (const std::exception& e) {
    spdlog::error("tasks store: bad milestones: {}", e.what());
  }
  return out;
}

bool SameSpec(const DeadlineSpec& a, const DeadlineSpec& b) {
  if (a.absolute_us != b.absolute_us || a.working_days.has_value() != b.working_days.has_value()) {
    return false;
  }
  if (!a.working_days) return true;
  const auto& x = *a.working_days;
  const auto& y = *b.working_days;
  return x.count == y.count && x.from_date == y.from_date &&
         x.time_of_day_minutes == y.time_of_day_minutes && x.timezone == y.timezone;
}

bool SameMilestones(const std::vector<Milestone>& a, const std::vector<Milestone>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].title != b[i].title || a[i].due_us != b[i].due_us ||
        a[i].planned_percent != b[i].planned_percent || a[i].provisional != b[i].provisional ||
        !SameSpec(a[i].due, b[i].due)) {
      return false;
    }
  }
  return true;
}

std::string ActorText(const Actor& a) {
  return Json{{"id", a.id}, {"name", a.name}, {"unit", a.unit_id}}.dump();
}

Actor ActorFromText(absl::string_view text) {
  Actor a;
  try {
    Json j = ParseJson(text);
    if (!j.is_object()) return a;
    a.id = j.value("id", std::string());
    a.name = j.value("name", std::string());
    a.unit_id = j.value("unit", std::string());
  } catch (const std::exception& e) {
    spdlog::error("tasks store: bad actor: {}", e.what());
  }
  return a;
}

// Outbox payloads are written for every change, so they use a compact text form instead of
// JSON: fields separated by U+001F, milestones by U+001E, a milestone's parts by U+001D. Ids,
// titles and numbers never contain these control characters (text fields reject them).
constexpr char kFieldSep = '\x1f';
constexpr char kItemSep = '\x1e';
constexpr char kPartSep = '\x1d';

std::string OptText(const std::optional<int64_t>& v) { return v ? absl::StrCat(*v) : ""; }

std::string OutboxPayload(const OutboxMessage& m) {
  if (m.kind == OutboxKind::kPlanDefaultPolicy) {
    return absl::StrCat("p1", std::string(1, kFieldSep), m.plan_id, std::string(1, kFieldSep),
                        m.policy_id, std::string(1, kFieldSep), m.plan_version);
  }
  const AssignmentSnapshot& s = m.snapshot;
  std::string ms;
  for (const auto& x : s.milestones) {
    if (!ms.empty()) ms += kItemSep;
    absl::StrAppend(&ms, x.id, std::string(1, kPartSep), x.title, std::string(1, kPartSep),
                    x.due_us);
  }
  const std::string f(1, kFieldSep);
  // "a2" appends the task path to "a1"; rows written as "a1" are still read.
  return absl::StrCat("a2", f, s.assignment_id, f, s.version, f, s.plan_id, f, s.task_id, f,
                      s.unit_id, f, static_cast<int>(s.role), f, static_cast<int>(s.state), f,
                      s.policy_id, f, s.create_us, f, OptText(s.acknowledge_us), f, s.deadline_us,
                      f, OptText(s.last_report_us), f, s.change_us, f, ms, f, s.task_path);
}

void OutboxFromPayload(absl::string_view text, OutboxMessage& m) {
  std::vector<std::string> f = absl::StrSplit(text, kFieldSep);
  auto num = [](const std::string& t) {
    int64_t v = 0;
    (void)absl::SimpleAtoi(t, &v);
    return v;
  };
  auto opt = [&](const std::string& t) {
    return t.empty() ? std::nullopt : std::optional<int64_t>(num(t));
  };
  if (m.kind == OutboxKind::kPlanDefaultPolicy) {
    if (f.size() != 4 || f[0] != "p1") {
      spdlog::error("tasks store: bad outbox payload");
      return;
    }
    m.plan_id = f[1];
    m.policy_id = f[2];
    m.plan_version = num(f[3]);
    return;
  }
  if (!(f.size() == 15 && f[0] == "a1") && !(f.size() == 16 && f[0] == "a2")) {
    spdlog::error("tasks store: bad outbox payload");
    return;
  }
  AssignmentSnapshot& s = m.snapshot;
  s.assignment_id = f[1];
  s.version = num(f[2]);
  s.plan_id = f[3];
  s.task_id = f[4];
  s.unit_id = f[5];
  s.role = static_cast<AssignmentRole>(num(f[6]));
  s.state = static_cast<AssignmentState>(num(f[7]));
  s.policy_id = f[8];
  s.create_us = num(f[9]);
  s.acknowledge_us = opt(f[10]);
  s.deadline_us = num(f[11]);
  s.last_report_us = opt(f[12]);
  s.change_us = num(f[13]);
  if (!f[14].empty()) {
    for (absl::string_view item : absl::StrSplit(f[14], kItemSep)) {
      std::vector<std::string> p = absl::StrSplit(item, kPartSep);
      if (p.size() == 3) s.milestones.push_back({p[0], p[1], num(p[2])});
    }
  }
  if (f.size() == 16) s.task_path = f[15];
}

// ---- Row readers ----

constexpr char kPlanColumns[] =
    "id, title, description, owner_unit_id, start_date, end_date, cascade_margin, "
    "default_policy_id, policy_version, archived, revision, create_us, update_us, archive_us";

Plan ReadPlan(const Stmt& s) {
  Plan p;
  p.id = s.Text(0);
  p.title = s.Text(1);
  p.description = s.Text(2);
  p.owner_unit_id = s.Text(3);
  p.start_date = ParseDateText(s.Text(4)).value_or(Date{});
  p.end_date = ParseDateText(s.Text(5)).value_or(Date{});
  p.cascade_margin_working_days = static_cast<int>(s.Int(6));
  p.default_reminder_policy_id = s.Text(7);
  p.policy_version = s.Int(8);
  p.archived = s.Int(9) != 0;
  p.revision = s.Int(10);
  p.create_us = s.Int(11);
  p.update_us = s.Int(12);
  p.archive_us = s.Int(13);
  return p;
}

constexpr char kTaskColumns[] =
    "id, plan_id, parent_task_id, path, depth, title, description, lead_unit_id, cooperating, "
    "deadline_spec, deadline_us, deadline_provisional, milestones, priority, tags, policy_id, "
    "state, canceled, cascaded, cascade_unit_id, child_count, revision, create_us, update_us";

Task ReadTask(const Stmt& s) {
  Task t;
  t.id = s.Text(0);
  t.plan_id = s.Text(1);
  t.parent_task_id = s.Text(2);
  t.path = s.Text(3);
  t.depth = static_cast<int>(s.Int(4));
  t.title = s.Text(5);
  t.description = s.Text(6);
  t.lead_unit_id = s.Text(7);
  t.cooperating_unit_ids = Split(s.TextView(8));
  t.deadline = SpecFromText(s.TextView(9));
  t.deadline_us = s.Int(10);
  t.deadline_provisional = s.Int(11) != 0;
  t.milestones = MilestonesFromText(s.TextView(12));
  t.priority = static_cast<Priority>(s.Int(13));
  t.tags = Split(s.TextView(14));
  t.reminder_policy_id = s.Text(15);
  t.state = static_cast<TaskState>(s.Int(16));
  t.canceled = s.Int(17) != 0;
  t.cascaded = s.Int(18) != 0;
  t.cascade_unit_id = s.Text(19);
  t.child_count = s.Int(20);
  t.revision = s.Int(21);
  t.create_us = s.Int(22);
  t.update_us = s.Int(23);
  return t;
}

constexpr char kAssignmentColumns[] =
    "id, task_id, plan_id, unit_id, unit_kind, unit_tags, unit_tz, role, position, state, "
    "state_us, baseline_us, extended_us, deadline_us, provisional, create_us, ack_us, "
    "submit_us, done_us, return_count, return_reason, pending_ext_id, last_report_id, "
    "last_percent, last_report_us, policy_id, version, revision, update_us, task_path, "
    "plan_points";

Assignment ReadAssignment(const Stmt& s) {
  Assignment a;
  a.id = s.Text(0);
  a.task_id = s.Text(1);
  a.plan_id = s.Text(2);
  a.unit_id = s.Text(3);
  a.unit_kind = static_cast<UnitKind>(s.Int(4));
  a.unit_tags = Split(s.TextView(5));
  a.unit_timezone = s.Text(6);
  a.role = static_cast<AssignmentRole>(s.Int(7));
  a.position = static_cast<int>(s.Int(8));
  a.state = static_cast<AssignmentState>(s.Int(9));
  a.state_us = s.Int(10);
  a.baseline_deadline_us = s.Int(11);
  a.extended_deadline_us = s.OptInt(12);
  a.deadline_us = s.Int(13);
  a.deadline_provisional = s.Int(14) != 0;
  a.create_us = s.Int(15);
  a.acknowledge_us = s.OptInt(16);
  a.submit_us = s.OptInt(17);
  a.done_us = s.OptInt(18);
  a.return_count = static_cast<int>(s.Int(19));
  a.return_reason = s.Text(20);
  a.pending_extension_id = s.Text(21);
  a.last_report_id = s.Text(22);
  a.last_percent = static_cast<int>(s.Int(23));
  a.last_report_us = s.OptInt(24);
  a.reminder_policy_id = s.Text(25);
  a.version = s.Int(26);
  a.revision = s.Int(27);
  a.update_us = s.Int(28);
  a.task_path = s.Text(29);
  a.plan_points = s.Text(30);
  return a;
}

constexpr char kReportColumns[] =
    "id, assignment_id, percent, text, actor_id, actor_name, actor_unit, create_us";

ProgressReport ReadReport(const Stmt& s) {
  ProgressReport r;
  r.id = s.Text(0);
  r.assignment_id = s.Text(1);
  r.percent = static_cast<int>(s.Int(2));
  r.text = s.Text(3);
  r.actor = {s.Text(4), s.Text(5), s.Text(6)};
  r.create_us = s.Int(7);
  return r;
}

constexpr char kAuditColumns[] =
    "seq, kind, plan_id, task_id, assignment_id, unit_id, from_state, to_state, "
    "old_deadline_us, new_deadline_us, actor_id, actor_name, actor_unit, note, summary, time_us";

AuditEvent ReadAudit(const Stmt& s) {
  AuditEvent e;
  e.sequence = s.Int(0);
  e.kind = static_cast<AuditEventKind>(s.Int(1));
  e.plan_id = s.Text(2);
  e.task_id = s.Text(3);
  e.assignment_id = s.Text(4);
  e.unit_id = s.Text(5);
  e.from_state = static_cast<AssignmentState>(s.Int(6));
  e.to_state = static_cast<AssignmentState>(s.Int(7));
  e.old_deadline_us = s.OptInt(8);
  e.new_deadline_us = s.OptInt(9);
  e.actor = {s.Text(10), s.Text(11), s.Text(12)};
  e.note = s.Text(13);
  e.summary = s.Text(14);
  e.time_us = s.Int(15);
  return e;
}

constexpr char kExtensionColumns[] =
    "id, assignment_id, task_id, plan_id, unit_id, state, requested_spec, requested_us, "
    "previous_us, granted_us, reason, requested_by, decided_by, decision_note, create_us, "
    "decide_us, revision";

ExtensionRequest ReadExtension(const Stmt& s) {
  ExtensionRequest e;
  e.id = s.Text(0);
  e.assignment_id = s.Text(1);
  e.task_id = s.Text(2);
  e.plan_id = s.Text(3);
  e.unit_id = s.Text(4);
  e.state = static_cast<ExtensionState>(s.Int(5));
  e.requested_deadline = SpecFromText(s.TextView(6));
  e.requested_deadline_us = s.Int(7);
  e.previous_deadline_us = s.Int(8);
  e.granted_deadline_us = s.OptInt(9);
  e.reason = s.Text(10);
  e.requested_by = ActorFromText(s.TextView(11));
  e.decided_by = ActorFromText(s.TextView(12));
  e.decision_note = s.Text(13);
  e.create_us = s.Int(14);
  e.decide_us = s.OptInt(15);
  e.revision = s.Int(16);
  return e;
}

using sqlite::Collect;
using sqlite::CollectOne;

class SqliteTaskTx : public TaskWriter {
 public:
  explicit SqliteTaskTx(Connection& c) : c_(c) {}

  // ---- requests ----

  absl::StatusOr<std::optional<RequestRecord>> FindRequest(const std::string& rid) override {
    auto s = c_.Prepare(
        "SELECT request_id, method, fingerprint, resource_id FROM requests WHERE request_id = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, rid);
    return CollectOne<RequestRecord>(*s, [](const Stmt& st) {
      return RequestRecord{st.Text(0), st.Text(1), st.Text(2), st.Text(3)};
    });
  }

  absl::Status InsertRequest(const RequestRecord& r, int64_t now_us) override {
    auto s = c_.Prepare(
        "INSERT INTO requests (request_id, method, fingerprint, resource_id, create_us) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s.ok()) return s.status();
    s->Bind(1, r.request_id).Bind(2, r.method).Bind(3, r.fingerprint).Bind(4, r.resource_id);
    s->Bind(5, now_us);
    return s->Run();
  }

  // ---- plans ----

  absl::StatusOr<std::optional<Plan>> FindPlan(const std::string& id) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kPlanColumns, " FROM plans WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<Plan>(*s, ReadPlan);
  }

  absl::StatusOr<std::vector<Plan>> FindPlans(const std::vector<std::string>& ids) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kPlanColumns,
                                     " FROM plans WHERE id IN (SELECT value FROM json_each(?1))"
                                     " ORDER BY id"));
    if (!s.ok()) return s.status();
    s->Bind(1, JsonArray(ids));
    return Collect<Plan>(*s, ReadPlan);
  }

  absl::StatusOr<std::vector<Plan>> ListPlans(const PlanFilter& f,
                                              const std::optional<TextCursor>& after,
                                              int limit) override {
    std::string sql = absl::StrCat("SELECT ", kPlanColumns, " FROM plans WHERE 1");
    if (!f.owner_unit_id.empty()) sql += " AND owner_unit_id = ?1";
    if (f.active_on) sql += " AND start_date <= ?2 AND end_date >= ?2";
    if (!f.include_archived) sql += " AND archived = 0";
    if (after) sql += " AND (start_date, id) > (?3, ?4)";
    sql += " ORDER BY start_date, id LIMIT ?5";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    if (!f.owner_unit_id.empty()) s->Bind(1, f.owner_unit_id);
    if (f.active_on) s->Bind(2, DateText(*f.active_on));
    if (after) s->Bind(3, after->key).Bind(4, after->id);
    s->Bind(5, static_cast<int64_t>(limit));
    return Collect<Plan>(*s, ReadPlan);
  }

  absl::StatusOr<PlanStats> GetPlanStats(const std::string& plan_id) override {
    PlanStats stats;
    auto t = c_.Prepare("SELECT count(*) FROM tasks WHERE plan_id = ?1");
    if (!t.ok()) return t.status();
    t->Bind(1, plan_id);
    auto row = t->Step();
    if (!row.ok()) return row.status();
    stats.task_count = t->Int(0);
    auto s =
        c_.Prepare("SELECT state, count(*) FROM assignments WHERE plan_id = ?1 GROUP BY state");
    if (!s.ok()) return s.status();
    s->Bind(1, plan_id);
    if (auto st = ReadCounts(*s, stats.assignments); !st.ok()) return st;
    return stats;
  }

  absl::Status InsertPlan(const Plan& p) override {
    auto s = c_.Prepare(absl::StrCat("INSERT INTO plans (", kPlanColumns,
                                     ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                                     "?12, ?13, ?14)"));
    if (!s.ok()) return s.status();
    BindPlan(*s, p);
    return s->Run();
  }

  absl::Status UpdatePlan(const Plan& p) override {
    auto s = c_.Prepare(
        "UPDATE plans SET title = ?2, description = ?3, owner_unit_id = ?4, start_date = ?5, "
        "end_date = ?6, cascade_margin = ?7, default_policy_id = ?8, policy_version = ?9, "
        "archived = ?10, revision = ?11, create_us = ?12, update_us = ?13, archive_us = ?14 "
        "WHERE id = ?1");
    if (!s.ok()) return s.status();
    BindPlan(*s, p);
    return s->Run();
  }

  // ---- tasks ----

  absl::StatusOr<std::optional<Task>> FindTask(const std::string& id) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kTaskColumns, " FROM tasks WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<Task>(*s, ReadTask);
  }

  absl::StatusOr<std::vector<Task>> FindTasks(const std::vector<std::string>& ids) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kTaskColumns,
                                     " FROM tasks WHERE id IN (SELECT value FROM json_each(?1))"
                                     " ORDER BY id"));
    if (!s.ok()) return s.status();
    s->Bind(1, JsonArray(ids));
    return Collect<Task>(*s, ReadTask);
  }

  absl::StatusOr<std::vector<Task>> ListTasks(const TaskFilter& f,
                                              const std::optional<TimeCursor>& after,
                                              int limit) override {
    // The SQL text depends only on which filters are present, so each shape is prepared once.
    std::string sql = absl::StrCat("SELECT ", kTaskColumns, " FROM tasks WHERE 1");
    if (!f.plan_id.empty()) sql += " AND plan_id = ?1";
    if (!f.parent_task_id.empty()) sql += " AND parent_task_id = ?2";
    if (!f.descendants_path.empty()) sql += " AND path > ?3 AND path < ?4";
    if (f.top_level_only) sql += " AND parent_task_id IS NULL";
    if (f.has_units) {
      sql +=
          " AND id IN (SELECT task_id FROM assignments WHERE unit_id IN "
          "(SELECT value FROM json_each(?5))";
      if (f.role != AssignmentRole::kUnspecified) sql += " AND role = ?6";
      sql += ")";
    }
    if (!f.states.empty()) sql += " AND state IN (SELECT value FROM json_each(?7))";
    if (!f.tag.empty()) sql += " AND id IN (SELECT task_id FROM task_tags WHERE tag = ?8)";
    if (f.due_after_us) sql += " AND deadline_us >= ?9";
    if (f.due_before_us) sql += " AND deadline_us < ?10";
    if (after) sql += " AND (deadline_us, id) > (?11, ?12)";
    sql += " ORDER BY deadline_us, id LIMIT ?13";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    if (!f.plan_id.empty()) s->Bind(1, f.plan_id);
    if (!f.parent_task_id.empty()) s->Bind(2, f.parent_task_id);
    if (!f.descendants_path.empty()) {
      s->Bind(3, f.descendants_path).Bind(4, PathUpperBound(f.descendants_path));
    }
    if (f.has_units) {
      s->Bind(5, JsonArray(f.unit_ids));
      if (f.role != AssignmentRole::kUnspecified) s->Bind(6, static_cast<int>(f.role));
    }
    if (!f.states.empty()) s->Bind(7, JsonEnumArray(f.states));
    if (!f.tag.empty()) s->Bind(8, f.tag);
    if (f.due_after_us) s->Bind(9, *f.due_after_us);
    if (f.due_before_us) s->Bind(10, *f.due_before_us);
    if (after) s->Bind(11, after->us).Bind(12, after->id);
    s->Bind(13, static_cast<int64_t>(limit));
    return Collect<Task>(*s, ReadTask);
  }

  absl::StatusOr<std::vector<Task>> TasksUnder(const std::string& path) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kTaskColumns,
                                     " FROM tasks WHERE path > ?1 AND path < ?2 ORDER BY path"));
    if (!s.ok()) return s.status();
    s->Bind(1, path).Bind(2, PathUpperBound(path));
    return Collect<Task>(*s, ReadTask);
  }

  absl::StatusOr<std::optional<int64_t>> LatestOpenChildDeadline(
      const std::string& task_id) override {
    auto s =
        c_.Prepare("SELECT max(deadline_us) FROM tasks WHERE parent_task_id = ?1 AND state = ?2");
    if (!s.ok()) return s.status();
    s->Bind(1, task_id).Bind(2, static_cast<int>(TaskState::kOpen));
    auto row = s->Step();
    if (!row.ok()) return row.status();
    return s->OptInt(0);
  }

  absl::StatusOr<std::vector<std::pair<std::string, AssignmentSummary>>> AssignmentSummaries(
      const std::vector<std::string>& task_ids) override {
    auto s = c_.Prepare(
        "SELECT task_id, id, unit_id, role, state FROM assignments "
        "WHERE task_id IN (SELECT value FROM json_each(?1)) ORDER BY task_id, position");
    if (!s.ok()) return s.status();
    s->Bind(1, JsonArray(task_ids));
    return Collect<std::pair<std::string, AssignmentSummary>>(*s, [](const Stmt& st) {
      return std::make_pair(st.Text(0), AssignmentSummary{st.Text(1), st.Text(2),
                                                          static_cast<AssignmentRole>(st.Int(3)),
                                                          static_cast<AssignmentState>(st.Int(4))});
    });
  }

  absl::Status InsertTask(const Task& t) override {
    auto s = c_.Prepare(absl::StrCat(
        "INSERT INTO tasks (", kTaskColumns,
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
        "?18, ?19, ?20, ?21, ?22, ?23, ?24)"));
    if (!s.ok()) return s.status();
    BindTask(*s, t);
    if (auto st = s->Run(); !st.ok()) return st;
    return InsertTags(t.id, t.tags);
  }

  absl::Status UpdateTask(const Task& t) override {
    auto s = c_.Prepare(
        "UPDATE tasks SET title = ?6, description = ?7, lead_unit_id = ?8, cooperating = ?9, "
        "deadline_spec = ?10, deadline_us = ?11, deadline_provisional = ?12, milestones = ?13, "
        "priority = ?14, tags = ?15, policy_id = ?16, state = ?17, canceled = ?18, "
        "cascaded = ?19, cascade_unit_id = ?20, child_count = ?21, revision = ?22, "
        "create_us = ?23, update_us = ?24 WHERE id = ?1 AND plan_id = ?2 AND path = ?4 "
        "AND depth = ?5 AND (parent_task_id IS ?3)");
    if (!s.ok()) return s.status();
    BindTask(*s, t);
    if (auto st = s->Run(); !st.ok()) return st;
    if (s->Changes() != 1) return absl::InternalError("task row to update not found");
    auto del = c_.Prepare("DELETE FROM task_tags WHERE task_id = ?1");
    if (!del.ok()) return del.status();
    del->Bind(1, t.id);
    if (auto st = del->Run(); !st.ok()) return st;
    return InsertTags(t.id, t.tags);
  }

  absl::Status AddChildCount(const std::string& task_id, int64_t delta) override {
    auto s = c_.Prepare("UPDATE tasks SET child_count = child_count + ?2 WHERE id = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, task_id).Bind(2, delta);
    return s->Run();
  }

  // ---- assignments ----

  absl::StatusOr<std::optional<Assignment>> FindAssignment(const std::string& id) override {
    auto s =
        c_.Prepare(absl::StrCat("SELECT ", kAssignmentColumns, " FROM assignments WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<Assignment>(*s, ReadAssignment);
  }

  absl::StatusOr<std::vector<Assignment>> FindAssignments(
      const std::vector<std::string>& ids) override {
    auto s =
        c_.Prepare(absl::StrCat("SELECT ", kAssignmentColumns,
                                " FROM assignments WHERE id IN (SELECT value FROM json_each(?1))"));
    if (!s.ok()) return s.status();
    s->Bind(1, JsonArray(ids));
    return Collect<Assignment>(*s, ReadAssignment);
  }

  absl::StatusOr<std::vector<Assignment>> AssignmentsOfTask(const std::string& task_id) override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kAssignmentColumns,
                                     " FROM assignments WHERE task_id = ?1 ORDER BY position"));
    if (!s.ok()) return s.status();
    s->Bind(1, task_id);
    return Collect<Assignment>(*s, ReadAssignment);
  }

  absl::StatusOr<std::vector<Assignment>> OpenAssignmentsOfPlan(
      const std::string& plan_id) override {
    auto s = c_.Prepare(
        absl::StrCat("SELECT ", kAssignmentColumns,
                     " FROM assignments WHERE plan_id = ?1 AND state NOT IN (?2, ?3) ORDER BY id"));
    if (!s.ok()) return s.status();
    s->Bind(1, plan_id)
        .Bind(2, static_cast<int>(AssignmentState::kDone))
        .Bind(3, static_cast<int>(AssignmentState::kCanceled));
    return Collect<Assignment>(*s, ReadAssignment);
  }

  absl::StatusOr<std::vector<Assignment>> ListAssignments(const AssignmentFilter& f,
                                                          const std::optional<TimeCursor>& after,
                                                          int limit) override {
    std::string sql = absl::StrCat("SELECT ", kAssignmentColumns, " FROM assignments WHERE 1");
    if (!f.plan_id.empty()) sql += " AND plan_id = ?1";
    if (!f.task_id.empty()) sql += " AND task_id = ?2";
    if (!f.tasks_under_path.empty()) {
      sql += " AND task_id IN (SELECT id FROM tasks WHERE path > ?3 AND path < ?4)";
    }
    if (f.has_units) sql += " AND unit_id IN (SELECT value FROM json_each(?5))";
    if (f.role != AssignmentRole::kUnspecified) sql += " AND role = ?6";
    if (!f.states.empty()) sql += " AND state IN (SELECT value FROM json_each(?7))";
    if (f.overdue_only) sql += " AND state IN (1, 2, 3, 6) AND deadline_us < ?8";
    if (f.due_after_us) sql += " AND deadline_us >= ?9";
    if (f.due_before_us) sql += " AND deadline_us < ?10";
    if (after) sql += " AND (deadline_us, id) > (?11, ?12)";
    sql += " ORDER BY deadline_us, id LIMIT ?13";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    if (!f.plan_id.empty()) s->Bind(1, f.plan_id);
    if (!f.task_id.empty()) s->Bind(2, f.task_id);
    if (!f.tasks_under_path.empty()) {
      s->Bind(3, f.tasks_under_path).Bind(4, PathUpperBound(f.tasks_under_path));
    }
    if (f.has_units) s->Bind(5, JsonArray(f.unit_ids));
    if (f.role != AssignmentRole::kUnspecified) s->Bind(6, static_cast<int>(f.role));
    if (!f.states.empty()) s->Bind(7, JsonEnumArray(f.states));
    if (f.overdue_only) s->Bind(8, f.now_us);
    if (f.due_after_us) s->Bind(9, *f.due_after_us);
    if (f.due_before_us) s->Bind(10, *f.due_before_us);
    if (after) s->Bind(11, after->us).Bind(12, after->id);
    s->Bind(13, static_cast<int64_t>(limit));
    return Collect<Assignment>(*s, ReadAssignment);
  }

  absl::StatusOr<StateCounts> TaskStateCounts(const std::string& task_id) override {
    auto s =
        c_.Prepare("SELECT state, count(*) FROM assignments WHERE task_id = ?1 GROUP BY state");
    if (!s.ok()) return s.status();
    s->Bind(1, task_id);
    StateCounts counts;
    if (auto st = ReadCounts(*s, counts); !st.ok()) return st;
    return counts;
  }

  absl::Status InsertAssignment(const Assignment& a) override {
    auto s = c_.Prepare(absl::StrCat(
        "INSERT INTO assignments (", kAssignmentColumns,
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
        "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)"));
    if (!s.ok()) return s.status();
    BindAssignment(*s, a);
    return s->Run();
  }

  absl::Status UpdateAssignment(const Assignment& a) override {
    auto s = c_.Prepare(
        "UPDATE assignments SET unit_kind = ?5, unit_tags = ?6, unit_tz = ?7, role = ?8, "
        "position = ?9, state = ?10, state_us = ?11, baseline_us = ?12, extended_us = ?13, "
        "deadline_us = ?14, provisional = ?15, create_us = ?16, ack_us = ?17, submit_us = ?18, "
        "done_us = ?19, return_count = ?20, return_reason = ?21, pending_ext_id = ?22, "
        "last_report_id = ?23, last_percent = ?24, last_report_us = ?25, policy_id = ?26, "
        "version = ?27, revision = ?28, update_us = ?29, task_path = ?30, plan_points = ?31 "
        "WHERE id = ?1 AND task_id = ?2 AND plan_id = ?3 AND unit_id = ?4");
    if (!s.ok()) return s.status();
    BindAssignment(*s, a);
    if (auto st = s->Run(); !st.ok()) return st;
    if (s->Changes() != 1) return absl::InternalError("assignment row to update not found");
    return absl::OkStatus();
  }

  // ---- progress reports ----

  absl::StatusOr<std::optional<ProgressReport>> FindProgressReport(const std::string& id) override {
    auto s =
        c_.Prepare(absl::StrCat("SELECT ", kReportColumns, " FROM progress_reports WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<ProgressReport>(*s, ReadReport);
  }

  absl::StatusOr<std::vector<ProgressReport>> ListProgressReports(
      const std::string& assignment_id, const std::optional<TimeCursor>& before,
      int limit) override {
    std::string sql =
        absl::StrCat("SELECT ", kReportColumns, " FROM progress_reports WHERE assignment_id = ?1");
    if (before) sql += " AND (create_us, id) < (?2, ?3)";
    sql += " ORDER BY create_us DESC, id DESC LIMIT ?4";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    s->Bind(1, assignment_id);
    if (before) s->Bind(2, before->us).Bind(3, before->id);
    s->Bind(4, static_cast<int64_t>(limit));
    return Collect<ProgressReport>(*s, ReadReport);
  }

  absl::Status InsertProgressReport(const ProgressReport& r) override {
    auto s = c_.Prepare(absl::StrCat("INSERT INTO progress_reports (", kReportColumns,
                                     ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    if (!s.ok()) return s.status();
    s->Bind(1, r.id)
        .Bind(2, r.assignment_id)
        .Bind(3, r.percent)
        .Bind(4, r.text)
        .Bind(5, r.actor.id)
        .Bind(6, r.actor.name)
        .Bind(7, r.actor.unit_id)
        .Bind(8, r.create_us);
    return s->Run();
  }

  // ---- audit ----

  absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(const AuditFilter& f,
                                                          const std::optional<SeqCursor>& after,
                                                          int limit) override {
    std::string sql = absl::StrCat("SELECT ", kAuditColumns, " FROM audit_events WHERE ");
    if (!f.assignment_id.empty()) {
      sql += "assignment_id = ?1";
    } else if (!f.task_id.empty()) {
      sql += "task_id = ?2";
    } else {
      sql += "plan_id = ?3";
    }
    if (!f.kinds.empty()) sql += " AND kind IN (SELECT value FROM json_each(?4))";
    if (f.since_us) sql += " AND time_us >= ?5";
    if (f.until_us) sql += " AND time_us < ?6";
    if (after) sql += " AND (time_us, seq) > (?7, ?8)";
    sql += " ORDER BY time_us, seq LIMIT ?9";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    if (!f.assignment_id.empty()) {
      s->Bind(1, f.assignment_id);
    } else if (!f.task_id.empty()) {
      s->Bind(2, f.task_id);
    } else {
      s->Bind(3, f.plan_id);
    }
    if (!f.kinds.empty()) s->Bind(4, JsonEnumArray(f.kinds));
    if (f.since_us) s->Bind(5, *f.since_us);
    if (f.until_us) s->Bind(6, *f.until_us);
    if (after) s->Bind(7, after->us).Bind(8, after->seq);
    s->Bind(9, static_cast<int64_t>(limit));
    return Collect<AuditEvent>(*s, ReadAudit);
  }

  absl::StatusOr<int64_t> InsertAuditEvent(const AuditEvent& e) override {
    auto s = c_.Prepare(
        "INSERT INTO audit_events (kind, plan_id, task_id, assignment_id, unit_id, from_state, "
        "to_state, old_deadline_us, new_deadline_us, actor_id, actor_name, actor_unit, note, "
        "summary, time_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
        "?15)");
    if (!s.ok()) return s.status();
    s->Bind(1, static_cast<int>(e.kind))
        .Bind(2, e.plan_id)
        .Bind(3, e.task_id)
        .Bind(4, e.assignment_id)
        .Bind(5, e.unit_id)
        .Bind(6, static_cast<int>(e.from_state))
        .Bind(7, static_cast<int>(e.to_state))
        .Bind(8, e.old_deadline_us)
        .Bind(9, e.new_deadline_us)
        .Bind(10, e.actor.id)
        .Bind(11, e.actor.name)
        .Bind(12, e.actor.unit_id)
        .Bind(13, e.note)
        .Bind(14, e.summary)
        .Bind(15, e.time_us);
    if (auto st = s->Run(); !st.ok()) return st;
    return c_.LastInsertRowId();
  }

  // ---- extensions ----

  absl::StatusOr<std::optional<ExtensionRequest>> FindExtension(const std::string& id) override {
    auto s = c_.Prepare(
        absl::StrCat("SELECT ", kExtensionColumns, " FROM extension_requests WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<ExtensionRequest>(*s, ReadExtension);
  }

  absl::StatusOr<std::vector<ExtensionRequest>> ListExtensions(
      const ExtensionFilter& f, const std::optional<TimeCursor>& before, int limit) override {
    std::string sql =
        absl::StrCat("SELECT ", kExtensionColumns, " FROM extension_requests WHERE 1");
    if (!f.assignment_id.empty()) sql += " AND assignment_id = ?1";
    if (!f.task_id.empty()) sql += " AND task_id = ?2";
    if (!f.plan_id.empty()) sql += " AND plan_id = ?3";
    if (!f.unit_id.empty()) sql += " AND unit_id = ?4";
    if (!f.states.empty()) sql += " AND state IN (SELECT value FROM json_each(?5))";
    if (before) sql += " AND (create_us, id) < (?6, ?7)";
    sql += " ORDER BY create_us DESC, id DESC LIMIT ?8";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    if (!f.assignment_id.empty()) s->Bind(1, f.assignment_id);
    if (!f.task_id.empty()) s->Bind(2, f.task_id);
    if (!f.plan_id.empty()) s->Bind(3, f.plan_id);
    if (!f.unit_id.empty()) s->Bind(4, f.unit_id);
    if (!f.states.empty()) s->Bind(5, JsonEnumArray(f.states));
    if (before) s->Bind(6, before->us).Bind(7, before->id);
    s->Bind(8, static_cast<int64_t>(limit));
    return Collect<ExtensionRequest>(*s, ReadExtension);
  }

  absl::Status InsertExtension(const ExtensionRequest& e) override {
    auto s = c_.Prepare(absl::StrCat("INSERT INTO extension_requests (", kExtensionColumns,
                                     ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                                     "?12, ?13, ?14, ?15, ?16, ?17)"));
    if (!s.ok()) return s.status();
    BindExtension(*s, e);
    return s->Run();
  }

  absl::Status UpdateExtension(const ExtensionRequest& e) override {
    auto s = c_.Prepare(
        "UPDATE extension_requests SET assignment_id = ?2, task_id = ?3, plan_id = ?4, "
        "unit_id = ?5, state = ?6, requested_spec = ?7, requested_us = ?8, previous_us = ?9, "
        "granted_us = ?10, reason = ?11, requested_by = ?12, decided_by = ?13, "
        "decision_note = ?14, create_us = ?15, decide_us = ?16, revision = ?17 WHERE id = ?1");
    if (!s.ok()) return s.status();
    BindExtension(*s, e);
    return s->Run();
  }

  // ---- meta, provisional deadlines ----

  absl::StatusOr<std::optional<std::string>> GetMeta(const std::string& key) override {
    auto s = c_.Prepare("SELECT value FROM meta WHERE key = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, key);
    return CollectOne<std::string>(*s, [](const Stmt& st) { return st.Text(0); });
  }

  absl::Status SetMeta(const std::string& key, const std::string& value) override {
    auto s = c_.Prepare(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET "
        "value = excluded.value");
    if (!s.ok()) return s.status();
    s->Bind(1, key).Bind(2, value);
    return s->Run();
  }

  absl::StatusOr<std::vector<Task>> ProvisionalTasks() override {
    auto s = c_.Prepare(absl::StrCat("SELECT ", kTaskColumns,
                                     " FROM tasks WHERE deadline_provisional = 1 ORDER BY id"));
    if (!s.ok()) return s.status();
    return Collect<Task>(*s, ReadTask);
  }

  // ---- boards, coverage, burden ----

  absl::Status ScanBoard(const std::string& plan_id, const std::string& task_path,
                         const BoardColumns& columns,
                         const std::function<void(const BoardRow&)>& fn) override {
    // The optional columns come last, numbered from 9 in this order.
    std::string sql =
        "SELECT unit_id, role, state, create_us, deadline_us, baseline_us, submit_us, "
        "last_percent, plan_points";
    int next = 9;
    const int kind_col = columns.unit_kind ? next++ : -1;
    const int path_col = columns.task_path ? next++ : -1;
    const int tz_col = columns.unit_timezone ? next++ : -1;
    const int tags_col = columns.unit_tags ? next++ : -1;
    if (kind_col >= 0) sql += ", unit_kind";
    if (path_col >= 0) sql += ", task_path";
    if (tz_col >= 0) sql += ", unit_tz";
    if (tags_col >= 0) sql += ", unit_tags";
    // The covering board index, also when the columns read would let another plan_id index
    // look attractive (each row would then cost a table lookup).
    sql += " FROM assignments INDEXED BY assignments_board WHERE plan_id = ?1";
    if (!task_path.empty()) sql += " AND task_path >= ?2 AND task_path < ?3";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    s->Bind(1, plan_id);
    if (!task_path.empty()) s->Bind(2, task_path).Bind(3, PathUpperBound(task_path));
    BoardRow row;
    for (;;) {
      auto more = s->Step();
      if (!more.ok()) return more.status();
      if (!*more) return absl::OkStatus();
      row.unit_id = s->TextView(0);
      row.role = static_cast<AssignmentRole>(s->Int(1));
      row.state = static_cast<AssignmentState>(s->Int(2));
      row.create_us = s->Int(3);
      row.deadline_us = s->Int(4);
      row.baseline_us = s->Int(5);
      row.submit_us = s->OptInt(6);
      row.last_percent = static_cast<int>(s->Int(7));
      row.plan_points = s->TextView(8);
      if (kind_col >= 0) row.unit_kind = static_cast<UnitKind>(s->Int(kind_col));
      if (path_col >= 0) row.task_path = s->TextView(path_col);
      if (tz_col >= 0) row.unit_timezone = s->TextView(tz_col);
      if (tags_col >= 0) row.unit_tags = s->TextView(tags_col);
      fn(row);
    }
  }

  absl::StatusOr<std::vector<Assignment>> ChildLeadAssignments(
      const std::string& task_id) override {
    auto s = c_.Prepare(absl::StrCat(
        "SELECT ", kAssignmentColumns,
        " FROM assignments WHERE task_id IN (SELECT id FROM tasks WHERE parent_task_id = ?1) "
        "AND role = 1"));
    if (!s.ok()) return s.status();
    s->Bind(1, task_id);
    return Collect<Assignment>(*s, ReadAssignment);
  }

  absl::Status ScanOpenAssignments(const std::vector<std::string>& unit_ids,
                                   const std::string& plan_id,
                                   const std::function<void(const OpenRow&)>& fn) override {
    std::string sql =
        "SELECT unit_id, state, deadline_us, unit_tz FROM assignments WHERE unit_id IN "
        "(SELECT value FROM json_each(?1)) AND state IN (1, 2, 3, 4, 6)";
    // "+plan_id": look up by unit (selective), never scan the plan.
    if (!plan_id.empty()) sql += " AND +plan_id = ?2";
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    s->Bind(1, JsonArray(unit_ids));
    if (!plan_id.empty()) s->Bind(2, plan_id);
    OpenRow row;
    for (;;) {
      auto more = s->Step();
      if (!more.ok()) return more.status();
      if (!*more) return absl::OkStatus();
      row.unit_id = s->TextView(0);
      row.state = static_cast<AssignmentState>(s->Int(1));
      row.deadline_us = s->Int(2);
      row.unit_timezone = s->TextView(3);
      fn(row);
    }
  }

  // ---- cascades and budgets ----

  absl::StatusOr<std::vector<std::string>> CascadedUnits(
      const std::string& parent_task_id) override {
    auto s = c_.Prepare(
        "SELECT cascade_unit_id FROM tasks WHERE parent_task_id = ?1 AND cascade_unit_id IS NOT "
        "NULL");
    if (!s.ok()) return s.status();
    s->Bind(1, parent_task_id);
    return Collect<std::string>(*s, [](const Stmt& st) { return st.Text(0); });
  }

  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> OpenAssignmentCounts(
      const std::vector<std::string>& unit_ids) override {
    auto s = c_.Prepare(
        "SELECT unit_id, count(*) FROM assignments WHERE unit_id IN "
        "(SELECT value FROM json_each(?1)) AND state IN (1, 2, 3, 4, 6) GROUP BY unit_id");
    if (!s.ok()) return s.status();
    s->Bind(1, JsonArray(unit_ids));
    return Collect<std::pair<std::string, int64_t>>(
        *s, [](const Stmt& st) { return std::make_pair(st.Text(0), st.Int(1)); });
  }

  absl::StatusOr<std::vector<AssignmentBudget>> ListBudgets(const std::string& after_key,
                                                            int limit) override {
    auto s = c_.Prepare(
        "SELECT unit_id, unit_kind, max_open, update_us FROM assignment_budgets "
        "WHERE scope_key > ?1 ORDER BY scope_key LIMIT ?2");
    if (!s.ok()) return s.status();
    s->Bind(1, after_key).Bind(2, static_cast<int64_t>(limit));
    return Collect<AssignmentBudget>(*s, [](const Stmt& st) {
      AssignmentBudget b;
      b.unit_id = st.Text(0);
      b.unit_kind = static_cast<UnitKind>(st.Int(1));
      b.max_open_assignments = st.Int(2);
      b.update_us = st.Int(3);
      return b;
    });
  }

  absl::Status UpsertBudget(const AssignmentBudget& b) override {
    auto s = c_.Prepare(
        "INSERT INTO assignment_budgets (scope_key, unit_id, unit_kind, max_open, update_us) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope_key) DO UPDATE SET "
        "max_open = excluded.max_open, update_us = excluded.update_us");
    if (!s.ok()) return s.status();
    s->Bind(1, BudgetKey(b))
        .Bind(2, b.unit_id)
        .Bind(3, static_cast<int>(b.unit_kind))
        .Bind(4, b.max_open_assignments)
        .Bind(5, b.update_us);
    return s->Run();
  }

  absl::StatusOr<bool> DeleteBudget(const AssignmentBudget& scope) override {
    auto s = c_.Prepare("DELETE FROM assignment_budgets WHERE scope_key = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, BudgetKey(scope));
    if (auto st = s->Run(); !st.ok()) return st;
    return s->Changes() > 0;
  }

  // ---- outbox ----

  absl::StatusOr<std::vector<OutboxMessage>> ReadOutbox(int limit) override {
    auto s = c_.Prepare(
        "SELECT seq, kind, payload, attempts, last_error, create_us FROM outbox ORDER BY seq "
        "LIMIT ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, static_cast<int64_t>(limit));
    return Collect<OutboxMessage>(*s, [](const Stmt& st) {
      OutboxMessage m;
      m.sequence = st.Int(0);
      m.kind = static_cast<OutboxKind>(st.Int(1));
      OutboxFromPayload(st.TextView(2), m);
      m.attempts = static_cast<int>(st.Int(3));
      m.last_error = st.Text(4);
      m.create_us = st.Int(5);
      return m;
    });
  }

  absl::StatusOr<int64_t> CountOutbox() override { return Count("SELECT count(*) FROM outbox"); }
  absl::StatusOr<int64_t> CountDeadOutbox() override {
    return Count("SELECT count(*) FROM outbox_dead");
  }

  absl::Status AppendOutbox(const OutboxMessage& m) override {
    auto s =
        c_.Prepare("INSERT INTO outbox (kind, key, payload, create_us) VALUES (?1, ?2, ?3, ?4)");
    if (!s.ok()) return s.status();
    s->Bind(1, static_cast<int>(m.kind))
        .Bind(2, m.kind == OutboxKind::kPlanDefaultPolicy ? m.plan_id : m.snapshot.assignment_id)
        .Bind(3, OutboxPayload(m))
        .Bind(4, m.create_us);
    return s->Run();
  }

  absl::Status DeleteOutbox(const std::vector<int64_t>& sequences) override {
    auto s = c_.Prepare("DELETE FROM outbox WHERE seq = ?1");
    if (!s.ok()) return s.status();
    for (int64_t seq : sequences) {
      s->Bind(1, seq);
      if (auto st = s->Run(); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  absl::Status RecordOutboxAttempt(int64_t sequence, const std::string& error) override {
    auto s =
        c_.Prepare("UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE seq = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, sequence).Bind(2, error);
    return s->Run();
  }

  absl::Status BuryOutbox(int64_t sequence, const std::string& error, int64_t now_us) override {
    auto s = c_.Prepare(
        "INSERT INTO outbox_dead (seq, kind, key, payload, attempts, last_error, create_us, "
        "dead_us) SELECT seq, kind, key, payload, attempts + 1, ?2, create_us, ?3 FROM outbox "
        "WHERE seq = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, sequence).Bind(2, error).Bind(3, now_us);
    if (auto st = s->Run(); !st.ok()) return st;
    return DeleteOutbox({sequence});
  }

 private:
  absl::StatusOr<int64_t> Count(const char* sql) {
    auto s = c_.Prepare(sql);
    if (!s.ok()) return s.status();
    auto row = s->Step();
    if (!row.ok()) return row.status();
    return s->Int(0);
  }

  static absl::Status ReadCounts(Stmt& s, StateCounts& counts) {
    for (;;) {
      auto row = s.Step();
      if (!row.ok()) return row.status();
      if (!*row) return absl::OkStatus();
      int64_t state = s.Int(0);
      if (state >= 0 && state <= kMaxAssignmentState) counts.by_state[state] = s.Int(1);
    }
  }

  static void BindPlan(Stmt& s, const Plan& p) {
    s.Bind(1, p.id)
        .Bind(2, p.title)
        .Bind(3, p.description)
        .Bind(4, p.owner_unit_id)
        .Bind(5, DateText(p.start_date))
        .Bind(6, DateText(p.end_date))
        .Bind(7, p.cascade_margin_working_days)
        .Bind(8, p.default_reminder_policy_id)
        .Bind(9, p.policy_version)
        .Bind(10, p.archived ? 1 : 0)
        .Bind(11, p.revision)
        .Bind(12, p.create_us)
        .Bind(13, p.update_us)
        .Bind(14, p.archive_us);
  }

  // A cascade writes thousands of tasks with the same deadline and milestones: encode once.
  const std::string& EncodedMilestones(const std::vector<Milestone>& ms) {
    if (!last_ms_text_ || !SameMilestones(ms, last_ms_)) {
      last_ms_ = ms;
      last_ms_text_ = MilestonesText(ms);
    }
    return *last_ms_text_;
  }
  const std::string& EncodedSpec(const DeadlineSpec& spec) {
    if (!last_spec_text_ || !SameSpec(spec, last_spec_)) {
      last_spec_ = spec;
      last_spec_text_ = SpecText(spec);
    }
    return *last_spec_text_;
  }

  void BindTask(Stmt& s, const Task& t) {
    s.Bind(1, t.id)
        .Bind(2, t.plan_id)
        .BindTextOrNull(3, t.parent_task_id)
        .Bind(4, t.path)
        .Bind(5, t.depth)
        .Bind(6, t.title)
        .Bind(7, t.description)
        .Bind(8, t.lead_unit_id)
        .Bind(9, Join(t.cooperating_unit_ids))
        .Bind(10, EncodedSpec(t.deadline))
        .Bind(11, t.deadline_us)
        .Bind(12, t.deadline_provisional ? 1 : 0)
        .Bind(13, EncodedMilestones(t.milestones))
        .Bind(14, static_cast<int>(t.priority))
        .Bind(15, Join(t.tags))
        .Bind(16, t.reminder_policy_id)
        .Bind(17, static_cast<int>(t.state))
        .Bind(18, t.canceled ? 1 : 0)
        .Bind(19, t.cascaded ? 1 : 0)
        .BindTextOrNull(20, t.cascade_unit_id)
        .Bind(21, t.child_count)
        .Bind(22, t.revision)
        .Bind(23, t.create_us)
        .Bind(24, t.update_us);
  }

  static void BindAssignment(Stmt& s, const Assignment& a) {
    s.Bind(1, a.id)
        .Bind(2, a.task_id)
        .Bind(3, a.plan_id)
        .Bind(4, a.unit_id)
        .Bind(5, static_cast<int>(a.unit_kind))
        .Bind(6, Join(a.unit_tags))
        .Bind(7, a.unit_timezone)
        .Bind(8, static_cast<int>(a.role))
        .Bind(9, a.position)
        .Bind(10, static_cast<int>(a.state))
        .Bind(11, a.state_us)
        .Bind(12, a.baseline_deadline_us)
        .Bind(13, a.extended_deadline_us)
        .Bind(14, a.deadline_us)
        .Bind(15, a.deadline_provisional ? 1 : 0)
        .Bind(16, a.create_us)
        .Bind(17, a.acknowledge_us)
        .Bind(18, a.submit_us)
        .Bind(19, a.done_us)
        .Bind(20, a.return_count)
        .Bind(21, a.return_reason)
        .Bind(22, a.pending_extension_id)
        .Bind(23, a.last_report_id)
        .Bind(24, a.last_percent)
        .Bind(25, a.last_report_us)
        .Bind(26, a.reminder_policy_id)
        .Bind(27, a.version)
        .Bind(28, a.revision)
        .Bind(29, a.update_us)
        .Bind(30, a.task_path)
        .Bind(31, a.plan_points);
  }

  static void BindExtension(Stmt& s, const ExtensionRequest& e) {
    s.Bind(1, e.id)
        .Bind(2, e.assignment_id)
        .Bind(3, e.task_id)
        .Bind(4, e.plan_id)
        .Bind(5, e.unit_id)
        .Bind(6, static_cast<int>(e.state))
        .Bind(7, SpecText(e.requested_deadline))
        .Bind(8, e.requested_deadline_us)
        .Bind(9, e.previous_deadline_us)
        .Bind(10, e.granted_deadline_us)
        .Bind(11, e.reason)
        .Bind(12, ActorText(e.requested_by))
        .Bind(13, ActorText(e.decided_by))
        .Bind(14, e.decision_note)
        .Bind(15, e.create_us)
        .Bind(16, e.decide_us)
        .Bind(17, e.revision);
  }

  absl::Status InsertTags(const std::string& id, const std::vector<std::string>& tags) {
    if (tags.empty()) return absl::OkStatus();
    auto s = c_.Prepare("INSERT INTO task_tags (task_id, tag) VALUES (?1, ?2)");
    if (!s.ok()) return s.status();
    for (const auto& tag : tags) {
      s->Bind(1, id).Bind(2, tag);
      if (auto st = s->Run(); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  Connection& c_;
  std::vector<Milestone> last_ms_;
  std::optional<std::string> last_ms_text_;
  DeadlineSpec last_spec_;
  std::optional<std::string> last_spec_text_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteTaskStore>> SqliteTaskStore::Open(
    const sqlite::Options& options) {
  auto db = sqlite::Database::Open(options, Migrations());
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqliteTaskStore>(new SqliteTaskStore(std::move(*db)));
}

// 64 MiB per connection: a plan of ~324,000 assignments keeps its board index in memory.
constexpr char kCachePragma[] = "PRAGMA cache_size = -65536";

absl::Status SqliteTaskStore::Tune(Connection& c) {
  {
    std::lock_guard<std::mutex> lock(tuned_mu_);
    if (tuned_.contains(&c)) return absl::OkStatus();
  }
  if (auto s = c.Exec(kCachePragma); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(tuned_mu_);
  tuned_.insert(&c);
  return absl::OkStatus();
}

absl::Status SqliteTaskStore::Read(const std::function<absl::Status(TaskReader&)>& fn) {
  return db_->Read([&](Connection& c) {
    if (auto s = Tune(c); !s.ok()) return s;
    SqliteTaskTx tx(c);
    return fn(tx);
  });
}

struct SqliteTaskStore::PendingWrite {
  const std::function<absl::Status(TaskWriter&)>* fn;
  absl::Status status;
  bool grouped = false;  // taken into a group: wait for done, never lead
  bool done = false;
  // Woken when done, or when it is first in line and may lead the next group: one wake-up per
  // writer, not a thundering herd.
  std::condition_variable cv;
};

// At most this many writes share a transaction, so one group cannot hold the writer for long.
constexpr size_t kMaxGroup = 64;

absl::Status SqliteTaskStore::Write(const std::function<absl::Status(TaskWriter&)>& fn) {
  PendingWrite me{&fn, absl::OkStatus()};
  std::unique_lock<std::mutex> lock(group_mu_);
  waiting_.push_back(&me);
  while (!me.done && (me.grouped || writing_ || waiting_.front() != &me)) me.cv.wait(lock);
  if (me.done) return me.status;
  // Lead: this write and those queued behind it.
  writing_ = true;
  std::vector<PendingWrite*> group;
  while (!waiting_.empty() && group.size() < kMaxGroup) {
    group.push_back(waiting_.front());
    group.back()->grouped = true;
    waiting_.pop_front();
  }
  lock.unlock();
  const uint64_t ticket = WriteGroup(group);
  lock.lock();
  // The next group writes while this one's commit is synced to disk.
  writing_ = false;
  if (!waiting_.empty()) waiting_.front()->cv.notify_one();
  lock.unlock();
  const absl::Status durable = db_->WaitDurable(ticket);
  lock.lock();
  for (PendingWrite* p : group) {
    if (p->status.ok() && !durable.ok()) p->status = durable;
    p->done = true;
    if (p != &me) p->cv.notify_one();
  }
  return me.status;
}

uint64_t SqliteTaskStore::WriteGroup(const std::vector<PendingWrite*>& group) {
  if (group.size() == 1) {
    PendingWrite& p = *group.front();
    auto ticket = db_->WriteUnsynced([&](Connection& c) {
      if (auto s = Tune(c); !s.ok()) return s;
      SqliteTaskTx tx(c);
      return (*p.fn)(tx);
    });
    p.status = ticket.status();
    return ticket.ok() ? *ticket : 0;
  }
  auto run = [](Connection& c, const char* sql) -> absl::Status {
    auto stmt = c.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    return stmt->Run();
  };
  auto ticket = db_->WriteUnsynced([&](Connection& c) -> absl::Status {
    if (auto s = Tune(c); !s.ok()) return s;
    SqliteTaskTx tx(c);
    for (PendingWrite* p : group) {
      if (auto s = run(c, "SAVEPOINT grouped_write"); !s.ok()) return s;
      p->status = (*p->fn)(tx);
      if (!p->status.ok()) {
        // Undo this write only; a failure here means the transaction itself is gone.
        if (auto s = run(c, "ROLLBACK TO grouped_write"); !s.ok()) return s;
      }
      if (auto s = run(c, "RELEASE grouped_write"); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
  if (ticket.ok()) return *ticket;
  // Nothing of the group was applied: every write that had succeeded fails with the reason.
  for (PendingWrite* p : group) {
    if (p->status.ok()) p->status = ticket.status();
  }
  return 0;
}

}  // namespace duban::tasks
