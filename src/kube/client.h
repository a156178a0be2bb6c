// KubeClient: the Kubernetes API verbs ctask uses, over an http::Client.
//
// One object per API server. Objects travel as JSON (the API's own shape);
// typed views live with their users (api/codec.h for ContainerTasks). Every
// request passes the client-side rate limiter, carries the bearer token the
// TokenProvider gives at that moment (so a rotated service-account token is
// picked up), and is bounded by ClientOptions::request_timeout unless it is a
// stream (watch, followed logs), which is bounded by its stop token and the
// server's timeoutSeconds instead.
//
// Errors (api_error.h): the code says how to react (kConflict: re-read and
// retry; kExpired: list afresh; kUnavailable: back off and retry), and the
// Error carries the HTTP status and the API's Status reason; the message
// names the verb and the object. Nothing is retried here: retry policy
// belongs to the caller (the reflector, the work queue).
//
// Thread-safety: safe to call from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "http/client.h"
#include "kube/rate_limiter.h"
#include "kube/resource.h"
#include "kube/watch_decoder.h"
#include "util/clock.h"
#include "util/error.h"

namespace ctask::kube {

// The field manager ctask's writes are recorded under (server-side apply,
// and the fieldManager of every other write).
inline constexpr const char* kFieldManager = "ctask";

struct ClientOptions {
  // Client-side rate limit; qps <= 0 disables it. client-go's defaults are
  // 5/10, and kube-controller-manager's 20/30; a task costs about five
  // requests (docs/architecture.md), so 100/200 lets the operator start
  // some 20 tasks a second. The API server's own guard is API Priority and
  // Fairness: a service account's requests share the workload-low level,
  // and beyond its share they wait or get 429, which the client retries.
  double qps = 100;
  int burst = 200;
  // Bounds every request that is not a stream.
  std::chrono::milliseconds request_timeout{30'000};
  std::string user_agent = "ctask";
  // Optional: called after every request the transport made, with its verb
  // and HTTP status (0 when no response arrived: connection failure,
  // timeout), e.g. to count requests by code. The verb is the API verb:
  // "get", "list", "watch", "create", "update" (status updates included),
  // "patch", "apply", "delete", "logs", or the lower-case method for Call.
  // A stream (watch, logs) is reported when it ends; one that delivered data
  // and was then cut counts as 200. Runs on the calling thread: keep it quick
  // and thread-safe. Requests never sent (stopped while rate-limited, no
  // token) are not reported.
  std::function<void(std::string_view verb, int http_status)> on_request;
  // The rate limiter's time and waits; must outlive the client.
  const Clock* clock = &RealClock();
};

// The bearer token to send now, or "" for none (client certificates).
using TokenProvider = std::function<Result<std::string>()>;

struct ListOptions {
  std::string label_selector;  // "app=x,tier!=db"
  std::string field_selector;  // "metadata.name=x"
  int64_t limit = 0;           // page size; 0 = everything in one response
  std::string continue_token;  // from the previous page
  std::string resource_version;
  std::string resource_version_match;  // "NotOlderThan", "Exact"
};

struct ObjectList {
  // Each item with apiVersion and kind filled in (the API server leaves them
  // out of list items).
  std::vector<api::Json> items;
  std::string resource_version;  // the list's: where a watch resumes
  std::string continue_token;    // "" on the last page
};

// fieldValidation: what the server does with a field it does not know.
// "Strict" refuses the write (422) naming the field: ctask writes objects it
// renders itself, so an unknown field is a bug to surface, not to drop
// silently (the server's default, "Warn", prunes it). "" = the server's.
inline constexpr const char* kStrictFieldValidation = "Strict";

struct WriteOptions {
  bool dry_run = false;  // dryRun=All: validated and defaulted, not stored
  std::string field_manager = kFieldManager;
  std::string field_validation = kStrictFieldValidation;
};

struct ApplyOptions {
  std::string field_manager = kFieldManager;
  bool force = true;  // take fields another manager owns (a controller owns its objects)
  bool dry_run = false;
  std::string field_validation = kStrictFieldValidation;
};

struct DeleteOptions {
  std::string propagation_policy;  // "Foreground", "Background", "Orphan"; "" = the resource's default
  std::string precondition_uid;    // delete only this incarnation of the name
  std::string precondition_resource_version;
  std::optional<int64_t> grace_period_seconds;
  bool dry_run = false;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  // Where to start: a list's resourceVersion. "" starts from "now" with
  // synthetic ADDED events for what exists (avoid: a reflector lists first).
  std::string resource_version;
  bool allow_bookmarks = true;
  // The server ends the stream after this long (client-go picks 5-10 min at
  // random so that watchers do not reconnect in lockstep); 0 = the server's.
  int timeout_seconds = 0;
  // Fields of each event's object never built as it is parsed
  // (kube/watch_decoder.h).
  std::vector<FieldPath> skipped_fields;
};

struct LogOptions {
  std::string container;  // "" = the pod's only container
  bool follow = false;
  bool timestamps = false;  // each line starts with an RFC 3339 nano timestamp and a space
  std::string since_time;   // RFC 3339; the server has second precision here
  std::optional<int64_t> tail_lines;
  std::optional<int64_t> limit_bytes;
};

class KubeClient {
 public:
  // `server` as "https://127.0.0.1:6443" (a trailing slash is dropped).
  KubeClient(http::ClientPtr transport, std::string server, TokenProvider token, ClientOptions options = {});

