#include "http/curl_easy.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "http/curl_failure.h"

namespace ctask::http {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

bool HasHeader(const Request& request, std::string_view lower_name) {
  return std::any_of(request.headers.begin(), request.headers.end(),
                     [&](const auto& header) { return Lower(header.first) == lower_name; });
}

size_t OnHeader(char* buffer, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<TransferState*>(user);
  std::string_view line = Trim(std::string_view(buffer, size * count));
  // A new status line starts a new header block (after a 100 Continue): only
  // the final response's headers count.
  if (line.starts_with("HTTP/")) {
    transfer->response->headers.clear();
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name = Lower(Trim(line.substr(0, colon)));
  std::string value(Trim(line.substr(colon + 1)));
  auto [it, inserted] = transfer->response->headers.emplace(std::move(name), value);
  if (!inserted) it->second += ", " + value;
  return size * count;
}

// Returned to libcurl to fail the transfer from the write callback. Zero works
// too, except for a zero-length write; libcurl 7.87 named a value for it.
#ifdef CURL_WRITEFUNC_ERROR
constexpr size_t kWriteAbort = CURL_WRITEFUNC_ERROR;
#else
constexpr size_t kWriteAbort = 0;
#endif

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<TransferState*>(user);
  size_t length = size * count;
  if (transfer->stop != nullptr && transfer->stop->stop_requested()) {
    transfer->cancelled = true;
    return kWriteAbort;
  }
  std::string& body = transfer->response->body;
  if (transfer->on_data == nullptr) {
    body.append(data, length);
    return length;
  }
  // The status line has been read by the time any body arrives.
  long status = 0;
  curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    body.append(data, std::min(length, kMaxErrorBodyBytes - std::min(body.size(), kMaxErrorBodyBytes)));
    return length;
  }
  if (!(*transfer->on_data)(std::string_view(data, length))) {
    transfer->cancelled = true;
    return kWriteAbort;
  }
  return length;
}

// Called while the transfer runs, also when it is idle (about once a second):
// the only place a stop request can land while no data flows.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<TransferState*>(user);
  if (transfer->stop != nullptr && transfer->stop->stop_requested()) {
    transfer->cancelled = true;
    return 1;
  }
  return 0;
}

// Collects the first failing curl_easy_setopt, so set-up reads as a list and
// is still checked.
class Options {
 public:
  explicit Options(CURL* curl) : curl_(curl) {}

  template <typename T>
  void Set(CURLoption option, T value) {
    if (code_ == CURLE_OK) code_ = curl_easy_setopt(curl_, option, value);
  }
  void SetBlob(CURLoption option, const std::string& pem) {
    curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
    Set(option, &blob);
  }
  CURLcode code() const { return code_; }

 private:
  CURL* curl_;
  CURLcode code_ = CURLE_OK;
};

