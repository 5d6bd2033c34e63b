#pragma once
// Message text: Chinese by default, English for recipients whose locale is "en" (or "en-*").
// Templates are code, not files: a handful of short sentences per reminder kind.
#include "message.h"

namespace duban::worker {

bool WantsEnglish(const std::string& locale);
RenderedText Render(const MessageFields& fields, const Recipient& recipient);

}  // namespace duban::worker
