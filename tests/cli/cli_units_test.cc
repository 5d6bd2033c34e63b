// dubanctl units ... against a real stack. The stack is shared by the suite, so each test uses
// its own unit id prefix.
#include <chrono>
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "output.h"

namespace duban::cli_test {
namespace {

using UnitsCliTest = CliTest;

bool Has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  return out;
}

// Display column where `needle` starts in `line` (CJK characters count two).
int ColumnOf(const std::string& line, const std::string& needle) {
  const size_t at = line.find(needle);
  if (at == std::string::npos) return -1;
  return cli::DisplayWidth(line.substr(0, at));
}

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

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
  for (std::vector<std::string> cmd : {std::vector<std::string>{"units", "create"},
                                       {"units", "list"},
                                       {"units", "tree"},
                                       {"units", "counts"},
                                       {"units", "import"},
                                       {"units", "contacts", "list"},
                                       {"units", "contacts", "add"},
                                       {"units", "contacts", "handover"},
                                       {"units", "contacts", "end"},
                                       {"units", "contacts", "show"}}) {
    cmd.push_back("--help");
    const CliResult r = RunCtl(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd[cmd.size() - 2] << "\n" << Describe(r);
    EXPECT_TRUE(Has(r.out, "Usage")) << Describe(r);
  }
  // Required options and exclusive filters are usage errors, before any call.
  EXPECT_EQ(RunCtl({"units", "create", "--id", "x"}).exit_code, 2);
  EXPECT_EQ(RunCtl({"units", "list", "--parent", "a", "--roots"}).exit_code, 2);
}

TEST_F(UnitsCliTest, CreateGetListCounts) {
  ASSERT_EQ(
      Ctl({"units", "create", "--id", "c", "--name", "广东省", "--kind", "province"}).exit_code, 0);
  const CliResult fs = Ctl({"units", "create", "--id", "c.fs", "--name", "佛山市", "--kind",
                            "UNIT_KIND_CITY", "--parent", "c", "--tags", "五区, 地级市"});
  ASSERT_EQ(fs.exit_code, 0) << Describe(fs);
  EXPECT_TRUE(Has(fs.out, "created unit c.fs (佛山市, city)")) << Describe(fs);
  ASSERT_EQ(Ctl({"units", "create", "--id", "c.fs.cc", "--name", "禅城区", "--kind", "district",
                 "--parent", "c.fs"})
                .exit_code,
            0);
  ASSERT_EQ(Ctl({"units", "create", "--id", "c.fs.dj", "--name", "党支部", "--kind", "party-branch",
                 "--parent", "c.fs"})
                .exit_code,
            0);

  const auto unit = CtlJson({"units", "get", "c.fs"});
  EXPECT_EQ(unit["kind"], "UNIT_KIND_CITY");
  EXPECT_EQ(unit["tags"], nlohmann::json({"五区", "地级市"}));
  const CliResult get = Ctl({"units", "get", "c.fs"});
  EXPECT_TRUE(Has(get.out, "kind:      city")) << Describe(get);

  const auto children = CtlJson({"units", "list", "--parent", "c.fs"});
  ASSERT_EQ(children["units"].size(), 2u) << children.dump();
  EXPECT_EQ(children["units"][0]["id"], "c.fs.cc");
  const auto branches = CtlJson({"units", "list", "--subtree", "c", "--kind", "party_branch"});
  ASSERT_EQ(branches["units"].size(), 1u);
  EXPECT_EQ(branches["units"][0]["id"], "c.fs.dj");
  const auto tagged = CtlJson({"units", "list", "--subtree", "c", "--tag", "五区"});
  EXPECT_EQ(tagged["units"].size(), 1u);
  const auto limited = CtlJson({"units", "list", "--subtree", "c", "--limit", "2"});
  EXPECT_EQ(limited["units"].size(), 2u);
  const CliResult table = Ctl({"units", "list", "--subtree", "c"});
  EXPECT_EQ(table.exit_code, 0) << Describe(table);
  EXPECT_TRUE(Has(table.out, "4 unit(s)")) << Describe(table);
  // The KIND column lines up under Chinese names.
  const auto lines = Lines(table.out);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(ColumnOf(lines[0], "KIND"), ColumnOf(lines[1], "province")) << table.out;
  EXPECT_EQ(ColumnOf(lines[0], "KIND"), ColumnOf(lines[2], "city")) << table.out;

  const auto counts = CtlJson({"units", "counts", "c"});
  EXPECT_EQ(counts["total"], "4");
  const CliResult ct = Ctl({"units", "counts", "c.fs"});
  EXPECT_EQ(ct.exit_code, 0) << Describe(ct);
  EXPECT_TRUE(Has(ct.out, "party_branch")) << Describe(ct);
  EXPECT_TRUE(Has(ct.out, "total")) << Describe(ct);
  EXPECT_EQ(Ctl({"units", "counts", "no.such"}).exit_code, 4);
}

TEST_F(UnitsCliTest, CreateShowsFieldViolations) {
  const CliResult r = Ctl({"units", "create", "--id", "Bad ID!", "--name", "x", "--kind", "city",
                           "--parent", "no.such.parent"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_TRUE(Has(r.err, "unit.id:")) << Describe(r);
  const CliResult json =
      Ctl({"-o", "json", "units", "create", "--id", "Bad ID!", "--name", "x", "--kind", "city"});
  EXPECT_EQ(json.exit_code, 3);
  const auto err = nlohmann::json::parse(json.err);
  EXPECT_EQ(err["error"]["fieldViolations"][0]["field"], "unit.id") << json.err;
  // An unknown kind is caught locally.
  const CliResult kind = Ctl({"units", "create", "--id", "k", "--name", "x", "--kind", "county"});
  EXPECT_EQ(kind.exit_code, 2) << Describe(kind);
  EXPECT_TRUE(Has(kind.err, "unknown unit kind 'county'")) << Describe(kind);
  // Taken id.
  ASSERT_EQ(Ctl({"units", "create", "--id", "dup", "--name", "x", "--kind", "city"}).exit_code, 0);
  EXPECT_EQ(Ctl({"units", "create", "--id", "dup", "--name", "x", "--kind", "city"}).exit_code, 5);
}

TEST_F(UnitsCliTest, TreeDrawsConnectorsAlignedAndNestedJson) {
  const std::string csv =
      "id,name,kind,parent_id,tags,timezone\n"
      "t,广东省,province,,,\n"
      "t.zq,肇庆市,city,t,,\n"
      "t.zq.dz,端州区,district,t.zq,五区,\n"
      "t.zq.dz.v1,Village One,village,t.zq.dz,,\n"
      "t.zq.gy,高要区,district,t.zq,,\n"
      "t.fs,佛山市,city,t,,\n";
  const CliResult imp = Ctl({"units", "import", "-"}, csv);
  ASSERT_EQ(imp.exit_code, 0) << Describe(imp);

  const CliResult tree = Ctl({"units", "tree", "t"});
  ASSERT_EQ(tree.exit_code, 0) << Describe(tree);
  const auto lines = Lines(tree.out);
  ASSERT_EQ(lines.size(), 6u) << tree.out;
  EXPECT_EQ(lines[0].rfind("广东省", 0), 0u) << tree.out;
  EXPECT_EQ(lines[1].rfind("├─ 佛山市", 0), 0u) << tree.out;  // siblings by id: t.fs < t.zq
  EXPECT_EQ(lines[2].rfind("└─ 肇庆市", 0), 0u) << tree.out;
  EXPECT_EQ(lines[3].rfind("   ├─ 端州区", 0), 0u) << tree.out;
  EXPECT_EQ(lines[4].rfind("   │  └─ Village One", 0), 0u) << tree.out;
  EXPECT_EQ(lines[5].rfind("   └─ 高要区", 0), 0u) << tree.out;
  // The id column starts at the same display column on every line.
  const int col = ColumnOf(lines[0], "t ");
  for (const auto& [line, id] : std::vector<std::pair<std::string, std::string>>{
           {lines[1], "t.fs"}, {lines[3], "t.zq.dz"}, {lines[4], "t.zq.dz.v1"}}) {
    EXPECT_EQ(ColumnOf(line, id), col) << tree.out;
  }
  EXPECT_TRUE(Has(lines[4], "village")) << tree.out;

  const CliResult shallow = Ctl({"units", "tree", "t", "--depth", "1"});
  EXPECT_EQ(Lines(shallow.out).size(), 3u) << shallow.out;
  // --kind keeps the path down to the matching units.
  const CliResult villages = Ctl({"units", "tree", "t", "--kind", "village"});
  EXPECT_EQ(Lines(villages.out).size(), 4u) << villages.out;
  EXPECT_FALSE(Has(villages.out, "佛山市")) << villages.out;

  const auto json = CtlJson({"units", "tree", "t"});
  EXPECT_EQ(json["id"], "t");
  ASSERT_EQ(json["children"].size(), 2u);
  EXPECT_EQ(json["children"][1]["id"], "t.zq");
  EXPECT_EQ(json["children"][1]["children"][0]["children"][0]["id"], "t.zq.dz.v1");

  EXPECT_EQ(Ctl({"units", "tree", "no.such"}).exit_code, 4);
}

TEST_F(UnitsCliTest, ImportCsvWithBomQuotesAndUpdates) {
  const std::string path = WriteFile("units.csv",
                                     "\xEF\xBB\xBF"
                                     "id,name,kind,parent_id,tags,timezone\r\n"
                                     "i,\"Guangdong, \"\"GD\"\"\",province,,,Asia/Shanghai\r\n"
                                     "i.a,\"甲\",city,i,a;b,\r\n"
                                     "\r\n"
                                     "i.b,乙,CITY,i,,\r\n");
  const auto first = CtlJson({"units", "import", path});
  EXPECT_EQ(first["created"], "3") << first.dump();
  EXPECT_EQ(first["applied"], true);
  const auto gd = CtlJson({"units", "get", "i"});
  EXPECT_EQ(gd["name"], "Guangdong, \"GD\"");
  EXPECT_EQ(CtlJson({"units", "get", "i.a"})["tags"], nlohmann::json({"a", "b"}));

  const CliResult again = Ctl({"units", "import", path});
  EXPECT_EQ(again.exit_code, 0) << Describe(again);
  EXPECT_TRUE(Has(again.out, "3 rows: 0 created, 0 updated, 3 unchanged, 0 rejected"))
      << Describe(again);
  const CliResult update =
      Ctl({"units", "import", "-"}, "id,name,kind,parent_id\ni.b,乙区,district,i\n");
  EXPECT_EQ(update.exit_code, 0) << Describe(update);
  EXPECT_TRUE(Has(update.out, "1 updated")) << Describe(update);
}

TEST_F(UnitsCliTest, ImportRowErrorsNameFileLines) {
  // Line 3 holds a two-line quoted name (rejected: names have no control characters), so the
  // next row (stream row 3) is on line 5.
  const std::string csv =
      "id,name,kind,parent_id,tags,timezone\n"
      "e,省,province,,,\n"
      "e.a,\"A\nB\",city,e,,\n"
      "e.b,,city,e,,\n"
      "e.c,丙,city,e.missing,,\n";
  const CliResult all = Ctl({"units", "import", "-"}, csv);
  EXPECT_EQ(all.exit_code, 3) << Describe(all);
  EXPECT_TRUE(Has(all.err, "row 3 (e.a): name:")) << Describe(all);
  EXPECT_TRUE(Has(all.err, "row 5 (e.b): name:")) << Describe(all);
  EXPECT_TRUE(Has(all.err, "row 6 (e.c): parent_id:")) << Describe(all);
  EXPECT_EQ(Ctl({"units", "get", "e"}).exit_code, 4) << "all-or-nothing wrote a row";

  const CliResult json = Ctl({"-o", "json", "units", "import", "-"}, csv);
  EXPECT_EQ(json.exit_code, 3);
  const auto err = nlohmann::json::parse(json.err);
  EXPECT_EQ(err["error"]["fieldViolations"][1]["line"], 5) << json.err;
  EXPECT_EQ(err["error"]["fieldViolations"][1]["row"], 3) << json.err;

  const CliResult valid = Ctl({"units", "import", "-", "--mode", "valid-rows-only"}, csv);
  EXPECT_EQ(valid.exit_code, 1) << Describe(valid);
  EXPECT_TRUE(Has(valid.out, "1 created")) << Describe(valid);
  EXPECT_TRUE(Has(valid.out, "row 5 (e.b): name:")) << Describe(valid);
  EXPECT_TRUE(Has(valid.out, "row 6 (e.c): parent_id:")) << Describe(valid);
  EXPECT_EQ(Ctl({"units", "get", "e"}).exit_code, 0);
}

// 10,001 units: the import goes in 11 messages, the tree is drawn from 11 pages, and a row
// error past the first message still names its file line.
TEST_F(UnitsCliTest, ImportAndTreeOfTenThousandUnits) {
  std::string csv = "id,name,kind,parent_id\nbig,大省,province,\n";
  for (int c = 0; c < 100; ++c) {
    const std::string city = "big.c" + std::to_string(c);
    csv += city + ",城市" + std::to_string(c) + ",city,big\n";
    for (int t = 0; t < 99; ++t) {
      csv += city + ".t" + std::to_string(t) + ",镇" + std::to_string(t) + ",town," + city + "\n";
    }
  }
  const auto imported = CtlJson({"units", "import", "-"}, csv);
  EXPECT_EQ(imported["created"], "10001") << imported.dump();

  const auto start = std::chrono::steady_clock::now();
  const CliResult tree = Ctl({"units", "tree", "big"});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(tree.exit_code, 0) << tree.err;
  EXPECT_EQ(Lines(tree.out).size(), 10001u);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(Lines(Ctl({"units", "tree", "big", "--depth", "1"}).out).size(), 101u);
  EXPECT_EQ(CtlJson({"units", "counts", "big"})["total"], "10001");

  // Line 1 header, lines 2-1501 rows 1-1500; row 1400 (line 1401) has no name.
  std::string update = "id,name,kind,parent_id\n";
  for (int i = 0; i < 1500; ++i) {
    const std::string id = "big.c" + std::to_string(i / 99) + ".t" + std::to_string(i % 99);
    update += id + "," + (i == 1399 ? "" : "新镇" + std::to_string(i)) + ",town,big.c" +
              std::to_string(i / 99) + "\n";
  }
  const CliResult partial = Ctl({"units", "import", "-", "--mode", "valid-rows-only"}, update);
  EXPECT_EQ(partial.exit_code, 1) << Describe(partial);
  EXPECT_TRUE(Has(partial.out, "1499 updated")) << partial.out;
  EXPECT_TRUE(Has(partial.out, "row 1401 (big.c14.t13): name:")) << partial.out;
}

TEST_F(UnitsCliTest, ImportLocalCsvErrorsSendNothing) {
  const std::string path = WriteFile("bad.csv",
                                     "id,name,kind\n"
                                     "x1,甲,city\n"
                                     "x2,乙,city,extra\n");
  const CliResult cols = Ctl({"units", "import", path});
  EXPECT_EQ(cols.exit_code, 2) << Describe(cols);
  EXPECT_TRUE(Has(cols.err, path + ":3: 4 fields, the header has 3")) << Describe(cols);
  EXPECT_EQ(Ctl({"units", "get", "x1"}).exit_code, 4) << "a malformed file sent rows";

  const CliResult kind = Ctl({"units", "import", "-"}, "id,name,kind\nx1,甲,city\nx3,丙,county\n");
  EXPECT_EQ(kind.exit_code, 2) << Describe(kind);
  EXPECT_TRUE(Has(kind.err, "<stdin>:3: unknown kind 'county'")) << Describe(kind);
  const CliResult quote = Ctl({"units", "import", "-"}, "id,name,kind\nx1,\"甲,city\n");
  EXPECT_EQ(quote.exit_code, 2) << Describe(quote);
  EXPECT_TRUE(Has(quote.err, "<stdin>:2: unterminated")) << Describe(quote);
  const CliResult header = Ctl({"units", "import", "-"}, "id,name,sort\n");
  EXPECT_EQ(header.exit_code, 2) << Describe(header);
  EXPECT_EQ(Ctl({"units", "import", "/no/such/file.csv"}).exit_code, 2);
  EXPECT_EQ(Ctl({"units", "import", "-", "--mode", "best-effort"}, "").exit_code, 2);
}

TEST_F(UnitsCliTest, ContactsAddListHandOverEnd) {
  ASSERT_EQ(
      Ctl({"units", "create", "--id", "p", "--name", "端州区", "--kind", "district"}).exit_code, 0);
  const auto added =
      CtlJson({"units", "contacts", "add", "p", "--name", "李伟", "--role", "liaison", "--email",
               "li.wei@example.gov.cn", "--from", "2026-01-01 09:00"});
  const std::string old_id = added["id"];
  ASSERT_FALSE(old_id.empty());
  const CliResult head =
      Ctl({"units", "contacts", "add", "p", "--name", "王芳", "--role", "head", "--webhook-url",
           "https://hooks.example.cn/x", "--locale", "en", "--id", "p.head"});
  ASSERT_EQ(head.exit_code, 0) << Describe(head);
  EXPECT_TRUE(Has(head.out, "added contact p.head (head of p)")) << Describe(head);
  EXPECT_FALSE(Has(head.err, "王芳"));

  const CliResult list = Ctl({"units", "contacts", "list", "p"});
  ASSERT_EQ(list.exit_code, 0) << Describe(list);
  EXPECT_TRUE(Has(list.out, "李伟")) << Describe(list);
  EXPECT_TRUE(Has(list.out, "liaison")) << Describe(list);
  EXPECT_TRUE(Has(list.out, "2 contact(s)")) << Describe(list);
  const auto heads = CtlJson({"units", "contacts", "list", "p", "--role", "head"});
  ASSERT_EQ(heads["contacts"].size(), 1u);

  const CliResult handover = Ctl({"units", "contacts", "handover", old_id, "--name", "张强"});
  ASSERT_EQ(handover.exit_code, 0) << Describe(handover);
  EXPECT_TRUE(Has(handover.out, "张强")) << Describe(handover);
  EXPECT_TRUE(Has(handover.out, "li.wei@example.gov.cn")) << "the successor keeps the channel";
  const auto now = CtlJson({"units", "contacts", "list", "p", "--role", "liaison"});
  ASSERT_EQ(now["contacts"].size(), 1u) << now.dump();
  EXPECT_EQ(now["contacts"][0]["personName"], "张强");
  const auto history = CtlJson({"units", "contacts", "list", "p", "--history"});
  EXPECT_EQ(history["contacts"].size(), 3u) << history.dump();

  const CliResult end = Ctl({"units", "contacts", "end", "p.head"});
  EXPECT_EQ(end.exit_code, 0) << Describe(end);
  EXPECT_TRUE(Has(end.out, "ended contact p.head")) << Describe(end);
  EXPECT_EQ(CtlJson({"units", "contacts", "list", "p", "--role", "head"})["contacts"].size(), 0u);
  // Ending it again is a precondition failure.
  EXPECT_EQ(Ctl({"units", "contacts", "end", "p.head", "--at", "+1d"}).exit_code, 5);
}

TEST_F(UnitsCliTest, ContactsShowFieldViolations) {
  ASSERT_EQ(Ctl({"units", "create", "--id", "q", "--name", "q", "--kind", "town"}).exit_code, 0);
  const CliResult bad = Ctl({"units", "contacts", "add", "q", "--name", "赵六", "--role", "deputy",
                             "--email", "not-an-email", "--mobile", "12"});
  EXPECT_EQ(bad.exit_code, 3) << Describe(bad);
  EXPECT_TRUE(Has(bad.err, "contact.email:")) << Describe(bad);
  EXPECT_TRUE(Has(bad.err, "contact.mobile:")) << Describe(bad);
  EXPECT_FALSE(Has(bad.err, "赵六")) << "a person name reached stderr";
  // Local checks.
  EXPECT_EQ(
      Ctl({"units", "contacts", "add", "q", "--name", "x", "--role", "boss", "--email", "a@b.cn"})
          .exit_code,
      2);
  EXPECT_EQ(Ctl({"units", "contacts", "add", "q", "--name", "x", "--role", "head"}).exit_code, 2);
  EXPECT_EQ(Ctl({"units", "contacts", "end", "no.such.contact"}).exit_code, 4);
  EXPECT_EQ(
      Ctl({"units", "contacts", "handover", "no.such.contact", "--name", "x", "--email", "a@b.cn"})
          .exit_code,
      4);
}

}  // namespace
}  // namespace duban::cli_test
