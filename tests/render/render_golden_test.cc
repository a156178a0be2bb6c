// Golden files for both renderers, plus the rules a golden file cannot show
// on its own: error texts, allow-list edges, minimums, precedence,
// determinism.
//
// Each case is tests/render/testdata/<case>.yaml (a ContainerTask, with the
// Secrets and ConfigMaps it needs); its goldens beside it are
//   <case>.job.yaml     RenderJob's Job, then the NetworkPolicy when the
//                       task is isolated, as YAML documents
//   <case>.docker.json  {name, body} of RenderDockerContainer, 2-space JSON
// or <case>.job.error / <case>.docker.error when that backend refuses the
// task. CTASK_UPDATE_GOLDEN=1 rewrites them; review the diff before
// committing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/document.h"
#include "api/manifest.h"
#include "render/docker_container.h"
#include "render/job.h"
#include "render/labels.h"
#include "render/utf8.h"
#include "testing/paths.h"

namespace ctask::render {
namespace {

namespace fs = std::filesystem;
using api::Json;

const fs::path kTestData = fs::path(ctask::testing::SourceDir()) / "tests" / "render" / "testdata";
const fs::path kExamples = fs::path(ctask::testing::SourceDir()) / "examples";

// Examples whose workspace is a PersistentVolumeClaim: Kubernetes only.
const std::set<std::string> kKubernetesOnlyExamples = {"dataset-pvc.yaml"};

bool UpdatingGoldens() {
  const char* value = std::getenv("CTASK_UPDATE_GOLDEN");
  return value != nullptr && std::string(value) == "1";
}

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A unified-style diff ("-" golden, "+" rendered) with 3 lines of context,
// from the longest common subsequence of lines. Goldens are small; past a
// size bound it shows only the first differing line.
std::string Diff(const std::string& want_text, const std::string& got_text) {
  const std::vector<std::string> want = Lines(want_text);
  const std::vector<std::string> got = Lines(got_text);
  const size_t n = want.size();
  const size_t m = got.size();
  if (n * m > 4'000'000) {
    size_t i = 0;
    while (i < n && i < m && want[i] == got[i]) ++i;
    return "first difference at line " + std::to_string(i + 1) + ":\n-" + (i < n ? want[i] : "<end>") + "\n+" +
           (i < m ? got[i] : "<end>") + "\n";
  }
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = want[i] == got[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  struct Row {
    char op;
    std::string text;
    size_t want_line;
  };
  std::vector<Row> rows;
  size_t i = 0;
  size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && want[i] == got[j]) {
      rows.push_back({' ', want[i], i + 1});
      ++i;
      ++j;
    } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      rows.push_back({'+', got[j], i + 1});
      ++j;
    } else {
      rows.push_back({'-', want[i], i + 1});
      ++i;
    }
  }
  constexpr size_t kContext = 3;
  std::vector<bool> shown(rows.size(), false);
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].op == ' ') continue;
    const size_t from = r >= kContext ? r - kContext : 0;
    const size_t to = std::min(rows.size(), r + kContext + 1);
    for (size_t k = from; k < to; ++k) shown[k] = true;
  }
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!shown[r]) continue;
    if (r == 0 || !shown[r - 1]) out += "@@ golden line " + std::to_string(rows[r].want_line) + " @@\n";
    out += rows[r].op;
    out += rows[r].text;
    out += '\n';
  }
  return out;
}

// Compares `got` with the golden file, or rewrites it when updating.
void ExpectGolden(const fs::path& golden, const std::string& got) {
  if (UpdatingGoldens()) {
    std::ofstream(golden, std::ios::binary | std::ios::trunc) << got;
    return;
  }
  std::optional<std::string> want = ReadFile(golden);
  if (!want) {
    ADD_FAILURE() << "missing golden file " << golden << ": run with CTASK_UPDATE_GOLDEN=1 to create it";
    return;
  }
  if (*want != got) {
    ADD_FAILURE() << golden.filename() << " differs (- golden, + rendered); if the change is intended, rerun with "
                  << "CTASK_UPDATE_GOLDEN=1 and review the result:\n"
                  << Diff(*want, got);
  }
}

// A golden file for the other outcome must not linger: its case would read
// as passing while nothing checks it.
void ExpectNoStale(const fs::path& stale) {
  if (UpdatingGoldens()) {
    fs::remove(stale);
    return;
  }
  EXPECT_FALSE(fs::exists(stale)) << stale << " is stale: the case now renders the other way";
}

api::Manifests LoadFile(const fs::path& file) {
  api::Manifests manifests = api::LoadManifestFiles({file.string()});
  for (const api::ManifestProblem& p : manifests.problems) ADD_FAILURE() << p.ToString();
  return manifests;
}

std::string DockerJson(const DockerContainer& container) {
  Json shown = Json::object();
  shown["name"] = container.name;
  shown["body"] = container.body;
  return shown.dump(2) + "\n";
}

// ---- golden cases ----------------------------------------------------------

enum class Outcome { kOk, kError };

struct GoldenCase {
  const char* name;  // testdata/<name>.yaml
  int attempt = 1;
  std::optional<int64_t> deadline;              // JobOptions::active_deadline_seconds
  std::vector<std::string> allowed_host_paths;  // DockerPolicy
  Outcome job = Outcome::kOk;
  Outcome docker = Outcome::kOk;
};

void PrintTo(const GoldenCase& c, std::ostream* os) {
  *os << c.name;
}

