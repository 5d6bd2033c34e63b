// dubanctl reminders ...: the reminder ledger and the queue's operations
// (duban.reminders.v1.ReminderService): list, ledger, show, dead letters, retry, stats,
// reconcile.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_join.h>
#include <absl/time/time.h>
#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "output.h"
#include "paging.h"
#include "reminders_parts.h"
#include "units_parts.h"

namespace duban::cli {

namespace rv1 = ::duban::reminders::v1;

namespace {

// "before_due" for REMINDER_KIND_BEFORE_DUE: the enum name without its prefix, lower case.
std::string Short(const std::string& enum_name, const std::string& prefix) {
  std::string s = enum_name;
  if (absl::StartsWith(s, prefix)) s = s.substr(prefix.size());
  return absl::AsciiStrToLower(s);
}
std::string KindShort(rv1::ReminderKind k) {
  return Short(rv1::ReminderKind_Name(k), "REMINDER_KIND_");
}
std::string StateShort(rv1::ReminderState s) {
  return Short(rv1::ReminderState_Name(s), "REMINDER_STATE_");
}

// Parses a short or full enum name (any case) with `parse`; throws UsageError naming `flag`.
template <typename Enum, typename Parse>
Enum EnumFlag(const std::string& text, const std::string& prefix, Parse parse,
              const std::string& flag, const std::string& choices) {
  std::string s = absl::AsciiStrToUpper(text);
  std::replace(s.begin(), s.end(), '-', '_');
  if (!absl::StartsWith(s, prefix)) s = prefix + s;
  Enum e;
  if (!parse(s, &e) || static_cast<int>(e) == 0) {
    throw UsageError{flag + ": unknown value '" + text + "' (" + choices + ")"};
  }
  return e;
}

rv1::ReminderState StateFlag(const std::string& text) {
  return EnumFlag<rv1::ReminderState>(text, "REMINDER_STATE_", rv1::ReminderState_Parse, "--state",
                                      "scheduled, sent, failed, dead, canceled, suppressed");
}

rv1::ReminderKind KindFlag(const std::string& text) {
  return EnumFlag<rv1::ReminderKind>(text, "REMINDER_KIND_", rv1::ReminderKind_Parse, "--kind",
                                     "before_due, due, overdue, escalation, rollcall, digest");
}

google::protobuf::Timestamp TimeFlag(const std::string& text, const std::string& flag,
                                     const Context& ctx) {
  auto ts = ParseTime(text, ctx.options.time_zone);
  if (!ts.ok()) throw UsageError{flag + ": " + std::string(ts.status().message())};
  return *ts;
}

// "2026-12-31 18:00:05": the ledger's fire and delivery times to the second (lateness is
// seconds); "-" when unset.
std::string FormatTimeSec(const google::protobuf::Timestamp& ts, const std::string& tz) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(tz, &zone)) zone = absl::FixedTimeZone(8 * 3600);
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(ts.seconds()), zone);
}

// "850ms", "12.3s", "4m05s", "2h10m".
std::string FormatDuration(const google::protobuf::Duration& d) {
  const double s = static_cast<double>(d.seconds()) + d.nanos() / 1e9;
  char buf[32];
  if (s < 1) {
    std::snprintf(buf, sizeof buf, "%dms", static_cast<int>(s * 1000 + 0.5));
  } else if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    const int64_t t = static_cast<int64_t>(s);
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(t / 60),
                  static_cast<long long>(t % 60));
  } else {
    const int64_t t = static_cast<int64_t>(s);
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(t / 3600),
                  static_cast<long long>(t % 3600 / 60));
  }
  return buf;
}

// Why a reminder is in its state: the suppression reason, the detail, the last error.
std::string Reason(const rv1::Reminder& r) {
  std::vector<std::string> parts;
  if (r.state() == rv1::REMINDER_STATE_SUPPRESSED &&
      r.suppression_reason() != rv1::SUPPRESSION_REASON_UNSPECIFIED) {
    parts.push_back(
        Short(rv1::SuppressionReason_Name(r.suppression_reason()), "SUPPRESSION_REASON_"));
  }
  if (!r.detail().empty()) parts.push_back(r.detail());
  if ((r.state() == rv1::REMINDER_STATE_FAILED || r.state() == rv1::REMINDER_STATE_DEAD) &&
      !r.last_error().empty() && r.last_error() != r.detail()) {
    parts.push_back(r.last_error());
  }
  return parts.empty() ? "" : absl::StrJoin(parts, ": ");
}

