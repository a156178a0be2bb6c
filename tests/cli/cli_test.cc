// The ctask command line as a user meets it: commands, flags, help, exit
// codes, and what every kind of bad input prints.
#include "cli.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "flags.h"
#include "run_binary.h"
#include "testing/paths.h"

namespace ctask::cli {
namespace {

namespace fs = std::filesystem;
using testing::RunBinary;

const std::string kSource = ctask::testing::SourceDir();

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun Cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = RunCli(args, out, err);
  return {code, out.str(), err.str()};
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(CliTest, HelpOnEveryCommand) {
  for (const std::string command : {"validate", "render", "crd", "version"}) {
    for (const std::string flag : {"--help", "-h"}) {
      CliRun r = Cli({command, flag});
      EXPECT_EQ(r.code, kExitOk) << command;
      EXPECT_NE(r.out.find("Usage:"), std::string::npos) << command;
      EXPECT_NE(r.out.find("Flags:"), std::string::npos) << command;
      EXPECT_EQ(r.err, "") << command;
    }
  }
  CliRun r = Cli({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  for (const char* command : {"validate", "render", "crd", "version"})
    EXPECT_NE(r.out.find(command), std::string::npos);
}

TEST(CliTest, FlagsHelpIsOneAlignedSectionWithoutHiddenFlags) {
  const std::string help = FlagsHelp({{"namespace", 'n', true, "NS", "The namespace"},
                                      {"request-timeout", '\0', true, "DURATION", "Bound on each request"},
                                      {"follow-timeout", '\0', true, "SECONDS", ""}});
  EXPECT_EQ(help,
            "Flags:\n"
            "  -n, --namespace NS              The namespace\n"
            "      --request-timeout DURATION  Bound on each request\n");
  for (const std::string command : {"logs", "operator", "version"}) {
    CliRun r = Cli({command, "--help"});
    EXPECT_EQ(r.out.find("Flags:"), r.out.rfind("Flags:")) << command << ": one Flags section\n" << r.out;
  }
}

TEST(CliTest, UsageErrorsExitTwoWithAHint) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "Usage:"},
           {{"frobnicate"}, "unknown command \"frobnicate\": run 'ctask --help'"},
           {{"validate", "--nope"}, "unknown flag \"--nope\" for \"ctask validate\": see 'ctask validate --help'"},
           {{"validate", "-z"}, "unknown flag \"-z\""},
           {{"validate"}, "no input: name a manifest with -f FILE"},
           {{"validate", "-f"}, "flag -f needs a value (FILE)"},
           {{"validate", "task.yaml"}, "name files with -f"},
           {{"render", "-f", "x.yaml", "--backend", "nomad"}, "--backend must be kubernetes or docker"},
           {{"render", "-f", "x.yaml", "-o", "xml"}, "--output must be yaml or json"},
           {{"render", "-f", "x.yaml", "--attempt", "0"}, "--attempt must be a whole number from 1 to 101"},
           {{"render", "-f", "x.yaml", "--attempt", "2x"}, "--attempt must be a whole number"},
           {{"version", "extra"}, "takes no arguments"},
           {{"validate", "--quiet=maybe", "-f", "x"}, "takes no value"},
       }) {
    CliRun r = Cli(c.args);
    EXPECT_EQ(r.code, kExitUsage) << ::testing::PrintToString(c.args);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << ::testing::PrintToString(c.args) << " printed: " << r.err;
  }
}

TEST(CliTest, FlagForms) {
  const std::string hello = kSource + "/examples/hello.yaml";
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{{"validate", "-f", hello},
                                                                                    {"validate", "-f=" + hello},
                                                                                    {"validate", "-f" + hello},
                                                                                    {"validate", "--filename", hello},
                                                                                    {"validate", "--filename=" + hello},
                                                                                    {"validate", "--", "-f"}}) {
    CliRun r = Cli(args);
    if (args.back() == "-f") {
      EXPECT_EQ(r.code, kExitUsage);  // after "--", "-f" is an argument
    } else {
      EXPECT_EQ(r.code, kExitOk) << ::testing::PrintToString(args) << r.out << r.err;
    }
  }
}

