// Generates the field reference of docs/api.md from the schema, so the docs
// state exactly the defaults and bounds the API server and ctask enforce.
#include <string>

#include "api/document.h"
#include "api/schema.h"
#include "api/schema_check.h"
#include "util/field_error.h"

namespace ctask::api {
namespace {

std::string TypeOf(const Json& schema) {
  if (schema.contains("x-kubernetes-int-or-string")) return "quantity";
  std::string type = schema.value("type", "");
  if (type == "array" && schema.contains("items")) {
    const Json& items = schema["items"];
    return (items.value("type", "") == "object" ? std::string("[]object") : "[]" + TypeOf(items));
  }
  if (type == "object" && schema.contains("additionalProperties")) return "map[string]string";
  if (schema.value("format", "") == "date-time") return "time";
  return type;
}

std::string Bounds(const Json& schema) {
  std::string out;
  auto add = [&out](const std::string& part) {
    if (!out.empty()) out += "; ";
    out += part;
  };
  if (schema.contains("enum")) {
    std::string values;
    for (const Json& v : schema["enum"]) {
      if (!values.empty()) values += ", ";
      const std::string value = v.get<std::string>();
      values += value.empty() ? "`\"\"`" : "`" + value + "`";
    }
    add("one of " + values);
  }
  if (schema.contains("minimum") && schema.contains("maximum")) {
    add(schema["minimum"].dump() + " to " + schema["maximum"].dump());
  }
  if (schema.contains("minLength")) add("not empty");
  if (schema.contains("maxLength")) add("at most " + schema["maxLength"].dump() + " characters");
  if (schema.contains("maxItems")) add("at most " + schema["maxItems"].dump() + " items");
  if (schema.contains("maxProperties")) add("at most " + schema["maxProperties"].dump() + " entries");
  if (schema.contains("pattern")) add(DescribePattern(schema["pattern"].get<std::string>()));
  const std::string list_type = schema.value("x-kubernetes-list-type", "");
  if (list_type == "set") add("no duplicates");
  if (list_type == "map") add("unique by " + schema["x-kubernetes-list-map-keys"][0].get<std::string>());
  return out;
}

std::string Cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

void Rows(const Json& schema, const std::string& path, const std::vector<std::string>& required, std::string& out) {
  if (!schema.contains("properties")) return;
  std::vector<std::string> own_required;
  if (schema.contains("required")) {
    for (const Json& r : schema["required"]) own_required.push_back(r);
  }
  for (const auto& [name, sub] : schema["properties"].items()) {
    const std::string field = path.empty() ? name : path + "." + name;
    const bool is_required = std::find(own_required.begin(), own_required.end(), name) != own_required.end();
    std::string def = sub.contains("default") ? "`" + sub["default"].dump() + "`" : "";
    std::string description = sub.value("description", "");
    if (sub.contains("x-kubernetes-validations")) {
      for (const Json& rule : sub["x-kubernetes-validations"]) {
        description += " Rule: " + rule["message"].get<std::string>() + ".";
      }
    }
    out += "| `" + field + "`" + (is_required ? " (required)" : "") + " | " + TypeOf(sub) + " | " + def + " | " +
           Cell(Bounds(sub)) + " | " + Cell(description) + " |\n";
    if (sub.value("type", "") == "array" && sub.contains("items")) {
      Rows(sub["items"], field + "[]", required, out);
    } else {
      Rows(sub, field, required, out);
    }
  }
}

}  // namespace

std::string ApiReferenceMarkdown() {
  std::string out;
  for (const char* part : {"spec", "status"}) {
    const Json& schema = ContainerTaskSchema()["properties"][part];
    out += std::string("### ") + part + "\n\n";
    out += schema.value("description", "") + "\n\n";
    if (schema.contains("x-kubernetes-validations")) {
      for (const Json& rule : schema["x-kubernetes-validations"]) {
        out += "Rule: " + rule["message"].get<std::string>() + ".\n\n";
      }
    }
    out += "| Field | Type | Default | Bounds | Description |\n|---|---|---|---|---|\n";
    Rows(schema, part, {}, out);
    out += "\n";
  }
  const Json& queue = TaskQueueSchema();
  out += "### TaskQueue\n\n" + queue.value("description", "") + "\n\n";
  out += "| Field | Type | Default | Bounds | Description |\n|---|---|---|---|---|\n";
  Rows(queue["properties"]["spec"], "spec", {}, out);
  out += "\n";
  return out;
}

std::string CrdFileText() {
  return "# Generated from src/api/schema.cc by `make generate` (ctask crd). Do not edit.\n" +
         ToYaml(ContainerTaskCrd());
}

std::string TaskQueueCrdFileText() {
  return "# Generated from src/api/schema.cc by `make generate` (ctask crd). Do not edit.\n" + ToYaml(TaskQueueCrd());
}

}  // namespace ctask::api
