// TaskDirectory: the battle map (挂图作战), coverage ("who hasn't") and burden (减轻基层负担).
// Boards aggregate in one pass over a covering index of the plan's assignments; lights are
// evaluated per open assignment at one instant, so every number on a page agrees.
#include <algorithm>
#include <future>
#include <map>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/container/node_hash_map.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>
#include <absl/time/civil_time.h>

#include "duban/page_token.h"
#include "duban/time_util.h"
#include "duban/validation.h"
#include "task_directory.h"
#include "task_rules.h"

namespace duban::tasks {

using namespace rules;  // NOLINT(build/namespaces): internal helpers of this service

namespace {

constexpr const char* kKindKeys[] = {
    "UNIT_KIND_UNSPECIFIED",  "UNIT_KIND_PROVINCE", "UNIT_KIND_CITY",       "UNIT_KIND_DISTRICT",
    "UNIT_KIND_TOWN",         "UNIT_KIND_VILLAGE",  "UNIT_KIND_DEPARTMENT", "UNIT_KIND_ENTERPRISE",
    "UNIT_KIND_PARTY_BRANCH", "UNIT_KIND_OTHER",
};
constexpr const char* kKindLabels[] = {
    "未指定", "省", "市", "区县", "镇街", "村社区", "部门", "企业", "党支部", "其他",
};

absl::Status BadToken() { return InvalidField("page_token", "is not a token this service issued"); }

bool ValidKind(UnitKind k) {
  int n = static_cast<int>(k);
  return n >= 1 && n <= kMaxUnitKind;
}

// Counters of one group (or cell) of assignments.
struct Tally {
  int64_t total = 0;
  StateCounts states;
  int64_t overdue = 0;
  int64_t done_on_time = 0;
  int64_t done_late = 0;
  int64_t due_so_far = 0;
  int64_t lights[4] = {0, 0, 0, 0};

  void Add(const Tally& o) {
    total += o.total;
    for (int i = 0; i <= kMaxAssignmentState; ++i) states.by_state[i] += o.states.by_state[i];
    overdue += o.overdue;
    done_on_time += o.done_on_time;
    done_late += o.done_late;
    due_so_far += o.due_so_far;
    for (int i = 0; i < 4; ++i) lights[i] += o.lights[i];
  }
};

BoardGroup ToGroup(std::string key, const Tally& t) {
  BoardGroup g;
  g.key = std::move(key);
  g.total = t.total;
  g.states = t.states;
  g.overdue = t.overdue;
  g.done_on_time = t.done_on_time;
  g.done_late = t.done_late;
  g.due_so_far = t.due_so_far;
  const int64_t counted = t.total - t.states[AssignmentState::kCanceled];
  g.completion_rate =
      counted > 0 ? static_cast<double>(t.states[AssignmentState::kDone]) / counted : 0;
  g.on_time_rate = t.due_so_far > 0 ? static_cast<double>(t.done_on_time) / t.due_so_far : 0;
  g.green = t.lights[static_cast<int>(TrafficLight::kGreen)];
  g.yellow = t.lights[static_cast<int>(TrafficLight::kYellow)];
  g.red = t.lights[static_cast<int>(TrafficLight::kRed)];
  return g;
}

// "<due_us>:<planned_percent>,..." -> planned points (planned_percent 0 spreads evenly).
std::vector<PlannedPoint> ParsePoints(absl::string_view text) {
  std::vector<Milestone> ms;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, ':');
    Milestone m;
    if (!absl::SimpleAtoi(kv.first, &m.due_us) ||
        !absl::SimpleAtoi(kv.second, &m.planned_percent)) {
      continue;
    }
    ms.push_back(m);
  }
  return TrafficLightRules::PointsOf(ms);
}

