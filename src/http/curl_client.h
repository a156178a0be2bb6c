// CurlClient: the Client (client.h) on libcurl — Unix sockets for the Docker
// Engine API, TLS with in-memory certificates for the Kubernetes API (a
// kubeconfig carries them as base64 data, so no temporary files).
//
// Connections are reused: the client keeps up to kMaxIdleHandles idle CURL
// easy handles, and each handle keeps its own connection (and TLS session)
// cache, so sequential requests to one server share one kept-alive connection
// instead of paying a TCP connect and a TLS handshake each. A call takes an
// idle handle or makes one, and uses it alone; nothing else is shared between
// threads but the immutable options and the pool, under its mutex. Each call
// sets every option afresh on a reset handle, so nothing of one request (its
// headers, body, callbacks) reaches the next. A handle whose transfer failed,
// timed out or was cancelled is freed, not pooled: its connection's state is
// unknown. A handle reuses only its own connections, so N calls at once use N
// connections; a pooled connection the server has closed since is noticed by
// libcurl, which connects afresh. Proxies are never used (the environment's *_proxy variables
// included): tests must talk only to loopback, and the operator reaches its
// API server directly.
//
// Thread-safety: safe to call from many threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/client.h"

namespace ctask::http {

struct CurlOptions {
  // Connect through this Unix socket instead of the URL's host and port.
  std::string unix_socket_path;

  // TLS. A *_file names a PEM file, the matching *_data holds PEM text; data
  // wins when both are set. Empty means libcurl's defaults (system CAs, no
  // client certificate).
  std::string ca_file;
  std::string ca_data;
  std::string client_cert_file;
  std::string client_cert_data;
  std::string client_key_file;
  std::string client_key_data;
  // Skips server certificate and host name checks. Tests and kubeconfigs with
  // insecure-skip-tls-verify only.
  bool insecure = false;

  // Sent as "Authorization: Bearer <token>" unless the request sets its own
  // Authorization header.
  std::string bearer_token;

  // Bounds connection set-up (TCP and TLS handshake), separately from the
  // request's own timeout, so an unreachable server fails fast even for a watch.
  std::chrono::milliseconds connect_timeout{10'000};
};

class CurlClient : public Client {
 public:
  // How many idle handles (and so kept-alive connections) the pool holds;
  // beyond that a finished call frees its handle. More than the operator's
  // usual concurrency (a few workers, a few watches) so steady load never
  // churns connections, few enough that an idle client holds little.
  static constexpr size_t kMaxIdleHandles = 16;

  explicit CurlClient(CurlOptions options);
  ~CurlClient() override;
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  Result<Response> Do(const Request& request) override;
  Result<Response> Stream(const Request& request, const DataCallback& on_data) override;
  // A CurlStreamLoop (curl_stream_loop.h) with these options.
  std::unique_ptr<StreamLoop> NewStreamLoop() override;

  // Idle handles in the pool now. For tests.
  size_t idle_handles() const;

 private:
  // The one transfer both calls are made of. on_data null: collect the body.
  Result<Response> Perform(const Request& request, const DataCallback* on_data);

  // Where the request goes, for error messages: the socket or the URL.
  std::string Target(const Request& request) const;

  // An idle handle from the pool, or a new one; null if libcurl cannot make one.
  void* TakeHandle();
  // Back into the pool when `reusable` and there is room, else freed.
  void ReturnHandle(void* curl, bool reusable);

  const CurlOptions options_;

  mutable std::mutex mu_;
  std::vector<void*> idle_;  // CURL*, reset, at most kMaxIdleHandles; guarded by mu_
};

}  // namespace ctask::http
