// How CurlClient (curl_client.h) words a failed transfer: the error kind a
// caller acts on (retry, fix the certificates, fix the request) and a message
// that names the target and, where libcurl's own words would mislead, the
// likely cause ("is the daemon running?", "could not connect" rather than a
// bare timeout). Apart from the client so the wording is testable without
// making libcurl fail in each of these ways.
//
// Internal to src/http. Thread-safety: pure functions.
#pragma once

#include <curl/curl.h>

#include <string>

#include "http/client.h"
#include "http/curl_client.h"
#include "util/error.h"

namespace ctask::http {

// What libcurl reported about a transfer that did not run to its end.
struct CurlFailure {
  CURLcode code = CURLE_OK;
  std::string detail;         // the error buffer, or curl_easy_strerror(code)
  long os_errno = 0;          // CURLINFO_OS_ERRNO; 0: none
  curl_off_t connect_us = 0;  // CURLINFO_CONNECT_TIME_T; 0: never connected
};

// The error kind for a libcurl result, by what the caller should do.
ErrorCode CodeFor(CURLcode code);

// The error for `failure` of `request`, sent with `options`; `target` names
// where it went (CurlClient::Target).
Error DescribeFailure(const CurlFailure& failure, const Request& request, const CurlOptions& options,
                      const std::string& target);

}  // namespace ctask::http