TEST(CliTest, VersionNamesTheApi) {
  CliRun r = Cli({"version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("ctask "), std::string::npos);
  EXPECT_NE(r.out.find("ctask.io/v1alpha1"), std::string::npos);
}

// The version is the source's commit as of the build, read at build time
// (cmake/version.cmake): a tree configured at an older commit and built
// again does not report that older one.
TEST(CliTest, VersionIsTheCommitTheBinaryWasBuiltFrom) {
  ctask::testing::BinaryResult described =
      ctask::testing::RunCommand({"git", "-C", kSource, "describe", "--tags", "--always"});
  ASSERT_EQ(described.exit_code, 0) << "the tests run from a git checkout: " << described.err;
  std::string commit = described.out;
  while (!commit.empty() && commit.back() == '\n') commit.pop_back();
  ASSERT_FALSE(commit.empty());
  CliRun r = Cli({"version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_TRUE(r.out.starts_with("ctask " + commit)) << r.out << " (HEAD is " << commit << ")";
}

TEST(CliTest, EveryExampleValidatesAndRendersForBothBackends) {
  int examples = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(kSource + "/examples")) {
    if (e.path().extension() != ".yaml") continue;
    ++examples;
    const std::string file = e.path().string();
    CliRun v = Cli({"validate", "-f", file});
    EXPECT_EQ(v.code, kExitOk) << file << "\n" << v.out << v.err;
    CliRun k = Cli({"render", "-f", file, "--backend", "kubernetes"});
    EXPECT_EQ(k.code, kExitOk) << file << "\n" << k.err;
    EXPECT_NE(k.out.find("kind: Job"), std::string::npos) << file;
    CliRun j = Cli({"render", "-f", file, "-o", "json"});
    EXPECT_EQ(j.code, kExitOk) << file;
    EXPECT_TRUE(nlohmann::json::accept(j.out)) << file;
    // A PVC workspace exists only in Kubernetes; the Docker render says so.
    CliRun d = Cli({"render", "-f", file, "--backend", "docker"});
    if (ReadFile(e.path()).find("persistentVolumeClaim") != std::string::npos) {
      EXPECT_EQ(d.code, kExitInvalid) << file;
      EXPECT_NE(d.err.find("spec.workspace.persistentVolumeClaim"), std::string::npos) << d.err;
    } else {
      EXPECT_EQ(d.code, kExitOk) << file << "\n" << d.err;
      EXPECT_NE(d.out.find("HostConfig"), std::string::npos) << file;
    }
  }
  EXPECT_GE(examples, 5);
}

TEST(CliTest, RenderRedactsSecretValues) {
  const std::string file = kSource + "/examples/env-from-secret.yaml";
  CliRun r = Cli({"render", "-f", file, "--backend", "docker"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("<redacted: from a Secret>"), std::string::npos) << r.out;
  // Every stringData value of every Secret in the file stays out of the output.
  const std::string text = ReadFile(file);
  EXPECT_EQ(r.out.find("s3cr3t"), std::string::npos) << "the example's secret value leaked:\n" << r.out;
  EXPECT_NE(text.find("s3cr3t"), std::string::npos) << "the example should hold the secret value s3cr3t";
}

// A fan-out task renders as one item's workload, as the operator creates
// it: the item's Pod (not a Job for the whole task) with its index and
// value, or the item's container; --index picks the item.
TEST(CliTest, RenderShowsAFanOutAsOneItemsPodOrContainer) {
  const std::string file = kSource + "/examples/mapreduce/map.yaml";
  CliRun first = Cli({"render", "-f", file});
  ASSERT_EQ(first.code, kExitOk) << first.err;
  EXPECT_NE(first.out.find("kind: Pod"), std::string::npos) << first.out;
  EXPECT_EQ(first.out.find("kind: Job"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("name: wordcount-map-i0-a1"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("value: the quick brown fox"), std::string::npos) << first.out;

  CliRun k = Cli({"render", "-f", file, "--index", "2", "--attempt", "2", "-o", "json"});
  ASSERT_EQ(k.code, kExitOk) << k.err;
  const nlohmann::json list = nlohmann::json::parse(k.out);
  const nlohmann::json& pod = list["items"][0];
  EXPECT_EQ(pod["kind"], "Pod");
  EXPECT_EQ(pod["metadata"]["name"], "wordcount-map-i2-a2");
  EXPECT_EQ(pod["spec"]["restartPolicy"], "Never");
  EXPECT_EQ(pod["spec"]["containers"][0]["env"][0], nlohmann::json({{"name", "CTASK_INDEX"}, {"value", "2"}}));
  EXPECT_EQ(list["items"][1]["kind"], "NetworkPolicy");

  CliRun d = Cli({"render", "-f", file, "--backend", "docker", "--index", "5"});
  ASSERT_EQ(d.code, kExitOk) << d.err;
  EXPECT_NE(d.out.find("name: ctask-default-wordcount-map-i5-a1"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("CTASK_ITEM=without any shared storage"), std::string::npos) << d.out;
}

TEST(CliTest, RenderRefusesAnIndexTheTaskDoesNotHave) {
  CliRun past = Cli({"render", "-f", kSource + "/examples/mapreduce/map.yaml", "--index", "6"});
  EXPECT_EQ(past.code, kExitInvalid);
  EXPECT_NE(past.err.find("--index 6: the task has 6 items (0 to 5)"), std::string::npos) << past.err;
  EXPECT_TRUE(past.out.empty()) << past.out;
  CliRun plain = Cli({"render", "-f", kSource + "/examples/hello.yaml", "--index", "0"});
  EXPECT_EQ(plain.code, kExitInvalid);
  EXPECT_NE(plain.err.find("does not fan out (set spec.completions or spec.items)"), std::string::npos) << plain.err;
  for (const char* bad : {"-1", "x", "1.5", ""}) {
    CliRun r = Cli({"render", "-f", kSource + "/examples/mapreduce/map.yaml", "--index", bad});
    EXPECT_EQ(r.code, kExitUsage) << bad;
    EXPECT_NE(r.err.find("--index must be a whole number from 0"), std::string::npos) << bad << ": " << r.err;
  }
}

TEST(CliTest, CrdCommandPrintsTheCheckedInCrd) {
  CliRun r = Cli({"crd"});
  EXPECT_EQ(r.code, kExitOk);
  const std::string tasks = ReadFile(kSource + "/crds/ctask.io_containertasks.yaml");
  const std::string queues = ReadFile(kSource + "/crds/ctask.io_taskqueues.yaml");
  // Each file carries a one-line "generated" header before the same YAML.
  EXPECT_EQ(tasks.substr(tasks.find('\n') + 1) + "---\n" + queues.substr(queues.find('\n') + 1), r.out);
}

TEST(CliTest, StdinIsAFile) {
  testing::BinaryResult r = RunBinary({"validate", "-f", "-"}, ReadFile(kSource + "/examples/hello.yaml"));
  EXPECT_EQ(r.exit_code, kExitOk) << r.out << r.err;
  EXPECT_NE(r.out.find("-: doc 1: ContainerTask/hello: valid"), std::string::npos) << r.out;
}

// The same task twice is what `kubectl apply` makes an update of the first:
// the update rules apply (cancel is one-way), and only to the same task.
TEST(CliTest, ValidateChecksARepeatedTaskAsAnUpdate) {
  const std::string task =
      "apiVersion: ctask.io/v1alpha1\nkind: ContainerTask\nmetadata:\n  name: NAME\n"
      "spec:\n  image: busybox\n  cancel: CANCEL\n";
  auto doc = [&task](const std::string& name, const std::string& cancel) {
    std::string text = task;
    text.replace(text.find("NAME"), 4, name);
    text.replace(text.find("CANCEL"), 6, cancel);
    return text;
  };
  testing::BinaryResult undone = RunBinary({"validate", "-f", "-"}, doc("a", "true") + "---\n" + doc("a", "false"));
  EXPECT_EQ(undone.exit_code, kExitInvalid) << undone.out << undone.err;
  EXPECT_NE(undone.out.find("-: doc 2: ContainerTask/a: spec.cancel: cancel cannot be undone"), std::string::npos)
      << undone.out;
  testing::BinaryResult others =
      RunBinary({"validate", "-f", "-"}, doc("a", "true") + "---\n" + doc("b", "false") + "---\n" + doc("a", "true"));
  EXPECT_EQ(others.exit_code, kExitOk) << others.out << others.err;
}

// Every bad input in testdata/invalid gives exit 1 (never a signal, hang or
// escaped exception) and exactly the lines in its .expected file.
TEST(CliTest, BadInputOfAnyKindIsAClearMessageAndExitOne) {
  const fs::path dir = kSource + "/tests/cli/testdata/invalid";
  const bool update = std::getenv("CTASK_UPDATE_GOLDEN") != nullptr;
  int cases = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".expected") continue;
    ++cases;
    // Run from the source dir so the file names in messages are relative.
    const std::string relative = fs::relative(e.path(), kSource).string();
    fs::current_path(kSource);
    testing::BinaryResult r = RunBinary({"validate", "-f", relative});
    EXPECT_FALSE(r.timed_out) << relative;
    EXPECT_EQ(r.signal, 0) << relative << " killed by signal " << r.signal;
    EXPECT_EQ(r.exit_code, kExitInvalid) << relative << "\n" << r.out << r.err;
    EXPECT_EQ(r.err, "") << relative;
    for (const std::string secret : {"hunter2"}) EXPECT_EQ(r.out.find(secret), std::string::npos) << relative;
    fs::path expected_path = e.path();
    expected_path += ".expected";
    if (update) {
      std::ofstream(expected_path, std::ios::binary) << r.out;
    } else {
      EXPECT_EQ(r.out, ReadFile(expected_path)) << relative << " (CTASK_UPDATE_GOLDEN=1 rewrites the .expected files)";
    }
  }
  EXPECT_GE(cases, 10);
}

TEST(CliTest, UnreadableInputs) {
  testing::BinaryResult missing = RunBinary({"validate", "-f", "/nonexistent/task.yaml"});
  EXPECT_EQ(missing.exit_code, kExitInvalid);
  EXPECT_NE(missing.out.find("/nonexistent/task.yaml"), std::string::npos) << missing.out;
  EXPECT_NE(missing.out.find("No such file or directory"), std::string::npos) << missing.out;
  testing::BinaryResult directory = RunBinary({"validate", "-f", kSource + "/examples"});
  EXPECT_EQ(directory.exit_code, kExitInvalid);
  EXPECT_NE(directory.out.find("examples"), std::string::npos) << directory.out;
  // One good file and one bad: both reported, exit 1.
  testing::BinaryResult mixed =
      RunBinary({"validate", "-f", kSource + "/examples/hello.yaml", "-f", "/nonexistent.yaml"});
  EXPECT_EQ(mixed.exit_code, kExitInvalid);
  EXPECT_NE(mixed.out.find("/nonexistent.yaml"), std::string::npos);
}

}  // namespace
}  // namespace ctask::cli
