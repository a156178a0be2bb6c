#include "kube/api_error.h"

#include <algorithm>
#include <string>

#include "util/utf8.h"

namespace ctask::kube {
namespace {

// An error body that is not a Status (a proxy's HTML page, a truncated
// stream) is shown, but only its start: enough to recognise it.
constexpr size_t kMaxShownBody = 200;

std::string ReasonForStatus(int http_status) {
  switch (http_status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "";
  }
}

// A Status field that should be a string; "" when absent or of another type
// (Json::value would throw on the latter).
std::string StringField(const api::Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Error Build(std::string_view what, int http_status, std::string reason, const std::string& detail) {
  if (reason.empty()) reason = ReasonForStatus(http_status);
  std::string message(what);
  message += ": ";
  message += detail.empty() ? "the API server refused the request" : detail;
  message += " (HTTP " + std::to_string(http_status);
  if (!reason.empty()) message += ", " + reason;
  message += ")";
  if (http_status == 401) message += "; check the credentials in the kubeconfig or the service account token";
  ErrorCode code = ErrorCodeForHttp(http_status, reason);
  // A ResourceQuota refuses a create with 403 too, but a quota frees up as
  // other work ends: that is a retry, not a missing permission.
  if (http_status == 403 && detail.find("exceeded quota") != std::string::npos) code = ErrorCode::kUnavailable;
  return Error(code, std::move(message)).WithHttp(http_status, std::move(reason));
}

}  // namespace

ErrorCode ErrorCodeForHttp(int http_status, std::string_view reason) {
  if (http_status == 409) return reason == "AlreadyExists" ? ErrorCode::kAlreadyExists : ErrorCode::kConflict;
  if (http_status == 410 || reason == "Expired" || reason == "Gone") return ErrorCode::kExpired;
  switch (http_status) {
    case 400:
    case 405:
    case 406:
    case 413:
    case 415:
    case 422:
      return ErrorCode::kInvalidArgument;
    case 401:
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 408:
    case 504:
      return ErrorCode::kDeadlineExceeded;
    case 429:
      return ErrorCode::kUnavailable;
    default:
      break;
  }
  if (http_status >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kInternal;
}

Error ErrorFromStatus(std::string_view what, const api::Json& status, int fallback_status) {
  int code = fallback_status;
  std::string reason;
  std::string message;
  if (status.is_object()) {
    if (auto it = status.find("code"); it != status.end() && it->is_number_integer()) code = it->get<int>();
    reason = StringField(status, "reason");
    message = StringField(status, "message");
  }
  return Build(what, code, std::move(reason), ToValidUtf8(message));
}

Error ErrorFromResponse(std::string_view what, const http::Response& response) {
  api::Json status = api::Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (status.is_object() && StringField(status, "kind") == "Status") {
    return ErrorFromStatus(what, status, response.status);
  }
  // Cut at a character boundary, so a character split by the cut does not
  // show up as U+FFFD.
  size_t shown = std::min(response.body.size(), kMaxShownBody);
  if (shown < response.body.size()) {
    while (shown > 0 && (static_cast<unsigned char>(response.body[shown]) & 0xC0) == 0x80) --shown;
  }
  std::string body = ToValidUtf8(std::string_view(response.body).substr(0, shown));
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) body.pop_back();
  return Build(what, response.status, "", body);
}

}  // namespace ctask::kube
