// The ContainerTask API (group ctask.io, version v1alpha1) as C++ values.
//
// These structs are plain data: no behaviour, no I/O. They mirror the CRD's
// OpenAPI schema (src/api/schema.cc) field for field; tests/api/schema_sync_test
// fails when the two drift apart. Optional fields are std::optional so "unset"
// and "zero" stay distinct, as in the Kubernetes Go types. After Decode() has
// applied the schema's defaults, fields with a default are always set.
//
// Secrets: the API never holds secret values. env[].valueFrom names a Secret
// key; values are resolved only at the Docker edge (render/docker_container).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/quantity.h"
#include "util/time.h"

namespace ctask::api {

inline constexpr const char* kGroup = "ctask.io";
inline constexpr const char* kVersion = "v1alpha1";
inline constexpr const char* kApiVersion = "ctask.io/v1alpha1";
inline constexpr const char* kKind = "ContainerTask";
inline constexpr const char* kPlural = "containertasks";
inline constexpr const char* kTaskQueueKind = "TaskQueue";
inline constexpr const char* kTaskQueuePlural = "taskqueues";

// Whole seconds since the epoch, serialized as RFC 3339 ("2026-11-23T09:17:20Z")
// like metav1.Time.
using Timestamp = ctask::Timestamp;

struct ObjectMeta {
  std::string name;
  std::string namespace_;  // "namespace" is a keyword
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> finalizers;
  std::optional<Timestamp> creation_timestamp;
  std::optional<Timestamp> deletion_timestamp;
};

// ---- spec ----------------------------------------------------------------

struct SecretKeySelector {
  std::string name;  // the Secret, in the task's namespace
  std::string key;
  bool optional = false;
};

struct ConfigMapKeySelector {
  std::string name;
  std::string key;
  bool optional = false;
};

struct EnvVarSource {
  std::optional<SecretKeySelector> secret_key_ref;
  std::optional<ConfigMapKeySelector> config_map_key_ref;
};

struct EnvVar {
  std::string name;
  std::optional<std::string> value;
  std::optional<EnvVarSource> value_from;
};

struct LocalObjectReference {
  std::string name;
  bool optional = false;
};

struct EnvFromSource {
  std::string prefix;
  std::optional<LocalObjectReference> secret_ref;
  std::optional<LocalObjectReference> config_map_ref;
};

// Resource names a task may request or limit.
inline constexpr const char* kResourceCpu = "cpu";
inline constexpr const char* kResourceMemory = "memory";
inline constexpr const char* kResourceEphemeralStorage = "ephemeral-storage";

using ResourceList = std::map<std::string, Quantity>;

struct ResourceRequirements {
  ResourceList requests;
  ResourceList limits;
};

struct RetryPolicy {
  // Exit codes that warrant another attempt. Empty: every failure of the
  // container retries (non-zero exit, OOMKilled); a deadline or an invalid
  // spec never does.
  std::vector<int32_t> on_exit_codes;
  int32_t backoff_seconds = 10;  // before the first retry; doubles, capped
};

struct EmptyDirWorkspace {
  std::optional<Quantity> size_limit;
};

struct PvcWorkspace {
  std::string claim_name;
  bool read_only = false;
};

struct HostPathWorkspace {  // Docker backend only, and only where policy allows
  std::string path;
  bool read_only = false;
};

struct DockerVolumeWorkspace {  // Docker backend only
  std::string name;
};

// Exactly one source is set (schema rule).
struct Workspace {
  std::string mount_path = "/workspace";
  std::optional<EmptyDirWorkspace> empty_dir;
  std::optional<PvcWorkspace> persistent_volume_claim;
  std::optional<HostPathWorkspace> host_path;
  std::optional<DockerVolumeWorkspace> docker_volume;
};

struct SecurityContext {
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  std::optional<bool> run_as_non_root;
  bool read_only_root_filesystem = false;
};

struct Toleration {
  std::string key;
  std::string operator_ = "Equal";  // Equal | Exists
  std::string value;
  std::string effect;  // "" (all) | NoSchedule | PreferNoSchedule | NoExecute
  std::optional<int64_t> toleration_seconds;
};

struct NetworkSpec {
  // No network at all: a deny-all NetworkPolicy in Kubernetes, network mode
  // "none" in Docker.
  bool isolated = false;
};

struct LogSpec {
  int32_t tail_lines = 20;               // kept in status.logTail
  bool archive = true;                   // keep the full log as an artifact
  int64_t archive_limit_bytes = 524288;  // beyond this the artifact is cut and marked
};

// Fan-out (docs/fan-out.md): how many of a fan-out task's items must
// succeed. Unset min_succeeded: all of them.
struct SuccessPolicy {
  std::optional<int32_t> min_succeeded;
};

struct ContainerTaskSpec {
  std::string image;
  std::string image_pull_policy;  // Always | IfNotPresent | Never; "" = by tag, as Kubernetes
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::string working_dir;
  std::vector<EnvVar> env;
  std::vector<EnvFromSource> env_from;
  ResourceRequirements resources;

