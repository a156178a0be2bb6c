#include "docker/client.h"

#include <cstdlib>

#include "docker/log_frames.h"
#include "util/field_error.h"

namespace ctask::docker {
namespace {

constexpr const char* kDefaultSocket = "/var/run/docker.sock";

// Path and query components are ours or Docker object names, which are
// [a-zA-Z0-9_.:/@-]; anything else is percent-encoded.
std::string Escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string DaemonMessage(const http::Response& response) {
  api::Json body = api::Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("message") && body["message"].is_string()) {
    return body["message"].get<std::string>();
  }
  std::string text = response.body.substr(0, 200);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "HTTP " + std::to_string(response.status) : text;
}

}  // namespace

Result<std::string> DockerSocketPath() {
  const char* host = std::getenv("DOCKER_HOST");
  if (host == nullptr || *host == '\0') return std::string(kDefaultSocket);
  const std::string value = host;
  if (value.starts_with("unix://")) return value.substr(7);
  return InvalidArgument("DOCKER_HOST=" + QuoteValue(value) +
                         " is not a unix:// socket: ctask talks to a local Docker daemon only");
}

DockerClient::DockerClient(http::Client& http, std::string socket) : http_(http), socket_(std::move(socket)) {}

std::string DockerClient::Url(const std::string& path) const {
  return std::string("http://docker/v") + kApiVersion + path;
}

Error DockerClient::Unreachable(const Error& cause) const {
  if (cause.code() != ErrorCode::kUnavailable) return cause;
  return Error(ErrorCode::kUnavailable, "cannot reach the Docker daemon at unix://" + socket_ + " (" + cause.message() +
                                            "): start it with `make docker-up` (hack/docker-up.sh), or point "
                                            "DOCKER_HOST at a running daemon's socket");
}

Error DockerClient::ToError(const http::Response& response, const std::string& what) const {
  const std::string message = what + ": " + DaemonMessage(response);
  switch (response.status) {
    case 400:
      return Error(ErrorCode::kInvalidArgument, message);
    case 401:
    case 403:
      return Error(ErrorCode::kPermissionDenied, message);
    case 404:
      return Error(ErrorCode::kNotFound, message);
    case 409:
      return Error(ErrorCode::kConflict, message);
    default:
      return Error(response.status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInternal, message);
  }
}

Result<http::Response> DockerClient::Call(const std::string& method, const std::string& path, const std::string& body,
                                          std::chrono::milliseconds timeout) {
  http::Request request;
  request.method = method;
  request.url = Url(path);
  request.timeout = timeout;
  if (!body.empty() || method == "POST") {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = body;
  }
  Result<http::Response> response = http_.Do(request);
  if (!response) return std::unexpected(Unreachable(response.error()));
  return response;
}

Status DockerClient::Ping() {
  http::Request request;
  request.url = "http://docker/version";
  request.timeout = std::chrono::seconds(10);
  Result<http::Response> response = http_.Do(request);
  if (!response) return std::unexpected(Unreachable(response.error()));
  if (response->status != 200) return std::unexpected(ToError(*response, "docker version"));
  api::Json version = api::Json::parse(response->body, nullptr, false);
  const std::string api = version.is_object() ? version.value("ApiVersion", "") : "";
  auto number = [](const std::string& v) {
    const size_t dot = v.find('.');
    if (dot == std::string::npos) return 0;
    return std::atoi(v.substr(0, dot).c_str()) * 1000 + std::atoi(v.substr(dot + 1).c_str());
  };
  if (number(api) < number(kApiVersion)) {
    return MakeError(ErrorCode::kFailedPrecondition, "the Docker daemon speaks API " + QuoteValue(api) +
                                                         "; ctask needs " + kApiVersion +
                                                         " or newer (Docker Engine 20.10+)");
  }
  return {};
}

Result<api::Json> DockerClient::InspectImage(const std::string& image) {
  Result<http::Response> r = Call("GET", "/images/" + Escape(image) + "/json");
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(ToError(*r, "image " + QuoteValue(image)));
  return api::Json::parse(r->body, nullptr, false);
}

Status DockerClient::PullImage(const std::string& image, const std::function<void(const api::Json&)>& on_progress) {
  http::Request request;
  request.method = "POST";
  request.url = Url("/images/create?fromImage=" + Escape(image));
  std::string pending;
  std::string stream_error;
  Result<http::Response> r = http_.Stream(request, [&](std::string_view chunk) {
    pending.append(chunk);
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      api::Json line = api::Json::parse(pending.substr(0, newline), nullptr, false);
      pending.erase(0, newline + 1);
      if (!line.is_object()) continue;
      if (line.contains("error") && line["error"].is_string()) stream_error = line["error"].get<std::string>();
      if (on_progress) on_progress(line);
    }
    return true;
  });
  if (!r) return std::unexpected(Unreachable(r.error()));
  if (r->status != 200) return std::unexpected(ToError(*r, "pull " + QuoteValue(image)));
  if (!stream_error.empty()) {
    return MakeError(ErrorCode::kNotFound, "pull " + QuoteValue(image) + ": " + stream_error);
  }
  return {};
}

