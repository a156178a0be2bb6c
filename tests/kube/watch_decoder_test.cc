// WatchDecoder: lines split and joined at arbitrary chunk boundaries.
#include "kube/watch_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ctask::kube {
namespace {

const std::string kAdded = R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}})"
                           "\n";

TEST(WatchDecoderTest, OneEventSplitAtEveryByteBoundary) {
  for (size_t cut = 0; cut <= kAdded.size(); ++cut) {
    WatchDecoder decoder;
    Result<std::vector<WatchEvent>> first = decoder.Feed(kAdded.substr(0, cut));
    ASSERT_TRUE(first.has_value()) << "cut " << cut;
    Result<std::vector<WatchEvent>> second = decoder.Feed(kAdded.substr(cut));
    ASSERT_TRUE(second.has_value()) << "cut " << cut;
    std::vector<WatchEvent> all = *first;
    all.insert(all.end(), second->begin(), second->end());
    ASSERT_EQ(all.size(), 1u) << "cut " << cut;
    EXPECT_EQ(all[0].type, "ADDED");
    EXPECT_EQ(all[0].object["metadata"]["resourceVersion"], "5");
    EXPECT_EQ(decoder.Pending(), 0u);
  }
}

TEST(WatchDecoderTest, ManyEventsInOneChunkInOrder) {
  WatchDecoder decoder;
  const std::string chunk = R"({"type":"ADDED","object":{"n":1}})"
                            "\n"
                            R"({"type":"MODIFIED","object":{"n":2}})"
                            "\n"
                            R"({"type":"BOOKMARK","object":{"n":3}})"
                            "\n"
                            R"({"type":"DELETED","object":{"n":4})";
  Result<std::vector<WatchEvent>> events = decoder.Feed(chunk);
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].type, "ADDED");
  EXPECT_EQ((*events)[1].type, "MODIFIED");
  EXPECT_EQ((*events)[2].type, "BOOKMARK");
  EXPECT_GT(decoder.Pending(), 0u);
  events = decoder.Feed("}\n");
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].object["n"], 4);
}

TEST(WatchDecoderTest, CrlfAndBlankLines) {
  WatchDecoder decoder;
  Result<std::vector<WatchEvent>> events = decoder.Feed(
      "\r\n\n"
      R"({"type":"ADDED","object":{}})"
      "\r\n\r\n");
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "ADDED");
}

TEST(WatchDecoderTest, NonEventLineIsUnavailable) {
  for (const std::string line : {"<html>proxy error</html>\n",
                                 R"({"kind":"Status"})"
                                 "\n",
                                 R"({"type":"ADDED","object":"text"})"
                                 "\n"}) {
    WatchDecoder decoder;
    Result<std::vector<WatchEvent>> events = decoder.Feed(line);
    ASSERT_FALSE(events.has_value()) << line;
    EXPECT_EQ(events.error().code(), ErrorCode::kUnavailable);
    EXPECT_NE(events.error().message().find("not a watch event"), std::string::npos);
  }
}

TEST(WatchDecoderTest, OverLongLineIsAnError) {
  WatchDecoder decoder;
  const std::string piece(1024 * 1024, 'x');
  Result<std::vector<WatchEvent>> events = decoder.Feed(R"({"type":"ADDED","object":{"x":")");
  for (size_t sent = 0; events.has_value() && sent <= kMaxWatchLineBytes; sent += piece.size()) {
    events = decoder.Feed(piece);
  }
  ASSERT_FALSE(events.has_value());
  EXPECT_EQ(events.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(events.error().message().find("larger than"), std::string::npos);
  EXPECT_EQ(decoder.Pending(), 0u);
}

TEST(WatchDecoderTest, SkippedFieldsAreLeftOutAndTheRestIsWhole) {
  const std::string line =
      R"({"type":"MODIFIED","object":{"metadata":{"name":"j","managedFields":[{"manager":"kcm"}],)"
      R"("annotations":{"big":"xxx","small":"y"}},"spec":{"template":{"spec":{"containers":[]}},"suspend":true},)"
      R"("status":{"template":"kept: same key, other place"},"template":"kept: a key of the object itself"}})"
      "\n";
  WatchDecoder decoder({{"metadata", "managedFields"}, {"metadata", "annotations", "big"}, {"spec", "template"}});
  Result<std::vector<WatchEvent>> events = decoder.Feed(line);
  ASSERT_TRUE(events.has_value()) << events.error().message();
  ASSERT_EQ(events->size(), 1u);
  const api::Json& object = (*events)[0].object;
  EXPECT_EQ((*events)[0].type, "MODIFIED");
  EXPECT_EQ(object["metadata"], api::Json({{"name", "j"}, {"annotations", {{"small", "y"}}}}));
  EXPECT_EQ(object["spec"], api::Json({{"suspend", true}}));
  EXPECT_EQ(object["status"]["template"], "kept: same key, other place");
  EXPECT_EQ(object["template"], "kept: a key of the object itself");
}

TEST(WatchDecoderTest, SkippingReadsOnlyTheObjectNotTheEvent) {
  // A path names the object's fields: the event's own "type" is never one.
  WatchDecoder decoder(std::vector<FieldPath>{{"type"}});
  Result<std::vector<WatchEvent>> events = decoder.Feed(R"({"type":"ADDED","object":{"type":"skipped","name":"a"}})"
                                                        "\n");
  ASSERT_TRUE(events.has_value()) << events.error().message();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "ADDED");
  EXPECT_EQ((*events)[0].object, api::Json({{"name", "a"}}));
}

TEST(WatchDecoderTest, ABrokenLineIsStillAnErrorWhenSkipping) {
  WatchDecoder decoder(std::vector<FieldPath>{{"metadata", "managedFields"}});
  Result<std::vector<WatchEvent>> events = decoder.Feed("{\"type\":\"ADDED\",\"object\":{\"metadata\":\n");
  ASSERT_FALSE(events.has_value());
  EXPECT_EQ(events.error().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace ctask::kube
