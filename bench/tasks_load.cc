// duban-bench-tasks: benchmarks of duban-tasks (issue 3 item 11). It starts, on 127.0.0.1,
// duban-units loaded with a city shaped like Zhaoqing (8,315 party branches under districts,
// towns and villages), duban-tasks pointed at it, and the no-op gRPC server, then measures in
// the same run:
//   (a) CascadeTask of one task to every party branch of the city, one fresh task at a time,
//       `--board-tasks` times (39 by default: the campaign's 39 work tasks), timing each RPC;
//       the outbox rows written with the cascades are then counted in the tasks database;
//   (b) GetBoard of that plan (≈324,000 assignments) grouped by district (CHILD_OF_ROOT of the
//       city), one call at a time;
//   (c) rounds of: the no-op GetUnit baseline, CreateTask and GetTask, back to back under the
//       same closed-loop concurrency, each reported as a ratio to the baseline of its round.
// Bounded: every call has a deadline and every load a fixed duration; the servers are stopped
// on every exit path (see ChildProcess) and the temporary directory is removed.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "bench_support.h"
#include "child_process.h"
#include "closed_loop.h"
#include "duban/sqlite.h"
#include "duban/tasks/v1/tasks.grpc.pb.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "grpc_client.h"
#include "tasks_helpers.h"
#include "unit_tree.h"

namespace duban::bench {
namespace {

namespace fs = std::filesystem;
namespace tpb = ::duban::tasks::v1;
namespace upb = ::duban::units::v1;
using std::chrono::milliseconds;

struct Config {
  int rounds = 3;
  int concurrency = 16;
  int client_threads = 1;
  double duration_s = 5;
  double warmup_s = 1;
  int64_t branches = 8315;
  int board_tasks = 39;
  int board_calls = 20;
  int handler_threads = 64;  // the servers' default
  std::string sqlite_synchronous = "FULL";
  std::string units_bin, tasks_bin, noop_bin;
  std::string work_dir;
  bool keep_data = false;
  uint64_t seed = 42;
};

constexpr char kBoardPlan[] = "bench-board";
constexpr char kLoadPlan[] = "bench-load";

// A rate load of one round.
struct LoadRow {
  std::string name;
  double rate = 0;
  double p50_ms = 0, p99_ms = 0;
  double server_cpu_us = 0, client_cpu_us = 0;
  // duban-units' CPU per call over the same load (CreateTask's unit checks).
  double units_cpu_us = 0;
  int64_t ok = 0, errors = 0;
  std::string first_error;
};

struct RateRound {
  LoadRow noop, create, get;
  std::string load;  // load average when the round started
};

// Timings of one-at-a-time calls (cascades, boards).
struct Series {
  std::vector<double> ms;
  std::vector<double> server_cpu_ms;
};

class Bench {
 public:
  Bench(Config cfg, const fs::path& dir)
      : cfg_(std::move(cfg)), dir_(dir), tree_(GenerateCityTree(cfg_.branches)) {}

  int Run() {
    const OtherCpuMeter other_cpu;
    load_start_ = LoadAverage();
    const std::string log_dir = dir_.string();
    ChildProcess noop(
        {cfg_.noop_bin, "--listen=127.0.0.1:0", "--log-level=warn",
         "--handler-threads=" + std::to_string(cfg_.handler_threads), "--shutdown-grace-ms=2000"},
        log_dir + "/noop.stderr", milliseconds(15000));
    ChildProcess units(
        {cfg_.units_bin, "--listen=127.0.0.1:0", "--data-dir=" + (dir_ / "units").string(),
         "--log-level=warn", "--handler-threads=" + std::to_string(cfg_.handler_threads),
         "--sqlite-synchronous=" + cfg_.sqlite_synchronous, "--shutdown-grace-ms=2000"},
        log_dir + "/units.stderr", milliseconds(30000));
    noop_pid_ = noop.pid();
    units_stub_ = Connect<upb::UnitService>(units.address());
    noop_stub_ = Connect<upb::UnitService>(noop.address());
    ImportUnitTree(*units_stub_, tree_);
    // No --reminders-addr: the outbox rows are written in each transaction all the same and
    // stay in the database, where they are counted below.
    ChildProcess tasks(
        {cfg_.tasks_bin, "--listen=127.0.0.1:0", "--data-dir=" + (dir_ / "tasks").string(),
         "--units-addr=" + units.address(), "--log-level=warn",
         "--handler-threads=" + std::to_string(cfg_.handler_threads),
         "--sqlite-synchronous=" + cfg_.sqlite_synchronous, "--shutdown-grace-ms=2000"},
        log_dir + "/tasks.stderr", milliseconds(30000));
    tasks_pid_ = tasks.pid();
    units_pid_ = units.pid();
    stub_ = Connect<tpb::TaskService>(tasks.address());
    CreatePlans();

    load_cascade_ = LoadAverage();
    RunCascades();
    VerifyOutbox();
    load_board_ = LoadAverage();
    RunBoards();
    load_rates_ = LoadAverage();
    SampleTaskIds();
    for (int r = 1; r <= cfg_.rounds; ++r) RunRateRound(r);
    load_end_ = LoadAverage();
    other_cpu_percent_ = other_cpu.Percent({noop.pid(), units.pid(), tasks.pid()});
    PrintSummary();
    return errors_ ? 1 : 0;
  }

