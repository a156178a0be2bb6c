// Request paths and query strings: pure functions, no server.
#include "kube/resource.h"

#include <gtest/gtest.h>

namespace ctask::kube {
namespace {

TEST(ResourcePathTest, CoreNamespacedObject) {
  EXPECT_EQ(ResourcePath(resources::Pods(), "dev", "web-1"), "/api/v1/namespaces/dev/pods/web-1");
}

TEST(ResourcePathTest, GroupCollectionInNamespace) {
  EXPECT_EQ(ResourcePath(resources::ContainerTasks(), "dev"), "/apis/ctask.io/v1alpha1/namespaces/dev/containertasks");
}

TEST(ResourcePathTest, EmptyNamespaceIsEveryNamespace) {
  EXPECT_EQ(ResourcePath(resources::Jobs(), ""), "/apis/batch/v1/jobs");
}

TEST(ResourcePathTest, ClusterScopedIgnoresNamespace) {
  EXPECT_EQ(ResourcePath(resources::Namespaces(), "dev", "dev"), "/api/v1/namespaces/dev");
  EXPECT_EQ(ResourcePath(resources::CustomResourceDefinitions(), "", "containertasks.ctask.io"),
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/containertasks.ctask.io");
}

TEST(ResourcePathTest, Subresource) {
  EXPECT_EQ(ResourcePath(resources::ContainerTasks(), "dev", "x", "status"),
            "/apis/ctask.io/v1alpha1/namespaces/dev/containertasks/x/status");
  EXPECT_EQ(ResourcePath(resources::Pods(), "dev", "p", "log"), "/api/v1/namespaces/dev/pods/p/log");
}

TEST(ResourcePathTest, SegmentsArePercentEncoded) {
  EXPECT_EQ(ResourcePath(resources::ConfigMaps(), "a b", "x/y?z"), "/api/v1/namespaces/a%20b/configmaps/x%2Fy%3Fz");
}

TEST(ResourceTest, NamesForMessages) {
  EXPECT_EQ(resources::ContainerTasks().ApiVersion(), "ctask.io/v1alpha1");
  EXPECT_EQ(resources::Pods().ApiVersion(), "v1");
  EXPECT_EQ(resources::ContainerTasks().QualifiedName(), "containertasks.ctask.io");
  EXPECT_EQ(resources::Pods().QualifiedName(), "pods");
}

TEST(QueryStringTest, SkipsEmptyValuesAndEncodes) {
  EXPECT_EQ(QueryString({{"labelSelector", "app=x,tier!=db"}, {"limit", ""}, {"watch", "true"}}),
            "?labelSelector=app%3Dx%2Ctier%21%3Ddb&watch=true");
}

TEST(QueryStringTest, NothingLeftIsEmpty) {
  EXPECT_EQ(QueryString({}), "");
  EXPECT_EQ(QueryString({{"a", ""}, {"b", ""}}), "");
}

TEST(PercentEncodeTest, UnreservedKeptEverythingElseEncoded) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode("+/ \xC3\xA9"), "%2B%2F%20%C3%A9");
}

}  // namespace
}  // namespace ctask::kube