  Result<api::Json> Get(const Resource& resource, std::string_view ns, std::string_view name,
                        std::string_view subresource = {});

  // One page (options.limit, options.continue_token).
  Result<ObjectList> List(const Resource& resource, std::string_view ns, const ListOptions& options = {});

  // Every page, following continue tokens; `page_size` objects per request.
  // kExpired when a continue token expired mid-way: start again. `each`,
  // when set, is applied to every item as its page arrives: a caller that
  // keeps only part of each object (an informer's transform) then holds one
  // page of whole objects at a time, not the whole list.
  Result<ObjectList> ListAll(const Resource& resource, std::string_view ns, ListOptions options = {},
                             int64_t page_size = 500, const std::function<void(api::Json&)>& each = {});

  Result<api::Json> Create(const Resource& resource, std::string_view ns, const api::Json& object,
                           const WriteOptions& options = {});

  // PUT of the whole object, named by its metadata.name. The object's
  // metadata.resourceVersion makes it conditional: a stale one is kConflict.
  Result<api::Json> Update(const Resource& resource, std::string_view ns, const api::Json& object,
                           const WriteOptions& options = {});

  // PUT of the status subresource: only .status is taken from `object`.
  Result<api::Json> UpdateStatus(const Resource& resource, std::string_view ns, const api::Json& object,
                                 const WriteOptions& options = {});

  // RFC 7386 JSON merge patch (null deletes a field).
  Result<api::Json> MergePatch(const Resource& resource, std::string_view ns, std::string_view name,
                               const api::Json& patch, std::string_view subresource = {},
                               const WriteOptions& options = {});

  // Server-side apply of `object` (apiVersion, kind, metadata.name set): the
  // fields it names become owned by options.field_manager.
  Result<api::Json> Apply(const Resource& resource, std::string_view ns, const api::Json& object,
                          const ApplyOptions& options = {}, std::string_view subresource = {});

  Status Delete(const Resource& resource, std::string_view ns, std::string_view name,
                const DeleteOptions& options = {});

  // Streams events to `on_event` until the server closes the stream
  // (success: resume from the last resourceVersion seen), `stop` is
  // requested or on_event returns false (kCancelled), or an error. A
  // resourceVersion too old is kExpired whether the server says so with HTTP
  // 410 or with an ERROR event inside the stream.
  Status Watch(const Resource& resource, std::string_view ns, const WatchOptions& options,
               const std::function<bool(WatchEvent&)>& on_event, std::stop_token stop = {});

  // A pod's log; with options.follow, streamed to on_data until the
  // container stops, the server ends it, or `stop`. See log_follower.h for
  // following across stream breaks.
  Status StreamLogs(std::string_view ns, std::string_view pod, const LogOptions& options,
                    const http::DataCallback& on_data, std::stop_token stop = {});
  Result<std::string> Logs(std::string_view ns, std::string_view pod, LogOptions options);

  // A log read run on a StreamLoop (kube/log_streams.h), in three parts:
  // the caller's turn under the rate limit, taken without blocking (how long
  // until it comes: the caller schedules the request then); the request as
  // StreamLogs sends it; and its outcome worded and counted as StreamLogs
  // does (`got_data`: some of a 2xx body arrived).
  std::chrono::nanoseconds ReserveTurn();
  Result<http::Request> LogRequest(std::string_view ns, std::string_view pod, const LogOptions& options);
  Status LogOutcome(std::string_view ns, std::string_view pod, const Result<http::Response>& response, bool got_data);
  // The transport's loop (http::Client::NewStreamLoop); null when it has none.
  std::unique_ptr<http::StreamLoop> NewStreamLoop();

  // A raw call under the same rate limit, token and error mapping: for
  // paths the verbs above do not cover (/readyz, /version, token requests).
  // `content_type` is required with a body.
  Result<api::Json> Call(std::string_view method, std::string_view path_and_query, std::string_view what,
                         const api::Json* body = nullptr, std::string_view content_type = {});

  const std::string& server() const { return server_; }

 private:
  // The request without waiting for the rate limiter.
  Result<http::Request> BuildRequest(std::string_view method, std::string_view path_and_query,
                                     const std::stop_token& stop);
  Result<http::Request> NewRequest(std::string_view method, std::string_view path_and_query,
                                   const std::stop_token& stop);
  // Call with the verb on_request reports.
  Result<api::Json> CallVerb(std::string_view verb, std::string_view method, std::string_view path_and_query,
                             std::string_view what, const api::Json* body = nullptr,
                             std::string_view content_type = {});
  Result<api::Json> Send(const http::Request& request, std::string_view what, std::string_view verb);
  // Tells options_.on_request, when set.
  void Report(std::string_view verb, int http_status) const;

  const http::ClientPtr transport_;
  const std::string server_;
  const TokenProvider token_;
  const ClientOptions options_;
  RateLimiter limiter_;
};

using KubeClientPtr = std::unique_ptr<KubeClient>;

// `get containertasks.ctask.io "demo" in namespace "dev"`: how messages
// name an object.
std::string Describe(std::string_view verb, const Resource& resource, std::string_view ns, std::string_view name = {});

}  // namespace ctask::kube
