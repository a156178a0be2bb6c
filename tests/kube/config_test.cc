// Kubeconfig and in-cluster loading against real files in a fresh temporary
// directory per test. The environment is an injected map, so neither the
// real HOME nor KUBECONFIG is ever read.
#include "kube/config.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "util/base64.h"

namespace ctask::kube {
namespace {

namespace fs = std::filesystem;

// Secret material used by the suite. No error message may contain any of it.
constexpr std::string_view kToken = "tok-SECRET-7f3a9c";
constexpr std::string_view kOtherToken = "tok-SECRET-other-42";
constexpr std::string_view kKeyPem =
    "-----BEGIN PRIVATE KEY-----\nKEYSECRETMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
constexpr std::string_view kCertPem =
    "-----BEGIN CERTIFICATE-----\nCERTMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
constexpr std::string_view kCaPem = "-----BEGIN CERTIFICATE-----\nCAMIIBdzCCAR2gAwIBAgIU\n-----END CERTIFICATE-----\n";
constexpr std::string_view kPassword = "pw-SECRET-hunter2";

std::vector<std::string> Secrets() {
  return {std::string(kToken), std::string(kOtherToken), std::string(kKeyPem), EncodeBase64(kKeyPem),
          "KEYSECRET",         std::string(kPassword)};
}

class KubeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "kube_config_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Writes `content` to <dir>/<relative>, creating directories; returns the path.
  std::string Write(const std::string& relative, std::string_view content) {
    const fs::path path = fs::path(dir_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    return path.string();
  }

  std::string Path(const std::string& relative) const { return (fs::path(dir_) / relative).string(); }

  Getenv Env() const {
    return [env = env_](std::string_view name) -> std::optional<std::string> {
      auto it = env.find(std::string(name));
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
  }

  // The error's code and message, with every secret checked absent.
  template <typename T>
  Error ExpectError(const Result<T>& result, ErrorCode code) {
    EXPECT_FALSE(result.has_value());
    if (result.has_value()) return Error(ErrorCode::kInternal, "<no error>");
    EXPECT_EQ(result.error().code(), code) << result.error().ToString();
    for (const auto& secret : Secrets()) {
      EXPECT_EQ(result.error().message().find(secret), std::string::npos)
          << "secret in error message: " << result.error().message();
    }
    return result.error();
  }

  Result<ClusterConfig> Load(const std::vector<std::string>& paths, const std::string& context = "") {
    return LoadKubeconfig(KubeconfigSource{paths, context}, Env());
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
};

// A minimal valid kubeconfig: one cluster, one token user, one context.
std::string SimpleKubeconfig(std::string_view server, std::string_view token, std::string_view extra_user = "") {
  return "clusters:\n- name: c\n  cluster:\n    server: " + std::string(server) +
         "\nusers:\n- name: u\n  user:\n    token: " + std::string(token) + "\n" + std::string(extra_user) +
         "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\ncurrent-context: ctx\n";
}

// --- the shape hack/cluster/up.sh writes ------------------------------------------

TEST_F(KubeConfigTest, LoadsTheKubeconfigUpShWrites) {
  const std::string path = Write("cluster/kubeconfig",
                                 "apiVersion: v1\n"
                                 "kind: Config\n"
                                 "clusters:\n"
                                 "- name: ctask\n"
                                 "  cluster:\n"
                                 "    server: https://127.0.0.1:16443\n"
                                 "    certificate-authority-data: " +
                                     EncodeBase64(kCaPem) +
                                     "\n"
                                     "users:\n"
                                     "- name: ctask-admin\n"
                                     "  user:\n"
                                     "    client-certificate-data: " +
                                     EncodeBase64(kCertPem) +
                                     "\n"
                                     "    client-key-data: " +
                                     EncodeBase64(kKeyPem) +
                                     "\n"
                                     "contexts:\n"
                                     "- name: ctask\n"
                                     "  context:\n"
                                     "    cluster: ctask\n"
                                     "    user: ctask-admin\n"
                                     "current-context: ctask\n");
  env_["KUBECONFIG"] = path;
  auto config = LoadKubeconfig(KubeconfigSource{}, Env());
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server, "https://127.0.0.1:16443");
  EXPECT_EQ(config->ca_data, kCaPem);
  EXPECT_EQ(config->client_cert_data, kCertPem);
  EXPECT_EQ(config->client_key_data, kKeyPem);
  EXPECT_TRUE(config->ca_file.empty());
  EXPECT_FALSE(config->insecure);
  EXPECT_TRUE(config->token.empty());
  EXPECT_EQ(config->ns, "default");
  EXPECT_EQ(config->context, "ctask");
  EXPECT_EQ(config->source, path);

  const http::CurlOptions options = ToCurlOptions(*config);
  EXPECT_EQ(options.ca_data, kCaPem);
  EXPECT_EQ(options.client_cert_data, kCertPem);
  EXPECT_EQ(options.client_key_data, kKeyPem);
  EXPECT_TRUE(options.bearer_token.empty());
  EXPECT_TRUE(options.unix_socket_path.empty());
}

// --- merging ----------------------------------------------------------------------

TEST_F(KubeConfigTest, MergesFilesFirstDefinitionWins) {
  const std::string a = Write("a/config",
                              "clusters:\n"
                              "- name: shared\n  cluster:\n    server: https://a.example:6443/\n"
                              "users:\n"
                              "- name: me\n  user:\n    token: " +
                                  std::string(kToken) +
                                  "\n"
                                  "contexts:\n"
                                  "- name: one\n  context:\n    cluster: shared\n    user: me\n");
  const std::string b = Write("b/config",
                              "clusters:\n"
                              "- name: shared\n  cluster:\n    server: https://b.example:6443\n"
                              "- name: only-b\n  cluster:\n    server: https://only-b.example\n"
                              "users:\n"
                              "- name: me\n  user:\n    token: " +
                                  std::string(kOtherToken) +
                                  "\n"
                                  "contexts:\n"
                                  "- name: one\n  context:\n    cluster: only-b\n    user: me\n"
                                  "- name: two\n  context:\n    cluster: only-b\n    user: me\n"
                                  "    namespace: team-b\n"
                                  "current-context: two\n");
  const std::string c = Write("c/config", "current-context: one\n");
  // Empty entries are ignored; so is a name given twice.
  env_["KUBECONFIG"] = a + "::" + b + ":" + c + ":" + a;

  // current-context from b, the first file that sets it.
  auto config = LoadKubeconfig(KubeconfigSource{}, Env());
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->context, "two");
  EXPECT_EQ(config->server, "https://only-b.example");
  EXPECT_EQ(config->token, kToken);  // user "me" from a
  EXPECT_EQ(config->ns, "team-b");
  EXPECT_EQ(config->source, a + ":" + b + ":" + c);

  // Context "one" from a, cluster "shared" from a (trailing slash dropped).
  config = LoadKubeconfig(KubeconfigSource{{}, "one"}, Env());
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->context, "one");
  EXPECT_EQ(config->server, "https://a.example:6443");
  EXPECT_EQ(config->token, kToken);
  EXPECT_EQ(config->ns, "default");

