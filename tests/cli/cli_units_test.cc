#include <gtest/gtest.h>

#include "cli_runner.h"

namespace duban::cli_test {
namespace {

using UnitsCliTest = CliTest;

TEST_F(UnitsCliTest, GetUnknownUnitIsNotFound) {
  const CliResult r = Ctl({"units", "get", "no.such.unit"});
  EXPECT_EQ(r.exit_code, 4) << Describe(r);
  EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << Describe(r);
}

TEST_F(UnitsCliTest, HelpAndUsageErrors) {
  const CliResult help = RunCtl({"units", "get", "--help"});
  EXPECT_EQ(help.exit_code, 0) << Describe(help);
  EXPECT_NE(help.out.find("Show one unit"), std::string::npos) << Describe(help);
  const CliResult bad = RunCtl({"units", "get"});
  EXPECT_EQ(bad.exit_code, 2) << Describe(bad);
}

}  // namespace
}  // namespace duban::cli_test
