#include "reconcile/task_key.h"

#include <cstdio>

#include "api/names.h"

namespace ctask::reconcile {

std::string TaskKey(const api::ContainerTask& task) {
  std::string key = api::NamespaceOrDefault(task.metadata.namespace_) + "/" + task.metadata.name;
  if (task.item) {
    char index[16];
    std::snprintf(index, sizeof index, "%05d", task.item->index);
    key += ItemKeyPrefix("") + index;
  }
  return key;
}

std::string RecordKey(std::string_view key) {
  return std::string(key.substr(0, key.find(kItemKeySeparator)));
}

std::string ItemKeyPrefix(std::string_view key) {
  return std::string(key) + kItemKeySeparator;
}

}  // namespace ctask::reconcile
