// CurlStreamLoop: the StreamLoop (stream_loop.h) on one libcurl multi
// handle and one thread. Transfers ask to be multiplexed (HTTP/2 over TLS,
// CURLPIPE_MULTIPLEX) and to wait for a connection that can carry them
// (CURLOPT_PIPEWAIT) rather than open their own, so N streams to one API
// server use about N / (the server's concurrent-stream limit) connections;
// over HTTP/1.1 (plain http, a Unix socket) each stream still needs its own.
// Set up as CurlClient sets up its requests (curl_easy.h): the same TLS,
// token, no proxy.
//
// Thread-safety: see StreamLoop.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "http/curl_client.h"
#include "http/stream_loop.h"

namespace ctask::http {

class CurlStreamLoop : public StreamLoop {
 public:
  explicit CurlStreamLoop(CurlOptions options);
  ~CurlStreamLoop() override;
  CurlStreamLoop(const CurlStreamLoop&) = delete;
  CurlStreamLoop& operator=(const CurlStreamLoop&) = delete;

  void Post(std::function<void()> fn, std::chrono::milliseconds delay) override;
  bool InLoop() const override;
  StreamId Start(Request request, DataCallback on_data, DoneCallback on_done) override;
  void Cancel(StreamId id) override;
  size_t streams() const override { return stream_count_; }
  size_t connections() const override { return sockets_; }

 private:
  struct Stream;
  using SteadyTime = std::chrono::steady_clock::time_point;

  void Run(const std::stop_token& stop);
  // Runs what is posted and due; returns how long until the next timer.
  std::chrono::milliseconds RunDue();
  // Hands each finished transfer's outcome to its on_done.
  void Reap();
  // Takes cancelled transfers off the multi handle (never inside a libcurl
  // callback, where that is not allowed).
  void RemoveCancelled();
  void Forget(Stream* stream);

  const CurlOptions options_;
  void* multi_ = nullptr;  // CURLM*

  mutable std::mutex mu_;
  std::multimap<SteadyTime, std::function<void()>> timers_;  // guarded by mu_; posts are timers due now

  // The loop thread's own.
  std::map<StreamId, std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<Stream>> cancelled_;
  StreamId next_id_ = 1;
  std::atomic<size_t> stream_count_{0};
  std::atomic<size_t> sockets_{0};  // opened by libcurl for our transfers, not yet closed

  std::jthread thread_;  // last: starts once the rest exists
};

}  // namespace ctask::http
