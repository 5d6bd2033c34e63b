// duban-bench-units: load generator for duban-units. Each round starts its own servers on
// 127.0.0.1 (a no-op UnitService built on the same skeleton, and duban-units on a fresh data
// directory), measures
//   (a) the no-op GetUnit baseline,
//   (b) ImportUnits of a generated province tree (one client stream),
//   (c) GetUnit of random ids,
//   (d) ListUnits, first page of 100 of one city's subtree,
//   (e) ResolveRecipients with 50 (unit, level) queries per call,
// prints each rate as a ratio to the baseline of the same round, and finally the median over
// rounds against the targets of issue 2. Bounded: every load runs for a fixed time and every
// call has a deadline; the servers are stopped on every exit path (see ChildProcess).
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_support.h"
#include "child_process.h"
#include "closed_loop.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "unit_tree.h"

namespace duban::bench {
namespace {

namespace fs = std::filesystem;
namespace pb = ::duban::units::v1;
using std::chrono::milliseconds;

struct Config {
  int rounds = 3;
  int concurrency = 16;
  // AddContact only prepares ResolveRecipients; writes serialize on SQLite's single writer, so
  // more in flight adds queueing, not throughput.
  int setup_concurrency = 4;
  int client_threads = 1;
  double duration_s = 5;
  double warmup_s = 1;
  int64_t units = 300000;
  int batch = 1000;
  int queries_per_call = 50;
  int handler_threads = 64;  // the servers' default
  std::string sqlite_synchronous = "FULL";
  bool info_logging = true;
  std::string units_bin;
  std::string noop_bin;
  std::string work_dir;
  bool keep_data = false;
  uint64_t seed = 42;
};

// One row of a round's results.
struct Measurement {
  std::string name;
  std::string unit;  // "calls/s" or "units/s"
  double rate = 0;
  std::optional<double> p50_ms, p99_ms;
  // CPU time per operation (call, or unit for the import) of the server and of this client.
  // Unlike rates, these hardly move when other work shares the machine.
  std::optional<double> server_cpu_us, client_cpu_us;
  int64_t count = 0;
  int64_t errors = 0;
  std::string first_error;
  std::string note;
};

struct Round {
  std::vector<Measurement> rows;
  std::string load_before, load_after;
  // Share of the machine's CPU time used by processes other than this benchmark and its
  // servers during the round: the noise indicator on a shared machine. (The load average is
  // not one: it counts the benchmark's own runnable threads.)
  double other_cpu_percent = 0;
};

const char kBaseline[] = "no-op GetUnit (baseline)";
const char kImport[] = "ImportUnits";
const char kGetUnit[] = "GetUnit, random id";
const char kListUnits[] = "ListUnits, city subtree, first 100";
const char kAddContact[] = "AddContact (set-up for ResolveRecipients)";
const char kResolve[] = "ResolveRecipients, 50 queries/call";
const char kBaselineInfo[] = "no-op GetUnit, --log-level=info";
const char kGetUnitInfo[] = "GetUnit, random id, --log-level=info";

// Server and client CPU per operation since `cpu` was made.
void Charge(const CpuMeter& cpu, Measurement& m, int64_t ops) {
  if (ops <= 0) return;
  std::tie(m.server_cpu_us, m.client_cpu_us) = cpu.PerOp(ops);
}

class Bench {
 public:
  explicit Bench(Config config) : cfg_(std::move(config)), tree_(GenerateUnitTree(cfg_.units)) {
    BuildImportMessages();
  }

