// TaskDirectory: tasks (create, read, list, update, cancel).
#include <algorithm>
#include <map>

#include <absl/container/flat_hash_set.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>

#include "duban/ids.h"
#include "duban/page_token.h"
#include "duban/validation.h"
#include "task_directory.h"
#include "task_rules.h"

namespace duban::tasks {

using namespace rules;  // NOLINT(build/namespaces): internal helpers of this service

namespace {

std::string TaskFingerprint(const Task& t) {
  std::vector<std::string> ms;
  for (const auto& m : t.milestones) {
    ms.push_back(absl::StrCat(m.title, "@", m.due_us, "/", m.planned_percent));
  }
  return Fingerprint(absl::StrCat(t.id, "|", t.plan_id, "|", t.parent_task_id, "|", t.title, "|",
                                  t.description, "|", t.lead_unit_id, "|",
                                  absl::StrJoin(t.cooperating_unit_ids, ","), "|", t.deadline_us,
                                  "|", absl::StrJoin(ms, ","), "|", static_cast<int>(t.priority),
                                  "|", absl::StrJoin(t.tags, ","), "|", t.reminder_policy_id));
}

absl::StatusOr<std::optional<TimeCursor>> DecodeTimeCursor(const std::string& text) {
  if (text.empty()) return std::optional<TimeCursor>();
  std::vector<std::string> parts = absl::StrSplit(text, '|');
  TimeCursor c;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &c.us)) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  c.id = parts[1];
  return std::optional<TimeCursor>(c);
}

}  // namespace

