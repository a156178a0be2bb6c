// RenderDockerContainer's rules, one behaviour per test: env resolution and
// its errors (which must never show a value), the host-path allow-list, the
// limits Docker refuses, and the Kubernetes command/args semantics.
#include "render/docker_container.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "api/names.h"
#include "render/labels.h"

namespace ctask::render {
namespace {

using api::Json;

constexpr const char* kSecretValue = "hunter2-do-not-print";

api::ContainerTask Task() {
  api::ContainerTask task;
  task.metadata.name = "t";
  task.spec.image = "busybox:1.36";
  return task;
}

api::ConfigData Config(const char* kind, const char* name, std::map<std::string, std::string> data,
                       const char* ns = "") {
  api::ConfigData config;
  config.kind = kind;
  config.metadata.name = name;
  config.metadata.namespace_ = ns;
  config.data = std::move(data);
  return config;
}

api::EnvVar SecretKey(const char* var, const char* secret, const char* key, bool optional = false) {
  api::EnvVar env;
  env.name = var;
  env.value_from = api::EnvVarSource{};
  env.value_from->secret_key_ref = api::SecretKeySelector{secret, key, optional};
  return env;
}

api::EnvVar ConfigMapKey(const char* var, const char* config_map, const char* key, bool optional = false) {
  api::EnvVar env;
  env.name = var;
  env.value_from = api::EnvVarSource{};
  env.value_from->config_map_key_ref = api::ConfigMapKeySelector{config_map, key, optional};
  return env;
}

api::EnvVar Literal(const char* var, const char* value) {
  api::EnvVar env;
  env.name = var;
  env.value = value;
  return env;
}

api::EnvFromSource FromSecret(const char* secret, const char* prefix = "", bool optional = false) {
  api::EnvFromSource from;
  from.prefix = prefix;
  from.secret_ref = api::LocalObjectReference{secret, optional};
  return from;
}

api::EnvFromSource FromConfigMap(const char* config_map, const char* prefix = "", bool optional = false) {
  api::EnvFromSource from;
  from.prefix = prefix;
  from.config_map_ref = api::LocalObjectReference{config_map, optional};
  return from;
}

Result<DockerContainer> Render(const api::ContainerTask& task, const std::vector<api::ConfigData>& configs = {},
                               const DockerPolicy& policy = {}) {
  return RenderDockerContainer(task, 1, configs, policy);
}

// The body, or null (and a failure) when rendering failed.
Json Body(const Result<DockerContainer>& c) {
  if (!c) {
    ADD_FAILURE() << c.error().ToString();
    return Json();
  }
  return c->body;
}

std::vector<std::string> Env(const DockerContainer& c) {
  std::vector<std::string> out;
  if (!c.body.contains("Env")) return out;
  for (const Json& e : c.body["Env"]) out.push_back(e.get<std::string>());
  return out;
}

api::Quantity Q(const char* text) {
  Result<api::Quantity> q = api::ParseQuantity(text);
  EXPECT_TRUE(q.has_value()) << text;
  return q.value_or(api::Quantity{});
}

// ---- env -------------------------------------------------------------------

TEST(DockerEnv, MissingSecretKeyNamesKeyAndHidesValues) {
  api::ContainerTask task = Task();
  task.spec.env = {Literal("A", "a"), SecretKey("DB_PASSWORD", "db", "password")};
  Result<DockerContainer> c = Render(task, {Config("Secret", "db", {{"pasword", kSecretValue}})});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(c.error().message(),
            "spec.env[1].valueFrom.secretKeyRef: Secret \"db\" has no key \"password\": add the key, or set "
            "optional: true");
  EXPECT_EQ(c.error().message().find(kSecretValue), std::string::npos);
}

TEST(DockerEnv, MissingSecretNamesItAndTheFix) {
  api::ContainerTask task = Task();
  task.spec.env_from = {FromSecret("db")};
  Result<DockerContainer> c = Render(task, {Config("ConfigMap", "db", {{"k", kSecretValue}})});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message(),
            "spec.envFrom[0].secretRef: Secret \"db\" not found: add it to the files given with -f");
}

TEST(DockerEnv, MissingConfigMapKeyNamesIt) {
  api::ContainerTask task = Task();
  task.spec.env = {ConfigMapKey("PORT", "settings", "port")};
  Result<DockerContainer> c = Render(task, {Config("ConfigMap", "settings", {{"host", "x"}})});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message(),
            "spec.env[0].valueFrom.configMapKeyRef: ConfigMap \"settings\" has no key \"port\": add the key, or set "
            "optional: true");
}

