#include "http/curl_failure.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace ctask::http {
namespace {

// A timeout before the connection was made means the server is unreachable,
// not slow; but only when the connect bound is the one that ran out.
bool NeverConnected(const CurlFailure& failure, const Request& request, const CurlOptions& options) {
  const bool connect_bound_first =
      request.timeout.count() == 0 || options.connect_timeout.count() < request.timeout.count();
  return failure.connect_us == 0 && connect_bound_first;
}

}  // namespace

ErrorCode CodeFor(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorCode::kDeadlineExceeded;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return ErrorCode::kInvalidArgument;
    // Certificates that do not fit: retrying will not help until they change.
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_NOT_BUILT_IN:
    case CURLE_UNKNOWN_OPTION:
      return ErrorCode::kFailedPrecondition;
    case CURLE_OUT_OF_MEMORY:
      return ErrorCode::kInternal;
    // Cannot connect, cannot resolve, connection lost mid-body, nothing
    // received: the server may be back on the next try.
    default:
      return ErrorCode::kUnavailable;
  }
}

Error DescribeFailure(const CurlFailure& failure, const Request& request, const CurlOptions& options,
                      const std::string& target) {
  ErrorCode error_code = CodeFor(failure.code);
  std::string message = target + ": ";
  const bool via_socket = !options.unix_socket_path.empty();
  if (failure.code == CURLE_COULDNT_CONNECT && via_socket && failure.os_errno == ENOENT) {
    message += "the socket " + options.unix_socket_path + " does not exist (is the daemon running?)";
  } else if (failure.code == CURLE_COULDNT_CONNECT && via_socket && failure.os_errno == ECONNREFUSED) {
    message += "connection refused on " + options.unix_socket_path + " (is the daemon running?)";
  } else if (failure.code == CURLE_OPERATION_TIMEDOUT) {
    if (NeverConnected(failure, request, options)) {
      error_code = ErrorCode::kUnavailable;
      message +=
          "could not connect within " + std::to_string(options.connect_timeout.count()) + " ms: " + failure.detail;
    } else {
      message += "no complete response within " + std::to_string(request.timeout.count()) + " ms: " + failure.detail;
    }
  } else {
    message += failure.detail;
    if (failure.os_errno != 0) {
      message += std::string(" (") + std::strerror(static_cast<int>(failure.os_errno)) + ")";
    }
  }
  return Error(error_code, std::move(message));
}

}  // namespace ctask::http
