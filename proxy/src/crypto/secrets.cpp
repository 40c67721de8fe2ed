#include "crypto/secrets.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "common/base64.h"

namespace junction::crypto {
namespace {

constexpr std::size_t kKeySize = 32;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
constexpr std::string_view kSealedPrefix = "v1:";

constexpr std::size_t kSaltSize = 16;
constexpr std::size_t kHashSize = 32;
// Bounds on parameters read back from a stored hash, so a corrupted or planted value
// cannot make verify_password allocate gigabytes or spin for minutes. The largest
// accepted combination needs 128 * r * 2^ln = 1 GiB.
constexpr int kMaxLog2N = 20;
constexpr int kMaxR = 64;
constexpr int kMaxP = 16;
constexpr std::uint64_t kMaxScryptMemory = std::uint64_t{1} << 30;

struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

[[noreturn]] void throw_openssl(const char* what) {
  throw std::runtime_error(std::string("crypto: ") + what + " failed");
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// A file descriptor closed on scope exit (errors on the success path are checked by hand).
class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), "key file: " + what);
}

void sync_directory(const std::filesystem::path& dir) {
  fd_guard d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0) throw_errno(errno, "open " + dir.string());
  if (::fsync(d.get()) != 0) throw_errno(errno, "fsync " + dir.string());
}

std::string octal_mode(mode_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
  return buffer;
}

// Reads an existing key file; nullopt when it does not exist.
std::optional<std::array<unsigned char, kKeySize>> read_key_file(
    const std::filesystem::path& file) {
  fd_guard f(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (f.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno(errno, "open " + file.string());
  }
  struct stat st {};
  if (::fstat(f.get(), &st) != 0) throw_errno(errno, "stat " + file.string());
  if (!S_ISREG(st.st_mode)) {
    throw std::runtime_error("key file: " + file.string() + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    throw std::runtime_error("key file: " + file.string() + " has mode " + octal_mode(st.st_mode) +
                             ", which lets group or others read it; it must be 0600");
  }
  if (st.st_size != static_cast<off_t>(kKeySize)) {
    throw std::runtime_error("key file: " + file.string() + " holds " + std::to_string(st.st_size) +
                             " bytes, expected " + std::to_string(kKeySize));
  }
  std::array<unsigned char, kKeySize> key{};
  std::size_t got = 0;
  while (got < key.size()) {
    const ssize_t n = ::read(f.get(), key.data() + got, key.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "read " + file.string());
    }
    if (n == 0) throw std::runtime_error("key file: " + file.string() + " is truncated");
    got += static_cast<std::size_t>(n);
  }
  return key;
}

// Writes a fresh key to a temporary file (O_EXCL, 0600, fsynced) and moves it into place
// without replacing a file that appeared meanwhile: two proxies starting at once must end
// up with the same key, or one of them would seal values nobody can open. Returns false
// when another process won the race.
bool create_key_file(const std::filesystem::path& file,
                     const std::array<unsigned char, kKeySize>& key) {
  const std::filesystem::path dir =
      file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const std::filesystem::path tmp = file.string() + ".tmp-" + random_hex(8);
  {
    fd_guard f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (f.get() < 0) throw_errno(errno, "create " + tmp.string());
    auto fail = [&](int err, const std::string& what) {
      ::unlink(tmp.c_str());
      throw_errno(err, what + " " + tmp.string());
    };
    // The umask can only remove bits, but a mode set explicitly documents the intent.
    if (::fchmod(f.get(), 0600) != 0) fail(errno, "chmod");
    std::size_t put = 0;
    while (put < key.size()) {
      const ssize_t n = ::write(f.get(), key.data() + put, key.size() - put);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail(errno, "write");
      }
      put += static_cast<std::size_t>(n);
    }
    if (::fsync(f.get()) != 0) fail(errno, "fsync");
    if (::close(f.release()) != 0) fail(errno, "close");
  }
  int rc = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, file.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
    // A file system without RENAME_NOREPLACE: link() also refuses to replace.
    rc = ::link(tmp.c_str(), file.c_str());
    if (rc == 0 || errno == EEXIST) {
      const int saved = errno;
      ::unlink(tmp.c_str());
      errno = saved;
    }
  }
  if (rc != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return false;
    throw_errno(err, "rename " + tmp.string() + " to " + file.string());
  }
  sync_directory(dir);
  return true;
}

