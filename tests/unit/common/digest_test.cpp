// MD5, SHA-256 and HMAC-MD5 against their published vectors, the protocol examples that
// depend on them (APOP, CRAM-MD5) and, natively, against OpenSSL on random inputs.
#include "common/digest.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#ifdef JUNCTION_HAVE_OPENSSL
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif

namespace junction {
namespace {

std::string md5_split(std::string_view s, std::size_t at) {
  md5 h;
  h.update(s.substr(0, at));
  h.update(s.substr(at));
  return to_hex(h.finish());
}

std::string sha256_split(std::string_view s, std::size_t at) {
  sha256 h;
  h.update(s.substr(0, at));
  h.update(s.substr(at));
  return to_hex(h.finish());
}

// RFC 1321 appendix A.5.
TEST(Md5, Rfc1321TestSuite) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(md5_hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(md5_hex("1234567890123456789012345678901234567890123456789012345678901234567890"
                    "1234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA256_2.pdf") and the million-'a' vector.
TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                       "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  sha256 h;
  std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.update(chunk);
  EXPECT_EQ(to_hex(h.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// RFC 2202 §2.
TEST(HmacMd5, Rfc2202TestCases) {
  EXPECT_EQ(hmac_md5_hex(std::string(16, '\x0b'), "Hi There"), "9294727a3638bb1c13f48ef8158bfc9d");
  EXPECT_EQ(hmac_md5_hex("Jefe", "what do ya want for nothing?"),
            "750c783e6ab0b503eaa86e310a5db738");
  EXPECT_EQ(hmac_md5_hex(std::string(16, '\xaa'), std::string(50, '\xdd')),
            "56be34521d144c88dbb8c733f0e8b3f6");
  std::string key4;
  for (int i = 1; i <= 25; ++i) key4 += static_cast<char>(i);
  EXPECT_EQ(hmac_md5_hex(key4, std::string(50, '\xcd')), "697eaf0aca3a3aea3a75164746ffaa79");
  EXPECT_EQ(hmac_md5_hex(std::string(16, '\x0c'), "Test With Truncation"),
            "56461ef2342edc00f9bab995690efd4c");
  EXPECT_EQ(hmac_md5_hex(std::string(80, '\xaa'),
                         "Test Using Larger Than Block-Size Key - Hash Key First"),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
  EXPECT_EQ(hmac_md5_hex(std::string(80, '\xaa'),
                         "Test Using Larger Than Block-Size Key and Larger Than One Block-Size "
                         "Data"),
            "6f630fad67cda0ee1fb1f562db3aa53e");
}

// RFC 2195 §2: the CRAM-MD5 example exchange.
TEST(HmacMd5, Rfc2195CramMd5Example) {
  EXPECT_EQ(hmac_md5_hex("tanstaaftanstaaf", "<1896.697170952@postoffice.reston.mci.net>"),
            "b913a602c7eda7a495b4e6e7334d3890");
}

// RFC 1939 §7: the APOP example.
TEST(Md5, Rfc1939ApopExample) {
  EXPECT_EQ(md5_hex("<1896.697170952@dbc.mtview.ca.us>tanstaaf"),
            "c4c9334bac560ecc979e58001b3e22fb");
}

// Splitting input at any offset, including around the 56- and 64-byte padding edges, must
// not change the digest.
TEST(Digest, IncrementalUpdateAtEveryOffsetEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 200; ++i) data += static_cast<char>((i * 37 + 11) & 0xff);
  for (std::size_t len : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 200u}) {
    std::string_view s(data.data(), len);
    std::string want_md5 = md5_hex(s);
    std::string want_sha = sha256_hex(s);
    for (std::size_t at = 0; at <= len; ++at) {
      ASSERT_EQ(md5_split(s, at), want_md5) << "len " << len << " split at " << at;
      ASSERT_EQ(sha256_split(s, at), want_sha) << "len " << len << " split at " << at;
    }
  }
  md5 bytewise;
  for (char c : data) bytewise.update(std::string_view(&c, 1));
  EXPECT_EQ(to_hex(bytewise.finish()), md5_hex(data));
}

TEST(Digest, ToHexIsLowerCase) {
  std::array<std::uint8_t, 4> a{0x00, 0xAB, 0x7f, 0xff};
  EXPECT_EQ(to_hex(a), "00ab7fff");
  EXPECT_EQ(to_hex(a.data(), 0), "");
}

#ifdef JUNCTION_HAVE_OPENSSL
std::string openssl_digest(const EVP_MD* md, const std::string& s) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EXPECT_EQ(EVP_Digest(s.data(), s.size(), out, &n, md, nullptr), 1);
  return to_hex(out, n);
}

std::string openssl_hmac_md5(const std::string& key, const std::string& msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_md5(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &n);
  return to_hex(out, n);
}

TEST(Digest, MatchesOpenSslOnRandomInputs) {
  std::mt19937 rng(20260127);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 1200);
  std::uniform_int_distribution<std::size_t> key_length(0, 150);
  for (int round = 0; round < 200; ++round) {
    std::string msg(length(rng), '\0');
    for (char& c : msg) c = static_cast<char>(byte(rng));
    std::string key(key_length(rng), '\0');
    for (char& c : key) c = static_cast<char>(byte(rng));
    ASSERT_EQ(md5_hex(msg), openssl_digest(EVP_md5(), msg)) << "round " << round;
    ASSERT_EQ(sha256_hex(msg), openssl_digest(EVP_sha256(), msg)) << "round " << round;
    ASSERT_EQ(hmac_md5_hex(key, msg), openssl_hmac_md5(key, msg)) << "round " << round;
  }
}
#endif

}  // namespace
}  // namespace junction
