// The ContainerTask OpenAPI v3 schema: the one source of truth for the API's
// shape. From it come
//   - the CRD in crds/ (ContainerTaskCrd(); `ctask crd` prints it and a test
//     fails when the checked-in file differs),
//   - structural validation and defaulting in C++ (schema_check.h), which
//     apply the same rules the API server applies, so `ctask validate` and
//     `kubectl apply` agree,
//   - the field reference in docs/api.md (api_reference.h).
// The C++ structs in types.h are kept in step by tests/api/schema_sync_test.
//
// Rules spanning fields are CEL (x-kubernetes-validations) for the API server;
// each has a C++ twin in validate.cc with the same message, checked by test.
#pragma once

#include <string>

#include "api/json.h"

namespace ctask::api {

// Bounds the status computation must respect; the schema states them too.
inline constexpr size_t kMaxMessageLength = 1024;
inline constexpr size_t kMaxLogTailBytes = 4096;
inline constexpr size_t kMaxResultBytes = 4096;
inline constexpr size_t kMaxHistoryEntries = 20;

// Fan-out bounds (docs/fan-out.md). The spec carries every item, so the
// items together stay well inside the API server's object limit; the status
// lists every item in progress (at most kMaxParallelism) and a bounded
// number of finished ones, so it stays far below it at kMaxItems items.
inline constexpr int32_t kMaxItems = 10000;
inline constexpr size_t kMaxItemBytes = 4096;
inline constexpr size_t kMaxItemsTotalBytes = 512 * 1024;
inline constexpr int32_t kMaxParallelism = 500;
inline constexpr size_t kMaxFinishedItemEntries = 50;
inline constexpr size_t kMaxItemMessageLength = 256;
inline constexpr size_t kMaxItemDisplayBytes = 64;
inline constexpr int kMaxRunAfter = 32;

// The messages of the CEL rules that keep a request within its limit, shared
// by the schema and their C++ twins (validate.cc).
inline constexpr const char* kRequestCpuWithinLimit = "must not be more than limits.cpu";
inline constexpr const char* kRequestMemoryWithinLimit = "must not be more than limits.memory";
inline constexpr const char* kRequestEphemeralStorageWithinLimit = "must not be more than limits.ephemeral-storage";
// ... and of the fan-out rules.
inline constexpr const char* kCompletionsOrItems = "set completions or items, not both";
inline constexpr const char* kFanOutFieldsAlone =
    "parallelism, successPolicy and failFast apply to a fan-out: set completions or items too";
inline constexpr const char* kMinSucceededWithinItems =
    "successPolicy.minSucceeded must not exceed the number of items";

// openAPIV3Schema of the ContainerTask kind (spec and status).
const Json& ContainerTaskSchema();

// The whole CustomResourceDefinition object, ready to apply.
Json ContainerTaskCrd();

// The text of crds/ctask.io_containertasks.yaml: a "generated" header, then
// the CRD as YAML. `make generate` writes it; a test compares.
std::string CrdFileText();

// The TaskQueue kind (task_queue.h): its openAPIV3Schema, its CRD, and the
// text of crds/ctask.io_taskqueues.yaml.
const Json& TaskQueueSchema();
Json TaskQueueCrd();
std::string TaskQueueCrdFileText();

// The field reference that docs/api.md holds between its GENERATED markers:
// every field with its type, default, bounds, rules and description.
std::string ApiReferenceMarkdown();

}  // namespace ctask::api
