// Any bytes, as a manifest file: parse every document, validate, and render
// every valid task for both backends, then write the results back out. The
// contract under test: no crash, no sanitizer report, no exception, no hang —
// whatever the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/document.h"
#include "api/manifest.h"
#include "render/docker_container.h"
#include "render/job.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ctask;
  api::Manifests manifests;
  api::AddManifestText(manifests, "fuzz.yaml", std::string_view(reinterpret_cast<const char*>(data), size));
  for (const api::ManifestProblem& p : manifests.problems) (void)p.ToString();
  render::DockerPolicy policy;
  policy.allowed_host_paths = {"/data", "/tmp/x/"};
  for (const api::LoadedTask& t : manifests.tasks) {
    for (int attempt : {1, 101}) {
      render::JobOptions options;
      options.attempt = attempt;
      options.active_deadline_seconds = t.task.spec.timeout_seconds;
      if (auto job = render::RenderJob(t.task, options)) (void)api::ToYaml(*job);
      if (auto container = render::RenderDockerContainer(t.task, attempt, manifests.configs, policy)) {
        (void)container->body.dump();
      }
    }
    (void)api::ToYaml(render::RenderNetworkPolicy(t.task));
  }
  return 0;
}
