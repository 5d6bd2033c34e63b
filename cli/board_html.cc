#include "board_html.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "output.h"
#include "task_text.h"

namespace duban::cli {

namespace tv1 = ::duban::tasks::v1;

namespace {

// Worse lights sort first: red, yellow, green, then none (canceled).
int Severity(const tv1::Assignment& a) {
  switch (a.light().light()) {
    case tv1::TRAFFIC_LIGHT_RED:
      return 0;
    case tv1::TRAFFIC_LIGHT_YELLOW:
      return 1;
    case tv1::TRAFFIC_LIGHT_GREEN:
      return 2;
    default:
      return 3;
  }
}

int Percent(const tv1::Assignment& a) { return std::clamp(CompletionPercent(a), 0, 100); }

std::string Pct(double rate) {
  return std::to_string(static_cast<int>(std::lround(rate * 100))) + "%";
}

const char* kStyle = R"(
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:16px;color:#222}
h1{font-size:20px;margin:0 0 4px}
.meta{color:#666;font-size:13px;margin-bottom:12px}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:13px;margin:8px 0 12px}
.legend>span{white-space:nowrap}
.legend span.sw{display:inline-block;width:14px;height:14px;vertical-align:middle;margin-right:4px;border:1px solid #999}
table.board{border-collapse:collapse;font-size:13px}
table.board th,table.board td{border:1px solid #ccc;padding:4px 6px;vertical-align:middle}
table.board thead th{background:#f3f3f3;max-width:160px}
th.unit{text-align:left;white-space:nowrap}
th.unit small,thead th small{display:block;color:#777;font-weight:normal}
td.cell{min-width:90px}
.red,.sw-red{background:#f8c4c0}
.yellow,.sw-yellow{background:#fbe7a1}
.green,.sw-green{background:#c7ebc4}
.grey,.sw-grey{background:#e4e4e4;color:#777}
.empty{background:#fff}
.bar{height:6px;background:#fff;border:1px solid #999;margin-top:3px}
.bar span{display:block;height:100%;background:#2c6fbb}
.state{font-size:11px;color:#444}
td.num{text-align:right}
tfoot td{font-weight:bold;background:#f3f3f3}
)";

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderBoardHtml(const BoardHtmlInput& in) {
  // Columns: the plan's tasks, cascaded children folded into their parent's column.
  std::map<std::string, const tv1::Task*> by_id;
  for (const auto& t : in.tasks) by_id[t.id()] = &t;
  const auto column_of = [&](const std::string& task_id) {
    std::string id = task_id;
    for (int guard = 0; guard < 16; ++guard) {
      auto it = by_id.find(id);
      if (it == by_id.end() || !it->second->cascaded() || it->second->parent_task_id().empty()) {
        break;
      }
      id = it->second->parent_task_id();
    }
    return id;
  };
  // (unit, column) → assignments, worst light first.
  std::map<std::pair<std::string, std::string>, std::vector<const tv1::Assignment*>> cells;
  std::map<std::string, bool> used_column;
  for (const auto& a : in.assignments) {
    const std::string col = column_of(a.task_id());
    cells[{a.unit_id(), col}].push_back(&a);
    used_column[col] = true;
  }
  for (auto& [key, list] : cells) {
    std::stable_sort(list.begin(), list.end(),
                     [](const auto* x, const auto* y) { return Severity(*x) < Severity(*y); });
  }
  std::vector<const tv1::Task*> columns;
  for (const auto& t : in.tasks) {
    if (used_column.count(t.id()) && column_of(t.id()) == t.id()) columns.push_back(&t);
  }

  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
    << "<title>" << HtmlEscape(in.plan.title()) << " · 挂图作战</title><style>" << kStyle
    << "</style></head><body>\n";
  h << "<header><h1 id=\"plan-title\">" << HtmlEscape(in.plan.title()) << "</h1>"
    << "<div class=\"meta\">plan <code>" << HtmlEscape(in.plan.id())
    << "</code> · generated <time id=\"generated\">" << HtmlEscape(in.generated_at) << "</time> · "
    << in.totals.total() << " assignments, " << in.totals.overdue() << " overdue, "
    << in.totals.state_counts().done() << " done, completion " << Pct(in.totals.completion_rate())
    << "</div></header>\n";
  h << "<div class=\"legend\" id=\"legend\">"
    << "<span><span class=\"sw sw-red\"></span>red: overdue or far behind plan</span>"
    << "<span><span class=\"sw sw-yellow\"></span>yellow: behind plan</span>"
    << "<span><span class=\"sw sw-green\"></span>green: on track, submitted or done</span>"
    << "<span><span class=\"sw sw-grey\"></span>canceled</span>"
    << "<span>hover a cell for the reason of its light; bar = reported completion</span>"
    << "</div>\n";

  h << "<table class=\"board\" id=\"board\"><thead><tr><th>单位 / unit</th>";
  for (const auto* t : columns) {
    h << "<th class=\"task\" data-task=\"" << HtmlEscape(t->id()) << "\">" << HtmlEscape(t->title())
      << "<small>" << HtmlEscape(FormatTime(t->deadline_time(), in.time_zone)) << "</small></th>";
  }
  h << "<th>完成率</th><th>逾期</th><th>办结</th><th>排名</th></tr></thead>\n<tbody>\n";
  for (const auto& g : in.units) {
    h << "<tr data-unit=\"" << HtmlEscape(g.key()) << "\"><th class=\"unit\">"
      << HtmlEscape(g.label().empty() ? g.key() : g.label()) << "<small>" << HtmlEscape(g.key())
      << "</small></th>";
    for (const auto* t : columns) {
      auto it = cells.find({g.key(), t->id()});
      if (it == cells.end()) {
        h << "<td class=\"cell empty\" data-unit=\"" << HtmlEscape(g.key()) << "\" data-task=\""
          << HtmlEscape(t->id()) << "\"></td>";
        continue;
      }
      const tv1::Assignment& a = *it->second.front();
      std::string light = LightName(a.light().light());
      const std::string cls = light.empty() ? "grey" : light;
      std::string reason = a.light().reason();
      if (it->second.size() > 1) {
        reason += " (+" + std::to_string(it->second.size() - 1) + " more assignment(s))";
      }
      const int pct = Percent(a);
      h << "<td class=\"cell " << cls << "\" data-unit=\"" << HtmlEscape(g.key())
        << "\" data-task=\"" << HtmlEscape(t->id()) << "\" data-assignment=\"" << HtmlEscape(a.id())
        << "\" data-light=\"" << HtmlEscape(light) << "\" data-state=\""
        << HtmlEscape(StateName(a.state())) << "\" data-reason=\"" << HtmlEscape(reason)
        << "\" title=\"" << HtmlEscape(reason) << "\"><span class=\"state\">"
        << HtmlEscape(StateName(a.state())) << (a.overdue() ? " · overdue" : "")
        << "</span><div class=\"bar\"><span style=\"width:" << pct << "%\"></span></div>"
        << "<span class=\"pct\">" << pct << "%</span></td>";
    }
    h << "<td class=\"num\">" << Pct(g.completion_rate()) << "</td><td class=\"num\">"
      << g.overdue() << "</td><td class=\"num\">" << g.state_counts().done()
      << "</td><td class=\"num\">" << (g.rank() > 0 ? std::to_string(g.rank()) : "-")
      << "</td></tr>\n";
  }
  h << "</tbody><tfoot><tr><td>合计 / total</td>";
  for (size_t i = 0; i < columns.size(); ++i) h << "<td></td>";
  h << "<td class=\"num\">" << Pct(in.totals.completion_rate()) << "</td><td class=\"num\">"
    << in.totals.overdue() << "</td><td class=\"num\">" << in.totals.state_counts().done()
    << "</td><td></td></tr></tfoot></table>\n</body></html>\n";
  return h.str();
}

}  // namespace duban::cli
