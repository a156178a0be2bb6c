#include "api/schema_check.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "api/patterns.h"

namespace ctask::api {
namespace {

std::string TypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    default:
      return "value";
  }
}

bool HasType(const Json& value, std::string_view type) {
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  return false;
}

std::string Article(std::string_view type) {
  return (type == "integer" || type == "object" || type == "array") ? "an " : "a ";
}

// A short rendering of a value for messages: scalars quoted and cut, the
// rest named by type. Never the whole value: it may be large.
std::string Shown(const Json& value) {
  if (value.is_string()) return QuoteValue(value.get_ref<const std::string&>());
  if (value.is_number() || value.is_boolean() || value.is_null()) return value.dump();
  return TypeName(value);
}

// std::regex is compiled once per pattern; patterns come from our own schema,
// so the set is small and fixed.
const std::regex& CompiledPattern(const std::string& pattern) {
  static std::mutex mu;
  static std::map<std::string, std::regex> cache;  // guarded by mu
  std::lock_guard lock(mu);
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern, std::regex::ECMAScript)).first;
  return it->second;
}

// Levenshtein distance, for "did you mean" on unknown fields.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      size_t cost =
          (std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1])))
              ? 0
              : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string UnknownFieldMessage(const std::string& field, const Json& properties) {
  std::string best;
  size_t best_distance = 3;  // suggest only near misses
  for (const auto& [name, unused] : properties.items()) {
    if (field.size() > 64) break;
    size_t d = EditDistance(field, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  std::string message = "unknown field";
  if (!best.empty()) message += "; did you mean \"" + best + "\"?";
  return message;
}

class Checker {
 public:
  FieldErrors Take() { return std::move(errors_); }

  void Check(const Json& value, const Json& schema, const std::string& path) {
    if (value.is_null()) {
      // An explicit null is "unset" for optional fields, as in Kubernetes.
      return;
    }
    if (schema.contains("x-kubernetes-int-or-string")) {
      if (!value.is_number_integer() && !value.is_string()) {
        std::string message = "must be an integer or a string, got " + TypeName(value);
        if (value.is_primitive()) message += " " + Shown(value);
        if (value.is_number()) message += ": quote it to make it a string";
        Add(path, std::move(message));
        return;
      }
    } else if (schema.contains("type")) {
      const std::string& type = schema["type"].get_ref<const std::string&>();
      if (!HasType(value, type)) {
        std::string message = "must be " + Article(type) + type + ", got " + TypeName(value);
        if (value.is_primitive()) message += " " + Shown(value);
        // YAML reads yes, on, 5432 and 1.0 as booleans and numbers.
        if (type == "string" && (value.is_boolean() || value.is_number())) message += ": quote it to make it text";
        Add(path, std::move(message));
        return;
      }
    }
    if (value.is_string()) CheckString(value.get_ref<const std::string&>(), schema, path);
    if (value.is_number()) CheckNumber(value, schema, path);
    if (value.is_array()) CheckArray(value, schema, path);
    if (value.is_object()) CheckObject(value, schema, path);
  }

 private:
  void Add(const std::string& path, std::string message) { errors_.push_back({path, std::move(message)}); }

  void CheckString(const std::string& s, const Json& schema, const std::string& path) {
    if (schema.contains("enum")) {
      if (std::find(schema["enum"].begin(), schema["enum"].end(), Json(s)) == schema["enum"].end()) {
        std::string allowed;
        for (const Json& v : schema["enum"]) {
          if (!allowed.empty()) allowed += ", ";
          allowed += "\"" + v.get<std::string>() + "\"";
        }
        Add(path, "unsupported value " + QuoteValue(s) + ": use one of " + allowed);
      }
      return;
    }
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<size_t>()) {
      Add(path, s.empty() ? "must not be empty" : "must be at least " + schema["minLength"].dump() + " characters");
      return;
    }
    if (schema.contains("maxLength") && s.size() > schema["maxLength"].get<size_t>()) {
      Add(path, "must be at most " + schema["maxLength"].dump() + " characters, got " + std::to_string(s.size()));
      return;  // a pattern is only tried on bounded input
    }
    if (schema.contains("pattern")) {
      const std::string& pattern = schema["pattern"].get_ref<const std::string&>();
      if (!std::regex_search(s, CompiledPattern(pattern))) {
        Add(path, "invalid value " + QuoteValue(s) + ": " + DescribePattern(pattern));
      }
    }
  }

  void CheckNumber(const Json& value, const Json& schema, const std::string& path) {
    if (!value.is_number_integer()) return;
    // An unsigned beyond int64 is out of every bound we state.
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      Add(path, "must be at most " + (schema.contains("maximum") ? schema["maximum"].dump() : std::string("2^63-1")));
      return;
    }
    int64_t n = value.get<int64_t>();
    if (schema.contains("minimum") && n < schema["minimum"].get<int64_t>()) {
      Add(path, "must be at least " + schema["minimum"].dump() + ", got " + std::to_string(n));
    } else if (schema.contains("maximum") && n > schema["maximum"].get<int64_t>()) {
      Add(path, "must be at most " + schema["maximum"].dump() + ", got " + std::to_string(n));
    }
  }

  void CheckArray(const Json& value, const Json& schema, const std::string& path) {
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>()) {
      Add(path, "must have at most " + schema["maxItems"].dump() + " items, got " + std::to_string(value.size()));
      return;
    }
    if (schema.contains("items")) {
      for (size_t i = 0; i < value.size(); ++i) Check(value[i], schema["items"], IndexPath(path, i));
    }
    std::string list_type = schema.value("x-kubernetes-list-type", "");
    if (list_type == "set") {
      std::set<std::string> seen;
      for (size_t i = 0; i < value.size(); ++i) {
        if (!seen.insert(value[i].dump()).second) Add(IndexPath(path, i), "duplicate value " + Shown(value[i]));
      }
    } else if (list_type == "map" && schema.contains("x-kubernetes-list-map-keys")) {
      std::set<std::string> seen;
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_object()) continue;
        std::string key;
        for (const Json& k : schema["x-kubernetes-list-map-keys"]) {
          key += value[i].value(k.get<std::string>(), Json()).dump() + "/";
        }
        if (!seen.insert(key).second) {
          const std::string first_key = schema["x-kubernetes-list-map-keys"][0].get<std::string>();
          Add(ChildPath(IndexPath(path, i), first_key),
              "duplicate " + Shown(value[i].value(first_key, Json())) + ": each " + first_key + " may appear once");
        }
      }
    }
  }

  void CheckObject(const Json& value, const Json& schema, const std::string& path) {
    if (schema.contains("maxProperties") && value.size() > schema["maxProperties"].get<size_t>()) {
      Add(path,
          "must have at most " + schema["maxProperties"].dump() + " entries, got " + std::to_string(value.size()));
      return;
    }
    if (schema.contains("required")) {
      for (const Json& r : schema["required"]) {
        const std::string& name = r.get_ref<const std::string&>();
        if (!value.contains(name) || value[name].is_null()) Add(ChildPath(path, name), "required");
      }
    }
    if (schema.contains("properties")) {
      const Json& properties = schema["properties"];
      for (const auto& [name, field] : value.items()) {
        if (properties.contains(name)) {
          Check(field, properties[name], ChildPath(path, name));
        } else if (!schema.contains("x-kubernetes-preserve-unknown-fields")) {
          Add(ChildPath(path, name), UnknownFieldMessage(name, properties));
        }
      }
    } else if (schema.contains("additionalProperties")) {
      for (const auto& [key, field] : value.items()) Check(field, schema["additionalProperties"], KeyPath(path, key));
    }
  }

  FieldErrors errors_;
};

}  // namespace

FieldErrors CheckAgainstSchema(const Json& value, const Json& schema, std::string_view path) {
  Checker checker;
  checker.Check(value, schema, std::string(path));
  return checker.Take();
}

void ApplySchemaDefaults(Json& value, const Json& schema) {
  if (value.is_object() && schema.contains("properties")) {
    for (const auto& [name, field_schema] : schema["properties"].items()) {
      if ((!value.contains(name) || value[name].is_null()) && field_schema.contains("default")) {
        value[name] = field_schema["default"];
      }
      if (value.contains(name)) ApplySchemaDefaults(value[name], field_schema);
    }
  } else if (value.is_object() && schema.contains("additionalProperties") &&
             schema["additionalProperties"].is_object()) {
    for (auto& [key, field] : value.items()) ApplySchemaDefaults(field, schema["additionalProperties"]);
  } else if (value.is_array() && schema.contains("items")) {
    for (Json& item : value) ApplySchemaDefaults(item, schema["items"]);
  }
}

std::string DescribePattern(std::string_view pattern) {
  for (const NamedPattern& named : kAllPatterns) {
    if (pattern == named.regex) return named.description;
  }
  return "must match the pattern '" + std::string(pattern) + "'";
}

}  // namespace ctask::api
