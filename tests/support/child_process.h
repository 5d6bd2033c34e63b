#pragma once
// Runs a duban binary (or redis-server) as a child process for tests, and always reaps it.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace duban::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with the arguments; the child's stdout is a pipe (see WaitForLine), its
  // stderr goes to `stderr_file` if given (else inherited). `env` adds environment variables.
  ChildProcess(std::vector<std::string> argv, std::string stderr_file = "",
               std::map<std::string, std::string> env = {});
  ~ChildProcess();  // SIGKILL if still running, then waitpid
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads stdout until a line starting with `prefix`; returns the rest of that line, or ""
  // on timeout or EOF.
  std::string WaitForLine(const std::string& prefix,
                          std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Sends `sig`; with wait, reaps and returns the exit status (as from waitpid), else -1.
  int Signal(int sig, bool wait = true);
  // Waits for exit up to `timeout`; returns the waitpid status or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
};

// Path of a binary built in this build tree ($DUBAN_BIN_DIR set by CTest).
std::string BuiltBinary(const std::string& relative_path);

}  // namespace duban::testing