// Parses a decimal number of at most 9 digits (the bounds checked by the caller are far
// below 10^9, so this cannot overflow).
std::optional<int> parse_small_int(std::string_view digits) {
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool cost_is_acceptable(const scrypt_cost& cost) {
  if (cost.log2_n < 1 || cost.log2_n > kMaxLog2N) return false;
  if (cost.r < 1 || cost.r > kMaxR) return false;
  if (cost.p < 1 || cost.p > kMaxP) return false;
  const std::uint64_t memory = std::uint64_t{128} * static_cast<std::uint64_t>(cost.r)
                               << cost.log2_n;
  return memory <= kMaxScryptMemory;
}

std::string scrypt(std::string_view password, std::string_view salt, const scrypt_cost& cost,
                   std::size_t out_size) {
  const std::uint64_t n = std::uint64_t{1} << cost.log2_n;
  const auto r = static_cast<std::uint64_t>(cost.r);
  const auto p = static_cast<std::uint64_t>(cost.p);
  // OpenSSL refuses to use more than maxmem (default 32 MiB) for the 128*r*(N+2) bytes of V
  // plus 128*r*p bytes of B; N=2^17, r=8 alone needs 128 MiB.
  const std::uint64_t maxmem = 128 * r * (n + 2) + 128 * r * p + (std::uint64_t{1} << 20);
  std::string out(out_size, '\0');
  if (EVP_PBE_scrypt(password.data(), password.size(), bytes_of(salt), salt.size(), n, r, p, maxmem,
                     reinterpret_cast<unsigned char*>(out.data()), out.size()) != 1) {
    throw_openssl("scrypt");
  }
  return out;
}

}  // namespace

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  // RAND_bytes takes an int: fill in chunks for (absurdly) large requests.
  std::size_t done = 0;
  while (done < n) {
    const std::size_t chunk = std::min<std::size_t>(n - done, 1 << 20);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + done), static_cast<int>(chunk)) !=
        1) {
      throw_openssl("RAND_bytes");
    }
    done += chunk;
  }
  return out;
}

std::string random_hex(std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  const std::string raw = random_bytes(n);
  std::string out;
  out.reserve(2 * n);
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0x0f]);
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw_openssl("SHA-256");
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(digits[digest[i] >> 4]);
    out.push_back(digits[digest[i] & 0x0f]);
  }
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  // The length is not secret here (tokens and hashes have fixed sizes).
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

secret_box secret_box::open_or_create(const std::filesystem::path& key_file) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (auto key = read_key_file(key_file)) return secret_box(*key);
    std::array<unsigned char, kKeySize> key{};
    const std::string raw = random_bytes(kKeySize);
    std::memcpy(key.data(), raw.data(), kKeySize);
    if (create_key_file(key_file, key)) return secret_box(key);
    // Another process created the file between our read and our rename: use theirs.
  }
  throw std::runtime_error("key file: " + key_file.string() + " keeps disappearing");
}

bool secret_box::is_sealed(std::string_view value) {
  return value.starts_with(kSealedPrefix);
}

std::string secret_box::seal(std::string_view plaintext, std::string_view context) const {
  if (plaintext.size() > (std::size_t{1} << 30) || context.size() > (std::size_t{1} << 30)) {
    throw std::invalid_argument("crypto: value too large to seal");
  }
  const std::string nonce = random_bytes(kNonceSize);
  std::string box(kNonceSize + plaintext.size() + kTagSize, '\0');
  std::memcpy(box.data(), nonce.data(), kNonceSize);
  auto* out = reinterpret_cast<unsigned char*>(box.data() + kNonceSize);

  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), bytes_of(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(context),
                        static_cast<int>(context.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out, &len, bytes_of(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    throw_openssl("AES-256-GCM seal");
  }
  int tail = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out + len, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, out + plaintext.size()) != 1) {
    throw_openssl("AES-256-GCM seal");
  }
  return std::string(kSealedPrefix) + base64::encode(box);
}

