#pragma once
// A redis-server per test suite (one per test process under ctest), flushed before each test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "duban/queue/job_queue.h"
#include "duban/queue/ready_reader.h"
#include "duban/queue/wake_subscriber.h"
#include "redis_server.h"

namespace duban::queue {

class QueueTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::RedisServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { server_->FlushAll(); }

  static QueueOptions Options(std::string name = "t") {
    QueueOptions o;
    o.name = std::move(name);
    o.lease = absl::Milliseconds(200);
    o.wake_horizon = absl::Seconds(5);
    return o;
  }
  std::unique_ptr<JobQueue> NewQueue(QueueOptions o = Options()) {
    auto q = JobQueue::Create(server_->url(), std::move(o));
    EXPECT_TRUE(q.ok()) << q.status();
    return *std::move(q);
  }
  std::unique_ptr<ReadyReader> NewReader(const std::string& consumer,
                                         const std::string& queue = "t") {
    return std::make_unique<ReadyReader>(server_->endpoint(), queue, consumer);
  }
  int64_t Now(JobQueue& q) {
    auto t = q.ServerTimeMs();
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : 0;
  }
  static ScheduleRequest Job(std::string id, int64_t version, int64_t due_ms, std::string ref = "",
                             absl::Time deadline = absl::InfiniteFuture()) {
    ScheduleRequest r;
    r.job_id = std::move(id);
    r.version = version;
    r.due = absl::FromUnixMillis(due_ms);
    r.ref = std::move(ref);
    r.deadline = deadline;
    return r;
  }
  // Schedules `id` already due, promotes it and reads it as `reader`: the usual way to hold a
  // delivery in a test.
  Delivery DeliverOne(JobQueue& q, ReadyReader& reader, const std::string& id, int64_t version = 1,
                      absl::Time deadline = absl::InfiniteFuture(), std::string ref = "") {
    auto s = q.Schedule(Job(id, version, Now(q) - 1, std::move(ref), deadline));
    EXPECT_TRUE(s.ok()) << s.status();
    auto p = q.PromoteDue();
    EXPECT_TRUE(p.ok()) << p.status();
    auto got = reader.Read(10, absl::ZeroDuration());
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || got->size() != 1) {
      ADD_FAILURE() << "expected one delivery of " << id;
      return Delivery{};
    }
    return got->front();
  }
  // Every key of queue `name`, sorted.
  std::vector<std::string> QueueKeysPresent(const std::string& name = "t") {
    auto r = server_->Cmd({"KEYS", "duban:{" + name + "}:*"});
    std::vector<std::string> out;
    if (r == nullptr) return out;
    for (size_t i = 0; i < r->elements; ++i)
      out.emplace_back(r->element[i]->str, r->element[i]->len);
    std::sort(out.begin(), out.end());
    return out;
  }

  inline static testing::RedisServer* server_ = nullptr;
};

}  // namespace duban::queue
