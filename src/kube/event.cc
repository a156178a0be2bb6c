#include "kube/event.h"

#include <cstdint>
#include <cstdio>

#include "api/names.h"
#include "util/time.h"
#include "util/utf8.h"

namespace ctask::kube {
namespace {

// A name may be at most this long (a DNS subdomain).
constexpr size_t kMaxNameBytes = 253;

std::string StringField(const api::Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string TruncateUtf8(std::string_view text, size_t max_bytes) {
  std::string valid = ToValidUtf8(text);
  if (valid.size() <= max_bytes) return valid;
  size_t cut = max_bytes;
  // Back to the start of the character the cut falls in.
  while (cut > 0 && (static_cast<unsigned char>(valid[cut]) & 0xC0) == 0x80) --cut;
  valid.resize(cut);
  return valid;
}

api::Json MakeEvent(const api::Json& involved_object, std::string_view type, std::string_view reason,
                    std::string_view message, std::string_view component, std::chrono::system_clock::time_point now,
                    std::string_view instance) {
  const api::Json empty = api::Json::object();
  const api::Json& metadata =
      involved_object.is_object() && involved_object.contains("metadata") ? involved_object["metadata"] : empty;
  const std::string name = StringField(metadata, "name");
  const std::string ns = StringField(metadata, "namespace");

  api::Json reference = api::Json::object();
  for (const auto& [key, value] : {std::pair{"apiVersion", StringField(involved_object, "apiVersion")},
                                   std::pair{"kind", StringField(involved_object, "kind")}, std::pair{"name", name},
                                   std::pair{"namespace", ns}, std::pair{"uid", StringField(metadata, "uid")},
                                   std::pair{"resourceVersion", StringField(metadata, "resourceVersion")}}) {
    if (!value.empty()) reference[key] = value;
  }

  // client-go: fmt.Sprintf("%v.%x", ref.Name, t.UnixNano()). The object's
  // name is shortened when the whole would be too long for a name.
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%llx", static_cast<unsigned long long>(static_cast<uint64_t>(nanos)));
  std::string event_name = name.substr(0, kMaxNameBytes - std::string_view(suffix).size()) + suffix;

  const std::string stamp = FormatRfc3339(std::chrono::floor<std::chrono::seconds>(now));
  api::Json source = {{"component", component}};
  if (!instance.empty()) source["host"] = instance;
  api::Json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", event_name}, {"namespace", api::NamespaceOrDefault(ns)}}},
      {"involvedObject", reference},
      {"reason", reason},
      {"message", TruncateUtf8(message, kMaxEventMessageBytes)},
      {"source", source},
      {"firstTimestamp", stamp},
      {"lastTimestamp", stamp},
      {"eventTime", nullptr},
      {"count", 1},
      {"type", type},
      {"reportingComponent", component},
      {"reportingInstance", instance},
  };
  return event;
}

}  // namespace ctask::kube