 private:
  // ---- set-up ----

  void CreatePlans() {
    for (const char* id : {kBoardPlan, kLoadPlan}) {
      tpb::CreatePlanRequest req;
      tpb::Plan* p = req.mutable_plan();
      p->set_id(id);
      p->set_title(std::string(id) == kBoardPlan ? "全市学习教育工作方案（39项工作任务）"
                                                 : "压测：逐项新建任务");
      p->set_owner_unit_id(kCityTreeRoot);
      SetDate(p->mutable_start_date(), std::chrono::hours(-24 * 30));
      SetDate(p->mutable_end_date(), std::chrono::hours(24 * 365));
      *req.mutable_actor() = BenchActor();
      tpb::Plan out;
      auto ctx = Context(std::chrono::seconds(10));
      Check(stub_->CreatePlan(ctx.get(), req, &out), std::string("CreatePlan ") + id);
    }
  }

  // ---- (a) cascades ----

  void RunCascades() {
    std::printf("\ncascading %d tasks to the %zu party branches of %s, one at a time:\n",
                cfg_.board_tasks, tree_.branches.size(), kCityTreeRoot);
    for (int i = 1; i <= cfg_.board_tasks; ++i) {
      ThrowIfInterrupted();
      char id[32];
      std::snprintf(id, sizeof id, "bench-k%02d", i);
      tpb::CreateTaskRequest create;
      tpb::Task* t = create.mutable_task();
      t->set_id(id);
      t->set_plan_id(kBoardPlan);
      t->set_title("第" + std::to_string(i) + "项工作任务");
      t->set_lead_unit_id(kCityTreeRoot);
      // Spread over the campaign so the lights differ from task to task.
      *t->mutable_deadline()->mutable_absolute_time() =
          FromNow(std::chrono::hours(24 * (20 + 3 * i)));
      for (int m = 1; m <= 2; ++m) {
        tpb::Milestone* ms = t->add_milestones();
        ms->set_title(m == 1 ? "部署发动" : "对照检查");
        *ms->mutable_due()->mutable_absolute_time() =
            FromNow(std::chrono::hours(24 * (-10 + (10 + 3 * i) * m / 2)));
      }
      *create.mutable_actor() = BenchActor();
      tpb::Task created;
      auto cctx = Context(std::chrono::seconds(10));
      Check(stub_->CreateTask(cctx.get(), create, &created), std::string("CreateTask ") + id);
      parents_.push_back(id);

      tpb::CascadeTaskRequest req;
      req.set_task_id(id);
      req.set_root_unit_id(kCityTreeRoot);
      req.add_unit_kinds(tpb::UNIT_KIND_PARTY_BRANCH);
      *req.mutable_actor() = BenchActor();
      req.set_request_id(std::string("cascade-") + id);
      tpb::CascadeTaskResponse resp;
      auto ctx = Context(std::chrono::seconds(120));
      CpuMeter cpu(tasks_pid_);
      const auto start = Clock::now();
      grpc::Status s = stub_->CascadeTask(ctx.get(), req, &resp);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      const double server_ms = cpu.PerOp(1).first / 1000;
      Check(s, std::string("CascadeTask ") + id);
      const auto n = static_cast<int64_t>(tree_.branches.size());
      if (!resp.applied() || resp.matched_units() != n || resp.created_tasks() != n) {
        throw std::runtime_error("CascadeTask " + std::string(id) + ": matched " +
                                 std::to_string(resp.matched_units()) + ", created " +
                                 std::to_string(resp.created_tasks()) + " of " + std::to_string(n));
      }
      cascade_.ms.push_back(ms);
      cascade_.server_cpu_ms.push_back(server_ms);
      std::printf("  %s: %.0f ms (server CPU %.0f ms), %lld child tasks\n", id, ms, server_ms,
                  static_cast<long long>(resp.created_tasks()));
      std::fflush(stdout);
    }
  }

