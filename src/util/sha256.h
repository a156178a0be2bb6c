// SHA-256 (FIPS 180-4), for the digests of log artifacts (status.artifacts.log.
// sha256). Small and dependency-free on purpose: the project takes its
// dependencies from Debian packages and none of them is worth adding for one
// hash; tests/util/sha256_test checks it against the FIPS 180-4 vectors.
//
// Sha256 hashes a stream fed in pieces (a log written as it arrives);
// Sha256Hex hashes one buffer. Digests are printed as 64 lower-case hex
// digits, as `sha256sum` prints them.
//
// Thread-safety: a Sha256 object is not synchronised; use one per thread.
// Sha256Hex is a pure function.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ctask {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();

  // Feeds more bytes. Must not be called after Finish().
  void Update(std::string_view bytes);

  // The digest of everything fed so far. Ends the stream: call once.
  Digest Finish();

 private:
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  std::size_t buffered_ = 0;  // bytes in buffer_
  uint64_t length_ = 0;       // bytes fed in total
};

// 64 lower-case hex digits.
std::string DigestHex(const Sha256::Digest& digest);

// The hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

}  // namespace ctask
