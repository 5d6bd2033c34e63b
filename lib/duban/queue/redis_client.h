#pragma once
// The one place duban talks to hiredis 0.14 (RESP2, blocking API): RAII owners for
// redisContext and redisReply, endpoint parsing, and a connection that reconnects lazily.
// A RedisConnection is not thread-safe; the classes above it serialise access or own one
// connection per thread of use.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>
#include <absl/types/span.h>

namespace duban::queue {

struct RedisReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

struct RedisContextDeleter {
  void operator()(redisContext* c) const {
    if (c != nullptr) redisFree(c);
  }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

// Where Redis listens: "redis://HOST:PORT" or "unix:///PATH" (the --redis flag).
struct RedisEndpoint {
  std::string host;       // TCP host (brackets of an IPv6 literal removed); empty for unix
  int port = 0;           // TCP port
  std::string unix_path;  // socket path; empty for TCP

  static absl::StatusOr<RedisEndpoint> Parse(absl::string_view url);
  std::string ToString() const;
};

struct RedisConnectionOptions {
  absl::Duration connect_timeout = absl::Seconds(2);
  // Socket read/write timeout. hiredis has one per connection, so blocking reads (XREADGROUP
  // BLOCK) and pub/sub need connections of their own with a timeout above the block time.
  absl::Duration io_timeout = absl::Seconds(5);
};

// One hiredis context. Connects on first use and again after any I/O error (hiredis marks a
// context unusable after one), so a restarted Redis is picked up by the next command. A command
// is never re-sent automatically after it may have reached the server: the caller decides.
class RedisConnection {
 public:
  RedisConnection(RedisEndpoint endpoint, RedisConnectionOptions options);
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Connects if not connected. UNAVAILABLE when Redis cannot be reached.
  absl::Status EnsureConnected();

  // Sends one command (binary-safe arguments) and returns its reply. Error replies become a
  // status (see StatusFromRedisError); I/O errors become UNAVAILABLE and drop the connection.
  absl::StatusOr<RedisReplyPtr> Command(const std::vector<std::string>& argv);
  // The same without copying: the views must stay valid for the call. (A name of its own: a
  // braced list would match both signatures.)
  absl::StatusOr<RedisReplyPtr> CommandViews(absl::Span<const absl::string_view> argv);

  // Changes the socket timeout of the current and future connections.
  absl::Status SetIoTimeout(absl::Duration timeout);

  // Drops the connection (the next command reconnects).
  void Reset() { ctx_.reset(); }

  // The live context, or null when not connected (for pub/sub readers that poll the fd).
  redisContext* context() { return ctx_.get(); }
  const RedisEndpoint& endpoint() const { return endpoint_; }

  // Turns an I/O failure of the current context into UNAVAILABLE and drops the connection.
  absl::Status FailIo(absl::string_view what);

 private:
  RedisEndpoint endpoint_;
  RedisConnectionOptions options_;
  RedisContextPtr ctx_;
};

// Maps a Redis error reply to a status: OOM → RESOURCE_EXHAUSTED; LOADING, BUSY, MASTERDOWN,
// TRYAGAIN, READONLY → UNAVAILABLE; NOSCRIPT → NOT_FOUND; NOGROUP → FAILED_PRECONDITION;
// anything else INTERNAL. The message keeps Redis's text for logs (never for RPC clients).
absl::Status StatusFromRedisError(absl::string_view error);

// Reply helpers: typed reads of a reply element, with INTERNAL on an unexpected shape.
absl::StatusOr<int64_t> ReplyInteger(const redisReply* r);     // integer, or string of digits
absl::StatusOr<std::string> ReplyString(const redisReply* r);  // string or status; nil → ""
bool ReplyIsNil(const redisReply* r);
absl::Status ExpectArray(const redisReply* r, size_t min_elements);

}  // namespace duban::queue
