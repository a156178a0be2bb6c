// The table `ctask get` prints: kubectl's view of the ContainerTask CRD's
// printer columns (NAME, PHASE, REASON, EXIT, ATTEMPTS, AGE; -o wide adds
// IMAGE, CONTAINER and MESSAGE; -A puts NAMESPACE first), laid out the way
// kubectl's tab writer lays it out.
//
// Pure functions: the current time is a parameter, so every cell is
// unit-testable (tests/cli/task_table_test.cc). Missing values follow
// kubectl: an unset phase is "<none>", an unset exit code, reason or message
// an empty cell, an unknown creation time "<unknown>".
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"

namespace ctask::cli {

struct TableOptions {
  bool wide = false;            // -o wide
  bool all_namespaces = false;  // -A: a NAMESPACE column first
};

using TableRow = std::vector<std::string>;

// What PHASE shows for a record that cannot be read, and for a task that
// disappeared while watching.
inline constexpr const char* kPhaseUnreadable = "<unreadable>";
inline constexpr const char* kPhaseDeleted = "<deleted>";

// kubectl's age (k8s.io/apimachinery duration.HumanDuration): "45s", "3m20s",
// "12m", "2h5m", "20h", "3d4h", "30d", "2y10d". Slightly negative ages (clock
// skew under two seconds) are "0s"; more negative ones "<invalid>".
std::string HumanAge(std::chrono::seconds age);

TableRow TableHeader(const TableOptions& options);

// The row of a task.
TableRow TaskRow(const api::ContainerTask& task, Timestamp now, const TableOptions& options);

// The row of a record that cannot be read: its key, PHASE kPhaseUnreadable,
// every other cell empty.
TableRow UnreadableRow(std::string_view ns, std::string_view name, const TableOptions& options);

// `row` (a TaskRow) with PHASE replaced, as for a deleted task.
TableRow WithPhase(TableRow row, std::string_view phase, const TableOptions& options);

// Each column's width: its widest cell plus kubectl's padding of three
// spaces, and at least six. The last column has no width (it is not padded).
std::vector<std::size_t> ColumnWidths(const std::vector<TableRow>& rows);

// One line per row, each ending in "\n", cells padded to `widths` (or to
// their own width plus padding where a cell is wider); no trailing spaces.
std::string FormatRows(const std::vector<TableRow>& rows, const std::vector<std::size_t>& widths);

// The header and `rows`, aligned: FormatRows over ColumnWidths.
std::string FormatTable(const TableOptions& options, const std::vector<TableRow>& rows);

}  // namespace ctask::cli
