#include "status/log_attempt.h"

#include <charconv>

#include "render/labels.h"

namespace ctask::status {

int32_t CompleteLogAttempt(const api::ContainerTask& task) {
  if (task.status.log_attempt != 0) return task.status.log_attempt;
  auto it = task.metadata.annotations.find(render::kAnnotationLogAttempt);
  if (it == task.metadata.annotations.end()) return 0;
  int32_t attempt = 0;
  const char* end = it->second.data() + it->second.size();
  auto [at, error] = std::from_chars(it->second.data(), end, attempt);
  return error == std::errc() && at == end ? attempt : 0;  // hand-edited: archive again
}

}  // namespace ctask::status
