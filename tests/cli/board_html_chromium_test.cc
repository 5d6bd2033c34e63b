// The HTML battle map as a browser renders it: data with known lights in the real stack,
// `dubanctl board PLAN --html FILE`, then Debian's chromium loads the file headless and dumps
// the DOM it built. Checks the cells, their classes, the reasons in title attributes and that
// a unit name containing <script> and & is rendered as text (no element injected).
// chromium is installed by scripts/install-deps.sh, so a missing chromium is a failure.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "support/temp_dir.h"

namespace duban::cli_test {
namespace {

namespace uv1 = ::duban::units::v1;

const char* kEvilName = "<script>alert(1)</script> & 村";

std::string FindChromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs chromium in its own process group with stdout to `out_file`; kills the whole group
// (renderers, zygote) when it is done or after `timeout`. Returns the exit status or -1.
int RunChromium(const std::vector<std::string>& args, const std::string& out_file,
                const std::string& err_file, std::chrono::seconds timeout) {
  std::vector<std::string> argv_s = args;
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0) ::_exit(126);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (pid < 0) return -1;
  ::setpgid(pid, pid);  // also in the parent, so the kill below cannot race the child's own call
  int status = -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      status = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-pid, SIGKILL);  // helpers left behind by the browser
  return status;
}

// The value of attribute `name` in an HTML start tag as Chromium serialises it (name="value").
std::string Attr(const std::string& tag, const std::string& name) {
  const std::string key = " " + name + "=\"";
  const size_t at = tag.find(key);
  if (at == std::string::npos) return "";
  const size_t from = at + key.size();
  return tag.substr(from, tag.find('"', from) - from);
}

class BoardHtmlChromiumTest : public CliTest {
 protected:
};

TEST_F(BoardHtmlChromiumTest, RenderedDomHasTheMatrix) {
  const std::string chromium = FindChromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium is not installed; scripts/install-deps.sh installs Debian's chromium";

  AddUnit("h.city", "湛江市", uv1::UNIT_KIND_CITY, "");
  AddUnit("h.a", "赤坎区", uv1::UNIT_KIND_DISTRICT, "h.city");
  AddUnit("h.b", "霞山区", uv1::UNIT_KIND_DISTRICT, "h.city");
  AddUnit("h.evil", kEvilName, uv1::UNIT_KIND_DISTRICT, "h.city");
  CtlJson({"plans", "create", "--id", "hp", "--title", "湛江 <方案> & 挂图", "--owner", "h.city"});

  // Task one: a milestone (50% planned) two seconds away. h.a reports 30% → yellow
  // (20 points behind) and h.b reports 5% → red (45 points behind) once it has passed.
  const auto t1 = CtlJson({"tasks", "create", "--plan", "hp", "--title", "任务一", "--lead", "h.a",
                           "--cooperate", "h.b", "--deadline", "+30d", "--milestone", "摸底@+2s"});
  const std::string ya = t1["assignments"][0].value("assignmentId", "");
  const std::string rb = t1["assignments"][1].value("assignmentId", "");
  ASSERT_EQ(Ctl({"assignments", "ack", ya}).exit_code, 0);
  ASSERT_EQ(Ctl({"assignments", "report", ya, "--percent", "30"}).exit_code, 0);
  ASSERT_EQ(Ctl({"assignments", "ack", rb}).exit_code, 0);
  ASSERT_EQ(Ctl({"assignments", "report", rb, "--percent", "5"}).exit_code, 0);
  // Task two: the unit with the hostile name, just assigned → green.
  const auto t2 = CtlJson({"tasks", "create", "--plan", "hp", "--title", "任务二 <b>", "--lead",
                           "h.evil", "--deadline", "+30d"});
  const std::string t2_id = t2.value("id", "");
  // Task three: h.b done → green at 100%.
  const auto t3 = CtlJson({"tasks", "create", "--plan", "hp", "--title", "任务三", "--lead", "h.b",
                           "--deadline", "+30d"});
  const std::string done = t3["assignments"][0].value("assignmentId", "");
  for (const char* step : {"ack", "submit", "approve"}) {
    ASSERT_EQ(Ctl({"assignments", step, done}).exit_code, 0) << step;
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));

  testing::TempDir dir;
  const std::string file = dir.File("board.html");
  const CliResult r = Ctl({"board", "hp", "--html", file});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);

  const int status =
      RunChromium({chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--user-data-dir=" + dir.File("profile"), "--dump-dom", "file://" + file},
                  dir.File("dom.html"), dir.File("chromium.err"), std::chrono::seconds(60));
  ASSERT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "chromium failed (" << status << "):\n"
      << ReadFile(dir.File("chromium.err")).substr(0, 3000);
  const std::string dom = ReadFile(dir.File("dom.html"));
  ASSERT_NE(dom.find("<table class=\"board\""), std::string::npos) << dom.substr(0, 2000);

  // 3 units × 3 tasks. (Parsed by hand: std::regex trips GCC 12's -Wmaybe-uninitialized in
  // optimised sanitizer builds.)
  struct Cell {
    std::string cls, title, reason, body;
  };
  std::map<std::pair<std::string, std::string>, Cell> cells;
  const std::string open = "<td class=\"cell ";
  for (size_t at = dom.find(open); at != std::string::npos; at = dom.find(open, at + 1)) {
    const size_t tag_end = dom.find('>', at);
    ASSERT_NE(tag_end, std::string::npos);
    const std::string tag = dom.substr(at, tag_end - at);
    const size_t close = dom.find("</td>", tag_end);
    Cell c;
    const std::string cls = Attr(tag, "class");  // "cell <light>"
    c.cls = cls.size() > 5 ? cls.substr(5) : cls;
    c.title = Attr(tag, "title");
    c.reason = Attr(tag, "data-reason");
    c.body = dom.substr(tag_end, close == std::string::npos ? 0 : close - tag_end);
    cells[{Attr(tag, "data-unit"), Attr(tag, "data-task")}] = c;
  }
  EXPECT_EQ(cells.size(), 9u) << dom;
  const std::string t1_id = t1.value("id", "");
  const std::string t3_id = t3.value("id", "");
  EXPECT_EQ((cells[{"h.a", t1_id}].cls), "yellow") << dom;
  EXPECT_EQ((cells[{"h.b", t1_id}].cls), "red") << dom;
  EXPECT_EQ((cells[{"h.evil", t2_id}].cls), "green") << dom;
  EXPECT_EQ((cells[{"h.b", t3_id}].cls), "green") << dom;
  EXPECT_EQ((cells[{"h.a", t2_id}].cls), "empty") << dom;

  // Reasons in title (and data-reason) attributes, with the numbers the service used.
  const Cell red = cells[{"h.b", t1_id}];
  EXPECT_EQ(red.reason, red.title);
  EXPECT_NE(red.title.find("reported 5%"), std::string::npos) << red.title;
  const Cell done_cell = cells[{"h.b", t3_id}];
  EXPECT_EQ(done_cell.title, "done");
  EXPECT_TRUE(done_cell.body.find("width: 100%") != std::string::npos ||
              done_cell.body.find("width:100%") != std::string::npos)
      << done_cell.body;

  // The hostile names are text: serialised escaped, and no element was created from them.
  EXPECT_NE(dom.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; 村"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<script"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<b>"), std::string::npos) << dom;
  EXPECT_NE(dom.find("湛江 &lt;方案&gt; &amp; 挂图"), std::string::npos) << dom;
  EXPECT_NE(dom.find("id=\"legend\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"generated\""), std::string::npos);
}

}  // namespace
}  // namespace duban::cli_test