absl::StatusOr<Task> TaskDirectory::CreateTask(Task task, const std::string& request_id,
                                               const Actor& actor) {
  FieldViolations v;
  CheckRequestId(request_id, v);
  CheckOptionalId(task.id, "task.id", v);
  CheckRequiredId(task.plan_id, "task.plan_id", v);
  CheckOptionalId(task.parent_task_id, "task.parent_task_id", v);
  CheckTitle(task.title, "task.title", v);
  CheckLongText(task.description, kMaxDescriptionChars, "task.description", v);
  CheckRequiredId(task.lead_unit_id, "task.lead_unit_id", v);
  if (task.cooperating_unit_ids.size() > static_cast<size_t>(kMaxCooperatingUnits)) {
    v.Add("task.cooperating_unit_ids", absl::StrCat("at most ", kMaxCooperatingUnits, " units"));
  } else {
    absl::flat_hash_set<std::string> seen;
    for (size_t i = 0; i < task.cooperating_unit_ids.size(); ++i) {
      const std::string& id = task.cooperating_unit_ids[i];
      const std::string f = absl::StrCat("task.cooperating_unit_ids[", i, "]");
      if (auto s = ValidateId(id); !s.ok()) {
        v.Add(f, std::string(s.message()));
      } else if (id == task.lead_unit_id) {
        v.Add(f, "must not be the lead unit");
      } else if (!seen.insert(id).second) {
        v.Add(f, "is listed twice");
      }
    }
  }
  DeadlineResolver::Check(task.deadline, "task.deadline", /*required=*/true, v);
  CheckMilestones(task.milestones, "task.milestones", v);
  if (!ValidPriority(task.priority)) v.Add("task.priority", "must be a known priority");
  if (task.priority == Priority::kUnspecified) task.priority = Priority::kNormal;
  CheckTags(task.tags, "task.tags", v);
  CheckOptionalId(task.reminder_policy_id, "task.reminder_policy_id", v);
  CheckActor(actor, "actor", /*required=*/true, v);
  if (!v.empty()) return v.ToStatus();

  std::vector<UnitRef> refs = {{"task.lead_unit_id", task.lead_unit_id}};
  for (size_t i = 0; i < task.cooperating_unit_ids.size(); ++i) {
    refs.push_back(
        {absl::StrCat("task.cooperating_unit_ids[", i, "]"), task.cooperating_unit_ids[i]});
  }
  if (!actor.unit_id.empty()) refs.push_back({"actor.unit_id", actor.unit_id});
  auto units = CheckUnits(refs);
  if (!units.ok()) return units.status();
  if (auto s = CheckPolicy("task.reminder_policy_id", task.reminder_policy_id); !s.ok()) return s;

  const int64_t now = NowMicros();
  const std::string tz = units->at(task.lead_unit_id).timezone;
  auto deadline = resolver_.Resolve(task.deadline, tz, now, "task.deadline");
  if (!deadline.ok()) return deadline.status();
  task.deadline = deadline->filled;
  task.deadline_us = deadline->time_us;
  task.deadline_provisional = deadline->provisional;
  if (auto s = ResolveMilestones(resolver_, task.milestones, tz, now, task.deadline_us,
                                 "task.milestones");
      !s.ok()) {
    return s;
  }
  AssignMilestoneIds(task.milestones, {});
  for (const auto& m : task.milestones) task.deadline_provisional |= m.provisional;

  const std::string fp = TaskFingerprint(task);
  if (task.id.empty()) task.id = NewSortableId("t");
  Task out;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto prior = Replay(tx, request_id, "CreateTask", fp);
    if (!prior.ok()) return prior.status();
    if (*prior) {
      auto found = tx.FindTask(**prior);
      if (!found.ok()) return found.status();
      if (!*found) return absl::InternalError("replayed task missing");
      std::vector<Task> one = {std::move(**found)};
      if (auto s = FillSummaries(tx, one); !s.ok()) return s;
      out = std::move(one[0]);
      return absl::OkStatus();
    }
    auto plan = tx.FindPlan(task.plan_id);
    if (!plan.ok()) return plan.status();
    if (!*plan) return NotFound("task.plan_id", "plan", task.plan_id);
    if ((*plan)->archived) return Precondition("task.plan_id", "plan is archived");
    auto existing = tx.FindTask(task.id);
    if (!existing.ok()) return existing.status();
    if (*existing) {
      return FieldError(absl::StatusCode::kAlreadyExists, "task.id",
                        absl::StrCat("task \"", task.id, "\" already exists"));
    }
    std::string parent_path;
    task.depth = 0;
    if (!task.parent_task_id.empty()) {
      auto parent = tx.FindTask(task.parent_task_id);
      if (!parent.ok()) return parent.status();
      if (!*parent) return NotFound("task.parent_task_id", "task", task.parent_task_id);
      if ((*parent)->plan_id != task.plan_id) {
        return InvalidField("task.parent_task_id", "belongs to another plan");
      }
      if ((*parent)->state != TaskState::kOpen) {
        return Precondition("task.parent_task_id", "the parent task is not OPEN");
      }
      if ((*parent)->depth + 1 >= kMaxTaskDepth) {
        return Precondition("task.parent_task_id",
                            absl::StrCat("task trees are at most ", kMaxTaskDepth, " levels deep"));
      }
      if (auto s = CheckChildDeadline(resolver_, **plan, **parent, task.deadline_us, tz,
                                      "task.deadline");
          !s.ok()) {
        return s;
      }
      parent_path = (*parent)->path;
      task.depth = (*parent)->depth + 1;
    }
    Mutation m(tx, now, actor);
    task.path = ChildTaskPath(parent_path, task.id);
    task.state = TaskState::kOpen;
    task.canceled = false;
    task.cascaded = false;
    task.cascade_unit_id.clear();
    task.child_count = 0;
    task.revision = 1;
    task.create_us = task.update_us = now;
    if (auto s = tx.InsertTask(task); !s.ok()) return s;
    if (!task.parent_task_id.empty()) {
      if (auto s = tx.AddChildCount(task.parent_task_id, 1); !s.ok()) return s;
    }
    auto make = [&](const std::string& unit_id, AssignmentRole role, int position) {
      const UnitInfo& u = units->at(unit_id);
      Assignment a;
      a.id = NewSortableId("a");
      a.task_id = task.id;
      a.plan_id = task.plan_id;
      a.unit_id = unit_id;
      a.unit_kind = u.kind;
      a.unit_tags = u.tags;
      a.unit_timezone = u.timezone;
      a.role = role;
      a.position = position;
      a.state = AssignmentState::kAssigned;
      a.state_us = now;
      a.baseline_deadline_us = a.deadline_us = task.deadline_us;
      a.deadline_provisional = task.deadline_provisional;
      a.create_us = now;
      a.reminder_policy_id = task.reminder_policy_id;
      return m.CreateAssignment(a, task, "");
    };
    if (auto s = make(task.lead_unit_id, AssignmentRole::kLead, 0); !s.ok()) return s;
    for (size_t i = 0; i < task.cooperating_unit_ids.size(); ++i) {
      if (auto s = make(task.cooperating_unit_ids[i], AssignmentRole::kCooperate,
                        static_cast<int>(i) + 1);
          !s.ok()) {
        return s;
      }
    }
    if (auto s = Remember(tx, request_id, "CreateTask", fp, task.id, now); !s.ok()) return s;
    wrote_outbox = m.wrote_outbox();
    std::vector<Task> one = {task};
    if (auto s = FillSummaries(tx, one); !s.ok()) return s;
    out = std::move(one[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<Task> TaskDirectory::GetTask(const std::string& id) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  Task out;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto found = tx.FindTask(id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "task", id);
    std::vector<Task> one = {std::move(**found)};
    if (auto s = FillSummaries(tx, one); !s.ok()) return s;
    out = std::move(one[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<TaskPage> TaskDirectory::ListTasks(const ListTasksQuery& q) {
  FieldViolations v;
  auto page_size = EffectivePageSize(q.page_size);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  if (q.plan_id.empty() && q.unit_id.empty() && q.unit_subtree_of.empty()) {
    v.Add("plan_id", "one of plan_id, unit_id and unit_subtree_of is required");
  }
  CheckOptionalId(q.plan_id, "plan_id", v);
  CheckOptionalId(q.parent_task_id, "parent_task_id", v);
  CheckOptionalId(q.descendants_of, "descendants_of", v);
  CheckOptionalId(q.unit_id, "unit_id", v);
  CheckOptionalId(q.unit_subtree_of, "unit_subtree_of", v);
  if (!q.parent_task_id.empty() && q.top_level_only) {
    v.Add("top_level_only", "cannot be combined with parent_task_id");
  }
  int role = static_cast<int>(q.role);
  if (role < 0 || role > 2) v.Add("role", "must be a known role");
  if (q.role != AssignmentRole::kUnspecified && q.unit_id.empty() && q.unit_subtree_of.empty()) {
    v.Add("role", "requires unit_id or unit_subtree_of");
  }
  for (size_t i = 0; i < q.states.size(); ++i) {
    int s = static_cast<int>(q.states[i]);
    if (s < 1 || s > 3) v.Add(absl::StrCat("states[", i, "]"), "must be a known task state");
  }
  if (!q.tag.empty()) v.AddIfError("tag", ValidateText(q.tag, 1, kMaxTagChars));
  if (q.due_after_us && q.due_before_us && *q.due_before_us <= *q.due_after_us) {
    v.Add("due_before", "must be after due_after");
  }
  if (!v.empty()) return v.ToStatus();

  std::vector<int> states;
  for (auto s : q.states) states.push_back(static_cast<int>(s));
  std::sort(states.begin(), states.end());
  uint64_t fp = FilterFingerprint(
      absl::StrCat("tasks|p=", q.plan_id, "|pt=", q.parent_task_id, "|d=", q.descendants_of,
                   "|top=", q.top_level_only, "|u=", q.unit_id, "|r=", role,
                   "|us=", q.unit_subtree_of, "|s=", absl::StrJoin(states, ","), "|t=", q.tag,
                   "|da=", q.due_after_us ? absl::StrCat(*q.due_after_us) : "",
                   "|db=", q.due_before_us ? absl::StrCat(*q.due_before_us) : ""));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  auto after = DecodeTimeCursor(*cursor_text);
  if (!after.ok()) return after.status();

  TaskFilter f;
  f.plan_id = q.plan_id;
  f.parent_task_id = q.parent_task_id;
  f.top_level_only = q.top_level_only;
  f.role = q.role;
  f.states = q.states;
  f.tag = q.tag;
  f.due_after_us = q.due_after_us;
  f.due_before_us = q.due_before_us;
  if (auto s = UnitScope(q.unit_id, q.unit_subtree_of, f.has_units, f.unit_ids); !s.ok()) return s;

  TaskPage page;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    if (!q.descendants_of.empty()) {
      auto root = tx.FindTask(q.descendants_of);
      if (!root.ok()) return root.status();
      if (!*root) return NotFound("descendants_of", "task", q.descendants_of);
      f.descendants_path = (*root)->path;
    }
    auto tasks = tx.ListTasks(f, *after, *page_size + 1);
    if (!tasks.ok()) return tasks.status();
    if (tasks->size() > static_cast<size_t>(*page_size)) {
      tasks->resize(*page_size);
      page.next_page_token =
          EncodePageToken(fp, absl::StrCat(tasks->back().deadline_us, "|", tasks->back().id));
    }
    if (auto s = FillSummaries(tx, *tasks); !s.ok()) return s;
    page.tasks = std::move(*tasks);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<Task> TaskDirectory::UpdateTask(const Task& patch,
                                               const std::vector<std::string>& mask,
                                               const std::string& etag, const Actor& actor,
                                               const std::string& note) {
  FieldViolations v;
  CheckRequiredId(patch.id, "task.id", v);
  if (mask.empty()) v.Add("update_mask", "must name at least one field");
  CheckActor(actor, "actor", /*required=*/true, v);
  CheckLongText(note, kMaxNoteChars, "note", v);
  Task checked = patch;
  absl::flat_hash_set<std::string> paths;
  for (const auto& path : mask) {
    if (!paths.insert(path).second) {
      v.Add("update_mask", absl::StrCat("\"", path, "\" is named twice"));
    } else if (path == "title") {
      CheckTitle(checked.title, "task.title", v);
    } else if (path == "description") {
      CheckLongText(checked.description, kMaxDescriptionChars, "task.description", v);
    } else if (path == "lead_unit_id") {
      CheckRequiredId(checked.lead_unit_id, "task.lead_unit_id", v);
    } else if (path == "cooperating_unit_ids") {
      if (checked.cooperating_unit_ids.size() > static_cast<size_t>(kMaxCooperatingUnits)) {
        v.Add("task.cooperating_unit_ids",
              absl::StrCat("at most ", kMaxCooperatingUnits, " units"));
      } else {
        absl::flat_hash_set<std::string> seen;
        for (size_t i = 0; i < checked.cooperating_unit_ids.size(); ++i) {
          const std::string f = absl::StrCat("task.cooperating_unit_ids[", i, "]");
          if (auto s = ValidateId(checked.cooperating_unit_ids[i]); !s.ok()) {
            v.Add(f, std::string(s.message()));
          } else if (!seen.insert(checked.cooperating_unit_ids[i]).second) {
            v.Add(f, "is listed twice");
          }
        }
      }
    } else if (path == "deadline") {
      DeadlineResolver::Check(checked.deadline, "task.deadline", /*required=*/true, v);
    } else if (path == "milestones") {
      CheckMilestones(checked.milestones, "task.milestones", v);
    } else if (path == "priority") {
      if (!ValidPriority(checked.priority)) v.Add("task.priority", "must be a known priority");
      if (checked.priority == Priority::kUnspecified) checked.priority = Priority::kNormal;
    } else if (path == "tags") {
      CheckTags(checked.tags, "task.tags", v);
    } else if (path == "reminder_policy_id") {
      CheckOptionalId(checked.reminder_policy_id, "task.reminder_policy_id", v);
    } else if (path == "id" || path == "plan_id" || path == "parent_task_id") {
      v.Add("update_mask", absl::StrCat("\"", path, "\" is immutable"));
    } else {
      v.Add("update_mask", absl::StrCat("\"", path, "\" is not an updatable field"));
    }
  }
  if (!v.empty()) return v.ToStatus();

  // Read what the resolution needs (the lead's time zone), then check units and policy
  // outside the transaction; the transaction verifies nothing changed meanwhile.
  Task current;
  std::string lead_tz;
  absl::Status read = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto found = tx.FindTask(patch.id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("task.id", "task", patch.id);
    current = **found;
    auto as = tx.AssignmentsOfTask(current.id);
    if (!as.ok()) return as.status();
    for (const auto& a : *as) {
      if (a.role == AssignmentRole::kLead && a.unit_id == current.lead_unit_id) {
        lead_tz = a.unit_timezone;
      }
    }
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  if (auto s = CheckEtag(etag, current.revision); !s.ok()) return s;

  std::vector<UnitRef> refs;
  if (paths.contains("lead_unit_id") && checked.lead_unit_id != current.lead_unit_id) {
    refs.push_back({"task.lead_unit_id", checked.lead_unit_id});
  }
  if (paths.contains("cooperating_unit_ids")) {
    for (size_t i = 0; i < checked.cooperating_unit_ids.size(); ++i) {
      const auto& id = checked.cooperating_unit_ids[i];
      if (std::find(current.cooperating_unit_ids.begin(), current.cooperating_unit_ids.end(), id) ==
          current.cooperating_unit_ids.end()) {
        refs.push_back({absl::StrCat("task.cooperating_unit_ids[", i, "]"), id});
      }
    }
  }
  if (!actor.unit_id.empty()) refs.push_back({"actor.unit_id", actor.unit_id});
  auto units = CheckUnits(refs);
  if (!units.ok()) return units.status();
  if (paths.contains("reminder_policy_id") &&
      checked.reminder_policy_id != current.reminder_policy_id) {
    if (auto s = CheckPolicy("task.reminder_policy_id", checked.reminder_policy_id); !s.ok()) {
      return s;
    }
  }
  const bool lead_changes =
      paths.contains("lead_unit_id") && checked.lead_unit_id != current.lead_unit_id;
  const std::string tz = lead_changes ? units->at(checked.lead_unit_id).timezone : lead_tz;
  const int64_t now = NowMicros();
  if (paths.contains("deadline")) {
    auto r = resolver_.Resolve(checked.deadline, tz, now, "task.deadline");
    if (!r.ok()) return r.status();
    checked.deadline = r->filled;
    checked.deadline_us = r->time_us;
    checked.deadline_provisional = r->provisional;
  }
  if (paths.contains("milestones")) {
    // Checked against the final deadline inside the transaction.
    int64_t limit = paths.contains("deadline") ? checked.deadline_us : INT64_MAX;
    if (auto s =
            ResolveMilestones(resolver_, checked.milestones, tz, now, limit, "task.milestones");
        !s.ok()) {
      return s;
    }
  }

  Task out;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto found = tx.FindTask(patch.id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("task.id", "task", patch.id);
    const Task before = **found;
    if (auto s = CheckEtag(etag, before.revision); !s.ok()) return s;
    if (before.revision != current.revision) {
      return absl::AbortedError("the task changed while the update was prepared; retry");
    }
    if (before.state != TaskState::kOpen) {
      return Precondition(
          "task.id",
          absl::StrCat("task is ", before.state == TaskState::kClosed ? "CLOSED" : "CANCELED"));
    }
    auto plan = tx.FindPlan(before.plan_id);
    if (!plan.ok()) return plan.status();
    if (!*plan) return absl::InternalError("task without plan");
    if ((*plan)->archived) return Precondition("task.plan_id", "plan is archived");

    Task next = before;
    std::vector<std::string> changed;
    for (const auto& path : mask) {
      if (path == "title" && next.title != checked.title) {
        next.title = checked.title;
        changed.push_back("title");
      } else if (path == "description" && next.description != checked.description) {
        next.description = checked.description;
        changed.push_back("description");
      } else if (path == "priority" && next.priority != checked.priority) {
        next.priority = checked.priority;
        changed.push_back("priority");
      } else if (path == "tags" && next.tags != checked.tags) {
        next.tags = checked.tags;
        changed.push_back("tags");
      } else if (path == "lead_unit_id" && lead_changes) {
        next.lead_unit_id = checked.lead_unit_id;
        changed.push_back(absl::StrCat("lead ", before.lead_unit_id, " → ", next.lead_unit_id));
      } else if (path == "cooperating_unit_ids" &&
                 next.cooperating_unit_ids != checked.cooperating_unit_ids) {
        next.cooperating_unit_ids = checked.cooperating_unit_ids;
        changed.push_back("cooperating_unit_ids");
      } else if (path == "reminder_policy_id" &&
                 next.reminder_policy_id != checked.reminder_policy_id) {
        next.reminder_policy_id = checked.reminder_policy_id;
        changed.push_back("reminder_policy_id");
      }
    }
    for (size_t i = 0; i < next.cooperating_unit_ids.size(); ++i) {
      if (next.cooperating_unit_ids[i] == next.lead_unit_id) {
        return InvalidField(absl::StrCat("task.cooperating_unit_ids[", i, "]"),
                            "must not be the lead unit");
      }
    }
    const bool deadline_changes =
        paths.contains("deadline") && checked.deadline_us != before.deadline_us;
    if (paths.contains("deadline")) {
      next.deadline = checked.deadline;
      next.deadline_us = checked.deadline_us;
      next.deadline_provisional = checked.deadline_provisional;
    }
    if (deadline_changes) {
      changed.push_back("deadline");
      if (!next.parent_task_id.empty()) {
        auto parent = tx.FindTask(next.parent_task_id);
        if (!parent.ok()) return parent.status();
        if (*parent) {
          if (auto s = CheckChildDeadline(resolver_, **plan, **parent, next.deadline_us, tz,
                                          "task.deadline");
              !s.ok()) {
            return s;
          }
        }
      }
      auto latest_child = tx.LatestOpenChildDeadline(next.id);
      if (!latest_child.ok()) return latest_child.status();
      if (*latest_child && next.deadline_us < **latest_child) {
        return Precondition("task.deadline", "is earlier than an open child task's deadline");
      }
    }
    const bool milestones_change = paths.contains("milestones");
    if (milestones_change) {
      std::vector<Milestone> ms = checked.milestones;
      AssignMilestoneIds(ms, before.milestones);
      bool same = ms.size() == before.milestones.size();
      for (size_t i = 0; same && i < ms.size(); ++i) {
        same = ms[i].id == before.milestones[i].id && ms[i].due_us == before.milestones[i].due_us &&
               ms[i].planned_percent == before.milestones[i].planned_percent;
      }
      next.milestones = std::move(ms);
      if (!same) changed.push_back("milestones");
    }
    for (size_t i = 0; i < next.milestones.size(); ++i) {
      if (next.milestones[i].due_us > next.deadline_us) {
        if (milestones_change) {
          return InvalidField(absl::StrCat("task.milestones[", i, "].due"),
                              "must not be later than the task's deadline");
        }
        return InvalidField("task.deadline", absl::StrCat("is earlier than milestone \"",
                                                          next.milestones[i].title, "\""));
      }
    }
    next.deadline_provisional = false;
    for (const auto& m : next.milestones) next.deadline_provisional |= m.provisional;
    next.deadline_provisional |=
        paths.contains("deadline") ? checked.deadline_provisional : before.deadline_provisional;
    if (changed.empty()) {
      std::vector<Task> one = {before};
      if (auto s = FillSummaries(tx, one); !s.ok()) return s;
      out = std::move(one[0]);
      return absl::OkStatus();
    }

    Mutation m(tx, now, actor);
    auto assignments = tx.AssignmentsOfTask(next.id);
    if (!assignments.ok()) return assignments.status();
    const bool policy_changes = next.reminder_policy_id != before.reminder_policy_id;
    const bool milestones_changed =
        std::find(changed.begin(), changed.end(), "milestones") != changed.end();
    absl::flat_hash_set<std::string> handled;  // canceled or created here
    int next_position = 0;
    for (const auto& a : *assignments) next_position = std::max(next_position, a.position + 1);

    auto create = [&](const std::string& unit_id, AssignmentRole role, int position,
                      const UnitInfo& u) -> absl::Status {
      Assignment a;
      a.id = NewSortableId("a");
      a.task_id = next.id;
      a.plan_id = next.plan_id;
      a.unit_id = unit_id;
      a.unit_kind = u.kind;
      a.unit_tags = u.tags;
      a.unit_timezone = u.timezone;
      a.role = role;
      a.position = position;
      a.state = AssignmentState::kAssigned;
      a.state_us = now;
      a.baseline_deadline_us = a.deadline_us = next.deadline_us;
      a.deadline_provisional = next.deadline_provisional;
      a.create_us = now;
      a.reminder_policy_id = next.reminder_policy_id;
      handled.insert(a.id);
      return m.CreateAssignment(a, next, note);
    };

    // Lead change: the current lead must not have started.
    if (lead_changes) {
      for (auto& a : *assignments) {
        if (a.role != AssignmentRole::kLead || !IsOpen(a.state)) continue;
        if (a.state != AssignmentState::kAssigned && a.state != AssignmentState::kAcknowledged) {
          return Precondition("task.lead_unit_id",
                              absl::StrCat("the lead assignment is ", StateName(a.state),
                                           "; the lead can change only while it is ASSIGNED or "
                                           "ACKNOWLEDGED"));
        }
        if (auto s = m.CancelAssignment(a, next, note.empty() ? "lead unit replaced" : note);
            !s.ok()) {
          return s;
        }
        handled.insert(a.id);
      }
      if (auto s =
              create(next.lead_unit_id, AssignmentRole::kLead, 0, units->at(next.lead_unit_id));
          !s.ok()) {
        return s;
      }
    }
    // Cooperating units: cancel the removed, add the new, keep the order in positions.
    if (paths.contains("cooperating_unit_ids")) {
      absl::flat_hash_map<std::string, Assignment*> open_coop;
      for (auto& a : *assignments) {
        if (a.role == AssignmentRole::kCooperate && IsOpen(a.state) && !handled.contains(a.id)) {
          open_coop[a.unit_id] = &a;
        }
      }
      for (auto& [unit_id, a] : open_coop) {
        if (std::find(next.cooperating_unit_ids.begin(), next.cooperating_unit_ids.end(),
                      unit_id) == next.cooperating_unit_ids.end()) {
          if (auto s = m.CancelAssignment(*a, next,
                                          note.empty() ? "no longer a cooperating unit" : note);
              !s.ok()) {
            return s;
          }
          handled.insert(a->id);
        }
      }
      for (size_t i = 0; i < next.cooperating_unit_ids.size(); ++i) {
        const std::string& unit_id = next.cooperating_unit_ids[i];
        if (open_coop.contains(unit_id)) continue;
        auto u = units->find(unit_id);
        if (u == units->end()) {
          // Listed before the update but without an open assignment (e.g. canceled one by
          // one): it needs its unit details again.
          auto again = CheckUnits({{absl::StrCat("task.cooperating_unit_ids[", i, "]"), unit_id}});
          if (!again.ok()) return again.status();
          u = units->emplace(unit_id, again->at(unit_id)).first;
        }
        if (auto s = create(unit_id, AssignmentRole::kCooperate, next_position++, u->second);
            !s.ok()) {
          return s;
        }
      }
    }
    // Deadlines, milestones and policy of the remaining open assignments.
    for (auto& a : *assignments) {
      if (!IsOpen(a.state) || handled.contains(a.id)) continue;
      bool tell = false;
      if (deadline_changes || paths.contains("deadline")) {
        const int64_t old_working = a.deadline_us;
        const int64_t old_baseline = a.baseline_deadline_us;
        a.baseline_deadline_us = next.deadline_us;
        a.deadline_us = std::max(a.baseline_deadline_us, a.extended_deadline_us.value_or(0));
        a.deadline_provisional = next.deadline_provisional;
        if (a.deadline_us != old_working || a.baseline_deadline_us != old_baseline) {
          AuditEvent e;
          e.kind = AuditEventKind::kDeadlineChanged;
          e.plan_id = a.plan_id;
          e.task_id = a.task_id;
          e.assignment_id = a.id;
          e.unit_id = a.unit_id;
          e.old_deadline_us = old_working;
          e.new_deadline_us = a.deadline_us;
          e.note = note;
          e.summary = "task deadline changed";
          if (auto s = m.Audit(std::move(e)); !s.ok()) return s;
          tell = true;
        }
      }
      if (policy_changes) {
        a.reminder_policy_id = next.reminder_policy_id;
        tell = true;
      }
      if (milestones_changed) tell = true;
      if (tell) {
        if (auto s = m.SaveAssignment(a, next, /*tell_reminders=*/true); !s.ok()) return s;
      }
    }
    AuditEvent e;
    e.kind = AuditEventKind::kTaskUpdated;
    e.plan_id = next.plan_id;
    e.task_id = next.id;
    e.note = note;
    e.summary = absl::StrCat("changed: ", absl::StrJoin(changed, ", "));
    if (deadline_changes) {
      e.old_deadline_us = before.deadline_us;
      e.new_deadline_us = next.deadline_us;
    }
    if (auto s = m.Audit(std::move(e)); !s.ok()) return s;
    next.revision += 1;
    next.update_us = now;
    if (auto s = tx.UpdateTask(next); !s.ok()) return s;
    if (auto s = m.RefreshTaskState(next); !s.ok()) return s;
    wrote_outbox = m.wrote_outbox();
    std::vector<Task> one = {next};
    if (auto s = FillSummaries(tx, one); !s.ok()) return s;
    out = std::move(one[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<Task> TaskDirectory::CancelTask(const CancelTaskInput& in) {
  FieldViolations v;
  CheckRequiredId(in.id, "id", v);
  CheckActor(in.actor, "actor", /*required=*/true, v);
  v.AddIfError("reason", ValidateText(in.reason, 1, kMaxNoteChars, /*allow_newlines=*/true));
  CheckRequestId(in.request_id, v);
  if (!v.empty()) return v.ToStatus();
  if (!in.actor.unit_id.empty()) {
    if (auto u = CheckUnits({{"actor.unit_id", in.actor.unit_id}}); !u.ok()) return u.status();
  }
  const std::string fp = Fingerprint(absl::StrCat(in.id, "|", in.reason));
  Task out;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto prior = Replay(tx, in.request_id, "CancelTask", fp);
    if (!prior.ok()) return prior.status();
    auto found = tx.FindTask(in.id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "task", in.id);
    if (!*prior) {
      Task task = **found;
      if (auto s = CheckEtag(in.etag, task.revision); !s.ok()) return s;
      if (task.state == TaskState::kCanceled) {
        return Precondition("id", "task is already CANCELED");
      }
      auto plan = tx.FindPlan(task.plan_id);
      if (!plan.ok()) return plan.status();
      if (*plan && (*plan)->archived) return Precondition("id", "plan is archived");
      auto below = tx.TasksUnder(task.path);
      if (!below.ok()) return below.status();
      std::vector<Task> subtree = {task};
      for (auto& t : *below) subtree.push_back(std::move(t));
      Mutation m(tx, NowMicros(), in.actor);
      for (size_t i = 0; i < subtree.size(); ++i) {
        Task& t = subtree[i];
        if (t.state == TaskState::kCanceled) continue;
        auto assignments = tx.AssignmentsOfTask(t.id);
        if (!assignments.ok()) return assignments.status();
        for (auto& a : *assignments) {
          if (!IsOpen(a.state)) continue;
          if (auto s = m.CancelAssignment(a, t, in.reason); !s.ok()) return s;
        }
        // The task itself is canceled; below it, open tasks are canceled and closed ones
        // keep their outcome.
        if (i == 0 || t.state == TaskState::kOpen) {
          t.canceled = true;
          t.state = TaskState::kCanceled;
          t.revision += 1;
          t.update_us = m.now();
          if (auto s = tx.UpdateTask(t); !s.ok()) return s;
        }
      }
      AuditEvent e;
      e.kind = AuditEventKind::kTaskUpdated;
      e.plan_id = task.plan_id;
      e.task_id = task.id;
      e.note = in.reason;
      e.summary = absl::StrCat("task canceled with ", subtree.size() - 1, " descendant tasks");
      if (auto s = m.Audit(std::move(e)); !s.ok()) return s;
      if (auto s = Remember(tx, in.request_id, "CancelTask", fp, task.id, m.now()); !s.ok()) {
        return s;
      }
      wrote_outbox = m.wrote_outbox();
      found = tx.FindTask(in.id);
      if (!found.ok()) return found.status();
    }
    std::vector<Task> one = {std::move(**found)};
    if (auto s = FillSummaries(tx, one); !s.ok()) return s;
    out = std::move(one[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<int64_t> TaskDirectory::RefreshProvisionalDeadlines() {
  constexpr char kMetaKey[] = "calendar_version";
  const std::string version = resolver_.calendar().version();
  const Actor system{"system:calendar", "", ""};
  int64_t changed = 0;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto last = tx.GetMeta(kMetaKey);
    if (!last.ok()) return last.status();
    if (*last && **last == version) return absl::OkStatus();
    auto tasks = tx.ProvisionalTasks();
    if (!tasks.ok()) return tasks.status();
    const int64_t now = NowMicros();
    Mutation m(tx, now, system);
    // Cascaded children share specs: resolve each (spec, zone) once.
    std::map<std::string, ResolvedDeadline> cache;
    auto resolve = [&](const DeadlineSpec& spec, int64_t current_us,
                       bool current_provisional) -> absl::StatusOr<std::pair<int64_t, bool>> {
      if (!spec.working_days) return std::make_pair(current_us, current_provisional);
      const auto& w = *spec.working_days;
      const std::string key =
          absl::StrCat(w.count, "|", w.from_date ? DateText(*w.from_date) : "", "|",
                       w.time_of_day_minutes.value_or(-1), "|", w.timezone);
      auto it = cache.find(key);
      if (it == cache.end()) {
        auto r = resolver_.Resolve(spec, w.timezone, now, "deadline");
        if (!r.ok()) return std::make_pair(current_us, current_provisional);
        it = cache.emplace(key, *r).first;
      }
      return std::make_pair(it->second.time_us, it->second.provisional);
    };
    for (Task& task : *tasks) {
      Task next = task;
      auto d = resolve(task.deadline, task.deadline_us, true);
      if (!d.ok()) return d.status();
      next.deadline_us = d->first;
      bool provisional = d->second && task.deadline.working_days.has_value();
      for (auto& ms : next.milestones) {
        auto r = resolve(ms.due, ms.due_us, ms.provisional);
        if (!r.ok()) return r.status();
        ms.due_us = r->first;
        ms.provisional = r->second;
        provisional |= ms.provisional;
      }
      next.deadline_provisional = provisional;
      bool milestones_moved = false;
      for (size_t i = 0; i < next.milestones.size(); ++i) {
        milestones_moved |= next.milestones[i].due_us != task.milestones[i].due_us;
      }
      if (next.deadline_us == task.deadline_us && !milestones_moved &&
          next.deadline_provisional == task.deadline_provisional) {
        continue;
      }
      ++changed;
      next.revision += 1;
      next.update_us = now;
      if (auto s = tx.UpdateTask(next); !s.ok()) return s;
      AuditEvent e;
      e.kind = AuditEventKind::kTaskUpdated;
      e.plan_id = next.plan_id;
      e.task_id = next.id;
      e.old_deadline_us = task.deadline_us;
      e.new_deadline_us = next.deadline_us;
      e.summary = absl::StrCat("deadlines re-resolved with calendar data ", version);
      if (auto s = m.Audit(std::move(e)); !s.ok()) return s;
      auto assignments = tx.AssignmentsOfTask(next.id);
      if (!assignments.ok()) return assignments.status();
      for (auto& a : *assignments) {
        if (!IsOpen(a.state)) continue;
        const int64_t old_working = a.deadline_us;
        a.baseline_deadline_us = next.deadline_us;
        a.deadline_us = std::max(a.baseline_deadline_us, a.extended_deadline_us.value_or(0));
        a.deadline_provisional = next.deadline_provisional;
        if (a.deadline_us != old_working) {
          AuditEvent de;
          de.kind = AuditEventKind::kDeadlineChanged;
          de.plan_id = a.plan_id;
          de.task_id = a.task_id;
          de.assignment_id = a.id;
          de.unit_id = a.unit_id;
          de.old_deadline_us = old_working;
          de.new_deadline_us = a.deadline_us;
          de.summary = absl::StrCat("re-resolved with calendar data ", version);
          if (auto s = m.Audit(std::move(de)); !s.ok()) return s;
        }
        if (auto s = m.SaveAssignment(a, next, /*tell_reminders=*/true); !s.ok()) return s;
      }
    }
    if (auto s = tx.SetMeta(kMetaKey, version); !s.ok()) return s;
    wrote_outbox = m.wrote_outbox();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return changed;
}

}  // namespace duban::tasks