TEST(DockerEnv, NoErrorEverShowsAValue) {
  // Every way resolution can fail, with the value present somewhere nearby.
  const std::vector<api::ConfigData> configs = {Config("Secret", "s", {{"k", kSecretValue}}),
                                                Config("ConfigMap", "c", {{"k", kSecretValue}})};
  std::vector<api::ContainerTask> tasks(5, Task());
  tasks[0].spec.env = {SecretKey("V", "s", "other")};
  tasks[1].spec.env = {SecretKey("V", "missing", "k")};
  tasks[2].spec.env = {ConfigMapKey("V", "c", "other")};
  tasks[3].spec.env_from = {FromConfigMap("missing")};
  tasks[4].spec.env = {Literal("V", kSecretValue), SecretKey("W", "s", "nope")};
  for (const api::ContainerTask& task : tasks) {
    Result<DockerContainer> c = Render(task, configs);
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().ToString().find(kSecretValue), std::string::npos) << c.error().ToString();
  }
}

TEST(DockerEnv, OptionalReferencesToNothingSetNothing) {
  api::ContainerTask task = Task();
  task.spec.env_from = {FromSecret("absent", "", true)};
  task.spec.env = {SecretKey("A", "absent", "k", true), SecretKey("B", "present", "absent-key", true),
                   ConfigMapKey("C", "absent", "k", true)};
  Result<DockerContainer> c = Render(task, {Config("Secret", "present", {{"k", "v"}})});
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_FALSE(c->body.contains("Env"));
  EXPECT_TRUE(c->secret_env.empty());
}

TEST(DockerEnv, NonOptionalReferencesToNothingFail) {
  api::ContainerTask task = Task();
  task.spec.env = {SecretKey("A", "absent", "k", false)};
  EXPECT_FALSE(Render(task).has_value());
  task.spec.env = {ConfigMapKey("A", "absent", "k", false)};
  EXPECT_FALSE(Render(task).has_value());
  task.spec.env.clear();
  task.spec.env_from = {FromConfigMap("absent")};
  EXPECT_FALSE(Render(task).has_value());
}

TEST(DockerEnv, OptionalMissingKeyKeepsWhatEnvFromSet) {
  // The kubelet skips the variable entirely, so envFrom's value stays.
  api::ContainerTask task = Task();
  task.spec.env_from = {FromConfigMap("base")};
  task.spec.env = {SecretKey("MODE", "s", "absent", true)};
  Result<DockerContainer> c =
      Render(task, {Config("ConfigMap", "base", {{"MODE", "base"}}), Config("Secret", "s", {})});
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(Env(*c), std::vector<std::string>{"MODE=base"});
}

TEST(DockerEnv, PrecedenceEnvOverEnvFromLaterOverEarlier) {
  api::ContainerTask task = Task();
  task.spec.env_from = {FromConfigMap("first"), FromConfigMap("second"), FromSecret("creds", "DB_")};
  task.spec.env = {Literal("B", "from-env"), Literal("X", "1"), Literal("X", "2")};
  Result<DockerContainer> c =
      Render(task, {Config("ConfigMap", "first", {{"A", "first"}, {"B", "first"}, {"C", "first"}}),
                    Config("ConfigMap", "second", {{"C", "second"}}), Config("Secret", "creds", {{"PASSWORD", "pw"}})});
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  // In order of first definition, with the last definition's value.
  EXPECT_EQ(Env(*c), (std::vector<std::string>{"A=first", "B=from-env", "C=second", "DB_PASSWORD=pw", "X=2"}));
  EXPECT_EQ(c->secret_env, std::vector<std::string>{"DB_PASSWORD"});
}

TEST(DockerEnv, LiteralOverridingASecretIsNoLongerSecret) {
  api::ContainerTask task = Task();
  task.spec.env_from = {FromSecret("s")};
  task.spec.env = {Literal("TOKEN", "public")};
  Result<DockerContainer> c = Render(task, {Config("Secret", "s", {{"TOKEN", "private"}, {"OTHER", "x"}})});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->secret_env, std::vector<std::string>{"OTHER"});
}