  Round RunRound(int round, const fs::path& dir) {
    Round r;
    r.load_before = LoadAverage();
    const OtherCpuMeter other_cpu;
    const fs::path data = dir / ("units-round" + std::to_string(round));
    const std::string log_dir = dir.string();

    {
      // Both servers stay up for the round; the idle one costs nothing. The baseline is taken
      // right before GetUnit so that the ratio compares loads run moments apart, which matters
      // on a shared machine whose background load changes from minute to minute.
      ChildProcess noop = StartNoop("warn", log_dir);
      ChildProcess units = StartUnits("warn", data, log_dir);
      auto noop_stub = Connect(noop.address());
      auto stub = Connect(units.address());
      Measurement import = MeasureImport(*stub, units.pid());
      CheckCount(*stub);
      r.rows.push_back(MeasureGetUnit(kBaseline, *noop_stub, noop.pid()));
      r.rows.push_back(std::move(import));
      r.rows.push_back(MeasureGetUnit(kGetUnit, *stub, units.pid()));
      r.rows.push_back(MeasureListUnits(*stub, units.pid()));
      r.rows.push_back(AddContacts(*stub, units.pid()));
      r.rows.push_back(MeasureResolve(*stub, units.pid()));
    }
    if (cfg_.info_logging) {
      // The same GetUnit loads with one log line per RPC written (to a file on disk).
      ChildProcess noop = StartNoop("info", log_dir);
      ChildProcess units = StartUnits("info", data, log_dir);
      auto noop_stub = Connect(noop.address());
      auto stub = Connect(units.address());
      r.rows.push_back(MeasureGetUnit(kBaselineInfo, *noop_stub, noop.pid()));
      r.rows.push_back(MeasureGetUnit(kGetUnitInfo, *stub, units.pid()));
    }
    r.load_after = LoadAverage();
    // Every server of the round has been stopped and reaped here, so RUSAGE_CHILDREN has them.
    r.other_cpu_percent = other_cpu.Percent();
    return r;
  }

 private:
  ChildProcess StartNoop(const std::string& level, const std::string& log_dir) {
    return ChildProcess(
        {cfg_.noop_bin, "--listen=127.0.0.1:0", "--log-level=" + level,
         "--handler-threads=" + std::to_string(cfg_.handler_threads), "--shutdown-grace-ms=2000"},
        log_dir + "/noop.stderr", milliseconds(15000));
  }

  ChildProcess StartUnits(const std::string& level, const fs::path& data,
                          const std::string& log_dir) {
    return ChildProcess(
        {cfg_.units_bin, "--listen=127.0.0.1:0", "--data-dir=" + data.string(),
         "--log-level=" + level, "--handler-threads=" + std::to_string(cfg_.handler_threads),
         "--sqlite-synchronous=" + cfg_.sqlite_synchronous, "--shutdown-grace-ms=2000"},
        log_dir + "/units.stderr", milliseconds(30000));
  }

  static std::unique_ptr<pb::UnitService::Stub> Connect(const std::string& address) {
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      throw std::runtime_error("cannot connect to " + address);
    }
    return pb::UnitService::NewStub(channel);
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

  static Measurement FromLoad(const std::string& name, LoadResult& r) {
    Measurement m;
    m.name = name;
    m.unit = "calls/s";
    m.rate = r.rate();
    m.count = r.ok;
    m.errors = r.errors;
    m.first_error = r.first_error;
    if (!r.latency_ns.empty()) {
      m.p50_ms = r.QuantileMs(0.50);
      m.p99_ms = r.QuantileMs(0.99);
    }
    return m;
  }

  const std::string& RandomId(std::mt19937_64& rng, const std::vector<size_t>& level) const {
    return tree_.units[level[rng() % level.size()]].id();
  }

  Measurement MeasureGetUnit(const std::string& name, pb::UnitService::Stub& stub, pid_t server) {
    ThrowIfInterrupted();
    UnaryMethod<pb::GetUnitRequest, pb::Unit> m;
    m.prepare = [&](grpc::ClientContext* c, const pb::GetUnitRequest& q,
                    grpc::CompletionQueue* cq) { return stub.PrepareAsyncGetUnit(c, q, cq); };
    m.fill = [&](std::mt19937_64& rng, pb::GetUnitRequest& q) {
      q.set_id(tree_.units[rng() % tree_.units.size()].id());
      return true;
    };
    m.check = [](const pb::GetUnitRequest& q, const pb::Unit& u) {
      return u.id() == q.id() ? std::string() : "GetUnit returned id " + u.id();
    };
    CpuMeter cpu(server);
    LoadResult r = RunClosedLoop(m, Options());
    ThrowIfInterrupted();
    Measurement out = FromLoad(name, r);
    Charge(cpu, out, r.completed_total);
    return out;
  }

