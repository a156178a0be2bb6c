// Test helpers that derive objects from the schema itself, so the tests grow
// with the schema instead of being kept in step by hand:
//   MaximalSample(schema): a value with every property set to a valid,
//     non-default value (CEL rules aside);
//   Walk(schema): every property path with its schema, for mutation tests.
#pragma once

#include <functional>
#include <string>

#include "api/json.h"
#include "api/patterns.h"
#include "util/field_error.h"

namespace ctask::api::testing {

inline Json SampleString(const Json& schema) {
  if (schema.contains("enum")) {
    for (const Json& v : schema["enum"]) {
      if (v != "") return v;
    }
  }
  if (schema.value("format", "") == "date-time") return "2026-11-23T09:17:20Z";
  if (schema.contains("pattern")) {
    for (const NamedPattern& p : kAllPatterns) {
      if (schema["pattern"] == p.regex) return p.example;
    }
  }
  return "sample";
}

inline Json MaximalSample(const Json& schema) {
  if (schema.contains("x-kubernetes-int-or-string")) return "1Gi";
  const std::string type = schema.value("type", "");
  if (type == "string") return SampleString(schema);
  if (type == "integer") {
    // Not the minimum and not a default: a value only a working decoder keeps.
    int64_t lo = schema.value("minimum", int64_t{0});
    int64_t hi = schema.value("maximum", int64_t{1000});
    int64_t v = std::min(hi, lo + 2);
    if (schema.contains("default") && schema["default"] == v) v = std::max(lo, v - 1);
    return v;
  }
  if (type == "boolean") return !schema.value("default", false);
  if (type == "array") return Json::array({MaximalSample(schema["items"])});
  if (type == "object" && schema.contains("properties")) {
    Json out = Json::object();
    for (const auto& [name, sub] : schema["properties"].items()) out[name] = MaximalSample(sub);
    return out;
  }
  if (type == "object") return Json::object({{"example.com/key", "value"}});
  return nullptr;
}

// Calls visit(path, schema) for every node below `schema`, depth first.
// Array items appear as "path[0]", map values as "path[example.com/key]",
// matching MaximalSample's shape.
inline void Walk(const Json& schema, const std::string& path,
                 const std::function<void(const std::string&, const Json&)>& visit) {
  visit(path, schema);
  if (schema.contains("properties")) {
    for (const auto& [name, sub] : schema["properties"].items()) Walk(sub, ChildPath(path, name), visit);
  }
  if (schema.contains("items")) Walk(schema["items"], IndexPath(path, 0), visit);
  if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object()) {
    Walk(schema["additionalProperties"], KeyPath(path, "example.com/key"), visit);
  }
}

// The JSON pointer for a Walk path ("spec.env[0].name" -> "/spec/env/0/name").
inline Json::json_pointer Pointer(const std::string& path) {
  std::string out;
  std::string token;
  auto flush = [&] {
    if (token.empty()) return;
    out += '/';
    for (char c : token) out += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
    token.clear();
  };
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '.') {
      flush();
    } else if (path[i] == '[') {
      flush();
      size_t end = path.find(']', i);
      token = path.substr(i + 1, end - i - 1);
      flush();
      i = end;
    } else {
      token += path[i];
    }
  }
  flush();
  return Json::json_pointer(out);
}

}  // namespace ctask::api::testing
