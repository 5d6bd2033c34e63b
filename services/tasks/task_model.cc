#include "task_model.h"

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>

namespace duban::tasks {

const char* StateName(AssignmentState s) {
  switch (s) {
    case AssignmentState::kAssigned:
      return "ASSIGNED";
    case AssignmentState::kAcknowledged:
      return "ACKNOWLEDGED";
    case AssignmentState::kInProgress:
      return "IN_PROGRESS";
    case AssignmentState::kSubmitted:
      return "SUBMITTED";
    case AssignmentState::kDone:
      return "DONE";
    case AssignmentState::kReturned:
      return "RETURNED";
    case AssignmentState::kCanceled:
      return "CANCELED";
    case AssignmentState::kUnspecified:
      break;
  }
  return "UNSPECIFIED";
}

std::string DateText(const Date& d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year, d.month, d.day);
}

std::optional<Date> ParseDateText(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  Date d;
  if (!absl::SimpleAtoi(text.substr(0, 4), &d.year) ||
      !absl::SimpleAtoi(text.substr(5, 2), &d.month) ||
      !absl::SimpleAtoi(text.substr(8, 2), &d.day)) {
    return std::nullopt;
  }
  return d;
}

int64_t StateCounts::total() const {
  int64_t n = 0;
  for (int i = 1; i <= kMaxAssignmentState; ++i) n += by_state[i];
  return n;
}

int64_t StateCounts::open() const {
  return total() - (*this)[AssignmentState::kDone] - (*this)[AssignmentState::kCanceled];
}

std::string EtagOf(int64_t revision) { return absl::StrCat(revision); }

std::string BudgetKey(const AssignmentBudget& b) {
  if (!b.unit_id.empty()) return absl::StrCat("2:", b.unit_id);
  if (b.unit_kind != UnitKind::kUnspecified) {
    return absl::StrCat("1:", absl::Dec(static_cast<int>(b.unit_kind), absl::kZeroPad2));
  }
  return "0";
}

std::string ChildTaskPath(const std::string& parent_path, const std::string& id) {
  return parent_path.empty() ? absl::StrCat("/", id, "/") : absl::StrCat(parent_path, id, "/");
}

std::string TopTaskOf(const std::string& path) {
  if (path.size() < 2) return "";
  size_t end = path.find('/', 1);
  return end == std::string::npos ? path.substr(1) : path.substr(1, end - 1);
}

std::string PlanPointsText(const std::vector<Milestone>& milestones) {
  std::string out;
  for (const auto& m : milestones) {
    if (!out.empty()) out += ',';
    absl::StrAppend(&out, m.due_us, ":", m.planned_percent);
  }
  return out;
}

}  // namespace duban::tasks
