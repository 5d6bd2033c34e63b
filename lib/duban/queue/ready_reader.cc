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

namespace {

// Appends the jobs of a packed entry (field 'b', records "id\tv\td\ta\tc\tl\t#r\tr\n": see
// PromoteScript). A malformed record fails the read; its entries stay pending and come back
// through the janitor after the lease.
absl::Status AppendPacked(absl::string_view entry_id, absl::string_view b,
                          std::vector<Delivery>& out) {
  size_t pos = 0;
  while (pos < b.size()) {
    absl::string_view f[7];
    for (int i = 0; i < 7; ++i) {
      size_t tab = b.find('\t', pos);
      if (tab == absl::string_view::npos) {
        return absl::InternalError(absl::StrCat("redis: malformed ready entry ", entry_id));
      }
      f[i] = b.substr(pos, tab - pos);
      pos = tab + 1;
    }
    size_t ref_len = 0;
    if (!absl::SimpleAtoi(f[6], &ref_len) || pos + ref_len > b.size()) {
      return absl::InternalError(absl::StrCat("redis: malformed ready entry ", entry_id));
    }
    Delivery d;
    d.entry_id = std::string(entry_id);
    d.job_id = std::string(f[0]);
    d.carried = true;
    if (!absl::SimpleAtoi(f[1], &d.version) || !absl::SimpleAtoi(f[2], &d.due_ms) ||
        !absl::SimpleAtoi(f[3], &d.attempt) || !absl::SimpleAtoi(f[4], &d.redeliveries) ||
        !absl::SimpleAtoi(f[5], &d.deadline_ms) || d.job_id.empty()) {
      return absl::InternalError(absl::StrCat("redis: malformed ready entry ", entry_id));
    }
    d.ref = std::string(b.substr(pos, ref_len));
    pos += ref_len + 1;  // and the '\n'
    out.push_back(std::move(d));
  }
  return absl::OkStatus();
}

}  // namespace

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
    bool packed = false;
    for (size_t k = 0; k + 1 < f->elements; k += 2) {
      const redisReply* name = f->element[k];
      const redisReply* value = f->element[k + 1];
      if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING) {
        return absl::InternalError("redis: expected a string reply");
      }
      absl::string_view n(name->str, name->len), v(value->str, value->len);
      if (n == "b") {
        packed = true;
        if (auto s = AppendPacked(*id, v, out); !s.ok()) return s;
      } else if (n == "j") {  // the older layout: one job per entry
        d.job_id = std::string(v);
      } else if (n == "v") {
        (void)absl::SimpleAtoi(v, &d.version);
      } else if (n == "d") {
        (void)absl::SimpleAtoi(v, &d.due_ms);
      }
    }
    if (packed || d.job_id.empty()) continue;  // packed: appended above; else not a queue entry
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace duban::queue
