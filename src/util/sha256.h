// SHA-256 (FIPS 180-4), for the digests of log artifacts (status.artifacts.log.
// sha256), computed by libcrypto (OpenSSL's EVP interface, Debian's
// libssl-dev): what a Debian package already does well is used, not
// rewritten; tests/util/sha256_test checks it against the FIPS 180-4 vectors.
//
// Sha256 hashes a stream fed in pieces (a log written as it arrives);
// Sha256Hex hashes one buffer. Digests are printed as 64 lower-case hex
// digits, as `sha256sum` prints them.
//
// libcrypto can fail to hash only when it cannot allocate or its
// configuration leaves no SHA-256 implementation; either aborts the process
// with libcrypto's reason on stderr, so that a digest is never silently wrong
// and no exception crosses the module boundary.
//
// Thread-safety: a Sha256 object is not synchronised; use one per thread.
// Sha256Hex is a pure function.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace ctask {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  // Feeds more bytes. Must not be called after Finish().
  void Update(std::string_view bytes);

  // The digest of everything fed so far. Ends the stream: call once.
  Digest Finish();

 private:
  struct ContextDeleter {
    void operator()(evp_md_ctx_st* context) const;
  };
  std::unique_ptr<evp_md_ctx_st, ContextDeleter> context_;
};

// 64 lower-case hex digits.
std::string DigestHex(const Sha256::Digest& digest);

// The hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

}  // namespace ctask