  // 1000 units per message; the mode travels on the first message only.
  void BuildImportMessages() {
    for (size_t i = 0; i < tree_.units.size(); i += static_cast<size_t>(cfg_.batch)) {
      pb::ImportUnitsRequest& msg = import_messages_.emplace_back();
      if (i == 0) msg.set_mode(pb::ImportUnitsRequest::ALL_OR_NOTHING);
      const size_t end = std::min(tree_.units.size(), i + static_cast<size_t>(cfg_.batch));
      for (size_t j = i; j < end; ++j) *msg.add_units() = tree_.units[j];
    }
  }

  Measurement MeasureImport(pb::UnitService::Stub& stub, pid_t server) {
    Measurement m;
    m.name = kImport;
    m.unit = "units/s";
    grpc::ClientContext ctx;
    // Generous but bounded: 300k units should take seconds.
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
    pb::ImportUnitsResponse resp;
    CpuMeter cpu(server);
    const auto start = Clock::now();
    auto writer = stub.ImportUnits(&ctx, &resp);
    for (const auto& msg : import_messages_) {
      if (g_stop_requested || !writer->Write(msg)) break;
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    ThrowIfInterrupted();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    Charge(cpu, m, cfg_.units);
    if (!status.ok()) {
      throw std::runtime_error("ImportUnits failed: " + status.error_message());
    }
    if (resp.created() != cfg_.units || resp.rejected() != 0 || !resp.applied()) {
      throw std::runtime_error("ImportUnits: created " + std::to_string(resp.created()) +
                               ", rejected " + std::to_string(resp.rejected()) + " of " +
                               std::to_string(cfg_.units));
    }
    m.rate = static_cast<double>(cfg_.units) / seconds;
    m.count = resp.created();
    char note[128];
    std::snprintf(note, sizeof note, "one stream of %zu messages x %d units; %.2f s",
                  import_messages_.size(), cfg_.batch, seconds);
    m.note = note;
    return m;
  }

  // The import really built the tree: the root's subtree holds every unit.
  void CheckCount(pb::UnitService::Stub& stub) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    pb::CountUnitsRequest req;
    req.set_root_id("gd");
    pb::CountUnitsResponse resp;
    grpc::Status status = stub.CountUnits(&ctx, req, &resp);
    if (!status.ok() || resp.total() != cfg_.units) {
      throw std::runtime_error("CountUnits(gd) after import: " + status.error_message() +
                               " total " + std::to_string(resp.total()));
    }
  }

  Measurement MeasureListUnits(pb::UnitService::Stub& stub, pid_t server) {
    UnaryMethod<pb::ListUnitsRequest, pb::ListUnitsResponse> m;
    m.prepare = [&](grpc::ClientContext* c, const pb::ListUnitsRequest& q,
                    grpc::CompletionQueue* cq) { return stub.PrepareAsyncListUnits(c, q, cq); };
    m.fill = [&](std::mt19937_64& rng, pb::ListUnitsRequest& q) {
      q.set_subtree_of(RandomId(rng, tree_.cities));
      q.set_page_size(100);
      return true;
    };
    m.check = [](const pb::ListUnitsRequest& q, const pb::ListUnitsResponse& r) {
      // A full page with more to come, or (small trees only) the whole subtree.
      const bool full = r.units_size() == 100 && !r.next_page_token().empty();
      const bool last = r.units_size() > 0 && r.units_size() < 100 && r.next_page_token().empty();
      if (!full && !last) {
        return "ListUnits returned " + std::to_string(r.units_size()) + " units";
      }
      // Tree order starts at the subtree's root.
      return r.units(0).id() == q.subtree_of() ? std::string()
                                               : "ListUnits page starts at " + r.units(0).id();
    };
    CpuMeter cpu(server);
    LoadResult r = RunClosedLoop(m, Options());
    ThrowIfInterrupted();
    Measurement out = FromLoad(kListUnits, r);
    Charge(cpu, out, r.completed_total);
    return out;
  }

