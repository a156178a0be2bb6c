#include "kube/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include "util/base64.h"

namespace ctask::kube {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kServiceAccountDir = "var/run/secrets/kubernetes.io/serviceaccount";
constexpr std::string_view kUnsupportedHint = "use a client certificate or a token (e.g. `kubectl create token`)";

std::string Quote(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return "";
  const size_t end = s.find_last_not_of(kSpace);
  return std::string(s.substr(begin, end - begin + 1));
}

// The whole file. Errors name the path and never carry its contents.
// `what` names the file's role in messages: "cannot read <what> <path>: ...".
Result<std::string> ReadFileText(const std::string& path, std::string_view what = "file") {
  // Transient errnos map to kUnavailable; the rest (EISDIR, ...) need a fix.
  constexpr ErrorCode otherwise = ErrorCode::kFailedPrecondition;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return MakeError(ErrorCodeForErrno(err, otherwise),
                     "cannot read " + std::string(what) + " " + path + ": " + std::strerror(err));
  }
  std::string text;
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return MakeError(ErrorCodeForErrno(err, otherwise),
                       "cannot read " + std::string(what) + " " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

// A token file's contents, trimmed; an unreadable or empty file is a state to
// fix (kFailedPrecondition), whatever errno said.
Result<std::string> ReadTokenFile(const std::string& path) {
  auto text = ReadFileText(path, "token file");
  if (!text) return MakeError(ErrorCode::kFailedPrecondition, text.error().message());
  std::string token = Trim(*text);
  if (token.empty()) return MakeError(ErrorCode::kFailedPrecondition, "token file " + path + " is empty");
  return token;
}

bool Exists(const std::string& path, int* error_number) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  *error_number = errno;
  return false;
}

// --- kubeconfig files -----------------------------------------------------------

// One named cluster, user or context: its inner map and the file that defined it.
struct Entry {
  YAML::Node body;  // the "cluster"/"user"/"context" map; null when absent
  std::string file;
};

struct NamedMap {
  std::map<std::string, Entry> by_name;
  std::vector<std::string> names;  // in order of first definition, for messages
};

struct Merged {
  std::vector<std::string> files;
  NamedMap clusters, users, contexts;
  std::string current_context;
};

// map[key], or a null node when the key is absent. yaml-cpp's operator[]
// answers an absent key with an invalid node that throws on every question
// but IsDefined.
YAML::Node Child(const YAML::Node& map, const std::string& key) {
  if (!map.IsMap()) return YAML::Node();
  const YAML::Node child = map[key];
  return child.IsDefined() ? child : YAML::Node();
}

Error FieldError(ErrorCode code, const std::string& file, std::string_view field, std::string_view what) {
  return Error(code, file + ": " + std::string(field) + ": " + std::string(what));
}

Error YamlError(const std::string& file, const YAML::Exception& e) {
  std::string message = file + ": ";
  if (!e.mark.is_null()) {
    message += "line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1) + ": ";
  }
  // yaml-cpp's messages describe the syntax, never quote the text.
  message += e.msg;
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

// One of clusters/users/contexts: a list of {name, <inner>} merged first-wins.
Status MergeList(const YAML::Node& root, const std::string& file, const std::string& list_key,
                 const std::string& inner_key, NamedMap* out) {
  const YAML::Node list = Child(root, list_key);
  if (!list.IsDefined() || list.IsNull()) return {};
  if (!list.IsSequence())
    return std::unexpected(FieldError(ErrorCode::kInvalidArgument, file, list_key, "must be a list"));
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    const std::string at = list_key + "[" + std::to_string(i) + "]";
    if (!item.IsMap()) return std::unexpected(FieldError(ErrorCode::kInvalidArgument, file, at, "must be a map"));
    const YAML::Node name = Child(item, "name");
    if (!name.IsScalar() || name.Scalar().empty()) {
      return std::unexpected(FieldError(ErrorCode::kInvalidArgument, file, at + ".name", "required"));
    }
    const YAML::Node body = Child(item, inner_key);
    if (body.IsDefined() && !body.IsNull() && !body.IsMap()) {
      return std::unexpected(FieldError(ErrorCode::kInvalidArgument, file,
                                        list_key + "[" + name.Scalar() + "]." + inner_key, "must be a map"));
    }
    if (out->by_name.contains(name.Scalar())) continue;  // the first definition wins
    out->by_name.emplace(name.Scalar(), Entry{body, file});
    out->names.push_back(name.Scalar());
  }
  return {};
}

Status MergeFile(const std::string& file, const std::string& text, Merged* merged) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return std::unexpected(YamlError(file, e));
  }
  merged->files.push_back(file);
  if (!root.IsDefined() || root.IsNull()) return {};  // an empty file is an empty config, as for kubectl
  if (!root.IsMap()) return std::unexpected(Error(ErrorCode::kInvalidArgument, file + ": a kubeconfig must be a map"));
  try {
    if (auto s = MergeList(root, file, "clusters", "cluster", &merged->clusters); !s) return s;
    if (auto s = MergeList(root, file, "users", "user", &merged->users); !s) return s;
    if (auto s = MergeList(root, file, "contexts", "context", &merged->contexts); !s) return s;
    const YAML::Node current = Child(root, "current-context");
    if (current.IsDefined() && !current.IsNull()) {
      if (!current.IsScalar()) {
        return std::unexpected(FieldError(ErrorCode::kInvalidArgument, file, "current-context", "must be a string"));
      }
      if (merged->current_context.empty()) merged->current_context = current.Scalar();
    }
  } catch (const YAML::Exception& e) {
    return std::unexpected(YamlError(file, e));
  }
  return {};
}

