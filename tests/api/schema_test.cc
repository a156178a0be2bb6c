// The schema is the source of truth; these tests hold the rest to it:
//   - the C++ types carry every schema field and nothing else (sync);
//   - every constraint of the schema triggers a field-path error (rules);
//   - crds/ is exactly what the schema generates (crd);
//   - defaults are applied where, and only where, the API server applies them.
#include "api/schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "api/codec.h"
#include "api/document.h"
#include "api/load.h"
#include "api/schema_check.h"
#include "schema_samples.h"
#include "testing/paths.h"

namespace ctask::api {
namespace {

using testing::MaximalSample;
using testing::Pointer;
using testing::Walk;

Json MaximalTask() {
  Json task = MaximalSample(ContainerTaskSchema());
  task["apiVersion"] = kApiVersion;
  task["kind"] = kKind;
  return task;
}

const Json& Spec() {
  return ContainerTaskSchema()["properties"]["spec"];
}

bool HasErrorAt(const FieldErrors& errors, const std::string& path) {
  for (const FieldError& e : errors) {
    if (e.path == path || e.path.starts_with(path + ".") || e.path.starts_with(path + "[")) return true;
  }
  return false;
}

std::string Show(const FieldErrors& errors) {
  std::string out;
  for (const FieldError& e : errors) out += "  " + e.ToString() + "\n";
  return out;
}

TEST(SchemaSyncTest, TypesCarryEveryFieldAndNothingElse) {
  const Json sample = MaximalTask();
  // The sample sets every field to a non-default value, so a field the
  // decoder drops or the encoder invents shows up as a difference.
  Json defaulted = sample;
  ApplySchemaDefaults(defaulted, ContainerTaskSchema());
  ASSERT_EQ(defaulted, sample) << "a maximal sample needs no defaults";
  const Json round_trip = EncodeContainerTask(DecodeContainerTask(sample).task);
  EXPECT_EQ(nlohmann::json::parse(round_trip.dump()), nlohmann::json::parse(sample.dump()))
      << "diff (sample -> round trip): "
      << nlohmann::json::diff(nlohmann::json::parse(sample.dump()), nlohmann::json::parse(round_trip.dump())).dump(2);
}

TEST(SchemaSyncTest, MaximalSamplePassesTheStructuralCheck) {
  const Json sample = MaximalTask();
  EXPECT_EQ(Show(CheckAgainstSchema(sample["spec"], Spec(), "spec")), "");
  EXPECT_EQ(Show(CheckAgainstSchema(sample["status"], ContainerTaskSchema()["properties"]["status"], "status")), "");
}

// One mutation per constraint: the value at `path` replaced by one that
// breaks the rule. Returns nothing for keywords that need no test here.
std::vector<std::pair<std::string, Json>> Violations(const Json& schema) {
  std::vector<std::pair<std::string, Json>> out;
  if (schema.contains("x-kubernetes-int-or-string")) {
    out.push_back({"int-or-string type", true});
  } else if (schema.contains("type")) {
    const std::string type = schema["type"];
    out.push_back({"type " + type, type == "string" ? Json(12345) : Json("not-a-" + type)});
  }
  if (schema.contains("maxLength"))
    out.push_back({"maxLength", std::string(schema["maxLength"].get<size_t>() + 1, 'a')});
  if (schema.contains("minLength")) out.push_back({"minLength", ""});
  if (schema.contains("pattern")) out.push_back({"pattern", "bad value!"});
  if (schema.contains("enum")) out.push_back({"enum", "NotAnOption"});
  if (schema.contains("minimum")) {
    int64_t min = schema["minimum"];
    if (min > INT64_MIN) out.push_back({"minimum", min - 1});
  }
  if (schema.contains("maximum")) {
    int64_t max = schema["maximum"];
    out.push_back({"maximum", max == INT64_MAX ? Json(uint64_t{1} << 63) : Json(max + 1)});
  }
  if (schema.contains("maxItems")) {
    out.push_back({"maxItems", Json::array()});
    for (size_t i = 0; i <= schema["maxItems"].get<size_t>(); ++i)
      out.back().second.push_back(MaximalSample(schema["items"]));
  }
  if (schema.contains("maxProperties")) {
    Json map = Json::object();
    for (size_t i = 0; i <= schema["maxProperties"].get<size_t>(); ++i) map["k" + std::to_string(i)] = "v";
    out.push_back({"maxProperties", map});
  }
  const std::string list_type = schema.value("x-kubernetes-list-type", "");
  if (list_type == "set" || list_type == "map") {
    Json item = MaximalSample(schema["items"]);
    out.push_back({"list-type " + list_type, Json::array({item, item})});
  }
  return out;
}

TEST(SchemaRulesTest, EveryConstraintReportsItsField) {
  int checked = 0;
  for (const char* part : {"spec", "status"}) {
    const Json& part_schema = ContainerTaskSchema()["properties"][part];
    Walk(part_schema, part, [&](const std::string& path, const Json& schema) {
      for (const auto& [rule, bad] : Violations(schema)) {
        Json task = MaximalTask();
        task[Pointer(path)] = bad;
        FieldErrors errors = CheckAgainstSchema(task[part], part_schema, part);
        EXPECT_TRUE(HasErrorAt(errors, path))
            << path << " (" << rule << ") set to " << bad.dump().substr(0, 80) << " gave:\n"
            << Show(errors);
        // The whole pipeline reports it too, and survives it.
        if (std::string(part) == "spec") {
          EXPECT_TRUE(HasErrorAt(LoadContainerTask(task).errors, path)) << path;
        }
        ++checked;
      }
      if (schema.contains("required")) {
        for (const Json& r : schema["required"]) {
          Json task = MaximalTask();
          task[Pointer(path)].erase(r.get<std::string>());
          const std::string field = ChildPath(path, r.get<std::string>());
          FieldErrors errors = CheckAgainstSchema(task[part], part_schema, part);
          EXPECT_TRUE(HasErrorAt(errors, field)) << field << " (required) gave:\n" << Show(errors);
          ++checked;
        }
      }
      if (schema.contains("properties")) {
        Json task = MaximalTask();
        task[Pointer(path)]["bogusField"] = 1;
        FieldErrors errors = CheckAgainstSchema(task[part], part_schema, part);
        EXPECT_TRUE(HasErrorAt(errors, ChildPath(path, "bogusField"))) << path << " (unknown field)";
        ++checked;
      }
    });
  }
  EXPECT_GT(checked, 200) << "the walk should reach every constraint";
}

TEST(SchemaRulesTest, MessagesSayWhatToDo) {
  Json task = MaximalTask();
  task["spec"]["imagePullPolicy"] = "Sometimes";
  task["spec"]["retriess"] = 3;
  task["spec"]["env"][0]["name"] = "1BAD";
  task["spec"]["resources"]["limits"]["memory"] = "1Gii";
  FieldErrors errors = CheckAgainstSchema(task["spec"], Spec(), "spec");
  std::string shown = Show(errors);
  EXPECT_NE(shown.find("spec.imagePullPolicy: unsupported value \"Sometimes\": use one of \"Always\", "
                       "\"IfNotPresent\", \"Never\""),
            std::string::npos)
      << shown;
  EXPECT_NE(shown.find("spec.retriess: unknown field; did you mean \"retries\"?"), std::string::npos) << shown;
  EXPECT_NE(shown.find("spec.env[0].name: invalid value \"1BAD\": must be letters, digits"), std::string::npos)
      << shown;
  EXPECT_NE(shown.find("spec.resources.limits.memory: invalid value \"1Gii\": must be a non-negative quantity"),
            std::string::npos)
      << shown;
}

TEST(SchemaDefaultsTest, AppliedInsidePresentObjectsOnly) {
  Json task = Json::parse(R"({"spec": {"image": "busybox", "workspace": {"emptyDir": {}}}})");
  ApplySchemaDefaults(task, ContainerTaskSchema());
  const Json& spec = task["spec"];
  EXPECT_EQ(spec["pendingTimeoutSeconds"], 300);
  EXPECT_EQ(spec["retries"], 0);
  EXPECT_EQ(spec["retryPolicy"]["backoffSeconds"], 10);  // a defaulted object is itself defaulted
  EXPECT_EQ(spec["logs"]["tailLines"], 20);
  EXPECT_EQ(spec["workspace"]["mountPath"], "/workspace");
  EXPECT_EQ(spec["securityContext"]["readOnlyRootFilesystem"], false);
  EXPECT_FALSE(spec.contains("timeoutSeconds"));  // no default: stays unset
  EXPECT_FALSE(spec["workspace"].contains("persistentVolumeClaim"));
  // A missing status is the CRD's default, as the API server reads it.
  EXPECT_EQ(task["status"], Json::parse(R"({"observedGeneration": 0})"));
}

TEST(SchemaDefaultsTest, WrongTypesAreLeftForTheCheck) {
  Json task = Json::parse(R"({"spec": {"image": "busybox", "logs": "all", "env": {"a": 1}}})");
  ApplySchemaDefaults(task, ContainerTaskSchema());
  EXPECT_EQ(task["spec"]["logs"], "all");
  EXPECT_TRUE(HasErrorAt(CheckAgainstSchema(task["spec"], Spec(), "spec"), "spec.logs"));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(CrdTest, CheckedInCrdIsWhatTheSchemaGenerates) {
  const std::string path = ctask::testing::SourceDir() + "/crds/ctask.io_containertasks.yaml";
  const std::string checked_in = ReadFile(path);
  ASSERT_FALSE(checked_in.empty()) << path << " is missing: run 'make generate'";
  EXPECT_EQ(checked_in, CrdFileText()) << path << " is stale: run 'make generate' and commit the result";
}

TEST(CrdTest, CheckedInTaskQueueCrdIsWhatTheSchemaGenerates) {
  const std::string path = ctask::testing::SourceDir() + "/crds/ctask.io_taskqueues.yaml";
  const std::string checked_in = ReadFile(path);
  ASSERT_FALSE(checked_in.empty()) << path << " is missing: run 'make generate'";
  EXPECT_EQ(checked_in, TaskQueueCrdFileText()) << path << " is stale: run 'make generate' and commit the result";
}

TEST(ApiDocsTest, FieldReferenceIsWhatTheSchemaGenerates) {
  const std::string path = ctask::testing::SourceDir() + "/docs/api.md";
  const std::string docs = ReadFile(path);
  const std::string begin = "<!-- BEGIN GENERATED: field reference (make generate) -->\n";
  const size_t start = docs.find(begin);
  const size_t end = docs.find("<!-- END GENERATED -->");
  ASSERT_NE(start, std::string::npos) << path << " lacks its GENERATED markers";
  ASSERT_NE(end, std::string::npos) << path << " lacks its GENERATED markers";
  EXPECT_EQ(docs.substr(start + begin.size(), end - start - begin.size()), ApiReferenceMarkdown())
      << path << " is stale: run 'make generate' and commit the result";
}

TEST(CrdTest, NamesAndColumns) {
  const Json crd = ContainerTaskCrd();
  EXPECT_EQ(crd["metadata"]["name"], "containertasks.ctask.io");
  EXPECT_EQ(crd["spec"]["names"]["shortNames"], Json::array({"ctask", "ct"}));
  const Json& version = crd["spec"]["versions"][0];
  EXPECT_TRUE(version["subresources"].contains("status"));
  std::vector<std::string> columns;
  for (const Json& c : version["additionalPrinterColumns"]) columns.push_back(c["name"]);
  EXPECT_EQ(columns, (std::vector<std::string>{"Phase", "Reason", "Exit", "Attempts", "Age", "Image", "Pod"}));
}

// Structural-schema rules the API server enforces on a CRD: every node has a
// type (or is int-or-string), no additionalProperties beside properties.
TEST(CrdTest, SchemaIsStructural) {
  Walk(ContainerTaskSchema(), "", [](const std::string& path, const Json& schema) {
    if (schema.contains("x-kubernetes-int-or-string")) return;
    EXPECT_TRUE(schema.contains("type")) << path << " has no type";
    EXPECT_FALSE(schema.contains("properties") && schema.contains("additionalProperties")) << path;
    // Map values are described by their map; the root's metadata may carry
    // nothing but its type and name (below).
    if (!path.ends_with("]") && path != "metadata") {
      EXPECT_TRUE(schema.contains("description")) << path << " has no description (docs/api.md needs one)";
    }
  });
}

// The API server refuses a CRD whose root metadata schema says anything but
// `type: object` and the name's (or generateName's) own schema: "must not
// specify anything other than name and generateName, but metadata is
// implicitly specified". tests/cluster checks the real server takes crds/.
TEST(CrdTest, RootMetadataHoldsOnlyTypeAndName) {
  const Json& metadata = ContainerTaskSchema()["properties"]["metadata"];
  for (const auto& [keyword, value] : metadata.items()) {
    EXPECT_TRUE(keyword == "type" || keyword == "properties") << "metadata." << keyword;
  }
  for (const auto& [name, value] : metadata["properties"].items()) {
    EXPECT_TRUE(name == "name" || name == "generateName") << "metadata.properties." << name;
  }
}

// The API server compares integer bounds as float64: a bound it cannot hold
// exactly (2^63-1 becomes 2^63 and wraps) refused every status write. Found
// by the operator's first run against the test control plane.
void CheckBoundsExactInFloat64(const Json& schema, const std::string& path) {
  if (!schema.is_object()) return;
  for (const char* bound : {"minimum", "maximum"}) {
    if (!schema.contains(bound)) continue;
    const int64_t value = schema[bound].get<int64_t>();
    EXPECT_LE(value < 0 ? -value : value, int64_t{1} << 53) << path << "." << bound;
  }
  for (const auto& [key, value] : schema.items()) {
    if (value.is_object()) CheckBoundsExactInFloat64(value, path + "." + key);
    if (value.is_array()) {
      for (const Json& item : value) CheckBoundsExactInFloat64(item, path + "." + key);
    }
  }
}

TEST(CrdTest, IntegerBoundsAreExactAsFloat64) {
  CheckBoundsExactInFloat64(ContainerTaskSchema(), "schema");
}

}  // namespace
}  // namespace ctask::api
