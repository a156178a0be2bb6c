#include "cluster/fake_kubelet_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

namespace ctask::testing {
namespace {

// A client that sends nothing, or reads nothing, for this long is dropped,
// so a stuck peer cannot hold a thread for ever.
constexpr int kIoTimeoutSeconds = 10;
// A request head larger than this is refused (the API server's is < 1 KiB).
constexpr size_t kMaxRequestHead = 16 * 1024;
// How often the accept loop looks at the stop flag.
constexpr int kAcceptPollMillis = 200;

std::string OpenSslError(std::string_view what) {
  std::string text(what);
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    text += ": ";
    text += buffer;
  }
  return text;
}

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool added = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return added;
}

const char* StatusText(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 422:
      return "Unprocessable Entity";
    default:
      return "Error";
  }
}

}  // namespace

Result<TlsIdentity> MakeServingIdentity(const std::string& ca_dir) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return MakeError(ErrorCode::kInternal, OpenSslError("generate the kubelet's serving key"));

  X509Ptr ca_cert;
  KeyPtr ca_key;
  if (!ca_dir.empty() && std::filesystem::exists(ca_dir + "/ca.crt") && std::filesystem::exists(ca_dir + "/ca.key")) {
    BioPtr cert_file(BIO_new_file((ca_dir + "/ca.crt").c_str(), "r"));
    BioPtr key_file(BIO_new_file((ca_dir + "/ca.key").c_str(), "r"));
    if (cert_file && key_file) {
      ca_cert.reset(PEM_read_bio_X509(cert_file.get(), nullptr, nullptr, nullptr));
      ca_key.reset(PEM_read_bio_PrivateKey(key_file.get(), nullptr, nullptr, nullptr));
    }
    if (!ca_cert || !ca_key) {
      // Unreadable: self-signed will do (the API server does not verify).
      ca_cert.reset();
      ca_key.reset();
      ERR_clear_error();
    }
  }

  X509Ptr cert(X509_new());
  if (!cert) return MakeError(ErrorCode::kInternal, OpenSslError("allocate a certificate"));
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) {
    return MakeError(ErrorCode::kInternal, OpenSslError("draw a serial number"));
  }
  serial_bytes[0] &= 0x7f;  // positive
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  const bool serial_set = serial != nullptr && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get())) != nullptr;
  BN_free(serial);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const bool ok =
      serial_set && X509_set_version(cert.get(), 2) == 1 &&
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600) != nullptr &&
      X509_set_pubkey(cert.get(), key.get()) == 1 &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("ctask-fake-kubelet"), -1, -1, 0) == 1 &&
      X509_set_issuer_name(cert.get(), ca_cert ? X509_get_subject_name(ca_cert.get()) : subject) == 1 &&
      AddExtension(cert.get(), ca_cert ? ca_cert.get() : cert.get(), NID_basic_constraints, "critical,CA:FALSE") &&
      AddExtension(cert.get(), ca_cert ? ca_cert.get() : cert.get(), NID_key_usage,
                   "critical,digitalSignature,keyEncipherment") &&
      AddExtension(cert.get(), ca_cert ? ca_cert.get() : cert.get(), NID_ext_key_usage, "serverAuth") &&
      AddExtension(cert.get(), ca_cert ? ca_cert.get() : cert.get(), NID_subject_alt_name, "IP:127.0.0.1") &&
      X509_sign(cert.get(), ca_key ? ca_key.get() : key.get(), EVP_sha256()) > 0;
  if (!ok) return MakeError(ErrorCode::kInternal, OpenSslError("make the kubelet's serving certificate"));

  BioPtr cert_pem(BIO_new(BIO_s_mem()));
  BioPtr key_pem(BIO_new(BIO_s_mem()));
  if (!cert_pem || !key_pem || PEM_write_bio_X509(cert_pem.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return MakeError(ErrorCode::kInternal, OpenSslError("encode the kubelet's serving certificate"));
  }
  return TlsIdentity{BioText(cert_pem.get()), BioText(key_pem.get()), ca_cert != nullptr};
}

struct KubeletHttpsServer::Connection {
  std::thread thread;
  int fd = -1;  // guarded by the server's mu_; -1 once closed
  std::atomic<bool> done{false};
};

namespace {

class ConnectionResponse : public HttpResponse {
 public:
  ConnectionResponse(SSL* ssl, int fd, const std::atomic<bool>& stopping) : ssl_(ssl), fd_(fd), stopping_(stopping) {}

  bool Send(int status, std::string_view body) override {
    if (started_) return false;
    started_ = true;
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " + StatusText(status) +
                       "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n";
    return Write(head + std::string(body));
  }

