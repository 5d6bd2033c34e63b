#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace duban::bench {
namespace {

std::runtime_error SystemError(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string stderr_path,
                           std::chrono::milliseconds ready_timeout)
    : name_(argv.at(0)), stderr_path_(std::move(stderr_path)) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw SystemError("pipe");
  try {
    Spawn(argv, out[1]);
  } catch (...) {
    close(out[0]);
    close(out[1]);
    throw;
  }
  close(out[1]);
  stdout_fd_ = out[0];
  try {
    address_ = ReadListeningLine(ready_timeout);
  } catch (...) {
    Stop(std::chrono::milliseconds(1000));
    throw;
  }
}

ChildProcess ChildProcess::StartUnwatched(std::vector<std::string> argv, std::string stderr_path) {
  ChildProcess p;
  p.name_ = argv.at(0);
  p.stderr_path_ = std::move(stderr_path);
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0) throw SystemError("open /dev/null");
  try {
    p.Spawn(argv, devnull);
  } catch (...) {
    close(devnull);
    throw;
  }
  close(devnull);
  return p;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : name_(std::move(other.name_)),
      stderr_path_(std::move(other.stderr_path_)),
      pid_(std::exchange(other.pid_, -1)),
      stdout_fd_(std::exchange(other.stdout_fd_, -1)),
      address_(std::move(other.address_)),
      wait_status_(other.wait_status_) {}

void ChildProcess::Spawn(std::vector<std::string>& argv, int stdout_fd) {
  int err_fd = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (err_fd < 0) throw SystemError("open " + stderr_path_);
  // Build the argv array before fork: only async-signal-safe calls are allowed in the child
  // of a multi-threaded parent (gRPC has threads running by now).
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t parent = getpid();

  pid_ = fork();
  if (pid_ < 0) {
    close(err_fd);
    throw SystemError("fork");
  }
  if (pid_ == 0) {
    // Die with the benchmark, however it ends; and avoid the race where it already has.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    // The benchmark may have blocked signals; the server installs its own handling.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(stdout_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execv(cargv[0], cargv.data());
    const char msg[] = "exec failed\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(127);
  }
  close(err_fd);
}

ChildProcess::~ChildProcess() { Stop(); }

std::string ChildProcess::ReadListeningLine(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string buffer;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw std::runtime_error(name_ + " did not print LISTENING within " +
                               std::to_string(timeout.count()) + " ms" + StderrTail());
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) throw SystemError("poll");
    if (rc == 0) continue;
    char chunk[256];
    ssize_t n = read(stdout_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(name_ + " exited before listening" + StderrTail());
    buffer.append(chunk, static_cast<size_t>(n));
    for (size_t nl; (nl = buffer.find('\n')) != std::string::npos; buffer.erase(0, nl + 1)) {
      const std::string line = buffer.substr(0, nl);
      const std::string prefix = "LISTENING ";
      if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    }
  }
}

std::string ChildProcess::StderrTail() const {
  std::ifstream in(stderr_path_);
  std::stringstream all;
  all << in.rdbuf();
  std::string text = all.str();
  if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
  return text.empty() ? std::string() : "; its stderr:\n" + text;
}

int ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (;;) {
      pid_t r = waitpid(pid_, &wait_status_, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        while (waitpid(pid_, &wait_status_, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) {
    close(stdout_fd_);
    stdout_fd_ = -1;
  }
  return wait_status_;
}

}  // namespace duban::bench
