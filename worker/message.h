#pragma once
// What the worker sends: one reminder (a queue job at one version) rendered for its recipients.
// Built by a ReminderSource from ids only; rendered by templates; sent by a Channel.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/time/time.h>

namespace duban::worker {

// One person (or endpoint) a reminder goes to. `address` is what the channel needs: an
// https?:// URL for webhook, an e-mail address for smtp, anything (or empty) for log.
struct Recipient {
  std::string contact_id;
  std::string unit_id;
  std::string name;
  std::string locale;  // "en" selects English templates; anything else Chinese
  std::string address;
};

// The fields the templates render. All optional: a missing field is left out of the text.
// One open assignment a digest or roll-call lists.
struct ListedTask {
  std::string title;
  std::optional<absl::Time> deadline;
};

struct MessageFields {
  std::string kind = "due";  // before_due | due | overdue | escalation | rollcall | digest
  std::string task_title;
  std::string unit_name;
  std::string plan_title;
  std::optional<absl::Time> deadline;
  std::string time_zone = "Asia/Shanghai";
  // Digests and roll-calls: the open assignments they are about (at most kMaxListed), and how
  // many open ones there are in all.
  std::vector<ListedTask> listed;
  int listed_total = 0;
};

// A message lists at most this many tasks, then says how many there are in all.
inline constexpr int kMaxListed = 20;

struct OutboundMessage {
  std::string job_id;  // the reminder id
  int64_t version = 0;
  std::string delivery_id;  // the same on every attempt of this version
  int attempt = 1;          // 1-based attempt number of this send
  int64_t due_ms = 0;
  MessageFields fields;
  Recipient recipient;
};

// Rendered text of one message (see templates.h).
struct RenderedText {
  std::string subject;
  std::string body;
  std::string locale;  // "zh" or "en"
};

}  // namespace duban::worker
