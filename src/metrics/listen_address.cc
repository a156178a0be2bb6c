#include "metrics/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

namespace ctask::metrics {
namespace {

Result<int> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument("port must be a number from 0 to 65535");
  }
  int port = 0;
  for (char c : text) port = port * 10 + (c - '0');
  if (port > 65535) return InvalidArgument("port must be a number from 0 to 65535");
  return port;
}

}  // namespace

Result<std::string> CivetListeningPorts(std::string_view address, bool ipv6) {
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (address.starts_with('[')) {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return InvalidArgument("want [ipv6]:port");
    }
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
    bracketed = true;
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return InvalidArgument("want host:port or :port");
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return InvalidArgument("an IPv6 host goes in brackets: [::1]:9000");
  }
  Result<int> port = ParsePort(port_text);
  if (!port) return std::unexpected(port.error());
  const std::string port_string = std::to_string(*port);

  // inet_pton, not civetweb's parser: it accepts only the canonical numeric
  // forms, so "300.1.1.1" and "1.2.3" are refused here rather than bound to
  // something else.
  const std::string host_text(host);
  if (bracketed) {
    in6_addr addr6{};
    if (inet_pton(AF_INET6, host_text.c_str(), &addr6) != 1) return InvalidArgument("not an IPv6 address in brackets");
    if (!ipv6) return InvalidArgument("this build's civetweb has no IPv6: listen on an IPv4 address or :port");
    return "[" + host_text + "]:" + port_string;
  }
  if (host.empty()) return (ipv6 ? "+" : "") + port_string;
  if (host == "localhost") return "127.0.0.1:" + port_string;
  in_addr addr4{};
  if (inet_pton(AF_INET, host_text.c_str(), &addr4) != 1) {
    return InvalidArgument("host must be an IP address or localhost");
  }
  return host_text + ":" + port_string;
}

}  // namespace ctask::metrics