  // Every child assignment of every cascade has its outbox row (written in the cascade's
  // transaction; nothing delivers them, there being no reminders service).
  void VerifyOutbox() {
    sqlite::Options o;
    o.path = (dir_ / "tasks" / "tasks.db").string();
    auto c = sqlite::Connection::Open(o, /*read_only=*/true);
    if (!c.ok()) throw std::runtime_error("open tasks.db: " + std::string(c.status().message()));
    auto s = (*c)->Prepare(
        "SELECT t.parent_task_id, count(*) FROM outbox o JOIN assignments a ON a.id = o.key "
        "JOIN tasks t ON t.id = a.task_id WHERE t.plan_id = ?1 AND t.parent_task_id <> '' "
        "GROUP BY t.parent_task_id");
    if (!s.ok()) throw std::runtime_error("prepare: " + std::string(s.status().message()));
    s->Bind(1, std::string(kBoardPlan));
    std::map<std::string, int64_t> per_parent;
    for (;;) {
      auto row = s->Step();
      if (!row.ok())
        throw std::runtime_error("outbox query: " + std::string(row.status().message()));
      if (!*row) break;
      per_parent[s->Text(0)] = s->Int(1);
    }
    const auto n = static_cast<int64_t>(tree_.branches.size());
    outbox_checked_ = 0;
    for (const auto& p : parents_) {
      auto it = per_parent.find(p);
      const int64_t got = it == per_parent.end() ? 0 : it->second;
      if (got != n) {
        throw std::runtime_error("outbox rows for the children of " + p + ": " +
                                 std::to_string(got) + ", expected " + std::to_string(n));
      }
      outbox_checked_ += got;
    }
    std::printf("outbox: %lld rows for the %zu cascades' assignments (one per assignment)\n",
                static_cast<long long>(outbox_checked_), parents_.size());
    std::fflush(stdout);
  }

  // ---- (b) boards ----

  Series MeasureBoard(const tpb::GetBoardRequest& req, int64_t expect_total, int64_t expect_groups,
                      const char* what) {
    Series out;
    for (int i = 0; i <= cfg_.board_calls; ++i) {  // call 0 warms up and is not counted
      ThrowIfInterrupted();
      tpb::GetBoardResponse resp;
      auto ctx = Context(std::chrono::seconds(60));
      CpuMeter cpu(tasks_pid_);
      const auto start = Clock::now();
      grpc::Status s = stub_->GetBoard(ctx.get(), req, &resp);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      const double server_ms = cpu.PerOp(1).first / 1000;
      Check(s, std::string("GetBoard ") + what);
      if (resp.totals().total() != expect_total || resp.group_count() != expect_groups) {
        throw std::runtime_error(
            std::string("GetBoard ") + what + ": " + std::to_string(resp.group_count()) +
            " groups, " + std::to_string(resp.totals().total()) + " assignments; expected " +
            std::to_string(expect_groups) + ", " + std::to_string(expect_total));
      }
      if (i == 0) continue;
      out.ms.push_back(ms);
      out.server_cpu_ms.push_back(server_ms);
    }
    return out;
  }

