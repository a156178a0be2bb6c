#include "status/item_results.h"

#include "api/json.h"
#include "util/utf8.h"

namespace ctask::status {
namespace {

using api::Json;

Json EncodeItem(const ItemResult& r, size_t result_limit) {
  Json e = Json::object();
  e["index"] = r.index;
  if (!r.item.empty()) e["item"] = r.item;
  e["phase"] = r.phase;
  e["reason"] = r.reason;
  if (r.exit_code) e["exitCode"] = *r.exit_code;
  e["attempts"] = r.attempts;
  const bool cut = r.result.size() > result_limit;
  e["result"] = cut ? CutWithEllipsis(r.result, std::max<size_t>(result_limit, 4)) : r.result;
  if (cut || r.truncated) e["truncated"] = true;
  return e;
}

std::string Dump(std::string_view task_name, int32_t total, const ItemResults& results, size_t result_limit) {
  Json doc = Json::object();
  doc["task"] = std::string(task_name);
  doc["total"] = total;
  Json items = Json::array();
  for (const auto& [index, r] : results) items.push_back(EncodeItem(r, result_limit));
  doc["items"] = std::move(items);
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

ItemResult DecodeItem(const Json& e) {
  ItemResult r;
  r.index = e["index"].get<int32_t>();
  r.item = e.value("item", "");
  r.phase = e.value("phase", "");
  r.reason = e.value("reason", "");
  if (e.contains("exitCode") && e["exitCode"].is_number_integer()) r.exit_code = e["exitCode"].get<int32_t>();
  r.attempts = e.value("attempts", 0);
  r.result = e.value("result", "");
  r.truncated = e.value("truncated", false);
  return r;
}

}  // namespace

ResultsDocument EncodeResults(std::string_view task_name, int32_t total, const ItemResults& results, size_t limit) {
  ResultsDocument out;
  out.text = Dump(task_name, total, results, SIZE_MAX);
  if (out.text.size() <= limit || results.empty()) return out;
  // Too large: every result gets an equal share of what the rest leaves.
  const size_t bare = Dump(task_name, total, results, 0).size();
  const size_t share = bare >= limit ? 0 : (limit - bare) / results.size();
  out.text = Dump(task_name, total, results, share);
  out.truncated = true;
  return out;
}

ItemResults DecodeResults(std::string_view text) {
  ItemResults out;
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("items") || !doc["items"].is_array()) return out;
  for (const Json& e : doc["items"]) {
    if (!e.is_object() || !e.contains("index") || !e["index"].is_number_integer()) continue;
    try {
      out[e["index"].get<int32_t>()] = DecodeItem(e);
    } catch (const Json::exception&) {
      continue;  // a field of the wrong type: this item is left out
    }
  }
  return out;
}

}  // namespace ctask::status