std::string PrintCase(const ::testing::TestParamInfo<GoldenCase>& info) {
  std::string name = info.param.name;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, Job) {
  const GoldenCase& c = GetParam();
  api::Manifests in = LoadFile(kTestData / (std::string(c.name) + ".yaml"));
  ASSERT_EQ(in.tasks.size(), 1u);
  const api::ContainerTask& task = in.tasks[0].task;
  JobOptions options;
  options.attempt = c.attempt;
  options.active_deadline_seconds = c.deadline;
  Result<Json> job = RenderJob(task, options);
  const fs::path ok_file = kTestData / (std::string(c.name) + ".job.yaml");
  const fs::path error_file = kTestData / (std::string(c.name) + ".job.error");
  if (c.job == Outcome::kError) {
    ASSERT_FALSE(job.has_value()) << "expected an error, got a Job";
    EXPECT_EQ(job.error().code(), ErrorCode::kInvalidArgument);
    ExpectGolden(error_file, job.error().ToString() + "\n");
    ExpectNoStale(ok_file);
    return;
  }
  ASSERT_TRUE(job.has_value()) << job.error().ToString();
  std::string text = api::ToYaml(*job);
  if (task.spec.network.isolated) text += "---\n" + api::ToYaml(RenderNetworkPolicy(task));
  ExpectGolden(ok_file, text);
  ExpectNoStale(error_file);
}

TEST_P(GoldenTest, Docker) {
  const GoldenCase& c = GetParam();
  api::Manifests in = LoadFile(kTestData / (std::string(c.name) + ".yaml"));
  ASSERT_EQ(in.tasks.size(), 1u);
  DockerPolicy policy;
  policy.allowed_host_paths = c.allowed_host_paths;
  Result<DockerContainer> container = RenderDockerContainer(in.tasks[0].task, c.attempt, in.configs, policy);
  const fs::path ok_file = kTestData / (std::string(c.name) + ".docker.json");
  const fs::path error_file = kTestData / (std::string(c.name) + ".docker.error");
  if (c.docker == Outcome::kError) {
    ASSERT_FALSE(container.has_value()) << "expected an error, got a container";
    EXPECT_EQ(container.error().code(), ErrorCode::kInvalidArgument);
    ExpectGolden(error_file, container.error().ToString() + "\n");
    ExpectNoStale(ok_file);
    return;
  }
  ASSERT_TRUE(container.has_value()) << container.error().ToString();
  ExpectGolden(ok_file, DockerJson(*container));
  ExpectNoStale(error_file);
}

const GoldenCase kGoldenCases[] = {
    {.name = "minimal"},
    {.name = "env"},
    {.name = "resources"},
    {.name = "timeout", .deadline = 600},
    {.name = "retries", .attempt = 3},
    {.name = "workspace-emptydir"},
    {.name = "workspace-emptydir-unbounded"},
    {.name = "workspace-pvc", .docker = Outcome::kError},
    {.name = "hostpath", .allowed_host_paths = {"/srv/data"}, .job = Outcome::kError},
    {.name = "docker-volume", .job = Outcome::kError},
    {.name = "security"},
    {.name = "scheduling"},
    {.name = "network-isolated"},
    {.name = "pod-metadata"},
    {.name = "args-only"},
    {.name = "long-name", .attempt = 100},
};

INSTANTIATE_TEST_SUITE_P(Render, GoldenTest, ::testing::ValuesIn(kGoldenCases), PrintCase);

// Every testdata input is a case, so none is silently left out.
TEST(GoldenFiles, EveryInputIsACase) {
  std::set<std::string> cases;
  for (const GoldenCase& c : kGoldenCases) cases.insert(c.name);
  for (const auto& entry : fs::directory_iterator(kTestData)) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".yaml" || file.ends_with(".job.yaml")) continue;
    EXPECT_TRUE(cases.contains(entry.path().stem().string())) << file << " has no case in kGoldenCases";
  }
}

// ---- examples --------------------------------------------------------------

std::vector<fs::path> ExampleFiles() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kExamples)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Examples, RenderForBothBackends) {
  const std::vector<fs::path> files = ExampleFiles();
  ASSERT_FALSE(files.empty()) << "no examples in " << kExamples;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    api::Manifests in = LoadFile(file);
    ASSERT_FALSE(in.tasks.empty()) << "an example holds at least one ContainerTask";
    const bool kubernetes_only = kKubernetesOnlyExamples.contains(file.filename().string());
    for (const api::LoadedTask& t : in.tasks) {
      EXPECT_TRUE(t.task.metadata.namespace_.empty()) << "examples leave the namespace to kubectl";
      JobOptions options;
      options.active_deadline_seconds = t.task.spec.timeout_seconds;
      Result<Json> job = RenderJob(t.task, options);
      EXPECT_TRUE(job.has_value()) << job.error().ToString();
      Result<DockerContainer> container = RenderDockerContainer(t.task, 1, in.configs, DockerPolicy{});
      if (kubernetes_only) {
        EXPECT_FALSE(container.has_value()) << "listed as Kubernetes-only but renders for Docker";
      } else {
        EXPECT_TRUE(container.has_value()) << container.error().ToString();
      }
    }
  }
}

TEST(Examples, OpenWithACommentSayingWhatTheyShow) {
  for (const fs::path& file : ExampleFiles()) {
    std::optional<std::string> text = ReadFile(file);
    ASSERT_TRUE(text.has_value()) << file;
    EXPECT_TRUE(text->starts_with("# ") && text->find('\n') > 2) << file.filename() << " must open with a # comment";
  }
}

}  // namespace
}  // namespace ctask::render