  // Explicit paths take precedence over KUBECONFIG, in their order.
  config = Load({b, a});
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->context, "two");
  EXPECT_EQ(config->token, kOtherToken);
  EXPECT_EQ(config->source, b + ":" + a);
}

TEST_F(KubeConfigTest, ContextOverrideWinsOverCurrentContext) {
  const std::string path = Write("config",
                                 "clusters:\n"
                                 "- name: prod\n  cluster:\n    server: https://prod.example\n"
                                 "- name: dev\n  cluster:\n    server: https://dev.example\n"
                                 "    insecure-skip-tls-verify: true\n"
                                 "contexts:\n"
                                 "- name: prod\n  context:\n    cluster: prod\n"
                                 "- name: dev\n  context:\n    cluster: dev\n    namespace: sandbox\n"
                                 "current-context: prod\n");
  auto config = Load({path}, "dev");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->context, "dev");
  EXPECT_EQ(config->server, "https://dev.example");
  EXPECT_TRUE(config->insecure);
  EXPECT_TRUE(ToCurlOptions(*config).insecure);
  EXPECT_EQ(config->ns, "sandbox");
  // No user: anonymous, as kubectl allows.
  EXPECT_TRUE(config->token.empty());
  EXPECT_TRUE(config->token_file.empty());
  EXPECT_TRUE(config->client_cert_data.empty());
}

