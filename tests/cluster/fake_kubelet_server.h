// The fake kubelet's HTTPS endpoint: a small HTTP/1.1 server over OpenSSL on
// 127.0.0.1, the address a Node's status.daemonEndpoints.kubeletEndpoint
// points the API server at (for pods/log, the only kubelet call the tests
// make through it).
//
// One thread accepts, one thread per connection serves exactly one request
// and closes (`Connection: close`): the API server opens a connection per
// log request anyway, and a followed log holds its connection for as long as
// it streams. Bodies of successful responses are chunked, so the end of a
// followed log is a clean end of stream, not a dropped connection.
//
// The serving certificate (MakeServingIdentity) is an EC P-256 key with
// subjectAltName IP:127.0.0.1, signed by the test control plane's CA when
// $CTASK_CLUSTER_DIR/certs/ca.{crt,key} can be read, self-signed otherwise.
// kube-apiserver without --kubelet-certificate-authority (as up.sh starts
// it) does not verify it; with that flag pointing at the cluster CA it would.
//
// Thread-safety: Start and Stop from one thread; the handler runs on the
// connection threads, many at once.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "util/error.h"

namespace ctask::testing {

struct TlsIdentity {
  std::string certificate_pem;
  std::string private_key_pem;
  bool signed_by_cluster_ca = false;
};

// `ca_dir` holds ca.crt and ca.key (up.sh's certs/); "" or unreadable files
// make a self-signed certificate instead.
Result<TlsIdentity> MakeServingIdentity(const std::string& ca_dir);

struct HttpRequest {
  std::string method;
  std::string path;   // "/containerLogs/ns/pod/container", not decoded
  std::string query;  // after '?', not decoded
};

// One request's response, written by the handler. Each call returns false
// once the connection is unusable (the client went away, a write timed out,
// the server is stopping): the handler should return then.
class HttpResponse {
 public:
  virtual ~HttpResponse() = default;
  // A whole plain-text response (errors, short answers).
  virtual bool Send(int status, std::string_view body) = 0;
  // 200 with a chunked text/plain body: Chunk (empty chunks are skipped),
  // then End.
  virtual bool Begin() = 0;
  virtual bool Chunk(std::string_view data) = 0;
  virtual bool End() = 0;
  // The client closed its side, or the server is stopping: a handler waiting
  // for more data polls this.
  virtual bool Abandoned() = 0;
};

using HttpHandler = std::function<void(const HttpRequest& request, HttpResponse& response)>;

class KubeletHttpsServer {
 public:
  KubeletHttpsServer();
  ~KubeletHttpsServer();
  KubeletHttpsServer(const KubeletHttpsServer&) = delete;
  KubeletHttpsServer& operator=(const KubeletHttpsServer&) = delete;

  // Listens on 127.0.0.1 on a port the kernel picks.
  Status Start(const TlsIdentity& identity, HttpHandler handler);
  // Stops accepting, cuts every open connection and joins every thread.
  // Idempotent.
  void Stop();

  int port() const { return port_; }

 private:
  struct Connection;
  void AcceptLoop();
  void Serve(Connection* connection);
  void ReapFinished();

  HttpHandler handler_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*, kept out of this header
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<std::unique_ptr<Connection>> connections_;  // guarded by mu_
};

}  // namespace ctask::testing
