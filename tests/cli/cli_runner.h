#pragma once
// Runs the real dubanctl binary against a real stack (tests/e2e/stack.h) and captures what a
// user or script sees: stdout, stderr and the exit code.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stack.h"

namespace duban::cli_test {

struct CliResult {
  int exit_code = -1;  // -1: killed or not run
  std::string out;
  std::string err;
  // stdout parsed as JSON (for -o json); throws on invalid JSON.
  nlohmann::json Json() const { return nlohmann::json::parse(out); }
};

// Runs `argv` (argv[0] a path) with `input` on stdin and `env` added to the environment (minus
// any DUBAN_* variables of the test's own environment); kills it after `timeout_s`.
CliResult RunProcess(const std::vector<std::string>& argv, const std::string& input,
                     const std::vector<std::string>& env, int timeout_s = 60);

// Runs DUBAN_CTL_BINARY with `args` (no endpoint flags added), feeding `input` on stdin;
// NO_COLOR is set unless `env` overrides it. Kills it after 60 s.
CliResult RunCtl(const std::vector<std::string>& args, const std::string& input = "",
                 const std::vector<std::string>& env = {});

// A whole stack shared by the tests of one suite (starting one takes seconds).
class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  // dubanctl with the stack's endpoints and `args`.
  CliResult Ctl(std::vector<std::string> args, const std::string& input = "");
  // The same with -o json; fails the test unless it exits 0, and returns the parsed stdout.
  nlohmann::json CtlJson(std::vector<std::string> args, const std::string& input = "");

  static e2e::Stack& stack() { return *stack_; }
  // Creates a unit through the stack's UnitService (test set-up); fails the test otherwise.
  static void AddUnit(const std::string& id, const std::string& name,
                      ::duban::units::v1::UnitKind kind, const std::string& parent);

 private:
  static std::unique_ptr<e2e::Stack> stack_;
};

// "exit <code>\nstdout:\n...\nstderr:\n..." for failure messages.
std::string Describe(const CliResult& r);

}  // namespace duban::cli_test
