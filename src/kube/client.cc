#include "kube/client.h"

#include <cctype>
#include <utility>

#include "http/stream_loop.h"
#include "kube/api_error.h"

namespace ctask::kube {
namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kMergePatch = "application/merge-patch+json";
// Server-side apply takes YAML; JSON is YAML.
constexpr const char* kApplyPatch = "application/apply-patch+yaml";

std::string Quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

std::string WriteQuery(const WriteOptions& options) {
  return QueryString({{"dryRun", options.dry_run ? "All" : ""},
                      {"fieldManager", options.field_manager},
                      {"fieldValidation", options.field_validation}});
}

Result<std::string> NameOf(const api::Json& object, std::string_view verb, const Resource& resource) {
  const api::Json* metadata = object.is_object() && object.contains("metadata") ? &object["metadata"] : nullptr;
  if (metadata == nullptr || !metadata->is_object() || !metadata->contains("name") ||
      !(*metadata)["name"].is_string() || (*metadata)["name"].get<std::string>().empty()) {
    return InvalidArgument(std::string(verb) + " " + resource.QualifiedName() +
                           ": metadata.name is required in the object");
  }
  return (*metadata)["name"].get<std::string>();
}

// A string field of `object`; "" when absent or of another type (Json::value
// would throw on the latter, and server answers and callers' objects are
// not trusted to be well-formed).
std::string StringField(const api::Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool IsSuccess(int status) {
  return status >= 200 && status < 300;
}

}  // namespace

std::string Describe(std::string_view verb, const Resource& resource, std::string_view ns, std::string_view name) {
  std::string out(verb);
  out += " " + resource.QualifiedName();
  if (!name.empty()) out += " " + Quoted(name);
  if (resource.namespaced) out += ns.empty() ? " in all namespaces" : " in namespace " + Quoted(ns);
  return out;
}

KubeClient::KubeClient(http::ClientPtr transport, std::string server, TokenProvider token, ClientOptions options)
    : transport_(std::move(transport)),
      server_([&] {
        while (!server.empty() && server.back() == '/') server.pop_back();
        return std::move(server);
      }()),
      token_(std::move(token)),
      options_(std::move(options)),
      limiter_(options_.qps, options_.burst, *options_.clock) {}

Result<http::Request> KubeClient::NewRequest(std::string_view method, std::string_view path_and_query,
                                             const std::stop_token& stop) {
  if (!limiter_.Wait(stop)) return MakeError(ErrorCode::kCancelled, "stopped while waiting for the rate limiter");
  return BuildRequest(method, path_and_query, stop);
}

Result<http::Request> KubeClient::BuildRequest(std::string_view method, std::string_view path_and_query,
                                               const std::stop_token& stop) {
  http::Request request;
  request.method = std::string(method);
  request.url = server_ + std::string(path_and_query);
  request.headers.emplace_back("Accept", kJson);
  request.headers.emplace_back("User-Agent", options_.user_agent);
  if (token_) {
    Result<std::string> token = token_();
    if (!token) return std::unexpected(token.error());
    if (!token->empty()) request.headers.emplace_back("Authorization", "Bearer " + *token);
  }
  request.timeout = options_.request_timeout;
  request.stop = stop;
  return request;
}

void KubeClient::Report(std::string_view verb, int http_status) const {
  if (options_.on_request) options_.on_request(verb, http_status);
}

Result<api::Json> KubeClient::Send(const http::Request& request, std::string_view what, std::string_view verb) {
  Result<http::Response> response = transport_->Do(request);
  Report(verb, response ? response->status : 0);
  if (!response) return std::unexpected(response.error().WithContext(what));
  if (!IsSuccess(response->status)) return std::unexpected(ErrorFromResponse(what, *response));
  if (response->body.empty()) return api::Json();
  api::Json parsed = api::Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return MakeError(ErrorCode::kUnavailable, std::string(what) + ": the API server's answer is not JSON (" +
                                                  std::to_string(response->body.size()) + " bytes)");
  }
  return parsed;
}