// Reads the fields of one entry's inner map, naming them in errors as
// "<file>: <prefix>.<key>".
class Fields {
 public:
  Fields(const Entry& entry, std::string prefix) : entry_(entry), prefix_(std::move(prefix)) {}

  bool Has(const std::string& key) const { return !Child(entry_.body, key).IsNull(); }

  std::string Path(const std::string& key) const { return prefix_ + "." + key; }

  Error Fail(ErrorCode code, const std::string& key, std::string_view what) const {
    return FieldError(code, entry_.file, Path(key), what);
  }

  Result<std::string> String(const std::string& key) const {
    if (!Has(key)) return std::string();
    const YAML::Node node = Child(entry_.body, key);
    if (!node.IsScalar()) return std::unexpected(Fail(ErrorCode::kInvalidArgument, key, "must be a string"));
    return node.Scalar();
  }

  Result<bool> Bool(const std::string& key) const {
    if (!Has(key)) return false;
    const YAML::Node node = Child(entry_.body, key);
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      return std::unexpected(Fail(ErrorCode::kInvalidArgument, key, "must be true or false"));
    }
    return value;
  }

  // A file path, relative ones resolved against the defining file's directory.
  Result<std::string> FilePath(const std::string& key) const {
    auto value = String(key);
    if (!value || value->empty()) return value;
    fs::path path(*value);
    if (path.is_absolute()) return *value;
    std::error_code ec;
    fs::path dir = fs::absolute(fs::path(entry_.file), ec).parent_path();
    if (ec) dir = fs::path(entry_.file).parent_path();
    return (dir / path).lexically_normal().string();
  }

  // Base64-decoded *-data. The message names the field, never the value.
  Result<std::string> Data(const std::string& key) const {
    auto value = String(key);
    if (!value || value->empty()) return value;
    auto decoded = DecodeBase64(*value);
    if (!decoded) return std::unexpected(Fail(ErrorCode::kInvalidArgument, key, "is not valid base64"));
    return *std::move(decoded);
  }

 private:
  const Entry& entry_;
  std::string prefix_;
};

std::string NamesForMessage(std::string_view kind, const NamedMap& map) {
  if (map.names.empty()) return "the kubeconfig defines no " + std::string(kind);
  return std::string(kind) + ": " + Join(map.names, ", ");
}