  void RunBoards() {
    const auto n = static_cast<int64_t>(tree_.branches.size());
    const auto parents = static_cast<int64_t>(parents_.size());
    board_assignments_ = parents * n + parents;  // children + the parents' own LEAD on the city
    tpb::GetBoardRequest by_district;
    by_district.set_plan_id(kBoardPlan);
    by_district.set_root_unit_id(kCityTreeRoot);
    by_district.set_group_by(tpb::BOARD_GROUPING_CHILD_OF_ROOT);
    by_district.set_page_size(100);
    // The districts with branches (all 8 unless --branches is small), and the city itself for
    // the parents' LEAD assignments. Branch ids start with their district's: "gd.zq.d03.".
    std::set<std::string> districts;
    const size_t prefix = std::string(kCityTreeRoot).size() + 4;
    for (size_t i : tree_.branches) districts.insert(tree_.units[i].id().substr(0, prefix));
    board_district_ = MeasureBoard(by_district, board_assignments_,
                                   static_cast<int64_t>(districts.size()) + 1, "by district");
    tpb::GetBoardRequest by_kind;
    by_kind.set_plan_id(kBoardPlan);
    by_kind.set_group_by(tpb::BOARD_GROUPING_UNIT_KIND);
    board_kind_ = MeasureBoard(by_kind, board_assignments_, 2, "by unit kind");
    std::printf("GetBoard by district: median %.0f ms; by unit kind (no UnitService): %.0f ms\n",
                Median(board_district_.ms), Median(board_kind_.ms));
    std::fflush(stdout);
  }

  // ---- (c) rates ----

  // Ids for GetTask: the cascaded children of the first task (a page of 1000) and the parents.
  void SampleTaskIds() {
    tpb::ListTasksRequest req;
    req.set_plan_id(kBoardPlan);
    req.set_parent_task_id(parents_.front());
    req.set_page_size(1000);
    tpb::ListTasksResponse resp;
    auto ctx = Context(std::chrono::seconds(30));
    Check(stub_->ListTasks(ctx.get(), req, &resp), "ListTasks");
    for (const auto& t : resp.tasks()) get_ids_.push_back(t.id());
    for (const auto& p : parents_) get_ids_.push_back(p);
  }

  LoadOptions Options() const {
    LoadOptions o;
    o.concurrency = cfg_.concurrency;
    o.client_threads = cfg_.client_threads;
    o.warmup = milliseconds(static_cast<int64_t>(cfg_.warmup_s * 1000));
    o.duration = milliseconds(static_cast<int64_t>(cfg_.duration_s * 1000));
    o.seed = cfg_.seed;
    return o;
  }

  template <typename Req, typename Resp>
  LoadRow Measure(const std::string& name, const UnaryMethod<Req, Resp>& m, pid_t server) {
    ThrowIfInterrupted();
    CpuMeter cpu(server);
    CpuMeter units_cpu(units_pid_);
    LoadResult r = RunClosedLoop(m, Options());
    ThrowIfInterrupted();
    LoadRow row;
    row.name = name;
    row.rate = r.rate();
    row.ok = r.ok;
    row.errors = r.errors;
    row.first_error = r.first_error;
    if (!r.latency_ns.empty()) {
      row.p50_ms = r.QuantileMs(0.50);
      row.p99_ms = r.QuantileMs(0.99);
    }
    std::tie(row.server_cpu_us, row.client_cpu_us) = cpu.PerOp(r.completed_total);
    if (server != units_pid_) row.units_cpu_us = units_cpu.PerOp(r.completed_total).first;
    errors_ = errors_ || r.errors > 0;
    return row;
  }

