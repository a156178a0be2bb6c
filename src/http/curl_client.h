// CurlClient: the Client (client.h) on libcurl — Unix sockets for the Docker
// Engine API, TLS with in-memory certificates for the Kubernetes API (a
// kubeconfig carries them as base64 data, so no temporary files).
//
// Each call uses its own CURL easy handle, created and freed within the call:
// no connection reuse, and nothing shared between threads but the immutable
// options. That keeps the client trivially thread-safe; pooling can come
// behind the same interface when a profile asks for it. Proxies are never used
// (the environment's *_proxy variables included): tests must talk only to
// loopback, and the operator reaches its API server directly.
//
// Thread-safety: safe to call from many threads at once.
#pragma once

#include <chrono>
#include <string>

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
  explicit CurlClient(CurlOptions options);

  Result<Response> Do(const Request& request) override;
  Result<Response> Stream(const Request& request, const DataCallback& on_data) override;

 private:
  // The one transfer both calls are made of. on_data null: collect the body.
  Result<Response> Perform(const Request& request, const DataCallback* on_data);

  // Where the request goes, for error messages: the socket or the URL.
  std::string Target(const Request& request) const;

  const CurlOptions options_;
};

}  // namespace ctask::http