Status ApplyCluster(const Entry& entry, const std::string& name, ClusterConfig* config) {
  const Fields f(entry, "clusters[" + name + "].cluster");
  auto server = f.String("server");
  if (!server) return std::unexpected(server.error());
  if (server->empty()) {
    return std::unexpected(
        f.Fail(ErrorCode::kInvalidArgument, "server", "required: the API server's URL, e.g. https://127.0.0.1:6443"));
  }
  // The value is not quoted back: a URL may carry user:password.
  if (!server->starts_with("https://") && !server->starts_with("http://")) {
    return std::unexpected(
        f.Fail(ErrorCode::kInvalidArgument, "server", "must be a URL starting with https:// or http://"));
  }
  while (server->size() > 1 && server->back() == '/') server->pop_back();
  config->server = *server;

  auto ca_data = f.Data("certificate-authority-data");
  if (!ca_data) return std::unexpected(ca_data.error());
  config->ca_data = *std::move(ca_data);
  auto ca_file = f.FilePath("certificate-authority");
  if (!ca_file) return std::unexpected(ca_file.error());
  config->ca_file = *std::move(ca_file);
  auto insecure = f.Bool("insecure-skip-tls-verify");
  if (!insecure) return std::unexpected(insecure.error());
  config->insecure = *insecure;
  return {};
}

Status ApplyUser(const Entry& entry, const std::string& name, ClusterConfig* config) {
  const Fields f(entry, "users[" + name + "].user");
  if (f.Has("exec")) {
    return std::unexpected(f.Fail(ErrorCode::kFailedPrecondition, "exec",
                                  "exec credential plugins are not supported yet; " + std::string(kUnsupportedHint)));
  }
  if (f.Has("auth-provider")) {
    return std::unexpected(
        f.Fail(ErrorCode::kFailedPrecondition, "auth-provider",
               "auth-provider plugins (legacy) are not supported; " + std::string(kUnsupportedHint)));
  }
  if (f.Has("username") || f.Has("password")) {
    return std::unexpected(f.Fail(ErrorCode::kFailedPrecondition, f.Has("username") ? "username" : "password",
                                  "basic authentication is not supported; " + std::string(kUnsupportedHint)));
  }
  struct Field {
    const char* key;
    bool data;
    std::string ClusterConfig::*target;
  };
  static constexpr Field kFields[] = {
      {"client-certificate-data", true, &ClusterConfig::client_cert_data},
      {"client-certificate", false, &ClusterConfig::client_cert_file},
      {"client-key-data", true, &ClusterConfig::client_key_data},
      {"client-key", false, &ClusterConfig::client_key_file},
      {"tokenFile", false, &ClusterConfig::token_file},
  };
  for (const Field& field : kFields) {
    auto value = field.data ? f.Data(field.key) : f.FilePath(field.key);
    if (!value) return std::unexpected(value.error());
    config->*field.target = *std::move(value);
  }
  auto token = f.String("token");
  if (!token) return std::unexpected(token.error());
  config->token = *std::move(token);
  // kubectl reads tokenFile when it loads, so a missing one fails here too
  // rather than on the first request.
  if (config->token.empty() && !config->token_file.empty()) {
    if (auto read = ReadTokenFile(config->token_file); !read) {
      return std::unexpected(f.Fail(ErrorCode::kFailedPrecondition, "tokenFile", read.error().message()));
    }
  }
  return {};
}

Result<ClusterConfig> Resolve(const Merged& merged, const std::string& context_override) {
  const std::string where = Join(merged.files, ":");
  std::string name = context_override;
  if (name.empty()) {
    if (merged.current_context.empty()) {
      return MakeError(ErrorCode::kFailedPrecondition, "no current-context is set in " + where +
                                                           "; set one with `kubectl config use-context NAME` or " +
                                                           "choose a context explicitly (" +
                                                           NamesForMessage("contexts", merged.contexts) + ")");
    }
    name = merged.current_context;
  }
  const auto context_it = merged.contexts.by_name.find(name);
  if (context_it == merged.contexts.by_name.end()) {
    return MakeError(ErrorCode::kNotFound, "context " + Quote(name) + " not found in " + where + "; " +
                                               NamesForMessage("contexts", merged.contexts));
  }
  const Entry& context = context_it->second;
  const Fields cf(context, "contexts[" + name + "].context");

  ClusterConfig config;
  config.context = name;
  config.source = where;

  auto cluster_name = cf.String("cluster");
  if (!cluster_name) return std::unexpected(cluster_name.error());
  if (cluster_name->empty()) return std::unexpected(cf.Fail(ErrorCode::kInvalidArgument, "cluster", "required"));
  const auto cluster_it = merged.clusters.by_name.find(*cluster_name);
  if (cluster_it == merged.clusters.by_name.end()) {
    return std::unexpected(cf.Fail(ErrorCode::kNotFound, "cluster",
                                   "cluster " + Quote(*cluster_name) + " not found in " + where + "; " +
                                       NamesForMessage("clusters", merged.clusters)));
  }
  if (auto s = ApplyCluster(cluster_it->second, *cluster_name, &config); !s) return std::unexpected(s.error());

  auto user_name = cf.String("user");
  if (!user_name) return std::unexpected(user_name.error());
  // No user is anonymous access, which kubectl allows too.
  if (!user_name->empty()) {
    const auto user_it = merged.users.by_name.find(*user_name);
    if (user_it == merged.users.by_name.end()) {
      return std::unexpected(cf.Fail(
          ErrorCode::kNotFound, "user",
          "user " + Quote(*user_name) + " not found in " + where + "; " + NamesForMessage("users", merged.users)));
    }
    if (auto s = ApplyUser(user_it->second, *user_name, &config); !s) return std::unexpected(s.error());
  }

  auto ns = cf.String("namespace");
  if (!ns) return std::unexpected(ns.error());
  if (!ns->empty()) config.ns = *std::move(ns);
  return config;
}