  // Heads and supervisors of every city and district, and liaison, head and supervisor of
  // every town: 5,208 contacts for the 300,000 tree.
  Measurement AddContacts(pb::UnitService::Stub& stub, pid_t server) {
    struct Planned {
      const std::string* unit_id;
      pb::ContactRole role;
    };
    std::vector<Planned> plan;
    for (size_t i : tree_.cities) {
      plan.push_back({&tree_.units[i].id(), pb::CONTACT_ROLE_HEAD});
      plan.push_back({&tree_.units[i].id(), pb::CONTACT_ROLE_SUPERVISOR});
    }
    for (size_t i : tree_.districts) {
      plan.push_back({&tree_.units[i].id(), pb::CONTACT_ROLE_HEAD});
      plan.push_back({&tree_.units[i].id(), pb::CONTACT_ROLE_SUPERVISOR});
    }
    for (size_t i : tree_.towns) {
      plan.push_back({&tree_.units[i].id(), pb::CONTACT_ROLE_LIAISON});
      plan.push_back({&tree_.units[i].id(), pb::CONTACT_ROLE_HEAD});
      plan.push_back({&tree_.units[i].id(), pb::CONTACT_ROLE_SUPERVISOR});
    }
    std::atomic<size_t> next{0};
    UnaryMethod<pb::AddContactRequest, pb::Contact> m;
    m.prepare = [&](grpc::ClientContext* c, const pb::AddContactRequest& q,
                    grpc::CompletionQueue* cq) { return stub.PrepareAsyncAddContact(c, q, cq); };
    m.fill = [&](std::mt19937_64&, pb::AddContactRequest& q) {
      const size_t i = next.fetch_add(1);
      if (i >= plan.size()) return false;
      pb::Contact* c = q.mutable_contact();
      c->set_unit_id(*plan[i].unit_id);
      c->set_role(plan[i].role);
      c->set_person_name(PersonName(i));
      c->set_email("p" + std::to_string(i) + "@example.gov.cn");
      c->set_mobile("+86138" + std::to_string(10000000 + i));
      return true;
    };
    LoadOptions o = Options();
    o.concurrency = cfg_.setup_concurrency;
    o.warmup = milliseconds(0);
    o.duration = milliseconds(300000);  // ends when the plan is done; bounded regardless
    CpuMeter cpu(server);
    LoadResult r = RunClosedLoop(m, o);
    ThrowIfInterrupted();
    if (r.ok != static_cast<int64_t>(plan.size())) {
      throw std::runtime_error("AddContact: " + std::to_string(r.ok) + " of " +
                               std::to_string(plan.size()) + " succeeded; " + r.first_error);
    }
    Measurement out = FromLoad(kAddContact, r);
    Charge(cpu, out, r.completed_total);
    out.note = std::to_string(plan.size()) + " contacts, " +
               std::to_string(cfg_.setup_concurrency) +
               " in flight, synchronous=" + cfg_.sqlite_synchronous;
    return out;
  }

