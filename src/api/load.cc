#include "api/load.h"

#include "api/schema.h"
#include "api/schema_check.h"
#include "api/validate.h"

namespace ctask::api {

DecodedTask LoadContainerTask(const Json& object) {
  FieldErrors errors;
  if (!object.is_object()) {
    return DecodedTask{{}, {{"", "a ContainerTask must be an object, got " + std::string(object.type_name())}}};
  }
  if (object.value("apiVersion", Json()) != Json(kApiVersion)) {
    std::string got = object.contains("apiVersion") ? object["apiVersion"].dump() : "nothing";
    errors.push_back({"apiVersion", std::string("must be \"") + kApiVersion + "\", got " + got});
  }
  const Json& schema = ContainerTaskSchema();
  const Json& properties = schema["properties"];

  // 1. Structure. Metadata is checked by ValidateObjectMeta, not the schema:
  //    the CRD schema only constrains its name.
  for (const auto& [name, value] : object.items()) {
    if (!properties.contains(name)) {
      errors.push_back({name, "unknown field: a ContainerTask has apiVersion, kind, metadata, spec and status"});
    }
  }
  const Json metadata = object.value("metadata", Json::object());
  if (!metadata.is_object()) errors.push_back({"metadata", "must be an object"});
  if (!object.contains("spec") || object["spec"].is_null()) {
    errors.push_back({"spec", "required: a ContainerTask needs at least spec.image"});
  }
  for (const char* part : {"spec", "status"}) {
    if (object.contains(part)) {
      FieldErrors found = CheckAgainstSchema(object[part], properties[part], part);
      errors.insert(errors.end(), found.begin(), found.end());
    }
  }

  // 2. Defaults, as the API server applies them.
  Json defaulted = object;
  ApplySchemaDefaults(defaulted, schema);

  // 3. Typed decode (quantities parse here), 4. semantic rules.
  //    A later stage's error on a path an earlier stage already reported is
  //    a consequence of the first (a quantity that failed the pattern also
  //    fails to parse), so it is dropped.
  DecodedTask decoded = DecodeContainerTask(defaulted);
  auto add_new = [&errors](const FieldErrors& found) {
    const size_t reported = errors.size();
    for (const FieldError& e : found) {
      bool seen = false;
      for (size_t i = 0; i < reported && !seen; ++i) seen = errors[i].path == e.path;
      if (!seen) errors.push_back(e);
    }
  };
  add_new(decoded.errors);
  if (metadata.is_object()) add_new(ValidateObjectMeta(decoded.task.metadata));
  add_new(ValidateSpec(decoded.task.spec));
  decoded.errors = std::move(errors);
  return decoded;
}

}  // namespace ctask::api
