// ContainerTask (+ the Secrets and ConfigMaps given with it) -> the body of a
// Docker Engine "create container" request (POST /containers/create). Pure.
//
// Env is resolved here, at the edge: secretKeyRef/configMapKeyRef and envFrom
// take their values from `configs`. A missing Secret, ConfigMap or key that is
// not optional is an error naming the object and key, never the value: secret
// values may appear only in the returned body's Env, nowhere else.
//
// HostConfig carries the security defaults (CapDrop ALL, no-new-privileges,
// PidsLimit), Memory and NanoCpus from limits, read-only rootfs when asked,
// NetworkMode none for an isolated task, and mounts only as the policy allows.
#pragma once

#include <string>
#include <vector>

#include "api/json.h"
#include "api/types.h"
#include "util/error.h"

namespace ctask::render {

// What the operator's administrator allows Docker tasks to do.
struct DockerPolicy {
  // Host directories a task may bind-mount (spec.workspace.hostPath): a path
  // is allowed when it equals or lies below one of these. Empty: none.
  std::vector<std::string> allowed_host_paths;
  bool allow_docker_volumes = true;
  int64_t pids_limit = 1024;
  // The host file bind-mounted at /dev/termination-log (the kubelet's
  // terminationMessagePath), one per container; empty: none.
  std::string termination_log;
  // A task with runAfter: its input files on the host (path, file name),
  // each bind-mounted read-only at /ctask/inputs/<file name>.
  std::vector<std::pair<std::string, std::string>> inputs;
};

// Where a container writes its result (its termination message), as in
// Kubernetes.
inline constexpr const char* kTerminationLogPath = "/dev/termination-log";

struct DockerContainer {
  std::string name;  // DerivedContainerName(namespace, task, attempt)
  api::Json body;    // the create request body; all UTF-8, so dump() cannot throw
  // Names of the Env entries whose values came from Secrets (directly, or by
  // $(VAR) expansion of one), so whoever shows the body (ctask render) can
  // redact them.
  std::vector<std::string> secret_env;
};

Result<DockerContainer> RenderDockerContainer(const api::ContainerTask& task, int attempt,
                                              const std::vector<api::ConfigData>& configs, const DockerPolicy& policy);

}  // namespace ctask::render
