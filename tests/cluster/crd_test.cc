// crds/ and examples/ against a real API server: the CRD is accepted and
// becomes Established, and every example is a manifest the server takes.
#include <gtest/gtest.h>

#include <string>

#include "cluster/cluster_env.h"

namespace ctask::testing {
namespace {

class CrdTest : public ClusterTest {
 protected:
  std::string NamespacePrefix() const override { return "ctask-crd"; }
};

TEST_F(CrdTest, CrdsApplyAndBecomeEstablished) {
  BinaryResult applied = ApplyCrds();
  ASSERT_EQ(applied.exit_code, 0) << Said(applied);
  EXPECT_NE(applied.out.find("containertasks.ctask.io"), std::string::npos) << Said(applied);
  BinaryResult established = Kubectl(
      {"wait", "--for=condition=Established", "crd/containertasks.ctask.io", "--timeout=60s"}, kKubectlGuard * 2);
  ASSERT_EQ(established.exit_code, 0) << Said(established);
  // The short names of the API contract resolve.
  for (const char* name : {"containertasks", "ctask", "ct"}) {
    BinaryResult listed = Kubectl({"get", name, "-n", ns()});
    EXPECT_EQ(listed.exit_code, 0) << name << ": " << Said(listed);
  }
}

// A task no operator has written yet reads observedGeneration 0, below its
// generation: kstatus (Flux's health checks) and the Argo CD check see it in
// progress, not Current, on a get, a list and the create's own answer.
TEST_F(CrdTest, ATaskNotWrittenYetReadsAsNotObserved) {
  ASSERT_NO_FATAL_FAILURE(InstallCrd());
  const std::string file = SourceDir() + "/examples/hello.yaml";
  BinaryResult created =
      Kubectl({"create", "-f", file, "-n", ns(), "-o", "jsonpath={.metadata.generation}/{.status.observedGeneration}"});
  ASSERT_EQ(created.exit_code, 0) << Said(created);
  EXPECT_EQ(created.out, "1/0");
  BinaryResult got = Kubectl({"get", "ct", "hello", "-n", ns(), "-o", "jsonpath={.metadata.generation}/{.status}"});
  ASSERT_EQ(got.exit_code, 0) << Said(got);
  EXPECT_EQ(got.out, R"(1/{"observedGeneration":0})");
  BinaryResult listed = Kubectl({"get", "ct", "-n", ns(), "-o", "jsonpath={.items[0].status.observedGeneration}"});
  ASSERT_EQ(listed.exit_code, 0) << Said(listed);
  EXPECT_EQ(listed.out, "0");
}

TEST_F(CrdTest, EveryExampleIsAccepted) {
  ASSERT_NO_FATAL_FAILURE(InstallCrd());
  const auto examples = FilesIn(SourceDir() + "/examples", ".yaml");
  ASSERT_FALSE(examples.empty());
  for (const auto& file : examples) {
    BinaryResult applied = Kubectl({"apply", "-f", file.string(), "-n", ns()});
    EXPECT_EQ(applied.exit_code, 0) << file.filename() << ": " << Said(applied);
    EXPECT_NE(applied.out.find("containertask.ctask.io/"), std::string::npos)
        << file.filename() << ": " << Said(applied);
  }
  BinaryResult listed = Kubectl({"get", "containertasks", "-n", ns(), "-o", "name"});
  ASSERT_EQ(listed.exit_code, 0) << Said(listed);
  // One ContainerTask per example file, each named as in its file.
  for (const auto& file : examples) {
    const std::string text = ReadFile(file);
    const std::string marker = "kind: ContainerTask\nmetadata:\n  name: ";
    const size_t at = text.find(marker);
    ASSERT_NE(at, std::string::npos) << file.filename() << " holds no ContainerTask";
    const size_t start = at + marker.size();
    const std::string name = text.substr(start, text.find('\n', start) - start);
    EXPECT_NE(listed.out.find("containertask.ctask.io/" + name + "\n"), std::string::npos)
        << file.filename() << ": " << name << " not listed:\n"
        << listed.out;
  }
}

}  // namespace
}  // namespace ctask::testing
