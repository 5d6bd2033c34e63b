// dubanctl plans ...: work plans (工作方案, duban.tasks.v1.TaskService).
#include <iostream>
#include <memory>

#include <absl/time/civil_time.h>
#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "output.h"
#include "paging.h"
#include "workplan_import.h"

namespace duban::cli {

namespace {

std::string DateText(const tv1::Date& d) {
  if (d.year() == 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", d.year(), d.month(), d.day());
  return buf;
}

tv1::Date DateOrThrow(const std::string& text, const char* flag) {
  auto d = ParseDate(text);
  if (!d.ok()) throw UsageError{std::string(flag) + ": " + std::string(d.status().message())};
  return *d;
}

absl::TimeZone ZoneOrUtc(const std::string& name) {
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(name, &tz)) return absl::UTCTimeZone();
  return tz;
}

tv1::Date FromCivil(const absl::CivilDay& day) {
  tv1::Date d;
  d.set_year(static_cast<int>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

void PrintPlan(const tv1::Plan& p) {
  const auto& c = p.assignment_counts();
  std::cout << "id:          " << p.id() << "\n"
            << "title:       " << p.title() << "\n"
            << "owner:       " << p.owner_unit_id() << "\n"
            << "period:      " << DateText(p.start_date()) << " → " << DateText(p.end_date())
            << "\n"
            << "margin:      " << p.cascade_margin_working_days() << " working days\n"
            << "policy:      "
            << (p.default_reminder_policy_id().empty() ? "-" : p.default_reminder_policy_id())
            << "\n"
            << "archived:    " << (p.archived() ? "yes" : "no") << "\n"
            << "tasks:       " << p.task_count() << "\n"
            << "assignments: assigned " << c.assigned() << ", acknowledged " << c.acknowledged()
            << ", in progress " << c.in_progress() << ", submitted " << c.submitted() << ", done "
            << c.done() << ", returned " << c.returned() << ", canceled " << c.canceled() << "\n"
            << "etag:        " << p.etag() << "\n";
  if (!p.description().empty()) std::cout << "description: " << p.description() << "\n";
}

struct CreateOpts {
  std::string id, title, owner, start, end, description, policy, request_id;
  int margin = 0;
};

int CreatePlan(Context& ctx, const CreateOpts& o) {
  tv1::CreatePlanRequest req;
  tv1::Plan& p = *req.mutable_plan();
  p.set_id(o.id);
  p.set_title(o.title);
  p.set_owner_unit_id(o.owner);
  p.set_description(o.description);
  p.set_default_reminder_policy_id(o.policy);
  p.set_cascade_margin_working_days(o.margin);
  // Default period: today to the end of this year, in the --tz zone.
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), ZoneOrUtc(ctx.options.time_zone));
  *p.mutable_start_date() = o.start.empty() ? FromCivil(today) : DateOrThrow(o.start, "--start");
  *p.mutable_end_date() = o.end.empty() ? FromCivil(absl::CivilDay(p.start_date().year(), 12, 31))
                                        : DateOrThrow(o.end, "--end");
  req.set_request_id(o.request_id);
  *req.mutable_actor() = ctx.actor();
  tv1::Plan plan;
  const grpc::Status s = ctx.tasks().CreatePlan(ctx.Call().get(), req, &plan);
  if (!s.ok()) return ctx.Fail("CreatePlan", s);
  if (ctx.json()) {
    PrintJson(plan);
  } else {
    std::cout << "created plan " << plan.id() << " (" << plan.title() << ")\n";
  }
  return kExitOk;
}

struct ListOpts {
  std::string owner, active_on;
  bool archived = false;
  int limit = 0;
};

int ListPlans(Context& ctx, const ListOpts& o) {
  tv1::ListPlansRequest req;
  req.set_owner_unit_id(o.owner);
  req.set_include_archived(o.archived);
  if (!o.active_on.empty()) *req.mutable_active_on() = DateOrThrow(o.active_on, "--active-on");
  tv1::ListPlansResponse all;
  const grpc::Status s = FetchPages(
      req, o.limit,
      [&](const auto& r, auto& page) { return ctx.tasks().ListPlans(ctx.Call().get(), r, &page); },
      [](auto& page) { return page.mutable_plans(); }, all);
  if (!s.ok()) return ctx.Fail("ListPlans", s);
  if (ctx.json()) {
    PrintJson(all);
    return kExitOk;
  }
  Table t({"ID", "TITLE", "OWNER", "PERIOD", "TASKS", "DONE/ALL", "ARCHIVED"});
  for (const auto& p : all.plans()) {
    const auto& c = p.assignment_counts();
    const int64_t total = c.assigned() + c.acknowledged() + c.in_progress() + c.submitted() +
                          c.done() + c.returned() + c.canceled();
    t.AddRow({p.id(), p.title(), p.owner_unit_id(),
              DateText(p.start_date()) + " → " + DateText(p.end_date()),
              std::to_string(p.task_count()),
              std::to_string(c.done()) + "/" + std::to_string(total), p.archived() ? "yes" : ""});
  }
  t.Print();
  std::cout << t.size() << " plan(s)\n";
  return kExitOk;
}

int GetPlan(Context& ctx, const std::string& id) {
  tv1::GetPlanRequest req;
  req.set_id(id);
  tv1::Plan plan;
  const grpc::Status s = ctx.tasks().GetPlan(ctx.Call().get(), req, &plan);
  if (!s.ok()) return ctx.Fail("GetPlan", s);
  if (ctx.json())
    PrintJson(plan);
  else
    PrintPlan(plan);
  return kExitOk;
}

struct ArchiveOpts {
  std::string id, note, etag;
  bool cancel_open = false;
};

int ArchivePlan(Context& ctx, const ArchiveOpts& o) {
  tv1::ArchivePlanRequest req;
  req.set_id(o.id);
  req.set_cancel_open_assignments(o.cancel_open);
  req.set_note(o.note);
  req.set_etag(o.etag);
  *req.mutable_actor() = ctx.actor();
  tv1::Plan plan;
  const grpc::Status s = ctx.tasks().ArchivePlan(ctx.Call().get(), req, &plan);
  if (!s.ok()) return ctx.Fail("ArchivePlan", s);
  if (ctx.json())
    PrintJson(plan);
  else
    std::cout << "archived plan " << plan.id() << "\n";
  return kExitOk;
}

}  // namespace

void AddPlansCommands(CLI::App& app, Context& ctx) {
  CLI::App* plans = Group(app, "plans", "Work plans (工作方案): create, list, show, archive");

  auto c = std::make_shared<CreateOpts>();
  CLI::App* create =
      Leaf(*plans, "create", "Create a plan", ctx, [&ctx, c] { return CreatePlan(ctx, *c); });
  create->add_option("--title", c->title, "Title, e.g. 佛山市百千万工程2026年工作方案")->required();
  create->add_option("--owner", c->owner, "Owner unit id (e.g. the city's 专班)")->required();
  create->add_option("--start", c->start, "First day of the campaign, 2026-01-01 (default today)");
  create->add_option("--end", c->end,
                     "Last day of the campaign (default 31 Dec of the start year)");
  create->add_option("--id", c->id, "Plan id (default: generated)");
  create->add_option("--description", c->description, "Description");
  create->add_option("--margin", c->margin,
                     "Working days a child task may be due before its parent (0-60)");
  create->add_option("--policy", c->policy, "Default reminder policy id");
  create->add_option("--request-id", c->request_id, "Idempotency key for safe retries");

  auto l = std::make_shared<ListOpts>();
  CLI::App* list =
      Leaf(*plans, "list", "List plans", ctx, [&ctx, l] { return ListPlans(ctx, *l); });
  list->add_option("--owner", l->owner, "Only plans owned by this unit");
  list->add_option("--active-on", l->active_on, "Only plans whose period contains this date");
  list->add_flag("--archived", l->archived, "Include archived plans");
  list->add_option("--limit", l->limit, "At most N plans");

  auto id = std::make_shared<std::string>();
  Leaf(*plans, "get", "Show one plan with its counts", ctx,
       [&ctx, id] { return GetPlan(ctx, *id); })
      ->add_option("id", *id, "Plan id")
      ->required();

  auto a = std::make_shared<ArchiveOpts>();
  CLI::App* archive = Leaf(*plans, "archive", "Archive a plan (read-only from then on)", ctx,
                           [&ctx, a] { return ArchivePlan(ctx, *a); });
  archive->add_option("id", a->id, "Plan id")->required();
  archive->add_flag("--cancel-open", a->cancel_open,
                    "Cancel the plan's open assignments instead of failing");
  archive->add_option("--note", a->note, "Recorded on each canceled assignment");
  archive->add_option("--etag", a->etag, "Fail if the plan changed since this etag");
}

}  // namespace duban::cli