// Sorts groups by outcome and gives ranks: on-time rate (desc), completion rate (desc),
// overdue (asc); ties share a rank; groups with nothing due yet are unranked (0).
void Rank(std::vector<BoardGroup>& groups) {
  std::vector<BoardGroup*> ranked;
  for (auto& g : groups) {
    if (g.due_so_far > 0) ranked.push_back(&g);
  }
  auto better = [](const BoardGroup* a, const BoardGroup* b) {
    if (a->on_time_rate != b->on_time_rate) return a->on_time_rate > b->on_time_rate;
    if (a->completion_rate != b->completion_rate) return a->completion_rate > b->completion_rate;
    return a->overdue < b->overdue;
  };
  std::stable_sort(ranked.begin(), ranked.end(), better);
  for (size_t i = 0; i < ranked.size(); ++i) {
    if (i > 0 && !better(ranked[i - 1], ranked[i])) {
      ranked[i]->rank = ranked[i - 1]->rank;
    } else {
      ranked[i]->rank = static_cast<int>(i) + 1;
    }
  }
}

// The position of a group in the requested order, comparable as a tuple.
struct BoardPosition {
  int bucket = 0;  // 1 for unranked groups in rank order
  int rank = 0;
  std::string key;
  bool operator<(const BoardPosition& o) const {
    return std::tie(bucket, rank, key) < std::tie(o.bucket, o.rank, o.key);
  }
};

BoardPosition PositionOf(const BoardGroup& g, BoardOrder order) {
  if (order == BoardOrder::kKey) return {0, 0, g.key};
  return {g.rank == 0 ? 1 : 0, g.rank, g.key};
}

// The next Monday 00:00 in `tz` after `now`: the end of the current week.
int64_t EndOfWeek(int64_t now_us, absl::TimeZone tz) {
  absl::CivilDay today = absl::ToCivilDay(FromMicros(now_us), tz);
  int weekday = static_cast<int>(absl::GetWeekday(today));  // Monday = 0
  return ToMicros(absl::FromCivil(today + (7 - weekday), tz));
}

}  // namespace