  void RunRateRound(int round) {
    RateRound rr;
    rr.load = LoadAverage();
    {
      UnaryMethod<upb::GetUnitRequest, upb::Unit> m;
      m.prepare = [&](grpc::ClientContext* c, const upb::GetUnitRequest& q,
                      grpc::CompletionQueue* cq) {
        return noop_stub_->PrepareAsyncGetUnit(c, q, cq);
      };
      m.fill = [&](std::mt19937_64& rng, upb::GetUnitRequest& q) {
        q.set_id(tree_.units[rng() % tree_.units.size()].id());
        return true;
      };
      rr.noop = Measure("no-op GetUnit (baseline)", m, noop_pid_);
    }
    {
      std::atomic<int64_t> next{0};
      UnaryMethod<tpb::CreateTaskRequest, tpb::Task> m;
      m.prepare = [&](grpc::ClientContext* c, const tpb::CreateTaskRequest& q,
                      grpc::CompletionQueue* cq) {
        return stub_->PrepareAsyncCreateTask(c, q, cq);
      };
      const auto deadline = FromNow(std::chrono::hours(24 * 30));
      m.fill = [&](std::mt19937_64& rng, tpb::CreateTaskRequest& q) {
        char id[48];
        std::snprintf(id, sizeof id, "bench-r%d-%07lld", round,
                      static_cast<long long>(next.fetch_add(1)));
        tpb::Task* t = q.mutable_task();
        t->set_id(id);
        t->set_plan_id(kLoadPlan);
        t->set_title("镇街自查自纠台账");
        t->set_lead_unit_id(tree_.units[tree_.towns[rng() % tree_.towns.size()]].id());
        *t->mutable_deadline()->mutable_absolute_time() = deadline;
        *q.mutable_actor() = BenchActor();
        return true;
      };
      m.check = [](const tpb::CreateTaskRequest& q, const tpb::Task& t) {
        if (t.id() != q.task().id() || t.assignments_size() != 1) {
          return "CreateTask returned " + t.id() + " with " + std::to_string(t.assignments_size()) +
                 " assignments";
        }
        return std::string();
      };
      rr.create = Measure("CreateTask (1 LEAD assignment)", m, tasks_pid_);
    }
    {
      UnaryMethod<tpb::GetTaskRequest, tpb::Task> m;
      m.prepare = [&](grpc::ClientContext* c, const tpb::GetTaskRequest& q,
                      grpc::CompletionQueue* cq) { return stub_->PrepareAsyncGetTask(c, q, cq); };
      m.fill = [&](std::mt19937_64& rng, tpb::GetTaskRequest& q) {
        q.set_id(get_ids_[rng() % get_ids_.size()]);
        return true;
      };
      m.check = [](const tpb::GetTaskRequest& q, const tpb::Task& t) {
        return t.id() == q.id() ? std::string() : "GetTask returned " + t.id();
      };
      rr.get = Measure("GetTask (random cascaded task)", m, tasks_pid_);
    }
    std::printf(
        "round %d (load %s): no-op %s calls/s, CreateTask %s calls/s (%.0f%%), GetTask %s "
        "calls/s (%.0f%%)\n",
        round, rr.load.c_str(), Rate(rr.noop.rate).c_str(), Rate(rr.create.rate).c_str(),
        100 * rr.create.rate / rr.noop.rate, Rate(rr.get.rate).c_str(),
        100 * rr.get.rate / rr.noop.rate);
    std::fflush(stdout);
    rounds_.push_back(std::move(rr));
  }

  // ---- reporting ----