Result<std::string> DockerClient::CreateContainer(const std::string& name, const api::Json& body) {
  Result<http::Response> r = Call("POST", "/containers/create?name=" + Escape(name), body.dump());
  if (!r) return std::unexpected(r.error());
  if (r->status != 201) return std::unexpected(ToError(*r, "create container " + QuoteValue(name)));
  api::Json created = api::Json::parse(r->body, nullptr, false);
  if (!created.is_object() || !created.contains("Id") || !created["Id"].is_string()) {
    return MakeError(ErrorCode::kInternal, "create container " + QuoteValue(name) + ": the daemon returned no Id");
  }
  return created["Id"].get<std::string>();
}

Status DockerClient::StartContainer(const std::string& id) {
  Result<http::Response> r = Call("POST", "/containers/" + Escape(id) + "/start");
  if (!r) return std::unexpected(r.error());
  if (r->status != 204 && r->status != 304) return std::unexpected(ToError(*r, "start container " + QuoteValue(id)));
  return {};
}

Result<api::Json> DockerClient::InspectContainer(const std::string& id) {
  Result<http::Response> r = Call("GET", "/containers/" + Escape(id) + "/json");
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(ToError(*r, "container " + QuoteValue(id)));
  return api::Json::parse(r->body, nullptr, false);
}

Status DockerClient::StopContainer(const std::string& id, std::chrono::seconds grace) {
  Result<http::Response> r = Call("POST", "/containers/" + Escape(id) + "/stop?t=" + std::to_string(grace.count()), "",
                                  grace + std::chrono::seconds(30));
  if (!r) return std::unexpected(r.error());
  if (r->status != 204 && r->status != 304 && r->status != 404) {
    return std::unexpected(ToError(*r, "stop container " + QuoteValue(id)));
  }
  return {};
}

Status DockerClient::RemoveContainer(const std::string& id, bool force) {
  Result<http::Response> r = Call("DELETE", "/containers/" + Escape(id) + "?v=true" + (force ? "&force=true" : ""));
  if (!r) return std::unexpected(r.error());
  if (r->status != 204 && r->status != 404) return std::unexpected(ToError(*r, "remove container " + QuoteValue(id)));
  return {};
}

Result<std::vector<api::Json>> DockerClient::ListContainers(const std::vector<std::string>& labels) {
  api::Json filters = api::Json::object();
  filters["label"] = labels;
  Result<http::Response> r = Call("GET", "/containers/json?all=true&filters=" + Escape(filters.dump()));
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(ToError(*r, "list containers"));
  api::Json list = api::Json::parse(r->body, nullptr, false);
  if (!list.is_array()) return MakeError(ErrorCode::kInternal, "list containers: the daemon returned no list");
  return std::vector<api::Json>(list.begin(), list.end());
}

Result<int64_t> DockerClient::WaitContainer(const std::string& id, std::stop_token stop) {
  http::Request request;
  request.method = "POST";
  request.url = Url("/containers/" + Escape(id) + "/wait");
  request.stop = stop;
  Result<http::Response> r = http_.Do(request);
  if (!r) return std::unexpected(Unreachable(r.error()));
  if (r->status != 200) return std::unexpected(ToError(*r, "wait for container " + QuoteValue(id)));
  api::Json body = api::Json::parse(r->body, nullptr, false);
  if (!body.is_object() || !body.contains("StatusCode") || !body["StatusCode"].is_number_integer()) {
    return MakeError(ErrorCode::kInternal, "wait for container " + QuoteValue(id) + ": no StatusCode");
  }
  return body["StatusCode"].get<int64_t>();
}

Status DockerClient::Logs(const std::string& id, bool follow, const LogCallback& on_data, std::stop_token stop) {
  http::Request request;
  request.url = Url("/containers/" + Escape(id) + "/logs?stdout=true&stderr=true" + (follow ? "&follow=true" : ""));
  request.stop = stop;
  LogDemuxer demuxer;
  Status frame_error;
  Result<http::Response> r = http_.Stream(request, [&](std::string_view chunk) {
    frame_error = demuxer.Feed(chunk, on_data);
    return frame_error.has_value();
  });
  if (!frame_error) return frame_error;
  if (!r) return std::unexpected(Unreachable(r.error()));
  if (r->status != 200) return std::unexpected(ToError(*r, "logs of container " + QuoteValue(id)));
  return {};
}

}  // namespace ctask::docker
