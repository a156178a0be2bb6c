// FaultStore: a forwarding store::Store that injects faults into an inner
// one, as leveldb's EnvWrapper-based SpecialEnv does for its tests. Every
// call goes to the inner store; a test arms a fault for the next call of a
// kind:
//  - AfterNextGet(hook): once the next Get has read a record, `hook` runs
//    with the inner store and that record before the caller sees it, so
//    another writer can win a race against the caller (the caller's next
//    Put of what it read then meets kConflict).
//
// Thread-safety: as the inner store's; the armed hook is guarded by a
// mutex and runs outside it.
#pragma once

#include <functional>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "store/store.h"

namespace ctask::fakes {

class FaultStore : public store::Store {
 public:
  using GetHook = std::function<void(store::Store& inner, const api::ContainerTask& got)>;

  // `inner` must outlive the wrapper.
  explicit FaultStore(store::Store& inner) : inner_(inner) {}

  void AfterNextGet(GetHook hook) {
    std::lock_guard lock(mu_);
    after_get_ = std::move(hook);
  }

  Result<api::ContainerTask> Get(std::string_view ns, std::string_view name) override {
    Result<api::ContainerTask> got = inner_.Get(ns, name);
    if (!got) return got;
    GetHook hook;
    {
      std::lock_guard lock(mu_);
      hook = std::exchange(after_get_, nullptr);
    }
    if (hook) hook(inner_, *got);
    return got;
  }
  Status Put(const api::ContainerTask& task) override { return inner_.Put(task); }
  Result<std::vector<store::ListEntry>> List() override { return inner_.List(); }
  Status Delete(std::string_view ns, std::string_view name) override { return inner_.Delete(ns, name); }
  Result<store::LogWriterPtr> OpenLog(std::string_view ns, std::string_view name, int64_t limit) override {
    return inner_.OpenLog(ns, name, limit);
  }
  Result<std::string> ReadLog(std::string_view ns, std::string_view name, uint64_t offset) override {
    return inner_.ReadLog(ns, name, offset);
  }

 private:
  store::Store& inner_;
  std::mutex mu_;
  GetHook after_get_;  // guarded by mu_
};

}  // namespace ctask::fakes