TEST_F(KubeConfigTest, KubeconfigFilesThatDoNotExistAreSkipped) {
  const std::string real = Write("real/config", SimpleKubeconfig("https://real.example", kToken));
  env_["KUBECONFIG"] = Path("missing1") + ":" + real + ":" + Path("missing2");
  auto config = LoadKubeconfig(KubeconfigSource{}, Env());
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server, "https://real.example");
  EXPECT_EQ(config->source, real);

  env_["KUBECONFIG"] = Path("missing1") + ":" + Path("missing2");
  const Error error = ExpectError(LoadKubeconfig(KubeconfigSource{}, Env()), ErrorCode::kNotFound);
  EXPECT_EQ(error.message(), "none of the files in KUBECONFIG exist: " + Path("missing1") + ", " + Path("missing2"));
}

TEST_F(KubeConfigTest, ExplicitPathThatDoesNotExistIsAnError) {
  const Error error = ExpectError(Load({Path("nope")}), ErrorCode::kNotFound);
  EXPECT_EQ(error.message(), "kubeconfig " + Path("nope") + " does not exist");
}

TEST_F(KubeConfigTest, HomeKubeconfigWhenKubeconfigIsUnset) {
  Write("home/.kube/config", SimpleKubeconfig("https://home.example", kToken));
  env_["HOME"] = Path("home");
  auto config = LoadKubeconfig(KubeconfigSource{}, Env());
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server, "https://home.example");
  EXPECT_EQ(config->source, Path("home/.kube/config"));

  env_["KUBECONFIG"] = ":";  // only empty entries: as if unset
  config = LoadKubeconfig(KubeconfigSource{}, Env());
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server, "https://home.example");
}

// --- paths and data ---------------------------------------------------------------

TEST_F(KubeConfigTest, RelativePathsResolveAgainstTheDefiningFile) {
  Write("one/tok", std::string(kToken) + "\n");
  const std::string one = Write("one/config",
                                "clusters:\n"
                                "- name: c\n  cluster:\n    server: https://c.example\n"
                                "    certificate-authority: ca.pem\n"
                                "users:\n"
                                "- name: u\n  user:\n"
                                "    client-certificate: certs/client.pem\n"
                                "    client-key: ../keys/client.key\n"
                                "    tokenFile: ./tok\n");
  const std::string two = Write("two/sub/config",
                                "users:\n"
                                "- name: abs\n  user:\n    client-certificate: /etc/abs.pem\n"
                                "    client-key: k.pem\n"
                                "contexts:\n"
                                "- name: x\n  context:\n    cluster: c\n    user: u\n"
                                "- name: y\n  context:\n    cluster: c\n    user: abs\n"
                                "current-context: x\n");
  auto config = Load({two, one});
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->ca_file, Path("one/ca.pem"));
  EXPECT_EQ(config->client_cert_file, Path("one/certs/client.pem"));
  EXPECT_EQ(config->client_key_file, Path("keys/client.key"));
  EXPECT_EQ(config->token_file, Path("one/tok"));
  EXPECT_TRUE(config->token.empty());

  config = Load({two, one}, "y");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->client_cert_file, "/etc/abs.pem");
  EXPECT_EQ(config->client_key_file, Path("two/sub/k.pem"));
  EXPECT_EQ(config->ca_file, Path("one/ca.pem"));
}

TEST_F(KubeConfigTest, DataAndFileAreBothKeptAndPassedOn) {
  const std::string path = Write("config",
                                 "clusters:\n"
                                 "- name: c\n  cluster:\n    server: https://c.example\n"
                                 "    certificate-authority: ca.pem\n"
                                 "    certificate-authority-data: " +
                                     EncodeBase64(kCaPem) +
                                     "\n"
                                     "users:\n"
                                     "- name: u\n  user:\n"
                                     "    client-certificate: c.pem\n"
                                     "    client-certificate-data: " +
                                     EncodeBase64(kCertPem) +
                                     "\n"
                                     "    client-key: k.pem\n"
                                     "    client-key-data: " +
                                     EncodeBase64(kKeyPem) +
                                     "\n"
                                     "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
                                     "current-context: x\n");
  auto config = Load({path});
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->ca_data, kCaPem);
  EXPECT_EQ(config->ca_file, Path("ca.pem"));
  EXPECT_EQ(config->client_cert_data, kCertPem);
  EXPECT_EQ(config->client_cert_file, Path("c.pem"));
  EXPECT_EQ(config->client_key_data, kKeyPem);
  EXPECT_EQ(config->client_key_file, Path("k.pem"));
  // CurlOptions gets both; it documents that data wins.
  const http::CurlOptions options = ToCurlOptions(*config);
  EXPECT_EQ(options.ca_data, kCaPem);
  EXPECT_EQ(options.ca_file, Path("ca.pem"));
  EXPECT_EQ(options.client_key_data, kKeyPem);
  EXPECT_EQ(options.client_key_file, Path("k.pem"));
}

