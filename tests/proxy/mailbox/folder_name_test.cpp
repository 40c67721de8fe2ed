// Folder names on disk must be the names Dovecot 2.3 gives the same folders (each expected
// value below is what `doveadm mailbox create` made on Dovecot 2.3.19 with
// `mail_location = maildir:DIR` and a namespace with `separator = /`).
#include "mailbox/folder_name.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace junction::mailbox {
namespace {

TEST(folder_name, inbox_is_the_root_in_any_case) {
  EXPECT_EQ(maildir_folder_name(""), "");
  EXPECT_EQ(maildir_folder_name("INBOX"), "");
  EXPECT_EQ(maildir_folder_name("inbox"), "");
  EXPECT_EQ(maildir_folder_name("InBoX"), "");
}

TEST(folder_name, children_of_inbox_use_upper_case_inbox) {
  EXPECT_EQ(maildir_folder_name("INBOX/sub"), "INBOX.sub");
  EXPECT_EQ(maildir_folder_name("inbox/zz"), "INBOX.zz");
  EXPECT_EQ(maildir_folder_name("Work/inbox"), "Work.inbox");  // only the top level is INBOX
}

TEST(folder_name, hierarchy_uses_dots) {
  EXPECT_EQ(maildir_folder_name("Work"), "Work");
  EXPECT_EQ(maildir_folder_name("Work/Sub"), "Work.Sub");
  EXPECT_EQ(maildir_folder_name("a/b/c/d"), "a.b.c.d");
}

TEST(folder_name, modified_utf7_as_dovecot_writes_it) {
  EXPECT_EQ(maildir_folder_name("A & B"), "A &- B");
  EXPECT_EQ(maildir_folder_name("&"), "&-");
  EXPECT_EQ(maildir_folder_name("with space"), "with space");
  EXPECT_EQ(maildir_folder_name("\xc3\x89t\xc3\xa9"), "&AMk-t&AOk-");  // Été
  EXPECT_EQ(maildir_folder_name("\xce\xa9"), "&A6k-");                 // Ω
  EXPECT_EQ(maildir_folder_name("\xc3\xbcn\xc3\xaf/\xc3\xa7\xc3\xb8"),
            "&APw-n&AO8-.&AOcA+A-");  // ünï/çø
}

TEST(folder_name, dot_inside_a_component_uses_the_listescape_form) {
  EXPECT_EQ(maildir_folder_name("a.b"), "a\\2eb");
  EXPECT_EQ(maildir_folder_name("Work/a.b/c"), "Work.a\\2eb.c");
  EXPECT_EQ(maildir_folder_name("\xc3\x89t\xc3\xa9.1"), "&AMk-t&AOk-\\2e1");
  EXPECT_EQ(maildir_folder_name(".."), "\\2e\\2e");  // never the parent directory
}

TEST(folder_name, characters_plain_dovecot_reads_stay_literal) {
  EXPECT_EQ(maildir_folder_name("a%b*c"), "a%b*c");
  EXPECT_EQ(maildir_folder_name("a~b"), "a~b");
  EXPECT_EQ(maildir_folder_name("~home"), "~home");
  EXPECT_EQ(maildir_folder_name("x\\y"), "x\\y");
  // ...except a backslash that listescape would read as an escape.
  EXPECT_EQ(maildir_folder_name("x\\2e"), "x\\5c2e");
}

TEST(folder_name, refuses_names_that_cannot_be_stored) {
  EXPECT_THROW(maildir_folder_name("/a"), std::invalid_argument);
  EXPECT_THROW(maildir_folder_name("a/"), std::invalid_argument);
  EXPECT_THROW(maildir_folder_name("a//b"), std::invalid_argument);
  EXPECT_THROW(maildir_folder_name("tab\there"), std::invalid_argument);
  EXPECT_THROW(maildir_folder_name("del\x7f"), std::invalid_argument);
  EXPECT_THROW(maildir_folder_name("bad\xff utf8"), std::invalid_argument);
  EXPECT_THROW(maildir_folder_name(std::string(300, 'x')), std::invalid_argument);
  EXPECT_NO_THROW(maildir_folder_name(std::string(254, 'x')));
}

}  // namespace
}  // namespace junction::mailbox

TEST(FolderFromMaildirName, ReversesEveryEncoding) {
  for (const char* folder : {"Work/Sub", "A & B", "Été", "with space", "a.b", "INBOX/sub",
                             "東京/日本", "back\\5cslash", "x~y%z*"}) {
    const std::string encoded = junction::mailbox::maildir_folder_name(folder);
    const auto decoded = junction::mailbox::folder_from_maildir_name(encoded);
    ASSERT_TRUE(decoded.has_value()) << folder << " -> " << encoded;
    EXPECT_EQ(*decoded, folder) << "through " << encoded;
  }
}

TEST(FolderFromMaildirName, RefusesNamesThisLayoutNeverWrites) {
  EXPECT_FALSE(junction::mailbox::folder_from_maildir_name("a..b").has_value());
  EXPECT_FALSE(junction::mailbox::folder_from_maildir_name("&AMk").has_value());
  EXPECT_FALSE(junction::mailbox::folder_from_maildir_name("").has_value());
}
