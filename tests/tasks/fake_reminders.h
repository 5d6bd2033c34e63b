#pragma once
// An in-process duban.reminders.v1.ReminderService that records the outbox traffic it
// accepts, and can be told to fail (UNAVAILABLE) for a while or to reject chosen changes for
// good.
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <grpcpp/grpcpp.h>

#include "duban/reminders/v1/reminders.grpc.pb.h"

namespace duban::tasks::testing {

namespace rpb = ::duban::reminders::v1;

class FakeReminders final : public rpb::ReminderService::Service {
 public:
  struct Received {
    std::string key;  // assignment id or "plan:<id>"
    int64_t version = 0;
    bool cancel = false;
    int state = 0;
    int64_t deadline_seconds = 0;
  };

  // The next `n` outbox calls fail with UNAVAILABLE.
  void FailNext(int n) { fail_next_ = n; }
  // While set, every outbox call fails with UNAVAILABLE.
  void SetDown(bool down) { down_ = down; }
  // Batches containing this assignment, and the single change itself, are INVALID_ARGUMENT.
  void Reject(const std::string& assignment_id) {
    std::lock_guard<std::mutex> lock(mu_);
    rejected_.insert(assignment_id);
  }
  std::vector<Received> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  int failures() const { return failures_; }
  int batch_calls() const { return batch_calls_; }
  size_t largest_batch() const { return largest_batch_; }

  grpc::Status BatchScheduleAssignments(grpc::ServerContext*,
                                        const rpb::BatchScheduleAssignmentsRequest* req,
                                        rpb::BatchScheduleAssignmentsResponse* resp) override {
    ++batch_calls_;
    if (auto s = MaybeFail(); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < req->changes_size(); ++i) {
      const auto& c = req->changes(i);
      const std::string& id =
          c.has_schedule() ? c.schedule().assignment().assignment_id() : c.cancel().assignment_id();
      if (rejected_.count(id)) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("changes[", i, "] is invalid"));
      }
    }
    largest_batch_ = std::max<size_t>(largest_batch_, req->changes_size());
    for (const auto& c : req->changes()) {
      Received r;
      if (c.has_schedule()) {
        const auto& a = c.schedule().assignment();
        r = {a.assignment_id(), a.version(), false, a.state(), a.deadline_time().seconds()};
      } else {
        const auto& a = c.cancel();
        r = {a.assignment_id(), a.version(), true, a.final_state(), 0};
      }
      received_.push_back(r);
      resp->add_results()->set_outcome(rpb::APPLY_OUTCOME_APPLIED);
    }
    return grpc::Status::OK;
  }

  grpc::Status SetPlanDefaultPolicy(grpc::ServerContext*,
                                    const rpb::SetPlanDefaultPolicyRequest* req,
                                    rpb::PlanDefaultPolicy* resp) override {
    if (auto s = MaybeFail(); !s.ok()) return s;
    if (req->policy_id() == "poison") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "policy not found");
    }
    std::lock_guard<std::mutex> lock(mu_);
    received_.push_back({"plan:" + req->plan_id(), req->plan_version(), false, 0, 0});
    resp->set_plan_id(req->plan_id());
    resp->set_policy_id(req->policy_id());
    resp->set_plan_version(req->plan_version());
    return grpc::Status::OK;
  }

  grpc::Status GetPolicy(grpc::ServerContext*, const rpb::GetPolicyRequest* req,
                         rpb::ReminderPolicy* resp) override {
    if (req->id() != "default" && req->id() != "strict" && req->id() != "poison") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such policy");
    }
    resp->set_id(req->id());
    return grpc::Status::OK;
  }

 private:
  grpc::Status MaybeFail() {
    if (down_ || fail_next_.fetch_sub(1) > 0) {
      ++failures_;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "reminders down for the test");
    }
    return grpc::Status::OK;
  }

  mutable std::mutex mu_;
  std::vector<Received> received_;
  std::set<std::string> rejected_;
  std::atomic<int> fail_next_{0};
  std::atomic<bool> down_{false};
  std::atomic<int> failures_{0};
  std::atomic<int> batch_calls_{0};
  size_t largest_batch_ = 0;
};

}  // namespace duban::tasks::testing
