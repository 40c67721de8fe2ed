// The folder-name rule the jobs and the proxy's Maildir share: which names can be stored, and
// the stand-in for one that cannot (review F7). The encoding itself is checked against
// Dovecot's names in tests/proxy/mailbox/folder_name_test.cpp.
#include "jobs/maildir_folder.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

namespace junction::jobs {
namespace {

TEST(MaildirFolder, StorableNamesStayAsTheyAre) {
  for (const char* folder : {"INBOX", "Work/Sub", "A & B", "\xc3\x89t\xc3\xa9", "a.b", "~x"}) {
    auto s = make_storable(folder);
    EXPECT_EQ(s.path, folder);
    EXPECT_TRUE(s.reason.empty());
  }
  EXPECT_TRUE(make_storable(std::string(254, 'x')).reason.empty());
}

TEST(MaildirFolder, RefusedNamesGetAStableStandInThatCanBeStored) {
  const std::string cases[] = {
      std::string(255, 'x'),
      std::string(300, 'x'),
      std::string(2000, 'y') + "/z",
      "tab\there",
      "del\x7f",
      "bad\xff utf8",
      "/a",
      "a/",
      "a//b",
      "\xed\xa0\x80 surrogate",
      std::string(130, '&'),  // each '&' is "&-": 260 bytes
      std::string(90, '.'),   // each '.' is "\2e": 270 bytes
      [] {                    // 300 CJK characters
        std::string s;
        for (int i = 0; i < 300; ++i) s += "\xe6\x9d\xb1";
        return s;
      }(),
  };
  std::set<std::string> seen;
  for (const auto& folder : cases) {
    SCOPED_TRACE(folder.substr(0, 40));
    ASSERT_FALSE(maildir_folder_name(folder).name);
    auto s = make_storable(folder);
    EXPECT_FALSE(s.reason.empty());
    auto encoded = maildir_folder_name(s.path);
    ASSERT_TRUE(encoded.name) << s.path << ": " << encoded.error;
    EXPECT_LE(encoded.name->size() + 1, kMaxDirName);
    EXPECT_EQ(make_storable(folder).path, s.path) << "not stable";
    EXPECT_TRUE(make_storable(s.path).reason.empty()) << "the stand-in is not storable";
    EXPECT_TRUE(seen.insert(s.path).second) << "two names met at " << s.path;
  }
  // Long names: cut to fit, close to the limit (not cut short for nothing).
  EXPECT_GE(maildir_folder_name(make_storable(std::string(300, 'x')).path).name->size(), 240u);
  EXPECT_EQ(make_storable("tab\there").path.rfind("tab_here~", 0), 0u);
  // Two long names that share their first 300 bytes still differ.
  EXPECT_NE(make_storable(std::string(300, 'x') + "1").path,
            make_storable(std::string(300, 'x') + "2").path);
}

// Any bytes at all: the stand-in can be stored.
TEST(MaildirFolder, AnyBytesGiveAStorableName) {
  std::mt19937 rng(9);
  const char alphabet[] = {'a',    '/',    '.',    '&',    '\\',   '2',    'e',
                           '\t',   '\x7f', '\xc3', '\x89', '\xe6', '\x9d', '\xb1',
                           '\xf0', '\x9f', '\x98', '\x80', '\xff', ' '};
  for (int round = 0; round < 3000; ++round) {
    std::string folder;
    const std::size_t n = rng() % 400;
    for (std::size_t i = 0; i < n; ++i) folder += alphabet[rng() % sizeof alphabet];
    auto s = make_storable(folder);
    ASSERT_TRUE(maildir_folder_name(s.path).name) << "from " << folder << " to " << s.path;
    ASSERT_EQ(s.reason.empty(), maildir_folder_name(folder).name.has_value());
  }
}

TEST(MaildirFolder, ReasonsSayWhy) {
  EXPECT_EQ(maildir_folder_name("a//b").error, "has an empty component");
  EXPECT_EQ(maildir_folder_name("a\nb").error, "contains a control character");
  EXPECT_EQ(maildir_folder_name("a\xff").error, "is not valid UTF-8");
  EXPECT_EQ(maildir_folder_name(std::string(300, 'a')).error, "is too long for a directory name");
}

}  // namespace
}  // namespace junction::jobs
