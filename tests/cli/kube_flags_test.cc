#include "kube_flags.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ctask::cli {
namespace {

ParsedFlags Parse(const std::vector<std::string>& args) {
  Result<ParsedFlags> flags = ParseFlags(args, KubeFlagSpecs(), "ctask test");
  EXPECT_TRUE(flags.has_value()) << flags.error().message();
  return flags ? *flags : ParsedFlags{};
}

TEST(KubeFlagsTest, DefaultsAllowSomeTwentyTasksASecond) {
  Result<kube::ClientOptions> options = KubeClientOptionsFromFlags(Parse({}));
  ASSERT_TRUE(options.has_value());
  EXPECT_EQ(options->qps, 100);
  EXPECT_EQ(options->burst, 200);
  EXPECT_EQ(options->request_timeout, std::chrono::seconds(30));
}

TEST(KubeFlagsTest, ValuesAreTakenAndCheckedNamingTheFlag) {
  Result<kube::ClientOptions> options =
      KubeClientOptionsFromFlags(Parse({"--kube-api-qps", "2.5", "--kube-api-burst=7", "--request-timeout", "2m"}));
  ASSERT_TRUE(options.has_value()) << options.error().message();
  EXPECT_DOUBLE_EQ(options->qps, 2.5);
  EXPECT_EQ(options->burst, 7);
  EXPECT_EQ(options->request_timeout, std::chrono::minutes(2));
  EXPECT_EQ(KubeClientOptionsFromFlags(Parse({"--kube-api-qps", "0"}))->qps, 0) << "0: no client-side limit";

  for (const auto& [args, flag] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--kube-api-qps", "-1"}, "--kube-api-qps"},
           {{"--kube-api-qps", "fast"}, "--kube-api-qps"},
           {{"--kube-api-qps", "nan"}, "--kube-api-qps"},
           {{"--kube-api-qps", "1e9"}, "--kube-api-qps"},
           {{"--kube-api-burst", "0"}, "--kube-api-burst"},
           {{"--kube-api-burst", "3.5"}, "--kube-api-burst"},
           {{"--request-timeout", "0s"}, "--request-timeout"},
           {{"--request-timeout", "2h"}, "--request-timeout"},
           {{"--request-timeout", "soon"}, "--request-timeout"},
           {{"--request-timeout", "-5"}, "--request-timeout"},
       }) {
    Result<kube::ClientOptions> refused = KubeClientOptionsFromFlags(Parse(args));
    ASSERT_FALSE(refused.has_value()) << args[1];
    EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.error().message().find(flag), std::string::npos) << refused.error().message();
  }
}

TEST(KubeFlagsTest, RequestTimeoutForms) {
  EXPECT_EQ(*ParseRequestTimeout("45"), std::chrono::seconds(45));
  EXPECT_EQ(*ParseRequestTimeout("45s"), std::chrono::seconds(45));
  EXPECT_EQ(*ParseRequestTimeout("1h"), std::chrono::hours(1));
  EXPECT_FALSE(ParseRequestTimeout("").has_value());
  EXPECT_FALSE(ParseRequestTimeout("s").has_value());
  EXPECT_FALSE(ParseRequestTimeout("1.5m").has_value());
}

TEST(KubeFlagsTest, KubeconfigAndContextFlagsWinOverTheEnvironment) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("kube-flags-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "config").string();
  std::ofstream(file) << R"(apiVersion: v1
kind: Config
current-context: a
clusters:
- name: one
  cluster: {server: "https://127.0.0.1:1"}
- name: two
  cluster: {server: "https://127.0.0.1:2"}
users:
- name: u
  user: {token: not-shown}
contexts:
- name: a
  context: {cluster: one, user: u}
- name: b
  context: {cluster: two, user: u, namespace: team}
)";
  const kube::Getenv env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "KUBECONFIG") return "/does/not/exist";
    return std::nullopt;
  };
  Result<kube::ClusterConfig> chosen = KubeConfigFromFlags(Parse({"--kubeconfig", file, "--context", "b"}), env);
  ASSERT_TRUE(chosen.has_value()) << chosen.error().message();
  EXPECT_EQ(chosen->server, "https://127.0.0.1:2");
  EXPECT_EQ(chosen->ns, "team");

  Result<kube::ClusterConfig> missing = KubeConfigFromFlags(Parse({"--kubeconfig", file, "--context", "zz"}), env);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("\"zz\""), std::string::npos) << missing.error().message();
  EXPECT_EQ(missing.error().message().find("not-shown"), std::string::npos) << "never the token";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ctask::cli