  void PrintSummary() const {
    std::printf("\n## duban-bench-tasks summary\n\n");
    std::printf(
        "machine load average (1/5/15 min): start %s; cascades %s; boards %s; rates %s; end %s. "
        "Other processes used %.0f%% of the machine's CPU over the run.\n\n",
        load_start_.c_str(), load_cascade_.c_str(), load_board_.c_str(), load_rates_.c_str(),
        load_end_.c_str(), other_cpu_percent_);

    std::printf("### Closed-loop rates, %d calls in flight, %.1f s per load, %zu rounds\n\n",
                cfg_.concurrency, cfg_.duration_s, rounds_.size());
    std::printf(
        "| round | load avg | scenario | calls/s | p50 ms | p99 ms | ratio to no-op | server CPU "
        "µs/call | duban-units CPU µs/call | client CPU µs/call | errors "
        "|\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < rounds_.size(); ++i) {
      const RateRound& r = rounds_[i];
      for (const LoadRow* row : {&r.noop, &r.create, &r.get}) {
        std::printf("| %zu | %s | %s | %s | %.2f | %.2f | %.2f | %s | %s | %s | %lld%s |\n", i + 1,
                    r.load.c_str(), row->name.c_str(), Rate(row->rate).c_str(), row->p50_ms,
                    row->p99_ms, row->rate / r.noop.rate, Fixed(row->server_cpu_us, 0).c_str(),
                    Fixed(row->units_cpu_us, 0).c_str(), Fixed(row->client_cpu_us, 0).c_str(),
                    static_cast<long long>(row->errors),
                    row->errors ? (" (" + row->first_error + ")").c_str() : "");
      }
    }
    std::vector<double> noop, create, get, create_ratio, get_ratio, create_p99, get_p99;
    for (const auto& r : rounds_) {
      noop.push_back(r.noop.rate);
      create.push_back(r.create.rate);
      get.push_back(r.get.rate);
      create_ratio.push_back(r.create.rate / r.noop.rate);
      get_ratio.push_back(r.get.rate / r.noop.rate);
      create_p99.push_back(r.create.p99_ms);
      get_p99.push_back(r.get.p99_ms);
    }

    std::printf("\n### One call at a time\n\n");
    std::printf(
        "| scenario | calls | median ms | p99 ms | max ms | min ms | server CPU ms (median) "
        "|\n|---|---:|---:|---:|---:|---:|---:|\n");
    auto line = [](const char* name, const Series& s) {
      std::printf("| %s | %zu | %.0f | %.0f | %.0f | %.0f | %.0f |\n", name, s.ms.size(),
                  Median(s.ms), Quantile(s.ms, 0.99), *std::max_element(s.ms.begin(), s.ms.end()),
                  *std::min_element(s.ms.begin(), s.ms.end()), Median(s.server_cpu_ms));
    };
    const std::string cascade_name = "CascadeTask to " +
                                     Rate(static_cast<double>(tree_.branches.size())) +
                                     " branches (fresh task each; incl. outbox rows)";
    line(cascade_name.c_str(), cascade_);
    const std::string board_name =
        "GetBoard by district, " + Rate(static_cast<double>(board_assignments_)) + " assignments";
    line(board_name.c_str(), board_district_);
    line("GetBoard by unit kind, same plan, no root (no UnitService call)", board_kind_);
    std::printf(
        "\nCascades: first %.0f ms, last %.0f ms (the database grew to %s assignments); %lld "
        "outbox rows counted, one per child assignment.\n",
        cascade_.ms.front(), cascade_.ms.back(),
        Rate(static_cast<double>(board_assignments_)).c_str(),
        static_cast<long long>(outbox_checked_));

    const double cascade_max = *std::max_element(cascade_.ms.begin(), cascade_.ms.end());
    std::printf("\n### Targets (issue 3 item 11)\n\n| target | measured | met |\n|---|---|---|\n");
    auto target = [](const std::string& t, const std::string& m, bool met) {
      std::printf("| %s | %s | %s |\n", t.c_str(), m.c_str(), met ? "yes" : "NO");
    };
    target("cascade one task to " + Rate(static_cast<double>(tree_.branches.size())) +
               " branches incl. outbox ≤ 2 s",
           "median " + Fixed(Median(cascade_.ms), 0) + " ms, max " + Fixed(cascade_max, 0) +
               " ms over " + std::to_string(cascade_.ms.size()),
           cascade_max <= 2000);
    target("GetBoard by district, " + std::to_string(parents_.size()) + " tasks × " +
               Rate(static_cast<double>(tree_.branches.size())) + " units ≤ 500 ms",
           "median " + Fixed(Median(board_district_.ms), 0) + " ms, p99 " +
               Fixed(Quantile(board_district_.ms, 0.99), 0) + " ms",
           Quantile(board_district_.ms, 0.99) <= 500);
    target("CreateTask ≥ 20% of no-op",
           Fixed(100 * Median(create_ratio), 0) + "% (median of rounds; " + Rate(Median(create)) +
               " vs " + Rate(Median(noop)) + " calls/s; p99 " + Fixed(Median(create_p99), 1) +
               " ms)",
           Median(create_ratio) >= 0.20);
    target("GetTask ≥ 50% of no-op",
           Fixed(100 * Median(get_ratio), 0) + "% (median of rounds; " + Rate(Median(get)) +
               " calls/s; p99 " + Fixed(Median(get_p99), 1) + " ms)",
           Median(get_ratio) >= 0.50);
    std::fflush(stdout);
  }

