#include "backends/docker/tombstones.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/codec.h"
#include "util/sha256.h"

namespace ctask::backends {

namespace fs = std::filesystem;

Tombstones::Tombstones(std::string state_dir) : root_(std::move(state_dir) + "/expired") {}

std::string Tombstones::Digest(const api::ContainerTaskSpec& spec) {
  return Sha256Hex(api::EncodeSpec(spec).dump());
}

bool Tombstones::Matches(const std::string& ns, const std::string& name, const std::string& digest) const {
  std::ifstream in(root_ + "/" + ns + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return in.good() || in.eof() ? text.str() == digest : false;
}

Status Tombstones::Put(const std::string& ns, const std::string& name, const std::string& digest) {
  std::error_code ec;
  fs::create_directories(root_ + "/" + ns, ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, root_ + "/" + ns + ": " + ec.message());
  const std::string path = root_ + "/" + ns + "/" + name;
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << digest;
    if (!out) return MakeError(ErrorCode::kUnavailable, temp + ": cannot write");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return MakeError(ErrorCode::kUnavailable, path + ": rename: " + std::strerror(errno));
  }
  return {};
}

void Tombstones::Remove(const std::string& ns, const std::string& name) {
  std::error_code ec;
  fs::remove(root_ + "/" + ns + "/" + name, ec);
}

void Tombstones::RemoveAllBut(const std::set<std::string>& keep) {
  std::error_code ec;
  for (const fs::directory_entry& ns : fs::directory_iterator(root_, ec)) {
    std::error_code inner;
    for (const fs::directory_entry& entry : fs::directory_iterator(ns.path(), inner)) {
      const std::string key = ns.path().filename().string() + "/" + entry.path().filename().string();
      if (!keep.contains(key)) fs::remove(entry.path(), inner);
    }
  }
}

}  // namespace ctask::backends
