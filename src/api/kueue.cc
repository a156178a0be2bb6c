#include "api/kueue.h"

namespace ctask::api {

std::string KueueQueueName(const std::map<std::string, std::string>& labels) {
  auto it = labels.find(kKueueQueueNameLabel);
  return it == labels.end() ? "" : it->second;
}

std::map<std::string, std::string> KueueLabels(const ObjectMeta& metadata) {
  std::map<std::string, std::string> out;
  for (auto it = metadata.labels.lower_bound(kKueueLabelPrefix);
       it != metadata.labels.end() && std::string_view(it->first).starts_with(kKueueLabelPrefix); ++it) {
    out.insert(*it);
  }
  return out;
}

}  // namespace ctask::api