// The kubeconfig files to read, in precedence order.
Result<std::vector<std::string>> KubeconfigPaths(const KubeconfigSource& source, const Getenv& getenv) {
  if (!source.paths.empty()) return source.paths;
  if (auto env = getenv("KUBECONFIG"); env && !env->empty()) {
    std::vector<std::string> named;
    size_t start = 0;
    while (start <= env->size()) {
      size_t end = env->find(':', start);
      if (end == std::string::npos) end = env->size();
      std::string entry = env->substr(start, end - start);
      if (!entry.empty() && std::find(named.begin(), named.end(), entry) == named.end()) named.push_back(entry);
      start = end + 1;
    }
    if (!named.empty()) {
      std::vector<std::string> existing;
      for (const auto& path : named) {
        int err = 0;
        if (Exists(path, &err)) {
          existing.push_back(path);
        } else if (err != ENOENT && err != ENOTDIR) {
          return MakeError(ErrorCodeForErrno(err, ErrorCode::kFailedPrecondition),
                           "cannot read " + path + " (from KUBECONFIG): " + std::strerror(err));
        }
      }
      if (existing.empty()) {
        return MakeError(ErrorCode::kNotFound, "none of the files in KUBECONFIG exist: " + Join(named, ", "));
      }
      return existing;
    }
  }
  auto home = getenv("HOME");
  if (!home || home->empty()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "no kubeconfig: KUBECONFIG and HOME are not set; pass --kubeconfig or set KUBECONFIG");
  }
  return std::vector<std::string>{(fs::path(*home) / ".kube" / "config").string()};
}

}  // namespace

std::optional<std::string> ProcessGetenv(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<ClusterConfig> LoadKubeconfig(const KubeconfigSource& source, const Getenv& getenv) {
  auto paths = KubeconfigPaths(source, getenv);
  if (!paths) return std::unexpected(paths.error());
  Merged merged;
  for (const auto& path : *paths) {
    auto text = ReadFileText(path, "kubeconfig");
    if (!text) {
      if (text.error().code() == ErrorCode::kNotFound) {
        return MakeError(ErrorCode::kNotFound, "kubeconfig " + path + " does not exist");
      }
      return std::unexpected(text.error());
    }
    if (auto s = MergeFile(path, *text, &merged); !s) return std::unexpected(s.error());
  }
  try {
    return Resolve(merged, source.context);
  } catch (const YAML::Exception& e) {  // a backstop: Resolve checks node types before it asks
    return MakeError(ErrorCode::kInternal, "reading " + Join(merged.files, ":") + ": " + e.msg);
  }
}

Result<ClusterConfig> InClusterConfig(const Getenv& getenv, const std::string& root) {
  auto host = getenv("KUBERNETES_SERVICE_HOST");
  if (!host || host->empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "not running in a cluster: KUBERNETES_SERVICE_HOST is not set");
  }
  auto port = getenv("KUBERNETES_SERVICE_PORT");
  if (!port || port->empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "not running in a cluster: KUBERNETES_SERVICE_PORT is not set");
  }
  const fs::path dir = fs::path(root) / kServiceAccountDir;
  ClusterConfig config;
  const bool ipv6 = host->find(':') != std::string::npos && !host->starts_with("[");
  config.server = "https://" + (ipv6 ? "[" + *host + "]" : *host) + ":" + *port;
  config.token_file = (dir / "token").string();
  if (auto token = ReadTokenFile(config.token_file); !token) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "in-cluster: " + token.error().message() +
                         "; is the service account token mounted (automountServiceAccountToken)?");
  }
  // client-go goes on without the CA when ca.crt is absent; so do we.
  int err = 0;
  if (const std::string ca = (dir / "ca.crt").string(); Exists(ca, &err)) config.ca_file = ca;
  if (auto ns = ReadFileText((dir / "namespace").string()); ns) {
    if (std::string trimmed = Trim(*ns); !trimmed.empty()) config.ns = std::move(trimmed);
  }
  config.context = "in-cluster";
  config.source = "in-cluster";
  return config;
}

