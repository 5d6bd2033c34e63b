#pragma once
// Helpers every benchmark tool shares: its temporary directory, the machine's load and CPU
// accounting (for the "other processes" noise indicator), and number formatting for the
// Markdown tables the tools print.
#include <sys/types.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace duban::bench {

// A temporary directory removed with everything in it, unless asked to keep it.
class TempDir {
 public:
  TempDir(const std::string& parent, bool keep);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool keep_;
};

// Thrown when SIGINT/SIGTERM stops a load early: its figures are meaningless, so the run is
// abandoned (the servers are stopped by their destructors on the way out).
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

// Throws Interrupted once g_stop_requested (closed_loop.h) is set.
void ThrowIfInterrupted();

// Sets g_stop_requested on SIGINT and SIGTERM.
void InstallStopHandlers();

// "0.52 1.10 1.80" from /proc/loadavg.
std::string LoadAverage();

// The directory of the running executable (the build tree's bench/ directory).
std::string SelfDir();

// $TMPDIR, else /tmp.
std::string DefaultWorkDir();

// User + system CPU seconds a process has used (/proc/<pid>/stat).
double ProcessCpuSeconds(pid_t pid);
// This process's user + system CPU seconds.
double SelfCpuSeconds();
// Busy and total CPU seconds of the whole machine so far (/proc/stat).
std::pair<double, double> MachineCpuSeconds();
// CPU of this process and of its reaped children (the servers, once stopped).
double OwnCpuSeconds();

// CPU used by one server and by this process between construction and PerOp().
class CpuMeter {
 public:
  explicit CpuMeter(pid_t server);
  // {server µs, client µs} per operation; {0, 0} when ops <= 0.
  std::pair<double, double> PerOp(int64_t ops) const;

 private:
  pid_t server_;
  double server0_, client0_;
};

// Share (percent) of the machine's CPU used by processes other than this one and its reaped
// children between construction and Percent(). The load average is no noise indicator: it
// counts the benchmark's own runnable threads.
class OtherCpuMeter {
 public:
  OtherCpuMeter();
  // `live_children` lists servers started after the constructor and still running (not yet in
  // RUSAGE_CHILDREN), whose CPU is subtracted too.
  double Percent(const std::vector<pid_t>& live_children = {}) const;

 private:
  double busy0_ = 0, total0_ = 0, own0_ = 0;
};

double Median(std::vector<double> v);
// Nearest-rank quantile, q in [0, 1]; 0 for an empty vector.
double Quantile(std::vector<double> v, double q);
std::string Fixed(double v, int digits);
// Rounded, with thousands separators: "12,345".
std::string Rate(double v);

}  // namespace duban::bench