  std::optional<int64_t> timeout_seconds;  // whole task from admission, pending time included
  int64_t pending_timeout_seconds = 300;   // stuck before start -> Failed
  int32_t retries = 0;                     // extra attempts
  RetryPolicy retry_policy;
  std::optional<int64_t> ttl_seconds_after_finished;           // task and all it owns
  std::optional<int64_t> workload_ttl_seconds_after_finished;  // Job/pods or container only

  bool suspend = false;
  bool cancel = false;  // one-way: once true, the task ends Cancelled

  // Admission (docs/queues.md): the queue, in the task's namespace, whose
  // limits it waits under; and its place there (higher first).
  std::string queue_name = "default";
  int32_t priority = 0;

  // Fan-out (docs/fan-out.md): run the container once per item (index 0 to
  // completions-1, or one per entry of items), at most `parallelism` at once,
  // each item with its own retries. Neither set: one container, as before.
  std::optional<int32_t> completions;
  std::vector<std::string> items;
  std::optional<int32_t> parallelism;  // unset: 1
  std::optional<SuccessPolicy> success_policy;
  bool fail_fast = false;  // the first item that fails for good stops the rest
  // Dependencies: tasks in the same namespace that must have succeeded
  // before this one is admitted (docs/fan-out.md).
  std::vector<std::string> run_after;