TEST(DockerEnv, ExpansionFollowsKubernetes) {
  api::ContainerTask task = Task();
  task.spec.env = {Literal("A", "a"),          Literal("B", "$(A)-$(LATER)-$$(A)-$$-$x-$(-$(A"),
                   Literal("LATER", "later"),  Literal("END", "tail$"),
                   SecretKey("PW", "s", "pw"), Literal("DSN", "u:$(PW)@h")};
  task.spec.command = {"sh", "-c", "echo $(A) $(B)"};
  Result<DockerContainer> c = Render(task, {Config("Secret", "s", {{"pw", "secret"}})});
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  // Only earlier variables expand; "$$" is "$"; unknown and incomplete
  // references stay as written.
  EXPECT_EQ(Env(*c), (std::vector<std::string>{"A=a", "B=a-$(LATER)-$(A)-$-$x-$(-$(A", "LATER=later", "END=tail$",
                                               "PW=secret", "DSN=u:secret@h"}));
  // Command expansion sees the final environment.
  EXPECT_EQ(c->body["Entrypoint"], Json::array({"sh", "-c", "echo a a-$(LATER)-$(A)-$-$x-$(-$(A"}));
  EXPECT_EQ(c->secret_env, (std::vector<std::string>{"PW", "DSN"}));
}

TEST(DockerEnv, EnvFromSkipsKeysThatAreNotVariableNames) {
  api::ContainerTask task = Task();
  task.spec.env_from = {FromConfigMap("c")};
  Result<DockerContainer> c = Render(task, {Config("ConfigMap", "c", {{"a=b", "x"}, {"1st", "y"}, {"", "z"}})});
  ASSERT_TRUE(c.has_value());
  // '=' cannot be in a name; a leading digit can, under the relaxed rule.
  EXPECT_EQ(Env(*c), std::vector<std::string>{"1st=y"});
}

TEST(DockerEnv, SecretThatIsNotUtf8IsAnErrorNotAnException) {
  api::ContainerTask task = Task();
  task.spec.env = {SecretKey("BLOB", "s", "bin")};
  Result<DockerContainer> c = Render(task, {Config("Secret", "s", {{"bin", std::string("\xff\xfe\x00x", 4)}})});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message(),
            "spec.env[0].valueFrom.secretKeyRef: Secret \"s\" key \"bin\" is not UTF-8 text, which the Docker API "
            "cannot carry in an environment variable");
}

TEST(DockerEnv, ConfigNamespaces) {
  api::ContainerTask task = Task();
  task.spec.env = {ConfigMapKey("V", "c", "k")};
  auto value_in = [&](const char* task_ns, std::vector<api::ConfigData> configs) -> std::string {
    task.metadata.namespace_ = task_ns;
    Result<DockerContainer> c = Render(task, configs);
    if (!c) return "error";
    return Env(*c).at(0);
  };
  // No namespace matches any task; "" for a task means "default".
  EXPECT_EQ(value_in("prod", {Config("ConfigMap", "c", {{"k", "any"}})}), "V=any");
  EXPECT_EQ(value_in("", {Config("ConfigMap", "c", {{"k", "default"}}, "default")}), "V=default");
  EXPECT_EQ(value_in("default", {Config("ConfigMap", "c", {{"k", "default"}}, "default")}), "V=default");
  EXPECT_EQ(value_in("prod", {Config("ConfigMap", "c", {{"k", "dev"}}, "dev")}), "error");
  EXPECT_EQ(value_in("", {Config("ConfigMap", "c", {{"k", "dev"}}, "dev")}), "error");
  // An exact namespace wins over none, whatever the order.
  EXPECT_EQ(
      value_in("prod", {Config("ConfigMap", "c", {{"k", "exact"}}, "prod"), Config("ConfigMap", "c", {{"k", "any"}})}),
      "V=exact");
  // Kinds do not mix.
  EXPECT_EQ(value_in("prod", {Config("Secret", "c", {{"k", "secret"}})}), "error");
}

// ---- host paths --------------------------------------------------------------

Result<DockerContainer> WithHostPath(const std::string& path, const std::vector<std::string>& allowed) {
  api::ContainerTask task = Task();
  task.spec.workspace = api::Workspace{};
  task.spec.workspace->host_path = api::HostPathWorkspace{path, false};
  DockerPolicy policy;
  policy.allowed_host_paths = allowed;
  return Render(task, {}, policy);
}

std::string BindSource(const Result<DockerContainer>& c) {
  if (!c) return "error: " + c.error().message();
  return c->body["HostConfig"]["Mounts"][0]["Source"].get<std::string>();
}

