#pragma once
// Paging through a List-style RPC, written once for every list command.
#include <algorithm>
#include <string>

#include <grpcpp/support/status.h>

namespace duban::cli {

// Calls `call(request, page)` page after page (page_size 1000, or what is left of `limit`) and
// collects the pages in `all`: the first page whole (its other fields — counts, totals,
// evaluate_time — are kept), then each later page's items, where `items(response)` is the
// mutable repeated field. Stops after the last page or at `limit` items (0: no limit); clears
// `all`'s next_page_token. Returns the first failed call's status.
template <typename Request, typename Response, typename Call, typename Items>
grpc::Status FetchPages(Request req, int limit, const Call& call, const Items& items,
                        Response& all) {
  bool first = true;
  for (;;) {
    const int have = first ? 0 : items(all)->size();
    req.set_page_size(limit > 0 ? std::min(1000, limit - have) : 1000);
    Response page;
    if (grpc::Status s = call(req, page); !s.ok()) return s;
    std::string next = page.next_page_token();
    if (first) {
      all = std::move(page);
      first = false;
    } else {
      for (auto& item : *items(page)) *items(all)->Add() = std::move(item);
    }
    all.clear_next_page_token();
    if (limit > 0 && items(all)->size() > limit) {
      items(all)->DeleteSubrange(limit, items(all)->size() - limit);
    }
    if (next.empty() || (limit > 0 && items(all)->size() >= limit)) return grpc::Status::OK;
    req.set_page_token(std::move(next));
  }
}

}  // namespace duban::cli