std::string StateCell(const Context& ctx, const rv1::Reminder& r) {
  Color color = Color::kNone;
  switch (r.state()) {
    case rv1::REMINDER_STATE_SENT:
      color = Color::kGreen;
      break;
    case rv1::REMINDER_STATE_FAILED:
      color = Color::kYellow;
      break;
    case rv1::REMINDER_STATE_DEAD:
      color = Color::kRed;
      break;
    case rv1::REMINDER_STATE_CANCELED:
    case rv1::REMINDER_STATE_SUPPRESSED:
      color = Color::kGrey;
      break;
    default:
      break;
  }
  return Paint(StateShort(r.state()), color, ctx.color());
}

// What the reminder is about: the assignment, or the roll-call / digest.
std::string Subject(const rv1::Reminder& r) {
  if (!r.assignment_id().empty()) return r.assignment_id();
  if (!r.roll_call_id().empty()) return "rollcall " + r.roll_call_id();
  if (!r.assignment_ids().empty()) return std::to_string(r.assignment_ids_size()) + " assignments";
  return "-";
}

std::string KindCell(const rv1::Reminder& r) {
  std::string k = KindShort(r.kind());
  if (!r.milestone_id().empty()) k += " (milestone)";
  if (r.kind() == rv1::REMINDER_KIND_ESCALATION) k += " L" + std::to_string(r.escalation_level());
  if (r.kind() == rv1::REMINDER_KIND_ROLLCALL && r.chase() > 0) {
    k += " chase " + std::to_string(r.chase());
  }
  return k;
}

// Every reminder matching `req` (at most `limit`, 0: all), in the server's order, into `out`.
grpc::Status ListAllReminders(Context& ctx, const rv1::ListRemindersRequest& req, int limit,
                              std::vector<rv1::Reminder>& out) {
  rv1::ListRemindersResponse all;
  const grpc::Status s = FetchPages(
      req, limit,
      [&](const auto& r, auto& page) {
        return ctx.reminders().ListReminders(ctx.Call().get(), r, &page);
      },
      [](auto& page) { return page.mutable_reminders(); }, all);
  out.assign(std::make_move_iterator(all.mutable_reminders()->begin()),
             std::make_move_iterator(all.mutable_reminders()->end()));
  return s;
}

void PrintReminderList(const std::vector<rv1::Reminder>& list) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : list) arr.push_back(JsonOf(r));
  std::cout << nlohmann::json{{"reminders", arr}}.dump() << "\n";
}

struct ListOptions {
  std::string assignment, unit, plan, task, roll_call, from, to;
  std::vector<std::string> states, kinds;
  int limit = 0;
};

int ListReminders(Context& ctx, const ListOptions& o) {
  if (o.assignment.empty() && o.unit.empty() && o.plan.empty() && o.task.empty() &&
      o.roll_call.empty()) {
    throw UsageError{"give at least one of --assignment, --unit, --plan, --task, --roll-call"};
  }
  rv1::ListRemindersRequest req;
  req.set_assignment_id(o.assignment);
  req.set_unit_id(o.unit);
  req.set_plan_id(o.plan);
  req.set_task_id(o.task);
  req.set_roll_call_id(o.roll_call);
  for (const auto& s : o.states) req.add_states(StateFlag(s));
  for (const auto& k : o.kinds) req.add_kinds(KindFlag(k));
  if (!o.from.empty()) *req.mutable_planned_after() = TimeFlag(o.from, "--from", ctx);
  if (!o.to.empty()) *req.mutable_planned_before() = TimeFlag(o.to, "--to", ctx);
  std::vector<rv1::Reminder> list;
  if (const grpc::Status s = ListAllReminders(ctx, req, o.limit, list); !s.ok()) {
    return ctx.Fail("ListReminders", s);
  }
  if (ctx.json()) {
    PrintReminderList(list);
    return kExitOk;
  }
  const std::string& tz = ctx.options.time_zone;
  Table table({"ID", "ASSIGNMENT", "UNIT", "KIND", "DUE", "STATE", "REASON"});
  for (const auto& r : list) {
    table.AddRow({r.id(), Subject(r), r.unit_id(), KindCell(r), FormatTime(r.planned_time(), tz),
                  StateCell(ctx, r), Reason(r)});
  }
  table.Print();
  std::cout << list.size() << " reminder(s)\n";
  return kExitOk;
}

