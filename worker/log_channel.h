#pragma once
// The log channel (default for a local run): appends one JSON line per message (message_json.h)
// to a file, or to stdout for "-". The file IS the delivery, so it holds the message text;
// the process log never does. Writes are serialised across threads and flushed per message.
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include <absl/status/statusor.h>

#include "channel.h"

namespace duban::worker {

class LogChannelFactory : public ChannelFactory {
 public:
  static absl::StatusOr<std::unique_ptr<LogChannelFactory>> Open(const std::string& path);
  ~LogChannelFactory() override;

  std::unique_ptr<Channel> NewChannel() override;
  absl::Status ValidateAddress(const std::string&) const override { return absl::OkStatus(); }

  SendResult Write(const std::string& line);

 private:
  explicit LogChannelFactory(FILE* file, bool owned) : file_(file), owned_(owned) {}
  std::mutex mu_;
  FILE* file_;
  bool owned_;
};

// Sends nothing and always succeeds (benchmarks of the queue path).
class NoopChannelFactory : public ChannelFactory {
 public:
  std::unique_ptr<Channel> NewChannel() override;
  absl::Status ValidateAddress(const std::string&) const override { return absl::OkStatus(); }
};

}  // namespace duban::worker
