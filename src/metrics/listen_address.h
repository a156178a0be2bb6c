// CivetListeningPorts: the operator's listen address ("127.0.0.1:8080",
// ":8080", "localhost:0") as civetweb's `listening_ports` option.
//
// Why not hand civetweb the flag as it is: civetweb's own parser accepts what
// it should refuse (sscanf's "%u" takes "127.0.0.1:99999" and truncates the
// port; a host name is looked up), and its answer to a bad value is a start
// failure without the reason. So the address is checked here, strictly, and
// the error names the field that is wrong; civetweb only ever sees a value it
// reads one way.
//
// Contract (pure, no I/O, no name lookup):
//  - "a.b.c.d:port" -> "a.b.c.d:port"; "localhost:port" -> "127.0.0.1:port";
//    ":port" (every interface) -> "+port" with IPv6 (dual stack), "port"
//    (every IPv4 interface) without; "[v6]:port" -> "[v6]:port" with IPv6,
//    refused without.
//  - port is 0..65535 in decimal (0: civetweb binds a free port).
//  - Anything else is kInvalidArgument saying what form is wanted; the caller
//    adds the address itself as context.
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"

namespace ctask::metrics {

// `ipv6` says whether the civetweb library in use was built with IPv6
// (mg_check_feature(8)); Debian 12's was not.
Result<std::string> CivetListeningPorts(std::string_view address, bool ipv6);

}  // namespace ctask::metrics