Result<api::Json> KubeClient::Call(std::string_view method, std::string_view path_and_query, std::string_view what,
                                   const api::Json* body, std::string_view content_type) {
  std::string verb(method);
  for (char& c : verb) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return CallVerb(verb, method, path_and_query, what, body, content_type);
}

Result<api::Json> KubeClient::CallVerb(std::string_view verb, std::string_view method, std::string_view path_and_query,
                                       std::string_view what, const api::Json* body, std::string_view content_type) {
  Result<http::Request> request = NewRequest(method, path_and_query, {});
  if (!request) return std::unexpected(request.error().WithContext(what));
  if (body != nullptr) {
    request->headers.emplace_back("Content-Type", std::string(content_type.empty() ? kJson : content_type));
    request->body = body->dump();
  }
  return Send(*request, what, verb);
}

Result<api::Json> KubeClient::Get(const Resource& resource, std::string_view ns, std::string_view name,
                                  std::string_view subresource) {
  return CallVerb("get", "GET", ResourcePath(resource, ns, name, subresource), Describe("get", resource, ns, name));
}

Result<ObjectList> KubeClient::List(const Resource& resource, std::string_view ns, const ListOptions& options) {
  const std::string query = QueryString({
      {"labelSelector", options.label_selector},
      {"fieldSelector", options.field_selector},
      {"limit", options.limit > 0 ? std::to_string(options.limit) : ""},
      {"continue", options.continue_token},
      {"resourceVersion", options.resource_version},
      {"resourceVersionMatch", options.resource_version_match},
  });
  const std::string what = Describe("list", resource, ns);
  Result<api::Json> body = CallVerb("list", "GET", ResourcePath(resource, ns) + query, what);
  if (!body) return std::unexpected(body.error());
  if (!body->is_object() || !body->contains("items") || !((*body)["items"].is_array() || (*body)["items"].is_null())) {
    return MakeError(ErrorCode::kUnavailable, what + ": the API server's answer is not a list");
  }
  ObjectList list;
  const api::Json& metadata = body->contains("metadata") ? (*body)["metadata"] : api::Json::object();
  if (metadata.is_object()) {
    list.resource_version = StringField(metadata, "resourceVersion");
    list.continue_token = StringField(metadata, "continue");
  }
  if ((*body)["items"].is_array()) {
    list.items.reserve((*body)["items"].size());
    for (api::Json& item : (*body)["items"]) {
      if (!item.is_object()) continue;
      // apiVersion and kind first, as the API writes objects.
      api::Json filled = {{"apiVersion", resource.ApiVersion()}, {"kind", resource.kind}};
      for (auto& [key, value] : item.items()) {
        if (key != "apiVersion" && key != "kind") filled[key] = std::move(value);
      }
      list.items.push_back(std::move(filled));
    }
  }
  return list;
}

Result<ObjectList> KubeClient::ListAll(const Resource& resource, std::string_view ns, ListOptions options,
                                       int64_t page_size, const std::function<void(api::Json&)>& each) {
  options.limit = page_size;
  options.continue_token.clear();
  ObjectList all;
  while (true) {
    Result<ObjectList> page = List(resource, ns, options);
    if (!page) return std::unexpected(page.error());
    for (api::Json& item : page->items) {
      if (each) each(item);
      all.items.push_back(std::move(item));
    }
    // Every page is a snapshot at the first page's resourceVersion; the
    // last page's is the same, and it is where a watch continues.
    all.resource_version = page->resource_version;
    if (page->continue_token.empty()) break;
    options.continue_token = page->continue_token;
    // A continued list must not name a resourceVersion of its own.
    options.resource_version.clear();
    options.resource_version_match.clear();
  }
  return all;
}

