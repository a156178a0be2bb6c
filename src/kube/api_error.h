// What an API server's refusal means for the caller. The server answers a
// failed call with an HTTP status and, almost always, a metav1.Status body
// whose `reason` is more precise than the status code (409 is AlreadyExists
// on create but Conflict on update). This maps both onto an Error whose code
// says how to react and which carries the HTTP status and the reason.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "api/json.h"
#include "http/client.h"
#include "util/error.h"

namespace ctask::kube {

// `what` says which call failed, e.g. `create containertasks.ctask.io
// "demo" in namespace "dev"`; it starts the message. The result's message
// reads "<what>: <the server's message> (HTTP 409, Conflict)".
Error ErrorFromResponse(std::string_view what, const http::Response& response);

// The same for a Status object that arrived without an HTTP error, as the
// object of a watch ERROR event; `fallback_status` is used when the Status
// has no `code`.
Error ErrorFromStatus(std::string_view what, const api::Json& status, int fallback_status);

// The ErrorCode for an HTTP status and Status reason: kExpired for 410,
// kConflict or kAlreadyExists for 409 by reason, kUnavailable for 429 and
// most 5xx (retry), kInvalidArgument for 400/422, and so on.
ErrorCode ErrorCodeForHttp(int http_status, std::string_view reason);

}  // namespace ctask::kube