  // A mix that reaches the contacts above: towns at levels 0-1 (own liaison, head); villages at
  // levels 2-3 (their town's, their district's supervisor); branches at 3-4 (same two rungs).
  Measurement MeasureResolve(pb::UnitService::Stub& stub, pid_t server) {
    UnaryMethod<pb::ResolveRecipientsRequest, pb::ResolveRecipientsResponse> m;
    m.prepare = [&](grpc::ClientContext* c, const pb::ResolveRecipientsRequest& q,
                    grpc::CompletionQueue* cq) {
      return stub.PrepareAsyncResolveRecipients(c, q, cq);
    };
    m.fill = [&](std::mt19937_64& rng, pb::ResolveRecipientsRequest& q) {
      for (int i = 0; i < cfg_.queries_per_call; ++i) {
        auto* query = q.add_queries();
        const int level = static_cast<int>(rng() % 2);
        switch (rng() % 3) {
          case 0:
            query->set_unit_id(RandomId(rng, tree_.towns));
            query->set_level(level);
            break;
          case 1:
            query->set_unit_id(RandomId(rng, tree_.villages));
            query->set_level(2 + level);
            break;
          default:
            query->set_unit_id(RandomId(rng, tree_.branches));
            query->set_level(3 + level);
            break;
        }
      }
      return true;
    };
    m.check = [](const pb::ResolveRecipientsRequest& q, const pb::ResolveRecipientsResponse& r) {
      if (r.resolutions_size() != q.queries_size()) return std::string("wrong resolution count");
      for (const auto& res : r.resolutions()) {
        if (res.recipients().empty()) {
          return "nobody found for " + res.unit_id() + " level " + std::to_string(res.level()) +
                 ": " + res.reason();
        }
      }
      return std::string();
    };
    CpuMeter cpu(server);
    LoadResult r = RunClosedLoop(m, Options());
    ThrowIfInterrupted();
    Measurement out = FromLoad(kResolve, r);
    Charge(cpu, out, r.completed_total);
    out.note = "every query resolved to >= 1 person (checked)";
    return out;
  }

