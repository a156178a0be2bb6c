// Our Kubernetes client (src/kube/client.h) against the real API server of
// hack/cluster/up.sh: every verb the operator uses, the errors it must tell
// apart (AlreadyExists, Conflict, NotFound, Invalid), paging, server-side
// apply, and the Jobs the renderer makes passing the server's own checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/codec.h"
#include "api/manifest.h"
#include "cluster/kube_fixture.h"
#include "kube/object_cache.h"
#include "kube/resource.h"
#include "render/job.h"

namespace ctask::testing {
namespace {

namespace fs = std::filesystem;
using api::Json;
namespace resources = kube::resources;

class KubeVerbsTest : public KubeClientTest {
 protected:
  void SetUp() override {
    KubeClientTest::SetUp();
    if (HasFatalFailure()) return;
    InstallCrd();
  }
  std::string NamespacePrefix() const override { return "kube-verbs"; }
};

TEST_F(KubeVerbsTest, CreateGetAndTheErrorsACreateOrUpdateCanMeet) {
  Result<Json> created = client().Create(resources::ContainerTasks(), ns(), Task("demo"));
  ASSERT_TRUE(created.has_value()) << created.error().message();
  EXPECT_FALSE(created->at("metadata").value("uid", "").empty());
  // The schema's defaults were applied by the server.
  EXPECT_TRUE(created->at("spec").contains("imagePullPolicy") || created->at("spec").contains("timeoutSeconds") ||
              created->at("spec").size() >= 2)
      << created->dump(2);

  Result<Json> again = client().Create(resources::ContainerTasks(), ns(), Task("demo"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists) << again.error().message();
  EXPECT_EQ(again.error().http_status(), 409);
  EXPECT_EQ(again.error().reason(), "AlreadyExists");
  EXPECT_NE(again.error().message().find("create containertasks.ctask.io \"demo\" in namespace \"" + ns() + "\""),
            std::string::npos)
      << again.error().message();

  Result<Json> got = client().Get(resources::ContainerTasks(), ns(), "demo");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(got->at("metadata").value("uid", ""), created->at("metadata").value("uid", ""));

  // An update from a fresh read succeeds; the same update from the stale
  // read is a conflict, reported as such.
  Json fresh = *got;
  fresh["metadata"]["labels"]["step"] = "one";
  Result<Json> updated = client().Update(resources::ContainerTasks(), ns(), fresh);
  ASSERT_TRUE(updated.has_value()) << updated.error().message();
  Json stale = *got;
  stale["metadata"]["labels"]["step"] = "two";
  Result<Json> conflict = client().Update(resources::ContainerTasks(), ns(), stale);
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().code(), ErrorCode::kConflict) << conflict.error().message();
  EXPECT_EQ(conflict.error().http_status(), 409);
  EXPECT_EQ(conflict.error().reason(), "Conflict");

  Result<Json> missing = client().Get(resources::ContainerTasks(), ns(), "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().http_status(), 404);
  EXPECT_EQ(missing.error().reason(), "NotFound");
}

TEST_F(KubeVerbsTest, AnInvalidTaskIsRefusedNamingTheField) {
  Json task = Task("bad");
  task["spec"]["timeoutSeconds"] = -5;
  Result<Json> created = client().Create(resources::ContainerTasks(), ns(), task);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(created.error().http_status(), 422);
  EXPECT_EQ(created.error().reason(), "Invalid");
  EXPECT_NE(created.error().message().find("spec.timeoutSeconds"), std::string::npos) << created.error().message();
}

TEST_F(KubeVerbsTest, TheStatusSubresourceChangesOnlyTheStatus) {
  Result<Json> created = client().Create(resources::ContainerTasks(), ns(), Task("st"));
  ASSERT_TRUE(created.has_value()) << created.error().message();
  Json object = *created;
  object["status"] = {{"phase", "Running"}, {"message", "attempt 1 is running"}};
  object["spec"]["command"] = Json::array({"changed"});  // ignored by /status
  Result<Json> written = client().UpdateStatus(resources::ContainerTasks(), ns(), object);
  ASSERT_TRUE(written.has_value()) << written.error().message();
  EXPECT_EQ(written->at("status").value("phase", ""), "Running");
  EXPECT_EQ(written->at("spec")["command"], Json::array({"echo", "hi"}));

  // A merge patch of the status subresource, as a controller would send it.
  Result<Json> patched = client().MergePatch(resources::ContainerTasks(), ns(), "st",
                                             {{"status", {{"phase", "Succeeded"}, {"exitCode", 0}}}}, "status");
  ASSERT_TRUE(patched.has_value()) << patched.error().message();
  EXPECT_EQ(patched->at("status").value("phase", ""), "Succeeded");
  EXPECT_EQ(patched->at("status").value("message", ""), "attempt 1 is running") << "a merge patch keeps the rest";
}

TEST_F(KubeVerbsTest, ServerSideApplyIsIdempotentAndOwnsItsFields) {
  Json desired = ConfigMap("applied", "one");
  desired["metadata"]["labels"]["app"] = "ctask";
  Result<Json> first = client().Apply(resources::ConfigMaps(), ns(), desired);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  Result<Json> second = client().Apply(resources::ConfigMaps(), ns(), desired);
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_EQ(kube::ResourceVersionOf(*first), kube::ResourceVersionOf(*second))
      << "applying the same object again must not write";

  bool ours = false;
  for (const Json& entry : second->at("metadata").value("managedFields", Json::array())) {
    if (entry.value("manager", "") == kube::kFieldManager && entry.value("operation", "") == "Apply") ours = true;
  }
  EXPECT_TRUE(ours) << second->at("metadata").dump(2);

  // Another manager takes the field; a forced apply takes it back.
  ASSERT_TRUE(client()
                  .MergePatch(resources::ConfigMaps(), ns(), "applied", {{"data", {{"value", "theirs"}}}}, {},
                              kube::WriteOptions{.dry_run = false, .field_manager = "someone-else"})
                  .has_value());
  Result<Json> taken_back = client().Apply(resources::ConfigMaps(), ns(), desired);
  ASSERT_TRUE(taken_back.has_value()) << taken_back.error().message();
  EXPECT_EQ(taken_back->at("data").value("value", ""), "one");

  kube::ApplyOptions polite;
  polite.force = false;
  Json changed = desired;
  changed["data"]["value"] = "two";
  ASSERT_TRUE(client()
                  .MergePatch(resources::ConfigMaps(), ns(), "applied", {{"data", {{"value", "theirs"}}}}, {},
                              kube::WriteOptions{.dry_run = false, .field_manager = "someone-else"})
                  .has_value());
  Result<Json> refused = client().Apply(resources::ConfigMaps(), ns(), changed, polite);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict) << refused.error().message();
}

TEST_F(KubeVerbsTest, DeleteHonoursPreconditionsAndPropagation) {
  Result<Json> created = client().Create(resources::ConfigMaps(), ns(), ConfigMap("gone", "x"));
  ASSERT_TRUE(created.has_value()) << created.error().message();

  kube::DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  Status refused = client().Delete(resources::ConfigMaps(), ns(), "gone", wrong_uid);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict) << refused.error().message();

