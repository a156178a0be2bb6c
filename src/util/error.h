// Error: what went wrong at an I/O or validation boundary, and what the caller
// should do about it. Modelled on absl::Status: the code says how to react
// (retry, fix state first, fix the input), the message says what happened in
// words a user can act on. Errors cross module boundaries as values inside
// Result<T> (std::expected); exceptions never do.
//
// Thread-safety: plain values; safe to copy between threads.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace ctask {

enum class ErrorCode {
  kInvalidArgument,     // the input is wrong: fix it, retrying will not help
  kNotFound,            // the thing named does not exist
  kAlreadyExists,       // create of something that exists
  kConflict,            // optimistic-concurrency conflict: re-read, then retry
  kFailedPrecondition,  // the system is not in a state to do this: fix state first
  kPermissionDenied,    // the caller may not do this
  kUnavailable,         // transient: retry with backoff
  kDeadlineExceeded,    // took too long; may be retried
  kCancelled,           // the caller asked to stop
  kExpired,             // a resourceVersion or continue token is too old (HTTP 410): list afresh
  kInternal,            // a bug: an invariant broke
};

std::string_view ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // For errors an HTTP API answered: its status code and the machine-readable
  // reason it gave (a Kubernetes Status `reason`: "AlreadyExists",
  // "Conflict", "Expired", ...). 0 and "" when no server answered.
  int http_status() const { return http_status_; }
  const std::string& reason() const { return reason_; }
  Error WithHttp(int http_status, std::string reason) const {
    Error out = *this;
    out.http_status_ = http_status;
    out.reason_ = std::move(reason);
    return out;
  }

  // "InvalidArgument: <message>", for logs; users usually want message().
  std::string ToString() const;

  // A copy whose message is prefixed with `context: `, so errors read from the
  // outside in: "examples/x.yaml: doc 2: spec.image: required".
  Error WithContext(std::string_view context) const;

 private:
  ErrorCode code_;
  std::string message_;
  int http_status_ = 0;
  std::string reason_;
};

// What an errno from a file operation means for the caller: kNotFound,
// kPermissionDenied, kUnavailable (transient or resource exhaustion: retry),
// or `otherwise`.
ErrorCode ErrorCodeForErrno(int error_number, ErrorCode otherwise);

template <typename T>
using Result = std::expected<T, Error>;

// For functions that return nothing on success.
using Status = std::expected<void, Error>;

inline std::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}

// A Result's success or error without its value: for checking several
// Results of different types in one loop.
template <typename T>
Status ErrorOf(const Result<T>& result) {
  if (result) return {};
  return std::unexpected(result.error());
}

inline std::unexpected<Error> InvalidArgument(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace ctask