  Config cfg_;
  UnitTree tree_;
  std::vector<pb::ImportUnitsRequest> import_messages_;
};

// ---- reporting ----

std::string Ms(const std::optional<double>& v) { return v ? Fixed(*v, 3) : "—"; }
std::string Us(const std::optional<double>& v) { return v ? Fixed(*v, 1) : "—"; }

double BaselineRate(const Round& r) {
  for (const auto& m : r.rows) {
    if (m.name == kBaseline) return m.rate;
  }
  return 0;
}

void PrintRound(int index, const Round& r) {
  const double base = BaselineRate(r);
  std::printf(
      "\n## Round %d (other processes used %.0f%% of the machine's CPU; load average before: "
      "%s, after: %s)\n\n",
      index, r.other_cpu_percent, r.load_before.c_str(), r.load_after.c_str());
  std::printf(
      "| scenario | rate | p50 ms | p99 ms | ratio to no-op | server CPU µs/op | client CPU "
      "µs/op | ok calls | errors | note |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (const auto& m : r.rows) {
    std::printf("| %s | %s %s | %s | %s | %s | %s | %s | %lld | %lld | %s |\n", m.name.c_str(),
                Rate(m.rate).c_str(), m.unit.c_str(), Ms(m.p50_ms).c_str(), Ms(m.p99_ms).c_str(),
                base > 0 ? Fixed(m.rate / base, 2).c_str() : "—", Us(m.server_cpu_us).c_str(),
                Us(m.client_cpu_us).c_str(), static_cast<long long>(m.count),
                static_cast<long long>(m.errors),
                m.errors ? ("first error: " + m.first_error).c_str() : m.note.c_str());
  }
  std::fflush(stdout);
}

struct Target {
  const char* scenario;
  std::string text;
  // Median values -> met?
  std::function<bool(double rate, double ratio, double p99)> met;
};

// Prints the medians over rounds and the targets; returns true when every target is met.
bool PrintSummary(const std::vector<Round>& rounds, const Config& cfg) {
  std::printf("\n## Median of %zu rounds\n\n", rounds.size());
  std::printf(
      "| scenario | rate (median) | rate min–max | p50 ms | p99 ms (max) | ratio to no-op | "
      "server CPU µs/op |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  struct Summary {
    double rate, ratio;
    std::optional<double> p50, p99, p99_max, server_cpu;
  };
  std::map<std::string, Summary> by_name;
  for (const auto& first : rounds.front().rows) {
    std::vector<double> rates, ratios, p50s, p99s, cpus;
    for (const auto& r : rounds) {
      for (const auto& m : r.rows) {
        if (m.name != first.name) continue;
        rates.push_back(m.rate);
        ratios.push_back(BaselineRate(r) > 0 ? m.rate / BaselineRate(r) : 0);
        if (m.p50_ms) p50s.push_back(*m.p50_ms);
        if (m.p99_ms) p99s.push_back(*m.p99_ms);
        if (m.server_cpu_us) cpus.push_back(*m.server_cpu_us);
      }
    }
    Summary s{Median(rates), Median(ratios), {}, {}, {}, {}};
    if (!cpus.empty()) s.server_cpu = Median(cpus);
    if (!p50s.empty()) s.p50 = Median(p50s);
    if (!p99s.empty()) {
      s.p99 = Median(p99s);
      s.p99_max = *std::max_element(p99s.begin(), p99s.end());
    }
    by_name[first.name] = s;
    std::printf("| %s | %s %s | %s–%s | %s | %s (%s) | %s | %s |\n", first.name.c_str(),
                Rate(s.rate).c_str(), first.unit.c_str(),
                Rate(*std::min_element(rates.begin(), rates.end())).c_str(),
                Rate(*std::max_element(rates.begin(), rates.end())).c_str(), Ms(s.p50).c_str(),
                Ms(s.p99).c_str(), Ms(s.p99_max).c_str(), Fixed(s.ratio, 2).c_str(),
                Us(s.server_cpu).c_str());
  }

  const std::vector<Target> targets = {
      {kImport, "ImportUnits " + Rate(static_cast<double>(cfg.units)) + " >= 50,000 units/s",
       [](double rate, double, double) { return rate >= 50000; }},
      {kGetUnit, "GetUnit >= 50% of no-op rate",
       [](double, double ratio, double) { return ratio >= 0.5; }},
      {kListUnits,
       "ListUnits subtree first page p99 <= 5 ms at " + std::to_string(cfg.concurrency) +
           " concurrent",
       [](double, double, double p99) { return p99 <= 5.0; }},
      {kResolve,
       "ResolveRecipients " + std::to_string(cfg.queries_per_call) + "/call >= 2,000 calls/s",
       [](double rate, double, double) { return rate >= 2000; }},
  };
  std::printf("\n## Targets (issue 2, 2-core machine), on the medians\n\n");
  std::printf("| target | measured | met |\n|---|---:|---|\n");
  bool all = true;
  for (const auto& t : targets) {
    const Summary& s = by_name.at(t.scenario);
    const bool met = t.met(s.rate, s.ratio, s.p99.value_or(0));
    all = all && met;
    std::string measured = std::string(t.scenario) == kGetUnit     ? Fixed(s.ratio * 100, 0) + "%"
                           : std::string(t.scenario) == kListUnits ? "p99 " + Ms(s.p99) + " ms"
                                                                   : Rate(s.rate);
    std::printf("| %s | %s | %s |\n", t.text.c_str(), measured.c_str(), met ? "yes" : "NO");
  }
  std::fflush(stdout);
  return all;
}

int Main(int argc, char** argv) {
  Config cfg;
  const std::string self = SelfDir();
  cfg.units_bin = (fs::path(self) / ".." / "services" / "units" / "duban-units").lexically_normal();
  cfg.noop_bin = (fs::path(self) / "duban-noop-server").string();
  cfg.work_dir = DefaultWorkDir();

  CLI::App app("duban-bench-units: load generator for duban-units against a no-op baseline",
               "duban-bench-units");
  app.option_defaults()->always_capture_default();
  app.add_option("--rounds", cfg.rounds, "Rounds (fresh servers and database each)")
      ->check(CLI::Range(1, 20));
  app.add_option("--concurrency", cfg.concurrency, "Calls in flight per load")
      ->check(CLI::Range(1, 1024));
  app.add_option("--setup-concurrency", cfg.setup_concurrency,
                 "AddContact calls in flight while preparing ResolveRecipients")
      ->check(CLI::Range(1, 1024));
  app.add_option("--client-threads", cfg.client_threads, "Client completion-queue threads")
      ->check(CLI::Range(1, 64));
  app.add_option("--duration", cfg.duration_s, "Seconds measured per load")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", cfg.warmup_s, "Seconds of unmeasured warm-up per load")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--units", cfg.units, "Units in the generated tree")
      ->check(CLI::Range(int64_t{2000}, int64_t{2000000}));
  app.add_option("--batch", cfg.batch, "Units per ImportUnits message")
      ->check(CLI::Range(1, 100000));
  app.add_option("--queries-per-call", cfg.queries_per_call, "ResolveRecipients queries per call")
      ->check(CLI::Range(1, 1000));
  app.add_option("--handler-threads", cfg.handler_threads, "Passed to both servers")
      ->check(CLI::Range(1, 1024));
  app.add_option("--sqlite-synchronous", cfg.sqlite_synchronous, "Passed to duban-units")
      ->check(CLI::IsMember({"FULL", "NORMAL"}));
  app.add_flag("--info-logging,!--no-info-logging", cfg.info_logging,
               "Also measure GetUnit with --log-level=info (one log line per RPC)");
  app.add_option("--units-bin", cfg.units_bin, "duban-units binary")->check(CLI::ExistingFile);
  app.add_option("--noop-bin", cfg.noop_bin, "duban-noop-server binary")->check(CLI::ExistingFile);
  app.add_option("--work-dir", cfg.work_dir, "Where the temporary data directory is made")
      ->check(CLI::ExistingDirectory);
  app.add_flag("--keep-data", cfg.keep_data, "Keep the temporary directory (databases, logs)");
  app.add_option("--seed", cfg.seed, "Random seed for ids and queries");
  CLI11_PARSE(app, argc, argv);

