#include "kube/object_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ctask::kube {
namespace {

using api::Json;
using Type = Delta::Type;

Json Object(const std::string& name, const std::string& rv, const std::string& ns = "ns") {
  Json metadata = {{"name", name}, {"resourceVersion", rv}};
  if (!ns.empty()) metadata["namespace"] = ns;
  return {{"metadata", metadata}};
}

std::vector<std::pair<Type, std::string>> Summary(const std::vector<Delta>& deltas) {
  std::vector<std::pair<Type, std::string>> out;
  for (const Delta& d : deltas) out.emplace_back(d.type, ObjectKey(d.object));
  return out;
}

TEST(ObjectKeyTest, NamespacedAndClusterScoped) {
  EXPECT_EQ(ObjectKey(Object("a", "1")), "ns/a");
  EXPECT_EQ(ObjectKey(Object("node-1", "1", "")), "node-1");
  EXPECT_EQ(ObjectKey(Json::object()), "");
  EXPECT_EQ(ObjectKey(Json{{"metadata", {{"name", 5}}}}), "") << "a name of the wrong type is no key, not a throw";
  EXPECT_EQ(ResourceVersionOf(Object("a", "7")), "7");
  EXPECT_EQ(ResourceVersionOf(Json::array()), "");
}

TEST(ObjectCacheTest, ReplaceReportsAddsUpdatesAndDeletesAgainstTheCache) {
  ObjectCache cache;
  EXPECT_EQ(Summary(cache.Replace({Object("a", "1"), Object("b", "1")})),
            (std::vector<std::pair<Type, std::string>>{{Type::kAdded, "ns/a"}, {Type::kAdded, "ns/b"}}));
  EXPECT_TRUE(cache.Replace({Object("a", "1"), Object("b", "1")}).empty()) << "the same list changes nothing";

  std::vector<Delta> deltas = cache.Replace({Object("b", "2"), Object("c", "1")});
  EXPECT_EQ(Summary(deltas), (std::vector<std::pair<Type, std::string>>{
                                 {Type::kDeleted, "ns/a"}, {Type::kUpdated, "ns/b"}, {Type::kAdded, "ns/c"}}));
  EXPECT_EQ(ResourceVersionOf(deltas[0].object), "1") << "a delete carries the last state known";
  EXPECT_EQ(cache.Size(), 2u);
  EXPECT_FALSE(cache.Get("ns/a").has_value());
  EXPECT_EQ(ResourceVersionOf(*cache.Get("ns/b")), "2");
  EXPECT_EQ(cache.Keys(), (std::vector<std::string>{"ns/b", "ns/c"})) << "List's order";
}

TEST(ObjectCacheTest, ApplyFollowsWatchEvents) {
  ObjectCache cache;
  std::optional<Delta> added = cache.Apply({"ADDED", Object("a", "1")});
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->type, Type::kAdded);
  EXPECT_FALSE(cache.Apply({"MODIFIED", Object("a", "1")}).has_value()) << "same version: nothing new";
  std::optional<Delta> modified = cache.Apply({"MODIFIED", Object("a", "2")});
  ASSERT_TRUE(modified.has_value());
  EXPECT_EQ(modified->type, Type::kUpdated);
  // A MODIFIED for an object the cache never saw is still an add for it.
  std::optional<Delta> late = cache.Apply({"MODIFIED", Object("b", "3")});
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->type, Type::kAdded);
  EXPECT_FALSE(cache.Apply({"BOOKMARK", Object("a", "9")}).has_value());
  EXPECT_FALSE(cache.Apply({"DELETED", Object("zz", "4")}).has_value()) << "unknown key";
  std::optional<Delta> deleted = cache.Apply({"DELETED", Object("a", "4")});
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->type, Type::kDeleted);
  EXPECT_EQ(cache.List().size(), 1u);
  EXPECT_FALSE(cache.Apply({"ADDED", Json::object()}).has_value()) << "no name: ignored";
}

}  // namespace
}  // namespace ctask::kube
