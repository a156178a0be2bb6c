// `ctask render -f FILE... --backend kubernetes|docker`: show what each task
// becomes — the Job (and NetworkPolicy) the operator would create, or the
// Docker create-container request the local runner would send. Secret values
// resolved for Docker are shown redacted. A fan-out task is shown as one of
// its items (--index, default 0): the Pod (Kubernetes) or the container
// (Docker) that item runs in, as the operator creates it.
#include <charconv>
#include <optional>

#include "api/document.h"
#include "api/manifest.h"
#include "backends/kubernetes/kube_runtime.h"
#include "cli.h"
#include "flags.h"
#include "render/docker_container.h"
#include "render/job.h"
#include "render/pod.h"
#include "status/fan_out.h"

namespace ctask::cli {
namespace {

constexpr int kMaxAttempt = 101;  // retries <= 100, plus the first attempt

std::string Location(const api::LoadedTask& t) {
  return t.source.file + ": doc " + std::to_string(t.source.document) + ": ContainerTask/" + t.task.metadata.name;
}

// Env entries built from Secrets keep their name; the value is replaced.
// Entrypoint/Cmd arguments that expand such a variable ($(NAME)) carry the
// value too, so they are replaced whole. `spec_args` are the task's own
// command or args, which the body's arrays mirror index for index.
void RedactArgs(api::Json& body, const char* field, const std::vector<std::string>& spec_args,
                const std::vector<std::string>& secret_env) {
  if (!body.contains(field) || !body[field].is_array()) return;
  for (size_t i = 0; i < spec_args.size() && i < body[field].size(); ++i) {
    for (const std::string& name : secret_env) {
      if (spec_args[i].find("$(" + name + ")") != std::string::npos) {
        body[field][i] = "<redacted: uses a Secret>";
      }
    }
  }
}

api::Json Redacted(api::Json body, const api::ContainerTaskSpec& spec, const std::vector<std::string>& secret_env) {
  if (body.contains("Env")) {
    for (api::Json& entry : body["Env"]) {
      std::string text = entry.get<std::string>();
      std::string name = text.substr(0, text.find('='));
      for (const std::string& s : secret_env) {
        if (s == name) entry = name + "=<redacted: from a Secret>";
      }
    }
  }
  RedactArgs(body, "Entrypoint", spec.command, secret_env);
  RedactArgs(body, "Cmd", spec.args, secret_env);
  return body;
}

const std::vector<FlagSpec>& RenderFlags() {
  static const std::vector<FlagSpec> kSpecs = {
      {"filename", 'f', true, "FILE", "Manifest file (YAML or JSON; - for stdin); repeatable"},
      {"backend", 'b', true, "BACKEND", "kubernetes (default): the Job; docker: the container"},
      {"output", 'o', true, "FORMAT", "yaml (default) or json"},
      {"attempt", '\0', true, "N", "Render this attempt (1 = the first; default 1)"},
      {"index", '\0', true, "I", "Fan-out tasks: render item I (0 = the first; default 0)"},
      {"allow-host-path", '\0', true, "DIR", "Docker: let tasks bind-mount DIR or below; repeatable"},
      {"help", 'h', false, "", "Show this help"},
  };
  return kSpecs;
}

constexpr const char* kRenderHelp =
    "Show the Kubernetes Job or the Docker container each ContainerTask becomes.\n"
    "A fan-out task (spec.completions or spec.items) is shown as one item's Pod or container\n"
    "(--index I; the first by default), as the operator creates it for that item.\n"
    "Secrets and ConfigMaps in the same files feed the Docker container's environment;\n"
    "values from Secrets are shown redacted.\n\n"
    "Usage:\n  ctask render -f FILE [-f FILE...] [--backend kubernetes|docker] [-o yaml|json]\n\n"
    "Exit status: 0 on success, 1 when a manifest is invalid or cannot be rendered, 2 on bad usage.\n\n";

// What the command line asks `render` for.
struct RenderOptions {
  std::string backend;  // "kubernetes" or "docker"
  std::string format;   // "yaml" or "json"
  int attempt = 1;
  std::optional<int> index;  // --index: which item of a fan-out task
  std::vector<std::string> files;
  render::DockerPolicy policy;
};

// --attempt N: a whole number in [1, kMaxAttempt], or nullopt (reported).
std::optional<int> ParseAttempt(const std::string& text, std::ostream& err) {
  int attempt = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), attempt);
  if (ec != std::errc() || end != text.data() + text.size() || attempt < 1 || attempt > kMaxAttempt) {
    err << "ctask render: --attempt must be a whole number from 1 to " << kMaxAttempt << "\n";
    return std::nullopt;
  }
  return attempt;
}

// --index I: a whole number from 0, or nullopt (reported). Whether the
// task has that many items is checked per task (RenderedTask).
std::optional<int> ParseIndex(const std::string& text, std::ostream& err) {
  int index = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
  if (ec != std::errc() || end != text.data() + text.size() || index < 0) {
    err << "ctask render: --index must be a whole number from 0 (an item of a fan-out task)\n";
    return std::nullopt;
  }
  return index;
}