  std::optional<Workspace> workspace;
  SecurityContext security_context;
  std::string service_account_name;
  std::map<std::string, std::string> node_selector;
  std::vector<Toleration> tolerations;
  std::string priority_class_name;
  std::map<std::string, std::string> pod_labels;
  std::map<std::string, std::string> pod_annotations;
  NetworkSpec network;
  LogSpec logs;
};

// ---- status --------------------------------------------------------------

namespace phase {
inline constexpr const char* kPending = "Pending";
inline constexpr const char* kQueued = "Queued";
inline constexpr const char* kRunning = "Running";
inline constexpr const char* kSucceeded = "Succeeded";
inline constexpr const char* kFailed = "Failed";
inline constexpr const char* kCancelled = "Cancelled";
inline constexpr const char* kSuspended = "Suspended";
}  // namespace phase

// metav1.Condition.
struct Condition {
  std::string type;
  std::string status;  // True | False | Unknown
  int64_t observed_generation = 0;
  Timestamp last_transition_time;
  std::string reason;
  std::string message;
};

struct AttemptStatus {
  int32_t attempt = 0;
  std::string job_name;
  std::string pod_name;
  std::string container_id;
  std::optional<int32_t> exit_code;
  std::string reason;
  std::optional<Timestamp> start_time;
  std::optional<Timestamp> completion_time;
};

struct LogArtifact {
  std::string kind;  // ConfigMap | File
  std::string name;  // ConfigMap name, or file path in the local store
  int64_t size_bytes = 0;
  std::string sha256;
  bool truncated = false;
};

// The results of a fan-out task's items: each finished item's termination
// message, in one JSON document (docs/fan-out.md).
struct ResultsArtifact {
  std::string kind;  // ConfigMap | File
  std::string name;  // ConfigMap name, or file path in the local store
  int64_t size_bytes = 0;
  std::string sha256;
  int32_t items = 0;       // items with a result recorded
  bool truncated = false;  // some results were cut to fit
};

struct Artifacts {
  std::optional<LogArtifact> log;
  std::optional<ResultsArtifact> results;
};

// One item of a fan-out task in its status: every item in progress, and a
// bounded number of finished ones (the failures first).
struct ItemStatus {
  int32_t index = 0;
  std::string item;  // the item's value, cut for display
  std::string phase;
  std::string reason;
  std::string message;
  int32_t attempts = 0;
  int32_t failures = 0;   // failed attempts; retries count these
  bool admitted = false;  // holds a slot of its queue
  std::optional<int32_t> exit_code;
  std::optional<Timestamp> admission_time;
  std::optional<Timestamp> start_time;
  std::optional<Timestamp> last_failure_time;  // when the last failed attempt ended: the retry backoff runs from it
  std::optional<Timestamp> completion_time;
  std::string job_name;
  std::string pod_name;
  std::string container_id;
};

// A fan-out task's items: counts, the finished indexes as ranges
// ("0-3,7"), and the bounded per-item list.
struct FanOutStatus {
  int32_t total = 0;
  int32_t waiting = 0;  // not started: held back by parallelism or waiting for a slot
  int32_t active = 0;   // admitted: starting, running, or between retries
  int32_t succeeded = 0;
  int32_t failed = 0;
  int32_t cancelled = 0;  // stopped before they finished: the task was cancelled or finished without them
  std::string succeeded_indexes;
  std::string failed_indexes;
  std::string cancelled_indexes;
  std::vector<ItemStatus> items;
};

struct ContainerTaskStatus {
  std::string phase;
  std::string reason;
  std::string message;
  int64_t observed_generation = 0;
  std::vector<Condition> conditions;
  std::optional<Timestamp> start_time;
  std::optional<Timestamp> completion_time;
  std::optional<Timestamp> admission_time;  // when its queue last gave it a slot
  std::optional<int32_t> exit_code;
  int32_t attempts = 0;
  std::vector<AttemptStatus> history;
  std::string job_name;
  std::string pod_name;
  std::string container_id;
  std::string log_tail;
  // The attempt whose whole output log_tail and artifacts.log hold: once
  // it names the last attempt, nothing more will be written.
  int32_t log_attempt = 0;
  std::string result;
  Artifacts artifacts;
  std::optional<FanOutStatus> fan_out;
};

// One item of a fan-out task as the operator runs it: the task seen as that
// item's own (status/fan_out.h builds the view). In memory only: never
// encoded or stored, so it is not part of the API.
struct ItemRef {
  int32_t index = 0;
  std::optional<std::string> value;  // spec.items[index]; unset with completions
  int32_t count = 0;                 // how many items the task has
  // The item's failed attempts before this pass, and when the last ended:
  // its retries and backoff count from these (the view has no history).
  int32_t prior_failures = 0;
  std::optional<Timestamp> last_failure_time;
};

struct ContainerTask {
  ObjectMeta metadata;
  ContainerTaskSpec spec;
  ContainerTaskStatus status;
  std::optional<ItemRef> item;  // set only on an item's view (above)
};

// A TaskQueue: the limits of one queue of tasks in its namespace
// (docs/queues.md).
struct TaskQueue {
  ObjectMeta metadata;
  std::optional<int32_t> max_running;  // unset: the operator's default
};

// Secrets and ConfigMaps that come with tasks in the same files (for the
// Docker backend) or are read from the cluster. Values are decoded bytes.
struct ConfigData {
  std::string kind;  // Secret | ConfigMap
  ObjectMeta metadata;
  std::map<std::string, std::string> data;
};

}  // namespace ctask::api
