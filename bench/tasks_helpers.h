#pragma once
// Small duban.tasks.v1 helpers shared by the tools that drive duban-tasks.
#include <chrono>
#include <ctime>

#include "duban/tasks/v1/tasks.pb.h"

namespace duban::bench {

// The benchmark as the actor of its task changes.
inline ::duban::tasks::v1::Actor BenchActor() {
  ::duban::tasks::v1::Actor a;
  a.set_id("system:bench");
  a.set_name("压测");
  return a;
}

// The UTC calendar date of now + `ahead`.
inline void SetDate(::duban::tasks::v1::Date* d, std::chrono::hours ahead) {
  const std::time_t t =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + ahead);
  std::tm tm{};
  gmtime_r(&t, &tm);
  d->set_year(tm.tm_year + 1900);
  d->set_month(tm.tm_mon + 1);
  d->set_day(tm.tm_mday);
}

}  // namespace duban::bench