TEST(DockerHostPath, AllowListComparesWholeComponents) {
  EXPECT_EQ(BindSource(WithHostPath("/data", {"/data"})), "/data");
  EXPECT_EQ(BindSource(WithHostPath("/data/in", {"/data"})), "/data/in");
  EXPECT_EQ(BindSource(WithHostPath("/data/in/", {"/data/"})), "/data/in");
  EXPECT_EQ(BindSource(WithHostPath("//data//in/./x", {"/data"})), "/data/in/x");
  EXPECT_EQ(BindSource(WithHostPath("/anything", {"/"})), "/anything");
  EXPECT_EQ(BindSource(WithHostPath("/data/in", {"/other", "/data/in/"})), "/data/in");
  EXPECT_FALSE(WithHostPath("/data2", {"/data"}).has_value());
  EXPECT_FALSE(WithHostPath("/dat", {"/data"}).has_value());
  EXPECT_FALSE(WithHostPath("/", {"/data"}).has_value());
  EXPECT_FALSE(WithHostPath("/data", {"/data/in"}).has_value());
  EXPECT_FALSE(WithHostPath("/data", {}).has_value());
}

TEST(DockerHostPath, DotDotIsRefusedEvenWhenItWouldResolveInside) {
  Result<DockerContainer> c = WithHostPath("/data/../etc", {"/data", "/"});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message(),
            "spec.workspace.hostPath.path: \"/data/../etc\" must be an absolute path without '..' components");
  EXPECT_FALSE(WithHostPath("/data/x/..", {"/data"}).has_value());
  EXPECT_FALSE(WithHostPath("data/x", {"/"}).has_value());
  EXPECT_FALSE(WithHostPath("", {"/"}).has_value());
  // A file named "..." or "..x" is just a name.
  EXPECT_EQ(BindSource(WithHostPath("/data/...", {"/data"})), "/data/...");
  EXPECT_EQ(BindSource(WithHostPath("/data/..x", {"/data"})), "/data/..x");
}

TEST(DockerHostPath, BadPolicyEntriesAllowNothing) {
  EXPECT_FALSE(WithHostPath("/etc", {"/data/.."}).has_value());
  EXPECT_FALSE(WithHostPath("/data", {"data"}).has_value());
  EXPECT_FALSE(WithHostPath("/data", {""}).has_value());
}

TEST(DockerHostPath, RefusalSaysWhatTheOperatorNeeds) {
  Result<DockerContainer> c = WithHostPath("/data2", {"/data"});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message(),
            "spec.workspace.hostPath.path: \"/data2\" is not allowed: the operator must be started with "
            "--allow-host-path covering it");
}

TEST(DockerHostPath, ReadOnlyBind) {
  api::ContainerTask task = Task();
  task.spec.workspace = api::Workspace{};
  task.spec.workspace->mount_path = "/in";
  task.spec.workspace->host_path = api::HostPathWorkspace{"/data", true};
  DockerPolicy policy;
  policy.allowed_host_paths = {"/data"};
  Result<DockerContainer> c = Render(task, {}, policy);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->body["HostConfig"]["Mounts"][0].dump(),
            R"({"Type":"bind","Source":"/data","Target":"/in","ReadOnly":true})");
}

TEST(DockerWorkspace, NamedVolumesFollowPolicy) {
  api::ContainerTask task = Task();
  task.spec.workspace = api::Workspace{};
  task.spec.workspace->docker_volume = api::DockerVolumeWorkspace{"cache"};
  DockerPolicy policy;
  ASSERT_TRUE(Render(task, {}, policy).has_value());
  policy.allow_docker_volumes = false;
  Result<DockerContainer> c = Render(task, {}, policy);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message().find("spec.workspace.dockerVolume"), std::string::npos);
}

TEST(DockerWorkspace, MoreOrFewerThanOneSourceIsAnError) {
  api::ContainerTask task = Task();
  task.spec.workspace = api::Workspace{};
  EXPECT_FALSE(Render(task).has_value());
  task.spec.workspace->empty_dir = api::EmptyDirWorkspace{};
  task.spec.workspace->docker_volume = api::DockerVolumeWorkspace{"v"};
  EXPECT_FALSE(Render(task).has_value());
}

// ---- limits ----------------------------------------------------------------

Result<DockerContainer> WithLimit(const char* resource, const char* quantity) {
  api::ContainerTask task = Task();
  task.spec.resources.limits[resource] = Q(quantity);
  return Render(task);
}

