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
