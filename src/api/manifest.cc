#include "api/manifest.h"

#include <optional>

#include "api/load.h"
#include "api/names.h"
#include "api/task_queue.h"
#include "util/base64.h"

namespace ctask::api {
namespace {

std::string ObjectName(const Json& object) {
  if (!object.is_object()) return "";
  std::string kind = "object";
  std::string name = "?";
  if (object.is_object()) {
    if (object.contains("kind") && object["kind"].is_string()) kind = object["kind"].get<std::string>();
    if (object.contains("metadata") && object["metadata"].is_object() && object["metadata"].contains("name") &&
        object["metadata"]["name"].is_string()) {
      name = object["metadata"]["name"].get<std::string>();
    }
  }
  // Names and kinds are user input: keep the location line bounded.
  std::string quoted_kind = QuoteValue(kind, 64);
  std::string quoted_name = QuoteValue(name, 64);
  return quoted_kind.substr(1, quoted_kind.size() - 2) + "/" + quoted_name.substr(1, quoted_name.size() - 2);
}

// Secret and ConfigMap: the v1 core kinds, read only for their data.
// Secret data is base64; a value that does not decode is named by key only.
std::optional<ConfigData> ReadConfigData(const Json& object, const std::string& kind, FieldErrors& errors) {
  ConfigData config;
  config.kind = kind;
  if (object.value("apiVersion", Json()) != Json("v1")) {
    errors.push_back({"apiVersion", "must be \"v1\" for a " + kind});
  }
  const Json metadata = object.value("metadata", Json::object());
  if (!metadata.is_object()) {
    errors.push_back({"metadata", "must be an object"});
    return std::nullopt;
  }
  config.metadata = DecodeObjectMeta(metadata);
  if (config.metadata.name.empty()) {
    errors.push_back({"metadata.name", "required"});
  } else {
    for (const std::string& p : IsDNS1123Subdomain(config.metadata.name)) {
      errors.push_back({"metadata.name", "invalid value " + QuoteValue(config.metadata.name) + ": " + p});
    }
  }
  const bool secret = kind == "Secret";
  // `into_data` false: checked, but not env material (Kubernetes env reads a
  // ConfigMap's data only, never its binaryData).
  auto read_map = [&](const char* field, bool base64, bool into_data = true) {
    if (!object.contains(field) || object[field].is_null()) return;
    if (!object[field].is_object()) {
      errors.push_back({field, "must be a map of key to string"});
      return;
    }
    for (const auto& [key, value] : object[field].items()) {
      std::string path = KeyPath(field, key);
      for (const std::string& p : IsConfigMapKey(key)) errors.push_back({path, "invalid key: " + p});
      if (!value.is_string()) {
        errors.push_back({path, "must be a string, got " + std::string(value.type_name())});
        continue;
      }
      if (base64) {
        std::optional<std::string> decoded = DecodeBase64(value.get<std::string>());
        if (!decoded) {
          // Never quote the value: it may be a secret.
          errors.push_back({path, "is not valid base64: encode the value (base64 -w0) or use stringData"});
          continue;
        }
        if (into_data) config.data[key] = *decoded;
      } else {
        config.data[key] = value.get<std::string>();
      }
    }
  };
  if (secret) {
    read_map("data", true);
    read_map("stringData", false);  // wins over data, as in the API server
  } else {
    read_map("data", false);
    read_map("binaryData", true, /*into_data=*/false);
  }
  for (const auto& [name, value] : object.items()) {
    static const std::vector<std::string> kSecretFields = {"apiVersion", "kind", "metadata", "data",
                                                           "stringData", "type", "immutable"};
    static const std::vector<std::string> kConfigMapFields = {"apiVersion", "kind",       "metadata",
                                                              "data",       "binaryData", "immutable"};
    const auto& known = secret ? kSecretFields : kConfigMapFields;
    if (std::find(known.begin(), known.end(), name) == known.end()) errors.push_back({name, "unknown field"});
  }
  if (!errors.empty()) return std::nullopt;
  return config;
}

void AddDocument(Manifests& into, const SourceRef& source, const Json& object) {
  const std::string object_name = ObjectName(object);
  auto problem = [&](FieldError e) { into.problems.push_back({source, object_name, std::move(e)}); };
  if (!object.is_object()) {
    problem({"", std::string("a manifest must be an object with apiVersion and kind, got ") + object.type_name()});
    return;
  }
  const Json kind = object.value("kind", Json());
  if (!kind.is_string()) {
    problem({"kind", "required: ContainerTask, TaskQueue, Secret or ConfigMap"});
    return;
  }
  const std::string k = kind.get<std::string>();
  if (k == kKind) {
    DecodedTask decoded = LoadContainerTask(object);
    if (decoded.errors.empty()) {
      into.tasks.push_back({std::move(decoded.task), source});
    } else {
      for (FieldError& e : decoded.errors) problem(std::move(e));
    }
  } else if (k == kTaskQueueKind) {
    DecodedTaskQueue decoded = LoadTaskQueue(object);
    if (decoded.errors.empty()) {
      into.queues.push_back(std::move(decoded.queue));
    } else {
      for (FieldError& e : decoded.errors) problem(std::move(e));
    }
  } else if (k == "Secret" || k == "ConfigMap") {
    FieldErrors errors;
    std::optional<ConfigData> config = ReadConfigData(object, k, errors);
    for (FieldError& e : errors) problem(std::move(e));
    if (config) into.configs.push_back(std::move(*config));
  } else {
    problem(
        {"kind", "unsupported kind " + QuoteValue(k) + ": ctask reads ContainerTask, TaskQueue, Secret and ConfigMap"});
  }
}

}  // namespace

std::string ManifestProblem::ToString() const {
  std::string out;
  auto add = [&out](const std::string& part) {
    if (!out.empty()) out += ": ";
    out += part;
  };
  if (!source.file.empty()) add(source.file);
  if (source.document > 0) add("doc " + std::to_string(source.document));
  if (!object.empty()) add(object);
  add(error.ToString());
  return out;
}

void AddManifestText(Manifests& into, const std::string& file, std::string_view text) {
  Result<std::vector<Document>> docs = ParseDocuments(text);
  if (!docs) {
    into.problems.push_back({{file, 0}, "", {"", docs.error().message()}});
    return;
  }
  for (const Document& doc : *docs) AddDocument(into, {file, doc.index}, doc.value);
}

Manifests LoadManifestFiles(const std::vector<std::string>& paths) {
  Manifests out;
  for (const std::string& path : paths) {
    Result<std::vector<Document>> docs = ReadDocumentsFile(path);
    if (!docs) {
      // ReadDocumentsFile's messages name the path already.
      out.problems.push_back({{"", 0}, "", {"", docs.error().message()}});
      continue;
    }
    if (docs->empty()) {
      out.problems.push_back({{path, 0}, "", {"", "no documents: the file is empty"}});
      continue;
    }
    for (const Document& doc : *docs) AddDocument(out, {path, doc.index}, doc.value);
  }
  return out;
}

}  // namespace ctask::api
