// FakeTransport: a scripted http::Client for the API client tests, as
// leveldb's in-memory Env is for its tests. The test queues replies in the
// order the calls will come; each call (Do or Stream) takes the next one and
// is recorded, so a test checks what was sent after the fact.
//
// A reply is either an Error (the transport failed) or a Response. For
// Stream, a reply's `chunks` go to on_data one by one (the caller chooses
// the boundaries), then the Response (or `end_error`, e.g. a connection reset
// mid-body) ends the call. With `hold_until_stop` the stream stays open after
// its chunks until the request's stop token is requested, like a quiet watch;
// WaitForHeld lets a test wait until the caller sits in such a stream (a
// handshake: a caller on one thread has handled everything before it then).
// A call with nothing queued fails with kInternal, so an unexpected call
// shows up in the test.
//
// Thread-safety: one mutex guards the script and the record; on_data runs
// outside it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/client.h"
#include "util/error.h"

namespace ctask::fakes {

struct FakeReply {
  Result<http::Response> response = http::Response{200, {}, ""};
  std::vector<std::string> chunks;  // Stream only
  std::optional<Error> end_error;   // Stream only: fail after the chunks
  bool hold_until_stop = false;     // Stream only
};

inline FakeReply Reply(int status, std::string body = {}) {
  return FakeReply{http::Response{status, {}, std::move(body)}, {}, std::nullopt, false};
}

inline FakeReply Failure(ErrorCode code, std::string message) {
  return FakeReply{std::unexpected(Error(code, std::move(message))), {}, std::nullopt, false};
}

inline FakeReply StreamReply(std::vector<std::string> chunks, int status = 200) {
  return FakeReply{http::Response{status, {}, ""}, std::move(chunks), std::nullopt, false};
}

class FakeTransport : public http::Client {
 public:
  void Push(FakeReply reply) {
    std::lock_guard lock(mu_);
    replies_.push_back(std::move(reply));
  }

  std::vector<http::Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  size_t remaining() const {
    std::lock_guard lock(mu_);
    return replies_.size();
  }
  // Waits until `n` streams in all have reached their hold; false after
  // `timeout` (a hang guard).
  bool WaitForHeld(size_t n, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return held_cv_.wait_for(lock, timeout, [&] { return held_ >= n; });
  }

  Result<http::Response> Do(const http::Request& request) override {
    std::optional<FakeReply> reply = Next(request);
    if (!reply) return MakeError(ErrorCode::kInternal, "fake transport: no reply scripted for " + request.url);
    return reply->response;
  }

  Result<http::Response> Stream(const http::Request& request, const http::DataCallback& on_data) override {
    std::optional<FakeReply> reply = Next(request);
    if (!reply) return MakeError(ErrorCode::kInternal, "fake transport: no reply scripted for " + request.url);
    if (!reply->response) return reply->response;
    const bool success = reply->response->status >= 200 && reply->response->status < 300;
    if (success) {
      for (const std::string& chunk : reply->chunks) {
        if (request.stop.stop_requested()) return MakeError(ErrorCode::kCancelled, "stopped");
        if (!on_data(chunk)) return MakeError(ErrorCode::kCancelled, "on_data stopped the stream");
      }
      if (reply->hold_until_stop) {
        {
          std::lock_guard lock(mu_);
          ++held_;
        }
        held_cv_.notify_all();
        std::mutex hold_mu;
        std::condition_variable_any cv;
        std::unique_lock lock(hold_mu);
        cv.wait(lock, request.stop, [] { return false; });
        return MakeError(ErrorCode::kCancelled, "stopped");
      }
      if (reply->end_error) return std::unexpected(*reply->end_error);
    }
    return reply->response;
  }

 private:
  std::optional<FakeReply> Next(const http::Request& request) {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    if (replies_.empty()) return std::nullopt;
    FakeReply reply = std::move(replies_.front());
    replies_.pop_front();
    return reply;
  }

  mutable std::mutex mu_;
  std::deque<FakeReply> replies_;        // guarded by mu_
  std::vector<http::Request> requests_;  // guarded by mu_
  size_t held_ = 0;                      // guarded by mu_: streams that reached their hold
  std::condition_variable held_cv_;
};

// The value of header `name` in `request`, nullopt when absent.
inline std::optional<std::string> Header(const http::Request& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

}  // namespace ctask::fakes
