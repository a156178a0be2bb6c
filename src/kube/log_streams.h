// LogStreams: follows many pods' logs at once on one StreamLoop
// (http/stream_loop.h) — a thousand running tasks cost one thread and a few
// HTTP/2 connections, not a thread and a connection each.
//
// Each follow keeps the contract of a single follow (log_follower.h): the
// stream `GET pods/NAME/log?follow=true&timestamps=true` can end while the
// container still runs (kubelet or API server restart, connection reset),
// so the follow asks again from where it stopped (LogCursor: each line
// once, none lost, none repeated):
//  - After each stream (ended cleanly, or failed with kUnavailable or
//    kDeadlineExceeded) `still_running` decides: true re-follows after a
//    backoff (200 ms doubling to 5 s, back to 200 ms after a stream that
//    delivered data); false ends with success. A stream that failed when
//    the container has ended is followed by one last read of the rest.
//    After a clean end `still_running` is asked again when the backoff has
//    passed, and only a second true re-follows: the kubelet ends a follow
//    cleanly when the container exits, before the cache may show it.
//  - on_end gets the result once: success, kCancelled when on_line returned
//    false, any other stream error (kNotFound: the pod is gone,
//    kPermissionDenied, ...) or still_running's error.
//  - Each request takes its turn under the client's rate limit without
//    blocking the loop (KubeClient::ReserveTurn): it is scheduled instead.
//
// Thread-safety: Follow and Stop from any thread. on_line, still_running and
// on_end run on the loop's thread, one at a time across all follows: they
// must not block (still_running reads an informer's cache).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/stream_loop.h"
#include "kube/client.h"
#include "kube/log_follower.h"
#include "util/error.h"

namespace ctask::kube {

class LogStreams {
 public:
  using FollowId = uint64_t;
  using EndCallback = std::function<void(Status)>;
  // The pod to follow, found when the follow begins (after its delay): an
  // error ends the follow with it (kUnavailable: no pod yet).
  using FindPod = std::function<Result<std::string>()>;

  // `client` and `loop` must outlive this.
  LogStreams(KubeClient& client, http::StreamLoop& loop);
  // Stops every follow; none calls back afterwards.
  ~LogStreams();
  LogStreams(const LogStreams&) = delete;
  LogStreams& operator=(const LogStreams&) = delete;

  // Starts following a pod's log after `delay`; see the contract above.
  FollowId Follow(std::string ns, FindPod find_pod, LogFollowOptions options, StillRunning still_running,
                  LineCallback on_line, EndCallback on_end,
                  std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  // Ends a follow: once this returns, none of its callbacks runs. Unknown or
  // ended ids are ignored. Safe inside the follow's own callbacks.
  void Stop(FollowId id);

  // Follows in progress, and the connections the loop holds for them (for
  // metrics and the benchmark).
  size_t following() const { return following_; }
  size_t connections() const { return loop_.connections(); }

 private:
  struct State;
  // The loop thread's side.
  void Begin(std::unique_ptr<State> state, std::chrono::milliseconds delay);
  void Resolve(FollowId id);  // finds the pod
  void Request(FollowId id);  // takes the rate limiter's turn
  void Send(FollowId id);     // starts the stream
  void StreamEnded(FollowId id, const Result<http::Response>& response);
  void LookAgain(FollowId id);  // after a clean end: re-follow or finish
  // still_running for `id`; nullopt when the follow ended meanwhile (its
  // error went to on_end, or it was stopped from inside).
  std::optional<bool> AskStillRunning(FollowId id);
  void Finish(FollowId id);  // the container has ended and all is read
  void End(FollowId id, Status status);
  void Drop(FollowId id);
  // Frees what Drop retired. Called on entry from the loop only, where no
  // follow's callback is on the stack.
  void Sweep();
  // Runs `fn` on the loop's thread and returns once it has run.
  void RunInLoop(std::function<void()> fn);

  KubeClient& client_;
  http::StreamLoop& loop_;
  std::atomic<FollowId> next_id_{1};
  std::atomic<size_t> following_{0};
  std::map<FollowId, std::unique_ptr<State>> follows_;  // the loop thread's own
  // Dropped follows, kept until the next entry: a follow stopped inside its
  // own callback is still running that callback.
  std::vector<std::unique_ptr<State>> retired_;  // the loop thread's own
};

}  // namespace ctask::kube
