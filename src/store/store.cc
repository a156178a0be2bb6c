#include "store/store.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "api/names.h"
#include "util/field_error.h"

namespace ctask::store {

std::string TruncationMarker(int64_t dropped_bytes) {
  char buffer[96];
  const int length =
      std::snprintf(buffer, sizeof buffer, kTruncationMarkerFormat, static_cast<long long>(dropped_bytes));
  return std::string(buffer, static_cast<std::size_t>(length));
}

Status ValidateTaskKey(std::string_view ns, std::string_view name) {
  for (const auto& [field, value] : {std::pair{"namespace", ns}, std::pair{"name", name}}) {
    const std::vector<std::string> problems = api::IsDNS1123Label(value);
    if (problems.empty()) continue;
    std::string message = "task key: metadata.";
    message += field;
    message += ": ";
    message += QuoteValue(value);
    message += ": " + problems.front();
    return InvalidArgument(std::move(message));
  }
  return {};
}

Result<std::string> TaskReader::ReadItemLog(std::string_view, std::string_view, int32_t, uint64_t) {
  return MakeError(ErrorCode::kFailedPrecondition, "this store keeps no per-item logs");
}

Result<std::string> TaskReader::ReadResults(std::string_view, std::string_view) {
  return MakeError(ErrorCode::kFailedPrecondition, "this store keeps no results");
}

Result<LogWriterPtr> Store::OpenItemLog(std::string_view, std::string_view, int32_t, int64_t) {
  return MakeError(ErrorCode::kFailedPrecondition, "this store keeps no per-item logs");
}

Status Store::PutInputs(const api::ContainerTask&, const std::map<std::string, std::string>&) {
  return MakeError(ErrorCode::kFailedPrecondition, "this store keeps no inputs");
}

Result<LogSummary> Store::PutResults(const api::ContainerTask&, std::string_view) {
  return MakeError(ErrorCode::kFailedPrecondition, "this store keeps no results");
}

}  // namespace ctask::store