absl::StatusOr<BoardPage> TaskDirectory::GetBoard(const BoardQuery& q) {
  FieldViolations v;
  auto page_size = EffectivePageSize(q.page_size);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  CheckRequiredId(q.plan_id, "plan_id", v);
  CheckOptionalId(q.root_unit_id, "root_unit_id", v);
  CheckOptionalId(q.task_id, "task_id", v);
  const int grouping = static_cast<int>(q.group_by);
  if (grouping < 1 || grouping > 5) {
    v.Add("group_by", "is required: UNIT, UNIT_KIND, UNIT_TAG, CHILD_OF_ROOT or TOP_LEVEL_TASK");
  } else if (q.group_by == BoardGrouping::kChildOfRoot && q.root_unit_id.empty()) {
    v.Add("root_unit_id", "is required to group by CHILD_OF_ROOT");
  }
  const int role = static_cast<int>(q.role);
  if (role < 0 || role > 2) v.Add("role", "must be a known role");
  const int order_n = static_cast<int>(q.order_by);
  if (order_n < 0 || order_n > 2) v.Add("order_by", "must be RANK or KEY");
  if (!v.empty()) return v.ToStatus();
  const BoardOrder order = q.order_by == BoardOrder::kKey ? BoardOrder::kKey : BoardOrder::kRank;

  const uint64_t fp = FilterFingerprint(
      absl::StrCat("board|p=", q.plan_id, "|r=", q.root_unit_id, "|t=", q.task_id, "|g=", grouping,
                   "|role=", role, "|o=", static_cast<int>(order)));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  int64_t now = NowMicros();
  std::optional<BoardPosition> after;
  if (!cursor_text->empty()) {
    std::vector<std::string> parts = absl::StrSplit(*cursor_text, absl::MaxSplits('|', 3));
    BoardPosition pos;
    if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &now) ||
        !absl::SimpleAtoi(parts[1], &pos.bucket) || !absl::SimpleAtoi(parts[2], &pos.rank)) {
      return BadToken();
    }
    pos.key = parts[3];
    after = pos;
  }

  // The root's subtree, and for CHILD_OF_ROOT which child of the root each unit is under. It
  // comes from duban-units (about a third of a district board's time for a city of 10,000
  // units) while this thread scans the plan's rows: rows are tallied per unit, and the unit
  // tallies folded into groups once both are done. Under the default launch policy the fetch
  // runs on a new thread, or at get() if no thread can be started.
  const bool rooted = !q.root_unit_id.empty();
  absl::flat_hash_map<std::string, std::string> unit_group;  // unit -> group key (or itself)
  absl::flat_hash_map<std::string, std::string> unit_names;
  std::future<absl::Status> subtree;
  if (rooted) {
    subtree = std::async([&]() -> absl::Status {
      return units_.ListSubtree(q.root_unit_id, {}, "", [&](std::vector<UnitInfo>& page) {
        for (auto& u : page) {
          std::string group;
          if (u.id == q.root_unit_id || u.parent_id == q.root_unit_id) {
            group = u.id;
          } else {
            auto it = unit_group.find(u.parent_id);
            group = it == unit_group.end() ? u.id : it->second;
          }
          if (q.group_by == BoardGrouping::kChildOfRoot &&
              (u.id == q.root_unit_id || u.parent_id == q.root_unit_id)) {
            unit_names.emplace(u.id, u.name);
          }
          unit_group.emplace(std::move(u.id), std::move(group));
        }
        return absl::OkStatus();
      });
    });
  }

  // Node-based: `last_cell` points into it while it grows.
  absl::node_hash_map<std::string, Tally> cells;
  Tally totals;
  // With a root: per unit, its rows' tallies by row key (one entry unless the grouping's key
  // varies between a unit's rows, as top-level tasks do).
  struct UnitCell {
    std::string key;
    Tally tally;
  };
  absl::flat_hash_map<std::string, std::vector<UnitCell>> per_unit;
  absl::flat_hash_set<std::string> top_keys;
  absl::flat_hash_map<std::string, std::vector<PlannedPoint>> points_cache;
  std::vector<Task> top_tasks;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto plan = tx.FindPlan(q.plan_id);
    if (!plan.ok()) return plan.status();
    if (!*plan) return NotFound("plan_id", "plan", q.plan_id);
    std::string task_path;
    if (!q.task_id.empty()) {
      auto task = tx.FindTask(q.task_id);
      if (!task.ok()) return task.status();
      if (!*task) return NotFound("task_id", "task", q.task_id);
      if ((*task)->plan_id != q.plan_id) return InvalidField("task_id", "belongs to another plan");
      task_path = (*task)->path;
    }
    LightInput in;
    in.now_us = now;
    // Rows come in index order (task path, then unit): consecutive rows are mostly the
    // children of one task, with the same milestones, deadline and creation time, and often
    // the same group. One-entry memos skip re-parsing, re-evaluating and re-looking-up.
    std::string last_points;
    bool have_points = false;
    struct {
      bool valid = false;
      AssignmentState state = AssignmentState::kUnspecified;
      int64_t create_us = 0, deadline_us = 0;
      int percent = 0;
      TrafficLight color = TrafficLight::kUnspecified;
    } light_memo;
    std::string last_key;
    Tally* last_cell = nullptr;
    // Only the columns this grouping reads (a board never reads the unit's time zone).
    BoardColumns columns;
    columns.unit_kind = q.group_by == BoardGrouping::kUnitKind;
    columns.task_path = q.group_by == BoardGrouping::kTopLevelTask;
    columns.unit_timezone = false;
    columns.unit_tags = q.group_by == BoardGrouping::kUnitTag;
    absl::Status scanned = tx.ScanBoard(q.plan_id, task_path, columns, [&](const BoardRow& row) {
      if (q.role != AssignmentRole::kUnspecified && row.role != q.role) return;
      absl::string_view key;
      switch (q.group_by) {
        case BoardGrouping::kUnit:
          key = row.unit_id;
          break;
        case BoardGrouping::kUnitKind: {
          int k = static_cast<int>(row.unit_kind);
          key = kKindKeys[k >= 0 && k <= kMaxUnitKind ? k : 0];
          break;
        }
        case BoardGrouping::kUnitTag:
          key = row.unit_tags;  // split into tags below
          break;
        case BoardGrouping::kTopLevelTask: {
          absl::string_view p = row.task_path;
          if (p.size() > 1) {
            size_t end = p.find('/', 1);
            key = p.substr(1, end == absl::string_view::npos ? absl::string_view::npos : end - 1);
          }
          break;
        }
        default:  // CHILD_OF_ROOT: the unit's group, known once the subtree is in
          break;
      }
      Tally* cell = nullptr;
      if (rooted) {
        auto it = per_unit.find(row.unit_id);
        if (it == per_unit.end()) {
          it = per_unit.emplace(std::string(row.unit_id), std::vector<UnitCell>()).first;
        }
        for (UnitCell& c : it->second) {
          if (c.key == key) cell = &c.tally;
        }
        if (cell == nullptr) {
          it->second.push_back(UnitCell{std::string(key), Tally()});
          cell = &it->second.back().tally;
          if (q.group_by == BoardGrouping::kTopLevelTask) top_keys.emplace(key);
        }
      } else {
        if (last_cell == nullptr || key != last_key) {
          last_cell = &cells[key];
          last_key.assign(key.data(), key.size());
        }
        cell = last_cell;
      }

      const bool open = IsOpen(row.state);
      const int state = static_cast<int>(row.state);
      const int overdue =
          open && row.state != AssignmentState::kSubmitted && row.deadline_us < now ? 1 : 0;
      int done_on_time = 0, done_late = 0;
      if (row.state == AssignmentState::kDone) {
        (row.submit_us && *row.submit_us <= row.baseline_us ? done_on_time : done_late) = 1;
      }
      const int due_so_far = row.state != AssignmentState::kCanceled &&
                                     (row.baseline_us <= now || row.state == AssignmentState::kDone)
                                 ? 1
                                 : 0;
      int light = -1;
      if (open) {
        if (!have_points || row.plan_points != last_points) {
          in.milestones.clear();
          if (!row.plan_points.empty()) {
            auto it = points_cache.find(row.plan_points);
            if (it == points_cache.end()) {
              it = points_cache.emplace(std::string(row.plan_points), ParsePoints(row.plan_points))
                       .first;
            }
            in.milestones = it->second;
          }
          last_points.assign(row.plan_points.data(), row.plan_points.size());
          have_points = true;
          light_memo.valid = false;
        }
        if (!light_memo.valid || light_memo.state != row.state ||
            light_memo.create_us != row.create_us || light_memo.deadline_us != row.deadline_us ||
            light_memo.percent != row.last_percent) {
          in.state = row.state;
          in.create_us = row.create_us;
          in.deadline_us = row.deadline_us;
          in.reported_percent = row.last_percent;
          light_memo.valid = true;
          light_memo.state = row.state;
          light_memo.create_us = row.create_us;
          light_memo.deadline_us = row.deadline_us;
          light_memo.percent = row.last_percent;
          light_memo.color = lights_.Color(in);
        }
        light = static_cast<int>(light_memo.color);
      }
      // Without a root every row counts in the totals; with one, only the subtree's (below).
      for (Tally* t : {rooted ? nullptr : &totals, cell}) {
        if (t == nullptr) continue;
        t->total += 1;
        t->states.by_state[state] += 1;
        t->overdue += overdue;
        t->done_on_time += done_on_time;
        t->done_late += done_late;
        t->due_so_far += due_so_far;
        if (light >= 0) t->lights[light] += 1;
      }
    });
    if (!scanned.ok()) return scanned;
    if (q.group_by == BoardGrouping::kTopLevelTask) {
      std::vector<std::string> ids(top_keys.begin(), top_keys.end());
      for (const auto& [k, t] : cells) ids.push_back(k);
      if (ids.empty()) return absl::OkStatus();
      auto tasks = tx.FindTasks(ids);
      if (!tasks.ok()) return tasks.status();
      top_tasks = std::move(*tasks);
    }
    return absl::OkStatus();
  });
  if (rooted) {
    // The subtree's error first, as when it was fetched before the scan.
    absl::Status fetched = subtree.get();
    if (fetched.code() == absl::StatusCode::kNotFound) {
      return NotFound("root_unit_id", "unit", q.root_unit_id);
    }
    if (!fetched.ok()) return fetched;
  }
  if (!status.ok()) return status;
  for (const auto& [unit, unit_cells] : per_unit) {
    auto group = unit_group.find(unit);
    if (group == unit_group.end()) continue;  // outside the subtree
    for (const UnitCell& c : unit_cells) {
      cells[q.group_by == BoardGrouping::kChildOfRoot ? group->second : c.key].Add(c.tally);
      totals.Add(c.tally);
    }
  }

  // Cells to groups (a unit with several tags counts in each of its tags' groups).
  std::vector<BoardGroup> groups;
  if (q.group_by == BoardGrouping::kUnitTag) {
    std::map<std::string, Tally> by_tag;
    for (const auto& [tags, t] : cells) {
      if (tags.empty()) {
        by_tag[""].Add(t);
        continue;
      }
      for (absl::string_view tag : absl::StrSplit(tags, '\x1f')) by_tag[std::string(tag)].Add(t);
    }
    for (const auto& [tag, t] : by_tag) groups.push_back(ToGroup(tag, t));
  } else {
    for (const auto& [key, t] : cells) groups.push_back(ToGroup(key, t));
  }
  Rank(groups);
  std::sort(groups.begin(), groups.end(), [&](const BoardGroup& a, const BoardGroup& b) {
    return PositionOf(a, order) < PositionOf(b, order);
  });

  BoardPage page;
  page.evaluate_us = now;
  page.group_count = static_cast<int64_t>(groups.size());
  page.totals = ToGroup("", totals);
  size_t start = 0;
  if (after) {
    while (start < groups.size() && !(*after < PositionOf(groups[start], order))) ++start;
  }
  const size_t end = std::min(groups.size(), start + static_cast<size_t>(*page_size));
  for (size_t i = start; i < end; ++i) page.groups.push_back(std::move(groups[i]));
  if (end < groups.size() && !page.groups.empty()) {
    BoardPosition last = PositionOf(page.groups.back(), order);
    page.next_page_token =
        EncodePageToken(fp, absl::StrCat(now, "|", last.bucket, "|", last.rank, "|", last.key));
  }

  // Labels for this page only.
  switch (q.group_by) {
    case BoardGrouping::kUnit:
    case BoardGrouping::kChildOfRoot: {
      std::vector<std::string> missing;
      for (const auto& g : page.groups) {
        if (!unit_names.contains(g.key)) missing.push_back(g.key);
      }
      if (!missing.empty()) {
        auto found = units_.BatchGetUnits(missing);
        if (!found.ok()) return found.status();
        for (auto& u : *found) unit_names.emplace(u.id, u.name);
      }
      for (auto& g : page.groups) {
        auto it = unit_names.find(g.key);
        g.label = it == unit_names.end() ? g.key : it->second;
      }
      break;
    }
    case BoardGrouping::kUnitKind:
      for (auto& g : page.groups) {
        for (int k = 0; k <= kMaxUnitKind; ++k) {
          if (g.key == kKindKeys[k]) g.label = kKindLabels[k];
        }
      }
      break;
    case BoardGrouping::kUnitTag:
      for (auto& g : page.groups) g.label = g.key;
      break;
    case BoardGrouping::kTopLevelTask:
      for (auto& g : page.groups) {
        for (const auto& t : top_tasks) {
          if (t.id == g.key) g.label = t.title;
        }
      }
      break;
    default:
      break;
  }
  return page;
}

