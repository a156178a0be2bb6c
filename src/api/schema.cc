#include "api/schema.h"

#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "api/patterns.h"
#include "api/types.h"

namespace ctask::api {
namespace {

// ---- builders: each returns a schema node; With() adds one keyword. -------

using Props = std::initializer_list<std::pair<const char*, Json>>;

Json With(Json schema, const char* keyword, Json value) {
  schema[keyword] = std::move(value);
  return schema;
}

Json Typed(const char* type, std::string_view doc) {
  Json s = Json::object();
  s["type"] = type;
  s["description"] = std::string(doc);
  return s;
}

Json String(std::string_view doc, int max_length) {
  return With(Typed("string", doc), "maxLength", max_length);
}

Json Pattern(Json schema, const char* pattern) {
  return With(std::move(schema), "pattern", pattern);
}

Json Enum(std::string_view doc, std::initializer_list<const char*> values) {
  Json s = Typed("string", doc);
  s["enum"] = Json::array();
  for (const char* v : values) s["enum"].push_back(v);
  return s;
}

Json Integer(std::string_view doc, const char* format, int64_t minimum, int64_t maximum) {
  Json s = Typed("integer", doc);
  s["format"] = format;
  s["minimum"] = minimum;
  // The API server reads bounds as float64: 2^63-1 becomes 2^63, which its
  // int64 comparison wraps to -2^63, refusing every value. The format
  // bounds an int64 already.
  if (maximum != std::numeric_limits<int64_t>::max()) s["maximum"] = maximum;
  return s;
}

Json Bool(std::string_view doc) {
  return Typed("boolean", doc);
}

Json Object(std::string_view doc, Props properties, std::initializer_list<const char*> required = {}) {
  Json s = Typed("object", doc);
  s["properties"] = Json::object();
  for (const auto& [name, schema] : properties) s["properties"][name] = schema;
  if (required.size() > 0) {
    s["required"] = Json::array();
    for (const char* r : required) s["required"].push_back(r);
  }
  return s;
}

Json Array(std::string_view doc, Json items, int max_items) {
  Json s = Typed("array", doc);
  s["items"] = std::move(items);
  s["maxItems"] = max_items;
  return s;
}

Json StringMap(std::string_view doc, int max_value_length, int max_properties) {
  Json s = Typed("object", doc);
  Json value = Json::object();
  value["type"] = "string";
  value["maxLength"] = max_value_length;
  s["additionalProperties"] = value;
  s["maxProperties"] = max_properties;
  return s;
}

Json Rule(const char* rule, const char* message, const char* field_path = nullptr) {
  Json r = Json::object();
  r["rule"] = rule;
  r["message"] = message;
  if (field_path != nullptr) r["fieldPath"] = field_path;
  return r;
}

Json Rules(Json schema, std::initializer_list<Json> rules) {
  schema["x-kubernetes-validations"] = Json::array();
  for (const Json& r : rules) schema["x-kubernetes-validations"].push_back(r);
  return schema;
}

// Kubernetes resource.Quantity in a CRD: an int-or-string with the quantity
// pattern, as controller-gen emits it.
Json QuantitySchema(std::string_view doc) {
  Json s = Json::object();
  s["description"] = std::string(doc);
  Json as_int = Json::object();
  as_int["type"] = "integer";
  Json as_string = Json::object();
  as_string["type"] = "string";
  s["anyOf"] = Json::array({as_int, as_string});
  // The pattern bounds the string form; `minimum` the integer one (an
  // unquoted `cpu: -2` is an integer, which no pattern sees).
  s["minimum"] = 0;
  s["pattern"] = kNonNegativeQuantity.regex;
  s["x-kubernetes-int-or-string"] = true;
  return s;
}

// A resource's request may not exceed its limit, as the API server checks a
// pod. Kubernetes' CEL quantity library compares the values exactly
// (quantity("1Gi") == quantity("1024Mi")); string() takes both the integer
// and the string form. `cel_name` is the field as CEL spells it ('-' is
// __dash__). A value that is not a quantity is the pattern's to refuse.
Json RequestWithinLimitRule(const char* field, const char* cel_name, const char* message) {
  const std::string request = std::string("self.requests.") + cel_name;
  const std::string limit = std::string("self.limits.") + cel_name;
  const std::string rule = "!has(self.requests) || !has(self.limits) || !has(" + request + ") || !has(" + limit +
                           ") || !isQuantity(string(" + request + ")) || !isQuantity(string(" + limit +
                           ")) || quantity(string(" + request + ")).compareTo(quantity(string(" + limit + "))) <= 0";
  Json r = Json::object();
  r["rule"] = rule;
  r["message"] = message;
  r["fieldPath"] = std::string(".requests.") + field;
  return r;
}

Json Dns1123Name(std::string_view doc) {
  return Pattern(String(doc, 253), kDns1123Subdomain.regex);
}

Json ResourceListSchema(std::string_view doc) {
  return Object(doc, {
                         {"cpu", QuantitySchema("CPU, in cores: 2, 500m (half a core).")},
                         {"memory", QuantitySchema("Memory, in bytes: 128Mi, 1Gi, 500M.")},
                         {"ephemeral-storage", QuantitySchema("Local scratch space, in bytes: 1Gi.")},
                     });
}

Json KeyRef(const char* kind) {
  std::string doc = std::string("A key of a ") + kind + " in the task's namespace.";
  return Object(
      doc,
      {
          {"name", Dns1123Name(std::string("Name of the ") + kind + ".")},
          {"key", Pattern(String("Key within it.", 253), kConfigKey.regex)},
          {"optional",
           With(Bool("When true, a missing object or key leaves the variable unset instead of failing the task."),
                "default", false)},
      },
      {"name", "key"});
}

Json ObjectRef(const char* kind) {
  std::string doc = std::string("Every key of a ") + kind + " becomes a variable.";
  return Object(
      doc,
      {
          {"name", Dns1123Name(std::string("Name of the ") + kind + ".")},
          {"optional", With(Bool(std::string("When true, a missing ") + kind + " is ignored."), "default", false)},
      },
      {"name"});
}

// A declarative table, one entry per field: the one function allowed past
// readability-function-size's 80 lines.
Json SpecSchema() {  // NOLINT(readability-function-size)
  Json env_var = Rules(
      Object(
          "An environment variable: a literal value or a reference.",
          {
              {"name", Pattern(String("Variable name: letters, digits, '_', '-', '.'; not starting with a digit.", 256),
                               kEnvVarName.regex)},
              {"value", String("Literal value.", 32768)},
              {"valueFrom", Rules(Object("Take the value from a Secret or ConfigMap key.",
                                         {
                                             {"secretKeyRef", KeyRef("Secret")},
                                             {"configMapKeyRef", KeyRef("ConfigMap")},
                                         }),
                                  {Rule("has(self.secretKeyRef) != has(self.configMapKeyRef)",
                                        "set exactly one of secretKeyRef or configMapKeyRef")})},
          },
          {"name"}),
      {Rule("!(has(self.value) && has(self.valueFrom))", "set value or valueFrom, not both")});

  Json env_from =
      Rules(Object("Import every key of a Secret or ConfigMap as variables.",
                   {
                       {"prefix", Pattern(String("Prepended to every imported name.", 128), kEnvPrefix.regex)},
                       {"secretRef", ObjectRef("Secret")},
                       {"configMapRef", ObjectRef("ConfigMap")},
                   }),
            {Rule("has(self.secretRef) != has(self.configMapRef)", "set exactly one of secretRef or configMapRef")});

  Json retry_policy =
      Object("Which failures are retried, and how long to wait.",
             {
                 {"onExitCodes", With(With(Array("Exit codes that warrant another attempt. Empty: every failure of the "
                                                 "container (non-zero exit, OOMKilled) retries; a deadline never does.",
                                                 Integer("An exit code.", "int32", 1, 255), 64),
                                           "x-kubernetes-list-type", "set"),
                                      "default", Json::array())},
                 {"backoffSeconds",
                  With(Integer("Wait before the first retry; doubles on each further retry, up to 10 minutes.", "int32",
                               0, 3600),
                       "default", 10)},
             });

  Json workspace = Rules(
      Object("A writable directory for the task. Set exactly one source.",
             {
                 {"mountPath",
                  With(Pattern(String("Where the workspace appears in the container.", 1024), kAbsolutePath.regex),
                       "default", "/workspace")},
                 {"emptyDir", Object("A fresh, empty directory that lives as long as the attempt.",
                                     {
                                         {"sizeLimit", QuantitySchema("Largest size the directory may grow to: 1Gi.")},
                                     })},
                 {"persistentVolumeClaim", Object("An existing PersistentVolumeClaim (Kubernetes backend).",
                                                  {
                                                      {"claimName", Dns1123Name("Name of the claim.")},
                                                      {"readOnly", With(Bool("Mount read-only."), "default", false)},
                                                  },
                                                  {"claimName"})},
                 {"hostPath",
                  Object("A directory of the host, bind-mounted (Docker backend only, and only under a path "
                         "the operator's --allow-host-path list covers).",
                         {
                             {"path", Pattern(String("Absolute path on the host.", 1024), kAbsolutePath.regex)},
                             {"readOnly", With(Bool("Mount read-only."), "default", false)},
                         },
                         {"path"})},
                 {"dockerVolume", Object("A named Docker volume (Docker backend only).",
                                         {
                                             {"name", Pattern(String("Volume name.", 255), kDockerName.regex)},
                                         },
                                         {"name"})},
             }),
      {Rule("[has(self.emptyDir), has(self.persistentVolumeClaim), has(self.hostPath), "
            "has(self.dockerVolume)].filter(x, x).size() == 1",
            "set exactly one of emptyDir, persistentVolumeClaim, hostPath or dockerVolume")});

  Json security = Rules(
      Object("Who the container runs as. Whatever is set here, all capabilities are dropped, privilege "
             "escalation is off and the RuntimeDefault seccomp profile applies.",
             {
                 {"runAsUser", Integer("User ID to run as. Unset: the image's user.", "int64", 0, 2147483647)},
                 {"runAsGroup", Integer("Group ID to run as. Unset: the image's group.", "int64", 0, 2147483647)},
                 {"runAsNonRoot", Bool("Refuse to start if the container would run as root (UID 0).")},
                 {"readOnlyRootFilesystem",
                  With(Bool("Mount the image's filesystem read-only; write to the workspace."), "default", false)},
             }),
      {Rule("!(has(self.runAsNonRoot) && self.runAsNonRoot && has(self.runAsUser) && self.runAsUser == 0)",
            "runAsNonRoot is true but runAsUser is 0: remove one of them")});

  Json toleration = Rules(
      Object("Lets the pod schedule onto nodes with a matching taint.",
             {
                 {"key", String("Taint key; empty with operator Exists matches every taint.", 316)},
                 {"operator",
                  With(Enum("Equal: key and value match. Exists: key matches, any value.", {"Equal", "Exists"}),
                       "default", "Equal")},
                 {"value", String("Taint value, for operator Equal.", 63)},
                 {"effect", Enum("Taint effect to match; empty matches all.",
                                 {"", "NoSchedule", "PreferNoSchedule", "NoExecute"})},
                 {"tolerationSeconds", Integer("For NoExecute: how long the pod stays bound after the taint appears.",
                                               "int64", 0, 31536000)},
             }),
      {Rule("self.operator != 'Exists' || !has(self.value) || self.value == ''",
            "operator Exists takes no value: remove value")});

  Json spec = Object(
      "What to run, and how.",
      {
          {"image",
           Pattern(With(String("Container image, e.g. busybox:1.36 or registry.example/tool@sha256:....", 1024),
                        "minLength", 1),
                   kNoSpaces.regex)},
          {"imagePullPolicy", Enum("Always, IfNotPresent or Never. Unset: Always for :latest or untagged images, "
                                   "IfNotPresent otherwise (the Kubernetes rule).",
                                   {"Always", "IfNotPresent", "Never"})},
          {"command", Array("Entrypoint; replaces the image's. Unset: the image's entrypoint.",
                            String("An argument.", 4096), 256)},
          {"args", Array("Arguments to the entrypoint; replace the image's CMD.", String("An argument.", 4096), 256)},
          {"workingDir",
           Pattern(String("Working directory, an absolute path. Unset: the image's.", 1024), kAbsolutePath.regex)},
          {"env", With(With(Array("Environment variables.", env_var, 256), "x-kubernetes-list-type", "map"),
                       "x-kubernetes-list-map-keys", Json::array({"name"}))},
          {"envFrom", Array("Import whole Secrets or ConfigMaps as environment variables.", env_from, 32)},
          {"resources",
           Rules(Object("Compute resources. Requests are what scheduling reserves; limits are enforced "
                        "(memory beyond the limit is OOMKilled). A request may not be more than its limit.",
                        {
                            {"requests", ResourceListSchema("Amount reserved.")},
                            {"limits", ResourceListSchema("Hard ceiling.")},
                        }),
                 {RequestWithinLimitRule("cpu", "cpu", kRequestCpuWithinLimit),
                  RequestWithinLimitRule("memory", "memory", kRequestMemoryWithinLimit),
                  RequestWithinLimitRule("ephemeral-storage", "ephemeral__dash__storage",
                                         kRequestEphemeralStorageWithinLimit)})},
          {"timeoutSeconds", Integer("Deadline for the whole task from its admission (docs/queues.md): pending time "
                                     "and retries included, time queued for a slot not; then the task fails with "
                                     "DeadlineExceeded. Unset: no deadline.",
                                     "int64", 1, 2592000)},
          {"pendingTimeoutSeconds", With(Integer("How long an attempt's workload may wait to start (image pull, "
                                                 "scheduling, missing config) before the task fails naming the "
                                                 "cause. Time queued for a slot does not count.",
                                                 "int64", 1, 86400),
                                         "default", 300)},
          {"retries", With(Integer("Extra attempts after a failed one.", "int32", 0, 100), "default", 0)},
          {"retryPolicy", With(retry_policy, "default", Json::object())},
          {"ttlSecondsAfterFinished", Integer("Delete the task, its workload and its log archive this long after it "
                                              "finishes. Unset: keep them.",
                                              "int64", 0, 31536000)},
          {"workloadTTLSecondsAfterFinished",
           Integer("Delete only the workload (Job and pods, or container) this long after the task finishes; the "
                   "task's status and log archive stay. Unset: keep it until the task goes.",
                   "int64", 0, 31536000)},
          {"suspend", With(Bool("Stop the running attempt and keep the record; setting it back to false starts a "
                                "new attempt."),
                           "default", false)},
          {"cancel", Rules(With(Bool("Stop the task for good; it ends Cancelled. Cannot be undone."), "default", false),
                           {Rule("self || !oldSelf", "cancel cannot be undone: create a new task instead")})},
          {"queueName",
           With(Pattern(String("The queue, in the task's namespace, the task waits in for a slot under the "
                               "operator's limits and the TaskQueue of that name, if any (docs/queues.md).",
                               63),
                        kDns1123Label.regex),
                "default", "default")},
          {"priority", With(Integer("Place in its queue: a higher priority is admitted first; equal ones by "
                                    "creation time. Never reorders other queues.",
                                    "int32", -1000000, 1000000),
                            "default", 0)},
          {"completions", Integer("Fan-out: run the container this many times, as items 0 to completions-1, each "
                                  "with its own retries (docs/fan-out.md). Not with items.",
                                  "int32", 1, kMaxItems)},
          {"items", Array("Fan-out: run the container once per entry; each copy sees its index in CTASK_INDEX "
                          "and its entry in CTASK_ITEM (docs/fan-out.md). Not with completions.",
                          String("One item.", kMaxItemBytes), kMaxItems)},
          {"parallelism", Integer("Fan-out: how many items run at once (each also takes a slot of its queue). "
                                  "Unset: 1.",
                                  "int32", 1, kMaxParallelism)},
          {"successPolicy",
           Object("Fan-out: when the task has succeeded. Unset: when every item has.",
                  {
                      {"minSucceeded",
                       Integer("Succeeded once this many items have; the rest are stopped.", "int32", 1, kMaxItems)},
                  })},
          {"failFast", Bool("Fan-out: the first item that fails for good (its retries spent) stops the rest and "
                            "fails the task. Unset: every item runs, then the success policy decides.")},
          {"runAfter", With(Array("Tasks in the same namespace that must all have succeeded before this one "
                                  "starts; their results are mounted into it (docs/fan-out.md).",
                                  Pattern(String("A task name.", 63), kDns1123Label.regex), kMaxRunAfter),
                            "x-kubernetes-list-type", "set")},
          {"workspace", workspace},
          {"securityContext", With(security, "default", Json::object())},
          {"serviceAccountName", Dns1123Name("Service account the pod runs as (Kubernetes backend).")},
          {"nodeSelector", StringMap("Node labels the pod's node must have.", 63, 64)},
          {"tolerations", Array("Taints the pod tolerates.", toleration, 32)},
          {"priorityClassName", Dns1123Name("PriorityClass of the pod.")},
          {"podLabels", Rules(StringMap("Extra labels for the pod (and the container in Docker).", 63, 64),
                              {Rule("self.all(k, !k.startsWith('ctask.io/'))",
                                    "labels under ctask.io/ are reserved for the operator")})},
          {"podAnnotations", StringMap("Extra annotations for the pod.", 4096, 64)},
          {"network", With(Object("Network access.",
                                  {
                                      {"isolated", With(Bool("No network: a deny-all NetworkPolicy in Kubernetes, "
                                                             "network mode none in Docker."),
                                                        "default", false)},
                                  }),
                           "default", Json::object())},
          {"logs", With(Object("What is kept of the task's output.",
                               {
                                   {"tailLines",
                                    With(Integer("Last lines kept in status.logTail (at most 4 KiB).", "int32", 0, 100),
                                         "default", 20)},
                                   {"archive", With(Bool("Keep the full log as an artifact (a ConfigMap, or a file "
                                                         "in the local store)."),
                                                    "default", true)},
                                   {"archiveLimitBytes", With(Integer("Largest archive kept; the rest is cut and the "
                                                                      "artifact marked truncated.",
                                                                      "int64", 1024, 1000000),
                                                              "default", 524288)},
                               }),
                        "default", Json::object())},
      },
      {"image"});

  return Rules(std::move(spec),
               {Rule("!has(self.workloadTTLSecondsAfterFinished) || !has(self.ttlSecondsAfterFinished) || "
                     "self.workloadTTLSecondsAfterFinished <= self.ttlSecondsAfterFinished",
                     "workloadTTLSecondsAfterFinished must not exceed ttlSecondsAfterFinished",
                     ".workloadTTLSecondsAfterFinished"),
                Rule("!has(self.completions) || !has(self.items)", kCompletionsOrItems, ".items"),
                Rule("has(self.completions) || has(self.items) || (!has(self.parallelism) && "
                     "!has(self.successPolicy) && !has(self.failFast))",
                     kFanOutFieldsAlone),
                Rule("!has(self.successPolicy) || !has(self.successPolicy.minSucceeded) || "
                     "self.successPolicy.minSucceeded <= (has(self.completions) ? self.completions : "
                     "(has(self.items) ? size(self.items) : 1))",
                     kMinSucceededWithinItems, ".successPolicy.minSucceeded")});
}

Json TimeSchema(std::string_view doc) {
  return With(Typed("string", doc), "format", "date-time");
}

// status.artifacts.results and status.fanOut (docs/fan-out.md).
Json ResultsArtifactSchema() {
  return Object("A fan-out task's per-item results (termination messages), one JSON document.",
                {
                    {"kind", Enum("Where it is kept.", {"ConfigMap", "File"})},
                    {"name", String("ConfigMap name, or file path in the local store.", 4096)},
                    {"sizeBytes", Integer("Size kept.", "int64", 0, 9223372036854775807)},
                    {"sha256", String("SHA-256 of the document, hex.", 64)},
                    {"items", Integer("Items with a result recorded.", "int32", 0, kMaxItems)},
                    {"truncated", Bool("Some results were cut to keep the document within its bound.")},
                });
}

Json FanOutSchema() {
  Json item = Object("One item of a fan-out task.",
                     {
                         {"index", Integer("The item's index, from 0.", "int32", 0, kMaxItems)},
                         {"item", String("The item's value, cut for display.", kMaxItemDisplayBytes)},
                         {"phase", Enum("Where the item is.", {"Pending", "Queued", "Running", "Succeeded", "Failed",
                                                               "Cancelled", "Suspended"})},
                         {"reason", String("CamelCase cause of the phase.", 128)},
                         {"message", String("Human-readable detail.", kMaxItemMessageLength)},
                         {"attempts", Integer("Attempts made.", "int32", 0, 101)},
                         {"failures", Integer("Attempts that failed.", "int32", 0, 101)},
                         {"admitted", Bool("The item holds a slot of its queue.")},
                         {"exitCode", Integer("Exit code of the last attempt.", "int32", -2147483648, 2147483647)},
                         {"admissionTime", TimeSchema("When its queue last gave it a slot.")},
                         {"startTime", TimeSchema("When its first attempt was created.")},
                         {"lastFailureTime", TimeSchema("When its last failed attempt ended.")},
                         {"completionTime", TimeSchema("When it finished.")},
                         {"jobName", String("The current attempt's Job (Kubernetes): only for the items of a task "
                                            "Kueue admits; the others run as bare pods (podName).",
                                            63)},
                         {"podName", String("The current attempt's pod (Kubernetes).", 253)},
                         {"containerID", String("The current attempt's container (Docker).", 128)},
                     },
                     {"index"});

  return Object(
      "A fan-out task's items (docs/fan-out.md).",
      {
          {"total", Integer("Items in all.", "int32", 0, kMaxItems)},
          {"waiting", Integer("Not started: held back by parallelism or waiting for a slot.", "int32", 0, kMaxItems)},
          {"active",
           Integer("Admitted and not finished: starting, running, or between retries.", "int32", 0, kMaxItems)},
          {"succeeded", Integer("Items that succeeded.", "int32", 0, kMaxItems)},
          {"failed", Integer("Items that failed for good (their retries spent).", "int32", 0, kMaxItems)},
          {"cancelled", Integer("Items stopped before they finished: the task was cancelled, or it finished "
                                "without them (successPolicy met, failFast).",
                                "int32", 0, kMaxItems)},
          {"succeededIndexes", String("The succeeded items' indexes as ranges, e.g. 0-3,7.", 65536)},
          {"failedIndexes", String("The failed items' indexes as ranges.", 65536)},
          {"cancelledIndexes", String("The cancelled items' indexes as ranges.", 65536)},
          {"items", Array("Every item in progress, then finished ones (failures first), at most 50 of those.", item,
                          kMaxParallelism + static_cast<int>(kMaxFinishedItemEntries))},
      });
}

Json StatusSchema() {
  Json condition = Object("A metav1.Condition.",
                          {
                              {"type", String("Succeeded, Reconciling, Stalled or Admitted.", 316)},
                              {"status", Enum("True, False or Unknown.", {"True", "False", "Unknown"})},
                              {"observedGeneration", Integer("The spec generation this condition describes.", "int64",
                                                             0, 9223372036854775807)},
                              {"lastTransitionTime", TimeSchema("When status last changed.")},
                              {"reason", String("CamelCase reason.", 1024)},
                              {"message", String("Human-readable detail.", 32768)},
                          },
                          {"type", "status", "lastTransitionTime", "reason", "message"});

  Json attempt = Object("One attempt to run the task.",
                        {
                            {"attempt", Integer("1 for the first attempt.", "int32", 1, 101)},
                            {"jobName", String("The attempt's Job (Kubernetes).", 63)},
                            {"podName", String("The attempt's pod (Kubernetes).", 253)},
                            {"containerID", String("The attempt's container (Docker).", 128)},
                            {"exitCode", Integer("The container's exit code.", "int32", -2147483648, 2147483647)},
                            {"reason", String("How the attempt ended.", 128)},
                            {"startTime", TimeSchema("When the container started.")},
                            {"completionTime", TimeSchema("When the attempt ended.")},
                        },
                        {"attempt"});

  Json log_artifact =
      Object("The task's full log.",
             {
                 {"kind", Enum("Where it is kept.", {"ConfigMap", "File"})},
                 {"name", String("ConfigMap name, or file path in the local store.", 4096)},
                 {"sizeBytes", Integer("Size kept.", "int64", 0, 9223372036854775807)},
                 {"sha256", String("SHA-256 of what is kept, hex.", 64)},
                 {"truncated", Bool("The log was longer than spec.logs.archiveLimitBytes and was cut.")},
             });

  return Object(
      "What happened, written by the operator.",
      {
          {"phase", Enum("Where the task is in its life.",
                         {"Pending", "Queued", "Running", "Succeeded", "Failed", "Cancelled", "Suspended"})},
          {"reason", String("CamelCase cause of the phase: Completed, Error, OOMKilled, Evicted, DeadlineExceeded, "
                            "ImagePullFailed, InvalidSpec, BackoffLimitExceeded, Cancelled, ...",
                            128)},
          {"message", String("Human-readable detail.", kMaxMessageLength)},
          {"observedGeneration",
           Integer("The spec generation this status describes.", "int64", 0, 9223372036854775807)},
          {"conditions", With(With(Array("Succeeded (True/False/Unknown), Reconciling, Stalled, and Admitted (True "
                                         "while the task holds a slot of its queue).",
                                         condition, 8),
                                   "x-kubernetes-list-type", "map"),
                              "x-kubernetes-list-map-keys", Json::array({"type"}))},
          {"startTime", TimeSchema("When the first attempt was created (its queue admitted it).")},
          {"completionTime", TimeSchema("When the task finished.")},
          {"admissionTime", TimeSchema("When its queue last gave it a slot.")},
          {"exitCode", Integer("Exit code of the last attempt.", "int32", -2147483648, 2147483647)},
          {"attempts", Integer("Attempts made so far.", "int32", 0, 101)},
          {"history", Array("The most recent attempts, oldest first.", attempt, kMaxHistoryEntries)},
          {"jobName", String("The current attempt's Job (Kubernetes).", 63)},
          {"podName", String("The current attempt's pod (Kubernetes).", 253)},
          {"containerID", String("The current attempt's container (Docker).", 128)},
          {"logTail", String("The last lines of output.", kMaxLogTailBytes)},
          {"logAttempt", Integer("The attempt whose whole output logTail and artifacts.log hold; once it is the "
                                 "last attempt of a finished task, its log is complete.",
                                 "int32", 0, 101)},
          {"result", String("The container's termination message.", kMaxResultBytes)},
          {"artifacts",
           Object("Where the full output is kept.", {{"log", log_artifact}, {"results", ResultsArtifactSchema()}})},
          {"fanOut", FanOutSchema()},
      });
}

Json BuildSchema() {
  // The API server allows nothing on the root's metadata but the name's (or
  // generateName's) own schema: a description there makes it refuse the CRD
  // ("metadata is implicitly specified"), so the explanation lives on name.
  Json metadata = Object(
      "", {
              {"name", Pattern(String("Task name: a DNS-1123 label (at most 63 characters), so it can label the task's "
                                      "workload.",
                                      63),
                               kDns1123Label.regex)},
          });
  metadata.erase("description");
  Json root = Object("ContainerTask runs one container to completion and reports what happened.",
                     {
                         {"apiVersion", String("ctask.io/v1alpha1.", 64)},
                         {"kind", String("ContainerTask.", 64)},
                         {"metadata", metadata},
                         {"spec", SpecSchema()},
                         // A task the operator has not written yet reads
                         // observedGeneration 0, below every generation (the
                         // API server starts at 1), so kstatus (Flux's health
                         // checks) sees it InProgress, not Current. The API
                         // server defaults on every read from etcd, so this
                         // holds with the operator down or behind a burst;
                         // Flux's own CRDs do the same (-1).
                         {"status", With(StatusSchema(), "default", Json{{"observedGeneration", 0}})},
                     },
                     {"spec"});
  return root;
}

Json PrinterColumn(const char* name, const char* type, const char* path, int priority = 0) {
  Json c = Json::object();
  c["name"] = name;
  c["type"] = type;
  c["jsonPath"] = path;
  if (priority != 0) c["priority"] = priority;
  return c;
}

Json TaskQueueRoot() {
  Json metadata =
      Object("", {
                     {"name", Pattern(String("Queue name: a DNS-1123 label; tasks in this namespace join it with "
                                             "spec.queueName.",
                                             63),
                                      kDns1123Label.regex)},
                 });
  metadata.erase("description");
  Json spec = Object(
      "The queue's limits.",
      {
          {"maxRunning", Integer("How many of the queue's tasks may hold a slot at once (from admission to the end of "
                                 "the last attempt's workload). 0 admits nothing: the queue is paused. Unset: the "
                                 "operator's --queue-max-running.",
                                 "int32", 0, 100000)},
      });
  spec = With(std::move(spec), "default", Json::object());
  return Object("TaskQueue sets the limits of one queue of ContainerTasks in its namespace (docs/queues.md).",
                {
                    {"apiVersion", String("ctask.io/v1alpha1.", 64)},
                    {"kind", String("TaskQueue.", 64)},
                    {"metadata", metadata},
                    {"spec", spec},
                },
                {"spec"});
}

struct CrdNames {
  const char* plural;
  const char* singular;
  const char* kind;
  std::vector<const char*> short_names;
  std::vector<const char*> categories;
};

// A namespaced CRD in group ctask.io with one version, v1alpha1, served and
// stored; the status subresource when `status`.
Json NamespacedCrd(const CrdNames& n, bool status, std::initializer_list<Json> columns, const Json& schema) {
  Json names = Json::object();
  names["plural"] = n.plural;
  names["singular"] = n.singular;
  names["kind"] = n.kind;
  names["listKind"] = std::string(n.kind) + "List";
  names["shortNames"] = n.short_names;
  if (!n.categories.empty()) names["categories"] = n.categories;

  Json version = Json::object();
  version["name"] = kVersion;
  version["served"] = true;
  version["storage"] = true;
  if (status) {
    version["subresources"] = Json::object();
    version["subresources"]["status"] = Json::object();
  }
  version["additionalPrinterColumns"] = Json::array();
  for (const Json& column : columns) version["additionalPrinterColumns"].push_back(column);
  version["schema"] = Json::object();
  version["schema"]["openAPIV3Schema"] = schema;

  Json crd = Json::object();
  crd["apiVersion"] = "apiextensions.k8s.io/v1";
  crd["kind"] = "CustomResourceDefinition";
  crd["metadata"] = Json::object();
  crd["metadata"]["name"] = std::string(n.plural) + "." + kGroup;
  crd["spec"] = Json::object();
  crd["spec"]["group"] = kGroup;
  crd["spec"]["names"] = names;
  crd["spec"]["scope"] = "Namespaced";
  crd["spec"]["versions"] = Json::array({version});
  return crd;
}

}  // namespace

const Json& TaskQueueSchema() {
  static const Json schema = TaskQueueRoot();
  return schema;
}

Json TaskQueueCrd() {
  return NamespacedCrd({kTaskQueuePlural, "taskqueue", kTaskQueueKind, {"tq"}, {}}, /*status=*/false,
                       {
                           PrinterColumn("MaxRunning", "integer", ".spec.maxRunning"),
                           PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
                       },
                       TaskQueueSchema());
}

const Json& ContainerTaskSchema() {
  static const Json schema = BuildSchema();
  return schema;
}

Json ContainerTaskCrd() {
  return NamespacedCrd({kPlural, "containertask", kKind, {"ctask", "ct"}, {"all"}}, /*status=*/true,
                       {
                           PrinterColumn("Phase", "string", ".status.phase"),
                           PrinterColumn("Reason", "string", ".status.reason"),
                           PrinterColumn("Exit", "integer", ".status.exitCode"),
                           PrinterColumn("Attempts", "integer", ".status.attempts"),
                           PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
                           PrinterColumn("Image", "string", ".spec.image", 1),
                           PrinterColumn("Pod", "string", ".status.podName", 1),
                       },
                       ContainerTaskSchema());
}

}  // namespace ctask::api
