// What the proxy keeps secret, done with OpenSSL only (ARCHITECTURE.md, "Cryptography"):
// random tokens, account secrets encrypted at rest (AES-256-GCM under a key file), and
// sign-in passwords hashed with scrypt at OWASP's recommended cost.
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace junction::crypto {

// Cryptographically random bytes (RAND_bytes). Throws std::runtime_error if the RNG fails.
std::string random_bytes(std::size_t n);
// 2n lower-case hex digits of n random bytes (a 256-bit session token: n = 32).
std::string random_hex(std::size_t n);
// SHA-256 of bytes as lower-case hex (for storing session tokens by their digest).
std::string sha256_hex(std::string_view bytes);
// Constant-time comparison.
bool equal_constant_time(std::string_view a, std::string_view b);

// AES-256-GCM with a 32-byte key kept in a file created with mode 0600.
class secret_box {
 public:
  // Reads the key file, or creates it (mode 0600, fsynced) with a fresh random key when it
  // does not exist. Throws std::runtime_error when the file exists but is not a valid key
  // or is readable by group/others.
  static secret_box open_or_create(const std::filesystem::path& key_file);

  // "v1:" + base64(12-byte nonce | ciphertext | 16-byte tag). `context` is authenticated
  // additional data binding the value to where it is stored (e.g. "user:3/task:abc/password"),
  // so a sealed value copied elsewhere does not open.
  std::string seal(std::string_view plaintext, std::string_view context) const;
  // nullopt when the value is malformed, was sealed under another key or another context.
  std::optional<std::string> open(std::string_view sealed, std::string_view context) const;
  static bool is_sealed(std::string_view value);  // starts with "v1:"

 private:
  explicit secret_box(std::array<unsigned char, 32> key) : key_(key) {}
  std::array<unsigned char, 32> key_;
};

// Password hashing with scrypt (OWASP Password Storage Cheat Sheet: N=2^17, r=8, p=1).
// Format: "$scrypt$ln=17,r=8,p=1$<base64 salt>$<base64 hash>".
struct scrypt_cost {
  int log2_n = 17;
  int r = 8;
  int p = 1;
};
std::string hash_password(std::string_view password, scrypt_cost cost = {});
// Constant-time check; false for a malformed stored value.
bool verify_password(std::string_view password, std::string_view stored);

}  // namespace junction::crypto