  InstallStopHandlers();

  utsname uts{};
  uname(&uts);
  std::printf(
      "# duban-bench-units\n\nhost: %s %s, %ld CPUs online; concurrency %d, %d client "
      "thread(s), %.1f s per load after %.1f s warm-up, %d rounds\n",
      uts.sysname, uts.release, sysconf(_SC_NPROCESSORS_ONLN), cfg.concurrency, cfg.client_threads,
      cfg.duration_s, cfg.warmup_s, cfg.rounds);
  std::printf(
      "servers: %s, %s (--handler-threads=%d, --sqlite-synchronous=%s, "
      "--log-level=warn unless noted)\n",
      cfg.noop_bin.c_str(), cfg.units_bin.c_str(), cfg.handler_threads,
      cfg.sqlite_synchronous.c_str());
  std::fflush(stdout);

  TempDir dir(cfg.work_dir, cfg.keep_data);
  std::printf("work dir: %s%s\n", dir.path().c_str(), cfg.keep_data ? " (kept)" : "");
  std::fflush(stdout);
  Bench bench(cfg);
  std::vector<Round> rounds;
  bool errors = false;
  for (int i = 1; i <= cfg.rounds; ++i) {
    rounds.push_back(bench.RunRound(i, dir.path()));
    PrintRound(i, rounds.back());
    for (const auto& m : rounds.back().rows) errors = errors || m.errors > 0;
  }
  PrintSummary(rounds, cfg);
  if (errors) {
    std::fprintf(stderr, "some calls failed; see the error columns above\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace duban::bench

int main(int argc, char** argv) {
  try {
    return duban::bench::Main(argc, argv);
  } catch (const duban::bench::Interrupted&) {
    std::fprintf(stderr, "duban-bench-units: interrupted\n");
    return 130;
  } catch (const std::exception& e) {
    // Reached after the servers were stopped and the temporary directory removed (RAII).
    std::fprintf(stderr, "duban-bench-units: %s\n", e.what());
    return 1;
  }
}
