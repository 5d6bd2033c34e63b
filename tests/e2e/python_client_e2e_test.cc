// A client in another language against the whole stack: tests/e2e/python_client.py, with
// Debian's python3-grpcio and stubs generated from protos/ at build time, performs the main
// calls of the three services and decodes the google.rpc.BadRequest details of bad requests.
// The API contract is the protos and the status-details convention, not the C++ stubs; this
// checks that a non-C++ client can rely on both.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "stack.h"

namespace duban::e2e {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(PythonClientTest, MainCallsAndErrorDetails) {
  ASSERT_TRUE(std::filesystem::exists(DUBAN_PYTHON3))
      << DUBAN_PYTHON3 << " is missing: run scripts/install-deps.sh (python3-grpcio)";
  Stack stack{Stack::Options()};
  stack.Start();
  ASSERT_TRUE(stack.ok());

  // The script's stdout goes to its stderr, the log file, so that a failure shows the steps
  // that passed before the one that failed. -s: no user site-packages; -u: unbuffered, so the
  // two streams interleave in order.
  const std::string log = stack.dir().File("python_client.log");
  auto script = std::make_unique<testing::ChildProcess>(
      std::vector<std::string>{"/bin/sh", "-c", "exec \"$@\" 1>&2", "sh", DUBAN_PYTHON3, "-s", "-u",
                               DUBAN_PYTHON_CLIENT, "--units", stack.units_addr(), "--tasks",
                               stack.tasks_addr(), "--reminders", stack.reminders_addr()},
      log,
      std::map<std::string, std::string>{{"PYTHONPATH", DUBAN_PYTHON_STUB_DIR},
                                         {"PYTHONDONTWRITEBYTECODE", "1"}});
  int status = script->Wait(std::chrono::seconds(120));
  if (status == -1) {
    script->Signal(SIGKILL);
    FAIL() << "python_client.py did not finish within 120 s:\n" << ReadFile(log);
  }
  script.reset();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "python_client.py exited with wait status " << status << ":\n"
      << ReadFile(log) << "\n--- units log:\n"
      << stack.LogTail("units") << "\n--- tasks log:\n"
      << stack.LogTail("tasks") << "\n--- reminders log:\n"
      << stack.LogTail("reminders");
  stack.Stop();  // reports a process that does not exit 0
}

}  // namespace
}  // namespace duban::e2e
