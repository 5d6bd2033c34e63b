#include "log_channel.h"

#include <cerrno>
#include <cstring>

#include <absl/strings/str_cat.h>

#include "message_json.h"
#include "templates.h"

namespace duban::worker {
namespace {

class LogChannel : public Channel {
 public:
  explicit LogChannel(LogChannelFactory* factory) : factory_(factory) {}
  SendResult Send(const OutboundMessage& m) override {
    return factory_->Write(MessageJson(m, Render(m.fields, m.recipient)) + "\n");
  }
  const char* name() const override { return "log"; }

 private:
  LogChannelFactory* factory_;
};

class NoopChannel : public Channel {
 public:
  SendResult Send(const OutboundMessage&) override { return SendResult::Sent(); }
  const char* name() const override { return "noop"; }
};

}  // namespace

absl::StatusOr<std::unique_ptr<LogChannelFactory>> LogChannelFactory::Open(
    const std::string& path) {
  if (path == "-") return std::unique_ptr<LogChannelFactory>(new LogChannelFactory(stdout, false));
  FILE* f = std::fopen(path.c_str(), "ae");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<LogChannelFactory>(new LogChannelFactory(f, true));
}

LogChannelFactory::~LogChannelFactory() {
  if (owned_) std::fclose(file_);
}

std::unique_ptr<Channel> LogChannelFactory::NewChannel() {
  return std::make_unique<LogChannel>(this);
}

SendResult LogChannelFactory::Write(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    std::clearerr(file_);
    return SendResult::Retry("log write failed");
  }
  return SendResult::Sent();
}

std::unique_ptr<Channel> NoopChannelFactory::NewChannel() {
  return std::make_unique<NoopChannel>();
}

}  // namespace duban::worker
