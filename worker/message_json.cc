#include "message_json.h"

#include <absl/time/time.h>
#include <nlohmann/json.hpp>

namespace duban::worker {

std::string Rfc3339Millis(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

std::string MessageJson(const OutboundMessage& m, const RenderedText& text) {
  nlohmann::json j = {
      {"delivery_id", m.delivery_id},
      {"reminder_id", m.job_id},
      {"version", m.version},
      {"attempt", m.attempt},
      {"due_time", Rfc3339Millis(m.due_ms)},
      {"kind", m.fields.kind},
      {"recipient", {{"contact_id", m.recipient.contact_id}, {"unit_id", m.recipient.unit_id}}},
      {"locale", text.locale},
      {"subject", text.subject},
      {"text", text.body},
  };
  // Invalid UTF-8 from upstream data is replaced, never a reason to throw mid-batch.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace duban::worker