  bool Begin() override {
    if (started_) return false;
    started_ = true;
    return Write(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n");
  }

  bool Chunk(std::string_view data) override {
    if (data.empty()) return !broken_;
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    return Write(std::string(size) + std::string(data) + "\r\n");
  }

  bool End() override { return Write("0\r\n\r\n"); }

  bool Abandoned() override {
    if (broken_ || stopping_.load()) return true;
    // Nothing more is due from the API server on this connection: anything
    // readable (its close_notify, the FIN) means it went away.
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) != 0) broken_ = true;
    return broken_;
  }

 private:
  bool Write(const std::string& data) {
    if (broken_ || stopping_.load()) return false;
    size_t offset = 0;
    while (offset < data.size()) {
      const int n = SSL_write(ssl_, data.data() + offset, static_cast<int>(data.size() - offset));
      if (n <= 0) {
        ERR_clear_error();
        broken_ = true;
        return false;
      }
      offset += static_cast<size_t>(n);
    }
    return true;
  }

  SSL* ssl_;
  int fd_;
  const std::atomic<bool>& stopping_;
  bool started_ = false;
  bool broken_ = false;
};

// Reads up to the end of the request head; nullopt on a broken or
// malformed request.
std::optional<HttpRequest> ReadRequest(SSL* ssl) {
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() > kMaxRequestHead) return std::nullopt;
    const int n = SSL_read(ssl, buffer, sizeof(buffer));
    if (n <= 0) return std::nullopt;
    head.append(buffer, static_cast<size_t>(n));
  }
  const size_t line_end = head.find("\r\n");
  const std::string line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) return std::nullopt;
  HttpRequest request;
  request.method = line.substr(0, sp1);
  const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  return request;
}

}  // namespace

KubeletHttpsServer::KubeletHttpsServer() = default;

KubeletHttpsServer::~KubeletHttpsServer() {
  Stop();
}

Status KubeletHttpsServer::Start(const TlsIdentity& identity, HttpHandler handler) {
  handler_ = std::move(handler);
  // OpenSSL writes with write(2): a client gone mid-stream would raise
  // SIGPIPE and end the test process. Ignored process-wide (libcurl does
  // the same for its own writes); a failed write is seen as an error.
  std::signal(SIGPIPE, SIG_IGN);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return MakeError(ErrorCode::kInternal, OpenSslError("SSL_CTX_new"));
  ssl_ctx_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  BioPtr cert_bio(BIO_new_mem_buf(identity.certificate_pem.data(), static_cast<int>(identity.certificate_pem.size())));
  BioPtr key_bio(BIO_new_mem_buf(identity.private_key_pem.data(), static_cast<int>(identity.private_key_pem.size())));
  X509Ptr cert(cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  KeyPtr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert || !key || SSL_CTX_use_certificate(ctx, cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return MakeError(ErrorCode::kInvalidArgument, OpenSslError("load the kubelet's serving certificate"));
  }

  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return MakeError(ErrorCode::kUnavailable, std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || listen(listen_fd_, 128) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string error = std::strerror(errno);
    close(listen_fd_);
    listen_fd_ = -1;
    return MakeError(ErrorCode::kUnavailable, "listen on 127.0.0.1: " + error);
  }
  port_ = ntohs(address.sin_port);
  stopping_ = false;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return {};
}

void KubeletHttpsServer::Stop() {
  stopping_ = true;
  if (accept_thread_.joinable()) accept_thread_.join();
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
  std::list<std::unique_ptr<Connection>> connections;
  {
    std::lock_guard lock(mu_);
    // Unblocks a thread inside SSL_read or SSL_write.
    for (auto& c : connections_) {
      if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
    }
    connections.swap(connections_);
  }
  for (auto& c : connections) {
    if (c->thread.joinable()) c->thread.join();
  }
  if (ssl_ctx_ != nullptr) {
    SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
    ssl_ctx_ = nullptr;
  }
}

void KubeletHttpsServer::ReapFinished() {
  std::list<std::unique_ptr<Connection>> finished;
  {
    std::lock_guard lock(mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done.load()) {
        finished.push_back(std::move(*it));
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) c->thread.join();
}

void KubeletHttpsServer::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, kAcceptPollMillis) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval timeout{kIoTimeoutSeconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    ReapFinished();
    std::lock_guard lock(mu_);
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    Connection* raw = connection.get();
    connections_.push_back(std::move(connection));
    raw->thread = std::thread([this, raw] { Serve(raw); });
  }
}

void KubeletHttpsServer::Serve(Connection* connection) {
  int fd = 0;
  {
    std::lock_guard lock(mu_);
    fd = connection->fd;
  }
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
  if (ssl != nullptr && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
    std::optional<HttpRequest> request = ReadRequest(ssl);
    if (request) {
      ConnectionResponse response(ssl, fd, stopping_);
      handler_(*request, response);
      SSL_shutdown(ssl);
    }
  }
  ERR_clear_error();
  if (ssl != nullptr) SSL_free(ssl);
  {
    std::lock_guard lock(mu_);
    close(connection->fd);
    connection->fd = -1;
  }
  connection->done = true;
}

}  // namespace ctask::testing
