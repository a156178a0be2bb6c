// util/log: both line formats, quoting and escaping (no value can forge a
// line), fields from With() chains, level filtering, many threads writing at
// once, and the --log-format / --log-level errors. The clock is fixed, so the
// expected lines are exact.
#include "util/log.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"

namespace ctask::log {
namespace {

// 2026-11-23T18:00:00.123Z
std::chrono::system_clock::time_point FixedTime() {
  using namespace std::chrono;
  return sys_days(year(2026) / November / 23) + hours(18) + milliseconds(123);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every test writes into its own stream with a fixed clock, and leaves the
// process-wide logger as it found it (stderr, text, info).
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override { SetClock(clock_); }
  void TearDown() override {
    Configure(Format::kText, Level::kInfo, nullptr);
    SetClock(RealClock());
  }
  fakes::FakeClock clock_{FixedTime()};
  std::ostringstream out_;
};

TEST_F(LogTest, TextLine) {
  Configure(Format::kText, Level::kInfo, &out_);
  Root().With("namespace", "dev").With("name", "hello").Info("reconciled", {{"attempt", 2}, {"phase", "Running"}});
  EXPECT_EQ(out_.str(),
            "2026-11-23T18:00:00.123Z INFO  reconciled  namespace=dev name=hello attempt=2 phase=Running\n");
}

TEST_F(LogTest, TextLevelsAlign) {
  Configure(Format::kText, Level::kDebug, &out_);
  const Logger log = Root();
  log.Debug("d");
  log.Info("i");
  log.Warn("w");
  log.Error("e");
  EXPECT_EQ(Lines(out_.str()), (std::vector<std::string>{
                                   "2026-11-23T18:00:00.123Z DEBUG d",
                                   "2026-11-23T18:00:00.123Z INFO  i",
                                   "2026-11-23T18:00:00.123Z WARN  w",
                                   "2026-11-23T18:00:00.123Z ERROR e",
                               }));
}

TEST_F(LogTest, JsonLine) {
  Configure(Format::kJson, Level::kInfo, &out_);
  Root().With("namespace", "dev").With("name", "hello").With("attempt", 2).Info("reconciled");
  EXPECT_EQ(out_.str(),
            "{\"ts\":\"2026-11-23T18:00:00.123Z\",\"level\":\"info\",\"msg\":\"reconciled\",\"namespace\":\"dev\","
            "\"name\":\"hello\",\"attempt\":2}\n");
  const nlohmann::json parsed = nlohmann::json::parse(Lines(out_.str()).at(0));
  EXPECT_TRUE(parsed["attempt"].is_number_integer());
}

TEST_F(LogTest, JsonLevelNames) {
  Configure(Format::kJson, Level::kDebug, &out_);
  Root().Debug("a");
  Root().Warn("b");
  Root().Error("c");
  std::vector<std::string> levels;
  for (const std::string& line : Lines(out_.str())) levels.push_back(nlohmann::json::parse(line)["level"]);
  EXPECT_EQ(levels, (std::vector<std::string>{"debug", "warn", "error"}));
}

TEST_F(LogTest, QuotesValuesAsGoDoes) {
  struct Case {
    std::string value;
    std::string written;
  };
  const std::vector<Case> cases = {
      {"plain", "plain"},
      {"", "\"\""},
      {"two words", "\"two words\""},
      {"a=b", "\"a=b\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"back\\slash", "back\\slash"},  // nothing to quote for
      {"tab\there", "\"tab\\there\""},
      {"line\nbreak", "\"line\\nbreak\""},
      {"cr\r", "\"cr\\r\""},
      {std::string("nul\0x", 5), "\"nul\\x00x\""},
      {"esc\x1b[31m", "\"esc\\x1b[31m\""},
      {"del\x7f", "\"del\\x7f\""},
      {"bad\xff", "\"bad\\xff\""},            // not UTF-8
      {"caf\xc3\xa9", "caf\xc3\xa9"},         // UTF-8 stays
      {"rtl\xe2\x80\xae", "\"rtl\\u202e\""},  // bidi override
      {"nel\xc2\x85", "\"nel\\u0085\""},      // C1 next line
      {"ls\xe2\x80\xa8", "\"ls\\u2028\""},    // line separator
      {"quote\"and space ", "\"quote\\\"and space \""},
  };
  Configure(Format::kText, Level::kInfo, &out_);
  for (const Case& c : cases) {
    out_.str("");
    Root().Info("m", {{"k", c.value}});
    EXPECT_EQ(out_.str(), "2026-11-23T18:00:00.123Z INFO  m  k=" + c.written + "\n") << c.value;
  }
}

TEST_F(LogTest, NoValueOrMessageForgesALine) {
  const std::string forged = "x\n2026-11-23T18:00:00.123Z ERROR forged  admin=true\r\n{\"level\":\"error\"}";
  for (Format format : {Format::kText, Format::kJson}) {
    out_.str("");
    Configure(format, Level::kInfo, &out_);
    Root().With(forged, forged).Info(forged, {{"v", forged}});
    const std::vector<std::string> lines = Lines(out_.str());
    ASSERT_EQ(lines.size(), 1u) << out_.str();
    EXPECT_EQ(lines[0].find('\r'), std::string::npos);
    if (format == Format::kJson) {
      const nlohmann::json parsed = nlohmann::json::parse(lines[0]);
      EXPECT_EQ(parsed["msg"], forged);  // escaped in the line, intact once parsed
      EXPECT_EQ(parsed["v"], forged);
    } else {
      EXPECT_NE(lines[0].find("INFO  x\\n2026-11-23T18:00:00.123Z ERROR forged  admin=true\\r\\n"), std::string::npos)
          << lines[0];
    }
  }
}

TEST_F(LogTest, JsonReplacesBytesThatAreNotUtf8) {
  Configure(Format::kJson, Level::kInfo, &out_);
  Root().Info("m", {{"v", "ok\xff"}});
  const nlohmann::json parsed = nlohmann::json::parse(Lines(out_.str()).at(0));
  EXPECT_EQ(parsed["v"], "ok\xef\xbf\xbd");
}

TEST_F(LogTest, WithChainsAreValuesAndLaterSetsWin) {
  Configure(Format::kText, Level::kInfo, &out_);
  const Logger base = Root().With("controller", "containertask");
  const Logger task = base.With("namespace", "dev").With("name", "a");
  const Logger retried = task.With("name", "b").With("attempt", int64_t{3});
  base.Info("one");
  task.Info("two");
  retried.Info("three", {{"attempt", 4}, {"phase", "Failed"}});
  EXPECT_EQ(Lines(out_.str()), (std::vector<std::string>{
                                   "2026-11-23T18:00:00.123Z INFO  one  controller=containertask",
                                   "2026-11-23T18:00:00.123Z INFO  two  controller=containertask namespace=dev name=a",
                                   "2026-11-23T18:00:00.123Z INFO  three  controller=containertask namespace=dev "
                                   "name=b attempt=4 phase=Failed",
                               }));
}

TEST_F(LogTest, ReservedKeysAreRenamed) {
  Configure(Format::kJson, Level::kInfo, &out_);
  Root().With("msg", "not the message").With("level", int64_t{9}).Info("the message", {{"ts", "x"}});
  const nlohmann::json parsed = nlohmann::json::parse(Lines(out_.str()).at(0));
  EXPECT_EQ(parsed["msg"], "the message");
  EXPECT_EQ(parsed["level"], "info");
  EXPECT_EQ(parsed["ts"], "2026-11-23T18:00:00.123Z");
  EXPECT_EQ(parsed["msg_"], "not the message");
  EXPECT_EQ(parsed["level_"], 9);
  EXPECT_EQ(parsed["ts_"], "x");
}

TEST_F(LogTest, LinesBelowTheLevelAreDropped) {
  Configure(Format::kText, Level::kWarn, &out_);
  EXPECT_FALSE(Root().Enabled(Level::kInfo));
  EXPECT_TRUE(Root().Enabled(Level::kError));
  Root().Debug("no");
  Root().Info("no");
  Root().Warn("yes");
  Root().Error("yes");
  EXPECT_EQ(Lines(out_.str()).size(), 2u) << out_.str();
}

TEST_F(LogTest, NegativeAndLargeIntegers) {
  Configure(Format::kJson, Level::kInfo, &out_);
  Root().Info("m", {{"min", INT64_MIN}, {"max", INT64_MAX}, {"neg", -1}});
  const nlohmann::json parsed = nlohmann::json::parse(Lines(out_.str()).at(0));
  EXPECT_EQ(parsed["min"].get<int64_t>(), INT64_MIN);
  EXPECT_EQ(parsed["max"].get<int64_t>(), INT64_MAX);
  EXPECT_EQ(parsed["neg"].get<int64_t>(), -1);
}

// Many threads, long lines: every line is whole and every one is there.
TEST_F(LogTest, ConcurrentLinesNeverInterleave) {
  constexpr int kThreads = 8;
  constexpr int kLines = 500;
  Configure(Format::kJson, Level::kInfo, &out_);
  const std::string payload(300, 'p');
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &payload] {
      const Logger log = Root().With("thread", int64_t{t}).With("payload", payload);
      for (int i = 0; i < kLines; ++i) log.Info("line", {{"i", i}});
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::map<int64_t, std::set<int64_t>> seen;
  const std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  for (const std::string& line : lines) {
    const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(parsed.is_discarded()) << line;
    EXPECT_EQ(parsed["payload"], payload);
    seen[parsed["thread"].get<int64_t>()].insert(parsed["i"].get<int64_t>());
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(kThreads));
  for (const auto& [thread, is] : seen) EXPECT_EQ(is.size(), static_cast<size_t>(kLines)) << "thread " << thread;
}

// Configure while other threads log: each line is whole, in one format or the
// other, and nothing crashes.
TEST_F(LogTest, ConfigureWhileLogging) {
  std::ostringstream other;
  Configure(Format::kJson, Level::kInfo, &out_);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&stop] {
      while (!stop.load()) Root().Info("tick", {{"k", "v"}});
    });
  }
  for (int i = 0; i < 50; ++i) Configure(i % 2 == 0 ? Format::kText : Format::kJson, Level::kInfo, &out_);
  stop = true;
  for (std::thread& thread : threads) thread.join();
  for (const std::string& line : Lines(out_.str())) {
    const bool json = !nlohmann::json::parse(line, nullptr, false).is_discarded();
    const bool text = line == "2026-11-23T18:00:00.123Z INFO  tick  k=v";
    EXPECT_TRUE(json || text) << line;
  }
}

TEST(LogFormatTest, ParseFormat) {
  EXPECT_EQ(ParseFormat("text").value(), Format::kText);
  EXPECT_EQ(ParseFormat("json").value(), Format::kJson);
  for (const char* bad : {"", "JSON", "logfmt", "json "}) {
    const Result<Format> parsed = ParseFormat(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find("--log-format"), std::string::npos) << parsed.error().message();
    EXPECT_NE(parsed.error().message().find("text or json"), std::string::npos) << parsed.error().message();
  }
}

TEST(LogFormatTest, ParseLevel) {
  EXPECT_EQ(ParseLevel("debug").value(), Level::kDebug);
  EXPECT_EQ(ParseLevel("info").value(), Level::kInfo);
  EXPECT_EQ(ParseLevel("warn").value(), Level::kWarn);
  EXPECT_EQ(ParseLevel("error").value(), Level::kError);
  const Result<Level> bad = ParseLevel("verbose\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "--log-level: \"verbose\\x0a\" is not a log level; use debug, info, warn or error");
}

}  // namespace
}  // namespace ctask::log