  kube::DeleteOptions right;
  right.precondition_uid = created->at("metadata").value("uid", "");
  right.precondition_resource_version = kube::ResourceVersionOf(*created);
  right.propagation_policy = "Background";
  Status deleted = client().Delete(resources::ConfigMaps(), ns(), "gone", right);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message();
  Result<Json> after = client().Get(resources::ConfigMaps(), ns(), "gone");
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code(), ErrorCode::kNotFound);

  Status twice = client().Delete(resources::ConfigMaps(), ns(), "gone");
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().code(), ErrorCode::kNotFound);
}

TEST_F(KubeVerbsTest, SelectorsFilterLists) {
  for (const char* name : {"a", "b", "c"}) {
    Json object = ConfigMap(name, name);
    object["metadata"]["labels"]["tier"] = std::string(name) == "a" ? "front" : "back";
    ASSERT_TRUE(client().Create(resources::ConfigMaps(), ns(), object).has_value());
  }
  kube::ListOptions by_label;
  by_label.label_selector = "tier!=front,tier";
  Result<kube::ObjectList> back = client().List(resources::ConfigMaps(), ns(), by_label);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  ASSERT_EQ(back->items.size(), 2u);
  EXPECT_EQ(back->items[0].value("kind", ""), "ConfigMap");
  EXPECT_EQ(back->items[0].value("apiVersion", ""), "v1");
  kube::ListOptions by_field;
  by_field.field_selector = "metadata.name=c";
  Result<kube::ObjectList> c = client().List(resources::ConfigMaps(), ns(), by_field);
  ASSERT_TRUE(c.has_value()) << c.error().message();
  ASSERT_EQ(c->items.size(), 1u);
  EXPECT_EQ(c->items[0]["metadata"].value("name", ""), "c");
}

TEST_F(KubeVerbsTest, PagingReturnsEveryOneOfTwoThousandObjectsExactlyOnce) {
  constexpr int kObjects = 2000;
  constexpr int kThreads = 4;
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex failure_mu;
  std::vector<std::jthread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = t; i < kObjects; i += kThreads) {
        Result<Json> created =
            client().Create(resources::ConfigMaps(), ns(), ConfigMap("cm-" + std::to_string(i), "v"));
        if (!created) {
          std::lock_guard lock(failure_mu);
          if (failures++ == 0) first_failure = created.error().message();
        }
      }
    });
  }
  writers.clear();
  ASSERT_EQ(failures.load(), 0) << first_failure;

  kube::ListOptions options;
  options.label_selector = "";
  int pages = 0;
  std::multiset<std::string> names;
  options.limit = 170;  // not a divisor of 2,000: the last page is short
  while (true) {
    Result<kube::ObjectList> page = client().List(resources::ConfigMaps(), ns(), options);
    ASSERT_TRUE(page.has_value()) << page.error().message();
    ++pages;
    EXPECT_LE(page->items.size(), 170u);
    for (const Json& item : page->items) names.insert(item["metadata"].value("name", ""));
    if (page->continue_token.empty()) break;
    options.continue_token = page->continue_token;
  }
  // kube-root-ca.crt is published into every namespace by the controller manager.
  names.erase("kube-root-ca.crt");
  EXPECT_EQ(names.size(), static_cast<size_t>(kObjects));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), static_cast<size_t>(kObjects))
      << "an object came twice";
  EXPECT_GE(pages, kObjects / 170);

  Result<kube::ObjectList> all = client().ListAll(resources::ConfigMaps(), ns(), {}, 333);
  ASSERT_TRUE(all.has_value()) << all.error().message();
  std::set<std::string> all_names;
  for (const Json& item : all->items) all_names.insert(item["metadata"].value("name", ""));
  all_names.erase("kube-root-ca.crt");
  EXPECT_EQ(all_names.size(), static_cast<size_t>(kObjects));
  EXPECT_FALSE(all->resource_version.empty());
}

