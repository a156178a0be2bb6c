// CivetListeningPorts: the listen address flag as civetweb's listening_ports,
// checked without binding anything (so ":8080", every interface, is tested
// without listening beyond loopback). One table of named cases.
#include "metrics/listen_address.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ctask::metrics {
namespace {

struct Case {
  std::string name;
  std::string address;
  bool ipv6 = false;       // whether civetweb was built with IPv6
  std::string want;        // civetweb's listening_ports; "" when refused
  std::string want_error;  // part of the message when refused
};

TEST(CivetListeningPorts, Table) {
  const std::vector<Case> cases = {
      {.name = "ipv4", .address = "127.0.0.1:8080", .want = "127.0.0.1:8080"},
      {.name = "free port", .address = "127.0.0.1:0", .want = "127.0.0.1:0"},
      {.name = "localhost is loopback, never a lookup", .address = "localhost:9090", .want = "127.0.0.1:9090"},
      {.name = "every interface without IPv6", .address = ":8080", .want = "8080"},
      {.name = "every interface, dual stack", .address = ":8080", .ipv6 = true, .want = "+8080"},
      {.name = "ipv6 literal", .address = "[::1]:9000", .ipv6 = true, .want = "[::1]:9000"},
      {.name = "ipv6 without IPv6", .address = "[::1]:9000", .want_error = "no IPv6"},
      {.name = "port leading zeros", .address = ":00080", .want = "80"},
      {.name = "port too large", .address = "127.0.0.1:65536", .want_error = "0 to 65535"},
      {.name = "port not a number", .address = "127.0.0.1:http", .want_error = "0 to 65535"},
      {.name = "port signed", .address = "127.0.0.1:+80", .want_error = "0 to 65535"},
      {.name = "no port", .address = "127.0.0.1", .want_error = "host:port"},
      {.name = "empty", .address = "", .want_error = "host:port"},
      {.name = "ipv6 unbracketed", .address = "::1:80", .want_error = "brackets"},
      {.name = "ipv4 in brackets", .address = "[127.0.0.1]:80", .ipv6 = true, .want_error = "IPv6 address"},
      {.name = "host name", .address = "example.com:80", .want_error = "IP address or localhost"},
      {.name = "octet out of range", .address = "300.1.1.1:80", .want_error = "IP address or localhost"},
      {.name = "short ipv4", .address = "1.2.3:80", .want_error = "IP address or localhost"},
  };
  for (const Case& c : cases) {
    Result<std::string> ports = CivetListeningPorts(c.address, c.ipv6);
    if (c.want_error.empty()) {
      ASSERT_TRUE(ports.has_value()) << c.name << ": " << ports.error().message();
      EXPECT_EQ(*ports, c.want) << c.name;
    } else {
      ASSERT_FALSE(ports.has_value()) << c.name << ": " << *ports;
      EXPECT_EQ(ports.error().code(), ErrorCode::kInvalidArgument) << c.name;
      EXPECT_NE(ports.error().message().find(c.want_error), std::string::npos)
          << c.name << ": " << ports.error().message();
    }
  }
}

}  // namespace
}  // namespace ctask::metrics
