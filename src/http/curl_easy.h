// CurlEasy: how one libcurl easy handle is set up for a Request and read
// back — the options (target, TLS, method, headers), the callbacks that fill
// a Response or hand a 2xx body to a DataCallback, and the error a failed
// transfer becomes. Shared by the blocking client (curl_client.h), where the
// calling thread performs the transfer, and the stream loop
// (curl_stream_loop.h), where one thread drives many transfers.
//
// Internal to src/http. Thread-safety: the functions are reentrant; a
// TransferState belongs to its one transfer.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <stop_token>
#include <string>

#include "http/client.h"
#include "http/curl_client.h"
#include "util/error.h"

namespace ctask::http {

// curl_global_init, once per process, before any other libcurl call.
void InitCurlOnce();

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// What the libcurl callbacks of one transfer share with whoever drives it.
struct TransferState {
  CURL* curl = nullptr;
  const DataCallback* on_data = nullptr;  // null: collect the body (Do)
  const std::stop_token* stop = nullptr;  // null or stop_possible() false: never stopped that way
  Response* response = nullptr;
  bool cancelled = false;  // on_data said stop, or stop was requested
  char error_buffer[CURL_ERROR_SIZE] = {};
};

// Sets every option of `request` on `curl` (a fresh or reset handle) as
// sent with `options`; `state` and `headers` must outlive the transfer
// (libcurl keeps pointers to both). kInternal or the option's error kind
// when libcurl refuses one.
Status SetUpTransfer(CURL* curl, const CurlOptions& options, const Request& request, TransferState& state,
                     SlistPtr& headers, const std::string& target);

// The outcome of a transfer that ended with `code`: kCancelled when the
// state says so, the described failure, or the Response with its status.
Result<Response> FinishTransfer(CURLcode code, TransferState& state, const Request& request, const CurlOptions& options,
                                const std::string& target);

// Where the request goes, for error messages: the method, the URL and the
// socket.
std::string TargetOf(const Request& request, const CurlOptions& options);

}  // namespace ctask::http