OrExit<RenderOptions> ParseRenderFlags(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<ParsedFlags> flags = ParseCommandFlags(args, RenderFlags(), "ctask render", kRenderHelp, out, err);
  if (!flags) return std::unexpected(flags.error());
  if (!flags->positional.empty()) {
    err << "ctask render: unexpected argument \"" << flags->positional[0] << "\": name files with -f\n";
    return std::unexpected(kExitUsage);
  }
  RenderOptions options;
  options.backend = flags->Get("backend", "kubernetes");
  options.format = flags->Get("output", "yaml");
  if (options.backend != "kubernetes" && options.backend != "docker") {
    err << "ctask render: --backend must be kubernetes or docker\n";
    return std::unexpected(kExitUsage);
  }
  if (options.format != "yaml" && options.format != "json") {
    err << "ctask render: --output must be yaml or json\n";
    return std::unexpected(kExitUsage);
  }
  if (flags->Has("attempt")) {
    std::optional<int> attempt = ParseAttempt(flags->Get("attempt"), err);
    if (!attempt) return std::unexpected(kExitUsage);
    options.attempt = *attempt;
  }
  if (flags->Has("index")) {
    options.index = ParseIndex(flags->Get("index"), err);
    if (!options.index) return std::unexpected(kExitUsage);
  }
  options.files = flags->All("filename");
  if (options.files.empty()) {
    err << "ctask render: no input: name a manifest with -f FILE\n";
    return std::unexpected(kExitUsage);
  }
  options.policy.allowed_host_paths = flags->All("allow-host-path");
  return options;
}

// The task to render: the task itself, or the item --index names of a
// fan-out task, seen as the operator runs it (status::ItemView). --index on
// a task that does not fan out, or past its last item, is an error naming
// the field.
Result<api::ContainerTask> RenderedTask(const api::ContainerTask& task, std::optional<int> index) {
  const int32_t count = status::ItemCount(task.spec);
  if (count == 0) {
    if (!index) return task;
    return InvalidArgument("--index " + std::to_string(*index) +
                           ": the task does not fan out (set spec.completions or spec.items), so it has no items; "
                           "leave --index out");
  }
  const int chosen = index.value_or(0);
  if (chosen >= count) {
    return InvalidArgument("--index " + std::to_string(chosen) + ": the task has " + std::to_string(count) +
                           " items (0 to " + std::to_string(count - 1) + ")");
  }
  api::ItemStatus entry;
  entry.index = chosen;
  return status::ItemView(task, entry, /*stop=*/false);
}

// The workload of one task (its Job, or an item's Pod as the operator runs
// items), and its NetworkPolicy when the task is isolated.
Status RenderForKubernetes(const api::ContainerTask& task, int attempt, std::vector<api::Json>& objects) {
  render::JobOptions options;
  options.attempt = attempt;
  options.active_deadline_seconds = task.spec.timeout_seconds;
  Result<api::Json> workload =
      backends::RunsAsPod(task) ? render::RenderPod(task, options) : render::RenderJob(task, options);
  if (!workload) return std::unexpected(workload.error());
  objects.push_back(std::move(*workload));
  if (task.spec.network.isolated) objects.push_back(render::RenderNetworkPolicy(task));
  return {};
}

// The create-container request of one task, its Secret values redacted.
Result<api::Json> RenderForDocker(const api::ContainerTask& task, const RenderOptions& options,
                                  const api::Manifests& manifests) {
  Result<render::DockerContainer> container =
      render::RenderDockerContainer(task, options.attempt, manifests.configs, options.policy);
  if (!container) return std::unexpected(container.error());
  api::Json shown = api::Json::object();
  shown["name"] = container->name;
  shown["body"] = Redacted(container->body, task.spec, container->secret_env);
  return shown;
}

// Every task's objects, in file order. Every task that cannot be rendered
// is reported, not only the first; then nothing is printed.
std::optional<std::vector<api::Json>> RenderAll(const api::Manifests& manifests, const RenderOptions& options,
                                                std::ostream& err) {
  std::vector<api::Json> objects;
  bool failed = false;
  for (const api::LoadedTask& t : manifests.tasks) {
    Result<api::ContainerTask> task = RenderedTask(t.task, options.index);
    Status rendered;
    if (!task) {
      rendered = std::unexpected(task.error());
    } else if (options.backend == "kubernetes") {
      rendered = RenderForKubernetes(*task, options.attempt, objects);
    } else if (Result<api::Json> shown = RenderForDocker(*task, options, manifests); shown) {
      objects.push_back(std::move(*shown));
    } else {
      rendered = std::unexpected(shown.error());
    }
    if (!rendered) {
      err << Location(t) << ": " << rendered.error().message() << "\n";
      failed = true;
    }
  }
  if (failed) return std::nullopt;
  return objects;
}

// YAML documents separated by ---, or JSON: the object alone, or a v1 List.
void PrintObjects(const std::vector<api::Json>& objects, const std::string& format, std::ostream& out) {
  if (format == "json") {
    if (objects.size() == 1) {
      out << objects[0].dump(2) << "\n";
    } else {
      api::Json list = api::Json::object();
      list["apiVersion"] = "v1";
      list["kind"] = "List";
      list["items"] = objects;
      out << list.dump(2) << "\n";
    }
    return;
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i > 0) out << "---\n";
    out << api::ToYaml(objects[i]);
  }
}

}  // namespace

int RunRender(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  OrExit<RenderOptions> options = ParseRenderFlags(args, out, err);
  if (!options) return options.error();
  api::Manifests manifests = api::LoadManifestFiles(options->files);
  if (!manifests.ok()) {
    for (const api::ManifestProblem& problem : manifests.problems) err << problem.ToString() << "\n";
    return kExitInvalid;
  }
  std::optional<std::vector<api::Json>> objects = RenderAll(manifests, *options, err);
  if (!objects) return kExitInvalid;
  PrintObjects(*objects, options->format, out);
  return kExitOk;
}

}  // namespace ctask::cli