TEST(DockerLimits, MemoryBelowDockersMinimum) {
  Result<DockerContainer> c = WithLimit("memory", "6291455");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(c.error().message(),
            "spec.resources.limits.memory: \"6291455\" is below Docker's minimum of 6Mi: raise the limit to at least "
            "6Mi");
  EXPECT_FALSE(WithLimit("memory", "4Mi").has_value());
  EXPECT_FALSE(WithLimit("memory", "1").has_value());
  Result<DockerContainer> ok = WithLimit("memory", "6Mi");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->body["HostConfig"]["Memory"], 6291456);
  EXPECT_EQ(ok->body["HostConfig"]["MemorySwap"], 6291456);
}

TEST(DockerLimits, CpuBelowDockersMinimum) {
  Result<DockerContainer> c = WithLimit("cpu", "9m");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message(),
            "spec.resources.limits.cpu: \"9m\" is below Docker's minimum of 10m (0.01 CPU): raise the limit to at "
            "least 10m");
  EXPECT_FALSE(WithLimit("cpu", "1u").has_value());  // rounds up to 1m, still below
  Result<DockerContainer> ok = WithLimit("cpu", "10m");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->body["HostConfig"]["NanoCpus"], 10'000'000);
  // Millicore granularity, as the kubelet's CFS quota: 1.0005 -> 1001m.
  EXPECT_EQ(Body(WithLimit("cpu", "1.0005"))["HostConfig"]["NanoCpus"], 1'001'000'000);
}

TEST(DockerLimits, ZeroMeansNoLimit) {
  Result<DockerContainer> c = WithLimit("memory", "0");
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->body["HostConfig"].contains("Memory"));
  EXPECT_FALSE(c->body["HostConfig"].contains("MemorySwap"));
  c = WithLimit("cpu", "0");
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->body["HostConfig"].contains("NanoCpus"));
}

TEST(DockerLimits, HugeValuesDoNotOverflow) {
  EXPECT_FALSE(WithLimit("cpu", "100E").has_value());
  Result<DockerContainer> c = WithLimit("memory", "100E");
  ASSERT_TRUE(c.has_value());  // saturates; Docker itself refuses more than the host has
  EXPECT_EQ(c->body["HostConfig"]["Memory"], std::numeric_limits<int64_t>::max());
}

TEST(DockerLimits, RequestsAndEphemeralStorageAreNotMapped) {
  api::ContainerTask task = Task();
  task.spec.resources.requests["cpu"] = Q("1");
  task.spec.resources.requests["memory"] = Q("1Gi");
  task.spec.resources.limits["ephemeral-storage"] = Q("1Gi");
  Result<DockerContainer> c = Render(task);
  ASSERT_TRUE(c.has_value());
  for (const char* key : {"Memory", "NanoCpus", "MemoryReservation", "CpuShares", "StorageOpt"}) {
    EXPECT_FALSE(c->body["HostConfig"].contains(key)) << key;
  }
}

// ---- user ------------------------------------------------------------------

TEST(DockerUser, Forms) {
  api::ContainerTask task = Task();
  EXPECT_FALSE(Body(Render(task)).contains("User"));
  task.spec.security_context.run_as_user = 1000;
  EXPECT_EQ(Body(Render(task))["User"], "1000");
  task.spec.security_context.run_as_group = 0;
  EXPECT_EQ(Body(Render(task))["User"], "1000:0");
  task.spec.security_context.run_as_user.reset();
  Result<DockerContainer> c = Render(task);
  ASSERT_FALSE(c.has_value());  // ":0" would run as root
  EXPECT_NE(c.error().message().find("spec.securityContext.runAsGroup"), std::string::npos);
}

TEST(DockerUser, NonRootWithRootUserIsRefused) {
  api::ContainerTask task = Task();
  task.spec.security_context.run_as_user = 0;
  task.spec.security_context.run_as_non_root = true;
  EXPECT_FALSE(Render(task).has_value());
  // Without a user the image decides; the runtime checks it before start.
  task.spec.security_context.run_as_user.reset();
  EXPECT_TRUE(Render(task).has_value());
}

// ---- command and args --------------------------------------------------------

