// Where the Kubernetes API server is and how to authenticate to it: read from
// kubeconfig files the way kubectl reads them, or from the service account a
// Pod is given when the operator runs in the cluster.
//
// Contract: loading is pure apart from reading the files named (and the
// environment through an injected getenv), so every rule is unit-testable.
// Errors name the file and the field path ("users[admin].user.client-key-data")
// and say what to do; they never contain a token, a key or certificate data.
// Credentials kubectl gets from plugins (exec, auth-provider) and basic auth
// are refused with kFailedPrecondition: ctask speaks certificates and tokens.
//
// Thread-safety: the functions are safe to call from many threads (they read
// the process environment only through `getenv`; the default, ProcessGetenv,
// must not race with setenv). ClusterConfig is a plain value. TokenSource is
// safe to share between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/curl_client.h"
#include "util/error.h"

namespace ctask::kube {

struct ClusterConfig {
  std::string server;            // "https://127.0.0.1:16443", no trailing slash
  std::string ca_data, ca_file;  // PEM text / PEM file path (data wins)
  std::string client_cert_data, client_cert_file, client_key_data, client_key_file;
  bool insecure = false;       // insecure-skip-tls-verify
  std::string token;           // static bearer token
  std::string token_file;      // re-read when it changes (in-cluster rotation, kubeconfig tokenFile)
  std::string ns = "default";  // the context's namespace (or in-cluster namespace file)
  std::string context;         // name of the context used, for messages ("in-cluster" for in-cluster)
  std::string source;          // where it came from, for messages: the kubeconfig path(s) or "in-cluster"
};

struct KubeconfigSource {
  // In precedence order; each must exist (as with kubectl --kubeconfig).
  // Empty: $KUBECONFIG split on ':' (empty entries ignored), else
  // $HOME/.kube/config.
  std::vector<std::string> paths;
  std::string context;  // override of current-context ("" = current-context)
};

// Reads the environment variable, nullopt when unset. Tests inject their own.
using Getenv = std::function<std::optional<std::string>(std::string_view)>;
std::optional<std::string> ProcessGetenv(std::string_view name);

// Merges kubeconfig files as kubectl does: for maps (clusters, users, contexts
// by name) the first file that defines a name wins; current-context comes
// from the first file that sets it. Files named in $KUBECONFIG that do not
// exist are skipped (kubectl does), but if none exist: kNotFound naming them.
// Relative certificate-authority, client-certificate, client-key and
// tokenFile paths are resolved against the directory of the file that
// defined that cluster or user. *-data fields are base64-decoded. Only the
// context used, its cluster and its user are checked, so a broken entry
// elsewhere does not stop a working one from loading.
//
// Errors: kInvalidArgument for YAML that does not parse (file and line), a
// wrong field type, bad base64 or a cluster without a server; kNotFound for
// missing files, a context that does not exist or a context naming a missing
// cluster or user; kFailedPrecondition for no current-context, exec or
// auth-provider plugins, basic auth, and an unreadable or empty tokenFile.
Result<ClusterConfig> LoadKubeconfig(const KubeconfigSource& source, const Getenv& getenv = ProcessGetenv);

// The service account of the Pod the process runs in: the API server at
// $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (an IPv6 host gets
// brackets), and under <root>/var/run/secrets/kubernetes.io/serviceaccount/
// the token (token_file; read once here to check it exists and is not empty),
// ca.crt (ca_file, when present) and namespace (ns, "default" when absent).
// Errors: kFailedPrecondition "not running in a cluster: KUBERNETES_SERVICE_HOST
// is not set" (or _PORT), or naming the token file that is missing or empty.
Result<ClusterConfig> InClusterConfig(const Getenv& getenv, const std::string& root = "/");

// kubectl's order: explicit paths or $KUBECONFIG first; otherwise in-cluster
// when KUBERNETES_SERVICE_HOST is set (and no context override asks for a
// kubeconfig); otherwise $HOME/.kube/config. Returns the first that applies;
// when none does, the error says what was tried.
Result<ClusterConfig> LoadDefault(const KubeconfigSource& source, const Getenv& getenv = ProcessGetenv,
                                  const std::string& root = "/");

// The transport options for this config. The token is not put here: the
// client adds Authorization per request from a TokenSource, so a rotated
// token_file is picked up.
http::CurlOptions ToCurlOptions(const ClusterConfig& config);

// The bearer token to send now: config.token when set, else token_file's
// contents trimmed of whitespace, else "" (no token). The file is re-read
// only when its mtime, size or inode changes, so rotation is picked up
// without a read per request. When a re-read fails after an earlier success,
// the last good token is returned (as client-go does): a rotation in progress
// must not fail requests. Thread-safe.
class TokenSource {
 public:
  explicit TokenSource(ClusterConfig config);

  Result<std::string> Token();

 private:
  struct FileKey {
    int64_t mtime_ns = 0;
    int64_t size = 0;
    uint64_t inode = 0;
    uint64_t device = 0;
    bool operator==(const FileKey&) const = default;
  };

  const ClusterConfig config_;
  std::mutex mu_;
  // Guarded by mu_: the token last read from token_file and the file it came from.
  std::optional<FileKey> cached_key_;
  std::string cached_token_;
};

}  // namespace ctask::kube