int Ledger(Context& ctx, const std::string& assignment) {
  rv1::ListRemindersRequest req;
  req.set_assignment_id(assignment);
  std::vector<rv1::Reminder> list;
  if (const grpc::Status s = ListAllReminders(ctx, req, 0, list); !s.ok()) {
    return ctx.Fail("ListReminders", s);
  }
  // Fire-time order (the server's order too; kept explicit since the ledger promises it).
  std::stable_sort(list.begin(), list.end(), [](const rv1::Reminder& a, const rv1::Reminder& b) {
    const auto& x = a.planned_time();
    const auto& y = b.planned_time();
    return x.seconds() != y.seconds() ? x.seconds() < y.seconds() : x.nanos() < y.nanos();
  });
  if (ctx.json()) {
    PrintReminderList(list);
    return kExitOk;
  }
  if (list.empty()) {
    std::cout << "no reminders for assignment " << assignment << "\n";
    return kExitOk;
  }
  const std::string& tz = ctx.options.time_zone;
  Table table({"FIRE TIME", "KIND", "STATE", "REASON", "ATTEMPTS", "LAST ERROR", "SENT",
               "NEXT ATTEMPT", "ID", "V"});
  for (const auto& r : list) {
    table.AddRow(
        {FormatTimeSec(r.planned_time(), tz), KindCell(r), StateCell(ctx, r),
         r.state() == rv1::REMINDER_STATE_SUPPRESSED || r.state() == rv1::REMINDER_STATE_CANCELED
             ? Reason(r)
             : r.detail(),
         std::to_string(r.attempts()), r.last_error().empty() ? "-" : r.last_error(),
         FormatTimeSec(r.sent_time(), tz),
         r.state() == rv1::REMINDER_STATE_FAILED ? FormatTimeSec(r.next_attempt_time(), tz) : "-",
         r.id(), std::to_string(r.version())});
  }
  std::cout << "assignment " << assignment << ": " << list.size() << " reminder(s)\n";
  table.Print(40);
  return kExitOk;
}

int Show(Context& ctx, const std::string& id) {
  rv1::GetReminderRequest req;
  req.set_id(id);
  rv1::Reminder r;
  const grpc::Status s = ctx.reminders().GetReminder(ctx.Call().get(), req, &r);
  if (!s.ok()) return ctx.Fail("GetReminder", s);
  if (ctx.json()) {
    PrintJson(r);
    return kExitOk;
  }
  const std::string& tz = ctx.options.time_zone;
  auto line = [](const std::string& key, const std::string& value) {
    if (value.empty() || value == "-") return;
    std::cout << PadTo(key + ":", 17) << value << "\n";
  };
  line("id", r.id());
  line("kind", KindCell(r));
  line("state", StateCell(ctx, r));
  line("reason", Reason(r));
  line("assignment", r.assignment_id());
  line("plan", r.plan_id());
  line("task", r.task_id());
  line("unit", r.unit_id());
  line("milestone", r.milestone_id());
  line("policy", r.policy_id());
  line("planned", FormatTimeSec(r.planned_time(), tz));
  if (r.rule_time().seconds() != r.planned_time().seconds()) {
    line("rule time", FormatTimeSec(r.rule_time(), tz));
  }
  line("send by", FormatTimeSec(r.send_by(), tz));
  line("version", std::to_string(r.version()));
  line("attempts", std::to_string(r.attempts()));
  line("last error", r.last_error());
  if (r.state() == rv1::REMINDER_STATE_FAILED) {
    line("next attempt", FormatTimeSec(r.next_attempt_time(), tz));
  }
  line("delivery id", r.delivery_id());
  line("sent", FormatTimeSec(r.sent_time(), tz));
  std::vector<std::string> to;
  for (const auto& d : r.recipients()) {
    to.push_back(d.contact_id() + "@" + d.unit_id() + " (" +
                 Short(rv1::Channel_Name(d.channel()), "CHANNEL_") + ")");
  }
  line("recipients", absl::StrJoin(to, ", "));
  line("digest", r.digest_reminder_id());
  if (!r.merged_reminder_ids().empty()) {
    line("merged", std::to_string(r.merged_reminder_ids_size()) + " reminder(s)");
  }
  if (!r.assignment_ids().empty()) {
    line("assignments", absl::StrJoin(r.assignment_ids(), ", "));
  }
  line("roll-call", r.roll_call_id());
  line("round", r.round_id());
  line("created", FormatTimeSec(r.create_time(), tz));
  line("updated", FormatTimeSec(r.update_time(), tz));
  if (!r.attempt_log().empty()) {
    std::cout << "\nattempt log (oldest first):\n";
    Table log({"TIME", "V", "ATTEMPT", "OUTCOME", "CHANNEL", "ERROR"});
    for (const auto& a : r.attempt_log()) {
      std::string outcome =
          Short(rv1::DeliveryOutcomeKind_Name(a.outcome()), "DELIVERY_OUTCOME_KIND_");
      if (a.stale()) outcome += " (stale)";
      log.AddRow({FormatTimeSec(a.time(), tz), std::to_string(a.version()),
                  std::to_string(a.attempt()), outcome,
                  Short(rv1::Channel_Name(a.channel()), "CHANNEL_"),
                  a.error().empty() ? "-" : a.error()});
    }
    log.Print(60);
  }
  return kExitOk;
}

