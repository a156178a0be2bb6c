// Every semantic rule (validate.cc) triggered by a named case, and the CEL
// twins held to the schema's own rules.
#include "api/validate.h"

#include <gtest/gtest.h>

#include <set>

#include "api/document.h"
#include "api/load.h"
#include "api/schema.h"
#include "schema_samples.h"

namespace ctask::api {
namespace {

// A valid task; each case adds YAML to its spec.
Json TaskWithSpec(const std::string& extra_spec_yaml, const std::string& name = "t") {
  std::string text = "apiVersion: ctask.io/v1alpha1\nkind: ContainerTask\nmetadata:\n  name: " + name + "\nspec:\n" +
                     (extra_spec_yaml.starts_with("image:") ? "" : "  image: busybox:1.36\n");
  std::string indented;
  size_t start = 0;
  while (start < extra_spec_yaml.size()) {
    size_t end = extra_spec_yaml.find('\n', start);
    if (end == std::string::npos) end = extra_spec_yaml.size();
    indented += "  " + extra_spec_yaml.substr(start, end - start) + "\n";
    start = end + 1;
  }
  auto docs = ParseDocuments(text + indented);
  EXPECT_TRUE(docs.has_value()) << (docs ? "" : docs.error().message());
  return docs && !docs->empty() ? (*docs)[0].value : Json();
}

struct Case {
  const char* name;
  const char* spec_yaml;
  const char* path;     // expected error path
  const char* message;  // expected substring of its message
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class SemanticRulesTest : public ::testing::TestWithParam<Case> {};

TEST_P(SemanticRulesTest, ReportsFieldAndWhatToDo) {
  const Case& c = GetParam();
  DecodedTask decoded = LoadContainerTask(TaskWithSpec(c.spec_yaml));
  bool found = false;
  std::string all;
  for (const FieldError& e : decoded.errors) {
    all += "  " + e.ToString() + "\n";
    found = found || (e.path == c.path && e.message.find(c.message) != std::string::npos);
  }
  EXPECT_TRUE(found) << "expected " << c.path << ": ..." << c.message << "... got:\n" << all;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, SemanticRulesTest,
    ::testing::Values(
        // CEL twins
        Case{"EnvValueAndValueFrom", "env: [{name: A, value: x, valueFrom: {secretKeyRef: {name: s, key: k}}}]",
             "spec.env[0]", "set value or valueFrom, not both"},
        Case{"EnvNoRef", "env: [{name: A, valueFrom: {}}]", "spec.env[0].valueFrom",
             "set exactly one of secretKeyRef or configMapKeyRef"},
        Case{"EnvBothRefs",
             "env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}, configMapKeyRef: {name: c, key: k}}}]",
             "spec.env[0].valueFrom", "set exactly one of secretKeyRef or configMapKeyRef"},
        Case{"EnvFromNoRef", "envFrom: [{prefix: A_}]", "spec.envFrom[0]",
             "set exactly one of secretRef or configMapRef"},
        Case{"WorkspaceNoSource", "workspace: {mountPath: /w}", "spec.workspace", "set exactly one of emptyDir"},
        Case{"WorkspaceTwoSources", "workspace: {emptyDir: {}, dockerVolume: {name: v}}", "spec.workspace",
             "set exactly one of emptyDir"},
        Case{"NonRootButRoot", "securityContext: {runAsNonRoot: true, runAsUser: 0}", "spec.securityContext",
             "runAsNonRoot is true but runAsUser is 0"},
        Case{"ExistsWithValue", "tolerations: [{key: k, operator: Exists, value: v}]", "spec.tolerations[0]",
             "operator Exists takes no value"},
        Case{"ReservedPodLabel", "podLabels: {ctask.io/task: x}", "spec.podLabels", "reserved for the operator"},
        Case{"WorkloadTtlAboveTaskTtl", "ttlSecondsAfterFinished: 10\nworkloadTTLSecondsAfterFinished: 20",
             "spec.workloadTTLSecondsAfterFinished", "must not exceed ttlSecondsAfterFinished"},
        // Rules a schema cannot state
        Case{"RequestAboveLimit", "resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}",
             "spec.resources.requests.memory", "is more than the limit \"1Gi\": lower the request or raise the limit"},
        Case{"CpuRequestAboveLimitAcrossUnits", "resources: {requests: {cpu: \"1.5\"}, limits: {cpu: 1000m}}",
             "spec.resources.requests.cpu", "is more than the limit"},
        Case{"QuantityTooLarge", "resources: {limits: {memory: \"1e40\"}}", "spec.resources.limits.memory", "quantity"},
        Case{"ImageUppercase", "image: Library/Busybox", "spec.image", "invalid image reference"},
        Case{"ImageBadTag", "image: \"busybox:\"", "spec.image", "invalid image reference"},
        Case{"ImageBadDigest", "image: busybox@sha256:xyz", "spec.image", "invalid image reference"},
        Case{"WorkingDirDotDot", "workingDir: /a/../b", "spec.workingDir", "must not contain '..'"},
        Case{"MountPathRoot", "workspace: {mountPath: /, emptyDir: {}}", "spec.workspace.mountPath", "must not be '/'"},
        Case{"MountPathDotDot", "workspace: {mountPath: /w/.., emptyDir: {}}", "spec.workspace.mountPath",
             "must not contain '..'"},
        Case{"HostPathDotDot", "workspace: {hostPath: {path: /data/../etc}}", "spec.workspace.hostPath.path",
             "must not contain '..'"},
        Case{"NodeSelectorBadKey", "nodeSelector: {\"bad key\": x}", "spec.nodeSelector[bad key]", "invalid value"},
        Case{"NodeSelectorBadValue", "nodeSelector: {zone: \"a b\"}", "spec.nodeSelector[zone]", "invalid value"},
        Case{"TolerationBadKey", "tolerations: [{key: \"a b\", operator: Exists}]", "spec.tolerations[0].key",
             "invalid value"},
        Case{"PodLabelBadValue", "podLabels: {team: \"-x-\"}", "spec.podLabels[team]", "invalid value"},
        Case{"PodAnnotationBadKey", "podAnnotations: {\"/x\": v}", "spec.podAnnotations[/x]", "invalid value"}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(MetadataRulesTest, NameAndNamespace) {
  auto errors_for = [](const std::string& name) { return LoadContainerTask(TaskWithSpec("", name)).errors; };
  EXPECT_TRUE(errors_for("good-name").empty());
  for (const std::string& bad : std::vector<std::string>{"Bad", "-x", "x-", "a.b", std::string(64, 'a')}) {
    FieldErrors errors = errors_for("\"" + bad + "\"");
    ASSERT_FALSE(errors.empty()) << bad;
    EXPECT_EQ(errors[0].path, "metadata.name") << bad;
  }
  Json task = TaskWithSpec("");
  task["metadata"].erase("name");
  FieldErrors errors = LoadContainerTask(task).errors;
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].ToString(), "metadata.name: required: give the task a name (lower case letters, digits and '-')");
  task["metadata"] = Json::parse(R"({"name": "x", "namespace": "Not_Valid", "labels": {"a": "b c"}})");
  errors = LoadContainerTask(task).errors;
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "metadata.namespace");
  EXPECT_EQ(errors[1].path, "metadata.labels[a]");
}

TEST(ObjectRulesTest, ApiVersionKindAndShape) {
  Json task = TaskWithSpec("");
  task["apiVersion"] = "ctask.io/v1";
  task["extra"] = 1;
  task.erase("spec");
  FieldErrors errors = LoadContainerTask(task).errors;
  std::set<std::string> paths;
  for (const FieldError& e : errors) paths.insert(e.path);
  EXPECT_EQ(paths, (std::set<std::string>{"apiVersion", "extra", "spec"}));
  EXPECT_EQ(LoadContainerTask(Json::array()).errors.size(), 1u);
  EXPECT_EQ(LoadContainerTask(Json("text")).errors.size(), 1u);
}

TEST(ObjectRulesTest, EveryProblemIsReportedNotJustTheFirst) {
  FieldErrors errors =
      LoadContainerTask(TaskWithSpec("retries: -1\n"
                                     "imagePullPolicy: Sometimes\n"
                                     "resources: {limits: {memory: 1Gii}}\n"
                                     "env: [{name: A, value: x, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n"
                                     "workingDir: /a/../b"))
          .errors;
  std::set<std::string> paths;
  for (const FieldError& e : errors) paths.insert(e.path);
  EXPECT_EQ(paths, (std::set<std::string>{"spec.retries", "spec.imagePullPolicy", "spec.resources.limits.memory",
                                          "spec.env[0]", "spec.workingDir"}));
  // The quantity is reported once, by the schema, not again by the parser.
  EXPECT_EQ(std::count_if(errors.begin(), errors.end(),
                          [](const FieldError& e) { return e.path == "spec.resources.limits.memory"; }),
            1);
}

TEST(UpdateRulesTest, CancelIsOneWay) {
  ContainerTaskSpec before;
  ContainerTaskSpec after;
  before.cancel = true;
  ASSERT_EQ(ValidateUpdate(before, after).size(), 1u);
  EXPECT_EQ(ValidateUpdate(before, after)[0].ToString(),
            "spec.cancel: cancel cannot be undone: create a new task instead");
  EXPECT_TRUE(ValidateUpdate(after, before).empty());
}

// Every CEL rule of the schema has a C++ twin with the same message, and no
// twin exists without its rule.
TEST(CelTwinsTest, SchemaRulesAndTwinsMatch) {
  std::set<std::string> in_schema;
  testing::Walk(ContainerTaskSchema(), "", [&](const std::string&, const Json& schema) {
    if (!schema.contains("x-kubernetes-validations")) return;
    for (const Json& rule : schema["x-kubernetes-validations"]) in_schema.insert(rule["message"]);
  });
  std::set<std::string> twins(kCelRuleMessages, kCelRuleMessages + kCelRuleCount);
  EXPECT_EQ(in_schema, twins);
}

}  // namespace
}  // namespace ctask::api