std::optional<std::string> secret_box::open(std::string_view sealed,
                                            std::string_view context) const {
  if (!is_sealed(sealed) || sealed.size() > (std::size_t{1} << 31)) return std::nullopt;
  const std::optional<std::string> box = base64::decode(sealed.substr(kSealedPrefix.size()));
  if (!box || box->size() < kNonceSize + kTagSize) return std::nullopt;
  const std::size_t text_size = box->size() - kNonceSize - kTagSize;
  const auto* nonce = bytes_of(*box);
  const auto* cipher_text = nonce + kNonceSize;
  std::string plain(text_size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  // OpenSSL's tag argument is not const in the ctrl API.
  std::array<unsigned char, kTagSize> tag{};
  std::memcpy(tag.data(), cipher_text + text_size, kTagSize);

  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(context),
                        static_cast<int>(context.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &len, cipher_text, static_cast<int>(text_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1) {
    return std::nullopt;
  }
  int tail = 0;
  // Fails when the tag does not match: another key, another context, or altered bytes.
  if (EVP_DecryptFinal_ex(ctx.get(), out + len, &tail) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return std::nullopt;
  }
  return plain;
}

std::string hash_password(std::string_view password, scrypt_cost cost) {
  if (!cost_is_acceptable(cost)) {
    throw std::invalid_argument("crypto: scrypt cost ln=" + std::to_string(cost.log2_n) +
                                ",r=" + std::to_string(cost.r) + ",p=" + std::to_string(cost.p) +
                                " is out of range");
  }
  const std::string salt = random_bytes(kSaltSize);
  const std::string hash = scrypt(password, salt, cost, kHashSize);
  return "$scrypt$ln=" + std::to_string(cost.log2_n) + ",r=" + std::to_string(cost.r) +
         ",p=" + std::to_string(cost.p) + "$" + base64::encode(salt) + "$" + base64::encode(hash);
}

// stored = "$scrypt$ln=" 1*DIGIT ",r=" 1*DIGIT ",p=" 1*DIGIT "$" base64-salt "$" base64-hash
bool verify_password(std::string_view password, std::string_view stored) {
  constexpr std::string_view prefix = "$scrypt$";
  if (!stored.starts_with(prefix) || stored.size() > 1024) return false;
  std::string_view rest = stored.substr(prefix.size());

  auto take_field = [&rest]() -> std::optional<std::string_view> {
    const std::size_t end = rest.find('$');
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view field = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    return field;
  };
  const auto params = take_field();
  const auto salt_text = take_field();
  if (!params || !salt_text || rest.find('$') != std::string_view::npos) return false;

  scrypt_cost cost;
  {
    std::string_view p = *params;
    auto take_param = [&p](std::string_view name) -> std::optional<int> {
      if (!p.starts_with(name)) return std::nullopt;
      p.remove_prefix(name.size());
      const std::size_t end = std::min(p.find(','), p.size());
      auto value = parse_small_int(p.substr(0, end));
      p.remove_prefix(end < p.size() ? end + 1 : end);
      return value;
    };
    const auto ln = take_param("ln=");
    const auto r = take_param("r=");
    const auto par = take_param("p=");
    if (!ln || !r || !par || !p.empty()) return false;
    cost = {*ln, *r, *par};
  }
  if (!cost_is_acceptable(cost)) return false;

  const auto salt = base64::decode(*salt_text);
  const auto expected = base64::decode(rest);
  // The hash length is fixed: a shortened stored hash would still "verify" as a prefix.
  if (!salt || !expected || salt->size() < kSaltSize || salt->size() > 64 ||
      expected->size() != kHashSize) {
    return false;
  }
  std::string actual;
  try {
    actual = scrypt(password, *salt, cost, expected->size());
  } catch (const std::runtime_error&) {
    return false;  // out of memory: no sign-in, but no crash either
  }
  return equal_constant_time(actual, *expected);
}

}  // namespace junction::crypto
