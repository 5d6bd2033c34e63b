// A ledger written by an older schema opens and upgrades: migration 5 moved plan and task
// listings to the time index and the counts by state to counters seeded from the rows.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>

#include "duban/sqlite.h"
#include "sqlite_reminder_store.h"
#include "support/temp_dir.h"

namespace duban::reminders {
namespace {

// A database at schema version 4 (before migration 5) with `rows` reminders: plan "p1" for
// even i, "p2" for odd; state 1 (SCHEDULED) but every third row 2 (SENT); planned at 1000 - i.
void WriteVersion4(const std::string& path, int rows) {
  const auto& all = SqliteReminderStore::Migrations();
  std::vector<sqlite::Migration> v4;
  for (const auto& m : all) {
    if (m.version <= 4) v4.push_back(m);
  }
  ASSERT_EQ(v4.size(), 4u);
  sqlite::Options o;
  o.path = path;
  auto db = sqlite::Database::Open(o, v4);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_EQ((*db)->schema_version(), 4);
  auto st = (*db)->Write([&](sqlite::Connection& c) -> absl::Status {
    for (int i = 0; i < rows; ++i) {
      auto s = c.Prepare(
          "INSERT INTO reminders (id, kind, state, slot, plan_id, task_id, planned_us, rule_us, "
          "version, create_us, update_us, seq) VALUES (?1, 1, ?2, 'due', ?3, 't', ?4, ?4, 1, 0, "
          "0, 0)");
      if (!s.ok()) return s.status();
      s->Bind(1, absl::StrCat("r-", 100 + i))
          .Bind(2, i % 3 == 0 ? 2 : 1)
          .Bind(3, i % 2 == 0 ? "p1" : "p2")
          .Bind(4, static_cast<int64_t>(1000 - i));
      if (auto r = s->Run(); !r.ok()) return r;
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
}

TEST(ReminderStoreMigration, Version4DatabaseUpgradesWithCountsAndTimeIndex) {
  testing::TempDir dir;
  const std::string path = dir.File("reminders.db");
  WriteVersion4(path, 30);
  sqlite::Options o;
  o.path = path;
  auto store = SqliteReminderStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();

  std::map<ReminderState, int64_t> counts;
  std::vector<std::string> p1;
  std::optional<TimeIdCursor> after;
  int calls = 0;
  auto st = (*store)->Read([&](ReminderReader& r) -> absl::Status {
    auto c = r.CountByState();
    if (!c.ok()) return c.status();
    for (const auto& sc : *c) counts[sc.state] = sc.count;
    // Plan p1, 4 rows examined per call.
    ReminderFilter f;
    f.plan_id = "p1";
    for (;;) {
      ++calls;
      auto page = r.ListReminders(f, after, 100, 4);
      if (!page.ok()) return page.status();
      for (const auto& row : page->rows) p1.push_back(row.id);
      if (!page->scanned_to) break;
      after = page->scanned_to;
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(counts[ReminderState::kSent], 10);
  EXPECT_EQ(counts[ReminderState::kScheduled], 20);
  EXPECT_EQ(counts.size(), 2u);
  // Planned 1000 - i: the newest i first.
  std::vector<std::string> expected;
  for (int i = 28; i >= 0; i -= 2) expected.push_back(absl::StrCat("r-", 100 + i));
  EXPECT_EQ(p1, expected);
  EXPECT_EQ(calls, 8);  // 30 rows, 4 a call

  // Writes after the upgrade keep the counters: an insert, and an update that changes state.
  st = (*store)->Write([&](ReminderWriter& w) -> absl::Status {
    ReminderRow row;
    row.id = "r-new";
    row.kind = ReminderKind::kDue;
    row.state = ReminderState::kScheduled;
    row.slot = "due";
    row.plan_id = "p1";
    row.planned_us = row.rule_us = 5;
    row.version = 1;
    if (auto s = w.InsertReminder(row); !s.ok()) return s;
    auto found = w.FindReminder("r-101");
    if (!found.ok()) return found.status();
    if (!*found) return absl::NotFoundError("r-101");
    (*found)->state = ReminderState::kCanceled;
    if (auto s = w.UpdateReminder(**found); !s.ok()) return s;
    // Inside the transaction the uncommitted insert counts too.
    auto c = w.CountByState();
    if (!c.ok()) return c.status();
    for (const auto& sc : *c) {
      if (sc.state == ReminderState::kScheduled && sc.count != 20) {
        return absl::InternalError(absl::StrCat("scheduled ", sc.count, " in the transaction"));
      }
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  // A failed transaction leaves the counters alone.
  st = (*store)->Write([&](ReminderWriter& w) -> absl::Status {
    ReminderRow row;
    row.id = "r-rolled-back";
    row.kind = ReminderKind::kDue;
    row.state = ReminderState::kScheduled;
    row.slot = "due";
    row.version = 1;
    if (auto s = w.InsertReminder(row); !s.ok()) return s;
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kAborted);
  store->reset();

  auto reopened = SqliteReminderStore::Open(o);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  counts.clear();
  st = (*reopened)->Read([&](ReminderReader& r) -> absl::Status {
    auto c = r.CountByState();
    if (!c.ok()) return c.status();
    for (const auto& sc : *c) counts[sc.state] = sc.count;
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(counts[ReminderState::kScheduled], 20);  // +1 inserted, -1 canceled
  EXPECT_EQ(counts[ReminderState::kCanceled], 1);
  EXPECT_EQ(counts[ReminderState::kSent], 10);
  EXPECT_EQ(counts.size(), 3u);
}

}  // namespace
}  // namespace duban::reminders
