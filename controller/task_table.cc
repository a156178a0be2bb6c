#include "task_table.h"

#include <algorithm>

namespace ctask::cli {
namespace {

// kubectl's tab writer (printers.GetNewTabWriter): cells are at least this
// wide, and padded by this much beyond their widest value.
constexpr std::size_t kMinColumnWidth = 6;
constexpr std::size_t kColumnPadding = 3;

// A container ID is shown the way `docker ps` shortens it.
constexpr std::size_t kShortContainerId = 12;

// kubectl shows only the first line of a multi-line cell, marked as cut.
std::string FirstLine(const std::string& text) {
  const std::size_t end = text.find_first_of("\r\n\f");
  if (end == std::string::npos) return text;
  return text.substr(0, end) + "...";
}

}  // namespace

std::string HumanAge(std::chrono::seconds age) {
  const int64_t seconds = age.count();
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return std::to_string(seconds) + "s";
  const int64_t minutes = seconds / 60;
  if (minutes < 10) {
    const int64_t s = seconds % 60;
    return std::to_string(minutes) + "m" + (s == 0 ? "" : std::to_string(s) + "s");
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  const int64_t hours = minutes / 60;
  if (hours < 8) {
    const int64_t m = minutes % 60;
    return std::to_string(hours) + "h" + (m == 0 ? "" : std::to_string(m) + "m");
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    const int64_t h = hours % 24;
    return std::to_string(hours / 24) + "d" + (h == 0 ? "" : std::to_string(h) + "h");
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    const int64_t days = (hours / 24) % 365;
    return std::to_string(hours / 24 / 365) + "y" + (days == 0 ? "" : std::to_string(days) + "d");
  }
  return std::to_string(hours / 24 / 365) + "y";
}

TableRow TableHeader(const TableOptions& options) {
  TableRow row;
  if (options.all_namespaces) row.push_back("NAMESPACE");
  for (const char* column : {"NAME", "PHASE", "REASON", "EXIT", "ATTEMPTS", "AGE"}) row.push_back(column);
  if (options.wide) {
    for (const char* column : {"IMAGE", "CONTAINER", "MESSAGE"}) row.push_back(column);
  }
  return row;
}

TableRow TaskRow(const api::ContainerTask& task, Timestamp now, const TableOptions& options) {
  const api::ContainerTaskStatus& status = task.status;
  TableRow row;
  if (options.all_namespaces) row.push_back(task.metadata.namespace_);
  row.push_back(task.metadata.name);
  row.push_back(status.phase.empty() ? "<none>" : status.phase);
  row.push_back(FirstLine(status.reason));
  row.push_back(status.exit_code ? std::to_string(*status.exit_code) : "");
  row.push_back(std::to_string(status.attempts));
  row.push_back(task.metadata.creation_timestamp ? HumanAge(std::chrono::duration_cast<std::chrono::seconds>(
                                                       now - *task.metadata.creation_timestamp))
                                                 : "<unknown>");
  if (options.wide) {
    row.push_back(FirstLine(task.spec.image));
    row.push_back(status.container_id.substr(0, kShortContainerId));
    row.push_back(FirstLine(status.message));
  }
  return row;
}

TableRow UnreadableRow(std::string_view ns, std::string_view name, const TableOptions& options) {
  TableRow row = TableHeader(options);
  std::fill(row.begin(), row.end(), "");
  std::size_t column = 0;
  if (options.all_namespaces) row[column++] = ns;
  row[column++] = name;
  row[column] = kPhaseUnreadable;
  return row;
}

TableRow WithPhase(TableRow row, std::string_view phase, const TableOptions& options) {
  const std::size_t column = options.all_namespaces ? 2 : 1;
  if (column < row.size()) row[column] = phase;
  return row;
}

std::vector<std::size_t> ColumnWidths(const std::vector<TableRow>& rows) {
  std::vector<std::size_t> widths;
  for (const TableRow& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), kMinColumnWidth);
    for (std::size_t i = 0; i + 1 < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size() + kColumnPadding);
    }
  }
  if (!widths.empty()) widths.back() = 0;
  return widths;
}

std::string FormatRows(const std::vector<TableRow>& rows, const std::vector<std::size_t>& widths) {
  std::string out;
  for (const TableRow& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 == row.size()) break;
      const std::size_t width = std::max(i < widths.size() ? widths[i] : 0, row[i].size() + kColumnPadding);
      line.append(width - row[i].size(), ' ');
    }
    // Empty trailing cells would leave padding at the end of the line.
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string FormatTable(const TableOptions& options, const std::vector<TableRow>& rows) {
  std::vector<TableRow> all;
  all.reserve(rows.size() + 1);
  all.push_back(TableHeader(options));
  all.insert(all.end(), rows.begin(), rows.end());
  return FormatRows(all, ColumnWidths(all));
}

}  // namespace ctask::cli