struct DeadOptions {
  std::string unit, assignment, plan;
  int limit = 0;
};

int Dead(Context& ctx, const DeadOptions& o) {
  rv1::ListDeadLettersRequest req;
  req.set_unit_id(o.unit);
  req.set_assignment_id(o.assignment);
  req.set_plan_id(o.plan);
  rv1::ListDeadLettersResponse all;
  const grpc::Status s = FetchPages(
      req, o.limit,
      [&](const auto& r, auto& page) {
        return ctx.reminders().ListDeadLetters(ctx.Call().get(), r, &page);
      },
      [](auto& page) { return page.mutable_reminders(); }, all);
  if (!s.ok()) return ctx.Fail("ListDeadLetters", s);
  std::vector<rv1::Reminder> list(std::make_move_iterator(all.mutable_reminders()->begin()),
                                  std::make_move_iterator(all.mutable_reminders()->end()));
  if (ctx.json()) {
    PrintReminderList(list);
    return kExitOk;
  }
  if (list.empty()) {
    std::cout << "no dead letters\n";
    return kExitOk;
  }
  const std::string& tz = ctx.options.time_zone;
  Table table({"ID", "KIND", "ASSIGNMENT", "UNIT", "PLANNED", "DIED", "ATTEMPTS", "ERROR"});
  for (const auto& r : list) {
    table.AddRow({r.id(), KindCell(r), Subject(r), r.unit_id(), FormatTime(r.planned_time(), tz),
                  FormatTime(r.update_time(), tz), std::to_string(r.attempts()),
                  r.last_error().empty() ? r.detail() : r.last_error()});
  }
  table.Print();
  std::cout << list.size()
            << " dead letter(s); retry with: dubanctl reminders retry ID... | --all\n";
  return kExitOk;
}

struct RetryOptions {
  std::vector<std::string> ids;
  bool all = false;
  std::string unit, assignment, plan;
};

int Retry(Context& ctx, const RetryOptions& o) {
  if (o.ids.empty() == !o.all) throw UsageError{"give reminder ids or --all (not both)"};
  if (!o.all && !(o.unit.empty() && o.assignment.empty() && o.plan.empty())) {
    throw UsageError{"--unit, --assignment and --plan narrow --all only"};
  }
  rv1::RetryDeadLettersResponse total;
  // Ids go in calls of up to 1000 (the server's limit); --all is one call with a filter.
  const size_t calls = o.all ? 1 : (o.ids.size() + 999) / 1000;
  for (size_t c = 0; c < calls; ++c) {
    rv1::RetryDeadLettersRequest req;
    req.set_actor(ctx.actor().id());
    if (o.all) {
      rv1::ListDeadLettersRequest* f = req.mutable_filter();
      f->set_unit_id(o.unit);
      f->set_assignment_id(o.assignment);
      f->set_plan_id(o.plan);
    } else {
      for (size_t i = c * 1000; i < o.ids.size() && i < (c + 1) * 1000; ++i) {
        req.add_reminder_ids(o.ids[i]);
      }
    }
    rv1::RetryDeadLettersResponse resp;
    const grpc::Status s = ctx.reminders().RetryDeadLetters(ctx.Call(10).get(), req, &resp);
    if (!s.ok()) return ctx.Fail("RetryDeadLetters", s);
    total.set_retried(total.retried() + resp.retried());
    total.set_skipped_count(total.skipped_count() + resp.skipped_count());
    for (const auto& id : resp.skipped_ids()) total.add_skipped_ids(id);
  }
  if (ctx.json()) {
    PrintJson(total);
    return kExitOk;
  }
  std::cout << "requeued " << total.retried() << " reminder(s)";
  if (total.skipped_count() > 0) {
    std::cout << "; skipped " << total.skipped_count()
              << " (not dead any more, assignment closed, or not found)";
    if (!total.skipped_ids().empty()) std::cout << ": " << absl::StrJoin(total.skipped_ids(), " ");
  }
  std::cout << "\n";
  return kExitOk;
}

