// bench_run_vs_docker: what `ctask run` costs on top of the Docker Engine API
// for a trivial task (`true`), measured as a ratio against a baseline taken in
// the same run, so the figure does not depend on how fast the machine is.
//
//   (a) baseline: create, start, wait, fetch logs, remove, straight through
//       the project's own DockerClient over the daemon's Unix socket;
//   (b) `ctask run -f TASK.yaml -q --state-dir DIR` as a child process, the
//       whole process's wall time.
//
// The two alternate, repetition by repetition, so drift (page cache, daemon
// state, a noisy neighbour) lands on both. A measurement, not a test: nothing
// here asserts a duration. See bench/README.md for how to read the output.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "docker/client.h"
#include "http/curl_client.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using ctask::Result;
using ctask::Status;
using ctask::api::Json;

// Rounds run before the measured ones: the first container of a run pays for
// cold caches (image layers, the binary's pages) that later ones do not.
constexpr int kWarmupRounds = 3;
// Identifies this benchmark's containers, so cleanup touches nothing else.
constexpr const char* kBenchLabel = "ctask.bench";

struct Options {
  int reps = 30;
  std::string ctask = "build/controller/ctask";
  std::string image = "ctask-test/busybox:latest";
};

void Usage(std::ostream& out) {
  out << "Usage: bench_run_vs_docker [--reps N] [--ctask PATH] [--image IMAGE]\n"
         "  --reps N       measured repetitions of each variant (default 30), after "
      << kWarmupRounds
      << " warm-up rounds\n"
         "  --ctask PATH   the ctask binary (default build/controller/ctask)\n"
         "  --image IMAGE  a local image with `true` (default ctask-test/busybox:latest)\n";
}

// Returns false (after printing why) when the command line is wrong.
bool ParseFlags(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      Usage(std::cout);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::cerr << "bench_run_vs_docker: " << flag << ": missing value or unknown flag\n";
      Usage(std::cerr);
      return false;
    }
    std::string value = argv[++i];
    if (flag == "--reps") {
      char* end = nullptr;
      long reps = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || reps < 1 || reps > 100000) {
        std::cerr << "bench_run_vs_docker: --reps: want a number from 1 to 100000, got \"" << value << "\"\n";
        return false;
      }
      options.reps = static_cast<int>(reps);
    } else if (flag == "--ctask") {
      options.ctask = value;
    } else if (flag == "--image") {
      options.image = value;
    } else {
      std::cerr << "bench_run_vs_docker: unknown flag " << flag << "\n";
      Usage(std::cerr);
      return false;
    }
  }
  return true;
}

double Millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Summary {
  double median = 0;
  double p90 = 0;
  double min = 0;
};

// Nearest-rank percentiles; the median of an even count is the mean of the two
// middle values.
Summary Summarize(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  Summary s;
  s.min = values.front();
  s.median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  size_t rank = (n * 90 + 99) / 100;  // ceil(0.9 n), 1-based
  s.p90 = values[std::max<size_t>(rank, 1) - 1];
  return s;
}

// (a): one container through the Engine API. `to_logs` gets the time up to
// the logs fetched, before remove, so the report can show remove's share.
Status RunDirect(ctask::docker::DockerClient& docker, const std::string& image, const std::string& name,
                 const std::string& run_id, double& to_logs_ms, double& total_ms) {
  Json body = {{"Image", image},
               {"Cmd", Json::array({"true"})},
               {"Labels", {{kBenchLabel, run_id}}},
               {"HostConfig", {{"NetworkMode", "none"}}}};
  Clock::time_point start = Clock::now();
  Result<std::string> id = docker.CreateContainer(name, body);
  if (!id) return std::unexpected(id.error());
  if (Status started = docker.StartContainer(*id); !started) return started;
  Result<int64_t> code = docker.WaitContainer(*id);
  if (!code) return std::unexpected(code.error());
  std::string output;
  Status logs = docker.Logs(*id, false, [&](ctask::docker::LogStream, std::string_view data) {
    output.append(data);
    return true;
  });
  if (!logs) return logs;
  Clock::time_point fetched = Clock::now();
  if (Status removed = docker.RemoveContainer(*id, false); !removed) return removed;
  Clock::time_point end = Clock::now();
  if (*code != 0) {
    return std::unexpected(
        ctask::Error(ctask::ErrorCode::kInternal, "container " + name + ": `true` exited " + std::to_string(*code)));
  }
  to_logs_ms = Millis(fetched - start);
  total_ms = Millis(end - start);
  return {};
}

