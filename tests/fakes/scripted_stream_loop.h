// ScriptedStreamLoop: an http::StreamLoop run by the test's own thread on a
// virtual clock, its streams served by an http::Client (a FakeTransport's
// scripted replies). Nothing runs until the test calls RunUntilIdle, which
// runs what is due in deadline order — posts, timers, each stream (its
// chunks, then its end) — advancing the virtual clock to each deadline, so
// backoffs are checked exactly and instantly.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "http/client.h"
#include "http/stream_loop.h"

namespace ctask::fakes {

class ScriptedStreamLoop : public http::StreamLoop {
 public:
  explicit ScriptedStreamLoop(http::Client& transport) : transport_(transport) {}

  void Post(std::function<void()> fn, std::chrono::milliseconds delay) override {
    if (delay.count() > 0) delays_.push_back(delay);
    due_.emplace(now_ + delay, std::move(fn));
  }
  bool InLoop() const override { return true; }

  StreamId Start(http::Request request, http::DataCallback on_data, DoneCallback on_done) override {
    const StreamId id = next_id_++;
    live_.insert(id);
    due_.emplace(
        now_, [this, id, request = std::move(request), on_data = std::move(on_data), on_done = std::move(on_done)] {
          if (!live_.contains(id)) return;
          Result<http::Response> response =
              transport_.Stream(request, [&](std::string_view chunk) { return live_.contains(id) && on_data(chunk); });
          if (!live_.erase(id)) return;  // cancelled inside on_data
          on_done(std::move(response));
        });
    return id;
  }
  void Cancel(StreamId id) override { live_.erase(id); }
  size_t streams() const override { return live_.size(); }
  size_t connections() const override { return 0; }

  // Runs everything due, and what that schedules, until nothing is left.
  void RunUntilIdle() {
    while (!due_.empty()) {
      auto first = due_.begin();
      now_ = first->first;
      std::function<void()> fn = std::move(first->second);
      due_.erase(first);
      fn();
    }
  }
  // The delays posted, in order: the backoffs and rate-limit waits.
  const std::vector<std::chrono::milliseconds>& delays() const { return delays_; }

 private:
  http::Client& transport_;
  std::chrono::milliseconds now_{0};
  std::multimap<std::chrono::milliseconds, std::function<void()>> due_;
  std::set<StreamId> live_;
  StreamId next_id_ = 1;
  std::vector<std::chrono::milliseconds> delays_;
};

}  // namespace ctask::fakes