int Stats(Context& ctx, const std::string& window) {
  rv1::GetQueueStatsRequest req;
  if (!window.empty()) {
    int64_t n = 0;
    const char unit = window.back();
    const int64_t mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 0;
    if (mult == 0 || !absl::SimpleAtoi(window.substr(0, window.size() - 1), &n) || n <= 0) {
      throw UsageError{"--window: bad duration '" + window + "' (e.g. 90s, 5m, 2h)"};
    }
    req.mutable_window()->set_seconds(n * mult);
  }
  rv1::QueueStats q;
  const grpc::Status s = ctx.reminders().GetQueueStats(ctx.Call().get(), req, &q);
  if (!s.ok()) return ctx.Fail("GetQueueStats", s);
  if (ctx.json()) {
    PrintJson(q);
    return kExitOk;
  }
  const std::string& tz = ctx.options.time_zone;
  auto row = [](const std::string& key, const std::string& value) {
    std::cout << "  " << PadTo(key, 24) << value << "\n";
  };
  auto n = [](int64_t v) { return std::to_string(v); };
  std::cout << "queue (Redis), at " << FormatTime(q.evaluate_time(), tz) << ":\n";
  row("scheduled",
      n(q.scheduled()) +
          (q.scheduled() > 0 ? "  (next due " + FormatTime(q.next_due_time(), tz) + ")" : ""));
  std::string backlog = n(q.due_backlog());
  if (q.due_backlog() > 0) {
    backlog = Paint(backlog, Color::kYellow, ctx.color()) + "  (oldest due " +
              FormatTime(q.oldest_backlog_due_time(), tz) + ")";
  }
  row("due, not yet promoted", backlog);
  row("ready for workers", n(q.ready()));
  row("in flight", n(q.in_flight()));
  row("dead set", q.dead() > 0 ? Paint(n(q.dead()), Color::kRed, ctx.color()) : "0");
  std::cout << "ledger (reminders per state):\n";
  row("scheduled", n(q.ledger_scheduled()));
  row("sent", n(q.ledger_sent()));
  row("failed (retry pending)", n(q.ledger_failed()));
  row("dead", q.ledger_dead() > 0 ? Paint(n(q.ledger_dead()), Color::kRed, ctx.color()) +
                                        "  (see: dubanctl reminders dead)"
                                  : "0");
  row("canceled", n(q.ledger_canceled()));
  row("suppressed", n(q.ledger_suppressed()));
  const auto& l = q.lateness();
  std::cout << "lateness (fire time - planned time) over " << n(l.count()) << " sent:\n";
  if (l.count() > 0) {
    row("p50 / p90 / p99", FormatDuration(l.p50()) + " / " + FormatDuration(l.p90()) + " / " +
                               FormatDuration(l.p99()));
    row("max", FormatDuration(l.max()));
  }
  return kExitOk;
}

int Reconcile(Context& ctx, bool dry_run) {
  rv1::ReconcileRequest req;
  req.set_dry_run(dry_run);
  rv1::ReconcileResponse r;
  const grpc::Status s = ctx.reminders().Reconcile(ctx.Call(10).get(), req, &r);
  if (!s.ok()) return ctx.Fail("Reconcile", s);
  if (ctx.json()) {
    PrintJson(r);
    return kExitOk;
  }
  const int64_t drifted = r.missing_in_redis() + r.stale_in_redis() + r.orphaned_in_redis();
  std::cout << (dry_run ? "dry run: " : "") << "compared " << r.ledger_pending()
            << " pending ledger row(s) with " << r.redis_jobs() << " Redis job(s) in "
            << FormatDuration(r.duration()) << "\n";
  if (drifted == 0) {
    std::cout << "no drift: the Redis schedule matches the ledger\n";
    return kExitOk;
  }
  const char* verb = r.applied() ? "" : " (not repaired)";
  std::cout << "  missing in Redis:  " << r.missing_in_redis() << (r.applied() ? " restored" : "")
            << verb << "\n"
            << "  stale in Redis:    " << r.stale_in_redis() << (r.applied() ? " fixed" : "")
            << verb << "\n"
            << "  orphaned in Redis: " << r.orphaned_in_redis() << (r.applied() ? " removed" : "")
            << verb << "\n";
  if (!r.samples().empty()) {
    Table table({"DRIFT", "REMINDER", "DETAIL"});
    for (const auto& d : r.samples()) {
      table.AddRow(
          {Short(rv1::DriftKind_Name(d.kind()), "DRIFT_KIND_"), d.reminder_id(), d.detail()});
    }
    std::cout << "examples:\n";
    table.Print(60);
  }
  return kExitOk;
}

}  // namespace

