#include "duban/queue/wake_subscriber.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include <absl/strings/numbers.h>
#include <absl/strings/string_view.h>

namespace duban::queue {

WakeSubscriber::WakeSubscriber(RedisEndpoint endpoint, std::string queue,
                               RedisConnectionOptions connection)
    : keys_(queue), conn_(std::move(endpoint), connection) {
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

WakeSubscriber::~WakeSubscriber() {
  if (event_fd_ >= 0) close(event_fd_);
}

void WakeSubscriber::Interrupt() {
  uint64_t one = 1;
  if (event_fd_ >= 0) (void)!write(event_fd_, &one, sizeof(one));
}

absl::Status WakeSubscriber::Subscribe() {
  if (subscribed_ && conn_.context() != nullptr && conn_.context()->err == 0) {
    return absl::OkStatus();
  }
  subscribed_ = false;
  conn_.Reset();
  auto reply = conn_.Command({"SUBSCRIBE", keys_.wake_channel()});
  if (!reply.ok()) return reply.status();
  subscribed_ = true;
  ever_subscribed_ = true;
  return absl::OkStatus();
}

absl::StatusOr<bool> WakeSubscriber::DrainBuffered() {
  bool woke = false;
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(conn_.context(), &raw) != REDIS_OK) {
      subscribed_ = false;
      return conn_.FailIo("pub/sub read");
    }
    if (raw == nullptr) return woke;
    RedisReplyPtr reply(static_cast<redisReply*>(raw));
    const redisReply* r = reply.get();
    // {"message", channel, payload}; subscribe confirmations are ignored.
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        absl::string_view(r->element[0]->str, r->element[0]->len) == "message") {
      woke = true;
      int64_t due = 0;
      const redisReply* p = r->element[2];
      if (p->type == REDIS_REPLY_STRING &&
          absl::SimpleAtoi(absl::string_view(p->str, p->len), &due)) {
        latest_due_ms_ = due;
      }
    }
  }
}

absl::StatusOr<WakeReason> WakeSubscriber::Wait(absl::Duration timeout) {
  if (!subscribed_) {
    bool again = ever_subscribed_;
    if (auto s = Subscribe(); !s.ok()) return s;
    if (again) return WakeReason::kResubscribed;
  }
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    auto buffered = DrainBuffered();
    if (!buffered.ok()) return buffered.status();
    if (*buffered) return WakeReason::kPublished;

    absl::Duration left = deadline - absl::Now();
    if (left < absl::ZeroDuration()) left = absl::ZeroDuration();
    // Round up so we never wake a fraction of a millisecond early and spin.
    int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
    pollfd fds[2] = {{conn_.context()->fd, POLLIN, 0}, {event_fd_, POLLIN, 0}};
    int n = poll(fds, event_fd_ >= 0 ? 2 : 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError("poll failed");
    }
    if (n == 0) return WakeReason::kTimeout;
    if (event_fd_ >= 0 && (fds[1].revents & POLLIN) != 0) {
      uint64_t count = 0;
      (void)!read(event_fd_, &count, sizeof(count));
      return WakeReason::kInterrupted;
    }
    if (fds[0].revents != 0) {
      if (redisBufferRead(conn_.context()) != REDIS_OK) {
        subscribed_ = false;
        return conn_.FailIo("pub/sub read");
      }
    }
  }
}

}  // namespace duban::queue
