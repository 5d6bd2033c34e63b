#include "duban/queue/redis_client.h"

#include <signal.h>
#include <sys/time.h>

#include <mutex>

#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include "duban/config.h"

namespace duban::queue {
namespace {

timeval SocketTimeval(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  return absl::ToTimeval(d);
}

// hiredis 0.14 writes with write(2), not send(MSG_NOSIGNAL): a write to a connection that Redis
// closed would raise SIGPIPE and kill the process. Every duban binary (and gRPC itself) ignores
// SIGPIPE; doing it here too keeps tools and tests that only link this library safe.
void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

absl::StatusOr<RedisEndpoint> RedisEndpoint::Parse(absl::string_view url) {
  if (auto s = ValidateRedisUrl(url); !s.ok()) return s;
  RedisEndpoint ep;
  if (absl::StartsWith(url, "unix://")) {
    ep.unix_path = std::string(url.substr(7));
    return ep;
  }
  absl::string_view hp = url.substr(8);
  size_t colon = hp.rfind(':');
  absl::string_view host = hp.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  ep.host = std::string(host);
  if (!absl::SimpleAtoi(hp.substr(colon + 1), &ep.port) || ep.port <= 0) {
    return absl::InvalidArgumentError("redis port must be 1-65535");
  }
  return ep;
}

std::string RedisEndpoint::ToString() const {
  if (!unix_path.empty()) return absl::StrCat("unix://", unix_path);
  if (host.find(':') != std::string::npos) return absl::StrCat("redis://[", host, "]:", port);
  return absl::StrCat("redis://", host, ":", port);
}

RedisConnection::RedisConnection(RedisEndpoint endpoint, RedisConnectionOptions options)
    : endpoint_(std::move(endpoint)), options_(options) {
  IgnoreSigpipeOnce();
}

absl::Status RedisConnection::EnsureConnected() {
  if (ctx_ != nullptr && ctx_->err == 0) return absl::OkStatus();
  ctx_.reset();
  timeval tv = SocketTimeval(options_.connect_timeout);
  RedisContextPtr c(endpoint_.unix_path.empty()
                        ? redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv)
                        : redisConnectUnixWithTimeout(endpoint_.unix_path.c_str(), tv));
  if (c == nullptr) return absl::UnavailableError("redis: cannot allocate context");
  if (c->err != 0) {
    return absl::UnavailableError(
        absl::StrCat("redis: connect ", endpoint_.ToString(), ": ", c->errstr));
  }
  if (redisSetTimeout(c.get(), SocketTimeval(options_.io_timeout)) != REDIS_OK) {
    return absl::UnavailableError(absl::StrCat("redis: set timeout: ", c->errstr));
  }
  if (endpoint_.unix_path.empty()) redisEnableKeepAlive(c.get());
  ctx_ = std::move(c);
  return absl::OkStatus();
}

absl::Status RedisConnection::SetIoTimeout(absl::Duration timeout) {
  options_.io_timeout = timeout;
  if (ctx_ != nullptr && ctx_->err == 0) {
    if (redisSetTimeout(ctx_.get(), SocketTimeval(timeout)) != REDIS_OK) {
      return FailIo("set timeout");
    }
  }
  return absl::OkStatus();
}

absl::Status RedisConnection::FailIo(absl::string_view what) {
  std::string detail = ctx_ != nullptr ? std::string(ctx_->errstr) : std::string("not connected");
  ctx_.reset();
  return absl::UnavailableError(absl::StrCat("redis: ", what, ": ", detail));
}

absl::StatusOr<RedisReplyPtr> RedisConnection::Command(const std::vector<std::string>& argv) {
  std::vector<absl::string_view> views(argv.begin(), argv.end());
  return CommandViews(views);
}

absl::StatusOr<RedisReplyPtr> RedisConnection::CommandViews(
    absl::Span<const absl::string_view> argv) {
  if (auto s = EnsureConnected(); !s.ok()) return s;
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (absl::string_view a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  RedisReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(ctx_.get(), static_cast<int>(args.size()), args.data(), lens.data())));
  if (reply == nullptr) return FailIo(argv.empty() ? "command" : argv[0]);
  if (reply->type == REDIS_REPLY_ERROR) {
    return StatusFromRedisError(absl::string_view(reply->str, reply->len));
  }
  return reply;
}

absl::Status StatusFromRedisError(absl::string_view error) {
  std::string msg = absl::StrCat("redis: ", error);
  auto starts = [&](absl::string_view p) { return absl::StartsWith(error, p); };
  if (starts("OOM")) return absl::ResourceExhaustedError(msg);
  if (starts("LOADING") || starts("BUSY") || starts("MASTERDOWN") || starts("TRYAGAIN") ||
      starts("READONLY")) {
    return absl::UnavailableError(msg);
  }
  if (starts("NOSCRIPT")) return absl::NotFoundError(msg);
  if (starts("NOGROUP") || absl::StrContains(error, "NOGROUP")) {
    return absl::FailedPreconditionError(msg);
  }
  return absl::InternalError(msg);
}

bool ReplyIsNil(const redisReply* r) { return r == nullptr || r->type == REDIS_REPLY_NIL; }

absl::StatusOr<int64_t> ReplyInteger(const redisReply* r) {
  if (r == nullptr) return absl::InternalError("redis: missing reply element");
  if (r->type == REDIS_REPLY_INTEGER) return static_cast<int64_t>(r->integer);
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
    int64_t v = 0;
    absl::string_view s(r->str, r->len);
    if (absl::SimpleAtoi(s, &v)) return v;
    double d = 0;  // scores may come back as "1.7e+12" for very large values
    if (absl::SimpleAtod(s, &d)) return static_cast<int64_t>(d);
  }
  return absl::InternalError("redis: expected an integer reply");
}

absl::StatusOr<std::string> ReplyString(const redisReply* r) {
  if (r == nullptr) return absl::InternalError("redis: missing reply element");
  if (r->type == REDIS_REPLY_NIL) return std::string();
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
    return std::string(r->str, r->len);
  }
  if (r->type == REDIS_REPLY_INTEGER) return absl::StrCat(r->integer);
  return absl::InternalError("redis: expected a string reply");
}

absl::Status ExpectArray(const redisReply* r, size_t min_elements) {
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < min_elements) {
    return absl::InternalError("redis: unexpected reply shape");
  }
  return absl::OkStatus();
}

}  // namespace duban::queue