// --- errors -----------------------------------------------------------------------

TEST_F(KubeConfigTest, BadBase64NamesFileAndField) {
  const std::string path = Write("config",
                                 "clusters:\n- name: c\n  cluster:\n    server: https://c.example\n"
                                 "users:\n- name: ctask-admin\n  user:\n"
                                 "    client-key-data: \"" +
                                     std::string(kKeyPem.substr(0, 40)) +
                                     "!\"\n"
                                     "contexts:\n- name: x\n  context:\n    cluster: c\n"
                                     "    user: ctask-admin\ncurrent-context: x\n");
  const Error error = ExpectError(Load({path}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message(), path + ": users[ctask-admin].user.client-key-data: is not valid base64");
}

TEST_F(KubeConfigTest, MissingContextListsTheContexts) {
  const std::string a = Write("a", "contexts:\n- name: a\n  context:\n    cluster: c\ncurrent-context: a\n");
  const std::string b = Write("b", "contexts:\n- name: b\n  context:\n    cluster: c\n");
  const Error error = ExpectError(Load({a, b}, "x"), ErrorCode::kNotFound);
  EXPECT_EQ(error.message(), "context \"x\" not found in " + a + ":" + b + "; contexts: a, b");

  const std::string lonely = Write("lonely", "current-context: gone\n");
  const Error none = ExpectError(Load({lonely}), ErrorCode::kNotFound);
  EXPECT_EQ(none.message(), "context \"gone\" not found in " + lonely + "; the kubeconfig defines no contexts");
}

TEST_F(KubeConfigTest, NoCurrentContext) {
  const std::string path = Write("config", "contexts:\n- name: a\n  context:\n    cluster: c\n");
  const Error error = ExpectError(Load({path}), ErrorCode::kFailedPrecondition);
  EXPECT_NE(error.message().find("no current-context is set in " + path), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("contexts: a"), std::string::npos) << error.message();

  // An empty file is an empty config, not a parse error.
  const std::string empty = Write("empty", "");
  EXPECT_EQ(ExpectError(Load({empty}), ErrorCode::kFailedPrecondition).message().find("no current-context"), 0u);
}

TEST_F(KubeConfigTest, ContextNamingMissingClusterOrUser) {
  const std::string path = Write("config",
                                 "clusters:\n- name: c\n  cluster:\n    server: https://c.example\n"
                                 "users:\n- name: u\n  user:\n    token: " +
                                     std::string(kToken) +
                                     "\n"
                                     "contexts:\n"
                                     "- name: no-cluster\n  context:\n    cluster: gone\n    user: u\n"
                                     "- name: no-user\n  context:\n    cluster: c\n    user: ghost\n"
                                     "- name: unset\n  context:\n    user: u\n");
  Error error = ExpectError(Load({path}, "no-cluster"), ErrorCode::kNotFound);
  EXPECT_EQ(error.message(),
            path + ": contexts[no-cluster].context.cluster: cluster \"gone\" not found in " + path + "; clusters: c");
  error = ExpectError(Load({path}, "no-user"), ErrorCode::kNotFound);
  EXPECT_EQ(error.message(),
            path + ": contexts[no-user].context.user: user \"ghost\" not found in " + path + "; users: u");
  error = ExpectError(Load({path}, "unset"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message(), path + ": contexts[unset].context.cluster: required");
}

TEST_F(KubeConfigTest, ClusterWithoutServer) {
  const std::string path = Write("config",
                                 "clusters:\n- name: c\n  cluster:\n    certificate-authority: ca\n"
                                 "- name: bare\n"
                                 "- name: schemeless\n  cluster:\n    server: 127.0.0.1:6443\n"
                                 "contexts:\n- name: x\n  context:\n    cluster: c\n"
                                 "- name: y\n  context:\n    cluster: bare\n"
                                 "- name: z\n  context:\n    cluster: schemeless\n");
  Error error = ExpectError(Load({path}, "x"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message().find(path + ": clusters[c].cluster.server: required"), 0u) << error.message();
  error = ExpectError(Load({path}, "y"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message().find(path + ": clusters[bare].cluster.server: required"), 0u) << error.message();
  error = ExpectError(Load({path}, "z"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message(),
            path + ": clusters[schemeless].cluster.server: must be a URL starting with https:// or http://");
}

TEST_F(KubeConfigTest, PluginsAndBasicAuthAreRefusedClearly) {
  const std::string path =
      Write("config",
            "clusters:\n- name: c\n  cluster:\n    server: https://c.example\n"
            "users:\n"
            "- name: eks\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
            "      command: aws\n      args: [eks, get-token, --token, " +
                std::string(kToken) +
                "]\n"
                "- name: gke\n  user:\n    auth-provider:\n      name: gcp\n      config:\n        access-token: " +
                std::string(kOtherToken) +
                "\n"
                "- name: basic\n  user:\n    username: admin\n    password: " +
                std::string(kPassword) +
                "\n"
                "contexts:\n"
                "- name: eks\n  context:\n    cluster: c\n    user: eks\n"
                "- name: gke\n  context:\n    cluster: c\n    user: gke\n"
                "- name: basic\n  context:\n    cluster: c\n    user: basic\n");
  Error error = ExpectError(Load({path}, "eks"), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(error.message(), path +
                                 ": users[eks].user.exec: exec credential plugins are not supported yet; use a client "
                                 "certificate or a token (e.g. `kubectl create token`)");
  error = ExpectError(Load({path}, "gke"), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(error.message().find(path + ": users[gke].user.auth-provider: "), 0u) << error.message();
  EXPECT_NE(error.message().find("not supported"), std::string::npos) << error.message();
  error = ExpectError(Load({path}, "basic"), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(error.message().find(path + ": users[basic].user.username: basic authentication is not supported"), 0u)
      << error.message();
}

TEST_F(KubeConfigTest, YamlErrorsNameFileAndLine) {
  const std::string path =
      Write("config", "clusters:\n- name: c\n  cluster:\n    server: [https://x\ntoken: " + std::string(kToken) + "\n");
  const Error error = ExpectError(Load({path}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.message().find(path + ": line "), 0u) << error.message();

  const std::string list = Write("list", "- just\n- a list\n");
  EXPECT_EQ(ExpectError(Load({list}), ErrorCode::kInvalidArgument).message(), list + ": a kubeconfig must be a map");

  const std::string wrong = Write("wrong", "clusters:\n  c: {}\n");
  EXPECT_EQ(ExpectError(Load({wrong}), ErrorCode::kInvalidArgument).message(), wrong + ": clusters: must be a list");

  const std::string nameless = Write("nameless", "clusters:\n- cluster: {server: https://x}\n");
  EXPECT_EQ(ExpectError(Load({nameless}), ErrorCode::kInvalidArgument).message(),
            nameless + ": clusters[0].name: required");

  const std::string insecure = Write("insecure",
                                     "clusters:\n- name: c\n  cluster:\n    server: https://c\n"
                                     "    insecure-skip-tls-verify: maybe\n"
                                     "contexts:\n- name: x\n  context:\n    cluster: c\n"
                                     "current-context: x\n");
  EXPECT_EQ(ExpectError(Load({insecure}), ErrorCode::kInvalidArgument).message(),
            insecure + ": clusters[c].cluster.insecure-skip-tls-verify: must be true or false");
}

TEST_F(KubeConfigTest, KubeconfigTokenFileMustBeReadable) {
  const std::string path = Write("config",
                                 "clusters:\n- name: c\n  cluster:\n    server: https://c.example\n"
                                 "users:\n- name: u\n  user:\n    tokenFile: missing-token\n"
                                 "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
                                 "current-context: x\n");
  const Error error = ExpectError(Load({path}), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(error.message().find(path + ": users[u].user.tokenFile: cannot read token file " + Path("missing-token")),
            0u)
      << error.message();
}

// --- TokenSource ------------------------------------------------------------------

void SetMtime(const std::string& path, int64_t seconds) {
  const timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

TEST_F(KubeConfigTest, TokenSourceStaticTokenAndNoToken) {
  ClusterConfig config;
  config.token = std::string(kToken);
  config.token_file = Path("ignored");  // a static token wins, as in client-go
  TokenSource with_token(config);
  EXPECT_EQ(with_token.Token().value(), kToken);

  TokenSource anonymous(ClusterConfig{});
  EXPECT_EQ(anonymous.Token().value(), "");
}

TEST_F(KubeConfigTest, TokenSourcePicksUpRotation) {
  const std::string file = Write("token", "  " + std::string(kToken) + "\n");
  SetMtime(file, 1'700'000'000);
  ClusterConfig config;
  config.token_file = file;
  TokenSource source(config);
  EXPECT_EQ(source.Token().value(), kToken);

  // Rotated: different content, a changed mtime.
  Write("token", std::string(kOtherToken) + "\n");
  SetMtime(file, 1'700'000'060);
  EXPECT_EQ(source.Token().value(), kOtherToken);

  // Same size, mtime and inode: the cache answers without reading. (A real
  // rotation always changes at least one of them.)
  std::string same_size(kOtherToken.size(), 'x');
  Write("token", same_size + "\n");
  SetMtime(file, 1'700'000'060);
  EXPECT_EQ(source.Token().value(), kOtherToken);
  SetMtime(file, 1'700'000'120);
  EXPECT_EQ(source.Token().value(), same_size);

  // A rotation caught half-way (file gone or empty) keeps the last good token.
  fs::remove(file);
  EXPECT_EQ(source.Token().value(), same_size);
  Write("token", "");
  EXPECT_EQ(source.Token().value(), same_size);
}

TEST_F(KubeConfigTest, TokenSourceMissingFileWithoutCache) {
  ClusterConfig config;
  config.token_file = Path("no-token");
  TokenSource source(config);
  const Error error = ExpectError(source.Token(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(error.message().find("cannot read token file " + Path("no-token")), 0u) << error.message();

  Write("no-token", "\n \n");
  EXPECT_EQ(ExpectError(source.Token(), ErrorCode::kFailedPrecondition).message(),
            "token file " + Path("no-token") + " is empty");
}

// --- in-cluster -------------------------------------------------------------------

class InClusterTest : public KubeConfigTest {
 protected:
  void SetUp() override {
    KubeConfigTest::SetUp();
    root_ = Path("root");
    sa_ = "root/var/run/secrets/kubernetes.io/serviceaccount/";
    env_["KUBERNETES_SERVICE_HOST"] = "10.96.0.1";
    env_["KUBERNETES_SERVICE_PORT"] = "443";
  }
  std::string root_;
  std::string sa_;
};

TEST_F(InClusterTest, HappyPath) {
  Write(sa_ + "token", std::string(kToken) + "\n");
  Write(sa_ + "ca.crt", kCaPem);
  Write(sa_ + "namespace", "team-a\n");
  auto config = InClusterConfig(Env(), root_);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->token_file, Path(sa_ + "token"));
  EXPECT_TRUE(config->token.empty());  // read per request through TokenSource
  EXPECT_EQ(config->ca_file, Path(sa_ + "ca.crt"));
  EXPECT_EQ(config->ns, "team-a");
  EXPECT_EQ(config->context, "in-cluster");
  EXPECT_EQ(config->source, "in-cluster");
  TokenSource source(*config);
  EXPECT_EQ(source.Token().value(), kToken);
  EXPECT_TRUE(ToCurlOptions(*config).bearer_token.empty());
}

TEST_F(InClusterTest, Ipv6HostIsBracketedAndMissingOptionalFilesAreDefaults) {
  env_["KUBERNETES_SERVICE_HOST"] = "fd00:10:96::1";
  env_["KUBERNETES_SERVICE_PORT"] = "6443";
  Write(sa_ + "token", kToken);
  auto config = InClusterConfig(Env(), root_);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server, "https://[fd00:10:96::1]:6443");
  EXPECT_TRUE(config->ca_file.empty());
  EXPECT_EQ(config->ns, "default");
}

TEST_F(InClusterTest, MissingEnvironment) {
  Write(sa_ + "token", kToken);
  env_.erase("KUBERNETES_SERVICE_HOST");
  EXPECT_EQ(ExpectError(InClusterConfig(Env(), root_), ErrorCode::kFailedPrecondition).message(),
            "not running in a cluster: KUBERNETES_SERVICE_HOST is not set");
  env_["KUBERNETES_SERVICE_HOST"] = "10.96.0.1";
  env_.erase("KUBERNETES_SERVICE_PORT");
  EXPECT_EQ(ExpectError(InClusterConfig(Env(), root_), ErrorCode::kFailedPrecondition).message(),
            "not running in a cluster: KUBERNETES_SERVICE_PORT is not set");
}

TEST_F(InClusterTest, MissingOrEmptyToken) {
  Error error = ExpectError(InClusterConfig(Env(), root_), ErrorCode::kFailedPrecondition);
  EXPECT_NE(error.message().find(Path(sa_ + "token")), std::string::npos) << error.message();
  Write(sa_ + "token", "\n");
  error = ExpectError(InClusterConfig(Env(), root_), ErrorCode::kFailedPrecondition);
  EXPECT_NE(error.message().find("token file " + Path(sa_ + "token") + " is empty"), std::string::npos)
      << error.message();
}

// --- LoadDefault ------------------------------------------------------------------

TEST_F(InClusterTest, LoadDefaultOrder) {
  Write(sa_ + "token", kToken);
  const std::string env_file = Write("env/config", SimpleKubeconfig("https://env.example", kToken));
  const std::string explicit_file = Write("explicit/config", SimpleKubeconfig("https://explicit.example", kToken));
  Write("home/.kube/config", SimpleKubeconfig("https://home.example", kToken));
  env_["HOME"] = Path("home");
  env_["KUBECONFIG"] = env_file;

  // 1. Explicit paths, even with KUBECONFIG and in-cluster available.
  auto config = LoadDefault(KubeconfigSource{{explicit_file}, ""}, Env(), root_);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server, "https://explicit.example");

  // 2. KUBECONFIG before in-cluster.
  config = LoadDefault(KubeconfigSource{}, Env(), root_);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server, "https://env.example");

  // 3. In-cluster before $HOME/.kube/config (a KUBECONFIG naming no file is unset).
  env_["KUBECONFIG"] = "::";
  config = LoadDefault(KubeconfigSource{}, Env(), root_);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->source, "in-cluster");
  EXPECT_EQ(config->server, "https://10.96.0.1:443");

  // ...unless a context is asked for: contexts live in kubeconfigs.
  config = LoadDefault(KubeconfigSource{{}, "ctx"}, Env(), root_);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server, "https://home.example");

  // 4. $HOME/.kube/config.
  env_.erase("KUBERNETES_SERVICE_HOST");
  config = LoadDefault(KubeconfigSource{}, Env(), root_);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->server, "https://home.example");
  EXPECT_EQ(config->source, Path("home/.kube/config"));

  // Nothing applies: the error says what was tried.
  env_["HOME"] = Path("empty-home");
  Error error = ExpectError(LoadDefault(KubeconfigSource{}, Env(), root_), ErrorCode::kNotFound);
  EXPECT_EQ(error.message(),
            "no Kubernetes configuration found: KUBECONFIG is not set, not running in a cluster "
            "(KUBERNETES_SERVICE_HOST is not set), and " +
                Path("empty-home/.kube/config") + " does not exist; pass --kubeconfig or set KUBECONFIG");
  env_.erase("HOME");
  error = ExpectError(LoadDefault(KubeconfigSource{}, Env(), root_), ErrorCode::kFailedPrecondition);
  EXPECT_NE(error.message().find("HOME is not set"), std::string::npos) << error.message();

  // In-cluster chosen but broken: its own error, not a fallback.
  env_["KUBERNETES_SERVICE_HOST"] = "10.96.0.1";
  fs::remove(Path(sa_ + "token"));
  error = ExpectError(LoadDefault(KubeconfigSource{}, Env(), root_), ErrorCode::kFailedPrecondition);
  EXPECT_NE(error.message().find("in-cluster"), std::string::npos) << error.message();
}

}  // namespace
}  // namespace ctask::kube