Result<ClusterConfig> LoadDefault(const KubeconfigSource& source, const Getenv& getenv, const std::string& root) {
  // KUBECONFIG of only separators (":") names no file: as if unset.
  const auto kubeconfig_env = getenv("KUBECONFIG");
  const bool kubeconfig_set = kubeconfig_env && kubeconfig_env->find_first_not_of(':') != std::string::npos;
  if (!source.paths.empty() || kubeconfig_set) return LoadKubeconfig(source, getenv);
  // A context override names a kubeconfig context: in-cluster has none.
  const auto service_host = getenv("KUBERNETES_SERVICE_HOST");
  if (service_host && !service_host->empty() && source.context.empty()) return InClusterConfig(getenv, root);

  std::string tried = "KUBECONFIG is not set, ";
  tried += source.context.empty() ? "not running in a cluster (KUBERNETES_SERVICE_HOST is not set)"
                                  : "--context " + Quote(source.context) + " needs a kubeconfig";
  const auto home = getenv("HOME");
  if (!home || home->empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "no Kubernetes configuration found: " + tried +
                                                         ", and HOME is not set; pass --kubeconfig or set KUBECONFIG");
  }
  const std::string path = (fs::path(*home) / ".kube" / "config").string();
  if (int err = 0; !Exists(path, &err) && (err == ENOENT || err == ENOTDIR)) {
    return MakeError(ErrorCode::kNotFound, "no Kubernetes configuration found: " + tried + ", and " + path +
                                               " does not exist; pass --kubeconfig or set KUBECONFIG");
  }
  KubeconfigSource home_source = source;
  home_source.paths = {path};
  return LoadKubeconfig(home_source, getenv);
}

http::CurlOptions ToCurlOptions(const ClusterConfig& config) {
  http::CurlOptions options;
  options.ca_file = config.ca_file;
  options.ca_data = config.ca_data;
  options.client_cert_file = config.client_cert_file;
  options.client_cert_data = config.client_cert_data;
  options.client_key_file = config.client_key_file;
  options.client_key_data = config.client_key_data;
  options.insecure = config.insecure;
  return options;
}

TokenSource::TokenSource(ClusterConfig config) : config_(std::move(config)) {}

Result<std::string> TokenSource::Token() {
  if (!config_.token.empty()) return config_.token;
  if (config_.token_file.empty()) return std::string();
  std::lock_guard lock(mu_);
  struct stat st {};
  if (::stat(config_.token_file.c_str(), &st) != 0) {
    const int err = errno;
    if (cached_key_) return cached_token_;
    return MakeError(ErrorCode::kFailedPrecondition,
                     "cannot read token file " + config_.token_file + ": " + std::strerror(err));
  }
  const FileKey key{static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                    static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino),
                    static_cast<uint64_t>(st.st_dev)};
  if (cached_key_ && *cached_key_ == key) return cached_token_;
  auto token = ReadTokenFile(config_.token_file);
  if (!token) {
    if (cached_key_) return cached_token_;
    return std::unexpected(token.error());
  }
  cached_key_ = key;
  cached_token_ = *std::move(token);
  return cached_token_;
}

}  // namespace ctask::kube