std::string TaskManifest(const std::string& name, const std::string& image, const std::string& run_id) {
  return "apiVersion: ctask.io/v1alpha1\n"
         "kind: ContainerTask\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "spec:\n"
         "  image: " +
         image +
         "\n"
         "  command: [\"true\"]\n"
         "  network: {isolated: true}\n"
         "  podLabels: {" +
         kBenchLabel + ": \"" + run_id + "\"}\n";
}

bool WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// (b): `ctask run` as a child, its stdout and stderr to `output_file`. Returns
// the wall time, or an error naming the exit status and what ctask printed.
Result<double> RunCtask(const std::string& ctask, const std::filesystem::path& manifest,
                        const std::filesystem::path& state_dir, const std::filesystem::path& output_file) {
  std::vector<std::string> args = {ctask, "run", "-f", manifest.string(), "-q", "--state-dir", state_dir.string()};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  Clock::time_point start = Clock::now();
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, ctask.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return std::unexpected(ctask::Error(ctask::ErrorCode::kFailedPrecondition,
                                        "cannot start " + ctask + ": " + std::strerror(spawned) +
                                            " (build it with `ninja -C build ctask`, or pass --ctask PATH)"));
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) {
      return std::unexpected(
          ctask::Error(ctask::ErrorCode::kInternal, std::string("waitpid: ") + std::strerror(errno)));
    }
  }
  Clock::time_point end = Clock::now();
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    std::string how = WIFEXITED(wstatus) ? "exit status " + std::to_string(WEXITSTATUS(wstatus))
                                         : "signal " + std::to_string(WTERMSIG(wstatus));
    return std::unexpected(ctask::Error(
        ctask::ErrorCode::kInternal,
        "`ctask run -f " + manifest.string() + "` ended with " + how + "; it printed:\n" + ReadFile(output_file)));
  }
  return Millis(end - start);
}

// Removes every container this run labelled (ctask's included, through
// podLabels). Best effort: reports what it could not remove.
void RemoveOurContainers(ctask::docker::DockerClient& docker, const std::string& run_id) {
  Result<std::vector<Json>> listed = docker.ListContainers({std::string(kBenchLabel) + "=" + run_id});
  if (!listed) {
    std::cerr << "cleanup: cannot list containers: " << listed.error().message() << "\n";
    return;
  }
  for (const Json& c : *listed) {
    std::string id = c.value("Id", "");
    if (id.empty()) continue;
    if (Status removed = docker.RemoveContainer(id, true); !removed) {
      std::cerr << "cleanup: container " << id << ": " << removed.error().message() << "\n";
    }
  }
}

