#pragma once
// The production pipeline ends (--source=grpc):
//   GrpcReminderSource — per batch, one ReminderService.BatchGetReminders (current version?
//     sendable?), one TaskService.BatchGetAssignments with tasks and plans (still open? the
//     title, plan and deadline the message renders), one UnitService.ResolveRecipients (the
//     unit's contacts at the reminder's escalation level). A reminder that is not sendable or
//     whose assignment closed is suppressed; one without any recipient reachable on this
//     worker's channel is dead ("no recipients").
//   GrpcOutcomeSink — one ReminderService.RecordDeliveries per batch.
#include <memory>
#include <string>

#include "outcome_sink.h"
#include "reminder_source.h"

namespace duban::worker {

struct GrpcPipeline {
  std::unique_ptr<ReminderSource> source;
  std::unique_ptr<OutcomeSink> sink;
};

// `channel` ("log", "webhook", "smtp", "noop") picks the contact field used as the address:
// webhook_url for webhook, email for smtp, the contact id otherwise. With
// `channel_has_default` (webhook with --webhook-url) contacts without that field are kept with
// an empty address, which the channel replaces by its default.
GrpcPipeline MakeGrpcPipeline(const std::string& reminders_addr, const std::string& units_addr,
                              const std::string& tasks_addr, const std::string& channel,
                              const std::string& worker_id, bool channel_has_default);

}  // namespace duban::worker
