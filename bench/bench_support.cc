#include "bench_support.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "closed_loop.h"

namespace duban::bench {

namespace fs = std::filesystem;

namespace {

double Seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; }

void OnSignal(int) { g_stop_requested.store(true); }

}  // namespace

TempDir::TempDir(const std::string& parent, bool keep) : keep_(keep) {
  std::string tmpl = (fs::path(parent) / "duban-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp in " + parent);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!keep_) fs::remove_all(path_, ec);
}

void ThrowIfInterrupted() {
  if (g_stop_requested) throw Interrupted();
}

void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string SelfDir() { return fs::read_symlink("/proc/self/exe").parent_path().string(); }

std::string DefaultWorkDir() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) is parenthesised and may contain spaces: parse after it.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return Seconds(u.ru_utime) + Seconds(u.ru_stime);
}

std::pair<double, double> MachineCpuSeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long v[8] = {};  // user nice system idle iowait irq softirq steal
  in >> cpu;
  for (auto& x : v) in >> x;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double busy = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
  const double total = busy + static_cast<double>(v[3] + v[4]);
  return {busy / tick, total / tick};
}

double OwnCpuSeconds() {
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  return Seconds(self.ru_utime) + Seconds(self.ru_stime) + Seconds(children.ru_utime) +
         Seconds(children.ru_stime);
}

CpuMeter::CpuMeter(pid_t server)
    : server_(server), server0_(ProcessCpuSeconds(server)), client0_(SelfCpuSeconds()) {}

std::pair<double, double> CpuMeter::PerOp(int64_t ops) const {
  if (ops <= 0) return {0, 0};
  const double n = static_cast<double>(ops);
  return {(ProcessCpuSeconds(server_) - server0_) * 1e6 / n,
          (SelfCpuSeconds() - client0_) * 1e6 / n};
}

OtherCpuMeter::OtherCpuMeter() : own0_(OwnCpuSeconds()) {
  std::tie(busy0_, total0_) = MachineCpuSeconds();
}

double OtherCpuMeter::Percent(const std::vector<pid_t>& live_children) const {
  const auto [busy1, total1] = MachineCpuSeconds();
  double own = OwnCpuSeconds() - own0_;
  // Children still running are not in RUSAGE_CHILDREN yet. (Started after the constructor,
  // so all of their CPU falls in the interval.)
  for (pid_t pid : live_children) own += ProcessCpuSeconds(pid);
  const double other = (busy1 - busy0_) - own;
  return total1 > total0_ ? std::max(0.0, 100 * other / (total1 - total0_)) : 0;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Rate(double v) {
  // Built forwards rather than with string::insert, which trips GCC 12's -Wrestrict.
  const std::string digits = Fixed(v, 0);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && digits[i - 1] != '-' && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace duban::bench