std::string DockerVersion(ctask::http::Client& http) {
  ctask::http::Request request;
  request.url = std::string("http://docker/v") + ctask::docker::kApiVersion + "/version";
  request.timeout = std::chrono::seconds(10);
  Result<ctask::http::Response> r = http.Do(request);
  if (!r || r->status != 200) return "unknown";
  Json v = Json::parse(r->body, nullptr, false);
  if (!v.is_object()) return "unknown";
  return v.value("Version", "?") + " (API " + v.value("ApiVersion", "?") + ", " + v.value("Os", "?") + "/" +
         v.value("Arch", "?") + ", kernel " + v.value("KernelVersion", "?") + ")";
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

// Deletes the temporary directory and this run's containers however main ends.
struct Cleanup {
  ctask::docker::DockerClient& docker;
  std::string run_id;
  std::filesystem::path dir;
  ~Cleanup() {
    RemoveOurContainers(docker, run_id);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

// Set by SIGINT/SIGTERM: the run stops after the current round and cleans up.
volatile sig_atomic_t g_interrupted = 0;

void OnSignal(int) {
  g_interrupted = 1;
}

void PrintRow(const char* label, const Summary& s) {
  std::printf("%-34s %9.1f %9.1f %9.1f\n", label, s.median, s.p90, s.min);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseFlags(argc, argv, options)) return 2;
  if (access(options.ctask.c_str(), X_OK) != 0) {
    std::cerr << "bench_run_vs_docker: " << options.ctask
              << " is not an executable (build it with `ninja -C build ctask`, or pass --ctask PATH)\n";
    return 1;
  }

  Result<std::string> socket = ctask::docker::DockerSocketPath();
  if (!socket) {
    std::cerr << "bench_run_vs_docker: " << socket.error().message() << "\n";
    return 1;
  }
  ctask::http::CurlOptions curl;
  curl.unix_socket_path = *socket;
  ctask::http::CurlClient http(curl);
  ctask::docker::DockerClient docker(http, *socket);
  if (Status ping = docker.Ping(); !ping) {
    std::cerr << "bench_run_vs_docker: " << ping.error().message() << "\n";
    return 1;
  }
  if (Result<Json> image = docker.InspectImage(options.image); !image) {
    std::cerr << "bench_run_vs_docker: image " << options.image << ": " << image.error().message()
              << " (hack/docker-up.sh builds ctask-test/busybox)\n";
    return 1;
  }

  std::string run_id = "rvd-" + std::to_string(getpid()) + "-" +
                       std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  std::string dir_template = (std::filesystem::temp_directory_path() / "ctask-bench-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    std::cerr << "bench_run_vs_docker: mkdtemp " << dir_template << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  Cleanup cleanup{docker, run_id, dir_template};
  const std::filesystem::path dir = dir_template;
  struct sigaction on_signal {};
  on_signal.sa_handler = OnSignal;
  sigaction(SIGINT, &on_signal, nullptr);
  sigaction(SIGTERM, &on_signal, nullptr);

  std::vector<double> direct_logs, direct_total, via_ctask;
  int total_rounds = kWarmupRounds + options.reps;
  for (int round = 0; round < total_rounds; ++round) {
    if (g_interrupted) {
      std::cerr << "bench_run_vs_docker: interrupted; removing this run's containers\n";
      return 130;
    }
    bool warmup = round < kWarmupRounds;
    std::string name = "bench-" + run_id + "-" + std::to_string(round);

    // Alternate which variant goes first, so neither always follows the other.
    for (int step = 0; step < 2; ++step) {
      bool direct_now = (step == 0) == (round % 2 == 0);
      if (direct_now) {
        double to_logs = 0, total = 0;
        if (Status s = RunDirect(docker, options.image, "ctask-" + name, run_id, to_logs, total); !s) {
          std::cerr << "bench_run_vs_docker: direct API, round " << round << ": " << s.error().message() << "\n";
          return 1;
        }
        if (!warmup) {
          direct_logs.push_back(to_logs);
          direct_total.push_back(total);
        }
      } else {
        // Files and the state directory are made before the clock starts; a
        // fresh state directory each time keeps every run's work the same.
        std::filesystem::path manifest = dir / (name + ".yaml");
        std::filesystem::path state = dir / ("state-" + std::to_string(round));
        if (!WriteFile(manifest, TaskManifest(name, options.image, run_id))) {
          std::cerr << "bench_run_vs_docker: cannot write " << manifest << "\n";
          return 1;
        }
        std::filesystem::create_directories(state);
        Result<double> ms = RunCtask(options.ctask, manifest, state, dir / "ctask-output.txt");
        if (!ms) {
          std::cerr << "bench_run_vs_docker: ctask run, round " << round << ": " << ms.error().message() << "\n";
          return 1;
        }
        if (!warmup) via_ctask.push_back(*ms);
        // ctask run keeps its container (ctask get/logs describe it); remove
        // it outside the clock so the daemon holds the same count each round.
        RemoveOurContainers(docker, run_id);
      }
    }
  }

  Summary a = Summarize(direct_total);
  Summary a_logs = Summarize(direct_logs);
  Summary b = Summarize(via_ctask);
  utsname host{};
  uname(&host);

  std::printf("bench_run_vs_docker: trivial task (%s, command `true`, network none)\n", options.image.c_str());
  std::printf("machine:  nproc %ld, %s, %s %s\n", sysconf(_SC_NPROCESSORS_ONLN), CpuModel().c_str(), host.sysname,
              host.release);
  std::printf("docker:   %s\n", DockerVersion(http).c_str());
  std::printf("ctask:    %s\n", options.ctask.c_str());
  std::printf("reps:     %d each, interleaved, after %d warm-up rounds\n\n", options.reps, kWarmupRounds);
  std::printf("%-34s %9s %9s %9s\n", "wall time (ms)", "median", "p90", "min");
  PrintRow("(a) Engine API: create..remove", a);
  PrintRow("    of which create..logs", a_logs);
  PrintRow("(b) ctask run -q (whole process)", b);
  std::printf("\nmedian ratio (b)/(a): %.2f\n", b.median / a.median);
  std::printf("median ratio (b)/(a create..logs): %.2f\n", b.median / a_logs.median);
  return 0;
}
