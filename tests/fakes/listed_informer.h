// StartListed: an Informer over the scripted transport whose first list
// answers `list` and whose watch then stays open, quiet, until Stop — the
// cache holds exactly the list's items, as after a real informer's sync.
// For tests of code that reads an informer's cache (the Kubernetes
// runtimes), not of the informer itself (tests/kube/reflector_test.cc).
#pragma once

#include <chrono>

#include "api/json.h"
#include "fakes/fake_transport.h"
#include "kube/informer.h"

namespace ctask::fakes {

// `held`: the held watches, counting this one, once it is running (1 when
// it is the test's only informer). True once the informer has synced.
inline bool StartListed(FakeTransport& fake, kube::Informer& informer, const api::Json& list, size_t held = 1) {
  fake.Push(Reply(200, list.dump()));
  FakeReply watch = StreamReply({});
  watch.hold_until_stop = true;
  fake.Push(watch);
  informer.Start();
  return fake.WaitForHeld(held, std::chrono::seconds(10)) && informer.HasSynced();
}

}  // namespace ctask::fakes
