#pragma once
// A webhook receiver for tests: cpp-httplib on 127.0.0.1:<any port>, verifying every request's
// signature and recording it. The path says how to answer:
//   /ok/...            200
//   /fail/N/...        500 for the first N requests of a delivery id, then 200
//   /limit/N/...       429 with Retry-After: 1 for the first N requests of a delivery id, then 200
//   /bad/...           400 (a permanent failure)
//   /slow/MS/...       sleeps MS milliseconds, then 200
#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <absl/strings/numbers.h>
#include <absl/strings/str_split.h>
#include <nlohmann/json.hpp>

#include "hmac_signature.h"

namespace duban::testing {

class WebhookSink {
 public:
  struct Request {
    std::string path;
    std::string delivery_id;
    std::string reminder_id;
    int status = 0;
    bool signature_ok = false;
    std::chrono::steady_clock::time_point at;
    nlohmann::json body;
  };

  explicit WebhookSink(std::string secret) : secret_(std::move(secret)) {
    server_.set_tcp_nodelay(true);
    server_.Post(R"(/.*)",
                 [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~WebhookSink() {
    server_.stop();
    thread_.join();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Request> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Reminder ids answered with 2xx, each once per answer.
  std::multiset<std::string> Delivered() {
    std::lock_guard<std::mutex> lock(mu_);
    std::multiset<std::string> out;
    for (const Request& r : requests_) {
      if (r.status / 100 == 2) out.insert(r.reminder_id);
    }
    return out;
  }
  size_t Count() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    Request r;
    r.path = req.path;
    r.at = std::chrono::steady_clock::now();
    r.delivery_id = req.get_header_value("X-Duban-Delivery-Id");
    std::string ts = req.get_header_value("X-Duban-Timestamp");
    int64_t ts_value = 0;
    r.signature_ok = absl::SimpleAtoi(ts, &ts_value) &&
                     req.get_header_value("X-Duban-Signature") ==
                         worker::WebhookSignature(secret_, ts_value, req.body);
    r.body = nlohmann::json::parse(req.body, nullptr, false);
    if (r.body.is_object() && r.body.contains("reminder_id")) {
      r.reminder_id = r.body["reminder_id"].get<std::string>();
    }
    std::vector<std::string> parts = absl::StrSplit(req.path, '/', absl::SkipEmpty());
    int n = 0;
    int status = 200;
    if (!parts.empty()) {
      const std::string& mode = parts[0];
      if (parts.size() > 1) (void)absl::SimpleAtoi(parts[1], &n);
      int seen = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen = seen_[r.delivery_id]++;
      }
      if (mode == "fail" && seen < n) status = 500;
      if (mode == "limit" && seen < n) {
        status = 429;
        res.set_header("Retry-After", "1");
      }
      if (mode == "bad") status = 400;
      if (mode == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(n));
    }
    res.status = status;
    res.set_content("{}", "application/json");
    r.status = status;
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(std::move(r));
  }

  std::string secret_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, int> seen_;
  std::vector<Request> requests_;
};

}  // namespace duban::testing
