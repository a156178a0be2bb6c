// `ctask version`: the build's version and the API it serves; with
// --server, also the Kubernetes API server the flags point at (its version)
// and whether the ContainerTask CRD is installed there — the first thing to
// check when the operator or `kubectl apply` of a task does not work.
#include <sstream>

#include "cli.h"
#include "ctask_version.h"  // CTASK_VERSION, written at build time (cmake/version.cmake)
#include "flags.h"
#include "kube/connect.h"
#include "kube_flags.h"

namespace ctask::cli {
namespace {

constexpr const char* kCrdName = "containertasks.ctask.io";

// "containertasks.ctask.io is Established, serving v1alpha1", or why not.
std::string CrdState(kube::KubeClient& client) {
  Result<api::Json> crd = client.Get(kube::resources::CustomResourceDefinitions(), "", kCrdName);
  if (!crd) {
    if (crd.error().code() == ErrorCode::kNotFound) {
      return std::string(kCrdName) +
             " is not installed: install it with `kubectl apply -f crds/` (or `ctask crd | "
             "kubectl apply -f -`)";
    }
    return "cannot tell: " + crd.error().message();
  }
  bool established = false;
  const api::Json status = crd->value("status", api::Json::object());
  for (const api::Json& condition : status.value("conditions", api::Json::array())) {
    if (condition.is_object() && condition.value("type", "") == "Established" &&
        condition.value("status", "") == "True") {
      established = true;
    }
  }
  std::string served;
  const api::Json spec = crd->value("spec", api::Json::object());
  for (const api::Json& version : spec.value("versions", api::Json::array())) {
    if (version.is_object() && version.value("served", false)) {
      served += (served.empty() ? "" : ", ") + version.value("name", "");
    }
  }
  return std::string(kCrdName) + (established ? " is Established" : " is installed but not Established yet") +
         (served.empty() ? "" : ", serving " + served);
}

}  // namespace

constexpr const char* kVersionHelp =
    "Print the version of ctask and the API version it serves; with --server, also the version of the\n"
    "Kubernetes API server the kubeconfig points at and the state of the ContainerTask CRD there.\n\n"
    "Usage:\n  ctask version [--server [--kubeconfig FILE] [--context NAME]]\n\n";

int RunVersion(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<FlagSpec> specs = {
      {"server", '\0', false, "", "Also show the Kubernetes API server's version and whether the CRD is installed"},
      {"help", 'h', false, "", "Show this help"}};
  for (FlagSpec& spec : KubeFlagSpecs()) specs.push_back(std::move(spec));
  OrExit<ParsedFlags> flags = ParseCommandFlags(args, specs, "ctask version", kVersionHelp, out, err);
  if (!flags) return flags.error();
  if (!flags->positional.empty()) {
    err << "ctask version: takes no arguments\n";
    return kExitUsage;
  }
  Result<kube::ClientOptions> options = KubeClientOptionsFromFlags(*flags);
  if (!options) {
    err << "ctask version: " << options.error().message() << "\n";
    return kExitUsage;
  }
  out << "ctask " << CTASK_VERSION << " (API ctask.io/v1alpha1)\n";
  if (!flags->Has("server")) return kExitOk;

  Result<kube::ClusterConfig> config = KubeConfigFromFlags(*flags);
  if (!config) {
    err << "ctask version: " << config.error().message() << "\n";
    return kExitInvalid;
  }
  Result<kube::KubeClientPtr> client = kube::Connect(*config, *options);
  if (!client) {
    err << "ctask version: " << client.error().message() << "\n";
    return kExitInvalid;
  }
  Result<api::Json> version = (*client)->Call("GET", "/version", "get the version of " + config->server);
  if (!version) {
    err << "ctask version: " << version.error().message() << "\n";
    return kExitInvalid;
  }
  out << "server: " << config->server << " (Kubernetes " << version->value("gitVersion", "unknown") << "), context "
      << (config->context.empty() ? "-" : config->context) << " from " << config->source << "\n";
  out << "crd: " << CrdState(**client) << "\n";
  return kExitOk;
}

}  // namespace ctask::cli
