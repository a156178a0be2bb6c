// FaultTransport: a forwarding http::Client that can cut the streams (watches)
// going through it and refuse new ones, as a network partition between the
// operator and the API server would — while the server itself stays real.
// Tests use it to make a reflector miss events on purpose.
#pragma once

#include <memory>
#include <mutex>
#include <stop_token>
#include <utility>
#include <vector>

#include "http/client.h"

namespace ctask::fakes {

class FaultTransport : public http::Client {
 public:
  explicit FaultTransport(http::ClientPtr inner) : inner_(std::move(inner)) {}

  // Ends every stream in flight (the caller sees kCancelled... unless it
  // asked to stop itself, it sees a connection lost) and, while `blocked`,
  // refuses new ones with kUnavailable.
  void CutStreams(bool blocked) {
    std::lock_guard lock(mu_);
    blocked_ = blocked;
    for (const auto& source : live_) source->request_stop();
    live_.clear();
  }
  void Unblock() {
    std::lock_guard lock(mu_);
    blocked_ = false;
  }

  Result<http::Response> Do(const http::Request& request) override { return inner_->Do(request); }

  Result<http::Response> Stream(const http::Request& request, const http::DataCallback& on_data) override {
    auto source = std::make_shared<std::stop_source>();
    {
      std::lock_guard lock(mu_);
      if (blocked_) return MakeError(ErrorCode::kUnavailable, "injected: the network is cut");
      live_.push_back(source);
    }
    // The caller's own stop still works; a cut stops it too.
    std::stop_callback forward(request.stop, [source] { source->request_stop(); });
    http::Request copy = request;
    copy.stop = source->get_token();
    Result<http::Response> result = inner_->Stream(copy, on_data);
    {
      std::lock_guard lock(mu_);
      std::erase(live_, source);
    }
    if (!result && source->stop_requested() && !request.stop.stop_requested()) {
      return MakeError(ErrorCode::kUnavailable, "injected: the connection was cut");
    }
    return result;
  }

 private:
  const http::ClientPtr inner_;
  std::mutex mu_;
  bool blocked_ = false;                                 // guarded by mu_
  std::vector<std::shared_ptr<std::stop_source>> live_;  // guarded by mu_
};

}  // namespace ctask::fakes
