// ErrorFromResponse / ErrorFromStatus: the code says how to react, the
// message keeps the server's words, the Error carries status and reason.
#include "kube/api_error.h"

#include <gtest/gtest.h>

#include <string>

#include "util/utf8.h"

namespace ctask::kube {
namespace {

constexpr std::string_view kWhat = R"(create containertasks.ctask.io "x" in namespace "y")";

http::Response StatusResponse(int code, std::string_view reason, std::string_view message) {
  api::Json status = {{"kind", "Status"},   {"apiVersion", "v1"}, {"status", "Failure"},
                      {"message", message}, {"reason", reason},   {"code", code}};
  return http::Response{code, {}, status.dump()};
}

struct Case {
  std::string name;
  int status;
  std::string reason;
  ErrorCode code;
};

TEST(ErrorFromResponseTest, StatusBodies) {
  const Case cases[] = {
      {"not found", 404, "NotFound", ErrorCode::kNotFound},
      {"already exists", 409, "AlreadyExists", ErrorCode::kAlreadyExists},
      {"conflict", 409, "Conflict", ErrorCode::kConflict},
      {"expired", 410, "Expired", ErrorCode::kExpired},
      {"invalid", 422, "Invalid", ErrorCode::kInvalidArgument},
      {"forbidden", 403, "Forbidden", ErrorCode::kPermissionDenied},
      {"unauthorized", 401, "Unauthorized", ErrorCode::kPermissionDenied},
      {"too many requests", 429, "TooManyRequests", ErrorCode::kUnavailable},
      {"service unavailable", 503, "ServiceUnavailable", ErrorCode::kUnavailable},
      {"timeout", 504, "Timeout", ErrorCode::kDeadlineExceeded},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Error error = ErrorFromResponse(kWhat, StatusResponse(c.status, c.reason, "the server's words"));
    EXPECT_EQ(error.code(), c.code);
    EXPECT_EQ(error.http_status(), c.status);
    EXPECT_EQ(error.reason(), c.reason);
    // Appended piece by piece: GCC 12 at -O2 reports a false -Warray-bounds
    // on the inlined chain of std::string operator+ here.
    std::string want(kWhat);
    want += ": the server's words (HTTP ";
    want += std::to_string(c.status);
    want += ", ";
    want += c.reason;
    want += ")";
    EXPECT_EQ(error.message().rfind(want, 0), 0u) << error.message();
  }
}

TEST(ErrorFromResponseTest, InvalidKeepsTheFieldInTheMessage) {
  const Error error = ErrorFromResponse(
      kWhat, StatusResponse(422, "Invalid", R"(ContainerTask.ctask.io "x" is invalid: spec.image: Required value)"));
  EXPECT_EQ(error.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(error.message().find("spec.image: Required value"), std::string::npos) << error.message();
}

TEST(ErrorFromResponseTest, UnauthorizedHintsAtCredentials) {
  const Error error = ErrorFromResponse(kWhat, StatusResponse(401, "Unauthorized", "Unauthorized"));
  EXPECT_NE(error.message().find("check the credentials"), std::string::npos) << error.message();
}

TEST(ErrorFromResponseTest, ReasonFromStatusCodeWhenStatusHasNone) {
  const Error error = ErrorFromResponse(kWhat, http::Response{409, {}, R"({"kind":"Status","code":409})"});
  EXPECT_EQ(error.code(), ErrorCode::kConflict);
  EXPECT_EQ(error.reason(), "Conflict");
  EXPECT_NE(error.message().find("the API server refused the request"), std::string::npos);
}

TEST(ErrorFromResponseTest, NonJsonBodyShownTruncated) {
  const std::string body = "<html>" + std::string(1000, 'x') + "</html>";
  const Error error = ErrorFromResponse(kWhat, http::Response{502, {}, body});
  EXPECT_EQ(error.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(error.http_status(), 502);
  EXPECT_NE(error.message().find("<html>xxx"), std::string::npos);
  EXPECT_EQ(error.message().find("</html>"), std::string::npos);
  EXPECT_LT(error.message().size(), kWhat.size() + 200 + 40) << error.message();
}

TEST(ErrorFromResponseTest, InvalidUtf8BodyBecomesValid) {
  const Error error = ErrorFromResponse(kWhat, http::Response{500, {}, "bad \xff\xfe bytes"});
  EXPECT_TRUE(IsValidUtf8(error.message()));
  EXPECT_NE(error.message().find("bad"), std::string::npos);
}

TEST(ErrorFromResponseTest, TruncationDoesNotSplitACharacter) {
  // 199 ASCII bytes, then a 2-byte character straddling the 200-byte cut.
  const std::string body = std::string(199, 'a') + "\xC3\xA9" + "tail";
  const Error error = ErrorFromResponse(kWhat, http::Response{500, {}, body});
  EXPECT_TRUE(IsValidUtf8(error.message()));
  EXPECT_EQ(error.message().find("\xEF\xBF\xBD"), std::string::npos) << "no replacement character";
}

TEST(ErrorFromResponseTest, InvalidUtf8InStatusBody) {
  // A JSON parser refuses invalid UTF-8, so the body is shown raw, made valid.
  const http::Response response{404, {}, "{\"kind\":\"Status\",\"code\":404,\"message\":\"caf\xff\"}"};
  const Error error = ErrorFromResponse(kWhat, response);
  EXPECT_EQ(error.code(), ErrorCode::kNotFound);
  EXPECT_TRUE(IsValidUtf8(error.message()));
  EXPECT_NE(error.message().find("caf\xEF\xBF\xBD"), std::string::npos) << error.message();
}

TEST(ErrorFromResponseTest, StatusWithFieldsOfTheWrongTypeDoesNotThrow) {
  const http::Response response{403, {}, R"({"kind":"Status","code":403,"reason":7,"message":["m"]})"};
  Error error(ErrorCode::kInternal, "");
  EXPECT_NO_THROW(error = ErrorFromResponse(kWhat, response));
  EXPECT_EQ(error.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(error.reason(), "Forbidden");
  const http::Response odd_kind{500, {}, R"({"kind":5})"};
  EXPECT_NO_THROW(error = ErrorFromResponse(kWhat, odd_kind));
  EXPECT_EQ(error.code(), ErrorCode::kUnavailable);
}

TEST(ErrorFromStatusTest, WatchErrorEventStatus) {
  const api::Json status = {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}, {"message", "too old"}};
  const Error error = ErrorFromStatus("watch pods in all namespaces", status, 500);
  EXPECT_EQ(error.code(), ErrorCode::kExpired);
  EXPECT_EQ(error.http_status(), 410);
  EXPECT_EQ(error.reason(), "Expired");
}

TEST(ErrorFromStatusTest, FallbackStatusWhenNoCode) {
  const Error error = ErrorFromStatus("watch pods", api::Json{{"message", "boom"}}, 500);
  EXPECT_EQ(error.http_status(), 500);
  EXPECT_EQ(error.code(), ErrorCode::kUnavailable);
}

TEST(ErrorTest, WithContextKeepsHttpStatusAndReason) {
  const Error error = ErrorFromResponse(kWhat, StatusResponse(409, "Conflict", "stale")).WithContext("reconcile");
  EXPECT_EQ(error.code(), ErrorCode::kConflict);
  EXPECT_EQ(error.http_status(), 409);
  EXPECT_EQ(error.reason(), "Conflict");
  EXPECT_EQ(error.message().rfind("reconcile: ", 0), 0u);
}

}  // namespace
}  // namespace ctask::kube
