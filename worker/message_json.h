#pragma once
// The JSON document of one message, as written by the log channel and POSTed by the webhook
// channel: {"delivery_id", "reminder_id", "version", "attempt", "due_time", "kind",
// "recipient": {"contact_id", "unit_id"}, "locale", "subject", "text"}.
#include <string>

#include "message.h"

namespace duban::worker {

std::string MessageJson(const OutboundMessage& message, const RenderedText& text);
std::string Rfc3339Millis(int64_t unix_ms);

}  // namespace duban::worker
