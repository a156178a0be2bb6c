// DockerClient: the Docker Engine API calls ctask needs, over an http::Client
// (a Unix socket in practice). Each call maps HTTP outcomes onto error codes
// by what the caller should do: 404 -> kNotFound, 409 -> kConflict, 400 ->
// kInvalidArgument, 5xx and no daemon -> kUnavailable. Messages carry the
// daemon's own words; a daemon that does not answer gets one message saying
// how to start it.
//
// Thread-safety: as safe as the http::Client beneath (CurlClient: fully).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "api/json.h"
#include "docker/log_frames.h"
#include "http/client.h"
#include "util/error.h"

namespace ctask::docker {

// The API version ctask speaks: Engine 20.10 (Debian 12's docker.io). A
// newer daemon is asked for this version; an older one is refused.
inline constexpr const char* kApiVersion = "1.41";

// Where the daemon listens: $DOCKER_HOST when it is unix://PATH, else the
// default socket. Any other DOCKER_HOST (tcp://...) is refused: ctask talks
// to a local daemon only.
Result<std::string> DockerSocketPath();

class DockerClient {
 public:
  // `http` must outlive the client; `socket` names the daemon in messages.
  DockerClient(http::Client& http, std::string socket);

  // Checks the daemon answers and speaks kApiVersion or newer.
  Status Ping();

  // The image's inspect document; kNotFound when it is not present locally.
  Result<api::Json> InspectImage(const std::string& image);

  // Pulls `image`; on_progress gets each progress message (one JSON object per
  // line from the daemon), for a terminal display. An error inside the stream
  // (manifest unknown, no registry reachable) is kNotFound / kUnavailable.
  Status PullImage(const std::string& image, const std::function<void(const api::Json&)>& on_progress);

  // Creates a container named `name` from `body`; returns its ID.
  // kConflict when the name is taken (the caller adopts the existing one).
  Result<std::string> CreateContainer(const std::string& name, const api::Json& body);

  // Running already: success. Beware: an exited container is run again, so
  // callers that must run an attempt once inspect its state first.
  Status StartContainer(const std::string& id);

  // The inspect document; kNotFound when absent.
  Result<api::Json> InspectContainer(const std::string& id_or_name);

  // SIGTERM, then SIGKILL after `grace`. Stopped already: success.
  Status StopContainer(const std::string& id, std::chrono::seconds grace);

  // Removes it and its anonymous volumes; absent: success.
  Status RemoveContainer(const std::string& id, bool force);

  // Containers (running or not) carrying every label given ("key" or "key=value").
  Result<std::vector<api::Json>> ListContainers(const std::vector<std::string>& labels);

  // Blocks until the container exits; returns its exit code.
  Result<int64_t> WaitContainer(const std::string& id, std::stop_token stop = {});

  // Streams the container's output from the start (follow: until it exits),
  // demultiplexed. `stop` ends a follow early.
  Status Logs(const std::string& id, bool follow, const LogCallback& on_data, std::stop_token stop = {});

 private:
  std::string Url(const std::string& path) const;
  Result<http::Response> Call(const std::string& method, const std::string& path, const std::string& body = "",
                              std::chrono::milliseconds timeout = std::chrono::seconds(60));
  Error ToError(const http::Response& response, const std::string& what) const;
  Error Unreachable(const Error& cause) const;

  http::Client& http_;
  std::string socket_;
};

}  // namespace ctask::docker
