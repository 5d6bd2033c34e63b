#include "templates.h"

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/time/time.h>

namespace duban::worker {
namespace {

std::string FormatDeadline(const MessageFields& f) {
  if (!f.deadline.has_value()) return "";
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(f.time_zone, &tz)) tz = absl::UTCTimeZone();
  return absl::FormatTime("%Y-%m-%d %H:%M", *f.deadline, tz);
}

// "\n1. title（办理时限：…）" per listed task, then the total when the list was cut.
void AppendListed(const MessageFields& f, bool chinese, std::string& body) {
  for (size_t i = 0; i < f.listed.size(); ++i) {
    MessageFields one = f;
    one.deadline = f.listed[i].deadline;
    const std::string when = FormatDeadline(one);
    absl::StrAppend(&body, "\n", i + 1, ". ", f.listed[i].title);
    if (!when.empty()) {
      absl::StrAppend(&body, chinese ? "（办理时限：" : " (deadline ", when, chinese ? "）" : ")");
    }
  }
  if (f.listed_total > static_cast<int>(f.listed.size())) {
    absl::StrAppend(&body, chinese ? "\n……共" : "\n... ", f.listed_total,
                    chinese ? "项" : " in all");
  }
}

struct Words {
  const char* subject;
  const char* lead;
};

Words ChineseWords(const std::string& kind) {
  if (kind == "before_due")
    return {"【督办提醒】任务即将到期", "您有一项任务即将到期，请及时办理。"};
  if (kind == "overdue")
    return {"【督办提醒】任务已逾期", "您有一项任务已逾期，请尽快办理并填报进展。"};
  if (kind == "escalation")
    return {"【督办提醒】逾期任务提级督办", "下级单位有一项任务逾期未办，请督促落实。"};
  if (kind == "rollcall") return {"【定期调度】请填报工作进展", "请按要求填报以下工作的进展情况。"};
  if (kind == "digest") return {"【督办提醒】待办事项汇总", "以下是您的待办事项汇总。"};
  return {"【督办提醒】任务今日到期", "您有一项任务已到办理时限，请及时办理。"};
}

Words EnglishWords(const std::string& kind) {
  if (kind == "before_due") return {"[duban] Task due soon", "A task assigned to you is due soon."};
  if (kind == "overdue")
    return {"[duban] Task overdue",
            "A task assigned to you is overdue; please act and report progress."};
  if (kind == "escalation")
    return {"[duban] Overdue task escalated",
            "A task of a unit you supervise is overdue; please follow up."};
  if (kind == "rollcall")
    return {"[duban] Progress report requested",
            "Please report progress on the work listed below."};
  if (kind == "digest")
    return {"[duban] Summary of pending work", "Here is a summary of your pending work."};
  return {"[duban] Task due now", "A task assigned to you has reached its deadline."};
}

}  // namespace

bool WantsEnglish(const std::string& locale) {
  std::string l = absl::AsciiStrToLower(locale);
  return l == "en" || absl::StartsWith(l, "en-") || absl::StartsWith(l, "en_");
}

RenderedText Render(const MessageFields& f, const Recipient& r) {
  RenderedText out;
  const std::string deadline = FormatDeadline(f);
  if (WantsEnglish(r.locale)) {
    Words w = EnglishWords(f.kind);
    out.locale = "en";
    out.subject = w.subject;
    out.body = w.lead;
    if (!f.task_title.empty()) absl::StrAppend(&out.body, "\nTask: ", f.task_title);
    if (!f.plan_title.empty()) absl::StrAppend(&out.body, "\nPlan: ", f.plan_title);
    if (!f.unit_name.empty()) absl::StrAppend(&out.body, "\nUnit: ", f.unit_name);
    if (!deadline.empty()) absl::StrAppend(&out.body, "\nDeadline: ", deadline);
    AppendListed(f, /*chinese=*/false, out.body);
  } else {
    Words w = ChineseWords(f.kind);
    out.locale = "zh";
    out.subject = w.subject;
    out.body = w.lead;
    if (!f.task_title.empty()) absl::StrAppend(&out.body, "\n任务：", f.task_title);
    if (!f.plan_title.empty()) absl::StrAppend(&out.body, "\n方案：", f.plan_title);
    if (!f.unit_name.empty()) absl::StrAppend(&out.body, "\n单位：", f.unit_name);
    if (!deadline.empty()) absl::StrAppend(&out.body, "\n办理时限：", deadline);
    AppendListed(f, /*chinese=*/true, out.body);
  }
  return out;
}

}  // namespace duban::worker
