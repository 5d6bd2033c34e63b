#include "reminder_source.h"

#include <absl/strings/str_split.h>

namespace duban::worker {

absl::StatusOr<std::vector<Resolution>> DirectReminderSource::Resolve(
    absl::Span<const SourceJob> jobs) {
  std::vector<Resolution> out;
  out.reserve(jobs.size());
  for (const SourceJob& job : jobs) {
    Resolution r;
    std::pair<std::string, std::string> parts = absl::StrSplit(job.ref, absl::MaxSplits('|', 1));
    Recipient to;
    to.contact_id = job.job_id;
    to.address = parts.first;
    to.locale = parts.second;
    r.recipients.push_back(std::move(to));
    r.fields.kind = "due";
    r.fields.task_title = job.job_id;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace duban::worker