absl::StatusOr<CoveragePage> TaskDirectory::GetCoverage(const CoverageQuery& q) {
  FieldViolations v;
  auto page_size = EffectivePageSize(q.page_size);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  CheckRequiredId(q.task_id, "task_id", v);
  CheckOptionalId(q.unit_subtree_of, "unit_subtree_of", v);
  const int gap = static_cast<int>(q.gap);
  if (gap < 1 || gap > 3) v.Add("gap", "is required: NOT_ACKNOWLEDGED, NOT_REPORTED or OVERDUE");
  if (!v.empty()) return v.ToStatus();
  const uint64_t fp = FilterFingerprint(
      absl::StrCat("coverage|t=", q.task_id, "|u=", q.unit_subtree_of, "|g=", gap,
                   "|s=", q.reported_since_us ? absl::StrCat(*q.reported_since_us) : ""));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  int64_t now = NowMicros();
  std::string after_unit;
  if (!cursor_text->empty()) {
    std::vector<std::string> parts = absl::StrSplit(*cursor_text, absl::MaxSplits('|', 1));
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &now)) return BadToken();
    after_unit = parts[1];
  }
  std::optional<absl::flat_hash_set<std::string>> subtree;
  if (!q.unit_subtree_of.empty()) {
    auto ids = SubtreeUnitIds(q.unit_subtree_of, "unit_subtree_of");
    if (!ids.ok()) return ids.status();
    subtree.emplace(ids->begin(), ids->end());
  }
  CoveragePage page;
  page.evaluate_us = now;
  std::vector<CoverageEntry> gaps;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto task = tx.FindTask(q.task_id);
    if (!task.ok()) return task.status();
    if (!*task) return NotFound("task_id", "task", q.task_id);
    auto rows = tx.ChildLeadAssignments(q.task_id);
    if (!rows.ok()) return rows.status();
    for (const auto& a : *rows) {
      if (subtree && !subtree->contains(a.unit_id)) continue;
      ++page.total;
      page.states[a.state] += 1;
      const bool not_ack = a.state == AssignmentState::kAssigned;
      // A submission counts as a report.
      std::optional<int64_t> reported = a.last_report_us;
      if (a.submit_us && (!reported || *a.submit_us > *reported)) reported = a.submit_us;
      const bool not_reported =
          IsOpen(a.state) &&
          (!reported || (q.reported_since_us && *reported < *q.reported_since_us));
      const bool overdue = a.OverdueAt(now);
      page.not_acknowledged += not_ack;
      page.not_reported += not_reported;
      page.overdue += overdue;
      const bool wanted = (q.gap == CoverageGap::kNotAcknowledged && not_ack) ||
                          (q.gap == CoverageGap::kNotReported && not_reported) ||
                          (q.gap == CoverageGap::kOverdue && overdue);
      if (wanted && a.unit_id > after_unit) {
        gaps.push_back(
            {a.unit_id, a.id, a.state, a.create_us, a.last_report_us, a.deadline_us, overdue});
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  std::sort(gaps.begin(), gaps.end(), [](const CoverageEntry& a, const CoverageEntry& b) {
    return std::tie(a.unit_id, a.assignment_id) < std::tie(b.unit_id, b.assignment_id);
  });
  if (gaps.size() > static_cast<size_t>(*page_size)) {
    gaps.resize(*page_size);
    page.next_page_token = EncodePageToken(fp, absl::StrCat(now, "|", gaps.back().unit_id));
  }
  page.units = std::move(gaps);
  return page;
}

absl::StatusOr<BurdenPage> TaskDirectory::GetBurden(const BurdenQuery& q) {
  FieldViolations v;
  auto page_size = EffectivePageSize(q.page_size);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  CheckRequiredId(q.root_unit_id, "root_unit_id", v);
  CheckOptionalId(q.plan_id, "plan_id", v);
  std::vector<int> kinds;
  for (size_t i = 0; i < q.unit_kinds.size(); ++i) {
    if (!ValidKind(q.unit_kinds[i])) {
      v.Add(absl::StrCat("unit_kinds[", i, "]"), "must be a known unit kind");
    }
    kinds.push_back(static_cast<int>(q.unit_kinds[i]));
  }
  if (!v.empty()) return v.ToStatus();
  std::sort(kinds.begin(), kinds.end());
  const uint64_t fp = FilterFingerprint(absl::StrCat("burden|r=", q.root_unit_id, "|p=", q.plan_id,
                                                     "|k=", absl::StrJoin(kinds, ",")));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  int64_t now = NowMicros();
  struct Pos {
    int64_t open = 0;
    int64_t due = 0;
    std::string unit;
  };
  std::optional<Pos> after;
  if (!cursor_text->empty()) {
    std::vector<std::string> parts = absl::StrSplit(*cursor_text, absl::MaxSplits('|', 3));
    Pos p;
    if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &now) ||
        !absl::SimpleAtoi(parts[1], &p.open) || !absl::SimpleAtoi(parts[2], &p.due)) {
      return BadToken();
    }
    p.unit = parts[3];
    after = p;
  }
  // Most loaded first: open (desc), due this week (desc), unit id.
  auto before = [](int64_t o1, int64_t d1, const std::string& u1, int64_t o2, int64_t d2,
                   const std::string& u2) {
    if (o1 != o2) return o1 > o2;
    if (d1 != d2) return d1 > d2;
    return u1 < u2;
  };

  std::vector<UnitInfo> units;
  absl::Status listed =
      units_.ListSubtree(q.root_unit_id, q.unit_kinds, "", [&](std::vector<UnitInfo>& page) {
        for (auto& u : page) units.push_back(std::move(u));
        return absl::OkStatus();
      });
  if (listed.code() == absl::StatusCode::kNotFound) {
    return NotFound("root_unit_id", "unit", q.root_unit_id);
  }
  if (!listed.ok()) return listed;
  absl::flat_hash_map<std::string, size_t> index;
  std::vector<std::string> ids;
  for (size_t i = 0; i < units.size(); ++i) {
    index[units[i].id] = i;
    ids.push_back(units[i].id);
  }
  std::vector<UnitBurden> rows(units.size());
  std::map<std::string, int64_t> week_end;  // per time zone
  std::vector<int64_t> unit_week_end(units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    auto it = week_end.find(units[i].timezone);
    if (it == week_end.end()) {
      it = week_end.emplace(units[i].timezone, EndOfWeek(now, resolver_.Zone(units[i].timezone)))
               .first;
    }
    unit_week_end[i] = it->second;
    rows[i].unit_id = units[i].id;
    rows[i].unit_kind = units[i].kind;
  }
  std::vector<AssignmentBudget> budgets;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    if (!q.plan_id.empty()) {
      auto plan = tx.FindPlan(q.plan_id);
      if (!plan.ok()) return plan.status();
      if (!*plan) return NotFound("plan_id", "plan", q.plan_id);
    }
    auto b = tx.ListBudgets("", 1'000'000);
    if (!b.ok()) return b.status();
    budgets = std::move(*b);
    if (ids.empty()) return absl::OkStatus();
    return tx.ScanOpenAssignments(ids, q.plan_id, [&](const OpenRow& row) {
      auto it = index.find(row.unit_id);
      if (it == index.end()) return;
      UnitBurden& u = rows[it->second];
      ++u.open_assignments;
      if (row.state != AssignmentState::kSubmitted && row.deadline_us < now) ++u.overdue;
      if (row.deadline_us >= now && row.deadline_us < unit_week_end[it->second]) {
        ++u.due_this_week;
      }
    });
  });
  if (!status.ok()) return status;
  BudgetTable table(budgets);
  std::vector<UnitBurden> loaded;
  for (auto& u : rows) {
    if (u.open_assignments == 0) continue;
    u.max_open_assignments = table.For(u.unit_id, u.unit_kind);
    u.over_budget = u.max_open_assignments > 0 && u.open_assignments > u.max_open_assignments;
    if (after && !before(after->open, after->due, after->unit, u.open_assignments, u.due_this_week,
                         u.unit_id)) {
      continue;
    }
    loaded.push_back(std::move(u));
  }
  std::sort(loaded.begin(), loaded.end(), [&](const UnitBurden& a, const UnitBurden& b) {
    return before(a.open_assignments, a.due_this_week, a.unit_id, b.open_assignments,
                  b.due_this_week, b.unit_id);
  });
  BurdenPage page;
  page.evaluate_us = now;
  if (loaded.size() > static_cast<size_t>(*page_size)) {
    loaded.resize(*page_size);
    const UnitBurden& last = loaded.back();
    page.next_page_token = EncodePageToken(fp, absl::StrCat(now, "|", last.open_assignments, "|",
                                                            last.due_this_week, "|", last.unit_id));
  }
  page.units = std::move(loaded);
  return page;
}

}  // namespace duban::tasks