// Where the transfer goes and how it reports back: the callbacks and their
// state, the time bounds, the socket.
void SetTransfer(Options& set, const CurlOptions& options, const Request& request, TransferState& transfer) {
  set.Set(CURLOPT_URL, request.url.c_str());
  set.Set(CURLOPT_ERRORBUFFER, transfer.error_buffer);
  // No signals: timeouts must not raise SIGALRM in a multi-threaded process.
  set.Set(CURLOPT_NOSIGNAL, 1L);
  set.Set(CURLOPT_PROXY, "");  // never a proxy, not even from the environment
  set.Set(CURLOPT_HEADERFUNCTION, &OnHeader);
  set.Set(CURLOPT_HEADERDATA, &transfer);
  set.Set(CURLOPT_WRITEFUNCTION, &OnBody);
  set.Set(CURLOPT_WRITEDATA, &transfer);
  set.Set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  if (request.timeout.count() > 0) set.Set(CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  if (request.stop.stop_possible()) {
    set.Set(CURLOPT_NOPROGRESS, 0L);
    set.Set(CURLOPT_XFERINFOFUNCTION, &OnProgress);
    set.Set(CURLOPT_XFERINFODATA, &transfer);
  }
  if (!options.unix_socket_path.empty()) {
    set.Set(CURLOPT_UNIX_SOCKET_PATH, options.unix_socket_path.c_str());
  }
}

// The CA and the client certificate and key: in-memory PEM when given (a
// kubeconfig's *-data), else files.
void SetTls(Options& set, const CurlOptions& options) {
  if (!options.ca_data.empty()) {
    set.SetBlob(CURLOPT_CAINFO_BLOB, options.ca_data);
  } else if (!options.ca_file.empty()) {
    set.Set(CURLOPT_CAINFO, options.ca_file.c_str());
  }
  if (!options.client_cert_data.empty()) {
    set.SetBlob(CURLOPT_SSLCERT_BLOB, options.client_cert_data);
    set.Set(CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!options.client_cert_file.empty()) {
    set.Set(CURLOPT_SSLCERT, options.client_cert_file.c_str());
  }
  if (!options.client_key_data.empty()) {
    set.SetBlob(CURLOPT_SSLKEY_BLOB, options.client_key_data);
    set.Set(CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!options.client_key_file.empty()) {
    set.Set(CURLOPT_SSLKEY, options.client_key_file.c_str());
  }
  if (options.insecure) {
    set.Set(CURLOPT_SSL_VERIFYPEER, 0L);
    set.Set(CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

// The method and the body; whether a body (and so a Content-Length) is sent.
bool SetMethod(Options& set, const Request& request) {
  if (request.method == "GET" && request.body.empty()) {
    set.Set(CURLOPT_HTTPGET, 1L);
    return false;
  }
  if (request.method == "HEAD") {
    set.Set(CURLOPT_NOBODY, 1L);
    return false;
  }
  set.Set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
  // POST, PUT and PATCH carry a Content-Length even when empty (Docker's
  // POST /containers/{id}/start has no body); others only with a body.
  const bool sends_body =
      !request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (sends_body) {
    set.Set(CURLOPT_POSTFIELDS, request.body.data());  // not copied: request outlives the call
    set.Set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  return sends_body;
}

// The header list for the request: its own headers, the bearer token, and
// blanks that keep libcurl from adding its own. Null when out of memory.
std::optional<SlistPtr> BuildHeaders(const Request& request, const CurlOptions& options, bool sends_body) {
  SlistPtr headers;
  bool headers_ok = true;
  auto add_header = [&](const std::string& line) {
    // Appending returns the list's head, or null (out of memory) leaving it as it was.
    curl_slist* head = curl_slist_append(headers.get(), line.c_str());
    if (head == nullptr) {
      headers_ok = false;
      return;
    }
    (void)headers.release();
    headers.reset(head);
  };
  for (const auto& [name, value] : request.headers) add_header(name + ": " + value);
  if (!options.bearer_token.empty() && !HasHeader(request, "authorization")) {
    add_header("Authorization: Bearer " + options.bearer_token);
  }
  // libcurl would wait up to a second for "100 Continue" before a large body,
  // and label a body form-encoded; neither is wanted.
  add_header("Expect:");
  if (sends_body && !HasHeader(request, "content-type")) add_header("Content-Type:");
  if (!headers_ok) return std::nullopt;
  return headers;
}

// What libcurl says about a transfer that failed with `code`.
CurlFailure FailureOf(CURL* curl, CURLcode code, const char* error_buffer) {
  CurlFailure failure;
  failure.code = code;
  failure.detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &failure.os_errno);
  curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &failure.connect_us);
  return failure;
}

}  // namespace

// curl_global_init is not thread-safe and must run before any other libcurl
// call; the first client constructed does it, whichever thread that is.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_ALL); });
}

std::string TargetOf(const Request& request, const CurlOptions& options) {
  std::string target = request.method + " " + request.url;
  if (!options.unix_socket_path.empty()) target += " via unix socket " + options.unix_socket_path;
  return target;
}

Status SetUpTransfer(CURL* curl, const CurlOptions& options, const Request& request, TransferState& state,
                     SlistPtr& headers, const std::string& target) {
  state.curl = curl;
  Options set(curl);
  SetTransfer(set, options, request, state);
  SetTls(set, options);
  const bool sends_body = SetMethod(set, request);
  std::optional<SlistPtr> built = BuildHeaders(request, options, sends_body);
  if (!built) return MakeError(ErrorCode::kInternal, target + ": out of memory building headers");
  headers = std::move(*built);
  set.Set(CURLOPT_HTTPHEADER, headers.get());
  if (set.code() != CURLE_OK) {
    return MakeError(CodeFor(set.code()), target + ": cannot set up the request: " + curl_easy_strerror(set.code()));
  }
  return {};
}

Result<Response> FinishTransfer(CURLcode code, TransferState& state, const Request& request, const CurlOptions& options,
                                const std::string& target) {
  if (state.cancelled) return MakeError(ErrorCode::kCancelled, target + ": cancelled");
  if (code != CURLE_OK) {
    return std::unexpected(DescribeFailure(FailureOf(state.curl, code, state.error_buffer), request, options, target));
  }
  long status = 0;
  curl_easy_getinfo(state.curl, CURLINFO_RESPONSE_CODE, &status);
  state.response->status = static_cast<int>(status);
  return std::move(*state.response);
}

}  // namespace ctask::http
