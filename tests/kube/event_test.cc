// MakeEvent: a core/v1 Event shaped as client-go's recorder makes it.
#include "kube/event.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "util/utf8.h"

namespace ctask::kube {
namespace {

using namespace std::chrono_literals;

// 2026-11-23T15:04:05.123456789Z
const std::chrono::system_clock::time_point kNow =
    std::chrono::system_clock::time_point(std::chrono::sys_days(std::chrono::year(2026) / 11 / 23).time_since_epoch()) +
    15h + 4min + 5s + 123456789ns;

api::Json Task() {
  return {{"apiVersion", "ctask.io/v1alpha1"},
          {"kind", "ContainerTask"},
          {"metadata", {{"name", "demo"}, {"namespace", "dev"}, {"uid", "u-1"}, {"resourceVersion", "42"}}},
          {"spec", {{"image", "busybox"}}}};
}

TEST(MakeEventTest, BuildsACoreV1Event) {
  const api::Json event =
      MakeEvent(Task(), "Warning", "PullFailed", "image not found", "ctask-controller", kNow, "node-a");
  EXPECT_EQ(event["apiVersion"], "v1");
  EXPECT_EQ(event["kind"], "Event");
  const long long nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(kNow.time_since_epoch()).count();
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", nanos);
  EXPECT_EQ(event["metadata"]["name"], "demo." + std::string(hex));
  EXPECT_EQ(event["metadata"]["namespace"], "dev");
  EXPECT_EQ(event["involvedObject"], (api::Json{{"apiVersion", "ctask.io/v1alpha1"},
                                                {"kind", "ContainerTask"},
                                                {"name", "demo"},
                                                {"namespace", "dev"},
                                                {"uid", "u-1"},
                                                {"resourceVersion", "42"}}));
  EXPECT_EQ(event["reason"], "PullFailed");
  EXPECT_EQ(event["message"], "image not found");
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["source"], (api::Json{{"component", "ctask-controller"}, {"host", "node-a"}}));
  EXPECT_EQ(event["firstTimestamp"], "2026-11-23T15:04:05Z");
  EXPECT_EQ(event["lastTimestamp"], "2026-11-23T15:04:05Z");
  EXPECT_TRUE(event["eventTime"].is_null());
  EXPECT_EQ(event["count"], 1);
  EXPECT_EQ(event["reportingComponent"], "ctask-controller");
  EXPECT_EQ(event["reportingInstance"], "node-a");
}

TEST(MakeEventTest, ClusterScopedObjectEventGoesToDefault) {
  const api::Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "dev"}}}};
  const api::Json event = MakeEvent(ns, "Normal", "Seen", "m", "ctask", kNow);
  EXPECT_EQ(event["metadata"]["namespace"], "default");
  EXPECT_FALSE(event["involvedObject"].contains("namespace"));
  EXPECT_FALSE(event["involvedObject"].contains("uid"));
  EXPECT_FALSE(event["source"].contains("host"));
}

TEST(MakeEventTest, DifferentTimesGiveDifferentNames) {
  EXPECT_NE(MakeEvent(Task(), "Normal", "R", "m", "c", kNow)["metadata"]["name"],
            MakeEvent(Task(), "Normal", "R", "m", "c", kNow + 1ns)["metadata"]["name"]);
}

TEST(MakeEventTest, LongObjectNameKeepsEventNameWithinLimit) {
  api::Json task = Task();
  task["metadata"]["name"] = std::string(253, 'a');
  const std::string name = MakeEvent(task, "Normal", "R", "m", "c", kNow)["metadata"]["name"];
  EXPECT_LE(name.size(), 253u);
  EXPECT_NE(name.find('.'), std::string::npos);
}

TEST(MakeEventTest, MessageTruncatedAtCharacterBoundary) {
  // 1023 ASCII bytes then a 3-byte character crossing the limit.
  const std::string message = std::string(1023, 'm') + "\xE2\x82\xAC" + "more";
  const std::string got = MakeEvent(Task(), "Normal", "R", message, "c", kNow)["message"];
  EXPECT_EQ(got, std::string(1023, 'm'));
  const std::string fits(1024, 'x');
  EXPECT_EQ(MakeEvent(Task(), "Normal", "R", fits, "c", kNow)["message"], fits);
}

TEST(MakeEventTest, InvalidUtf8MessageMadeValid) {
  const std::string got = MakeEvent(Task(), "Normal", "R", "bad \xff byte", "c", kNow)["message"];
  EXPECT_TRUE(IsValidUtf8(got));
  EXPECT_NE(got.find("bad"), std::string::npos);
}

TEST(TruncateUtf8Test, Cuts) {
  EXPECT_EQ(TruncateUtf8("h\xC3\xA9llo", 2), "h");
  EXPECT_EQ(TruncateUtf8("h\xC3\xA9llo", 3), "h\xC3\xA9");
  EXPECT_EQ(TruncateUtf8("abc", 10), "abc");
  EXPECT_EQ(TruncateUtf8("abc", 0), "");
}

}  // namespace
}  // namespace ctask::kube
