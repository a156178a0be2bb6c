// A Reflector on ConfigMaps of the test's namespace, run on its own thread
// over a FaultTransport, with every Delta it hands out recorded — for the
// suites that check what a watch delivers against the real API server.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/kube_fixture.h"
#include "fakes/fault_transport.h"
#include "http/curl_client.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/object_cache.h"
#include "kube/reflector.h"

namespace ctask::testing {

struct SeenDelta {
  kube::Delta::Type type;
  std::string name;
  std::string resource_version;
  std::string value;  // data.value
};

class ReflectorHarness {
 public:
  // Connects its own client (through a FaultTransport) to KUBECONFIG.
  explicit ReflectorHarness(const std::string& ns, std::string label_selector = "") {
    Result<kube::ClusterConfig> config = kube::LoadKubeconfig({});
    if (!config) {
      ADD_FAILURE() << config.error().message();
      return;
    }
    auto tokens = std::make_shared<kube::TokenSource>(*config);
    auto transport =
        std::make_unique<fakes::FaultTransport>(std::make_unique<http::CurlClient>(kube::ToCurlOptions(*config)));
    transport_ = transport.get();
    kube::ClientOptions client_options;
    client_options.qps = 0;
    client_ = std::make_unique<kube::KubeClient>(
        std::move(transport), config->server, [tokens] { return tokens->Token(); }, client_options);
    kube::ReflectorOptions options;
    options.resource = kube::resources::ConfigMaps();
    options.ns = ns;
    options.label_selector = std::move(label_selector);
    options.page_size = 50;
    options.initial_backoff = std::chrono::milliseconds(100);
    options.max_backoff = std::chrono::milliseconds(1000);
    options.log = [this](const std::string& message) {
      std::lock_guard lock(mu_);
      log_.push_back(message);
    };
    reflector_ = std::make_unique<kube::Reflector>(*client_, cache_, options, [this](const kube::Delta& delta) {
      std::lock_guard lock(mu_);
      const api::Json& metadata = delta.object["metadata"];
      std::string value;
      if (delta.object.contains("data") && delta.object["data"].is_object()) {
        value = delta.object["data"].value("value", "");
      }
      seen_.push_back(SeenDelta{delta.type, metadata.value("name", ""), metadata.value("resourceVersion", ""), value});
      changed_.notify_all();
    });
    thread_ = std::jthread([this](std::stop_token stop) { reflector_->Run(stop); });
  }

  ~ReflectorHarness() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }

  bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  // Waits until a Delta of `type` for `name` has been seen.
  bool WaitFor(kube::Delta::Type type, const std::string& name, std::chrono::seconds limit = std::chrono::seconds(60)) {
    return WaitUntil(
        [&] {
          std::lock_guard lock(mu_);
          for (const SeenDelta& d : seen_) {
            if (d.type == type && d.name == name) return true;
          }
          return false;
        },
        limit);
  }

  std::vector<SeenDelta> Seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // Per object name, the delta types in the order they arrived.
  std::map<std::string, std::vector<kube::Delta::Type>> SeenByName() const {
    std::map<std::string, std::vector<kube::Delta::Type>> out;
    for (const SeenDelta& d : Seen()) out[d.name].push_back(d.type);
    return out;
  }
  std::string Log() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const std::string& line : log_) out += line + "\n";
    return out;
  }

  kube::Reflector& reflector() { return *reflector_; }
  kube::ObjectCache& cache() { return cache_; }
  fakes::FaultTransport& transport() { return *transport_; }

 private:
  fakes::FaultTransport* transport_ = nullptr;  // owned by client_
  kube::KubeClientPtr client_;
  kube::ObjectCache cache_;
  std::unique_ptr<kube::Reflector> reflector_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<SeenDelta> seen_;
  std::vector<std::string> log_;
  std::jthread thread_;
};

// name -> resourceVersion of what the API server holds now, for comparing a
// cache with a fresh list.
inline std::map<std::string, std::string> Versions(const std::vector<api::Json>& objects) {
  std::map<std::string, std::string> out;
  for (const api::Json& object : objects) out[object["metadata"].value("name", "")] = kube::ResourceVersionOf(object);
  return out;
}

// A fixture whose tests change ConfigMaps labelled suite=<NamespacePrefix()>
// in their namespace, for a ReflectorHarness selecting that label to see,
// and read back what the server holds to compare with the harness's cache.
class ReflectedConfigMapsTest : public KubeClientTest {
 protected:
  // Creates `name`, or sets its value when it exists.
  void Put(const std::string& name, const std::string& value) {
    api::Json object = ConfigMap(name, value);
    object["metadata"]["labels"]["suite"] = NamespacePrefix();
    Result<api::Json> existing = client().Get(kube::resources::ConfigMaps(), ns(), name);
    Result<api::Json> written =
        existing ? client().MergePatch(kube::resources::ConfigMaps(), ns(), name, {{"data", {{"value", value}}}})
                 : client().Create(kube::resources::ConfigMaps(), ns(), object);
    ASSERT_TRUE(written.has_value()) << written.error().message();
  }
  void Remove(const std::string& name) {
    Status deleted = client().Delete(kube::resources::ConfigMaps(), ns(), name);
    ASSERT_TRUE(deleted.has_value()) << deleted.error().message();
  }
  std::map<std::string, std::string> ServerVersions() {
    kube::ListOptions options;
    options.label_selector = "suite=" + NamespacePrefix();
    Result<kube::ObjectList> list = client().ListAll(kube::resources::ConfigMaps(), ns(), options);
    EXPECT_TRUE(list.has_value()) << list.error().message();
    return list ? Versions(list->items) : std::map<std::string, std::string>{};
  }
};

}  // namespace ctask::testing
