#include "http/curl_client.h"

#include <curl/curl.h>

#include <mutex>
#include <string>

#include "http/curl_easy.h"
#include "http/curl_stream_loop.h"

namespace ctask::http {

CurlClient::CurlClient(CurlOptions options) : options_(std::move(options)) {
  InitCurlOnce();
}

CurlClient::~CurlClient() {
  for (void* curl : idle_) curl_easy_cleanup(curl);
}

size_t CurlClient::idle_handles() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

void* CurlClient::TakeHandle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* curl = idle_.back();
      idle_.pop_back();
      return curl;
    }
  }
  return curl_easy_init();
}

void CurlClient::ReturnHandle(void* curl, bool reusable) {
  // Reset first, pooled or not: it clears every option, so no pointer into the
  // finished call (its headers, body, error buffer, callbacks' state) outlives
  // it, not even while curl_easy_cleanup closes connections. What a reset
  // keeps is what reuse is for: live connections, the TLS session and DNS
  // caches. A pooled handle is therefore always a reset one.
  curl_easy_reset(curl);
  if (reusable) {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(curl);
      return;
    }
  }
  curl_easy_cleanup(curl);
}

Result<Response> CurlClient::Do(const Request& request) {
  return Perform(request, nullptr);
}

Result<Response> CurlClient::Stream(const Request& request, const DataCallback& on_data) {
  return Perform(request, &on_data);
}

std::unique_ptr<StreamLoop> CurlClient::NewStreamLoop() {
  return std::make_unique<CurlStreamLoop>(options_);
}

std::string CurlClient::Target(const Request& request) const {
  return TargetOf(request, options_);
}

Result<Response> CurlClient::Perform(const Request& request, const DataCallback* on_data) {
  // The handle is this call's alone until the lease ends, on every return path.
  struct Lease {
    CurlClient* client;
    CURL* handle;
    bool reusable = false;
    ~Lease() { client->ReturnHandle(handle, reusable); }
    CURL* get() const { return handle; }
  };
  CURL* handle = TakeHandle();
  if (handle == nullptr) return MakeError(ErrorCode::kInternal, "curl_easy_init failed for " + Target(request));
  Lease curl{this, handle};

  Response response;
  TransferState transfer{.on_data = on_data, .stop = &request.stop, .response = &response};
  SlistPtr headers;
  if (Status set = SetUpTransfer(curl.get(), options_, request, transfer, headers, Target(request)); !set) {
    return std::unexpected(set.error());
  }
  CURLcode code = curl_easy_perform(curl.get());
  // Only a transfer that ran to its end leaves the connection in a known
  // state; after a cancel, a timeout or a transport error it may be half-read,
  // so the handle (and the connection it caches) is freed. A Stream that ended
  // cleanly is as reusable as a Do: its body was read to the end, and libcurl
  // itself keeps the connection only if the response allowed it. Pooling it
  // saves the reconnect when a watch is renewed, the usual end of a watch.
  curl.reusable = code == CURLE_OK && !transfer.cancelled;
  return FinishTransfer(code, transfer, request, options_, Target(request));
}

}  // namespace ctask::http