Result<api::Json> KubeClient::Create(const Resource& resource, std::string_view ns, const api::Json& object,
                                     const WriteOptions& options) {
  std::string name;
  if (object.is_object() && object.contains("metadata")) name = StringField(object["metadata"], "name");
  return CallVerb("create", "POST", ResourcePath(resource, ns) + WriteQuery(options),
                  Describe("create", resource, ns, name), &object, kJson);
}

Result<api::Json> KubeClient::Update(const Resource& resource, std::string_view ns, const api::Json& object,
                                     const WriteOptions& options) {
  Result<std::string> name = NameOf(object, "update", resource);
  if (!name) return std::unexpected(name.error());
  return CallVerb("update", "PUT", ResourcePath(resource, ns, *name) + WriteQuery(options),
                  Describe("update", resource, ns, *name), &object, kJson);
}

Result<api::Json> KubeClient::UpdateStatus(const Resource& resource, std::string_view ns, const api::Json& object,
                                           const WriteOptions& options) {
  Result<std::string> name = NameOf(object, "update status of", resource);
  if (!name) return std::unexpected(name.error());
  return CallVerb("update", "PUT", ResourcePath(resource, ns, *name, "status") + WriteQuery(options),
                  Describe("update status of", resource, ns, *name), &object, kJson);
}

Result<api::Json> KubeClient::MergePatch(const Resource& resource, std::string_view ns, std::string_view name,
                                         const api::Json& patch, std::string_view subresource,
                                         const WriteOptions& options) {
  return CallVerb(
      "patch", "PATCH", ResourcePath(resource, ns, name, subresource) + WriteQuery(options),
      Describe(subresource.empty() ? "patch" : "patch " + std::string(subresource) + " of", resource, ns, name), &patch,
      kMergePatch);
}

Result<api::Json> KubeClient::Apply(const Resource& resource, std::string_view ns, const api::Json& object,
                                    const ApplyOptions& options, std::string_view subresource) {
  Result<std::string> name = NameOf(object, "apply", resource);
  if (!name) return std::unexpected(name.error());
  const std::string query = QueryString({{"fieldManager", options.field_manager},
                                         {"force", options.force ? "true" : ""},
                                         {"dryRun", options.dry_run ? "All" : ""},
                                         {"fieldValidation", options.field_validation}});
  return CallVerb(
      "apply", "PATCH", ResourcePath(resource, ns, *name, subresource) + query,
      Describe(subresource.empty() ? "apply" : "apply " + std::string(subresource) + " of", resource, ns, *name),
      &object, kApplyPatch);
}

Status KubeClient::Delete(const Resource& resource, std::string_view ns, std::string_view name,
                          const DeleteOptions& options) {
  api::Json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  }
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  if (options.dry_run) body["dryRun"] = api::Json::array({"All"});
  Result<api::Json> deleted = CallVerb("delete", "DELETE", ResourcePath(resource, ns, name),
                                       Describe("delete", resource, ns, name), &body, kJson);
  if (!deleted) return std::unexpected(deleted.error());
  return {};
}

