#include "crypto/secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>
#include <vector>

#include "store_test_support.h"

namespace junction::crypto {
namespace {

namespace fs = std::filesystem;
using store::testing::read_bytes;
using store::testing::temp_dir;

// Low enough to keep the suite fast; one test below uses the default cost.
constexpr scrypt_cost kFast{10, 8, 1};

TEST(secrets, random_hex_is_lower_case_hex_of_twice_the_length_and_differs) {
  const std::string a = random_hex(32);
  const std::string b = random_hex(32);
  EXPECT_TRUE(std::regex_match(a, std::regex("[0-9a-f]{64}")));
  EXPECT_NE(a, b);
  EXPECT_EQ(random_bytes(7).size(), 7u);
  EXPECT_EQ(random_hex(0), "");
}

TEST(secrets, sha256_hex_matches_the_fips_180_vector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(secrets, equal_constant_time_compares_content_and_length) {
  EXPECT_TRUE(equal_constant_time("abc", "abc"));
  EXPECT_FALSE(equal_constant_time("abc", "abd"));
  EXPECT_FALSE(equal_constant_time("abc", "abcd"));
  EXPECT_TRUE(equal_constant_time("", ""));
}

TEST(secrets, key_file_is_created_with_mode_0600_and_reused) {
  temp_dir dir;
  const fs::path key = dir.path() / "secret.key";
  const secret_box first = secret_box::open_or_create(key);
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  // Only the key file: the temporary file was renamed, not left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);

  const std::string sealed = first.seal("hunter2", "user:1/retrieval_tasks/t1/password");
  const secret_box again = secret_box::open_or_create(key);
  EXPECT_EQ(again.open(sealed, "user:1/retrieval_tasks/t1/password"), "hunter2");
}

TEST(secrets, key_file_readable_by_others_is_refused) {
  temp_dir dir;
  const fs::path key = dir.path() / "secret.key";
  secret_box::open_or_create(key);
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  try {
    secret_box::open_or_create(key);
    FAIL() << "a world-readable key file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("0644"), std::string::npos) << e.what();
  }
  ASSERT_EQ(::chmod(key.c_str(), 0640), 0);
  EXPECT_THROW(secret_box::open_or_create(key), std::runtime_error);
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  EXPECT_NO_THROW(secret_box::open_or_create(key));
}

TEST(secrets, key_file_of_the_wrong_size_or_a_symlink_is_refused) {
  temp_dir dir;
  const fs::path key = dir.path() / "short.key";
  {
    std::ofstream out(key, std::ios::binary);
    out << "0123456789abcdef";  // 16 bytes: an AES-128 key is not ours
  }
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  EXPECT_THROW(secret_box::open_or_create(key), std::runtime_error);
  // The bad file is left alone, not replaced by a new key (values sealed before would be lost).
  EXPECT_EQ(read_bytes(key), "0123456789abcdef");

  const fs::path real = dir.path() / "real.key";
  secret_box::open_or_create(real);
  const fs::path link = dir.path() / "link.key";
  fs::create_symlink(real, link);
  EXPECT_THROW(secret_box::open_or_create(link), std::runtime_error);
}

TEST(secrets, seal_and_open_round_trip_without_the_clear_text_showing) {
  temp_dir dir;
  const secret_box box = secret_box::open_or_create(dir.path() / "k");
  const std::string secret = "correct horse battery staple";
  const std::string a = box.seal(secret, "ctx");
  const std::string b = box.seal(secret, "ctx");
  EXPECT_TRUE(secret_box::is_sealed(a));
  EXPECT_TRUE(a.starts_with("v1:"));
  EXPECT_EQ(a.find(secret), std::string::npos);
  EXPECT_NE(a, b) << "the nonce must be fresh for every seal";
  EXPECT_EQ(box.open(a, "ctx"), secret);
  EXPECT_EQ(box.open(b, "ctx"), secret);

  const std::string binary("\0\xff\x80 end", 6);
  EXPECT_EQ(box.open(box.seal(binary, ""), ""), binary);
  EXPECT_EQ(box.open(box.seal("", "ctx"), "ctx"), "");
}

TEST(secrets, open_refuses_another_context_another_key_and_altered_bytes) {
  temp_dir dir;
  const secret_box box = secret_box::open_or_create(dir.path() / "k1");
  const secret_box other = secret_box::open_or_create(dir.path() / "k2");
  const std::string sealed = box.seal("s3cret", "user:1/retrieval_tasks/tA/password");
  EXPECT_EQ(box.open(sealed, "user:1/retrieval_tasks/tB/password"), std::nullopt);
  EXPECT_EQ(box.open(sealed, "user:2/retrieval_tasks/tA/password"), std::nullopt);
  EXPECT_EQ(other.open(sealed, "user:1/retrieval_tasks/tA/password"), std::nullopt);

  // Flip one base64 character in each of nonce, cipher text and tag.
  for (std::size_t at : {std::size_t{4}, std::size_t{22}, sealed.size() - 3}) {
    std::string altered = sealed;
    altered[at] = altered[at] == 'A' ? 'B' : 'A';
    EXPECT_EQ(box.open(altered, "user:1/retrieval_tasks/tA/password"), std::nullopt) << at;
  }
}

TEST(secrets, open_refuses_malformed_values) {
  temp_dir dir;
  const secret_box box = secret_box::open_or_create(dir.path() / "k");
  for (std::string_view bad : {"", "v1:", "v1:%%%%", "v1:AAAA",
                               "v2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "plain password",
                               "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}) {
    EXPECT_EQ(box.open(bad, "ctx"), std::nullopt) << bad;
  }
  EXPECT_FALSE(secret_box::is_sealed("hunter2"));
}

TEST(secrets, password_hash_has_the_documented_format_and_verifies) {
  const std::string stored = hash_password("pa55word", kFast);
  EXPECT_TRUE(std::regex_match(
      stored, std::regex(R"(\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=)")))
      << stored;
  EXPECT_TRUE(verify_password("pa55word", stored));
  EXPECT_FALSE(verify_password("pa55wore", stored));
  EXPECT_FALSE(verify_password("", stored));
  EXPECT_NE(hash_password("pa55word", kFast), stored) << "the salt must be random";
}

TEST(secrets, default_cost_is_owasp_scrypt_and_verifies) {
  const std::string stored = hash_password("default cost password");
  EXPECT_TRUE(stored.starts_with("$scrypt$ln=17,r=8,p=1$")) << stored;
  EXPECT_TRUE(verify_password("default cost password", stored));
  EXPECT_FALSE(verify_password("default cost passwork", stored));
}

TEST(secrets, verify_refuses_malformed_and_absurd_stored_values) {
  const std::string good = hash_password("x", kFast);
  const std::string tail = good.substr(good.find("$", 8));  // "$salt$hash"
  const std::vector<std::string> bad_values = {
      std::string(""),
      std::string("x"),
      std::string("$scrypt$"),
      "$pbkdf2$ln=10,r=8,p=1" + tail,
      "$scrypt$ln=21,r=8,p=1" + tail,                    // 2^21: beyond the memory bound
      "$scrypt$ln=20,r=64,p=1" + tail,                   // 8 GiB
      "$scrypt$ln=10,r=8,p=1000" + tail,                 // r*p too large
      "$scrypt$ln=99999999999999999999,r=8,p=1" + tail,  // would wrap an int
      "$scrypt$ln=0,r=8,p=1" + tail,
      "$scrypt$ln=10,r=0,p=1" + tail,
      "$scrypt$ln=-1,r=8,p=1" + tail,
      "$scrypt$r=8,ln=10,p=1" + tail,
      "$scrypt$ln=10,r=8" + tail,
      "$scrypt$ln=10,r=8,p=1,x=2" + tail,
      "$scrypt$ln=10,r=8,p=1$%%%%$AAAA",
      "$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==",
      good + "$",
      good.substr(0, good.size() - 4),
  };
  for (const std::string& bad : bad_values) {
    EXPECT_FALSE(verify_password("x", bad)) << bad;
  }
  EXPECT_TRUE(verify_password("x", good));
}

TEST(secrets, hash_password_refuses_an_absurd_cost) {
  EXPECT_THROW(hash_password("x", {21, 8, 1}), std::invalid_argument);
  EXPECT_THROW(hash_password("x", {10, 0, 1}), std::invalid_argument);
}

}  // namespace
}  // namespace junction::crypto