TEST(DockerCommand, KubernetesSemantics) {
  api::ContainerTask task = Task();
  auto has = [&](const char* key) { return Body(Render(task)).contains(key); };
  // Neither: the image's ENTRYPOINT and CMD.
  EXPECT_FALSE(has("Entrypoint"));
  EXPECT_FALSE(has("Cmd"));
  // args only: the image's ENTRYPOINT, our CMD.
  task.spec.args = {"x"};
  EXPECT_FALSE(has("Entrypoint"));
  EXPECT_TRUE(has("Cmd"));
  // command only: our entrypoint, and Docker drops the image's CMD once an
  // Entrypoint is given — no Cmd needed (an empty one would be the same).
  task.spec.args.clear();
  task.spec.command = {"true"};
  EXPECT_TRUE(has("Entrypoint"));
  EXPECT_FALSE(has("Cmd"));
}

// ---- labels, name, attempts --------------------------------------------------

TEST(DockerLabels, OursWinAndNamespaceDefaults) {
  api::ContainerTask task = Task();
  task.metadata.generation = 7;
  task.spec.pod_labels = {{"team", "a"}, {kLabelTask, "spoofed"}};
  Result<DockerContainer> c = RenderDockerContainer(task, 0, {}, {});
  ASSERT_TRUE(c.has_value());
  const Json& labels = c->body["Labels"];
  EXPECT_EQ(labels[kLabelTask], "t");
  EXPECT_EQ(labels[kLabelNamespace], "default");
  EXPECT_EQ(labels[kLabelAttempt], "1");  // attempts below 1 count as 1, as in the name
  EXPECT_EQ(labels[kAnnotationGeneration], "7");
  EXPECT_EQ(labels["team"], "a");
  EXPECT_FALSE(labels.contains(kLabelTaskUid));
  EXPECT_EQ(c->name, api::DerivedContainerName("default", "t", 1));
}

TEST(DockerHostConfig, PidsLimitZeroIsOmitted) {
  DockerPolicy policy;
  policy.pids_limit = 0;
  Result<DockerContainer> c = Render(Task(), {}, policy);
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->body["HostConfig"].contains("PidsLimit"));
}

TEST(DockerRender, Deterministic) {
  api::ContainerTask task = Task();
  task.spec.env_from = {FromSecret("s"), FromConfigMap("c", "C_")};
  task.spec.env = {Literal("A", "$(K)"), SecretKey("B", "s", "k")};
  task.spec.pod_labels = {{"z", "1"}, {"a", "2"}};
  const std::vector<api::ConfigData> configs = {Config("Secret", "s", {{"k", "v"}, {"j", "w"}}),
                                                Config("ConfigMap", "c", {{"x", "1"}, {"b", "2"}})};
  Result<DockerContainer> first = Render(task, configs);
  Result<DockerContainer> second = Render(task, configs);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(first->name, second->name);
  EXPECT_EQ(first->body.dump(2), second->body.dump(2));
  EXPECT_EQ(first->secret_env, second->secret_env);
}

// ---- fan-out and runAfter ---------------------------------------------------

// The container's /dev/termination-log is the host file the runtime names,
// and a task with runAfter gets each input file read-only and CTASK_INPUTS
// first in its environment.
TEST(DockerMounts, TerminationLogAndInputs) {
  api::ContainerTask task = Task();
  task.spec.run_after = {"map"};
  DockerPolicy policy;
  policy.termination_log = "/state/termination/c";
  policy.inputs = {{"/state/tasks/default/t/input.map.json", "map.json"}};
  Result<DockerContainer> c = Render(task, {}, policy);
  const Json body = Body(c);
  ASSERT_TRUE(c.has_value());
  const Json& mounts = body["HostConfig"]["Mounts"];
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0]["Target"], "/ctask/inputs/map.json");
  EXPECT_EQ(mounts[0]["ReadOnly"], true);
  EXPECT_EQ(mounts[1]["Source"], "/state/termination/c");
  EXPECT_EQ(mounts[1]["Target"], "/dev/termination-log");
  EXPECT_EQ(mounts[1]["ReadOnly"], false);
  ASSERT_FALSE(Env(*c).empty());
  EXPECT_EQ(Env(*c)[0], "CTASK_INPUTS=/ctask/inputs");
}

TEST(DockerMounts, AnItemHasItsOwnNameAndLabel) {
  api::ContainerTask item = Task();
  item.item = api::ItemRef{4, std::nullopt, 10};
  Result<DockerContainer> c = RenderDockerContainer(item, 2, {}, {});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->name, "ctask-default-" + item.metadata.name + "-i4-a2");
  EXPECT_EQ(c->body["Labels"]["ctask.io/item"], "4");
}

}  // namespace
}  // namespace ctask::render
