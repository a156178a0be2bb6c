#include "api/task_queue.h"

#include "api/codec.h"
#include "api/names.h"
#include "api/schema.h"
#include "api/schema_check.h"

namespace ctask::api {

DecodedTaskQueue LoadTaskQueue(const Json& object) {
  DecodedTaskQueue out;
  if (!object.is_object()) {
    out.errors.push_back({"", "a TaskQueue must be an object, got " + std::string(object.type_name())});
    return out;
  }
  if (object.value("apiVersion", Json()) != Json(kApiVersion)) {
    std::string got = object.contains("apiVersion") ? object["apiVersion"].dump() : "nothing";
    out.errors.push_back({"apiVersion", std::string("must be \"") + kApiVersion + "\", got " + got});
  }
  const Json& properties = TaskQueueSchema()["properties"];
  for (const auto& [name, value] : object.items()) {
    if (!properties.contains(name) && name != "status") {
      out.errors.push_back({name, "unknown field: a TaskQueue has apiVersion, kind, metadata and spec"});
    }
  }
  const Json metadata = object.value("metadata", Json::object());
  if (!metadata.is_object()) {
    out.errors.push_back({"metadata", "must be an object"});
  } else {
    out.queue.metadata = DecodeObjectMeta(metadata);
    if (out.queue.metadata.name.empty()) {
      out.errors.push_back({"metadata.name", "required: the queue's name, which tasks give as spec.queueName"});
    } else {
      for (const std::string& p : IsDNS1123Label(out.queue.metadata.name)) {
        out.errors.push_back({"metadata.name", "invalid value " + QuoteValue(out.queue.metadata.name) + ": " + p});
      }
    }
  }
  const Json spec = object.value("spec", Json::object());
  FieldErrors found = CheckAgainstSchema(spec, properties["spec"], "spec");
  out.errors.insert(out.errors.end(), found.begin(), found.end());
  if (found.empty() && spec.is_object()) {
    if (auto it = spec.find("maxRunning"); it != spec.end() && it->is_number_integer()) {
      out.queue.max_running = it->get<int32_t>();
    }
  }
  return out;
}

}  // namespace ctask::api