Status KubeClient::Watch(const Resource& resource, std::string_view ns, const WatchOptions& options,
                         const std::function<bool(WatchEvent&)>& on_event, std::stop_token stop) {
  const std::string query = QueryString({
      {"watch", "true"},
      {"labelSelector", options.label_selector},
      {"fieldSelector", options.field_selector},
      {"resourceVersion", options.resource_version},
      {"allowWatchBookmarks", options.allow_bookmarks ? "true" : ""},
      {"timeoutSeconds", options.timeout_seconds > 0 ? std::to_string(options.timeout_seconds) : ""},
  });
  const std::string what = Describe("watch", resource, ns);
  Result<http::Request> request = NewRequest("GET", ResourcePath(resource, ns) + query, stop);
  if (!request) return std::unexpected(request.error().WithContext(what));
  request->timeout = std::chrono::milliseconds(0);  // a stream: bounded by stop and timeoutSeconds

  WatchDecoder decoder(options.skipped_fields);
  std::optional<Error> failure;  // why on_data stopped the stream, when it did
  bool caller_stopped = false;
  bool got_data = false;  // only a 2xx body is streamed
  Result<http::Response> response = transport_->Stream(*request, [&](std::string_view chunk) {
    got_data = true;
    Result<std::vector<WatchEvent>> events = decoder.Feed(chunk);
    if (!events) {
      failure = events.error().WithContext(what);
      return false;
    }
    for (WatchEvent& event : *events) {
      if (event.type == "ERROR") {
        failure = ErrorFromStatus(what, event.object, 500);
        return false;
      }
      if (!on_event(event)) {
        caller_stopped = true;
        return false;
      }
    }
    return true;
  });
  Report("watch", response ? response->status : (got_data ? 200 : 0));
  if (failure) return std::unexpected(*failure);
  if (caller_stopped) return MakeError(ErrorCode::kCancelled, what + ": stopped");
  if (!response) return std::unexpected(response.error().WithContext(what));
  if (!IsSuccess(response->status)) return std::unexpected(ErrorFromResponse(what, *response));
  return {};
}

namespace {
std::string LogQuery(const LogOptions& options) {
  return QueryString({
      {"container", options.container},
      {"follow", options.follow ? "true" : ""},
      {"timestamps", options.timestamps ? "true" : ""},
      {"sinceTime", options.since_time},
      {"tailLines", options.tail_lines ? std::to_string(*options.tail_lines) : ""},
      {"limitBytes", options.limit_bytes ? std::to_string(*options.limit_bytes) : ""},
  });
}
}  // namespace

Status KubeClient::StreamLogs(std::string_view ns, std::string_view pod, const LogOptions& options,
                              const http::DataCallback& on_data, std::stop_token stop) {
  if (!limiter_.Wait(stop)) return MakeError(ErrorCode::kCancelled, "stopped while waiting for the rate limiter");
  Result<http::Request> request = LogRequest(ns, pod, options);
  if (!request) return std::unexpected(request.error());
  request->stop = stop;
  bool got_data = false;  // only a 2xx body is streamed
  Result<http::Response> response = transport_->Stream(*request, [&](std::string_view chunk) {
    got_data = true;
    return on_data(chunk);
  });
  return LogOutcome(ns, pod, response, got_data);
}

std::chrono::nanoseconds KubeClient::ReserveTurn() {
  return limiter_.Reserve();
}

Result<http::Request> KubeClient::LogRequest(std::string_view ns, std::string_view pod, const LogOptions& options) {
  Result<http::Request> request =
      BuildRequest("GET", ResourcePath(resources::Pods(), ns, pod, "log") + LogQuery(options), {});
  if (!request)
    return std::unexpected(request.error().WithContext(Describe("read the log of", resources::Pods(), ns, pod)));
  if (options.follow) request->timeout = std::chrono::milliseconds(0);
  return request;
}

Status KubeClient::LogOutcome(std::string_view ns, std::string_view pod, const Result<http::Response>& response,
                              bool got_data) {
  const std::string what = Describe("read the log of", resources::Pods(), ns, pod);
  Report("logs", response ? response->status : (got_data ? 200 : 0));
  if (!response) return std::unexpected(response.error().WithContext(what));
  if (!IsSuccess(response->status)) return std::unexpected(ErrorFromResponse(what, *response));
  return {};
}

std::unique_ptr<http::StreamLoop> KubeClient::NewStreamLoop() {
  return transport_->NewStreamLoop();
}

Result<std::string> KubeClient::Logs(std::string_view ns, std::string_view pod, LogOptions options) {
  options.follow = false;
  std::string text;
  Status streamed = StreamLogs(ns, pod, options, [&](std::string_view chunk) {
    text.append(chunk);
    return true;
  });
  if (!streamed) return std::unexpected(streamed.error());
  return text;
}

}  // namespace ctask::kube
