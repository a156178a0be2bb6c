// SHA-256 against the FIPS 180-4 example vectors (NIST CSRC "Examples with
// intermediate values") and the long-message vector of the NIST test suite.
#include "util/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace ctask {
namespace {

TEST(Sha256Test, FipsVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),  // 448 bits
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Feeding the same bytes in pieces of every size, so that pieces straddle
// block boundaries and the padding falls on both sides of the 56-byte mark,
// gives the one-shot digest.
TEST(Sha256Test, StreamingMatchesOneShot) {
  std::string message;
  for (int i = 0; i < 300; ++i) message += static_cast<char>(i * 131 + 7);
  for (std::size_t length : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u, 300u}) {
    const std::string_view whole = std::string_view(message).substr(0, length);
    const std::string expected = Sha256Hex(whole);
    for (std::size_t piece = 1; piece <= 70; ++piece) {
      Sha256 hash;
      for (std::size_t at = 0; at < whole.size(); at += piece) hash.Update(whole.substr(at, piece));
      ASSERT_EQ(DigestHex(hash.Finish()), expected) << "length " << length << " piece " << piece;
    }
  }
}

}  // namespace
}  // namespace ctask
