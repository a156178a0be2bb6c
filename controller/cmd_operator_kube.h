// `ctask operator --backend kubernetes`: the operator proper. Watches
// ContainerTasks (in every namespace, or --namespace), runs each as Jobs,
// reports in status; see kube_backend.h for the parts and docs/operations.md
// for running it.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "flags.h"

namespace ctask::cli {

// The flags only the Kubernetes backend takes (the kubeconfig flags of
// kube_flags.h come on top).
std::vector<FlagSpec> KubeOperatorFlagSpecs();

// `why_kubernetes` says why this backend was chosen, for the first log line.
int RunKubeOperator(const ParsedFlags& flags, std::ostream& out, std::ostream& err, const std::string& why_kubernetes);

}  // namespace ctask::cli
