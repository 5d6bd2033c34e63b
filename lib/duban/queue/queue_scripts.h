#pragma once
// The Lua scripts that implement the queue protocol (run with EVALSHA, loaded on NOSCRIPT, so
// each binary runs exactly the script text it was built with, even during a rolling upgrade).
// Every script reads the server clock with TIME, so all processes share Redis's clock. The
// argument layout of each script is documented next to its source in queue_scripts.cc and is
// private to JobQueue. Scripts also touch keys derived from the prefix (job hashes, send
// claims) that are not listed in KEYS; they share the queue's hash tag, so every script stays
// within one Redis Cluster slot.
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>

#include "duban/queue/redis_client.h"

namespace duban::queue {

struct LuaScript {
  const char* name;
  std::string source;
};

const LuaScript& ScheduleScript();       // batch upsert with versions, wake publish
const LuaScript& CancelScript();         // batch cancel with versions
const LuaScript& PromoteScript();        // due ZSET -> ready STREAM, bounded batch
const LuaScript& ClaimScript();          // version check + idempotency claim before a send
const LuaScript& RenewScript();          // lease renewal of in-flight entries
const LuaScript& ReclaimScript();        // XAUTOCLAIM of expired leases
const LuaScript& SettleScript();         // ack / retry / dead-letter a batch
const LuaScript& PromoterLeaseScript();  // acquire or renew the promoter lease
const LuaScript& ReleaseLeaseScript();   // release the promoter lease if owned
const LuaScript& StatsScript();          // queue statistics
const LuaScript& GetJobScript();         // one job's hash and due time

// Runs scripts by SHA on one connection; on NOSCRIPT (e.g. after a Redis restart without
// persistence of the script cache) loads the script and runs it again. Not thread-safe.
class ScriptRunner {
 public:
  absl::StatusOr<RedisReplyPtr> Run(RedisConnection& conn, const LuaScript& script,
                                    const std::vector<std::string>& keys,
                                    const std::vector<std::string>& args);

 private:
  absl::flat_hash_map<const LuaScript*, std::string> shas_;
};

}  // namespace duban::queue
