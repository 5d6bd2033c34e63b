#pragma once
// The battle map (挂图作战) as one self-contained HTML page: a units × tasks matrix whose cells
// are coloured by the assignment's light, with a completion bar and the light's reason on
// hover. A pure function of the data, so it is tested without a server; no scripts and no
// external resources, so the page opens anywhere (mail attachment, intranet share).
#include <string>
#include <string_view>
#include <vector>

#include "duban/tasks/v1/tasks.pb.h"

namespace duban::cli {

struct BoardHtmlInput {
  ::duban::tasks::v1::Plan plan;
  // The rows: one group per unit (GetBoard with BOARD_GROUPING_UNIT), in the order shown.
  std::vector<::duban::tasks::v1::BoardGroup> units;
  ::duban::tasks::v1::BoardGroup totals;
  // The plan's tasks (ListTasks order): the columns, in this order. A cascaded child task
  // folds into its parent's column, so a task cascaded to 300 villages is one column.
  std::vector<::duban::tasks::v1::Task> tasks;
  // The cells.
  std::vector<::duban::tasks::v1::Assignment> assignments;
  // Shown in the header, already formatted ("2026-11-27 10:00 Asia/Shanghai").
  std::string generated_at;
  std::string time_zone = "Asia/Shanghai";
};

// "&lt;script&gt; &amp; &quot;x&quot;": text and attribute values.
std::string HtmlEscape(std::string_view text);

// The page. Cells: <td class="cell red|yellow|green|done|canceled|none" data-unit data-task
// data-light data-state data-reason title="reason">; a unit without an assignment for a task
// gets an empty <td class="cell none">.
std::string RenderBoardHtml(const BoardHtmlInput& input);

}  // namespace duban::cli
