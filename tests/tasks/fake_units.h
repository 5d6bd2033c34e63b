#pragma once
// An in-memory UnitClient and PolicyClient for domain tests: a small tree, switchable to
// "unavailable".
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <absl/status/status.h>

#include "unit_client.h"

namespace duban::tasks::testing {

class FakeUnits : public UnitClient {
 public:
  void Add(const std::string& id, const std::string& parent, UnitKind kind,
           std::vector<std::string> tags = {}, const std::string& tz = "Asia/Shanghai") {
    UnitInfo u;
    u.id = id;
    u.name = "单位" + id;
    u.kind = kind;
    u.parent_id = parent;
    u.tags = std::move(tags);
    u.timezone = tz;
    u.depth = parent.empty() ? 0 : units_.at(parent).depth + 1;
    units_[id] = u;
    children_[parent].push_back(id);
  }
  void Archive(const std::string& id) { units_.at(id).archived = true; }
  void set_unavailable(bool v) { unavailable_ = v; }
  int batch_calls() const { return batch_calls_; }

  absl::StatusOr<std::vector<UnitInfo>> BatchGetUnits(
      const std::vector<std::string>& ids) override {
    ++batch_calls_;
    if (unavailable_) return absl::UnavailableError("unit service is unavailable");
    std::vector<UnitInfo> out;
    std::set<std::string> seen;
    for (const auto& id : ids) {
      auto it = units_.find(id);
      if (it != units_.end() && seen.insert(id).second) out.push_back(it->second);
    }
    return out;
  }

  absl::Status ListSubtree(
      const std::string& root_id, const std::vector<UnitKind>& kinds, const std::string& tag,
      const std::function<absl::Status(std::vector<UnitInfo>&)>& on_page) override {
    if (unavailable_) return absl::UnavailableError("unit service is unavailable");
    if (!units_.count(root_id)) return absl::NotFoundError("unit not found");
    std::vector<UnitInfo> page;
    Walk(root_id, kinds, tag, page);
    // Pages of 1000 like the real service.
    for (size_t start = 0; start < page.size(); start += 1000) {
      std::vector<UnitInfo> chunk(page.begin() + start,
                                  page.begin() + std::min(page.size(), start + 1000));
      if (auto s = on_page(chunk); !s.ok()) return s;
    }
    if (page.empty()) {
      std::vector<UnitInfo> none;
      return on_page(none);
    }
    return absl::OkStatus();
  }

 private:
  void Walk(const std::string& id, const std::vector<UnitKind>& kinds, const std::string& tag,
            std::vector<UnitInfo>& out) {
    const UnitInfo& u = units_.at(id);
    if (u.archived) return;
    bool kind_ok = kinds.empty() || std::find(kinds.begin(), kinds.end(), u.kind) != kinds.end();
    bool tag_ok = tag.empty() || std::find(u.tags.begin(), u.tags.end(), tag) != u.tags.end();
    if (kind_ok && tag_ok) out.push_back(u);
    auto it = children_.find(id);
    if (it == children_.end()) return;
    std::vector<std::string> kids = it->second;
    std::sort(kids.begin(), kids.end());
    for (const auto& cid : kids) Walk(cid, kinds, tag, out);
  }

  std::map<std::string, UnitInfo> units_;
  std::map<std::string, std::vector<std::string>> children_;
  bool unavailable_ = false;
  int batch_calls_ = 0;
};

class FakePolicies : public PolicyClient {
 public:
  std::set<std::string> known = {"default", "strict"};
  bool unavailable = false;
  absl::StatusOr<bool> PolicyExists(const std::string& id) override {
    if (unavailable) return absl::UnavailableError("reminders service is unavailable");
    return known.count(id) > 0;
  }
};

}  // namespace duban::tasks::testing
