#include "duban/queue/ready_reader.h"

#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

namespace duban::queue {

ReadyReader::ReadyReader(RedisEndpoint endpoint, std::string queue, std::string consumer,
                         RedisConnectionOptions connection)
    : keys_(queue),
      consumer_(std::move(consumer)),
      options_(connection),
      conn_(std::move(endpoint), connection),
      current_timeout_(connection.io_timeout) {}

absl::StatusOr<RedisReplyPtr> ReadyReader::ReadOnce(int max_count, absl::Duration block) {
  std::vector<std::string> argv{"XREADGROUP", "GROUP", std::string(kConsumerGroup),
                                consumer_,    "COUNT", absl::StrCat(max_count)};
  if (block > absl::ZeroDuration()) {
    argv.push_back("BLOCK");
    argv.push_back(absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(block))));
  }
  argv.push_back("STREAMS");
  argv.push_back(keys_.ready());
  argv.push_back(">");
  return conn_.Command(argv);
}

absl::StatusOr<std::vector<Delivery>> ReadyReader::Read(int max_count, absl::Duration block) {
  if (max_count < 1) return absl::InvalidArgumentError("max_count must be >= 1");
  if (block < absl::ZeroDuration()) block = absl::ZeroDuration();
  // The socket must outlast the server-side block, or hiredis would time out and drop us.
  absl::Duration want = options_.io_timeout + block;
  if (want != current_timeout_) {
    if (auto s = conn_.SetIoTimeout(want); !s.ok()) return s;
    current_timeout_ = want;
  }
  auto reply = ReadOnce(max_count, block);
  if (!reply.ok() && absl::IsFailedPrecondition(reply.status())) {
    auto created = conn_.Command(
        {"XGROUP", "CREATE", keys_.ready(), std::string(kConsumerGroup), "0", "MKSTREAM"});
    if (!created.ok() && !absl::StrContains(created.status().message(), "BUSYGROUP")) {
      return created.status();
    }
    reply = ReadOnce(max_count, block);
  }
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (ReplyIsNil(r)) return std::vector<Delivery>();
  if (auto s = ExpectArray(r, 1); !s.ok()) return s;
  const redisReply* stream = r->element[0];
  if (auto s = ExpectArray(stream, 2); !s.ok()) return s;
  return ParseReadyEntries(stream->element[1]);
}

absl::StatusOr<std::vector<Delivery>> ParseReadyEntries(const redisReply* entries) {
  if (auto s = ExpectArray(entries, 0); !s.ok()) return s;
  std::vector<Delivery> out;
  out.reserve(entries->elements);
  for (size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    if (auto s = ExpectArray(e, 2); !s.ok()) return s;
    auto id = ReplyString(e->element[0]);
    if (!id.ok()) return id.status();
    const redisReply* f = e->element[1];
    if (ReplyIsNil(f)) continue;  // deleted while pending
    if (auto s = ExpectArray(f, 0); !s.ok()) return s;
    Delivery d;
    d.entry_id = *id;
    for (size_t k = 0; k + 1 < f->elements; k += 2) {
      auto name = ReplyString(f->element[k]);
      auto value = ReplyString(f->element[k + 1]);
      if (!name.ok()) return name.status();
      if (!value.ok()) return value.status();
      if (*name == "j") {
        d.job_id = *value;
      } else if (*name == "v") {
        (void)absl::SimpleAtoi(*value, &d.version);
      } else if (*name == "d") {
        (void)absl::SimpleAtoi(*value, &d.due_ms);
      }
    }
    if (d.job_id.empty()) continue;  // not a queue entry
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace duban::queue
