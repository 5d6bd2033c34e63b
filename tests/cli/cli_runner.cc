#include "cli_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace duban::cli_test {

namespace {

// Reads everything from both pipes (and writes stdin) without deadlocking on full pipes.
void Pump(int in_fd, const std::string& input, int out_fd, int err_fd, CliResult& r,
          std::chrono::steady_clock::time_point deadline) {
  size_t written = 0;
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (::poll(fds, n, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        const ssize_t w = ::write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written == input.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      const ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got <= 0) {
        ::close(fds[i].fd);
        (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
        continue;
      }
      (fds[i].fd == out_fd ? r.out : r.err).append(buf, static_cast<size_t>(got));
    }
  }
  for (int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace

CliResult RunCtl(const std::vector<std::string>& args, const std::string& input,
                 const std::vector<std::string>& env) {
  std::vector<std::string> argv = {DUBAN_CTL_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, input, env);
}

CliResult RunProcess(const std::vector<std::string>& argv_in, const std::string& input,
                     const std::vector<std::string>& env, int timeout_s) {
  CliResult r;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return r;
  }
  std::vector<std::string> argv_s = argv_in;
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Built before fork: the child must not allocate (other test threads may hold malloc locks).
  std::vector<std::string> env_s = {"NO_COLOR=1"};
  env_s.insert(env_s.end(), env.begin(), env.end());
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "DUBAN_", 6) != 0) env_s.emplace_back(*e);  // no stray endpoints
  }
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    return r;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  Pump(in[1], input, out[0], err[0], r, deadline);
  int status = 0;
  if (std::chrono::steady_clock::now() >= deadline) {
    ::kill(pid, SIGKILL);
    ADD_FAILURE() << argv_s[0] << " did not finish within " << timeout_s << " s";
  }
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

std::unique_ptr<e2e::Stack> CliTest::stack_;

void CliTest::SetUpTestSuite() {
  stack_ = std::make_unique<e2e::Stack>(e2e::Stack::Options{});
  stack_->Start();
}

void CliTest::TearDownTestSuite() {
  if (stack_) stack_->Stop();
  stack_.reset();
}

void CliTest::SetUp() { ASSERT_TRUE(stack_ && stack_->ok()) << "the stack did not start"; }

void CliTest::AddUnit(const std::string& id, const std::string& name,
                      ::duban::units::v1::UnitKind kind, const std::string& parent) {
  ::duban::units::v1::CreateUnitRequest req;
  req.mutable_unit()->set_id(id);
  req.mutable_unit()->set_name(name);
  req.mutable_unit()->set_kind(kind);
  req.mutable_unit()->set_parent_id(parent);
  ::duban::units::v1::Unit unit;
  grpc::ClientContext ctx;
  const grpc::Status s = stack_->units().CreateUnit(&ctx, req, &unit);
  ASSERT_TRUE(s.ok()) << s.error_message();
}

CliResult CliTest::Ctl(std::vector<std::string> args, const std::string& input) {
  std::vector<std::string> full = {
      "--units-addr",     stack_->units_addr(),     "--tasks-addr", stack_->tasks_addr(),
      "--reminders-addr", stack_->reminders_addr(), "--actor",      "user:cli-test"};
  full.insert(full.end(), args.begin(), args.end());
  return RunCtl(full, input);
}

nlohmann::json CliTest::CtlJson(std::vector<std::string> args, const std::string& input) {
  args.insert(args.begin(), {"-o", "json"});
  const CliResult r = Ctl(args, input);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  try {
    return r.Json();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n" << Describe(r);
    return nullptr;
  }
}

std::string Describe(const CliResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

}  // namespace duban::cli_test
