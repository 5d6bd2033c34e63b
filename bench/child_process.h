#pragma once
// RAII for the servers a benchmark starts: fork/exec, wait for the "LISTENING host:port" line
// every duban server prints on stdout, and stop the child (SIGTERM, then SIGKILL) when the
// object goes away, including on the error paths. The child also gets PR_SET_PDEATHSIG so it
// dies with the benchmark even if the benchmark itself is killed with SIGKILL.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace duban::bench {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`; the child's stderr goes to `stderr_path` (appended). Waits up
  // to `ready_timeout` for the LISTENING line. Throws std::runtime_error on failure, after
  // stopping the child.
  ChildProcess(std::vector<std::string> argv, std::string stderr_path,
               std::chrono::milliseconds ready_timeout);
  // For programs that print no LISTENING line (redis-server): returns once started; the caller
  // checks readiness its own way. The child's stdout is discarded; address() is empty.
  static ChildProcess StartUnwatched(std::vector<std::string> argv, std::string stderr_path);
  ChildProcess(ChildProcess&& other) noexcept;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The address from the LISTENING line, e.g. "127.0.0.1:40123".
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the wait status. Idempotent.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  ChildProcess() = default;
  // fork/exec with the child's stdout on `stdout_fd`; sets pid_.
  void Spawn(std::vector<std::string>& argv, int stdout_fd);
  std::string ReadListeningLine(std::chrono::milliseconds timeout);
  std::string StderrTail() const;

  std::string name_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  // Kept open until Stop(): closing it would turn a later write to stdout into SIGPIPE.
  int stdout_fd_ = -1;
  std::string address_;
  int wait_status_ = 0;
};

}  // namespace duban::bench