void AddRemindersCommands(CLI::App& app, Context& ctx) {
  CLI::App* rem = Group(app, "reminders", "The reminder ledger, dead letters and the queue");

  auto l = std::make_shared<ListOptions>();
  CLI::App* list = Leaf(*rem, "list", "List reminders (by planned time)", ctx,
                        [&ctx, l] { return ListReminders(ctx, *l); });
  list->add_option("--assignment", l->assignment, "Only this assignment");
  list->add_option("--unit", l->unit, "Only reminders about this unit");
  list->add_option("--plan", l->plan, "Only this plan");
  list->add_option("--task", l->task, "Only this task");
  list->add_option("--roll-call", l->roll_call, "Only this roll-call");
  list->add_option("--state", l->states,
                   "scheduled, sent, failed, dead, canceled or suppressed (repeatable)");
  list->add_option("--kind", l->kinds,
                   "before_due, due, overdue, escalation, rollcall or digest (repeatable)");
  list->add_option("--from", l->from, "Planned at or after this time");
  list->add_option("--to", l->to, "Planned before this time");
  list->add_option("--limit", l->limit, "At most N reminders")->check(CLI::PositiveNumber);
  list->footer("At least one of --assignment, --unit, --plan, --task, --roll-call is required.");

  auto ledger_id = std::make_shared<std::string>();
  Leaf(*rem, "ledger",
       "Every reminder of one assignment in fire-time order: state, reason, attempts, delivery",
       ctx, [&ctx, ledger_id] { return Ledger(ctx, *ledger_id); })
      ->add_option("assignment", *ledger_id, "Assignment id")
      ->required();

  auto show_id = std::make_shared<std::string>();
  Leaf(*rem, "show", "Show one reminder with its attempt log", ctx,
       [&ctx, show_id] { return Show(ctx, *show_id); })
      ->add_option("id", *show_id, "Reminder id")
      ->required();

  auto d = std::make_shared<DeadOptions>();
  CLI::App* dead = Leaf(*rem, "dead", "List dead letters (reminders given up on), newest first",
                        ctx, [&ctx, d] { return Dead(ctx, *d); });
  dead->add_option("--limit", d->limit, "At most N")->check(CLI::PositiveNumber);
  dead->add_option("--unit", d->unit, "Only this unit");
  dead->add_option("--assignment", d->assignment, "Only this assignment");
  dead->add_option("--plan", d->plan, "Only this plan");

  auto r = std::make_shared<RetryOptions>();
  CLI::App* retry = Leaf(*rem, "retry", "Requeue dead letters (fix the cause first)", ctx,
                         [&ctx, r] { return Retry(ctx, *r); });
  retry->add_option("ids", r->ids, "Reminder ids");
  retry->add_flag("--all", r->all, "Every dead letter (narrow with --unit/--assignment/--plan)");
  retry->add_option("--unit", r->unit, "With --all: only this unit");
  retry->add_option("--assignment", r->assignment, "With --all: only this assignment");
  retry->add_option("--plan", r->plan, "With --all: only this plan");

  auto window = std::make_shared<std::string>();
  Leaf(*rem, "stats", "Queue and ledger statistics: backlog, in flight, dead, lateness", ctx,
       [&ctx, window] { return Stats(ctx, *window); })
      ->add_option("--window", *window, "Lateness window, e.g. 5m (default), 1h; 1m-24h");

  auto dry = std::make_shared<bool>(false);
  Leaf(*rem, "reconcile", "Compare the Redis schedule with the ledger and repair it", ctx,
       [&ctx, dry] { return Reconcile(ctx, *dry); })
      ->add_flag("--dry-run", *dry, "Only report the drift");

  AddCalendarCommands(*rem, ctx);
}

}  // namespace duban::cli
