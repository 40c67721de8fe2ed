// The few hash primitives the protocols need (ARCHITECTURE.md, "Cryptography"): MD5 for APOP
// (RFC 1939) and CRAM-MD5 (RFC 2195), SHA-256 for de-duplication keys. Small portable
// implementations, because the WASM build has no OpenSSL; checked against RFC vectors and,
// in the native tests, against OpenSSL on random inputs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace junction {

class md5 {
 public:
  md5();
  void update(std::string_view bytes);
  std::array<std::uint8_t, 16> finish();  // the object must not be used afterwards

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 4> h_;
  std::array<std::uint8_t, 64> buf_{};
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;
};

class sha256 {
 public:
  sha256();
  void update(std::string_view bytes);
  std::array<std::uint8_t, 32> finish();  // the object must not be used afterwards

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buf_{};
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;
};

// Lower-case hexadecimal.
std::string to_hex(const std::uint8_t* data, std::size_t n);
template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& a) {
  return to_hex(a.data(), N);
}

std::string md5_hex(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);
// HMAC-MD5 (RFC 2104), hex, as CRAM-MD5 sends it.
std::string hmac_md5_hex(std::string_view key, std::string_view message);

}  // namespace junction