// Every Job the renderer makes — for the examples and for the golden cases
// that render for Kubernetes — is accepted by the API server's own
// validation (server-side dry run), owned by a task that really exists.
TEST_F(KubeVerbsTest, EveryRenderedJobPassesAServerSideDryRun) {
  std::vector<fs::path> inputs = FilesIn(SourceRoot() + "/examples", ".yaml");
  for (const fs::path& golden : FilesIn(SourceRoot() + "/tests/render/testdata", ".yaml")) {
    const std::string stem = golden.stem().string();
    if (stem.find('.') != std::string::npos) continue;  // <case>.job.yaml outputs
    if (fs::exists(golden.parent_path() / (stem + ".job.yaml"))) inputs.push_back(golden);
  }
  int jobs = 0;
  for (const fs::path& file : inputs) {
    SCOPED_TRACE(file.string());
    api::Manifests manifests = api::LoadManifestFiles({file.string()});
    ASSERT_TRUE(manifests.ok()) << manifests.problems.front().ToString();
    for (const api::LoadedTask& loaded : manifests.tasks) {
      api::ContainerTask task = loaded.task;
      task.metadata.namespace_ = ns();
      Json object = api::EncodeContainerTask(task);
      object.erase("status");
      Result<Json> created = client().Create(resources::ContainerTasks(), ns(), object);
      ASSERT_TRUE(created.has_value()) << created.error().message();
      api::ContainerTask stored = api::DecodeContainerTask(*created).task;
      render::JobOptions options;
      options.attempt = 2;
      options.active_deadline_seconds = 30;
      Result<Json> job = render::RenderJob(stored, options);
      ASSERT_TRUE(job.has_value()) << job.error().message();
      Result<Json> dry = client().Create(resources::Jobs(), ns(), *job, kube::WriteOptions{.dry_run = true});
      EXPECT_TRUE(dry.has_value()) << task.metadata.name << ": " << (dry ? "" : dry.error().message()) << "\n"
                                   << job->dump(2);
      ++jobs;
    }
  }
  EXPECT_GE(jobs, 10);
  // A dry run stores nothing.
  Result<kube::ObjectList> stored = client().List(resources::Jobs(), ns());
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->items.empty());
}

TEST_F(KubeVerbsTest, EventsAndLeasesAreWritten) {
  Result<Json> task = client().Create(resources::ContainerTasks(), ns(), Task("evented"));
  ASSERT_TRUE(task.has_value()) << task.error().message();
  Json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", "evented.test"}, {"namespace", ns()}}},
      {"involvedObject",
       {{"apiVersion", "ctask.io/v1alpha1"},
        {"kind", "ContainerTask"},
        {"name", "evented"},
        {"namespace", ns()},
        {"uid", task->at("metadata").value("uid", "")}}},
      {"reason", "Started"},
      {"message", "attempt 1 started"},
      {"type", "Normal"},
      {"source", {{"component", "ctask"}}},
      {"count", 1},
  };
  Result<Json> recorded = client().Create(resources::Events(), ns(), event);
  ASSERT_TRUE(recorded.has_value()) << recorded.error().message();
  kube::ListOptions for_task;
  for_task.field_selector = "involvedObject.name=evented";
  Result<kube::ObjectList> events = client().List(resources::Events(), ns(), for_task);
  ASSERT_TRUE(events.has_value()) << events.error().message();
  ASSERT_EQ(events->items.size(), 1u);
  EXPECT_EQ(events->items[0].value("reason", ""), "Started");

  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "ctask-operator"}}},
                {"spec", {{"holderIdentity", "a"}, {"leaseDurationSeconds", 15}}}};
  Result<Json> held = client().Create(resources::Leases(), ns(), lease);
  ASSERT_TRUE(held.has_value()) << held.error().message();
  Json renewed = *held;
  renewed["spec"]["holderIdentity"] = "b";
  ASSERT_TRUE(client().Update(resources::Leases(), ns(), renewed).has_value());
  Json late = *held;  // another candidate with the old read loses
  late["spec"]["holderIdentity"] = "c";
  Result<Json> lost = client().Update(resources::Leases(), ns(), late);
  ASSERT_FALSE(lost.has_value());
  EXPECT_EQ(lost.error().code(), ErrorCode::kConflict);
}

}  // namespace
}  // namespace ctask::testing
