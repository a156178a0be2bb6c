#include "kube/informer.h"

namespace ctask::kube {

Informer::Informer(KubeClient& client, ReflectorOptions options, IndexFunction index) : index_(std::move(index)) {
  reflector_ =
      std::make_unique<Reflector>(client, cache_, std::move(options), [this](const Delta& delta) { OnDelta(delta); });
}

Informer::~Informer() {
  Stop();
}

void Informer::AddHandler(Reflector::Handler handler) {
  handlers_.push_back(std::move(handler));
}

void Informer::Start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { reflector_->Run(stop); });
}

void Informer::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

bool Informer::HasSynced() const {
  return reflector_->HasSynced();
}

std::optional<api::Json> Informer::Get(std::string_view key) const {
  return cache_.Get(key);
}

std::vector<api::Json> Informer::List() const {
  return cache_.List();
}

std::vector<api::Json> Informer::ByIndex(const std::string& value) const {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mu_);
    auto it = index_keys_.find(value);
    if (it == index_keys_.end()) return {};
    keys.assign(it->second.begin(), it->second.end());
  }
  std::vector<api::Json> objects;
  for (const std::string& key : keys) {
    if (std::optional<api::Json> object = cache_.Get(key)) objects.push_back(std::move(*object));
  }
  return objects;
}

ReflectorStats Informer::Stats() const {
  return reflector_->Stats();
}

void Informer::OnDelta(const Delta& delta) {
  if (index_) {
    const std::string key = ObjectKey(delta.object);
    std::vector<std::string> values;
    if (delta.type != Delta::Type::kDeleted) values = index_(delta.object);
    std::lock_guard lock(mu_);
    if (auto old = key_values_.find(key); old != key_values_.end()) {
      for (const std::string& value : old->second) {
        auto it = index_keys_.find(value);
        if (it == index_keys_.end()) continue;
        it->second.erase(key);
        if (it->second.empty()) index_keys_.erase(it);
      }
      key_values_.erase(old);
    }
    for (const std::string& value : values) index_keys_[value].insert(key);
    if (!values.empty()) key_values_.emplace(key, std::move(values));
  }
  for (const Reflector::Handler& handler : handlers_) handler(delta);
}

}  // namespace ctask::kube
