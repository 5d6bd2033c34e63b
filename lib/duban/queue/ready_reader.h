#pragma once
// A consumer's blocking reader of the ready stream (XREADGROUP ... BLOCK on a connection of its
// own, whose socket timeout is kept above the block time). Redis wakes a blocked XREADGROUP as
// soon as the promoter's XADD commits, so reading adds no timer delay. One reader per consumer
// thread; not thread-safe.
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "duban/queue/queue_keys.h"
#include "duban/queue/queue_types.h"
#include "duban/queue/redis_client.h"

namespace duban::queue {

class ReadyReader {
 public:
  ReadyReader(RedisEndpoint endpoint, std::string queue, std::string consumer,
              RedisConnectionOptions connection = RedisConnectionOptions());

  const std::string& consumer() const { return consumer_; }

  // Up to `max_count` new entries for this consumer; waits up to `block` (zero: no wait) when
  // there are none. An empty result means none arrived in time. Creates the consumer group if
  // it is missing.
  absl::StatusOr<std::vector<Delivery>> Read(int max_count, absl::Duration block);

 private:
  absl::StatusOr<RedisReplyPtr> ReadOnce(int max_count, absl::Duration block);

  QueueKeys keys_;
  std::string consumer_;
  RedisConnectionOptions options_;
  RedisConnection conn_;
  absl::Duration current_timeout_;
};

// Parses an XREADGROUP / XRANGE style list of entries: {id, {n, <count>, b, <packed jobs>}}
// (one Delivery per job, all with the entry's id) or the older {id, {j, <job>, v, <ver>, d,
// <due>}}.
absl::StatusOr<std::vector<Delivery>> ParseReadyEntries(const redisReply* entries);

}  // namespace duban::queue
