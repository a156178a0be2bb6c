// What /proc says about a process's threads and sockets: how many threads,
// how many sockets among its open files, and how many of those are
// established TCP connections to a port (the API server's). For the tests
// and benchmarks that show log following costs a few connections and one
// thread, not one of each per pod. Linux only.
//
// Thread-safety: pure reads of /proc.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace ctask::testing {

// "Threads:" of /proc/PID/status; 0 when unreadable.
inline int ThreadsOf(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("Threads:")) return std::stoi(line.substr(8));
  }
  return 0;
}

// The inodes of the sockets among PID's open files.
inline std::set<std::string> SocketInodes(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    const std::string target = std::filesystem::read_symlink(fd.path(), link_ec).string();
    if (!link_ec && target.starts_with("socket:[")) inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

// PID's established TCP connections (IPv4 and IPv6) whose remote port is
// `port`.
inline int ConnectionsTo(pid_t pid, int port) {
  const std::set<std::string> ours = SocketInodes(pid);
  char hex_port[8];
  std::snprintf(hex_port, sizeof hex_port, ":%04X", port);
  int count = 0;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (remote.ends_with(hex_port) && state == "01" && ours.contains(inode)) ++count;
    }
  }
  return count;
}

}  // namespace ctask::testing