  Config cfg_;
  fs::path dir_;
  UnitTree tree_;
  std::unique_ptr<upb::UnitService::Stub> units_stub_, noop_stub_;
  std::unique_ptr<tpb::TaskService::Stub> stub_;
  pid_t tasks_pid_ = -1, noop_pid_ = -1, units_pid_ = -1;
  std::vector<std::string> parents_;
  std::vector<std::string> get_ids_;
  Series cascade_, board_district_, board_kind_;
  int64_t board_assignments_ = 0;
  int64_t outbox_checked_ = 0;
  std::vector<RateRound> rounds_;
  std::string load_start_, load_cascade_, load_board_, load_rates_, load_end_;
  double other_cpu_percent_ = 0;
  bool errors_ = false;
};

int Main(int argc, char** argv) {
  Config cfg;
  const fs::path self = SelfDir();
  cfg.units_bin = (self / ".." / "services" / "units" / "duban-units").lexically_normal();
  cfg.tasks_bin = (self / ".." / "services" / "tasks" / "duban-tasks").lexically_normal();
  cfg.noop_bin = (self / "duban-noop-server").string();
  cfg.work_dir = DefaultWorkDir();

  CLI::App app("duban-bench-tasks: benchmarks of duban-tasks against a same-run no-op baseline",
               "duban-bench-tasks");
  app.option_defaults()->always_capture_default();
  app.add_option("--rounds", cfg.rounds, "Rounds of no-op / CreateTask / GetTask loads")
      ->check(CLI::Range(1, 20));
  app.add_option("--concurrency", cfg.concurrency, "Calls in flight per load")
      ->check(CLI::Range(1, 1024));
  app.add_option("--client-threads", cfg.client_threads, "Client completion-queue threads")
      ->check(CLI::Range(1, 64));
  app.add_option("--duration", cfg.duration_s, "Seconds measured per load")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", cfg.warmup_s, "Seconds of unmeasured warm-up per load")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--branches", cfg.branches, "Party branches in the city")
      ->check(CLI::Range(int64_t{1}, int64_t{50000}));
  app.add_option("--board-tasks", cfg.board_tasks,
                 "Tasks of the board plan, each cascaded to every branch (timed)")
      ->check(CLI::Range(1, 200));
  app.add_option("--board-calls", cfg.board_calls,
                 "GetBoard calls per grouping (after one warm-up)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--handler-threads", cfg.handler_threads, "Passed to every server")
      ->check(CLI::Range(1, 1024));
  app.add_option("--sqlite-synchronous", cfg.sqlite_synchronous,
                 "Passed to duban-units and duban-tasks")
      ->check(CLI::IsMember({"FULL", "NORMAL"}));
  app.add_option("--units-bin", cfg.units_bin, "duban-units binary")->check(CLI::ExistingFile);
  app.add_option("--tasks-bin", cfg.tasks_bin, "duban-tasks binary")->check(CLI::ExistingFile);
  app.add_option("--noop-bin", cfg.noop_bin, "duban-noop-server binary")->check(CLI::ExistingFile);
  app.add_option("--work-dir", cfg.work_dir, "Where the temporary data directory is made")
      ->check(CLI::ExistingDirectory);
  app.add_flag("--keep-data", cfg.keep_data, "Keep the temporary directory (databases, logs)");
  app.add_option("--seed", cfg.seed, "Random seed for ids");
  CLI11_PARSE(app, argc, argv);
  InstallStopHandlers();

  std::printf(
      "# duban-bench-tasks\n\n%ld CPUs online; load average %s; concurrency %d, %d client "
      "thread(s), %.1f s per load after %.1f s warm-up, %d rounds; --handler-threads=%d "
      "--sqlite-synchronous=%s --log-level=warn\nservers: %s, %s, %s\n",
      sysconf(_SC_NPROCESSORS_ONLN), LoadAverage().c_str(), cfg.concurrency, cfg.client_threads,
      cfg.duration_s, cfg.warmup_s, cfg.rounds, cfg.handler_threads, cfg.sqlite_synchronous.c_str(),
      cfg.noop_bin.c_str(), cfg.units_bin.c_str(), cfg.tasks_bin.c_str());
  TempDir dir(cfg.work_dir, cfg.keep_data);
  std::printf("work dir: %s%s\n", dir.path().c_str(), cfg.keep_data ? " (kept)" : "");
  std::fflush(stdout);
  Bench bench(cfg, dir.path());
  const int rc = bench.Run();
  if (rc != 0) std::fprintf(stderr, "some calls failed; see the error columns above\n");
  return rc;
}

}  // namespace
}  // namespace duban::bench

int main(int argc, char** argv) {
  try {
    return duban::bench::Main(argc, argv);
  } catch (const duban::bench::Interrupted&) {
    std::fprintf(stderr, "duban-bench-tasks: interrupted\n");
    return 130;
  } catch (const std::exception& e) {
    // Reached after the servers were stopped and the temporary directory removed (RAII).
    std::fprintf(stderr, "duban-bench-tasks: %s\n", e.what());
    return 1;
  }
}
